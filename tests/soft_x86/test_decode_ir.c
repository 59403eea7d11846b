/* test_decode_ir.c - the x86 decode adapter (our struct from Capstone's) and golden
 * IR dumps of representative instructions, before and after the passes. Goldens
 * live in tests/soft_x86/golden/<name>.ir; ANYHV_REBASE=1 rewrites them after an
 * intended change (review the diff). */
#include <capstone/capstone.h>
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "support/backend.h"
#include "x86_guest.h"

#include "core/soft/soft.h"
#include "core/vm.h"
#include "frontends/x86_64/x86_fe.h"

#ifndef GOLDEN_DIR
#error "GOLDEN_DIR must point at tests/soft_x86/golden"
#endif

/* ---- decode adapter ------------------------------------------------------------- */

static struct x86_dinsn dec(enum x86_code_size mode, const char *bytes, unsigned n)
{
    struct x86_dinsn in;
    cr_assert(x86_decode(mode, (const uint8_t *)bytes, n, 0x1000, &in), "decode failed");
    return in;
}

Test(soft_x86_decode, alu_register_form)
{
    struct x86_dinsn in = dec(X86_CODE64, "\x48\x01\xc8", 3);
    cr_expect_eq(in.op, X86_I_ADD);
    cr_expect_eq(in.len, 3);
    cr_expect_eq(in.nops, 2);
    cr_expect_eq(in.o[0].kind, X86_OPND_REG);
    cr_expect_eq(in.o[0].reg.num, X86_RAX);
    cr_expect_eq(in.o[0].size, 8);
    cr_expect_eq(in.o[1].reg.num, X86_RCX);
    cr_expect(in.prefixes & X86_PFX_REX_W);
}

Test(soft_x86_decode, memory_operand_and_default_segment)
{
    /* mov eax, [rbp + rsi*4 - 8]: SS by default because of the RBP base */
    struct x86_dinsn in = dec(X86_CODE64, "\x8b\x44\xb5\xf8", 4);
    cr_expect_eq(in.op, X86_I_MOV);
    cr_expect_eq(in.o[1].kind, X86_OPND_MEM);
    cr_expect_eq(in.o[1].mem.base.num, X86_RBP);
    cr_expect_eq(in.o[1].mem.index.num, X86_RSI);
    cr_expect_eq(in.o[1].mem.scale, 4);
    cr_expect_eq(in.o[1].mem.disp, -8);
    cr_expect_eq(in.o[1].mem.seg, X86_SS);
    cr_expect(!in.o[1].mem.seg_override);
    cr_expect_eq(in.addr_size, 8);
    /* fs: override, 32-bit address size */
    in = dec(X86_CODE64, "\x64\x67\x8b\x03", 4);
    cr_expect_eq(in.o[1].mem.seg, X86_FS);
    cr_expect(in.o[1].mem.seg_override);
    cr_expect_eq(in.addr_size, 4);
}

Test(soft_x86_decode, prefixes_and_modes)
{
    struct x86_dinsn in = dec(X86_CODE64, "\xf3\xa4", 2);
    cr_expect_eq(in.op, X86_I_MOVSB);
    cr_expect(in.prefixes & X86_PFX_REP);
    in = dec(X86_CODE64, "\xf0\x48\x0f\xc1\x03", 5);
    cr_expect_eq(in.op, X86_I_XADD);
    cr_expect(in.prefixes & X86_PFX_LOCK);
    /* 16-bit code: B8 takes a 16-bit immediate; 66 makes it 32-bit */
    in = dec(X86_CODE16, "\xb8\x34\x12", 3);
    cr_expect_eq(in.o[0].size, 2);
    cr_expect_eq(in.o[1].imm & 0xffff, 0x1234);
    in = dec(X86_CODE16, "\x66\xb8\x78\x56\x34\x12", 6);
    cr_expect_eq(in.o[0].size, 4);
    cr_expect_eq(in.len, 6);
}

