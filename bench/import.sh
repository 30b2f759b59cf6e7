#!/usr/bin/env bash
# Bulk-load numbers: the Taipei building import (gridmap's buildings/s, validation included,
# and ogr2ogr's into the same PostGIS with no validation at all), and `gridmap demo --scale N`
# on gridmap's own cluster and on a plain PostgreSQL given by DATABASE_URL.
#
#   bench/import.sh [SCALE]      # SCALE defaults to 100 (the benchmark city); RUNS=2 repeats
#
# The plain PostgreSQL is one this script initdb's with the server's defaults (no tuning),
# listening on a Unix socket in a temporary directory only; it is stopped and removed at the
# end. The machine's load (uptime) is printed before and after each part: on a shared machine
# the numbers move with it. Needs the Taipei data at $GRIDMAP_TESTDATA or ../shared/data
# (the import part is skipped without it) and GDAL's ogr2ogr (skipped without it).
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-100}
runs=${RUNS:-2}
data=${GRIDMAP_TESTDATA:-../shared/data}/taipei
tmp=$(mktemp -d /tmp/gridmap-bench-import-XXXX)
chmod 755 "$tmp"
# in the temporary directory: the plain PostgreSQL's loader runs as its OS user
go build -o "$tmp/gridmap" ./cmd/gridmap
bin=$tmp/gridmap
plain=""
cleanup() {
  if [ -n "$plain" ]; then as_pg pg_ctl -D "$plain/pg" -m fast -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
load() { echo "load: $(uptime | sed 's/.*load average: //')"; }
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
# the server refuses to run as root: it runs as postgres then
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- env PATH="$pgbin:$PATH" "$@"; else PATH="$pgbin:$PATH" "$@"; fi; }

if [ -d "$data" ]; then
  files=("$data"/buildings/*.json)
  echo "== Taipei buildings: gridmap import (grids, code, tile columns derived; repair, duplicates, rejections) =="
  for run in $(seq "$runs"); do
    load
    dir="$tmp/taipei-$run"; mkdir -p "$dir"
    $bin import grids --data-dir "$dir" --level 1 --name-prop TOWNNAME --city 臺北市 --admin-code 630000 "$data/districts.geojson" >/dev/null 2>&1
    $bin import grids --data-dir "$dir" --level 2 --name-prop VILLAGENAM "$data/villages.geojson" >/dev/null 2>&1
    # the summary line carries the import's own time and rate (cluster start-up excluded)
    echo "run $run: $($bin import buildings --data-dir "$dir" "${files[@]}" 2>/dev/null | head -1)"
    if command -v ogr2ogr >/dev/null; then
      # ogr2ogr into a table of the same database, while the cluster is up (serve holds it)
      $bin serve --data-dir "$dir" --addr 127.0.0.1:0 >"$tmp/serve.log" 2>&1 &
      serve=$!
      until grep -q "gridmap serving" "$tmp/serve.log"; do sleep 0.1; done
      pg="PG:host=$dir/run user=postgres dbname=gridmap"
      n=$(python3 -c "import json,sys; print(sum(len(json.load(open(f))['features']) for f in sys.argv[1:]))" "${files[@]}")
      t0=$(now)
      for f in "${files[@]}"; do
        ogr2ogr -f PostgreSQL "$pg" "$f" -nln ogr_buildings -append -nlt PROMOTE_TO_MULTI -lco GEOMETRY_NAME=geom 2>/dev/null
      done
      t1=$(now)
      echo "run $run: ogr2ogr (7 files, no validation, COPY, GiST index): $n features in $(secs "$t0" "$t1") s = $(echo "$n / ($t1 - $t0)" | bc) features/s"
      kill -INT $serve; wait $serve || true
    else
      echo "ogr2ogr not found: skipped (scripts/setup.sh test installs gdal-bin)"
    fi
  done
  load
else
  echo "skipped the import: no Taipei data at $data"
fi

echo "== demo --scale $scale on gridmap's own cluster =="
for run in $(seq "$runs"); do
  load
  dir="$tmp/demo-$run"; mkdir -p "$dir"
  t0=$(now)
  $bin demo --scale "$scale" --data-dir "$dir" 2>/dev/null | tail -1
  echo "run $run: wall time including cluster start and stop: $(secs "$t0" "$(now)") s"
  rm -rf "$dir"
done
load

echo "== demo --scale $scale on a plain PostgreSQL (initdb defaults) via DATABASE_URL =="
plain="$tmp/plain"; mkdir -p "$plain"; chmod 755 "$plain"
[ "$(id -u)" = 0 ] && chown postgres "$plain"
as_pg initdb -D "$plain/pg" -A peer --username=postgres >/dev/null
as_pg pg_ctl -D "$plain/pg" -o "-c listen_addresses='' -c unix_socket_directories='$plain'" -l "$plain/pg.log" -w start >/dev/null
url="postgres:///postgres?host=$plain&user=postgres"
for run in $(seq "$runs"); do
  load
  as_pg psql -qX "$url" -c "DROP DATABASE IF EXISTS demo_$run" -c "CREATE DATABASE demo_$run" >/dev/null
  as_pg psql -qX "postgres:///demo_$run?host=$plain&user=postgres" -c "CREATE EXTENSION postgis" >/dev/null
  t0=$(now)
  as_pg env DATABASE_URL="postgres:///demo_$run?host=$plain&user=postgres" "$bin" demo --scale "$scale" 2>/dev/null | tail -1
  echo "run $run: wall time: $(secs "$t0" "$(now)") s"
  as_pg psql -qX "$url" -c "DROP DATABASE demo_$run" >/dev/null
done
load
