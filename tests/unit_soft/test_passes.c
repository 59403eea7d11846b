/* The passes, each shown by its dump before and after, plus a randomized check that
 * the whole pipeline never changes what a block computes (state and exit pc). */
#include "support.h"

static struct ir_block b;
static void setup(void) { ir_block_init(&b, 0x1000); }
static void teardown(void) { ir_block_free(&b); }
TestSuite(passes, .init = setup, .fini = teardown);

static ir_u128 pure_twice(void *cpu, ir_u128 a, ir_u128 c, ir_u128 d)
{
    (void)cpu; (void)c; (void)d;
    return a * 2;
}

static ir_u128 state_writer(void *cpu, ir_u128 a, ir_u128 c, ir_u128 d)
{
    (void)a; (void)c; (void)d;
    ((struct bare_cpu *)cpu)->state[0] = 0x55;
    return 0;
}

static const char *dump(void)
{
    static char out[4096];
    ir_dump(&b, out, sizeof(out));
    return out;
}

Test(passes, const_fold_and_identities)
{
    ir_insn_start(&b, 0x1000, 4);
    ir_val six = ir_const(&b, IR_I32, 6), seven = ir_const(&b, IR_I32, 7);
    ir_val m = ir_binop(&b, IR_MUL, six, seven);
    ir_val g = ir_get(&b, IR_I32, 0);
    ir_val a = ir_binop(&b, IR_ADD, g, ir_const(&b, IR_I32, 0));
    ir_val s = ir_binop(&b, IR_SHL, a, ir_const(&b, IR_I8, 0));
    ir_val x = ir_binop(&b, IR_XOR, s, s);
    ir_set(&b, 4, s);
    ir_set(&b, 8, m);
    ir_set(&b, 12, x);
    ir_exit_if(&b, ir_binop(&b, IR_NE, six, six), 0x2000);
    ir_branch(&b, ir_binop(&b, IR_ULT, six, seven), 0x3000, 0x1004);
    cr_assert_str_eq(dump(),
                     "insn_start 0x1000, 4\n"
                     "v2:i32 = const 0x6\n"
                     "v3:i32 = const 0x7\n"
                     "v4:i32 = mul v2, v3\n"
                     "v5:i32 = get @0\n"
                     "v6:i32 = const 0x0\n"
                     "v7:i32 = add v5, v6\n"
                     "v8:i8 = const 0x0\n"
                     "v9:i32 = shl v7, v8\n"
                     "v10:i32 = xor v9, v9\n"
                     "set @4, v9\n"
                     "set @8, v4\n"
                     "set @12, v10\n"
                     "v14:i1 = ne v2, v2\n"
                     "exit_if v14, 0x2000\n"
                     "v16:i1 = ult v2, v3\n"
                     "branch v16, 0x3000, 0x1004\n");
    ir_pass_const_fold(&b);
    ir_pass_dead_code(&b);
    cr_expect_str_eq(dump(),
                     "insn_start 0x1000, 4\n"
                     "v4:i32 = const 0x2a\n"
                     "v5:i32 = get @0\n"
                     "v10:i32 = const 0x0\n"
                     "set @4, v5\n"
                     "set @8, v4\n"
                     "set @12, v10\n"
                     "jump 0x3000\n");
    cr_expect(ir_verify(&b, NULL, 0));
}

Test(passes, always_taken_side_exit_ends_the_block)
{
    ir_insn_start(&b, 0x1000, 4);
    ir_exit_if(&b, ir_const(&b, IR_I1, 1), 0x2000);
    ir_insn_start(&b, 0x1004, 4);
    ir_set(&b, 0, ir_const(&b, IR_I64, 1));
    ir_jump(&b, 0x1008);
    ir_pass_const_fold(&b);
    ir_pass_dead_code(&b);
    cr_expect_str_eq(dump(), "insn_start 0x1000, 4\n"
                             "jump 0x2000\n");
    cr_expect(ir_verify(&b, NULL, 0));
}

