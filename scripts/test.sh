#!/usr/bin/env bash
# Runs every test tally has, in two builds: the normal one and the one with
# AddressSanitizer + UndefinedBehaviorSanitizer. Prints each group's result
# and ends with one line "N passed, N failed" (N counts test cases).
#
#   scripts/test.sh BUILD_DIR SAN_BUILD_DIR
#
# Groups: cmocka unit tests (tests/unit), integration tests that start the real
# binary (tests/integration, node:test), end-to-end tests with real clients
# (tests/e2e: Chromium via playwright-core, the Segment SDK).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILDS=("${@:-build}")
passed=0
failed=0
failures=()
logdir=build/test-logs
mkdir -p "$logdir"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

count_cmocka() { # log -> sets p f
  p=$(grep -oP '^\[  PASSED  \] \K[0-9]+' "$1" | tail -1)
  f=$(grep -oP '^\[  FAILED  \] \K[0-9]+(?= test)' "$1" | tail -1)
  p=${p:-0}; f=${f:-0}
}

count_node() {
  p=$(grep -oP '^# pass \K[0-9]+' "$1" | tail -1)
  f=$(grep -oP '^# fail \K[0-9]+' "$1" | tail -1)
  p=${p:-0}; f=${f:-0}
}

record() { # name rc
  local name=$1 rc=$2
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or leaked: count it
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$f" -gt 0 ]; then failures+=("$name"); status=FAIL; else status=ok; fi
  printf '%-4s %-60s %4d passed %3d failed\n' "$status" "$name" "$p" "$f"
}

for b in "${BUILDS[@]}"; do
  tag=$(echo "$b" | tr '/' '_')
  # unit tests
  for t in $(find "$b/tests/unit" -type f -name 'test_*' -perm -u+x 2>/dev/null | sort); do
    log="$logdir/${tag}_$(basename "$t").log"
    timeout 600 "$t" >"$log" 2>&1
    rc=$?
    count_cmocka "$log"
    record "$t" $rc
    [ "$f" -gt 0 ] && tail -40 "$log"
  done
  # integration and end-to-end tests against this build's binary
  for group in integration e2e; do
    [ -d "tests/$group" ] || continue
    files=$(find "tests/$group" -name '*.test.mjs' | sort)
    [ -n "$files" ] || continue
    log="$logdir/${tag}_${group}.log"
    TALLY_BIN="$b/tally" timeout 1800 node --test --test-reporter=tap --test-concurrency=1 $files >"$log" 2>&1
    rc=$?
    count_node "$log"
    record "$b: tests/$group" $rc
    [ "$f" -gt 0 ] && grep -B2 -A30 '^not ok\|^    not ok' "$log" | head -120
  done
done

echo
if [ ${#failures[@]} -gt 0 ]; then
  echo "failed: ${failures[*]}"
  echo "logs: $logdir"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
