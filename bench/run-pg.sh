#!/usr/bin/env bash
# bench/run-pg.sh — the leadpath speed benchmarks on PostgreSQL, one server and two servers:
#   bench/run-pg.sh
# Starts a throwaway PostgreSQL 15 (scripts/pg-test.sh; stopped and removed at exit), creates the
# schema (`leadpath migrate`), the bench users (`leadpath user add --password-stdin`: 1 admin,
# 3 managers, 17 agents, as bench/run.sh) and N leads in SQL (bench/fill-pg.sql), then runs wrk on
# loopback against the same targets as bench/run.sh:
#   GET /api/v1/leads/{random id}, GET /api/v1/leads?status=open&owner=ID (page of 50, 64
#   connections, and 1 connection for the service time), POST /api/v1/leads (64 connections);
# first against one `leadpath serve`, then the same load split over two servers on the same
# database (two wrk processes at once, -t1 and half the connections each; figures are the sums).
# Alongside req/s it records the CPU time per request of the leadpath server(s) and of
# PostgreSQL (all processes of the throwaway cluster, exited backends included), the 1-minute
# load average at the start of each measurement, and PostgreSQL's commits, rollbacks and
# serialization failures during the creates.
# Table: bench/out/results-pg.md (also printed); raw output, logs: bench/out/pg/.
#
# The load runs with fsync=on, synchronous_commit=on, full_page_writes=on (PG_DURABLE=1): a 201
# means the lead is on disk, as on SQLite (WAL, synchronous=FULL). pg-test.sh starts the cluster
# with all three off (fine for the fill), so it is restarted with them on before measuring.
#
# Knobs (environment):
#   N=1000000          leads to fill
#   DUR=10             seconds per measurement
#   CONN=64 WRK_THREADS=2   wrk connections and threads (two servers: CONN/2 and 1 thread each)
#   PORT=18180 PORT2=18181  loopback ports of the two leadpath servers
#   THREADS=           `serve --threads` (empty: the server's default)
#   PG_DURABLE=1       0 = measure with pg-test.sh's fsync=off / synchronous_commit=off
#   PG_SHARED_BUFFERS=1GB   shared_buffers for the measured cluster
#   LP_BIN=...         measure this leadpath binary instead of build/leadpath (a snapshot is run)
#   BUILD_HEAD=0       1 = build exactly the committed HEAD from `git archive` in bench/out/pg/head
#   SKIP_TWO=0         1 = one server only
#   FILL_PARTS=$(nproc)  psql sessions loading leads_fts at once (its generated tsvector is most of the fill)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROOT=$(pwd)
OUT=$ROOT/bench/out/pg
mkdir -p "$OUT"

N=${N:-1000000}
DUR=${DUR:-10}
CONN=${CONN:-64}
WRK_THREADS=${WRK_THREADS:-2}
PORT=${PORT:-18180}
PORT2=${PORT2:-18181}
THREADS=${THREADS:-}
PG_DURABLE=${PG_DURABLE:-1}
PG_SHARED_BUFFERS=${PG_SHARED_BUFFERS:-1GB}
SKIP_TWO=${SKIP_TWO:-0}
FILL_PARTS=${FILL_PARTS:-$(nproc)}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PW='bench-password-2026'
ADMIN=bench-admin@bench.test
T_START=$(date +%s)
HEAD_AT_START=$(git rev-parse --short HEAD 2>/dev/null || echo ?)
DIRTY_AT_START=$(git diff --quiet HEAD -- lib src include CMakeLists.txt 2>/dev/null || echo ' + uncommitted changes under lib/src')

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { log "installing $2"; apt-get install -y "$2" >/dev/null; }; }
need wrk wrk
need curl curl
need jq jq
need psql postgresql-client

