#!/bin/sh
# Deterministic devices of the PC machine (anyhv-run --kernel): a guest that lives on
# the PIT's interrupts - HLT woken by IRQ 0, a spin counting loop turns between ticks,
# reads of the PM timer, the PIT's count, the TSC and the CMOS clock - runs twice with
# --deterministic, and once with --record and once with --replay of that record. Every
# run must end through isa-debug-exit (status 67), print the same lines and retire the
# same instructions with the same exits in the same order (--trace); the PIT's
# interrupts must have come through the vCPU's timer deadline (at least MIN_TIMER exits
# of reason 52, VMX_REASON_VMX_TIMER_EXPIRED) and every HLT must have waited a tick
# (the TSC moved at least MIN_TICK_NS between consecutive wake-ups). On the host clock
# (before the devices ran on virtual time) the two runs print other values. Every exit
# also hashes 1/HASH_PARTS of guest RAM in turn (--hash-memory) and the end all of it:
# those lines must be the same too, one per exit; a run whose kernel command line
# (which the loader writes into RAM) differs must end with another hash.
#   pc_det_case.sh TICKS MIN_TIMER MIN_TICK_NS -- anyhv-run args... (the --kernel image last)
ticks=$1 min_timer=$2 min_tick=$3
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
hash_parts=512   # 1 MiB of the 512 MiB per exit
run() {   # run NAME OPTIONS...
    name=$1
    shift
    timeout 120 "$@" --stats --trace --debug-exit --hash-memory $hash_parts >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
    status=$?
    [ "$status" -eq 69 ] && { echo "Skipping: $(head -n 1 "$tmp/$name.err")"; exit 77; }
    [ "$status" -eq 67 ] || { echo "FAIL: $name: status $status"; tail -n 5 "$tmp/$name.err"; fail=1; }
    grep '^\[cpu' "$tmp/$name.err" >"$tmp/$name.exits"
    sed -n 's/.* \([0-9]*\) exits to the VMM, \([0-9]*\) guest instructions .*/\1 \2/p' "$tmp/$name.err" >"$tmp/$name.count"
    [ -s "$tmp/$name.count" ] || { echo "FAIL: $name: no counts in the summary"; fail=1; }
    grep '^\[hash\]' "$tmp/$name.err" >"$tmp/$name.hashes"
    grep '^\[hash\] end ' "$tmp/$name.hashes" >"$tmp/$name.end"
    [ "$(grep -c '^\[hash\] exit ' "$tmp/$name.hashes")" = "$(cut -d' ' -f1 "$tmp/$name.count")" ] && [ -s "$tmp/$name.end" ] ||
        { echo "FAIL: $name: not one memory hash per exit and one at the end"; fail=1; }
}
same() {   # same A B
    for what in count exits out hashes; do
        cmp -s "$tmp/$1.$what" "$tmp/$2.$what" || { echo "FAIL: $1 and $2 differ in $what"; fail=1; }
    done
    cmp -s "$tmp/$1.out" "$tmp/$2.out" || diff "$tmp/$1.out" "$tmp/$2.out" | head -n 6
}
args=$*
run a "$@" --deterministic
run b "$@" --deterministic
same a b
# The HLT rounds: one line each, a tick apart on the TSC (third field, hex).
halts=$(grep -c '^T ' "$tmp/a.out")
[ "$halts" -eq "$ticks" ] || { echo "FAIL: $halts HLT rounds printed, expected $ticks"; fail=1; }
short=0 prev=
while read -r tag pm pit tsc; do
    [ "$tag" = T ] || continue
    t=$((0x$tsc))
    [ -n "$prev" ] && [ $((t - prev)) -lt "$min_tick" ] && short=$((short + 1))
    prev=$t
done <"$tmp/a.out"
[ "$short" -eq 0 ] || { echo "FAIL: $short HLT rounds shorter than $min_tick ns"; fail=1; }
timer=$(grep -c ' exit 52 ' "$tmp/a.exits")
[ "$timer" -ge "$min_timer" ] || { echo "FAIL: $timer timer-deadline exits, expected at least $min_timer"; fail=1; }
run rec "$@" --record "$tmp/rec"
run replay "$@" --replay "$tmp/rec"
same rec replay
same a rec
grep -q "diverged" "$tmp/replay.err" && { echo "FAIL: the replay diverged"; fail=1; }
run other "$@" --deterministic --append "another command line"
cmp -s "$tmp/a.end" "$tmp/other.end" && { echo "FAIL: other memory, the same hash: $(cat "$tmp/a.end")"; fail=1; }
echo "$args: instructions and exits $(cat "$tmp/a.count"), $timer timer exits, $halts HLT rounds," \
     "$(wc -l <"$tmp/a.hashes") memory hashes ($(cat "$tmp/a.end")); output:"
cat "$tmp/a.out"
exit $fail
