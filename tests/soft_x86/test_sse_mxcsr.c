/* test_sse_mxcsr.c - MXCSR and the FXSAVE image through a CPL3 guest, on every
 * backend (KVM runs CPL3 code on the host CPU here, so the same expectations hold
 * there): LDMXCSR/STMXCSR and the reserved-bit #GP, rounding control in CVTSD2SI
 * and ADDSD, the exception flags, DAZ/FTZ, an unmasked exception raising #XM with
 * the destination unchanged (#UD without CR4.OSXMMEXCPT), FXSAVE/FXRSTOR images,
 * their alignment #GP and the MXCSR check on restore, #NM with CR0.TS. */
#include <criterion/criterion.h>
#include <stdio.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "support/backend.h"
#include "x86_guest.h"

#define HLT_BYTE 0xf4
#define V_UD 6
#define V_NM 7
#define V_GP 13
#define V_XM 19
#define CR4_OSXMMEXCPT 0x400ull
#define CR0_TS 0x8ull
#define CR0_EM 0x4ull
#define FPSTATE_SIZE 512
#define FX_MXCSR 24
#define FX_XMM0 160
#define MXCSR_DEFAULT 0x1f80u
#define MXCSR_PE 0x20u
#define MXCSR_ZE 0x04u
#define MXCSR_UE 0x10u
#define MXCSR_ZM 0x200u
#define MXCSR_DAZ 0x40u
#define MXCSR_FZ 0x8000u
#define RC_UP (2u << 13)
#define RC_DOWN (1u << 13)
#define RC_ZERO (3u << 13)
#define D_2_5 0x4004000000000000ull      /* 2.5 */
#define D_M2_5 0xc004000000000000ull     /* -2.5 */
#define D_ONE 0x3ff0000000000000ull
#define D_THREE 0x4008000000000000ull
#define D_TINY 0x0000000000000001ull     /* the least denormal */
#define D_HALF_MIN 0x0008000000000000ull /* DBL_MIN / 2: a denormal */

struct run {
    int vector;            /* the exception taken; V_GP for the closing HLT */
    uint64_t stacked_rip;
    uint64_t rax;
    uint32_t mxcsr;
    uint64_t xmm0[2];
};

/* Run code at CPL3 (followed by HLT, so it ends in the #GP handler) from the given
 * MXCSR, XMM0/XMM1 (low quadwords), RAX and CR4.OSXMMEXCPT. */
static struct run run_code(struct xg *g, const char *code, unsigned len, uint32_t mxcsr, uint64_t xmm0,
                           uint64_t xmm1, uint64_t rax, bool osxmmexcpt)
{
    cr_assert_eq(xg_long_mode_cpl(g, 3), 0);
    if (osxmmexcpt)
        cr_assert_eq(xg_vmcs(g, VMCS_GUEST_CR4, xg_read_vmcs(g, VMCS_GUEST_CR4) | CR4_OSXMMEXCPT), 0);
    memcpy(g->ram + XG_CODE, code, len);
    g->ram[XG_CODE + len] = HLT_BYTE;
    uint8_t fx[FPSTATE_SIZE] __attribute__((aligned(16)));
    cr_assert_eq(hv_vcpu_read_fpstate(g->vcpu, fx, sizeof(fx)), HV_SUCCESS);
    memcpy(fx + FX_MXCSR, &mxcsr, 4);
    memset(fx + FX_XMM0, 0, 32);
    memcpy(fx + FX_XMM0, &xmm0, 8);
    memcpy(fx + FX_XMM0 + 16, &xmm1, 8);
    cr_assert_eq(hv_vcpu_write_fpstate(g->vcpu, fx, sizeof(fx)), HV_SUCCESS);
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, XG_CODE);
    hv_vcpu_write_register(g->vcpu, HV_X86_RSP, XG_STACK_TOP);
    hv_vcpu_write_register(g->vcpu, HV_X86_RBX, XG_DATA);
    hv_vcpu_write_register(g->vcpu, HV_X86_RAX, rax);
    cr_assert_eq(hv_vcpu_run(g->vcpu), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(g), VMX_REASON_HLT, "exit reason %u", xg_exit_reason(g));
    struct run r = { .vector = -1 };
    uint64_t rip = xg_reg(g, HV_X86_RIP);
    if (rip >= XG_STUBS && rip < XG_STUBS + XG_STUB_SIZE * XG_VECTORS)
        r.vector = (int)((rip - XG_STUBS) / XG_STUB_SIZE);
    uint64_t sp = xg_reg(g, HV_X86_RSP);
    unsigned slot = (r.vector == V_GP) ? 8 : 0;   /* #GP pushes an error code */
    if (sp + slot + 8 <= XG_RAM_SIZE)
        memcpy(&r.stacked_rip, g->ram + sp + slot, 8);
    r.rax = xg_reg(g, HV_X86_RAX);
    cr_assert_eq(hv_vcpu_read_fpstate(g->vcpu, fx, sizeof(fx)), HV_SUCCESS);
    memcpy(&r.mxcsr, fx + FX_MXCSR, 4);
    memcpy(r.xmm0, fx + FX_XMM0, 16);
    return r;
}

