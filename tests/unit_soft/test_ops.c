/* Every IR op's semantics in the interpreter, with the edges the frontends rely on:
 * wrap-around, shift counts 0 and >= width, division by zero and MIN/-1, 128-bit
 * values, CLZ/CTZ of 0, sign rules. Each case records its line for the report. */
#include "support.h"

#define M64 0xffffffffffffffffull
#define U128(hi, lo) (((ir_u128)(hi) << 64) | (ir_u128)(lo))

struct op_case {
    int line;
    enum ir_op op;
    enum ir_type t;      /* operand type */
    enum ir_type rt;     /* result type (casts/extract), else IR_VOID */
    ir_u128 a, b, c;
    unsigned imm;
    ir_u128 want;
};

static ir_val konst(struct ir_block *b, enum ir_type t, ir_u128 v)
{
    return t == IR_I128 ? ir_const128(b, v) : ir_const(b, t, (uint64_t)v);
}

/* Build "result = op(consts)", store it zero-extended to 128 bits at state offset 0. */
static ir_u128 eval(const struct op_case *k)
{
    struct ir_block b;
    ir_block_init(&b, 0);
    ir_insn_start(&b, 0, 1);
    const struct ir_op_info *oi = &ir_op_info[k->op];
    ir_val x = konst(&b, k->op == IR_SELECT ? IR_I1 : k->t, k->a);
    ir_val y = oi->nargs > 1 ? konst(&b, k->t, k->b) : 0;
    ir_val r;
    switch (k->op) {
    case IR_ZEXT: case IR_SEXT: case IR_TRUNC: r = ir_cast(&b, k->op, k->rt, x); break;
    case IR_EXTRACT: r = ir_extract(&b, k->rt, x, k->imm); break;
    case IR_INSERT: r = ir_insert(&b, x, konst(&b, k->rt, k->b), k->imm); break;
    case IR_SELECT: r = ir_select(&b, x, konst(&b, k->t, k->b), konst(&b, k->t, k->c)); break;
    default: r = oi->nargs == 1 ? ir_unop(&b, k->op, x) : ir_binop(&b, k->op, x, y); break;
    }
    if (ir_type_of(&b, r) != IR_I128)
        r = ir_cast(&b, IR_ZEXT, IR_I128, r);
    ir_set(&b, 0, r);
    ir_jump(&b, 4);
    struct bare_cpu c;
    bare_init(&c);
    memset(c.state, 0xa5, 16);
    bare_run(&c, &b);
    ir_block_free(&b);
    return state128(&c, 0);
}

#define C(op, t, a, b, want) { __LINE__, IR_##op, t, IR_VOID, a, b, 0, 0, want }
#define C1(op, t, a, want) { __LINE__, IR_##op, t, IR_VOID, a, 0, 0, 0, want }
#define CX(op, t, rt, a, b, imm, want) { __LINE__, IR_##op, t, rt, a, b, 0, imm, want }

