/* interp.c - tier 0, the reference executor of the IR. Values live in a slot array
 * of 128-bit cells, always zero-extended from their width, so ops up to 64 bits work
 * on the low word and mask once. The dispatch switch is generated from ir_ops.def:
 * an op without an x_<NAME> function here does not compile. */
#include "jit/interp.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/soft/soft.h"
#include "jit/interp_vec.h"

/* The instruction count and the current instruction live in locals while a block
 * runs; sync() publishes them to the soft_cpu before anything out of line can look
 * (helpers, memory slow paths, leaving the block). */
struct ictx {
    struct soft_cpu *cpu;
    ir_u128 *v;
    uint8_t *state;
    uint64_t icount;                   /* retired, the open instruction excluded */
    const struct interp_insn *start;   /* the open instruction's insn_start, or NULL */
};

static inline void sync(struct ictx *c)
{
    struct soft_cpu *cpu = c->cpu;
    cpu->icount = c->icount;
    cpu->insn_open = c->start != NULL;
    if (c->start) {
        cpu->insn_pc = c->start->imm;
        cpu->insn_len = (uint32_t)c->start->imm2;
    }
}

#define U64(c, s) ((uint64_t)(c)->v[(s)])
#define ALL128 (~(ir_u128)0)

static inline uint64_t mask_of(unsigned w)
{
    return w >= 64 ? ~0ull : (1ull << w) - 1;
}

static inline int64_t sx64(uint64_t x, unsigned w)
{
    return w >= 64 ? (int64_t)x : (int64_t)(x << (64 - w)) >> (64 - w);
}

static inline __int128 sx128(ir_u128 x, unsigned w)
{
    return w >= 128 ? (__int128)x : (__int128)(x << (128 - w)) >> (128 - w);
}

static inline ir_u128 mask128(unsigned w)
{
    return w >= 128 ? ALL128 : (((ir_u128)1 << w) - 1);
}

static inline bool wide(const struct interp_insn *in)
{
    return __builtin_expect(in->w == 128, 0);
}

/* ---- values and state ------------------------------------------------------ */

static inline int x_CONST(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = (ir_u128)in->imm | ((ir_u128)in->imm2 << 64);
    return 0;
}

static inline int x_GET(struct ictx *c, const struct interp_insn *in)
{
    const uint8_t *p = c->state + in->imm;
    switch (in->w) {
    case 1: c->v[in->dst] = *p & 1; break;
    case 8: c->v[in->dst] = *p; break;
    case 16: { uint16_t x; memcpy(&x, p, 2); c->v[in->dst] = x; break; }
    case 32: { uint32_t x; memcpy(&x, p, 4); c->v[in->dst] = x; break; }
    case 64: { uint64_t x; memcpy(&x, p, 8); c->v[in->dst] = x; break; }
    default: { ir_u128 x; memcpy(&x, p, 16); c->v[in->dst] = x; break; }
    }
    return 0;
}

static inline int x_SET(struct ictx *c, const struct interp_insn *in)
{
    uint8_t *p = c->state + in->imm;
    ir_u128 x = c->v[in->a];
    switch (in->w) {
    case 1: case 8: *p = (uint8_t)x; break;
    case 16: { uint16_t y = (uint16_t)x; memcpy(p, &y, 2); break; }
    case 32: { uint32_t y = (uint32_t)x; memcpy(p, &y, 4); break; }
    case 64: { uint64_t y = (uint64_t)x; memcpy(p, &y, 8); break; }
    default: memcpy(p, &x, 16); break;
    }
    return 0;
}

/* ---- arithmetic ------------------------------------------------------------ */

#define BINOP(NAME, EXPR64, EXPR128)                                                 \
    static inline int x_##NAME(struct ictx *c, const struct interp_insn *in)        \
    {                                                                               \
        if (wide(in)) {                                                             \
            ir_u128 x = c->v[in->a], y = c->v[in->b];                               \
            c->v[in->dst] = (EXPR128);                                              \
        } else {                                                                    \
            uint64_t x = U64(c, in->a), y = U64(c, in->b);                          \
            c->v[in->dst] = (EXPR64) & in->mask;                                    \
        }                                                                           \
        return 0;                                                                   \
    }

