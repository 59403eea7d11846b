/* diff_unicorn.c - differential testing of the soft CPU's x86-64 frontend against
 * Unicorn: random user-level integer instruction sequences (diff_gen.h) from random
 * register states, run on both; registers, the flags each sequence leaves defined
 * and the written memory must agree. A mismatch prints the Capstone listing, both
 * register files side by side, the memory diff and the block's IR before and after
 * the passes. Iterations: a count argument, else ANYHV_FUZZ_ITERS, else a bounded slice. */
#include <inttypes.h>
#include <stdio.h>
#include <anyhv/anyhv.h>
#include <unicorn/unicorn.h>

#include "diff_gen.h"
#include "diff_main.h"
#include "x86_guest.h"

#include "core/soft/soft.h"
#include "core/vm.h"
#include "frontends/x86_64/x86_fe.h"

#define DEFAULT_ITERS 3000
#define CODE_SLOTS 256
#define CODE_AREA 0x100000u
#define DATA_SIZE 0x1000u
#define STACK_LOW (XG_STACK_TOP - 0x1000u)
#define RBX_VALUE (XG_DATA + 0x800u)
#define RSP_VALUE (XG_STACK_TOP - 0x400u)
#define HLT_BYTE 0xf4
#define EPT_EXIT 0x100      /* pseudo-vector: the access left guest RAM (EPT violation) */

static const char *const gpr_names[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                           "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15" };
static const hv_x86_reg_t hv_gpr[16] = { HV_X86_RAX, HV_X86_RCX, HV_X86_RDX, HV_X86_RBX, HV_X86_RSP, HV_X86_RBP,
                                         HV_X86_RSI, HV_X86_RDI, HV_X86_R8,  HV_X86_R9,  HV_X86_R10, HV_X86_R11,
                                         HV_X86_R12, HV_X86_R13, HV_X86_R14, HV_X86_R15 };
static const int uc_gpr[16] = { UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
                                UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
                                UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
                                UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15 };

#define FXSAVE_SIZE 512
#define FXSAVE_XMM 160

/* 64-bit (default), flat 32-bit protected mode (ANYHV_DIFF_MODE=32 or --mode32) or
 * real mode (ANYHV_DIFF_MODE=16 or --mode16: DS = ES = 1000h, SS = 2E00h, code at
 * CS:0 below 1 MiB). */
static bool mode32, mode16;
#define REAL_CODE_AREA 0x90000u
#define REAL_CODE_SLOTS 16u
#define REAL_DS 0x1000u
#define REAL_SS ((XG_STACK_TOP - 0x1000u) >> 4)
#define REAL_BX 0x800u
#define REAL_SP 0xc00u
static const int uc_gpr32[8] = { UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
                                 UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI };

static unsigned nregs(void) { return mode32 || mode16 ? 8 : 16; }
static uint64_t reg_mask(void) { return mode32 || mode16 ? 0xffffffffull : ~0ull; }

struct outcome {
    uint64_t gpr[16], rflags, rip;
    uint8_t xmm[16][16];
    int vector;           /* exception vector, -1 when the sequence completed */
    int uc_err;           /* Unicorn's return code (0 on the anyhv side) */
    uint8_t data[DATA_SIZE], stack[0x1000];
};

struct testcase {
    uint8_t code[DG_MAX_BYTES + 1];
    unsigned len, count;
    uint32_t undefined;
    uint64_t code_addr;
    uint64_t gpr[16], rflags;
    uint8_t xmm[16][16];
    uint8_t data[DATA_SIZE];
};

static uint64_t interesting(struct dg_rng *r)
{
    static const uint64_t v[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
                                  0xffffffff, 0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
                                  ~0ull, 31, 32, 63, 64 };
    uint64_t pick = dg_next(r);
    return (pick & 3) == 0 ? v[(pick >> 8) % (sizeof(v) / sizeof(v[0]))] : dg_next(r);
}

