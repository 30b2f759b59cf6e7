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
#
# What bounds the import's speed is shown by two measurements beside it. The CPU account: the
# import runs while `gridmap serve` holds the cluster up, and the CPU time (utime+stime from
# /proc) of the gridmap process and of every process of the cluster is taken around it; the
# connections that end during the import are counted through the postmaster, which reaps them
# (its cutime+cstime), and the busiest of them is sampled while it runs. Its one transaction
# runs in one backend, and PostgreSQL runs an INSERT in one process, so the import cannot take
# less than that backend's CPU, nor less than the total CPU over two cores. The insert floor
# (needs psql): the rows the import wrote, copied out and inserted again, already computed,
# into the empty table of a data directory holding only the grids, in a transaction rolled
# back — what the insert alone costs before anything is parsed or validated, with and without
# the geography index and the ST_IsValid CHECK.
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
serve=""
cleanup() {
  if [ -n "$serve" ]; then kill -INT "$serve" 2>/dev/null && wait "$serve" || true; fi
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
psql=$pgbin/psql
# gridmap's own cluster in data directory $1, as gridmap connects to it (peer, role postgres)
gpsql() { local d=$1; shift; "$psql" -qAtX -v ON_ERROR_STOP=1 -h "$d/run" -U postgres -d gridmap "$@"; }
# serve holds the cluster of data directory $1 up (another gridmap command shares it) once its
# start-up work (tile warming, the locate index) is done, so that it adds no CPU to what follows
serve_up() {
  "$bin" serve --data-dir "$1" --addr 127.0.0.1:0 >"$tmp/serve.log" 2>&1 &
  serve=$!
  until grep -qE "locate index built|building the locate index" "$tmp/serve.log"; do
    kill -0 $serve 2>/dev/null || { cat "$tmp/serve.log"; exit 1; }
    sleep 0.1
  done
}
serve_down() { kill -INT $serve; wait $serve || true; serve=""; }
tck=$(getconf CLK_TCK)
sep=') ' # /proc/PID/stat: the fields after the command name's closing parenthesis
# pg_cpu PGDATA: "pid ticks name" for the postmaster, for each of its live children, and
# (pid 0) for the children it has reaped: the connections that ended
pg_cpu() {
  local pm c s kids=() name
  read -r pm <"$1/postmaster.pid"
  read -r s <"/proc/$pm/stat"; s=(${s##*"$sep"})
  echo "$pm $((s[11] + s[12])) postmaster"
  echo "0 $((s[13] + s[14])) ended"
  read -r -a kids <"/proc/$pm/task/$pm/children" || true
  for c in "${kids[@]}"; do
    read -r s 2>/dev/null <"/proc/$c/stat" || continue
    s=(${s##*"$sep"})
    name=$(tr '\0' ' ' <"/proc/$c/cmdline" | sed 's/^postgres: //; s/ *$//; s/.*\[local\].*/connection/; s/ /_/g')
    echo "$c $((s[11] + s[12])) $name"
  done
}
# pg_sample POSTMASTER FLAG: "pid ticks" of each child of the postmaster every 0.05 s while the
# file FLAG exists (bash builtins only, so the sampling itself costs next to nothing)
pg_sample() {
  local c s kids=()
  while [ -e "$2" ]; do
    read -r -a kids <"/proc/$1/task/$1/children" || true
    for c in "${kids[@]}"; do
      read -r s 2>/dev/null <"/proc/$c/stat" || continue
      s=(${s##*"$sep"})
      echo "$c $((s[11] + s[12]))"
    done
    sleep 0.05
  done
}

if [ -d "$data" ]; then
  files=("$data"/buildings/*.json)
  echo "== Taipei buildings: gridmap import (grids, code, tile columns derived; repair, duplicates, rejections) =="
  if [ -r /proc/self/stat ]; then cpu=yes; else cpu=""; echo "no /proc: the CPU account is skipped"; fi
  for run in $(seq "$runs"); do
    load
    dir="$tmp/taipei-$run"; mkdir -p "$dir"
    $bin import grids --data-dir "$dir" --level 1 --name-prop TOWNNAME --city 臺北市 --admin-code 630000 "$data/districts.geojson" >/dev/null 2>&1
    $bin import grids --data-dir "$dir" --level 2 --name-prop VILLAGENAM "$data/villages.geojson" >/dev/null 2>&1
    # the import shares the cluster serve holds up ("reusing running PostgreSQL"), so the CPU
    # account below is the import's alone, with no cluster start or stop in it
    serve_up "$dir"
    read -r pm <"$dir/pg/postmaster.pid"
    if [ -n "$cpu" ]; then
      pg_cpu "$dir/pg" >"$tmp/cpu0"
      touch "$tmp/sampling"
      pg_sample "$pm" "$tmp/sampling" >"$tmp/samples" &
      sampler=$!
    fi
    t0=$(now)
    # the subshell's `times` reports its child's CPU: the gridmap import process
    ( $bin import buildings --data-dir "$dir" "${files[@]}" >"$tmp/import.out" 2>"$tmp/import.err" || true; times ) >"$tmp/times"
    t1=$(now)
    # the summary line carries the import's own time and rate (cluster start-up excluded)
    echo "run $run: $(head -1 "$tmp/import.out" | grep . || tail -1 "$tmp/import.err")"
    grep -q "reusing running PostgreSQL" "$tmp/import.err" && [ "$(head -1 "$dir/pg/postmaster.pid")" = "$pm" ] ||
      echo "run $run: the import did not share serve's cluster: the CPU account is not the import's"
    if [ -n "$cpu" ]; then
      sleep 0.3 # the postmaster reaps the import's connections
      rm "$tmp/sampling"; wait $sampler
      pg_cpu "$dir/pg" >"$tmp/cpu1"
      read_n=$(sed -n 's/.*read \([0-9]*\),.*/\1/p' "$tmp/import.out")
      gm=$(awk 'NR == 2 { split($1, u, "m"); split($2, s, "m"); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$tmp/times")
      awk -v run="$run" -v tck="$tck" -v wall="$(secs "$t0" "$t1")" -v gm="$gm" -v n="$read_n" '
        FILENAME == ARGV[1] { b[$1] = $2; tb += $2; next }
        FILENAME == ARGV[2] { if (!($1 in b) && $2 > smax[$1]) smax[$1] = $2; next }
        { ta += $2; seen[$1] = 1
          if ($1 == 0) conns += $2 - b[0]
          else if ($1 in b) { if ($2 > b[$1]) other[$3] += $2 - b[$1] }
          else { conns += $2; if ($2 > smax[$1]) smax[$1] = $2 } }
        END {
          for (p in b) if (!(p in seen)) conns -= b[p] # ended, but not the import'"'"'s: their CPU before it
          pg = (ta - tb) / tck; conns /= tck
          for (p in smax) { nc++; if (smax[p] > big) big = smax[p] }
          big /= tck
          o = ""; for (k in other) o = o sprintf(", %s %.2f", k, other[k] / tck)
          printf "run %s: CPU: wall %.2f s; gridmap %.2f s; PostgreSQL %.2f s = the import'"'"'s connections %.2f s (%d seen, the busiest >= %.2f s: sampled every 0.05 s)%s\n", run, wall, gm, pg, conns, nc, big, o
          lb = big > (gm + pg) / 2 ? big : (gm + pg) / 2
          printf "run %s: lower bound on 2 cores = max(PG backend %.2f s, total CPU %.2f s / 2) = %.2f s -> at most %d buildings/s for the %d read (%d/s done, wall)\n", run, big, gm + pg, lb, n / lb, n, n / wall
        }' "$tmp/cpu0" "$tmp/samples" "$tmp/cpu1"
    fi
    if [ "$run" = 1 ] && [ -x "$psql" ]; then
      # for the insert floor below: the rows as written, and the grids they point to
      gpsql "$dir" -c "\copy (SELECT * FROM buildings) TO '$tmp/buildings.bin' WITH (FORMAT binary)"
      grids_sum=$(gpsql "$dir" -c "SELECT md5(string_agg(id || ':' || code, ',' ORDER BY id)) FROM grids")
    fi
    if command -v ogr2ogr >/dev/null; then
      # ogr2ogr into a table of the same database, while the cluster is up (serve holds it)
      pg="PG:host=$dir/run user=postgres dbname=gridmap"
      n=$(python3 -c "import json,sys; print(sum(len(json.load(open(f))['features']) for f in sys.argv[1:]))" "${files[@]}")
      t0=$(now)
      for f in "${files[@]}"; do
        ogr2ogr -f PostgreSQL "$pg" "$f" -nln ogr_buildings -append -nlt PROMOTE_TO_MULTI -lco GEOMETRY_NAME=geom 2>/dev/null
      done
      t1=$(now)
      echo "run $run: ogr2ogr (${#files[@]} files, no validation, COPY, GiST index): $n features in $(secs "$t0" "$t1") s = $(echo "$n / ($t1 - $t0)" | bc) features/s"
    else
      echo "ogr2ogr not found: skipped (scripts/setup.sh test installs gdal-bin)"
    fi
    serve_down
  done
  load
  echo "== insert floor: the rows run 1 imported, already computed, inserted into the empty buildings table of a data dir with the grids only (gridmap.bulk on, rolled back) =="
  if [ ! -x "$psql" ]; then
    echo "psql not found at $psql: skipped"
  else
    dir="$tmp/floor"; mkdir -p "$dir"
    $bin import grids --data-dir "$dir" --level 1 --name-prop TOWNNAME --city 臺北市 --admin-code 630000 "$data/districts.geojson" >/dev/null 2>&1
    $bin import grids --data-dir "$dir" --level 2 --name-prop VILLAGENAM "$data/villages.geojson" >/dev/null 2>&1
    serve_up "$dir"
    if [ "$(gpsql "$dir" -c "SELECT md5(string_agg(id || ':' || code, ',' ORDER BY id)) FROM grids")" != "$grids_sum" ]; then
      echo "the grids imported again differ from run 1's (ids or codes): the rows' grid_id would not hold; skipped"
    else
      gpsql "$dir" -c "CREATE TABLE floor_src AS SELECT * FROM buildings WITH NO DATA" \
        -c "\copy floor_src FROM '$tmp/buildings.bin' WITH (FORMAT binary)" -c "VACUUM ANALYZE floor_src"
      rows=$(gpsql "$dir" -c "SELECT count(*) FROM floor_src")
      # every column but the generated anchor, which the insert computes (ST_PointOnSurface)
      cols=$(gpsql "$dir" -c "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
        WHERE attrelid = 'buildings'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''")
      insert="INSERT INTO buildings ($cols) SELECT $cols FROM floor_src"
      # each variant 3 times, in one session: wall time (clock_timestamp) and the backend's own
      # CPU (utime+stime of /proc/self/stat, which the backend reads: the superuser may) of the
      # INSERT alone. VACUUM between runs clears the rolled-back rows and their index entries
      # (else the unique keys would visit them), so each run starts from an empty table.
      {
        echo "CREATE FUNCTION pg_temp.cpu() RETURNS bigint LANGUAGE sql AS \$\$
          SELECT f[12]::bigint + f[13]::bigint
          FROM string_to_array(split_part(pg_read_file('/proc/self/stat'), '$sep', 2), ' ') f \$\$;"
        for v in full conflict nogeog nocheck neither; do
          ddl="" tail=""
          case $v in
            conflict) tail=" ON CONFLICT (source_hash) DO NOTHING" ;;
            nogeog) ddl="DROP INDEX buildings_footprint_geog;" ;;
            nocheck) ddl="ALTER TABLE buildings DROP CONSTRAINT buildings_footprint_check;" ;;
            neither) ddl="DROP INDEX buildings_footprint_geog; ALTER TABLE buildings DROP CONSTRAINT buildings_footprint_check;" ;;
          esac
          for i in 1 2 3; do
            echo "VACUUM buildings;"
            echo "BEGIN;"
            echo "SELECT set_config('gridmap.bulk', 'on', true) \\g /dev/null"
            echo "$ddl"
            echo "SELECT pg_temp.cpu() AS c0, clock_timestamp() AS t0 \\gset"
            echo "$insert$tail;"
            echo "SELECT '$v', extract(epoch FROM clock_timestamp() - :'t0'), (pg_temp.cpu() - :c0) / $tck::numeric;"
            echo "ROLLBACK;"
          done
        done
      } >"$tmp/floor.sql"
      load
      gpsql "$dir" -F ' ' -f "$tmp/floor.sql" >"$tmp/floor.out"
      awk -v rows="$rows" '
        BEGIN {
          label["full"] = "buildings as it is"
          label["conflict"] = "+ ON CONFLICT (source_hash) DO NOTHING, as the import writes it"
          label["nogeog"] = "without the geography index buildings_footprint_geog"
          label["nocheck"] = "without the CHECK buildings_footprint_check (ST_IsValid)"
          label["neither"] = "without both"
          printf "%d rows, 3 runs each, wall s/backend CPU s; rows/s at the best wall and CPU:\n", rows
        }
        { if (!($1 in best)) { order[++k] = $1; best[$1] = $2; bcpu[$1] = $3 }
          runs[$1] = runs[$1] sprintf("  %.3f/%.3f", $2, $3)
          if ($2 < best[$1]) best[$1] = $2; if ($3 < bcpu[$1]) bcpu[$1] = $3 }
        END {
          for (i = 1; i <= k; i++) { v = order[i]
            printf "  %-64s %s  %6d/s %6d/s\n", label[v], runs[v], rows / best[v], rows / bcpu[v] }
          printf "  by the best CPU: the geography index costs %.2f s, the CHECK %.2f s, ON CONFLICT %.2f s\n",
            bcpu["full"] - bcpu["nogeog"], bcpu["full"] - bcpu["nocheck"], bcpu["conflict"] - bcpu["full"]
        }' "$tmp/floor.out"
    fi
    serve_down
  fi
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
