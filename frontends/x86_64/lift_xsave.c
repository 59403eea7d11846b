/* lift_xsave.c - XSAVE, XSAVEOPT, XSAVEC and XRSTOR (and their REX.W forms) over the
 * x87, SSE, AVX and AVX-512 (opmask, ZMM_Hi256, Hi16_ZMM) components (SDM vol. 1
 * ch. 13). One helper builds or takes apart the image: the standard format is
 * core/x86/fpstate.c's (legacy area, header at 512, YMM_Hi128 at 576, AVX-512's at
 * 1088/1152/1664); the compacted one puts each extended component XCOMP_BV names
 * right after the one before, from 576. The area is read, patched and written back whole
 * through the soft MMU, so a fault leaves memory and state unchanged (the bytes a
 * form does not write are rewritten with their own values). Without REX.W the
 * x87 FIP/FDP fields take their 32-bit form with FCS/FDS, as FXSAVE's do; outside
 * 64-bit mode only XMM0-7, YMM0-7 and ZMM0-7 take part (Hi16_ZMM is left alone).
 * Checks: #UD without CR4.OSXSAVE (or with a LOCK prefix: Capstone rejects it),
 * #NM with CR0.TS, #GP(0) for an address not 64-byte aligned, and for XRSTOR a
 * header the SDM rejects (XSTATE_BV beyond XCR0, a standard-form header with bytes
 * 23:8 set, a compacted one whose XCOMP_BV names components outside XCR0 or
 * XSTATE_BV components outside XCOMP_BV, or bytes 63:16 set) or reserved MXCSR bits. */
#include <string.h>

#include "core/x86/x86.h"
#include "core/x86_cpuid.h"
#include "frontends/x86_64/x86_sse.h"
#include "frontends/x86_64/x86_xsave.h"

#define XS_ALIGN 64u
#define XS_HDR 512u
#define XS_HDR_XCOMP 520u
#define XS_HDR_REST 528u
#define XS_AREA X86_XSAVE_MAX_SIZE
#define XS_EXT_FIRST 2u
#define XS_COMPONENTS 8u
#define YMM_HI_BYTES 16u
#define ZMM_HI_BYTES 32u
#define XCOMP_COMPACT (1ull << 63)
#define FX_FCW 0u
#define FX_FIP 8u
#define FX_FCS 12u
#define FX_FDP 16u
#define FX_FDS 20u
#define FX_MXCSR 24u
#define FX_MXCSR_END 32u
#define FX_ST_END 160u
#define FX_XMM 160u
#define SOFT_MXCSR_MASK 0x0000ffffu
#define MXCSR_INIT 0x1f80u
#define FCW_INIT 0x037fu
#define XMM_BYTES 16u
#define LONG_REGS 16u
#define LEGACY_REGS 8u

enum xs_form { XS_SAVE, XS_SAVEOPT, XS_SAVEC, XS_RSTOR };
#define XS_REXW 0x10u
#define XS_SEG_SHIFT 8

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

uint64_t x86_xinuse(const struct x86_state *st)
{
    const struct x86_fpu *f = &st->fpu;
    uint64_t u = 0;
    bool x87_init = f->fcw == FCW_INIT && f->fsw == 0 && f->ftw == 0 && f->fop == 0 && f->fip == 0 &&
                    f->fdp == 0 && all_zero(f->st, sizeof(f->st));
    u |= x87_init ? 0 : X86_XSTATE_X87;
    u |= all_zero(f->xmm, sizeof(f->xmm)) ? 0 : X86_XSTATE_SSE;
    u |= all_zero(f->ymm_hi, sizeof(f->ymm_hi)) ? 0 : X86_XSTATE_AVX;
    const struct x86_zmm *z = &st->zmm;
    u |= all_zero(z->k, sizeof(z->k)) ? 0 : X86_XSTATE_OPMASK;
    u |= all_zero(z->zmm_hi256, sizeof(z->zmm_hi256)) ? 0 : X86_XSTATE_ZMM_HI256;
    u |= all_zero(z->hi16_zmm, sizeof(z->hi16_zmm)) ? 0 : X86_XSTATE_HI16_ZMM;
    return u;
}

