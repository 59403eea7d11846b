/* fx80_gen.h - operand generator for the fx80 differential tests: deterministic
 * (xorshift, fixed seeds) and biased to the edges: zeros, denormals, pseudo-denormals,
 * unnormals, pseudo-NaN/infinity, infinities, QNaN/SNaN, extreme exponents and
 * significands that sit on the 24/53/64-bit rounding boundaries. */
#ifndef ANYHV_TESTS_SOFT_X86_FX80_GEN_H
#define ANYHV_TESTS_SOFT_X86_FX80_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "frontends/x86_64/fx80.h"

struct fx80_rng {
    uint64_t s;
};

static inline uint64_t rng_next(struct fx80_rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}
static inline unsigned rng_below(struct fx80_rng *r, unsigned n) { return (unsigned)(rng_next(r) % n); }

/* A significand with interesting low bits at one of the precision boundaries. */
static inline uint64_t gen_mant(struct fx80_rng *r)
{
    static const unsigned boundary[] = { 40, 11, 0, 39, 10 };
    uint64_t m = rng_next(r);
    switch (rng_below(r, 8)) {
    case 0: return UINT64_C(1) << 63;                        /* power of two */
    case 1: return ~UINT64_C(0);                             /* all ones */
    case 2: {                                                /* half-way patterns */
        unsigned b = boundary[rng_below(r, 5)];
        uint64_t low = b ? (UINT64_C(1) << (b - 1)) : 0;
        uint64_t mask = b ? (UINT64_C(1) << b) - 1 : 0;
        m = (m & ~mask) | low;
        if (rng_below(r, 2) && b > 1)
            m += rng_below(r, 2) ? 1 : -1;
        return m | (UINT64_C(1) << 63);
    }
    case 3: return (m | (UINT64_C(1) << 63)) & ~((UINT64_C(1) << rng_below(r, 64)) - 1);
    case 4: return (UINT64_C(1) << 63) | (m >> rng_below(r, 64));   /* near a power of two */
    default: return m | (UINT64_C(1) << 63);
    }
}

/* Value classes: most are normal numbers, the rest the edges. `near` is an
 * exponent to stay close to (cancellation, remainder, overflow pairs), or -1. */
static inline fx80 gen_fx80(struct fx80_rng *r, int near)
{
    bool sign = rng_below(r, 2);
    uint16_t s = sign ? FX80_SIGN : 0;
    uint64_t m = gen_mant(r);
    unsigned e;
    switch (rng_below(r, 32)) {
    case 0: return (fx80){ 0, s };                                        /* zero */
    case 1: return (fx80){ m >> (1 + rng_below(r, 63)), s };              /* denormal */
    case 2: return (fx80){ m, s };                                        /* pseudo-denormal */
    case 3: return (fx80){ m >> 1, (uint16_t)(s | (1 + rng_below(r, 0x7ffe))) }; /* unnormal */
    case 4: return (fx80){ FX80_INT_BIT, (uint16_t)(s | 0x7fff) };        /* infinity */
    case 5: return (fx80){ m | FX80_QUIET_BIT, (uint16_t)(s | 0x7fff) };  /* QNaN */
    case 6: {                                                              /* SNaN */
        uint64_t f = (m & ~FX80_QUIET_BIT) | FX80_INT_BIT;
        if (!(f << 1))
            f |= 1;
        return (fx80){ f, (uint16_t)(s | 0x7fff) };
    }
    case 7: return (fx80){ rng_below(r, 2) ? 0 : m >> 1, (uint16_t)(s | 0x7fff) }; /* pseudo-inf/NaN */
    case 8: return (fx80){ ~UINT64_C(0), (uint16_t)(s | 0x7ffe) };        /* max normal */
    case 9: return (fx80){ FX80_INT_BIT, (uint16_t)(s | 1) };             /* min normal */
    case 10: case 11: e = rng_below(r, 2) ? 1 + rng_below(r, 80) : 0x7ffe - rng_below(r, 80); break;
    case 12: case 13: case 14: e = 0x3fff - 70 + rng_below(r, 140); break; /* around 1 */
    default:
        if (near >= 0) {
            int d = (int)rng_below(r, 140) - 70;
            if (rng_below(r, 2))
                d = (int)rng_below(r, 5) - 2;
            e = (unsigned)(near + d);
            if (e == 0 || e >= 0x7fff)
                e = (unsigned)near;
            if (e == 0)
                e = 1;
        } else {
            e = 1 + rng_below(r, 0x7ffe);
        }
        break;
    }
    return (fx80){ m, (uint16_t)(s | e) };
}

#endif
