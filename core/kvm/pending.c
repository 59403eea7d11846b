/* KVM backend: the "instruction has not retired" rule. VMX reports an I/O, MMIO or
 * RDMSR/WRMSR exit before the instruction executes; the client emulates it and
 * advances RIP itself. KVM instead leaves such an instruction half done and
 * finishes it on the next KVM_RUN. So at each such exit we snapshot the vCPU, let
 * KVM finish the pending access without entering the guest (immediate_exit), put
 * the snapshot back, and only then present the exit: KVM never completes an access
 * the client will also emulate. */
#include "core/kvm/kvm.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

/* A completion can chain further user exits (read-modify-write MMIO, split
 * accesses); REP counts are cut to one first, so a few rounds always suffice. */
#define COMPLETE_ROUNDS_MAX 8

struct snapshot {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_vcpu_events events;
    struct kvm_xsave *xsave;       /* only when the instruction writes x87/SSE/AVX state */
    struct kvm_insn insn;
    bool decoded;
};

static hv_return_t snapshot_take(struct vcpu *v, struct snapshot *s, struct kvm_xsave *xs_buf)
{
    struct kvm_vcpu *kv = v->be;
    if (ioctl(kv->fd, KVM_GET_REGS, &s->regs) < 0 || ioctl(kv->fd, KVM_GET_SREGS, &s->sregs) < 0 ||
        ioctl(kv->fd, KVM_GET_VCPU_EVENTS, &s->events) < 0)
        return HV_ERROR;
    s->decoded = kvm_decode_at_rip(v, &s->regs, &s->sregs, &s->insn);
    s->xsave = NULL;
    if (!s->decoded || s->insn.writes_fpu) {
        if (ioctl(kv->fd, KVM_GET_XSAVE, xs_buf) < 0)
            return HV_ERROR;
        s->xsave = xs_buf;
    }
    return HV_SUCCESS;
}

