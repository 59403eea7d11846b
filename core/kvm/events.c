/* KVM backend: the VMX controls that act at VM entry. The entry interruption
 * information (external interrupt, NMI, hardware exception; software events after
 * advancing RIP by the entry instruction length) goes in as an event KVM delivers
 * on entry, ignoring RFLAGS.IF as VMX injection does; interrupt-window exiting
 * becomes KVM's request_interrupt_window; a #BP in the exception bitmap becomes
 * KVM's software-breakpoint intercept (the only exception KVM hands to user space). */
#include "core/kvm/kvm.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

/* x86 DR7: local enable of breakpoint i; RW/LEN 00 (instruction breakpoint). */
#define DR7_LOCAL_ENABLE(i) (1ull << (2 * (i)))

/* What KVM_SET_GUEST_DEBUG must say now: #BP in the exception bitmap (the INT3
 * intercept), anyhv's breakpoints in the four debug registers, and single-step for an
 * instruction budget of one (anyhv_vcpu_set_instruction_budget). */
static void guest_debug_wanted(const struct vcpu *v, struct kvm_guest_debug *dbg)
{
    memset(dbg, 0, sizeof(*dbg));
    if (v->st.x86->vmx.exc_bitmap & (1u << X86_EXC_BP))
        dbg->control |= KVM_GUESTDBG_USE_SW_BP;
    for (uint32_t i = 0; i < v->dbg.nbp && i < KVM_HW_BREAKPOINTS; i++) {
        dbg->arch.debugreg[i] = v->dbg.bp[i];
        dbg->arch.debugreg[7] |= DR7_LOCAL_ENABLE(i);
        dbg->control |= KVM_GUESTDBG_USE_HW_BP;
    }
    if (v->insn_budget == 1)
        dbg->control |= KVM_GUESTDBG_SINGLESTEP;
    if (dbg->control)
        dbg->control |= KVM_GUESTDBG_ENABLE;
}

static hv_return_t guest_debug_sync(struct vcpu *v)
{
    struct kvm_vcpu *kv = v->be;
    struct kvm_guest_debug want;
    guest_debug_wanted(v, &want);
    if (!memcmp(&want, &kv->guest_debug, sizeof(want)))
        return HV_SUCCESS;
    if (ioctl(kv->fd, KVM_SET_GUEST_DEBUG, &want) < 0)
        return HV_ERROR;
    kv->guest_debug = want;
    return HV_SUCCESS;
}

/* Software events return past their instruction: advance RIP as VMX does with the
 * VM-entry instruction length. */
static hv_return_t skip_entry_instruction(struct vcpu *v)
{
    struct kvm_regs r;
    hv_return_t ret = kvm_regs_get(v, &r);
    if (ret != HV_SUCCESS)
        return ret;
    r.rip += v->st.x86->vmx.entry_instr_len;
    ret = kvm_regs_set(v, &r);
    v->state_valid &= ~(uint32_t)SG_GPR;
    return ret;
}

static hv_return_t inject(struct vcpu *v, uint32_t info)
{
    struct x86_state *st = v->st.x86;
    uint32_t type = (info & X86_VMX_INFO_TYPE_MASK) >> X86_VMX_INFO_TYPE_SHIFT;
    uint8_t vector = (uint8_t)(info & X86_VMX_INFO_VECTOR_MASK);
    struct kvm_vcpu_events e;
    hv_return_t got = kvm_events_get(v, &e);
    if (got != HV_SUCCESS)
        return got;
    e.flags = 0;   /* leave shadow, pending NMI, SIPI and SMM as they are */
    if (type == X86_EVENT_SOFT_IRQ || type == X86_EVENT_PRIV_SOFT_EXC || type == X86_EVENT_SOFT_EXC) {
        hv_return_t ret = skip_entry_instruction(v);
        if (ret != HV_SUCCESS)
            return ret;
    }
    switch (type) {
    case X86_EVENT_EXT_IRQ:
    case X86_EVENT_SOFT_IRQ:
    case X86_EVENT_PRIV_SOFT_EXC:
        e.interrupt.injected = 1;
        e.interrupt.nr = vector;
        e.interrupt.soft = 0;
        break;
    case X86_EVENT_NMI:
        e.nmi.injected = 1;
        break;
    case X86_EVENT_HARD_EXC:
    case X86_EVENT_SOFT_EXC:
        e.exception.injected = 1;
        e.exception.nr = vector;
        e.exception.has_error_code = (info & X86_VMX_INFO_ERROR_VALID) != 0;
        e.exception.error_code = st->vmx.entry_exc_error;
        break;
    default:
        return HV_ILLEGAL_GUEST_STATE;   /* reserved interruption type: VM entry would fail */
    }
    hv_return_t ret = kvm_events_set(v, &e);
    v->state_valid &= ~(uint32_t)SG_EVENTS;
    return ret;
}

hv_return_t kvm_events_before_entry(struct vcpu *v)
{
    struct kvm_vcpu *kv = v->be;
    struct x86_state *st = v->st.x86;
    kv->run->request_interrupt_window = (st->vmx.cpu_based & X86_VMX_CPU_IRQ_WND) != 0;
    hv_return_t ret = guest_debug_sync(v);
    if (ret != HV_SUCCESS)
        return ret;
    uint32_t info = st->vmx.entry_irq_info;
    if (!(info & X86_VMX_INFO_VALID))
        return HV_SUCCESS;
    if (!x86_entry_event_valid(info))
        return HV_ILLEGAL_GUEST_STATE;   /* VM entry fails; the field stays as written */
    ret = inject(v, info);
    if (ret != HV_SUCCESS)
        return ret;
    /* VMX clears the valid bit once the event is delivered; a delivered event also
     * ends a HLT activity state. */
    st->vmx.entry_irq_info &= ~X86_VMX_INFO_VALID;
    st->activity_state = X86_ACTIVITY_ACTIVE;
    return HV_SUCCESS;
}