static void make_case(csh h, cs_insn *ins, uint64_t seed, unsigned index, struct testcase *t)
{
    struct dg_rng r = { seed * 0x9e3779b97f4a7c15ull + index * 0xbf58476d1ce4e5b9ull + 1 };
    for (int i = 0; i < 4; i++)
        dg_next(&r);
    unsigned n = 1 + (unsigned)(dg_next(&r) % DG_MAX_INSNS);
    t->len = dg_generate(h, ins, &r, n, t->code, &t->undefined, &t->count);
    t->code[t->len] = HLT_BYTE;
    t->code_addr = mode16 ? REAL_CODE_AREA + (index % REAL_CODE_SLOTS) * 0x1000u
                          : CODE_AREA + (index % CODE_SLOTS) * 0x1000u;
    for (int i = 0; i < 16; i++)
        t->gpr[i] = interesting(&r) & reg_mask();
    t->gpr[3] = mode16 ? REAL_BX : RBX_VALUE;
    t->gpr[4] = mode16 ? REAL_SP : RSP_VALUE;
    for (int i = 0; i < 16; i++)
        for (int k = 0; k < 16; k += 8) {
            uint64_t v = interesting(&r);
            memcpy(&t->xmm[i][k], &v, 8);
        }
    t->rflags = 0x2 | (dg_next(&r) & DG_ALL);
    for (unsigned i = 0; i < DATA_SIZE; i += 8) {
        uint64_t v = interesting(&r);
        memcpy(t->data + i, &v, 8);
    }
}

/* ---- anyhv soft route ----------------------------------------------------------- */

static int run_anyhv(struct xg *g, const struct testcase *t, struct outcome *o)
{
    /* The client rewrites code between runs, as a VMM loading programs would: a
     * remap tells every backend the old contents are gone. */
    hv_vm_unmap(0, XG_RAM_SIZE);
    memcpy(g->ram + t->code_addr, t->code, t->len + 1);
    memcpy(g->ram + XG_DATA, t->data, DATA_SIZE);
    memset(g->ram + STACK_LOW, 0, 0x1000);
    if (hv_vm_map(g->ram, 0, XG_RAM_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC) != HV_SUCCESS)
        return -1;
    for (int i = 0; i < 16; i++)
        hv_vcpu_write_register(g->vcpu, hv_gpr[i], t->gpr[i]);
    hv_vcpu_write_register(g->vcpu, HV_X86_RFLAGS, t->rflags);
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, t->code_addr);
    if (mode16) {
        xg_real_mode(g, (uint16_t)(t->code_addr >> 4), 0);
        const unsigned data_segs[3] = { 0, 3, 5 };   /* ES, DS, GS */
        for (unsigned k = 0; k < 3; k++)
            xg_seg(g, data_segs[k], REAL_DS, (uint64_t)REAL_DS << 4, 0xffff, XG_AR_DATA16);
        xg_seg(g, 2, REAL_SS, (uint64_t)REAL_SS << 4, 0xffff, XG_AR_DATA16);
        xg_vmcs(g, VMCS_CTRL_CR4_SHADOW, XG_CR4_OSFXSR);
        xg_vmcs(g, VMCS_GUEST_CR4, XG_CR4_VMXE | XG_CR4_OSFXSR);
        for (int i = 0; i < 8; i++)
            hv_vcpu_write_register(g->vcpu, hv_gpr[i], t->gpr[i]);
        hv_vcpu_write_register(g->vcpu, HV_X86_RFLAGS, t->rflags);
    }
    static uint8_t fx[FXSAVE_SIZE];
    hv_vcpu_read_fpstate(g->vcpu, fx, sizeof(fx));
    memcpy(fx + FXSAVE_XMM, t->xmm, sizeof(t->xmm));
    hv_vcpu_write_fpstate(g->vcpu, fx, sizeof(fx));
    if (hv_vcpu_run(g->vcpu) != HV_SUCCESS)
        return -1;
    uint32_t reason = xg_exit_reason(g);
    o->vector = -1;
    if (reason == VMX_REASON_EXC_NMI)
        o->vector = (int)(xg_read_vmcs(g, VMCS_RO_VMEXIT_IRQ_INFO) & 0xff);
    else if (reason == VMX_REASON_EPT_VIOLATION)
        o->vector = EPT_EXIT;   /* outside the 2 MiB of RAM without paging */
    else if (reason != VMX_REASON_HLT)
        return -2;
    for (int i = 0; i < 16; i++)
        o->gpr[i] = xg_reg(g, hv_gpr[i]);
    o->rflags = xg_reg(g, HV_X86_RFLAGS);
    o->rip = xg_reg(g, HV_X86_RIP);
    hv_vcpu_read_fpstate(g->vcpu, fx, sizeof(fx));
    memcpy(o->xmm, fx + FXSAVE_XMM, sizeof(o->xmm));
    memcpy(o->data, g->ram + XG_DATA, DATA_SIZE);
    memcpy(o->stack, g->ram + STACK_LOW, 0x1000);
    return 0;
}

