#!/usr/bin/env bash
# Locate throughput: wrk against `gridmap serve` on loopback with the demo city,
# GET /api/v1/locate at random points (bench/locate.lua). Goal: ≥ 3,000 req/s on 2 cores.
#
#   bench/locate.sh [DURATION] [CONNECTIONS]     # defaults 30s, 32
#
# Server, PostgreSQL and wrk share the machine: the numbers are for all three on it. The
# server logs one line per request (as in production) to bench/out/locate-serve.log.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-30s}
conns=${2:-32}
out=bench/out; mkdir -p "$out"
command -v wrk >/dev/null || { echo "wrk not installed (scripts/setup.sh bench)"; exit 1; }
go build -o bin/gridmap ./cmd/gridmap
dir=$(mktemp -d /tmp/gridmap-bench-XXXX); chmod 755 "$dir"
port=${PORT:-18766}
./bin/gridmap demo --data-dir "$dir" 2>/dev/null | tail -1
./bin/gridmap serve --data-dir "$dir" --addr 127.0.0.1:$port 2>"$out/locate-serve.log" &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
until curl -fs http://127.0.0.1:$port/healthz >/dev/null 2>&1; do sleep 0.05; done
curl -fs "http://127.0.0.1:$port/api/v1/locate?lon=118.70057&lat=32.0006" >/dev/null
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
# warm the connection pool and caches, then measure
wrk -t2 -c"$conns" -d3s -s bench/locate.lua "http://127.0.0.1:$port" >/dev/null
wrk -t2 -c"$conns" -d"$duration" --latency -s bench/locate.lua "http://127.0.0.1:$port" | tee "$out/locate.txt"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
