#!/usr/bin/env bash
# bench/run.sh — the leadpath speed benchmarks, in one command:
#   bench/run.sh
# Builds bench/hello and bench/fill, fills (or reuses) a database of N leads in bench/out/,
# starts leadpath and the bare libmicrohttpd hello server on loopback, runs wrk against each
# target, measures startup, and prints a markdown table (also written to bench/out/results.md;
# raw wrk output in bench/out/*.txt, server logs in bench/out/*.log).
# Takes about 3.5 minutes (20 s of it letting the disk settle after the copy), plus about a
# minute the first time (or after a change of the schema or of bench/fill.c) to fill 1M leads
# with every kept summary (bench/check-fill.sh checks a fill against the server's own).
# The server's memory: its peak (VmHWM) and current resident set after the main set's load.
# Results are in bench/RESULTS.md.
#
# Knobs (environment):
#   N=1000000        leads in the database
#   DUR=10           seconds per main measurement (default thread count)
#   ROUNDS=3         the main set's hello/GET (taking turns), list and create runs, each this many
#                    times; the round with the median req/s is reported, with all of them
#   SWEEP="8 16 64"  other `serve --threads` values to try (hello gets the same pool size)
#   SWEEP_DUR=5      seconds per sweep measurement
#   LIST_CONNS="4 8 16 32"  the list page again with these many connections (5 s each)
#   CONN=64 WRK_THREADS=2   wrk connections and threads
#   PORT=18080 HPORT=18081  loopback ports for leadpath and hello
#   STARTUP_RUNS=10  startup measurements
#   SETTLE=20        seconds to wait after copying the database, before measuring
#   KEEP_DB=0        1 = run on the filled database itself instead of a fresh copy (creates then pile up)
#   BUILD_HEAD=0     1 = measure exactly the committed HEAD: `git archive HEAD` into bench/out/head,
#                    built there with CMake (the working tree may hold others' unfinished edits)
#   LP_BIN=...       measure this leadpath binary instead of build/leadpath
#   QUIET_WAIT=0     wait up to this many seconds for the 1-minute load average to fall below
#   QUIET_LOAD=1.5   before measuring (the machine may be shared with other work)
#   JOBS_WAIT=600    at most this many seconds waiting for the server's start-up jobs (see bench_wait_jobs)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROOT=$(pwd)
OUT=$ROOT/bench/out
mkdir -p "$OUT"

N=${N:-1000000}
DUR=${DUR:-10}
ROUNDS=${ROUNDS:-3}
SWEEP=${SWEEP-"8 16 64"}
SWEEP_DUR=${SWEEP_DUR:-5}
LIST_CONNS=${LIST_CONNS-"4 8 16 32"}
CONN=${CONN:-64}
WRK_THREADS=${WRK_THREADS:-2}
PORT=${PORT:-18080}
HPORT=${HPORT:-18081}
STARTUP_RUNS=${STARTUP_RUNS:-10}
KEEP_DB=${KEEP_DB:-0}
SETTLE=${SETTLE:-20}
LP=$ROOT/build/leadpath
PW='bench-password-2026'
ADMIN=bench-admin@bench.test
T_START=$(date +%s)

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { log "installing $2"; apt-get install -y "$2" >/dev/null; }; }
need wrk wrk
need curl curl
need jq jq
need sqlite3 sqlite3
[ -f /usr/include/microhttpd.h ] || { log "installing libmicrohttpd-dev"; apt-get install -y libmicrohttpd-dev >/dev/null; }
[ -f /usr/include/sqlite3.h ] || { log "installing libsqlite3-dev"; apt-get install -y libsqlite3-dev >/dev/null; }

# ---------------------------------------------------------------- build
if [ -n "${LP_BIN:-}" ]; then
  LP=$LP_BIN
