/* test_fx80_trans.c - the x87 transcendentals of fx80 (FSIN/FCOS/FPTAN/FPATAN/
 * F2XM1/FYL2X/FYL2XP1) against the host x87: the value within 1 ulp inside each
 * instruction's accurate range (the maximum difference is reported), and special
 * operands (NaN, infinities, zeros, out of range) bit for bit with flags. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "fx80_gen.h"
#include "fx80_host.h"
#include "tests/support/x86_vendor.h"

#define SLICE_ITERS 4000
#define ALL_MASKED 0x3fu
#define MAX_REPORTS 8
#define ULP_BOUND 1

typedef unsigned __int128 u128;

enum trans_fn { T_SIN, T_COS, T_TAN, T_ATAN, T_F2XM1, T_YL2X, T_YL2XP1, T_COUNT };
static const char *const T_NAMES[T_COUNT] = { "fsin", "fcos", "fptan", "fpatan", "f2xm1", "fyl2x", "fyl2xp1" };

struct trans_stats {
    uint64_t cases, ranged, bit_exact, c1_diffs, over_bound, flag_diffs, special_diffs, vendor_masked;
    u128 max_ulp;
};

static unsigned long iterations(void)
{
    const char *s = getenv("ANYHV_FUZZ_ITERS");
    unsigned long n = s ? strtoul(s, NULL, 0) : 0;
    return n ? n / 4 + 1 : SLICE_ITERS;
}

static void require_oracle(void)
{
#if !FX80_HOST_ORACLE
    cr_skip_test("the host x87 oracle needs an x86-64 host");
#endif
    if (getenv("FX80_FUZZ_ENTRY") && !getenv("ANYHV_FUZZ_ITERS"))
        cr_skip_test("long run only under make fuzz (ANYHV_FUZZ_ITERS unset)");
}

/* The model: result, C2 (out of range) and flags, shaped like the host's. */
static fx80 model(enum trans_fn fn, fx80 a, fx80 b, struct fx80_env *env, bool *c2)
{
    *c2 = false;
    switch (fn) {
    case T_SIN: return fx80_sin(a, c2, env);
    case T_COS: return fx80_cos(a, c2, env);
    case T_TAN: return fx80_tan(a, c2, env);
    case T_ATAN: return fx80_atan2(b, a, env);
    case T_F2XM1: return fx80_exp2m1(a, env);
    case T_YL2X: return fx80_ylog2x(b, a, env);
    default: return fx80_ylog2xp1(b, a, env);
    }
}

#if FX80_HOST_ORACLE
static const enum host_op T_HOST[T_COUNT] = { HOST_SIN, HOST_COS, HOST_PTAN, HOST_PATAN,
                                              HOST_F2XM1, HOST_YL2X, HOST_YL2XP1 };

/* The host's result; with no result (unmasked exception) ST(0) is still a. */
static fx80 host(enum trans_fn fn, fx80 a, fx80 b, const struct fx80_env *env, bool no_result,
                 uint16_t *sw)
{
    struct host_res h;
    memset(h.mem, 0, sizeof h.mem);
    host_run(T_HOST[fn], fcw_of(env), a, b, &h);
    *sw = h.sw;
    if (fn == T_TAN && !(h.sw & FSW_C2) && !no_result)
        return h.st1;   /* FPTAN pushed 1.0 above tan */
    return h.st0;
}
#else
static fx80 host(enum trans_fn fn, fx80 a, fx80 b, const struct fx80_env *env, bool no_result,
                 uint16_t *sw)
{
    (void)fn, (void)b, (void)env, (void)no_result;
    *sw = 0;
    return a;   /* never reached: live comparisons skip without the oracle */
}
#endif

/* Distance in units in the last place between two finite values of one sign. */
static u128 ordinal(fx80 v)
{
    unsigned e = v.se & FX80_EXP_MASK;
    return e ? ((u128)e << 63) + (v.mant & ~FX80_INT_BIT) : v.mant;
}
static u128 ulp_diff(fx80 x, fx80 y)
{
    u128 ox = ordinal(x), oy = ordinal(y);
    if ((x.se ^ y.se) & FX80_SIGN)
        return ox + oy;
    return ox > oy ? ox - oy : oy - ox;
}

static bool finite(fx80 v) { return (v.se & FX80_EXP_MASK) != FX80_EXP_MASK; }

