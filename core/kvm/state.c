/* KVM backend: struct x86_state <-> the kernel's vCPU state, one state group at a
 * time (GPRs, segments/control registers, XSAVE, XCR0, MSRs, debug registers,
 * interruptibility), so a client that reads RIP after an exit costs one ioctl and
 * a client that writes nothing costs none. Segment access rights are VMX format in
 * the struct and KVM's split fields in the kernel. */
#include "core/kvm/kvm.h"
#include "core/x86/x86.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

/* KVM_GET/SET_XSAVE region: the standard (non-compacted) XSAVE layout, 4 KiB. */
#define KVM_XSAVE_BYTES sizeof(struct kvm_xsave)
#define XCR_INDEX_XCR0 0u
/* Interruptibility bits (VMCS guest interruptibility state). */
#define INTR_BLOCK_STI (1u << 0)
#define INTR_BLOCK_MOV_SS (1u << 1)
#define INTR_BLOCK_NMI (1u << 3)

static struct kvm_vcpu *kvcpu(struct vcpu *v)
{
    return v->be;
}

static hv_return_t ioctl_err(void)
{
    return errno == EINVAL ? ANYHV_ERR_ILLEGAL_GUEST_STATE : errno == ENOMEM ? HV_NO_RESOURCES : HV_ERROR;
}

/* --- general registers ------------------------------------------------------ */

void kvm_state_take_regs(struct vcpu *v, const struct kvm_regs *r)
{
    uint64_t *g = v->st.x86->gpr;
    g[X86_RAX] = r->rax; g[X86_RCX] = r->rcx; g[X86_RDX] = r->rdx; g[X86_RBX] = r->rbx;
    g[X86_RSP] = r->rsp; g[X86_RBP] = r->rbp; g[X86_RSI] = r->rsi; g[X86_RDI] = r->rdi;
    g[X86_R8] = r->r8; g[X86_R9] = r->r9; g[X86_R10] = r->r10; g[X86_R11] = r->r11;
    g[X86_R12] = r->r12; g[X86_R13] = r->r13; g[X86_R14] = r->r14; g[X86_R15] = r->r15;
    v->st.x86->rip = r->rip;
    v->st.x86->rflags = r->rflags;
    v->state_valid |= SG_GPR;
}

static void regs_from_state(const struct x86_state *st, struct kvm_regs *r)
{
    const uint64_t *g = st->gpr;
    *r = (struct kvm_regs){
        .rax = g[X86_RAX], .rbx = g[X86_RBX], .rcx = g[X86_RCX], .rdx = g[X86_RDX],
        .rsi = g[X86_RSI], .rdi = g[X86_RDI], .rsp = g[X86_RSP], .rbp = g[X86_RBP],
        .r8 = g[X86_R8], .r9 = g[X86_R9], .r10 = g[X86_R10], .r11 = g[X86_R11],
        .r12 = g[X86_R12], .r13 = g[X86_R13], .r14 = g[X86_R14], .r15 = g[X86_R15],
        .rip = st->rip, .rflags = st->rflags,
    };
}

/* --- segments and control registers ----------------------------------------- */

static void seg_to_vmx(const struct kvm_segment *k, struct x86_segment *s)
{
    s->base = k->base;
    s->limit = k->limit;
    s->selector = k->selector;
    s->ar = (k->type & X86_AR_TYPE_MASK) | (k->s ? X86_AR_S : 0) | ((uint32_t)(k->dpl & 3) << X86_AR_DPL_SHIFT) |
            (k->present ? X86_AR_P : 0) | (k->avl ? X86_AR_AVL : 0) | (k->l ? X86_AR_L : 0) |
            (k->db ? X86_AR_DB : 0) | (k->g ? X86_AR_G : 0) | (k->unusable ? X86_AR_UNUSABLE : 0);
}

static void seg_from_vmx(const struct x86_segment *s, struct kvm_segment *k)
{
    *k = (struct kvm_segment){
        .base = s->base, .limit = s->limit, .selector = s->selector,
        .type = (uint8_t)(s->ar & X86_AR_TYPE_MASK),
        .s = !!(s->ar & X86_AR_S),
        .dpl = (uint8_t)((s->ar & X86_AR_DPL_MASK) >> X86_AR_DPL_SHIFT),
        .present = !!(s->ar & X86_AR_P),
        .avl = !!(s->ar & X86_AR_AVL),
        .l = !!(s->ar & X86_AR_L),
        .db = !!(s->ar & X86_AR_DB),
        .g = !!(s->ar & X86_AR_G),
        .unusable = !!(s->ar & X86_AR_UNUSABLE),
    };
}

