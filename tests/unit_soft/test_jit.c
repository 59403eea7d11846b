/* The compiled tier against the interpreter, its reference: random verified IR blocks
 * (every pure op at every width, guest-state reads and writes of any width and
 * overlap, guest loads and stores through the TLB fast path, side exits, traps and
 * every terminator, the FP ops with both their ordinary case and their fallback, the
 * integer vector ops) run in both tiers from the same state must leave the same state,
 * result, instruction count, open instruction and stop reason. Each block is compiled
 * three ways: warm (one function, state in memory), warm with state in SSA values
 * (as eager mode compiles regions) and optimised (O2, state in SSA values: hot
 * regions), the last on the compile thread as the ON mode does. Plus a tier-up test:
 * a running loop switches from interpreted to compiled code with the same results. */
#include <stdio.h>
#include <time.h>

#include "support.h"
#include "jit/jit.h"
#include "toy_fixture.h"

#define STATE_BYTES 192u                 /* of bare_cpu.state (256): offsets stay inside */
#define PAGE_VA 0x7000ull                /* the one guest page the TLB maps */
#define FUZZ_BLOCKS_DEFAULT 250u

static _Alignas(16) uint8_t page[MMU_PAGE_SIZE];

/* ---- a random block ---------------------------------------------------------------- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static unsigned pick(unsigned n) { return (unsigned)(rnd() % n); }

static const enum ir_type types[] = { IR_I1, IR_I8, IR_I16, IR_I32, IR_I64, IR_I128 };
#define NTYPES 6u

struct pool {
    ir_val v[NTYPES][64];
    unsigned n[NTYPES];
};

static unsigned type_index(enum ir_type ti)
{
    for (unsigned i = 0; i < NTYPES; i++)
        if (types[i] == ti)
            return i;
    return 0;
}

static void add(struct pool *p, struct ir_block *b, ir_val v)
{
    unsigned ti = type_index(ir_type_of(b, v));
    if (p->n[ti] < 64)
        p->v[ti][p->n[ti]++] = v;
    else
        p->v[ti][pick(64)] = v;
}

/* A value of type index ti: an earlier one, or a constant with edge values likely. */
static ir_val value(struct pool *p, struct ir_block *b, unsigned ti)
{
    if (p->n[ti] && pick(4))
        return p->v[ti][pick(p->n[ti])];
    static const uint64_t edge[] = { 0, 1, 2, 7, 8, 31, 32, 63, 64, 127, 128, 0x80, 0x8000, 0x80000000u,
                                     0x8000000000000000ull, ~0ull };
    uint64_t lo = pick(2) ? edge[pick(16)] : rnd(), hi = pick(2) ? edge[pick(16)] : rnd();
    if (types[ti] == IR_I128)
        return ir_const128(b, ((ir_u128)hi << 64) | lo);
    return ir_const(b, types[ti], types[ti] == IR_I64 ? lo : lo & ((1ull << types[ti]) - 1));
}

static unsigned wider(unsigned ti) { return ti + 1 + pick(NTYPES - 1 - ti); }
static unsigned narrower(unsigned ti) { return pick(ti); }

/* FP/FPFLAGS with the frontends' real fallbacks, on pool values (random bits: mostly
 * ordinary) or floating-point edges (zeros, denormals, range limits, infinities,
 * NaNs), so both the inline ordinary case and the out-of-line fallback run. */
extern const struct ir_helper x86_sse_fp_pure_helper;
extern const struct ir_helper a64_fp_default_helper;

static ir_val fp_value(struct pool *p, struct ir_block *b, unsigned format)
{
    static const uint64_t edge64[] = { 0, 1, 0x0010000000000000ull, 0x0380000000000000ull, 0x3ff0000000000000ull,
                                       0x3fd5555555555555ull, 0x7fc0000000000000ull, 0x7fd0000000000000ull,
                                       0x7ff0000000000000ull, 0x7ff8000000000000ull, 0x7ff0000000000001ull };
    static const uint32_t edge32[] = { 0, 1, 0x00800000u, 0x0d800000u, 0x3f800000u, 0x3eaaaaabu, 0x7e000000u,
                                       0x7e800000u, 0x7f800000u, 0x7fc00000u, 0x7f800001u };
    enum ir_type ft = ir_fp_type(format);
    if (pick(3))
        return value(p, b, type_index(ft));
    bool f64 = format == IR_FP_F64 || format == IR_FP_V2F64;
    unsigned lanes = format == IR_FP_V4F32 ? 4 : format == IR_FP_V2F64 ? 2 : 1, w = f64 ? 64 : 32;
    ir_u128 v = 0;
    for (unsigned i = 0; i < lanes; i++) {
        uint64_t x = f64 ? edge64[pick(11)] : edge32[pick(11)];
        x |= pick(2) ? (1ull << (w - 1)) : 0;
        v |= (ir_u128)(pick(4) ? x : (rnd() & (f64 ? ~0ull : 0xffffffffull))) << (w * i);
    }
    return ft == IR_I128 ? ir_const128(b, v) : ir_const(b, ft, (uint64_t)v);
}