#define UC_STOPPED_EARLY (-2)

/* ---- Unicorn -------------------------------------------------------------------- */

static int uc_vector;

static void on_interrupt(uc_engine *uc, uint32_t intno, void *user)
{
    (void)user;
    if (uc_vector < 0)
        uc_vector = (int)intno;   /* the first one: delivery may fault again before the stop */
    uc_emu_stop(uc);
}

static int run_unicorn(uc_engine *uc, const struct testcase *t, struct outcome *o)
{
    static uint8_t zero[0x1000];
    /* Unicorn 2.0.1 keeps translations across uc_mem_write: drop the slot's. */
    uc_ctl_remove_cache(uc, t->code_addr, t->code_addr + 0x1000);
    uc_mem_write(uc, t->code_addr, t->code, t->len + 1);
    uc_mem_write(uc, XG_DATA, t->data, DATA_SIZE);
    uc_mem_write(uc, STACK_LOW, zero, sizeof(zero));
    if (mode16) {
        int cs = (int)(t->code_addr >> 4), ds = REAL_DS, ss = REAL_SS;
        uc_reg_write(uc, UC_X86_REG_CS, &cs);
        uc_reg_write(uc, UC_X86_REG_DS, &ds);
        uc_reg_write(uc, UC_X86_REG_ES, &ds);
        uc_reg_write(uc, UC_X86_REG_GS, &ds);
        uc_reg_write(uc, UC_X86_REG_SS, &ss);
        uint64_t cr4 = 0x600;
        uc_reg_write(uc, UC_X86_REG_CR4, &cr4);
    }
    for (unsigned i = 0; i < nregs(); i++)
        uc_reg_write(uc, mode32 || mode16 ? uc_gpr32[i] : uc_gpr[i], &t->gpr[i]);
    uc_reg_write(uc, mode32 || mode16 ? UC_X86_REG_EFLAGS : UC_X86_REG_RFLAGS, &t->rflags);
    for (unsigned i = 0; i < nregs(); i++)
        uc_reg_write(uc, UC_X86_REG_XMM0 + (int)i, t->xmm[i]);
    uc_vector = -1;
    uc_err err = uc_emu_start(uc, t->code_addr, t->code_addr + t->len, 0, 0);
    o->uc_err = (int)err;
    if (err == UC_ERR_INSN_INVALID) {
        uc_reg_read(uc, mode32 || mode16 ? UC_X86_REG_EIP : UC_X86_REG_RIP, &o->rip);
        return 1;   /* the oracle lacks an encoding the SDM defines: no verdict */
    }
    if (err != UC_ERR_OK && uc_vector < 0 && err != UC_ERR_READ_UNMAPPED && err != UC_ERR_WRITE_UNMAPPED)
        return -1;
    o->vector = uc_vector;
    uint64_t rip = 0;
    uc_reg_read(uc, mode32 || mode16 ? UC_X86_REG_EIP : UC_X86_REG_RIP, &rip);
    if (uc_vector < 0 && rip != (mode16 ? 0 : t->code_addr) + t->len)
        o->vector = UC_STOPPED_EARLY;   /* a fault Unicorn did not report through the hook */
    memset(o->gpr, 0, sizeof(o->gpr));
    memcpy(o->xmm, t->xmm, sizeof(o->xmm));
    o->rflags = 0;
    for (unsigned i = 0; i < nregs(); i++)
        uc_reg_read(uc, mode32 || mode16 ? uc_gpr32[i] : uc_gpr[i], &o->gpr[i]);
    uc_reg_read(uc, mode32 || mode16 ? UC_X86_REG_EFLAGS : UC_X86_REG_RFLAGS, &o->rflags);
    for (unsigned i = 0; i < nregs(); i++)
        uc_reg_read(uc, UC_X86_REG_XMM0 + (int)i, o->xmm[i]);
    o->rip = rip;
    uc_mem_read(uc, XG_DATA, o->data, DATA_SIZE);
    uc_mem_read(uc, STACK_LOW, o->stack, sizeof(o->stack));
    return 0;
}

