#!/bin/sh
# The Linux boot test: Debian 12's own arm64 kernel (scripts/fetch-linux-arm64, cached
# outside the tree) with an initramfs built here from Debian's busybox-static boots on
# anyhv's software route through anyhv-run, reaches a shell, runs commands whose output
# is checked, and powers off through PSCI (status 0).
#   boot.sh ANYHV_RUN SMP
# Exits 77 (skipped) when the kernel cannot be fetched (no network, no apt).
run=$1 smp=${2:-1}
here=$(dirname "$0")
root=$here/../..
cache=$("$root/scripts/fetch-linux-arm64") || { echo "Skipping: cannot fetch Debian's arm64 kernel"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$root/scripts/mkinitramfs-busybox.py" "$cache/busybox" "$here/init.sh" "$work/initrd" || exit 1
# The shell's input arrives through the PL011's receive interrupt, once the shell runs:
# the PL011 driver drains the receive FIFO when it starts, as on hardware. $((6*7)) and
# $(nproc) are computed by the guest: the echoed command lines do not contain the results.
mkfifo "$work/in"
start=$(date +%s)
timeout 1500 "$run" --backend soft --smp "$smp" --kernel "$cache/Image" --initrd "$work/initrd" \
    --append "console=ttyAMA0 panic=-1" <"$work/in" >"$work/out" 2>"$work/err" &
pid=$!
exec 3>"$work/in"
while kill -0 "$pid" 2>/dev/null && ! grep -q "ANYHV-INIT-OK" "$work/out"; do
    sleep 1
done
sleep 3   # the marker comes just before `exec sh`
printf 'echo answer=$((6*7))\necho nproc=$(nproc)\nuname -m\npoweroff -f\n' >&3
wait "$pid"
status=$?
exec 3>&-
echo "boot.sh: $(cat "$cache/VERSION"), --smp $smp: status $status after $(( $(date +%s) - start )) s"
fail=0
[ "$status" -eq 0 ] || { echo "FAIL: anyhv-run status $status"; fail=1; }
for want in "ANYHV-INIT-OK" "answer=42" "nproc=$smp" "aarch64" "reboot: Power down"; do
    grep -q "$want" "$work/out" || { echo "FAIL: no '$want' in the console output"; fail=1; }
done
if [ "$fail" -ne 0 ]; then
    echo "--- console (last 40 lines):"; tail -n 40 "$work/out"
fi
echo "--- stderr:"; cat "$work/err"
exit $fail
