#!/bin/sh
# The Linux boot test of the Intel PC machine: Debian 12's own amd64 kernel (fetched with
# apt-get download by scripts/fetch-linux-x86_64 into ~/.cache/anyhv, never into the tree)
# with an initramfs built here from Debian's busybox-static, booted through the PVH entry of
# the vmlinux inside Debian's bzImage (the kernel's own xz decompressor takes minutes on the
# interpreter tier; the bzImage entry itself is the same machine). /init prints a line the test
# checks (with the CPU count the kernel brought up) and powers off through ACPI S5; no
# timer-check escape on the command line.
#   boot_linux_x86_64.sh ANYHV_RUN SRC_DIR SMP
# Exit 77 (skip) when the kernel cannot be fetched here.
set -u
RUN=$1
SRC=$2
SMP=${3:-1}
if [ -z "${ANYHV_BOOT_TESTS:-}" ]; then
    echo "skip: minutes on the interpreter tier; run by make soak (ANYHV_BOOT_TESTS=1)"
    exit 77
fi
CACHE=$("$SRC/scripts/fetch-linux-x86_64" 2>/dev/null) || { echo "skip: cannot fetch Debian's kernel (apt-get download)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "ANYHV-BOOT-OK nproc=$(nproc)"
poweroff -f
INIT
"$SRC/scripts/mkinitramfs-busybox" "$CACHE/busybox" "$work/init" "$work/initrd.gz" || exit 1
"$RUN" --backend soft --mem 256 --smp "$SMP" --kernel "$CACHE/vmlinux" --initrd "$work/initrd.gz" \
    --append "console=ttyS0 panic=-1" < /dev/null > "$work/out" 2> "$work/err"
rc=$?
if [ "$rc" -ne 0 ] || ! grep -q "ANYHV-BOOT-OK nproc=$SMP" "$work/out"; then
    echo "boot failed: status $rc"
    tail -n 40 "$work/out"
    tail -n 20 "$work/err"
    exit 1
fi
grep "ANYHV-BOOT-OK" "$work/out"
