/* Apple-silicon flavour: the VMM's register access to the in-framework GIC
 * (distributor, redistributors, ICC, MSI frame). Register ids are frame offsets (ICC:
 * sysreg encodings); the 64-bit registers (GICD_IROUTER<n>, GICR_TYPER) are read and
 * written whole, the rest as 32 bits. Reads have no side effects. */
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>

#include "core/arm64/a64.h"
#include "core/arm64/gic.h"

#define GICD_IROUTER_FIRST 0x6000u
#define GICD_IROUTER_END 0x8000u
#define GICR_TYPER 0x0008u

static unsigned dist_width(uint32_t reg)
{
    return reg >= GICD_IROUTER_FIRST && reg < GICD_IROUTER_END ? 8u : 4u;
}

/* The VM's GIC, locked. The VM-level calls run as <name>_held(vm_hold(), ...) then
 * vm_release(), so hv_vm_destroy waits until they finish; the per-vCPU calls reach
 * the GIC through their owned vCPU's VM, which the vCPU pins. */
static hv_return_t gic_and_lock(struct vm *vm, struct gic **out)
{
    struct gic *g = gic_of(vm);
    if (!g)
        return HV_NO_DEVICE;
    pthread_mutex_lock(&g->lock);
    *out = g;
    return HV_SUCCESS;
}

static hv_return_t dist_reg_held(struct vm *vm, hv_gic_distributor_reg_t reg, bool write, uint64_t *value)
{
    struct gic *g;
    if (!value || (reg & 3u))
        return HV_BAD_ARGUMENT;
    hv_return_t ret = gic_and_lock(vm, &g);
    if (ret != HV_SUCCESS)
        return ret;
    unsigned width = dist_width(reg);
    bool ok = write ? gic_dist_write(g, reg, width, *value) : gic_dist_read(g, vm, reg, width, value);
    pthread_mutex_unlock(&g->lock);
    return ok ? HV_SUCCESS : HV_BAD_ARGUMENT;
}

hv_return_t hv_gic_get_distributor_reg(hv_gic_distributor_reg_t reg, uint64_t *value)
{
    hv_return_t ret = dist_reg_held(vm_hold(), reg, false, value);
    vm_release();
    return ret;
}

hv_return_t hv_gic_set_distributor_reg(hv_gic_distributor_reg_t reg, uint64_t value)
{
    hv_return_t ret = dist_reg_held(vm_hold(), reg, true, &value);
    vm_release();
    return ret;
}

static hv_return_t redistributor_base_held(struct vm *vm, hv_vcpu_t vcpu, hv_ipa_t *base)
{
    struct gic *g = gic_of(vm);
    if (!g)
        return HV_NO_DEVICE;
    if (!base || vcpu >= ANYHV_MAX_VCPUS || !atomic_load(&vm->vcpus[vcpu]))
        return HV_BAD_ARGUMENT;
    *base = g->redist_base + vcpu * GIC_REDIST_SIZE;
    return HV_SUCCESS;
}

hv_return_t hv_gic_get_redistributor_base(hv_vcpu_t vcpu, hv_ipa_t *redistributor_base_address)
{
    hv_return_t ret = redistributor_base_held(vm_hold(), vcpu, redistributor_base_address);
    vm_release();
    return ret;
}

/* The owned vCPU and the locked GIC, for the per-vCPU register calls. */
static hv_return_t owned(hv_vcpu_t vcpu, struct vcpu **v, struct gic **g)
{
    hv_return_t ret = vcpu_get_owned(vcpu, v);
    if (ret != HV_SUCCESS)
        return ret;
    return gic_and_lock((*v)->vm, g);
}

hv_return_t hv_gic_get_redistributor_reg(hv_vcpu_t vcpu, hv_gic_redistributor_reg_t reg, uint64_t *value)
{
    struct vcpu *v;
    struct gic *g;
    if (!value || (reg & 3u) || reg >= GIC_REDIST_SIZE)
        return HV_BAD_ARGUMENT;
    hv_return_t ret = owned(vcpu, &v, &g);
    if (ret != HV_SUCCESS)
        return ret;
    bool ok = gic_redist_read(g, v->vm, v->id, reg, reg == GICR_TYPER ? 8 : 4, value);
    pthread_mutex_unlock(&g->lock);
    return ok ? HV_SUCCESS : HV_BAD_ARGUMENT;
}