/* kvm_sregs members in enum x86_seg_reg order. */
static struct kvm_segment *sreg_slot(struct kvm_sregs *k, int i)
{
    struct kvm_segment *order[X86_SEG_COUNT] = { &k->es, &k->cs, &k->ss, &k->ds, &k->fs, &k->gs, &k->ldt, &k->tr };
    return order[i];
}

void kvm_state_take_sregs(struct vcpu *v, const struct kvm_sregs *k)
{
    struct x86_state *st = v->st.x86;
    struct kvm_sregs copy = *k;
    for (int i = 0; i < X86_SEG_COUNT; i++)
        seg_to_vmx(sreg_slot(&copy, i), &st->seg[i]);
    st->gdtr.base = k->gdt.base;
    st->gdtr.limit = k->gdt.limit;
    st->idtr.base = k->idt.base;
    st->idtr.limit = k->idt.limit;
    st->cr0 = k->cr0;
    st->cr2 = k->cr2;
    st->cr3 = k->cr3;
    /* VMXE is the client's (VMX requires it in guest CR4); KVM never sees it. */
    st->cr4 = k->cr4 | (st->cr4 & X86_CR4_VMXE);
    st->cr8 = k->cr8;
    st->msr.efer = k->efer;
    /* VMX stores EFER.LMA into the IA-32e-mode-guest entry control on every exit. */
    st->vmx.entry = (st->vmx.entry & ~(uint32_t)X86_VMX_ENTRY_IA32E) |
                    ((k->efer & X86_EFER_LMA) ? X86_VMX_ENTRY_IA32E : 0);
    struct kvm_vcpu *kv = kvcpu(v);
    kv->sregs = *k;
    kv->sregs_known = true;
    v->state_valid |= SG_SREGS;
}

static hv_return_t sregs_put(struct vcpu *v)
{
    struct kvm_vcpu *kv = kvcpu(v);
    const struct x86_state *st = v->st.x86;
    if (!kv->sregs_known) {
        /* Fields the struct does not hold (APIC base, pending-IRQ bitmap) come from KVM. */
        hv_return_t ret = kvm_sregs_get(v, &kv->sregs);
        if (ret != HV_SUCCESS)
            return ret;
        kv->sregs_known = true;
    }
    struct kvm_sregs k = kv->sregs;
    if (v->state_valid & SG_MSRS)
        k.apic_base = st->msr.apic_base;   /* the struct's value wins over an older copy */
    for (int i = 0; i < X86_SEG_COUNT; i++)
        seg_from_vmx(&st->seg[i], sreg_slot(&k, i));
    k.gdt = (struct kvm_dtable){ .base = st->gdtr.base, .limit = (uint16_t)st->gdtr.limit };
    k.idt = (struct kvm_dtable){ .base = st->idtr.base, .limit = (uint16_t)st->idtr.limit };
    k.cr0 = st->cr0;
    k.cr2 = st->cr2;
    k.cr3 = st->cr3;
    k.cr4 = st->cr4 & ~X86_CR4_VMXE;
    k.cr8 = st->cr8;
    k.efer = st->msr.efer;
    memset(k.interrupt_bitmap, 0, sizeof(k.interrupt_bitmap));
    hv_return_t ret = kvm_sregs_set(v, &k);
    if (ret == HV_SUCCESS)
        kv->sregs = k;
    return ret;
}

/* --- FPU, XCR0 ----------------------------------------------------------------- */

static hv_return_t fpu_get(struct vcpu *v)
{
    struct kvm_xsave xs;
    if (ioctl(kvcpu(v)->fd, KVM_GET_XSAVE, &xs) < 0)
        return ioctl_err();
    x86_fpstate_load(&v->st.x86->fpu, &v->st.x86->zmm, (const uint8_t *)xs.region, KVM_XSAVE_BYTES);
    return HV_SUCCESS;
}

static hv_return_t fpu_put(struct vcpu *v)
{
    /* The image's AVX component follows XCR0, so XCR0 must be current. */
    hv_return_t ret = vcpu_state_load(v, SG_XCR);
    if (ret != HV_SUCCESS)
        return ret;
    struct kvm_xsave xs;
    x86_fpstate_save(&v->st.x86->fpu, &v->st.x86->zmm, v->st.x86->xcr0, (uint8_t *)xs.region, KVM_XSAVE_BYTES);
    return ioctl(kvcpu(v)->fd, KVM_SET_XSAVE, &xs) < 0 ? ioctl_err() : HV_SUCCESS;
}