#define RUN(g, code, ...) run_code(g, code, sizeof(code) - 1, __VA_ARGS__)

static void setup(struct xg *g)
{
    test_require_backend();
    cr_assert_eq(xg_create(g), 0, "VM setup");
    cr_assert_eq(xg_vmcs(g, VMCS_CTRL_EXC_BITMAP, 0), 0);
}

/* This machine's KVM (PVM, no VT-x) hands a CPL3 #GP to its instruction emulator,
 * which runs a misaligned FXSAVE and turns LDMXCSR/FXRSTOR #GP into #UD; the host
 * CPU itself gives #GP (docs/differences.md). Those checks are the soft route's. */
static bool kvm_emulates_gp(void)
{
    const char *backend = getenv("ANYHV_BACKEND");
    return backend && strcmp(backend, "kvm") == 0 && !xg_host_hw_virt();
}

/* The code ran to its closing HLT (a #GP at CPL3 just after it). */
static void expect_completed(const struct run *r, unsigned len)
{
    cr_expect_eq(r->vector, V_GP, "ended in vector %d", r->vector);
    cr_expect_eq(r->stacked_rip, XG_CODE + len, "stacked RIP %#llx", (unsigned long long)r->stacked_rip);
}

Test(soft_x86_sse_mxcsr, ldmxcsr_stmxcsr)
{
    struct xg g;
    setup(&g);
    /* mov dword [rbx], 0x5f80; ldmxcsr [rbx]; stmxcsr [rbx+4]; mov eax, [rbx+4] */
    static const char code[] = "\xc7\x03\x80\x5f\x00\x00\x0f\xae\x13\x0f\xae\x5b\x04\x8b\x43\x04";
    struct run r = RUN(&g, code, MXCSR_DEFAULT, 0, 0, 0, false);
    expect_completed(&r, sizeof(code) - 1);
    cr_expect_eq(r.rax, 0x5f80u, "stmxcsr gave %#llx", (unsigned long long)r.rax);
    cr_expect_eq(r.mxcsr, 0x5f80u);
    /* A reserved bit: #GP(0) at the LDMXCSR, MXCSR unchanged. */
    static const char bad[] = "\x0f\xae\x13";
    uint32_t v = 0x11f80u;
    memcpy(g.ram + XG_DATA, &v, 4);
    r = RUN(&g, bad, MXCSR_DEFAULT, 0, 0, 0, false);
    if (!kvm_emulates_gp())
        cr_expect_eq(r.vector, V_GP, "vector %d", r.vector);
    cr_expect_eq(r.stacked_rip, XG_CODE, "stacked RIP %#llx", (unsigned long long)r.stacked_rip);
    cr_expect_eq(r.mxcsr, MXCSR_DEFAULT);
    xg_destroy(&g);
}

