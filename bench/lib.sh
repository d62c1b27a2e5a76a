# bench/lib.sh — what bench/run.sh, bench/ops.sh and bench/run-pg.sh share. Sourced; needs LP, PW and ADMIN.

# bench_users DB_URL — the benchmark's 21 users: the admin, 3 managers, 17 agents (each reporting
# to a manager), all with the password PW.
bench_users() {
  local db=$1 m a
  echo "$PW" | "$LP" user add --db "$db" --email "$ADMIN" --name "Bench Admin" --role admin --password-stdin >/dev/null
  for m in 1 2 3; do
    echo "$PW" | "$LP" user add --db "$db" --email "manager$m@bench.test" --name "Manager $m" --role manager --password-stdin >/dev/null
  done
  for a in $(seq 1 17); do
    echo "$PW" | "$LP" user add --db "$db" --email "agent$a@bench.test" --name "Agent $a" --role agent \
      --manager "manager$(( (a % 3) + 1 ))@bench.test" --password-stdin >/dev/null
  done
}

# bench_build_fill — $OUT/fill (bench/fill.c with the win model of lib/core/scoring.c linked in).
bench_build_fill() {
  [ -f /usr/include/jansson.h ] || { echo "bench: libjansson-dev is missing (scripts/deps.sh)" >&2; return 1; }
  gcc -O2 -Wall -Ilib -Iinclude -o "$OUT/fill" bench/fill.c lib/core/scoring.c lib/util/error.c -lsqlite3 -ljansson -lm
}

# bench_db — SRC_DB=$OUT/leads-$N.db with N leads and the bench users, filled by $OUT/fill unless
# a fill made with the schema of $LP is there already (its .ok file says so). Needs OUT, N, LP, log.
bench_db() {
  SRC_DB=$OUT/leads-$N.db
  # The schema of the binary being measured; a database made by an older schema is made again.
  rm -f "$OUT/schema.db" "$OUT/schema.db-wal" "$OUT/schema.db-shm"
  "$LP" migrate --db "sqlite:$OUT/schema.db" >/dev/null
  SCHEMA=$(sqlite3 "$OUT/schema.db" "SELECT type, name, sql FROM sqlite_master ORDER BY name" | md5sum | cut -c1-12)
  rm -f "$OUT/schema.db" "$OUT/schema.db-wal" "$OUT/schema.db-shm"
  # ... and one made by another fill.c (what it fills changed) too.
  SCHEMA=$SCHEMA.$(md5sum bench/fill.c | cut -c1-8)
  if [ -f "$SRC_DB.ok" ] && ! grep -q "schema=$SCHEMA" "$SRC_DB.ok"; then
    log "$SRC_DB was made with another schema or fill.c; filling it again"
    rm -f "$SRC_DB.ok"
  fi
  if [ ! -f "$SRC_DB.ok" ]; then
    log "creating $SRC_DB with $N leads"
    rm -f "$SRC_DB" "$SRC_DB-wal" "$SRC_DB-shm" "$SRC_DB-search" "$SRC_DB-search-wal" "$SRC_DB-search-shm"
    "$LP" migrate --db "sqlite:$SRC_DB" >/dev/null
    t0=$(date +%s%N)
    bench_users "sqlite:$SRC_DB"
    t1=$(date +%s%N)
    "$OUT/fill" "$SRC_DB" "$N" > "$OUT/fill.out" 2> "$OUT/fill.log"
    t2=$(date +%s%N)
    cat "$OUT/fill.log" >&2
    FILL_SECS=$(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.1f", (b-a)/1e9}')
    USERS_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b-a)/1e9}')
    echo "fill_seconds=$FILL_SECS users_seconds=$USERS_SECS n=$N schema=$SCHEMA" > "$SRC_DB.ok"
  else
    log "reusing $SRC_DB ($(cat "$SRC_DB.ok"))"
  fi
}

# bench_wait_jobs DB_PATH [MAX_SECONDS] — waits until the server has no job due (queued or running
# with run_at passed): a server started on a fresh fill runs its sweep, the SLA checks it queues
# and the hourly scoring run, which walks every open lead (minutes at 1M leads on a busy 2-core
# machine) and holds the writer between its batches. Echoes the seconds waited, or "timeout".
bench_wait_jobs() {
  local db=$1 max=${2:-600} t0 n
  t0=$(date +%s)
  sleep 1
  while :; do
    n=$(sqlite3 "$db" "SELECT count(*) FROM jobs WHERE status = 'running' OR (status = 'queued' AND run_at <= strftime('%s', 'now'))" 2>/dev/null || echo 1)
    [ "$n" = 0 ] && { echo $(( $(date +%s) - t0 )); return 0; }
    [ $(( $(date +%s) - t0 )) -ge "$max" ] && { echo timeout; return 0; }
    sleep 1
  done
}
