/* intr_snap.c - the Intel in-framework interrupt controllers in a snapshot
 * (core/snapshot.c, struct vm_devstate_ops): the IOAPIC, the 8259 pair and every
 * vCPU's local APIC, in Apple's state structs (hv_intr.h) plus what those leave out
 * and an exact continuation needs - the APIC timer's start and due instants in VM
 * time (Apple's state has only the current count, whose rounding would move the next
 * interrupt), a pending ExtINT, the exit information a client has not read yet, and
 * the 8259s' initialisation progress. Restore checks each part with the same rules as
 * Apple's put-state calls (lapic_put_state, ioapic_put_state, atpic_put_state) on
 * scratch copies, and only applies them when all passed. */
#include <stdio.h>

#include "core/x86/intr.h"
#include "core/x86/x86.h"

#define INTR_SNAP_TAG 0x544e4958u   /* "XINT" */
#define INTR_SNAP_VERSION 1u

struct snap_pic {
    struct hv_atpic_state s;
    uint8_t icw4_needed, single, pad[6];
};

struct snap_head {
    uint32_t version, nlapics;
    uint64_t bus_hz;
    struct hv_ioapic_state ioapic;
    struct snap_pic pic[2];
};

struct snap_lapic {
    uint32_t vcpu, extint_pending;
    struct hv_apic_state s;
    uint64_t timer_start_ns, timer_due_ns;
    struct lapic_pending_exit exit;
    uint32_t exit_read_value, pad;
};

static uint32_t count_lapics(struct vm *vm)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++)
        n += intr_lapic(vm, i) != NULL;
    return n;
}

static size_t snap_size(struct vm *vm)
{
    return sizeof(struct snap_head) + count_lapics(vm) * sizeof(struct snap_lapic);
}

static void snap_save(struct vm *vm, void *out)
{
    struct x86_intr *in = vm->intr;
    struct snap_head h = { .version = INTR_SNAP_VERSION, .nlapics = count_lapics(vm) };
    pthread_mutex_lock(&in->lock);
    h.bus_hz = in->bus_hz;
    h.ioapic = in->ioapic.s;
    for (unsigned p = 0; p < 2; p++)
        h.pic[p] = (struct snap_pic){ .s = in->pic[p].s, .icw4_needed = in->pic[p].icw4_needed,
                                      .single = in->pic[p].single };
    memcpy(out, &h, sizeof(h));
    uint8_t *at = (uint8_t *)out + sizeof(h);
    for (uint32_t i = 0; i < ANYHV_MAX_VCPUS; i++) {
        struct x86_lapic *a = intr_lapic(vm, i);
        if (!a)
            continue;
        struct snap_lapic l = { .vcpu = i, .extint_pending = a->extint_pending, .s = a->s,
                                .timer_start_ns = a->timer_start_ns, .timer_due_ns = a->timer_due_ns,
                                .exit = a->exit, .exit_read_value = a->exit_read_value };
        memcpy(at, &l, sizeof(l));
        at += sizeof(l);
    }
    pthread_mutex_unlock(&in->lock);
}

static bool refuse(char *err, size_t errlen, const char *what)
{
    if (err)
        snprintf(err, errlen, "%s", what);
    return false;
}

/* Check every part on scratch copies; with apply, install them. Lock held. */
static bool restore_locked(struct vm *vm, struct x86_intr *in, const struct snap_head *h, const uint8_t *lapics,
                           bool apply, char *err, size_t errlen)
{
    struct x86_ioapic io = in->ioapic;
    struct x86_atpic pic[2] = { in->pic[0], in->pic[1] };
    if (ioapic_put_state(&io, &h->ioapic) != HV_SUCCESS)
        return refuse(err, errlen, "IOAPIC state out of range");
    for (unsigned p = 0; p < 2; p++) {
        if (atpic_put_state(&pic[p], &h->pic[p].s) != HV_SUCCESS)
            return refuse(err, errlen, "8259 state out of range");
        pic[p].icw4_needed = h->pic[p].icw4_needed != 0;
        pic[p].single = h->pic[p].single != 0;
    }
    if (h->bus_hz < LAPIC_BUS_HZ_MIN || h->bus_hz > LAPIC_BUS_HZ_MAX || h->bus_hz != in->bus_hz)
        return refuse(err, errlen, "APIC bus frequency differs from this VM's");
    for (uint32_t k = 0; k < h->nlapics; k++) {
        struct snap_lapic l;
        memcpy(&l, lapics + k * sizeof(l), sizeof(l));
        struct x86_lapic *a = intr_lapic(vm, l.vcpu);
        if (!a)
            return refuse(err, errlen, "local APIC of a vCPU this VM lacks");
        struct x86_lapic scratch = *a;
        bool bad_exit = l.exit.kind < HV_VM_EXITINFO_VMX || l.exit.kind > HV_VM_EXITINFO_APIC_ACCESS_READ;
        if (lapic_put_state(in, &scratch, &l.s) != HV_SUCCESS || bad_exit)
            return refuse(err, errlen, "local APIC state out of range");
        if (!apply)
            continue;
        a->s = l.s;
        a->timer_start_ns = l.timer_start_ns;
        a->timer_due_ns = l.timer_due_ns;
        a->extint_pending = l.extint_pending != 0;
        a->exit = l.exit;
        a->exit_read_value = l.exit_read_value;
        /* `kicked` stays: it pairs with a cancel request already posted to the vCPU. */
    }
    if (apply) {
        in->ioapic = io;
        in->pic[0] = pic[0];
        in->pic[1] = pic[1];
        atpic_update(in);
    }
    return true;
}

static bool snap_restore(struct vm *vm, const void *bytes, size_t size, bool apply, char *err, size_t errlen)
{
    struct x86_intr *in = vm->intr;
    struct snap_head h;
    if (size < sizeof(h))
        return refuse(err, errlen, "section too short");
    memcpy(&h, bytes, sizeof(h));
    if (h.version != INTR_SNAP_VERSION)
        return refuse(err, errlen, "written by another anyhv version");
    if (h.nlapics != count_lapics(vm) || size != sizeof(h) + (size_t)h.nlapics * sizeof(struct snap_lapic))
        return refuse(err, errlen, "local APIC count or section size differs from this VM's");
    pthread_mutex_lock(&in->lock);
    bool ok = restore_locked(vm, in, &h, (const uint8_t *)bytes + sizeof(h), apply, err, errlen);
    pthread_mutex_unlock(&in->lock);
    return ok;
}

static pthread_mutex_t *snap_lock(struct vm *vm)
{
    return &((struct x86_intr *)vm->intr)->lock;
}

const struct vm_devstate_ops x86_intr_devstate = {
    .tag = INTR_SNAP_TAG,
    .size = snap_size,
    .save = snap_save,
    .restore = snap_restore,
    .lock = snap_lock,
};