BINOP(ADD, x + y, x + y)
BINOP(SUB, x - y, x - y)
BINOP(MUL, x * y, x * y)
BINOP(AND, x & y, x & y)
BINOP(OR, x | y, x | y)
BINOP(XOR, x ^ y, x ^ y)
BINOP(UDIV, y ? x / y : 0, y ? x / y : 0)
BINOP(UREM, y ? x % y : x, y ? x % y : x)

/* High half of the double-width product. 128x128 goes through four 64-bit halves. */
static ir_u128 umulh128(ir_u128 x, ir_u128 y)
{
    ir_u128 xl = (uint64_t)x, xh = x >> 64, yl = (uint64_t)y, yh = y >> 64;
    ir_u128 ll = xl * yl, lh = xl * yh, hl = xh * yl, hh = xh * yh;
    ir_u128 mid = (ll >> 64) + (uint64_t)lh + (uint64_t)hl;
    return hh + (lh >> 64) + (hl >> 64) + (mid >> 64);
}

static inline int x_UMULH(struct ictx *c, const struct interp_insn *in)
{
    if (wide(in)) {
        c->v[in->dst] = umulh128(c->v[in->a], c->v[in->b]);
    } else {
        ir_u128 p = (ir_u128)U64(c, in->a) * U64(c, in->b);
        c->v[in->dst] = (uint64_t)(p >> in->w) & in->mask;
    }
    return 0;
}

static inline int x_SMULH(struct ictx *c, const struct interp_insn *in)
{
    if (wide(in)) {
        ir_u128 x = c->v[in->a], y = c->v[in->b];
        ir_u128 h = umulh128(x, y);
        /* Signed high half from the unsigned one: subtract y if x < 0, x if y < 0. */
        if ((__int128)x < 0)
            h -= y;
        if ((__int128)y < 0)
            h -= x;
        c->v[in->dst] = h;
    } else {
        __int128 p = (__int128)sx64(U64(c, in->a), in->w) * sx64(U64(c, in->b), in->w);
        c->v[in->dst] = (uint64_t)(p >> in->w) & in->mask;
    }
    return 0;
}

static inline int x_SDIV(struct ictx *c, const struct interp_insn *in)
{
    if (wide(in)) {
        __int128 x = (__int128)c->v[in->a], y = (__int128)c->v[in->b];
        ir_u128 min = (ir_u128)1 << 127;
        if (y == 0)
            c->v[in->dst] = 0;
        else if ((ir_u128)x == min && y == -1)
            c->v[in->dst] = min;
        else
            c->v[in->dst] = (ir_u128)(x / y);
    } else {
        int64_t x = sx64(U64(c, in->a), in->w), y = sx64(U64(c, in->b), in->w);
        int64_t min = sx64(1ull << (in->w - 1), in->w);
        if (y == 0)
            c->v[in->dst] = 0;
        else if (x == min && y == -1)
            c->v[in->dst] = (uint64_t)min & in->mask;
        else
            c->v[in->dst] = (uint64_t)(x / y) & in->mask;
    }
    return 0;
}

static inline int x_SREM(struct ictx *c, const struct interp_insn *in)
{
    if (wide(in)) {
        __int128 x = (__int128)c->v[in->a], y = (__int128)c->v[in->b];
        if (y == 0)
            c->v[in->dst] = (ir_u128)x;
        else if (y == -1)
            c->v[in->dst] = 0;
        else
            c->v[in->dst] = (ir_u128)(x % y);
    } else {
        int64_t x = sx64(U64(c, in->a), in->w), y = sx64(U64(c, in->b), in->w);
        if (y == 0)
            c->v[in->dst] = (uint64_t)x & in->mask;
        else if (y == -1)
            c->v[in->dst] = 0;
        else
            c->v[in->dst] = (uint64_t)(x % y) & in->mask;
    }
    return 0;
}

