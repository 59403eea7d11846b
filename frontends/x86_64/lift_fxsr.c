/* lift_fxsr.c - the x87/SSE state instructions: LDMXCSR/STMXCSR and FXSAVE/FXRSTOR
 * (FXSAVE64/FXRSTOR64 with REX.W). The 512-byte image is the one hv_vcpu_read_fpstate
 * gives (core/x86/fpstate.c), in its 64-bit form; without REX.W the FIP/FDP fields
 * take the 32-bit form (offset, then the FCS/FDS selectors the x87 helper keeps in
 * x86_state.fpu_fcs/fpu_fds). Outside 64-bit mode only XMM0-7 are saved and restored.
 * CR4.OSFXSR clear: XMM and MXCSR are saved and restored anyway (the SDM leaves it
 * to the implementation). Memory goes through the soft MMU whole (mmu_read_bytes/
 * mmu_write_bytes: both pages resolved before any byte is written, code pages
 * invalidated), so a fault leaves memory and state unchanged. */
#include <string.h>

#include "core/x86/x86.h"
#include "frontends/x86_64/x86_sse.h"

#define FX_ALIGN 16u
#define FX_FIP 8u
#define FX_FCS 12u
#define FX_FDP 16u
#define FX_FDS 20u
#define FX_MXCSR 24u
#define FX_LEGACY_END 288u     /* end of XMM0-7: the part saved outside 64-bit mode */
#define FX_XMM_END 416u        /* end of XMM0-15 */
/* The soft CPU's MXCSR_MASK: every MXCSR bit through FZ, DAZ included. A property of
 * the processor, not state: an fpstate image written through the API does not
 * change it (FXRSTOR ignores the field too). */
#define SOFT_MXCSR_MASK 0x0000ffffu
#define FX_MXCSR_MASK 28u
#define LEGACY_XMM 8u

#define FXSR_LDMXCSR X86_FXSR_LDMXCSR
#define FXSR_SAVE X86_FXSR_SAVE
#define FXSR_RESTORE X86_FXSR_RESTORE
#define FXSR_REXW X86_FXSR_REXW
#define FXSR_AREA_BYTES 512u
#define X87_EXC_FLAGS 0x003fu   /* FSW IE..PE and the FCW masks in the same bits */
#define FSW_TOP_SHIFT 11
#define FSW_TOP_MASK 0x3800u
#define FTW_ALL_VALID 0xffu

#define FXSR_SEG_SHIFT 8       /* how: the memory operand's segment, for the MMU */

static void fxsave(struct soft_cpu *cpu, uint64_t addr, bool rexw, unsigned seg)
{
    struct x86_state *st = x86_st(cpu);
    uint8_t img[X86_FXSAVE_SIZE];
    x86_fpstate_save(&st->fpu, NULL, 0, img, sizeof(img));
    uint32_t mask = SOFT_MXCSR_MASK;
    memcpy(img + FX_MXCSR_MASK, &mask, 4);
    if (!rexw) {
        uint32_t fip = (uint32_t)st->fpu.fip, fdp = (uint32_t)st->fpu.fdp;
        memset(img + FX_FIP, 0, FX_MXCSR - FX_FIP);
        memcpy(img + FX_FIP, &fip, 4);
        memcpy(img + FX_FCS, &st->fpu_fcs, 2);
        memcpy(img + FX_FDP, &fdp, 4);
        memcpy(img + FX_FDS, &st->fpu_fds, 2);
    }
    unsigned len = x86_code_size_of(st) == X86_CODE64 ? FX_XMM_END : FX_LEGACY_END;
    mmu_write_bytes(cpu, addr, img, len, MMU_WRITE, seg);
}

static void fxrstor(struct soft_cpu *cpu, uint64_t addr, bool rexw, unsigned seg)
{
    struct x86_state *st = x86_st(cpu);
    uint8_t img[X86_FXSAVE_SIZE];
    bool code64 = x86_code_size_of(st) == X86_CODE64;
    memset(img, 0, sizeof(img));
    mmu_read_bytes(cpu, addr, img, code64 ? FX_XMM_END : FX_LEGACY_END, MMU_READ, seg);
    uint32_t mxcsr;
    memcpy(&mxcsr, img + FX_MXCSR, 4);
    if (mxcsr & ~SOFT_MXCSR_MASK)
        x86_raise_now(cpu, X86_V_GP, 0);
    struct x86_fpu old = st->fpu;
    x86_fpstate_load(&st->fpu, NULL, img, sizeof(img));
    st->fpu.mxcsr_mask = old.mxcsr_mask;                /* read-only */
    memcpy(st->fpu.ymm_hi, old.ymm_hi, sizeof(old.ymm_hi));
    if (!code64)
        memcpy(&st->fpu.xmm[LEGACY_XMM], &old.xmm[LEGACY_XMM], sizeof(old.xmm) - LEGACY_XMM * sizeof(old.xmm[0]));
    if (!rexw) {
        st->fpu.fip = (uint32_t)st->fpu.fip;
        st->fpu.fdp = (uint32_t)st->fpu.fdp;
        memcpy(&st->fpu_fcs, img + FX_FCS, 2);
        memcpy(&st->fpu_fds, img + FX_FDS, 2);
    }
}

