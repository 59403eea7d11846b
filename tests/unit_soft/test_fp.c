/* The IR's FP and FPFLAGS ops (ir_ops.def, jit/ir_fp.c) against their references: the
 * frontends' fallback helpers, which are the x86 SSE helper (sse_fp.c) and the arm64
 * FP helper (fp_helpers.c) under the default MXCSR/FPCR. On edge operands (signed
 * zeros, denormals, the limits of the ordinary range, infinities, NaNs with payloads,
 * quiet and signalling) and random ones, every kind and format must give the
 * reference's value and flags bit for bit, whether the inline ordinary case or the
 * fallback computed it; the SS/SD forms must equal the full SSE operation's low lane
 * and flags. Both through ir_fp_eval and through IR blocks in the interpreter (the
 * compiled tier is held to the interpreter by test_jit.c). */
#include <stdio.h>

#include "support.h"
#include "frontends/x86_64/x86_sse.h"

extern const struct ir_helper a64_fp_default_helper;

#define MXCSR_DEFAULT 0x1f80u
#define X86_PE_BIT 5
#define A64_IXC_BIT 4
#define RANDOM_PAIRS 20000u

static const uint64_t edge64[] = {
    0, 1, 0x000fffffffffffffull, 0x0010000000000000ull, 0x0370000000000000ull, 0x0380000000000000ull,
    0x0380000000000001ull, 0x3ff0000000000000ull, 0x3ff0000000000001ull, 0x3ff8000000000000ull,
    0x4008000000000000ull, 0x3fb999999999999aull, 0x7fc0000000000000ull, 0x7fcfffffffffffffull,
    0x7fd0000000000000ull, 0x7fefffffffffffffull, 0x7ff0000000000000ull, 0x7ff8000000000000ull,
    0x7ff8000000001234ull, 0x7ff0000000000001ull, 0x7ff4000000000abcull, 0x5fe0000000000000ull,
    0x2000000000000000ull,
};
static const uint32_t edge32[] = {
    0, 1, 0x007fffffu, 0x00800000u, 0x0d000000u, 0x0d800000u, 0x0d800001u, 0x3f800000u, 0x3f800001u,
    0x3fc00000u, 0x40400000u, 0x3dcccccdu, 0x7e000000u, 0x7e7fffffu, 0x7e800000u, 0x7f7fffffu, 0x7f800000u,
    0x7fc00000u, 0x7fc01234u, 0x7f800001u, 0x7fa00abcu, 0x5f000000u, 0x20000000u,
};
#define NEDGE64 (sizeof(edge64) / sizeof(edge64[0]))
#define NEDGE32 (sizeof(edge32) / sizeof(edge32[0]))

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A lane: an edge value with a random sign, or a random pattern whose exponent is near
 * 1.0 (ordinary, often exact in products of short mantissas) or anywhere. */
static uint64_t lane(bool f64)
{
    uint64_t r = rnd(), sign = (rnd() & 1) ? (f64 ? 1ull << 63 : 1ull << 31) : 0;
    switch (r % 4) {
    case 0: return sign | (f64 ? edge64[rnd() % NEDGE64] : edge32[rnd() % NEDGE32]);
    case 1: {   /* short mantissas: exact results happen */
        uint64_t m = rnd() & 0xff;
        return f64 ? sign | ((0x3f0ull + rnd() % 32) << 52) | (m << 44) : sign | ((0x70u + rnd() % 32) << 23) | (m << 15);
    }
    default: return f64 ? rnd() : rnd() & 0xffffffffu;
    }
}

static ir_u128 operand(unsigned format)
{
    switch (format) {
    case IR_FP_F32: return lane(false);
    case IR_FP_F64: return lane(true);
    case IR_FP_V4F32:
        return (ir_u128)lane(false) | ((ir_u128)lane(false) << 32) | ((ir_u128)lane(false) << 64) |
               ((ir_u128)lane(false) << 96);
    default: return (ir_u128)lane(true) | ((ir_u128)lane(true) << 64);
    }
}

static uint32_t x86_id, a64_id;

