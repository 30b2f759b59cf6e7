#!/usr/bin/env bash
# Warm tile throughput while planners edit: wrk over a fixed list of tiles of the city (every
# layer, gzip, as the map asks), with the tile cache warm, first quiet, then while a loop makes
# EDITS_PER_S edits per second through the API — renames of level-3 grids and paints of one
# building into the neighbouring grid (and back), spread over the city. Prints both req/s and
# their ratio (goal: edits ≥ 80% of quiet), taking turns ROUNDS times so that a busy spell of
# the shared machine falls on both.
#
#   DATA_DIR=/tmp/gridmap-s100 bench/tiles-edits.sh
#
# Environment (defaults): DATA_DIR (./data/bench-s100: a gridmap data directory; loaded with
# `gridmap demo --scale $SCALE` when empty); SCALE (100); ROUNDS (3) of DURATION (15s) each;
# CONNS (16); THREADS (2); EDITS_PER_S (2); PAIRS (40: communities edited in turn); PER_ZOOM
# (400: tiles per zoom at z13–z16; every tile of the city at z10–z12); CACHE_MB (512); PORT (18431).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATA_DIR:=./data/bench-s100}" "${SCALE:=100}" "${ROUNDS:=3}" "${DURATION:=15s}" "${CONNS:=16}"
: "${THREADS:=2}" "${EDITS_PER_S:=2}" "${PAIRS:=40}" "${PER_ZOOM:=400}" "${CACHE_MB:=512}" "${PORT:=18431}"
for tool in wrk curl psql; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found (scripts/setup.sh bench)"; exit 1; }
done

go build -o bin/gridmap ./cmd/gridmap
OUT=$(mktemp -d /tmp/gridmap-edits.XXXXXX)
mkdir -p "$DATA_DIR"
DATA_DIR=$(cd "$DATA_DIR" && pwd)
url=http://127.0.0.1:$PORT
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
serve() {
  ./bin/gridmap serve --data-dir "$DATA_DIR" --addr 127.0.0.1:$PORT --tile-cache-mb "$CACHE_MB" >"$OUT/serve.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 600); do curl -sf -o /dev/null "$url/healthz" && return 0; sleep 0.1; done
  echo "bench: gridmap did not come up (log: $OUT/serve.log)"; exit 1
}
serve
sock=$(sed -n 5p "$DATA_DIR/pg/postmaster.pid")
DB="postgres:///gridmap?host=$sock&user=postgres"
if [ "$(psql -tAq "$DB" -c "SELECT count(*) FROM buildings")" = 0 ]; then
  echo "bench: loading the demo city, scale $SCALE (a few minutes)"
  ./bin/gridmap demo --scale "$SCALE" --data-dir "$DATA_DIR" >/dev/null
fi
token=$({ ./bin/gridmap user add bench-edits --role planner --data-dir "$DATA_DIR" 2>/dev/null ||
  ./bin/gridmap user token bench-edits --data-dir "$DATA_DIR"; } | tail -n 1)

# The edits: in PAIRS communities picked at random (fixed seed), two neighbouring level-3 grids
# and the building of the first nearest to the second. Each edit in turn renames the first grid
# (or renames it back) or paints the building into the second grid (or back into the first).
psql -tAq -F ' ' "$DB" >"$OUT/pairs.txt" <<SQL
SELECT setseed(0.42);
WITH c AS (SELECT id FROM grids WHERE level = 2 AND valid_to IS NULL ORDER BY random() LIMIT $PAIRS)
SELECT a.id, b.id, bl.id
FROM c
CROSS JOIN LATERAL (
  SELECT a.id AS a, b.id AS b FROM grids a JOIN grids b ON b.parent_id = a.parent_id AND b.id <> a.id AND b.valid_to IS NULL
  WHERE a.parent_id = c.id AND a.valid_to IS NULL AND ST_Relate(a.geom, b.geom, 'F***1****')
    AND (SELECT count(*) FROM buildings x WHERE x.grid_id = a.id) > 3
  ORDER BY a.id, b.id LIMIT 1) p
JOIN grids a ON a.id = p.a JOIN grids b ON b.id = p.b
CROSS JOIN LATERAL (
  SELECT x.id FROM buildings x WHERE x.grid_id = a.id AND NOT x.straddling
  ORDER BY ST_Distance(x.footprint, ST_Boundary(b.geom)) LIMIT 1) bl;
SQL
sed -i '/^$/d; /^[^0-9]/d' "$OUT/pairs.txt"

# The tiles: every tile of the city's bounds at z10–z12, PER_ZOOM random ones (fixed seed) at
# z13–z16.
bounds=$(curl -s "$url/tiles.json" | tr -d ' \n' | sed -n 's/.*"bounds":\[\([^]]*\)\].*/\1/p')
awk -F, -v per="$PER_ZOOM" 'function tx(lon, z) { return int((lon + 180) / 360 * 2^z) }
  function ty(lat, z,  r) { r = lat * 3.141592653589793 / 180; return int((1 - log((sin(r) + 1) / cos(r)) / 3.141592653589793) / 2 * 2^z) }
  { srand(42)
    for (z = 10; z <= 16; z++) {
      x0 = tx($1, z); x1 = tx($3, z); y0 = ty($4, z); y1 = ty($2, z)
      if (z <= 12) { for (x = x0; x <= x1; x++) for (y = y0; y <= y1; y++) print "/tiles/" z "/" x "/" y ".mvt"; continue }
      for (k = 0; k < per; k++) print "/tiles/" z "/" int(x0 + rand() * (x1 - x0 + 1)) "/" int(y0 + rand() * (y1 - y0 + 1)) ".mvt"
    } }' <<<"$bounds" | sort -u >"$OUT/tiles.paths"