/* The image of the current state in standard format (every component). */
static void image_of_state(const struct x86_state *st, bool rexw, uint8_t *img)
{
    x86_fpstate_save(&st->fpu, &st->zmm, X86_XSTATE_ALL, img, XS_AREA);
    uint32_t mask = SOFT_MXCSR_MASK;
    memcpy(img + FX_MXCSR + 4, &mask, 4);
    if (!rexw) {
        uint32_t fip = (uint32_t)st->fpu.fip, fdp = (uint32_t)st->fpu.fdp;
        memset(img + FX_FIP, 0, FX_MXCSR - FX_FIP);
        memcpy(img + FX_FIP, &fip, 4);
        memcpy(img + FX_FCS, &st->fpu_fcs, 2);
        memcpy(img + FX_FDP, &fdp, 4);
        memcpy(img + FX_FDS, &st->fpu_fds, 2);
    }
}

static unsigned vector_regs(const struct x86_state *st)
{
    return x86_code_size_of(st) == X86_CODE64 ? LONG_REGS : LEGACY_REGS;
}

/* Bytes of extended component i (2, 5, 6, 7) that the mode's registers fill. */
static uint32_t component_bytes(unsigned i, unsigned nregs)
{
    uint32_t off, size;
    x86_xsave_component(i, &off, &size);
    if (nregs == LONG_REGS)
        return size;
    return i == 2 ? nregs * YMM_HI_BYTES : i == 6 ? nregs * ZMM_HI_BYTES : i == 7 ? 0 : size;
}

/* Where component i sits in an area: its standard offset, or in the compacted form
 * after the extended components below it that xcomp names. */
static uint32_t component_at(unsigned i, bool compact, uint64_t xcomp)
{
    uint32_t off, size, at = X86_XSAVE_AVX_OFFSET;
    if (!compact) {
        x86_xsave_component(i, &off, &size);
        return off;
    }
    for (unsigned j = XS_EXT_FIRST; j < i; j++)
        if ((xcomp >> j & 1) && x86_xsave_component(j, &off, &size))
            at += size;
    return at;
}

/* Copy component i from the standard image img to area (at its place there). */
static void copy_component(uint8_t *area, const uint8_t *img, unsigned i, unsigned nregs, bool compact,
                           uint64_t xcomp)
{
    uint32_t off, size;
    if (i == 0) {
        memcpy(area + FX_FCW, img + FX_FCW, FX_MXCSR - FX_FCW);
        memcpy(area + FX_MXCSR_END, img + FX_MXCSR_END, FX_ST_END - FX_MXCSR_END);
    } else if (i == 1) {
        memcpy(area + FX_XMM, img + FX_XMM, nregs * XMM_BYTES);
    } else if (x86_xsave_component(i, &off, &size)) {
        memcpy(area + component_at(i, compact, xcomp), img + off, component_bytes(i, nregs));
    }
}

static void xsave(struct soft_cpu *cpu, uint64_t addr, unsigned seg, enum xs_form form, bool rexw, uint64_t rfbm)
{
    struct x86_state *st = x86_st(cpu);
    uint8_t area[XS_AREA], img[XS_AREA];
    bool compact = form == XS_SAVEC;
    uint32_t len = compact ? x86_xsave_compact_size(rfbm) : x86_xsave_size(rfbm);
    mmu_read_bytes(cpu, addr, area, len, MMU_READ, seg);
    image_of_state(st, rexw, img);
    uint64_t inuse = x86_xinuse(st), bv;
    memcpy(&bv, area + XS_HDR, 8);
    unsigned nregs = vector_regs(st);
    for (unsigned i = 0; i < XS_COMPONENTS; i++) {
        uint64_t m = 1ull << i;
        bool write = (rfbm & m) && (form == XS_SAVE || (inuse & m));
        if (write)
            copy_component(area, img, i, nregs, compact, rfbm);
    }
    /* MXCSR goes with SSE or AVX, but XSAVEC writes it with SSE only (as the host
     * CPU does). XSAVEC writes XSTATE_BV and XCOMP_BV and leaves the rest of the
     * header alone. */
    uint64_t mxcsr_with = form == XS_SAVEC ? X86_XSTATE_SSE : X86_XSTATE_SSE | X86_XSTATE_AVX;
    if (rfbm & mxcsr_with)
        memcpy(area + FX_MXCSR, img + FX_MXCSR, FX_MXCSR_END - FX_MXCSR);
    if (form == XS_SAVEC) {
        uint64_t xcomp = XCOMP_COMPACT | rfbm;
        bv = inuse & rfbm;
        memcpy(area + XS_HDR_XCOMP, &xcomp, 8);
    } else {
        bv = (bv & ~rfbm) | (inuse & rfbm);
    }
    memcpy(area + XS_HDR, &bv, 8);
    mmu_write_bytes(cpu, addr, area, len, MMU_WRITE, seg);
}