static void register_helpers(void)
{
    x86_id = ir_helper_register(&x86_sse_fp_pure_helper);
    a64_id = ir_helper_register(&a64_fp_default_helper);
}

/* The SSE op of (kind, format) for the full-width reference (REL: none). */
static unsigned sse_op(unsigned kind, unsigned format)
{
    static const unsigned ops[IR_FP_KIND_COUNT][IR_FP_FORMAT_COUNT] = {
        { X86_SSE_ADDSS, X86_SSE_ADDSD, X86_SSE_ADDPS, X86_SSE_ADDPD },
        { X86_SSE_SUBSS, X86_SSE_SUBSD, X86_SSE_SUBPS, X86_SSE_SUBPD },
        { X86_SSE_MULSS, X86_SSE_MULSD, X86_SSE_MULPS, X86_SSE_MULPD },
        { X86_SSE_DIVSS, X86_SSE_DIVSD, X86_SSE_DIVPS, X86_SSE_DIVPD },
        { X86_SSE_SQRTSS, X86_SSE_SQRTSD, X86_SSE_SQRTPS, X86_SSE_SQRTPD },
        { X86_SSE_CMPSS, X86_SSE_CMPSD, X86_SSE_CMPPS, X86_SSE_CMPPD },
        { X86_SSE_OP_COUNT, X86_SSE_OP_COUNT, X86_SSE_OP_COUNT, X86_SSE_OP_COUNT },
        { X86_SSE_MINSS, X86_SSE_MINSD, X86_SSE_MINPS, X86_SSE_MINPD },
        { X86_SSE_MAXSS, X86_SSE_MAXSD, X86_SSE_MAXPS, X86_SSE_MAXPD },
    };
    return ops[kind][format];
}

/* A random aux the frontend's lifters use with kind: x86 CMP takes the 32 VEX
 * predicates, COMIS is REL 1; arm64 CMP takes EQ/LT/LE (FCMEQ, FCMGT, FCMGE), FCMPE
 * is REL 1, the NM forms MIN/MAX 1. */
static unsigned random_aux(unsigned kind, unsigned format, bool x86)
{
    bool scalar = format == IR_FP_F32 || format == IR_FP_F64;
    switch (kind) {
    case IR_FP_SITOF: case IR_FP_UITOF: return scalar ? (unsigned)(rnd() & IR_FP_CVT_64) : 0;
    case IR_FP_FTOSI: case IR_FP_FTOUI: return (unsigned)(rnd() & (scalar ? 3 : 1));
    case IR_FP_CMP: return (unsigned)(rnd() % (x86 ? 32 : 3));
    case IR_FP_REL: return (unsigned)(rnd() & 1);
    case IR_FP_MIN: case IR_FP_MAX: return x86 ? 0 : (unsigned)(rnd() & 1);
    default: return 0;
    }
}

/* REL has scalar formats only; x86 has no unsigned conversions and no packed ones
 * between doubles and 64-bit integers. */
static bool kind_has_format(unsigned kind, unsigned format, bool x86)
{
    bool scalar = format == IR_FP_F32 || format == IR_FP_F64;
    if (kind == IR_FP_FMA)
        return false;   /* three operands: its own test */
    if (kind == IR_FP_REL)
        return scalar;
    if (x86 && (kind == IR_FP_UITOF || kind == IR_FP_FTOUI))
        return false;
    return !(x86 && kind >= IR_FP_SITOF && format == IR_FP_V2F64);
}

static bool converts_int(unsigned kind)
{
    return kind == IR_FP_SITOF || kind == IR_FP_UITOF;
}

/* The bits a result of `how` has. */
static ir_u128 result_mask(uint64_t how)
{
    switch (ir_fp_result_type(how)) {
    case IR_I32: return 0xffffffffu;
    case IR_I64: return ~0ull;
    case IR_I128: return ~(ir_u128)0;
    default: return 3;   /* REL */
    }
}

/* An integer operand: small (exact) or any, of either sign. */
static ir_u128 int_operand(void)
{
    uint64_t v = rnd() >> (rnd() % 64);
    v = (rnd() & 1) ? 0 - v : v;
    return (rnd() & 3) ? ((ir_u128)rnd() << 64) | v : v;
}

