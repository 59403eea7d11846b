/* diff_x87.c - differential testing of the soft CPU's x87 against the host CPU: random
 * x87 sequences (x87_gen.h) from random x87 states run on the soft route (public
 * Intel API, 64-bit CPL0 guest, every exception exiting) and natively
 * (native_x86.h). ST0-7 as 80-bit values, FSW, FCW, the full tag word, RAX, the
 * status flags, the exception (#MF) and the data area must agree; sequences ending
 * in a transcendental compare the registers within the tolerance fx80 promises.
 * A mismatch prints the listing, the registers side by side and the memory diff.
 * With --mode32 the soft route runs the same bytes in flat 32-bit protected mode
 * (the sequences use no REX and [ebx+disp] means the same), with --mode16 their
 * 16-bit encoding in real mode ([bx+disp], the environment images' operand size
 * flipped by 66h), still against the host in 64-bit mode: x87 results do not depend
 * on the code size, and the images differ only in the pointer fields not compared.
 * Iterations: a count argument, else ANYHV_FUZZ_ITERS, else a bounded slice; ANYHV_FUZZ_SEED
 * and ANYHV_FUZZ_FIRST reproduce one case. */
#include <capstone/capstone.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <anyhv/anyhv.h>

#include "native_x86.h"
#include "diff_main.h"
#include "x86_guest.h"
#include "x87_gen.h"

#define DEFAULT_ITERS 20000
#define HLT_BYTE 0xf4
#define FLAGS_COMPARED 0x8d5u        /* CF PF AF ZF SF OF */
#define FSW_C1 0x200u
#define FX_SIZE 512
#define NO_VECTOR (-1)
/* Transcendentals: fx80 keeps its results within 1 ulp (of the 64-bit significand,
 * denormals in their own units) of the host's. */
#define APPROX_ULPS 1

static bool mode32, mode16;
#define REAL_SEG (XG_CODE >> 4)      /* real mode: CS = DS = SS = ES, base XG_CODE, IP 0 */

/* Index of the instruction at a code offset (count when past the end). */
static unsigned insn_index(const uint8_t *offs, unsigned count, uint64_t off)
{
    unsigned k = 0;
    while (k + 1 < count && offs[k + 1] <= off)
        k++;
    return k;
}

struct outcome {
    int vector;
    uint64_t fault_off;
    unsigned fault_insn;             /* which instruction faulted (offsets differ by encoding) */
    uint64_t rax, rflags;
    uint8_t fx[FX_SIZE];
    uint8_t data[XG87_DATA_BYTES];
};

static uint16_t get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* The full tag word of an FXSAVE image, from the abridged bits and the contents. */
static uint16_t full_tag(const uint8_t *fx)
{
    unsigned top = (get16(fx + XG87_FX_FSW) >> 11) & 7, tw = 0;
    for (unsigned p = 0; p < 8; p++) {
        unsigned tag = 3;
        if (fx[XG87_FX_FTW] & (1u << p)) {
            const uint8_t *v = fx + XG87_FX_ST0 + 16 * ((p - top) & 7);
            uint64_t m;
            memcpy(&m, v, 8);
            unsigned e = get16(v + 8) & 0x7fff;
            tag = (e == 0 && m == 0) ? 1 : (e == 0 || e == 0x7fff || !(m >> 63)) ? 2 : 0;
        }
        tw |= tag << (2 * p);
    }
    return (uint16_t)tw;
}

static int run_native(const struct xg87_case *t, struct outcome *o)
{
    static struct native_x86_state s;
    static uint8_t data[XG87_DATA_BYTES];
    memset(&s, 0, sizeof(s));
    memcpy(data, t->data, sizeof(data));
    memcpy(s.fx, t->fx, FX_SIZE);
    s.gpr[0] = t->rax;
    s.gpr[3] = (uint64_t)(uintptr_t)(data + XG87_RBX_OFF);
    s.rflags = t->rflags;
    struct native_x86_result r;
    if (native_x86_run(t->code, t->len, &s, &r) != 0)
        return -1;
    o->vector = r.signo ? r.trapno : NO_VECTOR;
    o->fault_off = r.fault_offset;
    o->fault_insn = insn_index(t->insn_off, t->count, r.fault_offset);
    o->rax = s.gpr[0];
    o->rflags = s.rflags;
    memcpy(o->fx, s.fx, FX_SIZE);
    memcpy(o->data, data, sizeof(data));
    return 0;
}

