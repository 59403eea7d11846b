/* anyhv-run command line: options shared by the launcher and both flavour binaries. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

#define DEFAULT_MEM_MIB 64u
#define MIB (1024ull * 1024ull)
#define MAX_MEM_MIB 4096u
#define MAX_PORT 65535u
#define MAX_SMP 8u
#define LINUX_MEM_MIB 512u
#define MAX_HASH_PARTS 1048576u

void run_usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [options] IMAGE\n"
            "       %s [options] --kernel Image [--initrd FILE] [--append ARGS] [--smp N]\n"
            "\n"
            "Runs a guest program on anyhv: KVM where the host virtualizes in hardware, anyhv's\n"
            "software CPU otherwise. IMAGE is an ELF executable (x86-64 or AArch64 ELF64, i386\n"
            "ELF32; segments load at their physical addresses) or a flat binary (give --arch;\n"
            "it loads at --load and starts there).\n"
            "\n"
            "options:\n"
            "  --arch x86_64|i386|arm64  guest architecture (default: from the ELF header)\n"
            "  --backend auto|kvm|soft  route to run on (default auto, or $ANYHV_BACKEND)\n"
            "  --mem MiB              guest RAM in MiB (default %u, at most %u)\n"
            "  --load ADDR            flat binaries: guest-physical load address\n"
            "                         (default 0x100000 on x86_64/i386, 0x40080000 on arm64)\n"
            "  --max-exits N          stop with an error after N exits (0: no limit)\n"
            "  --max-insns N          stop with an error after N guest instructions, exactly and\n"
            "                         the same way every run (software route; 0: no limit)\n"
            "  --deterministic        deterministic mode: guest time from retired instructions,\n"
            "                         the same run every time (software route; docs/determinism.md)\n"
            "  --record FILE          log every console input answer the guest got, with its\n"
            "                         instruction count, to FILE (implies --deterministic)\n"
            "  --replay FILE          answer console input from a --record log, so the run\n"
            "                         repeats the recorded one exactly (implies --deterministic)\n"
            "  --snapshot-at N FILE   save the VM (vCPU, memory, devices) to FILE after exactly\n"
            "                         N guest instructions, then go on (software route)\n"
            "  --restore FILE         start from a snapshot of the same image and machine\n"
            "  --gdb PORT             serve the GDB remote protocol on 127.0.0.1:PORT (docs/gdb.md);\n"
            "                         gdb may attach while the guest runs\n"
            "  --gdb-wait             with --gdb: wait for gdb before the first instruction\n"
            "  --kernel FILE          boot Linux (default --mem 512): an arm64 Image on the arm64\n"
            "                         board (GICv3, PSCI, PL011 with its interrupt, device tree\n"
            "                         in x0); a bzImage, x86 ELF vmlinux (PVH) or Multiboot image\n"
            "                         on the x86 PC machine (ACPI, local APICs/IOAPIC/8259s, PIT,\n"
            "                         CMOS RTC, 8250 on IRQ 4, fw_cfg)\n"
            "  --initrd FILE          initramfs for --kernel\n"
            "  --append ARGS          kernel command line (arm64 default \"console=ttyAMA0\")\n"
            "  --smp N                vCPUs of either board, 1..%u (default 1; x86: INIT/SIPI)\n"
            "  --dtb auto             arm64 images: the board's devices and its device tree,\n"
            "                         whose address the guest finds in x0\n"
            "  --trace                print every exit to stderr\n"
            "  --hash-memory PARTS    at every exit, print a hash of the next 1/PARTS of guest RAM\n"
            "                         in turn (1: all of it), and one of all RAM at the end\n"
            "                         (\"[hash]\" lines on stderr; compare deterministic runs)\n"
            "  --stats                a summary on stderr at the end (backend, instructions,\n"
            "                         exits by kind, wall time); without it stderr carries only errors\n"
            "  --quiet                no summary even with --stats\n"

            "  --cpuid model|host     x86: the guest's CPUID is anyhv's model of the software CPU\n"
            "                         (default), or the host's passed through as a VMM would,\n"
            "                         masked by that model (docs/anyhv-run.md \"CPUID\")\n"
            "  --debug-exit           PC machine: OUT to port 0xf4 ends the run with status\n"
            "                         (value << 1) | 1 (QEMU's isa-debug-exit convention)\n"
            "  --help                 this text\n"
            "\n"
            "The machine (see docs/anyhv-run.md):\n"
            "  x86_64  RAM at 0; the guest starts in 64-bit mode at CPL0 (identity-mapped first\n"
            "          1 GiB, RSP at the top of RAM); 8250 UART at port 0x3f8 (stdout/stdin);\n"
            "          debug exit: OUT to port 0xf4 ends the run with the value written as exit\n"
            "          code; a CPU exception ends the run with a report (status 70).\n"
            "  i386    as x86_64, but the guest starts in 32-bit protected mode at CPL0 with\n"
            "          flat 4 GiB segments and paging off (ESP at the top of RAM, below 4 GiB).\n"
            "  arm64   RAM at 0x40000000; the guest starts at EL1h (PSTATE 0x3c5, MMU off, SP at\n"
            "          the top of RAM); PL011 UART at 0x09000000; debug exit: 32-bit store to\n"
            "          0x09010000 ends the run with that exit code (PSCI SYSTEM_OFF via HVC\n"
            "          ends it with 0); an exception taken to an unmapped vector ends the run\n"
            "          with a report (status 70).\n"
            "\n"
            "With --stats anyhv-run prints to stderr at the end: backend, guest instructions retired\n"
            "(software route), exits by kind and wall time. Exit status: the guest's code, or 64 usage,\n"
            "65 bad image, 66 missing image, 69 backend unavailable, 70 guest fault,\n"
            "71 out of memory.\n",
            prog, prog, DEFAULT_MEM_MIB, MAX_MEM_MIB, MAX_SMP);
}

const char *run_arch_name(enum run_arch a)
{
    switch (a) {
    case RUN_ARCH_X86_64: return "x86_64";
    case RUN_ARCH_ARM64: return "arm64";
    case RUN_ARCH_I386: return "i386";
    case RUN_ARCH_UNKNOWN: break;
    }
    return "unknown";
}

enum run_arch run_arch_flavour(enum run_arch a)
{
    return a == RUN_ARCH_I386 ? RUN_ARCH_X86_64 : a;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-')
        return false;
    *out = v;
    return true;
}

/* --arch names: the ELF-style and the everyday spellings. */
static enum run_arch parse_arch(const char *v)
{
    static const struct { const char *name; enum run_arch arch; } names[] = {
        { "x86_64", RUN_ARCH_X86_64 }, { "x86-64", RUN_ARCH_X86_64 }, { "arm64", RUN_ARCH_ARM64 },
        { "aarch64", RUN_ARCH_ARM64 }, { "i386", RUN_ARCH_I386 },     { "i686", RUN_ARCH_I386 },
        { "x86", RUN_ARCH_I386 },
    };
    for (unsigned k = 0; k < sizeof(names) / sizeof(names[0]); k++)
        if (!strcmp(v, names[k].name))
            return names[k].arch;
    fprintf(stderr, "anyhv-run: unknown architecture '%s' (x86_64, i386 or arm64)\n", v);
    return RUN_ARCH_UNKNOWN;
}

