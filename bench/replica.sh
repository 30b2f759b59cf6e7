#!/usr/bin/env bash
# Tiles from a streaming replica against tiles from the primary, and what read-your-writes
# costs. Starts a plain PostgreSQL primary and a hot standby made from it with
# pg_basebackup -R (both on Unix sockets in a scratch directory, no TCP), loads the demo city
# into the primary, then runs two gridmap servers on it with the tile cache off — one reading
# from the primary, one with --replica-url — and takes turns with wrk over the same tiles
# (z13–z16, every layer, gzip). Then renames grids through the replica server, each followed at
# once by a coverage read naming the write (Gridmap-Min-LSN), and prints how long those reads
# waited for the standby (gridmap_replica_wait_seconds) and where they went.
#
#   bench/replica.sh
#
# Environment (defaults): SCALE (10); ROUNDS (3) of DURATION (10s) each; CONNS (8); THREADS
# (2); PER_ZOOM (200 random tiles per zoom); WRITES (50); PORT (18441; PORT+1 for the replica
# server); KEEP (empty: remove the scratch directory).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SCALE:=10}" "${ROUNDS:=3}" "${DURATION:=10s}" "${CONNS:=8}" "${THREADS:=2}" "${PER_ZOOM:=200}"
: "${WRITES:=50}" "${PORT:=18441}" "${KEEP:=}"
for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found (scripts/setup.sh bench)"; exit 1; }
done
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
# the server refuses to run as root: it runs as postgres then, and so do the clients using
# peer authentication
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- env PATH="$pgbin:$PATH" "$@"; else PATH="$pgbin:$PATH" "$@"; fi; }

OUT=$(mktemp -d /tmp/gridmap-replica.XXXXXX)
chmod 755 "$OUT"
go build -o "$OUT/gridmap" ./cmd/gridmap
[ "$(id -u)" = 0 ] && chown postgres "$OUT"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  for d in standby primary; do as_pg pg_ctl -D "$OUT/$d/pg" -m fast -w stop >/dev/null 2>&1 || true; done
  [ -n "$KEEP" ] || rm -rf "$OUT"
}
trap cleanup EXIT
pg_start() { # dir port
  as_pg pg_ctl -D "$1/pg" -o "-c listen_addresses='' -c unix_socket_directories='$1' -c port=$2 -c hot_standby_feedback=on" \
    -l "$1/pg.log" -w start >/dev/null
}
as_pg mkdir -p "$OUT/primary" "$OUT/standby"
# initdb's defaults: wal_level replica, wal senders, and a local replication line in pg_hba.conf
as_pg initdb -D "$OUT/primary/pg" -A peer --username=postgres >/dev/null
pg_start "$OUT/primary" 5432
PRIMARY="postgres:///gridmap?host=$OUT/primary&user=postgres"
STANDBY="postgres:///gridmap?host=$OUT/standby&port=5433&user=postgres"
as_pg psql -qX "postgres:///postgres?host=$OUT/primary&user=postgres" -c "CREATE DATABASE gridmap" >/dev/null
as_pg psql -qX "$PRIMARY" -c "CREATE EXTENSION postgis" >/dev/null
echo "bench: loading demo --scale $SCALE into the primary"
as_pg env DATABASE_URL="$PRIMARY" "$OUT/gridmap" demo --scale "$SCALE" 2>/dev/null | tail -1
token=$(as_pg env DATABASE_URL="$PRIMARY" "$OUT/gridmap" user add bench-replica --role planner 2>/dev/null | tail -n 1)
as_pg pg_basebackup -D "$OUT/standby/pg" -R -X stream -c fast -d "host=$OUT/primary user=postgres"
pg_start "$OUT/standby" 5433
for _ in $(seq 300); do
  [ "$(as_pg psql -tAqX "$PRIMARY" -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" = 1 ] && break
  sleep 0.1
done

serve() { # port [args] — cache off: every request renders its tile
  # runuser does not pass a kill on to its child: the server writes its own pid, for cleanup
  as_pg env DATABASE_URL="$PRIMARY" sh -c 'echo $$ >"$0"; exec "$@"' "$OUT/serve-$1.pid" \
    "$OUT/gridmap" serve --addr 127.0.0.1:"$1" --tile-cache-mb 0 "${@:2}" >"$OUT/serve-$1.log" 2>&1 &
  for _ in $(seq 50); do [ -s "$OUT/serve-$1.pid" ] && break; sleep 0.1; done
  pids+=("$(cat "$OUT/serve-$1.pid")")
  for _ in $(seq 600); do curl -sf -o /dev/null "http://127.0.0.1:$1/healthz" && return 0; sleep 0.1; done
  echo "bench: gridmap did not come up (log: $OUT/serve-$1.log)"; exit 1
}
serve "$PORT"
serve $((PORT + 1)) --replica-url "$STANDBY"
primary=http://127.0.0.1:$PORT replica=http://127.0.0.1:$((PORT + 1))