Test(soft_x86_sse_mxcsr, rounding_control)
{
    struct xg g;
    setup(&g);
    static const char cvt[] = "\xf2\x48\x0f\x2d\xc0";   /* cvtsd2si rax, xmm0 */
    static const struct { uint32_t rc; uint64_t in; int64_t out; } cases[] = {
        { 0, D_2_5, 2 }, { 0, D_M2_5, -2 }, { RC_DOWN, D_2_5, 2 }, { RC_DOWN, D_M2_5, -3 },
        { RC_UP, D_2_5, 3 }, { RC_UP, D_M2_5, -2 }, { RC_ZERO, D_2_5, 2 }, { RC_ZERO, D_M2_5, -2 },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run r = RUN(&g, cvt, MXCSR_DEFAULT | cases[i].rc, cases[i].in, 0, 0, false);
        expect_completed(&r, sizeof(cvt) - 1);
        cr_expect_eq((int64_t)r.rax, cases[i].out, "case %u: cvtsd2si gave %lld", i, (long long)r.rax);
        cr_expect_eq(r.mxcsr, MXCSR_DEFAULT | cases[i].rc | MXCSR_PE, "case %u: mxcsr %#x", i, r.mxcsr);
    }
    /* 1/3 rounded down and up differ in the last bit; the quotient is inexact. */
    static const char div[] = "\xf2\x0f\x5e\xc1";   /* divsd xmm0, xmm1 */
    struct run down = RUN(&g, div, MXCSR_DEFAULT | RC_DOWN, D_ONE, D_THREE, 0, false);
    struct run up = RUN(&g, div, MXCSR_DEFAULT | RC_UP, D_ONE, D_THREE, 0, false);
    cr_expect_eq(down.xmm0[0], 0x3fd5555555555555ull, "1/3 down %#llx", (unsigned long long)down.xmm0[0]);
    cr_expect_eq(up.xmm0[0], 0x3fd5555555555556ull, "1/3 up %#llx", (unsigned long long)up.xmm0[0]);
    cr_expect_eq(up.mxcsr, MXCSR_DEFAULT | RC_UP | MXCSR_PE);
    xg_destroy(&g);
}

Test(soft_x86_sse_mxcsr, flags_daz_ftz)
{
    struct xg g;
    setup(&g);
    static const char div[] = "\xf2\x0f\x5e\xc1";   /* divsd xmm0, xmm1 */
    struct run r = RUN(&g, div, MXCSR_DEFAULT, D_ONE, 0, 0, false);
    cr_expect_eq(r.xmm0[0], 0x7ff0000000000000ull, "1/0 masked gives +inf");
    cr_expect_eq(r.mxcsr, MXCSR_DEFAULT | MXCSR_ZE, "mxcsr %#x", r.mxcsr);
    /* DAZ: a denormal source is zero (no DE); 0/1 = +0. */
    r = RUN(&g, div, MXCSR_DEFAULT | MXCSR_DAZ, D_TINY, D_ONE, 0, false);
    cr_expect_eq(r.xmm0[0], 0, "DAZ quotient %#llx", (unsigned long long)r.xmm0[0]);
    cr_expect_eq(r.mxcsr, MXCSR_DEFAULT | MXCSR_DAZ, "mxcsr %#x", r.mxcsr);
    /* Without DAZ the same division raises DE and gives the denormal back. */
    r = RUN(&g, div, MXCSR_DEFAULT, D_TINY, D_ONE, 0, false);
    cr_expect_eq(r.xmm0[0], D_TINY);
    cr_expect_eq(r.mxcsr, MXCSR_DEFAULT | 0x2u, "mxcsr %#x", r.mxcsr);
    /* FTZ: DBL_MIN/2 as a result becomes +0 with UE and PE. */
    static const char mul[] = "\xf2\x0f\x59\xc1";   /* mulsd xmm0, xmm1 */
    r = RUN(&g, mul, MXCSR_DEFAULT | MXCSR_FZ, 0x0010000000000000ull, 0x3fe0000000000000ull, 0, false);
    cr_expect_eq(r.xmm0[0], 0, "FTZ product %#llx", (unsigned long long)r.xmm0[0]);
    cr_expect_eq(r.mxcsr, MXCSR_DEFAULT | MXCSR_FZ | MXCSR_UE | MXCSR_PE, "mxcsr %#x", r.mxcsr);
    r = RUN(&g, mul, MXCSR_DEFAULT, 0x0010000000000000ull, 0x3fe0000000000000ull, 0, false);
    cr_expect_eq(r.xmm0[0], D_HALF_MIN, "exact denormal product %#llx", (unsigned long long)r.xmm0[0]);
    cr_expect_eq(r.mxcsr, MXCSR_DEFAULT, "an exact denormal result raises nothing: mxcsr %#x", r.mxcsr);
    xg_destroy(&g);
}

