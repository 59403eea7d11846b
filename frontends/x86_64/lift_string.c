/* lift_string.c - string instructions (SDM vol. 2: MOVS, STOS, LODS, SCAS, CMPS)
 * with REP/REPE/REPNE. A REP instruction runs one iteration per pass through its
 * block and loops back to itself, so every iteration is interruptible and every
 * fault leaves rCX/rSI/rDI exactly as the architecture says. In 64-bit mode a pass
 * of REP MOVS/STOS first moves in bulk what stays inside pages the TLB already maps
 * for the access (h_rep_bulk): Linux clears and copies pages with REP STOSB/MOVSB,
 * one byte an iteration, and a pass through the dispatcher per byte dominated its
 * boot. */
#include "frontends/x86_64/x86_fe.h"

#include <string.h>

enum str_kind { STR_MOVS, STR_STOS, STR_LODS, STR_SCAS, STR_CMPS };

static const struct { uint16_t op; uint8_t kind, size; } str_table[] = {
    { X86_I_MOVSB, STR_MOVS, 1 }, { X86_I_MOVSW, STR_MOVS, 2 }, { X86_I_MOVSD, STR_MOVS, 4 },
    { X86_I_MOVSQ, STR_MOVS, 8 }, { X86_I_STOSB, STR_STOS, 1 }, { X86_I_STOSW, STR_STOS, 2 },
    { X86_I_STOSD, STR_STOS, 4 }, { X86_I_STOSQ, STR_STOS, 8 }, { X86_I_LODSB, STR_LODS, 1 },
    { X86_I_LODSW, STR_LODS, 2 }, { X86_I_LODSD, STR_LODS, 4 }, { X86_I_LODSQ, STR_LODS, 8 },
    { X86_I_SCASB, STR_SCAS, 1 }, { X86_I_SCASW, STR_SCAS, 2 }, { X86_I_SCASD, STR_SCAS, 4 },
    { X86_I_SCASQ, STR_SCAS, 8 }, { X86_I_CMPSB, STR_CMPS, 1 }, { X86_I_CMPSW, STR_CMPS, 2 },
    { X86_I_CMPSD, STR_CMPS, 4 }, { X86_I_CMPSQ, STR_CMPS, 8 },
};

/* The source segment: DS unless the rSI operand carries an override. */
static unsigned source_segment(const struct x86_dinsn *in)
{
    for (unsigned i = 0; i < in->nops; i++)
        if (in->o[i].kind == X86_OPND_MEM && in->o[i].mem.base.num == X86_RSI && in->o[i].mem.seg_override)
            return in->o[i].mem.seg;
    return X86_DS;
}

static bool has_xmm(const struct x86_dinsn *in)
{
    for (unsigned i = 0; i < in->nops; i++)
        if (in->o[i].kind == X86_OPND_REG && in->o[i].reg.cls == X86_RC_XMM)
            return true;
    return false;
}

/* +size or -size by RFLAGS.DF, at the address size. */
static ir_val step(struct x86_ctx *c, unsigned size)
{
    unsigned as = c->in->addr_size;
    ir_val df = ir_extract(c->b, IR_I1, ir_get(c->b, IR_I64, X86_OFF_RFLAGS), X86_FLAG_DF_BIT);
    return ir_select(c->b, df, x86_const(c, as, (uint64_t)-(int64_t)size), x86_const(c, as, size));
}

static ir_val str_addr(struct x86_ctx *c, unsigned seg, unsigned reg)
{
    return x86_linear(c, seg, x86_resize(c, x86_get_gpr(c, reg, c->in->addr_size), 8, false));
}

static void advance(struct x86_ctx *c, unsigned reg, ir_val d)
{
    unsigned as = c->in->addr_size;
    x86_set_gpr(c, reg, as, ir_binop(c->b, IR_ADD, x86_get_gpr(c, reg, as), d));
}

