#!/usr/bin/env bash
# bench/conversations.sh — the conversation speed targets, in one command:
#   bench/conversations.sh
# 1. inbound: wrk posts JSON e-mails to POST /api/v1/inbound/email for 10 s (a mix of known
#    senders of existing leads and new senders); target >= 3,000 matched and stored per second;
# 2. outbox: queues QUEUE e-mails (POST /leads/{id}/messages with wrk) with SMTP pointing at
#    scripts/test-smtp.py (aiosmtpd on loopback) and times until every one is `sent` (sqlite3
#    polls the database); target >= 500 per second;
# 3. lead page: a lead with 1,000 messages; GET /leads/{id} + /leads/{id}/threads +
#    /threads/{id}/messages, median of 10 (hyperfine if installed, else curl); target < 300 ms.
# And the server's resident memory (VmRSS, VmHWM) at the end.
# Works on a copy of bench/out/leads-$N.db (made by bench/run.sh; SRC_DB=... to use another
# filled file); builds nothing but uses build/leadpath or LP_BIN. Loopback only. Prints a
# markdown table, also written to bench/out/conversations.md. Takes about 1.5 minutes.
#
# Knobs: N=1000000 SRC_DB=bench/out/leads-$N.db LP_BIN=... PORT=18090 DUR=10 CONN=32 WRK_THREADS=2
#        QUEUE=5000 KNOWN_PCT=70 SETTLE=5 WORKERS= (serve --workers; empty: the server's default, 2)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=$ROOT/bench/out
mkdir -p "$OUT"
N=${N:-1000000}
SRC_DB=${SRC_DB:-$OUT/leads-$N.db}
PORT=${PORT:-18090}
DUR=${DUR:-10}
CONN=${CONN:-32}
WRK_THREADS=${WRK_THREADS:-2}
QUEUE=${QUEUE:-5000}
KNOWN_PCT=${KNOWN_PCT:-70}
SETTLE=${SETTLE:-5}
WORKERS=${WORKERS:-}
PW='bench-password-2026'
ADMIN=bench-admin@bench.test
SECRET=bench-inbound-secret-0123456789
B=http://127.0.0.1:$PORT

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
for t in wrk curl jq sqlite3; do command -v $t >/dev/null || { log "needs $t"; exit 1; }; done
/usr/bin/python3 -c "import aiosmtpd" 2>/dev/null || { log "needs python3-aiosmtpd"; exit 1; }
[ -f "$SRC_DB" ] || { log "no $SRC_DB: run bench/run.sh once (it fills it), or set SRC_DB"; exit 1; }

LP=${LP_BIN:-$ROOT/build/leadpath}
[ -x "$LP" ] || { log "no $LP: run make (or set LP_BIN)"; exit 1; }
cp -f "$LP" "$OUT/lpconv.new" && mv -f "$OUT/lpconv.new" "$OUT/lpconv"   # a snapshot; not hit by pkill leadpath
LP=$OUT/lpconv

DB=$OUT/conv.db
rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-search" "$DB-search-wal" "$DB-search-shm"
log "copying $SRC_DB"
cp "$SRC_DB" "$DB"
[ -f "$SRC_DB-search" ] && cp "$SRC_DB-search" "$DB-search"
sync "$DB"
sleep "$SETTLE"
q() { sqlite3 -cmd '.timeout 5000' "$DB" "$1"; }

LP_PID=""; SMTP_PID=""
cleanup() {
  [ -n "$LP_PID" ] && kill -TERM "$LP_PID" 2>/dev/null && wait "$LP_PID" 2>/dev/null || true
  [ -n "$SMTP_PID" ] && kill -TERM "$SMTP_PID" 2>/dev/null && wait "$SMTP_PID" 2>/dev/null || true
}
trap cleanup EXIT

# ---------------------------------------------------------------- SMTP sink and server
MAILDIR=$OUT/conv-mail
rm -rf "$MAILDIR"; mkdir -p "$MAILDIR"
coproc SMTP { exec /usr/bin/python3 scripts/test-smtp.py "$MAILDIR" 0; }
SMTP_PID=$SMTP_PID
read -r _ SMTP_PORT <&"${SMTP[0]}"
log "SMTP sink on port $SMTP_PORT"