Test(soft_x86_sse_mxcsr, unmasked_exception)
{
    struct xg g;
    setup(&g);
    static const char div[] = "\xf2\x0f\x5e\xc1";   /* divsd xmm0, xmm1 */
    uint32_t mxcsr = MXCSR_DEFAULT & ~MXCSR_ZM;
    struct run r = RUN(&g, div, mxcsr, D_ONE, 0, 0, true);
    cr_expect_eq(r.vector, V_XM, "vector %d, wanted #XM", r.vector);
    cr_expect_eq(r.stacked_rip, XG_CODE, "stacked RIP %#llx", (unsigned long long)r.stacked_rip);
    cr_expect_eq(r.xmm0[0], D_ONE, "destination changed: %#llx", (unsigned long long)r.xmm0[0]);
    cr_expect_eq(r.mxcsr, mxcsr | MXCSR_ZE, "mxcsr %#x", r.mxcsr);
    /* Packed: lane 0 SNaN + 1 (IE), lane 1 FLT_MAX + FLT_MAX (OE, PE). With IM unmasked
     * only IE is reported; with OM unmasked (IE masked) IE and OE, no PE; with PM
     * unmasked all three. The destination never changes (values from the host CPU). */
    static const char addps[] = "\x0f\x58\xc1";   /* addps xmm0, xmm1 */
    static const struct { uint32_t mxcsr, after; } packed[] = {
        { 0x1f80u & ~0x80u, 0x1f01u }, { 0x1f80u & ~0x400u, 0x1b89u }, { 0x1f80u & ~0x1000u, 0x0fa9u },
    };
    for (unsigned i = 0; i < sizeof(packed) / sizeof(packed[0]); i++) {
        r = RUN(&g, addps, packed[i].mxcsr, 0x7f7fffff7f800001ull, 0x7f7fffff3f800000ull, 0, true);
        cr_expect_eq(r.vector, V_XM, "case %u: vector %d", i, r.vector);
        cr_expect_eq(r.mxcsr, packed[i].after, "case %u: mxcsr %#x, wanted %#x", i, r.mxcsr, packed[i].after);
        cr_expect_eq(r.xmm0[0], 0x7f7fffff7f800001ull, "case %u: destination changed", i);
    }
    /* Masked but already flagged: no exception. */
    r = RUN(&g, div, MXCSR_DEFAULT | MXCSR_ZE, D_ONE, 0, 0, true);
    expect_completed(&r, sizeof(div) - 1);
    /* CR4.OSXMMEXCPT clear: #UD. Not on this machine's KVM, whose CPL3 code runs
     * under the host kernel's CR4 (docs/differences.md). */
    const char *backend = getenv("ANYHV_BACKEND");
    if (!backend || strcmp(backend, "kvm") != 0) {
        r = RUN(&g, div, mxcsr, D_ONE, 0, 0, false);
        cr_expect_eq(r.vector, V_UD, "vector %d, wanted #UD without CR4.OSXMMEXCPT", r.vector);
        cr_expect_eq(r.xmm0[0], D_ONE);
    }
    xg_destroy(&g);
}

#define FX_FCW 0
#define FX_MXCSR_MASK 28
#define FCW_DEFAULT 0x037fu
#define PATTERN0 0x0123456789abcdefull
#define PATTERN1 0xfedcba9876543210ull