/* x86 has no unsigned conversions and no packed ones between doubles and integers. */
static bool x86_lacks(unsigned kind, unsigned format)
{
    bool cvt = kind >= IR_FP_SITOF && kind <= IR_FP_FTOUI;
    return kind == IR_FP_UITOF || kind == IR_FP_FTOUI || (cvt && format == IR_FP_V2F64);
}

static ir_val random_fp(struct pool *p, struct ir_block *b)
{
    unsigned format = pick(IR_FP_FORMAT_COUNT), kind = pick(IR_FP_KIND_COUNT);
    bool x86 = pick(2);
    if (kind == IR_FP_REL)
        format = pick(2);   /* scalars only */
    if (x86_lacks(kind, format))
        x86 = false;        /* arm64 only */
    /* aux as the lifters use it: CMP's predicate (x86 32, arm64 3), COMIS/FCMPE, FMINNM.. */
    unsigned aux = kind == IR_FP_CMP ? pick(x86 ? 32 : 3) : kind == IR_FP_REL ? pick(2)
                 : (kind == IR_FP_MIN || kind == IR_FP_MAX) && !x86 ? pick(2) : 0;
    if (kind >= IR_FP_SITOF && kind <= IR_FP_FTOUI)
        aux = pick(format <= IR_FP_F64 ? 4 : 2) & (kind >= IR_FP_FTOSI ? 3 : IR_FP_CVT_64);
    if (kind == IR_FP_FMA) {
        aux = pick(4);
        uint32_t hf = ir_helper_register(x86 ? &x86_sse_fp_pure_helper : &a64_fp_default_helper);
        uint64_t hw = IR_FP_HOW_AUX(kind, format, x86 ? 5 : 4, aux);
        ir_val x = fp_value(p, b, format), y = fp_value(p, b, format), z = pick(4) ? fp_value(p, b, format) : x;
        return pick(2) ? ir_fp_fma(b, hw, hf, x, y, z) : ir_fp_fma_flags(b, IR_I32, hw, hf, x, y, z);
    }
    uint32_t helper = ir_helper_register(x86 ? &x86_sse_fp_pure_helper : &a64_fp_default_helper);
    uint64_t how = IR_FP_HOW_AUX(kind, format, x86 ? 5 : 4, aux);
    if (kind == IR_FP_SITOF || kind == IR_FP_UITOF) {   /* integer sources from the pool */
        ir_val i = value(p, b, type_index(ir_fp_arg_type(how)));
        return pick(2) ? ir_fp(b, how, helper, i, i) : ir_fp_flags(b, IR_I32, how, helper, i, i);
    }
    ir_val x = fp_value(p, b, format);
    ir_val y = kind == IR_FP_SQRT || (kind >= IR_FP_SITOF && kind <= IR_FP_FTOUI) || !pick(4) ? x : fp_value(p, b, format);
    if (kind == IR_FP_REL && pick(2))
        return ir_emit(b, IR_FP, types[1 + pick(5)], x, y, IR_NONE, how, helper);   /* i8 .. i128 */
    if (pick(2))
        return ir_fp(b, how, helper, x, y);
    return ir_fp_flags(b, pick(2) ? IR_I32 : IR_I64, how, helper, x, y);
}

