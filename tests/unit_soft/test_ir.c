/* IR builder, verifier and text dump: bad blocks are rejected with a reason, and
 * representative blocks dump to the exact expected text. */
#include <criterion/criterion.h>
#include <string.h>

#include "jit/ir.h"

static struct ir_block b;
static void setup(void) { ir_block_init(&b, 0x1000); }
static void teardown(void) { ir_block_free(&b); }
TestSuite(ir, .init = setup, .fini = teardown);

static ir_u128 nop_helper(void *cpu, ir_u128 a, ir_u128 c, ir_u128 d)
{
    (void)cpu; (void)c; (void)d;
    return a;
}

static void expect_reject(const char *why_part)
{
    char err[200];
    cr_expect_not(ir_verify(&b, err, sizeof(err)), "accepted a bad block");
    cr_expect(strstr(err, why_part) != NULL, "message '%s' lacks '%s'", err, why_part);
}

Test(ir, op_table_is_generated_from_the_list)
{
    cr_expect_str_eq(ir_op_info[IR_ADD].name, "ADD");
    cr_expect_eq(ir_op_info[IR_ADD].nargs, 2);
    cr_expect_eq(ir_op_info[IR_STORE].effects, IR_EFF_MEM_WRITE | IR_EFF_MAY_FAULT);
    cr_expect(ir_op_info[IR_STOP].effects & IR_EFF_TERM);
    cr_expect_eq(ir_op_info[IR_SELECT].nargs, 3);
}

Test(ir, builder_types_results_by_rule)
{
    ir_insn_start(&b, 0x1000, 2);
    ir_val x = ir_const(&b, IR_I16, 0x1ffff);
    ir_val y = ir_get(&b, IR_I16, 8);
    ir_val s = ir_binop(&b, IR_ADD, x, y);
    ir_val c = ir_binop(&b, IR_ULT, x, y);
    ir_val z = ir_cast(&b, IR_ZEXT, IR_I64, s);
    cr_expect_eq(ir_insn_of(&b, x)->imm, 0xffff, "constants are truncated to their type");
    cr_expect_eq(ir_type_of(&b, s), IR_I16);
    cr_expect_eq(ir_type_of(&b, c), IR_I1);
    cr_expect_eq(ir_type_of(&b, z), IR_I64);
    ir_jump(&b, 0x1002);
    cr_expect(ir_block_terminated(&b));
    cr_expect(ir_verify(&b, NULL, 0));
    cr_expect_eq(b.guest_insns, 1);
    cr_expect_eq(b.guest_bytes, 2);
}

Test(ir, verifier_rejects_mixed_operand_types)
{
    ir_insn_start(&b, 0x1000, 1);
    ir_val x = ir_const(&b, IR_I32, 1), y = ir_const(&b, IR_I64, 2);
    ir_binop(&b, IR_ADD, x, y);
    ir_jump(&b, 0);
    expect_reject("share the result type");
}

Test(ir, verifier_rejects_use_before_definition)
{
    ir_insn_start(&b, 0x1000, 1);
    ir_val x = ir_const(&b, IR_I32, 1);
    ir_emit(&b, IR_NOT, IR_I32, x + 2, 0, 0, 0, 0);
    ir_const(&b, IR_I32, 2);
    ir_jump(&b, 0);
    expect_reject("before its definition");
}

Test(ir, verifier_rejects_missing_or_early_terminators)
{
    ir_insn_start(&b, 0x1000, 1);
    ir_const(&b, IR_I32, 1);
    expect_reject("terminator");
    ir_jump(&b, 0);
    ir_const(&b, IR_I32, 1);
    ir_jump(&b, 0);
    expect_reject("after the terminator");
}

Test(ir, verifier_wants_a_pc_before_anything_that_can_fault)
{
    ir_val a = ir_const(&b, IR_I64, 0x2000);
    ir_load(&b, IR_I32, a, IR_MEM(4), 0);
    ir_jump(&b, 0);
    expect_reject("before the first insn_start");
}

Test(ir, verifier_checks_memory_and_width_rules)
{
    ir_insn_start(&b, 0x1000, 1);
    ir_val a32 = ir_const(&b, IR_I32, 0x2000);
    ir_load(&b, IR_I32, a32, IR_MEM(4), 0);
    ir_jump(&b, 0);
    expect_reject("addresses are i64");

    ir_block_reset(&b, 0x1000);
    ir_insn_start(&b, 0x1000, 1);
    ir_val a = ir_const(&b, IR_I64, 0x2000);
    ir_load(&b, IR_I16, a, IR_MEM(4), 0);
    ir_jump(&b, 0);
    expect_reject("wider than its result");

    ir_block_reset(&b, 0x1000);
    ir_insn_start(&b, 0x1000, 1);
    a = ir_const(&b, IR_I64, 0x2000);
    ir_load(&b, IR_I64, a, IR_MEM(3), 0);
    ir_jump(&b, 0);
    expect_reject("access size");

    ir_block_reset(&b, 0x1000);
    ir_insn_start(&b, 0x1000, 1);
    ir_val w = ir_const(&b, IR_I64, 1);
    ir_cast(&b, IR_ZEXT, IR_I32, w);
    ir_jump(&b, 0);
    expect_reject("must widen");

    ir_block_reset(&b, 0x1000);
    ir_insn_start(&b, 0x1000, 1);
    w = ir_const(&b, IR_I32, 1);
    ir_extract(&b, IR_I16, w, 20);
    ir_jump(&b, 0);
    expect_reject("beyond the operand");

    ir_block_reset(&b, 0x1000);
    ir_insn_start(&b, 0x1000, 1);
    w = ir_const(&b, IR_I32, 1);
    ir_branch(&b, w, 1, 2);
    expect_reject("must be i1");
}

