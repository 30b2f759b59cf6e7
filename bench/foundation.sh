#!/usr/bin/env bash
# Foundation numbers: Taipei building import throughput, demo load time at a scale,
# and cold start of `gridmap serve` on an existing data directory (until /healthz answers 200).
#
#   bench/foundation.sh [SCALE]          # SCALE defaults to 100 (the benchmark city)
#
# Needs the Taipei data at $GRIDMAP_TESTDATA or ../shared/data. Writes under bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-100}
data=${GRIDMAP_TESTDATA:-../shared/data}/taipei
out=bench/out; mkdir -p "$out"
go build -o bin/gridmap ./cmd/gridmap
bin=./bin/gridmap

echo "== Taipei import (buildings/s) =="
if [ -d "$data" ]; then
  dir=$(mktemp -d /tmp/gridmap-bench-XXXX); chmod 755 "$dir"
  $bin import grids --data-dir "$dir" --level 1 --name-prop TOWNNAME --city 臺北市 --admin-code 630000 "$data/districts.geojson" 2>/dev/null
  $bin import grids --data-dir "$dir" --level 2 --name-prop VILLAGENAM "$data/villages.geojson" 2>/dev/null
  # the summary line carries the import's own time (start-up of the cluster excluded)
  $bin import buildings --data-dir "$dir" "$data"/buildings/*.json 2>/dev/null | head -1
  rm -rf "$dir"
else
  echo "skipped: no Taipei data at $data"
fi

echo "== demo --scale $scale load =="
dir=$(mktemp -d /tmp/gridmap-bench-XXXX); chmod 755 "$dir"
start=$(date +%s.%N)
$bin demo --scale "$scale" --data-dir "$dir" 2>"$out/demo-$scale.log" | tail -1
end=$(date +%s.%N)
echo "wall time including cluster start and ANALYZE: $(echo "$end - $start" | bc) s"

echo "== cold start of serve on the existing data dir (3 runs) =="
port=18765
for i in 1 2 3; do
  start=$(date +%s.%N)
  $bin serve --data-dir "$dir" --addr 127.0.0.1:$port 2>>"$out/serve.log" &
  pid=$!
  until curl -fs http://127.0.0.1:$port/healthz >/dev/null 2>&1; do sleep 0.02; done
  end=$(date +%s.%N)
  echo "run $i: healthy after $(echo "$end - $start" | bc) s"
  kill -INT $pid; wait $pid || true
done
rm -rf "$dir"