/* --kernel boots Linux on the board of the kernel's architecture: an arm64 Image (magic
 * "ARM\x64" at offset 0x38) on the arm64 board, anything else (bzImage, x86 ELF vmlinux,
 * Multiboot) on the Intel PC machine. */
#define ARM64_IMAGE_MAGIC_OFFSET 0x38
static enum run_arch kernel_arch(const char *path)
{
    unsigned char magic[4] = { 0 };
    FILE *f = fopen(path, "rb");
    if (f) {
        if (fseek(f, ARM64_IMAGE_MAGIC_OFFSET, SEEK_SET) != 0 || fread(magic, 1, 4, f) != 4)
            magic[0] = 0;
        fclose(f);
    }
    return memcmp(magic, "ARM\x64", 4) == 0 ? RUN_ARCH_ARM64 : RUN_ARCH_X86_64;
}

static const char *option_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "anyhv-run: %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int run_parse_options(int argc, char **argv, struct run_options *o, bool *done)
{
    memset(o, 0, sizeof(*o));
    o->mem_bytes = DEFAULT_MEM_MIB * MIB;
    o->backend = getenv("ANYHV_BACKEND") ? getenv("ANYHV_BACKEND") : "auto";
    *done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        uint64_t n;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            run_usage(stdout, "anyhv-run");
            *done = true;
            return RUN_OK;
        } else if (!strcmp(a, "--trace")) {
            o->trace = true;
        } else if (!strcmp(a, "--deterministic")) {
            o->deterministic = true;
        } else if (!strcmp(a, "--record") || !strcmp(a, "--replay")) {
            if (!(v = option_value(argc, argv, &i)))
                return RUN_USAGE;
            *(!strcmp(a, "--record") ? &o->record_file : &o->replay_file) = v;
            o->deterministic = true;
        } else if (!strcmp(a, "--snapshot-at")) {
            if (!(v = option_value(argc, argv, &i)) || !parse_u64(v, &o->snapshot_at) || !(v = option_value(argc, argv, &i))) {
                fprintf(stderr, "anyhv-run: --snapshot-at wants an instruction count and a file\n");
                return RUN_USAGE;
            }
            o->snapshot_file = v;
        } else if (!strcmp(a, "--restore")) {
            if (!(v = option_value(argc, argv, &i)))
                return RUN_USAGE;
            o->restore_file = v;
        } else if (!strcmp(a, "--gdb-wait")) {
            o->gdb_wait = true;
        } else if (!strcmp(a, "--gdb")) {
            if (!(v = option_value(argc, argv, &i)))
                return RUN_USAGE;
            if (!parse_u64(v, &n) || n == 0 || n > MAX_PORT) {
                fprintf(stderr, "anyhv-run: --gdb wants a TCP port 1..%u, not '%s'\n", MAX_PORT, v);
                return RUN_USAGE;
            }
            o->gdb_port = (unsigned)n;
        } else if (!strcmp(a, "--quiet")) {
            o->quiet = true;
        } else if (!strcmp(a, "--stats")) {
            o->stats = true;
        } else if (!strcmp(a, "--cpuid")) {
            if (!(v = option_value(argc, argv, &i)))
                return RUN_USAGE;
            if (strcmp(v, "model") && strcmp(v, "host")) {
                fprintf(stderr, "anyhv-run: --cpuid takes 'model' or 'host', not '%s'\n", v);
                return RUN_USAGE;
            }
            o->cpuid_host = !strcmp(v, "host");
#if !defined(__x86_64__)
            if (o->cpuid_host) {
                fprintf(stderr, "anyhv-run: --cpuid host needs an x86-64 host to read CPUID from\n");
                return RUN_USAGE;
            }
#endif
        } else if (!strcmp(a, "--hash-memory")) {
            if (!(v = option_value(argc, argv, &i)))
                return RUN_USAGE;
            if (!parse_u64(v, &n) || n == 0 || n > MAX_HASH_PARTS) {
                fprintf(stderr, "anyhv-run: --hash-memory wants 1..%u parts, not '%s'\n", MAX_HASH_PARTS, v);
                return RUN_USAGE;
            }
            o->hash_parts = (uint32_t)n;
        } else if (!strcmp(a, "--debug-exit")) {
            o->debug_exit = true;
        } else if (!strcmp(a, "--arch")) {
            if (!(v = option_value(argc, argv, &i)) || (o->arch = parse_arch(v)) == RUN_ARCH_UNKNOWN)
                return RUN_USAGE;
        } else if (!strcmp(a, "--backend")) {
            if (!(v = option_value(argc, argv, &i)))
                return RUN_USAGE;
            o->backend = v;
        } else if (!strcmp(a, "--mem")) {
            if (!(v = option_value(argc, argv, &i)))
                return RUN_USAGE;
            if (!parse_u64(v, &n) || n == 0 || n > MAX_MEM_MIB) {
                fprintf(stderr, "anyhv-run: --mem wants 1..%u MiB, not '%s'\n", MAX_MEM_MIB, v);
                return RUN_USAGE;
            }
            o->mem_bytes = n * MIB;
            o->mem_set = true;
        } else if (!strcmp(a, "--load")) {
            if (!(v = option_value(argc, argv, &i)))
                return RUN_USAGE;
            if (!parse_u64(v, &o->load_addr)) {
                fprintf(stderr, "anyhv-run: bad --load address '%s'\n", v);
                return RUN_USAGE;
            }
            o->load_addr_set = true;
        } else if (!strcmp(a, "--max-insns")) {
            if (!(v = option_value(argc, argv, &i)))
                return RUN_USAGE;
            if (!parse_u64(v, &o->max_insns)) {
                fprintf(stderr, "anyhv-run: bad --max-insns '%s'\n", v);
                return RUN_USAGE;
            }
        } else if (!strcmp(a, "--max-exits")) {
            if (!(v = option_value(argc, argv, &i)))
                return RUN_USAGE;
            if (!parse_u64(v, &o->max_exits)) {
                fprintf(stderr, "anyhv-run: bad --max-exits '%s'\n", v);
                return RUN_USAGE;
            }
        } else if (!strcmp(a, "--kernel")) {
            if (!(v = option_value(argc, argv, &i)))
                return RUN_USAGE;
            if (o->image) {
                fprintf(stderr, "anyhv-run: one image only ('%s' and '%s')\n", o->image, v);
                return RUN_USAGE;
            }
            o->image = o->kernel = v;
            o->linux_kernel = true;
            o->arch = kernel_arch(v);
        } else if (!strcmp(a, "--initrd") || !strcmp(a, "--append")) {
            if (!(v = option_value(argc, argv, &i)))
                return RUN_USAGE;
            *(a[2] == 'i' ? &o->initrd : &o->append) = v;
        } else if (!strcmp(a, "--smp")) {
            if (!(v = option_value(argc, argv, &i)))
                return RUN_USAGE;
            if (!parse_u64(v, &n) || n == 0 || n > MAX_SMP) {
                fprintf(stderr, "anyhv-run: --smp wants 1..%u vCPUs, not '%s'\n", MAX_SMP, v);
                return RUN_USAGE;
            }
            o->smp = (unsigned)n;
        } else if (!strcmp(a, "--dtb")) {
            if (!(v = option_value(argc, argv, &i)))
                return RUN_USAGE;
            if (strcmp(v, "auto") != 0) {
                fprintf(stderr, "anyhv-run: --dtb takes 'auto' (the board's own device tree)\n");
                return RUN_USAGE;
            }
            o->dtb_auto = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "anyhv-run: unknown option '%s' (try --help)\n", a);
            return RUN_USAGE;
        } else if (o->image) {
            fprintf(stderr, "anyhv-run: one image only ('%s' and '%s')\n", o->image, a);
            return RUN_USAGE;
        } else {
            o->image = a;
        }
    }
    if (strcmp(o->backend, "auto") && strcmp(o->backend, "kvm") && strcmp(o->backend, "soft")) {
        fprintf(stderr, "anyhv-run: unknown backend '%s' (auto, kvm or soft)\n", o->backend);
        return RUN_USAGE;
    }
    if (o->record_file && o->replay_file) {
        fprintf(stderr, "anyhv-run: --record and --replay exclude each other\n");
        return RUN_USAGE;
    }
    if (o->snapshot_file && o->gdb_port) {
        fprintf(stderr, "anyhv-run: --snapshot-at is not available under --gdb (gdb's own stops decide)\n");
        return RUN_USAGE;
    }
    if ((o->snapshot_file || o->restore_file) && o->smp > 1 && !o->deterministic) {
        /* The others' threads must wait for their turn while the boot vCPU saves, and
         * a restored run must take the same turns. */
        fprintf(stderr, "anyhv-run: --snapshot-at and --restore with --smp above 1 need --deterministic\n");
        return RUN_USAGE;
    }
    if (o->gdb_wait && !o->gdb_port) {
        fprintf(stderr, "anyhv-run: --gdb-wait needs --gdb PORT\n");
        return RUN_USAGE;
    }
    if (!o->image) {
        fprintf(stderr, "anyhv-run: no image given (try --help)\n");
        return RUN_USAGE;
    }
    if ((o->initrd || o->append) && !o->linux_kernel) {
        fprintf(stderr, "anyhv-run: --initrd and --append go with --kernel\n");
        return RUN_USAGE;
    }
    if (o->linux_kernel && !o->mem_set)
        o->mem_bytes = LINUX_MEM_MIB * MIB;
    if (!o->smp)
        o->smp = 1;
    return RUN_OK;
}