static const struct op_case cases[] = {
    /* arithmetic wraps at the width */
    C(ADD, IR_I8, 0xff, 1, 0),
    C(ADD, IR_I1, 1, 1, 0),
    C(ADD, IR_I128, M64, 1, U128(1, 0)),
    C(SUB, IR_I32, 0, 1, 0xffffffff),
    C(SUB, IR_I128, 0, 1, U128(M64, M64)),
    C(MUL, IR_I16, 0x100, 0x100, 0),
    C(MUL, IR_I64, 0x100000000ull, 0x100000000ull, 0),
    C(MUL, IR_I128, U128(0, 1ull << 63), 4, U128(2, 0)),
    C(UMULH, IR_I64, 1ull << 63, 4, 2),
    C(UMULH, IR_I8, 0xff, 0xff, 0xfe),
    C(UMULH, IR_I128, U128(1ull << 63, 0), 4, 2),
    C(SMULH, IR_I64, M64, 1, M64),
    C(SMULH, IR_I8, 0x80, 0x80, 0x40),
    C(SMULH, IR_I32, 0x80000000u, 2, 0xffffffff),
    C(SMULH, IR_I128, U128(M64, M64), 1, U128(M64, M64)),
    C(SMULH, IR_I128, U128(M64, M64), U128(M64, M64), 0),
    /* division rules */
    C(UDIV, IR_I32, 7, 0, 0),
    C(UDIV, IR_I8, 0xff, 2, 0x7f),
    C(UDIV, IR_I128, U128(1, 0), 2, U128(0, 1ull << 63)),
    C(SDIV, IR_I32, 0x80000000u, 0xffffffff, 0x80000000u),
    C(SDIV, IR_I64, 1ull << 63, M64, 1ull << 63),
    C(SDIV, IR_I8, 0xf9, 2, 0xfd),
    C(SDIV, IR_I16, 5, 0, 0),
    C(SDIV, IR_I128, U128(1ull << 63, 0), U128(M64, M64), U128(1ull << 63, 0)),
    C(UREM, IR_I32, 7, 0, 7),
    C(UREM, IR_I64, 7, 3, 1),
    C(SREM, IR_I8, 0x80, 0xff, 0),
    C(SREM, IR_I8, 0xf9, 2, 0xff),
    C(SREM, IR_I32, 9, 0, 9),
    C(SREM, IR_I128, U128(M64, M64 - 6), 2, U128(M64, M64)),
    /* logic */
    C(AND, IR_I16, 0xf0f0, 0xff00, 0xf000),
    C(OR, IR_I8, 0xf0, 0x0f, 0xff),
    C(XOR, IR_I128, U128(1, 1), U128(1, 0), 1),
    C1(NOT, IR_I8, 0x0f, 0xf0),
    C1(NOT, IR_I1, 1, 0),
    C1(NOT, IR_I128, 0, U128(M64, M64)),
    C1(NEG, IR_I32, 1, 0xffffffff),
    C1(NEG, IR_I64, 1ull << 63, 1ull << 63),
    /* shifts: count 0, width-1, >= width */
    C(SHL, IR_I32, 0x12345678, 0, 0x12345678),
    C(SHL, IR_I32, 1, 31, 0x80000000u),
    C(SHL, IR_I32, 1, 32, 0),
    C(SHL, IR_I8, 0x81, 1, 0x02),
    C(SHL, IR_I64, 1, 64, 0),
    C(SHL, IR_I128, 1, 100, U128(1ull << 36, 0)),
    C(SHL, IR_I128, 1, 128, 0),
    C(LSHR, IR_I8, 0x80, 7, 1),
    C(LSHR, IR_I8, 0x80, 8, 0),
    C(LSHR, IR_I64, M64, 63, 1),
    C(LSHR, IR_I128, U128(1, 0), 64, 1),
    C(ASHR, IR_I8, 0x80, 1, 0xc0),
    C(ASHR, IR_I8, 0x80, 9, 0xff),
    C(ASHR, IR_I8, 0x40, 9, 0),
    C(ASHR, IR_I64, 1ull << 63, 63, M64),
    C(ASHR, IR_I32, 0x80000000u, 0, 0x80000000u),
    C(ASHR, IR_I128, U128(1ull << 63, 0), 127, U128(M64, M64)),
    C(ROTL, IR_I8, 0x81, 1, 0x03),
    C(ROTL, IR_I8, 0x81, 8, 0x81),
    C(ROTL, IR_I8, 0x81, 9, 0x03),
    C(ROTL, IR_I32, 0x80000001u, 0, 0x80000001u),
    C(ROTR, IR_I16, 0x0001, 17, 0x8000),
    C(ROTR, IR_I64, 1, 1, 1ull << 63),
    C(ROTL, IR_I128, U128(1ull << 63, 0), 1, 1),
    C(ROTR, IR_I128, 1, 1, U128(1ull << 63, 0)),
    /* bit counting */
    C1(CLZ, IR_I32, 0, 32),
    C1(CLZ, IR_I8, 1, 7),
    C1(CLZ, IR_I64, M64, 0),
    C1(CLZ, IR_I128, 1, 127),
    C1(CLZ, IR_I128, 0, 128),
    C1(CTZ, IR_I64, 0, 64),
    C1(CTZ, IR_I16, 0x8000, 15),
    C1(CTZ, IR_I128, 0, 128),
    C1(CTZ, IR_I128, U128(1, 0), 64),
    C1(POPCNT, IR_I64, M64, 64),
    C1(POPCNT, IR_I128, U128(M64, 1), 65),
    C1(BSWAP, IR_I16, 0x1234, 0x3412),
    C1(BSWAP, IR_I32, 0x11223344, 0x44332211),
    C1(BSWAP, IR_I64, 0x0102030405060708ull, 0x0807060504030201ull),
    C1(BSWAP, IR_I128, U128(0x0102030405060708ull, 0x090a0b0c0d0e0f10ull),
       U128(0x100f0e0d0c0b0a09ull, 0x0807060504030201ull)),
    C1(BITREV, IR_I8, 1, 0x80),
    C1(BITREV, IR_I32, 0x00000003, 0xc0000000u),
    C1(BITREV, IR_I128, 1, U128(1ull << 63, 0)),
    /* comparisons */
    C(EQ, IR_I8, 5, 5, 1),
    C(NE, IR_I128, U128(1, 0), 0, 1),
    C(ULT, IR_I8, 0x7f, 0x80, 1),
    C(SLT, IR_I8, 0x80, 0x7f, 1),
    C(SLT, IR_I8, 0x7f, 0x80, 0),
    C(ULE, IR_I32, 3, 3, 1),
    C(SLE, IR_I64, M64, 0, 1),
    C(SLT, IR_I128, U128(M64, M64), 0, 1),
    C(SLT, IR_I1, 1, 0, 1),   /* i1 1 is -1 when signed */
    /* selection and width changes */
    { __LINE__, IR_SELECT, IR_I32, IR_VOID, 1, 10, 20, 0, 10 },
    { __LINE__, IR_SELECT, IR_I32, IR_VOID, 0, 10, 20, 0, 20 },
    CX(ZEXT, IR_I8, IR_I64, 0x80, 0, 0, 0x80),
    CX(SEXT, IR_I8, IR_I64, 0x80, 0, 0, 0xffffffffffffff80ull),
    CX(SEXT, IR_I1, IR_I32, 1, 0, 0, 0xffffffff),
    CX(SEXT, IR_I64, IR_I128, 1ull << 63, 0, 0, U128(M64, 1ull << 63)),
    CX(TRUNC, IR_I64, IR_I8, 0x1ff, 0, 0, 0xff),
    CX(TRUNC, IR_I128, IR_I64, U128(5, 7), 0, 0, 7),
    CX(EXTRACT, IR_I128, IR_I32, U128(0x11223344, 0x55667788ull << 32), 0, 64, 0x11223344),
    CX(EXTRACT, IR_I32, IR_I1, 0x80, 0, 7, 1),
    CX(EXTRACT, IR_I64, IR_I8, 0x1234, 0, 4, 0x23),
    CX(INSERT, IR_I32, IR_I8, 0xffffffff, 0x12, 8, 0xffff12ff),
    CX(INSERT, IR_I128, IR_I64, 0, M64, 32, U128(0xffffffff, 0xffffffff00000000ull)),
    CX(INSERT, IR_I16, IR_I1, 0, 1, 15, 0x8000),
};

