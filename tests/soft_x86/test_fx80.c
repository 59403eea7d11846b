/* test_fx80.c - software 80-bit x87 arithmetic (frontends/x86_64/fx80*.c) against
 * the host x87, bit for bit: value, the six exception flags and C0-C3, over every
 * RC x PC, masked and unmasked, on edge-biased operands. A bounded slice runs in
 * ctest; ANYHV_FUZZ_ITERS sets the per-operation count of the `fuzz` run. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "fx80_gen.h"
#include "fx80_model.h"
#include "tests/support/x86_vendor.h"

#define SLICE_ITERS 40000   /* per operation in the normal suite */
#define MAX_REPORTS 12
#define ALL_MASKED 0x3fu
#define UNDERFLOW_MASK 0x10u

static const char *const OP_NAMES[] = {
#define HOST_NAME(name, insn) #name,
    HOST_OPS(HOST_NAME)
#undef HOST_NAME
};

struct run_stats {
    uint64_t cases, mismatches, vendor_masked;
};

static unsigned long iterations(void)
{
    const char *s = getenv("ANYHV_FUZZ_ITERS");
    unsigned long n = s ? strtoul(s, NULL, 0) : 0;
    return n ? n : SLICE_ITERS;
}

static void print_fx(const char *what, fx80 v)
{
    cr_log_info("  %s = %04x:%016" PRIx64, what, v.se, v.mant);
}

static bool same_fx(fx80 x, fx80 y) { return x.se == y.se && x.mant == y.mant; }

static uint64_t mem_word(const uint8_t mem[16], int i)
{
    uint64_t w;
    memcpy(&w, mem + 8 * i, 8);
    return w;
}

/* A case the host's vendor answers differently from Intel (tests/support/x86_vendor.h):
 * FPREM/FPREM1/FSCALE of a denormal or pseudo-denormal ST(0) with UM clear. */
#if FX80_HOST_ORACLE
static bool vendor_masked(enum host_op op, const struct fx80_env *env, fx80 a)
{
    bool denormal_a = !(a.se & FX80_EXP_MASK) && a.mant;
    return (op == HOST_PREM || op == HOST_PREM1 || op == HOST_SCALE) && denormal_a &&
           !(env->masks & UNDERFLOW_MASK) && x86_vendor_differs(X86_VDIFF_FX80_DENORMAL_REM_SCALE_UM);
}
#endif

/* Compare the parts the model defines against a host result; report the first few
 * differences. */
static bool compare_case(enum host_op op, const struct fx80_env *env0, fx80 a, fx80 b,
                         const uint8_t mem[16], const struct host_res *h, struct run_stats *st)
{
    struct fx80_env env = *env0;
    struct model_out m;
    memcpy(m.res.mem, mem, 16);
    if (!model_run(op, &env, a, b, &m))
        return true;
    uint16_t sw_mask = FSW_FLAGS | ((m.cmp & CMP_C1) ? FSW_C1 : 0) |
                       ((m.cmp & CMP_CC) ? FSW_C0 | FSW_C2 | FSW_C3 : 0);
    bool ok = (h->sw & sw_mask) == (m.res.sw & sw_mask) &&
              (!(m.cmp & CMP_ST0) || same_fx(h->st0, m.res.st0)) &&
              (!(m.cmp & CMP_ST1) || same_fx(h->st1, m.res.st1)) &&
              memcmp(h->mem, m.res.mem, m.mem_bytes) == 0;
    st->cases++;
    if (ok)
        return true;
    if (st->mismatches++ < MAX_REPORTS) {
        cr_log_info("%s mismatch: rc=%u pc=%u masks=%02x", OP_NAMES[op], env0->rc, env0->pc, env0->masks);
        print_fx("a", a);
        print_fx("b", b);
        cr_log_info("  host  sw=%04x st0=%04x:%016" PRIx64 " st1=%04x:%016" PRIx64 " mem=%016" PRIx64,
                    h->sw & sw_mask, h->st0.se, h->st0.mant, h->st1.se, h->st1.mant, mem_word(h->mem, 0));
        cr_log_info("  model sw=%04x st0=%04x:%016" PRIx64 " st1=%04x:%016" PRIx64 " mem=%016" PRIx64,
                    m.res.sw & sw_mask, m.res.st0.se, m.res.st0.mant, m.res.st1.se, m.res.st1.mant,
                    mem_word(m.res.mem, 0));
    }
    return false;
}

