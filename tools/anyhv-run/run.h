/* anyhv-run: shared declarations of the small VMM built only on the public API
 * (Apple's hv_* calls plus anyhv_* extensions). One binary per flavour
 * (anyhv-run-x86_64, anyhv-run-arm64) plus the anyhv-run launcher that picks one. */
#ifndef ANYHV_TOOLS_RUN_H
#define ANYHV_TOOLS_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <anyhv/anyhv.h>

/* I386 is 32-bit x86 code, run by the Intel flavour in 32-bit protected mode. */
enum run_arch { RUN_ARCH_UNKNOWN = 0, RUN_ARCH_X86_64, RUN_ARCH_ARM64, RUN_ARCH_I386 };

/* Process exit statuses of anyhv-run itself (sysexits.h values); a guest that ends
 * through the debug-exit device gives its own code instead. */
enum run_status {
    RUN_OK = 0,
    RUN_USAGE = 64,        /* EX_USAGE: bad command line */
    RUN_BAD_IMAGE = 65,    /* EX_DATAERR: not a loadable image, wrong arch, too big */
    RUN_NO_INPUT = 66,     /* EX_NOINPUT: image file missing or unreadable */
    RUN_UNAVAILABLE = 69,  /* EX_UNAVAILABLE: backend or VM not available */
    RUN_GUEST_FAULT = 70,  /* EX_SOFTWARE: the guest faulted or did something unhandled */
    RUN_NO_MEMORY = 71,    /* EX_OSERR: guest RAM (or the image buffer) could not be allocated */
};

struct run_options {
    const char *image;
    enum run_arch arch;       /* from --arch, or detected from the image */
    const char *backend;      /* "auto", "kvm", "soft" */
    uint64_t mem_bytes;       /* guest RAM */
    uint64_t load_addr;       /* flat binaries: guest-physical load address */
    bool load_addr_set;
    uint64_t max_exits;       /* 0 = unlimited */
    uint64_t max_insns;       /* guest instructions before the run is stopped; 0 = unlimited (soft route) */
    uint64_t snapshot_at;     /* --snapshot-at N FILE: save the VM after N instructions */
    const char *snapshot_file;
    const char *restore_file; /* --restore FILE: start from a snapshot */
    bool deterministic;       /* --deterministic: anyhv_set_deterministic(true) */
    const char *record_file;  /* --record FILE: log console input (implies deterministic) */
    const char *replay_file;  /* --replay FILE: console input from that log (implies deterministic) */
    unsigned gdb_port;        /* --gdb PORT: serve gdb there; 0 = no stub */
    bool gdb_wait;            /* --gdb-wait: stop before the first instruction until gdb attaches */
    bool trace;               /* print every exit */
    bool quiet;               /* no summary */
    /* arm64 board (docs/anyhv-run.md "Booting Linux"): GIC, PSCI, PL011 interrupt, DT */
    bool linux_kernel;        /* --kernel: image is an arm64 Linux Image */
    const char *initrd;       /* --initrd FILE */
    const char *append;       /* --append ARGS: the kernel command line */
    unsigned smp;             /* --smp N vCPUs (default 1) */
    bool dtb_auto;            /* --dtb auto: board devices and the DT address in x0 */
    bool mem_set;             /* --mem was given */
    /* The Intel PC machine (docs/anyhv-run.md "The PC machine"): --kernel with a bzImage,
     * an x86 ELF vmlinux or a Multiboot image; initrd, append and smp above apply. */
    const char *kernel;       /* --kernel FILE, for either board */
    bool stats;               /* --stats: the summary on stderr */
    bool cpuid_host;          /* --cpuid host: the host's CPUID masked by the model (x86) */
    bool debug_exit;          /* --debug-exit: isa-debug-exit at port 0xf4, status (code << 1) | 1 */
    uint32_t hash_parts;      /* --hash-memory PARTS: a hash of 1/PARTS of RAM per exit (memhash.h); 0 = off */
};

/* Parse argv; returns RUN_OK, or a status to exit with (help printed = RUN_OK with *done). */
int run_parse_options(int argc, char **argv, struct run_options *o, bool *done);
void run_usage(FILE *f, const char *prog);
const char *run_arch_name(enum run_arch a);
/* The flavour binary that runs an architecture's guests (i386 -> x86_64). */
enum run_arch run_arch_flavour(enum run_arch a);

/* Images: an ELF64 (or, for i386, ELF32) executable (PT_LOAD segments at their
 * physical addresses) or a flat binary copied to load_addr; entry is the ELF entry or
 * load_addr. */
enum run_arch image_detect_arch(const char *path);
/* image_read.c: the file's bytes, at most `limit` (more is RUN_BAD_IMAGE unless
 * head_only, which keeps the first `limit`); NULL with *status and a message. Never
 * blocks for long on a FIFO or device. */
uint8_t *image_read(const char *path, size_t limit, bool head_only, size_t *len, int *status);
/* Not a regular file (FIFO, pipe, device): its bytes can be read only once. */
bool image_is_stream(const char *path);
int image_load(const struct run_options *o, enum run_arch want, uint8_t *ram, uint64_t ram_base, uint64_t ram_size,
               uint64_t reserved_below, uint64_t *entry);

/* Console: the guest's UART output goes to stdout, input comes from stdin. */
void console_init(void);
void console_putc(uint8_t c);
bool console_has_input(void);
int console_getc(void);   /* -1 when nothing is waiting */
/* Sleep up to ns, less when live console input arrives first (then true). */
bool console_wait_input(long ns);
/* Input may still come from stdin (not a replay, not the past, stdin not at its end). */
bool console_input_live(void);
void console_flush(void);
/* Input log (console.c): the instruction count each answer is given at, output muting
 * while the past is re-run, the cursor, and the --record/--replay file. */
void console_set_clock(uint64_t (*clock)(void *), void *ctx);
void console_mute(bool on);
size_t console_log_position(void);
void console_log_seek(size_t position);
bool console_replay_diverged(void);
bool console_log_save(const char *path);
int console_log_load(const char *path);   /* RUN_OK or a status */

/* Counting exits by kind for the summary. */
#define RUN_STATS_KINDS 24
struct run_stats {
    struct { const char *kind; uint64_t count; } by_kind[RUN_STATS_KINDS];
    uint64_t total;
    struct timespec start;
};
void stats_start(struct run_stats *s);
void stats_count(struct run_stats *s, const char *kind);
/* instructions < 0: not counted by this backend. */
/* exec: the software route's tier statistics, or NULL (KVM). */
void stats_print(const struct run_stats *s, const char *backend, long long instructions,
                 const anyhv_exec_stats_t *exec, FILE *f);

/* The flavour's VMM: builds the machine, loads the image, runs it. */
int vmm_run(const struct run_options *o);

#endif /* ANYHV_TOOLS_RUN_H */
