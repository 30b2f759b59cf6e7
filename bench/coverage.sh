#!/usr/bin/env bash
# Coverage report time for the demo city at the given scales, and the export's
# memory at each: `gridmap coverage` prints the report's own time ("computed in", PostgreSQL
# start-up excluded); the export's peak RSS should not grow with the scale (streamed).
#
#   bench/coverage.sh [SCALE...]     # defaults: 1 10
set -euo pipefail
cd "$(dirname "$0")/.."
scales=${*:-1 10}
out=bench/out; mkdir -p "$out"
go build -o bin/gridmap ./cmd/gridmap
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for scale in $scales; do
  dir=$(mktemp -d /tmp/gridmap-bench-XXXX); chmod 755 "$dir"
  ./bin/gridmap demo --scale "$scale" --data-dir "$dir" 2>/dev/null | tail -1
  # keep one PostgreSQL running for all runs, so each run measures the report, not a start-up
  ./bin/gridmap serve --data-dir "$dir" --addr 127.0.0.1:0 2>"$out/coverage-serve.log" &
  pid=$!
  until grep -q "gridmap serving" "$out/coverage-serve.log" 2>/dev/null; do sleep 0.05; done
  echo "== scale $scale: coverage of the whole city (5 runs) =="
  for i in 1 2 3 4 5; do
    ./bin/gridmap coverage --data-dir "$dir" 2>/dev/null | grep -E "^  [0-9]+ (grids|findings)|computed in" | tr '\n' ' '
    echo
  done
  echo "== scale $scale: export buildings (peak RSS of the gridmap process) =="
  /usr/bin/time -f "%M KB max RSS, %e s" ./bin/gridmap export buildings --data-dir "$dir" 2>&1 >/dev/null | tail -2
  kill -INT $pid; wait $pid || true
  rm -rf "$dir"
done