/* One case against the host x87 itself. */
static bool check_case(enum host_op op, const struct fx80_env *env, fx80 a, fx80 b,
                       const uint8_t mem[16], struct run_stats *st)
{
#if FX80_HOST_ORACLE
    struct host_res h;
    memcpy(h.mem, mem, 16);
    if (vendor_masked(op, env, a)) {
        st->vendor_masked++;
        return true;
    }
    host_run(op, fcw_of(env), a, b, &h);
    return compare_case(op, env, a, b, mem, &h, st);
#else
    (void)op, (void)env, (void)a, (void)b, (void)mem, (void)st;
    return true;
#endif
}

/* Environments cycle through every RC x PC; a quarter get random masks. */
static struct fx80_env gen_env(struct fx80_rng *r, unsigned long i)
{
    static const uint8_t pcs[] = { FX80_P24, FX80_P53, FX80_P64, 1 /* reserved */ };
    struct fx80_env env = { 0 };
    env.rc = (uint8_t)(i & 3);
    env.pc = pcs[(i >> 2) % 4];
    env.masks = rng_below(r, 4) ? ALL_MASKED : (uint8_t)(rng_next(r) & ALL_MASKED);
    return env;
}

/* Memory operands for the loads: f32/f64 bit patterns and BCD digits. */
static void gen_mem(struct fx80_rng *r, enum host_op op, uint8_t mem[16])
{
    uint64_t v = rng_next(r);
    memset(mem, 0xa5, 16);   /* sentinel: what unmasked responses must leave */
    if (op == HOST_FLD32) {
        uint32_t w = (uint32_t)v;
        unsigned k = rng_below(r, 4);
        if (k == 0) w &= 0x807fffffu;                          /* zero/denormal */
        if (k == 1) w |= 0x7f800000u;                          /* inf/NaN */
        if (k == 2 && rng_below(r, 2)) w &= 0xff800000u;
        memcpy(mem, &w, 4);
    } else if (op == HOST_FLD64) {
        unsigned k = rng_below(r, 4);
        if (k == 0) v &= UINT64_C(0x800fffffffffffff) >> rng_below(r, 2) * 20;
        if (k == 1) v |= UINT64_C(0x7ff0000000000000);
        if (k == 2 && rng_below(r, 2)) v &= UINT64_C(0xfff0000000000000);
        memcpy(mem, &v, 8);
    } else if (op == HOST_FBLD) {
        unsigned digit_range = rng_below(r, 8) ? 10 : 16;   /* sometimes invalid digits */
        for (int i = 0; i < 9; i++)
            mem[i] = (uint8_t)(rng_below(r, digit_range) | rng_below(r, digit_range) << 4);
        mem[9] = rng_below(r, 2) ? 0x80 : 0;
    }
}

/* Operand a for conversions: often a value near the integer/BCD/f32/f64 limits. */
static fx80 gen_convert_operand(struct fx80_rng *r, enum host_op op)
{
    static const int near[] = { 0x3fff + 15, 0x3fff + 31, 0x3fff + 63, 0x3fff + 59,
                                0x3fff + 127, 0x3fff - 126, 0x3fff + 1023, 0x3fff - 1022,
                                0x3fff - 149, 0x3fff - 1074, 0x3fff };
    (void)op;
    return gen_fx80(r, rng_below(r, 4) ? near[rng_below(r, 11)] : -1);
}

static struct run_stats run_ops(const enum host_op *ops, size_t n_ops, uint64_t seed)
{
    struct run_stats st = { 0, 0, 0 };
    unsigned long iters = iterations();
    for (size_t k = 0; k < n_ops; k++) {
        struct fx80_rng r = { seed ^ (0x9e3779b97f4a7c15u * (k + 1)) };
        for (unsigned long i = 0; i < iters; i++) {
            enum host_op op = ops[k];
            struct fx80_env env = gen_env(&r, i);
            uint8_t mem[16];
            gen_mem(&r, op, mem);
            bool conv = op >= HOST_FST32;
            fx80 a = conv ? gen_convert_operand(&r, op) : gen_fx80(&r, -1);
            fx80 b = gen_fx80(&r, (int)(a.se & 0x7fff));
            check_case(op, &env, a, b, mem, &st);
        }
    }
    return st;
}