static hv_return_t xcr_get(struct vcpu *v)
{
    struct kvm_xcrs x = { 0 };
    if (ioctl(kvcpu(v)->fd, KVM_GET_XCRS, &x) < 0)
        return ioctl_err();
    for (uint32_t i = 0; i < x.nr_xcrs; i++)
        if (x.xcrs[i].xcr == XCR_INDEX_XCR0)
            v->st.x86->xcr0 = x.xcrs[i].value;
    return HV_SUCCESS;
}

static hv_return_t xcr_put(struct vcpu *v)
{
    struct kvm_xcrs x = { .nr_xcrs = 1, .xcrs[0] = { .xcr = XCR_INDEX_XCR0, .value = v->st.x86->xcr0 } };
    return ioctl(kvcpu(v)->fd, KVM_SET_XCRS, &x) < 0 ? ioctl_err() : HV_SUCCESS;
}

/* --- MSRs ----------------------------------------------------------------------
 * One batch; KVM stops at the first MSR it refuses, so the batch resumes after it
 * (that MSR keeps its struct value). Only values that changed are written back, so
 * a client that changed LSTAR does not rewind the TSC. */

struct msr_batch {
    struct kvm_msrs hdr;
    struct kvm_msr_entry e[KVM_STATE_MSR_COUNT];
};

static hv_return_t msrs_get(struct vcpu *v)
{
    struct kvm_vcpu *kv = kvcpu(v);
    unsigned next = 0;
    while (next < KVM_STATE_MSR_COUNT) {
        struct msr_batch b = { .hdr.nmsrs = KVM_STATE_MSR_COUNT - next };
        for (unsigned i = next; i < KVM_STATE_MSR_COUNT; i++)
            b.e[i - next].index = kvm_state_msr_index(i);
        int n = ioctl(kv->fd, KVM_GET_MSRS, &b);
        if (n < 0)
            return ioctl_err();
        for (int i = 0; i < n; i++) {
            *kvm_state_msr_field(v->st.x86, next + (unsigned)i) = b.e[i].data;
            kv->msr_seen[next + (unsigned)i] = b.e[i].data;
            kv->msr_known[next + (unsigned)i] = true;
        }
        next += (unsigned)n + 1;   /* skip the refused one */
    }
    return HV_SUCCESS;
}

static hv_return_t msrs_put(struct vcpu *v)
{
    struct kvm_vcpu *kv = kvcpu(v);
    for (unsigned i = 0; i < KVM_STATE_MSR_COUNT; i++) {
        uint64_t val = *kvm_state_msr_field(v->st.x86, i);
        if (kv->msr_known[i] && kv->msr_seen[i] == val)
            continue;
        struct msr_batch b = { .hdr.nmsrs = 1, .e[0] = { .index = kvm_state_msr_index(i), .data = val } };
        int n = ioctl(kv->fd, KVM_SET_MSRS, &b);
        if (n < 0)
            return ioctl_err();
        kv->msr_seen[i] = val;
        kv->msr_known[i] = true;   /* refused MSRs (n == 0) are not retried */
    }
    return HV_SUCCESS;
}

/* --- debug registers, events --------------------------------------------------- */

static hv_return_t debug_get(struct vcpu *v)
{
    struct kvm_debugregs d;
    if (ioctl(kvcpu(v)->fd, KVM_GET_DEBUGREGS, &d) < 0)
        return ioctl_err();
    uint64_t *dr = v->st.x86->dr;
    memcpy(dr, d.db, sizeof(d.db));
    dr[6] = d.dr6;
    dr[7] = d.dr7;
    return HV_SUCCESS;
}

static hv_return_t debug_put(struct vcpu *v)
{
    struct kvm_debugregs d = { 0 };
    const uint64_t *dr = v->st.x86->dr;
    memcpy(d.db, dr, sizeof(d.db));
    d.dr6 = dr[6];
    d.dr7 = dr[7];
    return ioctl(kvcpu(v)->fd, KVM_SET_DEBUGREGS, &d) < 0 ? ioctl_err() : HV_SUCCESS;
}

