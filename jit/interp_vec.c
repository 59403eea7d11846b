/* interp_vec.c - the integer vector ops of ir_ops.def, lane by lane: the reference
 * the compiled tier's LLVM vector code must match. Lanes are read through a union
 * (little-endian host, as the guest-state layout already assumes); each op is a loop
 * per lane width the host compiler vectorises. */
#include "jit/interp_vec.h"

#include <string.h>

typedef union {
    ir_u128 v;
    uint8_t b[16];
    uint16_t h[8];
    uint32_t s[4];
    uint64_t d[2];
    int8_t sb[16];
    int16_t sh[8];
    int32_t ss[4];
    int64_t sd[2];
} lanes;

#define LANE_BITS_8 8u
#define LANE_BITS_16 16u
#define LANE_BITS_32 32u
#define BYTES 16u

/* r.X[i] = EXPR over a.X[i], b.X[i] for the lane width w (8/16/32/64). x and y are
 * the lanes (unsigned fields U, signed fields S). */
#define LANEWISE(w, EXPR)                                                                    \
    do {                                                                                     \
        switch (w) {                                                                         \
        case LANE_BITS_8: LANE_LOOP(16, b, sb, uint8_t, int8_t, EXPR); break;                \
        case LANE_BITS_16: LANE_LOOP(8, h, sh, uint16_t, int16_t, EXPR); break;              \
        case LANE_BITS_32: LANE_LOOP(4, s, ss, uint32_t, int32_t, EXPR); break;              \
        default: LANE_LOOP(2, d, sd, uint64_t, int64_t, EXPR); break;                        \
        }                                                                                    \
    } while (0)
#define LANE_LOOP(n, U, S, UT, ST, EXPR)                                                     \
    for (unsigned i = 0; i < (n); i++) {                                                     \
        UT x = A.U[i], y = B.U[i];                                                           \
        ST sx = A.S[i], sy = B.S[i];                                                         \
        (void)x; (void)y; (void)sx; (void)sy;                                                \
        const unsigned bits = 8u * sizeof(UT);                                               \
        (void)bits;                                                                          \
        R.U[i] = (UT)(EXPR);                                                                 \
    }

#define VOP2(NAME, EXPR)                                                                     \
    ir_u128 ivec_##NAME(ir_u128 a, ir_u128 b, uint64_t imm, uint64_t imm2)                   \
    {                                                                                        \
        lanes A = { .v = a }, B = { .v = b }, R;                                             \
        (void)imm2;                                                                          \
        LANEWISE((unsigned)imm, EXPR);                                                       \
        return R.v;                                                                          \
    }

/* Signed bounds of a lane of `bits` bits, as int64_t. */
static inline int64_t smax_of(unsigned bits) { return (int64_t)((1ull << (bits - 1)) - 1); }
static inline int64_t smin_of(unsigned bits) { return -smax_of(bits) - 1; }
static inline uint64_t umax_of(unsigned bits) { return bits >= 64 ? ~0ull : (1ull << bits) - 1; }

/* v is exact for lanes below 64 bits (their sums fit in int64_t). */
static inline int64_t sat_s(int64_t v, unsigned bits)
{
    return v > smax_of(bits) ? smax_of(bits) : v < smin_of(bits) ? smin_of(bits) : v;
}

static inline int64_t sadd(int64_t x, int64_t y, unsigned bits)
{
    if (bits == 64) {
        int64_t r;
        return __builtin_add_overflow(x, y, &r) ? (x < 0 ? INT64_MIN : INT64_MAX) : r;
    }
    return sat_s(x + y, bits);
}

static inline int64_t ssub(int64_t x, int64_t y, unsigned bits)
{
    if (bits == 64) {
        int64_t r;
        return __builtin_sub_overflow(x, y, &r) ? (x < 0 ? INT64_MIN : INT64_MAX) : r;
    }
    return sat_s(x - y, bits);
}

static inline uint64_t uadd(uint64_t x, uint64_t y, unsigned bits)
{
    uint64_t r = x + y;
    return (r < x || r > umax_of(bits)) ? umax_of(bits) : r;
}

/* High half of the double-width product of two lanes. */
static inline uint64_t mulh_u(uint64_t x, uint64_t y, unsigned bits)
{
    return bits == 64 ? (uint64_t)(((unsigned __int128)x * y) >> 64) : (x * y) >> bits;
}

