#!/usr/bin/env bash
# Builds the fuzz targets (build-fuzz/, clang with libFuzzer, ASan and UBSan) and runs each for
# SECONDS (default 20) on its committed corpus and dictionary (tests/fuzz/). New inputs go to
# build-fuzz/corpus/<target> (the committed corpus is only read), a crash to build-fuzz/findings/.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-20}
shift || true
cd "$root"
if [ ! -f build-fuzz/Makefile ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLP_FUZZ=ON >/dev/null
fi
make --no-print-directory -C build-fuzz -j"$(nproc)" >/dev/null
targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p build-fuzz/findings
status=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t"
  dict=(); [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  log="build-fuzz/$t.log"
  if "build-fuzz/$t" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
       -artifact_prefix="build-fuzz/findings/$t-" "${dict[@]}" "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz $t: ok, ${runs:-?} executions in ${secs} s"
  else
    echo "fuzz $t: FAILED (see $log; the input is in build-fuzz/findings/)"
    tail -40 "$log"
    status=1
  fi
done
exit $status
