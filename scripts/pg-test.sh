#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 for tests and prints its URL; stops and removes it again.
#   scripts/pg-test.sh             start: prints two lines, the URL and the data folder
#                                  (postgresql://postgres@127.0.0.1:PORT/leadpath, then DIR)
#   scripts/pg-test.sh stop DIR    stop the server of DIR and remove DIR
# The cluster lives in a mktemp folder owned by the postgres user, listens on a free loopback
# port with its unix socket inside the folder, trusts connections from 127.0.0.1, uses the
# C.UTF-8 locale (byte-order sorting, like SQLite) and has a database named leadpath.
# Installs Debian's postgresql package when it is missing (as scripts/deps.sh test does).
set -euo pipefail
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
as_pg() { if [ "$(id -un)" = postgres ]; then "$@"; else $SUDO runuser -u postgres -- "$@"; fi; }

if [ "${1:-}" = stop ]; then
  dir=${2:?usage: scripts/pg-test.sh stop DIR}
  [ -f "$dir/data/PG_VERSION" ] || { echo "pg-test: $dir is not a pg-test folder" >&2; exit 1; }
  as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  $SUDO rm -rf "$dir"
  exit 0
fi

if [ ! -x "$PGBIN/initdb" ]; then
  echo "pg-test: installing postgresql" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >&2
fi

dir=$(mktemp -d /tmp/leadpath-pg.XXXXXX)
chmod 755 "$dir"
$SUDO chown postgres: "$dir"
locale=C.UTF-8
locale -a 2>/dev/null | grep -qix 'c.utf-\?8' || locale=C
as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale="$locale" >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
# Trust only loopback TCP and the private socket (initdb -A trust already wrote these lines).
cat >"$dir/data/pg_hba.conf" <<EOF
local all all trust
host  all all 127.0.0.1/32 trust
EOF

# A free port: ask the kernel for one, then start on it (retry if someone takes it meanwhile).
for attempt in 1 2 3 4 5; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  if as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
       -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
       start >/dev/null 2>&1; then
    break
  fi
  if [ "$attempt" = 5 ]; then cat "$dir/server.log" >&2; $SUDO rm -rf "$dir"; exit 1; fi
done
as_pg "$PGBIN/psql" -h "$dir" -p "$port" -U postgres -d postgres -qAt -c 'CREATE DATABASE leadpath' >/dev/null
echo "postgresql://postgres@127.0.0.1:$port/leadpath"
echo "$dir"