Test(soft_x86_sse_mxcsr, fxsave_fxrstor)
{
    struct xg g;
    setup(&g);
    memset(g.ram + XG_DATA, 0xcc, FPSTATE_SIZE);
    static const char save[] = "\x48\x0f\xae\x03";   /* fxsave64 [rbx] */
    struct run r = RUN(&g, save, MXCSR_DEFAULT | MXCSR_PE, PATTERN0, PATTERN1, 0, false);
    expect_completed(&r, sizeof(save) - 1);
    const uint8_t *img = g.ram + XG_DATA;
    uint16_t fcw;
    uint32_t mxcsr, mask;
    uint64_t x0, x1;
    memcpy(&fcw, img + FX_FCW, 2);
    memcpy(&mxcsr, img + FX_MXCSR, 4);
    memcpy(&mask, img + FX_MXCSR_MASK, 4);
    memcpy(&x0, img + FX_XMM0, 8);
    memcpy(&x1, img + FX_XMM0 + 16, 8);
    cr_expect_eq(fcw, FCW_DEFAULT, "FCW %#x", fcw);
    cr_expect_eq(mxcsr, MXCSR_DEFAULT | MXCSR_PE, "MXCSR %#x", mxcsr);
    cr_expect(mask & 0xffffu, "MXCSR_MASK %#x", mask);
    cr_expect_eq(x0, PATTERN0);
    cr_expect_eq(x1, PATTERN1);
    cr_expect_eq(img[FPSTATE_SIZE - 1], 0xcc, "bytes 464-511 are left alone");

    /* FXRSTOR64 of an edited image: XMM0 and MXCSR come back from memory. */
    uint64_t edited = 0x1111222233334444ull;
    uint32_t rc_up = MXCSR_DEFAULT | RC_UP;
    memcpy(g.ram + XG_DATA + FX_XMM0, &edited, 8);
    memcpy(g.ram + XG_DATA + FX_MXCSR, &rc_up, 4);
    static const char restore[] = "\x48\x0f\xae\x0b";   /* fxrstor64 [rbx] */
    r = RUN(&g, restore, MXCSR_DEFAULT, 0, 0, 0, false);
    expect_completed(&r, sizeof(restore) - 1);
    cr_expect_eq(r.xmm0[0], edited, "xmm0 %#llx", (unsigned long long)r.xmm0[0]);
    cr_expect_eq(r.mxcsr, rc_up, "mxcsr %#x", r.mxcsr);

    /* A reserved MXCSR bit in the image: #GP(0), nothing restored. */
    uint32_t bad = 0x10000u | MXCSR_DEFAULT;
    memcpy(g.ram + XG_DATA + FX_MXCSR, &bad, 4);
    r = RUN(&g, restore, MXCSR_DEFAULT, PATTERN0, 0, 0, false);
    if (!kvm_emulates_gp())
        cr_expect_eq(r.vector, V_GP, "vector %d", r.vector);
    cr_expect_eq(r.stacked_rip, XG_CODE);
    cr_expect_eq(r.xmm0[0], PATTERN0);
    cr_expect_eq(r.mxcsr, MXCSR_DEFAULT);

    /* Misaligned: #GP(0). */
    static const char misaligned[] = "\x48\x0f\xae\x43\x08";   /* fxsave64 [rbx+8] */
    if (!kvm_emulates_gp()) {
        r = RUN(&g, misaligned, MXCSR_DEFAULT, 0, 0, 0, false);
        cr_expect_eq(r.vector, V_GP, "vector %d", r.vector);
        cr_expect_eq(r.stacked_rip, XG_CODE, "stacked %#llx", (unsigned long long)r.stacked_rip);
    }
    xg_destroy(&g);
}

Test(soft_x86_sse_mxcsr, cr0_ts_and_em)
{
    struct xg g;
    setup(&g);
    const char *backend = getenv("ANYHV_BACKEND");
    if (backend && strcmp(backend, "kvm") == 0) {
        xg_destroy(&g);
        cr_skip_test("CR0.TS is not honoured for CPL3 code on this machine's KVM (docs/differences.md)");
    }
    /* fxsave64, ldmxcsr, stmxcsr, addsd, paddb mm, emms, pcmpistri, crc32 (never #NM):
     * the vector under CR0.TS and under CR0.EM. */
    static const struct { char code[8]; int ts, em; } forms[] = {
        { "\x48\x0f\xae\x03", V_NM, V_NM }, { "\x0f\xae\x13", V_NM, V_UD }, { "\x0f\xae\x1b", V_NM, V_UD },
        { "\xf2\x0f\x58\xc1", V_NM, V_UD }, { "\x0f\xfc\xc1", V_NM, V_UD }, { "\x0f\x77", V_NM, V_UD },
        { "\x66\x0f\x3a\x63\xc1\x00", V_NM, V_UD }, { "\xf2\x0f\x38\xf1\xc1", V_GP, V_GP },
    };
    for (unsigned k = 0; k < 2 * sizeof(forms) / sizeof(forms[0]); k++) {
        unsigned i = k / 2;
        bool em = k & 1;
        cr_assert_eq(xg_long_mode_cpl(&g, 3), 0);
        cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_CR0, xg_read_vmcs(&g, VMCS_GUEST_CR0) | (em ? CR0_EM : CR0_TS)), 0);
        unsigned len = (unsigned)strlen(forms[i].code);
        memcpy(g.ram + XG_CODE, forms[i].code, len);
        g.ram[XG_CODE + len] = HLT_BYTE;
        hv_vcpu_write_register(g.vcpu, HV_X86_RIP, XG_CODE);
        hv_vcpu_write_register(g.vcpu, HV_X86_RSP, XG_STACK_TOP);
        hv_vcpu_write_register(g.vcpu, HV_X86_RBX, XG_DATA);
        cr_assert_eq(hv_vcpu_run(g.vcpu), HV_SUCCESS);
        int want = em ? forms[i].em : forms[i].ts;   /* V_GP: it ran to the closing HLT */
        cr_expect_eq(xg_reg(&g, HV_X86_RIP), XG_STUBS + XG_STUB_SIZE * (unsigned)want, "form %u (%s): RIP %#llx",
                     i, em ? "EM" : "TS", (unsigned long long)xg_reg(&g, HV_X86_RIP));
    }
    xg_destroy(&g);
}