static void one_iteration(struct x86_ctx *c, enum str_kind k, unsigned size)
{
    unsigned src_seg = source_segment(c->in);
    ir_val d = step(c, size);
    ir_val v, m;
    switch (k) {
    case STR_MOVS:
        v = x86_load(c, str_addr(c, src_seg, X86_RSI), size, src_seg);
        x86_store(c, str_addr(c, X86_ES, X86_RDI), v, size, X86_ES);
        advance(c, X86_RSI, d);
        advance(c, X86_RDI, d);
        break;
    case STR_STOS:
        x86_store(c, str_addr(c, X86_ES, X86_RDI), x86_get_gpr(c, X86_RAX, size), size, X86_ES);
        advance(c, X86_RDI, d);
        break;
    case STR_LODS:
        x86_set_gpr(c, X86_RAX, size, x86_load(c, str_addr(c, src_seg, X86_RSI), size, src_seg));
        advance(c, X86_RSI, d);
        break;
    case STR_SCAS:
        v = x86_get_gpr(c, X86_RAX, size);
        m = x86_load(c, str_addr(c, X86_ES, X86_RDI), size, X86_ES);
        x86_flags_sub(c, v, m, ir_binop(c->b, IR_SUB, v, m), IR_NONE);
        advance(c, X86_RDI, d);
        break;
    case STR_CMPS:
        v = x86_load(c, str_addr(c, src_seg, X86_RSI), size, src_seg);
        m = x86_load(c, str_addr(c, X86_ES, X86_RDI), size, X86_ES);
        x86_flags_sub(c, v, m, ir_binop(c->b, IR_SUB, v, m), IR_NONE);
        advance(c, X86_RSI, d);
        advance(c, X86_RDI, d);
        break;
    }
}

/* ---- REP MOVS/STOS in bulk ------------------------------------------------------ */

#define BULK_MOVS 0x100u   /* h_rep_bulk's first argument: element size | kind | user */
#define BULK_USER 0x200u
#define RFLAGS_TF (1ull << 8)
#define RFLAGS_DF (1ull << X86_FLAG_DF_BIT)
#define RFLAGS_AC (1ull << 18)
#define DR7_ENABLES 0xffull

/* Host address of [va, va + len) when the TLB maps it, in regime r, for the access,
 * inside one page: the same fast-path test the tiers' loads and stores make (a code
 * page, a watched page or MMIO never passes it), else NULL. */
static uint8_t *bulk_host(struct soft_cpu *cpu, unsigned r, uint64_t va, uint64_t len, uint32_t access)
{
    const struct mmu_entry *e = mmu_tlb_lookup(&cpu->tlb, r, va, access);
    if (!e || (va & ~MMU_PAGE_MASK) + len > MMU_PAGE_SIZE)
        return NULL;
    return e->host + (va & ~MMU_PAGE_MASK);
}

/* Elements of `size` bytes that fit from va to the end of its page. */
static uint64_t fit_in_page(uint64_t va, unsigned size)
{
    return (MMU_PAGE_SIZE - (va & ~MMU_PAGE_MASK)) / size;
}

/* Forward element order, as the iterations would do it: memmove differs only when
 * the destination starts inside the source (a pattern replicates). */
static void bulk_copy(uint8_t *dst, const uint8_t *src, uint64_t n, unsigned size)
{
    if (dst <= src || dst >= src + n * size) {
        memmove(dst, src, n * size);
        return;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint8_t t[8];
        memcpy(t, src + i * size, size);
        memcpy(dst + i * size, t, size);
    }
}

static void bulk_fill(uint8_t *dst, uint64_t v, uint64_t n, unsigned size)
{
    if (size == 1) {
        memset(dst, (int)(v & 0xff), n);
        return;
    }
    for (uint64_t i = 0; i < n; i++)
        memcpy(dst + i * size, &v, size);
}

/* REP MOVS/STOS, 64-bit addressing, DF = 0: run up to RCX - 1 iterations at once
 * while both operands stay in pages the TLB maps for the access; the pass's own
 * iteration then runs the precise way (faults, MMIO, code writes, the last one).
 * Nothing happens when a debugger or the guest could observe single iterations
 * (TF, data breakpoints in DR7, alignment checking). */
