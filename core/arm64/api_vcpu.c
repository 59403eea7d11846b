/* Apple-silicon flavour, vCPU level: lifetime with the exit structure, general,
 * SIMD/FP and system registers, pending interrupts, debug traps, the virtual
 * timer controls, running and cross-thread exit requests. */
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>

#include <stdlib.h>
#include <string.h>

#include "core/a64_timer.h"
#include "core/arm64/a64.h"
#include "core/arm64/gic.h"

#define PFR0_GIC_SYSREGS (1ull << 24)   /* ID_AA64PFR0_EL1.GIC = 1: GICv3 system registers */
/* Guest-visible NZCV/DAIF/mode bits a client may set through HV_REG_CPSR. */
#define CPSR_WRITABLE (A64_PSTATE_N | A64_PSTATE_Z | A64_PSTATE_C | A64_PSTATE_V | A64_PSTATE_SS | \
                       A64_PSTATE_IL | A64_PSTATE_D | A64_PSTATE_A | A64_PSTATE_I | A64_PSTATE_F | \
                       A64_PSTATE_M_MASK)
#define CPSR_M_AARCH32 (1ull << 4)   /* PSTATE.nRW / M[4] */

/* Before the vCPU is published (vcpu_create_init): the GIC and snapshots never see
 * it half made. `arg` is the client's exit record. */
static void vcpu_init(struct vcpu *v, void *arg)
{
    v->ext.a64.client_exit = arg;
    a64_state_reset(v->st.a64, v->id);
    if (atomic_load(&v->vm->irqchip))
        v->st.a64->sys.id_aa64pfr0_el1 |= PFR0_GIC_SYSREGS;   /* the in-framework GIC's ICC interface */
}

hv_return_t hv_vcpu_create(hv_vcpu_t *vcpu, hv_vcpu_exit_t **exit, hv_vcpu_config_t config)
{
    if (!vcpu || !exit)
        return HV_BAD_ARGUMENT;
    if (config && ((const struct a64_object *)config)->kind != A64_OBJ_VCPU_CONFIG)
        return HV_BAD_ARGUMENT;
    hv_vcpu_exit_t *client_exit = calloc(1, sizeof(*client_exit));
    if (!client_exit)
        return HV_NO_RESOURCES;
    uint32_t id;
    hv_return_t ret = vcpu_create_init(GUEST_ARM64, vcpu_init, client_exit, &id);
    if (ret != HV_SUCCESS) {
        free(client_exit);
        return ret;
    }
    *vcpu = id;
    *exit = client_exit;
    return HV_SUCCESS;
}

/* Under vm->lock, the vCPU already out of the table (vcpu_destroy_held). Other vCPUs
 * read a vCPU's affinity through the table under the GIC's lock (SGIs, GICR_TYPER):
 * once this has taken that lock, whoever found the vCPU has let go of it. */
static void vcpu_fini(struct vcpu *v, void *arg)
{
    (void)arg;
    struct gic *g = gic_of(v->vm);
    if (g) {
        pthread_mutex_lock(&g->lock);
        pthread_mutex_unlock(&g->lock);
    }
}

hv_return_t hv_vcpu_destroy(hv_vcpu_t vcpu)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    void *client_exit = v->ext.a64.client_exit;
    ret = vcpu_destroy_held(vm_hold(), (uint32_t)vcpu, vcpu_fini, NULL);
    vm_release();
    if (ret == HV_SUCCESS)
        free(client_exit);
    return ret;
}

/* HV_REG_* -> address in state, or NULL. */
static uint64_t *gpr_slot(struct a64_state *st, hv_reg_t reg)
{
    if (reg <= HV_REG_X30)
        return &st->x[reg];
    switch (reg) {
    case HV_REG_PC: return &st->pc;
    case HV_REG_FPCR: return &st->fpcr;
    case HV_REG_FPSR: return &st->fpsr;
    case HV_REG_CPSR: return &st->pstate;
    default: return NULL;
    }
}

hv_return_t hv_vcpu_get_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t *value)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    uint64_t *slot = gpr_slot(v->st.a64, reg);
    if (!slot || !value)
        return HV_BAD_ARGUMENT;
    ret = vcpu_state_load(v, reg == HV_REG_FPCR || reg == HV_REG_FPSR ? SG_FPU : SG_GPR);
    if (ret == HV_SUCCESS)
        *value = *slot;
    return ret;
}