/* Only a REX right before the opcode counts; the others are ignored, and Capstone
 * 4.0.2 would lose the mandatory 66 behind two of them (SDM vol. 2A 2.2.1). */
Test(soft_x86_decode, redundant_rex_prefixes_are_ignored)
{
    struct x86_dinsn in = dec(X86_CODE64, "\x66\x43\x4d\x41\x0f\x51\xc2", 7);
    cr_expect_eq(in.op, X86_I_SQRTPD);
    cr_expect_eq(in.len, 7);
    cr_expect_eq(in.o[0].reg.num, 0, "REX.R of 4D ignored");
    cr_expect_eq(in.o[1].reg.num, 10, "REX.B of the last REX");
    cr_expect(memcmp(in.bytes, "\x66\x43\x4d\x41\x0f\x51\xc2", 7) == 0);
    in = dec(X86_CODE64, "\xf3\x40\x41\x48\x0f\xb8\xc1", 7);   /* Capstone fails on it */
    cr_expect_eq(in.op, X86_I_POPCNT);
    cr_expect_eq(in.op_size, 8);
    cr_expect_eq(in.o[1].reg.num, X86_RCX, "REX.B of 41 ignored");
    /* a relative target still counts from the end of all 7 bytes */
    in = dec(X86_CODE64, "\x48\x41\xe8\x10\x00\x00\x00", 7);
    cr_expect_eq(in.len, 7);
    cr_expect_eq(in.o[0].imm, 0x1000 + 7 + 0x10);
    /* REX before a legacy prefix: ignored too (66 makes a 16-bit ADD) */
    in = dec(X86_CODE64, "\x48\x66\x01\xc8", 4);
    cr_expect_eq(in.op_size, 2);
}

Test(soft_x86_decode, rejects_what_we_do_not_implement)
{
    struct x86_dinsn in;
    /* VMXON m64 and AVX-512 vaddps zmm: Capstone decodes them, the op table has no lifter */
    cr_expect(!x86_decode(X86_CODE64, (const uint8_t *)"\xf3\x0f\xc7\x30", 4, 0, &in));
    cr_expect(!x86_decode(X86_CODE64, (const uint8_t *)"\x62\xf1\x7c\x48\x58\xc1", 6, 0, &in));
    /* a legacy prefix before VEX is #UD (Capstone decodes it) */
    cr_expect(!x86_decode(X86_CODE64, (const uint8_t *)"\x66\xc5\xf8\x58\xc1", 5, 0, &in));
    /* ... and its XMM form, which Capstone gives VADDPS's id */
    cr_expect(!x86_decode(X86_CODE64, (const uint8_t *)"\x62\xf1\x7c\x08\x58\xc1", 6, 0, &in));
    /* ... and AVX vaddps ymm decodes now, as a VEX form */
    cr_expect(x86_decode(X86_CODE64, (const uint8_t *)"\xc5\xf4\x58\xc2", 4, 0, &in) && in.vex);
    /* truncated bytes */
    cr_expect(!x86_decode(X86_CODE64, (const uint8_t *)"\x48\x8b", 2, 0, &in));
}

/* ---- golden IR dumps ---------------------------------------------------------------- */

struct golden {
    const char *name;
    const char *code;
    unsigned len;
    unsigned cpl_mode;   /* 0: 64-bit CPL0, 16: real mode, 32: flat 32-bit CPL0 */
};

