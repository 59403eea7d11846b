/* anyhv-diverge: finds the first guest instruction at which two configurations of a run
 * disagree. Each configuration is an anyhv-run command line (two builds, two routes or
 * tiers through the environment, two images...); the tool runs each to exactly k
 * instructions with --max-insns k --snapshot-at k, compares the snapshots
 * (architectural registers and guest memory), and bisects k over [0, N]. It reports the
 * instruction between the last agreeing and the first disagreeing state, disassembled,
 * and what differs after it.
 *
 *   anyhv-diverge [--insns N] -- CMD_A... -- CMD_B...
 *   anyhv-diverge --insns 100000 -- build-a/bin/anyhv-run g.elf -- build-b/bin/anyhv-run g.elf
 *   anyhv-diverge -- env ANYHV_JIT=off anyhv-run g.elf -- env ANYHV_JIT=eager anyhv-run g.elf
 *
 * Exit status: 0 no divergence within N instructions, 1 diverged (reported), 2 usage or
 * a run that could not be probed. The route must count instructions (software route). */
#include <capstone/capstone.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/x86_state.h"
#include "snapfile.h"

#define DEFAULT_INSNS 1000000ull
#define REPORT_LINES 16u
#define DISASM_INSNS 4u
#define DISASM_BYTES 64u
#define MAX_ARGS 64

struct config {
    char *argv[MAX_ARGS + 8];
    int argc;
    char snap[64];
};

/* Runs config c for exactly k instructions; loads the snapshot. false: the run ended
 * before instruction k (*ended set) or could not be run. */
static bool probe(struct config *c, uint64_t k, struct snapfile *out, bool *ended)
{
    char kbuf[32];
    snprintf(kbuf, sizeof(kbuf), "%" PRIu64, k);
    int n = c->argc;
    char *argv[MAX_ARGS + 8];
    memcpy(argv, c->argv, sizeof(char *) * (size_t)n);
    argv[n++] = "--quiet";
    argv[n++] = "--max-insns";
    argv[n++] = k ? kbuf : "1";   /* 0 means "no cap"; the snapshot at 0 comes first anyway */
    argv[n++] = "--snapshot-at";
    argv[n++] = kbuf;
    argv[n++] = c->snap;
    argv[n] = NULL;
    unlink(c->snap);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || (WIFEXITED(status) && WEXITSTATUS(status) == 127)) {
        fprintf(stderr, "anyhv-diverge: cannot run %s\n", argv[0]);
        exit(2);
    }
    char err[160];
    *ended = access(c->snap, R_OK) != 0;
    if (*ended)
        return false;
    if (!snapfile_load(c->snap, out, err, sizeof(err))) {
        fprintf(stderr, "anyhv-diverge: %s: %s\n", c->snap, err);
        exit(2);
    }
    return true;
}

/* How many instructions config c retires when it runs to its end (from anyhv-run's
 * summary); UINT64_MAX when it did not say (it runs past the bound, or not on the
 * software route). */