/* An integer vector op (ir_ops.def) on i128 values at a random lane width. */
static ir_val random_vector_op(struct pool *p, struct ir_block *b)
{
    static const enum ir_op two[] = { IR_VADD, IR_VSUB, IR_VQADDS, IR_VQADDU, IR_VQSUBS, IR_VQSUBU, IR_VMUL,
                                      IR_VMULHS, IR_VMULHU, IR_VCMPEQ, IR_VCMPGTS, IR_VCMPGTU, IR_VMINS,
                                      IR_VMINU, IR_VMAXS, IR_VMAXU, IR_VAVGU };
    static const enum ir_op shifts[] = { IR_VSHL, IR_VLSHR, IR_VASHR };
    const unsigned v128 = NTYPES - 1, lane = 8u << pick(4);
    switch (pick(7)) {
    case 0: case 1: case 2:
        return ir_emit(b, two[pick(17)], IR_VOID, value(p, b, v128), value(p, b, v128), 0, lane, 0);
    case 3: {   /* counts of any type: small ones likely, so the lanes keep some bits */
        unsigned ct = pick(NTYPES);
        ir_val n = pick(2) ? ir_const(b, types[ct], pick(lane + 2)) : value(p, b, ct);
        return ir_emit(b, shifts[pick(3)], IR_VOID, value(p, b, v128), n, 0, lane, 0);
    }
    case 4: {
        if (pick(2))
            return ir_emit(b, IR_VABS, IR_VOID, value(p, b, v128), 0, 0, lane, 0);
        enum ir_type rt = types[2 + pick(NTYPES - 2)];   /* i16 .. i128, at least a bit a lane */
        return ir_emit(b, IR_VMSB, rt < 128u / lane ? IR_I128 : rt, value(p, b, v128), 0, 0, lane, 0);
    }
    case 5: {   /* a table look-up: indexes mostly in range, some beyond */
        ir_u128 idx = 0;
        for (unsigned i = 0; i < 16; i++)
            idx |= (ir_u128)(pick(4) ? pick(16) : pick(256)) << (8 * i);
        ir_val ctl = pick(2) ? ir_const128(b, idx) : value(p, b, v128);
        return ir_emit(b, IR_VTBL, IR_VOID, value(p, b, v128), ctl, 0, 8, 0);
    }
    default: {
        uint64_t lo = 0, hi = 0;
        for (unsigned i = 0; i < 8; i++) {
            lo |= (uint64_t)(pick(8) ? pick(32) : 32 + pick(224)) << (8 * i);
            hi |= (uint64_t)(pick(8) ? pick(32) : 32 + pick(224)) << (8 * i);
        }
        return ir_emit(b, IR_VSHUF, IR_VOID, value(p, b, v128), value(p, b, v128), 0, lo, hi);
    }
    }
}

static void random_op(struct pool *p, struct ir_block *b)
{
    static const enum ir_op bin[] = { IR_ADD, IR_SUB, IR_MUL, IR_UMULH, IR_SMULH, IR_UDIV, IR_SDIV, IR_UREM,
                                      IR_SREM, IR_AND, IR_OR, IR_XOR };
    static const enum ir_op cmp[] = { IR_EQ, IR_NE, IR_ULT, IR_ULE, IR_SLT, IR_SLE };
    static const enum ir_op sh[] = { IR_SHL, IR_LSHR, IR_ASHR, IR_ROTL, IR_ROTR };
    static const enum ir_op un[] = { IR_NOT, IR_NEG, IR_CLZ, IR_CTZ, IR_POPCNT, IR_BITREV, IR_BSWAP };
    unsigned ti = pick(NTYPES);
    ir_val r = IR_NONE;
    switch (pick(13)) {
    case 10: case 11: r = random_vector_op(p, b); break;
    case 12: r = random_fp(p, b); break;
    case 0: case 1: r = ir_binop(b, bin[pick(12)], value(p, b, ti), value(p, b, ti)); break;
    case 2: r = ir_binop(b, cmp[pick(6)], value(p, b, ti), value(p, b, ti)); break;
    case 3: r = ir_binop(b, sh[pick(5)], value(p, b, ti), value(p, b, pick(NTYPES))); break;
    case 4: {
        enum ir_op op = un[pick(7)];
        if (op == IR_BSWAP && ti < 2)
            ti = 2 + pick(NTYPES - 2);
        r = ir_unop(b, op, value(p, b, ti));
        break;
    }
    case 5: r = ir_select(b, value(p, b, 0), value(p, b, ti), value(p, b, ti)); break;
    case 6:
        if (ti + 1 < NTYPES)
            r = ir_cast(b, pick(2) ? IR_ZEXT : IR_SEXT, types[wider(ti)], value(p, b, ti));
        else if (ti)
            r = ir_cast(b, IR_TRUNC, types[narrower(ti)], value(p, b, ti));
        break;
    case 7:
        if (ti) {
            unsigned rt = narrower(ti), lsb = pick(types[ti] - types[rt] + 1);
            r = ir_extract(b, types[rt], value(p, b, ti), lsb);
        }
        break;
    case 8:
        if (ti) {
            unsigned ft = narrower(ti), lsb = pick(types[ti] - types[ft] + 1);
            r = ir_insert(b, value(p, b, ti), value(p, b, ft), lsb);
        }
        break;
    default: {
        unsigned bytes = types[ti] <= 8 ? 1u : types[ti] / 8u;
        r = ir_get(b, types[ti], pick(STATE_BYTES - bytes + 1));
        break;
    }
    }
    if (r)
        add(p, b, r);
}