#define G(name, code, mode) { name, code, sizeof(code) - 1, mode }
static const struct golden goldens[] = {
    G("add_rax_rcx", "\x48\x01\xc8\xf4", 0),
    G("two_adds_dead_flags", "\x48\x01\xc8\x48\x01\xd0\xf4", 0),
    G("shl_eax_cl", "\xd3\xe0\xf4", 0),
    G("cmp_jz", "\x48\x39\xc8\x74\x10", 0),
    G("div_rcx", "\x48\xf7\xf1\xf4", 0),
    G("lock_xadd", "\xf0\x48\x0f\xc1\x03\xf4", 0),
    G("rep_movsb", "\xf3\xa4", 0),
    G("push_pop", "\x50\x59\xf4", 0),
    G("real_mode_out", "\xb0\x41\xe6\x80", 16),
    /* Segment-limit guards: emitted in real mode (64 KiB limits), absent while flat. */
    G("real_mode_load_checked", "\x8b\x47\x02\xf4", 16),
    G("flat32_load_unchecked", "\x8b\x43\x02\xf4", 32),
    /* Integer SSE as IR vector ops (no helper calls): PCMPEQB + PMOVMSKB (a memchr
     * step), PSHUFB + PSHUFD. */
    G("pcmpeqb_pmovmskb", "\x66\x0f\x74\xc1\x66\x0f\xd7\xc0\xf4", 0),
    G("pshufb_pshufd", "\x66\x0f\x38\x00\xc1\x66\x0f\x70\xd0\x1b\xf4", 0),
};

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

static void dump_block(struct xg *g, const struct golden *gd, char *out, size_t outlen)
{
    struct vcpu *v = NULL;
    cr_assert_eq(vcpu_get_owned(g->vcpu, &v), HV_SUCCESS);
    struct x86_state *st = v->st.x86;
    uint64_t pc = gd->cpl_mode == 16 ? 0x100 : XG_CODE;
    memcpy(g->ram + (gd->cpl_mode == 16 ? 0x1000 + pc : pc), gd->code, gd->len);
    st->rip = pc;
    struct soft_cpu cpu;
    memset(&cpu, 0, sizeof(cpu));
    cpu.vcpu = v;
    cpu.state = st;
    cpu.fe = &x86_soft_frontend;
    x86_soft_frontend.init();
    struct ir_block b;
    ir_block_init(&b, pc);
    cr_assert(x86_translate_standalone(&cpu, &b), "%s: translate failed", gd->name);
    char err[256];
    cr_assert(ir_verify(&b, err, sizeof(err)), "%s: IR does not verify: %s", gd->name, err);
    size_t n = (size_t)snprintf(out, outlen, "; %s\n; before passes\n", gd->name);
    n += ir_dump(&b, out + n, outlen - n);
    ir_optimize(&b, x86_flag_offsets, 6);
    cr_assert(ir_verify(&b, err, sizeof(err)), "%s: IR after passes does not verify: %s", gd->name, err);
    n += (size_t)snprintf(out + n, outlen - n, "; after passes\n");
    ir_dump(&b, out + n, outlen - n);
    ir_block_free(&b);
}

Test(soft_x86_ir, golden_dumps)
{
    struct xg g;
    cr_assert_eq(anyhv_set_backend(ANYHV_BACKEND_SOFT), HV_SUCCESS);
    cr_assert_eq(xg_create(&g), 0);
    bool rebase = getenv("ANYHV_REBASE") != NULL;
    for (size_t i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++) {
        const struct golden *gd = &goldens[i];
        int r = gd->cpl_mode == 16 ? xg_real_mode(&g, 0x100, 0x100)
                : gd->cpl_mode == 32 ? xg_protected32(&g)
                                     : xg_long_mode(&g);
        cr_assert_eq(r, 0);
        static char text[1 << 16];
        dump_block(&g, gd, text, sizeof(text));
        char path[512];
        snprintf(path, sizeof(path), "%s/%s.ir", GOLDEN_DIR, gd->name);
        if (rebase) {
            FILE *f = fopen(path, "wb");
            cr_assert(f, "cannot write %s", path);
            fputs(text, f);
            fclose(f);
            continue;
        }
        const char *want = read_file(path);
        cr_assert(want, "missing golden %s (run with ANYHV_REBASE=1)", path);
        cr_expect_str_eq(text, want, "IR of %s differs from %s", gd->name, path);
    }
    xg_destroy(&g);
}

/* ---- trap_if (the guard op segment and alignment checks use) ---------------------- */

/* A guard on a constant false condition folds away; on a value it stays, verifies as
 * a fault point, and dumps in its text form; a non-i1 condition does not verify. */