static int run_soft(struct xg *g, const struct xg87_case *t, struct outcome *o)
{
    static const hv_x86_reg_t gprs[16] = { HV_X86_RAX, HV_X86_RCX, HV_X86_RDX, HV_X86_RBX, HV_X86_RSP, HV_X86_RBP,
                                           HV_X86_RSI, HV_X86_RDI, HV_X86_R8,  HV_X86_R9,  HV_X86_R10, HV_X86_R11,
                                           HV_X86_R12, HV_X86_R13, HV_X86_R14, HV_X86_R15 };
    const uint8_t *code = mode16 ? t->code16 : t->code;
    unsigned len = mode16 ? t->len16 : t->len;
    uint64_t ip = mode16 ? 0 : XG_CODE, rbx = XG_DATA + XG87_RBX_OFF - (mode16 ? XG_CODE : 0);
    memcpy(g->ram + XG_CODE, code, len);
    g->ram[XG_CODE + len] = HLT_BYTE;
    memcpy(g->ram + XG_DATA, t->data, XG87_DATA_BYTES);
    for (int i = 0; i < 16; i++)
        if (i != 4)
            hv_vcpu_write_register(g->vcpu, gprs[i], 0);
    hv_vcpu_write_register(g->vcpu, HV_X86_RAX, t->rax);
    hv_vcpu_write_register(g->vcpu, HV_X86_RBX, rbx);
    hv_vcpu_write_register(g->vcpu, HV_X86_RFLAGS, t->rflags);
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, ip);
    uint8_t fx[FX_SIZE];
    memcpy(fx, t->fx, FX_SIZE);
    if (hv_vcpu_write_fpstate(g->vcpu, fx, FX_SIZE) != HV_SUCCESS || hv_vcpu_run(g->vcpu) != HV_SUCCESS)
        return -1;
    uint32_t reason = xg_exit_reason(g);
    o->vector = NO_VECTOR;
    if (reason == VMX_REASON_EXC_NMI)
        o->vector = (int)(xg_read_vmcs(g, VMCS_RO_VMEXIT_IRQ_INFO) & 0xff);
    else if (reason != VMX_REASON_HLT)
        return -2;
    o->fault_off = xg_reg(g, HV_X86_RIP) - ip;
    o->fault_insn = insn_index(mode16 ? t->insn_off16 : t->insn_off, t->count, o->fault_off);
    o->rax = xg_reg(g, HV_X86_RAX);
    o->rflags = xg_reg(g, HV_X86_RFLAGS);
    hv_vcpu_read_fpstate(g->vcpu, o->fx, FX_SIZE);
    memcpy(o->data, g->ram + XG_DATA, XG87_DATA_BYTES);
    return 0;
}

/* Bytes of an FNSTENV/FNSAVE image that hold FIP/FCS/FOP/FDP/FDS. */
static bool pointer_byte(const struct xg87_case *t, unsigned off)
{
    for (unsigned i = 0; i < t->nimages; i++) {
        unsigned lo = t->images[i].off + (t->images[i].o16 ? 6u : 12u);
        unsigned hi = t->images[i].off + (t->images[i].o16 ? 14u : 28u);
        if (off >= lo && off < hi)
            return true;
    }
    return false;
}

static long double as_ld(const uint8_t *p)
{
    long double v = 0;
    memcpy(&v, p, 10);
    return v;
}

/* Position of a finite 80-bit value on the number line in units of its last
 * significand bit (denormals included), for the ulp distance of two results. */
static __int128 ordinal(const uint8_t *p)
{
    uint64_t m;
    memcpy(&m, p, 8);
    uint16_t se = get16(p + 8);
    unsigned e = se & 0x7fff;
    __int128 mag = e == 0 ? (__int128)m : ((__int128)(e - 1) << 63) + (__int128)m;
    return (se & 0x8000) ? -mag : mag;
}

static bool same_st(const struct xg87_case *t, const uint8_t *a, const uint8_t *b)
{
    if (memcmp(a, b, 10) == 0)
        return true;
    if (!t->approx)
        return false;
    long double x = as_ld(a), y = as_ld(b);
    if (isnan(x) || isnan(y) || isinf(x) || isinf(y))
        return false;
    __int128 d = ordinal(a) - ordinal(b);
    return d <= APPROX_ULPS && d >= -APPROX_ULPS;
}

static bool same(const struct xg87_case *t, const struct outcome *a, const struct outcome *n)
{
    if (a->vector != n->vector || (a->vector != NO_VECTOR && a->fault_insn != n->fault_insn))
        return false;
    uint16_t fsw_mask = t->approx ? (uint16_t)~FSW_C1 : 0xffff;
    if (a->rax != n->rax || ((a->rflags ^ n->rflags) & FLAGS_COMPARED) ||
        get16(a->fx + XG87_FX_FCW) != get16(n->fx + XG87_FX_FCW) ||
        ((get16(a->fx + XG87_FX_FSW) ^ get16(n->fx + XG87_FX_FSW)) & fsw_mask) || full_tag(a->fx) != full_tag(n->fx))
        return false;
    for (unsigned i = 0; i < 8; i++)
        if (!same_st(t, a->fx + XG87_FX_ST0 + 16 * i, n->fx + XG87_FX_ST0 + 16 * i))
            return false;
    for (unsigned i = 0; i < XG87_DATA_BYTES; i++)
        if (a->data[i] != n->data[i] && !pointer_byte(t, i))
            return false;
    return true;
}