static void random_effect(struct pool *p, struct ir_block *b, uint64_t *pc)
{
    unsigned ti = pick(NTYPES);
    switch (pick(8)) {
    case 0: case 1: case 2: {
        unsigned bytes = types[ti] <= 8 ? 1u : types[ti] / 8u;
        ir_set(b, pick(STATE_BYTES - bytes + 1), value(p, b, ti));
        break;
    }
    case 3: {   /* a load through the TLB's one page, never crossing it */
        static const unsigned sizes[] = { 1, 2, 4, 8, 16 };
        unsigned size = sizes[pick(5)], rt = size == 16 ? 5u : 4u + pick(2);
        if (size < 16 && types[rt] < size * 8)
            rt = 4;
        uint64_t flags = IR_MEM(size) | (pick(2) && size < 16 ? IR_MEM_SIGNED : 0);
        add(p, b, ir_load(b, types[rt], ir_const(b, IR_I64, PAGE_VA + pick(MMU_PAGE_SIZE - 16)), flags, 0));
        break;
    }
    case 4: {
        static const unsigned sizes[] = { 1, 2, 4, 8, 16 };
        unsigned size = sizes[pick(5)];
        unsigned vt = size == 16 ? 5u : 4u;
        ir_store(b, ir_const(b, IR_I64, PAGE_VA + pick(MMU_PAGE_SIZE - 16)), value(p, b, vt), IR_MEM(size), 0);
        break;
    }
    case 5:
        if (!pick(4))
            ir_exit_if(b, value(p, b, 0), 0x9000 + pick(16) * 4);
        break;
    case 6:
        if (!pick(8))
            ir_trap_if(b, value(p, b, 0), 1 + pick(30));
        break;
    default:
        *pc += 4;
        ir_insn_start(b, *pc, 4);
        break;
    }
}

static void random_block(struct ir_block *b)
{
    struct pool p = { 0 };
    uint64_t pc = 0x4000;
    ir_block_reset(b, pc);
    ir_insn_start(b, pc, 4);
    unsigned n = 10 + pick(60);
    for (unsigned i = 0; i < n; i++) {
        if (pick(3))
            random_op(&p, b);
        else
            random_effect(&p, b, &pc);
    }
    switch (pick(4)) {
    case 0: ir_jump(b, 0x8000); break;
    case 1: ir_branch(b, value(&p, b, 0), 0x8100, 0x8200); break;
    case 2: ir_jump_ind(b, value(&p, b, 4)); break;
    default: ir_stop(b, IR_STOP_SYSTEM, rnd()); break;
    }
}

/* ---- running both tiers ------------------------------------------------------------- */

struct outcome {
    uint32_t result;
    uint8_t state[256];
    uint8_t page[MMU_PAGE_SIZE];
    uint64_t pc, icount, insn_pc, stop_detail;
    uint32_t insn_open, insn_len, stop_reason;
};

static void map_page(struct bare_cpu *c)
{
    mmu_tlb_init(&c->cpu.tlb);
    struct mmu_entry *e = &c->cpu.tlb.e[0][(PAGE_VA >> MMU_PAGE_BITS) & (MMU_TLB_ENTRIES - 1)];
    e->vpage = mmu_tlb_tag(&c->cpu.tlb, PAGE_VA);
    e->gpage = PAGE_VA;
    e->host = page;
    e->perms = MMU_READ | MMU_WRITE;
    mmu_entry_seal(e);
}

static void prepare(struct bare_cpu *c, uint64_t seed)
{
    bare_init(c);
    map_page(c);
    c->cpu.icount = 1000;
    c->pc = 0x4000;
    uint64_t s = seed;
    for (unsigned i = 0; i < sizeof(c->state); i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        c->state[i] = (uint8_t)(s >> 56);
    }
    for (unsigned i = 0; i < sizeof(page); i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        page[i] = (uint8_t)(s >> 56);
    }
}

static void record(const struct bare_cpu *c, uint32_t result, struct outcome *o)
{
    memset(o, 0, sizeof(*o));
    o->result = result;
    memcpy(o->state, c->state, sizeof(o->state));
    memcpy(o->page, page, sizeof(o->page));
    o->pc = c->pc;
    o->icount = c->cpu.icount;
    o->insn_open = c->cpu.insn_open;
    o->insn_pc = c->cpu.insn_open ? c->cpu.insn_pc : 0;
    o->insn_len = c->cpu.insn_open ? c->cpu.insn_len : 0;
    o->stop_reason = result == INTERP_STOP ? c->cpu.stop_reason : 0;
    o->stop_detail = result == INTERP_STOP ? c->cpu.stop_detail : 0;
}

