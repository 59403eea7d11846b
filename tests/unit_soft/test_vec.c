/* The integer vector ops (ir_ops.def, "Integer vectors") in the interpreter against
 * a plain per-lane C reference written here, at every lane width, on edge lanes
 * (0, 1, the signed and unsigned extremes) and random ones; plus the verifier's
 * rules for them. The compiled tier is held to the interpreter by test_jit.c. */
#include "support.h"

#define ROUNDS 300u
static const unsigned lane_widths[] = { 8, 16, 32, 64 };

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t lane_mask(unsigned w) { return w == 64 ? ~0ull : (1ull << w) - 1; }
static uint64_t get_lane(ir_u128 v, unsigned w, unsigned i) { return (uint64_t)(v >> (i * w)) & lane_mask(w); }
static int64_t sget_lane(ir_u128 v, unsigned w, unsigned i)
{
    uint64_t x = get_lane(v, w, i);
    return w == 64 ? (int64_t)x : (int64_t)(x << (64 - w)) >> (64 - w);
}
static ir_u128 put_lane(ir_u128 r, unsigned w, unsigned i, uint64_t x)
{
    return r | ((ir_u128)(x & lane_mask(w)) << (i * w));
}

/* A vector whose lanes are edge values or random. */
static ir_u128 random_vec(unsigned w)
{
    uint64_t smax = lane_mask(w) >> 1;
    const uint64_t edge[] = { 0, 1, 2, smax, smax + 1, lane_mask(w), lane_mask(w) - 1, 0x80, 0x7f };
    ir_u128 r = 0;
    for (unsigned i = 0; i < 128 / w; i++)
        r = put_lane(r, w, i, rnd() % 3 ? rnd() : edge[rnd() % 9]);
    return r;
}

/* ---- the reference: one lane at a time, in 128-bit arithmetic -------------------- */

static __int128 clamp(__int128 v, __int128 lo, __int128 hi) { return v < lo ? lo : v > hi ? hi : v; }

static uint64_t ref_lane(enum ir_op op, unsigned w, uint64_t x, uint64_t y, int64_t sx, int64_t sy)
{
    __int128 smin = -((__int128)1 << (w - 1)), smax = ((__int128)1 << (w - 1)) - 1;
    __int128 umax = ((__int128)1 << w) - 1;
    switch (op) {
    case IR_VADD: return x + y;
    case IR_VSUB: return x - y;
    case IR_VQADDS: return (uint64_t)clamp((__int128)sx + sy, smin, smax);
    case IR_VQADDU: return (uint64_t)clamp((__int128)x + y, 0, umax);
    case IR_VQSUBS: return (uint64_t)clamp((__int128)sx - sy, smin, smax);
    case IR_VQSUBU: return (uint64_t)clamp((__int128)x - y, 0, umax);
    case IR_VMUL: return (uint64_t)((unsigned __int128)x * y);
    case IR_VMULHS: return (uint64_t)(((__int128)sx * sy) >> w);
    case IR_VMULHU: return (uint64_t)(((unsigned __int128)x * y) >> w);
    case IR_VCMPEQ: return x == y ? ~0ull : 0;
    case IR_VCMPGTS: return sx > sy ? ~0ull : 0;
    case IR_VCMPGTU: return x > y ? ~0ull : 0;
    case IR_VMINS: return (uint64_t)(sx < sy ? sx : sy);
    case IR_VMINU: return x < y ? x : y;
    case IR_VMAXS: return (uint64_t)(sx > sy ? sx : sy);
    case IR_VMAXU: return x > y ? x : y;
    case IR_VAVGU: return (uint64_t)(((unsigned __int128)x + y + 1) >> 1);
    case IR_VABS: return sx < 0 ? (uint64_t)(-(__int128)sx) : (uint64_t)sx;
    default: return 0;
    }
}

static ir_u128 ref_shift(enum ir_op op, unsigned w, ir_u128 a, uint64_t n)
{
    ir_u128 r = 0;
    for (unsigned i = 0; i < 128 / w; i++) {
        uint64_t x = get_lane(a, w, i), v;
        if (op == IR_VASHR)
            v = (uint64_t)(sget_lane(a, w, i) >> (n >= w ? w - 1 : n));
        else if (n >= w)
            v = 0;
        else
            v = op == IR_VSHL ? x << n : x >> n;
        r = put_lane(r, w, i, v);
    }
    return r;
}