static void report(const struct op_case *k, ir_u128 got)
{
    cr_expect(got == k->want, "line %d: %s/i%u gave 0x%016llx%016llx, want 0x%016llx%016llx", k->line,
              ir_op_info[k->op].name, (unsigned)k->t, (unsigned long long)(uint64_t)(got >> 64),
              (unsigned long long)(uint64_t)got, (unsigned long long)(uint64_t)(k->want >> 64),
              (unsigned long long)(uint64_t)k->want);
}

Test(ops, every_case_in_the_table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        report(&cases[i], eval(&cases[i]));
}

Test(ops, every_value_op_has_a_case)
{
    bool seen[IR_OP_COUNT] = { 0 };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        seen[cases[i].op] = true;
    for (unsigned op = 0; op < IR_OP_COUNT; op++) {
        if (ir_op_info[op].effects != IR_EFF_NONE || op == IR_CONST || ir_op_is_vector(op))
            continue;   /* vector ops: test_vec.c, against a per-lane reference */
        cr_expect(seen[op], "no semantic case for %s", ir_op_info[op].name);
    }
}

Test(ops, get_and_set_move_exact_widths)
{
    struct ir_block b;
    ir_block_init(&b, 0);
    ir_insn_start(&b, 0, 1);
    ir_val g8 = ir_get(&b, IR_I8, 16);
    ir_val g16 = ir_get(&b, IR_I16, 16);
    ir_val g128 = ir_get(&b, IR_I128, 16);
    ir_val g1 = ir_get(&b, IR_I1, 16);
    ir_set(&b, 40, g8);
    ir_set(&b, 48, g16);
    ir_set(&b, 64, g128);
    ir_set(&b, 80, g1);
    ir_jump(&b, 0);
    struct bare_cpu c;
    bare_init(&c);
    for (unsigned i = 0; i < 16; i++)
        c.state[16 + i] = (uint8_t)(0xf1 + i);
    memset(c.state + 40, 0xee, 8);
    memset(c.state + 48, 0xee, 8);
    memset(c.state + 80, 0xee, 8);
    cr_assert_eq(bare_run(&c, &b), INTERP_EXIT);
    cr_expect_eq(c.state[40], 0xf1);
    cr_expect_eq(c.state[41], 0xee, "an i8 set writes one byte");
    cr_expect_eq(c.state[48] | (c.state[49] << 8), 0xf2f1);
    cr_expect_eq(c.state[50], 0xee, "an i16 set writes two bytes");
    cr_expect_eq(memcmp(c.state + 64, c.state + 16, 16), 0);
    cr_expect_eq(c.state[80], 1, "i1 reads bit 0 and stores 0/1");
    cr_expect_eq(c.state[81], 0xee);
    ir_block_free(&b);
}

