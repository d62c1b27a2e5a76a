#!/usr/bin/env bash
# bench/ops.sh — the operations figures of issue 15 (bench/RESULTS.md), in one command:
#   bench/ops.sh
# on the N-lead database of bench/run.sh (bench/out/leads-N.db, filled or reused the same way),
# printing a markdown table (also bench/out/ops.md; raw output in bench/out/ops-*):
#  (a) `leadpath backup` of the database with the server idle, and while creates arrive at about
#      RATE a second (wrk, bench/create_paced.lua: CONNS connections each pausing between requests);
#  (b) p99 of GET /api/v1/leads/{id} on one connection: idle, while leads are created at EV_RATE a
#      second, and the same while WEBHOOKS webhooks (made through the API) point at a closed
#      loopback port, so every event is a delivery that fails; target: p99 within 2x of idle.
#      Then the server's CPU over QUIET seconds after the creates stop (the retries go on);
#  (c) fuzz executions per target: scripts/fuzz.sh FUZZ_SECS (builds build-fuzz/ with clang).
# Each load runs at most 60 s. Takes about 2.5 min plus the server's start-up jobs (waited out first;
# minutes at 1M leads: the scoring walk), plus the backups (a few s each at 1M leads) and
# 6 x FUZZ_SECS of fuzzing (FUZZ_SECS=0 skips it), plus the fill the first time.
#
# Knobs (environment): N=1000000 RATE=500 CONNS=10 BACKUP_LOAD=30 DUR=20 EV_RATE=20 WEBHOOKS=200
#   QUIET=10 FUZZ_SECS=60 PORT=18080 DEAD_PORT=18099 SETTLE=5 JOBS_WAIT=600 LP_BIN=... (default build/leadpath)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROOT=$(pwd)
OUT=$ROOT/bench/out
mkdir -p "$OUT"
N=${N:-1000000}
RATE=${RATE:-500}
CONNS=${CONNS:-10}
BACKUP_LOAD=${BACKUP_LOAD:-30}
DUR=${DUR:-20}
EV_RATE=${EV_RATE:-20}
WEBHOOKS=${WEBHOOKS:-200}
QUIET=${QUIET:-10}
FUZZ_SECS=${FUZZ_SECS:-60}
PORT=${PORT:-18080}
DEAD_PORT=${DEAD_PORT:-18099}
SETTLE=${SETTLE:-5}
JOBS_WAIT=${JOBS_WAIT:-600}
PW='bench-password-2026'
ADMIN=bench-admin@bench.test
T_START=$(date +%s)
log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
for c in wrk curl jq sqlite3 gcc; do command -v "$c" >/dev/null || { log "$c is missing"; exit 1; }; done
load() { cut -d' ' -f1 /proc/loadavg; }

LP=${LP_BIN:-$ROOT/build/leadpath}
[ -x "$LP" ] || { log "building leadpath"; make -s >/dev/null; }
cp -f "$LP" "$OUT/lpops.new" && mv -f "$OUT/lpops.new" "$OUT/lpops"   # a snapshot, as run.sh does
LP=$OUT/lpops
bench_build_fill
bench_db
DB=$OUT/ops.db
fresh_copy() {
  rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-search" "$DB-search-wal" "$DB-search-shm"
  cp "$SRC_DB" "$DB"; cp "$SRC_DB-search" "$DB-search"
  sync "$DB" "$DB-search"; sleep "$SETTLE"
}

LP_PID=""
stop_lp() { [ -n "$LP_PID" ] && { kill -TERM "$LP_PID" 2>/dev/null || true; wait "$LP_PID" 2>/dev/null || true; }; LP_PID=""; }
trap stop_lp EXIT
start_lp() {
  ! curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/" || { log "port $PORT is taken; set PORT="; exit 1; }
  "$LP" serve --db "sqlite:$DB" --listen "127.0.0.1:$PORT" --quiet 2> "$OUT/ops-$1.log" &
  LP_PID=$!
  for _ in $(seq 1 1000); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.01; done
  TOKEN=$(curl -sf -H 'Content-Type: application/json' -d "{\"email\":\"$ADMIN\",\"password\":\"$PW\"}" \
    "http://127.0.0.1:$PORT/api/v1/auth/login" | jq -r .token)
  export TOKEN
}
OWNERS=$(sqlite3 "$SRC_DB" "SELECT group_concat(u.id) FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name <> 'admin'")
MAXID=$(sqlite3 "$SRC_DB" "SELECT max(id) FROM leads")
export OWNERS MAXID
field() { grep -o "$2=[0-9.]*" "$1" | head -1 | cut -d= -f2; }   # field FILE KEY — from a BENCH line
ms() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", (b - a) / 1e6}'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# ---------------------------------------------------------------- (a) backup
fresh_copy
start_lp backup
# A server on a fresh fill first runs its sweep, SLA checks and the hourly scoring walk over every
# open lead (store/scoring.c), holding the writer between batches: measured, then waited out.
log "waiting for the server's start-up jobs (at most ${JOBS_WAIT}s)"
JOBS_S=$(bench_wait_jobs "$DB" "$JOBS_WAIT")
JOBS_SEEN=$(sqlite3 "$DB" "SELECT group_concat(kind || ' ' || n, ', ') FROM (SELECT kind, count(*) AS n FROM jobs GROUP BY kind)")
log "start-up jobs done after $JOBS_S s ($JOBS_SEEN)"
BK=$OUT/ops-backup.db
DB_MB=$(du -m "$DB" | cut -f1)
rm -f "$BK"
L_IDLE=$(load)
t0=$(date +%s%N); "$LP" backup --db "sqlite:$DB" "$BK" > "$OUT/ops-backup-idle.txt"; t1=$(date +%s%N)
B_IDLE=$(ms "$t0" "$t1"); B_MB=$(du -m "$BK" | cut -f1)
log "backup idle: $B_IDLE ms ($B_MB MB)"
rm -f "$BK"
PACE=$(( CONNS * 1000 / RATE ))
L_LOAD=$(load)
PACE_MS=$PACE wrk -t2 -c"$CONNS" -d"${BACKUP_LOAD}s" --timeout 10s --latency -s bench/create_paced.lua "http://127.0.0.1:$PORT" \
  > "$OUT/ops-backup-writes.txt" 2>&1 &
