#!/bin/sh
# Deterministic idle through anyhv-run: a guest that waits for its timer (WFI, HLT) runs
# twice with --deterministic. Both runs must end with status 0 (every wait lasted the
# time asked for: guest time passed while the vCPU idled, without host time), with the
# same instruction count, the same exits in the same order (--trace) and the same
# output and the same memory hashes at every exit and at the end (--hash-memory, 1/64 of
# RAM per exit), and the guest must have waited (at least MIN_WAITS exits of kind KIND).
#   idle_case.sh KIND MIN_WAITS -- anyhv-run args... IMAGE
kind=$1 min=$2
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for run in a b; do
    timeout 60 "$@" --deterministic --stats --trace --hash-memory 64 >"$tmp/$run.out" 2>"$tmp/$run.err" </dev/null
    status=$?
    [ "$status" -eq 69 ] && { echo "Skipping: $(head -n 1 "$tmp/$run.err")"; exit 77; }
    [ "$status" -eq 0 ] || { echo "FAIL: run $run: status $status"; tail -n 5 "$tmp/$run.err"; fail=1; }
    grep '^\[exit\]' "$tmp/$run.err" >"$tmp/$run.exits"
    grep '^\[hash\]' "$tmp/$run.err" >"$tmp/$run.hashes"
    sed -n 's/.*, \([0-9]*\) guest instructions, .*/\1/p' "$tmp/$run.err" >"$tmp/$run.count"
done
cmp -s "$tmp/a.count" "$tmp/b.count" && [ -s "$tmp/a.count" ] ||
    { echo "FAIL: instructions $(cat "$tmp/a.count") vs $(cat "$tmp/b.count")"; fail=1; }
cmp -s "$tmp/a.exits" "$tmp/b.exits" || { echo "FAIL: the exit streams differ"; fail=1; }
cmp -s "$tmp/a.out" "$tmp/b.out" || { echo "FAIL: the outputs differ"; fail=1; }
cmp -s "$tmp/a.hashes" "$tmp/b.hashes" || { echo "FAIL: the memory hashes differ"; fail=1; }
grep -q '^\[hash\] end ' "$tmp/a.hashes" && [ "$(wc -l <"$tmp/a.hashes")" -gt "$(wc -l <"$tmp/a.exits")" ] ||
    { echo "FAIL: not a memory hash at every exit and at the end"; fail=1; }
waits=$(sed -n "s|.*[(, ]$kind \([0-9][0-9]*\).*|\1|p" "$tmp/a.err")
[ "${waits:-0}" -ge "$min" ] || { echo "FAIL: ${waits:-0} $kind exits, expected at least $min"; fail=1; }
echo "two runs: $(cat "$tmp/a.count") instructions, $(wc -l <"$tmp/a.exits") exits, $(wc -l <"$tmp/a.hashes") memory hashes, ${waits:-0} $kind; output: $(cat "$tmp/a.out")"
exit $fail
