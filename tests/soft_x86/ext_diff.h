/* ext_diff.h - short instruction sequences on the soft route against the host CPU,
 * with the whole x87/SSE/AVX state: the sequence is wrapped in a prologue that loads
 * every register (XRSTOR64 of a random standard-format image, with YMM upper halves)
 * and an epilogue that stores them (XSAVE64), run natively (native_x86.h) and in a
 * 64-bit CPL0 guest with CR4.OSXSAVE and XCR0 = x87|SSE|AVX, and the GPRs, status
 * flags, the saved image and the data bytes compared. The wrapper uses only MOV and
 * the XSAVE pair, which change no flags, so the sequence's flags are compared too.
 * Memory operands go through RBX (data) with disp8 < EXT_DISP_RANGE; RSP, RBX stay
 * untouched. Used by test_ext_native.c; tests only, x86-64 hosts only. */
#ifndef ANYHV_TESTS_SOFT_X86_EXT_DIFF_H
#define ANYHV_TESTS_SOFT_X86_EXT_DIFF_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include <anyhv/anyhv.h>

#include "native_x86.h"
#include "support/x86_vendor.h"
#include "x86_guest.h"

#define EXT_DATA_BYTES 256u          /* operands at [rbx+0..0xff] */
#define EXT_DISP_RANGE 0x80u         /* disp8 of generated operands: 0..0x60, 32-byte operands fit */
#define EXT_IMG_IN 0x400u            /* the state loaded before the sequence */
#define EXT_IMG_OUT 0x800u           /* the state stored after it */
#define EXT_GPR_SAVE 0xc00u          /* RAX and RDX stored here by the epilogue */
#define EXT_AREA_BYTES 0xc40u
#define EXT_XSAVE_BYTES 832u         /* legacy area, header, YMM_Hi128 */
#define EXT_XSTATE_BV 512u
#define EXT_CR4_OSXSAVE (1ull << 18)
#define EXT_CR4_OSXMMEXCPT (1ull << 10)
#define EXT_XCR0 0x7ull
#define EXT_MXCSR 24u
#define EXT_MXCSR_SLOT 0x70u
#define EXT_STATUS_FLAGS 0x8d5u
#define EXT_HLT 0xf4
#define EXT_XM_VECTOR 19

struct ext_state {
    int vector;                      /* -1: ran to the end */
    uint32_t mxcsr_at_fault;         /* MXCSR when the sequence ended in #XM */
    uint64_t gpr[16];
    uint64_t rflags;
    uint8_t mem[EXT_AREA_BYTES];     /* data, the images, the saved RAX/RDX */
};

static inline uint64_t ext_rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* 64 random bits, or lanes that exercise edges: small values, zeros, all ones,
 * float NaNs/infinities/denormals, doubles near 1. */
static inline uint64_t ext_special(uint64_t *s)
{
    uint64_t v = ext_rng(s);
    switch (ext_rng(s) % 8) {
    case 0: return v & 0xffull;
    case 1: return 0;
    case 2: return ~0ull;
    case 3: return (v & 0x8000000080000000ull) | 0x7fc000007f800000ull;
    case 4: return 0x3ff0000000000000ull | (v & 0x800000000000ffffull);
    case 5: return v & 0x000000ff000000ffull;
    default: return v;
    }
}

/* Random GPRs, flags, data, and an input image: x87 (default FCW, empty tags so no
 * MMX/x87 state matters), default MXCSR, random XMM0-15 and YMM upper halves. */
static inline void ext_random_state(uint64_t *s, struct ext_state *st)
{
    memset(st, 0, sizeof(*st));
    st->vector = -1;
    for (unsigned i = 0; i < 16; i++)
        st->gpr[i] = ext_special(s);
    st->rflags = ext_rng(s) & EXT_STATUS_FLAGS;
    for (unsigned i = 0; i < EXT_DATA_BYTES; i += 8) {
        uint64_t v = ext_special(s);
        memcpy(st->mem + i, &v, 8);
    }
    /* data + 0x70: an MXCSR value LDMXCSR may load (every exception masked, random
     * flags, DAZ, RC, FZ) */
    uint32_t mx = 0x1f80u | ((uint32_t)ext_rng(s) & 0xe07fu);
    uint64_t r = ext_rng(s);
    if (r % 4 == 0)   /* some exceptions unmasked: #XM must come at the same place */
        mx &= ~((uint32_t)(r >> 8) & 0x1f80u);
    memcpy(st->mem + EXT_MXCSR_SLOT, &mx, 4);
    uint8_t *img = st->mem + EXT_IMG_IN;
    uint16_t fcw = 0x037f;
    uint32_t mxcsr = 0x1f80;
    memcpy(img, &fcw, 2);
    memcpy(img + EXT_MXCSR, &mxcsr, 4);
    for (unsigned i = 160; i < 416; i += 8) {
        uint64_t v = ext_special(s);
        memcpy(img + i, &v, 8);
    }
    for (unsigned i = 576; i < 832; i += 8) {
        uint64_t v = ext_special(s);
        memcpy(img + i, &v, 8);
    }
    uint64_t bv = EXT_XCR0;
    memcpy(img + EXT_XSTATE_BV, &bv, 8);
}