/* ---- comparison and report --------------------------------------------------------- */

static bool nan32(uint32_t v) { return (v & 0x7f800000u) == 0x7f800000u && (v & 0x7fffffu); }
static bool nan64(uint64_t v)
{
    return (v & 0x7ff0000000000000ull) == 0x7ff0000000000000ull && (v & 0xfffffffffffffull);
}

/* Equal, or different only where both hold a NaN: QEMU's softfloat picks a
 * different NaN than the hardware when both operands are NaNs (an oracle quirk). */
static bool same_xmm(const uint8_t *a, const uint8_t *u)
{
    if (memcmp(a, u, 16) == 0)
        return true;
    bool ok32 = true, ok64 = true;
    for (int k = 0; k < 4; k++) {
        uint32_t x, y;
        memcpy(&x, a + 4 * k, 4);
        memcpy(&y, u + 4 * k, 4);
        ok32 = ok32 && (x == y || (nan32(x) && nan32(y)));
    }
    for (int k = 0; k < 2; k++) {
        uint64_t x, y;
        memcpy(&x, a + 8 * k, 8);
        memcpy(&y, u + 8 * k, 8);
        ok64 = ok64 && (x == y || (nan64(x) && nan64(y)));
    }
    return ok32 || ok64;
}

/* Unicorn (no IDT) reports a divide error as #DF; same event. */
#define UC_DE_AS_DF 8
#define PF_VECTOR 14

static bool same(const struct testcase *t, const struct outcome *a, const struct outcome *u)
{
    bool de_alias = a->vector == 0 && u->vector == UC_DE_AS_DF;
    bool silent = a->vector >= 0 && u->vector == UC_STOPPED_EARLY && a->rip == u->rip;
    /* A page fault (beyond the mapped 2 MiB) is Unicorn's unmapped-memory error. */
    bool unmapped = (a->vector == PF_VECTOR || a->vector == EPT_EXIT) &&
                    (u->uc_err == UC_ERR_READ_UNMAPPED || u->uc_err == UC_ERR_WRITE_UNMAPPED);
    if (unmapped)
        return true;
    if (a->vector != u->vector && !de_alias && !silent)
        return false;
    if (a->vector >= 0)
        return true;   /* both faulted the same way; the fault point state is not compared */
    for (unsigned i = 0; i < nregs(); i++)
        if ((a->gpr[i] ^ u->gpr[i]) & reg_mask())
            return false;
    for (int i = 0; i < 16; i++)
        if (!same_xmm(a->xmm[i], u->xmm[i]))
            return false;
    uint64_t mask = DG_ALL & ~t->undefined;
    return ((a->rflags ^ u->rflags) & mask) == 0 && memcmp(a->data, u->data, DATA_SIZE) == 0 &&
           memcmp(a->stack, u->stack, sizeof(a->stack)) == 0;
}