/* The `fuzz` entry runs only when a long run was asked for. */
static void skip_idle_fuzz_entry(void)
{
    if (getenv("FX80_FUZZ_ENTRY") && !getenv("ANYHV_FUZZ_ITERS"))
        cr_skip_test("long run only under make fuzz (ANYHV_FUZZ_ITERS unset)");
}

/* Skip without the oracle too. */
static void require_oracle(void)
{
#if !FX80_HOST_ORACLE
    cr_skip_test("the host x87 oracle needs an x86-64 host");
#endif
    skip_idle_fuzz_entry();
}

static void run_and_assert(const char *what, const enum host_op *ops, size_t n, uint64_t seed)
{
    require_oracle();
    struct run_stats st = run_ops(ops, n, seed);
    cr_log_info("fx80 %s: %" PRIu64 " cases, %" PRIu64 " mismatches, %" PRIu64 " not compared (vendor difference)",
                what, st.cases, st.mismatches, st.vendor_masked);
    fprintf(stderr, "fx80 %s: %" PRIu64 " cases, %" PRIu64 " mismatches, %" PRIu64 " not compared (vendor difference)\n",
            what, st.cases, st.mismatches, st.vendor_masked);
    cr_assert_eq(st.mismatches, 0, "%s: %" PRIu64 " of %" PRIu64 " cases differ from the host x87",
                 what, st.mismatches, st.cases);
}

Test(fx80, basic_arith)
{
    static const enum host_op ops[] = { HOST_ADD, HOST_SUB, HOST_MUL, HOST_DIV, HOST_SQRT };
    run_and_assert("add/sub/mul/div/sqrt", ops, sizeof ops / sizeof ops[0], 0x1234567u);
}

Test(fx80, compare)
{
    static const enum host_op ops[] = { HOST_COM, HOST_UCOM, HOST_XAM };
    run_and_assert("fcom/fucom/fxam", ops, sizeof ops / sizeof ops[0], 0x2345678u);
}

Test(fx80, rem_round_scale_xtract)
{
    static const enum host_op ops[] = { HOST_PREM, HOST_PREM1, HOST_RNDINT, HOST_SCALE, HOST_XTRACT };
    run_and_assert("fprem/fprem1/frndint/fscale/fxtract", ops, sizeof ops / sizeof ops[0], 0x3456789u);
}

Test(fx80, conversions)
{
    static const enum host_op ops[] = {
        HOST_FST32, HOST_FST64, HOST_FIST16, HOST_FIST32, HOST_FIST64, HOST_FISTTP16,
        HOST_FISTTP32, HOST_FISTTP64, HOST_FBSTP, HOST_FLD32, HOST_FLD64, HOST_FBLD,
    };
    run_and_assert("conversions", ops, sizeof ops / sizeof ops[0], 0x456789au);
}

Test(fx80, constants)
{
    require_oracle();
    struct run_stats st = { 0, 0, 0 };
    for (int op = HOST_LD1; op <= HOST_LDZ; op++)
        for (unsigned i = 0; i < 12; i++) {
            struct fx80_rng r = { 1 };
            struct fx80_env env = gen_env(&r, i);
            uint8_t mem[16] = { 0 };
            check_case((enum host_op)op, &env, fx80_indefinite(), fx80_indefinite(), mem, &st);
        }
    cr_assert_eq(st.mismatches, 0, "%" PRIu64 " constant loads differ", st.mismatches);
}

Test(fx80, from_int)
{
    static const int64_t vals[] = { 0, 1, -1, INT64_MAX, INT64_MIN, 12345, -65536, 1LL << 53 };
    require_oracle();
#if FX80_HOST_ORACLE
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        fx80 m = fx80_from_i64(vals[i]);
        fx80 h = { 0, 0 };
        __asm__ volatile("fninit\n\tfildll %[v]\n\tfstpt %[r]\n\tfninit" : [r] "=m"(h) : [v] "m"(vals[i])
                         : "memory", "st");
        cr_assert(same_fx(m, h), "fild %" PRId64 ": %04x:%016" PRIx64 " vs host %04x:%016" PRIx64,
                  vals[i], m.se, m.mant, h.se, h.mant);
    }