static _Atomic uint64_t fake_epoch;
static _Atomic uint32_t fake_requests;

/* Code for prog from an engine of `mode` (EAGER: at once; ON: wait for the thread). */
static jit_fn compile(struct jit_engine *e, struct jit_vcpu *v, struct jit_vcpu_ctx *ctx, struct jit_block *jb,
                      const struct interp_prog *prog, enum jit_level level)
{
    struct jit_member m = {
        .jb = jb, .prog = prog, .self = NULL,
        .info = { .pc = 0x4000, .guest_insns = 1, .chainable = false, .pc_offset = -1, .set_pc = bare_set_pc },
    };
    cr_assert(jit_request(v, &m, 1, level));
    for (unsigned i = 0; i < 20000 && jb->state == JIT_BLOCK_QUEUED; i++) {
        struct timespec ts = { 0, 100000 };
        nanosleep(&ts, NULL);
        jit_install_ready(v);
    }
    (void)e;
    (void)ctx;
    cr_assert_eq(jb->state, JIT_BLOCK_COMPILED, "the compiler refused a verified block");
    return atomic_load(&jb->fn);
}

static void compare(const struct outcome *want, const struct outcome *got, unsigned iter, const char *how,
                    const struct ir_block *b)
{
    static char dump[1 << 16];
    bool same = !memcmp(want, got, sizeof(*want));
    if (!same) {
        ir_dump(b, dump, sizeof(dump));
        for (unsigned i = 0; i < sizeof(want->state); i++)
            if (want->state[i] != got->state[i])
                fprintf(stderr, "state[%u]: interpreter %02x, %s %02x\n", i, want->state[i], how, got->state[i]);
        fprintf(stderr, "result %u/%u pc %llx/%llx icount %llu/%llu stop %u/%u\n%s", want->result, got->result,
                (unsigned long long)want->pc, (unsigned long long)got->pc, (unsigned long long)want->icount,
                (unsigned long long)got->icount, want->stop_reason, got->stop_reason, dump);
    }
    cr_assert(same, "block %u: the %s tier differs from the interpreter (dump above)", iter, how);
}

static unsigned fuzz_blocks(void)
{
    const char *s = getenv("ANYHV_FUZZ_ITERS");
    long n = s ? strtol(s, NULL, 10) : 0;
    return n > 0 ? (unsigned)n : FUZZ_BLOCKS_DEFAULT;
}

Test(jit, random_blocks_match_the_interpreter, .timeout = 600)
{
    cr_assert(jit_supported(), "this build has no compiled tier");
    struct jit_vcpu_ctx ctx[2] = { { .vm_epoch = &fake_epoch, .requests = &fake_requests },
                                   { .vm_epoch = &fake_epoch, .requests = &fake_requests } };
    struct jit_engine *eager = jit_engine_create(JIT_MODE_EAGER), *on = jit_engine_create(JIT_MODE_ON);
    struct jit_vcpu *ve = jit_vcpu_create(eager, &ctx[0]), *vo = jit_vcpu_create(on, &ctx[1]);
    cr_assert(ve && vo);
    struct ir_block b;
    ir_block_init(&b, 0);
    rng_state = 0x9e3779b97f4a7c15ull;
    unsigned n = fuzz_blocks();
    for (unsigned iter = 0; iter < n; iter++) {
        random_block(&b);
        char err[200];
        cr_assert(ir_verify(&b, err, sizeof(err)), "generator made a bad block: %s", err);
        if (pick(2))
            ir_optimize(&b, NULL, 0);
        struct interp_prog prog;
        cr_assert(interp_compile(&b, STATE_BYTES + 16, &prog));
        uint64_t seed = rnd();
        struct bare_cpu c;
        struct outcome want, got;
        prepare(&c, seed);
        record(&c, interp_run(&c.cpu, &prog), &want);
        const char *how[3] = { "warm", "warm with state in SSA", "optimised" };
        for (unsigned k = 0; k < 3; k++) {
            struct jit_block jb = { 0 };
            static const enum jit_level level[3] = { JIT_LEVEL_BLOCK, JIT_LEVEL_REGION, JIT_LEVEL_HOT };
            jit_fn fn = compile(k == 2 ? on : eager, k == 2 ? vo : ve, &ctx[k == 2], &jb, &prog, level[k]);
            prepare(&c, seed);
            record(&c, jit_call(k == 2 ? vo : ve, fn, &c.cpu, c.state), &got);
            compare(&want, &got, iter, how[k], &b);
            jit_block_release(k == 2 ? vo : ve, &jb);
        }
        interp_prog_free(&prog);
    }
    ir_block_free(&b);
    jit_vcpu_destroy(ve);
    jit_vcpu_destroy(vo);
    jit_engine_destroy(eager);
    jit_engine_destroy(on);
}