static void print_st(const char *name, const uint8_t *fx, unsigned i)
{
    uint64_t m;
    memcpy(&m, fx + XG87_FX_ST0 + 16 * i, 8);
    printf(" %s %04x:%016" PRIx64, name, get16(fx + XG87_FX_ST0 + 16 * i + 8), m);
}

static void report(csh h, const struct xg87_case *t, const struct outcome *a, const struct outcome *n,
                   uint64_t seed, unsigned index)
{
    printf("MISMATCH seed %" PRIu64 " case %u%s\n", seed, index, t->approx ? " (approximate compare)" : "");
    cs_insn *ins;
    size_t cnt = mode16 ? cs_disasm(h, t->code16, t->len16, XG_CODE, 0, &ins) : cs_disasm(h, t->code, t->len, XG_CODE, 0, &ins);
    for (size_t i = 0; i < cnt; i++) {
        printf("  %04" PRIx64 ": ", ins[i].address - XG_CODE);
        for (unsigned k = 0; k < ins[i].size; k++)
            printf("%02x", ins[i].bytes[k]);
        printf("%*s %s %s\n", (int)(24 - 2 * ins[i].size), "", ins[i].mnemonic, ins[i].op_str);
    }
    if (cnt)
        cs_free(ins, cnt);
    printf("exception: anyhv %d at instruction %u, native %d at instruction %u\n", a->vector, a->fault_insn, n->vector,
           n->fault_insn);
    const uint8_t *i0 = t->fx;
    printf("%-7s %-22s %-22s %-22s\n", "", "initial", "anyhv", "native");
    printf("%-7s %04x                   %04x                   %04x%s\n", "fcw", get16(i0), get16(a->fx),
           get16(n->fx), get16(a->fx) != get16(n->fx) ? "  <--" : "");
    printf("%-7s %04x                   %04x                   %04x%s\n", "fsw", get16(i0 + 2), get16(a->fx + 2),
           get16(n->fx + 2), get16(a->fx + 2) != get16(n->fx + 2) ? "  <--" : "");
    printf("%-7s %04x                   %04x                   %04x%s\n", "tags", full_tag(i0), full_tag(a->fx),
           full_tag(n->fx), full_tag(a->fx) != full_tag(n->fx) ? "  <--" : "");
    printf("%-7s %016" PRIx64 "       %016" PRIx64 "       %016" PRIx64 "%s\n", "rax", t->rax, a->rax, n->rax,
           a->rax != n->rax ? "  <--" : "");
    printf("%-7s %016" PRIx64 "       %016" PRIx64 "       %016" PRIx64 "%s\n", "rflags", t->rflags, a->rflags,
           n->rflags, ((a->rflags ^ n->rflags) & FLAGS_COMPARED) ? "  <--" : "");
    for (unsigned i = 0; i < 8; i++) {
        printf("st%u    ", i);
        print_st("", i0, i);
        print_st("", a->fx, i);
        print_st("", n->fx, i);
        printf("%s\n", same_st(t, a->fx + XG87_FX_ST0 + 16 * i, n->fx + XG87_FX_ST0 + 16 * i) ? "" : "  <--");
    }
    for (unsigned i = 0; i < XG87_DATA_BYTES; i++)
        if (a->data[i] != n->data[i])
            printf("  data+%03x: initial %02x anyhv %02x native %02x%s\n", i, t->data[i], a->data[i], n->data[i],
                   pointer_byte(t, i) ? " (pointer field, not compared)" : "");
}

