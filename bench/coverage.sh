#!/usr/bin/env bash
# The coverage report, read from what the writing transactions keep, and what keeping it
# costs the edits. For each scale (or for a data directory loaded before):
#   - the demo load's time (the kept facts are written with it);
#   - GET /api/v1/coverage for the whole city and for one community (a page of each list, as
#     the API serves it), /coverage/summary and /coverage/issues: curl's total time over
#     $RUNS runs (min / median / max), and the reply's size;
#   - `gridmap coverage` (its own "computed in"), and once --recompute (measured from scratch,
#     the check; what every request cost before);
#   - the Go benchmarks of the keeping per edit (paint, rename, assignment: the time the
#     coverage triggers took per write, the commit's refresh, the edit with and without them)
#     and of the reads, on the same database.
# The export's peak RSS should not grow with the scale (streamed).
#
#   bench/coverage.sh [SCALE...]             # defaults: 1 10; each scale loaded afresh
#   DATA_DIR=/tmp/cov-s100 bench/coverage.sh # a data directory loaded before (demo --scale 100
#                                            # takes minutes: load it once and reuse it)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
out=bench/out; mkdir -p "$out"
go build -o bin/gridmap ./cmd/gridmap
load() { echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"; }

# times URL N: min / median / max of curl's total time in ms over N runs, and the size
times() {
  for _ in $(seq "$2"); do curl -s -o /dev/null -w '%{time_total} %{size_download}\n' "$1"; done |
    sort -n | awk '{t[NR] = $1 * 1000; s = $2} END {printf "%.0f / %.0f / %.0f ms, %d bytes\n", t[1], t[int((NR + 1) / 2)], t[NR], s}'
}

run() { # DIR: benchmarks on the city in DIR
  local dir=$1
  ./bin/gridmap serve --data-dir "$dir" --addr 127.0.0.1:0 2>"$out/coverage-serve.log" &
  local pid=$!
  until grep -q "gridmap serving" "$out/coverage-serve.log" 2>/dev/null; do sleep 0.1; done
  local base
  base=$(sed -n 's/.*gridmap serving.*url=\(http[^ ]*\).*/\1/p' "$out/coverage-serve.log")
  # the private cluster's socket directory (README, "The private cluster")
  local db="host=$(sed -n 's/.*socket=\([^ ]*\).*/\1/p' "$out/coverage-serve.log" | head -1) user=postgres dbname=gridmap"
  local community
  community=$(curl -s "$base/api/v1/grids?level=2&limit=1&offset=7" | sed -n 's/.*"code":"\([0-9]*\)".*/\1/p' | head -1)
  # the connections' first statements prepare plans: one round first
  for path in /api/v1/coverage "/api/v1/coverage?grid=$community" /api/v1/coverage/summary /api/v1/coverage/issues; do
    curl -s -o /dev/null "$base$path"
  done
  load
  echo "coverage, whole city:        $(times "$base/api/v1/coverage" "$RUNS")"
  echo "coverage, community $community: $(times "$base/api/v1/coverage?grid=$community" "$RUNS")"
  echo "summary, whole city:         $(times "$base/api/v1/coverage/summary" "$RUNS")"
  echo "summary, community:          $(times "$base/api/v1/coverage/summary?grid=$community" "$RUNS")"
  echo "issues, whole city (50):     $(times "$base/api/v1/coverage/issues?limit=50" "$RUNS")"
  echo "issues, community (50):      $(times "$base/api/v1/coverage/issues?limit=50&grid=$community" "$RUNS")"
  echo "gridmap coverage:            $(./bin/gridmap coverage --data-dir "$dir" 2>/dev/null | grep 'computed in')"
  echo "gridmap coverage --recompute: $(./bin/gridmap coverage --recompute --data-dir "$dir" 2>/dev/null | grep 'computed in')"
  load
  echo "== keeping the report, per edit; reads (go test -bench, $db) =="
  GRIDMAP_BENCH_DATABASE_URL="$db" go test ./grid/postgis -run '^$' -bench 'CoverageKept|CoverageRead' \
    -benchtime "${BENCHTIME:-20x}" -timeout 30m | grep -E '^Benchmark'
  load
  echo "== export buildings (peak RSS of the gridmap process) =="
  /usr/bin/time -f "%M KB max RSS, %e s" ./bin/gridmap export buildings --data-dir "$dir" 2>&1 >/dev/null | tail -2
  kill -INT $pid; wait $pid || true
}

if [ -n "${DATA_DIR:-}" ]; then
  echo "== $DATA_DIR =="
  run "$DATA_DIR"
  exit
fi
for scale in ${*:-1 10}; do
  dir=$(mktemp -d /tmp/gridmap-bench-XXXX); chmod 755 "$dir"
  echo "== scale $scale =="
  load
  /usr/bin/time -f "demo --scale $scale loaded in %e s" ./bin/gridmap demo --scale "$scale" --data-dir "$dir" 2>&1 >/dev/null | tail -1
  run "$dir"
  rm -rf "$dir"
done
