#!/bin/sh
# The bench's boot row: Debian 12's arm64 kernel with a busybox initramfs (the boot
# test's, tests/linux/) from start to the init marker and to power-off, on anyhv's
# software route (anyhv-run) and, when it is installed (a bench-only dependency:
# apt-get install qemu-system-arm), on qemu-system-aarch64 -M virt -cpu cortex-a57 (TCG).
#   bench/boot.sh BUILD_DIR [--markdown]
build=${1:-build}
md=$2
root=$(dirname "$0")/..
cache=$("$root/scripts/fetch-linux-arm64") || { echo "boot: cannot fetch Debian's arm64 kernel; row skipped"; exit 0; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/init.sh" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "ANYHV-INIT-OK"
/bin/busybox poweroff -f
INIT
python3 "$root/scripts/mkinitramfs-busybox.py" "$cache/busybox" "$work/init.sh" "$work/initrd" || exit 1
append="console=ttyAMA0 panic=-1"

now() { date +%s.%N; }

# Runs "$@" with output to a file; prints "seconds-to-marker seconds-to-exit status
# cpu-seconds" (user + system time of the run, from the shell's `times`).
measure() {
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
    cpu=$(awk 'NR == 2 { n = split($0, f, /[ms ]+/); print f[1] * 60 + f[2] + f[3] * 60 + f[4] }' "$work/times")
    [ -z "$marker" ] && grep -q "ANYHV-INIT-OK" "$work/out" && marker=$end
    awk -v m="${marker:-$end}" -v e="$end" -v s="$start" -v st="$status" -v c="$cpu" 'BEGIN { print m - s, e - s, st, c }'
}

row() {
    set -- $2
    if [ -n "$md" ]; then
        printf '| boot | arm64 | %s | %.1f | %.1f | %.1f | %s |\n' "$engine" "$1" "$2" "$4" "$note"
    else
        printf '%-10s %-7s %-24s %10.1f %12.1f %8.1f  %s\n' boot arm64 "$engine" "$1" "$2" "$4" "$note"
    fi
}

if [ -n "$md" ]; then
    echo "| workload | arch | engine | s to init | s to power-off | CPU s | note |"
    echo "|---|---|---|---|---|---|---|"
else
    printf '%-10s %-7s %-24s %10s %12s %8s  %s\n' workload arch engine "s to init" "s to poweroff" "CPU s" note
fi
engine="anyhv soft (interp)"
r=$(measure "$build/bin/anyhv-run" --quiet --backend soft --kernel "$cache/Image" --initrd "$work/initrd" --append "$append")
set -- $r
note="$(cat "$cache/VERSION")"; [ "$3" = 0 ] || note="FAILED (status $3)"
row "$engine" "$r"
if command -v qemu-system-aarch64 >/dev/null; then
    engine="qemu-system-aarch64 TCG"
    r=$(measure qemu-system-aarch64 -M virt -cpu cortex-a57 -m 512 -nographic -no-reboot \
        -kernel "$cache/Image" -initrd "$work/initrd" -append "$append")
    note="$(qemu-system-aarch64 --version | head -n 1 | sed 's/QEMU emulator version //')"
    grep -q "ANYHV-INIT-OK" "$work/out" || note="FAILED"
    row "$engine" "$r"
else
    echo "boot: qemu-system-aarch64 not installed (apt-get install qemu-system-arm): no QEMU row"
fi