# ---------------------------------------------------------------- binary
LP=${LP_BIN:-$ROOT/build/leadpath}
if [ -z "${LP_BIN:-}" ] && [ "${BUILD_HEAD:-0}" = 1 ]; then
  # Exactly the committed HEAD (the working tree may hold others' unfinished edits), as run.sh does.
  need cmake cmake
  HEAD_HASH=$(git rev-parse --short HEAD)
  log "building HEAD ($HEAD_HASH) in bench/out/pg/head"
  rm -rf "$OUT/head/src"; mkdir -p "$OUT/head/src"
  git archive "$HEAD_HASH" | tar -x -C "$OUT/head/src"
  ln -sfn "$ROOT/node_modules" "$OUT/head/src/node_modules"   # web assets are embedded from it
  GIT_DIR=/nonexistent cmake -S "$OUT/head/src" -B "$OUT/head/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  make -s -C "$OUT/head/build" -j"$(nproc)" leadpath >/dev/null
  LP=$OUT/head/build/leadpath
fi
[ -x "$LP" ] || { log "building leadpath"; make -s >/dev/null; }
# A snapshot: build/leadpath may be rebuilt while we run, and a process named lpbench-pg is not
# hit by someone's `pkill leadpath`.
cp -f "$LP" "$OUT/lpbench-pg.new" && mv -f "$OUT/lpbench-pg.new" "$OUT/lpbench-pg"
LP_BUILT=$(date -u -r "$LP" +%H:%M:%S)
LP_SRC=$LP
LP=$OUT/lpbench-pg
LP_VERSION=$("$LP" version)