Test(passes, dce_keeps_effects_and_drops_unused_values)
{
    uint32_t pure = ir_helper_register(&(struct ir_helper){ "pure_twice", pure_twice, IR_HELPER_PURE });
    uint32_t impure = ir_helper_register(&(struct ir_helper){ "state_writer", state_writer, IR_HELPER_WRITES_STATE });
    ir_insn_start(&b, 0x1000, 4);
    ir_val g = ir_get(&b, IR_I64, 0);
    ir_val unused = ir_binop(&b, IR_ADD, g, g);
    (void)unused;
    ir_val l = ir_load(&b, IR_I64, g, IR_MEM(8), 0);   /* unused but may fault: stays */
    (void)l;
    ir_call(&b, IR_I64, pure, g, 0, 0);                 /* unused pure helper: goes */
    ir_call(&b, IR_VOID, impure, 0, 0, 0);              /* effect: stays */
    ir_jump(&b, 0x1004);
    ir_pass_dead_code(&b);
    cr_expect_str_eq(dump(),
                     "insn_start 0x1000, 4\n"
                     "v2:i64 = get @0\n"
                     "v4:i64 = load.u8 v2\n"
                     "call state_writer()\n"
                     "jump 0x1004\n");
}

Test(passes, forwarding_of_gets_and_sets)
{
    uint32_t impure = ir_helper_register(&(struct ir_helper){ "state_writer", state_writer, IR_HELPER_WRITES_STATE });
    ir_insn_start(&b, 0x1000, 4);
    ir_val k = ir_const(&b, IR_I64, 9);
    ir_set(&b, 16, k);
    ir_val g1 = ir_get(&b, IR_I64, 16);     /* forwarded: k */
    ir_val g2 = ir_get(&b, IR_I32, 16);     /* other width: stays */
    ir_val g3 = ir_get(&b, IR_I64, 24);
    ir_val g4 = ir_get(&b, IR_I64, 24);     /* same as g3 */
    ir_set(&b, 24, g4);                     /* state already holds it: goes */
    ir_set(&b, 32, ir_binop(&b, IR_ADD, g1, g3));
    ir_set(&b, 40, g2);
    ir_call(&b, IR_VOID, impure, 0, 0, 0);
    ir_val g5 = ir_get(&b, IR_I64, 16);     /* after a state-writing helper: stays */
    ir_set(&b, 48, g5);
    ir_jump(&b, 0x1004);
    ir_pass_forward_state(&b);
    ir_pass_dead_code(&b);
    cr_expect_str_eq(dump(),
                     "insn_start 0x1000, 4\n"
                     "v2:i64 = const 0x9\n"
                     "set @16, v2\n"
                     "v5:i32 = get @16\n"
                     "v6:i64 = get @24\n"
                     "v9:i64 = add v2, v6\n"
                     "set @32, v9\n"
                     "set @40, v5\n"
                     "call state_writer()\n"
                     "v13:i64 = get @16\n"
                     "set @48, v13\n"
                     "jump 0x1004\n");
    cr_expect(ir_verify(&b, NULL, 0));
}

/* Flags as i1 fields at offsets 64..69 (like the x86 frontend's). */
static const uint32_t flags[] = { 64, 65, 66 };

