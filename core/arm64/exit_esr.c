/* The one place where a neutral exit becomes the Apple-silicon hv_vcpu_exit_t:
 * reason, and for exceptions the ESR_EL2 syndrome, FAR and faulting IPA exactly
 * as EL2 reports them (Arm ARM D17.2.37, ESR_ELx). VMMs decode these themselves. */
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>

#include "core/arm64/a64.h"

#define ESR_EC_SHIFT 26
#define ESR_IL (1ull << 25)
enum esr_ec {
    EC_WFX = 0x01,
    EC_HVC64 = 0x16,
    EC_SMC64 = 0x17,
    EC_SYS64 = 0x18,
    EC_IABT_LOWER = 0x20,
    EC_DABT_LOWER = 0x24,
};
/* Data abort ISS. */
#define DABT_ISV (1ull << 24)
#define DABT_SAS_SHIFT 22
#define DABT_SSE (1ull << 21)
#define DABT_SRT_SHIFT 16
#define DABT_SF (1ull << 15)
#define DABT_AR (1ull << 14)
#define DABT_S1PTW (1ull << 7)
#define DABT_WNR (1ull << 6)
/* Fault status codes (DFSC/IFSC) for a stage-2 fault at level 3. */
#define FSC_TRANSLATION_L3 0x07ull
#define FSC_PERMISSION_L3 0x0full
/* WFx ISS: TI bit 0 set for WFE. */
#define WFX_TI_WFE 1ull
/* Trapped MSR/MRS ISS fields; the sysreg index is hv_sys_reg_t's op0:op1:CRn:CRm:op2. */
#define SYSREG_OP0(i) (((i) >> 14) & 3u)
#define SYSREG_OP1(i) (((i) >> 11) & 7u)
#define SYSREG_CRN(i) (((i) >> 7) & 15u)
#define SYSREG_CRM(i) (((i) >> 3) & 15u)
#define SYSREG_OP2(i) ((i)&7u)
#define SYS64_DIRECTION_READ 1ull

static uint64_t esr(enum esr_ec ec, uint64_t iss)
{
    return ((uint64_t)ec << ESR_EC_SHIFT) | ESR_IL | iss;
}

static unsigned log2_size(uint8_t size)
{
    return size == 8 ? 3 : size == 4 ? 2 : size == 2 ? 1 : 0;
}

static uint64_t abort_syndrome(const struct exit_mem *m)
{
    uint64_t fsc = m->perms ? FSC_PERMISSION_L3 : FSC_TRANSLATION_L3;
    if (m->fetch)
        return esr(EC_IABT_LOWER, fsc | (m->s1ptw ? DABT_S1PTW : 0));
    uint64_t iss = fsc | (m->write ? DABT_WNR : 0) | (m->s1ptw ? DABT_S1PTW : 0);
    if (m->syndrome_valid) {
        iss |= DABT_ISV | ((uint64_t)log2_size(m->size) << DABT_SAS_SHIFT) |
               ((uint64_t)(m->reg & 31u) << DABT_SRT_SHIFT) | (m->sign_extend ? DABT_SSE : 0) |
               (m->reg64 ? DABT_SF : 0) | (m->acq_rel ? DABT_AR : 0);
    }
    return esr(EC_DABT_LOWER, iss);
}

static uint64_t sysreg_syndrome(const struct exit_reg_access *r)
{
    uint32_t i = r->index;
    uint64_t iss = ((uint64_t)SYSREG_OP0(i) << 20) | ((uint64_t)SYSREG_OP2(i) << 17) |
                   ((uint64_t)SYSREG_OP1(i) << 14) | ((uint64_t)SYSREG_CRN(i) << 10) |
                   ((uint64_t)(r->gpr & 31u) << 5) | ((uint64_t)SYSREG_CRM(i) << 1) |
                   (r->write ? 0 : SYS64_DIRECTION_READ);
    return esr(EC_SYS64, iss);
}

hv_return_t a64_exit_render(struct vcpu *vcpu)
{
    const struct anyhv_exit *e = &vcpu->exit;
    hv_vcpu_exit_t *out = vcpu->ext.a64.client_exit;
    out->reason = HV_EXIT_REASON_EXCEPTION;
    out->exception.syndrome = 0;
    out->exception.virtual_address = 0;
    out->exception.physical_address = 0;
    switch (e->kind) {
    case EXIT_CANCELED:
        out->reason = HV_EXIT_REASON_CANCELED;
        break;
    case EXIT_VTIMER:
        out->reason = HV_EXIT_REASON_VTIMER_ACTIVATED;
        vcpu->ext.a64.vtimer_masked = true;   /* masked until the VMM clears it */
        break;
    case EXIT_MMIO:
        out->exception.syndrome = abort_syndrome(&e->u.mem);
        out->exception.virtual_address = e->u.mem.gva;
        out->exception.physical_address = e->u.mem.gpa;
        break;
    case EXIT_HYPERCALL:
        out->exception.syndrome = esr(EC_HVC64, e->u.imm & 0xffffu);
        break;
    case EXIT_SMC:
        out->exception.syndrome = esr(EC_SMC64, e->u.imm & 0xffffu);
        break;
    case EXIT_HLT:
        out->exception.syndrome = esr(EC_WFX, e->u.imm ? WFX_TI_WFE : 0);
        break;
    case EXIT_SYSREG:
        out->exception.syndrome = sysreg_syndrome(&e->u.reg);
        break;
    case EXIT_EXCEPTION:
    case EXIT_DEBUG:
        /* The frontend computed the whole syndrome (BRK, step, watchpoint, ...). */
        out->exception.syndrome = e->u.exc.syndrome;
        out->exception.virtual_address = e->u.exc.fault_addr;
        break;
    case EXIT_DEADLINE:
    case EXIT_BUDGET:
        out->reason = HV_EXIT_REASON_CANCELED;
        break;
    default:
        out->reason = HV_EXIT_REASON_UNKNOWN;
        return e->kind == EXIT_INTERNAL ? HV_ERROR : HV_SUCCESS;
    }
    return HV_SUCCESS;
}