hv_return_t hv_vcpu_set_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t value)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    uint64_t *slot = gpr_slot(v->st.a64, reg);
    if (!slot)
        return HV_BAD_ARGUMENT;
    uint32_t group = reg == HV_REG_FPCR || reg == HV_REG_FPSR ? SG_FPU : SG_GPR;
    ret = vcpu_state_load(v, group);
    if (ret != HV_SUCCESS)
        return ret;
    if (reg == HV_REG_CPSR) {
        /* Only EL0t, EL1t and EL1h exist here; other modes are an illegal state, and
         * M[4] (AArch32 execution state) names modes Apple silicon does not have:
         * refused rather than turned into an AArch64 mode. */
        uint64_t mode = value & A64_PSTATE_M_MASK;
        if ((value & CPSR_M_AARCH32) ||
            (mode != A64_PSTATE_EL0T && mode != A64_PSTATE_EL1T && mode != A64_PSTATE_EL1H))
            return HV_BAD_ARGUMENT;
        a64_set_pstate(v->st.a64, value & CPSR_WRITABLE);   /* banks SP like an EL change */
        vcpu_state_touch(v, group);
        return HV_SUCCESS;
    }
    *slot = value;
    vcpu_state_touch(v, group);
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_get_simd_fp_reg(hv_vcpu_t vcpu, hv_simd_fp_reg_t reg, hv_simd_fp_uchar16_t *value)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (reg > HV_SIMD_FP_REG_Q31 || !value)
        return HV_BAD_ARGUMENT;
    ret = vcpu_state_load(v, SG_FPU);
    if (ret == HV_SUCCESS)
        memcpy(value, v->st.a64->v[reg].b, sizeof(*value));
    return ret;
}

hv_return_t hv_vcpu_set_simd_fp_reg(hv_vcpu_t vcpu, hv_simd_fp_reg_t reg, hv_simd_fp_uchar16_t value)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (reg > HV_SIMD_FP_REG_Q31)
        return HV_BAD_ARGUMENT;
    ret = vcpu_state_load(v, SG_FPU);
    if (ret != HV_SUCCESS)
        return ret;
    memcpy(v->st.a64->v[reg].b, &value, sizeof(value));
    vcpu_state_touch(v, SG_FPU);
    return HV_SUCCESS;
}

/* SP_EL0/SP_EL1 live in `sp` while their mode is current. */
static void *sysreg_slot(struct a64_state *st, hv_sys_reg_t reg, const struct a64_field *f)
{
    if (reg == HV_SYS_REG_SP_EL0)
        return a64_sp_el(st, 0);
    if (reg == HV_SYS_REG_SP_EL1)
        return a64_sp_el(st, 1);
    return (uint8_t *)st + f->offset;
}

/* Registers whose bits the hardware computes read as the guest would read them now:
 * the timers' ISTATUS follows the counter, the vtimer offset and the compare value. */
static uint64_t sysreg_as_read(const struct vcpu *v, hv_sys_reg_t reg, uint64_t stored)
{
    const struct a64_state *st = v->st.a64;
    if (reg == HV_SYS_REG_CNTV_CTL_EL0)
        return a64_timer_ctl(stored, a64_counter_now(v, v->icount) - v->ext.a64.vtimer_offset, st->sys.cntv_cval_el0);
    if (reg == HV_SYS_REG_CNTP_CTL_EL0)
        return a64_timer_ctl(stored, a64_counter_now(v, v->icount), st->sys.cntp_cval_el0);
    return stored;
}

hv_return_t hv_vcpu_get_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t *value)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    const struct a64_field *f = a64_sysreg_field(reg);
    if (!f || !value)
        return HV_BAD_ARGUMENT;
    ret = vcpu_state_load(v, SG_SYSREGS | SG_GPR);
    if (ret != HV_SUCCESS)
        return ret;
    uint64_t stored;
    memcpy(&stored, sysreg_slot(v->st.a64, reg, f), sizeof(stored));
    *value = sysreg_as_read(v, reg, stored);
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_set_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t value)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    const struct a64_field *f = a64_sysreg_field(reg);
    if (!f)
        return HV_BAD_ARGUMENT;
    ret = vcpu_state_load(v, SG_SYSREGS | SG_GPR);
    if (ret != HV_SUCCESS)
        return ret;
    /* ID registers are writable, as on Apple's hypervisor (QEMU narrows
     * ID_AA64MMFR0 this way); the guest then reads the written value. ISTATUS is
     * computed, never stored. */
    if (reg == HV_SYS_REG_CNTV_CTL_EL0 || reg == HV_SYS_REG_CNTP_CTL_EL0)
        value &= A64_CNT_CTL_WRITABLE;
    memcpy(sysreg_slot(v->st.a64, reg, f), &value, sizeof(value));
    vcpu_state_touch(v, SG_SYSREGS | SG_GPR);
    if (reg == HV_SYS_REG_TTBR0_EL1 || reg == HV_SYS_REG_TTBR1_EL1 || reg == HV_SYS_REG_TCR_EL1 ||
        reg == HV_SYS_REG_SCTLR_EL1 || reg == HV_SYS_REG_MAIR_EL1)
        v->vm->be->invalidate_tlb(v);   /* translation regime changed under the guest */
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_get_pending_interrupt(hv_vcpu_t vcpu, hv_interrupt_type_t type, bool *pending)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (!pending || (type != HV_INTERRUPT_TYPE_IRQ && type != HV_INTERRUPT_TYPE_FIQ))
        return HV_BAD_ARGUMENT;
    *pending = type == HV_INTERRUPT_TYPE_IRQ ? v->ext.a64.pending_irq : v->ext.a64.pending_fiq;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_set_pending_interrupt(hv_vcpu_t vcpu, hv_interrupt_type_t type, bool pending)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (type == HV_INTERRUPT_TYPE_IRQ)
        v->ext.a64.pending_irq = pending;
    else if (type == HV_INTERRUPT_TYPE_FIQ)
        v->ext.a64.pending_fiq = pending;
    else
        return HV_BAD_ARGUMENT;
    return HV_SUCCESS;
}