static inline int x_NOT(struct ictx *c, const struct interp_insn *in)
{
    if (wide(in))
        c->v[in->dst] = ~c->v[in->a];
    else
        c->v[in->dst] = ~U64(c, in->a) & in->mask;
    return 0;
}

static inline int x_NEG(struct ictx *c, const struct interp_insn *in)
{
    if (wide(in))
        c->v[in->dst] = -c->v[in->a];
    else
        c->v[in->dst] = (0 - U64(c, in->a)) & in->mask;
    return 0;
}

/* ---- shifts: counts of the width or more saturate (see ir_ops.def) ---------- */

static inline int x_SHL(struct ictx *c, const struct interp_insn *in)
{
    ir_u128 n = c->v[in->b];
    if (n >= in->w)
        c->v[in->dst] = 0;
    else if (wide(in))
        c->v[in->dst] = c->v[in->a] << (unsigned)n;
    else
        c->v[in->dst] = (U64(c, in->a) << (unsigned)n) & in->mask;
    return 0;
}

static inline int x_LSHR(struct ictx *c, const struct interp_insn *in)
{
    ir_u128 n = c->v[in->b];
    if (n >= in->w)
        c->v[in->dst] = 0;
    else if (wide(in))
        c->v[in->dst] = c->v[in->a] >> (unsigned)n;
    else
        c->v[in->dst] = U64(c, in->a) >> (unsigned)n;
    return 0;
}

static inline int x_ASHR(struct ictx *c, const struct interp_insn *in)
{
    ir_u128 n = c->v[in->b];
    unsigned s = n >= in->w ? in->w - 1u : (unsigned)n;
    if (wide(in))
        c->v[in->dst] = (ir_u128)(sx128(c->v[in->a], 128) >> s);
    else
        c->v[in->dst] = (uint64_t)(sx64(U64(c, in->a), in->w) >> s) & in->mask;
    return 0;
}

static inline ir_u128 rotl_any(ir_u128 x, unsigned n, unsigned w)
{
    if (n == 0)
        return x;
    return ((x << n) | (x >> (w - n))) & mask128(w);
}

/* Widths are powers of two, so "modulo width" is a mask. */
static inline int x_ROTL(struct ictx *c, const struct interp_insn *in)
{
    unsigned n = (unsigned)((uint64_t)c->v[in->b] & (in->w - 1u));
    if (wide(in))
        c->v[in->dst] = rotl_any(c->v[in->a], n, 128);
    else {
        uint64_t x = U64(c, in->a);
        c->v[in->dst] = n ? ((x << n) | (x >> (in->w - n))) & in->mask : x;
    }
    return 0;
}

static inline int x_ROTR(struct ictx *c, const struct interp_insn *in)
{
    unsigned n = (unsigned)((uint64_t)c->v[in->b] & (in->w - 1u));
    if (wide(in))
        c->v[in->dst] = rotl_any(c->v[in->a], n ? 128 - n : 0, 128);
    else {
        uint64_t x = U64(c, in->a);
        c->v[in->dst] = n ? ((x >> n) | (x << (in->w - n))) & in->mask : x;
    }
    return 0;
}

/* ---- bit counting ------------------------------------------------------------ */

static inline unsigned clz128(ir_u128 x)
{
    uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;
    return hi ? (unsigned)__builtin_clzll(hi) : lo ? 64u + (unsigned)__builtin_clzll(lo) : 128u;
}

static inline int x_CLZ(struct ictx *c, const struct interp_insn *in)
{
    ir_u128 x = c->v[in->a];
    c->v[in->dst] = clz128(x) - (128u - in->w);
    return 0;
}

static inline int x_CTZ(struct ictx *c, const struct interp_insn *in)
{
    ir_u128 x = c->v[in->a];
    uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;
    unsigned n = lo ? (unsigned)__builtin_ctzll(lo) : hi ? 64u + (unsigned)__builtin_ctzll(hi) : 128u;
    c->v[in->dst] = n > in->w ? in->w : n;
    return 0;
}

/* Without -mpopcnt the builtin is a libgcc call; the bit trick is faster. */
static inline unsigned popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