static ir_u128 reference(enum ir_op op, unsigned w, ir_u128 a, ir_u128 b, ir_u128 imm)
{
    ir_u128 r = 0;
    switch (op) {
    case IR_VSHL: case IR_VLSHR: case IR_VASHR: return ref_shift(op, w, a, (uint64_t)b);
    case IR_VMSB:
        for (unsigned i = 0; i < 128 / w; i++)
            r |= (ir_u128)(get_lane(a, w, i) >> (w - 1)) << i;
        return r;
    case IR_VTBL:
        for (unsigned i = 0; i < 16; i++) {
            uint64_t k = get_lane(b, 8, i);
            r = put_lane(r, 8, i, k < 16 ? get_lane(a, 8, (unsigned)k) : 0);
        }
        return r;
    case IR_VSHUF:
        for (unsigned i = 0; i < 16; i++) {
            uint64_t k = get_lane(imm, 8, i);
            r = put_lane(r, 8, i, k < 16 ? get_lane(a, 8, (unsigned)k) : k < 32 ? get_lane(b, 8, (unsigned)k - 16) : 0);
        }
        return r;
    default:
        for (unsigned i = 0; i < 128 / w; i++)
            r = put_lane(r, w, i, ref_lane(op, w, get_lane(a, w, i), get_lane(b, w, i), sget_lane(a, w, i),
                                           sget_lane(b, w, i)));
        return r;
    }
}

/* ---- running one op in the interpreter ------------------------------------------ */

/* Operands come from guest state (offsets 16, 32), so no folding happens first. */
static ir_u128 run(enum ir_op op, unsigned w, ir_u128 a, ir_u128 b, ir_u128 imm, enum ir_type count_type)
{
    struct ir_block blk;
    ir_block_init(&blk, 0);
    ir_insn_start(&blk, 0, 1);
    ir_val x = ir_get(&blk, IR_I128, 16);
    bool shift = op == IR_VSHL || op == IR_VLSHR || op == IR_VASHR;
    ir_val y = ir_op_info[op].nargs < 2 ? IR_NONE : shift ? ir_get(&blk, count_type, 32) : ir_get(&blk, IR_I128, 32);
    ir_val r = op == IR_VSHUF ? ir_emit(&blk, op, IR_VOID, x, y, 0, (uint64_t)imm, (uint64_t)(imm >> 64))
                              : ir_emit(&blk, op, op == IR_VMSB ? IR_I32 : IR_VOID, x, y, 0, w, 0);
    if (op == IR_VMSB)
        r = ir_cast(&blk, IR_ZEXT, IR_I128, r);
    ir_set(&blk, 0, r);
    ir_jump(&blk, 4);
    char err[160];
    cr_assert(ir_verify(&blk, err, sizeof(err)), "%s.%u: %s", ir_op_info[op].name, w, err);
    struct bare_cpu c;
    bare_init(&c);
    memcpy(c.state + 16, &a, 16);
    memcpy(c.state + 32, &b, 16);
    bare_run(&c, &blk);
    ir_block_free(&blk);
    return state128(&c, 0);
}

static void check(enum ir_op op, unsigned w, ir_u128 a, ir_u128 b, ir_u128 imm, enum ir_type count_type)
{
    ir_u128 count_mask = count_type == IR_I128 ? ~(ir_u128)0 : (((ir_u128)1 << count_type) - 1);
    bool shift = op == IR_VSHL || op == IR_VLSHR || op == IR_VASHR;
    if (shift)
        b &= count_mask;
    ir_u128 want = reference(op, w, a, b, imm), got = run(op, w, a, b, imm, count_type);
    cr_expect(want == got, "%s.%u a=%016llx%016llx b=%016llx%016llx: want %016llx%016llx got %016llx%016llx",
              ir_op_info[op].name, w, (unsigned long long)(a >> 64), (unsigned long long)a,
              (unsigned long long)(b >> 64), (unsigned long long)b, (unsigned long long)(want >> 64),
              (unsigned long long)want, (unsigned long long)(got >> 64), (unsigned long long)got);
}

static const enum ir_op lanewise_ops[] = {
    IR_VADD, IR_VSUB, IR_VQADDS, IR_VQADDU, IR_VQSUBS, IR_VQSUBU, IR_VMUL, IR_VMULHS, IR_VMULHU, IR_VCMPEQ,
    IR_VCMPGTS, IR_VCMPGTU, IR_VMINS, IR_VMINU, IR_VMAXS, IR_VMAXU, IR_VAVGU, IR_VABS, IR_VMSB,
};

Test(vec, lanewise_ops_match_the_reference_at_every_width)
{
    for (size_t k = 0; k < sizeof(lanewise_ops) / sizeof(lanewise_ops[0]); k++)
        for (unsigned wi = 0; wi < 4; wi++)
            for (unsigned r = 0; r < ROUNDS; r++) {
                unsigned w = lane_widths[wi];
                ir_u128 a = random_vec(w), b = r % 4 == 0 ? a : random_vec(w);   /* equal lanes too */
                check(lanewise_ops[k], w, a, b, 0, IR_I128);
            }
}