static void hex(char *out, ir_u128 v)
{
    sprintf(out, "%016llx%016llx", (unsigned long long)(uint64_t)(v >> 64), (unsigned long long)(uint64_t)v);
}

/* One operation through ir_fp_eval against the helper (and, for x86, the full SSE op). */
static unsigned check_one(uint32_t helper, unsigned inexact_bit, unsigned kind, unsigned format, ir_u128 a,
                          ir_u128 b, bool x86)
{
    unsigned aux = random_aux(kind, format, x86);
    uint64_t how = IR_FP_HOW_AUX(kind, format, inexact_bit, aux);
    const struct ir_helper *h = ir_helper_get(helper);
    ir_u128 m = result_mask(how);
    if (kind == IR_FP_SQRT || kind >= IR_FP_SITOF)
        a = b;   /* unary: the same value twice */
    if (converts_int(kind) && (format == IR_FP_F32 || format == IR_FP_F64))   /* zero-extended */
        a = b = b & ((aux & IR_FP_CVT_64) ? ~0ull : 0xffffffffull);
    struct ir_fp_memo memo = { 0 };
    ir_u128 v = ir_fp_eval(NULL, how, helper, a, b, false, &memo) & m;
    ir_u128 f = ir_fp_eval(NULL, how, helper, a, b, true, &memo);
    ir_u128 rv = h->fn(NULL, a, b, how) & m, rf = h->fn(NULL, a, b, how | IR_FP_WANT_FLAGS);
    ir_u128 dummy;
    bool inexact, fast = ir_fp_fast(how, a, b, &dummy, &inexact);
    char sa[40], sb[40], sv[40], sr[40];
    hex(sa, a), hex(sb, b), hex(sv, v), hex(sr, rv);
    cr_expect(v == rv && f == rf,
              "%s kind %u aux %u format %u a %s b %s: value %s flags %#llx, reference %s flags %#llx (%s case)",
              x86 ? "x86" : "arm64", kind, aux, format, sa, sb, sv, (unsigned long long)f, sr, (unsigned long long)rf,
              fast ? "ordinary" : "fallback");
    if (x86 && kind != IR_FP_REL && kind < IR_FP_SITOF) {
        /* The full SSE operation on 128-bit registers with other upper lanes. */
        ir_u128 up = ((ir_u128)rnd() << 64) | rnd();
        ir_u128 fa = (format == IR_FP_F32 || format == IR_FP_F64) ? (a & m) | (up & ~m) : a;
        unsigned imm = kind == IR_FP_CMP ? aux : 0;
        ir_u128 full = x86_sse_fp_eval(sse_op(kind, format), imm, MXCSR_DEFAULT, fa, b, false);
        ir_u128 full_flags = x86_sse_fp_eval(sse_op(kind, format), imm, MXCSR_DEFAULT, fa, b, true);
        cr_expect((full & m) == v && full_flags == f, "x86 kind %u format %u a %s b %s: the full operation differs",
                  kind, format, sa, sb);
    }
    return fast;
}

static void check_frontend(uint32_t helper, unsigned inexact_bit, bool x86)
{
    for (unsigned kind = 0; kind < IR_FP_KIND_COUNT; kind++) {
        unsigned ordinary = 0, total = 0;
        for (unsigned format = 0; format < IR_FP_FORMAT_COUNT; format++) {
            if (!kind_has_format(kind, format, x86))
                continue;
            bool f64 = format == IR_FP_F64 || format == IR_FP_V2F64;
            unsigned n = f64 ? NEDGE64 : NEDGE32;
            for (unsigned i = 0; i < n; i++)   /* every pair of edges, in the low lane */
                for (unsigned j = 0; j < n; j++)
                    for (unsigned s = 0; s < 4; s++) {
                        uint64_t sign = f64 ? 1ull << 63 : 1ull << 31;
                        uint64_t x = (f64 ? edge64[i] : edge32[i]) | ((s & 1) ? sign : 0);
                        uint64_t y = (f64 ? edge64[j] : edge32[j]) | ((s & 2) ? sign : 0);
                        ordinary += check_one(helper, inexact_bit, kind, format, x, y, x86);
                        total++;
                    }
            for (unsigned i = 0; i < RANDOM_PAIRS; i++) {
                ir_u128 a = converts_int(kind) ? int_operand() : operand(format);
                ordinary += check_one(helper, inexact_bit, kind, format, a, a, x86);
                ordinary += check_one(helper, inexact_bit, kind, format, operand(format), operand(format), x86);
                total += 2;
            }
        }
        /* Both paths were exercised (an integer source is always ordinary). */
        if (total && converts_int(kind))
            cr_expect(ordinary == total, "kind %u: %u of %u operations took the ordinary case", kind, ordinary, total);
        else if (total)
            cr_expect(ordinary > total / 8 && ordinary < total, "kind %u: %u of %u operations took the ordinary case",
                      kind, ordinary, total);
    }
}