bounds=$(curl -s "$primary/tiles.json" | tr -d ' \n' | sed -n 's/.*"bounds":\[\([^]]*\)\].*/\1/p')
awk -F, -v per="$PER_ZOOM" 'function tx(lon, z) { return int((lon + 180) / 360 * 2^z) }
  function ty(lat, z,  r) { r = lat * 3.141592653589793 / 180; return int((1 - log((sin(r) + 1) / cos(r)) / 3.141592653589793) / 2 * 2^z) }
  { srand(42)
    for (z = 13; z <= 16; z++) {
      x0 = tx($1, z); x1 = tx($3, z); y0 = ty($4, z); y1 = ty($2, z)
      for (k = 0; k < per; k++) print "/tiles/" z "/" int(x0 + rand() * (x1 - x0 + 1)) "/" int(y0 + rand() * (y1 - y0 + 1)) ".mvt"
    } }' <<<"$bounds" | sort -u >"$OUT/tiles.paths"
run() { # name url
  PATHS=$OUT/tiles.paths wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s bench/paths.lua "$2" >"$OUT/$1.wrk"
  grep -q "Non-2xx" "$OUT/$1.wrk" && echo "bench: $1: $(grep Non-2xx "$OUT/$1.wrk")" >&2
  echo "$1 $(awk '/^Requests\/sec:/ {print $2}' "$OUT/$1.wrk") $(awk '$1 == "99%" {print $2}' "$OUT/$1.wrk")" >>"$OUT/runs"
}
for u in "$primary" "$replica"; do # warm both databases' buffers
  PATHS=$OUT/tiles.paths wrk -t"$THREADS" -c"$CONNS" -d5s -s bench/paths.lua "$u" >/dev/null
done
echo "bench: $(wc -l <"$OUT/tiles.paths") tiles at z13–z16, cache off; load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (wrk, both servers and both databases share them)"
: >"$OUT/runs"
for r in $(seq "$ROUNDS"); do run primary "$primary"; run replica "$replica"; done
echo "bench: load after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '{ sum[$1] += $2; n[$1]++; runs[$1] = runs[$1] sprintf(" %.0f (p99 %s)", $2, $3) }
  END {
    printf "%-24s %9s   %s\n", "tiles, cache off", "req/s", "per round"
    printf "%-24s %9.0f  %s\n", "from the primary", sum["primary"] / n["primary"], runs["primary"]
    printf "%-24s %9.0f  %s\n", "from the replica", sum["replica"] / n["replica"], runs["replica"]
    printf "ratio replica/primary: %.2f\n", sum["replica"] / sum["primary"]
  }' "$OUT/runs"

# read-your-writes: a rename, then at once a coverage read naming its position
grid=$(as_pg psql -tAqX "$PRIMARY" -c "SELECT id FROM grids WHERE level = 3 AND valid_to IS NULL ORDER BY code LIMIT 1")
parent=$(as_pg psql -tAqX "$PRIMARY" -c "SELECT parent_id FROM grids WHERE id = $grid")
for k in $(seq "$WRITES"); do
  etag=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $token" "$replica/api/v1/grids/$grid" | sed -n 's/^[Ee][Tt]ag: *//p' | tr -d '\r')
  lsn=$(curl -s -D - -o /dev/null -X PATCH -H "Authorization: Bearer $token" -H "If-Match: $etag" -H 'Content-Type: application/json' \
    -d "{\"name\":\"bench $k\"}" "$replica/api/v1/grids/$grid" | sed -n 's/^[Gg]ridmap-[Ll][Ss][Nn]: *//p' | tr -d '\r')
  got=$(curl -s -H "Gridmap-Min-LSN: $lsn" "$replica/api/v1/coverage?grid=$parent&limit=10000" | grep -o "\"name\":\"bench $k\"" | head -1)
  [ -n "$got" ] || echo "bench: write $k not read back"
done
curl -s "$replica/metrics" | awk -v w="$WRITES" '
  $1 == "gridmap_replica_wait_seconds_sum" { s = $2 } $1 == "gridmap_replica_wait_seconds_count" { c = $2 }
  $1 ~ /^gridmap_replica_reads_total\{to="primary"\}/ { p = $2 }
  END { printf "read-your-writes: %d writes each read back at once; %d reads had to wait for the standby, %.1f ms on average; %d went to the primary\n", w, c, c ? 1000 * s / c : 0, p }'
