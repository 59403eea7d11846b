#!/bin/sh
# Reverse execution in a replayed run: anyhv-run records a guest that reads console
# input from a pipe (what each poll saw depends on when the bytes arrived: all at once
# here, so the guest never gives up waiting on a fast tier) with --record, then replays
# the record under gdb
# (--replay, no input) while gdb_case.sh drives reverse-stepi and reverse-continue; the
# replay's output must be the recording's, printed once.
#   gdb_replay_case.sh SCRIPT EXPECT -- anyhv-run args... IMAGE
script=$1 expect=$2
shift 3
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'abcd\nq' | "$@" --record "$tmp/rec" >"$tmp/recorded.out" 2>"$tmp/recorded.err"
status=$?
[ "$status" -eq 69 ] && { echo "Skipping: $(head -n 1 "$tmp/recorded.err")"; exit 77; }
[ "$status" -eq 0 ] || { echo "FAIL: the recording ended with status $status"; cat "$tmp/recorded.err"; exit 1; }
echo "recorded: $(cat "$tmp/recorded.out"), $(($(wc -l <"$tmp/rec") - 1)) console answers"
for last; do :; done
n=$#
set -- "$@"
# gdb_case.sh takes the image last: put --replay before it.
args=""
i=1
for a; do
    [ $i -lt $n ] && args="$args \"\$$i\""
    i=$((i + 1))
done
eval "set -- $args --replay \"\$tmp/rec\" \"\$last\""
"$here/gdb_case.sh" "$script" "$expect" "$tmp/recorded.out" -- "$@"