/* The host's value and FSW for a case: run now, or recorded (golden vectors). */
struct trans_host {
    fx80 value;
    uint16_t sw;
    bool given;
};

static void compare_with(enum trans_fn fn, fx80 a, fx80 b, const struct fx80_env *env0, bool exact,
                         const struct trans_host *given, struct trans_stats *st)
{
    struct fx80_env env = *env0;
    bool c2;
    uint16_t sw;
    fx80 m = model(fn, a, b, &env, &c2);
    if (env.no_result)
        m = a;
    fx80 h;
    if (given->given) {
        h = given->value;
        sw = given->sw;
    } else {
        h = host(fn, a, b, &env, env.no_result, &sw);
    }
    bool flags_same = (sw & FSW_FLAGS) == env.flags;
    bool same = m.se == h.se && m.mant == h.mant && ((sw & FSW_C2) != 0) == c2;
    st->cases++;
    /* Denormal operands with an ordinary (finite, nonzero) result are measured in
     * ulps like the in-range cases: the host is within 1 ulp there, not always
     * rounded as the exact value (F2XM1's x*ln2, FPATAN/FYL2X of denormals). */
    bool ordinary = finite(h) && finite(m) && (h.mant | m.mant) != 0 && !env.no_result;
    if (exact && ordinary && (!(a.se & FX80_EXP_MASK) || !(b.se & FX80_EXP_MASK)))
        exact = false;
    if (exact) {
        if (same && flags_same && ((sw & FSW_C1) != 0) == env.round_up)
            return;
        if (st->special_diffs++ < MAX_REPORTS)
            cr_log_info("%s special a=%04x:%016" PRIx64 " b=%04x:%016" PRIx64 ": host %04x:%016" PRIx64
                        " sw %04x, model %04x:%016" PRIx64 " flags %02x c1 %d c2 %d", T_NAMES[fn], a.se,
                        a.mant, b.se, b.mant, h.se, h.mant, sw, m.se, m.mant, env.flags, env.round_up, c2);
        return;
    }
    if (!flags_same && st->flag_diffs++ < MAX_REPORTS)
        cr_log_info("%s flags a=%04x:%016" PRIx64 " b=%04x:%016" PRIx64 " rc=%u: host %02x, model %02x",
                    T_NAMES[fn], a.se, a.mant, b.se, b.mant, env.rc, sw & FSW_FLAGS, env.flags);
    u128 d = finite(m) && finite(h) ? ulp_diff(m, h) : (same ? 0 : ~(u128)0);
    st->ranged++;
    st->bit_exact += d == 0;
    /* Equal values can still differ in C1 where the host's internal value lies on the
     * other side of the result: counted and reported, like the 1-ulp differences. */
    if (d == 0 && ((sw & FSW_C1) != 0) != env.round_up && st->c1_diffs++ < MAX_REPORTS)
        cr_log_info("%s C1 a=%04x:%016" PRIx64 " b=%04x:%016" PRIx64 " rc=%u: host %d model %d", T_NAMES[fn],
                    a.se, a.mant, b.se, b.mant, env.rc, (sw & FSW_C1) != 0, env.round_up);
    if (d > st->max_ulp)
        st->max_ulp = d;
    if (d > ULP_BOUND && st->over_bound++ < MAX_REPORTS)
        cr_log_info("%s a=%04x:%016" PRIx64 " b=%04x:%016" PRIx64 " rc=%u: host %04x:%016" PRIx64
                    " model %04x:%016" PRIx64, T_NAMES[fn], a.se, a.mant, b.se, b.mant, env.rc, h.se,
                    h.mant, m.se, m.mant);
}

/* Against the host now. FSIN of a pseudo-denormal (exponent 0, integer bit set) is
 * not compared on a host whose vendor answers it differently from Intel
 * (tests/support/x86_vendor.h). */
static void compare(enum trans_fn fn, fx80 a, fx80 b, const struct fx80_env *env, bool exact,
                    struct trans_stats *st)
{
    static const struct trans_host live = { { 0, 0 }, 0, false };
    bool pseudo_denormal = !(a.se & FX80_EXP_MASK) && (a.mant & FX80_INT_BIT);
    if (fn == T_SIN && pseudo_denormal && x86_vendor_differs(X86_VDIFF_FX80_FSIN_PSEUDO_DENORMAL)) {
        st->vendor_masked++;
        return;
    }
    compare_with(fn, a, b, env, exact, &live, st);
}

