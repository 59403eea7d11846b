/* test_sse_native.c - the SSE helpers against the host CPU (tests/soft_x86/native_x86.h):
 * PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM for every imm8 control on inputs biased
 * towards matches, zero elements and saturating lengths, and CRC32 at every source
 * size. The helper is called the way the lifter calls it (state in a struct
 * x86_state); the instruction runs natively from the same inputs. Skips off x86-64
 * hosts and where the host lacks SSE4.2. */
#include <criterion/criterion.h>
#include <cpuid.h>
#include <stdio.h>
#include <string.h>

#include "frontends/x86_64/x86_sse.h"
#include "native_x86.h"
#include "tests/support/x86_vendor.h"

#define CPUID1_ECX_SSE42 (1u << 20)
#define CASES_PER_CONTROL 24
#define RFLAGS_STATUS 0x8d5u   /* CF PF AF ZF SF OF */
#define RFLAGS_CF 0x001u
#define RFLAGS_PF 0x004u
#define RFLAGS_AF 0x010u
#define RFLAGS_ZF 0x040u
#define RFLAGS_SF 0x080u
#define RFLAGS_OF 0x800u

static void require_oracle(void)
{
    const char *why = NULL;
    if (!native_x86_available(&why))
        cr_skip_test("native oracle unavailable: %s", why);
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & CPUID1_ECX_SSE42))
        cr_skip_test("host CPU has no SSE4.2");
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Elements from a small alphabet (so sets, ranges and substrings match), zeros
 * sometimes (implicit lengths), the signed extremes. */
static void random_operand(uint64_t *s, x86_lanes *x)
{
    static const uint8_t alphabet[] = { 'a', 'b', 'c', 'z', 0x00, 0x7f, 0x80, 0xff, 'a', 'b', 0x41, 0x61 };
    for (unsigned i = 0; i < 16; i++)
        x->b[i] = alphabet[rng_next(s) % sizeof(alphabet)];
    if (rng_next(s) % 3 == 0)   /* no zero element at all: length 16 / 8 */
        for (unsigned i = 0; i < 16; i++)
            x->b[i] |= x->b[i] ? 0 : 'q';
}

static uint64_t random_length(uint64_t *s)
{
    static const uint64_t special[] = { 0x80000000u, 0xffffffffu, 0x8000000000000000ull, 0xfffffffffffffff0ull,
                                        0x100000003ull, 17, 16, 8, 9 };
    uint64_t r = rng_next(s);
    if (r % 5 == 0)
        return special[(r >> 8) % (sizeof(special) / sizeof(special[0]))];
    return (uint64_t)((int64_t)((r >> 8) % 41) - 20);
}

static unsigned flags_of(uint64_t rflags)
{
    return ((rflags & RFLAGS_CF) ? X86_SSE_FLAG_CF : 0) | ((rflags & RFLAGS_ZF) ? X86_SSE_FLAG_ZF : 0) |
           ((rflags & RFLAGS_SF) ? X86_SSE_FLAG_SF : 0) | ((rflags & RFLAGS_OF) ? X86_SSE_FLAG_OF : 0) |
           ((rflags & RFLAGS_PF) ? X86_SSE_FLAG_PF : 0) | ((rflags & RFLAGS_AF) ? 0x100u : 0);
}