/* KVM's shadow bits are MOV SS = 1, STI = 2; VMX's are STI = 1, MOV SS = 2. */
static uint32_t shadow_to_vmx(uint8_t shadow)
{
    return ((shadow & KVM_X86_SHADOW_INT_STI) ? INTR_BLOCK_STI : 0) |
           ((shadow & KVM_X86_SHADOW_INT_MOV_SS) ? INTR_BLOCK_MOV_SS : 0);
}

static uint8_t shadow_from_vmx(uint32_t intr)
{
    return (uint8_t)(((intr & INTR_BLOCK_STI) ? KVM_X86_SHADOW_INT_STI : 0) |
                     ((intr & INTR_BLOCK_MOV_SS) ? KVM_X86_SHADOW_INT_MOV_SS : 0));
}

static hv_return_t events_get(struct vcpu *v)
{
    struct kvm_vcpu_events e;
    hv_return_t ret = kvm_events_get(v, &e);
    if (ret != HV_SUCCESS)
        return ret;
    uint32_t *intr = &v->st.x86->interruptibility;
    *intr &= ~(INTR_BLOCK_STI | INTR_BLOCK_MOV_SS | INTR_BLOCK_NMI);
    *intr |= shadow_to_vmx(e.interrupt.shadow) | (e.nmi.masked ? INTR_BLOCK_NMI : 0);
    return HV_SUCCESS;
}

static hv_return_t events_put(struct vcpu *v)
{
    struct kvm_vcpu_events e;
    hv_return_t ret = kvm_events_get(v, &e);
    if (ret != HV_SUCCESS)
        return ret;
    uint32_t intr = v->st.x86->interruptibility;
    e.interrupt.shadow = shadow_from_vmx(intr);
    e.nmi.masked = !!(intr & INTR_BLOCK_NMI);
    e.flags = KVM_VCPUEVENT_VALID_SHADOW;
    return kvm_events_set(v, &e);
}

/* --- groups --------------------------------------------------------------------- */

hv_return_t kvm_state_get(struct vcpu *v, uint32_t groups)
{
    hv_return_t ret = HV_SUCCESS;
    if (groups & SG_GPR) {
        struct kvm_regs r;
        if ((ret = kvm_regs_get(v, &r)) != HV_SUCCESS)
            return ret;
        kvm_state_take_regs(v, &r);
    }
    if (groups & SG_SREGS) {
        struct kvm_sregs s;
        if ((ret = kvm_sregs_get(v, &s)) != HV_SUCCESS)
            return ret;
        kvm_state_take_sregs(v, &s);
    }
    if ((groups & SG_XCR) && ret == HV_SUCCESS)
        ret = xcr_get(v);
    if ((groups & SG_FPU) && ret == HV_SUCCESS)
        ret = fpu_get(v);
    if ((groups & SG_MSRS) && ret == HV_SUCCESS)
        ret = msrs_get(v);
    if ((groups & SG_DEBUG) && ret == HV_SUCCESS)
        ret = debug_get(v);
    if ((groups & SG_EVENTS) && ret == HV_SUCCESS)
        ret = events_get(v);
    return ret;
}

hv_return_t kvm_state_put(struct vcpu *v, uint32_t groups)
{
    hv_return_t ret = HV_SUCCESS;
    /* Order matters: EFER/CR before XCR0 and XSAVE; MSRs after segments (APIC base). */
    if (groups & SG_SREGS)
        ret = sregs_put(v);
    if ((groups & SG_XCR) && ret == HV_SUCCESS)
        ret = xcr_put(v);
    if ((groups & SG_FPU) && ret == HV_SUCCESS)
        ret = fpu_put(v);
    if ((groups & SG_MSRS) && ret == HV_SUCCESS)
        ret = msrs_put(v);
    if ((groups & SG_DEBUG) && ret == HV_SUCCESS)
        ret = debug_put(v);
    if ((groups & SG_EVENTS) && ret == HV_SUCCESS)
        ret = events_put(v);
    if ((groups & SG_GPR) && ret == HV_SUCCESS) {
        struct kvm_regs r;
        regs_from_state(v->st.x86, &r);
        ret = kvm_regs_set(v, &r);
    }
    return ret;
}

hv_return_t kvm_state_flush(struct vcpu *v)
{
    if (!v->state_dirty)
        return HV_SUCCESS;
    hv_return_t ret = kvm_state_put(v, v->state_dirty);
    if (ret == HV_SUCCESS)
        v->state_dirty = 0;
    return ret;
}