WRK=$!
sleep 3
n0=$(sqlite3 "$DB" "SELECT max(id) FROM leads")
t0=$(date +%s%N); B_RC=0; "$LP" backup --db "sqlite:$DB" "$BK" > "$OUT/ops-backup-load.txt" 2>&1 || B_RC=$?; t1=$(date +%s%N)
n1=$(sqlite3 "$DB" "SELECT max(id) FROM leads")
B_LOAD=$(ms "$t0" "$t1")
B_WRITES=$(awk -v a="$n0" -v b="$n1" -v t="$B_LOAD" 'BEGIN{printf "%.0f", (b - a) / (t / 1000)}')
kill -0 "$WRK" 2>/dev/null && B_DONE_IN_LOAD=yes || B_DONE_IN_LOAD="no (the load ended first)"
wait "$WRK" || true
W_RPS=$(field "$OUT/ops-backup-writes.txt" rps); W_P99=$(field "$OUT/ops-backup-writes.txt" p99_ms)
B_CHECK=$(sqlite3 "$BK" "PRAGMA quick_check" 2>&1 | head -1)
B_LEADS=$(sqlite3 "$BK" "SELECT count(*) FROM leads" 2>&1)
log "backup under writes: $B_LOAD ms (exit $B_RC; $B_WRITES creates/s meanwhile; load ${W_RPS} req/s overall, p99 ${W_P99} ms; backup: $B_CHECK, $B_LEADS leads)"
rm -f "$BK"
stop_lp

# ---------------------------------------------------------------- (b) dead webhooks
start_lp webhooks   # the same database: this hour's jobs are done
JOBS_S2="not waited (the first wait timed out)"
[ "$JOBS_S" = timeout ] || JOBS_S2=$(bench_wait_jobs "$DB" "$JOBS_WAIT")
! curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$DEAD_PORT/" || { log "DEAD_PORT $DEAD_PORT answers; set DEAD_PORT="; exit 1; }
get_run() {  # get_run NAME — wrk, one connection, GET a random lead, DUR seconds
  wrk -t1 -c1 -d"${DUR}s" --timeout 10s --latency -s bench/get_lead.lua "http://127.0.0.1:$PORT" > "$OUT/ops-get-$1.txt" 2>&1 || true
}
creates() {  # creates NAME — EV_RATE creates a second on one connection, DUR + 1 seconds, in the background
  PACE_MS=$(( 1000 / EV_RATE )) wrk -t1 -c1 -d"$(( DUR + 1 ))s" --timeout 10s -s bench/create_paced.lua "http://127.0.0.1:$PORT" \
    > "$OUT/ops-events-$1.txt" 2>&1 &
  CR=$!
}
L_GET=$(load); get_run idle
c0=$(ticks "$LP_PID"); L_EV=$(load); creates plain; get_run plain; wait "$CR" || true; c1=$(ticks "$LP_PID")
CPU_PLAIN=$(awk -v t=$((c1 - c0)) -v d="$DUR" -v hz="$HZ" 'BEGIN{printf "%.0f%%", 100 * t / hz / d}')
for i in $(seq 1 "$WEBHOOKS"); do
  curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"url\":\"http://127.0.0.1:$DEAD_PORT/hook/$i\"}" "http://127.0.0.1:$PORT/api/v1/webhooks" || { log "webhook $i not made"; exit 1; }