/* Component i to its initial configuration. */
static void init_component(struct x86_state *st, unsigned i, unsigned nregs)
{
    struct x86_fpu *f = &st->fpu;
    if (i == 0) {
        f->fcw = FCW_INIT;
        f->fsw = 0;
        f->ftw = 0;
        f->fop = 0;
        f->fip = f->fdp = 0;
        st->fpu_fcs = st->fpu_fds = 0;
        memset(f->st, 0, sizeof(f->st));
    } else if (i == 1) {
        memset(f->xmm, 0, nregs * sizeof(f->xmm[0]));
    } else if (i == 2) {
        memset(f->ymm_hi, 0, nregs * sizeof(f->ymm_hi[0]));
    } else if (i == 5) {
        memset(st->zmm.k, 0, sizeof(st->zmm.k));
    } else if (i == 6) {
        memset(st->zmm.zmm_hi256, 0, nregs * sizeof(st->zmm.zmm_hi256[0]));
    } else if (i == 7 && nregs == LONG_REGS) {
        memset(st->zmm.hi16_zmm, 0, sizeof(st->zmm.hi16_zmm));
    }
}

/* Load component i from a standard-offset image. */
static void load_component(struct x86_state *st, const uint8_t *img, unsigned i, unsigned nregs, bool rexw)
{
    struct x86_fpu *f = &st->fpu;
    if (i == 0) {
        struct x86_fpu t = *f;
        x86_fpstate_load(&t, NULL, img, X86_FXSAVE_SIZE);
        f->fcw = t.fcw, f->fsw = t.fsw, f->ftw = t.ftw, f->fop = t.fop, f->fip = t.fip, f->fdp = t.fdp;
        memcpy(f->st, t.st, sizeof(f->st));
        if (!rexw) {
            f->fip = (uint32_t)f->fip;
            f->fdp = (uint32_t)f->fdp;
            memcpy(&st->fpu_fcs, img + FX_FCS, 2);
            memcpy(&st->fpu_fds, img + FX_FDS, 2);
        }
    } else if (i == 1) {
        memcpy(f->xmm, img + FX_XMM, nregs * XMM_BYTES);
    } else if (i == 2) {
        memcpy(f->ymm_hi, img + X86_XSAVE_AVX_OFFSET, component_bytes(i, nregs));
    } else if (i == 5) {
        memcpy(st->zmm.k, img + X86_XSAVE_OPMASK_OFFSET, component_bytes(i, nregs));
    } else if (i == 6) {
        memcpy(st->zmm.zmm_hi256, img + X86_XSAVE_ZMM_HI256_OFFSET, component_bytes(i, nregs));
    } else if (i == 7) {
        memcpy(st->zmm.hi16_zmm, img + X86_XSAVE_HI16_ZMM_OFFSET, component_bytes(i, nregs));
    }
}

static bool header_ok(const uint8_t *area, uint64_t xcr0, uint64_t bv, uint64_t xcomp)
{
    if (bv & ~xcr0)
        return false;
    if (!(xcomp & XCOMP_COMPACT))
        return all_zero(area + XS_HDR_XCOMP, 16);
    uint64_t comp = xcomp & ~XCOMP_COMPACT;
    return !(comp & ~xcr0) && !(bv & ~comp) && all_zero(area + XS_HDR_REST, 48);
}

static void xrstor(struct soft_cpu *cpu, uint64_t addr, unsigned seg, bool rexw, uint64_t rfbm)
{
    struct x86_state *st = x86_st(cpu);
    uint8_t area[XS_AREA];
    memset(area, 0, sizeof(area));
    mmu_read_bytes(cpu, addr, area, XS_HDR + X86_XSAVE_HEADER_SIZE, MMU_READ, seg);
    uint64_t bv, xcomp;
    memcpy(&bv, area + XS_HDR, 8);
    memcpy(&xcomp, area + XS_HDR_XCOMP, 8);
    if (!header_ok(area, st->xcr0, bv, xcomp))
        x86_raise_now(cpu, X86_V_GP, 0);
    bool compact = (xcomp & XCOMP_COMPACT) != 0;
    /* Each extended component to restore, from its place in the area (the compacted
     * form holds only those XCOMP_BV names) to its standard place in the image. */
    unsigned nregs = vector_regs(st);
    for (unsigned i = XS_EXT_FIRST; i < XS_COMPONENTS; i++) {
        uint32_t off, size;
        if ((rfbm & bv) >> i & 1 && x86_xsave_component(i, &off, &size) && component_bytes(i, nregs))
            mmu_read_bytes(cpu, addr + component_at(i, compact, xcomp), area + off, component_bytes(i, nregs),
                           MMU_READ, seg);
    }
    uint32_t mxcsr;
    memcpy(&mxcsr, area + FX_MXCSR, 4);
    bool load_mxcsr = compact ? (rfbm & bv & X86_XSTATE_SSE) != 0 : (rfbm & (X86_XSTATE_SSE | X86_XSTATE_AVX)) != 0;
    if (load_mxcsr && (mxcsr & ~SOFT_MXCSR_MASK))
        x86_raise_now(cpu, X86_V_GP, 0);
    for (unsigned i = 0; i < XS_COMPONENTS; i++) {
        uint64_t m = 1ull << i;
        if (!(rfbm & m))
            continue;
        if (bv & m)
            load_component(st, area, i, nregs, rexw);
        else
            init_component(st, i, nregs);
    }
    if (load_mxcsr)
        st->fpu.mxcsr = mxcsr;
    else if (compact && (rfbm & X86_XSTATE_SSE))
        st->fpu.mxcsr = MXCSR_INIT;
}