/* mov eax,7; mov edx,0; xrstor64 [rbx+IMG_IN]; mov rax,[rbx+GPR_SAVE]; mov rdx,[rbx+GPR_SAVE+8] */
static inline unsigned ext_prologue(uint8_t *p)
{
    static const uint8_t code[] = {
        0xb8, 0x07, 0, 0, 0, 0xba, 0, 0, 0, 0, 0x48, 0x0f, 0xae, 0xab, 0x00, 0x04, 0, 0,
        0x48, 0x8b, 0x83, 0x00, 0x0c, 0, 0, 0x48, 0x8b, 0x93, 0x08, 0x0c, 0, 0,
    };
    memcpy(p, code, sizeof(code));
    return sizeof(code);
}

/* mov [rbx+GPR_SAVE],rax; mov [rbx+GPR_SAVE+8],rdx; mov eax,7; mov edx,0; xsave64 [rbx+IMG_OUT] */
static inline unsigned ext_epilogue(uint8_t *p)
{
    static const uint8_t code[] = {
        0x48, 0x89, 0x83, 0x00, 0x0c, 0, 0, 0x48, 0x89, 0x93, 0x08, 0x0c, 0, 0,
        0xb8, 0x07, 0, 0, 0, 0xba, 0, 0, 0, 0, 0x48, 0x0f, 0xae, 0xa3, 0x00, 0x08, 0, 0,
    };
    memcpy(p, code, sizeof(code));
    return sizeof(code);
}

static inline void ext_prepare(struct ext_state *st)
{
    memcpy(st->mem + EXT_GPR_SAVE, &st->gpr[0], 8);
    memcpy(st->mem + EXT_GPR_SAVE + 8, &st->gpr[2], 8);
}

static inline void ext_finish(struct ext_state *st)
{
    memcpy(&st->gpr[0], st->mem + EXT_GPR_SAVE, 8);
    memcpy(&st->gpr[2], st->mem + EXT_GPR_SAVE + 8, 8);
    st->gpr[3] = st->gpr[4] = 0;
}

static inline void ext_run_native(const uint8_t *code, unsigned len, struct ext_state *st)
{
    static uint8_t scratch[EXT_AREA_BYTES] __attribute__((aligned(64)));
    struct native_x86_state n;
    memset(&n, 0, sizeof(n));
    native_x86_default_fpu(&n);
    ext_prepare(st);
    memcpy(n.gpr, st->gpr, sizeof(n.gpr));
    memcpy(scratch, st->mem, sizeof(scratch));
    n.gpr[3] = (uint64_t)(uintptr_t)scratch;
    n.rflags = st->rflags;
    struct native_x86_result r;
    cr_assert_eq(native_x86_run(code, len, &n, &r), 0);
    st->vector = r.signo ? r.trapno : -1;
    memcpy(&st->mxcsr_at_fault, n.fx + EXT_MXCSR, 4);
    memcpy(st->gpr, n.gpr, sizeof(st->gpr));
    st->rflags = n.rflags & EXT_STATUS_FLAGS;
    memcpy(st->mem, scratch, sizeof(scratch));
    ext_finish(st);
}

static const hv_x86_reg_t ext_regs[16] = { HV_X86_RAX, HV_X86_RCX, HV_X86_RDX, HV_X86_RBX, HV_X86_RSP,
                                           HV_X86_RBP, HV_X86_RSI, HV_X86_RDI, HV_X86_R8,  HV_X86_R9,
                                           HV_X86_R10, HV_X86_R11, HV_X86_R12, HV_X86_R13, HV_X86_R14,
                                           HV_X86_R15 };