static void print_listing(csh h, cs_insn *ins, const struct testcase *t)
{
    const uint8_t *p = t->code;
    size_t size = t->len;
    uint64_t addr = t->code_addr;
    printf("listing (%u instructions):\n", t->count);
    while (size && cs_disasm_iter(h, &p, &size, &addr, ins)) {
        printf("  %08" PRIx64 "  ", ins->address);
        for (unsigned i = 0; i < 10; i++)
            printf(i < ins->size ? "%02x" : "  ", ins->bytes[i]);
        printf("  %s %s\n", ins->mnemonic, ins->op_str);
    }
}

static void print_ir(struct xg *g, const struct testcase *t)
{
    struct vcpu *v = NULL;
    if (vcpu_get_owned(g->vcpu, &v) != HV_SUCCESS || !v)
        return;
    struct x86_state *st = v->st.x86;
    st->rip = t->code_addr;
    struct soft_cpu cpu;
    memset(&cpu, 0, sizeof(cpu));
    cpu.vcpu = v;
    cpu.state = st;
    cpu.fe = &x86_soft_frontend;
    struct ir_block b;
    ir_block_init(&b, t->code_addr);
    static char text[1 << 16];
    if (x86_translate_standalone(&cpu, &b)) {
        ir_dump(&b, text, sizeof(text));
        printf("IR before passes:\n%s", text);
        ir_optimize(&b, x86_flag_offsets, 6);
        ir_dump(&b, text, sizeof(text));
        printf("IR after passes:\n%s", text);
    }
    ir_block_free(&b);
}

static void report(csh h, cs_insn *ins, struct xg *g, const struct testcase *t, const struct outcome *a,
                   const struct outcome *u, uint64_t seed, unsigned index)
{
    printf("MISMATCH seed %" PRIu64 " case %u\n", seed, index);
    print_listing(h, ins, t);
    printf("exception: anyhv %d, unicorn %d (unicorn status %d: %s); rip anyhv %" PRIx64 " unicorn %" PRIx64 "\n",
           a->vector, u->vector, u->uc_err, uc_strerror((uc_err)u->uc_err), a->rip, u->rip);
    printf("%-6s %-18s %-18s %-18s\n", "reg", "initial", "anyhv", "unicorn");
    for (int i = 0; i < 16; i++)
        printf("%-6s %016" PRIx64 "   %016" PRIx64 "   %016" PRIx64 "%s\n", gpr_names[i], t->gpr[i], a->gpr[i],
               u->gpr[i], a->gpr[i] != u->gpr[i] ? "  <--" : "");
    printf("%-6s %016" PRIx64 "   %016" PRIx64 "   %016" PRIx64 "  (compared bits %03x)%s\n", "rflags", t->rflags,
           a->rflags, u->rflags, DG_ALL & ~t->undefined,
           ((a->rflags ^ u->rflags) & DG_ALL & ~t->undefined) ? "  <--" : "");
    for (int i = 0; i < 16; i++)
        if (memcmp(a->xmm[i], u->xmm[i], 16) != 0) {
            uint64_t aq[2], uq[2], iq[2];
            memcpy(aq, a->xmm[i], 16);
            memcpy(uq, u->xmm[i], 16);
            memcpy(iq, t->xmm[i], 16);
            printf("xmm%-3d %016" PRIx64 "%016" PRIx64 " -> anyhv %016" PRIx64 "%016" PRIx64 " unicorn %016" PRIx64
                   "%016" PRIx64 "  <--\n", i, iq[1], iq[0], aq[1], aq[0], uq[1], uq[0]);
        }
    for (unsigned i = 0; i < DATA_SIZE; i++)
        if (a->data[i] != u->data[i])
            printf("  data+%03x: initial %02x anyhv %02x unicorn %02x\n", i, t->data[i], a->data[i], u->data[i]);
    for (unsigned i = 0; i < sizeof(a->stack); i++)
        if (a->stack[i] != u->stack[i])
            printf("  stack %05x: anyhv %02x unicorn %02x\n", STACK_LOW + i, a->stack[i], u->stack[i]);
    print_ir(g, t);
}

/* Which instruction the oracle refused (ANYHV_FUZZ_SHOW_REFUSED=1), to tell its
 * gaps from generator mistakes. */
