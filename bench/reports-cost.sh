#!/usr/bin/env bash
# bench/reports-cost.sh — what keeping the report counters (lib/store/reports.c) costs creates and
# closes: the same load against two binaries taking turns on one database, back to back:
#   on:  build/leadpath (counters kept, as shipped)
#   off: build-nohook/leadpath, built with -DLP_REPORTS_NO_HOOK (keeps no counters; never shipped:
#        cmake -S . -B build-nohook -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS=-DLP_REPORTS_NO_HOOK
#        && make -C build-nohook leadpath)
# Prints, per run, req/s and the writer thread's CPU per request (the busiest thread), then the
# median of each. The database (N leads from bench/fill.c, counters rebuilt) is made once in
# bench/out/ and copied for each invocation; closes take open leads no earlier run closed.
# Knobs: N=100000 DUR=4 ROUNDS=3 CONN=16 WRK_THREADS=2 PORT=18090 WHAT="create close"
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=$ROOT/bench/out
mkdir -p "$OUT"
N=${N:-100000}; DUR=${DUR:-4}; ROUNDS=${ROUNDS:-3}; CONN=${CONN:-16}; WRK_THREADS=${WRK_THREADS:-2}
PORT=${PORT:-18090}; WHAT=${WHAT:-"create close"}
PW='bench-password-2026'; ADMIN=bench-admin@bench.test
LP_ON=${LP_ON:-$ROOT/build/leadpath}; LP_OFF=${LP_OFF:-$ROOT/build-nohook/leadpath}
LP=$LP_ON
. bench/lib.sh
log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
# BINS: the binaries measured, taking turns (base: another build keeping counters, LP_BASE, e.g.
# the commit before a change to the hook, to compare two ways of keeping them)
BINS=${BINS:-"off on"}
cp -f "$LP_ON" "$OUT/rc-on"; cp -f "$LP_OFF" "$OUT/rc-off"
[ -n "${LP_BASE:-}" ] && cp -f "$LP_BASE" "$OUT/rc-base"
gcc -O2 -Wall -o "$OUT/fill" bench/fill.c -lsqlite3
SRC=${SRC_DB:-$OUT/rc-$N.db}   # SRC_DB: another prepared database (e.g. with another key order)
if [ ! -f "$SRC.ok" ]; then
  rm -f "$SRC"*
  "$LP" migrate --db "sqlite:$SRC" >/dev/null
  bench_users "sqlite:$SRC"
  "$OUT/fill" "$SRC" "$N" >/dev/null 2>"$OUT/rc-fill.log"
  "$LP" reports rebuild --db "sqlite:$SRC" >/dev/null
  touch "$SRC.ok"
fi
DB=$OUT/rc-work.db
rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-search" "$DB-search-wal" "$DB-search-shm"
cp "$SRC" "$DB"; cp "$SRC-search" "$DB-search"; sync "$DB" "$DB-search"; sleep "${SETTLE:-3}"
OWNERS=$(sqlite3 "$DB" "SELECT group_concat(u.id) FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name <> 'admin'")
sqlite3 "$DB" "SELECT id FROM leads WHERE status = 'open' AND deleted_at IS NULL ORDER BY random()" > "$OUT/rc-open-all.txt"
export OWNERS WRK_THREADS
# each close run gets its own share of the open leads (a run must not close more than it has)
CHUNK=$(( $(wc -l < "$OUT/rc-open-all.txt") / (ROUNDS * $(echo $BINS | wc -w)) ))
HZ=$(getconf CLK_TCK)
LP_PID=""
cleanup() { [ -n "$LP_PID" ] && kill -TERM "$LP_PID" 2>/dev/null && wait "$LP_PID" 2>/dev/null; true; }
trap cleanup EXIT
task_ticks() { local t; for t in /proc/"$1"/task/*; do printf '%s %s\n' "${t##*/}" "$(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0)"; done; }
start() {
  "$OUT/rc-$1" serve --db "sqlite:$DB" --listen "127.0.0.1:$PORT" --quiet 2> "$OUT/rc-$1.log" &
  LP_PID=$!
  for _ in $(seq 1 2000); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.005; done
  TOKEN=$(curl -sf -H 'Content-Type: application/json' -d "{\"email\":\"$ADMIN\",\"password\":\"$PW\"}" \
    "http://127.0.0.1:$PORT/api/v1/auth/login" | jq -r .token); export TOKEN
}
stop() { kill -TERM "$LP_PID"; wait "$LP_PID" 2>/dev/null || true; LP_PID=""; }
NEXT_ID=1
declare -A RPS WUS
run() {  # run BIN WHAT ROUND
  local bin=$1 what=$2 r=$3 script=create_lead.lua
  start "$bin"
  if [ "$what" = close ]; then
    script=close_lead.lua
    sed -n "${NEXT_ID},$((NEXT_ID + CHUNK - 1))p" "$OUT/rc-open-all.txt" > "$OUT/rc-ids.txt"
    NEXT_ID=$((NEXT_ID + CHUNK)); export IDS=$OUT/rc-ids.txt
  fi
  local before; before=$(task_ticks "$LP_PID")
  wrk -t"$WRK_THREADS" -c"$CONN" -d"${DUR}s" --timeout 10s -s "bench/$script" "http://127.0.0.1:$PORT" > "$OUT/rc-$what-$bin-$r.txt" 2>&1 || true
  local busiest; busiest=$(join <(echo "$before" | sort) <(task_ticks "$LP_PID" | sort) | awk '{d = $3 - $2; if (d > m) m = d} END{print m + 0}')
  stop
  local line rps req non
  line=$(grep '^BENCH ' "$OUT/rc-$what-$bin-$r.txt")
  rps=$(echo "$line" | grep -o 'rps=[0-9.]*' | cut -d= -f2); req=$(echo "$line" | grep -o 'requests=[0-9]*' | cut -d= -f2)
  non=$(awk '/Non-2xx or 3xx responses/{print $NF}' "$OUT/rc-$what-$bin-$r.txt"); non=${non:-0}
  local wus; wus=$(awk -v t="$busiest" -v n="$req" -v hz="$HZ" 'BEGIN{printf "%.0f", t / hz * 1e6 / n}')
  RPS[$what.$bin]="${RPS[$what.$bin]:-} $rps"; WUS[$what.$bin]="${WUS[$what.$bin]:-} $wus"
  log "$what $bin round $r: $rps/s, writer ${wus} us/req, non-2xx $non, load $(cut -d' ' -f1 /proc/loadavg)"
}
for what in $WHAT; do
  for r in $(seq 1 "$ROUNDS"); do
    order=$BINS; [ $((r % 2)) = 0 ] && order=$(echo "$BINS" | tr ' ' '\n' | tac | tr '\n' ' ')
    for b in $order; do run "$b" "$what" "$r"; done
  done
done
med() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
for what in $WHAT; do
  off=$(echo "${RPS[$what.off]}" | med)
  for b in $BINS; do
    m=$(echo "${RPS[$what.$b]}" | med); w=$(echo "${WUS[$what.$b]}" | med)
    printf '%s %s: req/s%s (median %s), writer us/req%s (median %s), cost vs off %s%%\n' "$what" "$b" "${RPS[$what.$b]}" "$m" \
      "${WUS[$what.$b]}" "$w" "$(awk -v a="$off" -v b="$m" 'BEGIN{printf "%.1f", 100 * (a - b) / a}')"
  done
done
