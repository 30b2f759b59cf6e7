#!/usr/bin/env bash
# gridmap's vector tiles against pg_tileserv: the same PostGIS, the same demo city, the same list
# of tiles at z12–z16, the same content, one loopback load generator (wrk). Prints requests/s
# of both and the ratio gridmap / pg_tileserv, cache off (cold) and on (warm).
#
#   PG_TILESERV=/path/to/pg_tileserv bench/tiles-vs-pg_tileserv.sh
#
# pg_tileserv is built from its public source outside this repository (its code is never
# committed here), e.g.:
#   git clone https://github.com/CrunchyData/pg_tileserv /tmp/pg_tileserv-src
#   (cd /tmp/pg_tileserv-src && go build -o /tmp/pg_tileserv/pg_tileserv .)
# Without PG_TILESERV the script says so and exits 0.
#
# Equal content, per layer on both sides: for each tile, one request per layer the zoom rules
# draw (grids from z12, buildings from z14, units from z16):
#   gridmap     /tiles/{z}/{x}/{y}.mvt?layers=grids|buildings|units
#   pg_tileserv /tileserv.grids|buildings|units/{z}/{x}/{y}.pbf  (+ filter=level<=N for grids)
# pg_tileserv serves views in a schema "tileserv" over the same tables giving the same
# properties: grids from tile_grids (3857), buildings and units with the geometry columns of the
# original schema (SRID 4326; TILESERV_GEOM=3857 gives it gridmap's stored Web-Mercator copies), the same 64-unit buffer and the same
# number of database connections (DB_CONNS, default max(4, CPUs): pg_tileserv's default, and
# gridmap's for tiles). The script checks with GDAL that both sides return the same features
# (count) with the same properties (names) for every request.
#
# Environment (defaults): DATA_DIR (./data/bench-s100: a gridmap data directory; loaded with
# `gridmap demo --scale $SCALE` when empty) or DATABASE_URL; SCALE (100); ROUNDS (8) of
# DURATION (4s) per server, taking turns; WARMUP (5s per server, before the rounds); CONNS (16);
# THREADS (2); PER_ZOOM (60 tiles per zoom); DB_CONNS; PORT_GM (18411),
# PORT_GM_WARM (18412), PORT_TS (18413); TILESERV_GEOM (4326).
set -euo pipefail
cd "$(dirname "$0")/.."

: "${DATA_DIR:=./data/bench-s100}" "${SCALE:=100}" "${DURATION:=4s}" "${WARMUP:=5s}" "${CONNS:=16}"
: "${ROUNDS:=8}" "${DB_CONNS:=$(( $(nproc) > 4 ? $(nproc) : 4 ))}"
: "${THREADS:=2}" "${PER_ZOOM:=60}" "${PORT_GM:=18411}" "${PORT_GM_WARM:=18412}" "${PORT_TS:=18413}"
: "${TILESERV_GEOM:=4326}"

if [ -z "${PG_TILESERV:-}" ] || [ ! -x "${PG_TILESERV}" ]; then
  echo "bench: skipping: set PG_TILESERV to a pg_tileserv binary (built outside this repository, see the header of $0)"
  exit 0
fi
for tool in wrk curl psql; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found (scripts/setup.sh bench)"; exit 1; }
done