static inline int x_POPCNT(struct ictx *c, const struct interp_insn *in)
{
    ir_u128 x = c->v[in->a];
    c->v[in->dst] = popcount64((uint64_t)x) + popcount64((uint64_t)(x >> 64));
    return 0;
}

static inline ir_u128 bswap128(ir_u128 x)
{
    return ((ir_u128)__builtin_bswap64((uint64_t)x) << 64) | __builtin_bswap64((uint64_t)(x >> 64));
}

static inline int x_BSWAP(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = bswap128(c->v[in->a]) >> (128u - in->w);
    return 0;
}

static inline uint64_t bitrev64(uint64_t x)
{
    x = ((x >> 1) & 0x5555555555555555ull) | ((x & 0x5555555555555555ull) << 1);
    x = ((x >> 2) & 0x3333333333333333ull) | ((x & 0x3333333333333333ull) << 2);
    x = ((x >> 4) & 0x0f0f0f0f0f0f0f0full) | ((x & 0x0f0f0f0f0f0f0f0full) << 4);
    return __builtin_bswap64(x);
}

static inline int x_BITREV(struct ictx *c, const struct interp_insn *in)
{
    ir_u128 x = c->v[in->a];
    ir_u128 r = ((ir_u128)bitrev64((uint64_t)x) << 64) | bitrev64((uint64_t)(x >> 64));
    c->v[in->dst] = r >> (128u - in->w);
    return 0;
}

/* ---- comparisons and selection --------------------------------------------- */

static inline int x_EQ(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = c->v[in->a] == c->v[in->b];
    return 0;
}

static inline int x_NE(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = c->v[in->a] != c->v[in->b];
    return 0;
}

static inline int x_ULT(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = c->v[in->a] < c->v[in->b];
    return 0;
}

static inline int x_ULE(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = c->v[in->a] <= c->v[in->b];
    return 0;
}

static inline int x_SLT(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = sx128(c->v[in->a], in->aw) < sx128(c->v[in->b], in->aw);
    return 0;
}

static inline int x_SLE(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = sx128(c->v[in->a], in->aw) <= sx128(c->v[in->b], in->aw);
    return 0;
}

static inline int x_SELECT(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = (c->v[in->a] & 1) ? c->v[in->b] : c->v[in->c];
    return 0;
}

/* ---- width changes ------------------------------------------------------------ */

static inline int x_ZEXT(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = c->v[in->a];
    return 0;
}

static inline int x_SEXT(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = (ir_u128)sx128(c->v[in->a], in->aw) & mask128(in->w);
    return 0;
}

static inline int x_TRUNC(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = c->v[in->a] & mask128(in->w);
    return 0;
}

static inline int x_EXTRACT(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = (c->v[in->a] >> in->imm) & mask128(in->w);
    return 0;
}

static inline int x_INSERT(struct ictx *c, const struct interp_insn *in)
{
    unsigned fw = (unsigned)in->imm2;   /* field width, set at compile */
    ir_u128 field = mask128(fw) << in->imm;
    c->v[in->dst] = (c->v[in->a] & ~field) | ((c->v[in->b] << in->imm) & field);
    return 0;
}

/* ---- guest memory ---------------------------------------------------------------- */

static inline uint32_t mem_access(const struct soft_cpu *cpu, uint64_t flags, uint32_t kind, unsigned *regime)
{
    bool user = (flags & IR_MEM_PRIV_USER) || cpu->regime == 1;
    *regime = user ? 1u : cpu->regime;
    return kind | (user ? MMU_USER : 0);
}

static inline int x_LOAD(struct ictx *c, const struct interp_insn *in)
{
    unsigned size = (unsigned)(in->imm & IR_MEM_SIZE_MASK), r;
    uint64_t va = U64(c, in->a);
    uint32_t acc = mem_access(c->cpu, in->imm, (in->imm & IR_MEM_FETCH) ? MMU_FETCH : MMU_READ, &r);
    ir_u128 x = 0;
    const struct mmu_entry *e = mmu_tlb_lookup(&c->cpu->tlb, r, va, acc);
    if (__builtin_expect(e && (va & ~MMU_PAGE_MASK) + size <= MMU_PAGE_SIZE, 1)) {
        memcpy(&x, e->host + (va & ~MMU_PAGE_MASK), size);
    } else {
        sync(c);
        mmu_read_bytes(c->cpu, va, &x, size, acc, in->imm2);
    }
    if (in->imm & IR_MEM_SIGNED)
        x = (ir_u128)sx128(x, size * 8) & mask128(in->w);
    c->v[in->dst] = x;
    return 0;
}

