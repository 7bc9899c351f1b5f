#!/usr/bin/env bash
# Installs what is missing, builds g2c twice and runs the whole test suite in
# each build: once under AddressSanitizer + UndefinedBehaviorSanitizer, once
# as a release build.  Compiler warnings are errors.  Ends with the line
# "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh --test || exit 1

# Both builds use all cores for compiling; tests run two at a time.
passed=0 failed=0 skipped=0
run_pass() {
  local dir=$1; shift
  if [ ! -d "$dir" ]; then
    meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
  fi
  ninja -C "$dir" >"$dir.build.log" 2>&1 || { tail -50 "$dir.build.log"; return 1; }
  meson test -C "$dir" --num-processes 2 --print-errorlogs --timeout-multiplier 3 \
    >"$dir.test.log" 2>&1
  local rc=$?
  grep -E '^ *[0-9]+/[0-9]+ ' "$dir.test.log" | sed "s|^|[$dir] |"
  [ $rc -ne 0 ] && sed -n '/^=* *[0-9]*\/[0-9]* .*FAIL/,/^=*$/p' "$dir.test.log" | tail -200
  local ok fail skip
  ok=$(awk '/^Ok:/ {s += $NF} END {print s + 0}' "$dir.test.log")
  fail=$(awk '/^(Fail|Timeout|Unexpected Pass):/ {s += $NF} END {print s + 0}' "$dir.test.log")
  skip=$(awk '/^Skipped:/ {s += $NF} END {print s + 0}' "$dir.test.log")
  passed=$((passed + ${ok:-0})); failed=$((failed + ${fail:-0})); skipped=$((skipped + ${skip:-0}))
  return 0
}

export OPENBLAS_NUM_THREADS=2
run_pass build-asan -Db_sanitize=address,undefined -Dbuildtype=debug -Doptimization=1 || failed=$((failed + 1))
run_pass build-release -Dbuildtype=release || failed=$((failed + 1))
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
