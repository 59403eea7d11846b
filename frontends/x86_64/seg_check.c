/* seg_check.c - segment limit and type checks on data accesses outside 64-bit mode
 * (SDM vol. 3A 5.3, 5.5): the bounds every access is checked against, derived once
 * from the segment registers into state (struct x86_soft_seg), the IR guard lifters
 * emit, and the same check for system code (event frames, far transfers). Flat
 * segments (base any, limit 4 GiB, expand-up, usable, writable data / readable code)
 * need no check: while all six are flat the mode key says so and nothing is emitted. */
#include "frontends/x86_64/x86_fe.h"

#define TYPE_CODE 0x8u
#define TYPE_EXPAND_DOWN 0x4u      /* data */
#define TYPE_WRITABLE 0x2u         /* data */
#define TYPE_READABLE 0x2u         /* code */
#define LIMIT_4G 0xffffffffull
#define LIMIT_64K 0xffffull
#define DATA_SEGS 6u

static const struct x86_seg_bounds none = { .rlo = 1, .rhi = 0, .wlo = 1, .whi = 0 };

/* Protected-mode rules apply (types, null selectors, expand-down), not real-mode or
 * virtual-8086 ones (limit only). */
static bool protected_rules(const struct x86_state *st)
{
    return (st->cr0 & X86_CR0_PE) && !(st->rflags & X86_FLAG_VM);
}

static struct x86_seg_bounds bounds_of(const struct x86_segment *s, bool prot)
{
    struct x86_seg_bounds b = { .rlo = 0, .rhi = s->limit, .wlo = 0, .whi = s->limit };
    if (!prot)
        return b;
    if (s->ar & X86_AR_UNUSABLE)
        return none;
    unsigned type = s->ar & X86_AR_TYPE_MASK;
    if (type & TYPE_CODE) {
        b.wlo = 1;
        b.whi = 0;
        if (!(type & TYPE_READABLE))
            b = none;
        return b;
    }
    if (type & TYPE_EXPAND_DOWN) {
        b.rlo = b.wlo = (uint64_t)s->limit + 1;
        b.rhi = b.whi = (s->ar & X86_AR_DB) ? LIMIT_4G : LIMIT_64K;
    }
    if (!(type & TYPE_WRITABLE)) {
        b.wlo = 1;
        b.whi = 0;
    }
    return b;
}

static bool is_flat(const struct x86_seg_bounds *b, unsigned seg)
{
    bool reads = b->rlo == 0 && b->rhi == LIMIT_4G;
    /* CS is never writable in protected mode: CS-override writes fault whatever the
     * bounds say, decided at translation time, so CS counts as flat when readable. */
    return reads && (seg == X86_CS || (b->wlo == 0 && b->whi == LIMIT_4G));
}

bool x86_seg_needs_checks(const struct x86_state *st)
{
    if (x86_code_size_of(st) == X86_CODE64)
        return false;
    bool prot = protected_rules(st);
    for (unsigned i = 0; i < DATA_SEGS; i++) {
        struct x86_seg_bounds b = bounds_of(&st->seg[i], prot);
        if (!is_flat(&b, i))
            return true;
    }
    return false;
}

void x86_seg_bounds_update(struct x86_state *st)
{
    bool prot = protected_rules(st);
    for (unsigned i = 0; i < DATA_SEGS; i++)
        st->soft_seg.b[i] = bounds_of(&st->seg[i], prot);
    st->soft_seg.checked = x86_seg_needs_checks(st);
    st->soft_seg.valid = 1;
}

bool x86_seg_access_ok(const struct x86_state *st, const struct x86_segment *s, uint64_t off, unsigned size,
                       bool write)
{
    if (x86_code_size_of(st) == X86_CODE64)
        return true;
    struct x86_seg_bounds b = bounds_of(s, protected_rules(st));
    uint64_t lo = write ? b.wlo : b.rlo, hi = write ? b.whi : b.rhi;
    return off >= lo && off + size - 1 <= hi;
}