#define V_MF 16
#define FX_FSW 2
#define FX_FTW 4

/* MMX and the x87: a pending unmasked x87 exception is #MF before PADDB or EMMS; an
 * MMX instruction makes TOP 0 and every tag valid, EMMS every tag empty. */
Test(soft_x86_sse_mxcsr, mmx_x87_transition)
{
    struct xg g;
    setup(&g);
    static const char paddb[] = "\x0f\xfc\xc1", emms[] = "\x0f\x77";
    uint8_t fx[FPSTATE_SIZE] __attribute__((aligned(16)));
    for (unsigned k = 0; k < 2; k++) {
        const char *code = k ? emms : paddb;
        unsigned len = k ? 2 : 3;
        cr_assert_eq(xg_long_mode_cpl(&g, 3), 0);
        memcpy(g.ram + XG_CODE, code, len);
        g.ram[XG_CODE + len] = HLT_BYTE;
        cr_assert_eq(hv_vcpu_read_fpstate(g.vcpu, fx, sizeof(fx)), HV_SUCCESS);
        uint16_t fcw = 0x037e, fsw = 0x0081 | (5u << 11);   /* IE pending and unmasked, TOP 5 */
        memcpy(fx, &fcw, 2);
        memcpy(fx + FX_FSW, &fsw, 2);
        fx[FX_FTW] = 0x21;
        cr_assert_eq(hv_vcpu_write_fpstate(g.vcpu, fx, sizeof(fx)), HV_SUCCESS);
        hv_vcpu_write_register(g.vcpu, HV_X86_RIP, XG_CODE);
        hv_vcpu_write_register(g.vcpu, HV_X86_RSP, XG_STACK_TOP);
        cr_assert_eq(hv_vcpu_run(g.vcpu), HV_SUCCESS);
        cr_expect_eq(xg_reg(&g, HV_X86_RIP), XG_STUBS + XG_STUB_SIZE * V_MF, "form %u: RIP %#llx, wanted #MF", k,
                     (unsigned long long)xg_reg(&g, HV_X86_RIP));
        /* Masked: no #MF; TOP becomes 0 and the tags all valid (PADDB) or empty (EMMS). */
        fcw = 0x037f;
        memcpy(fx, &fcw, 2);
        cr_assert_eq(xg_long_mode_cpl(&g, 3), 0);
        cr_assert_eq(hv_vcpu_write_fpstate(g.vcpu, fx, sizeof(fx)), HV_SUCCESS);
        hv_vcpu_write_register(g.vcpu, HV_X86_RIP, XG_CODE);
        hv_vcpu_write_register(g.vcpu, HV_X86_RSP, XG_STACK_TOP);
        cr_assert_eq(hv_vcpu_run(g.vcpu), HV_SUCCESS);
        cr_expect_eq(xg_reg(&g, HV_X86_RIP), XG_STUBS + XG_STUB_SIZE * V_GP, "form %u: did not complete", k);
        cr_assert_eq(hv_vcpu_read_fpstate(g.vcpu, fx, sizeof(fx)), HV_SUCCESS);
        uint16_t fsw_out;
        memcpy(&fsw_out, fx + FX_FSW, 2);
        if (!k)
            cr_expect_eq((fsw_out >> 11) & 7, 0, "TOP %u after PADDB", (fsw_out >> 11) & 7);
        cr_expect_eq(fx[FX_FTW], k ? 0x00 : 0xff, "form %u: abridged tags %#x", k, fx[FX_FTW]);
    }
    xg_destroy(&g);
}

