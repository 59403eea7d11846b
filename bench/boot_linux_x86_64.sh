#!/bin/sh
# The x86 `boot` rows (make bench-boot): Debian 12's amd64 kernel (PVH entry of its
# vmlinux) on anyhv-run's software route beside qemu-system-x86_64 (TCG); see boot.sh.
#   bench/boot_linux_x86_64.sh [BUILD] [--markdown]
exec "$(dirname "$0")/boot.sh" "${1:-build}" ${2:+"$2"} x86_64