curl -s -o /dev/null --max-time 1 "$B/" && { log "port $PORT is taken; set PORT="; exit 1; }
"$LP" serve --db "sqlite:$DB" --listen "127.0.0.1:$PORT" --quiet ${WORKERS:+--workers "$WORKERS"} 2> "$OUT/conv-server.log" &
LP_PID=$!
for _ in $(seq 1 3000); do curl -sf -o /dev/null "$B/healthz" && break; sleep 0.01; done
TOKEN=$(curl -sf -H 'Content-Type: application/json' -d "{\"email\":\"$ADMIN\",\"password\":\"$PW\"}" "$B/api/v1/auth/login" | jq -r .token)
auth=(-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json')
curl -sf -o /dev/null -X PATCH "${auth[@]}" "$B/api/v1/settings" -d "{\"smtp_host\":\"127.0.0.1\",\"smtp_port\":$SMTP_PORT,
  \"smtp_tls\":\"none\",\"mail_from\":\"sales@leadpath.test\",\"inbound_secret\":\"$SECRET\",\"inbound_domain\":\"in.leadpath.test\"}"

# ---------------------------------------------------------------- 1. inbound
q "SELECT json_extract(emails, '\$[0]') FROM leads WHERE id % 250 = 7 AND emails <> '[]' AND status = 'open' LIMIT 4000" > "$OUT/conv-known.txt"
IN0=$(q "SELECT COUNT(*) FROM messages WHERE direction = 'in'")
LEADS0=$(q "SELECT MAX(id) FROM leads")
log "inbound: $DUR s, $CONN connections, $KNOWN_PCT% known senders ($(wc -l < "$OUT/conv-known.txt") addresses)"
SECRET=$SECRET KNOWN=$OUT/conv-known.txt KNOWN_PCT=$KNOWN_PCT \
  wrk -t"$WRK_THREADS" -c"$CONN" -d"${DUR}s" --timeout 10s -s bench/inbound_email.lua "$B" > "$OUT/conv-inbound.txt" 2>&1 || true
IN_LINE=$(grep '^BENCH' "$OUT/conv-inbound.txt" || echo "BENCH rps=0")
IN_RPS=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<< "$IN_LINE")
IN_P99=$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' <<< "$IN_LINE")
IN_ERR=$(sed -n 's/.* err_status=\([0-9]*\).*/\1/p' <<< "$IN_LINE")
IN_STORED=$(( $(q "SELECT COUNT(*) FROM messages WHERE direction = 'in'") - IN0 ))
IN_NEWLEADS=$(( $(q "SELECT MAX(id) FROM leads") - LEADS0 ))
IN_STORED_RATE=$(awk -v n="$IN_STORED" -v d="$DUR" 'BEGIN{printf "%.0f", n/d}')
log "inbound: $IN_RPS req/s, $IN_STORED stored ($IN_STORED_RATE/s), $IN_NEWLEADS new leads, $IN_ERR non-2xx"

# ---------------------------------------------------------------- 2. outbox
LEADS=$(q "SELECT id FROM leads WHERE id % 997 = 3 AND emails <> '[]' AND status = 'open' AND email_opt_out = 0 LIMIT 2000" | paste -sd,)
M0=$(q "SELECT COALESCE(MAX(id), 0) FROM messages")
log "outbox: queueing $QUEUE e-mails"
# wrk_until SQL TARGET ARGS... — runs wrk in the background until SQL counts TARGET rows (wrk's
# threads stop at their quota, but wrk itself sleeps out its whole -d), then stops it.
wrk_until() {
  local sql=$1 target=$2; shift 2
  wrk "$@" &
  local wpid=$!
  for _ in $(seq 1 2400); do
    [ "$(q "$sql")" -ge "$target" ] && break
    kill -0 "$wpid" 2>/dev/null || break
    sleep 0.05
  done
  kill -INT "$wpid" 2>/dev/null || true
  wait "$wpid" 2>/dev/null || true
}
t0=$(date +%s.%N)
TOKEN=$TOKEN LEADS=$LEADS QUOTA=$QUEUE THREADS=$WRK_THREADS \
  wrk_until "SELECT COUNT(*) FROM messages WHERE id > $M0 AND direction = 'out'" "$QUEUE" \
  -t"$WRK_THREADS" -c16 -d120s --timeout 10s -s bench/send_message.lua "$B" > "$OUT/conv-send.txt" 2>&1
t1=$(date +%s.%N)
sleep 0.5   # answers wrk cut off still commit
OUT_TOTAL=$(q "SELECT COUNT(*) FROM messages WHERE id > $M0 AND direction = 'out'")
log "outbox: $OUT_TOTAL queued in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s; waiting for sent"
OUT_DONE=0
for _ in $(seq 1 1200); do
  OUT_DONE=$(q "SELECT COUNT(*) FROM messages WHERE id > $M0 AND direction = 'out' AND status IN ('sent', 'failed')")
  [ "$OUT_DONE" -ge "$OUT_TOTAL" ] && break
  sleep 0.25
