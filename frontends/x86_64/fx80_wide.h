/* fx80_wide.h - a 128-bit-significand software float used only inside the x87
 * transcendentals (fx80_trans.c, fx80_log.c): enough precision (~125 bits) that
 * the final rounding to 64 bits is correct except in astronomically rare cases. */
#ifndef ANYHV_FRONTENDS_X86_64_FX80_WIDE_H
#define ANYHV_FRONTENDS_X86_64_FX80_WIDE_H

#include "fx80_int.h"

/* value = (-1)^neg * m * 2^(exp - 127); m has bit 127 set, or is 0 for zero. */
struct fx80_wf {
    bool neg;
    int32_t exp;
    fx80_u128 m;
};

/* A constant as two 64-bit halves of m and exp (tables of math constants). */
struct fx80_wconst {
    uint64_t hi, lo;
    int32_t exp;
};

struct fx80_wf wf_norm(bool neg, int32_t exp, fx80_u128 m);
struct fx80_wf wf_const(const struct fx80_wconst *c);
struct fx80_wf wf_from_fx80(fx80 a);   /* finite operands */
struct fx80_wf wf_from_int(int64_t v);
struct fx80_wf wf_add(struct fx80_wf a, struct fx80_wf b);
struct fx80_wf wf_sub(struct fx80_wf a, struct fx80_wf b);
struct fx80_wf wf_mul(struct fx80_wf a, struct fx80_wf b);
struct fx80_wf wf_div(struct fx80_wf a, struct fx80_wf b);
struct fx80_wf wf_div_small(struct fx80_wf a, uint64_t n);
static inline struct fx80_wf wf_neg(struct fx80_wf a) { a.neg = !a.neg; return a; }
static inline bool wf_is_zero(struct fx80_wf a) { return a.m == 0; }
/* Round to 64 significand bits (no precision control) with the x87 responses.
 * Every operation keeps a sticky bit in bit 0, so exact results stay exact and
 * inexact ones round in the right direction. */
fx80 wf_to_fx80(struct fx80_wf a, struct fx80_env *env);

/* Upper bound on the terms of any series here (they need at most ~40 with the
 * argument reductions in use); a guard so no input can loop. */
#define WF_SERIES_MAX_N 256

/* Shared constants. */
extern const struct fx80_wconst FX80_W_LN2, FX80_W_LOG2E, FX80_W_PI, FX80_W_PI_2;

#endif
