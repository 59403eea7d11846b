#!/usr/bin/env python3
"""Build a tiny initramfs (cpio "newc", uncompressed) around a static busybox.

    mkinitramfs-busybox.py BUSYBOX INIT_SCRIPT OUTPUT

The archive holds /bin/busybox, /init (the given script, run by busybox sh) and the
empty directories /proc, /sys, /dev and /tmp, plus /dev/console so the kernel can open
the console before devtmpfs is mounted. Written here because Debian's base system has no
cpio; the format is the kernel's (Documentation/driver-api/early-userspace/buffer-format.rst).
"""
import os
import stat
import sys

ino = [1]


def entry(out, name, mode, data=b"", rdev=(0, 0), nlink=1):
    hdr = "070701" + "".join("%08x" % v for v in (
        ino[0], mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0))
    ino[0] += 1
    out.write(hdr.encode() + name.encode() + b"\0")
    out.write(b"\0" * ((4 - (110 + len(name) + 1) % 4) % 4))
    out.write(data)
    out.write(b"\0" * ((4 - len(data) % 4) % 4))


def main():
    busybox, init, output = sys.argv[1:4]
    with open(busybox, "rb") as f:
        bb = f.read()
    with open(init, "rb") as f:
        script = f.read()
    with open(output, "wb") as out:
        for d in ("bin", "proc", "sys", "dev", "tmp"):
            entry(out, d, stat.S_IFDIR | 0o755, nlink=2)
        entry(out, "dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
        entry(out, "bin/busybox", stat.S_IFREG | 0o755, bb)
        entry(out, "init", stat.S_IFREG | 0o755, script)
        entry(out, "TRAILER!!!", 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