/* A finite value with exponent in [lo, hi] (biased) and either sign if `both`. */
static fx80 gen_range(struct fx80_rng *r, int lo, int hi, bool both)
{
    fx80 v = { gen_mant(r), (uint16_t)(lo + (int)rng_below(r, (unsigned)(hi - lo + 1))) };
    if (both && rng_below(r, 2))
        v.se |= FX80_SIGN;
    return v;
}

#define BIAS 0x3fff
/* pi/2 with its integer bit at bit 127 (value = PIO2 * 2^-127). */
#define PIO2_HI UINT64_C(0xc90fdaa22168c234)
#define PIO2_LO UINT64_C(0xc4c6628b80dc1cd1)

/* The fx80 nearest below k * pi/2, nudged by a few ulps: where the x87's 66-bit pi
 * reduction loses the most (tests that the model reduces the way the host does). */
static fx80 near_pio2_multiple(struct fx80_rng *r)
{
    uint64_t k = 1 + rng_below(r, rng_below(r, 2) ? 8 : 1u << 20);
    u128 sum = (u128)k * PIO2_HI + (((u128)k * PIO2_LO) >> 64);   /* k pi/2 in units of 2^-63 */
    uint64_t hi = (uint64_t)(sum >> 64);
    int lz = hi ? __builtin_clzll(hi) : 64 + __builtin_clzll((uint64_t)sum);
    uint64_t mant = (uint64_t)((sum << lz) >> 64) + rng_below(r, 5) - 2;
    fx80 v = { mant | FX80_INT_BIT, (uint16_t)(BIAS + (127 - lz) - 63) };
    if (rng_below(r, 2))
        v.se |= FX80_SIGN;
    return v;
}

/* Operands inside each instruction's accurate domain. */
static void gen_domain(struct fx80_rng *r, enum trans_fn fn, fx80 *a, fx80 *b)
{
    /* y of FPATAN/FYL2X/FYL2XP1: mostly moderate, sometimes anywhere (overflow and
     * underflow of the result, masked and unmasked). */
    *b = rng_below(r, 4) ? gen_range(r, BIAS - 40, BIAS + 40, true) : gen_range(r, 1, 0x7ffe, true);
    switch (fn) {
    case T_SIN: case T_COS: case T_TAN:
        if (rng_below(r, 8) == 0) {
            *a = near_pio2_multiple(r);
            break;
        }
        *a = gen_range(r, rng_below(r, 4) ? BIAS - 3 : BIAS - 80, BIAS + (rng_below(r, 4) ? 1 : 62), true);
        break;
    case T_ATAN:
        *a = rng_below(r, 4) ? gen_range(r, BIAS - 200, BIAS + 200, true) : gen_range(r, 1, 0x7ffe, true);
        break;
    case T_F2XM1: *a = gen_range(r, BIAS - 70, BIAS - 1, true); break;
    case T_YL2X: *a = gen_range(r, BIAS - 300, BIAS + 300, false); break;
    default: *a = gen_range(r, BIAS - 70, BIAS - 3, true); break;   /* |x| < 1/4 */
    }
}

/* Outside the documented domains: F2XM1 beyond [-1, 1] (the host returns x with
 * PE), FYL2XP1 beyond |x| < 1 - sqrt(2)/2 (the host still computes the function).
 * The SDM promises nothing; the model follows the host. */
static void gen_outside(struct fx80_rng *r, enum trans_fn fn, fx80 *a, fx80 *b)
{
    *b = gen_range(r, BIAS - 40, BIAS + 40, true);
    if (fn == T_F2XM1)
        *a = gen_range(r, BIAS, BIAS + 16, true);
    else
        *a = gen_range(r, BIAS - 2, BIAS + 100, false);
}