Test(fp, x86_ops_match_the_sse_reference)
{
    register_helpers();
    check_frontend(x86_id, X86_PE_BIT, true);
}

Test(fp, arm64_ops_match_the_fp_helpers)
{
    register_helpers();
    check_frontend(a64_id, A64_IXC_BIT, false);
}

/* Known answers, so the references themselves are pinned: 1/3 is inexact, 1*3 is not,
 * 0/0 is x86's negative default NaN with IE and arm64's positive one with IOC, and
 * a signalling NaN comes back quiet. */
Test(fp, known_answers)
{
    register_helpers();
    struct { uint32_t *id; unsigned kind; uint64_t a, b, value, flags; unsigned aux; } k[] = {
        { &x86_id, IR_FP_DIV, 0x3ff0000000000000ull, 0x4008000000000000ull, 0x3fd5555555555555ull, 0x20 },
        { &x86_id, IR_FP_MUL, 0x3ff0000000000000ull, 0x4008000000000000ull, 0x4008000000000000ull, 0 },
        { &x86_id, IR_FP_DIV, 0, 0, 0xfff8000000000000ull, 0x01 },
        { &x86_id, IR_FP_DIV, 0x3ff0000000000000ull, 0, 0x7ff0000000000000ull, 0x04 },
        { &x86_id, IR_FP_ADD, 0x7ff0000000000001ull, 0x3ff0000000000000ull, 0x7ff8000000000001ull, 0x01 },
        { &x86_id, IR_FP_MUL, 0x0010000000000000ull, 0x3fe0000000000001ull, 0x0008000000000000ull, 0x30 },
        { &x86_id, IR_FP_ADD, 1, 0x3ff0000000000000ull, 0x3ff0000000000000ull, 0x22 },   /* DE and PE */
        { &a64_id, IR_FP_DIV, 0x3ff0000000000000ull, 0x4008000000000000ull, 0x3fd5555555555555ull, 0x10 },
        { &a64_id, IR_FP_DIV, 0, 0, 0x7ff8000000000000ull, 0x01 },
        { &a64_id, IR_FP_DIV, 0x3ff0000000000000ull, 0, 0x7ff0000000000000ull, 0x02 },
        { &a64_id, IR_FP_ADD, 1, 0x3ff0000000000000ull, 0x3ff0000000000000ull, 0x10 },    /* no IDC without FZ */
        /* MIN/MAX of two zeros: x86 the second operand, arm64 -0 for MIN and +0 for MAX */
        { &x86_id, IR_FP_MIN, 0x8000000000000000ull, 0, 0, 0 },
        { &x86_id, IR_FP_MAX, 0, 0x8000000000000000ull, 0x8000000000000000ull, 0 },
        { &a64_id, IR_FP_MIN, 0, 0x8000000000000000ull, 0x8000000000000000ull, 0 },
        { &a64_id, IR_FP_MAX, 0x8000000000000000ull, 0, 0, 0 },
        /* a quiet NaN: x86 MIN gives the second operand and IE, arm64 the NaN and IOC */
        { &x86_id, IR_FP_MIN, 0x7ff8000000000000ull, 0x3ff0000000000000ull, 0x3ff0000000000000ull, 0x01 },
        { &a64_id, IR_FP_MIN, 0x7ff8000000000000ull, 0x3ff0000000000000ull, 0x7ff8000000000000ull, 0 },
        /* a denormal: DE on x86, nothing on arm64 */
        { &x86_id, IR_FP_MAX, 1, 0x3ff0000000000000ull, 0x3ff0000000000000ull, 0x02 },
        { &a64_id, IR_FP_MAX, 1, 0x3ff0000000000000ull, 0x3ff0000000000000ull, 0 },
        /* compares: 1 < 3; UCOMISD of a quiet NaN is unordered without IE */
        { &x86_id, IR_FP_CMP, 0x3ff0000000000000ull, 0x4008000000000000ull, ~0ull, 0 },
        { &x86_id, IR_FP_REL, 0x3ff0000000000000ull, 0x4008000000000000ull, IR_FP_REL_LT, 0 },
        { &x86_id, IR_FP_REL, 0x7ff8000000000000ull, 0x4008000000000000ull, IR_FP_REL_UN, 0 },
        { &a64_id, IR_FP_REL, 0x4008000000000000ull, 0x4008000000000000ull, IR_FP_REL_EQ, 0 },
        { &a64_id, IR_FP_REL, 0x7ff0000000000001ull, 0x4008000000000000ull, IR_FP_REL_UN, 0x01 },
        /* conversions: x86's integer indefinite with IE against arm64's saturation with
         * IOC; truncation, rounding to nearest even, a 64-bit integer that rounds */
        { &x86_id, IR_FP_FTOSI, 0x41e0000000000000ull, 0x41e0000000000000ull, 0x80000000u, 0x01, 0 },
        { &a64_id, IR_FP_FTOSI, 0x41e0000000000000ull, 0x41e0000000000000ull, 0x7fffffffu, 0x01, 0 },
        { &a64_id, IR_FP_FTOUI, 0xbff0000000000000ull, 0xbff0000000000000ull, 0, 0x01, 0 },
        { &x86_id, IR_FP_FTOSI, 0xbff8000000000000ull, 0xbff8000000000000ull, 0xffffffffu, 0x20, 0 },
        { &x86_id, IR_FP_FTOSI, 0x4004000000000000ull, 0x4004000000000000ull, 2, 0x20, IR_FP_CVT_NEAREST },
        { &a64_id, IR_FP_FTOSI, 0x400c000000000000ull, 0x400c000000000000ull, 4, 0x10, IR_FP_CVT_NEAREST },
        { &x86_id, IR_FP_SITOF, (1ull << 53) + 1, (1ull << 53) + 1, 0x4340000000000000ull, 0x20, IR_FP_CVT_64 },
        { &a64_id, IR_FP_UITOF, ~0ull, ~0ull, 0x43f0000000000000ull, 0x10, IR_FP_CVT_64 },
        { &a64_id, IR_FP_SITOF, 0xfffffffdu, 0xfffffffdu, 0xc008000000000000ull, 0, 0 },
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        bool x86 = k[i].id == &x86_id;
        unsigned aux = k[i].kind == IR_FP_CMP ? 1 : k[i].aux;   /* CMP: LT */
        uint64_t how = IR_FP_HOW_AUX(k[i].kind, IR_FP_F64, x86 ? X86_PE_BIT : A64_IXC_BIT, aux);
        struct ir_fp_memo memo = { 0 };
        uint64_t v = (uint64_t)ir_fp_eval(NULL, how, *k[i].id, k[i].a, k[i].b, false, &memo);
        uint64_t f = (uint64_t)ir_fp_eval(NULL, how, *k[i].id, k[i].a, k[i].b, true, &memo);
        cr_expect(v == k[i].value && f == k[i].flags, "case %zu: %#llx flags %#llx, want %#llx flags %#llx", i,
                  (unsigned long long)v, (unsigned long long)f, (unsigned long long)k[i].value,
                  (unsigned long long)k[i].flags);
    }
}

