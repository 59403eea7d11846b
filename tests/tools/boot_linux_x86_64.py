#!/usr/bin/env python3
"""The Linux boot test of anyhv-run's Intel PC machine.

Debian 12's own amd64 kernel (fetched with apt-get download by scripts/fetch-linux-x86_64
into ~/.cache/anyhv, never into the tree; booted through the PVH entry of the vmlinux in
Debian's bzImage, so the interpreter tier skips the kernel's own decompressor) with an
initramfs built here from Debian's busybox-static. /init starts a shell on the console;
the test waits for its banner, types a command through the 8250 (stdin -> IRQ 4), checks
the answer (the CPU count the kernel brought up), and types `poweroff -f`, which ends the
run through ACPI S5 with status 0. No timer-check escape on the command line.

    boot_linux_x86_64.py ANYHV_RUN SRC_DIR SMP [vmlinux|bzimage] [cpuid-host] [avx512]

The fourth argument picks the entry: the PVH entry of the vmlinux (default), or the bzImage
itself through the 64-bit boot protocol (its own decompressor runs first: slower).

cpuid-host: the guest's CPUID is the host's passed through as a VMM passes a Mac's
(anyhv-run --cpuid host: the host's identity and features masked by anyhv's model) on the
interpreter tier (ANYHV_JIT=off); the shell then reports the kernel's CPU flags and
XSAVE features, and the test checks that every x86-64-v3 feature the host has reached the
guest kernel (XSAVE, AVX, AVX2, FMA, BMI1/2, MOVBE, F16C, LZCNT) and that the kernel
enabled the AVX state. Skips on a host that is not an Intel x86-64 (a Hypervisor.framework
VMM passes through an Intel CPU's CPUID; the Intel API presents an Intel processor).

avx512 (with cpuid-host): the soft CPU's AVX-512 is switched on (ANYHV_X86_AVX512=1), so
a host with AVX-512 F/BW/DQ/VL passes it through: the kernel must enable the opmask and
ZMM states (its XSAVE context switches carry them, its blake2s uses EVEX code) and
busybox's static glibc picks its EVEX string functions. Skips on a host without them.

ANYHV_BOOT_LOG=FILE keeps the guest's console output there.

Skips (77) unless ANYHV_BOOT_TESTS is set (minutes on the interpreter tier: `make soak`),
or when the kernel cannot be fetched here.
"""
import os
import platform
import subprocess
import sys
import tempfile
import time

SKIP = 77
TIMEOUT_S = 3600
INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
echo ANYHV-SHELL-READY
exec sh
"""


def wait_for(proc, out, needle, deadline):
    """Read the guest's output until `needle` appears; False at EOF or timeout."""
    while needle not in out[0]:
        if time.time() > deadline:
            return False
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            return False
        out[0] += chunk.decode(errors="replace")
    return True


# Linux /proc/cpuinfo names of the x86-64-v3 features a host passes through.
V3_FLAGS = ["xsave", "avx", "avx2", "fma", "bmi1", "bmi2", "movbe", "f16c", "abm"]


def host_flags():
    """The host's /proc/cpuinfo flags and whether it is an Intel CPU."""
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return set(), False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    return flags, "GenuineIntel" in text


AVX512_FLAGS = ["avx512f", "avx512dq", "avx512bw", "avx512vl"]
AVX512_XSTATES = ["0x020: 'AVX-512 opmask'", "0x040: 'AVX-512 Hi256'", "0x080: 'AVX-512 ZMM_Hi256'"]


def check_host_cpuid(out, avx512):
    """The guest kernel's flags line and xstate report against the host's flags."""
    host, _ = host_flags()
    guest = set()
    for line in out.splitlines():
        if line.startswith("ANYHV-FLAGS"):
            guest = set(line.split()[1:])
    missing = [f for f in V3_FLAGS if f in host and f not in guest]
    if missing:
        return "guest kernel lacks host features " + " ".join(missing)
    if "xsave" in host and "avx" in host and "x86/fpu: Supporting XSAVE feature 0x004" not in out:
        return "the kernel did not enable the AVX state"
    if avx512:
        missing = [f for f in AVX512_FLAGS if f not in guest]
        if missing:
            return "guest kernel lacks " + " ".join(missing)
        missing = [x for x in AVX512_XSTATES if "Supporting XSAVE feature " + x not in out]
        if missing:
            return "the kernel did not enable the AVX-512 states: " + ", ".join(missing)
    return None