Test(passes, dead_flags_go_but_stay_precise_where_the_block_can_leave)
{
    ir_insn_start(&b, 0x1000, 2);
    ir_val one = ir_const(&b, IR_I1, 1), zero = ir_const(&b, IR_I1, 0);
    ir_set(&b, 64, one);                    /* overwritten below without a read: dead */
    ir_set(&b, 65, one);                    /* read by the GET below: stays */
    ir_insn_start(&b, 0x1002, 2);
    ir_val r = ir_get(&b, IR_I1, 65);
    ir_set(&b, 64, zero);                   /* a load follows that may fault: stays */
    ir_set(&b, 66, r);                      /* same */
    ir_insn_start(&b, 0x1004, 4);
    ir_load(&b, IR_I64, ir_const(&b, IR_I64, 0x8000), IR_MEM(8), 0);
    ir_set(&b, 64, one);                    /* a side exit reads it: stays */
    ir_exit_if(&b, r, 0x3000);
    ir_insn_start(&b, 0x1008, 2);
    ir_set(&b, 64, zero);
    ir_set(&b, 66, zero);
    ir_jump(&b, 0x100a);
    ir_pass_dead_flags(&b, flags, 3);
    cr_expect_str_eq(dump(),
                     "insn_start 0x1000, 2\n"
                     "v2:i1 = const 0x1\n"
                     "v3:i1 = const 0x0\n"
                     "set @65, v2\n"
                     "insn_start 0x1002, 2\n"
                     "v7:i1 = get @65\n"
                     "set @64, v3\n"
                     "set @66, v7\n"
                     "insn_start 0x1004, 4\n"
                     "v11:i64 = const 0x8000\n"
                     "v12:i64 = load.u8 v11\n"
                     "set @64, v2\n"
                     "exit_if v7, 0x3000\n"
                     "insn_start 0x1008, 2\n"
                     "set @64, v3\n"
                     "set @66, v3\n"
                     "jump 0x100a\n");
}

Test(passes, dead_flags_only_touch_the_listed_offsets)
{
    ir_insn_start(&b, 0x1000, 2);
    ir_val one = ir_const(&b, IR_I1, 1);
    ir_set(&b, 80, one);
    ir_set(&b, 80, one);
    ir_jump(&b, 0x1002);
    ir_pass_dead_flags(&b, flags, 3);
    cr_expect_str_eq(dump(), "insn_start 0x1000, 2\n"
                             "v2:i1 = const 0x1\n"
                             "set @80, v2\n"
                             "set @80, v2\n"
                             "jump 0x1002\n");
    ir_pass_dead_sets(&b);
    cr_expect_str_eq(dump(), "insn_start 0x1000, 2\n"
                             "v2:i1 = const 0x1\n"
                             "set @80, v2\n"
                             "jump 0x1002\n");
}

/* ---- the pipeline never changes meaning ------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static const enum ir_type types[] = { IR_I1, IR_I8, IR_I16, IR_I32, IR_I64, IR_I128 };
static const enum ir_op binops[] = { IR_ADD, IR_SUB, IR_MUL, IR_UMULH, IR_SMULH, IR_UDIV, IR_SDIV, IR_UREM,
                                     IR_SREM, IR_AND, IR_OR, IR_XOR, IR_SHL, IR_LSHR, IR_ASHR, IR_ROTL, IR_ROTR };

/* A value of type t: an existing one if any, else a GET or a constant. */
static ir_val pick(struct ir_block *blk, enum ir_type t)
{
    for (int tries = 0; tries < 4 && blk->count > 1; tries++) {
        ir_val v = (ir_val)(1 + rnd() % blk->count);
        if (!blk->insns[v - 1].dead && ir_type_of(blk, v) == t)
            return v;
    }
    if (rnd() & 1)
        return t == IR_I128 ? ir_const128(blk, ((ir_u128)rnd() << 64) | rnd()) : ir_const(blk, t, rnd() % 5 ? rnd() % 4 : rnd());
    return ir_get(blk, t, (uint32_t)(rnd() % 8) * 16);
}

