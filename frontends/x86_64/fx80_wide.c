/* fx80_wide.c - arithmetic on the 128-bit-significand internal float of the x87
 * transcendentals: truncating add/sub/mul/div, each good to a few units in 2^-127. */
#include "fx80_wide.h"

#define WF_TOP ((fx80_u128)1 << 127)

const struct fx80_wconst FX80_W_LN2 = { UINT64_C(0xb17217f7d1cf79ab), UINT64_C(0xc9e3b39803f2f6af), -1 };
const struct fx80_wconst FX80_W_LOG2E = { UINT64_C(0xb8aa3b295c17f0bb), UINT64_C(0xbe87fed0691d3e88), 0 };
const struct fx80_wconst FX80_W_PI = { UINT64_C(0xc90fdaa22168c234), UINT64_C(0xc4c6628b80dc1cd1), 1 };
const struct fx80_wconst FX80_W_PI_2 = { UINT64_C(0xc90fdaa22168c234), UINT64_C(0xc4c6628b80dc1cd1), 0 };

struct fx80_wf wf_norm(bool neg, int32_t exp, fx80_u128 m)
{
    if (m == 0)
        return (struct fx80_wf){ neg, 0, 0 };
    int lz = fx80_clz128(m);
    return (struct fx80_wf){ neg, exp - lz, m << lz };
}

struct fx80_wf wf_const(const struct fx80_wconst *c)
{
    return (struct fx80_wf){ false, c->exp, ((fx80_u128)c->hi << 64) | c->lo };
}

struct fx80_wf wf_from_fx80(fx80 a)
{
    if (fx80_is_zero(a))
        return (struct fx80_wf){ fx80_sign(a), 0, 0 };
    struct fx80_norm x = fx80_normalise(a);
    return (struct fx80_wf){ x.sign, x.exp - FX80_EXP_BIAS, (fx80_u128)x.mant << 64 };
}

struct fx80_wf wf_from_int(int64_t v)
{
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    return wf_norm(v < 0, 127, m);
}

struct fx80_wf wf_add(struct fx80_wf a, struct fx80_wf b)
{
    if (b.m == 0)
        return a;
    if (a.m == 0)
        return b;
    if (a.exp < b.exp || (a.exp == b.exp && a.m < b.m)) {
        struct fx80_wf t = a;
        a = b;
        b = t;
    }
    unsigned d = (unsigned)(a.exp - b.exp);
    fx80_u128 bm = fx80_shr_sticky(b.m, d);
    if (a.neg == b.neg) {
        fx80_u128 s = a.m + bm;
        if (s < a.m)   /* carry out of bit 127 */
            return (struct fx80_wf){ a.neg, a.exp + 1, (s >> 1) | WF_TOP };
        return (struct fx80_wf){ a.neg, a.exp, s };
    }
    return wf_norm(a.neg, a.exp, a.m - bm);
}

struct fx80_wf wf_sub(struct fx80_wf a, struct fx80_wf b) { return wf_add(a, wf_neg(b)); }

struct fx80_wf wf_mul(struct fx80_wf a, struct fx80_wf b)
{
    bool neg = a.neg != b.neg;
    if (a.m == 0 || b.m == 0)
        return (struct fx80_wf){ neg, 0, 0 };
    uint64_t ah = (uint64_t)(a.m >> 64), al = (uint64_t)a.m;
    uint64_t bh = (uint64_t)(b.m >> 64), bl = (uint64_t)b.m;
    fx80_u128 hh = (fx80_u128)ah * bh, hl = (fx80_u128)ah * bl, lh = (fx80_u128)al * bh;
    fx80_u128 ll = (fx80_u128)al * bl;
    fx80_u128 mid = (hl & UINT64_MAX) + (lh & UINT64_MAX) + (ll >> 64);
    fx80_u128 hi = hh + (hl >> 64) + (lh >> 64) + (mid >> 64);
    bool sticky = (uint64_t)mid != 0 || (uint64_t)ll != 0;
    return wf_norm(neg, a.exp + b.exp + 1, hi | sticky);
}

struct fx80_wf wf_div(struct fx80_wf a, struct fx80_wf b)
{
    bool neg = a.neg != b.neg;
    if (a.m == 0 || b.m == 0)   /* callers never divide by zero */
        return (struct fx80_wf){ neg, 0, 0 };
    /* Restoring division, one quotient bit per step from the 2^0 bit down. */
    fx80_u128 r = a.m, q = 0;
    bool carry = false;
    for (int i = 127; i >= 0; i--) {
        if (carry || r >= b.m) {
            r -= b.m;
            q |= (fx80_u128)1 << i;
        }
        carry = (r >> 127) != 0;
        r <<= 1;
    }
    return wf_norm(neg, a.exp - b.exp, q | (r != 0));
}

struct fx80_wf wf_div_small(struct fx80_wf a, uint64_t n)
{
    fx80_u128 q1 = a.m / n, r = a.m % n;
    fx80_u128 n2 = r << 64;
    uint64_t q2 = (uint64_t)(n2 / n);
    int lz = fx80_clz128(q1);
    fx80_u128 m = lz ? (q1 << lz) | ((fx80_u128)q2 >> (64 - lz)) : q1;
    uint64_t dropped = lz == 64 ? 0 : (lz ? q2 << lz : q2);
    bool sticky = dropped != 0 || n2 % n != 0;
    return (struct fx80_wf){ a.neg, a.exp - lz, m | sticky };
}

fx80 wf_to_fx80(struct fx80_wf a, struct fx80_env *env)
{
    if (a.m == 0)
        return fx80_make(a.neg, 0, 0);
    int64_t e = (int64_t)a.exp + FX80_EXP_BIAS;
    if (e > 2 * FX80_EXP_MAX)
        e = 2 * FX80_EXP_MAX;
    if (e < -2 * FX80_EXP_MAX)
        e = -2 * FX80_EXP_MAX;
    return fx80_round_pack(a.neg, (int32_t)e, a.m, FX80_PREC_FULL, env);
}