static void show_refused(csh h, cs_insn *ins, const struct testcase *t, const struct outcome *u)
{
    uint64_t off = u->rip - t->code_addr;
    if (off >= t->len)
        return;
    const uint8_t *p = t->code + off;
    size_t size = t->len - off;
    uint64_t addr = u->rip;
    if (cs_disasm_iter(h, &p, &size, &addr, ins))
        printf("refused: %s %s\n", ins->mnemonic, ins->op_str);
}

int main(int argc, char **argv)
{
    int skip = diff_start(argc, argv);
    if (skip)
        return skip;
    unsigned iters = diff_iterations(argc, argv, DEFAULT_ITERS);
    const char *seed_env = getenv("ANYHV_FUZZ_SEED");
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10) : 1;
    struct xg g;
    const char *mode_env = getenv("ANYHV_DIFF_MODE");
    mode32 = (mode_env && strcmp(mode_env, "32") == 0);
    mode16 = (mode_env && strcmp(mode_env, "16") == 0);
    for (int i = 1; i < argc; i++) {
        mode32 = mode32 || strcmp(argv[i], "--mode32") == 0;
        mode16 = mode16 || strcmp(argv[i], "--mode16") == 0;
    }
    if (xg_create(&g) != 0 || (mode16 ? 0 : mode32 ? xg_protected32(&g) : xg_long_mode(&g)) != 0) {
        printf("FAIL: VM setup\n");
        return 1;
    }
    csh h;
    if (cs_open(CS_ARCH_X86, mode16 ? CS_MODE_16 : mode32 ? CS_MODE_32 : CS_MODE_64, &h) != CS_ERR_OK)
        return 1;
    cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
    cs_insn *ins = cs_malloc(h);
    uc_engine *uc;
    uc_hook hook;
    if (uc_open(UC_ARCH_X86, mode16 ? UC_MODE_16 : mode32 ? UC_MODE_32 : UC_MODE_64, &uc) != UC_ERR_OK || uc_mem_map(uc, 0, XG_RAM_SIZE, UC_PROT_ALL) != UC_ERR_OK ||
        uc_hook_add(uc, &hook, UC_HOOK_INTR, (void *)on_interrupt, NULL, 1, 0) != UC_ERR_OK) {
        printf("FAIL: unicorn setup\n");
        return 1;
    }
    static struct testcase t;
    static struct outcome a, u;
    unsigned failures = 0, faults = 0, insns = 0, refused = 0;
    const char *first_env = getenv("ANYHV_FUZZ_FIRST");
    unsigned first = first_env ? (unsigned)strtoul(first_env, NULL, 10) : 0;
    for (unsigned i = first; i < first + iters && failures < 5; i++) {
        make_case(h, ins, seed, i, &t);
        int ra = run_anyhv(&g, &t, &a), ru = run_unicorn(uc, &t, &u);
        insns += t.count;
        /* Unicorn sometimes stops silently before the end (2.0.1): no verdict then. */
        if (ra == 0 && ru == 0 && u.vector == UC_STOPPED_EARLY && (a.vector < 0 || a.rip != u.rip))
            ru = 1;
        if (ra == 0 && ru == 1) {
            if (getenv("ANYHV_FUZZ_SHOW_REFUSED"))
                show_refused(h, ins, &t, &u);
            refused++;
            continue;
        }
        if (ra != 0 || ru != 0 || !same(&t, &a, &u)) {
            printf("(anyhv run %d, unicorn run %d)\n", ra, ru);
            report(h, ins, &g, &t, &a, &u, seed, i);
            failures++;
        } else if (a.vector >= 0) {
            faults++;
        }
    }
    printf("%u sequences (%u instructions, %u ending in the same exception, %u Unicorn could not run), "
           "%u mismatches\n", iters, insns, faults, refused, failures);
    uc_close(uc);
    cs_free(ins, 1);
    cs_close(&h);
    xg_destroy(&g);
    return failures ? 1 : 0;
}
