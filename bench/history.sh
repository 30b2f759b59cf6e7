#!/usr/bin/env bash
# The division through time on a demo city loaded before (demo --scale 100 takes minutes:
# load it once, `gridmap demo --scale 100 --data-dir DIR`, and reuse it):
#   - a period of edits is made once (paint, rename, assignment in 40 communities), then
#     /changes over the whole city (grid/postgis BenchmarkHistoryChanges);
#   - the report of the whole city as XLSX now, at the moment before the edits (measured from
#     scratch) and with the period (BenchmarkHistoryReport), and `gridmap report`'s wall time
#     and peak RSS (GNU time), which should not grow with the city;
#   - tiles now and at a moment before the edits (tiles BenchmarkTile).
#
#   DATA_DIR=/tmp/h14b-s100 bench/history.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${DATA_DIR:?set DATA_DIR to a data directory holding a loaded demo city}
out=bench/out; mkdir -p "$out"
go build -o bin/gridmap ./cmd/gridmap
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
./bin/gridmap serve --data-dir "$DATA_DIR" --addr 127.0.0.1:0 2>"$out/history-serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
until grep -q "gridmap serving" "$out/history-serve.log" 2>/dev/null; do sleep 0.2; done
db="host=$(sed -n 's/.*socket=\([^ ]*\).*/\1/p' "$out/history-serve.log" | head -1) user=postgres dbname=gridmap"
before=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
GRIDMAP_BENCH_DATABASE_URL=$db go test ./grid/postgis -run '^$' -bench 'History' -benchtime ${BENCHTIME:-3x} -timeout 30m
GRIDMAP_TILES_BENCH_DB=$db GRIDMAP_TILES_BENCH_AT=$before go test ./tiles -run '^$' -bench 'Tile$' -benchtime ${BENCHTIME:-3x}
for args in "" "--at $before" "--from $before"; do
  # shellcheck disable=SC2086
  /usr/bin/time -f "gridmap report $args: %e s, peak RSS %M kB" env DATABASE_URL="$db" ./bin/gridmap report $args >"$out/report.xlsx"
  ls -l "$out/report.xlsx" | awk '{print "  " $5 " bytes"}'
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