/* One PCMPxSTRx xmm1, xmm2, imm8 (opcode 60-63) natively and through the helper. */
static void check_pcmpstr(unsigned opc, bool rexw, unsigned imm, const x86_lanes *a, const x86_lanes *b,
                          uint64_t rax, uint64_t rdx)
{
    uint8_t code[8] = { 0x66, 0x0f, 0x3a, (uint8_t)opc, 0xca, (uint8_t)imm };
    unsigned len = 6;
    if (rexw) {
        memmove(code + 2, code + 1, 5);
        code[1] = 0x48;
        len = 7;
    }
    struct native_x86_state s;
    memset(&s, 0, sizeof(s));
    native_x86_default_fpu(&s);
    s.gpr[0] = rax;
    s.gpr[1] = 0x5555555555555555ull;
    s.gpr[2] = rdx;
    s.rflags = RFLAGS_STATUS;   /* every status flag set: the ones cleared must be */
    memcpy(s.fx + NATIVE_FX_XMM0 + 16, a, 16);
    memcpy(s.fx + NATIVE_FX_XMM0 + 32, b, 16);
    struct native_x86_result r;
    cr_assert_eq(native_x86_run(code, len, &s, &r), 0);
    cr_assert_eq(r.signo, 0, "%02x imm %02x raised signal %d", opc, imm, r.signo);

    static struct x86_state st;
    memset(&st, 0, sizeof(st));
    st.gpr[X86_RAX] = rax;
    st.gpr[X86_RCX] = 0x5555555555555555ull;
    st.gpr[X86_RDX] = rdx;
    struct soft_cpu cpu = { .state = &st };
    unsigned form = ((opc & 2) ? 0 : X86_PCMPSTR_EXPLICIT) | ((opc & 1) ? 0 : X86_PCMPSTR_MASK) |
                    (rexw ? X86_PCMPSTR_REXW : 0);
    x86_h_pcmpstr(&cpu, a->v, b->v, imm | (form << 8));
    unsigned want = flags_of(s.rflags);
    unsigned got = (st.soft.cf ? X86_SSE_FLAG_CF : 0) | (st.soft.zf ? X86_SSE_FLAG_ZF : 0) |
                   (st.soft.sf ? X86_SSE_FLAG_SF : 0) | (st.soft.of ? X86_SSE_FLAG_OF : 0) |
                   (st.soft.pf ? X86_SSE_FLAG_PF : 0) | (st.soft.af ? 0x100u : 0);
    cr_assert_eq(got, want, "opc %02x%s imm %02x rax %#llx rdx %#llx: flags %#x, host %#x", opc, rexw ? " W" : "",
                 imm, (unsigned long long)rax, (unsigned long long)rdx, got, want);
    if (form & X86_PCMPSTR_MASK) {
        cr_assert(memcmp(&st.fpu.xmm[0], s.fx + NATIVE_FX_XMM0, 16) == 0, "opc %02x imm %02x: mask differs", opc,
                  imm);
    } else {
        cr_assert_eq(st.gpr[X86_RCX], s.gpr[1], "opc %02x%s imm %02x rax %#llx rdx %#llx: rcx %#llx, host %#llx",
                     opc, rexw ? " W" : "", imm, (unsigned long long)rax, (unsigned long long)rdx,
                     (unsigned long long)st.gpr[X86_RCX], (unsigned long long)s.gpr[1]);
    }
}

Test(soft_x86_sse_native, pcmpstr_every_control)
{
    require_oracle();
    x86_helpers_register();
    uint64_t seed = 0x243f6a8885a308d3ull;
    for (unsigned opc = 0x60; opc <= 0x63; opc++)
        for (unsigned imm = 0; imm < 256; imm++)
            for (unsigned k = 0; k < CASES_PER_CONTROL; k++) {
                x86_lanes a, b;
                random_operand(&seed, &a);
                random_operand(&seed, &b);
                bool rexw = (opc & 2) == 0 && (k & 3) == 3;
                check_pcmpstr(opc, rexw, imm, &a, &b, random_length(&seed), random_length(&seed));
            }
}