static void random_block(struct ir_block *blk)
{
    ir_insn_start(blk, 0x1000, 1);
    unsigned n = 4 + (unsigned)(rnd() % 40);
    for (unsigned i = 0; i < n; i++) {
        enum ir_type t = types[rnd() % 6];
        switch (rnd() % 9) {
        case 0: case 1: case 2: {
            enum ir_op op = binops[rnd() % (sizeof(binops) / sizeof(binops[0]))];
            ir_binop(blk, op, pick(blk, t), pick(blk, t));
            break;
        }
        case 3:
            ir_select(blk, pick(blk, IR_I1), pick(blk, t), pick(blk, t));
            break;
        case 4:
            ir_set(blk, (uint32_t)(rnd() % 8) * 16, pick(blk, t));
            break;
        case 5:
            ir_binop(blk, (enum ir_op)(IR_EQ + rnd() % 6), pick(blk, t), pick(blk, t));
            break;
        case 7:
            if (rnd() % 2 == 0) {   /* a 128-bit funnel, as A64 lifters write ROR/EXTR */
                ir_val a = pick(blk, IR_I64), c = rnd() % 2 ? a : pick(blk, IR_I64);
                ir_val f = ir_binop(blk, IR_OR,
                                    ir_binop(blk, IR_SHL, ir_cast(blk, IR_ZEXT, IR_I128, a), ir_const128(blk, 64)),
                                    ir_cast(blk, IR_ZEXT, IR_I128, c));
                ir_extract(blk, IR_I64, f, (unsigned)(rnd() % 64));
                break;
            }
            ir_unop(blk, (enum ir_op)(IR_NOT + rnd() % 2), pick(blk, t));
            break;
        case 6:
            if (rnd() % 3 == 0)
                ir_exit_if(blk, pick(blk, IR_I1), 0x5000 + i);
            else
                ir_insn_start(blk, 0x1000 + i, 1);
            break;
        default:
            ir_unop(blk, (enum ir_op)(IR_NOT + rnd() % 2), pick(blk, t));
            break;
        }
    }
    ir_branch(blk, pick(blk, IR_I1), 0x7000, 0x7004);
}

Test(passes, pipeline_preserves_meaning_on_random_blocks)
{
    /* A bounded slice here; ANYHV_FUZZ_ITERS runs as many as asked (make fuzz). */
    const char *env = getenv("ANYHV_FUZZ_ITERS");
    int iters = env ? atoi(env) : 1500;
    for (int iter = 0; iter < iters; iter++) {
        struct ir_block orig;
        ir_block_init(&orig, 0x1000);
        random_block(&orig);
        cr_assert(ir_verify(&orig, NULL, 0));
        struct ir_block opt = orig;
        opt.insns = malloc(orig.capacity * sizeof(*opt.insns));
        memcpy(opt.insns, orig.insns, orig.count * sizeof(*opt.insns));
        ir_optimize(&opt, flags, 3);
        char err[200];
        cr_assert(ir_verify(&opt, err, sizeof(err)), "iteration %d: %s", iter, err);
        struct bare_cpu c1, c2;
        bare_init(&c1);
        for (unsigned i = 0; i < sizeof(c1.state); i++)
            c1.state[i] = (uint8_t)rnd();
        c2 = c1;
        c2.cpu.state = c2.state;
        bare_run(&c1, &orig);
        bare_run(&c2, &opt);
        if (memcmp(c1.state, c2.state, sizeof(c1.state)) != 0 || c1.pc != c2.pc || c1.cpu.icount != c2.cpu.icount) {
            static char d1[16384], d2[16384];
            ir_dump(&orig, d1, sizeof(d1));
            ir_dump(&opt, d2, sizeof(d2));
            cr_assert_fail("iteration %d: optimized block differs\n--- before\n%s--- after\n%s", iter, d1, d2);
        }
        ir_block_free(&orig);
        free(opt.insns);
    }
}

Test(passes, funnel_shift_rotate_becomes_a_rotate)
{
    ir_insn_start(&b, 0x1000, 4);
    ir_val dead = ir_get(&b, IR_I64, 0);
    ir_val a = ir_get(&b, IR_I64, 8);
    ir_insn_of(&b, dead)->dead = 1;   /* a slot an earlier pass freed */
    ir_val hi = ir_cast(&b, IR_ZEXT, IR_I128, a);
    ir_val lo = ir_cast(&b, IR_ZEXT, IR_I128, a);
    ir_val sh = ir_binop(&b, IR_SHL, hi, ir_const128(&b, 64));
    ir_val o = ir_binop(&b, IR_OR, sh, lo);
    ir_set(&b, 16, ir_extract(&b, IR_I64, o, 13));
    ir_jump(&b, 0x1004);
    struct bare_cpu c1, c2;
    bare_init(&c1);
    uint64_t x = 0x0123456789abcdefull;
    memcpy(c1.state + 8, &x, 8);
    c2 = c1;
    c2.cpu.state = c2.state;
    bare_run(&c1, &b);
    ir_pass_const_fold(&b);
    ir_pass_dead_code(&b);
    cr_expect_str_eq(dump(), "insn_start 0x1000, 4\n"
                             "v2:i64 = const 0xd\n"
                             "v3:i64 = get @8\n"
                             "v9:i64 = rotr v3, v2\n"
                             "set @16, v9\n"
                             "jump 0x1004\n");
    bare_run(&c2, &b);
    uint64_t r1, r2;
    memcpy(&r1, c1.state + 16, 8);
    memcpy(&r2, c2.state + 16, 8);
    cr_expect_eq(r1, (x >> 13) | (x << 51));
    cr_expect_eq(r2, r1);
}

