/* interp.c - tier 0, the reference executor of the IR. Values live in a slot array
 * of 128-bit cells, always zero-extended from their width, so ops up to 64 bits work
 * on the low word and mask once. The dispatch switch is generated from ir_ops.def:
 * an op without an x_<NAME> function here does not compile. */
#include "jit/interp.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/soft/soft.h"
#include "jit/ir_fp_lane.h"
#include "jit/interp_vec.h"
#include "jit/interp_xop.h"

/* The instruction count and the current instruction are not tracked while a block
 * runs: each executed instruction knows which guest instruction it belongs to
 * (interp_insn.insn), and sync() publishes the count and the open instruction from
 * that before anything out of line can look (helpers, memory slow paths, leaving). */
struct ictx {
    struct soft_cpu *cpu;
    ir_u128 *v;
    uint8_t *state;
    uint64_t icount;                   /* retired when the block was entered */
    const struct interp_prog *p;
    struct ir_fp_memo *fp;             /* FP/FPFLAGS pairs evaluate once */
};

/* Guest instruction k's marker (k >= 1). */
static inline const struct interp_insn *marker(const struct ictx *c, unsigned k)
{
    return &c->p->code[c->p->starts[k]];
}

/* Publish the state at instruction `in`: its guest instruction is open, the ones
 * before it retired. */