Test(ir, verifier_rejects_unregistered_helpers_and_bad_stops)
{
    ir_insn_start(&b, 0x1000, 1);
    ir_call(&b, IR_I64, 999999, 0, 0, 0);
    ir_jump(&b, 0);
    expect_reject("unregistered helper");

    ir_block_reset(&b, 0x1000);
    ir_insn_start(&b, 0x1000, 1);
    ir_stop(&b, (enum ir_stop_reason)77, 0);
    expect_reject("unknown stop reason");
}

Test(ir, removed_values_cannot_be_used)
{
    ir_insn_start(&b, 0x1000, 1);
    ir_val x = ir_const(&b, IR_I64, 5);
    ir_set(&b, 0, x);
    ir_jump(&b, 0);
    ir_insn_of(&b, x)->dead = 1;
    expect_reject("was removed");
}

Test(ir, dump_of_a_representative_block)
{
    uint32_t h = ir_helper_register(&(struct ir_helper){ "nop_helper", nop_helper, IR_HELPER_PURE });
    ir_insn_start(&b, 0x1000, 3);
    ir_val r = ir_get(&b, IR_I64, 0);
    ir_val k = ir_const(&b, IR_I64, 0x10);
    ir_val s = ir_binop(&b, IR_ADD, r, k);
    ir_val l = ir_load(&b, IR_I32, s, IR_MEM(2) | IR_MEM_SIGNED, 3);
    ir_store(&b, s, l, IR_MEM(4) | IR_MEM_RELEASE, 0);
    ir_val t = ir_cast(&b, IR_TRUNC, IR_I8, l);
    ir_val e = ir_extract(&b, IR_I1, t, 7);
    ir_val c = ir_call(&b, IR_I64, h, r, 0, 0);
    ir_set(&b, 128, c);
    ir_insn_start(&b, 0x1003, 2);
    ir_val w = ir_const128(&b, ((ir_u128)0x1234 << 64) | 0xabcd);
    ir_val o = ir_atomic_rmw(&b, IR_RMW_XOR, s, ir_cast(&b, IR_TRUNC, IR_I64, w), IR_MEM(8));
    ir_set(&b, 8, o);
    ir_exit_if(&b, e, 0x2000);
    ir_branch(&b, ir_binop(&b, IR_EQ, o, k), 0x3000, 0x1005);
    char out[2048];
    ir_dump(&b, out, sizeof(out));
    cr_expect_str_eq(out,
                     "insn_start 0x1000, 3\n"
                     "v2:i64 = get @0\n"
                     "v3:i64 = const 0x10\n"
                     "v4:i64 = add v2, v3\n"
                     "v5:i32 = load.s2 v4 info=0x3\n"
                     "store.4 v4, v5 !rel\n"
                     "v7:i8 = trunc v5\n"
                     "v8:i1 = extract v7, 7\n"
                     "v9:i64 = call nop_helper(v2)\n"
                     "set @128, v9\n"
                     "insn_start 0x1003, 2\n"
                     "v12:i128 = const 0x1234000000000000abcd\n"
                     "v13:i64 = trunc v12\n"
                     "v14:i64 = atomic_rmw.xor.8 v4, v13\n"
                     "set @8, v14\n"
                     "exit_if v8, 0x2000\n"
                     "v17:i1 = eq v14, v3\n"
                     "branch v17, 0x3000, 0x1005\n");
    cr_expect(ir_verify(&b, NULL, 0));
}

Test(ir, dump_truncates_safely)
{
    ir_insn_start(&b, 0x1000, 1);
    ir_jump(&b, 0x1001);
    char out[8];
    size_t n = ir_dump(&b, out, sizeof(out));
    cr_expect_eq(n, 7);
    cr_expect_str_eq(out, "insn_st");
}

Test(ir, helpers_register_once)
{
    struct ir_helper h = { "nop_helper", nop_helper, IR_HELPER_PURE };
    uint32_t a = ir_helper_register(&h), c = ir_helper_register(&h);
    cr_expect_neq(a, 0);
    cr_expect_eq(a, c);
    cr_expect_eq(ir_helper_get(a)->fn, nop_helper);
    cr_expect_null(ir_helper_get(0));
}