#else
    (void)vals;
#endif
}

/* Every entry point on raw random bit patterns with any environment byte values
 * (out-of-range RC/PC included): results stay within the contract (flags only
 * the six bits, comparison and class results in range, integer results in their
 * width) and nothing reads or writes outside its operands (run under sanitizers). */
Test(fx80, total_on_random_bits)
{
    struct fx80_rng r = { 0x0ddba11u };
    skip_idle_fuzz_entry();
    for (int i = 0; i < 20000; i++) {
        fx80 a = { rng_next(&r), (uint16_t)rng_next(&r) }, b = { rng_next(&r), (uint16_t)rng_next(&r) };
        if (i & 1)
            a = gen_fx80(&r, -1);
        uint64_t e = rng_next(&r);
        struct fx80_env env = { (uint8_t)e, (uint8_t)(e >> 8), (uint8_t)(e >> 16), 0, false, false };
        unsigned q;
        bool p, oor;
        uint8_t bcd[10];
        fx80 x, y;
        fx80_add(a, b, &env); fx80_sub(a, b, &env); fx80_mul(a, b, &env); fx80_div(a, b, &env);
        fx80_sqrt(a, &env); fx80_round_int(a, &env); fx80_scale(a, b, &env); fx80_xtract(a, &x, &y, &env);
        fx80_rem(a, b, i & 2, &q, &p, &env);
        cr_assert(q < 8, "quotient bits %u", q);
        fx80_sin(a, &oor, &env); fx80_cos(a, &oor, &env); fx80_tan(a, &oor, &env);
        fx80_atan2(a, b, &env); fx80_exp2m1(a, &env); fx80_ylog2x(a, b, &env); fx80_ylog2xp1(a, b, &env);
        enum fx80_cmp c = fx80_compare(a, b, i & 4, &env);
        cr_assert(c <= FX80_UNORDERED);
        cr_assert(fx80_classify(a) <= FX80_CLASS_DENORMAL);
        fx80_constant((enum fx80_const)(rng_next(&r) % 9), &env);
        fx80_from_f32((uint32_t)e, &env);
        fx80_from_f64(e, &env);
        fx80_to_f32(a, &env);
        fx80_to_f64(a, &env);
        static const unsigned widths[] = { 16, 32, 64 };
        unsigned w = widths[i % 3];
        int64_t v = fx80_to_int(a, w, i & 8, &env);
        cr_assert(w == 64 || (v >= -(INT64_C(1) << (w - 1)) && v < (INT64_C(1) << (w - 1))),
                  "%" PRId64 " does not fit %u bits", v, w);
        memcpy(bcd, &e, 8);
        bcd[8] = (uint8_t)i;
        bcd[9] = (uint8_t)(i >> 8);
        fx80_from_bcd(bcd, &env);
        fx80_to_bcd(a, bcd, &env);
        cr_assert((env.flags & ~0x3fu) == 0, "flags %02x beyond the six exception bits", env.flags);
    }
}

/* Recorded host vectors (vectors_fx80.inc): the same comparison without an
 * oracle, so the arithmetic is checked on any host. ANYHV_FX80_RECORD=<file>
 * rewrites the table from the host x87 (x86-64 only). */
struct fx80_vec {
    enum host_op op;
    uint8_t rc, pc, masks;
    fx80 a, b;
    uint64_t mem_in[2];
    uint16_t sw;
    fx80 st0, st1;
    uint64_t mem_out[2];
};

static const struct fx80_vec FX80_VECS[] = {
#define FX80_VEC(op, rc, pc, masks, ase, am, bse, bm, mi0, mi1, sw, s0se, s0m, s1se, s1m, mo0, mo1) \
    { HOST_##op, rc, pc, masks, { am, ase }, { bm, bse }, { mi0, mi1 }, sw, { s0m, s0se }, { s1m, s1se }, \
      { mo0, mo1 } },
#include "vectors_fx80.inc"
#undef FX80_VEC
};