static inline uint64_t mulh_s(int64_t x, int64_t y, unsigned bits)
{
    return bits == 64 ? (uint64_t)(((__int128)x * y) >> 64) : (uint64_t)((x * y) >> bits);
}

VOP2(VADD, x + y)
VOP2(VSUB, x - y)
VOP2(VQADDS, sadd(sx, sy, bits))
VOP2(VQADDU, uadd(x, y, bits))
VOP2(VQSUBS, ssub(sx, sy, bits))
VOP2(VQSUBU, x > y ? x - y : 0)
VOP2(VMUL, (uint64_t)x * y)
VOP2(VMULHS, mulh_s(sx, sy, bits))
VOP2(VMULHU, mulh_u(x, y, bits))
VOP2(VCMPEQ, x == y ? ~0ull : 0)
VOP2(VCMPGTS, sx > sy ? ~0ull : 0)
VOP2(VCMPGTU, x > y ? ~0ull : 0)
VOP2(VMINS, sx < sy ? sx : sy)
VOP2(VMINU, x < y ? x : y)
VOP2(VMAXS, sx > sy ? sx : sy)
VOP2(VMAXU, x > y ? x : y)
VOP2(VAVGU, (x >> 1) + (y >> 1) + ((x | y) & 1))
VOP2(VABS, sx < 0 ? 0 - (uint64_t)sx : (uint64_t)sx)

/* Shifts: b is the count, the same for every lane. */
static inline unsigned count_of(ir_u128 b, unsigned bits, bool arith)
{
    if (b >= bits)
        return arith ? bits - 1 : bits;
    return (unsigned)b;
}

ir_u128 ivec_VSHL(ir_u128 a, ir_u128 b, uint64_t imm, uint64_t imm2)
{
    lanes A = { .v = a }, B = { .v = 0 }, R;
    unsigned n = count_of(b, (unsigned)imm, false);
    (void)imm2;
    LANEWISE((unsigned)imm, n >= bits ? 0 : (uint64_t)x << n);
    return R.v;
}

ir_u128 ivec_VLSHR(ir_u128 a, ir_u128 b, uint64_t imm, uint64_t imm2)
{
    lanes A = { .v = a }, B = { .v = 0 }, R;
    unsigned n = count_of(b, (unsigned)imm, false);
    (void)imm2;
    LANEWISE((unsigned)imm, n >= bits ? 0 : x >> n);
    return R.v;
}

ir_u128 ivec_VASHR(ir_u128 a, ir_u128 b, uint64_t imm, uint64_t imm2)
{
    lanes A = { .v = a }, B = { .v = 0 }, R;
    unsigned n = count_of(b, (unsigned)imm, true);
    (void)imm2;
    LANEWISE((unsigned)imm, (int64_t)sx >> n);
    return R.v;
}

ir_u128 ivec_VMSB(ir_u128 a, ir_u128 b, uint64_t imm, uint64_t imm2)
{
    unsigned bits = (unsigned)imm, n = 128u / bits;
    ir_u128 r = 0;
    (void)b;
    (void)imm2;
    for (unsigned i = 0; i < n; i++)
        r |= ((a >> ((i + 1) * bits - 1)) & 1) << i;
    return r;
}

ir_u128 ivec_VTBL(ir_u128 a, ir_u128 b, uint64_t imm, uint64_t imm2)
{
    lanes A = { .v = a }, B = { .v = b }, R;
    (void)imm;
    (void)imm2;
    for (unsigned i = 0; i < BYTES; i++)
        R.b[i] = B.b[i] < BYTES ? A.b[B.b[i]] : 0;
    return R.v;
}

ir_u128 ivec_VSHUF(ir_u128 a, ir_u128 b, uint64_t imm, uint64_t imm2)
{
    lanes A = { .v = a }, B = { .v = b }, R, I = { .v = (ir_u128)imm | ((ir_u128)imm2 << 64) };
    for (unsigned i = 0; i < BYTES; i++) {
        unsigned k = I.b[i];
        R.b[i] = k < BYTES ? A.b[k] : k < 2 * BYTES ? B.b[k - BYTES] : 0;
    }
    return R.v;
}