static inline int x_STORE(struct ictx *c, const struct interp_insn *in)
{
    unsigned size = (unsigned)(in->imm & IR_MEM_SIZE_MASK), r;
    uint64_t va = U64(c, in->a);
    uint32_t acc = mem_access(c->cpu, in->imm, MMU_WRITE, &r);
    ir_u128 x = c->v[in->b];
    const struct mmu_entry *e = mmu_tlb_lookup(&c->cpu->tlb, r, va, acc);
    if (__builtin_expect(e && (va & ~MMU_PAGE_MASK) + size <= MMU_PAGE_SIZE, 1)) {
        memcpy(e->host + (va & ~MMU_PAGE_MASK), &x, size);
    } else {
        sync(c);
        mmu_write_bytes(c->cpu, va, &x, size, acc, in->imm2);
    }
    return 0;
}

static inline int x_CMPXCHG(struct ictx *c, const struct interp_insn *in)
{
    unsigned size = (unsigned)(in->imm & IR_MEM_SIZE_MASK), r;
    uint32_t acc = mem_access(c->cpu, in->imm, MMU_READ | MMU_WRITE, &r);
    sync(c);
    c->v[in->dst] = interp_cmpxchg(c->cpu, U64(c, in->a), size, acc, in->imm2, c->v[in->b], c->v[in->c]);
    return 0;
}

static inline int x_ATOMIC_RMW(struct ictx *c, const struct interp_insn *in)
{
    unsigned size = (unsigned)(in->imm & IR_MEM_SIZE_MASK), r;
    uint32_t acc = mem_access(c->cpu, in->imm, MMU_READ | MMU_WRITE, &r);
    sync(c);
    c->v[in->dst] = interp_rmw(c->cpu, U64(c, in->a), size, acc, (enum ir_rmw_kind)in->imm2, c->v[in->b]);
    return 0;
}

static inline int x_FENCE(struct ictx *c, const struct interp_insn *in)
{
    (void)c;
    (void)in;
    atomic_thread_fence(memory_order_seq_cst);
    return 0;
}

/* ---- helpers and control ---------------------------------------------------------- */

static inline int x_CALL(struct ictx *c, const struct interp_insn *in)
{
    const struct ir_helper *h = ir_helper_get((uint32_t)in->imm);
    sync(c);
    ir_u128 r = h->fn(c->cpu, in->a ? c->v[in->a] : 0, in->b ? c->v[in->b] : 0, in->c ? c->v[in->c] : 0);
    if (in->w)
        c->v[in->dst] = r & mask128(in->w);
    return 0;
}

static inline int x_INSN_START(struct ictx *c, const struct interp_insn *in)
{
    c->icount += c->start != NULL;
    c->start = in;
    return 0;
}

/* Leave to pc: the current instruction retires. */
static inline int leave(struct ictx *c, uint64_t pc)
{
    struct soft_cpu *cpu = c->cpu;
    cpu->icount = c->icount + (c->start != NULL);
    cpu->insn_open = 0;
    if (c->start) {
        cpu->insn_pc = c->start->imm;
        cpu->insn_len = (uint32_t)c->start->imm2;
    }
    cpu->fe->set_pc(cpu, pc);
    return 1;
}

static inline int x_EXIT_IF(struct ictx *c, const struct interp_insn *in)
{
    return (c->v[in->a] & 1) ? leave(c, in->imm) : 0;
}

/* A fault at the open instruction: it does not retire and the pc goes back to it
 * (as the MMU does for a faulting access); the frontend's stop hook delivers. */