# ---------------------------------------------------------------- PostgreSQL
PG_DIR=""; LP_PID=""; LP2_PID=""
stop_pid() { local p=$1; [ -n "$p" ] || return 0; kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; }
cleanup() {
  stop_pid "$LP_PID"; stop_pid "$LP2_PID"
  if [ -n "$PG_DIR" ]; then
    cp -f "$PG_DIR/server.log" "$OUT/postgres.log" 2>/dev/null || true
    scripts/pg-test.sh stop "$PG_DIR" || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting a throwaway PostgreSQL"
{ read -r URL; read -r PG_DIR; } < <(scripts/pg-test.sh)
[ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/PG_VERSION" ] || { log "pg-test.sh did not start"; exit 1; }
PG_PORT=${URL##*:}; PG_PORT=${PG_PORT%%/*}
PSQL=(psql -X -q -v ON_ERROR_STOP=1 "$URL")
PG_VERSION=$("${PSQL[@]}" -At -c 'SHOW server_version')
log "PostgreSQL $PG_VERSION at $URL ($PG_DIR)"
as_pg() { runuser -u postgres -- "$@"; }

"$LP" migrate --db "$URL" >/dev/null
t0=$(date +%s%N)
bench_users "$URL"
t1=$(date +%s%N)
USERS_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b-a)/1e9}')
log "21 users in $USERS_SECS s; filling $N leads in SQL"
t0=$(date +%s%N)
fill_step() { "${PSQL[@]}" -v n="$N" -v step="$1" -v part="${2:-0}" -v parts="$FILL_PARTS" -f bench/fill-pg.sql; }
: > "$OUT/fill.log"
fill_step prep >> "$OUT/fill.log" 2>&1 || { cat "$OUT/fill.log" >&2; exit 1; }
fpids=()
for k in $(seq 0 $((FILL_PARTS - 1))); do fill_step load "$k" > "$OUT/fill.$k.log" 2>&1 & fpids+=($!); done
for k in "${!fpids[@]}"; do wait "${fpids[$k]}" || { cat "$OUT/fill.$k.log" >&2; exit 1; }; done
fill_step finish >> "$OUT/fill.log" 2>&1 || { cat "$OUT/fill.log" >&2; exit 1; }
# The report counters as the applier keeps them: the server's own recompute (store/reports.h).
tr0=$(date +%s%N)
"$LP" reports rebuild --db "$URL" >> "$OUT/fill.log" 2>&1 || { cat "$OUT/fill.log" >&2; exit 1; }
tr1=$(date +%s%N)
log "report counters: $(awk -v a="$tr0" -v b="$tr1" 'BEGIN{printf "%.1f", (b-a)/1e9}') s (leadpath reports rebuild)"
t1=$(date +%s%N)
FILL_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b-a)/1e9}')
grep -v '^FILLPG' "$OUT/fill.log" >&2 || true
declare -A F
for kv in $(grep '^FILLPG ' "$OUT/fill.log"); do [ "$kv" = FILLPG ] || F[${kv%%=*}]=${kv#*=}; done
log "fill: $FILL_WALL s wall (psql)"

# Restart the cluster as it will be measured (pg-test.sh's start has fsync etc. off).
PG_OPTS="-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_DIR -c max_connections=400 -c shared_buffers=$PG_SHARED_BUFFERS"
if [ "$PG_DURABLE" = 1 ]; then
  PG_OPTS="$PG_OPTS -c fsync=on -c synchronous_commit=on -c full_page_writes=on"
else
  PG_OPTS="$PG_OPTS -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
fi
"${PSQL[@]}" -c CHECKPOINT
as_pg "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 -o "$PG_OPTS" start >/dev/null
PG_SETTINGS=$("${PSQL[@]}" -At -F' ' -c "SELECT string_agg(name || '=' || setting || COALESCE(unit, ''), ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync','synchronous_commit','full_page_writes','shared_buffers','wal_sync_method','commit_delay','max_connections')")
log "PostgreSQL restarted: $PG_SETTINGS"
PG_PM=$(head -1 "$PG_DIR/data/postmaster.pid")
# Warm the tables into shared buffers / the page cache (the restart emptied shared_buffers).
"${PSQL[@]}" -At -c "SELECT count(*) FROM leads WHERE full_name <> ''" >/dev/null
"${PSQL[@]}" -At -c "SELECT count(*) FROM leads_fts" >/dev/null

OWNERS=$("${PSQL[@]}" -At -c "SELECT string_agg(u.id::text, ',' ORDER BY u.id) FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name <> 'admin'")
MAXID=$("${PSQL[@]}" -At -c "SELECT max(id) FROM leads")
export OWNERS MAXID

# ---------------------------------------------------------------- helpers
wait_http() { for _ in $(seq 1 2000); do curl -sf -o /dev/null "$1" && return 0; sleep 0.005; done; log "no answer from $1"; return 1; }
port_free() { ! curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/"; }
start_lp() {  # start_lp PORT LOGNAME — sets STARTED_PID
  port_free "$1" || { log "port $1 is already taken by another process; set PORT=/PORT2="; exit 1; }
  local targs=()
  [ -n "$THREADS" ] && targs=(--threads "$THREADS")
  "$LP" serve --db "$URL" --listen "127.0.0.1:$1" --quiet "${targs[@]}" 2> "$OUT/$2.log" &
  STARTED_PID=$!
  wait_http "http://127.0.0.1:$1/healthz"
}
login() {
  curl -sf -H 'Content-Type: application/json' -d "{\"email\":\"$ADMIN\",\"password\":\"$PW\"}" \
    "http://127.0.0.1:$1/api/v1/auth/login" | jq -r .token
}

declare -A R
HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() {  # every process of the cluster: the postmaster (with its reaped children) + live children
  local t
  t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$PG_PM/stat" 2>/dev/null || echo 0)
  for c in $(ps --ppid "$PG_PM" -o pid= 2>/dev/null); do t=$(( t + $(ticks "$c") )); done
  echo "$t"
}
pg_xact() { "${PSQL[@]}" -At -F' ' -c "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = current_database()"; }
serfail() { grep -c 'could not serialize access' "$PG_DIR/server.log" 2>/dev/null || true; }
parse() {  # parse NAME FILE — BENCH line + non-2xx of one wrk output into R[NAME.*]
  local name=$1 file=$2 line
  line=$(grep '^BENCH ' "$file" || true)
  for kv in $line; do [ "$kv" = BENCH ] || R[$name.${kv%%=*}]=${kv#*=}; done
  R[$name.non2xx]=$(awk '/Non-2xx or 3xx responses/{print $NF}' "$file")
  R[$name.non2xx]=${R[$name.non2xx]:-0}
}
# bench NAME SCRIPT CONN THREADS — one wrk per running server (PORTS), at the same time; CONN is per wrk.
bench() {
  local name=$1 script=$2 conn=$3 wthr=$4
  local s0=0 s1=0 p0 p1 x0 x1 f0 f1 i
  R[$name.load]=$(cut -d' ' -f1 /proc/loadavg)
  for p in "${PIDS[@]}"; do s0=$(( s0 + $(ticks "$p") )); done
  p0=$(pg_ticks); x0=$(pg_xact); f0=$(serfail)
  local wpids=()
  for i in "${!PORTS[@]}"; do
    wrk -t"$wthr" -c"$conn" -d"${DUR}s" --timeout 10s --latency -s "bench/$script" "http://127.0.0.1:${PORTS[$i]}" \
      > "$OUT/$name.$i.txt" 2>&1 &
    wpids+=($!)
  done
  for w in "${wpids[@]}"; do wait "$w" || true; done
  for p in "${PIDS[@]}"; do s1=$(( s1 + $(ticks "$p") )); done
  p1=$(pg_ticks); x1=$(pg_xact); f1=$(serfail)
  local req=0 dur=0 rps=0 p50=0 p99=0 non=0 serr=0
  for i in "${!PORTS[@]}"; do
    parse "$name.$i" "$OUT/$name.$i.txt"
    req=$(( req + ${R[$name.$i.requests]:-0} ))
    non=$(( non + ${R[$name.$i.non2xx]:-0} ))
    for e in err_connect err_read err_write err_timeout; do serr=$(( serr + ${R[$name.$i.$e]:-0} )); done
    rps=$(awk -v a="$rps" -v b="${R[$name.$i.rps]:-0}" 'BEGIN{printf "%.1f", a + b}')
    # the worse of the servers' percentiles (wrk cannot merge histograms)
    p50=$(awk -v a="$p50" -v b="${R[$name.$i.p50_ms]:-0}" 'BEGIN{print (b > a ? b : a)}')
    p99=$(awk -v a="$p99" -v b="${R[$name.$i.p99_ms]:-0}" 'BEGIN{print (b > a ? b : a)}')
    dur=${R[$name.$i.duration_us]:-1}
  done
  R[$name.requests]=$req; R[$name.rps]=$(printf '%.0f' "$rps"); R[$name.non2xx]=$non; R[$name.serr]=$serr
  R[$name.p50]=$(printf '%.2f' "$p50"); R[$name.p99]=$(printf '%.1f' "$p99")
  if [ "$req" -gt 0 ]; then
    R[$name.cpu_us]=$(awk -v t=$((s1 - s0)) -v n="$req" -v hz="$HZ" 'BEGIN{printf "%.0f", t / hz * 1e6 / n}')
    R[$name.pgcpu_us]=$(awk -v t=$((p1 - p0)) -v n="$req" -v hz="$HZ" 'BEGIN{printf "%.0f", t / hz * 1e6 / n}')
    R[$name.cores]=$(awk -v t=$((s1 - s0)) -v d="$dur" -v hz="$HZ" 'BEGIN{printf "%.2f", t / hz / (d / 1e6)}')
    R[$name.pgcores]=$(awk -v t=$((p1 - p0)) -v d="$dur" -v hz="$HZ" 'BEGIN{printf "%.2f", t / hz / (d / 1e6)}')
  fi
  R[$name.commits]=$(( ${x1% *} - ${x0% *} )); R[$name.rollbacks]=$(( ${x1#* } - ${x0#* } ))
  R[$name.serfail]=$(( f1 - f0 ))
  log "$name: ${R[$name.rps]} req/s, p50 ${R[$name.p50]} ms, p99 ${R[$name.p99]} ms, non-2xx $non, socket errors $serr; CPU/req: leadpath ${R[$name.cpu_us]:-?} us (${R[$name.cores]:-?} cores), postgres ${R[$name.pgcpu_us]:-?} us (${R[$name.pgcores]:-?} cores); load ${R[$name.load]}"
}
count_leads() { "${PSQL[@]}" -At -c "SELECT count(*) FROM leads"; }
metrics_sum() {  # metrics_sum NAME METRIC — summed over the running servers
  local t=0 v
  for p in "${PORTS[@]}"; do
    v=$(curl -s "http://127.0.0.1:$p/metrics" | awk -v m="$2" '$1==m{print $2}')
    t=$(awk -v a="$t" -v b="${v:-0}" 'BEGIN{printf "%.6f", a + b}')
  done
  echo "$t"
}

run_set() {  # run_set TAG — get, list, (list1), create against the servers in PORTS
  local tag=$1 conn=$2 wthr=$3
  wrk -t"$wthr" -c"$conn" -d2s -s bench/get_lead.lua "http://127.0.0.1:${PORTS[0]}" >/dev/null 2>&1 || true  # warm-up
  bench "get_$tag" get_lead.lua "$conn" "$wthr"
  bench "list_$tag" list_open.lua "$conn" "$wthr"
  if [ "${#PORTS[@]}" = 1 ]; then
    bench "list1_$tag" list_open.lua 1 1
  fi
  local before after c0 w0 cs0
  before=$(count_leads); c0=$(metrics_sum x leadpath_store_commits_total); cs0=$(metrics_sum x leadpath_store_commit_seconds_total)
  bench "create_$tag" create_lead.lua "$conn" "$wthr"
  after=$(count_leads)
  R[create_$tag.rows]=$(( after - before ))
  local c1 cs1
  c1=$(metrics_sum x leadpath_store_commits_total); cs1=$(metrics_sum x leadpath_store_commit_seconds_total)
  R[create_$tag.commit_ms]=$(awk -v s0="$cs0" -v s1="$cs1" -v a="$c0" -v b="$c1" 'BEGIN{ if (b > a) printf "%.2f", (s1 - s0) * 1000 / (b - a); else print "?" }')
  for p in "${PORTS[@]}"; do curl -s "http://127.0.0.1:$p/metrics" > "$OUT/metrics_${tag}_$p.txt" || true; done
}

check_alive() {
  for p in "${PIDS[@]}"; do
    kill -0 "$p" 2>/dev/null || { log "a leadpath server (pid $p) is no longer running"; R[crash_$1]=1; }
  done
}

# ---------------------------------------------------------------- one server
log "one server: wrk -t$WRK_THREADS -c$CONN, ${DUR}s each"
start_lp "$PORT" leadpath1; LP_PID=$STARTED_PID
TOKEN=$(login "$PORT"); export TOKEN
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || { log "login failed"; exit 1; }
R[threads]=$(grep -o '"threads":[0-9]*' "$OUT/leadpath1.log" | head -1 | cut -d: -f2)
items=$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/leads?status=open&owner=${OWNERS%%,*}" | jq '.items | length')
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/leads/$MAXID")
log "sanity: list page has $items items, GET /leads/$MAXID answers $code"
PORTS=("$PORT"); PIDS=("$LP_PID")
run_set one "$CONN" "$WRK_THREADS"
check_alive one

# ---------------------------------------------------------------- two servers
if [ "$SKIP_TWO" != 1 ]; then
  log "two servers on the same database: two wrk -t1 -c$((CONN / 2)) at once, ${DUR}s each"
  start_lp "$PORT2" leadpath2; LP2_PID=$STARTED_PID
  PORTS=("$PORT" "$PORT2"); PIDS=("$LP_PID" "$LP2_PID")
  run_set two "$((CONN / 2))" 1
  check_alive two
fi
stop_pid "$LP_PID"; LP_PID=""; stop_pid "$LP2_PID"; LP2_PID=""
for l in "$OUT"/leadpath*.log; do
  if grep -qiE 'assert|segfault|abort|error' "$l"; then log "$l has errors:"; grep -iE 'assert|segfault|abort|error' "$l" | head -5 >&2; fi
done
DB_MB=$("${PSQL[@]}" -At -c "SELECT pg_database_size(current_database()) / 1048576")

# ---------------------------------------------------------------- report
f() { echo "${R[$1]:-?}"; }
row() {  # row LABEL NAME
  echo "| $1 | $(f $2.rps) | $(f $2.p50) / $(f $2.p99) | $(f $2.cpu_us) ($(f $2.cores)) | $(f $2.pgcpu_us) ($(f $2.pgcores)) | $(f $2.load) | $(f $2.non2xx) / $(f $2.serr) |"
}
{
echo "## leadpath on PostgreSQL — $(date -u +'%Y-%m-%d %H:%M UTC')"
echo
if [ -n "${HEAD_HASH:-}" ]; then MEASURED="commit $HEAD_HASH built from git archive"
else MEASURED="$LP_SRC, binary built $LP_BUILT UTC; HEAD at the start of the run: $HEAD_AT_START$DIRTY_AT_START"; fi
echo "measured: $MEASURED ($LP_VERSION); $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), wrk on the same machine, loopback."
echo "PostgreSQL $PG_VERSION, throwaway cluster on the same machine: $PG_SETTINGS. leadpath threads: $(f threads) per server."
echo "Database: $N leads (${F[open_pct]:-?}% open), ${F[contacts]:-?} lead_contacts, ${F[fts]:-?} leads_fts rows, $DB_MB MB after the run."
echo "Fill: 21 users via the CLI $USERS_SECS s; leads in SQL ${F[total_s]:-?} s (rows + contacts + fts ${F[rows_s]:-?} s, indexes ${F[idx_s]:-?} s, ANALYZE ${F[analyze_s]:-?} s; $FILL_PARTS sessions, fsync off while filling)."
echo
echo "CPU per request = utime+stime over the run / requests; leadpath = the server process(es), postgres = every process of the cluster. In brackets: cores used. Latency: for two servers, the worse of the two wrk runs. Load = 1-minute load average at the start."
echo
echo "| Target | req/s | p50 / p99 ms | leadpath CPU µs/req | postgres CPU µs/req | load | non-2xx / socket errors |"
echo "|---|---|---|---|---|---|---|"
row "GET /api/v1/leads/{id}, one server, $CONN conn" get_one
row "GET /api/v1/leads/{id}, two servers, 2 × $((CONN / 2)) conn (sum)" get_two
row "list page of 50 (status=open&owner=ID), one server, $CONN conn" list_one
row "list page of 50, two servers, 2 × $((CONN / 2)) conn (sum)" list_two
row "list page of 50, one server, 1 conn" list1_one
row "POST /api/v1/leads (durable), one server, $CONN conn" create_one
row "POST /api/v1/leads (durable), two servers, 2 × $((CONN / 2)) conn (sum)" create_two
echo
echo "Creates: rows written (one / two servers) $(f create_one.rows) / $(f create_two.rows); PostgreSQL transactions committed $(f create_one.commits) / $(f create_two.commits), rolled back $(f create_one.rollbacks) / $(f create_two.rollbacks), serialization failures in its log $(f create_one.serfail) / $(f create_two.serfail); leadpath's COMMIT round trip $(f create_one.commit_ms) / $(f create_two.commit_ms) ms on average."
[ -n "${R[crash_one]:-}${R[crash_two]:-}" ] && echo && echo "**A server died during the run** (see bench/out/pg/leadpath*.log)."
echo
echo "Other processes using CPU at the end of the run (the machine is shared):"
echo
echo '```'
ps -eo pcpu,comm --sort=-pcpu | awk 'NR>1 && $1>2' | head -8
echo '```'
echo
echo "Total bench time: $(( $(date +%s) - T_START )) s. Raw output: bench/out/pg/."
} | tee "$ROOT/bench/out/results-pg.md"