static void report(enum trans_fn fn, const char *where, const struct trans_stats *st)
{
    double ulp = st->max_ulp > (u128)UINT64_MAX ? 1e30 : (double)(uint64_t)st->max_ulp;
    double exact_pct = st->ranged ? 100.0 * (double)st->bit_exact / (double)st->ranged : 0;
    cr_log_info("%s%s: %" PRIu64 " cases, max %.0f ulp, %.2f%% bit-exact (%" PRIu64 " of them with another C1), %" PRIu64 " over %d ulp, %" PRIu64
                " flag differences, %" PRIu64 " special-operand mismatches, %" PRIu64 " not compared (vendor difference)",
                T_NAMES[fn], where, st->cases, ulp, exact_pct, st->c1_diffs, st->over_bound, ULP_BOUND, st->flag_diffs,
                st->special_diffs, st->vendor_masked);
    fprintf(stderr, "fx80 %s%s: %" PRIu64 " cases, max %.0f ulp, %.2f%% bit-exact (%" PRIu64 " with another C1), %" PRIu64 " over %d ulp, %" PRIu64
            " flag differences, %" PRIu64 " special mismatches, %" PRIu64 " not compared (vendor difference)\n", T_NAMES[fn],
            where, st->cases, ulp, exact_pct, st->c1_diffs, st->over_bound, ULP_BOUND, st->flag_diffs, st->special_diffs,
            st->vendor_masked);
}

static void run_fn(enum trans_fn fn)
{
    require_oracle();
    struct trans_stats st = { 0 };
    struct fx80_rng r = { 0xabcdef12345u + fn };
    unsigned long n = iterations();
    for (unsigned long i = 0; i < n; i++) {
        struct fx80_env env = { .rc = (uint8_t)(i & 3), .pc = (uint8_t)(rng_below(&r, 2) ? FX80_P64 : FX80_P24),
                                .masks = ALL_MASKED };
        if (rng_below(&r, 4) == 0)
            env.masks = (uint8_t)(rng_next(&r) & ALL_MASKED);
        fx80 a, b;
        gen_domain(&r, fn, &a, &b);
        compare(fn, a, b, &env, false, &st);
        /* Edge operands (NaNs, infinities, zeros, denormals, unsupported) must match exactly. */
        env.masks = rng_below(&r, 4) ? ALL_MASKED : (uint8_t)(rng_next(&r) & ALL_MASKED);
        a = gen_fx80(&r, -1);
        b = gen_fx80(&r, -1);
        unsigned ea = a.se & FX80_EXP_MASK, eb = b.se & FX80_EXP_MASK;
        bool edge_a = ea == 0 || ea == FX80_EXP_MASK || !(a.mant & FX80_INT_BIT);
        bool edge_b = eb == 0 || eb == FX80_EXP_MASK || !(b.mant & FX80_INT_BIT);
        bool two = fn == T_ATAN || fn == T_YL2X || fn == T_YL2XP1;
        if (edge_a && (!two || edge_b))
            compare(fn, a, b, &env, true, &st);
    }
    report(fn, "", &st);
    cr_expect_eq(st.over_bound, 0, "%s: %" PRIu64 " results more than %d ulp from the host", T_NAMES[fn],
                 st.over_bound, ULP_BOUND);
    cr_expect_eq(st.flag_diffs, 0, "%s: %" PRIu64 " cases raise other flags than the host", T_NAMES[fn],
                 st.flag_diffs);
    cr_expect_eq(st.special_diffs, 0, "%s: %" PRIu64 " special-operand results differ", T_NAMES[fn],
                 st.special_diffs);
}

static void run_outside(enum trans_fn fn)
{
    require_oracle();
    struct trans_stats st = { 0 };
    struct fx80_rng r = { 0x5555aaaa1234u + fn };
    unsigned long n = iterations();
    for (unsigned long i = 0; i < n; i++) {
        struct fx80_env env = { .rc = (uint8_t)(i & 3), .pc = FX80_P64, .masks = ALL_MASKED };
        fx80 a, b;
        gen_outside(&r, fn, &a, &b);
        compare(fn, a, b, &env, false, &st);
    }
    report(fn, " (outside its domain)", &st);
    cr_expect_eq(st.over_bound, 0, "%s outside its domain: %" PRIu64 " results more than %d ulp from the host",
                 T_NAMES[fn], st.over_bound, ULP_BOUND);
    cr_expect_eq(st.flag_diffs, 0, "%s outside its domain: %" PRIu64 " flag differences", T_NAMES[fn],
                 st.flag_diffs);
}

Test(fx80_trans, f2xm1_outside_domain) { run_outside(T_F2XM1); }
Test(fx80_trans, fyl2xp1_outside_domain) { run_outside(T_YL2XP1); }