/* Through an IR block in the interpreter: operands from state (no folding), FP and
 * FPFLAGS stored back, equal to ir_fp_eval's answers. */
Test(fp, interpreter_blocks)
{
    register_helpers();
    for (unsigned iter = 0; iter < 4000; iter++) {
        unsigned kind = (unsigned)(rnd() % IR_FP_FMA), format = (unsigned)(rnd() % IR_FP_FORMAT_COUNT);
        bool x86 = rnd() & 1;
        if (!kind_has_format(kind, format, x86))
            format = IR_FP_F64;
        x86 = x86 && kind_has_format(kind, format, x86);
        uint32_t helper = x86 ? x86_id : a64_id;
        uint64_t how = IR_FP_HOW_AUX(kind, format, x86 ? X86_PE_BIT : A64_IXC_BIT, random_aux(kind, format, x86));
        enum ir_type t = ir_fp_arg_type(how), rt = kind == IR_FP_REL ? IR_I8 : ir_fp_result_type(how);
        ir_u128 a = converts_int(kind) ? int_operand() : operand(format), b = operand(format);
        bool unary = kind == IR_FP_SQRT || kind >= IR_FP_SITOF;
        struct ir_block bl;
        ir_block_init(&bl, 0);
        ir_insn_start(&bl, 0, 1);
        ir_val x = ir_get(&bl, t, 0), y = ir_get(&bl, t, 16);
        ir_val v = ir_emit(&bl, IR_FP, rt, x, unary ? x : y, IR_NONE, how, helper);
        ir_val f = ir_fp_flags(&bl, IR_I32, how, helper, x, unary ? x : y);
        ir_set(&bl, 32, v);
        ir_set(&bl, 48, f);
        ir_jump(&bl, 4);
        char err[160];
        cr_assert(ir_verify(&bl, err, sizeof(err)), "%s", err);
        struct bare_cpu c;
        bare_init(&c);
        memcpy(c.state, &a, 16);
        memcpy(c.state + 16, &b, 16);
        bare_run(&c, &bl);
        ir_block_free(&bl);
        ir_u128 m = t == IR_I128 ? ~(ir_u128)0 : (ir_u128)(~0ull >> (64 - t)), got_v = 0;
        ir_u128 mv = kind == IR_FP_REL ? 0xff : result_mask(how);
        uint32_t got_f;
        memcpy(&got_v, c.state + 32, rt / 8);
        memcpy(&got_f, c.state + 48, 4);
        struct ir_fp_memo memo = { 0 };
        ir_u128 sa = a & m, sb = (unary ? a : b) & m;
        cr_expect(got_v == (ir_fp_eval(NULL, how, helper, sa, sb, false, &memo) & mv), "iteration %u: value", iter);
        cr_expect(got_f == (uint32_t)ir_fp_eval(NULL, how, helper, sa, sb, true, &memo), "iteration %u: flags", iter);
    }
}

