#!/usr/bin/env bash
# Abuse: one anonymous client must not take the dashboard down. On loopback, for DURATION:
#   - 10 slow export readers (curl --limit-rate 1k of /api/v1/export/buildings.geojson, again
#     and again), the scenario that froze /healthz and /locate before the limits;
#   - 4 clients posting a 20,000-vertex polygon over the whole city to /query/within;
#   - 4 clients asking /balance with one root named 500 times;
#   - 4 clients that start coverage, exports and within queries and leave after 20–200 ms;
# while a dashboard client polls /healthz, /locate and tiles every 50 ms (bench/abuse). Goals:
# the dashboard's p99 < 500 ms with no failed request, and no backend still busy in
# pg_stat_activity a few seconds after the abusers leave.
#
#   bench/abuse.sh [DURATION] [SCALE]       # defaults 60s, 10
#   DATA_DIR=/tmp/hard-s100 bench/abuse.sh 60s 100   # reuse a loaded city (demo --scale 100: ~90 s)
#   ANON_RATE=-1 bench/abuse.sh                       # no per-client rate limit: as if the abuse
#                                                     # came from many addresses, the slots and
#                                                     # stall cut-offs alone hold
#
# gridmap runs with its default limits (but ANON_RATE). Server, PostgreSQL and all clients
# share the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-60s}
scale=${2:-10}
secs=${duration%s}
out=bench/out; mkdir -p "$out"
go build -o bin/gridmap ./cmd/gridmap
go build -o bin/abuse ./bench/abuse
dir=${DATA_DIR:-}
if [[ -z "$dir" ]]; then
  dir=$(mktemp -d /tmp/gridmap-abuse-XXXX); chmod 755 "$dir"; fresh=1
else
  mkdir -p "$dir"; chmod 755 "$dir"; fresh=0
fi
port=${PORT:-18767}
url=http://127.0.0.1:$port
if ! ./bin/gridmap demo --scale "$scale" --data-dir "$dir" >"$out/abuse-demo.txt" 2>&1; then
  grep -q "already holds grids" "$out/abuse-demo.txt" || { cat "$out/abuse-demo.txt"; exit 1; }
fi
./bin/gridmap serve --data-dir "$dir" --addr 127.0.0.1:$port --anon-heavy-per-min "${ANON_RATE:-300}" 2>"$out/abuse-serve.log" &
pid=$!
cleanup() {
  jobs -p | grep -v "^$pid\$" | xargs -r kill 2>/dev/null || true
  kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null || true
  if [[ $fresh == 1 ]]; then rm -rf "$dir"; fi
}
trap cleanup EXIT
until curl -fs $url/healthz >/dev/null 2>&1; do sleep 0.1; done
curl -fs "$url/api/v1/city" >/dev/null
echo "anonymous heavy reads a minute: ${ANON_RATE:-300}; scale $scale; load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

# the slow readers: each downloads at 1 kB/s until the abuse ends, starting again when cut off
end=$(( $(date +%s) + secs ))
for k in $(seq 10); do
  ( while (( $(date +%s) < end )); do
      curl -s -o /dev/null --limit-rate 1k --max-time $(( end - $(date +%s) + 1 )) \
        -w '%{http_code} %{size_download}\n' "$url/api/v1/export/buildings.geojson" || true
      sleep 0.5
    done >"$out/abuse-slow-$k.txt" ) &
done
status=0
./bin/abuse -url "$url" -duration "$duration" | tee "$out/abuse.txt" || status=$?
wait $(jobs -p | grep -v "^$pid\$") 2>/dev/null || true
cat "$out"/abuse-slow-*.txt | awk '{n[$1]++; b+=$2} END {printf "slow export readers: "; for (c in n) printf "%s:%d ", c, n[c]; printf " (%d bytes read in all)\n", b}' | tee -a "$out/abuse.txt"

# after the abusers have left: no backend still at work (only idle pool connections)
sleep 3
pidfile=$(sed -n '4p;5p' "$dir/pg/postmaster.pid" | tr '\n' ' ')
read -r pgport pgsock <<<"$pidfile"
# gridmap's own sessions: client backends (autovacuum may be at work after a load)
sessions="FROM pg_stat_activity WHERE datname = 'gridmap' AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
busy=$(psql -At "host=$pgsock port=$pgport user=postgres dbname=gridmap" -c "SELECT count(*) $sessions AND state <> 'idle'")
all=$(psql -At "host=$pgsock port=$pgport user=postgres dbname=gridmap" -c \
  "SELECT string_agg(application_name || ':' || state || CASE WHEN state <> 'idle' THEN ' (' || left(query, 60) || ')' ELSE '' END, ', ') $sessions")
echo "pg_stat_activity 3 s after the abuse: $busy busy sessions of gridmap (all: $all)" | tee -a "$out/abuse.txt"
grep -c '"export cut off' "$out/abuse-serve.log" | xargs echo "exports cut off (log lines):" | tee -a "$out/abuse.txt"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
[[ $busy == 0 ]] || status=1
exit $status
