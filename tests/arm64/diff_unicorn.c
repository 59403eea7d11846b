/* Differential test of the arm64 soft CPU against Unicorn's arm64: random
 * instructions drawn from the pattern table (frontends/arm64/insns.def), run once
 * from a random register state over deterministic memory on both, then registers,
 * flags, vectors, pc and memory compared; a mismatch prints a readable report.
 * ANYHV_FUZZ_ITERS / ANYHV_FUZZ_SEED set the length and seed (ctest runs a slice). */
#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdio.h>
#include <unicorn/unicorn.h>

#include "a64_core.h"
#include "frontends/arm64/a64_fe.h"
#include "frontends/arm64/decode.h"

#define INSN_OFF 0x800u
#define DEFAULT_ITERS 5000u
#define RUN_MS 200u
#define MAX_REPORTS 5

enum outcome { OUT_OK, OUT_EXCEPTION, OUT_MEMFAULT, OUT_OTHER };
static const char *const outcome_names[] = { "ok", "exception", "memory fault", "other" };

struct cpu_snap {
    uint64_t x[31], sp, pc, nzcv, fpcr, fpsr;
    uint8_t v[32][16];
};

static uint64_t rng;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static bool in_class(const struct a64_pattern *p)
{
    static const char *const skip[] = {
        /* system state, exceptions and privilege: tested by the guest tests */
        "SVC", "HVC", "SMC", "BRK", "HLT", "MSR_imm", "MSR_reg", "MRS", "SYS", "SYSL", "ERET",
        "WFI", "WFE", "CLREX", "ISB", "DSB", "DMB", "YIELD", "SEV", "SEVL", "HINT", "NOP",
        /* exclusives and ordered accesses: monitor and alignment semantics differ in Unicorn */
        "STXR", "STLXR", "LDXR", "LDAXR", "STXP", "STLXP", "LDXP", "LDAXP", "STLR", "LDAR", "CAS", "CASP",
        NULL };
    if (!p->trans)
        return false;
    if (strstr(p->name, "_ldst_unpriv"))
        return false;   /* LDTR/STTR at EL1 vs Unicorn's EL */
    for (int i = 0; skip[i]; i++)
        if (strcmp(p->name, skip[i]) == 0)
            return false;
    return true;
}

/* CONSTRAINED UNPREDICTABLE forms both sides may legitimately differ on. */
static bool unpredictable(const struct a64_pattern *p, uint32_t w)
{
    unsigned rt = w & 31, rn = (w >> 5) & 31, rt2 = (w >> 10) & 31;
    bool wb = strstr(p->name, "_immpost") || strstr(p->name, "_immpre") || strstr(p->name, "_post") ||
              strstr(p->name, "_pre");
    bool pair = strncmp(p->name, "LDP", 3) == 0 || strncmp(p->name, "STP", 3) == 0 ||
                strncmp(p->name, "LDNP", 4) == 0 || strncmp(p->name, "STNP", 4) == 0 ||
                strncmp(p->name, "LDPSW", 5) == 0;
    bool vec = (w >> 26) & 1;
    if (wb && rn != 31 && !vec && (rn == rt || (pair && rn == rt2)))
        return true;
    if (pair && w & (1u << 22) && rt == rt2)
        return true;   /* LDP with Rt == Rt2 */
    /* Unicorn 2.0.1 (QEMU 5.0) does not sign/zero-extend sub-doubleword operands
     * of LD{S,U}{MAX,MIN} (fixed later in QEMU): compare only 64-bit ones. */
    if ((strncmp(p->name, "LDSM", 4) == 0 || strncmp(p->name, "LDUM", 4) == 0) && (w >> 30) < 3)
        return true;
    return false;
}

/* The generic AdvSIMD rows run sub-encodings a64_simd_valid() accepts; the rest are
 * not implemented (UNDEFINED here) and are not compared, only counted. */