#define RECORD_PER_OP 16

#if FX80_HOST_ORACLE
static void record_one(FILE *f, enum host_op op, const struct fx80_env *env, fx80 a, fx80 b,
                       const uint8_t mem[16])
{
    struct host_res h;
    memcpy(h.mem, mem, 16);
    if (vendor_masked(op, env, a))
        return;   /* the host answers these unlike Intel: not a vector of the model */
    host_run(op, fcw_of(env), a, b, &h);
    fprintf(f, "FX80_VEC(%s, %u, %u, 0x%02x, 0x%04x, UINT64_C(0x%016" PRIx64 "), 0x%04x, UINT64_C(0x%016" PRIx64
               "), UINT64_C(0x%016" PRIx64 "), UINT64_C(0x%016" PRIx64 "), 0x%04x, 0x%04x, UINT64_C(0x%016" PRIx64
               "), 0x%04x, UINT64_C(0x%016" PRIx64 "), UINT64_C(0x%016" PRIx64 "), UINT64_C(0x%016" PRIx64 "))\n",
            OP_NAMES[op], env->rc, env->pc, env->masks, a.se, a.mant, b.se, b.mant, mem_word(mem, 0),
            mem_word(mem, 1), h.sw, h.st0.se, h.st0.mant, h.st1.se, h.st1.mant, mem_word(h.mem, 0),
            mem_word(h.mem, 1));
}

/* Exact half-way cases (random operands rarely hit them): sums on the 24/53/64-bit
 * boundary with an even and an odd last bit, and ties of the integer and f32/f64
 * conversions and FRNDINT, in every rounding mode. */
static void record_ties(FILE *f)
{
    static const struct { uint8_t pc; unsigned bits; } pcs[] = { { FX80_P24, 24 }, { FX80_P53, 53 }, { FX80_P64, 64 } };
    static const struct { enum host_op op; uint16_t se; uint64_t mant; } conv[] = {
        { HOST_FIST32, 0x4000, UINT64_C(0xa000000000000000) },    /* 2.5 */
        { HOST_FIST32, 0x4000, UINT64_C(0xe000000000000000) },    /* 3.5 */
        { HOST_RNDINT, 0xc000, UINT64_C(0xa000000000000000) },    /* -2.5 */
        { HOST_RNDINT, 0x4000, UINT64_C(0xe000000000000000) },    /* 3.5 */
        { HOST_FST32, 0x3fff, UINT64_C(0x8000008000000000) },     /* 1 + 2^-24 */
        { HOST_FST32, 0x3fff, UINT64_C(0x8000018000000000) },     /* 1 + 3 * 2^-24 */
        { HOST_FST64, 0x3fff, UINT64_C(0x8000000000000400) },     /* 1 + 2^-53 */
        { HOST_FST64, 0xbfff, UINT64_C(0x8000000000000c00) },     /* -(1 + 3 * 2^-53) */
    };
    uint8_t mem[16];
    memset(mem, 0xa5, sizeof mem);
    for (uint8_t rc = 0; rc < 4; rc++) {
        for (size_t p = 0; p < 3; p++)
            for (unsigned odd = 0; odd < 2; odd++) {
                struct fx80_env env = { .rc = rc, .pc = pcs[p].pc, .masks = ALL_MASKED };
                fx80 a = { FX80_INT_BIT | ((uint64_t)odd << (64 - pcs[p].bits)), 0x3fff };
                fx80 b = { FX80_INT_BIT, (uint16_t)(0x3fff - pcs[p].bits) };   /* half an ulp */
                record_one(f, HOST_ADD, &env, a, b, mem);
            }
        for (size_t i = 0; i < sizeof conv / sizeof conv[0]; i++) {
            struct fx80_env env = { .rc = rc, .pc = FX80_P64, .masks = ALL_MASKED };
            record_one(f, conv[i].op, &env, (fx80){ conv[i].mant, conv[i].se }, fx80_indefinite(), mem);
        }
    }
}
#endif