/* The shortest prefix of the sequence that already disagrees: names the instruction. */
static void first_divergence(struct xg *g, const struct xg87_case *t)
{
    static struct xg87_case p;
    static struct outcome a, n;
    for (unsigned k = 1; k <= t->count; k++) {
        p = *t;
        p.len = k < t->count ? t->insn_off[k] : t->len;
        p.len16 = k < t->count ? t->insn_off16[k] : t->len16;
        p.count = k;
        if (run_soft(g, &p, &a) != 0 || run_native(&p, &n) != 0 || !same(&p, &a, &n)) {
            printf("first disagreement after instruction %u (offset %u); fsw anyhv %04x native %04x\n", k,
                   t->insn_off[k - 1], get16(a.fx + XG87_FX_FSW), get16(n.fx + XG87_FX_FSW));
            const uint8_t *in = t->code + t->insn_off[k - 1];
            unsigned at = in[0] == 0x66 ? 1 : 0;
            if ((in[at + 1] & 0xc7) == 0x43) {   /* [rbx+disp8]: show the operand */
                printf("memory operand:");
                for (int b = 0; b < 10; b++)
                    printf(" %02x", p.data[XG87_RBX_OFF + (int8_t)in[at + 2] + b]);
                printf("\n");
            }
            if (k > 1) {
                p.len = t->insn_off[k - 1];
                p.len16 = t->insn_off16[k - 1];
                p.count = k - 1;
                run_native(&p, &n);
            } else {
                memcpy(n.fx, t->fx, FX_SIZE);
            }
            printf("state before it: fcw %04x fsw %04x tags %04x\n", get16(n.fx), get16(n.fx + 2), full_tag(n.fx));
            for (unsigned i = 0; i < 8; i++) {
                printf("  st%u", i);
                print_st("", n.fx, i);
                printf("\n");
            }
            return;
        }
    }
}

/* FYL2XP1 outside |x| < 1 - sqrt(2)/2 has an undefined result (SDM): a case ending
 * in one with ST(0) out there is not compared. */
#define FYL2XP1_DOMAIN 0.29289321881345247560L
static bool undefined_result(const struct xg87_case *t)
{
    if (!t->approx || t->count == 0)
        return false;
    const uint8_t *last = t->code + t->insn_off[t->count - 1];
    if (last[0] != 0xd9 || last[1] != 0xf9)
        return false;
    static struct xg87_case p;
    static struct outcome n;
    p = *t;
    p.len = t->insn_off[t->count - 1];
    p.len16 = t->insn_off16[t->count - 1];
    p.count--;
    if (run_native(&p, &n) != 0 || n.vector != NO_VECTOR)
        return false;
    long double x = as_ld(n.fx + XG87_FX_ST0);
    return !isnan(x) && fabsl(x) >= FYL2XP1_DOMAIN;
}

int main(int argc, char **argv)
{
    const char *why = NULL;
    if (!native_x86_available(&why)) {
        printf("skip: %s\n", why);
        return DIFF_SKIP_EXIT;
    }
    int skip = diff_start(argc, argv);
    if (skip)
        return skip;
    unsigned iters = diff_iterations(argc, argv, DEFAULT_ITERS);
    const char *seed_env = getenv("ANYHV_FUZZ_SEED"), *first_env = getenv("ANYHV_FUZZ_FIRST");
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10) : 1;
    unsigned first = first_env ? (unsigned)strtoul(first_env, NULL, 10) : 0;
    struct xg g;
    for (int i = 1; i < argc; i++) {
        mode32 = mode32 || strcmp(argv[i], "--mode32") == 0;
        mode16 = mode16 || strcmp(argv[i], "--mode16") == 0;
    }
    if (xg_create(&g) != 0 ||
        (mode16 ? xg_real_mode(&g, REAL_SEG, 0) : mode32 ? xg_protected32(&g) : xg_long_mode(&g)) != 0) {
        printf("FAIL: VM setup\n");
        return 1;
    }
    csh h;
    if (cs_open(CS_ARCH_X86, mode16 ? CS_MODE_16 : mode32 ? CS_MODE_32 : CS_MODE_64, &h) != CS_ERR_OK)
        return 1;
    static struct xg87_case t;
    static struct outcome a, n;
    unsigned failures = 0, faults = 0, insns = 0, approx = 0, undefined = 0;
    for (unsigned i = first; i < first + iters && failures < 5; i++) {
        xg87_make(seed, i, &t);
        if (mode32 || mode16)
            t.rax &= 0xffffffffu;   /* EAX: the upper half is out of reach in 32-bit code */
        if (undefined_result(&t)) {
            undefined++;
            continue;
        }
        int ra = run_soft(&g, &t, &a), rn = run_native(&t, &n);
        insns += t.count;
        if (ra != 0 || rn != 0 || !same(&t, &a, &n)) {
            printf("(anyhv run %d, native run %d)\n", ra, rn);
            report(h, &t, &a, &n, seed, i);
            first_divergence(&g, &t);
            failures++;
        } else {
            faults += a.vector != NO_VECTOR;
            approx += t.approx;
        }
    }
    printf("%u sequences (%u instructions, %u ending in the same exception, %u compared within tolerance, "
           "%u with an SDM-undefined result not compared), %u mismatches\n", iters, insns, faults, approx, undefined,
           failures);
    cs_close(&h);
    xg_destroy(&g);
    return failures ? 1 : 0;
}