#define FX_LEGACY_END 288
#define FX_XMM8 288
#define FX_FCS 12

/* Outside 64-bit mode FXSAVE writes the 32-bit image up to XMM7 (bytes 288-511 are
 * not touched) and FXRSTOR leaves XMM8-15 alone. Flat 32-bit protected mode at CPL0:
 * on this machine's KVM that code runs in the host's instruction emulator, so the
 * check is the soft route's. */
Test(soft_x86_sse_mxcsr, fxsave_legacy_mode)
{
    struct xg g;
    setup(&g);
    if (kvm_emulates_gp()) {
        xg_destroy(&g);
        cr_skip_test("CPL0 code runs in the PVM host's instruction emulator (docs/differences.md)");
    }
    cr_assert_eq(xg_protected32(&g), 0);
    /* fxsave [ebx]; fxrstor [ebx+512] */
    static const char code[] = "\x0f\xae\x03\x0f\xae\x8b\x00\x02\x00\x00";
    memcpy(g.ram + XG_CODE, code, sizeof(code) - 1);
    g.ram[XG_CODE + sizeof(code) - 1] = HLT_BYTE;
    memset(g.ram + XG_DATA, 0xcc, 2 * FPSTATE_SIZE);
    uint8_t fx[FPSTATE_SIZE] __attribute__((aligned(16)));
    cr_assert_eq(hv_vcpu_read_fpstate(g.vcpu, fx, sizeof(fx)), HV_SUCCESS);
    uint64_t x0 = PATTERN0, x8 = PATTERN1;
    memcpy(fx + FX_XMM0, &x0, 8);
    memcpy(fx + FX_XMM8, &x8, 8);
    cr_assert_eq(hv_vcpu_write_fpstate(g.vcpu, fx, sizeof(fx)), HV_SUCCESS);
    /* The image FXRSTOR reads: XMM0 and XMM8 (ignored outside 64-bit mode) edited. */
    uint8_t *img2 = g.ram + XG_DATA + FPSTATE_SIZE;
    memset(img2, 0, FPSTATE_SIZE);
    uint32_t mx = MXCSR_DEFAULT;
    uint64_t e0 = 0x5555aaaa5555aaaaull, e8 = 0x1234123412341234ull;
    memcpy(img2 + FX_MXCSR, &mx, 4);
    memcpy(img2 + FX_XMM0, &e0, 8);
    memcpy(img2 + FX_XMM8, &e8, 8);
    hv_vcpu_write_register(g.vcpu, HV_X86_RBX, XG_DATA);
    cr_assert_eq(hv_vcpu_run(g.vcpu), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_HLT, "exit reason %u", xg_exit_reason(&g));
    const uint8_t *img = g.ram + XG_DATA;
    uint64_t saved0;
    memcpy(&saved0, img + FX_XMM0, 8);
    cr_expect_eq(saved0, PATTERN0, "XMM0 in the image %#llx", (unsigned long long)saved0);
    cr_expect_eq(img[FX_LEGACY_END], 0xcc, "byte 288 (XMM8) written outside 64-bit mode");
    cr_expect_eq(img[FX_FCS + 2], 0, "32-bit image: bytes 14-15 reserved");
    cr_assert_eq(hv_vcpu_read_fpstate(g.vcpu, fx, sizeof(fx)), HV_SUCCESS);
    uint64_t r0, r8;
    memcpy(&r0, fx + FX_XMM0, 8);
    memcpy(&r8, fx + FX_XMM8, 8);
    cr_expect_eq(r0, e0, "XMM0 after FXRSTOR %#llx", (unsigned long long)r0);
    cr_expect_eq(r8, PATTERN1, "XMM8 changed outside 64-bit mode: %#llx", (unsigned long long)r8);
    xg_destroy(&g);
}