elif [ "${BUILD_HEAD:-0}" = 1 ]; then
  need cmake cmake
  HEAD_HASH=$(git rev-parse --short HEAD)
  log "building HEAD ($HEAD_HASH) in bench/out/head"
  rm -rf "$OUT/head/src"
  mkdir -p "$OUT/head/src"
  git archive "$HEAD_HASH" | tar -x -C "$OUT/head/src"
  ln -sfn "$ROOT/node_modules" "$OUT/head/src/node_modules"   # web assets are embedded from it
  # GIT_DIR points nowhere so the build does not describe (and refresh) the main work tree.
  GIT_DIR=/nonexistent cmake -S "$OUT/head/src" -B "$OUT/head/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  make -s -C "$OUT/head/build" -j"$(nproc)" leadpath >/dev/null
  LP=$OUT/head/build/leadpath
elif [ ! -x "$LP" ]; then
  log "building leadpath"; make -s >/dev/null
fi
# Measure a snapshot of the binary: build/leadpath may be rebuilt while we run, and a process
# named "lpbench" is not hit by a `pkill leadpath` from someone else's test clean-up.
cp -f "$LP" "$OUT/lpbench.new" && mv -f "$OUT/lpbench.new" "$OUT/lpbench"   # rename: works even if an old copy runs
LP_BUILT=$(date -u -r "$LP" +%H:%M:%S)
LP=$OUT/lpbench
LP_VERSION=$("$LP" version)
gcc -O2 -Wall -o "$OUT/hello" bench/hello.c -lmicrohttpd -lpthread
bench_build_fill

# ---------------------------------------------------------------- data
bench_db   # bench/lib.sh: SRC_DB, filled (or reused) with N leads
FILL_INFO=$(cat "$SRC_DB.ok")

DB=$SRC_DB
if [ "$KEEP_DB" != 1 ]; then
  # Creates add rows; work on a copy so every run starts from exactly N leads.
  DB=$OUT/work.db
  rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-search" "$DB-search-wal" "$DB-search-shm"
  cp "$SRC_DB" "$DB"
  cp "$SRC_DB-search" "$DB-search"   # the full-text index (sqlite.c: the search file)
  sync "$DB" "$DB-search"   # no write-back of the copy competing with the measured fsyncs
  # On this VM the host goes on writing a fresh copy out for a while after sync returns: runs
  # started at once saw commits stall for 0.3-0.7 s (create p99 300-700 ms); after a pause, none.
  log "letting the disk settle for ${SETTLE}s after copying"
  sleep "$SETTLE"
fi
DB_MB=$(du -m "$DB" | cut -f1)

# ---------------------------------------------------------------- helpers
LP_PID=""; H_PID=""
LAST_EXIT=0
stop_pid() {  # stop_pid PID — SIGTERM, then wait; the exit status is left in LAST_EXIT
  local p=$1
  LAST_EXIT=0
  [ -n "$p" ] || return 0
  kill -TERM "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || LAST_EXIT=$?
}
cleanup() { stop_pid "$LP_PID"; stop_pid "$H_PID"; }
trap cleanup EXIT

wait_http() {  # wait_http URL — until it answers 200, 10 s at most
  for _ in $(seq 1 2000); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.005
  done
  log "no answer from $1"; return 1
}