/* ---- FP ops on every edge pair ------------------------------------------------------ */

/* One block per (kind, format, frontend): FP and FPFLAGS of two state fields, compiled
 * once, then run on every pair of lanes from the edge list (each sign) and on random
 * lanes, against the interpreter: the inline ordinary case, its limits and the branch
 * to the fallback. */
static uint64_t fp_lane(bool f64, unsigned i)
{
    static const uint64_t e64[] = { 0, 1, 0x000fffffffffffffull, 0x0010000000000000ull, 0x0370000000000000ull,
                                    0x0380000000000000ull, 0x3ff0000000000000ull, 0x3ff0000000000001ull,
                                    0x3fd5555555555555ull, 0x4008000000000000ull, 0x7fc0000000000000ull,
                                    0x7fcfffffffffffffull, 0x7fd0000000000000ull, 0x7fefffffffffffffull,
                                    0x7ff0000000000000ull, 0x7ff8000000000000ull, 0x7ff0000000000001ull };
    static const uint32_t e32[] = { 0, 1, 0x007fffffu, 0x00800000u, 0x0d000000u, 0x0d800000u, 0x3f800000u,
                                    0x3f800001u, 0x3eaaaaabu, 0x40400000u, 0x7e000000u, 0x7e7fffffu, 0x7e800000u,
                                    0x7f7fffffu, 0x7f800000u, 0x7fc00000u, 0x7f800001u };
    return f64 ? e64[i % 17] | ((i / 17) & 1 ? 1ull << 63 : 0) : e32[i % 17] | ((i / 17) & 1 ? 1u << 31 : 0);
}
#define FP_EDGES 34u

static ir_u128 fp_operand(unsigned format, unsigned i)
{
    bool f64 = format == IR_FP_F64 || format == IR_FP_V2F64;
    unsigned lanes = format == IR_FP_V4F32 ? 4 : format == IR_FP_V2F64 ? 2 : 1, w = f64 ? 64 : 32;
    ir_u128 v = 0;
    for (unsigned l = 0; l < lanes; l++)
        v |= (ir_u128)(l == 0 ? fp_lane(f64, i) : pick(2) ? fp_lane(f64, pick(FP_EDGES)) : fp_lane(f64, 6)) << (w * l);
    return v;
}

