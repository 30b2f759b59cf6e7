#!/usr/bin/env bash
# What the stored Web-Mercator copies, the bbox-only filter, the prepared statement and the
# generic plan buy, measured in PostgreSQL alone: pgbench runs each variant of a z14 buildings
# tile over random tiles of the demo city, one client, and the script reads the CPU time of
# that client's backend (steadier than wall time on shared CPUs) and pgbench's tiles/s.
#
#   DATABASE_URL=postgres:///gridmap?host=…&user=postgres bench/tiles-sql.sh
#
# The database must hold demo --scale 100 (bench/tiles-z10.sh or tiles-vs-pg_tileserv.sh load
# it). Environment: SECS (5 per run), ROUNDS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to the database holding demo --scale 100}" "${SECS:=5}" "${ROUNDS:=2}"
bindir=$(pg_config --bindir 2>/dev/null || true)
[ -x "$bindir/pgbench" ] || bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGBENCH=$bindir/pgbench
OUT=$(mktemp -d /tmp/gridmap-sql.XXXXXX)

# random z14 tiles over the city's grids
read -r x0 x1 y0 y1 < <(psql -tAq -F ' ' "$DATABASE_URL" -c "
  SELECT floor((ST_XMin(b) + 20037508.342789244) / w), floor((ST_XMax(b) + 20037508.342789244) / w),
         floor((20037508.342789244 - ST_YMax(b)) / w), floor((20037508.342789244 - ST_YMin(b)) / w)
  FROM (SELECT ST_Transform(ST_SetSRID(ST_Extent(geom), 4326), 3857) AS b, 2 * 20037508.342789244 / 2^14 AS w
        FROM grids WHERE valid_to IS NULL) e")
head="\\set x random($x0, $x1)
\\set y random($y0, $y1)"
cols="b.code, b.floors, b.households, b.households_estimated, coalesce(b.grid_code, '') AS grid_code, b.straddling"

# before: transform every feature, filter in 4326 (as a generic tile server does)
cat >"$OUT/transform.sql" <<EOF
$head
SELECT length(ST_AsMVT(t, 'buildings', 4096, 'geom')) FROM (SELECT $cols,
  ST_AsMVTGeom(ST_Transform(b.footprint, 3857), ST_TileEnvelope(14, :x, :y), 4096, 64) AS geom FROM buildings b
  WHERE ST_Intersects(b.footprint, ST_Transform(ST_TileEnvelope(14, :x, :y, margin => 64.0 / 4096), 4326))) t;
EOF
# the stored 3857 copy, still with ST_Intersects
cat >"$OUT/stored.sql" <<EOF
$head
SELECT length(ST_AsMVT(t, 'buildings', 4096, 'geom')) FROM (SELECT $cols,
  ST_AsMVTGeom(b.footprint_3857, ST_TileEnvelope(14, :x, :y), 4096, 64) AS geom FROM buildings b
  WHERE ST_Intersects(b.footprint_3857, ST_TileEnvelope(14, :x, :y, margin => 64.0 / 4096))) t;
EOF
# and the bbox alone (ST_AsMVTGeom drops what its clip leaves empty)
cat >"$OUT/bbox.sql" <<EOF
$head
SELECT length(ST_AsMVT(t, 'buildings', 4096, 'geom')) FROM (SELECT $cols,
  ST_AsMVTGeom(b.footprint_3857, ST_TileEnvelope(14, :x, :y), 4096, 64) AS geom FROM buildings b
  WHERE b.footprint_3857 && ST_TileEnvelope(14, :x, :y, margin => 64.0 / 4096)) t;
EOF
# gridmap's own statement (tiles/tile.sql) with the buildings layer alone
{
  echo "$head"
  grep -v '^--' tiles/tile.sql | sed \
    -e 's/\$10::bigint\[\]/NULL::bigint[]/; s/\$11::text\[\]/NULL::text[]/; s/\$12::int\[\]/NULL::int[]/' \
    -e 's/\$13::int\[\]/NULL::int[]/; s/\$14::geometry\[\]/NULL::geometry[]/' \
    -e 's/\$1\b/14/g; s/\$2\b/:x/g; s/\$3\b/:y/g; s/\$4\b/0/g; s/\$5\b/true/g; s/\$6\b/false/g; s/\$7\b/false/g' \
    -e 's/\$8\b/0/g; s/\$9\b/4.78/g' | tr '\n' ' '
  echo ";"
} >"$OUT/gridmap.sql"

run() { # label mode pgoptions file
  PGOPTIONS="$3" "$PGBENCH" -n -M "$2" -T "$SECS" -c 1 -f "$4" "$DATABASE_URL" >"$OUT/pgbench.out" 2>&1 &
  local bp=$! pid="" first="" last=0 f
  for _ in $(seq 50); do
    pid=$(psql -tAq "$DATABASE_URL" -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench' LIMIT 1")
    [ -n "$pid" ] && break
    sleep 0.1
  done
  while kill -0 $bp 2>/dev/null; do
    if read -r -a f <"/proc/$pid/stat" 2>/dev/null; then
      last=$((f[13] + f[14]))
      [ -z "$first" ] && first=$last
    fi
    sleep 0.2
  done
  wait $bp || { cat "$OUT/pgbench.out"; exit 1; }
  local n tps
  n=$(awk '/number of transactions actually processed/ {split($NF, a, "/"); print a[1]}' "$OUT/pgbench.out")
  tps=$(awk '/^tps/ {printf "%.0f", $3}' "$OUT/pgbench.out")
  awk -v l="$1" -v a="$first" -v b="$last" -v n="$n" -v hz="$(getconf CLK_TCK)" -v tps="$tps" \
    'BEGIN {printf "%-58s %6.2f ms CPU/tile  %5d tiles/s\n", l, (b - a) * 1000 / hz / n, tps}'
}
echo "bench: z14 buildings tiles (x $x0–$x1, y $y0–$y1), one pgbench client, ${SECS}s per run"
for r in $(seq "$ROUNDS"); do
  run "transform per feature, ST_Intersects in 4326 (simple)" simple "" "$OUT/transform.sql"
  run "transform per feature, ST_Intersects in 4326 (prepared)" prepared "" "$OUT/transform.sql"
  run "stored 3857, ST_Intersects (prepared)" prepared "" "$OUT/stored.sql"
  run "stored 3857, bbox only (prepared)" prepared "" "$OUT/bbox.sql"
  run "gridmap's tile.sql, planned each time (simple)" simple "" "$OUT/gridmap.sql"
  run "gridmap's tile.sql, prepared, custom plans" prepared "-c plan_cache_mode=force_custom_plan" "$OUT/gridmap.sql"
  run "gridmap's tile.sql, prepared, generic plan (as served)" prepared "-c plan_cache_mode=force_generic_plan" "$OUT/gridmap.sql"
done
