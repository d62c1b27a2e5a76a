# bench/lib.sh — what bench/run.sh and bench/run-pg.sh share. Sourced; needs LP, PW and ADMIN.

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