Test(fx80_trans, fsin) { run_fn(T_SIN); }
Test(fx80_trans, fcos) { run_fn(T_COS); }
Test(fx80_trans, fptan) { run_fn(T_TAN); }
Test(fx80_trans, fpatan) { run_fn(T_ATAN); }
Test(fx80_trans, f2xm1) { run_fn(T_F2XM1); }
Test(fx80_trans, fyl2x) { run_fn(T_YL2X); }
Test(fx80_trans, fyl2xp1) { run_fn(T_YL2XP1); }

/* Recorded host results (vectors_fx80_trans.inc) checked the same way on any host:
 * within 1 ulp, flags exact. ANYHV_FX80_RECORD_TRANS=<file> rewrites the table. */
struct trans_vec {
    enum trans_fn fn;
    uint8_t rc, masks;
    fx80 a, b, value;
    uint16_t sw;
};

static const struct trans_vec TRANS_VECS[] = {
#define FX80_TVEC(fn, rc, masks, ase, am, bse, bm, sw, vse, vm) \
    { T_##fn, rc, masks, { am, ase }, { bm, bse }, { vm, vse }, sw },
#include "vectors_fx80_trans.inc"
#undef FX80_TVEC
};

#define TRANS_RECORD_PER_FN 24

static void record_trans(const char *path)
{
#if FX80_HOST_ORACLE
    static const char *const T_IDS[T_COUNT] = { "SIN", "COS", "TAN", "ATAN", "F2XM1", "YL2X", "YL2XP1" };
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fprintf(f, "/* vectors_fx80_trans.inc - host x87 transcendental results for test_fx80_trans.c,\n"
               " * written by ANYHV_FX80_RECORD_TRANS=<this file> on an x86-64 host: function, RC,\n"
               " * masks, a (ST0), b (ST1), FSW, result. */\n");
    for (int fn = 0; fn < T_COUNT; fn++) {
        struct fx80_rng r = { 0x7ea5u + (uint64_t)fn };
        for (unsigned i = 0; i < TRANS_RECORD_PER_FN; i++) {
            struct fx80_env env = { .rc = (uint8_t)(i & 3), .pc = FX80_P64, .masks = ALL_MASKED };
            fx80 a, b;
            uint16_t sw;
            gen_domain(&r, (enum trans_fn)fn, &a, &b);
            fx80 v = host((enum trans_fn)fn, a, b, &env, false, &sw);
            fprintf(f, "FX80_TVEC(%s, %u, 0x%02x, 0x%04x, UINT64_C(0x%016" PRIx64 "), 0x%04x, UINT64_C(0x%016" PRIx64
                       "), 0x%04x, 0x%04x, UINT64_C(0x%016" PRIx64 "))\n", T_IDS[fn], env.rc, env.masks, a.se,
                    a.mant, b.se, b.mant, sw, v.se, v.mant);
        }
    }
    fclose(f);
#else
    (void)path;
    cr_skip_test("recording needs the host x87 (x86-64)");
#endif
}

Test(fx80_trans, golden_vectors)
{
    const char *rec = getenv("ANYHV_FX80_RECORD_TRANS");
    if (getenv("FX80_FUZZ_ENTRY") && !getenv("ANYHV_FUZZ_ITERS"))
        cr_skip_test("long run only under make fuzz (ANYHV_FUZZ_ITERS unset)");
    if (rec)
        record_trans(rec);
    struct trans_stats st = { 0 };
    size_t n = sizeof TRANS_VECS / sizeof TRANS_VECS[0];
    for (size_t i = 0; i < n; i++) {
        const struct trans_vec *v = &TRANS_VECS[i];
        struct fx80_env env = { .rc = v->rc, .pc = FX80_P64, .masks = v->masks };
        struct trans_host h = { v->value, v->sw, true };
        compare_with(v->fn, v->a, v->b, &env, false, &h, &st);
    }
    cr_assert_gt(st.cases, 0, "no recorded vectors");
    cr_assert_eq(st.over_bound, 0, "%" PRIu64 " recorded results more than %d ulp away", st.over_bound, ULP_BOUND);
    cr_assert_eq(st.flag_diffs, 0, "%" PRIu64 " recorded cases with other flags", st.flag_diffs);
}