/* The rounding mode flipped by LDMXCSR inside a loop: each iteration's exact MULSD
 * (1*3) and inexact DIVSD (1/3) round and flag under the MXCSR of that iteration,
 * whether the block ran under the default MXCSR (where the soft route computes with
 * host FP instructions) or not. Flags are cleared at the end of each iteration, so
 * each iteration's PE is its own. */
static void rounding_loop(unsigned host_mxcsr)
{
    struct xg g;
    setup(&g);
    /* mov ecx, 4; xor edx, edx
     * 1: movapd xmm4, xmm0; mulsd xmm4, xmm1; stmxcsr [rbx+rdx*4+64]
     *    movapd xmm2, xmm0; divsd xmm2, xmm1; movsd [rbx+rdx*8+16], xmm2
     *    stmxcsr [rbx+rdx*4+128]; stmxcsr [rbx]; xor dword [rbx], 0x4000 (RC nearest <-> up)
     *    and dword [rbx], ~0x3f; ldmxcsr [rbx]; inc edx; dec ecx; jnz 1b */
    static const char code[] =
        "\xb9\x04\x00\x00\x00\x31\xd2\x66\x0f\x28\xe0\xf2\x0f\x59\xe1\x0f\xae\x5c\x93\x40\x66\x0f\x28\xd0"
        "\xf2\x0f\x5e\xd1\xf2\x0f\x11\x54\xd3\x10\x0f\xae\x9c\x93\x80\x00\x00\x00\x0f\xae\x1b\x81\x33\x00"
        "\x40\x00\x00\x83\x23\xc0\x0f\xae\x13\xff\xc2\xff\xc9\x75\xc8";
    memset(g.ram + XG_DATA, 0, 256);
#if defined(__x86_64__)
    unsigned saved = _mm_getcsr();
    _mm_setcsr(host_mxcsr);
    struct run r = RUN(&g, code, MXCSR_DEFAULT, D_ONE, D_THREE, 0, false);
    unsigned after = _mm_getcsr();
    _mm_setcsr(saved);
    cr_expect_eq(after & ~0x3fu, host_mxcsr & ~0x3fu, "the client thread's MXCSR came back as %#x", after);
#else
    (void)host_mxcsr;
    struct run r = RUN(&g, code, MXCSR_DEFAULT, D_ONE, D_THREE, 0, false);
#endif
    expect_completed(&r, sizeof(code) - 1);
    static const uint64_t third[2] = { 0x3fd5555555555555ull, 0x3fd5555555555556ull };   /* nearest, up */
    for (unsigned i = 0; i < 4; i++) {
        uint32_t rc = (i & 1) ? RC_UP : 0, after_mul, after_div;
        uint64_t q;
        memcpy(&after_mul, g.ram + XG_DATA + 64 + 4 * i, 4);
        memcpy(&after_div, g.ram + XG_DATA + 128 + 4 * i, 4);
        memcpy(&q, g.ram + XG_DATA + 16 + 8 * i, 8);
        cr_expect_eq(q, third[i & 1], "iteration %u: 1/3 = %#llx", i, (unsigned long long)q);
        cr_expect_eq(after_mul, MXCSR_DEFAULT | rc, "iteration %u: MXCSR after the exact MULSD %#x", i, after_mul);
        cr_expect_eq(after_div, MXCSR_DEFAULT | rc | MXCSR_PE, "iteration %u: MXCSR after DIVSD %#x", i, after_div);
    }
    cr_expect_eq(r.mxcsr, MXCSR_DEFAULT, "MXCSR at the end %#x", r.mxcsr);
    xg_destroy(&g);
}

Test(soft_x86_sse_mxcsr, rounding_mode_flipped_in_a_loop)
{
    rounding_loop(MXCSR_DEFAULT);
}

/* The same with the client thread's own MXCSR at FTZ, DAZ and round up (a VMM
 * built with -ffast-math that also called fesetround(FE_UPWARD)): the guest's results and flags do
 * not change, and the thread gets its MXCSR back. */
Test(soft_x86_sse_mxcsr, the_client_threads_mxcsr_does_not_leak_in)
{
    rounding_loop(MXCSR_DEFAULT | MXCSR_FZ | MXCSR_DAZ | RC_UP);
}