static inline void sync(struct ictx *c, const struct interp_insn *in)
{
    struct soft_cpu *cpu = c->cpu;
    unsigned k = in->insn;
    cpu->icount = c->icount + (k ? k - 1u : 0u);
    cpu->insn_open = k != 0;
    if (k) {
        const struct interp_insn *m = marker(c, k);
        cpu->insn_pc = m->imm;
        cpu->insn_len = (uint32_t)m->imm2;
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

/* Guest memory is shared with the client and with the other vCPUs, which may read and
 * write it while this vCPU runs (docs/client-contract.md); as on the hardware, an
 * aligned guest access is single-copy atomic there. The ThreadSanitizer build says so
 * (aligned accesses as relaxed atomics), so that its reports are about anyhv's own data,
 * not about a guest and its client sharing memory; other builds keep plain copies, the
 * same instructions on the hosts anyhv runs on. */
#if defined(ANYHV_TSAN_BUILD)
#define GUEST_SHARED_ATOMIC(p, size) (((uintptr_t)(p) & ((size) - 1u)) == 0)
#else
#define GUEST_SHARED_ATOMIC(p, size) false
#endif

/* Host bytes of a guest access of size bytes at p (1, 2, 4, 8 or 16): fixed-size
 * copies, not a memcpy call with a variable length. */
#define HOST_READ_AS(type, p)                                                             \
    do {                                                                                  \
        type x;                                                                           \
        if (GUEST_SHARED_ATOMIC(p, sizeof(type)))                                         \
            x = __atomic_load_n((const type *)(const void *)(p), __ATOMIC_RELAXED);       \
        else                                                                              \
            memcpy(&x, p, sizeof(type));                                                  \
        return x;                                                                         \
    } while (0)

#define HOST_WRITE_AS(type, p, v)                                                         \
    do {                                                                                  \
        type x = (type)(v);                                                               \
        if (GUEST_SHARED_ATOMIC(p, sizeof(type)))                                         \
            __atomic_store_n((type *)(void *)(p), x, __ATOMIC_RELAXED);                   \
        else                                                                              \
            memcpy(p, &x, sizeof(type));                                                  \
    } while (0)

static inline ir_u128 host_read(const uint8_t *p, unsigned size)
{
    switch (size) {
    case 1: HOST_READ_AS(uint8_t, p);
    case 2: HOST_READ_AS(uint16_t, p);
    case 4: HOST_READ_AS(uint32_t, p);
    case 8: HOST_READ_AS(uint64_t, p);
    default: { ir_u128 x = 0; memcpy(&x, p, size); return x; }
    }
}

static inline void host_write(uint8_t *p, unsigned size, ir_u128 v)
{
    switch (size) {
    case 1: HOST_WRITE_AS(uint8_t, p, v); break;
    case 2: HOST_WRITE_AS(uint16_t, p, v); break;
    case 4: HOST_WRITE_AS(uint32_t, p, v); break;
    case 8: HOST_WRITE_AS(uint64_t, p, v); break;
    default: memcpy(p, &v, size); break;
    }
}

/* The slow paths, out of line so the handlers stay small. */
static __attribute__((noinline)) ir_u128 load_slow(struct ictx *c, const struct interp_insn *in, uint64_t va,
                                                   unsigned size, uint32_t acc)
{
    ir_u128 x = 0;
    sync(c, in);
    mmu_read_bytes(c->cpu, va, &x, size, acc, in->imm2);
    return x;
}

static __attribute__((noinline)) void store_slow(struct ictx *c, const struct interp_insn *in, uint64_t va,
                                                 unsigned size, uint32_t acc, ir_u128 x)
{
    sync(c, in);
    mmu_write_bytes(c->cpu, va, &x, size, acc, in->imm2);
}

static inline __attribute__((always_inline)) int x_LOAD(struct ictx *c, const struct interp_insn *in)
{
    unsigned size = (unsigned)(in->imm & IR_MEM_SIZE_MASK), r;
    uint64_t va = U64(c, in->a);
    uint32_t acc = mem_access(c->cpu, in->imm, (in->imm & IR_MEM_FETCH) ? MMU_FETCH : MMU_READ, &r);
    ir_u128 x;
    const struct mmu_entry *e = mmu_tlb_lookup(&c->cpu->tlb, r, va, acc);
    if (__builtin_expect(e && (va & ~MMU_PAGE_MASK) + size <= MMU_PAGE_SIZE, 1))
        x = host_read(e->host + (va & ~MMU_PAGE_MASK), size);
    else
        x = load_slow(c, in, va, size, acc);
    if (in->imm & IR_MEM_SIGNED)
        x = (ir_u128)sx128(x, size * 8) & mask128(in->w);
    c->v[in->dst] = x;
    return 0;
}

static inline __attribute__((always_inline)) int x_STORE(struct ictx *c, const struct interp_insn *in)
{
    unsigned size = (unsigned)(in->imm & IR_MEM_SIZE_MASK), r;
    uint64_t va = U64(c, in->a);
    uint32_t acc = mem_access(c->cpu, in->imm, MMU_WRITE, &r);
    ir_u128 x = c->v[in->b];
    const struct mmu_entry *e = mmu_tlb_lookup(&c->cpu->tlb, r, va, acc);
    if (__builtin_expect(e && (va & ~MMU_PAGE_MASK) + size <= MMU_PAGE_SIZE, 1))
        host_write(e->host + (va & ~MMU_PAGE_MASK), size, x);
    else
        store_slow(c, in, va, size, acc, x);
    return 0;
}

static inline int x_CMPXCHG(struct ictx *c, const struct interp_insn *in)
{
    unsigned size = (unsigned)(in->imm & IR_MEM_SIZE_MASK), r;
    uint32_t acc = mem_access(c->cpu, in->imm, MMU_READ | MMU_WRITE, &r);
    sync(c, in);
    c->v[in->dst] = interp_cmpxchg(c->cpu, U64(c, in->a), size, acc, in->imm2, c->v[in->b], c->v[in->c]);
    return 0;
}

static inline int x_ATOMIC_RMW(struct ictx *c, const struct interp_insn *in)
{
    unsigned size = (unsigned)(in->imm & IR_MEM_SIZE_MASK), r;
    uint32_t acc = mem_access(c->cpu, in->imm, MMU_READ | MMU_WRITE, &r);
    sync(c, in);
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
    sync(c, in);
    ir_u128 r = h->fn(c->cpu, in->a ? c->v[in->a] : 0, in->b ? c->v[in->b] : 0, in->c ? c->v[in->c] : 0);
    if (in->w)
        c->v[in->dst] = r & mask128(in->w);
    return 0;
}

/* Markers do nothing when run (see interp_insn.insn); most are stepped over. */
static inline int x_INSN_START(struct ictx *c, const struct interp_insn *in)
{
    (void)c;
    (void)in;
    return 0;
}

/* Leave to pc from instruction `in`: its guest instruction retires. */
static inline int leave(struct ictx *c, const struct interp_insn *in, uint64_t pc)
{
    struct soft_cpu *cpu = c->cpu;
    unsigned k = in->insn;
    cpu->icount = c->icount + k;
    cpu->insn_open = 0;
    if (k) {
        const struct interp_insn *m = marker(c, k);
        cpu->insn_pc = m->imm;
        cpu->insn_len = (uint32_t)m->imm2;
    }
    cpu->fe->set_pc(cpu, pc);
    return 1;
}

static inline int x_EXIT_IF(struct ictx *c, const struct interp_insn *in)
{
    return (c->v[in->a] & 1) ? leave(c, in, in->imm) : 0;
}

/* A fault at the open instruction: it does not retire and the pc goes back to it
 * (as the MMU does for a faulting access); the frontend's stop hook delivers. */
static inline int x_TRAP_IF(struct ictx *c, const struct interp_insn *in)
{
    if (!(c->v[in->a] & 1))
        return 0;
    sync(c, in);
    struct soft_cpu *cpu = c->cpu;
    if (in->insn)
        cpu->fe->set_pc(cpu, marker(c, in->insn)->imm);
    cpu->stop_reason = IR_STOP_EXCEPTION;
    cpu->stop_detail = in->imm;
    return 2;
}

static inline int x_JUMP(struct ictx *c, const struct interp_insn *in)
{
    return leave(c, in, in->imm);
}

static inline int x_JUMP_IND(struct ictx *c, const struct interp_insn *in)
{
    return leave(c, in, U64(c, in->a));
}

static inline int x_BRANCH(struct ictx *c, const struct interp_insn *in)
{
    return leave(c, in, (c->v[in->a] & 1) ? in->imm : in->imm2);
}

static inline int x_STOP(struct ictx *c, const struct interp_insn *in)
{
    sync(c, in);
    c->cpu->stop_reason = (uint32_t)in->imm;
    c->cpu->stop_detail = in->imm2;
    return 2;
}

/* ---- floating point (ir_fp.c: the ordinary case, else the frontend's helper) ---- */

/* Scalars in the ordinary case inline (ir_fp_lane.h); the rest through ir_fp_eval. */
static inline bool fp_scalar(const struct ictx *c, const struct interp_insn *in, uint64_t *r, bool *inexact)
{
    unsigned kind = IR_FP_KIND(in->imm), fmt = IR_FP_FORMAT(in->imm);
    *inexact = false;
    if (kind >= IR_FP_CMP && kind <= IR_FP_MAX) {   /* compare-like: no flags */
        uint64_t m = fmt == IR_FP_F64 ? ~0ull : 0xffffffffull;
        return fmt <= IR_FP_F64 &&
               ir_fp_cmp_lane(kind, IR_FP_AUX(in->imm), fmt == IR_FP_F64 ? 64 : 32, U64(c, in->a) & m, U64(c, in->b) & m, r);
    }
    if (kind == IR_FP_FMA) {
        uint64_t m = fmt == IR_FP_F64 ? ~0ull : 0xffffffffull;
        return fmt <= IR_FP_F64 && ir_fp_fma_lane(IR_FP_AUX(in->imm), fmt == IR_FP_F64, U64(c, in->a) & m,
                                                  U64(c, in->b) & m, U64(c, in->c) & m, r, inexact);
    }
    if (kind >= IR_FP_SITOF && kind <= IR_FP_FTOUI) {   /* conversions: operands are zero-extended */
        unsigned n = (IR_FP_AUX(in->imm) & IR_FP_CVT_64) ? 64 : 32;
        return fmt <= IR_FP_F64 && ir_fp_cvt_lane(kind, IR_FP_AUX(in->imm), fmt == IR_FP_F64, n, U64(c, in->a), r, inexact);
    }
    if (fmt == IR_FP_F64)
        return ir_fp_lane64(kind, U64(c, in->a), U64(c, in->b), r, inexact);
    uint32_t r32;
    if (fmt != IR_FP_F32 || !ir_fp_lane32(kind, (uint32_t)U64(c, in->a), (uint32_t)U64(c, in->b), &r32, inexact))
        return false;
    *r = r32;
    return true;
}

static inline int x_FP(struct ictx *c, const struct interp_insn *in)
{
    uint64_t r;
    bool inexact;
    if (fp_scalar(c, in, &r, &inexact))
        c->v[in->dst] = r;
    else
        c->v[in->dst] = ir_fp_eval3(c->cpu, in->imm, in->imm2, c->v[in->a], c->v[in->b], c->v[in->c], false, c->fp) & mask128(in->w);
    return 0;
}

static inline int x_FPFLAGS(struct ictx *c, const struct interp_insn *in)
{
    uint64_t r;
    bool inexact;
    if (fp_scalar(c, in, &r, &inexact))
        c->v[in->dst] = inexact ? 1ull << IR_FP_INEXACT_BIT(in->imm) : 0;
    else
        c->v[in->dst] = ir_fp_eval3(c->cpu, in->imm, in->imm2, c->v[in->a], c->v[in->b], c->v[in->c], true, c->fp) & mask128(in->w);
    return 0;
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
    return x_INSN_START(c, in);
}

/* Forms for operands of 64 bits or less (plan_dispatch picks them): values are
 * zero-extended in their cells, so the low word is the whole value. */
#define CMP64(NAME, EXPR)                                                             \
    static inline int xi_##NAME##64(struct ictx *c, const struct interp_insn *in)     \
    {                                                                                 \
        uint64_t x = U64(c, in->a), y = U64(c, in->b);                                \
        c->v[in->dst] = (EXPR);                                                       \
        return 0;                                                                     \
    }
CMP64(EQ, x == y)
CMP64(NE, x != y)
CMP64(ULT, x < y)
CMP64(ULE, x <= y)
CMP64(SLT, sx64(x, in->aw) < sx64(y, in->aw))
CMP64(SLE, sx64(x, in->aw) <= sx64(y, in->aw))

static inline int xi_SHL64(struct ictx *c, const struct interp_insn *in)
{
    uint64_t n = U64(c, in->b);
    c->v[in->dst] = n >= in->w ? 0 : (U64(c, in->a) << n) & in->mask;
    return 0;
}

static inline int xi_LSHR64(struct ictx *c, const struct interp_insn *in)
{
    uint64_t n = U64(c, in->b);
    c->v[in->dst] = n >= in->w ? 0 : U64(c, in->a) >> n;
    return 0;
}

static inline int xi_ASHR64(struct ictx *c, const struct interp_insn *in)
{
    uint64_t n = U64(c, in->b);
    unsigned sh = n >= in->w ? in->w - 1u : (unsigned)n;
    c->v[in->dst] = (uint64_t)(sx64(U64(c, in->a), in->w) >> sh) & in->mask;
    return 0;
}

static inline int xi_MOV64(struct ictx *c, const struct interp_insn *in)   /* zext */
{
    c->v[in->dst] = U64(c, in->a);
    return 0;
}

static inline int xi_MASK64(struct ictx *c, const struct interp_insn *in)  /* trunc */
{
    c->v[in->dst] = U64(c, in->a) & in->mask;
    return 0;
}

static inline int xi_EXTRACT64(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = (U64(c, in->a) >> in->imm) & in->mask;
    return 0;
}

static inline int xi_NOT64(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = ~U64(c, in->a) & in->mask;
    return 0;
}

static inline int xi_SELECT64(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = (U64(c, in->a) & 1) ? U64(c, in->b) : U64(c, in->c);
    return 0;
}

static inline uint64_t insert64(uint64_t x, uint64_t field, const struct interp_insn *in)
{
    uint64_t m = mask_of((unsigned)in->imm2) << in->imm;
    return (x & ~m) | ((field << in->imm) & m);
}

static inline int xi_INSERT64(struct ictx *c, const struct interp_insn *in)
{
    c->v[in->dst] = insert64(U64(c, in->a), U64(c, in->b), in);
    return 0;
}

/* Four inserts in a row, each into the one before (NZCV into PSTATE): the three
 * values in between are used nowhere else, so only the last is written. */
static inline int xi_INSERT64X4(struct ictx *c, const struct interp_insn *in)
{
    uint64_t x = U64(c, in->a);
    for (unsigned k = 0; k < 4; k++)
        x = insert64(x, U64(c, in[k].b), &in[k]);
    c->v[in[3].dst] = x;
    return 0;
}

/* The interpreter's dispatch entries past the IR ops: name, handler, and how many
 * instructions it steps (2: it also steps over the instruction marker after it, so
 * most markers are never dispatched). Forms past IX_OP_COUNT exist only in xop. */
#define INTERP_FORMS(X)                                                               \
    X(IX_GET64, ix_GET64, 1)                                                          \
    X(IX_SET64, ix_SET64, 1)                                                          \
    X(IX_ADD64, ix_ADD64, 1)                                                          \
    X(IX_SUB64, ix_SUB64, 1)                                                          \
    X(IX_AND64, ix_AND64, 1)                                                          \
    X(IX_OR64, ix_OR64, 1)                                                            \
    X(IX_XOR64, ix_XOR64, 1)                                                          \
    X(IX_INSN_NEXT, ix_INSN_NEXT, 1)                                                  \
    X(XI_SET64_NEXT, ix_SET64, 2)                                                     \
    X(XI_SET_NEXT, x_SET, 2)                                                          \
    X(XI_STORE_NEXT, x_STORE, 2)                                                      \
    X(XI_EQ64, xi_EQ64, 1)                                                            \
    X(XI_NE64, xi_NE64, 1)                                                            \
    X(XI_ULT64, xi_ULT64, 1)                                                          \
    X(XI_ULE64, xi_ULE64, 1)                                                          \
    X(XI_SLT64, xi_SLT64, 1)                                                          \
    X(XI_SLE64, xi_SLE64, 1)                                                          \
    X(XI_SHL64, xi_SHL64, 1)                                                          \
    X(XI_LSHR64, xi_LSHR64, 1)                                                        \
    X(XI_ASHR64, xi_ASHR64, 1)                                                        \
    X(XI_MOV64, xi_MOV64, 1)                                                          \
    X(XI_MASK64, xi_MASK64, 1)                                                        \
    X(XI_EXTRACT64, xi_EXTRACT64, 1)                                                  \
    X(XI_NOT64, xi_NOT64, 1)                                                          \
    X(XI_SELECT64, xi_SELECT64, 1)                                                    \
    X(XI_INSERT64, xi_INSERT64, 1)                                                    \
    X(XI_INSERT64X4, xi_INSERT64X4, 4)


/* Each handler out of line, for the native form of a program (interp_x64.c), which
 * calls them for what it does not spell in machine code itself. */
#define IR_OP(name, result, nargs, effects)                                           \
    static int xo_##name(struct ictx *c, const struct interp_insn *in) { return x_##name(c, in); }
#include "jit/ir_ops.def"
#undef IR_OP
#define FORM(name, fn, n)                                                             \
    static int xo_##name(struct ictx *c, const struct interp_insn *in) { return fn(c, in); }
INTERP_FORMS(FORM)
#undef FORM

const interp_step_fn interp_outline[XI_COUNT] = {
#define IR_OP(name, result, nargs, effects) [IR_##name] = xo_##name,
#include "jit/ir_ops.def"
#undef IR_OP
#define FORM(name, fn, n) [name] = xo_##name,
    INTERP_FORMS(FORM)
#undef FORM
};

const uint8_t interp_steps[XI_COUNT] = {
#define IR_OP(name, result, nargs, effects) [IR_##name] = 1,
#include "jit/ir_ops.def"
#undef IR_OP
#define FORM(name, fn, n) [name] = n,
    INTERP_FORMS(FORM)
#undef FORM
};

/* The run loop: threaded dispatch (one indirect jump per instruction) where the
 * compiler supports labels as values, a switch otherwise. Verified blocks end with
 * a terminator, which always leaves, so there is no bounds check. */
static uint32_t native_after = UINT32_MAX - 1u;   /* unset */

uint32_t interp_native_after(void)
{
    uint32_t n = __atomic_load_n(&native_after, __ATOMIC_RELAXED);
    if (n != UINT32_MAX - 1u)
        return n;
    const char *env = getenv("ANYHV_INTERP_NATIVE");
    n = INTERP_NATIVE_AFTER;
    if (env && *env) {
        char *end;
        unsigned long v = strtoul(env, &end, 10);
        n = !strcmp(env, "off") ? UINT32_MAX : (*end == 0 && v < UINT32_MAX - 1u) ? (uint32_t)v : n;
    }
    __atomic_store_n(&native_after, n, __ATOMIC_RELAXED);
    return n;
}

typedef int (*native_fn)(struct ictx *c, ir_u128 *vals, uint8_t *state, const interp_step_fn *handlers,
                         const struct interp_insn *code, struct soft_cpu *cpu);

enum interp_result interp_run(struct soft_cpu *cpu, struct interp_prog *p)
{
    /* A block is entered between instructions: nothing is open yet. */
    struct ir_fp_memo fp = { 0 };
    struct ictx c = { cpu, p->vals, cpu->state, cpu->icount, p, &fp };
    const struct interp_insn *in = p->code + p->entry;
    int rc;
    if (!p->native && p->runs != UINT32_MAX && p->runs++ == interp_native_after())
        interp_native_compile(p);
    if (p->native) {
        rc = ((native_fn)p->native)(&c, p->vals, cpu->state, interp_outline, p->code, cpu);
        return rc == 2 ? INTERP_STOP : INTERP_EXIT;
    }
#if defined(__GNUC__)
    static const void *const labels[XI_COUNT] = {
#define IR_OP(name, result, nargs, effects) [IR_##name] = &&L_##name,
#include "jit/ir_ops.def"
#undef IR_OP
#define FORM(name, fn, n) [name] = &&L_##name,
        INTERP_FORMS(FORM)
#undef FORM
    };
#define STEP(fn, n)                                                                   \
    rc = fn(&c, in);                                                                  \
    if (rc)                                                                           \
        goto out;                                                                     \
    in += (n);                                                                        \
    goto *labels[in->xop];
    goto *labels[in->xop];
#define IR_OP(name, result, nargs, effects) L_##name : STEP(x_##name, 1)
#include "jit/ir_ops.def"
#undef IR_OP
#define FORM(name, fn, n) L_##name : STEP(fn, n)
    INTERP_FORMS(FORM)
#undef FORM
#undef STEP
#else
    for (;;) {
        switch (in->xop) {
#define IR_OP(name, result, nargs, effects)                                           \
        case IR_##name: rc = x_##name(&c, in); in += 1; break;
#include "jit/ir_ops.def"
#undef IR_OP
#define FORM(name, fn, n) case name: rc = fn(&c, in); in += (n); break;
        INTERP_FORMS(FORM)
#undef FORM
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
    struct ir_fp_memo fp = { 0 };
    struct ictx c = { NULL, v, NULL, 0, NULL, &fp };
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

static bool is_marker(const struct interp_insn *in)
{
    return in->op == IR_INSN_START || in->op == IX_INSN_NEXT;
}

/* The form that also steps over a marker right after it, or 0. */
static uint16_t with_next(uint16_t op)
{
    switch (op) {
    case IX_SET64: return XI_SET64_NEXT;
    case IR_SET: return XI_SET_NEXT;
    case IR_STORE: return XI_STORE_NEXT;
    default: return 0;
    }
}

/* The 64-bit form of an op whose operands and result all fit in 64 bits, or 0. */
static uint16_t narrow_form(const struct interp_insn *in, const uint8_t *width)
{
    static const uint16_t forms[IR_OP_COUNT] = {
        [IR_EQ] = XI_EQ64, [IR_NE] = XI_NE64, [IR_ULT] = XI_ULT64, [IR_ULE] = XI_ULE64,
        [IR_SLT] = XI_SLT64, [IR_SLE] = XI_SLE64, [IR_SHL] = XI_SHL64, [IR_LSHR] = XI_LSHR64,
        [IR_ASHR] = XI_ASHR64, [IR_ZEXT] = XI_MOV64, [IR_TRUNC] = XI_MASK64, [IR_EXTRACT] = XI_EXTRACT64,
        [IR_NOT] = XI_NOT64, [IR_SELECT] = XI_SELECT64, [IR_INSERT] = XI_INSERT64,
    };
    if (in->op >= IR_OP_COUNT || !forms[in->op] || in->w > 64)
        return 0;
    const uint32_t args[3] = { in->a, in->b, in->c };
    for (unsigned k = 0; k < 3; k++)
        if (args[k] && width[args[k]] > 64)
            return 0;
    return forms[in->op];
}

/* Whether code[i..i+3] is a chain of four narrow inserts, each into the one before,
 * whose values in between have no other use. */
static bool insert_chain(const struct interp_insn *code, uint32_t i, uint32_t n, const uint32_t *uses)
{
    if (i + 4 > n)
        return false;
    for (unsigned k = 0; k < 4; k++) {
        if (code[i + k].xop != XI_INSERT64)
            return false;
        if (k && (code[i + k].a != code[i + k - 1].dst || uses[code[i + k - 1].dst] != 1))
            return false;
    }
    return true;
}

/* Number the guest instructions, note where their markers are, and pick what the
 * interpreter dispatches on. Verified code ends with a terminator, so there is
 * always an instruction to run after the leading markers. */
static bool plan_dispatch(struct interp_insn *code, uint32_t n, struct interp_prog *out)
{
    uint32_t nmarkers = 0;
    for (uint32_t i = 0; i < n; i++)
        nmarkers += is_marker(&code[i]);
    if (nmarkers > UINT16_MAX)
        return false;
    out->starts = calloc(nmarkers + 1u, sizeof(*out->starts));
    if (!out->starts)
        return false;
    uint16_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (is_marker(&code[i]))
            out->starts[++k] = i;
        code[i].insn = k;
        uint16_t next = i + 1 < n && is_marker(&code[i + 1]) ? with_next(code[i].op) : 0;
        uint16_t narrow = narrow_form(&code[i], out->width);
        code[i].xop = next ? next : narrow ? narrow : code[i].op;
    }
    uint32_t *uses = calloc(out->nvals ? out->nvals : 1, sizeof(*uses));
    if (!uses)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        uses[code[i].a]++;
        uses[code[i].b]++;
        uses[code[i].c]++;
    }
    for (uint32_t i = 0; i < n; i++)
        if (insert_chain(code, i, n, uses)) {
            code[i].xop = XI_INSERT64X4;
            i += 3;
        }
    free(uses);
    uint32_t e = 0;
    while (e < n && is_marker(&code[e]))
        e++;
    out->entry = e;
    return e < n;
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
    slot = NULL;
    out->width = width;
    out->nvals = nslots;
    if (!plan_dispatch(code, n, out))
        goto fail;
    out->code = code;
    out->count = n;
    out->nvals = nslots;
    out->vals = vals;
    out->width = width;
    out->is_const = is_const;
    return true;
fail:
    free(slot);
    free(out->starts);
    free(code);
    free(vals);
    free(width);
    free(is_const);
    memset(out, 0, sizeof(*out));
    return false;
}

void interp_prog_free(struct interp_prog *p)
{
    interp_native_free(p);
    free(p->code);
    free(p->vals);
    free(p->width);
    free(p->is_const);
    free(p->starts);
    memset(p, 0, sizeof(*p));
}