static int simd_group_of(const struct a64_pattern *p)
{
    static const struct { const char *name; enum a64_simd_group g; } rows[] = {
        { "asimdsame", A64_SIMD_SAME }, { "asimdmisc", A64_SIMD_MISC }, { "asimdshf", A64_SIMD_SHIFT },
        { "asimdall", A64_SIMD_ACROSS }, { "asimdperm", A64_SIMD_PERM }, { "asimdext", A64_SIMD_EXT },
        { "asimdtbl", A64_SIMD_TBL }, { "LD_multiple", A64_SIMD_LDST_MULTI },
        { "LD_multiple_post", A64_SIMD_LDST_MULTI }, { "LD_single", A64_SIMD_LDST_SINGLE },
        { "LD_single_post", A64_SIMD_LDST_SINGLE }, { "asimddiff", A64_SIMD_DIFF },
        { "asisdpair", A64_SIMD_PAIR }, { "asisdmisc", A64_SIMD_SCALAR_MISC },
        { "asisdsame", A64_SIMD_SCALAR_SAME }, { "asisdshf", A64_SIMD_SCALAR_SHIFT },
        { "asimdelem", A64_SIMD_ELEM }, { "asisdelem", A64_SIMD_SCALAR_ELEM },
        { "asisddiff", A64_SIMD_SCALAR_DIFF },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (strcmp(p->name, rows[i].name) == 0)
            return (int)rows[i].g;
    return -1;
}

static unsigned not_implemented;

static size_t pool[512];
static size_t pool_len;
/* ANYHV_FUZZ_MASK / ANYHV_FUZZ_MATCH: only words with (w & MASK) == MATCH, to aim a
 * focused run at one sub-encoding of a row (e.g. one AdvSIMD opcode). */
static uint32_t focus_mask, focus_match;

static uint32_t gen_insn(const struct a64_pattern **out)
{
    for (;;) {
        const struct a64_pattern *p = a64_pattern_at(pool[next_rand() % pool_len]);
        uint32_t w = p->value | ((uint32_t)next_rand() & ~p->mask);
        if (a64_decode(w) != p || unpredictable(p, w) || (w & focus_mask) != focus_match)
            continue;
        int g = simd_group_of(p);
        if (g >= 0 && !a64_simd_valid(w, (unsigned)g)) {
            not_implemented++;
            continue;
        }
        *out = p;
        return w;
    }
}

static uint64_t random_reg(void)
{
    switch (next_rand() % 4) {
    case 0:
    case 1: return CORE_DATA_GPA + (next_rand() % CORE_DATA_SIZE) / 2 + CORE_DATA_SIZE / 4;
    case 2: return next_rand() % 256;
    default: return next_rand();
    }
}

#define FPSR_CUMULATIVE 0x9full   /* IDC (bit 7) and IXC..IOC (bits 4..0) */

static void random_state(struct cpu_snap *s)
{
    for (int i = 0; i < 31; i++)
        s->x[i] = random_reg();
    s->sp = CORE_DATA_GPA + CORE_DATA_SIZE / 2;
    s->pc = CORE_CODE_GPA + INSN_OFF;
    s->nzcv = (next_rand() & 0xf) << 28;
    /* FPCR: rounding mode, FZ and DN at random. FPSR's cumulative flags (IOC DZC OFC
     * UFC IXC IDC) start clear half the time and random otherwise: an instruction adds
     * to what is there, and the soft CPU watches only the host flags still clear. */
    s->fpcr = (next_rand() & 0xfull) << 22;
    s->fpsr = (next_rand() & 1) ? next_rand() & FPSR_CUMULATIVE : 0;
    for (int i = 0; i < 32; i++)
        for (int j = 0; j < 16; j++)
            s->v[i][j] = (uint8_t)next_rand();
    /* Some FP-looking values: small integers, zeros, infinities and NaNs. */
    static const uint64_t special[] = { 0, 0x8000000000000000ull, 0x3ff0000000000000ull, 0x7ff0000000000000ull,
                                        0x7ff8000000000001ull, 0x7ff0000000000001ull, 0x3f800000ull, 0x7f800000ull,
                                        0x7fc00001ull, 0x7f800001ull, 0x00000001ull, 0x0000000000000001ull,
                                        0x4059000000000000ull, 0x42c80000ull };
    for (int i = 0; i < 32; i++)
        if (next_rand() & 1)
            memcpy(s->v[i], &special[next_rand() % (sizeof(special) / sizeof(special[0]))], 8);
    /* Indirect branches land in the code page, on an HVC. */
    uint64_t target = CORE_CODE_GPA + 4 * (next_rand() % (CORE_PAGE / 4));
    s->x[(next_rand() % 31)] = target;
}

/* ---- our side ---- */
static enum outcome run_soft(struct a64_core *c, uint32_t insn, const struct cpu_snap *in, struct cpu_snap *out,
                             uint32_t *esr)
{
    for (unsigned i = 0; i < CORE_PAGE / 4; i++)
        ((uint32_t *)c->code)[i] = CORE_HVC(0);
    ((uint32_t *)c->code)[INSN_OFF / 4] = insn;
    core_reset_state(c);
    struct a64_state *st = c->st;
    memcpy(st->x, in->x, sizeof(st->x));
    st->sp = in->sp;
    st->pc = in->pc;
    st->pstate = A64_PSTATE_RESET | in->nzcv;
    st->fpcr = in->fpcr;
    st->fpsr = in->fpsr;
    st->sys.esr_el1 = UINT64_MAX;   /* stays so unless an exception is taken */
    memcpy(st->v, in->v, sizeof(st->v));
    const struct anyhv_exit *e = core_run(c, RUN_MS);
    memcpy(out->x, st->x, sizeof(out->x));
    out->sp = st->sp;
    out->nzcv = st->pstate & (0xfull << 28);
    out->fpcr = st->fpcr;
    out->fpsr = st->fpsr;
    memcpy(out->v, st->v, sizeof(out->v));
    out->pc = e->pc;
    if (e->kind == EXIT_HYPERCALL && e->u.imm == 0)
        return OUT_OK;
    if (e->kind == EXIT_HYPERCALL && e->u.imm == CORE_VEC_IMM && st->sys.esr_el1 == UINT64_MAX)
        return OUT_OK;   /* a branch into the vector page, no exception */
    if (e->kind == EXIT_HYPERCALL && e->u.imm == CORE_VEC_IMM) {
        *esr = (uint32_t)st->sys.esr_el1;
        uint32_t ec = *esr >> 26, dfsc = *esr & 0x3f;
        uint64_t elr = st->sys.elr_el1;
        /* A branch retired and its target faulted on fetch (misaligned or beyond
         * the PA range): the branch itself is what is compared. */
        if ((ec == 0x22 || (ec == 0x21 && dfsc == 0)) && elr != in->pc) {
            out->pc = elr;
            return OUT_OK;
        }
        /* An address beyond the PA range (MMU off): an address size fault here,
         * an unmapped access for Unicorn. Either way the access faulted. */
        if ((ec == 0x25 || ec == 0x21) && dfsc == 0)
            return OUT_MEMFAULT;
        return OUT_EXCEPTION;
    }
    if (e->kind == EXIT_DEADLINE && st->pc == in->pc)
        return OUT_OK;   /* a branch to itself: it retired, and retires again */
    if (e->kind == EXIT_MMIO && e->u.mem.fetch && e->u.mem.gva != in->pc) {
        out->pc = e->u.mem.gva;   /* a branch retired; its target cannot be fetched */
        return OUT_OK;
    }
    if (e->kind == EXIT_MMIO)
        return OUT_MEMFAULT;
    return OUT_OTHER;
}

/* ---- Unicorn's side ---- */
static const int uc_q[32] = {
    UC_ARM64_REG_Q0, UC_ARM64_REG_Q1, UC_ARM64_REG_Q2, UC_ARM64_REG_Q3, UC_ARM64_REG_Q4, UC_ARM64_REG_Q5,
    UC_ARM64_REG_Q6, UC_ARM64_REG_Q7, UC_ARM64_REG_Q8, UC_ARM64_REG_Q9, UC_ARM64_REG_Q10, UC_ARM64_REG_Q11,
    UC_ARM64_REG_Q12, UC_ARM64_REG_Q13, UC_ARM64_REG_Q14, UC_ARM64_REG_Q15, UC_ARM64_REG_Q16, UC_ARM64_REG_Q17,
    UC_ARM64_REG_Q18, UC_ARM64_REG_Q19, UC_ARM64_REG_Q20, UC_ARM64_REG_Q21, UC_ARM64_REG_Q22, UC_ARM64_REG_Q23,
    UC_ARM64_REG_Q24, UC_ARM64_REG_Q25, UC_ARM64_REG_Q26, UC_ARM64_REG_Q27, UC_ARM64_REG_Q28, UC_ARM64_REG_Q29,
    UC_ARM64_REG_Q30, UC_ARM64_REG_Q31,
};

static int uc_x(int i)
{
    return i == 29 ? UC_ARM64_REG_X29 : i == 30 ? UC_ARM64_REG_X30 : UC_ARM64_REG_X0 + i;
}

static enum outcome run_unicorn(uc_engine *uc, uint32_t insn, const uint8_t *data, const struct cpu_snap *in,
                                struct cpu_snap *out, uint8_t *data_out)
{
    static uint32_t page[CORE_PAGE / 4];
    for (unsigned i = 0; i < CORE_PAGE / 4; i++)
        page[i] = CORE_HVC(0);
    page[INSN_OFF / 4] = insn;
    uc_mem_write(uc, CORE_CODE_GPA, page, sizeof(page));
    /* Unicorn keeps translations across uc_mem_write: drop the page's. */
    uc_ctl_remove_cache(uc, CORE_CODE_GPA, CORE_CODE_GPA + CORE_PAGE);
    uc_mem_write(uc, CORE_DATA_GPA, data, CORE_DATA_SIZE);
    for (int i = 0; i < 31; i++)
        uc_reg_write(uc, uc_x(i), &in->x[i]);
    uc_reg_write(uc, UC_ARM64_REG_SP, &in->sp);
    uc_reg_write(uc, UC_ARM64_REG_PC, &in->pc);
    uint64_t nzcv = in->nzcv;
    uc_reg_write(uc, UC_ARM64_REG_NZCV, &nzcv);
    for (int i = 0; i < 32; i++)
        uc_reg_write(uc, uc_q[i], in->v[i]);
    uint64_t fpcr = in->fpcr, fpsr = in->fpsr;
    uc_reg_write(uc, UC_ARM64_REG_FPCR, &fpcr);
    uc_reg_write(uc, UC_ARM64_REG_FPSR, &fpsr);
    uc_err err = uc_emu_start(uc, in->pc, 0, 0, 1);
    for (int i = 0; i < 31; i++)
        uc_reg_read(uc, uc_x(i), &out->x[i]);
    uc_reg_read(uc, UC_ARM64_REG_SP, &out->sp);
    uc_reg_read(uc, UC_ARM64_REG_PC, &out->pc);
    uc_reg_read(uc, UC_ARM64_REG_NZCV, &nzcv);
    out->nzcv = nzcv & (0xfull << 28);
    uc_reg_read(uc, UC_ARM64_REG_FPCR, &fpcr);
    uc_reg_read(uc, UC_ARM64_REG_FPSR, &fpsr);
    out->fpcr = fpcr;
    out->fpsr = fpsr;
    for (int i = 0; i < 32; i++)
        uc_reg_read(uc, uc_q[i], out->v[i]);
    uc_mem_read(uc, CORE_DATA_GPA, data_out, CORE_DATA_SIZE);
    if ((err == UC_ERR_FETCH_UNMAPPED || err == UC_ERR_FETCH_PROT) && out->pc != in->pc)
        return OUT_OK;   /* a branch retired; its target cannot be fetched */
    switch (err) {
    case UC_ERR_OK: return OUT_OK;
    case UC_ERR_INSN_INVALID:
    case UC_ERR_EXCEPTION: return OUT_EXCEPTION;
    case UC_ERR_READ_UNMAPPED:
    case UC_ERR_WRITE_UNMAPPED:
    case UC_ERR_FETCH_UNMAPPED:
    case UC_ERR_READ_PROT:
    case UC_ERR_WRITE_PROT:
    case UC_ERR_FETCH_PROT: return OUT_MEMFAULT;
    default: return OUT_OTHER;
    }
}

/* ---- report ---- */
static void report(csh cs, uint32_t insn, const struct a64_pattern *p, const struct cpu_snap *in,
                   const struct cpu_snap *ours, const struct cpu_snap *theirs, enum outcome o1, enum outcome o2,
                   uint32_t esr, const uint8_t *d1, const uint8_t *d2)
{
    cs_insn *ci = NULL;
    size_t n = cs_disasm(cs, (const uint8_t *)&insn, 4, CORE_CODE_GPA + INSN_OFF, 1, &ci);
    fprintf(stderr, "\n=== arm64 mismatch: %08" PRIx32 "  %s  (%s %s)\n", insn, p->name, n ? ci->mnemonic : "?",
            n ? ci->op_str : "");
    if (n)
        cs_free(ci, n);
    fprintf(stderr, "outcome: soft %s (ESR_EL1 %#x)  unicorn %s\n", outcome_names[o1], esr, outcome_names[o2]);
    fprintf(stderr, "%-6s %-18s %-18s %-18s\n", "reg", "input", "soft", "unicorn");
    for (int i = 0; i < 31; i++)
        fprintf(stderr, "x%-5d %016" PRIx64 "   %016" PRIx64 "   %016" PRIx64 "%s\n", i, in->x[i], ours->x[i],
                theirs->x[i], ours->x[i] != theirs->x[i] ? "  <<" : "");
    fprintf(stderr, "sp     %016" PRIx64 "   %016" PRIx64 "   %016" PRIx64 "%s\n", in->sp, ours->sp, theirs->sp,
            ours->sp != theirs->sp ? "  <<" : "");
    fprintf(stderr, "pc     %016" PRIx64 "   %016" PRIx64 "   %016" PRIx64 "%s\n", in->pc, ours->pc, theirs->pc,
            ours->pc != theirs->pc ? "  <<" : "");
    fprintf(stderr, "nzcv   %016" PRIx64 "   %016" PRIx64 "   %016" PRIx64 "%s\n", in->nzcv, ours->nzcv,
            theirs->nzcv, ours->nzcv != theirs->nzcv ? "  <<" : "");
    fprintf(stderr, "fpcr   %016" PRIx64 "   %016" PRIx64 "   %016" PRIx64 "%s\n", in->fpcr, ours->fpcr,
            theirs->fpcr, ours->fpcr != theirs->fpcr ? "  <<" : "");
    fprintf(stderr, "fpsr   %016" PRIx64 "   %016" PRIx64 "   %016" PRIx64 "%s\n", in->fpsr, ours->fpsr,
            theirs->fpsr, ours->fpsr != theirs->fpsr ? "  <<" : "");
    for (int i = 0; i < 32; i++)
        if (memcmp(ours->v[i], theirs->v[i], 16)) {
            uint64_t a[2], b[2], c[2];
            memcpy(a, in->v[i], 16), memcpy(b, ours->v[i], 16), memcpy(c, theirs->v[i], 16);
            fprintf(stderr, "v%-5d %016" PRIx64 ":%016" PRIx64 " %016" PRIx64 ":%016" PRIx64 " %016" PRIx64
                    ":%016" PRIx64 "  <<\n", i, a[1], a[0], b[1], b[0], c[1], c[0]);
        }
    int shown = 0;
    for (size_t i = 0; i < CORE_DATA_SIZE && shown < 16; i++)
        if (d1[i] != d2[i]) {
            fprintf(stderr, "mem %#" PRIx64 ": soft %02x unicorn %02x  <<\n", (uint64_t)(CORE_DATA_GPA + i), d1[i], d2[i]);
            shown++;
        }
}

/* Where Unicorn 2.0.1 (QEMU 5) differs from the architecture, which we keep:
 * reserved encodings it executes (UNDEFINED here, and Capstone cannot decode them
 * either) and misaligned atomics to unmapped addresses (fault priority). */
static bool known_unicorn_difference(csh cs, uint32_t insn, uint32_t esr, enum outcome theirs)
{
    uint32_t ec = esr >> 26, dfsc = esr & 0x3f;
    /* Misaligned and unmapped: the alignment fault has priority here; Unicorn
     * reports the unmapped access. */
    if (ec == 0x25 && dfsc == 0x21)
        return theirs == OUT_MEMFAULT;
    if (ec == 0 && theirs == OUT_OK) {
        cs_insn *ci = NULL;
        size_t n = cs_disasm(cs, (const uint8_t *)&insn, 4, 0, 1, &ci);
        if (n)
            cs_free(ci, n);
        return n == 0;
    }
    return false;
}

static bool same(const struct cpu_snap *a, const struct cpu_snap *b, const uint8_t *d1, const uint8_t *d2)
{
    return !memcmp(a->x, b->x, sizeof(a->x)) && a->sp == b->sp && a->pc == b->pc && a->nzcv == b->nzcv &&
           a->fpcr == b->fpcr && a->fpsr == b->fpsr &&
           !memcmp(a->v, b->v, sizeof(a->v)) && !memcmp(d1, d2, CORE_DATA_SIZE);
}

static bool row_listed(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *s = list; *s;) {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        if (n == len && strncmp(s, name, n) == 0)
            return true;
        s += n + (end ? 1 : 0);
    }
    return false;
}