/* ---- lifter side -------------------------------------------------------------------- */

#define OFF_BOUND(seg, field)                                                                          \
    ((uint32_t)(offsetof(struct x86_state, soft_seg) + offsetof(struct x86_soft_seg, b) +              \
                sizeof(struct x86_seg_bounds) * (seg) + offsetof(struct x86_seg_bounds, field)))

/* Fault vector of a segment violation: #SS for the stack segment, else #GP (both
 * with error code 0; real mode pushes none). */
static uint64_t violation(unsigned seg)
{
    return seg == X86_SS ? X86_V_SS : X86_V_GP;
}

void x86_seg_note(struct x86_ctx *c, unsigned seg, ir_val off, ir_val lin)
{
    if (c->code == X86_CODE64 || c->nsegref >= X86_MAX_SEGREFS)
        return;
    c->segref[c->nsegref].lin = lin;
    c->segref[c->nsegref].off = off;
    c->segref[c->nsegref].seg = (uint8_t)seg;
    c->nsegref++;
}

void x86_seg_check_off(struct x86_ctx *c, unsigned seg, ir_val off, unsigned size, bool write)
{
    struct ir_block *B = c->b;
    if (c->code == X86_CODE64 || seg >= DATA_SEGS)
        return;
    bool prot = (c->mode & X86_MK_PE) && !(c->mode & X86_MK_VM86);
    if (write && seg == X86_CS && prot) {
        ir_trap_if(B, ir_const(B, IR_I1, 1), X86_V_GP);
        return;
    }
    if (!(c->mode & X86_MK_SEGCHK))
        return;
    ir_val lo = ir_get(B, IR_I64, write ? OFF_BOUND(seg, wlo) : OFF_BOUND(seg, rlo));
    ir_val hi = ir_get(B, IR_I64, write ? OFF_BOUND(seg, whi) : OFF_BOUND(seg, rhi));
    off = x86_resize(c, off, 8, false);
    ir_val end = size > 1 ? ir_binop(B, IR_ADD, off, ir_const(B, IR_I64, size - 1)) : off;
    ir_val bad = ir_binop(B, IR_OR, ir_binop(B, IR_ULT, off, lo), ir_binop(B, IR_ULT, hi, end));
    ir_trap_if(B, bad, violation(seg));
}

/* Code segments are never expand-down and CS has no null case: only the limit counts
 * (SDM vol. 3A 5.3). The limit is read at run time, so a block stays right when CS is
 * reloaded with the same base and mode but another limit. */
static bool cs_limit_armed(const struct x86_ctx *c)
{
    return c->code != X86_CODE64 && (c->mode & X86_MK_SEGCHK);
}

void x86_cs_limit_check_const(struct x86_ctx *c, ir_val taken, uint64_t last_ip)
{
    if (cs_limit_armed(c))
        x86_cs_limit_check(c, taken, ir_const(c->b, IR_I64, last_ip));
}

void x86_cs_limit_check(struct x86_ctx *c, ir_val taken, ir_val last_ip)
{
    struct ir_block *B = c->b;
    if (!cs_limit_armed(c))
        return;
    ir_val limit = ir_cast(B, IR_ZEXT, IR_I64, ir_get(B, IR_I32, X86_OFF_SEG_LIMIT(X86_CS)));
    ir_val beyond = ir_binop(B, IR_ULT, limit, x86_resize(c, last_ip, 8, false));
    ir_trap_if(B, taken == IR_NONE ? beyond : ir_binop(B, IR_AND, taken, beyond), X86_V_GP);
}

void x86_seg_guard(struct x86_ctx *c, ir_val lin, unsigned size, bool write)
{
    for (unsigned i = c->nsegref; i > 0; i--) {
        if (c->segref[i - 1].lin == lin) {
            x86_seg_check_off(c, c->segref[i - 1].seg, c->segref[i - 1].off, size, write);
            return;
        }
    }
}