Test(jit, fp_edges_match_the_interpreter, .timeout = 600)
{
#ifdef ANYHV_TSAN_BUILD
    /* One thread compiles and compares values; under TSan it outlasts any timeout. */
    cr_skip_test("single-threaded: runs in the other builds, not under ThreadSanitizer");
#endif
    cr_assert(jit_supported(), "this build has no compiled tier");
    struct jit_vcpu_ctx ctx[2] = { { .vm_epoch = &fake_epoch, .requests = &fake_requests },
                                   { .vm_epoch = &fake_epoch, .requests = &fake_requests } };
    struct jit_engine *eager = jit_engine_create(JIT_MODE_EAGER), *on = jit_engine_create(JIT_MODE_ON);
    struct jit_vcpu *ve = jit_vcpu_create(eager, &ctx[0]), *vo = jit_vcpu_create(on, &ctx[1]);
    cr_assert(ve && vo);
    rng_state = 0x1234567887654321ull;
    for (unsigned k = 0; k < IR_FP_KIND_COUNT * IR_FP_FORMAT_COUNT * 2; k++) {
        unsigned kind = k % IR_FP_KIND_COUNT, format = (k / IR_FP_KIND_COUNT) % IR_FP_FORMAT_COUNT;
        bool x86 = k < IR_FP_KIND_COUNT * IR_FP_FORMAT_COUNT;
        uint32_t helper = ir_helper_register(x86 ? &x86_sse_fp_pure_helper : &a64_fp_default_helper);
        if (kind == IR_FP_REL && format > IR_FP_F64)
            continue;   /* scalars only */
        if (x86 && x86_lacks(kind, format))
            continue;   /* no such x86 conversion */
        /* CMP: each of the eight quiet-case predicates once per format pair; arm64's
         * MIN/MAX: the NM forms on the vector formats */
        unsigned aux = kind == IR_FP_CMP ? (format + 4 * x86) & 7
                     : (kind == IR_FP_MIN || kind == IR_FP_MAX) ? !x86 && format > IR_FP_F64 : kind == IR_FP_REL && format;
        if (kind >= IR_FP_SITOF && kind <= IR_FP_FTOUI)   /* 64-bit integers with F64, x86 rounding to nearest */
            aux = (format == IR_FP_F64 ? IR_FP_CVT_64 : 0) | (x86 && kind >= IR_FP_FTOSI ? IR_FP_CVT_NEAREST : 0);
        if (kind == IR_FP_FMA)   /* every negation across the formats */
            aux = (format + x86) & 3;
        uint64_t how = IR_FP_HOW_AUX(kind, format, x86 ? 5 : 4, aux);
        enum ir_type ft = ir_fp_arg_type(how);
        struct ir_block b;
        ir_block_init(&b, 0x4000);
        ir_insn_start(&b, 0x4000, 4);
        bool unary = kind == IR_FP_SQRT || (kind >= IR_FP_SITOF && kind <= IR_FP_FTOUI);
        ir_val x = ir_get(&b, ft, 0), y = unary ? x : ir_get(&b, ft, 16);
        if (kind == IR_FP_FMA) {   /* x * y + x: the addend is an edge too */
            ir_set(&b, 32, ir_fp_fma(&b, how, helper, x, y, x));
            ir_set(&b, 48, ir_fp_fma_flags(&b, IR_I32, how, helper, x, y, x));
        } else {
            ir_set(&b, 32, ir_fp(&b, how, helper, x, y));
            ir_set(&b, 48, ir_fp_flags(&b, IR_I32, how, helper, x, y));
        }
        ir_jump(&b, 0x8000);
        struct interp_prog prog;
        cr_assert(interp_compile(&b, STATE_BYTES + 16, &prog));
        /* Warm (O0, state in memory) and optimised (O2, state in SSA values). */
        struct jit_block jb[2] = { { 0 }, { 0 } };
        jit_fn fn[2] = { compile(eager, ve, &ctx[0], &jb[0], &prog, JIT_LEVEL_BLOCK),
                         compile(on, vo, &ctx[1], &jb[1], &prog, JIT_LEVEL_HOT) };
        for (unsigned i = 0; i < FP_EDGES * FP_EDGES + 2000; i++) {
            ir_u128 a = i < FP_EDGES * FP_EDGES ? fp_operand(format, i / FP_EDGES) : ((ir_u128)rnd() << 64) | rnd();
            ir_u128 c = i < FP_EDGES * FP_EDGES ? fp_operand(format, i % FP_EDGES) : ((ir_u128)rnd() << 64) | rnd();
            struct bare_cpu cpu;
            struct outcome want, got;
            uint64_t seed = rnd();
            prepare(&cpu, seed);
            memcpy(cpu.state, &a, 16);
            memcpy(cpu.state + 16, &c, 16);
            record(&cpu, interp_run(&cpu.cpu, &prog), &want);
            for (unsigned l = 0; l < 2; l++) {
                prepare(&cpu, seed);
                memcpy(cpu.state, &a, 16);
                memcpy(cpu.state + 16, &c, 16);
                record(&cpu, jit_call(l ? vo : ve, fn[l], &cpu.cpu, cpu.state), &got);
                compare(&want, &got, i, x86 ? "compiled x86 FP" : "compiled arm64 FP", &b);
            }
        }
        jit_block_release(ve, &jb[0]);
        jit_block_release(vo, &jb[1]);
        interp_prog_free(&prog);
        ir_block_free(&b);
    }
    jit_vcpu_destroy(ve);
    jit_vcpu_destroy(vo);
    jit_engine_destroy(eager);
    jit_engine_destroy(on);
}

/* ---- tier-up ------------------------------------------------------------------------ */

/* A loop of 2000 iterations through the dispatcher, first interpreted, then (once the
 * compile thread delivers) compiled: the same sum, exit and exact instruction count
 * as the interpreter alone gives. */
static void run_loop_at(uint32_t at, uint64_t iters, bool want_promoted, uint64_t *sum, uint64_t *icount,
                        uint64_t *compiled_runs, uint64_t *promoted)
{
    start();
    uint8_t *p = t.ram + at;
    p = toy_movi(p, 1, (int32_t)iters);
    p = toy_movi(p, 2, 0);
    p = toy_emit(p, TOY_ADD, 2, 1, 0);
    p = toy_emit(p, TOY_ADDI, 1, 0, -1);
    p = toy_emit(p, TOY_JNZ, 1, 0, -3);
    toy_emit(p, TOY_OUT, 2, 0, 7);
    for (unsigned tries = 0; tries < 200; tries++) {
        /* Again from the top until the compiled code ran part of the loop (and, when
         * asked for, until the optimised region replaced the warm one). */
        toy_regs(&t)->rip = at;
        uint64_t before = t.vcpu->icount;
        cr_assert_eq(vcpu_run(t.vcpu, BACKEND_NO_DEADLINE), HV_SUCCESS);
        *icount = t.vcpu->exit.icount - before;
        cr_assert_eq(t.vcpu->exit.kind, EXIT_PIO);
        struct soft_vcpu *sv = t.vcpu->be;
        struct jit_stats js;
        jit_vcpu_stats(sv->jit, &js);
        *compiled_runs = sv->blocks_jit;
        *promoted = js.promoted;
        if (!sv->jit || (*compiled_runs && (!want_promoted || *promoted)))
            break;
        sleep_ms(5);
    }
    *sum = t.vcpu->exit.u.pio.data;
    toy_vm_destroy(&t);
    memset(&t, 0, sizeof(t));
}