/* CRC32 eax/rax, cl/cx/ecx/rcx natively against x86_crc32c. */
Test(soft_x86_sse_native, crc32_every_size)
{
    require_oracle();
    x86_helpers_register();
    static const struct { uint8_t code[6]; unsigned len, bytes; } forms[] = {
        { { 0xf2, 0x0f, 0x38, 0xf0, 0xc1 }, 5, 1 },
        { { 0x66, 0xf2, 0x0f, 0x38, 0xf1, 0xc1 }, 6, 2 },
        { { 0xf2, 0x0f, 0x38, 0xf1, 0xc1 }, 5, 4 },
        { { 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc1 }, 6, 8 },
        { { 0xf2, 0x48, 0x0f, 0x38, 0xf0, 0xc1 }, 6, 1 },
    };
    uint64_t seed = 0x13198a2e03707344ull;
    for (unsigned f = 0; f < sizeof(forms) / sizeof(forms[0]); f++)
        for (unsigned k = 0; k < 200; k++) {
            struct native_x86_state s;
            memset(&s, 0, sizeof(s));
            native_x86_default_fpu(&s);
            s.gpr[0] = rng_next(&seed);
            s.gpr[1] = rng_next(&seed);
            uint64_t crc_in = s.gpr[0], data = s.gpr[1];
            struct native_x86_result r;
            cr_assert_eq(native_x86_run(forms[f].code, forms[f].len, &s, &r), 0);
            cr_assert_eq(r.signo, 0);
            uint64_t want = s.gpr[0];
            uint64_t got = x86_crc32c((uint32_t)crc_in, data, forms[f].bytes);
            cr_assert_eq(got, want, "crc32 form %u: %#llx, host %#llx (a 32-bit result zero-extends)", f,
                         (unsigned long long)got, (unsigned long long)want);
        }
}

/* ---- MXCSR: rounding control, DAZ, FTZ and the exception flags -------------------- */

#define MXCSR_MASKS 0x1f80u
#define MXCSR_RC_SHIFT 13
#define MXCSR_DAZ 0x40u
#define MXCSR_FZ 0x8000u
#define FP_CASES 1500

enum fp_shape { SH_XMM, SH_TO_INT, SH_FROM_INT, SH_COMIS };

