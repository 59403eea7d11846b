/* Intel flavour, in-framework interrupt controllers (hv.h / hv_intr.h): a local APIC
 * per vCPU, the IOAPIC and the 8259 pair, for VMs created with HV_VM_ACCEL_APIC; and
 * the port-I/O notifiers, which need Mach ports and are not offered on Linux.
 * Without HV_VM_ACCEL_APIC every call here answers HV_UNSUPPORTED (after checking
 * the VM / vCPU it names), so a client sees exactly the VMX exits it always did. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include "core/x86/x86.h"

/* HV_BAD_ARGUMENT without a VM, HV_UNSUPPORTED without the devices, else HV_SUCCESS. */
static hv_return_t vm_intr(struct vm **out)
{
    struct vm *vm = vm_current();
    if (!vm || vm->arch != GUEST_X86_64)
        return HV_BAD_ARGUMENT;
    *out = vm;
    return vm->intr ? HV_SUCCESS : HV_UNSUPPORTED;
}

/* The same for a vCPU call from its owning thread. */
static hv_return_t vcpu_intr(hv_vcpuid_t vcpu, struct vcpu **out)
{
    hv_return_t ret = vcpu_get_owned(vcpu, out);
    if (ret != HV_SUCCESS)
        return ret;
    return (*out)->vm->intr ? HV_SUCCESS : HV_UNSUPPORTED;
}

hv_return_t x86_intr_create(struct vm *vm)
{
    (void)vm;
    return HV_UNSUPPORTED;
}

hv_return_t hv_vm_add_pio_notifier(uint16_t addr, size_t size, uint32_t value, mach_port_t mach_port,
                                   hv_ion_flags_t flags)
{
    (void)addr, (void)size, (void)value, (void)mach_port, (void)flags;
    return vm_current() ? HV_UNSUPPORTED : HV_BAD_ARGUMENT;
}

hv_return_t hv_vm_remove_pio_notifier(uint16_t addr, size_t size, uint32_t value, mach_port_t mach_port,
                                      hv_ion_flags_t flags)
{
    (void)addr, (void)size, (void)value, (void)mach_port, (void)flags;
    return vm_current() ? HV_UNSUPPORTED : HV_BAD_ARGUMENT;
}

#define VM_CALL(call)                                                                              \
    do {                                                                                           \
        struct vm *vm;                                                                             \
        hv_return_t r = vm_intr(&vm);                                                              \
        return r != HV_SUCCESS ? r : (call);                                                       \
    } while (0)
#define VCPU_CALL(id, call)                                                                        \
    do {                                                                                           \
        struct vcpu *v;                                                                            \
        hv_return_t r = vcpu_intr(id, &v);                                                         \
        return r != HV_SUCCESS ? r : (call);                                                       \
    } while (0)

hv_return_t hv_vm_lapic_set_intr(hv_vcpuid_t vcpu, uint8_t vector, hv_apic_intr_trigger_t trig)
{
    (void)vcpu, (void)vector, (void)trig;
    VM_CALL(HV_UNSUPPORTED);
}
hv_return_t hv_vm_lapic_msi(uint64_t addr, uint64_t data)
{
    (void)addr, (void)data;
    VM_CALL(HV_UNSUPPORTED);
}
hv_return_t hv_vm_ioapic_assert_irq(int intin) { (void)intin; VM_CALL(HV_UNSUPPORTED); }
hv_return_t hv_vm_ioapic_deassert_irq(int intin) { (void)intin; VM_CALL(HV_UNSUPPORTED); }
hv_return_t hv_vm_ioapic_pulse_irq(int intin) { (void)intin; VM_CALL(HV_UNSUPPORTED); }
hv_return_t hv_vm_ioapic_read(hv_gpaddr_t gpa, uint32_t *datap) { (void)gpa, (void)datap; VM_CALL(HV_UNSUPPORTED); }
hv_return_t hv_vm_ioapic_write(hv_gpaddr_t gpa, uint32_t data) { (void)gpa, (void)data; VM_CALL(HV_UNSUPPORTED); }
hv_return_t hv_vm_ioapic_get_state(hv_ioapic_state_ext_t *state) { (void)state; VM_CALL(HV_UNSUPPORTED); }
hv_return_t hv_vm_ioapic_put_state(const hv_ioapic_state_ext_t *state) { (void)state; VM_CALL(HV_UNSUPPORTED); }
hv_return_t hv_vm_send_ioapic_intr(uint64_t data) { (void)data; VM_CALL(HV_UNSUPPORTED); }
hv_return_t hv_vm_atpic_assert_irq(int irq) { (void)irq; VM_CALL(HV_UNSUPPORTED); }
hv_return_t hv_vm_atpic_deassert_irq(int irq) { (void)irq; VM_CALL(HV_UNSUPPORTED); }
hv_return_t hv_vm_atpic_port_read(int port, uint8_t *valuep) { (void)port, (void)valuep; VM_CALL(HV_UNSUPPORTED); }
hv_return_t hv_vm_atpic_port_write(int port, uint8_t value) { (void)port, (void)value; VM_CALL(HV_UNSUPPORTED); }
hv_return_t hv_vm_atpic_get_state(hv_atpic_state_ext_t *state, bool is_primary)
{
    (void)state, (void)is_primary;
    VM_CALL(HV_UNSUPPORTED);
}
hv_return_t hv_vm_atpic_put_state(const hv_atpic_state_ext_t *state, bool is_primary)
{
    (void)state, (void)is_primary;
    VM_CALL(HV_UNSUPPORTED);
}
hv_return_t hv_vm_set_apic_bus_freq(uint64_t freq) { (void)freq; VM_CALL(HV_UNSUPPORTED); }