def main():
    run, src, smp = sys.argv[1], sys.argv[2], sys.argv[3]
    kernel = "vmlinuz" if len(sys.argv) > 4 and sys.argv[4] == "bzimage" else "vmlinux"
    cpuid_host = "cpuid-host" in sys.argv[4:]
    avx512 = "avx512" in sys.argv[4:]
    if cpuid_host and (platform.machine() != "x86_64" or not host_flags()[1]):
        print("skip: --cpuid host models a VMM passing through an Intel host's CPUID; this host is not one")
        return SKIP
    if avx512 and not all(f in host_flags()[0] for f in AVX512_FLAGS):
        print("skip: the host has no AVX-512 F/DQ/BW/VL to pass through")
        return SKIP
    if not os.environ.get("ANYHV_BOOT_TESTS"):
        print("skip: minutes on the interpreter tier; run by make soak (ANYHV_BOOT_TESTS=1)")
        return SKIP
    fetch = subprocess.run([os.path.join(src, "scripts", "fetch-linux-x86_64")], capture_output=True, text=True)
    if fetch.returncode != 0:
        print("skip: cannot fetch Debian's kernel (apt-get download): " + fetch.stderr.strip())
        return SKIP
    cache = fetch.stdout.strip()
    with tempfile.TemporaryDirectory() as work:
        init = os.path.join(work, "init")
        with open(init, "w") as f:
            f.write(INIT)
        initrd = os.path.join(work, "initrd.gz")
        subprocess.run([os.path.join(src, "scripts", "mkinitramfs-busybox"), os.path.join(cache, "busybox"), init,
                        initrd], check=True)
        cmd = [run, "--backend", "soft", "--mem", "256", "--smp", smp, "--kernel", os.path.join(cache, kernel),
               "--initrd", initrd, "--append", "console=ttyS0 panic=-1"]
        env = dict(os.environ)
        if cpuid_host:
            cmd[1:1] = ["--cpuid", "host"]
            env["ANYHV_JIT"] = "off"
        if avx512:
            env["ANYHV_X86_AVX512"] = "1"
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        out = [""]
        deadline = time.time() + TIMEOUT_S
        ok = wait_for(proc, out, "ANYHV-SHELL-READY", deadline)
        if ok:
            proc.stdin.write(b"echo ANYHV-RESULT nproc=$(nproc)\n")
            proc.stdin.flush()
            ok = wait_for(proc, out, "ANYHV-RESULT nproc=" + smp, deadline)
        if ok and cpuid_host:
            proc.stdin.write(b"echo ANYHV-FLAGS $(grep -m1 ^flags /proc/cpuinfo | cut -d: -f2); echo ANYHV-DONE\n")
            proc.stdin.flush()
            ok = wait_for(proc, out, "\nANYHV-DONE", deadline)
        if ok:
            proc.stdin.write(b"poweroff -f\n")
            proc.stdin.flush()
        try:
            rest, err = proc.communicate(timeout=max(1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, err = proc.communicate()
        out[0] += rest.decode(errors="replace")
        if os.environ.get("ANYHV_BOOT_LOG"):
            with open(os.environ["ANYHV_BOOT_LOG"], "w") as f:
                f.write(out[0])
        why = check_host_cpuid(out[0], avx512) if ok and cpuid_host else None
        if not ok or proc.returncode != 0 or why:
            print("FAIL: status %s, shell answer %s%s" % (proc.returncode, "seen" if ok else "missing",
                                                          ", " + why if why else ""))
            print("\n".join(out[0].splitlines()[-40:]))
            print(err.decode(errors="replace")[-2000:])
            return 1
        print([l for l in out[0].splitlines() if "ANYHV-RESULT" in l and "echo" not in l][-1:])
        if cpuid_host:
            print("\n".join(l for l in out[0].splitlines() if "x86/fpu" in l or l.startswith("ANYHV-FLAGS")))
        return 0


if __name__ == "__main__":
    sys.exit(main())