static ir_u128 impure_fn(void *cpu, ir_u128 a, ir_u128 b, ir_u128 c)
{
    (void)cpu, (void)b, (void)c;
    return a;
}

/* The verifier's rules: operand types of the format, a pure registered fallback, a
 * result wide enough for the inexact bit. */
Test(fp, verifier_rules)
{
    register_helpers();
    struct { enum ir_type t; unsigned format; uint32_t *helper; enum ir_type ft; unsigned bit; bool ok; } k[] = {
        { IR_I64, IR_FP_F64, &x86_id, IR_I32, 5, true },
        { IR_I32, IR_FP_F64, &x86_id, IR_I32, 5, false },     /* wrong operand type */
        { IR_I128, IR_FP_V4F32, &x86_id, IR_I8, 5, true },
        { IR_I64, IR_FP_F64, &x86_id, IR_I8, 9, false },      /* inexact bit beyond the result */
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        struct ir_block bl;
        ir_block_init(&bl, 0);
        ir_insn_start(&bl, 0, 1);
        ir_val x = ir_get(&bl, k[i].t, 0);
        uint64_t how = IR_FP_HOW(IR_FP_ADD, k[i].format, k[i].bit);
        ir_set(&bl, 32, ir_fp_flags(&bl, k[i].ft, how, *k[i].helper, x, x));
        ir_jump(&bl, 4);
        cr_expect_eq(ir_verify(&bl, NULL, 0), k[i].ok, "case %zu", i);
        ir_block_free(&bl);
    }
    /* A helper that writes state cannot be a fallback. */
    static const struct ir_helper impure = { "impure", impure_fn, IR_HELPER_WRITES_STATE };
    uint32_t bad = ir_helper_register(&impure);
    struct ir_block bl;
    ir_block_init(&bl, 0);
    ir_insn_start(&bl, 0, 1);
    ir_val x = ir_get(&bl, IR_I64, 0);
    ir_set(&bl, 32, ir_fp(&bl, IR_FP_HOW(IR_FP_ADD, IR_FP_F64, 5), bad, x, x));
    ir_jump(&bl, 4);
    cr_expect(!ir_verify(&bl, NULL, 0), "an impure fallback passed the verifier");
    ir_block_free(&bl);
    /* REL: scalar formats, an integer result of any width; unknown bits in how fail. */
    struct { enum ir_type t; uint64_t how; enum ir_type rt; bool ok; } r[] = {
        { IR_I64, IR_FP_HOW_AUX(IR_FP_REL, IR_FP_F64, 5, 1), IR_I8, true },
        { IR_I128, IR_FP_HOW(IR_FP_REL, IR_FP_V2F64, 5), IR_I8, false },
        { IR_I64, IR_FP_HOW(IR_FP_CMP, IR_FP_F64, 5), IR_I8, false },     /* CMP: the format's type */
        { IR_I64, IR_FP_HOW_AUX(IR_FP_CMP, IR_FP_F64, 5, 31), IR_I64, true },
        { IR_I64, IR_FP_HOW(IR_FP_MIN, IR_FP_F64, 5) | (1ull << 22), IR_I64, false },
    };
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        ir_block_init(&bl, 0);
        ir_insn_start(&bl, 0, 1);
        x = ir_get(&bl, r[i].t, 0);
        ir_set(&bl, 32, ir_emit(&bl, IR_FP, r[i].rt, x, x, IR_NONE, r[i].how, x86_id));
        ir_jump(&bl, 4);
        cr_expect_eq(ir_verify(&bl, NULL, 0), r[i].ok, "REL/CMP case %zu", i);
        ir_block_free(&bl);
    }
}