port_free() { ! curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/"; }
start_lp() {  # start_lp THREADS(or "") LOGNAME
  port_free "$PORT" || { log "port $PORT is already taken by another process; set PORT="; exit 1; }
  local targs=()
  [ -n "$1" ] && targs=(--threads "$1")
  "$LP" serve --db "sqlite:$DB" --listen "127.0.0.1:$PORT" --quiet "${targs[@]}" 2> "$OUT/$2.log" &
  LP_PID=$!
  wait_http "http://127.0.0.1:$PORT/healthz"
}
stop_lp() { stop_pid "$LP_PID"; LP_PID=""; }
start_hello() {  # start_hello THREADS
  port_free "$HPORT" || { log "port $HPORT is already taken by another process; set HPORT="; exit 1; }
  "$OUT/hello" "$HPORT" "$1" 2> "$OUT/hello.log" &
  H_PID=$!
  wait_http "http://127.0.0.1:$HPORT/"
}
stop_hello() { stop_pid "$H_PID"; H_PID=""; }

login() {
  curl -sf -H 'Content-Type: application/json' -d "{\"email\":\"$ADMIN\",\"password\":\"$PW\"}" \
    "http://127.0.0.1:$PORT/api/v1/auth/login" | jq -r .token
}

declare -A R   # R[name.field] = value
HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "$1" 2>/dev/null || echo 0; }  # utime+stime of /proc/.../stat
task_ticks() {  # task_ticks PID — "tid ticks" for every thread of PID
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s %s\n' "${t##*/}" "$(cpu_ticks "$t/stat")"
  done
}
bench() {  # bench NAME SCRIPT URL DURATION [SERVER_PID] — wrk, plus the server's CPU per request
  local name=$1 script=$2 url=$3 dur=$4 spid=${5:-}
  local c0=0 c1=0 before=""
  if [ -n "$spid" ]; then
    c0=$(cpu_ticks "/proc/$spid/stat")
    before=$(task_ticks "$spid")
  fi
  wrk -t"$WRK_THREADS" -c"$CONN" -d"${dur}s" --timeout 10s --latency -s "bench/$script" "$url" > "$OUT/$name.txt" 2>&1 || true
  local line
  line=$(grep '^BENCH ' "$OUT/$name.txt" || true)
  for kv in $line; do
    [ "$kv" = BENCH ] && continue
    R[$name.${kv%%=*}]=${kv#*=}
  done
  R[$name.non2xx]=$(awk '/Non-2xx or 3xx responses/{print $NF}' "$OUT/$name.txt")
  R[$name.non2xx]=${R[$name.non2xx]:-0}
  if [ -n "$spid" ] && [ -n "${R[$name.requests]:-}" ] && [ "${R[$name.requests]}" -gt 0 ]; then
    c1=$(cpu_ticks "/proc/$spid/stat")
    # The busiest single thread over the run (during creates: the group-commit writer).
    local busiest
    busiest=$(join <(echo "$before" | sort) <(task_ticks "$spid" | sort) | awk '{d = $3 - $2; if (d > m) m = d} END{print m + 0}')
    R[$name.cpu_us]=$(awk -v t=$((c1 - c0)) -v n="${R[$name.requests]}" -v hz="$HZ" 'BEGIN{printf "%.0f", t / hz * 1e6 / n}')
    R[$name.wcpu_us]=$(awk -v t="$busiest" -v n="${R[$name.requests]}" -v hz="$HZ" 'BEGIN{printf "%.0f", t / hz * 1e6 / n}')
    R[$name.cores]=$(awk -v t=$((c1 - c0)) -v d="${R[$name.duration_us]}" -v hz="$HZ" 'BEGIN{printf "%.2f", t / hz / (d / 1e6)}')
  fi
  log "$name: ${R[$name.rps]:-?} req/s, p50 ${R[$name.p50_ms]:-?} ms, p99 ${R[$name.p99_ms]:-?} ms, non-2xx ${R[$name.non2xx]}, server CPU ${R[$name.cpu_us]:-?} us/req on ${R[$name.cores]:-?} cores"
}

OWNERS=$(sqlite3 "$DB" "SELECT group_concat(u.id) FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name <> 'admin'" 2>/dev/null || true)
if [ -z "$OWNERS" ]; then OWNERS=$(seq -s, 2 21); fi
MAXID=$(sqlite3 "$DB" "SELECT max(id) FROM leads" 2>/dev/null || echo "$N")
export OWNERS MAXID

pct() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.0f%%", 100*a/b; else print "?" }'; }
median_round() {  # median_round NAME ROUNDS — R[NAME.*] = the fields of the round with the median req/s
  local name=$1 n=$2 r mid k
  mid=$(for r in $(seq 1 "$n"); do echo "${R[$name.r$r.rps]:-0} $r"; done | sort -n | awk -v n="$n" 'NR == int((n + 1) / 2) {print $2}')
  for k in "${!R[@]}"; do
    case $k in "$name.r$mid."*) R[$name.${k#"$name.r$mid."}]=${R[$k]} ;; esac
  done
  R[$name.all]=$(for r in $(seq 1 "$n"); do printf '%s ' "${R[$name.r$r.rps]:-?}"; done)
}

run_set() {  # run_set TAG THREADS(or "") DURATION — hello, get, list, create with one pool size
  local tag=$1 thr=$2 dur=$3
  R[load_$tag]=$(cut -d' ' -f1 /proc/loadavg)
  # leadpath first (idle meanwhile): the pool size it logs, after its own clamping, is what
  # hello gets, so the two always run the same number of threads.
  start_lp "$thr" "leadpath_$tag"
  R[threads_$tag]=$(grep -o '"threads":[0-9]*' "$OUT/leadpath_$tag.log" | head -1 | cut -d: -f2)
  start_hello "${R[threads_$tag]:-${thr:-$LP_DEFAULT_THREADS}}"
  TOKEN=$(login); export TOKEN
  [ -n "$TOKEN" ] && [ "$TOKEN" != null ] || { log "login failed"; exit 1; }
  if [ "$tag" = main ]; then  # the sweep, SLA checks and hourly scoring walk a fresh copy starts with
    R[jobs_wait]=$(bench_wait_jobs "$DB" "${JOBS_WAIT:-600}")
    log "start-up jobs done after ${R[jobs_wait]} s"
  fi
  if [ "$tag" = main ]; then  # sanity: the endpoints answer what we think they answer
    local items code
    items=$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/leads?status=open&owner=${OWNERS%%,*}" | jq '.items | length')
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/leads/$MAXID")
    log "sanity: list page has $items items, GET /leads/$MAXID answers $code"
  fi
  wrk -t"$WRK_THREADS" -c"$CONN" -d2s -s bench/get_lead.lua "http://127.0.0.1:$PORT" >/dev/null 2>&1 || true   # warm-up
  # The main set runs every measurement ROUNDS times, hello and GET taking turns, and keeps the
  # round with the median req/s: this machine's speed drifts by tens of percent within minutes.
  local rounds=1 r
  [ "$tag" = main ] && rounds=$ROUNDS
  for r in $(seq 1 "$rounds"); do
    bench "hello_$tag.r$r" hello.lua "http://127.0.0.1:$HPORT/" "$dur" "$H_PID"
    bench "get_$tag.r$r" get_lead.lua "http://127.0.0.1:$PORT" "$dur" "$LP_PID"
  done
  stop_hello
  for r in $(seq 1 "$rounds"); do bench "list_$tag.r$r" list_open.lua "http://127.0.0.1:$PORT" "$dur" "$LP_PID"; done
  median_round "hello_$tag" "$rounds"; median_round "get_$tag" "$rounds"; median_round "list_$tag" "$rounds"
  R[get_$tag.ratios]=$(for r in $(seq 1 "$rounds"); do pct "${R[get_$tag.r$r.rps]:-0}" "${R[hello_$tag.r$r.rps]:-0}"; printf ' '; done)
  if [ "$tag" = main ]; then  # the same page with one client at a time: service time without queueing
    CONN_SAVE=$CONN WT_SAVE=$WRK_THREADS; CONN=1 WRK_THREADS=1
    bench "list1_$tag" list_open.lua "http://127.0.0.1:$PORT" "$dur" "$LP_PID"
    # p99 as the number of clients in flight grows (LIST_CONNS; 5 s each): where queueing starts
    for lc in $LIST_CONNS; do
      CONN=$lc; WRK_THREADS=$(( lc > 1 ? 2 : 1 ))
      bench "listc${lc}_$tag" list_open.lua "http://127.0.0.1:$PORT" 5 "$LP_PID"
    done
    CONN=$CONN_SAVE WRK_THREADS=$WT_SAVE
  fi
  local before after
  before=$(sqlite3 "$DB" "SELECT count(*) FROM leads" 2>/dev/null || echo 0)
  for r in $(seq 1 "$rounds"); do bench "create_$tag.r$r" create_lead.lua "http://127.0.0.1:$PORT" "$dur" "$LP_PID"; done
  median_round "create_$tag" "$rounds"
  after=$(sqlite3 "$DB" "SELECT count(*) FROM leads" 2>/dev/null || echo 0)
  R[create_$tag.rows]=$(( after - before ))
  curl -s "http://127.0.0.1:$PORT/metrics" > "$OUT/metrics_$tag.txt" || true
  # Group commit as the server counts it (all writes since start: the login plus the creates).
  local commits writes csec
  commits=$(awk '$1=="leadpath_store_commits_total"{print $2}' "$OUT/metrics_$tag.txt")
  writes=$(awk '$1=="leadpath_store_writes_total"{print $2}' "$OUT/metrics_$tag.txt")
  csec=$(awk '$1=="leadpath_store_commit_seconds_total"{print $2}' "$OUT/metrics_$tag.txt")
  if [ -n "$commits" ] && [ "$commits" -gt 0 ]; then
    R[create_$tag.per_commit]=$(awk -v w="$writes" -v c="$commits" 'BEGIN{printf "%.1f", w / c}')
    R[create_$tag.commit_ms]=$(awk -v s="$csec" -v c="$commits" 'BEGIN{printf "%.2f", s * 1000 / c}')
    R[create_$tag.commit_share]=$(awk -v s="$csec" -v d="${R[create_$tag.duration_us]:-1}" -v n="$rounds" 'BEGIN{printf "%.0f%%", 100 * s / (n * d / 1e6)}')
  fi
  # Memory: the server's peak and current resident set after the whole set (GET, lists, creates).
  R[rss_$tag.peak_mb]=$(awk '/^VmHWM/{printf "%.1f", $2 / 1024}' "/proc/$LP_PID/status" 2>/dev/null || echo "?")
  R[rss_$tag.now_mb]=$(awk '/^VmRSS/{printf "%.1f", $2 / 1024}' "/proc/$LP_PID/status" 2>/dev/null || echo "?")
  if ! kill -0 "$LP_PID" 2>/dev/null; then
    if grep -q '"draining"' "$OUT/leadpath_$tag.log"; then
      log "leadpath ($tag) was stopped by a SIGTERM/SIGINT that this script did not send"
    else
      log "leadpath ($tag) is no longer running (crash?)"
    fi
    R[crash_$tag]=1
  fi
  stop_lp
  if grep -qiE 'assert|segfault|abort|error' "$OUT/leadpath_$tag.log"; then
    log "leadpath_$tag.log has errors:"; grep -iE 'assert|segfault|abort|error' "$OUT/leadpath_$tag.log" | head -5 >&2
  fi
}

QUIET_WAIT=${QUIET_WAIT:-0}
QUIET_LOAD=${QUIET_LOAD:-1.5}
if [ "$QUIET_WAIT" -gt 0 ]; then
  until awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v q="$QUIET_LOAD" 'BEGIN{exit !(l < q)}'; do
    [ $(( $(date +%s) - T_START )) -ge "$QUIET_WAIT" ] && { log "load still $(cut -d' ' -f1 /proc/loadavg); measuring anyway"; break; }
    sleep 5
  done
fi

# ---------------------------------------------------------------- startup
log "startup: $STARTUP_RUNS runs (start until /healthz answers 200)"
# The probe is bash's own /dev/tcp (no fork): curl alone costs ~20 ms here, which would swamp
# the figure. It connects, sends GET /healthz and reads the status line.
probe() {
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
  local line=""
  read -r -t 2 line <&3 || true
  exec 3<&- 3>&-
  [[ $line == *" 200 "* ]]
}
: > "$OUT/startup.log"
STARTUPS=()
BAD_EXITS=()
for _ in $(seq 1 "$STARTUP_RUNS"); do
  t0=$(date +%s%N)
  "$LP" serve --db "sqlite:$DB" --listen "127.0.0.1:$PORT" --quiet 2>>"$OUT/startup.log" &
  LP_PID=$!
  until probe "$PORT"; do
    kill -0 "$LP_PID" 2>/dev/null || { log "leadpath died at startup"; cat "$OUT/startup.log" >&2; exit 1; }
  done
  t1=$(date +%s%N)
  STARTUPS+=("$(( (t1 - t0) / 1000 ))")
  stop_lp   # SIGTERM right after the first answer: the contract says it drains and exits 0
  [ "$LAST_EXIT" != 0 ] && BAD_EXITS+=("$LAST_EXIT")
done
# leadpath's own default pool size (it logs it), so hello gets the same in the main set.
LP_DEFAULT_THREADS=$(grep -o '"threads":[0-9]*' "$OUT/startup.log" | tail -1 | cut -d: -f2)
LP_DEFAULT_THREADS=${LP_DEFAULT_THREADS:-8}
# What the loop itself adds: fork+exec of a trivial binary and one probe of a running server.
t0=$(date +%s%N); "$LP" version >/dev/null; t1=$(date +%s%N)
EXEC_US=$(( (t1 - t0) / 1000 ))
start_hello ""
t0=$(date +%s%N); probe "$HPORT" || true; t1=$(date +%s%N)
PROBE_US=$(( (t1 - t0) / 1000 ))
stop_hello
read -r ST_MED ST_MAX ST_MIN < <(printf '%s\n' "${STARTUPS[@]}" | sort -n | awk '{a[NR]=$1} END{printf "%.1f %.1f %.1f\n", a[int((NR+1)/2)]/1000, a[NR]/1000, a[1]/1000}')
log "startup: median $ST_MED ms, max $ST_MAX ms (leadpath version: $EXEC_US us; one probe: $PROBE_US us)"

HF=""
if command -v hyperfine >/dev/null; then
  # Upper bound incl. shell, curl and shutdown: start, poll /healthz, SIGTERM, wait.
  cat > "$OUT/startup_once.sh" <<EOF
#!/usr/bin/env bash
"$LP" serve --db "sqlite:$DB" --listen "127.0.0.1:$PORT" --quiet 2>/dev/null &
p=\$!
until curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz"; do sleep 0.001; done
kill -TERM \$p; wait \$p
rc=\$?; [ \$rc -ne 0 ] && echo \$rc >> "$OUT/startup_bad_exits.txt"
exit 0
EOF
  chmod +x "$OUT/startup_once.sh"
  rm -f "$OUT/startup_bad_exits.txt"
  hyperfine -N --warmup 1 --runs 10 --export-json "$OUT/startup_hyperfine.json" "$OUT/startup_once.sh" > "$OUT/startup_hyperfine.txt" 2>&1 || true
  HF=$(jq -r '.results[0] | "\(.mean*1000|floor) ms mean ± \(.stddev*1000|floor) (min \(.min*1000|floor), max \(.max*1000|floor))"' "$OUT/startup_hyperfine.json" 2>/dev/null || true)
  log "hyperfine start+healthz+stop: $HF"
  [ -f "$OUT/startup_bad_exits.txt" ] && BAD_EXITS+=($(cat "$OUT/startup_bad_exits.txt"))
fi
SIGTERM_RUNS=$(( STARTUP_RUNS + $( [ -n "$HF" ] && echo 11 || echo 0) ))
[ ${#BAD_EXITS[@]} -gt 0 ] && log "SIGTERM right after /healthz: ${#BAD_EXITS[@]} of $SIGTERM_RUNS starts ended with exit ${BAD_EXITS[*]} (no drain)"

# ---------------------------------------------------------------- load
log "main set: default threads, ${DUR}s each, wrk -t$WRK_THREADS -c$CONN"
run_set main "" "$DUR"
for t in $SWEEP; do
  log "sweep: --threads $t, ${SWEEP_DUR}s each"
  run_set "t$t" "$t" "$SWEEP_DUR"
done

# ---------------------------------------------------------------- report
ok() { case "$1" in *\?*) echo "**no data**"; return;; esac
       if awk "BEGIN{exit !($1)}"; then echo "**met**"; else echo "**not met**"; fi; }
f() { echo "${R[$1]:-?}"; }

{
echo "## leadpath benchmark — $(date -u +'%Y-%m-%d %H:%M UTC')"
echo
MEASURED="build/leadpath"; [ "${BUILD_HEAD:-0}" = 1 ] && MEASURED="commit $HEAD_HASH built from git archive"; [ -n "${LP_BIN:-}" ] && MEASURED="$LP_BIN"
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo ?), measured: $MEASURED ($LP_VERSION, binary built $LP_BUILT UTC), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), wrk -t$WRK_THREADS -c$CONN on the same machine, loopback."
echo "Database: $N leads ($FILL_INFO), ${DB_MB} MB; leadpath's default pool here: $LP_DEFAULT_THREADS threads (hello gets the same)."
echo "The server's start-up jobs (sweep, SLA checks, the hourly scoring walk over the open leads) were waited out before measuring: $(f jobs_wait) s."
echo
echo "| Target | Measured | Goal | Result |"
echo "|---|---|---|---|"
gr=$(f get_main.rps); hr=$(f hello_main.rps)
echo "| GET /api/v1/leads/{id} vs bare MHD hello | $gr req/s vs $hr req/s = $(pct "$gr" "$hr") (p99 $(f get_main.p99_ms) ms) | ≥ 40% | $(ok "$gr >= 0.4 * $hr") |"
echo "| GET /api/v1/leads?status=open&owner=ID, page of 50, 64 connections | p99 $(f list_main.p99_ms) ms (p50 $(f list_main.p50_ms) ms, $(f list_main.rps) req/s) | p99 < 10 ms | $(ok "$(f list_main.p99_ms) < 10") |"
echo "| the same, 1 connection (no queueing) | p99 $(f list1_main.p99_ms) ms (p50 $(f list1_main.p50_ms) ms, $(f list1_main.rps) req/s) | p99 < 10 ms | $(ok "$(f list1_main.p99_ms) < 10") |"
for lc in $LIST_CONNS; do
  echo "| the same, $lc connections | p99 $(f listc${lc}_main.p99_ms) ms (p50 $(f listc${lc}_main.p50_ms) ms, $(f listc${lc}_main.rps) req/s) | p99 < 10 ms | $(ok "$(f listc${lc}_main.p99_ms) < 10") |"
done
echo "| POST /api/v1/leads, 64 connections, durable | $(f create_main.rps) req/s (p99 $(f create_main.p99_ms) ms; $(f create_main.rows) rows written) | ≥ 5,000/s | $(ok "$(f create_main.rps) >= 5000") |"
echo "| Server resident memory after the main set, $N leads (peak VmHWM / now VmRSS) | $(f rss_main.peak_mb) / $(f rss_main.now_mb) MiB | < 128 MiB | $(ok "$(f rss_main.peak_mb) < 128") |"
echo "| Startup until /healthz answers (judged on the median) | median $ST_MED ms, min $ST_MIN ms, max $ST_MAX ms ($STARTUP_RUNS runs; for scale: exec of \`leadpath version\` $((EXEC_US / 1000)) ms, one probe $((PROBE_US / 1000)) ms) | < 200 ms | $(ok "$ST_MED < 200") |"
echo
echo "Main set, every round (req/s; the table above shows the median round): hello $(f hello_main.all)| GET $(f get_main.all)(of hello: $(f get_main.ratios))| list $(f list_main.all)| create $(f create_main.all)"
echo
echo "All runs (req/s; latency p50 / p99 in ms; non-2xx answers; socket errors):"
echo
echo "| set | MHD threads | load avg at start | hello req/s | GET lead req/s (% of hello) | p50/p99 | list req/s | p50/p99 | create req/s | p50/p99 | non-2xx (get/list/create) | socket errors |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for tag in main $(for t in $SWEEP; do echo "t$t"; done); do
  label=$tag; [ "$tag" = main ] && label="default (${DUR}s)"; [ "$tag" != main ] && label="--threads ${tag#t} (${SWEEP_DUR}s)"
  [ -n "${R[threads_$tag]:-}" ] && [ "$tag" != main ] && [ "${R[threads_$tag]}" != "${tag#t}" ] && label="$label, clamped"
  serr=0
  for b in hello get list create; do
    for e in err_connect err_read err_write err_timeout; do serr=$(( serr + ${R[${b}_$tag.$e]:-0} )); done
  done
  [ -n "${R[crash_$tag]:-}" ] && label="$label — server died mid-set"
  echo "| $label | $(f threads_$tag) | $(f load_$tag) | $(f hello_$tag.rps) | $(f get_$tag.rps) ($(pct "$(f get_$tag.rps)" "$(f hello_$tag.rps)")) | $(f get_$tag.p50_ms) / $(f get_$tag.p99_ms) | $(f list_$tag.rps) | $(f list_$tag.p50_ms) / $(f list_$tag.p99_ms) | $(f create_$tag.rps) | $(f create_$tag.p50_ms) / $(f create_$tag.p99_ms) | $(f get_$tag.non2xx) / $(f list_$tag.non2xx) / $(f create_$tag.non2xx) | $serr |"
done
echo
echo "Server CPU time per request (µs, utime+stime of the server process over the run / requests; \"cores\" = CPU the server got):"
echo "On a shared machine req/s moves with the load; CPU per request moves less (cache and SMT effects remain)."
echo
echo "| set | hello | GET lead | list (64 conn) | create (all threads) | create (busiest thread = writer) | GET/hello CPU ratio | writes per commit | ms per commit (share of wall time) |"
echo "|---|---|---|---|---|---|---|---|---|"
for tag in main $(for t in $SWEEP; do echo "t$t"; done); do
  label=$tag; [ "$tag" = main ] && label="default"; [ "$tag" != main ] && label="--threads ${tag#t}"
  echo "| $label | $(f hello_$tag.cpu_us) ($(f hello_$tag.cores) cores) | $(f get_$tag.cpu_us) ($(f get_$tag.cores)) | $(f list_$tag.cpu_us) ($(f list_$tag.cores)) | $(f create_$tag.cpu_us) ($(f create_$tag.cores)) | $(f create_$tag.wcpu_us) | $(pct "$(f hello_$tag.cpu_us)" "$(f get_$tag.cpu_us)") | $(f create_$tag.per_commit) | $(f create_$tag.commit_ms) ($(f create_$tag.commit_share)) |"
done
echo
echo "SIGTERM sent as soon as /healthz first answered: ${#BAD_EXITS[@]} of $SIGTERM_RUNS starts did not exit 0${BAD_EXITS[*]:+ (exit codes: ${BAD_EXITS[*]}; 143 = killed by the signal, no drain)}."
echo
[ -n "$HF" ] && echo "hyperfine (start + poll /healthz + SIGTERM + wait, includes curl and shutdown): $HF" && echo
echo "Other processes using CPU at the end of the run (the machine is shared):"
echo
echo '```'
ps -eo pcpu,comm --sort=-pcpu | awk 'NR>1 && $1>2' | head -8
echo '```'
echo
echo "Total bench time: $(( $(date +%s) - T_START )) s. Raw output: bench/out/*.txt."
} | tee "$OUT/results.md"
mkdir -p "$OUT/history"
cp "$OUT/results.md" "$OUT/history/results-$(date -u +%Y%m%dT%H%M%S).md"