static inline int x_TRAP_IF(struct ictx *c, const struct interp_insn *in)
{
    if (!(c->v[in->a] & 1))
        return 0;
    sync(c);
    struct soft_cpu *cpu = c->cpu;
    if (c->start)
        cpu->fe->set_pc(cpu, c->start->imm);
    cpu->stop_reason = IR_STOP_EXCEPTION;
    cpu->stop_detail = in->imm;
    return 2;
}

static inline int x_JUMP(struct ictx *c, const struct interp_insn *in)
{
    return leave(c, in->imm);
}

static inline int x_JUMP_IND(struct ictx *c, const struct interp_insn *in)
{
    return leave(c, U64(c, in->a));
}

static inline int x_BRANCH(struct ictx *c, const struct interp_insn *in)
{
    return leave(c, (c->v[in->a] & 1) ? in->imm : in->imm2);
}

static inline int x_STOP(struct ictx *c, const struct interp_insn *in)
{
    sync(c);
    c->cpu->stop_reason = (uint32_t)in->imm;
    c->cpu->stop_detail = in->imm2;
    return 2;
}

/* ---- integer vectors (interp_vec.c) ------------------------------------------- */

#define IR_OP(name, result, nargs, effects)
#define IR_VOP(name, result, nargs)                                                   \
    static inline int x_##name(struct ictx *c, const struct interp_insn *in)          \
    {                                                                                 \
        c->v[in->dst] = ivec_##name(c->v[in->a], c->v[in->b], in->imm, in->imm2);     \
        return 0;                                                                     \
    }
#include "jit/ir_ops.def"
#undef IR_VOP
#undef IR_OP

/* ---- specialised forms ------------------------------------------------------ */

static inline int ix_GET64(struct ictx *c, const struct interp_insn *in)
{
    uint64_t x;
    memcpy(&x, c->state + in->imm, 8);
    c->v[in->dst] = x;
    return 0;
}

static inline int ix_SET64(struct ictx *c, const struct interp_insn *in)
{
    uint64_t x = U64(c, in->a);
    memcpy(c->state + in->imm, &x, 8);
    return 0;
}

#define BINOP64(NAME, OP)                                                             \
    static inline int ix_##NAME##64(struct ictx *c, const struct interp_insn *in)     \
    {                                                                                 \
        c->v[in->dst] = U64(c, in->a) OP U64(c, in->b);                               \
        return 0;                                                                     \
    }
BINOP64(ADD, +)
BINOP64(SUB, -)
BINOP64(AND, &)
BINOP64(OR, |)
BINOP64(XOR, ^)

static inline int ix_INSN_NEXT(struct ictx *c, const struct interp_insn *in)
{
    c->icount++;
    c->start = in;
    return 0;
}

/* The run loop: threaded dispatch (one indirect jump per instruction) where the
 * compiler supports labels as values, a switch otherwise. Verified blocks end with
 * a terminator, which always leaves, so there is no bounds check. */