/* Register forms: xmm1 op= xmm2 (ModRM CA), rAX <- xmm2 (C2), xmm1 <- rAX (C8). */
static const struct fp_form {
    const char *name;
    uint8_t code[8];
    uint8_t len;
    uint8_t op;          /* enum x86_sse_op */
    uint8_t shape;
    uint8_t has_imm;     /* code ends with imm8, varied by the test */
    uint8_t f64;         /* elements are doubles */
} fp_forms[] = {
    { "addss", { 0xf3, 0x0f, 0x58, 0xca }, 4, X86_SSE_ADDSS, SH_XMM, 0, 0 },
    { "addsd", { 0xf2, 0x0f, 0x58, 0xca }, 4, X86_SSE_ADDSD, SH_XMM, 0, 1 },
    { "subps", { 0x0f, 0x5c, 0xca }, 3, X86_SSE_SUBPS, SH_XMM, 0, 0 },
    { "subpd", { 0x66, 0x0f, 0x5c, 0xca }, 4, X86_SSE_SUBPD, SH_XMM, 0, 1 },
    { "mulss", { 0xf3, 0x0f, 0x59, 0xca }, 4, X86_SSE_MULSS, SH_XMM, 0, 0 },
    { "mulpd", { 0x66, 0x0f, 0x59, 0xca }, 4, X86_SSE_MULPD, SH_XMM, 0, 1 },
    { "divps", { 0x0f, 0x5e, 0xca }, 3, X86_SSE_DIVPS, SH_XMM, 0, 0 },
    { "divsd", { 0xf2, 0x0f, 0x5e, 0xca }, 4, X86_SSE_DIVSD, SH_XMM, 0, 1 },
    { "sqrtss", { 0xf3, 0x0f, 0x51, 0xca }, 4, X86_SSE_SQRTSS, SH_XMM, 0, 0 },
    { "sqrtpd", { 0x66, 0x0f, 0x51, 0xca }, 4, X86_SSE_SQRTPD, SH_XMM, 0, 1 },
    { "minss", { 0xf3, 0x0f, 0x5d, 0xca }, 4, X86_SSE_MINSS, SH_XMM, 0, 0 },
    { "maxpd", { 0x66, 0x0f, 0x5f, 0xca }, 4, X86_SSE_MAXPD, SH_XMM, 0, 1 },
    { "minpd", { 0x66, 0x0f, 0x5d, 0xca }, 4, X86_SSE_MINPD, SH_XMM, 0, 1 },
    { "maxps", { 0x0f, 0x5f, 0xca }, 3, X86_SSE_MAXPS, SH_XMM, 0, 0 },
    { "cvtss2sd", { 0xf3, 0x0f, 0x5a, 0xca }, 4, X86_SSE_CVTSS2SD, SH_XMM, 0, 0 },
    { "cvtsd2ss", { 0xf2, 0x0f, 0x5a, 0xca }, 4, X86_SSE_CVTSD2SS, SH_XMM, 0, 1 },
    { "cvtps2pd", { 0x0f, 0x5a, 0xca }, 3, X86_SSE_CVTPS2PD, SH_XMM, 0, 0 },
    { "cvtpd2ps", { 0x66, 0x0f, 0x5a, 0xca }, 4, X86_SSE_CVTPD2PS, SH_XMM, 0, 1 },
    { "cvtdq2ps", { 0x0f, 0x5b, 0xca }, 3, X86_SSE_CVTDQ2PS, SH_XMM, 0, 0 },
    { "cvtps2dq", { 0x66, 0x0f, 0x5b, 0xca }, 4, X86_SSE_CVTPS2DQ, SH_XMM, 0, 0 },
    { "cvttps2dq", { 0xf3, 0x0f, 0x5b, 0xca }, 4, X86_SSE_CVTTPS2DQ, SH_XMM, 0, 0 },
    { "cvtpd2dq", { 0xf2, 0x0f, 0xe6, 0xca }, 4, X86_SSE_CVTPD2DQ, SH_XMM, 0, 1 },
    { "cvttpd2dq", { 0x66, 0x0f, 0xe6, 0xca }, 4, X86_SSE_CVTTPD2DQ, SH_XMM, 0, 1 },
    { "haddps", { 0xf2, 0x0f, 0x7c, 0xca }, 4, X86_SSE_HADDPS, SH_XMM, 0, 0 },
    { "hsubpd", { 0x66, 0x0f, 0x7d, 0xca }, 4, X86_SSE_HSUBPD, SH_XMM, 0, 1 },
    { "addsubps", { 0xf2, 0x0f, 0xd0, 0xca }, 4, X86_SSE_ADDSUBPS, SH_XMM, 0, 0 },
    { "cmpps", { 0x0f, 0xc2, 0xca, 0 }, 4, X86_SSE_CMPPS, SH_XMM, 1, 0 },
    { "cmpsd", { 0xf2, 0x0f, 0xc2, 0xca, 0 }, 5, X86_SSE_CMPSD, SH_XMM, 1, 1 },
    { "roundps", { 0x66, 0x0f, 0x3a, 0x08, 0xca, 0 }, 6, X86_SSE_ROUNDPS, SH_XMM, 1, 0 },
    { "roundsd", { 0x66, 0x0f, 0x3a, 0x0b, 0xca, 0 }, 6, X86_SSE_ROUNDSD, SH_XMM, 1, 1 },
    { "dpps", { 0x66, 0x0f, 0x3a, 0x40, 0xca, 0 }, 6, X86_SSE_DPPS, SH_XMM, 1, 0 },
    { "dppd", { 0x66, 0x0f, 0x3a, 0x41, 0xca, 0 }, 6, X86_SSE_DPPD, SH_XMM, 1, 1 },
    { "ucomiss", { 0x0f, 0x2e, 0xca }, 3, X86_SSE_UCOMISS, SH_COMIS, 0, 0 },
    { "comisd", { 0x66, 0x0f, 0x2f, 0xca }, 4, X86_SSE_COMISD, SH_COMIS, 0, 1 },
    { "cvtsd2si", { 0xf2, 0x0f, 0x2d, 0xc2 }, 4, X86_SSE_CVTSD2SI32, SH_TO_INT, 0, 1 },
    { "cvtss2si64", { 0xf3, 0x48, 0x0f, 0x2d, 0xc2 }, 5, X86_SSE_CVTSS2SI64, SH_TO_INT, 0, 0 },
    { "cvttsd2si64", { 0xf2, 0x48, 0x0f, 0x2c, 0xc2 }, 5, X86_SSE_CVTTSD2SI64, SH_TO_INT, 0, 1 },
    { "cvtsi2ss", { 0xf3, 0x0f, 0x2a, 0xc8 }, 4, X86_SSE_CVTSI32_SS, SH_FROM_INT, 0, 0 },
    { "cvtsi2sd64", { 0xf2, 0x48, 0x0f, 0x2a, 0xc8 }, 5, X86_SSE_CVTSI64_SD, SH_FROM_INT, 0, 1 },
};