static uint64_t run_length(struct config *c, uint64_t bound)
{
    char kbuf[32];
    snprintf(kbuf, sizeof(kbuf), "%" PRIu64, bound);
    int n = c->argc, fds[2];
    char *argv[MAX_ARGS + 8];
    memcpy(argv, c->argv, sizeof(char *) * (size_t)n);
    argv[n++] = "--max-insns";
    argv[n++] = kbuf;
    argv[n] = NULL;
    if (pipe(fds) < 0)
        return UINT64_MAX;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(fds[1], 2);
        close(fds[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    static char text[1 << 16];
    size_t got = 0;
    ssize_t r;
    while ((r = read(fds[0], text + got, sizeof(text) - 1 - got)) > 0)
        got += (size_t)r;
    text[got] = 0;
    close(fds[0]);
    waitpid(pid, NULL, 0);
    const char *p = strstr(text, "anyhv-run: backend ");
    unsigned long long len;
    if (!p || !(p = strchr(p, ',')) || sscanf(p, ", %llu guest instructions", &len) != 1)
        return UINT64_MAX;
    return len;
}

/* Whether A and B agree after k instructions (both ended before k also counts). */
static bool agree(struct config *a, struct config *b, uint64_t k, FILE *report)
{
    struct snapfile sa, sb;
    bool ea, eb;
    bool oka = probe(a, k, &sa, &ea), okb = probe(b, k, &sb, &eb);
    bool same;
    if (oka && okb)
        same = snapfile_equal(&sa, &sb, report, REPORT_LINES);
    else
        same = ea && eb;
    if (report && oka != okb)
        fprintf(report, "  configuration %s ended before instruction %" PRIu64 ", the other did not\n", oka ? "B" : "A", k);
    if (oka)
        snapfile_free(&sa);
    if (okb)
        snapfile_free(&sb);
    return same;
}

static void disassemble(const struct snapfile *s)
{
    csh h;
    cs_arch arch = s->flavour ? CS_ARCH_ARM64 : CS_ARCH_X86;
    cs_mode mode = CS_MODE_LITTLE_ENDIAN;
    if (!s->flavour) {
        struct x86_segment cs;
        memcpy(&cs, s->vcpu[0].state + offsetof(struct x86_state, seg[X86_CS]), sizeof(cs));
        mode = (cs.ar & X86_AR_L) ? CS_MODE_64 : (cs.ar & X86_AR_DB) ? CS_MODE_32 : CS_MODE_16;
    }
    uint64_t pc = snapfile_pc(s, 0);
    size_t avail = 0;
    const uint8_t *code = snapfile_phys(s, pc, &avail);   /* anyhv-run's machines: virtual = physical */
    if (!code || cs_open(arch, mode, &h) != CS_ERR_OK) {
        printf("  (no guest memory at pc 0x%" PRIx64 " to disassemble)\n", pc);
        return;
    }
    cs_insn *insn;
    size_t n = cs_disasm(h, code, avail < DISASM_BYTES ? avail : DISASM_BYTES, pc, DISASM_INSNS, &insn);
    for (size_t i = 0; i < n; i++)
        printf("  %s 0x%" PRIx64 ":  %s %s\n", i ? "  " : "=>", insn[i].address, insn[i].mnemonic, insn[i].op_str);
    if (n)
        cs_free(insn, n);
    cs_close(&h);
}

static void usage(void)
{
    fprintf(stderr, "usage: anyhv-diverge [--insns N] -- CMD_A... -- CMD_B...\n"
                    "  Runs two anyhv-run command lines for exactly k instructions (software route),\n"
                    "  compares registers and memory, and bisects for the first instruction where\n"
                    "  they differ (N: upper bound, default %llu).\n",
            (unsigned long long)DEFAULT_INSNS);
}

static int parse(int argc, char **argv, uint64_t *n, struct config *a, struct config *b)
{
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "--insns") && i + 1 < argc) {
            char *end;
            *n = strtoull(argv[++i], &end, 0);
            if (*end || !*n)
                return 2;
        } else {
            return 2;
        }
    }
    struct config *cur = NULL;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            cur = cur == NULL ? a : cur == a ? b : NULL;
            if (!cur)
                return 2;
        } else if (cur->argc < MAX_ARGS) {
            cur->argv[cur->argc++] = argv[i];
        } else {
            return 2;
        }
    }
    return a->argc && b->argc ? 0 : 2;
}

int main(int argc, char **argv)
{
    static struct config a, b;
    uint64_t n = DEFAULT_INSNS;
    if (parse(argc, argv, &n, &a, &b)) {
        usage();
        return 2;
    }
    snprintf(a.snap, sizeof(a.snap), "/tmp/anyhv-diverge-%d-a.snap", (int)getpid());
    snprintf(b.snap, sizeof(b.snap), "/tmp/anyhv-diverge-%d-b.snap", (int)getpid());
    int status = 0;
    /* A snapshot after k instructions exists only while the guest still runs then. */
    uint64_t len_a = run_length(&a, n), len_b = run_length(&b, n), shorter = len_a < len_b ? len_a : len_b;
    if (shorter < n) {
        printf("anyhv-diverge: A runs %" PRIu64 " instructions, B %" PRIu64 "; comparing the first %" PRIu64 "\n",
               len_a, len_b, shorter ? shorter - 1 : 0);
        n = shorter ? shorter - 1 : 0;
    }
    if (!agree(&a, &b, 0, NULL)) {
        printf("anyhv-diverge: the two configurations differ before the first instruction:\n");
        agree(&a, &b, 0, stdout);
        status = 1;
    } else if (agree(&a, &b, n, NULL)) {
        printf("anyhv-diverge: no divergence within %" PRIu64 " instructions%s\n", n,
               len_a != len_b ? " (but the runs end at different counts)" : "");
        status = len_a != len_b;
    } else {
        uint64_t lo = 0, hi = n, probes = 2;
        while (hi - lo > 1) {
            uint64_t mid = lo + (hi - lo) / 2;
            if (agree(&a, &b, mid, NULL))
                lo = mid;
            else
                hi = mid;
            probes++;
        }
        printf("anyhv-diverge: first divergence at instruction %" PRIu64 " (states agree after %" PRIu64
               ", differ after %" PRIu64 "; %" PRIu64 " probes)\n",
               hi, lo, hi, probes);
        struct snapfile s;
        bool ended;
        if (probe(&a, lo, &s, &ended)) {
            printf("the instruction (configuration A's memory):\n");
            disassemble(&s);
            snapfile_free(&s);
        }
        printf("after it:\n");
        agree(&a, &b, hi, stdout);
        status = 1;
    }
    unlink(a.snap);
    unlink(b.snap);
    return status;
}
