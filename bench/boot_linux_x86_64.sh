#!/bin/sh
# The `boot` row: Debian 12's amd64 kernel (scripts/fetch-linux-x86_64, PVH entry of its
# vmlinux) with a busybox initramfs whose /init powers off at once, booted to ACPI S5 by
# anyhv-run on the software route (interpreter alone, ANYHV_JIT=off, and with the JIT tier,
# ANYHV_JIT=on) and by qemu-system-x86_64 with TCG, same kernel, initrd,
# command line, memory and CPU count. One run each; wall time from start to exit.
#   bench/boot_linux_x86_64.sh [BUILD] [SMP]     (make bench-boot)
set -eu
BUILD=${1:-build}
SMP=${2:-1}
SRC=$(cd "$(dirname "$0")/.." && pwd)
CACHE=$("$SRC/scripts/fetch-linux-x86_64")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '#!/bin/busybox sh\n/bin/busybox poweroff -f\n' > "$work/init"
"$SRC/scripts/mkinitramfs-busybox" "$CACHE/busybox" "$work/init" "$work/initrd.gz"
APPEND="console=ttyS0 panic=-1"

now_ms() { date +%s%3N; }

row() {   # engine, status, ms
    echo "| boot | x86_64 | $1 | $3 | $SMP | $2 |"
}

echo "| workload | arch | engine | wall ms | cpus | exit status |"
echo "|---|---|---|---:|---:|---:|"
for tier in off on; do
    t0=$(now_ms)
    set +e
    ANYHV_JIT=$tier "$SRC/$BUILD/bin/anyhv-run" --backend soft --mem 256 --smp "$SMP" --kernel "$CACHE/vmlinux" \
        --initrd "$work/initrd.gz" --append "$APPEND" < /dev/null > "$work/anyhv.out" 2>&1
    st=$?
    set -e
    [ "$tier" = off ] && engine=anyhv-soft-interp || engine=anyhv-soft-jit
    row "$engine" "$st" $(( $(now_ms) - t0 ))
done
if command -v qemu-system-x86_64 > /dev/null; then
    t0=$(now_ms)
    set +e
    qemu-system-x86_64 -accel tcg -m 256 -smp "$SMP" -nographic -no-reboot -kernel "$CACHE/vmlinux" \
        -initrd "$work/initrd.gz" -append "$APPEND" < /dev/null > "$work/qemu.out" 2>&1
    st=$?
    set -e
    row qemu-tcg "$st" $(( $(now_ms) - t0 ))
else
    echo "(qemu-system-x86_64 not installed: no comparison row)"
fi