static ir_u128 h_rep_bulk(void *vcpu, ir_u128 how, ir_u128 unused1, ir_u128 unused2)
{
    (void)unused1, (void)unused2;
    struct soft_cpu *cpu = vcpu;
    struct x86_state *st = x86_st(cpu);
    unsigned size = (unsigned)how & 0xffu;
    bool movs = (how & BULK_MOVS) != 0;
    unsigned r = (how & BULK_USER) || cpu->regime == 1 ? 1u : cpu->regime;
    uint32_t user = r == 1 ? MMU_USER : 0;
    uint64_t rcx = st->gpr[X86_RCX], rdi = st->gpr[X86_RDI], rsi = st->gpr[X86_RSI];
    if (rcx < 2 || (st->rflags & (RFLAGS_TF | RFLAGS_DF | RFLAGS_AC)) || (st->dr[7] & DR7_ENABLES))
        return 0;
    uint64_t n = fit_in_page(rdi, size);
    if (movs && fit_in_page(rsi, size) < n)
        n = fit_in_page(rsi, size);
    if (n > rcx - 1)
        n = rcx - 1;
    if (n == 0)
        return 0;
    uint8_t *dst = bulk_host(cpu, r, rdi, n * size, MMU_WRITE | user);
    const uint8_t *src = movs ? bulk_host(cpu, r, rsi, n * size, MMU_READ | user) : NULL;
    if (!dst || (movs && !src))
        return 0;
    if (movs)
        bulk_copy(dst, src, n, size);
    else
        bulk_fill(dst, st->gpr[X86_RAX], n, size);
    st->gpr[X86_RCX] = rcx - n;
    st->gpr[X86_RDI] = rdi + n * size;
    if (movs)
        st->gpr[X86_RSI] = rsi + n * size;
    return 0;
}

const struct ir_helper x86_rep_bulk_helper = {
    "x86_rep_bulk", h_rep_bulk, IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MEM,
};

/* Whether a REP pass may start with h_rep_bulk: MOVS or STOS with 64-bit addressing
 * in 64-bit mode, the source (MOVS) in a segment whose base 64-bit mode ignores. */
static bool bulk_ok(const struct x86_ctx *c, enum str_kind k)
{
    if (c->code != X86_CODE64 || c->in->addr_size != 8 || (c->in->prefixes & X86_PFX_REPNE))
        return false;
    if (k == STR_STOS)
        return true;
    unsigned seg = source_segment(c->in);
    return k == STR_MOVS && seg != X86_FS && seg != X86_GS;
}

bool lift_string(struct x86_ctx *c)
{
    const struct x86_dinsn *in = c->in;
    if (has_xmm(in))   /* SSE MOVSD and CMPSD (predicate imm8 above 7) share the ids */
        return in->op == X86_I_MOVSD ? lift_movss_movsd_sse(c) : lift_sse_op(c);
    unsigned i = 0;
    while (i < sizeof(str_table) / sizeof(str_table[0]) && str_table[i].op != in->op)
        i++;
    enum str_kind k = (enum str_kind)str_table[i].kind;
    unsigned size = str_table[i].size;
    bool rep = (in->prefixes & (X86_PFX_REP | X86_PFX_REPNE)) != 0;
    if (!rep) {
        one_iteration(c, k, size);
        return true;
    }
    struct ir_block *B = c->b;
    unsigned as = in->addr_size;
    x86_dbg_step_mark(c);   /* a single step also ends with rCX already 0 */
    ir_val done = x86_is_zero(c, x86_get_gpr(c, X86_RCX, as));
    ir_set(B, X86_OFF_RIP, ir_select(B, done, ir_const(B, IR_I64, c->next_ip & x86_ip_mask(c)),
                                     ir_const(B, IR_I64, c->ip)));
    ir_exit_if(B, done, c->next_pc);
    if (bulk_ok(c, k)) {
        uint64_t how = size | (k == STR_MOVS ? BULK_MOVS : 0) | (c->cpl == 3 ? BULK_USER : 0);
        ir_call(B, IR_VOID, x86_helper[X86_H_REP_BULK], ir_const(B, IR_I64, how), ir_const(B, IR_I64, 0),
                ir_const(B, IR_I64, 0));
    }
    one_iteration(c, k, size);
    ir_val cnt = ir_binop(B, IR_SUB, x86_get_gpr(c, X86_RCX, as), x86_const(c, as, 1));
    x86_set_gpr(c, X86_RCX, as, cnt);
    ir_val again = ir_binop(B, IR_NE, cnt, x86_const(c, as, 0));
    if (k == STR_SCAS || k == STR_CMPS) {
        ir_val zf = x86_get_flag(c, X86_OFF_FLAG(zf));
        if (in->prefixes & X86_PFX_REPNE)
            zf = ir_binop(B, IR_XOR, zf, ir_const(B, IR_I1, 1));
        again = ir_binop(B, IR_AND, again, zf);
    }
    x86_branch_ip(c, again, c->ip);
    return true;
}
