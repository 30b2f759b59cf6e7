#!/usr/bin/env bash
# Locate throughput: wrk against `gridmap serve` on loopback, GET /api/v1/locate at uniformly
# random points over the city's extent (bench/locate.lua; the extent from /api/v1/city, so
# points fall in grids, gaps and outside alike); then the latency at a fixed offered rate
# (bench/fixedrate, RATE req/s, latency from each request's scheduled time). Goal on demo
# --scale 100: ≥ 10,000 req/s with p99 < 5 ms on 2 cores. wrk keeps CONNECTIONS requests in
# flight, so its latency is the queue of a saturated server; the fixed rate measures the
# server at the load the goal names.
#
#   DATA_DIR=/tmp/gridmap-s100 bench/locate.sh [DURATION] [CONNECTIONS]     # defaults 30s, 32
#
# Environment (defaults): DATA_DIR (a fresh temporary directory, loaded with the demo city at
# SCALE; a directory that holds a city is reused as it is), SCALE (1), PORT (18766),
# RATE (10000).
# Server, PostgreSQL and wrk share the machine: the numbers are for all three on it. The
# server logs one line per request (as in production) to bench/out/locate-serve.log.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-30s}
conns=${2:-32}
: "${SCALE:=1}" "${PORT:=18766}" "${RATE:=10000}"
out=bench/out; mkdir -p "$out"
command -v wrk >/dev/null || { echo "wrk not installed (scripts/setup.sh bench)"; exit 1; }
go build -o bin/gridmap ./cmd/gridmap
go build -o bin/fixedrate ./bench/fixedrate
own=
if [ -z "${DATA_DIR:-}" ]; then
  DATA_DIR=$(mktemp -d /tmp/gridmap-bench-XXXX); chmod 755 "$DATA_DIR"
  own=1
fi
mkdir -p "$DATA_DIR"
./bin/gridmap demo --scale "$SCALE" --data-dir "$DATA_DIR" 2>/dev/null | tail -1 || true # refuses a city already there
./bin/gridmap serve --data-dir "$DATA_DIR" --addr 127.0.0.1:$PORT 2>"$out/locate-serve.log" &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null; if [ -n "$own" ]; then rm -rf "$DATA_DIR"; fi' EXIT
until curl -fs http://127.0.0.1:$PORT/healthz >/dev/null 2>&1; do sleep 0.05; done
BBOX=$(curl -fs http://127.0.0.1:$PORT/api/v1/city | tr -d ' \n' | sed -n 's/.*"bbox":\[\([^]]*\)\].*/\1/p')
export BBOX
echo "points over the city: $BBOX"
# until the in-memory index is built, locate is answered by SQL
for _ in $(seq 600); do
  curl -fs "http://127.0.0.1:$PORT/api/v1/locate?lon=118.70057&lat=32.0006" >/dev/null
  curl -fs http://127.0.0.1:$PORT/metrics | grep -q '^gridmap_locate_total{by="index"}' && break
  sleep 0.1
done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
# warm the connection pool and caches, then measure
wrk -t2 -c"$conns" -d3s -s bench/locate.lua "http://127.0.0.1:$PORT" >/dev/null
wrk -t2 -c"$conns" -d"$duration" --latency -s bench/locate.lua "http://127.0.0.1:$PORT" | tee "$out/locate.txt"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
./bin/fixedrate -url "http://127.0.0.1:$PORT" -rate "$RATE" -duration "$duration" -bbox "$BBOX" | tee -a "$out/locate.txt"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
curl -fs http://127.0.0.1:$PORT/metrics | grep -E '^gridmap_locate_total|^pgxpool_acquire_count\{pool="api"\}'
