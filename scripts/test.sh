#!/usr/bin/env bash
# Runs every suite against one build tree: unit tests (ctest), end-to-end (node --test) and,
# for the release tree, browser tests. Usage: scripts/test.sh build|build-asan
set -euo pipefail
tree=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
export LEADPATH_BIN="$root/$tree/leadpath"
if [ "$tree" = build-asan ]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LEADPATH_SANITIZED=1
fi
# A test run must leave the work tree as it found it (screenshots and the like go under build/).
tree_state() { git -C "$root" status --porcelain 2>/dev/null || true; }
state_before=$(tree_state)
echo "== $tree: unit tests"
(cd "$root/$tree" && ctest --output-on-failure -j2)
echo "== $tree: end-to-end tests"
(cd "$root" && node --test --test-concurrency=2 tests/e2e/)
if [ "$tree" = build ] && [ "${LEADPATH_SKIP_PG:-0}" != 1 ]; then
  # The store unit suite and the end-to-end suite on PostgreSQL: a throwaway server, a database per
  # unit test and per end-to-end test server.
  pg=$("$root/scripts/pg-test.sh")
  pg_url=$(echo "$pg" | sed -n 1p)
  pg_dir=$(echo "$pg" | sed -n 2p)
  trap '"$root/scripts/pg-test.sh" stop "$pg_dir"' EXIT
  # The store's unit suite once more with its PostgreSQL group (a fresh database per test).
  echo "== $tree: store unit tests on PostgreSQL"
  (cd "$root/$tree" && LEADPATH_TEST_PG_URL="$pg_url" ctest --output-on-failure -R unit/test_store)
  echo "== $tree: end-to-end tests on PostgreSQL"
  (cd "$root" && LEADPATH_TEST_PG_URL="$pg_url" node --test --test-concurrency=2 tests/e2e/)
  "$root/scripts/pg-test.sh" stop "$pg_dir"
  trap - EXIT
fi
if [ "$tree" = build ] && ls "$root"/tests/browser/*.test.mjs >/dev/null 2>&1; then
  echo "== $tree: browser tests"
  (cd "$root" && node --test --test-concurrency=1 tests/browser/)
fi
if [ "$(tree_state)" != "$state_before" ]; then
  echo "== $tree: the test run changed the work tree (tests must write under build/ or a temporary directory):" >&2
  diff <(echo "$state_before") <(tree_state) >&2 || true
  exit 1
fi
