/* Two vCPUs, each created and run on its own thread, spinning in the guest after
 * an OUT that reports their id; the main thread stops both with one
 * hv_vcpu_interrupt call. Workers only record (Criterion asserts belong to the
 * test's own thread); the main thread checks. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "kvm/client.h"
#include "support/backend.h"
#include "support/x86_segments.h"

#define TINY_SPIN 0x8010u
#define PORT_IMM 0x80u
#define WORKERS 2
#define READY_WAIT_US 20000000u
#define POLL_US 1000u
#define AR_CODE16 0x9bu
#define AR_DATA16 0x93u
#define AR_LDT 0x82u
#define AR_TSS_BUSY 0x8bu
#define CR0_NE 0x20u
#define CR4_VMXE 0x2000u

struct worker {
    int id;
    hv_vcpuid_t vcpu;
    hv_return_t err;           /* first failing call */
    uint32_t first_reason, second_reason;
    uint64_t first_port, first_value, stop_rip;
    atomic_int stage;          /* 1: created and past the OUT; 2: done */
};

static struct client c;

static void setup(void)
{
    client_vm_init(&c, "kvm_tiny");
}

static void teardown(void)
{
    client_vm_fini(&c);
}

TestSuite(kvm_vcpus, .init = setup, .fini = teardown, .timeout = 60);

#define TRY(w, call)                                        \
    do {                                                    \
        hv_return_t r_ = (call);                            \
        if (r_ != HV_SUCCESS && (w)->err == HV_SUCCESS)     \
            (w)->err = r_;                                  \
    } while (0)

static void real_mode_raw(struct worker *w)
{
    for (unsigned seg = 0; seg < TSEG_COUNT; seg++) {
        uint32_t ar = seg == TSEG_CS ? AR_CODE16 : seg == TSEG_LDTR ? AR_LDT : seg == TSEG_TR ? AR_TSS_BUSY : AR_DATA16;
        TRY(w, test_write_segment(w->vcpu, seg, 0, 0, 0xffff, ar));
    }
    TRY(w, hv_vmx_vcpu_write_vmcs(w->vcpu, VMCS_GUEST_CR0, CR0_NE));
    TRY(w, hv_vmx_vcpu_write_vmcs(w->vcpu, VMCS_GUEST_CR4, CR4_VMXE));
    TRY(w, hv_vcpu_write_register(w->vcpu, HV_X86_RIP, TINY_SPIN));
    TRY(w, hv_vcpu_write_register(w->vcpu, HV_X86_RFLAGS, 2));
    TRY(w, hv_vcpu_write_register(w->vcpu, HV_X86_RAX, 0x40u + (uint64_t)w->id));
}

static uint32_t reason_of(struct worker *w)
{
    uint64_t r = 0;
    TRY(w, hv_vmx_vcpu_read_vmcs(w->vcpu, VMCS_RO_EXIT_REASON, &r));
    return (uint32_t)r & 0xffff;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    w->err = hv_vcpu_create(&w->vcpu, HV_VCPU_DEFAULT);
    if (w->err != HV_SUCCESS) {
        atomic_store(&w->stage, 2);
        return NULL;
    }
    real_mode_raw(w);
    hv_return_t run = hv_vcpu_run(w->vcpu);
    TRY(w, run);
    if (run == HV_SUCCESS) {
        w->first_reason = reason_of(w);
        uint64_t q = 0, len = 0, rip = 0;
        TRY(w, hv_vmx_vcpu_read_vmcs(w->vcpu, VMCS_RO_EXIT_QUALIFIC, &q));
        TRY(w, hv_vmx_vcpu_read_vmcs(w->vcpu, VMCS_RO_VMEXIT_INSTR_LEN, &len));
        TRY(w, hv_vcpu_read_register(w->vcpu, HV_X86_RAX, &w->first_value));
        TRY(w, hv_vcpu_read_register(w->vcpu, HV_X86_RIP, &rip));
        TRY(w, hv_vcpu_write_register(w->vcpu, HV_X86_RIP, rip + len));
        w->first_port = q >> 16;
        atomic_store(&w->stage, 1);
        TRY(w, hv_vcpu_run(w->vcpu));   /* spins until hv_vcpu_interrupt */
        w->second_reason = reason_of(w);
        TRY(w, hv_vcpu_read_register(w->vcpu, HV_X86_RIP, &w->stop_rip));
    }
    TRY(w, hv_vcpu_destroy(w->vcpu));
    atomic_store(&w->stage, 2);
    return NULL;
}

Test(kvm_vcpus, interrupt_stops_two_vcpus_on_two_threads)
{
    struct worker w[WORKERS];
    pthread_t t[WORKERS];
    memset(w, 0, sizeof(w));
    for (int i = 0; i < WORKERS; i++) {
        w[i].id = i;
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    /* Wait until both are spinning (or finished early with an error). */
    for (unsigned waited = 0; waited < READY_WAIT_US; waited += POLL_US) {
        if (atomic_load(&w[0].stage) >= 1 && atomic_load(&w[1].stage) >= 1)
            break;
        usleep(POLL_US);
    }
    hv_vcpuid_t ids[WORKERS] = { w[0].vcpu, w[1].vcpu };
    bool spinning = atomic_load(&w[0].stage) == 1 && atomic_load(&w[1].stage) == 1;
    hv_return_t irq = spinning ? hv_vcpu_interrupt(ids, WORKERS) : HV_SUCCESS;
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    if (w[0].err == HV_UNSUPPORTED || w[1].err == HV_UNSUPPORTED)
        cr_skip_test("backend %s cannot run guest code yet (hv_vcpu_run returned HV_UNSUPPORTED)",
                     anyhv_backend_name());
    cr_assert(spinning, "both vCPUs reached the spin loop");
    cr_assert_eq(irq, HV_SUCCESS);
    cr_expect_neq(w[0].vcpu, w[1].vcpu);
    for (int i = 0; i < WORKERS; i++) {
        cr_expect_eq(w[i].err, HV_SUCCESS, "worker %d: call failed with %#x", i, (unsigned)w[i].err);
        cr_expect_eq(w[i].first_reason, VMX_REASON_IO, "worker %d", i);
        cr_expect_eq(w[i].first_port, PORT_IMM, "worker %d", i);
        cr_expect_eq(w[i].first_value & 0xff, 0x40u + (unsigned)i, "worker %d reported its own id", i);
        cr_expect_eq(w[i].second_reason, VMX_REASON_IRQ, "worker %d: interrupted as an external interrupt", i);
        cr_expect(w[i].stop_rip >= TINY_SPIN + 2 && w[i].stop_rip < TINY_SPIN + 4, "worker %d stopped in its loop", i);
    }
}
