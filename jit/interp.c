/* interp.c - tier 0, the reference executor of the IR. Values live in a slot array
 * of 128-bit cells, always zero-extended from their width, so ops up to 64 bits work
 * on the low word and mask once. The dispatch switch is generated from ir_ops.def:
 * an op without an x_<NAME> function here does not compile. */
#include "jit/interp.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/soft/soft.h"

struct ictx {
    struct soft_cpu *cpu;
    ir_u128 *v;
    uint8_t *state;
};

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

static inline int x_ROTL(struct ictx *c, const struct interp_insn *in)
{
    unsigned n = (unsigned)(c->v[in->b] % in->w);
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
    unsigned n = (unsigned)(c->v[in->b] % in->w);
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

static inline int x_POPCNT(struct ictx *c, const struct interp_insn *in)
{
    ir_u128 x = c->v[in->a];
    c->v[in->dst] = (unsigned)__builtin_popcountll((uint64_t)x) + (unsigned)__builtin_popcountll((uint64_t)(x >> 64));
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
    if (__builtin_expect(e && (va & ~MMU_PAGE_MASK) + size <= MMU_PAGE_SIZE, 1))
        memcpy(&x, e->host + (va & ~MMU_PAGE_MASK), size);
    else
        soft_read_bytes(c->cpu, va, &x, size, acc, in->imm2);
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
    if (__builtin_expect(e && (va & ~MMU_PAGE_MASK) + size <= MMU_PAGE_SIZE, 1))
        memcpy(e->host + (va & ~MMU_PAGE_MASK), &x, size);
    else
        soft_write_bytes(c->cpu, va, &x, size, acc, in->imm2);
    return 0;
}

static inline int x_CMPXCHG(struct ictx *c, const struct interp_insn *in)
{
    unsigned size = (unsigned)(in->imm & IR_MEM_SIZE_MASK), r;
    uint32_t acc = mem_access(c->cpu, in->imm, MMU_READ | MMU_WRITE, &r);
    c->v[in->dst] = interp_cmpxchg(c->cpu, U64(c, in->a), size, acc, in->imm2, c->v[in->b], c->v[in->c]);
    return 0;
}

static inline int x_ATOMIC_RMW(struct ictx *c, const struct interp_insn *in)
{
    unsigned size = (unsigned)(in->imm & IR_MEM_SIZE_MASK), r;
    uint32_t acc = mem_access(c->cpu, in->imm, MMU_READ | MMU_WRITE, &r);
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
    ir_u128 r = h->fn(c->cpu, in->a ? c->v[in->a] : 0, in->b ? c->v[in->b] : 0, in->c ? c->v[in->c] : 0);
    if (in->w)
        c->v[in->dst] = r & mask128(in->w);
    return 0;
}

static inline int x_INSN_START(struct ictx *c, const struct interp_insn *in)
{
    struct soft_cpu *cpu = c->cpu;
    cpu->icount += cpu->insn_open;
    cpu->insn_open = 1;
    cpu->insn_pc = in->imm;
    cpu->insn_len = (uint32_t)in->imm2;
    return 0;
}

/* Leave to pc: the current instruction retires. */
static inline int leave(struct ictx *c, uint64_t pc)
{
    struct soft_cpu *cpu = c->cpu;
    cpu->icount += cpu->insn_open;
    cpu->insn_open = 0;
    cpu->fe->set_pc(cpu, pc);
    return 1;
}

static inline int x_EXIT_IF(struct ictx *c, const struct interp_insn *in)
{
    return (c->v[in->a] & 1) ? leave(c, in->imm) : 0;
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
    c->cpu->stop_reason = (uint32_t)in->imm;
    c->cpu->stop_detail = in->imm2;
    return 2;
}

enum interp_result interp_run(struct soft_cpu *cpu, const struct interp_prog *p, ir_u128 *vals)
{
    struct ictx c = { cpu, vals, cpu->state };
    const struct interp_insn *in = p->code, *end = p->code + p->count;
    for (; in < end; in++) {
        int rc;
        switch ((enum ir_op)in->op) {
#define IR_OP(name, result, nargs, effects)                                           \
        case IR_##name:                                                               \
            rc = x_##name(&c, in);                                                    \
            if (rc)                                                                   \
                return rc == 2 ? INTERP_STOP : INTERP_EXIT;                           \
            break;
#include "jit/ir_ops.def"
#undef IR_OP
        case IR_OP_COUNT:
            break;
        }
    }
    /* Verified blocks end with a terminator; reaching here is an internal error. */
    cpu->stop_reason = 0;
    cpu->stop_detail = 0;
    return INTERP_STOP;
}

/* Fold support: evaluate a pure op on constant operands with the same code that
 * runs it, so folding can never disagree with execution. */
bool interp_eval_pure(const struct ir_block *b, const struct ir_insn *src, const ir_u128 args[3], ir_u128 *out)
{
    if (src->op >= IR_OP_COUNT || ir_op_info[src->op].effects != IR_EFF_NONE || src->op == IR_CONST)
        return false;
    ir_u128 v[4] = { 0, args[0], args[1], args[2] };
    struct ictx c = { NULL, v, NULL };
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

/* ---- pre-decoding ------------------------------------------------------------------- */

static unsigned state_bytes(unsigned w)
{
    return w <= 8 ? 1u : w / 8u;
}

bool interp_compile(const struct ir_block *b, uint32_t state_size, struct interp_prog *out)
{
    memset(out, 0, sizeof(*out));
    if (!ir_verify(b, NULL, 0))
        return false;
    uint32_t live = 0;
    for (uint32_t i = 0; i < b->count; i++)
        live += !b->insns[i].dead;
    struct interp_insn *code = calloc(live ? live : 1, sizeof(*code));
    if (!code)
        return false;
    uint32_t n = 0;
    for (uint32_t i = 0; i < b->count; i++) {
        const struct ir_insn *src = &b->insns[i];
        if (src->dead)
            continue;
        struct interp_insn *d = &code[n++];
        d->op = src->op;
        d->dst = i + 1;
        d->a = src->arg[0];
        d->b = src->arg[1];
        d->c = src->arg[2];
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
            (src->imm > state_size || state_bytes(d->w) > state_size - src->imm)) {
            free(code);
            return false;
        }
    }
    out->code = code;
    out->count = n;
    out->nvals = b->count + 1;
    return true;
}

void interp_prog_free(struct interp_prog *p)
{
    free(p->code);
    memset(p, 0, sizeof(*p));
}