hv_return_t hv_vcpu_inject_extint(hv_vcpuid_t vcpu) { VCPU_CALL(vcpu, HV_UNSUPPORTED); }
hv_return_t hv_vcpu_apic_read(hv_vcpuid_t vcpu, uint32_t offset, uint32_t *data)
{
    (void)offset, (void)data;
    VCPU_CALL(vcpu, HV_UNSUPPORTED);
}
hv_return_t hv_vcpu_apic_write(hv_vcpuid_t vcpu, uint32_t offset, uint32_t data, bool *no_side_effect)
{
    (void)offset, (void)data, (void)no_side_effect;
    VCPU_CALL(vcpu, HV_UNSUPPORTED);
}
hv_return_t hv_vcpu_apic_get_state(hv_vcpuid_t vcpu, hv_apic_state_ext_t *state)
{
    (void)state;
    VCPU_CALL(vcpu, HV_UNSUPPORTED);
}
hv_return_t hv_vcpu_apic_put_state(hv_vcpuid_t vcpu, const hv_apic_state_ext_t *state)
{
    (void)state;
    VCPU_CALL(vcpu, HV_UNSUPPORTED);
}
hv_return_t hv_vcpu_exit_info(hv_vcpuid_t vcpu, hv_vm_exitinfo_t *code)
{
    (void)code;
    VCPU_CALL(vcpu, HV_UNSUPPORTED);
}
hv_return_t hv_vcpu_exit_init_ap(hv_vcpuid_t vcpu, bool is_actv[], unsigned count)
{
    (void)is_actv, (void)count;
    VCPU_CALL(vcpu, HV_UNSUPPORTED);
}
hv_return_t hv_vcpu_exit_startup_ap(hv_vcpuid_t vcpu, bool is_actv[], unsigned count, uint64_t *ap_rip)
{
    (void)is_actv, (void)count, (void)ap_rip;
    VCPU_CALL(vcpu, HV_UNSUPPORTED);
}
hv_return_t hv_vcpu_exit_ioapic_eoi(hv_vcpuid_t vcpu, uint8_t *vec) { (void)vec; VCPU_CALL(vcpu, HV_UNSUPPORTED); }
hv_return_t hv_vcpu_exit_apic_access_read(hv_vcpuid_t vcpu, uint32_t *value)
{
    (void)value;
    VCPU_CALL(vcpu, HV_UNSUPPORTED);
}
hv_return_t hv_vcpu_exit_inject_excp(hv_vcpuid_t vcpu, uint8_t *vec, bool *valid, uint32_t *code, bool *restart)
{
    (void)vec, (void)valid, (void)code, (void)restart;
    VCPU_CALL(vcpu, HV_UNSUPPORTED);
}
hv_return_t hv_vcpu_apic_lsc_enter_r32(hv_vcpuid_t vcpu, bool is_load, uint64_t rip, unsigned ilen, uint16_t cs,
                                       hv_x86_reg_t reg, uint64_t uva[], unsigned count)
{
    (void)is_load, (void)rip, (void)ilen, (void)cs, (void)reg, (void)uva, (void)count;
    VCPU_CALL(vcpu, HV_UNSUPPORTED);
}
hv_return_t hv_vcpu_apic_lsc_enter_imm32(hv_vcpuid_t vcpu, uint64_t rip, unsigned ilen, uint16_t cs, uint32_t imm32,
                                         uint64_t uva[], unsigned count)
{
    (void)rip, (void)ilen, (void)cs, (void)imm32, (void)uva, (void)count;
    VCPU_CALL(vcpu, HV_UNSUPPORTED);
}
hv_return_t hv_vcpu_apic_lsc_invalidate(hv_vcpuid_t vcpu) { VCPU_CALL(vcpu, HV_UNSUPPORTED); }
hv_return_t hv_vcpu_apic_ctrl(hv_vcpuid_t vcpu, hv_apic_ctrl_t ctrls) { (void)ctrls; VCPU_CALL(vcpu, HV_UNSUPPORTED); }
hv_return_t hv_vcpu_apic_trigger_lvt(hv_vcpuid_t vcpu, hv_apic_lvt_flavor_t flavor)
{
    (void)flavor;
    VCPU_CALL(vcpu, HV_UNSUPPORTED);
}