/* Boundary values: zeros, denormals, the smallest normals, overflow-prone, NaNs. */
static uint64_t special_f64(uint64_t *s)
{
    static const uint64_t v[] = {
        0x0000000000000000ull, 0x8000000000000000ull, 0x0000000000000001ull, 0x800fffffffffffffull,
        0x0010000000000000ull, 0x8010000000000001ull, 0x7fefffffffffffffull, 0xffefffffffffffffull,
        0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull, 0x7ff0000000000001ull,
        0x3ff0000000000000ull, 0x4008000000000000ull, 0x3fb999999999999aull, 0xc004000000000000ull,
        0x41e0000000000000ull, 0xc1e0000000200000ull, 0x43e0000000000000ull, 0x3fe0000000000000ull,
        0x0018000000000000ull, 0x1ff0000000000000ull,
    };
    uint64_t r = rng_next(s);
    if (r % 3 == 0)
        return r;
    return v[(r >> 8) % (sizeof(v) / sizeof(v[0]))];
}

static uint32_t special_f32(uint64_t *s)
{
    static const uint32_t v[] = {
        0x00000000u, 0x80000000u, 0x00000001u, 0x807fffffu, 0x00800000u, 0x80800001u, 0x7f7fffffu, 0xff7fffffu,
        0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u, 0x3f800000u, 0x40400000u, 0x3dcccccdu, 0xc0200000u,
        0x4f000000u, 0xcf000001u, 0x5f000000u, 0x3f000000u, 0x00c00000u, 0x1f800000u,
    };
    uint64_t r = rng_next(s);
    if (r % 3 == 0)
        return (uint32_t)r;
    return v[(r >> 8) % (sizeof(v) / sizeof(v[0]))];
}

static void random_fp(uint64_t *s, bool f64, x86_lanes *x)
{
    for (unsigned i = 0; i < (f64 ? 2u : 4u); i++) {
        if (f64)
            x->q[i] = special_f64(s);
        else
            x->d[i] = special_f32(s);
    }
}

/* All exceptions masked: the result and MXCSR after one instruction, natively and
 * through the helper, under a random RC/DAZ/FTZ and random starting flags. */