done
log "$WEBHOOKS webhooks to http://127.0.0.1:$DEAD_PORT (closed)"
j0=$(sqlite3 "$DB" "SELECT count(*) FROM jobs WHERE kind LIKE 'webhook%'")
c0=$(ticks "$LP_PID"); L_HOOK=$(load); creates hooks; get_run hooks; wait "$CR" || true; c1=$(ticks "$LP_PID")
CPU_HOOKS=$(awk -v t=$((c1 - c0)) -v d="$DUR" -v hz="$HZ" 'BEGIN{printf "%.0f%%", 100 * t / hz / d}')
sleep 1; c0=$(ticks "$LP_PID"); sleep "$QUIET"; c1=$(ticks "$LP_PID")
CPU_AFTER=$(awk -v t=$((c1 - c0)) -v d="$QUIET" -v hz="$HZ" 'BEGIN{printf "%.0f%%", 100 * t / hz / d}')
DELIV=$(sqlite3 "$DB" "SELECT count(*) || ' deliveries queued, ' || COALESCE(sum(attempts), 0) || ' attempts made' FROM jobs WHERE kind LIKE 'webhook%'")
RSS=$(awk '/^VmHWM/{printf "%.1f", $2 / 1024}' "/proc/$LP_PID/status")
stop_lp
P_IDLE=$(field "$OUT/ops-get-idle.txt" p99_ms); P_PLAIN=$(field "$OUT/ops-get-plain.txt" p99_ms); P_HOOKS=$(field "$OUT/ops-get-hooks.txt" p99_ms)
E_PLAIN=$(field "$OUT/ops-events-plain.txt" rps); E_HOOKS=$(field "$OUT/ops-events-hooks.txt" rps)
log "GET p99: idle $P_IDLE ms, creates $P_PLAIN ms, creates + dead webhooks $P_HOOKS ms; after: $CPU_AFTER CPU; $DELIV"

# ---------------------------------------------------------------- (c) fuzz
FUZZ_LINES=""
if [ "$FUZZ_SECS" -gt 0 ]; then
  L_FUZZ=$(load)
  log "fuzz: scripts/fuzz.sh $FUZZ_SECS (every target)"
  scripts/fuzz.sh "$FUZZ_SECS" > "$OUT/ops-fuzz.txt" 2>&1 || true
  FUZZ_LINES=$(grep '^fuzz ' "$OUT/ops-fuzz.txt" || true)
fi

# ---------------------------------------------------------------- report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a > 0) printf "%.2f", b / a; else print "?" }'; }
met() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a > 0 && b <= 2 * a) print "**met**"; else print "**not met**" }'; }
{
echo "## leadpath operations figures (issue 15) — $(date -u +'%Y-%m-%d %H:%M UTC')"
echo
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo ?), $("$LP" version), $(nproc) cores, loopback. Database: $N leads, $DB_MB MB ($(cat "$SRC_DB.ok"))."
echo
echo "| Figure | Measured | Goal | Load avg |"
echo "|---|---|---|---|"
echo "| a server started on the fresh fill: its start-up jobs ($JOBS_SEEN) done after | $JOBS_S s (second start: $JOBS_S2 s) | — | $L_IDLE |"
echo "| \`leadpath backup\`, server idle | $B_IDLE ms ($B_MB MB written) | finishes, time ∝ size | $L_IDLE |"
echo "| \`leadpath backup\` under ~$RATE creates/s ($CONNS connections, ${PACE} ms pause each) | $B_LOAD ms (exit $B_RC; $B_WRITES creates/s committed meanwhile; creates over ${BACKUP_LOAD}s: $W_RPS/s, p99 $W_P99 ms; copy: $B_CHECK, $B_LEADS leads; finished within the load: $B_DONE_IN_LOAD) | finishes, ~ the idle time | $L_LOAD |"
echo "| GET /api/v1/leads/{id} p99, 1 connection, idle | $P_IDLE ms | — | $L_GET |"
echo "| the same while $E_PLAIN creates/s (no webhooks) | $P_PLAIN ms ($(ratio "$P_IDLE" "$P_PLAIN")× idle; server CPU $CPU_PLAIN of a core) | — | $L_EV |"
echo "| the same while $E_HOOKS creates/s and $WEBHOOKS webhooks point at a closed port | $P_HOOKS ms ($(ratio "$P_IDLE" "$P_HOOKS")× idle; server CPU $CPU_HOOKS of a core) | ≤ 2× idle: $(met "$P_IDLE" "$P_HOOKS") | $L_HOOK |"
echo "| server CPU ${QUIET}s after the creates stopped (dead webhooks still due) | $CPU_AFTER of a core ($DELIV; peak RSS $RSS MiB) | near 0 | $(load) |"
if [ -n "$FUZZ_LINES" ]; then
  echo "$FUZZ_LINES" | while read -r _ t status runs _ _ secs _; do
    echo "| fuzz ${t%:}, scripts/fuzz.sh $FUZZ_SECS | ${status%,} $runs executions ($(awk -v r="$runs" -v s="$secs" 'BEGIN{ if (s > 0) printf "%.0f", r / s; else print "?" }')/s) | 10M in a long run, no finding | ${L_FUZZ} |"
  done
fi
echo
echo "Total: $(( $(date +%s) - T_START )) s. Raw output: bench/out/ops-*."
} | tee "$OUT/ops.md"