Test(vec, shifts_saturate_counts_of_the_lane_width_or_more)
{
    static const enum ir_op shifts[] = { IR_VSHL, IR_VLSHR, IR_VASHR };
    static const enum ir_type count_types[] = { IR_I8, IR_I32, IR_I64, IR_I128 };
    for (unsigned k = 0; k < 3; k++)
        for (unsigned wi = 0; wi < 4; wi++)
            for (unsigned r = 0; r < ROUNDS; r++) {
                unsigned w = lane_widths[wi];
                ir_u128 n = r < 130 ? r : (r & 1) ? rnd() : ((ir_u128)rnd() << 64) | (r % 70);
                check(shifts[k], w, random_vec(w), n, 0, count_types[r % 4]);
            }
}

Test(vec, byte_table_and_shuffle_match_the_reference)
{
    for (unsigned r = 0; r < 4 * ROUNDS; r++) {
        ir_u128 idx = 0;
        for (unsigned i = 0; i < 16; i++) {
            uint64_t k = rnd() % 4 ? rnd() % 32 : rnd() & 0xff;   /* mostly in range, some beyond */
            idx = put_lane(idx, 8, i, k);
        }
        ir_u128 a = random_vec(8), b = random_vec(8);
        check(IR_VTBL, 8, a, idx, 0, IR_I128);
        check(IR_VSHUF, 8, a, b, idx, IR_I128);
    }
}

/* Folding runs the interpreter's code on constants: a folded op must give what the
 * running one gives. */
Test(vec, constant_folding_gives_the_running_value)
{
    for (unsigned r = 0; r < ROUNDS; r++) {
        enum ir_op op = lanewise_ops[r % (sizeof(lanewise_ops) / sizeof(lanewise_ops[0]))];
        unsigned w = lane_widths[rnd() % 4];
        ir_u128 a = random_vec(w), b = random_vec(w);
        struct ir_block blk;
        ir_block_init(&blk, 0);
        ir_insn_start(&blk, 0, 1);
        ir_val y = ir_op_info[op].nargs > 1 ? ir_const128(&blk, b) : IR_NONE;
        ir_val v = ir_emit(&blk, op, op == IR_VMSB ? IR_I128 : IR_VOID, ir_const128(&blk, a), y, 0, w, 0);
        ir_set(&blk, 0, v);
        ir_jump(&blk, 4);
        ir_optimize(&blk, NULL, 0);
        cr_assert_eq(ir_insn_of(&blk, v)->op, IR_CONST, "%s.%u on constants was not folded", ir_op_info[op].name, w);
        struct bare_cpu c;
        bare_init(&c);
        bare_run(&c, &blk);
        cr_expect(state128(&c, 0) == reference(op, w, a, b, 0), "%s.%u folded wrongly", ir_op_info[op].name, w);
        ir_block_free(&blk);
    }
}

Test(vec, the_verifier_holds_lane_widths_and_types)
{
    struct ir_block b;
    ir_block_init(&b, 0);
    struct { enum ir_op op; enum ir_type t0, t1, rt; uint64_t imm; bool ok; } rules[] = {
        { IR_VADD, IR_I128, IR_I128, IR_VOID, 16, true },
        { IR_VADD, IR_I128, IR_I128, IR_VOID, 12, false },    /* no such lane width */
        { IR_VADD, IR_I64, IR_I64, IR_VOID, 8, false },       /* vectors are i128 */
        { IR_VSHL, IR_I128, IR_I8, IR_VOID, 32, true },       /* a count of any width */
        { IR_VTBL, IR_I128, IR_I128, IR_VOID, 16, false },    /* bytes only */
        { IR_VMSB, IR_I128, IR_VOID, IR_I16, 8, true },
        { IR_VMSB, IR_I128, IR_VOID, IR_I8, 8, false },       /* 16 lanes need 16 bits */
        { IR_VMSB, IR_I128, IR_VOID, IR_I8, 32, true },
        { IR_VSHUF, IR_I128, IR_I128, IR_VOID, 0x1f1e, true },
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        ir_block_reset(&b, 0);
        ir_insn_start(&b, 0, 1);
        ir_val x = ir_get(&b, rules[i].t0, 0);
        ir_val y = rules[i].t1 ? ir_get(&b, rules[i].t1, 16) : IR_NONE;
        ir_emit(&b, rules[i].op, rules[i].rt, x, y, 0, rules[i].imm, 0);
        ir_jump(&b, 0);
        cr_expect_eq(ir_verify(&b, NULL, 0), rules[i].ok, "rule %zu (%s)", i, ir_op_info[rules[i].op].name);
    }
    char dump[256];
    ir_block_reset(&b, 0);
    ir_insn_start(&b, 0, 1);
    ir_val v = ir_get(&b, IR_I128, 0);
    ir_set(&b, 0, ir_emit(&b, IR_VQADDU, IR_VOID, v, v, 0, 16, 0));
    ir_jump(&b, 0);
    ir_dump(&b, dump, sizeof(dump));
    cr_expect(strstr(dump, "vqaddu.16 v2, v2") != NULL, "the dump names the lane width: %s", dump);
    ir_block_free(&b);
}