static void run_loop(uint64_t iters, bool want_promoted, uint64_t *sum, uint64_t *icount, uint64_t *compiled_runs,
                     uint64_t *promoted)
{
    run_loop_at(CODE, iters, want_promoted, sum, icount, compiled_runs, promoted);
}

Test(jit, a_running_loop_tiers_up_with_identical_results, .init = setup, .fini = teardown)
{
    cr_assert(jit_supported(), "this build has no compiled tier");
    uint64_t sum[2], icount[2], compiled[2], promoted[2];
    setenv("ANYHV_JIT", "off", 1);
    run_loop(2000, false, &sum[0], &icount[0], &compiled[0], &promoted[0]);
    setenv("ANYHV_JIT", "on", 1);
    setenv("ANYHV_JIT_THRESHOLD", "16", 1);
    run_loop(2000, false, &sum[1], &icount[1], &compiled[1], &promoted[1]);
    cr_expect_eq(compiled[0], 0, "ANYHV_JIT=off ran compiled code");
    cr_expect_gt(compiled[1], 0, "the loop never ran compiled code");
    cr_expect_eq(sum[1], sum[0]);
    cr_expect_eq(sum[0], 2001000);
    cr_expect_eq(icount[0], 2 + 2000 * 3 + 1, "instructions retired by one interpreted run");
    cr_expect_eq(icount[1], icount[0], "instructions retired by the run that tiered up");
}

/* A loop long enough for its warm region to reach the heat limit: the optimised
 * region replaces it while the loop runs, with the same results and counts. */
Test(jit, a_hot_region_is_promoted_with_identical_results, .init = setup, .fini = teardown)
{
    cr_assert(jit_supported(), "this build has no compiled tier");
    const uint64_t iters = 300000;
    uint64_t sum[2], icount[2], compiled[2], promoted[2];
    setenv("ANYHV_JIT", "off", 1);
    run_loop(iters, false, &sum[0], &icount[0], &compiled[0], &promoted[0]);
    setenv("ANYHV_JIT", "on", 1);
    setenv("ANYHV_JIT_THRESHOLD", "16", 1);
    run_loop(iters, true, &sum[1], &icount[1], &compiled[1], &promoted[1]);
    cr_expect_gt(promoted[1], 0, "the hot loop's region was never optimised");
    cr_expect_eq(sum[0], iters * (iters + 1) / 2);
    cr_expect_eq(sum[1], sum[0]);
    cr_expect_eq(icount[0], 2 + iters * 3 + 1, "instructions retired by one interpreted run");
    cr_expect_eq(icount[1], icount[0], "instructions retired by the run that was promoted");
}

/* The same loop placed so that its block crosses a page: no region forms, the block is
 * compiled alone, counts its runs where it leaves, and is optimised alone at its heat
 * limit, with the same results and counts. */
Test(jit, a_hot_block_alone_is_promoted_with_identical_results, .init = setup, .fini = teardown)
{
    cr_assert(jit_supported(), "this build has no compiled tier");
    const uint64_t iters = 300000;
    const uint32_t at = CODE + 0x1000u - 32u;   /* the loop's ADD, ADDI | JNZ straddle the page end */
    uint64_t sum[2], icount[2], compiled[2], promoted[2];
    setenv("ANYHV_JIT", "off", 1);
    run_loop_at(at, iters, false, &sum[0], &icount[0], &compiled[0], &promoted[0]);
    setenv("ANYHV_JIT", "on", 1);
    setenv("ANYHV_JIT_THRESHOLD", "16", 1);
    run_loop_at(at, iters, true, &sum[1], &icount[1], &compiled[1], &promoted[1]);
    cr_expect_gt(promoted[1], 0, "the hot block was never optimised");
    cr_expect_eq(sum[0], iters * (iters + 1) / 2);
    cr_expect_eq(sum[1], sum[0]);
    cr_expect_eq(icount[1], icount[0], "instructions retired by the run that was promoted");
}
