#!/usr/bin/env bash
# The z10 goal of the vector tiles: on demo --scale 100 every z10 tile of the city is at most
# 500 KB and comes in at most 200 ms cold (tile cache off). Prints, per z10 tile, its size
# (plain and gzipped) and the time to the last byte (curl), best and worst of REPEAT requests;
# then the first tile after a write, which waits for the density index to be rebuilt.
#
#   bench/tiles-z10.sh            # DATA_DIR=./data/bench-s100 (loaded when empty), or DATABASE_URL
#
# Environment (defaults): DATA_DIR (./data/bench-s100), SCALE (100), REPEAT (5), PORT (18421).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATA_DIR:=./data/bench-s100}" "${SCALE:=100}" "${REPEAT:=5}" "${PORT:=18421}"
command -v curl >/dev/null || { echo "bench: curl not found"; exit 1; }

go build -o bin/gridmap ./cmd/gridmap
OUT=$(mktemp -d /tmp/gridmap-z10.XXXXXX)
mkdir -p "$DATA_DIR"
./bin/gridmap serve --data-dir "$DATA_DIR" --addr 127.0.0.1:$PORT --tile-cache-mb 0 >"$OUT/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 600); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
url=http://127.0.0.1:$PORT
curl -sf -o /dev/null "$url/tiles.json" || { echo "bench: gridmap did not answer (log: $OUT/serve.log)"; exit 1; }
bounds=$(curl -s "$url/tiles.json" | tr -d ' \n' | sed -n 's/.*"bounds":\[\([^]]*\)\].*/\1/p')
if [ "$bounds" = "-180,-85.0511,180,85.0511" ]; then
  echo "bench: the database is empty: loading the demo city, scale $SCALE (a few minutes)"
  kill $pid; wait $pid 2>/dev/null || true
  if [ -n "${DATABASE_URL:-}" ]; then ./bin/gridmap demo --scale "$SCALE"; else ./bin/gridmap demo --scale "$SCALE" --data-dir "$DATA_DIR"; fi
  ./bin/gridmap serve --data-dir "$DATA_DIR" --addr 127.0.0.1:$PORT --tile-cache-mb 0 >"$OUT/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do curl -sf -o /dev/null "$url/healthz" && break; sleep 0.1; done
  bounds=$(curl -s "$url/tiles.json" | tr -d ' \n' | sed -n 's/.*"bounds":\[\([^]]*\)\].*/\1/p')
fi
# the z10 tiles over the city's bounds
tiles=$(awk -F, -v z=10 'function tx(lon) { return int((lon + 180) / 360 * 2^z) }
  function ty(lat,  r) { r = lat * 3.141592653589793 / 180; return int((1 - log((sin(r) + 1) / cos(r)) / 3.141592653589793) / 2 * 2^z) }
  { for (x = tx($1); x <= tx($3); x++) for (y = ty($4); y <= ty($2); y++) print z "/" x "/" y }' <<<"$bounds")
# wait for the server's warm-up (density index) to end: the first tile then measures a cold tile
curl -s -o /dev/null "$url/tiles/0/0/0.mvt"
echo "bench: z10 tiles of the city (bounds $bounds), tile cache off, best/worst of $REPEAT requests"
printf '%-12s %10s %10s %10s %10s\n' tile "bytes" "gzip" "best ms" "worst ms"
worst_ms=0 worst_bytes=0
for t in $tiles; do
  best=999999 worst=0
  for _ in $(seq "$REPEAT"); do
    ms=$(curl -s -o "$OUT/t.mvt" -w '%{time_total}' "$url/tiles/$t.mvt" | awk '{printf "%.1f", $1 * 1000}')
    best=$(awk -v a="$best" -v b="$ms" 'BEGIN {print (b < a) ? b : a}')
    worst=$(awk -v a="$worst" -v b="$ms" 'BEGIN {print (b > a) ? b : a}')
  done
  bytes=$(stat -c %s "$OUT/t.mvt")
  gz=$(curl -s -H 'Accept-Encoding: gzip' -o "$OUT/t.gz" -w '%{size_download}' "$url/tiles/$t.mvt")
  printf '%-12s %10d %10d %10s %10s\n' "$t" "$bytes" "$gz" "$best" "$worst"
  worst_ms=$(awk -v a="$worst_ms" -v b="$worst" 'BEGIN {print (b > a) ? b : a}')
  worst_bytes=$((bytes > worst_bytes ? bytes : worst_bytes))
done
echo "bench: largest z10 tile $worst_bytes bytes (goal <= 500000), slowest $worst_ms ms (goal <= 200)"

# after a write the density index is rebuilt once, by the first density tile
if [ -n "${DATABASE_URL:-}" ]; then db=$DATABASE_URL; else db="postgres:///gridmap?host=$(sed -n 5p "$DATA_DIR/pg/postmaster.pid")&user=postgres"; fi
if command -v psql >/dev/null; then
  psql -q "$db" -c "UPDATE households SET residents = residents WHERE id = (SELECT min(id) FROM households)"
  first=$(echo "$tiles" | head -n 1)
  ms=$(curl -s -o /dev/null -w '%{time_total}' "$url/tiles/$first.mvt" | awk '{printf "%.1f", $1 * 1000}')
  ms2=$(curl -s -o /dev/null -w '%{time_total}' "$url/tiles/$first.mvt" | awk '{printf "%.1f", $1 * 1000}')
  echo "bench: after a write: first z10 tile $ms ms (rebuilds the density index), the next $ms2 ms"
fi