static unsigned env_u(const char *name, unsigned dflt)
{
    const char *s = getenv(name);
    return s && *s ? (unsigned)strtoul(s, NULL, 0) : dflt;
}

Test(arm64_diff, random_instructions_match_unicorn)
{
    a64_decode_init();
    /* ANYHV_FUZZ_ROWS=name,name,...: only those rows of insns.def (a focused run). */
    const char *rows = getenv("ANYHV_FUZZ_ROWS");
    for (size_t i = 0; i < a64_pattern_count(); i++)
        if (in_class(a64_pattern_at(i)) && (!rows || !*rows || row_listed(rows, a64_pattern_at(i)->name)))
            pool[pool_len++] = i;
    cr_assert_gt(pool_len, rows && *rows ? 0 : 100);
    struct a64_core c;
    core_setup(&c);
    uc_engine *uc;
    cr_assert_eq(uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc), UC_ERR_OK);
    uc_ctl_set_cpu_model(uc, UC_CPU_ARM64_MAX);
    /* Code is read/execute on both sides: a store into it faults on both rather than
     * patching the next instruction (which we would then run and Unicorn not). */
    uc_mem_map(uc, CORE_CODE_GPA, CORE_PAGE, UC_PROT_READ | UC_PROT_EXEC);
    cr_assert_eq(vm_protect(0, CORE_CODE_GPA, CORE_PAGE, 1 | 4), HV_SUCCESS);
    uc_mem_map(uc, CORE_DATA_GPA, CORE_DATA_SIZE, UC_PROT_READ | UC_PROT_WRITE);
    uc_mem_map(uc, CORE_VEC_GPA, CORE_PAGE, UC_PROT_ALL);
    uc_mem_write(uc, CORE_VEC_GPA, c.vec, CORE_PAGE);
    csh cs;
    cr_assert_eq(cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &cs), CS_ERR_OK);

    focus_mask = env_u("ANYHV_FUZZ_MASK", 0);
    focus_match = env_u("ANYHV_FUZZ_MATCH", 0) & focus_mask;
    unsigned iters = env_u("ANYHV_FUZZ_ITERS", DEFAULT_ITERS);
    unsigned max_reports = env_u("ANYHV_FUZZ_REPORTS", MAX_REPORTS);
    rng = env_u("ANYHV_FUZZ_SEED", 0x2545f491u) | 1;
    uint8_t *seed_data = malloc(CORE_DATA_SIZE), *uc_data = malloc(CORE_DATA_SIZE);
    unsigned mismatches = 0, ok = 0, lenient = 0;
    for (unsigned it = 0; it < iters; it++) {
        const struct a64_pattern *p;
        uint32_t insn = gen_insn(&p);
        struct cpu_snap in, ours, theirs;
        random_state(&in);
        for (size_t i = 0; i < CORE_DATA_SIZE; i++)
            seed_data[i] = (uint8_t)next_rand();
        memcpy(c.data, seed_data, CORE_DATA_SIZE);
        uint32_t esr = 0;
        enum outcome o1 = run_soft(&c, insn, &in, &ours, &esr);
        enum outcome o2 = run_unicorn(uc, insn, seed_data, &in, &theirs, uc_data);
        bool agree = o1 == o2 && (o1 != OUT_OK || same(&ours, &theirs, c.data, uc_data));
        if (!agree && o1 == OUT_EXCEPTION && o2 != OUT_EXCEPTION && known_unicorn_difference(cs, insn, esr, o2)) {
            lenient++;
            agree = true;
        }
        if (o1 == OUT_OK)
            ok++;
        if (!agree) {
            if (mismatches < max_reports)
                report(cs, insn, p, &in, &ours, &theirs, o1, o2, esr, c.data, uc_data);
            mismatches++;
        }
    }
    fprintf(stderr,
            "arm64 diff: %u instructions, %u executed normally, %u where Unicorn is lenient, %u mismatches "
            "(%zu encodings; %u unimplemented AdvSIMD sub-encodings skipped)\n",
            iters, ok, lenient, mismatches, pool_len, not_implemented);
    free(seed_data);
    free(uc_data);
    cs_close(&cs);
    uc_close(uc);
    core_teardown(&c);
    cr_expect_eq(mismatches, 0, "%u of %u random instructions differ from Unicorn", mismatches, iters);
}
