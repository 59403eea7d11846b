#!/bin/busybox sh
# /init of the boot test's initramfs: busybox applets, /proc and /sys, a marker,
# then an interactive shell on the console that reads the test's commands from the
# PL011 (interrupt-driven input). With anyhv_auto=1 on the kernel command line (the
# kernel hands it to init in the environment) the shell runs the same commands from
# here instead, so a run needs no console input at all (tests/linux/det.sh).
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "ANYHV-INIT-OK"
if [ "$anyhv_auto" = 1 ]; then
    exec sh -c 'echo answer=$((6*7)); echo nproc=$(nproc); uname -m; poweroff -f'
fi
exec sh
