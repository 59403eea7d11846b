#!/bin/busybox sh
# /init of the boot test's initramfs: busybox applets, /proc and /sys, a marker,
# then an interactive shell on the console that reads the test's commands from the
# PL011 (interrupt-driven input).
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "ANYHV-INIT-OK"
exec sh