/* The four debug-trap and vtimer flag accessors share this shape. */
static hv_return_t flag_get(hv_vcpu_t vcpu, size_t offset, bool *value)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (!value)
        return HV_BAD_ARGUMENT;
    *value = *(const bool *)((const uint8_t *)&v->ext.a64 + offset);
    return HV_SUCCESS;
}

static hv_return_t flag_set(hv_vcpu_t vcpu, size_t offset, bool value)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    *(bool *)((uint8_t *)&v->ext.a64 + offset) = value;
    return HV_SUCCESS;
}

#define EXT_FLAG(name) offsetof(struct vcpu_a64_ext, name)

hv_return_t hv_vcpu_get_trap_debug_exceptions(hv_vcpu_t vcpu, bool *value)
{
    return flag_get(vcpu, EXT_FLAG(trap_debug_exceptions), value);
}

hv_return_t hv_vcpu_set_trap_debug_exceptions(hv_vcpu_t vcpu, bool value)
{
    return flag_set(vcpu, EXT_FLAG(trap_debug_exceptions), value);
}

hv_return_t hv_vcpu_get_trap_debug_reg_accesses(hv_vcpu_t vcpu, bool *value)
{
    return flag_get(vcpu, EXT_FLAG(trap_debug_reg_accesses), value);
}

hv_return_t hv_vcpu_set_trap_debug_reg_accesses(hv_vcpu_t vcpu, bool value)
{
    return flag_set(vcpu, EXT_FLAG(trap_debug_reg_accesses), value);
}

hv_return_t hv_vcpu_get_vtimer_mask(hv_vcpu_t vcpu, bool *vtimer_is_masked)
{
    return flag_get(vcpu, EXT_FLAG(vtimer_masked), vtimer_is_masked);
}

hv_return_t hv_vcpu_set_vtimer_mask(hv_vcpu_t vcpu, bool vtimer_is_masked)
{
    return flag_set(vcpu, EXT_FLAG(vtimer_masked), vtimer_is_masked);
}

hv_return_t hv_vcpu_get_vtimer_offset(hv_vcpu_t vcpu, uint64_t *vtimer_offset)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (!vtimer_offset)
        return HV_BAD_ARGUMENT;
    *vtimer_offset = v->ext.a64.vtimer_offset;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_set_vtimer_offset(hv_vcpu_t vcpu, uint64_t vtimer_offset)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    v->ext.a64.vtimer_offset = vtimer_offset;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_run(hv_vcpu_t vcpu)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    vcpu_run_begin(v);
    ret = vcpu_run(v, BACKEND_NO_DEADLINE);
    /* hv_vcpu_set_pending_interrupt asserts a line for one run only. */
    v->ext.a64.pending_irq = false;
    v->ext.a64.pending_fiq = false;
    if (ret == HV_SUCCESS)
        ret = a64_exit_render(v);
    vcpu_run_end(v);
    return ret;
}

hv_return_t hv_vcpus_exit(hv_vcpu_t *vcpus, uint32_t vcpu_count)
{
    if (!vcpus || vcpu_count == 0 || vcpu_count > ANYHV_MAX_VCPUS)
        return HV_BAD_ARGUMENT;
    return vcpu_cancel(vcpus, vcpu_count);
}

hv_return_t hv_vcpu_get_exec_time(hv_vcpu_t vcpu, uint64_t *time)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_get_owned(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    if (!time)
        return HV_BAD_ARGUMENT;
    *time = vcpu_exec_time_ns(v);
    return HV_SUCCESS;
}