Test(ops, control_flow_terminators_set_the_pc_and_retire)
{
    struct bare_cpu c;
    bare_init(&c);
    struct ir_block b;
    ir_block_init(&b, 0x100);
    ir_insn_start(&b, 0x100, 4);
    ir_exit_if(&b, ir_const(&b, IR_I1, 0), 0x999);
    ir_insn_start(&b, 0x104, 4);
    ir_val t = ir_const(&b, IR_I1, 1);
    ir_exit_if(&b, t, 0x200);
    ir_jump(&b, 0x300);
    cr_expect_eq(bare_run(&c, &b), INTERP_EXIT);
    cr_expect_eq(c.pc, 0x200, "the taken side exit wins");
    cr_expect_eq(c.cpu.icount, 2);
    cr_expect_eq(c.cpu.insn_pc, 0x104);

    ir_block_reset(&b, 0x100);
    ir_insn_start(&b, 0x100, 4);
    ir_jump_ind(&b, ir_const(&b, IR_I64, 0xabc));
    bare_run(&c, &b);
    cr_expect_eq(c.pc, 0xabc);
    cr_expect_eq(c.cpu.icount, 3);

    ir_block_reset(&b, 0x100);
    ir_insn_start(&b, 0x100, 4);
    ir_branch(&b, ir_const(&b, IR_I1, 0), 0x111, 0x222);
    bare_run(&c, &b);
    cr_expect_eq(c.pc, 0x222);

    ir_block_reset(&b, 0x100);
    ir_insn_start(&b, 0x100, 4);
    ir_stop(&b, IR_STOP_SYSTEM, 42);
    cr_expect_eq(bare_run(&c, &b), INTERP_STOP);
    cr_expect_eq(c.cpu.stop_reason, IR_STOP_SYSTEM);
    cr_expect_eq(c.cpu.stop_detail, 42);
    cr_expect_eq(c.cpu.icount, 4, "a stopping instruction is not retired by the interpreter");
    cr_expect_eq(c.cpu.insn_open, 1);
    ir_block_free(&b);
}

static ir_u128 add3(void *cpu, ir_u128 a, ir_u128 b, ir_u128 c)
{
    ((struct bare_cpu *)cpu)->state[200] = 1;
    return a + b + c;
}

Test(ops, helper_calls_pass_128_bit_values)
{
    uint32_t h = ir_helper_register(&(struct ir_helper){ "add3", add3, IR_HELPER_WRITES_STATE });
    struct ir_block b;
    ir_block_init(&b, 0);
    ir_insn_start(&b, 0, 1);
    ir_val r = ir_call(&b, IR_I128, h, ir_const128(&b, U128(1, M64)), ir_const128(&b, 1), ir_const128(&b, 2));
    ir_set(&b, 0, r);
    ir_val n = ir_call(&b, IR_VOID, h, 0, 0, 0);
    (void)n;
    ir_jump(&b, 0);
    struct bare_cpu c;
    bare_init(&c);
    bare_run(&c, &b);
    cr_expect(state128(&c, 0) == U128(2, 2));
    cr_expect_eq(c.state[200], 1);
    ir_block_free(&b);
}

Test(ops, interp_refuses_state_offsets_beyond_the_state)
{
    struct ir_block b;
    ir_block_init(&b, 0);
    ir_insn_start(&b, 0, 1);
    ir_set(&b, 250, ir_const(&b, IR_I64, 1));
    ir_jump(&b, 0);
    struct interp_prog p;
    cr_expect_not(interp_compile(&b, 256, &p), "an 8-byte set at 250 overruns a 256-byte state");
    ir_block_free(&b);
}