static void check_fp(const struct fp_form *f, unsigned imm, uint32_t mxcsr, const x86_lanes *a,
                     const x86_lanes *b, uint64_t rax)
{
    uint8_t code[8];
    memcpy(code, f->code, f->len);
    if (f->has_imm)
        code[f->len - 1] = (uint8_t)imm;
    struct native_x86_state s;
    memset(&s, 0, sizeof(s));
    native_x86_default_fpu(&s);
    memcpy(s.fx + NATIVE_FX_MXCSR, &mxcsr, 4);
    memcpy(s.fx + NATIVE_FX_XMM0 + 16, a, 16);
    memcpy(s.fx + NATIVE_FX_XMM0 + 32, b, 16);
    s.gpr[0] = rax;
    s.rflags = 0x2;
    struct native_x86_result r;
    cr_assert_eq(native_x86_run(code, f->len, &s, &r), 0);
    cr_assert_eq(r.signo, 0, "%s raised signal %d with every exception masked", f->name, r.signo);

    static struct x86_state st;
    memset(&st, 0, sizeof(st));
    st.fpu.mxcsr = mxcsr;
    st.cr4 = X86_CR4_OSXMMEXCPT;
    struct soft_cpu cpu = { .state = &st };
    x86_lanes src = *b, res;
    if (f->shape == SH_FROM_INT)
        src.v = rax;
    /* As lift_sse.c does: legacy CMPxx use imm8 bits 2:0 (the VEX forms all five). */
    bool cmp = f->op == X86_SSE_CMPPS || f->op == X86_SSE_CMPPD || f->op == X86_SSE_CMPSS || f->op == X86_SSE_CMPSD;
    unsigned himm = f->has_imm ? (cmp ? imm & 7 : imm) : 0;
    res.v = x86_h_sse_fp(&cpu, a->v, src.v, f->op | (himm << 8));
    uint32_t want_mxcsr;
    memcpy(&want_mxcsr, s.fx + NATIVE_FX_MXCSR, 4);
    char in[160];
    snprintf(in, sizeof(in), "%s imm %02x mxcsr %04x a %016llx%016llx b %016llx%016llx rax %llx", f->name, imm,
             mxcsr, (unsigned long long)a->q[1], (unsigned long long)a->q[0], (unsigned long long)b->q[1],
             (unsigned long long)b->q[0], (unsigned long long)rax);
    cr_assert_eq(st.fpu.mxcsr, want_mxcsr, "%s: mxcsr %04x, host %04x", in, st.fpu.mxcsr, want_mxcsr);
    if (f->shape == SH_TO_INT) {
        uint64_t mask = f->op == X86_SSE_CVTSD2SI32 ? 0xffffffffull : ~0ull;
        cr_assert_eq(res.q[0] & mask, s.gpr[0] & mask, "%s: %#llx, host %#llx", in, (unsigned long long)res.q[0],
                     (unsigned long long)s.gpr[0]);
    } else if (f->shape == SH_COMIS) {
        unsigned want = ((s.rflags & RFLAGS_ZF) ? X86_SSE_FLAG_ZF : 0) | ((s.rflags & RFLAGS_PF) ? X86_SSE_FLAG_PF : 0) |
                        ((s.rflags & RFLAGS_CF) ? X86_SSE_FLAG_CF : 0);
        cr_assert_eq((unsigned)res.q[0], want, "%s: flags %#x, host %#x", in, (unsigned)res.q[0], want);
    } else {
        x86_lanes host;
        memcpy(&host, s.fx + NATIVE_FX_XMM0 + 16, 16);
        /* Which NaN a dot product returns differs by vendor (tests/support/x86_vendor.h). */
        bool any_nan = (f->op == X86_SSE_DPPS || f->op == X86_SSE_DPPD) &&
                       x86_vendor_differs(X86_VDIFF_DPPS_NAN_CHOICE);
        bool same = memcmp(&host, &res, 16) == 0 || (any_nan && x86_vdiff_nan_lanes_equal(&host, &res));
        cr_assert(same, "%s: %016llx%016llx, host %016llx%016llx", in,
                  (unsigned long long)res.q[1], (unsigned long long)res.q[0], (unsigned long long)host.q[1],
                  (unsigned long long)host.q[0]);
    }
}

Test(soft_x86_sse_native, mxcsr_rounding_daz_ftz_flags)
{
    require_oracle();
    x86_helpers_register();
    uint64_t seed = 0xa4093822299f31d0ull;
    for (unsigned k = 0; k < sizeof(fp_forms) / sizeof(fp_forms[0]); k++)
        for (unsigned i = 0; i < FP_CASES; i++) {
            const struct fp_form *f = &fp_forms[k];
            uint64_t r = rng_next(&seed);
            uint32_t mxcsr = MXCSR_MASKS | (uint32_t)((r & 3) << MXCSR_RC_SHIFT) | ((r & 4) ? MXCSR_DAZ : 0) |
                             ((r & 8) ? MXCSR_FZ : 0) | (uint32_t)((r >> 4) & 0x3f & -(uint64_t)((r >> 10) & 1));
            x86_lanes a, b;
            random_fp(&seed, f->f64, &a);
            random_fp(&seed, f->f64, &b);
            uint64_t rax = rng_next(&seed);
            if (rax & 1)
                rax = (uint64_t)(int64_t)(int32_t)(rax >> 40);   /* small integers convert exactly */
            check_fp(f, (unsigned)(r >> 16) & 0xff, mxcsr, &a, &b, rax);
        }
}
