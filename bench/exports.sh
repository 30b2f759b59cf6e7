#!/usr/bin/env bash
# The GeoJSON and CSV exports of a whole city, now and at a past moment, on a demo city loaded
# before (demo --scale 100 takes about a minute: load it once with
# `gridmap demo --scale 100 --data-dir DIR` and reuse it). Each export is fetched RUNS times
# (default 3) with curl from a `gridmap serve` on the directory; the seconds and bytes of each
# fetch are printed, and the machine's load before and after.
#
#   DATA_DIR=/tmp/demo-s100 bench/exports.sh [AT]      # AT: a past moment (default: an hour ago)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${DATA_DIR:?set DATA_DIR to a data directory holding a loaded demo city}
at=${1:-$(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%SZ)}
runs=${RUNS:-3}
out=bench/out; mkdir -p "$out"
go build -o bin/gridmap ./cmd/gridmap
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
./bin/gridmap serve --data-dir "$DATA_DIR" --addr 127.0.0.1:0 2>"$out/exports-serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
until grep -q "gridmap serving" "$out/exports-serve.log" 2>/dev/null; do
  kill -0 $pid 2>/dev/null || { cat "$out/exports-serve.log"; exit 1; }
  sleep 0.2
done
url=$(grep 'gridmap serving' "$out/exports-serve.log" | sed -n 's/.*url=\([^ ]*\).*/\1/p' | head -1)
for path in grids.geojson buildings.geojson assignments.csv; do
  for q in "" "?at=$at"; do
    line="$path$q:"
    for _ in $(seq "$runs"); do
      line="$line $(curl -s -o /dev/null -w '%{time_total}s/%{size_download}B/%{http_code}' "$url/api/v1/export/$path$q")"
    done
    echo "$line"
  done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