/* Each sequence gets its own code address (slot), so no translation of an earlier
 * sequence can stand for it: the test writes guest RAM from the host. */
#define EXT_CODE_AREA 0x100000u
#define EXT_CODE_SLOT 0x200u
#define EXT_CODE_SLOTS 2048u

/* The guest: 64-bit CPL0, CR4.OSXSAVE, XCR0 = 7; the sequence ends in HLT (an exit). */
static inline void ext_run_soft(struct xg *g, const uint8_t *code, unsigned len, struct ext_state *st,
                                unsigned slot)
{
    uint64_t at = EXT_CODE_AREA + (uint64_t)(slot % EXT_CODE_SLOTS) * EXT_CODE_SLOT;
    cr_assert_eq(xg_long_mode(g), 0);
    cr_assert_eq(xg_vmcs(g, VMCS_GUEST_CR4, xg_read_vmcs(g, VMCS_GUEST_CR4) | EXT_CR4_OSXSAVE | EXT_CR4_OSXMMEXCPT),
                 0);
    cr_assert_eq(hv_vcpu_write_register(g->vcpu, HV_X86_XCR0, EXT_XCR0), HV_SUCCESS);
    ext_prepare(st);
    memcpy(g->ram + at, code, len);
    g->ram[at + len] = EXT_HLT;
    memcpy(g->ram + XG_DATA, st->mem, sizeof(st->mem));
    for (unsigned i = 0; i < 16; i++)
        if (i != 4)
            hv_vcpu_write_register(g->vcpu, ext_regs[i], i == 3 ? XG_DATA : st->gpr[i]);
    hv_vcpu_write_register(g->vcpu, HV_X86_RSP, XG_STACK_TOP);
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, at);
    hv_vcpu_write_register(g->vcpu, HV_X86_RFLAGS, 0x2 | st->rflags);
    cr_assert_eq(hv_vcpu_run(g->vcpu), HV_SUCCESS);
    uint64_t rip = xg_reg(g, HV_X86_RIP);
    st->vector = xg_exit_reason(g) == VMX_REASON_HLT && rip == at + len ? -1
                 : rip >= XG_STUBS && rip < XG_STUBS + XG_STUB_SIZE * XG_VECTORS
                     ? (int)((rip - XG_STUBS) / XG_STUB_SIZE)
                     : 100 + (int)xg_exit_reason(g);
    for (unsigned i = 0; i < 16; i++)
        st->gpr[i] = xg_reg(g, ext_regs[i]);
    st->rflags = xg_reg(g, HV_X86_RFLAGS) & EXT_STATUS_FLAGS;
    uint8_t fx[NATIVE_X86_FXSAVE_SIZE] __attribute__((aligned(16)));
    cr_assert_eq(hv_vcpu_read_fpstate(g->vcpu, fx, sizeof(fx)), HV_SUCCESS);
    memcpy(&st->mxcsr_at_fault, fx + EXT_MXCSR, 4);
    memcpy(st->mem, g->ram + XG_DATA, sizeof(st->mem));
    ext_finish(st);
}

static inline void ext_compare(const struct ext_state *want, const struct ext_state *got, const char *hex);

/* Vendor rows (tests/support/x86_vendor.h) a comparison may leave out on this host:
 * NaN lanes of the vector registers compared as NaNs, and the MXCSR word of the
 * area the sequence saved to. */
#define EXT_NAN_LANES 1u
#define EXT_SAVED_MXCSR 2u

static inline bool ext_vec_equal(const uint8_t *got, const uint8_t *want, unsigned bytes, bool nan_lanes)
{
    for (unsigned i = 0; i < bytes; i += 16)
        if (memcmp(got + i, want + i, 16) && !(nan_lanes && x86_vdiff_nan_lanes_equal(got + i, want + i)))
            return false;
    return true;
}