/* addr, EDX:EAX, how = enum xs_form | XS_REXW | segment << XS_SEG_SHIFT. */
static ir_u128 h_xsave(void *vcpu, ir_u128 addr, ir_u128 mask, ir_u128 how)
{
    struct soft_cpu *cpu = vcpu;
    struct x86_state *st = x86_st(cpu);
    if (!(st->cr4 & X86_CR4_OSXSAVE))
        x86_raise_now(cpu, X86_V_UD, X86_NO_ERR);
    if (st->cr0 & X86_CR0_TS)
        x86_raise_now(cpu, X86_V_NM, X86_NO_ERR);
    if ((uint64_t)addr & (XS_ALIGN - 1))
        x86_raise_now(cpu, X86_V_GP, 0);
    unsigned form = (unsigned)how & 0xf, seg = ((unsigned)how >> XS_SEG_SHIFT) & 7;
    bool rexw = ((unsigned)how & XS_REXW) != 0;
    uint64_t rfbm = st->xcr0 & (uint64_t)mask & X86_XSTATE_ALL;
    if (form == XS_RSTOR)
        xrstor(cpu, (uint64_t)addr, seg, rexw, rfbm);
    else
        xsave(cpu, (uint64_t)addr, seg, (enum xs_form)form, rexw, rfbm);
    return 0;
}

const struct ir_helper x86_xsave_helper = {
    "x86_xsave", h_xsave, IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_FAULT | IR_HELPER_MEM,
};

static const struct { uint16_t op; uint8_t form; uint8_t rexw; } forms[] = {
    { X86_I_XSAVE, XS_SAVE, 0 },       { X86_I_XSAVE64, XS_SAVE, 1 },    { X86_I_XSAVEOPT, XS_SAVEOPT, 0 },
    { X86_I_XSAVEOPT64, XS_SAVEOPT, 1 }, { X86_I_XSAVEC, XS_SAVEC, 0 }, { X86_I_XSAVEC64, XS_SAVEC, 1 },
    { X86_I_XRSTOR, XS_RSTOR, 0 },     { X86_I_XRSTOR64, XS_RSTOR, 1 },
};

/* XSAVE/XSAVEOPT/XSAVEC/XRSTOR mem: EDX:EAX is the requested-feature mask. */
bool lift_xsave_xrstor(struct x86_ctx *c)
{
    const struct x86_operand *m = &c->in->o[0];
    if (m->kind != X86_OPND_MEM)
        return false;
    unsigned i = 0;
    while (forms[i].op != c->in->op)
        i++;
    unsigned how = forms[i].form | (forms[i].rexw ? XS_REXW : 0) | ((unsigned)m->mem.seg << XS_SEG_SHIFT);
    ir_val addr = x86_operand_addr(c, m);
    x86_seg_guard(c, addr, X86_XSAVE_AVX_OFFSET + X86_XSAVE_AVX_BYTES, forms[i].form != XS_RSTOR);
    ir_val eax = x86_resize(c, x86_get_gpr(c, X86_RAX, 4), 8, false);
    ir_val edx = x86_resize(c, x86_get_gpr(c, X86_RDX, 4), 8, false);
    ir_val mask = ir_binop(c->b, IR_OR, eax, ir_binop(c->b, IR_SHL, edx, ir_const(c->b, IR_I64, 32)));
    x86_call(c, IR_I64, x86_helper[X86_H_XSAVE], addr, mask, ir_const(c->b, IR_I64, how));
    return true;
}
