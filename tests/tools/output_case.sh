#!/bin/sh
# A command whose output (stdout and stderr together) must match extended regexes in
# order, and whose exit status must be the one given.
#   output_case.sh EXPECT_STATUS REGEX... -- command args...
expect_status=$1
shift
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.left" "$tmp.next"' EXIT
n=0
while [ "$1" != "--" ]; do n=$((n + 1)); eval "re_$n=\$1"; shift; done
shift
"$@" >"$tmp" 2>&1 </dev/null
status=$?
fail=0
[ "$status" -eq "$expect_status" ] || { echo "FAIL: exit status $status, expected $expect_status"; fail=1; }
cp "$tmp" "$tmp.left"
i=1
while [ $i -le $n ]; do
    eval "re=\$re_$i"
    line=$(grep -En -- "$re" "$tmp.left" | head -n 1 | cut -d: -f1)
    if [ -z "$line" ]; then
        echo "FAIL: output lacks /$re/ (after the earlier matches)"; fail=1
    else
        tail -n +"$((line + 1))" "$tmp.left" >"$tmp.next"; mv "$tmp.next" "$tmp.left"
    fi
    i=$((i + 1))
done
echo "--- output:"; cat "$tmp"
exit $fail
