#!/bin/sh
# One anyhv-run test case: run it, then check the exit status, stdout against an
# expected file (optional) and stderr against a pattern (optional).
#   run_case.sh EXPECT_STATUS EXPECT_STDOUT|- STDERR_REGEX|- -- anyhv-run args...
# Exits 77 (skipped) only when the library says the backend cannot run here, and says why.
expect_status=$1 expect_out=$2 expect_err=$3
shift 3
[ "$1" = "--" ] && shift
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$@" >"$out" 2>"$err" </dev/null
status=$?
if [ "$status" -eq 69 ] && grep -Eq "not available here|cannot run guest code yet" "$err"; then
    echo "Skipping: $(grep -E 'not available here|cannot run guest code yet' "$err" | head -n1)"
    exit 77
fi
fail=0
if [ "$status" -ne "$expect_status" ]; then
    echo "FAIL: exit status $status, expected $expect_status"; fail=1
fi
if [ "$expect_out" != "-" ] && ! cmp -s "$out" "$expect_out"; then
    echo "FAIL: guest output differs from $expect_out:"; diff "$expect_out" "$out" | head -n 20; fail=1
fi
if [ "$expect_err" != "-" ] && ! grep -Eq "$expect_err" "$err"; then
    echo "FAIL: stderr does not match /$expect_err/"; fail=1
fi
echo "--- stderr:"; cat "$err"
exit $fail
