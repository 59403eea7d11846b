/* hv_vcpu_read/write_fpstate images: the legacy FXSAVE area (512 bytes), then,
 * when the buffer is large enough, the XSAVE header and the AVX (YMM_Hi128)
 * component at its standard offset, so clients using XSAVE-sized buffers work; and
 * with XCR0 enabling them, AVX-512's opmask, ZMM_Hi256 and Hi16_ZMM components at
 * theirs (1088, 1152, 1664) when the buffer holds them. */
#include <string.h>

#include "core/x86/x86.h"
#include "core/x86_cpuid.h"

/* FXSAVE layout offsets (Intel SDM vol. 1, table 10-2). */
enum {
    FX_FCW = 0, FX_FSW = 2, FX_FTW = 4, FX_FOP = 6, FX_FIP = 8, FX_FDP = 16,
    FX_MXCSR = 24, FX_MXCSR_MASK = 28, FX_ST0 = 32, FX_XMM0 = 160,
    XS_HEADER = 512,      /* XSTATE_BV at +0 */
};
#define XSTATE_X87 (1ull << 0)
#define XSTATE_SSE (1ull << 1)
#define XSTATE_AVX (1ull << 2)

void x86_fpstate_save(const struct x86_fpu *fpu, const struct x86_zmm *zmm_state, uint64_t xcr0, uint8_t *buf,
                      size_t size)
{
    memset(buf, 0, size);
    memcpy(buf + FX_FCW, &fpu->fcw, 2);
    memcpy(buf + FX_FSW, &fpu->fsw, 2);
    buf[FX_FTW] = fpu->ftw;
    memcpy(buf + FX_FOP, &fpu->fop, 2);
    memcpy(buf + FX_FIP, &fpu->fip, 8);
    memcpy(buf + FX_FDP, &fpu->fdp, 8);
    memcpy(buf + FX_MXCSR, &fpu->mxcsr, 4);
    memcpy(buf + FX_MXCSR_MASK, &fpu->mxcsr_mask, 4);
    memcpy(buf + FX_ST0, fpu->st, sizeof(fpu->st));
    memcpy(buf + FX_XMM0, fpu->xmm, sizeof(fpu->xmm));
    bool zmm = zmm_state && (xcr0 & X86_XSTATE_AVX512) && size >= X86_XSAVE_MAX_SIZE;
    if (size >= X86_FXSAVE_SIZE + X86_XSAVE_HEADER_SIZE) {
        uint64_t bv = XSTATE_X87 | XSTATE_SSE | ((xcr0 & XSTATE_AVX) ? XSTATE_AVX : 0) |
                      (zmm ? (xcr0 & X86_XSTATE_AVX512) : 0);
        memcpy(buf + XS_HEADER, &bv, 8);
    }
    if (size >= X86_XSAVE_AVX_SIZE)
        memcpy(buf + X86_XSAVE_YMM_OFFSET, fpu->ymm_hi, sizeof(fpu->ymm_hi));
    if (zmm) {
        memcpy(buf + X86_XSAVE_OPMASK_OFFSET, zmm_state->k, sizeof(zmm_state->k));
        memcpy(buf + X86_XSAVE_ZMM_HI256_OFFSET, zmm_state->zmm_hi256, sizeof(zmm_state->zmm_hi256));
        memcpy(buf + X86_XSAVE_HI16_ZMM_OFFSET, zmm_state->hi16_zmm, sizeof(zmm_state->hi16_zmm));
    }
}

void x86_fpstate_load(struct x86_fpu *fpu, struct x86_zmm *zmm, const uint8_t *buf, size_t size)
{
    memcpy(&fpu->fcw, buf + FX_FCW, 2);
    memcpy(&fpu->fsw, buf + FX_FSW, 2);
    fpu->ftw = buf[FX_FTW];
    memcpy(&fpu->fop, buf + FX_FOP, 2);
    memcpy(&fpu->fip, buf + FX_FIP, 8);
    memcpy(&fpu->fdp, buf + FX_FDP, 8);
    memcpy(&fpu->mxcsr, buf + FX_MXCSR, 4);
    memcpy(&fpu->mxcsr_mask, buf + FX_MXCSR_MASK, 4);
    memcpy(fpu->st, buf + FX_ST0, sizeof(fpu->st));
    memcpy(fpu->xmm, buf + FX_XMM0, sizeof(fpu->xmm));
    uint64_t bv = 0;
    if (size >= X86_FXSAVE_SIZE + X86_XSAVE_HEADER_SIZE)
        memcpy(&bv, buf + XS_HEADER, 8);
    if (size >= X86_XSAVE_AVX_SIZE && (bv & XSTATE_AVX))
        memcpy(fpu->ymm_hi, buf + X86_XSAVE_YMM_OFFSET, sizeof(fpu->ymm_hi));
    else
        memset(fpu->ymm_hi, 0, sizeof(fpu->ymm_hi));  /* component in its init state */
    if (!zmm)
        return;
    bool big = size >= X86_XSAVE_MAX_SIZE;
    if (big && (bv & X86_XSTATE_OPMASK))
        memcpy(zmm->k, buf + X86_XSAVE_OPMASK_OFFSET, sizeof(zmm->k));
    else
        memset(zmm->k, 0, sizeof(zmm->k));
    if (big && (bv & X86_XSTATE_ZMM_HI256))
        memcpy(zmm->zmm_hi256, buf + X86_XSAVE_ZMM_HI256_OFFSET, sizeof(zmm->zmm_hi256));
    else
        memset(zmm->zmm_hi256, 0, sizeof(zmm->zmm_hi256));
    if (big && (bv & X86_XSTATE_HI16_ZMM))
        memcpy(zmm->hi16_zmm, buf + X86_XSAVE_HI16_ZMM_OFFSET, sizeof(zmm->hi16_zmm));
    else
        memset(zmm->hi16_zmm, 0, sizeof(zmm->hi16_zmm));
}