/* The x87->MMX transition: a pending x87 exception (an FSW exception flag whose FCW
 * mask is clear, the state the x87 helper keeps; the host CPU decides the same way
 * even when FSW.ES disagrees) is taken first as #MF; then TOP becomes 0 (the stack-ordered st[] slots rotate so
 * each physical register keeps its value) and the tags say valid, or empty (EMMS). */
static void mmx_transition(struct soft_cpu *cpu, bool emms)
{
    struct x86_fpu *f = &x86_st(cpu)->fpu;
    if ((f->fsw & ~f->fcw & X87_EXC_FLAGS) && (x86_st(cpu)->cr0 & X86_CR0_NE))
        x86_raise_now(cpu, X86_V_MF, X86_NO_ERR);   /* CR0.NE clear: stays pending, as in x87_exec.c */
    if (emms) {
        f->ftw = 0;
        return;
    }
    unsigned top = (f->fsw & FSW_TOP_MASK) >> FSW_TOP_SHIFT;
    if (top) {
        uint8_t phys[8][16];
        for (unsigned i = 0; i < 8; i++)   /* ST(i) is physical register (TOP + i) & 7 */
            memcpy(phys[(top + i) & 7], f->st[i], 16);
        memcpy(f->st, phys, sizeof(phys));
        f->fsw &= (uint16_t)~FSW_TOP_MASK;
    }
    f->ftw = FTW_ALL_VALID;
}

/* LDMXCSR value / FXSAVE addr / FXRSTOR addr / MMX transition; how = enum
 * x86_fxsr_op | FXSR_REXW. */
static ir_u128 h_fxsr(void *vcpu, ir_u128 arg, ir_u128 how, ir_u128 unused)
{
    (void)unused;
    struct soft_cpu *cpu = vcpu;
    struct x86_state *st = x86_st(cpu);
    unsigned op = (unsigned)how & 0xf;
    bool rexw = ((unsigned)how & FXSR_REXW) != 0;
    if (op == X86_FXSR_MMX || op == X86_FXSR_EMMS) {
        mmx_transition(cpu, op == X86_FXSR_EMMS);
        return 0;
    }
    if (op == FXSR_LDMXCSR) {
        if ((uint32_t)arg & ~SOFT_MXCSR_MASK)
            x86_raise_now(cpu, X86_V_GP, 0);
        st->fpu.mxcsr = (uint32_t)arg;
        return 0;
    }
    if ((uint64_t)arg & (FX_ALIGN - 1))
        x86_raise_now(cpu, X86_V_GP, 0);
    unsigned seg = ((unsigned)how >> FXSR_SEG_SHIFT) & 7;
    if (op == FXSR_SAVE)
        fxsave(cpu, (uint64_t)arg, rexw, seg);
    else
        fxrstor(cpu, (uint64_t)arg, rexw, seg);
    return 0;
}

const struct ir_helper x86_fxsr_helper = {
    "x86_fxsr", h_fxsr, IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_FAULT | IR_HELPER_MEM,
};

#define OFF_MXCSR ((uint32_t)(offsetof(struct x86_state, fpu) + offsetof(struct x86_fpu, mxcsr)))

/* LDMXCSR m32 / STMXCSR m32: #UD and #NM as for any SSE instruction; reserved bits
 * set in the loaded value give #GP(0). */
bool lift_ldmxcsr_stmxcsr(struct x86_ctx *c)
{
    const struct x86_operand *m = &c->in->o[0];
    if (m->kind != X86_OPND_MEM)
        return false;
    if (!x86_sse_allowed(c))
        return true;
    if (c->in->op == X86_I_STMXCSR) {
        x86_store(c, x86_operand_addr(c, m), ir_get(c->b, IR_I32, OFF_MXCSR), 4, m->mem.seg);
        return true;
    }
    ir_val v = x86_resize(c, x86_read_op_sized(c, 0, 4), 8, false);
    x86_call(c, IR_I64, x86_helper[X86_H_FXSR], v, ir_const(c->b, IR_I64, FXSR_LDMXCSR), ir_const(c->b, IR_I64, 0));
    return true;
}

/* FXSAVE/FXRSTOR m512 (and the REX.W forms): #NM when CR0.TS or CR0.EM is set. */
bool lift_fxsave_fxrstor(struct x86_ctx *c)
{
    const struct x86_operand *m = &c->in->o[0];
    if (m->kind != X86_OPND_MEM)
        return false;
    if (c->mode & (X86_MK_TS | X86_MK_EM)) {
        x86_raise(c, X86_V_NM, X86_NO_ERR);
        return true;
    }
    unsigned op = c->in->op;
    unsigned how = (op == X86_I_FXSAVE || op == X86_I_FXSAVE64) ? FXSR_SAVE : FXSR_RESTORE;
    if (op == X86_I_FXSAVE64 || op == X86_I_FXRSTOR64)
        how |= FXSR_REXW;
    bool save = (how & ~(unsigned)FXSR_REXW) == FXSR_SAVE;
    how |= (unsigned)m->mem.seg << FXSR_SEG_SHIFT;
    ir_val addr = x86_operand_addr(c, m);
    x86_seg_guard(c, addr, FXSR_AREA_BYTES, save);   /* whole area in its segment */
    x86_call(c, IR_I64, x86_helper[X86_H_FXSR], addr, ir_const(c->b, IR_I64, how), ir_const(c->b, IR_I64, 0));
    return true;
}