static inline void ext_compare_relaxed(const struct ext_state *want, const struct ext_state *got, const char *hex,
                                       unsigned relax)
{
    if (want->vector < 0 && (relax & EXT_NAN_LANES)) {
        /* only the vector registers of the output image may differ, and only in NaN lanes */
        cr_assert(ext_vec_equal(got->mem + EXT_IMG_OUT + 160, want->mem + EXT_IMG_OUT + 160, 256, true) &&
                      ext_vec_equal(got->mem + EXT_IMG_OUT + 576, want->mem + EXT_IMG_OUT + 576, 256, true),
                  "%s: vector registers differ beyond NaN lanes", hex);
        struct ext_state g = *got;
        memcpy(g.mem + EXT_IMG_OUT + 160, want->mem + EXT_IMG_OUT + 160, 256);
        memcpy(g.mem + EXT_IMG_OUT + 576, want->mem + EXT_IMG_OUT + 576, 256);
        ext_compare_relaxed(want, &g, hex, relax & ~EXT_NAN_LANES);
        return;
    }
    if (want->vector < 0 && (relax & EXT_SAVED_MXCSR)) {
        struct ext_state g = *got;
        memcpy(g.mem + EXT_IMG_IN + EXT_MXCSR, want->mem + EXT_IMG_IN + EXT_MXCSR, 4);
        ext_compare_relaxed(want, &g, hex, relax & ~EXT_SAVED_MXCSR);
        return;
    }
    ext_compare(want, got, hex);
}

static inline void ext_compare(const struct ext_state *want, const struct ext_state *got, const char *hex)
{
    cr_assert_eq(got->vector, want->vector, "%s: ended with vector %d, host %d", hex, got->vector, want->vector);
    if (want->vector == EXT_XM_VECTOR)   /* #XM: the flags of every lane recorded, as the host's */
        cr_assert_eq(got->mxcsr_at_fault, want->mxcsr_at_fault, "%s: MXCSR at #XM %#x, host %#x", hex,
                     got->mxcsr_at_fault, want->mxcsr_at_fault);
    if (want->vector >= 0)
        return;   /* a fault: the rest of the host's state is the signal handler's */
    for (unsigned i = 0; i < 16; i++)
        cr_assert_eq(got->gpr[i], want->gpr[i], "%s: gpr %u %#llx, host %#llx", hex, i,
                     (unsigned long long)got->gpr[i], (unsigned long long)want->gpr[i]);
    cr_assert_eq(got->rflags, want->rflags, "%s: flags %#llx, host %#llx", hex, (unsigned long long)got->rflags,
                 (unsigned long long)want->rflags);
    for (unsigned i = 0; i < EXT_DATA_BYTES; i++)
        cr_assert_eq(got->mem[i], want->mem[i], "%s: data byte %#x is %#x, host %#x", hex, i, got->mem[i],
                     want->mem[i]);
    /* The input image, which XSAVE forms under test overwrite: all but MXCSR_MASK and
     * XSTATE_BV (XINUSE: hardware tracks it by writes, the soft CPU by values). */
    for (unsigned i = 0; i < EXT_XSAVE_BYTES; i++) {
        if ((i >= 28 && i < 32) || (i >= 512 && i < 520))
            continue;
        cr_assert_eq(got->mem[EXT_IMG_IN + i], want->mem[EXT_IMG_IN + i], "%s: saved-area byte %u is %#x, host %#x",
                     hex, i, got->mem[EXT_IMG_IN + i], want->mem[EXT_IMG_IN + i]);
    }
    for (unsigned i = 0; i < EXT_XSAVE_BYTES; i++) {
        if (i >= 28 && i < 32)
            continue;   /* MXCSR_MASK: a processor constant */
        if (i >= 512 && i < 576)
            continue;   /* header: XINUSE tracking is the processor's (x86_xsave.h) */
        cr_assert_eq(got->mem[EXT_IMG_OUT + i], want->mem[EXT_IMG_OUT + i],
                     "%s: XSAVE byte %u is %#x, host %#x", hex, i, got->mem[EXT_IMG_OUT + i],
                     want->mem[EXT_IMG_OUT + i]);
    }
}

static inline void ext_hex(const uint8_t *code, unsigned len, char *out, size_t outlen)
{
    out[0] = 0;
    for (unsigned i = 0; i < len && 3 * i + 3 < outlen; i++)
        snprintf(out + 3 * i, 4, "%02x ", code[i]);
}

/* Skip unless the oracle, the soft backend and the host features are there. */
static inline void ext_require(bool host_has, const char *what)
{
    const char *why = NULL;
    if (!native_x86_available(&why))
        cr_skip_test("native oracle unavailable: %s", why);
    if (!anyhv_backend_available(ANYHV_BACKEND_SOFT, &why))
        cr_skip_test("soft backend unavailable: %s", why);
    if (!host_has)
        cr_skip_test("host CPU lacks %s", what);
}

#endif /* ANYHV_TESTS_SOFT_X86_EXT_DIFF_H */