OUT=$(mktemp -d /tmp/gridmap-bench.XXXXXX)
pids=()
cleanup() {
  for ((k = ${#pids[@]} - 1; k >= 0; k--)); do kill "${pids[k]}" 2>/dev/null && wait "${pids[k]}" 2>/dev/null || true; done
  if [ -n "${DB:-}" ]; then psql -q "$DB" -c "DROP SCHEMA IF EXISTS tileserv CASCADE" 2>/dev/null || true; fi
}
trap cleanup EXIT

go build -o bin/gridmap ./cmd/gridmap
if [ -n "${DATABASE_URL:-}" ]; then
  DB=$DATABASE_URL
else
  mkdir -p "$DATA_DIR"
  DATA_DIR=$(cd "$DATA_DIR" && pwd)
fi

wait_up() { # url
  for _ in $(seq 600); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "bench: $1 did not come up (logs in $OUT)"; exit 1
}

# gridmap, cache off: it starts the private cluster (the other processes reuse it)
./bin/gridmap serve --data-dir "$DATA_DIR" --addr 127.0.0.1:$PORT_GM --tile-cache-mb 0 --tile-db-conns "$DB_CONNS" >"$OUT/gridmap-cold.log" 2>&1 &
pids+=($!)
wait_up "http://127.0.0.1:$PORT_GM/healthz"
if [ -z "${DB:-}" ]; then
  sock=$(sed -n 5p "$DATA_DIR/pg/postmaster.pid")
  DB="postgres:///gridmap?host=$sock&user=postgres"
fi
if [ "$(psql -tAq "$DB" -c "SELECT count(*) FROM buildings")" = 0 ]; then
  echo "bench: loading the demo city, scale $SCALE (a few minutes)"
  DATABASE_URL=$DB ./bin/gridmap demo --scale "$SCALE"
fi
./bin/gridmap serve --data-dir "$DATA_DIR" --addr 127.0.0.1:$PORT_GM_WARM --tile-cache-mb 1024 --tile-db-conns "$DB_CONNS" >"$OUT/gridmap-warm.log" 2>&1 &
pids+=($!)
wait_up "http://127.0.0.1:$PORT_GM_WARM/healthz"

# The same properties as gridmap's layers, from the same tables, each the best single source
# (a join makes PostgreSQL plan pg_tileserv's per-tile SQL as a parallel hash join: 5x slower).
# Grids come from tile_grids, the one table holding their counts and flags (in 3857 only).
geom=b.footprint ugeom=u.geom
if [ "$TILESERV_GEOM" = 3857 ]; then geom=b.footprint_3857 ugeom=u.geom_3857; fi
psql -q "$DB" <<SQL
DROP SCHEMA IF EXISTS tileserv CASCADE;
CREATE SCHEMA tileserv;
CREATE VIEW tileserv.grids AS
  SELECT level, code, name, households, households_estimated, workers,
         CASE WHEN overlap THEN 'overlap' WHEN gap THEN 'gap' WHEN NOT staffed THEN 'unstaffed' ELSE 'ok' END AS status,
         geom_3857 AS geom
  FROM public.tile_grids;
CREATE VIEW tileserv.buildings AS
  SELECT b.code, b.floors, b.households, b.households_estimated, coalesce(b.grid_code, '') AS grid_code, b.straddling, $geom AS geom
  FROM public.buildings b;
-- gridmap joins the building for its code too
CREATE VIEW tileserv.units AS
  SELECT u.label, u.households, b.code AS building_code, $ugeom AS geom
  FROM public.units u JOIN public.buildings b ON b.id = u.building_id;
SQL
cat >"$OUT/pg_tileserv.toml" <<EOF
HttpHost = "127.0.0.1"
HttpPort = $PORT_TS
DefaultBuffer = 64
DbPoolMaxConns = $DB_CONNS
EOF
DATABASE_URL=$DB "$PG_TILESERV" --no-preview -c "$OUT/pg_tileserv.toml" >"$OUT/pg_tileserv.log" 2>&1 &
pids+=($!)
wait_up "http://127.0.0.1:$PORT_TS/health"

# the tiles: PER_ZOOM random tiles per zoom (fixed seed) over the city's grids
psql -tAq -F ' ' "$DB" >"$OUT/tiles.txt" <<SQL
SELECT setseed(0.42);
WITH e AS (SELECT ST_Transform(ST_SetSRID(ST_Extent(geom), 4326), 3857) AS b FROM grids WHERE valid_to IS NULL),
r AS (SELECT z, 2 * 20037508.342789244 / 2^z AS w, b FROM e, generate_series(12, 16) z)
SELECT z, x, y FROM r, LATERAL (
  SELECT floor((ST_XMin(b) + 20037508.342789244) / w + random() * (ST_XMax(b) - ST_XMin(b)) / w)::int AS x,
         floor((20037508.342789244 - ST_YMax(b)) / w + random() * (ST_YMax(b) - ST_YMin(b)) / w)::int AS y
  FROM generate_series(1, $PER_ZOOM)) t;
SQL
sed -i '/^$/d; /^[^0-9]/d' "$OUT/tiles.txt"
: >"$OUT/gm.paths"
: >"$OUT/ts.paths"
while read -r z x y; do
  [ -z "$z" ] && continue
  level=2
  [ "$z" -ge 13 ] && level=3
  echo "/tiles/$z/$x/$y.mvt?layers=grids" >>"$OUT/gm.paths"
  echo "/tileserv.grids/$z/$x/$y.pbf?filter=level%20%3C%3D%20$level" >>"$OUT/ts.paths"
  if [ "$z" -ge 14 ]; then
    echo "/tiles/$z/$x/$y.mvt?layers=buildings" >>"$OUT/gm.paths"
    echo "/tileserv.buildings/$z/$x/$y.pbf" >>"$OUT/ts.paths"
  fi
  if [ "$z" -ge 16 ]; then
    echo "/tiles/$z/$x/$y.mvt?layers=units" >>"$OUT/gm.paths"
    echo "/tileserv.units/$z/$x/$y.pbf" >>"$OUT/ts.paths"
  fi
done <"$OUT/tiles.txt"
n=$(wc -l <"$OUT/gm.paths")
echo "bench: $(wc -l <"$OUT/tiles.txt") tiles (z12–z16), $n requests per pass; files in $OUT"

# equal content: the same number of features for every request (GDAL's MVT driver). A
# feature within centimetres of the buffer's edge can fall either way: pg_tileserv tests
# features against the envelope transformed to SRID 4326, gridmap in 3857.
if command -v ogrinfo >/dev/null; then
  same=0 edge=0 other=0
  count() { # port path z x y → "features field,field,…"
    curl -sf -o "$OUT/t.mvt" "http://127.0.0.1:$1$2" || { echo -1; return; }
    [ -s "$OUT/t.mvt" ] || { echo 0; return; }
    ogrinfo -ro -so -al -oo Z="$3" -oo X="$4" -oo Y="$5" -oo CLIP=NO "$OUT/t.mvt" 2>/dev/null |
      awk '/^Feature Count:/ {n += $3} /^[a-z_]+: / && $1 != "mvt_id:" {sub(":", "", $1); f[$1] = 1}
           END {s = ""; for (k in f) s = s "," k; printf "%d ", n; print s}' |
      { read -r n f; echo "$n $(tr , '\n' <<<"$f" | sort | tr '\n' ,)"; }
  }
  while IFS= read -r gm <&3 && IFS= read -r ts <&4; do
    IFS=/ read -r _ _ z x yq <<<"$gm"
    y=${yq%%.*}
    read -r a af <<<"$(count "$PORT_GM" "$gm" "$z" "$x" "$y")"
    read -r b bf <<<"$(count "$PORT_TS" "$ts" "$z" "$x" "$y")"
    if [ "$a" = 0 ] || [ "$b" = 0 ]; then af=$bf; fi # an empty tile has no fields
    if [ "$a" = "$b" ] && [ "$af" = "$bf" ]; then
      same=$((same + 1))
    elif [ "$af" = "$bf" ] && [ "$a" -ge 0 ] && [ "$b" -ge 0 ] && [ $((a - b)) -ge -1 ] && [ $((a - b)) -le 1 ]; then
      edge=$((edge + 1))
    else
      other=$((other + 1))
      echo "bench: content differs: $gm: $a features ($af), $ts: $b ($bf)"
    fi
  done 3<"$OUT/gm.paths" 4<"$OUT/ts.paths"
  echo "bench: equal content: of $n requests, $same return the same features with the same properties on both sides, $edge differ by one feature at the buffer's edge, $other otherwise"
else
  echo "bench: ogrinfo (GDAL) not found: content not compared"
fi


run() { # name port paths → appends "name req/s" to $OUT/runs
  PATHS=$3 wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s bench/paths.lua "http://127.0.0.1:$2" >"$OUT/$1.wrk"
  if grep -q "Non-2xx" "$OUT/$1.wrk"; then
    echo "bench: $1: $(grep Non-2xx "$OUT/$1.wrk")" >&2
  fi
  echo "$1 $(awk '/^Requests\/sec:/ {print $2}' "$OUT/$1.wrk") $(awk '$1 == "50%" {print $2}' "$OUT/$1.wrk")" >>"$OUT/runs"
}

# warm-up: PostgreSQL's buffers, both pools, gridmap's cache (every tile of the list once)
for s in "pg_tileserv $PORT_TS $OUT/ts.paths" "gridmap-cold $PORT_GM $OUT/gm.paths" "gridmap-warm $PORT_GM_WARM $OUT/gm.paths"; do
  set -- $s
  PATHS=$3 wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s bench/paths.lua "http://127.0.0.1:$2" >/dev/null
done
# The CPUs are shared with other work: the servers take turns, ROUNDS times, so that a busy
# spell of the machine falls on all of them; each ratio is of the sums over the rounds.
echo "bench: $ROUNDS rounds of wrk -t$THREADS -c$CONNS -d$DURATION per server, loopback; $(nproc) CPUs shared by wrk, the servers and PostgreSQL"
: >"$OUT/runs"
for r in $(seq "$ROUNDS"); do
  run pg_tileserv "$PORT_TS" "$OUT/ts.paths"
  run gridmap-cold "$PORT_GM" "$OUT/gm.paths"
  run gridmap-warm "$PORT_GM_WARM" "$OUT/gm.paths"
done
awk -v geom="$TILESERV_GEOM" '
  function median(a, n,  i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { sum[$1] += $2; n[$1]++; runs[$1] = runs[$1] sprintf(" %.0f", $2); p50[$1] = p50[$1] " " $3; rps[$1, n[$1]] = $2 }
  END {
    label["pg_tileserv"] = "pg_tileserv (geometry " geom ")"
    label["gridmap-cold"] = "gridmap, cache off (cold)"
    label["gridmap-warm"] = "gridmap, cache on (warm)"
    split("pg_tileserv gridmap-cold gridmap-warm", order, " ")
    printf "%-30s %9s   %s\n", "server", "req/s", "per round"
    for (k = 1; k <= 3; k++) printf "%-30s %9.0f  %s\n", label[order[k]], sum[order[k]] / n[order[k]], runs[order[k]]
    for (r = 1; r <= n["pg_tileserv"]; r++) { c[r] = rps["gridmap-cold", r] / rps["pg_tileserv", r]; w[r] = rps["gridmap-warm", r] / rps["pg_tileserv", r] }
    printf "ratio gridmap/pg_tileserv: cold %.2f (goal >= 1.5), warm %.2f (goal >= 10); per-round median cold %.2f, warm %.2f\n",
      sum["gridmap-cold"] / sum["pg_tileserv"], sum["gridmap-warm"] / sum["pg_tileserv"], median(c, n["pg_tileserv"]), median(w, n["pg_tileserv"])
  }' "$OUT/runs"
curl -s "http://127.0.0.1:$PORT_GM_WARM/metrics" | grep -E '^gridmap_tile_cache_(hits|misses)_total|^gridmap_tile_cache_bytes '