/* The plain-write analysis (jit/prog_bits.c) behind chaining and the JIT's invariant
 * bits: a flags word updated by several instructions in a row (four single-bit inserts
 * each, as arm64 frontends write NZCV), then a CCMP-style select against the word with
 * its flags cleared, changes only the flag bits. With a walk bounded by depth instead of
 * by selects, the third update made the whole word "may change" and such blocks of the
 * Linux kernel returned to the dispatcher on every run. */
static uint64_t changed_bits_of_last_set(unsigned updates, bool with_select)
{
    const uint32_t word = 8;
    ir_insn_start(&b, 0x1000, 4);
    ir_val f = ir_get(&b, IR_I64, word), g = ir_get(&b, IR_I32, 0);
    for (unsigned u = 0; u < updates; u++)
        for (unsigned bit = 28; bit < 32; bit++)
            f = ir_insert(&b, f, ir_binop(&b, IR_ULT, g, ir_const(&b, IR_I32, u + bit)), bit);
    if (with_select) {
        ir_val cleared = ir_binop(&b, IR_AND, f, ir_const(&b, IR_I64, 0xffffffff0fffffffull));
        f = ir_select(&b, ir_binop(&b, IR_EQ, g, ir_const(&b, IR_I32, 0)), f, cleared);
    }
    ir_set(&b, word, f);
    ir_jump(&b, 0x1004);
    struct interp_prog p;
    cr_assert(interp_compile(&b, 64, &p));
    uint32_t *def = interp_defs(&p);
    cr_assert_not_null(def);
    uint64_t bits = ~0ull;
    for (uint32_t i = 0; i < p.count; i++)
        if (p.code[i].op == IR_SET || p.code[i].op == IX_SET64)
            bits = interp_changed_bits(&p, def, p.code[i].a, p.code[i].imm, p.code[i].w);
    free(def);
    interp_prog_free(&p);
    return bits;
}

Test(passes, many_flag_updates_change_only_the_flag_bits)
{
    cr_expect_eq(changed_bits_of_last_set(1, false), 0xf0000000ull);
    ir_block_reset(&b, 0x1000);
    cr_expect_eq(changed_bits_of_last_set(10, false), 0xf0000000ull, "ten updates in a row");
    ir_block_reset(&b, 0x1000);
    cr_expect_eq(changed_bits_of_last_set(3, true), 0xf0000000ull, "three updates, then a select (CCMP)");
}

Test(passes, a_computed_word_may_change_everywhere)
{
    ir_insn_start(&b, 0x1000, 4);
    ir_val f = ir_get(&b, IR_I64, 8);
    ir_set(&b, 8, ir_binop(&b, IR_ADD, f, ir_const(&b, IR_I64, 1)));
    ir_jump(&b, 0x1004);
    struct interp_prog p;
    cr_assert(interp_compile(&b, 64, &p));
    uint32_t *def = interp_defs(&p);
    uint64_t bits = 0;
    for (uint32_t i = 0; i < p.count; i++)
        if (p.code[i].op == IR_SET || p.code[i].op == IX_SET64)
            bits = interp_changed_bits(&p, def, p.code[i].a, p.code[i].imm, p.code[i].w);
    free(def);
    interp_prog_free(&p);
    cr_expect_eq(bits, ~0ull);
}