enum interp_result interp_run(struct soft_cpu *cpu, const struct interp_prog *p)
{
    /* A block is entered between instructions: nothing is open yet. */
    struct ictx c = { cpu, p->vals, cpu->state, cpu->icount, NULL };
    const struct interp_insn *in = p->code;
    int rc;
#if defined(__GNUC__)
    static const void *const labels[IX_OP_COUNT] = {
#define IR_OP(name, result, nargs, effects) [IR_##name] = &&L_##name,
#include "jit/ir_ops.def"
#undef IR_OP
        [IX_GET64] = &&L_IX_GET64, [IX_SET64] = &&L_IX_SET64, [IX_ADD64] = &&L_IX_ADD64,
        [IX_SUB64] = &&L_IX_SUB64, [IX_AND64] = &&L_IX_AND64, [IX_OR64] = &&L_IX_OR64,
        [IX_XOR64] = &&L_IX_XOR64, [IX_INSN_NEXT] = &&L_IX_INSN_NEXT,
    };
#define STEP(fn)                                                                      \
    rc = fn(&c, in);                                                                  \
    if (rc)                                                                           \
        goto out;                                                                     \
    in++;                                                                             \
    goto *labels[in->op];
    goto *labels[in->op];
#define IR_OP(name, result, nargs, effects) L_##name : STEP(x_##name)
#include "jit/ir_ops.def"
#undef IR_OP
L_IX_GET64: STEP(ix_GET64)
L_IX_SET64: STEP(ix_SET64)
L_IX_ADD64: STEP(ix_ADD64)
L_IX_SUB64: STEP(ix_SUB64)
L_IX_AND64: STEP(ix_AND64)
L_IX_OR64: STEP(ix_OR64)
L_IX_XOR64: STEP(ix_XOR64)
L_IX_INSN_NEXT: STEP(ix_INSN_NEXT)
#undef STEP
#else
    for (;; in++) {
        switch (in->op) {
#define IR_OP(name, result, nargs, effects)                                           \
        case IR_##name: rc = x_##name(&c, in); break;
#include "jit/ir_ops.def"
#undef IR_OP
        case IX_GET64: rc = ix_GET64(&c, in); break;
        case IX_SET64: rc = ix_SET64(&c, in); break;
        case IX_ADD64: rc = ix_ADD64(&c, in); break;
        case IX_SUB64: rc = ix_SUB64(&c, in); break;
        case IX_AND64: rc = ix_AND64(&c, in); break;
        case IX_OR64: rc = ix_OR64(&c, in); break;
        case IX_XOR64: rc = ix_XOR64(&c, in); break;
        case IX_INSN_NEXT: rc = ix_INSN_NEXT(&c, in); break;
        default: rc = 2; break;
        }
        if (rc)
            goto out;
    }
#endif
out:
    return rc == 2 ? INTERP_STOP : INTERP_EXIT;
}

/* Fold support: evaluate a pure op on constant operands with the same code that
 * runs it, so folding can never disagree with execution. */
bool interp_eval_pure(const struct ir_block *b, const struct ir_insn *src, const ir_u128 args[3], ir_u128 *out)
{
    if (src->op >= IR_OP_COUNT || ir_op_info[src->op].effects != IR_EFF_NONE || src->op == IR_CONST)
        return false;
    ir_u128 v[4] = { 0, args[0], args[1], args[2] };
    struct ictx c = { NULL, v, NULL, 0, NULL };
    struct interp_insn in = { .op = src->op, .w = src->type, .dst = 0, .a = 1, .b = 2, .c = 3,
                              .imm = src->imm, .imm2 = src->imm2, .mask = mask_of(src->type) };
    in.aw = src->arg[0] ? b->insns[src->arg[0] - 1].type : 0;
    if (src->op == IR_INSERT)
        in.imm2 = b->insns[src->arg[1] - 1].type;
    switch ((enum ir_op)src->op) {
#define IR_OP(name, result, nargs, effects)                                               \
    case IR_##name:                                                                       \
        if ((effects) != IR_EFF_NONE)                                                     \
            return false;                                                                 \
        x_##name(&c, &in);                                                                \
        break;
#include "jit/ir_ops.def"
#undef IR_OP
    default:
        return false;
    }
    *out = v[0];
    return true;
}

ir_u128 interp_eval_op(enum ir_op op, unsigned w, ir_u128 a, ir_u128 b)
{
    ir_u128 v[3] = { 0, a, b };
    struct ictx c = { NULL, v, NULL, 0, NULL };
    struct interp_insn in = { .op = op, .w = (uint8_t)w, .aw = (uint8_t)w, .dst = 0, .a = 1, .b = 2,
                              .mask = mask_of(w) };
    switch (op) {
    case IR_UDIV: x_UDIV(&c, &in); break;
    case IR_SDIV: x_SDIV(&c, &in); break;
    case IR_UREM: x_UREM(&c, &in); break;
    case IR_SREM: x_SREM(&c, &in); break;
    case IR_UMULH: x_UMULH(&c, &in); break;
    case IR_SMULH: x_SMULH(&c, &in); break;
    default: return 0;
    }
    return v[0];
}

/* ---- pre-decoding ------------------------------------------------------------------- */

static unsigned state_bytes(unsigned w)
{
    return w <= 8 ? 1u : w / 8u;
}