/* FMA (three operands): the ordinary case (its error-free remainder) against the
 * frontends' references lane by lane (x86 FMA3 and arm64 FMADD under the default
 * control), every negation, on edges, short mantissas (exact results happen,
 * including cancellations the rounded product does not show) and random lanes; known
 * answers pin an exact cancellation and an inexact sum. */
static unsigned check_fma(uint32_t helper, unsigned bit, unsigned format, ir_u128 x, ir_u128 y, ir_u128 z)
{
    unsigned aux = (unsigned)(rnd() & 3);
    uint64_t how = IR_FP_HOW_AUX(IR_FP_FMA, format, bit, aux);
    const struct ir_helper *h = ir_helper_get(helper);
    bool f64 = format == IR_FP_F64 || format == IR_FP_V2F64;
    unsigned lanes = format == IR_FP_V4F32 ? 4 : format == IR_FP_V2F64 ? 2 : 1, w = f64 ? 64 : 32;
    ir_u128 lm = f64 ? ~0ull : 0xffffffffull, rv = 0, rf = 0;
    uint64_t lane_how = IR_FP_HOW_AUX(IR_FP_FMA, f64 ? IR_FP_F64 : IR_FP_F32, bit, aux);
    for (unsigned i = 0; i < lanes; i++) {
        ir_u128 a = (x >> (w * i)) & lm, b = (y >> (w * i)) & lm, c = (z >> (w * i)) & lm;
        rv |= (h->fn(NULL, a, b, lane_how | (c << 64)) & lm) << (w * i);
        rf |= h->fn(NULL, a, b, lane_how | IR_FP_WANT_FLAGS | (c << 64));
    }
    ir_u128 m = lanes == 1 ? lm : ~(ir_u128)0;
    x &= m, y &= m, z &= m;
    struct ir_fp_memo memo = { 0 };
    ir_u128 v = ir_fp_eval3(NULL, how, helper, x, y, z, false, &memo) & m;
    ir_u128 f = ir_fp_eval3(NULL, how, helper, x, y, z, true, &memo);
    ir_u128 dummy;
    bool inexact, fast = ir_fp_fast3(how, x, y, z, &dummy, &inexact);
    char sx[40], sy[40], sz[40], sv[40], sr[40];
    hex(sx, x), hex(sy, y), hex(sz, z), hex(sv, v), hex(sr, rv);
    cr_expect(v == rv && f == rf, "fma aux %u format %u %s * %s + %s: %s flags %#llx, reference %s flags %#llx (%s)",
              aux, format, sx, sy, sz, sv, (unsigned long long)f, sr, (unsigned long long)rf,
              fast ? "ordinary" : "fallback");
    return fast;
}

