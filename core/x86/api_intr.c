/* Intel flavour, in-framework interrupt controllers (hv.h / hv_intr.h): a local APIC
 * per vCPU, the IOAPIC and the 8259 pair, for VMs created with HV_VM_ACCEL_APIC; and
 * the port-I/O notifiers, which need Mach ports and are not offered on Linux.
 * Without HV_VM_ACCEL_APIC every call here answers HV_UNSUPPORTED (after checking
 * the VM / vCPU it names), so a client sees exactly the VMX exits it always did. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include "core/x86/intr.h"
#include "core/x86/x86.h"

/* HV_BAD_ARGUMENT without a VM, HV_UNSUPPORTED without the devices, else HV_SUCCESS.
 * The VM-level calls below run as <name>_held(vm_hold(), ...) followed by
 * vm_release(): any thread may call them, and hv_vm_destroy waits until they finish
 * (after it, they see no VM). */
static hv_return_t vm_intr(const struct vm *vm)
{
    if (!vm || vm->arch != GUEST_X86_64)
        return HV_BAD_ARGUMENT;
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

/* Run `body` with the VM's device lock held. */
#define LOCKED(in, body)                                                                           \
    do {                                                                                           \
        pthread_mutex_lock(&(in)->lock);                                                           \
        body;                                                                                      \
        pthread_mutex_unlock(&(in)->lock);                                                         \
    } while (0)

static hv_return_t lapic_set_intr_held(struct vm *vm, hv_vcpuid_t vcpu, uint8_t vector, hv_apic_intr_trigger_t trig)
{
    hv_return_t ret = vm_intr(vm);
    if (ret != HV_SUCCESS)
        return ret;
    if (trig > HV_APIC_LEVEL_TRIGGER)
        return HV_BAD_ARGUMENT;
    struct x86_intr *in = vm->intr;
    LOCKED(in, {
        struct x86_lapic *a = intr_lapic(vm, vcpu);
        if (!a)
            ret = HV_BAD_ARGUMENT;
        else if (lapic_set_irr(a, vector, trig == HV_APIC_LEVEL_TRIGGER, trig == HV_APIC_EDGE_TRIGGER_AEOI))
            intr_kick(a);
    });
    return ret;
}

hv_return_t hv_vm_lapic_set_intr(hv_vcpuid_t vcpu, uint8_t vector, hv_apic_intr_trigger_t trig)
{
    hv_return_t ret = lapic_set_intr_held(vm_hold(), vcpu, vector, trig);
    vm_release();
    return ret;
}

/* x86 MSI: address 0xfeeXXXXX with the destination in bits 19:12 and the logical
 * bit at 2; data with the vector, delivery mode and trigger mode. */
#define MSI_ADDR_BASE_MASK 0xfff00000ull
#define MSI_ADDR_BASE 0xfee00000ull
#define MSI_ADDR_DEST_SHIFT 12
#define MSI_ADDR_LOGICAL (1ull << 2)
#define MSI_DATA_MODE_SHIFT 8
#define MSI_DATA_LEVEL (1ull << 15)

static hv_return_t lapic_msi_held(struct vm *vm, uint64_t addr, uint64_t data)
{
    hv_return_t ret = vm_intr(vm);
    if (ret != HV_SUCCESS)
        return ret;
    if ((addr & MSI_ADDR_BASE_MASK) != MSI_ADDR_BASE)
        return HV_BAD_ARGUMENT;
    struct x86_intr *in = vm->intr;
    LOCKED(in, intr_deliver(vm, in, (uint32_t)(addr >> MSI_ADDR_DEST_SHIFT) & 0xff, (addr & MSI_ADDR_LOGICAL) != 0,
                            (uint32_t)(data >> MSI_DATA_MODE_SHIFT) & 7, (uint8_t)data, (data & MSI_DATA_LEVEL) != 0,
                            NULL));
    return HV_SUCCESS;
}

hv_return_t hv_vm_lapic_msi(uint64_t addr, uint64_t data)
{
    hv_return_t ret = lapic_msi_held(vm_hold(), addr, data);
    vm_release();
    return ret;
}

static hv_return_t ioapic_pin_held(struct vm *vm, int intin, bool level, bool pulse)
{
    hv_return_t ret = vm_intr(vm);
    if (ret != HV_SUCCESS)
        return ret;
    if (intin < 0)
        return HV_BAD_ARGUMENT;
    struct x86_intr *in = vm->intr;
    LOCKED(in, {
        ret = ioapic_set_pin(vm, in, (unsigned)intin, level);
        if (ret == HV_SUCCESS && pulse)
            ret = ioapic_set_pin(vm, in, (unsigned)intin, false);
    });
    return ret;
}

static hv_return_t ioapic_pin(int intin, bool level, bool pulse)
{
    hv_return_t ret = ioapic_pin_held(vm_hold(), intin, level, pulse);
    vm_release();
    return ret;
}

hv_return_t hv_vm_ioapic_assert_irq(int intin) { return ioapic_pin(intin, true, false); }
hv_return_t hv_vm_ioapic_deassert_irq(int intin) { return ioapic_pin(intin, false, false); }
hv_return_t hv_vm_ioapic_pulse_irq(int intin) { return ioapic_pin(intin, true, true); }

/* The IOAPIC page: IOAPIC_DEFAULT_BASE, 32-bit registers at 16-byte steps. */
static bool ioapic_offset(hv_gpaddr_t gpa, uint64_t *off)
{
    *off = gpa - IOAPIC_DEFAULT_BASE;
    return gpa >= IOAPIC_DEFAULT_BASE && *off < 0x100 && !(*off & 3);
}

static hv_return_t ioapic_read_held(struct vm *vm, hv_gpaddr_t gpa, uint32_t *datap)
{
    hv_return_t ret = vm_intr(vm);
    uint64_t off;
    if (ret != HV_SUCCESS)
        return ret;
    if (!datap || !ioapic_offset(gpa, &off))
        return HV_BAD_ARGUMENT;
    struct x86_intr *in = vm->intr;
    LOCKED(in, ret = ioapic_mmio_read(&in->ioapic, off, datap));
    return ret;
}

hv_return_t hv_vm_ioapic_read(hv_gpaddr_t gpa, uint32_t *datap)
{
    hv_return_t ret = ioapic_read_held(vm_hold(), gpa, datap);
    vm_release();
    return ret;
}

static hv_return_t ioapic_write_held(struct vm *vm, hv_gpaddr_t gpa, uint32_t data)
{
    hv_return_t ret = vm_intr(vm);
    uint64_t off;
    if (ret != HV_SUCCESS)
        return ret;
    if (!ioapic_offset(gpa, &off))
        return HV_BAD_ARGUMENT;
    struct x86_intr *in = vm->intr;
    LOCKED(in, ret = ioapic_mmio_write(vm, in, off, data));
    return ret;
}

hv_return_t hv_vm_ioapic_write(hv_gpaddr_t gpa, uint32_t data)
{
    hv_return_t ret = ioapic_write_held(vm_hold(), gpa, data);
    vm_release();
    return ret;
}

static hv_return_t ioapic_get_state_held(struct vm *vm, hv_ioapic_state_ext_t *state)
{
    hv_return_t ret = vm_intr(vm);
    if (ret != HV_SUCCESS)
        return ret;
    if (!state || state->version != HV_IOAPIC_STATE_EXT_VER)
        return HV_BAD_ARGUMENT;
    struct x86_intr *in = vm->intr;
    LOCKED(in, state->state = in->ioapic.s);
    return HV_SUCCESS;
}

hv_return_t hv_vm_ioapic_get_state(hv_ioapic_state_ext_t *state)
{
    hv_return_t ret = ioapic_get_state_held(vm_hold(), state);
    vm_release();
    return ret;
}

static hv_return_t ioapic_put_state_held(struct vm *vm, const hv_ioapic_state_ext_t *state)
{
    hv_return_t ret = vm_intr(vm);
    if (ret != HV_SUCCESS)
        return ret;
    if (!state || state->version != HV_IOAPIC_STATE_EXT_VER)
        return HV_BAD_ARGUMENT;
    struct x86_intr *in = vm->intr;
    LOCKED(in, ret = ioapic_put_state(&in->ioapic, &state->state));
    return ret;
}

hv_return_t hv_vm_ioapic_put_state(const hv_ioapic_state_ext_t *state)
{
    hv_return_t ret = ioapic_put_state_held(vm_hold(), state);
    vm_release();
    return ret;
}

#define RTE_MODE_SHIFT 8
#define RTE_LOGICAL (1ull << 11)
#define RTE_LEVEL (1ull << 15)
#define RTE_DEST_SHIFT 56

static hv_return_t send_ioapic_intr_held(struct vm *vm, uint64_t data)
{
    hv_return_t ret = vm_intr(vm);
    if (ret != HV_SUCCESS)
        return ret;
    struct x86_intr *in = vm->intr;
    LOCKED(in, intr_deliver(vm, in, (uint32_t)(data >> RTE_DEST_SHIFT), (data & RTE_LOGICAL) != 0,
                            (uint32_t)(data >> RTE_MODE_SHIFT) & 7, (uint8_t)data, (data & RTE_LEVEL) != 0, NULL));
    return HV_SUCCESS;
}

hv_return_t hv_vm_send_ioapic_intr(uint64_t data)
{
    hv_return_t ret = send_ioapic_intr_held(vm_hold(), data);
    vm_release();
    return ret;
}

#define ATPIC_IRQS 16

/* An 8259 pin changed: the BSP may now take an ExtINT. */
static hv_return_t atpic_pin_held(struct vm *vm, int irq, bool level)
{
    hv_return_t ret = vm_intr(vm);
    if (ret != HV_SUCCESS)
        return ret;
    if (irq < 0 || irq >= ATPIC_IRQS)
        return HV_BAD_ARGUMENT;
    struct x86_intr *in = vm->intr;
    LOCKED(in, {
        atpic_set_pin(in, (unsigned)irq, level);
        struct x86_lapic *bsp = intr_lapic(vm, 0);
        if (bsp && atpic_int_output(in))
            intr_kick(bsp);
    });
    return HV_SUCCESS;
}

static hv_return_t atpic_pin(int irq, bool level)
{
    hv_return_t ret = atpic_pin_held(vm_hold(), irq, level);
    vm_release();
    return ret;
}

hv_return_t hv_vm_atpic_assert_irq(int irq) { return atpic_pin(irq, true); }
hv_return_t hv_vm_atpic_deassert_irq(int irq) { return atpic_pin(irq, false); }

static hv_return_t atpic_port_read_held(struct vm *vm, int port, uint8_t *valuep)
{
    hv_return_t ret = vm_intr(vm);
    if (ret != HV_SUCCESS)
        return ret;
    if (!valuep)
        return HV_BAD_ARGUMENT;
    struct x86_intr *in = vm->intr;
    LOCKED(in, ret = atpic_port_read(in, port, valuep));
    return ret;
}

hv_return_t hv_vm_atpic_port_read(int port, uint8_t *valuep)
{
    hv_return_t ret = atpic_port_read_held(vm_hold(), port, valuep);
    vm_release();
    return ret;
}

static hv_return_t atpic_port_write_held(struct vm *vm, int port, uint8_t value)
{
    hv_return_t ret = vm_intr(vm);
    if (ret != HV_SUCCESS)
        return ret;
    struct x86_intr *in = vm->intr;
    LOCKED(in, {
        ret = atpic_port_write(in, port, value);
        struct x86_lapic *bsp = intr_lapic(vm, 0);
        if (ret == HV_SUCCESS && bsp && atpic_int_output(in))
            intr_kick(bsp);
    });
    return ret;
}

hv_return_t hv_vm_atpic_port_write(int port, uint8_t value)
{
    hv_return_t ret = atpic_port_write_held(vm_hold(), port, value);
    vm_release();
    return ret;
}

static hv_return_t atpic_get_state_held(struct vm *vm, hv_atpic_state_ext_t *state, bool is_primary)
{
    hv_return_t ret = vm_intr(vm);
    if (ret != HV_SUCCESS)
        return ret;
    if (!state || state->version != HV_ATPIC_STATE_EXT_VER)
        return HV_BAD_ARGUMENT;
    struct x86_intr *in = vm->intr;
    LOCKED(in, state->state = in->pic[is_primary ? 0 : 1].s);
    return HV_SUCCESS;
}

hv_return_t hv_vm_atpic_get_state(hv_atpic_state_ext_t *state, bool is_primary)
{
    hv_return_t ret = atpic_get_state_held(vm_hold(), state, is_primary);
    vm_release();
    return ret;
}

static hv_return_t atpic_put_state_held(struct vm *vm, const hv_atpic_state_ext_t *state, bool is_primary)
{
    hv_return_t ret = vm_intr(vm);
    if (ret != HV_SUCCESS)
        return ret;
    if (!state || state->version != HV_ATPIC_STATE_EXT_VER)
        return HV_BAD_ARGUMENT;
    struct x86_intr *in = vm->intr;
    LOCKED(in, {
        ret = atpic_put_state(&in->pic[is_primary ? 0 : 1], &state->state);
        atpic_update(in);
    });
    return ret;
}

hv_return_t hv_vm_atpic_put_state(const hv_atpic_state_ext_t *state, bool is_primary)
{
    hv_return_t ret = atpic_put_state_held(vm_hold(), state, is_primary);
    vm_release();
    return ret;
}

static hv_return_t set_apic_bus_freq_held(struct vm *vm, uint64_t freq)
{
    hv_return_t ret = vm_intr(vm);
    if (ret != HV_SUCCESS)
        return ret;
    if (freq < LAPIC_BUS_HZ_MIN || freq > LAPIC_BUS_HZ_MAX)
        return HV_BAD_ARGUMENT;
    struct x86_intr *in = vm->intr;
    pthread_mutex_lock(&vm->lock);
    if (vm->vcpu_count)
        ret = HV_BUSY;   /* only while the VM has no vCPU */
    else
        LOCKED(in, in->bus_hz = freq);
    pthread_mutex_unlock(&vm->lock);
    return ret;
}

hv_return_t hv_vm_set_apic_bus_freq(uint64_t freq)
{
    hv_return_t ret = set_apic_bus_freq_held(vm_hold(), freq);
    vm_release();
    return ret;
}

/* ---- vCPU calls ---- */

/* The owned vCPU's APIC with the device lock taken; unlock with done(). */
static hv_return_t own_apic(hv_vcpuid_t vcpu, struct x86_intr **in, struct x86_lapic **a)
{
    struct vcpu *v;
    hv_return_t ret = vcpu_intr(vcpu, &v);
    if (ret != HV_SUCCESS)
        return ret;
    *in = v->vm->intr;
    *a = v->ext.x86.lapic;
    pthread_mutex_lock(&(*in)->lock);
    return HV_SUCCESS;
}

static hv_return_t done(struct x86_intr *in, hv_return_t ret)
{
    pthread_mutex_unlock(&in->lock);
    return ret;
}

hv_return_t hv_vcpu_inject_extint(hv_vcpuid_t vcpu)
{
    struct x86_intr *in;
    struct x86_lapic *a;
    hv_return_t ret = own_apic(vcpu, &in, &a);
    if (ret != HV_SUCCESS)
        return ret;
    if (a->extint_pending)
        return done(in, HV_BUSY);   /* one at a time */
    a->extint_pending = true;
    return done(in, HV_SUCCESS);
}

hv_return_t hv_vcpu_apic_read(hv_vcpuid_t vcpu, uint32_t offset, uint32_t *data)
{
    struct x86_intr *in;
    struct x86_lapic *a;
    hv_return_t ret = own_apic(vcpu, &in, &a);
    if (ret != HV_SUCCESS)
        return ret;
    if (!data)
        return done(in, HV_BAD_ARGUMENT);
    return done(in, lapic_read(in, a, offset, data));
}

hv_return_t hv_vcpu_apic_write(hv_vcpuid_t vcpu, uint32_t offset, uint32_t data, bool *no_side_effect)
{
    struct x86_intr *in;
    struct x86_lapic *a;
    hv_return_t ret = own_apic(vcpu, &in, &a);
    if (ret != HV_SUCCESS)
        return ret;
    if (!no_side_effect)
        return done(in, HV_BAD_ARGUMENT);
    bool client = false;
    a->exit.kind = HV_VM_EXITINFO_VMX;
    ret = lapic_write(in, a, offset, data, &client);
    *no_side_effect = !client;
    return done(in, ret);
}

hv_return_t hv_vcpu_apic_get_state(hv_vcpuid_t vcpu, hv_apic_state_ext_t *state)
{
    struct x86_intr *in;
    struct x86_lapic *a;
    hv_return_t ret = own_apic(vcpu, &in, &a);
    if (ret != HV_SUCCESS)
        return ret;
    if (!state || state->version != HV_APIC_STATE_EXT_VER)
        return done(in, HV_BAD_ARGUMENT);
    lapic_get_state(in, a, &state->state);
    return done(in, HV_SUCCESS);
}

hv_return_t hv_vcpu_apic_put_state(hv_vcpuid_t vcpu, const hv_apic_state_ext_t *state)
{
    struct x86_intr *in;
    struct x86_lapic *a;
    hv_return_t ret = own_apic(vcpu, &in, &a);
    if (ret != HV_SUCCESS)
        return ret;
    if (!state || state->version != HV_APIC_STATE_EXT_VER)
        return done(in, HV_BAD_ARGUMENT);
    return done(in, lapic_put_state(in, a, &state->state));
}

hv_return_t hv_vcpu_exit_info(hv_vcpuid_t vcpu, hv_vm_exitinfo_t *code)
{
    struct x86_intr *in;
    struct x86_lapic *a;
    hv_return_t ret = own_apic(vcpu, &in, &a);
    if (ret != HV_SUCCESS)
        return ret;
    if (!code)
        return done(in, HV_BAD_ARGUMENT);
    *code = a->exit.kind;
    return done(in, HV_SUCCESS);
}

/* Copy the INIT / SIPI targets of the last exit, if it was `kind`. */
static hv_return_t exit_targets(hv_vcpuid_t vcpu, hv_vm_exitinfo_t kind, bool is_actv[], unsigned count,
                                uint64_t *ap_rip)
{
    struct x86_intr *in;
    struct x86_lapic *a;
    hv_return_t ret = own_apic(vcpu, &in, &a);
    if (ret != HV_SUCCESS)
        return ret;
    if (!is_actv || a->exit.kind != kind)
        return done(in, HV_BAD_ARGUMENT);
    for (unsigned i = 0; i < count; i++)
        is_actv[i] = i < ANYHV_MAX_VCPUS && a->exit.targets[i];
    if (ap_rip)
        *ap_rip = (uint64_t)a->exit.vector << 12;
    return done(in, HV_SUCCESS);
}

hv_return_t hv_vcpu_exit_init_ap(hv_vcpuid_t vcpu, bool is_actv[], unsigned count)
{
    return exit_targets(vcpu, HV_VM_EXITINFO_INIT_AP, is_actv, count, NULL);
}

hv_return_t hv_vcpu_exit_startup_ap(hv_vcpuid_t vcpu, bool is_actv[], unsigned count, uint64_t *ap_rip)
{
    if (!ap_rip)
        return HV_BAD_ARGUMENT;
    return exit_targets(vcpu, HV_VM_EXITINFO_STARTUP_AP, is_actv, count, ap_rip);
}

hv_return_t hv_vcpu_exit_ioapic_eoi(hv_vcpuid_t vcpu, uint8_t *vec)
{
    struct x86_intr *in;
    struct x86_lapic *a;
    hv_return_t ret = own_apic(vcpu, &in, &a);
    if (ret != HV_SUCCESS)
        return ret;
    if (!vec || a->exit.kind != HV_VM_EXITINFO_IOAPIC_EOI)
        return done(in, HV_BAD_ARGUMENT);
    *vec = a->exit.vector;
    return done(in, HV_SUCCESS);
}

hv_return_t hv_vcpu_exit_apic_access_read(hv_vcpuid_t vcpu, uint32_t *value)
{
    struct x86_intr *in;
    struct x86_lapic *a;
    hv_return_t ret = own_apic(vcpu, &in, &a);
    if (ret != HV_SUCCESS)
        return ret;
    if (!value || a->exit.kind != HV_VM_EXITINFO_APIC_ACCESS_READ)
        return done(in, HV_BAD_ARGUMENT);
    *value = a->exit_read_value;
    return done(in, HV_SUCCESS);
}

/* anyhv's APIC never asks the client to inject an exception: illegal APIC MSR accesses
 * get their #GP inside hv_vcpu_run. */
hv_return_t hv_vcpu_exit_inject_excp(hv_vcpuid_t vcpu, uint8_t *vec, bool *valid, uint32_t *code, bool *restart)
{
    struct x86_intr *in;
    struct x86_lapic *a;
    hv_return_t ret = own_apic(vcpu, &in, &a);
    if (ret != HV_SUCCESS)
        return ret;
    if (!vec || !valid || !code || !restart || a->exit.kind != HV_VM_EXITINFO_INJECT_EXCP)
        return done(in, HV_BAD_ARGUMENT);
    return done(in, HV_SUCCESS);
}

/* The load-store cache: anyhv completes APIC accesses through the client (APIC-access
 * exits) and keeps no cache; the calls check their arguments and succeed. */
#define LSC_MAX_PAGES 2u
#define X86_MAX_INSN_LEN 15u

hv_return_t hv_vcpu_apic_lsc_enter_r32(hv_vcpuid_t vcpu, bool is_load, uint64_t rip, unsigned ilen, uint16_t cs,
                                       hv_x86_reg_t reg, uint64_t uva[], unsigned count)
{
    (void)is_load, (void)rip, (void)cs, (void)uva;
    struct x86_intr *in;
    struct x86_lapic *a;
    hv_return_t ret = own_apic(vcpu, &in, &a);
    if (ret != HV_SUCCESS)
        return ret;
    bool bad = ilen == 0 || ilen > X86_MAX_INSN_LEN || count > LSC_MAX_PAGES || (unsigned)reg >= HV_X86_REGISTERS_MAX;
    return done(in, bad ? HV_BAD_ARGUMENT : HV_SUCCESS);
}

hv_return_t hv_vcpu_apic_lsc_enter_imm32(hv_vcpuid_t vcpu, uint64_t rip, unsigned ilen, uint16_t cs, uint32_t imm32,
                                         uint64_t uva[], unsigned count)
{
    (void)rip, (void)cs, (void)imm32, (void)uva;
    struct x86_intr *in;
    struct x86_lapic *a;
    hv_return_t ret = own_apic(vcpu, &in, &a);
    if (ret != HV_SUCCESS)
        return ret;
    return done(in, ilen == 0 || ilen > X86_MAX_INSN_LEN || count > LSC_MAX_PAGES ? HV_BAD_ARGUMENT : HV_SUCCESS);
}

hv_return_t hv_vcpu_apic_lsc_invalidate(hv_vcpuid_t vcpu)
{
    struct x86_intr *in;
    struct x86_lapic *a;
    hv_return_t ret = own_apic(vcpu, &in, &a);
    return ret != HV_SUCCESS ? ret : done(in, HV_SUCCESS);
}

#define APIC_CTRL_ALL                                                                                  \
    (HV_APIC_CTRL_EOI_ICR_TPR | HV_APIC_CTRL_GUEST_IDLE | HV_APIC_CTRL_NO_TIMER | HV_APIC_CTRL_IOAPIC_EOI)

hv_return_t hv_vcpu_apic_ctrl(hv_vcpuid_t vcpu, hv_apic_ctrl_t ctrls)
{
    struct x86_intr *in;
    struct x86_lapic *a;
    hv_return_t ret = own_apic(vcpu, &in, &a);
    if (ret != HV_SUCCESS)
        return ret;
    if (ctrls & ~(hv_apic_ctrl_t)APIC_CTRL_ALL)
        return done(in, HV_BAD_ARGUMENT);
    /* EOI_ICR_TPR and GUEST_IDLE name MSRs Apple does not document: accepted, inert. */
    a->s.apic_controls = ctrls;
    return done(in, HV_SUCCESS);
}

hv_return_t hv_vcpu_apic_trigger_lvt(hv_vcpuid_t vcpu, hv_apic_lvt_flavor_t flavor)
{
    struct x86_intr *in;
    struct x86_lapic *a;
    hv_return_t ret = own_apic(vcpu, &in, &a);
    if (ret != HV_SUCCESS)
        return ret;
    if (flavor != HV_APIC_LVT_FLAVOR_TIMER)
        return done(in, HV_BAD_ARGUMENT);
    uint32_t lvt = a->s.lvt[LVT_TIMER];
    if (!(lvt & (1u << 16)))
        lapic_set_irr(a, (uint8_t)lvt, false, false);
    return done(in, HV_SUCCESS);
}
