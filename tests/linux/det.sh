#!/bin/sh
# Deterministic Linux boot (software route): the arm64 boot of boot.sh, or with ARCH
# x86_64 the PC machine's boot of tests/tools/boot_linux_x86_64.py (Debian's amd64
# vmlinux through its PVH entry, the 16550 on IRQ 4, the PIT, ACPI S5):
#  1. two runs with --deterministic, the shell's commands run by init (anyhv_auto=1, no
#     console input), must give the same instruction count, the same exit stream (every
#     --trace line, hashed), the same memory hashes at every exit and at the end
#     (--hash-memory: each exit hashes the next 256 KiB of guest RAM in turn, so every
#     1024 (x86, 256 MiB) or 2048 (arm64, 512 MiB) exits cover all of it; the end hashes
#     all of it) and the same console output;
#  2. a run with --record, whose shell reads its commands from the console at host-timed
#     moments (a FIFO written once the shell runs), replayed with --replay and no input,
#     must give the same count, exit stream, memory hashes and output as the recording
#     (whose kernel command line differs from the first runs': its memory at the end must
#     hash otherwise, or the hashes would not see memory).
# Every run must reach the shell, run the commands and power off (status 0).
#   det.sh ANYHV_RUN SMP [arm64|x86_64]
# Exits 77 (skipped) when the kernel cannot be fetched (no network, no apt).
run=$1 smp=${2:-1} arch=${3:-arm64}
here=$(dirname "$0")
root=$here/../..
cache=$("$root/scripts/fetch-linux-$arch") || { echo "Skipping: cannot fetch Debian's $arch kernel"; exit 77; }
if [ "$arch" = x86_64 ]; then
    # The PC machine: every exit traced as "[cpu N] exit REASON rip ...", the summary
    # "... M exits to the VMM, N guest instructions (per cpu: ...)".
    kernel=$cache/vmlinux console=ttyS0 uname=x86_64 machine="--mem 256 --hash-memory 1024" exit_re='^\[cpu'
    count_re='s/.* \([0-9]*\) exits to the VMM, \([0-9]*\) guest instructions.*/\2 \1/p'
else
    kernel=$cache/Image console=ttyAMA0 uname=aarch64 machine="--hash-memory 2048" exit_re='^\[exit\]'
    count_re='s/.*, \([0-9]*\) guest instructions, \([0-9]*\) exits.*/\1 \2/p'
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$root/scripts/mkinitramfs-busybox.py" "$cache/busybox" "$here/init.sh" "$work/initrd" || exit 1
fail=0
boot() {   # boot NAME APPEND-EXTRA ANYHV-RUN-OPTIONS... (stdin: the console input)
    name=$1 extra=$2
    shift 2
    start=$(date +%s)
    # shellcheck disable=SC2086
    timeout 1500 "$run" --backend soft --trace --stats --smp "$smp" $machine --kernel "$kernel" --initrd "$work/initrd" \
        --append "console=$console panic=-1$extra" "$@" >"$work/$name.out" 2>"$work/$name.err"
    status=$?
    grep "$exit_re" "$work/$name.err" >"$work/$name.stream"
    sha256sum <"$work/$name.stream" | cut -c1-16 >"$work/$name.exits"
    grep '^\[hash\]' "$work/$name.err" >"$work/$name.hashlines"
    sha256sum <"$work/$name.hashlines" | cut -c1-16 >"$work/$name.hashes"
    sed -n 's/^\[hash\] end ram [0-9]* MiB //p' "$work/$name.hashlines" >"$work/$name.end"
    sha256sum <"$work/$name.out" | cut -c1-16 >"$work/$name.cons"
    sed -n "$count_re" "$work/$name.err" >"$work/$name.count"
    echo "det.sh: $name: status $status after $(( $(date +%s) - start )) s: instructions and exits $(cat "$work/$name.count")," \
         "exit stream $(cat "$work/$name.exits"), console $(cat "$work/$name.cons")," \
         "$(grep -c '^\[hash\] exit' "$work/$name.hashlines") memory hashes ($(cat "$work/$name.hashes"), at the end $(cat "$work/$name.end"))"
    [ "$status" -eq 0 ] || { echo "FAIL: $name: anyhv-run status $status"; tail -n 20 "$work/$name.out"; grep -v -e "$exit_re" -e '^\[hash\]' "$work/$name.err" | tail -n 20; fail=1; }
    for want in "ANYHV-INIT-OK" "answer=42" "nproc=$smp" "$uname" "reboot: Power down"; do
        grep -q "$want" "$work/$name.out" || { echo "FAIL: $name: no '$want' in the console output"; fail=1; }
    done
    [ -s "$work/$name.count" ] || { echo "FAIL: $name: no instruction count"; fail=1; }
    [ "$(grep -c '^\[hash\] exit' "$work/$name.hashlines")" = "$(cut -d' ' -f2 "$work/$name.count")" ] && [ -s "$work/$name.end" ] ||
        { echo "FAIL: $name: not one memory hash per exit and one at the end"; fail=1; }
}
same() {   # same A B: the two runs are one run
    for what in count exits cons hashes; do
        cmp -s "$work/$1.$what" "$work/$2.$what" || { echo "FAIL: $1 and $2 differ in $what"; fail=1; }
    done
    cmp -s "$work/$1.stream" "$work/$2.stream" ||
        { echo "--- first difference of the exit streams:"; diff "$work/$1.stream" "$work/$2.stream" | head -n 8; }
    cmp -s "$work/$1.hashlines" "$work/$2.hashlines" ||
        { echo "--- first difference of the memory hashes:"; diff "$work/$1.hashlines" "$work/$2.hashlines" | head -n 4; }
}

boot det1 " anyhv_auto=1" --deterministic </dev/null
boot det2 " anyhv_auto=1" --deterministic </dev/null
same det1 det2

# The recording: the shell's input arrives when the test sees the marker, host-timed.
mkfifo "$work/in"
( boot record "" --record "$work/rec" <"$work/in"; echo "$fail" >"$work/record.fail" ) &
exec 3>"$work/in"
while [ ! -e "$work/record.fail" ] && ! grep -q "ANYHV-INIT-OK" "$work/record.out" 2>/dev/null; do
    sleep 1
done
sleep 3   # the marker comes just before `exec sh`
printf 'echo answer=$((6*7))\necho nproc=$(nproc)\nuname -m\npoweroff -f\n' >&3
wait
exec 3>&-
[ "$(cat "$work/record.fail")" = 0 ] || fail=1
echo "det.sh: the record holds $(wc -l <"$work/rec") console answers and $(wc -c <"$work/rec.inputs") bytes of library inputs"
boot replay "" --replay "$work/rec" </dev/null
grep -q "replay diverged" "$work/replay.err" && { echo "FAIL: the replay diverged"; fail=1; }
same record replay
cmp -s "$work/det1.end" "$work/record.end" && { echo "FAIL: other memory (another command line), the same hash"; fail=1; }
echo "det.sh: $arch $(cat "$cache/VERSION" 2>/dev/null), --smp $smp: $([ $fail -eq 0 ] && echo PASS || echo FAIL)"
exit $fail