hv_return_t hv_gic_set_redistributor_reg(hv_vcpu_t vcpu, hv_gic_redistributor_reg_t reg, uint64_t value)
{
    struct vcpu *v;
    struct gic *g;
    if ((reg & 3u) || reg >= GIC_REDIST_SIZE)
        return HV_BAD_ARGUMENT;
    hv_return_t ret = owned(vcpu, &v, &g);
    if (ret != HV_SUCCESS)
        return ret;
    bool ok = gic_redist_write(g, v->id, reg, reg == GICR_TYPER ? 8 : 4, value);
    pthread_mutex_unlock(&g->lock);
    return ok ? HV_SUCCESS : HV_BAD_ARGUMENT;
}

/* The ICC registers a VMM may save and restore (Apple's hv_gic_icc_reg_t, EL1 ones). */
static bool icc_api_reg(hv_gic_icc_reg_t reg, bool write)
{
    switch (reg) {
    case HV_GIC_ICC_REG_RPR_EL1: return !write;   /* computed from AP0R0/AP1R0 */
    case HV_GIC_ICC_REG_PMR_EL1:
    case HV_GIC_ICC_REG_BPR0_EL1:
    case HV_GIC_ICC_REG_AP0R0_EL1:
    case HV_GIC_ICC_REG_AP1R0_EL1:
    case HV_GIC_ICC_REG_BPR1_EL1:
    case HV_GIC_ICC_REG_CTLR_EL1:
    case HV_GIC_ICC_REG_SRE_EL1:
    case HV_GIC_ICC_REG_IGRPEN0_EL1:
    case HV_GIC_ICC_REG_IGRPEN1_EL1: return true;
    default: return false;   /* ICC_SRE_EL2 and unknown ids: no EL2 here */
    }
}

hv_return_t hv_gic_get_icc_reg(hv_vcpu_t vcpu, hv_gic_icc_reg_t reg, uint64_t *value)
{
    struct vcpu *v;
    struct gic *g;
    if (!value || !icc_api_reg(reg, false))
        return HV_BAD_ARGUMENT;
    hv_return_t ret = owned(vcpu, &v, &g);
    if (ret != HV_SUCCESS)
        return ret;
    gic_icc_read(g, v->vm, v->id, reg, value);
    pthread_mutex_unlock(&g->lock);
    return HV_SUCCESS;
}

hv_return_t hv_gic_set_icc_reg(hv_vcpu_t vcpu, hv_gic_icc_reg_t reg, uint64_t value)
{
    struct vcpu *v;
    struct gic *g;
    if (!icc_api_reg(reg, true))
        return HV_BAD_ARGUMENT;
    hv_return_t ret = owned(vcpu, &v, &g);
    if (ret != HV_SUCCESS)
        return ret;
    gic_icc_write(g, v->vm, v->id, reg, value);
    pthread_mutex_unlock(&g->lock);
    return HV_SUCCESS;
}

/* ICH and ICV registers exist only for a guest hypervisor (EL2), which anyhv lacks. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif
hv_return_t hv_gic_get_ich_reg(hv_vcpu_t vcpu, hv_gic_ich_reg_t reg, uint64_t *value) { return HV_UNSUPPORTED; }
hv_return_t hv_gic_set_ich_reg(hv_vcpu_t vcpu, hv_gic_ich_reg_t reg, uint64_t value) { return HV_UNSUPPORTED; }
hv_return_t hv_gic_get_icv_reg(hv_vcpu_t vcpu, hv_gic_icv_reg_t reg, uint64_t *value) { return HV_UNSUPPORTED; }
hv_return_t hv_gic_set_icv_reg(hv_vcpu_t vcpu, hv_gic_icv_reg_t reg, uint64_t value) { return HV_UNSUPPORTED; }
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static hv_return_t msi_reg_held(struct vm *vm, hv_gic_msi_reg_t reg, bool write, uint64_t *value)
{
    struct gic *g;
    if (!value || (reg & 3u))
        return HV_BAD_ARGUMENT;
    hv_return_t ret = gic_and_lock(vm, &g);
    if (ret != HV_SUCCESS)
        return ret;
    bool ok = g->msi_enabled && (write ? gic_msi_write(g, reg, 4, *value) : gic_msi_read(g, reg, 4, value));
    pthread_mutex_unlock(&g->lock);
    return ok ? HV_SUCCESS : HV_BAD_ARGUMENT;
}

hv_return_t hv_gic_get_msi_reg(hv_gic_msi_reg_t reg, uint64_t *value)
{
    hv_return_t ret = msi_reg_held(vm_hold(), reg, false, value);
    vm_release();
    return ret;
}

hv_return_t hv_gic_set_msi_reg(hv_gic_msi_reg_t reg, uint64_t value)
{
    hv_return_t ret = msi_reg_held(vm_hold(), reg, true, &value);
    vm_release();
    return ret;
}
