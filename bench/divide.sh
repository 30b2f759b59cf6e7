#!/usr/bin/env bash
# Auto-divide and rebalance on the real test data (../shared/data or $GRIDMAP_TESTDATA) and on
# the demo city: the Go benchmarks BenchmarkDivide* and BenchmarkRebalanceDemo in grid/postgis,
# printed as a table. Each iteration applies every divide (graph, partition, geometry, write
# and its checks) and undoes it untimed, so every iteration divides the same data.
#
#   bench/divide.sh [BENCHTIME]      # default 3x; the machine's load is printed before and after
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime=${1:-3x}
out=bench/out; mkdir -p "$out"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
go test ./grid/postgis -run '^$' -bench 'DivideCommunity|DivideLiechtenstein|DivideTaipei|RebalanceDemo' \
  -benchtime "$benchtime" -timeout 60m | tee "$out/divide.txt" | awk '
  /^Benchmark/ {
    name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
    line = sprintf("%-28s %8.2f s/op", name, $3 / 1e9)
    for (i = 5; i + 1 <= NF; i += 2) line = line sprintf("  %s %s", $(i + 1), $i)
    print line
  }
  /^(ok|FAIL|---)/ { print }'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