/* A short-mantissa lane near 1 (products and sums of these are often exact). */
static uint64_t short_lane(bool f64)
{
    uint64_t m = rnd() & 0x3fff, sign = (rnd() & 1) ? (f64 ? 1ull << 63 : 1ull << 31) : 0;
    return f64 ? sign | ((0x3f8ull + rnd() % 16) << 52) | (m << 38) : sign | ((0x78u + rnd() % 16) << 23) | (m << 9);
}

static ir_u128 fma_operand(unsigned format, bool shortm)
{
    bool f64 = format == IR_FP_F64 || format == IR_FP_V2F64;
    unsigned lanes = format == IR_FP_V4F32 ? 4 : format == IR_FP_V2F64 ? 2 : 1, w = f64 ? 64 : 32;
    ir_u128 v = 0;
    for (unsigned i = 0; i < lanes; i++)
        v |= (ir_u128)(shortm ? short_lane(f64) : lane(f64)) << (w * i);
    return v;
}

Test(fp, fma_matches_the_references)
{
    register_helpers();
    for (unsigned fe = 0; fe < 2; fe++)
        for (unsigned format = 0; format < IR_FP_FORMAT_COUNT; format++) {
            uint32_t id = fe ? a64_id : x86_id;
            unsigned bit = fe ? A64_IXC_BIT : X86_PE_BIT, ordinary = 0, total = 0;
            for (unsigned i = 0; i < RANDOM_PAIRS; i++, total++) {
                bool shortm = i & 1;
                ir_u128 x = fma_operand(format, shortm), y = fma_operand(format, shortm);
                ir_u128 z = (i & 2) ? fma_operand(format, shortm) : fma_operand(format, false);
                ordinary += check_fma(id, bit, format, x, y, z);
            }
            cr_expect(ordinary > total / 8 && ordinary < total, "fma format %u: %u of %u ordinary", format, ordinary,
                      total);
        }
    /* (1 + 2^-26)^2 - (1 + 2^-25) = 2^-52 exactly (the rounded product alone says 0);
     * (1 + 2^-26)^2 + 1 rounds (a tie, to even). */
    uint64_t a = 0x3ff0000004000000ull, c = 0xbff0000008000000ull;
    struct { uint32_t *id; uint64_t z, value, flags; } k[] = {
        { &x86_id, c, 0x3cb0000000000000ull, 0 }, { &a64_id, c, 0x3cb0000000000000ull, 0 },
        { &x86_id, 0x3ff0000000000000ull, 0x4000000004000000ull, 0x20 },
        { &a64_id, 0x3ff0000000000000ull, 0x4000000004000000ull, 0x10 },
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        uint64_t how = IR_FP_HOW(IR_FP_FMA, IR_FP_F64, k[i].id == &x86_id ? X86_PE_BIT : A64_IXC_BIT);
        struct ir_fp_memo memo = { 0 };
        uint64_t v = (uint64_t)ir_fp_eval3(NULL, how, *k[i].id, a, a, k[i].z, false, &memo);
        uint64_t f = (uint64_t)ir_fp_eval3(NULL, how, *k[i].id, a, a, k[i].z, true, &memo);
        cr_expect(v == k[i].value && f == k[i].flags, "fma case %zu: %#llx flags %#llx", i, (unsigned long long)v,
                  (unsigned long long)f);
    }
}