static void record_vectors(const char *path)
{
#if FX80_HOST_ORACLE
    static const enum host_op ops[] = {
        HOST_ADD, HOST_SUB, HOST_MUL, HOST_DIV, HOST_SQRT, HOST_PREM, HOST_PREM1, HOST_RNDINT,
        HOST_SCALE, HOST_XTRACT, HOST_COM, HOST_UCOM, HOST_XAM, HOST_FST32, HOST_FST64, HOST_FIST16,
        HOST_FIST32, HOST_FIST64, HOST_FISTTP16, HOST_FISTTP32, HOST_FISTTP64, HOST_FBSTP, HOST_FLD32,
        HOST_FLD64, HOST_FBLD,
    };
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fprintf(f, "/* vectors_fx80.inc - host x87 results for test_fx80.c's golden_vectors, written by\n"
               " * ANYHV_FX80_RECORD=<this file> on an x86-64 host: op, RC, PC, masks, a, b, memory in,\n"
               " * then FSW, ST(0), ST(1), memory out. */\n");
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        struct fx80_rng r = { 0xfeedf00du * (k + 1) };
        for (unsigned long i = 0; i < RECORD_PER_OP; i++) {
            enum host_op op = ops[k];
            struct fx80_env env = gen_env(&r, i);
            uint8_t mem[16];
            gen_mem(&r, op, mem);
            fx80 a = op >= HOST_FST32 ? gen_convert_operand(&r, op) : gen_fx80(&r, -1);
            fx80 b = gen_fx80(&r, (int)(a.se & 0x7fff));
            record_one(f, op, &env, a, b, mem);
        }
    }
    record_ties(f);
    fclose(f);
#else
    (void)path;
    cr_skip_test("recording needs the host x87 (x86-64)");
#endif
}

Test(fx80, golden_vectors)
{
    const char *rec = getenv("ANYHV_FX80_RECORD");
    skip_idle_fuzz_entry();
    if (rec)
        record_vectors(rec);
    struct run_stats st = { 0, 0, 0 };
    size_t n = sizeof FX80_VECS / sizeof FX80_VECS[0];
    for (size_t i = 0; i < n; i++) {
        const struct fx80_vec *v = &FX80_VECS[i];
        struct fx80_env env = { .rc = v->rc, .pc = v->pc, .masks = v->masks };
        struct host_res h = { .sw = v->sw, .st0 = v->st0, .st1 = v->st1 };
        uint8_t mem[16];
        memcpy(mem, v->mem_in, 16);
        memcpy(h.mem, v->mem_out, 16);
        compare_case(v->op, &env, v->a, v->b, mem, &h, &st);
    }
    cr_assert_gt(st.cases, 0, "no recorded vectors");
    cr_assert_eq(st.mismatches, 0, "%" PRIu64 " of %" PRIu64 " recorded host vectors differ", st.mismatches,
                 st.cases);
}

/* Two NaNs with equal significands (random operands rarely pair them): every sign
 * and quiet/signalling combination, in both operand orders. */
Test(fx80, nan_pairs)
{
    static const uint64_t mants[] = { UINT64_C(0xc000000000000000), UINT64_C(0x8000000000000001),
                                      UINT64_C(0xc000000000000001) };
    static const enum host_op ops[] = { HOST_ADD, HOST_SUB, HOST_MUL, HOST_DIV, HOST_PREM, HOST_SCALE };
    struct run_stats st = { 0, 0, 0 };
    uint8_t mem[16] = { 0 };
    require_oracle();
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (unsigned i = 0; i < 3 * 3 * 4; i++) {
            fx80 a = { mants[i % 3], (uint16_t)(0x7fff | ((i & 1) ? FX80_SIGN : 0)) };
            fx80 b = { mants[(i / 3) % 3], (uint16_t)(0x7fff | ((i & 2) ? FX80_SIGN : 0)) };
            struct fx80_env env = { .rc = FX80_RN, .pc = FX80_P64, .masks = ALL_MASKED };
            check_case(ops[o], &env, a, b, mem, &st);
            check_case(ops[o], &env, b, a, mem, &st);
        }
    cr_assert_eq(st.mismatches, 0, "%" PRIu64 " of %" PRIu64 " NaN pairs differ", st.mismatches, st.cases);
}
