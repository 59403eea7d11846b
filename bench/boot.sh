#!/bin/sh
# The bench's boot rows: Debian 12's own kernel with a busybox initramfs whose /init
# prints a marker and powers off, from the start of the process to the marker and to
# its exit, and the CPU time the run used (user + system). anyhv-run on the software
# route with the interpreter alone (ANYHV_JIT=off) and with the default tiers, beside
# QEMU's TCG on the same kernel, initramfs, command line, memory and CPU count when QEMU
# is installed (a bench-only dependency): qemu-system-aarch64 -M virt -cpu cortex-a57
# (apt-get install qemu-system-arm) and qemu-system-x86_64 (qemu-system-x86).
#   bench/boot.sh BUILD_DIR [--markdown] [arm64|x86_64|all]     (default arm64)
build=${1:-build}
md=""
arches=arm64
for a in "$2" "$3"; do
    case "$a" in
    --markdown) md=1 ;;
    arm64|x86_64) arches=$a ;;
    all) arches="arm64 x86_64" ;;
    esac
done
root=$(dirname "$0")/..
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/init.sh" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "ANYHV-INIT-OK"
/bin/busybox poweroff -f
INIT

now() { date +%s.%N; }

# Runs "$@" with output to a file; prints "seconds-to-marker seconds-to-exit status
# cpu-seconds" (user + system time of the run, from the shell's `times`).
measure() {
    times >"$work/times0"
    : >"$work/out"   # before the start: the poll below must not see the last run's marker
    start=$(now)
    "$@" </dev/null >"$work/out" 2>&1 &
    pid=$!
    marker=""
    while kill -0 "$pid" 2>/dev/null; do
        if [ -z "$marker" ] && grep -q "ANYHV-INIT-OK" "$work/out"; then marker=$(now); fi
        sleep 0.05
    done
    wait "$pid"
    status=$?
    end=$(now)
    times >"$work/times"   # second line: the children's user and system time, "1m2.5s 0m0.3s"
    cpu() { awk 'NR == 2 { n = split($0, f, /[ms ]+/); print f[1] * 60 + f[2] + f[3] * 60 + f[4] }' "$1"; }
    c=$(awk -v a="$(cpu "$work/times")" -v b="$(cpu "$work/times0")" 'BEGIN { print a - b }')
    [ -z "$marker" ] && grep -q "ANYHV-INIT-OK" "$work/out" && marker=$end
    if ! grep -q "ANYHV-INIT-OK" "$work/out"; then
        status="no marker, $status"
        { echo "boot: $1 printed no marker; its last lines:"; tail -n 5 "$work/out"; } >&2
    fi
    awk -v m="${marker:-$end}" -v e="$end" -v s="$start" -v c="$c" 'BEGIN { print m - s, e - s, c }'
    echo "$status" >"$work/status"
}

row() {   # arch engine "marker exit cpu" note
    set -- "$1" "$2" $3 "$4"
    if [ -n "$md" ]; then
        printf '| boot | %s | %s | %.1f | %.1f | %.1f | %s |\n' "$1" "$2" "$3" "$4" "$5" "$6"
    else
        printf '%-10s %-7s %-26s %10.1f %12.1f %8.1f  %s\n' boot "$1" "$2" "$3" "$4" "$5" "$6"
    fi
}

anyhv_rows() {   # arch kernel initrd append
    for tier in off default; do
        if [ "$tier" = off ]; then engine="anyhv soft (interp)"; else engine="anyhv soft (default tiers)"; fi
        r=$(if [ "$tier" = off ]; then ANYHV_JIT=off measure "$build/bin/anyhv-run" --quiet --backend soft \
                --mem "$MEM" --kernel "$2" --initrd "$3" --append "$4";
            else measure "$build/bin/anyhv-run" --quiet --backend soft --mem "$MEM" --kernel "$2" \
                --initrd "$3" --append "$4"; fi)
        st=$(cat "$work/status")
        note="$kver"; [ "$st" = 0 ] || note="FAILED (status $st)"
        row "$1" "$engine" "$r" "$note"
    done
}

qemu_row() {   # arch qemu-binary package "qemu args..."
    arch=$1 bin=$2 pkg=$3
    shift 3
    if ! command -v "$bin" >/dev/null; then
        echo "boot: $bin not installed (apt-get install $pkg): no QEMU row for $arch"
        return
    fi
    r=$(measure "$bin" -m "$MEM" -nographic -no-reboot "$@")
    note="$("$bin" --version | head -n 1 | sed 's/QEMU emulator version //')"
    st=$(cat "$work/status")
    [ "$st" = 0 ] || note="FAILED (status $st)"
    row "$arch" "$bin TCG" "$r" "$note"
}

if [ -n "$md" ]; then
    echo "| workload | arch | engine | s to init | s to power-off | CPU s | note |"
    echo "|---|---|---|---|---|---|---|"
else
    printf '%-10s %-7s %-26s %10s %12s %8s  %s\n' workload arch engine "s to init" "s to poweroff" "CPU s" note
fi
for arch in $arches; do
    cache=$("$root/scripts/fetch-linux-$arch") || { echo "boot: cannot fetch Debian's $arch kernel; row skipped"; continue; }
    python3 "$root/scripts/mkinitramfs-busybox.py" "$cache/busybox" "$work/init.sh" "$work/initrd-$arch" || exit 1
    if [ "$arch" = arm64 ]; then
        kver=$(cat "$cache/VERSION")
        MEM=512
        append="console=ttyAMA0 panic=-1"
        anyhv_rows arm64 "$cache/Image" "$work/initrd-$arch" "$append"
        qemu_row arm64 qemu-system-aarch64 qemu-system-arm -M virt -cpu cortex-a57 \
            -kernel "$cache/Image" -initrd "$work/initrd-$arch" -append "$append"
    else
        kver=$(cat "$cache/VERSION" 2>/dev/null || echo "Debian 12 amd64")
        MEM=256
        append="console=ttyS0 panic=-1"
        anyhv_rows x86_64 "$cache/vmlinux" "$work/initrd-$arch" "$append"
        qemu_row x86_64 qemu-system-x86_64 qemu-system-x86 -accel tcg \
            -kernel "$cache/vmlinux" -initrd "$work/initrd-$arch" -append "$append"
    fi
done