/* The specialised form of an instruction, or its IR op. */
static uint16_t specialise(const struct ir_insn *src, const struct interp_insn *d, bool first_start)
{
    switch (src->op) {
    case IR_GET: return d->w == 64 ? IX_GET64 : IR_GET;
    case IR_SET: return d->w == 64 ? IX_SET64 : IR_SET;
    case IR_ADD: return d->w == 64 ? IX_ADD64 : IR_ADD;
    case IR_SUB: return d->w == 64 ? IX_SUB64 : IR_SUB;
    case IR_AND: return d->w == 64 ? IX_AND64 : IR_AND;
    case IR_OR: return d->w == 64 ? IX_OR64 : IR_OR;
    case IR_XOR: return d->w == 64 ? IX_XOR64 : IR_XOR;
    case IR_INSN_START: return first_start ? IR_INSN_START : IX_INSN_NEXT;
    default: return src->op;
    }
}

bool interp_compile(const struct ir_block *b, uint32_t state_size, struct interp_prog *out)
{
    memset(out, 0, sizeof(*out));
    if (!ir_verify(b, NULL, 0))
        return false;
    /* Slots: 0 stays zero; every live value-producing instruction gets the next one. */
    uint32_t *slot = calloc(b->count + 1, sizeof(*slot));
    if (!slot)
        return false;
    uint32_t nslots = 1, ncode = 0;
    for (uint32_t i = 0; i < b->count; i++) {
        const struct ir_insn *src = &b->insns[i];
        if (src->dead)
            continue;
        if (src->type != IR_VOID)
            slot[i + 1] = nslots++;
        ncode += src->op != IR_CONST;
    }
    struct interp_insn *code = calloc(ncode ? ncode : 1, sizeof(*code));
    ir_u128 *vals = aligned_alloc(16, (size_t)nslots * sizeof(*vals));
    uint8_t *width = calloc(nslots, 1), *is_const = calloc(nslots, 1);
    if (!code || !vals || !width || !is_const)
        goto fail;
    memset(vals, 0, (size_t)nslots * sizeof(*vals));
    uint32_t n = 0;
    bool first_start = true;
    for (uint32_t i = 0; i < b->count; i++) {
        const struct ir_insn *src = &b->insns[i];
        if (src->dead)
            continue;
        if (src->type != IR_VOID)
            width[slot[i + 1]] = src->type;
        if (src->op == IR_CONST) {
            vals[slot[i + 1]] = (ir_u128)src->imm | ((ir_u128)src->imm2 << 64);
            is_const[slot[i + 1]] = 1;
            continue;
        }
        struct interp_insn *d = &code[n++];
        d->dst = slot[i + 1];
        d->a = slot[src->arg[0]];
        d->b = slot[src->arg[1]];
        d->c = slot[src->arg[2]];
        d->imm = src->imm;
        d->imm2 = src->imm2;
        d->w = src->type;
        d->aw = src->arg[0] ? b->insns[src->arg[0] - 1].type : 0;
        if (src->op == IR_SET || src->op == IR_STORE)
            d->w = src->op == IR_SET ? d->aw : b->insns[src->arg[1] - 1].type;
        if (src->op == IR_INSERT)
            d->imm2 = b->insns[src->arg[1] - 1].type;   /* field width */
        d->mask = mask_of(d->w);
        if ((src->op == IR_GET || src->op == IR_SET) &&
            (src->imm > state_size || state_bytes(d->w) > state_size - src->imm))
            goto fail;
        d->op = specialise(src, d, first_start);
        if (src->op == IR_INSN_START)
            first_start = false;
    }
    free(slot);
    out->code = code;
    out->count = n;
    out->nvals = nslots;
    out->vals = vals;
    out->width = width;
    out->is_const = is_const;
    return true;
fail:
    free(slot);
    free(code);
    free(vals);
    free(width);
    free(is_const);
    return false;
}

void interp_prog_free(struct interp_prog *p)
{
    free(p->code);
    free(p->vals);
    free(p->width);
    free(p->is_const);
    memset(p, 0, sizeof(*p));
}