done
t2=$(date +%s.%N)
OUT_SENT=$(q "SELECT COUNT(*) FROM messages WHERE id > $M0 AND direction = 'out' AND status = 'sent'")
OUT_SECS=$(awk -v a="$t0" -v b="$t2" 'BEGIN{printf "%.1f", b-a}')
OUT_RATE=$(awk -v n="$OUT_SENT" -v a="$t0" -v b="$t2" 'BEGIN{printf "%.0f", n/(b-a)}')
SEND_RATE=$(awk -v n="$OUT_TOTAL" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", n/(b-a)}')
log "outbox: $OUT_SENT sent of $OUT_TOTAL in $OUT_SECS s from the first POST ($OUT_RATE/s); queued at $SEND_RATE/s"

# ---------------------------------------------------------------- 3. a lead page with 1,000 messages
PAGE_LEAD=$(cut -d, -f1 <<< "$LEADS")
P0=$(q "SELECT COUNT(*) FROM messages WHERE lead_id = $PAGE_LEAD")
TOKEN=$TOKEN LEADS=$PAGE_LEAD QUOTA=$((1000 - P0)) THREADS=1 \
  wrk_until "SELECT COUNT(*) FROM messages WHERE lead_id = $PAGE_LEAD" 1000 \
  -t1 -c4 -d60s --timeout 10s -s bench/send_message.lua "$B" > "$OUT/conv-page-fill.txt" 2>&1
sleep 0.5
PAGE_MSGS=$(q "SELECT COUNT(*) FROM messages WHERE lead_id = $PAGE_LEAD")
THREAD=$(curl -sf "${auth[@]}" "$B/api/v1/leads/$PAGE_LEAD/threads" | jq '.items[0].id')
THREAD_MSGS=$(curl -sf "${auth[@]}" "$B/api/v1/threads/$THREAD/messages" | jq '.items | length')
log "lead page: lead $PAGE_LEAD has $PAGE_MSGS messages; thread $THREAD answers $THREAD_MSGS"
page_once() {
  local a b c
  a=$(curl -sf -o /dev/null -w '%{time_total}' "${auth[@]}" "$B/api/v1/leads/$PAGE_LEAD")
  b=$(curl -sf -o /dev/null -w '%{time_total}' "${auth[@]}" "$B/api/v1/leads/$PAGE_LEAD/threads")
  c=$(curl -sf -o /dev/null -w '%{time_total}' "${auth[@]}" "$B/api/v1/threads/$THREAD/messages")
  awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN{printf "%.1f %.1f %.1f %.1f\n", (a+b+c)*1000, a*1000, b*1000, c*1000}'
}
page_once > /dev/null   # warm
for _ in $(seq 1 10); do page_once; done | sort -n > "$OUT/conv-page.txt"
PAGE_MED=$(sed -n 5,6p "$OUT/conv-page.txt" | awk '{s+=$1; l+=$2; t+=$3; m+=$4} END{printf "%.1f", s/2}')
PAGE_PARTS=$(sed -n 5,6p "$OUT/conv-page.txt" | awk '{l+=$2; t+=$3; m+=$4} END{printf "lead %.1f, threads %.1f, messages %.1f", l/2, t/2, m/2}')
PAGE_BYTES=$(curl -sf "${auth[@]}" "$B/api/v1/threads/$THREAD/messages" | wc -c)
log "lead page: median $PAGE_MED ms ($PAGE_PARTS); the messages answer is $PAGE_BYTES bytes"

RSS=$(awk '/VmRSS/{print int($2/1024)}' /proc/$LP_PID/status)
HWM=$(awk '/VmHWM/{print int($2/1024)}' /proc/$LP_PID/status)
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN{ok = dir == "ge" ? v >= t : v < t; print ok ? "met" : "**missed**"}'; }
{
  echo "| target | measured | |"
  echo "|---|---|---|"
  echo "| inbound e-mails matched and stored >= 3,000/s | $IN_STORED_RATE/s stored ($IN_RPS req/s, p99 $IN_P99 ms, $IN_ERR non-2xx; $IN_NEWLEADS new leads) | $(verdict "$IN_STORED_RATE" 3000 ge) |"
  echo "| outbox to local SMTP >= 500/s | $OUT_RATE/s ($OUT_SENT of $OUT_TOTAL sent $OUT_SECS s after the first POST; queued at $SEND_RATE/s) | $(verdict "$OUT_RATE" 500 ge) |"
  echo "| lead page with 1,000 messages < 300 ms | $PAGE_MED ms median of 10 ($PAGE_PARTS; $THREAD_MSGS messages, $PAGE_BYTES bytes) | $(verdict "$PAGE_MED" 300 lt) |"
  echo "| server memory at the end | VmRSS $RSS MiB, peak $HWM MiB | |"
  echo
  echo "leadpath $("$LP" version), $N leads, workers ${WORKERS:-default}, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
} | tee "$OUT/conversations.md"