Test(soft_x86_ir, trap_if_folds_verifies_and_dumps)
{
    struct ir_block b;
    ir_block_init(&b, 0x1000);
    ir_insn_start(&b, 0x1000, 2);
    ir_trap_if(&b, ir_const(&b, IR_I1, 0), X86_V_GP);
    ir_val v = ir_get(&b, IR_I64, X86_OFF_GPR(X86_RAX));
    ir_trap_if(&b, ir_binop(&b, IR_EQ, v, ir_const(&b, IR_I64, 7)), X86_V_SS);
    ir_stop(&b, IR_STOP_SYSTEM, 0);
    char err[256];
    cr_assert(ir_verify(&b, err, sizeof(err)), "%s", err);
    ir_pass_const_fold(&b);
    ir_pass_dead_code(&b);
    static char text[4096];
    ir_dump(&b, text, sizeof(text));
    cr_expect(strstr(text, "trap_if") && strstr(text, ", 0xc\n"), "the live guard stays:\n%s", text);
    cr_expect(!strstr(text, ", 0xd\n"), "the constant-false guard is gone:\n%s", text);
    ir_block_free(&b);

    ir_block_init(&b, 0x1000);
    ir_insn_start(&b, 0x1000, 2);
    ir_trap_if(&b, ir_const(&b, IR_I8, 1), X86_V_GP);
    ir_stop(&b, IR_STOP_SYSTEM, 0);
    cr_expect(!ir_verify(&b, err, sizeof(err)), "an i8 condition must not verify");
    ir_block_free(&b);

    ir_block_init(&b, 0x1000);
    ir_trap_if(&b, ir_const(&b, IR_I1, 1), X86_V_GP);
    ir_stop(&b, IR_STOP_SYSTEM, 0);
    cr_expect(!ir_verify(&b, err, sizeof(err)), "a guard before any insn_start must not verify");
    ir_block_free(&b);
}

/* ---- Capstone handles of exited threads are closed -------------------------------- */

static _Atomic long cs_live_blocks;

static void *count_malloc(size_t n)
{
    void *p = malloc(n);
    if (p)
        atomic_fetch_add(&cs_live_blocks, 1);
    return p;
}

static void *count_calloc(size_t k, size_t n)
{
    void *p = calloc(k, n);
    if (p)
        atomic_fetch_add(&cs_live_blocks, 1);
    return p;
}

static void *count_realloc(void *old, size_t n)
{
    void *p = realloc(old, n);
    if (p && !old)
        atomic_fetch_add(&cs_live_blocks, 1);
    return p;
}

static void count_free(void *p)
{
    if (p)
        atomic_fetch_sub(&cs_live_blocks, 1);
    free(p);
}

static void *decode_on_a_thread(void *arg)
{
    (void)arg;
    static const uint8_t nop[] = { 0x90 };
    struct x86_dinsn d;
    for (int mode = X86_CODE16; mode <= X86_CODE64; mode++)
        x86_decode((enum x86_code_size)mode, nop, sizeof(nop), 0, &d);
    return NULL;
}

/* Every thread that decodes opens its own handles; a thread that ends gives them back,
 * so Capstone's live allocations do not grow with the number of threads. */
Test(soft_x86_decode, capstone_handles_of_exited_threads_are_closed)
{
    cs_opt_mem mem = { .malloc = count_malloc, .calloc = count_calloc, .realloc = count_realloc,
                       .free = count_free, .vsnprintf = vsnprintf };
    cr_assert_eq(cs_option(0, CS_OPT_MEM, (size_t)&mem), CS_ERR_OK);
    decode_on_a_thread(NULL);   /* this thread's handles, kept while it lives */
    long base = atomic_load(&cs_live_blocks);
    for (int i = 0; i < 50; i++) {
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, decode_on_a_thread, NULL), 0);
        pthread_join(t, NULL);
    }
    cr_expect_eq(atomic_load(&cs_live_blocks), base, "Capstone blocks still live after 50 threads: %ld (base %ld)",
                 atomic_load(&cs_live_blocks), base);
}