# edits: runs until killed, EDITS_PER_S a second, one line per edit in $OUT/edits.log:
# "kind status seconds"
edits() {
  local n=0 period k a b bl target from etag t0 t1 code spent
  period=$(awk -v r="$EDITS_PER_S" 'BEGIN { printf "%.4f", 1 / r }')
  mapfile -t pairs <"$OUT/pairs.txt"
  while :; do
    k=$(((n / 2) % ${#pairs[@]}))
    read -r a b bl <<<"${pairs[k]}"
    t0=$(date +%s.%N)
    if [ $((n % 2)) = 0 ]; then
      # rename the first grid, or back
      etag=$(curl -s -D - -o "$OUT/grid.json" -H "Authorization: Bearer $token" "$url/api/v1/grids/$a" | sed -n 's/^[Ee][Tt]ag: *//p' | tr -d '\r')
      name=$(sed -n 's/.*"name":"\([^"]*\)".*/\1/p' "$OUT/grid.json" | head -n 1)
      case $name in *·) name=${name%·} ;; *) name="$name·" ;; esac
      code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Bearer $token" -H "If-Match: $etag" \
        -H 'Content-Type: application/json' -d "{\"name\":\"$name\"}" "$url/api/v1/grids/$a")
      kind=rename
    else
      # paint the building into the second grid, or back into the first
      target=$b
      if [ "$(psql -tAq "$DB" -c "SELECT grid_id FROM buildings WHERE id = $bl")" = "$b" ]; then target=$a; fi
      etag=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $token" "$url/api/v1/grids/$target" | sed -n 's/^[Ee][Tt]ag: *//p' | tr -d '\r')
      code=$(curl -s -o "$OUT/paint.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $token" -H "If-Match: $etag" \
        -H 'Content-Type: application/json' -d "{\"buildings\":[$bl]}" "$url/api/v1/grids/$target/paint")
      kind=paint
    fi
    t1=$(date +%s.%N)
    spent=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    echo "$kind $code $spent" >>"$OUT/edits.log"
    n=$((n + 1))
    sleep "$(awk -v p="$period" -v s="$spent" 'BEGIN { d = p - s; printf "%.3f", (d > 0 ? d : 0) }')"
  done
}

metric() { curl -s "$url/metrics" | awk -v m="$1" '$1 == m { printf "%.0f\n", $2 }'; }
run() { # name → appends "name req/s p99" to $OUT/runs
  PATHS=$OUT/tiles.paths wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s bench/paths.lua "$url" >"$OUT/$1.wrk"
  grep -q "Non-2xx" "$OUT/$1.wrk" && echo "bench: $1: $(grep Non-2xx "$OUT/$1.wrk")" >&2
  echo "$1 $(awk '/^Requests\/sec:/ {print $2}' "$OUT/$1.wrk") $(awk '$1 == "99%" {print $2}' "$OUT/$1.wrk")" >>"$OUT/runs"
}

n=$(wc -l <"$OUT/tiles.paths")
echo "bench: $n tiles (z10–z16), $(wc -l <"$OUT/pairs.txt") communities edited in turn; files in $OUT"
# warm: every tile once (and PostgreSQL's buffers), then a wrk pass
while read -r p; do curl -s -o /dev/null -H 'Accept-Encoding: gzip' "$url$p"; done <"$OUT/tiles.paths"
PATHS=$OUT/tiles.paths wrk -t"$THREADS" -c"$CONNS" -d5s -s bench/paths.lua "$url" >/dev/null
echo "bench: load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (shared by wrk, gridmap, PostgreSQL and the edit loop)"
: >"$OUT/runs"
: >"$OUT/edits.log"
misses0=$(metric gridmap_tile_cache_misses_total) dropped0=$(metric gridmap_tile_cache_invalidated_total)
for r in $(seq "$ROUNDS"); do
  run quiet
  edits &
  epid=$!
  pids+=($epid)
  run edits
  kill "$epid" 2>/dev/null; wait "$epid" 2>/dev/null || true
done
echo "bench: load after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '{ sum[$1] += $2; n[$1]++; runs[$1] = runs[$1] sprintf(" %.0f (p99 %s)", $2, $3) }
  END {
    printf "%-28s %9s   %s\n", "tiles, warm cache", "req/s", "per round"
    printf "%-28s %9.0f  %s\n", "quiet", sum["quiet"] / n["quiet"], runs["quiet"]
    printf "%-28s %9.0f  %s\n", "while editing", sum["edits"] / n["edits"], runs["edits"]
    printf "ratio editing/quiet: %.2f (goal >= 0.80)\n", sum["edits"] / sum["quiet"]
  }' "$OUT/runs"
awk -v d="$DURATION" -v r="$ROUNDS" '{ n[$1]++; t[$1] += $3; if ($2 != 200) bad++ }
  END { secs = d * r; printf "edits: %d renames (mean %.0f ms), %d paints (mean %.0f ms), %d refused, %.2f edits/s over the editing rounds\n",
    n["rename"], n["rename"] ? 1000 * t["rename"] / n["rename"] : 0, n["paint"], n["paint"] ? 1000 * t["paint"] / n["paint"] : 0, bad, (n["rename"] + n["paint"]) / secs }' "$OUT/edits.log"
echo "cache: $(( $(metric gridmap_tile_cache_invalidated_total) - dropped0 )) tiles dropped by edits, $(( $(metric gridmap_tile_cache_misses_total) - misses0 )) renders during the rounds, $(metric gridmap_tile_cache_resets_total) resets"