static hv_return_t snapshot_restore(struct vcpu *v, const struct snapshot *s)
{
    struct kvm_vcpu *kv = v->be;
    struct kvm_vcpu_events ev = s->events;
    ev.flags &= KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
    ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING;
    if (ioctl(kv->fd, KVM_SET_REGS, &s->regs) < 0 || ioctl(kv->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
        return HV_ERROR;
    if ((!s->decoded || s->insn.writes_sreg) && ioctl(kv->fd, KVM_SET_SREGS, &s->sregs) < 0)
        return HV_ERROR;
    if (s->xsave && ioctl(kv->fd, KVM_SET_XSAVE, s->xsave) < 0)
        return HV_ERROR;
    /* The struct copies are current now: a client reading RIP costs nothing. */
    kvm_state_take_regs(v, &s->regs);
    kvm_state_take_sregs(v, &s->sregs);
    return HV_SUCCESS;
}

/* A string IN writes its first element to ES:(E/R)DI when completed; pre-load the
 * data KVM will store with what memory holds there, so the write changes nothing. */
static void prefill_string_in(struct vcpu *v, const struct snapshot *s)
{
    struct kvm_vcpu *kv = v->be;
    struct kvm_run *run = kv->run;
    uint32_t size = run->io.size;
    uint64_t addr_mask = (s->sregs.efer & X86_EFER_LMA) && s->sregs.cs.l ? ~0ull
                         : s->sregs.cs.db                                   ? 0xffffffffull
                                                                           : 0xffffull;
    uint64_t la = s->sregs.es.base + (s->regs.rdi & addr_mask);
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    struct vm *vm = v->vm;
    for (uint32_t i = 0; i < size; i++) {
        uint64_t gpa;
        if (!kvm_linear_to_phys(v, &s->sregs, la + i, &gpa))
            continue;
        pthread_mutex_lock(&vm->lock);
        const struct pmap_range *r = pmap_lookup(vm->spaces[0], gpa);
        if (r)
            data[i] = r->host[gpa - r->gpa];
        pthread_mutex_unlock(&vm->lock);
    }
}

/* Let KVM finish what it left pending, without entering the guest. */
static hv_return_t complete_pending(struct vcpu *v, const struct snapshot *s)
{
    struct kvm_vcpu *kv = v->be;
    struct kvm_run *run = kv->run;
    if (s->decoded && s->insn.rep) {
        /* One more element at most: completion must not walk a long REP count. */
        struct kvm_regs one = s->regs;
        one.rcx = 1;
        if (ioctl(kv->fd, KVM_SET_REGS, &one) < 0)
            return HV_ERROR;
    }
    for (int round = 0; round < COMPLETE_ROUNDS_MAX; round++) {
        if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_IN && s->decoded && s->insn.string)
            prefill_string_in(v, s);
        if (run->exit_reason == KVM_EXIT_X86_RDMSR || run->exit_reason == KVM_EXIT_X86_WRMSR)
            run->msr.error = 0;
        __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        int r = ioctl(kv->fd, KVM_RUN, 0);
        int err = errno;
        __atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        if (r < 0)
            return err == EINTR ? HV_SUCCESS : HV_ERROR;
        if (run->exit_reason != KVM_EXIT_IO && run->exit_reason != KVM_EXIT_MMIO)
            return HV_SUCCESS;   /* nothing left pending */
    }
    return HV_ERROR;
}

/* Snapshot, complete, restore: after this the vCPU is exactly as before the
 * instruction, and `s` describes it. When the completion changed nothing, KVM had
 * retired the instruction before exiting (`retired` says what to look for). */
static hv_return_t unretire(struct vcpu *v, struct snapshot *s, struct kvm_xsave *xs_buf,
                            const struct kvm_retired_exit *retired)
{
    struct kvm_vcpu *kv = v->be;
    hv_return_t ret = snapshot_take(v, s, xs_buf);
    if (ret == HV_SUCCESS)
        ret = complete_pending(v, s);
    struct kvm_regs after;
    if (ret == HV_SUCCESS && ioctl(kv->fd, KVM_GET_REGS, &after) < 0)
        ret = HV_ERROR;
    if (ret == HV_SUCCESS && retired && after.rip == s->regs.rip) {
        struct kvm_regs pre;
        struct kvm_insn insn;
        if (kvm_decode_retired(v, &s->regs, &s->sregs, retired, &insn, &pre)) {
            s->regs = pre;
            s->insn = insn;
            s->decoded = true;
        } else {
            s->decoded = false;   /* left after the instruction; length unknown (0) */
        }
    }
    if (ret == HV_SUCCESS)
        ret = snapshot_restore(v, s);
    if (ret != HV_SUCCESS) {
        v->exit.kind = EXIT_INTERNAL;
        v->exit.u.internal.code = (uint32_t)errno;
    }
    return ret;
}

hv_return_t kvm_exit_pio(struct vcpu *v)
{
    struct kvm_run *run = ((struct kvm_vcpu *)v->be)->run;
    struct exit_pio io = {
        .port = run->io.port,
        .size = run->io.size,
        .in = run->io.direction == KVM_EXIT_IO_IN,
    };
    if (!io.in && run->io.count >= 1)
        memcpy(&io.data, (uint8_t *)run + run->io.data_offset, io.size);
    static _Thread_local struct kvm_xsave xs;
    struct snapshot s;
    struct kvm_retired_exit out = { .pio = true, .port = io.port, .size = io.size, .data = io.data };
    hv_return_t ret = unretire(v, &s, &xs, io.in ? NULL : &out);
    if (ret != HV_SUCCESS)
        return ret;
    io.string = s.decoded && s.insn.string;
    io.rep = s.decoded && s.insn.rep;
    io.imm = s.decoded && s.insn.port_imm;
    if (io.string)
        io.data = 0;   /* OUTS data is in guest memory, where the client reads it */
    v->exit.kind = EXIT_PIO;
    v->exit.pc = s.regs.rip;
    v->exit.insn_len = s.decoded ? s.insn.len : 0;
    v->exit.u.pio = io;
    return HV_SUCCESS;
}

/* Stage-2 permissions of `gpa` for the EPT qualification; 0 when unmapped. */
static uint8_t page_perms(struct vm *vm, uint64_t gpa)
{
    pthread_mutex_lock(&vm->lock);
    const struct pmap_range *r = pmap_lookup(vm->spaces[0], gpa);
    uint8_t perms = r ? (uint8_t)(((r->perms & PMAP_READ) ? EXIT_PERM_R : 0) | ((r->perms & PMAP_WRITE) ? EXIT_PERM_W : 0) |
                                  ((r->perms & PMAP_EXEC) ? EXIT_PERM_X : 0))
                      : 0;
    pthread_mutex_unlock(&vm->lock);
    return perms;
}

hv_return_t kvm_exit_mmio(struct vcpu *v)
{
    struct kvm_run *run = ((struct kvm_vcpu *)v->be)->run;
    struct exit_mem m = {
        .gpa = run->mmio.phys_addr,
        .size = (uint8_t)run->mmio.len,
        .write = run->mmio.is_write != 0,
    };
    if (m.write)
        memcpy(&m.data, run->mmio.data, m.size <= sizeof(m.data) ? m.size : sizeof(m.data));
    static _Thread_local struct kvm_xsave xs;
    struct snapshot s;
    struct kvm_retired_exit store = { .gpa = m.gpa, .size = m.size, .data = m.data };
    hv_return_t ret = unretire(v, &s, &xs, m.write ? &store : NULL);
    if (ret != HV_SUCCESS)
        return ret;
    m.perms = page_perms(v->vm, m.gpa);
    m.reg = s.decoded ? s.insn.modrm_reg : 0;
    v->exit.kind = EXIT_MMIO;
    v->exit.pc = s.regs.rip;
    v->exit.insn_len = s.decoded ? s.insn.len : 0;
    v->exit.u.mem = m;
    return HV_SUCCESS;
}

hv_return_t kvm_exit_msr(struct vcpu *v, bool write)
{
    struct kvm_run *run = ((struct kvm_vcpu *)v->be)->run;
    struct exit_reg_access a = { .index = run->msr.index, .write = write, .value = run->msr.data };
    static _Thread_local struct kvm_xsave xs;
    struct snapshot s;
    hv_return_t ret = unretire(v, &s, &xs, NULL);
    if (ret != HV_SUCCESS)
        return ret;
    v->exit.kind = write ? EXIT_MSR_WRITE : EXIT_MSR_READ;
    v->exit.pc = s.regs.rip;
    v->exit.insn_len = s.decoded ? s.insn.len : 2;   /* RDMSR/WRMSR: 0f 32 / 0f 30 */
    v->exit.u.reg = a;
    return HV_SUCCESS;
}

bool kvm_exit_fetch_fault(struct vcpu *v)
{
    struct kvm_vcpu *kv = v->be;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (ioctl(kv->fd, KVM_GET_REGS, &regs) < 0 || ioctl(kv->fd, KVM_GET_SREGS, &sregs) < 0)
        return false;
    bool lm = (sregs.efer & X86_EFER_LMA) && sregs.cs.l;
    uint64_t la = lm ? regs.rip : ((sregs.cs.base + regs.rip) & 0xffffffffull);
    uint64_t gpa;
    if (!kvm_linear_to_phys(v, &sregs, la, &gpa))
        return false;
    uint8_t perms = page_perms(v->vm, gpa);
    if (perms & EXIT_PERM_R)
        return false;   /* backed by a slot: not a stage-2 fetch fault */
    kvm_state_take_regs(v, &regs);
    kvm_state_take_sregs(v, &sregs);
    v->exit.kind = EXIT_MMIO;
    v->exit.pc = regs.rip;
    v->exit.insn_len = 0;
    v->exit.u.mem = (struct exit_mem){ .gpa = gpa, .fetch = true, .perms = perms };
    return true;
}
