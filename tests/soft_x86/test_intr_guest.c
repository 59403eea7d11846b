/* test_intr_guest.c - the in-framework interrupt controllers with a running guest
 * (HV_VM_ACCEL_APIC, long mode): the guest switches its APIC to x2APIC mode, enables
 * it, arms the one-shot timer and halts with interrupts on. The HLT is handled inside
 * hv_vcpu_run (the client did not ask for HLT exits): the vCPU sleeps, the timer fires
 * on the VM clock, the interrupt is injected at the boundary, the handler EOIs through
 * the x2APIC EOI MSR and reports its vector on port 0xe9 - the first exit the client
 * sees. Then an IOAPIC pin pulsed from another thread wakes the halted guest the same
 * way. Also: with IF clear the interrupt waits (an interrupt window) until STI. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "support/backend.h"
#include "x86_guest.h"

#define REPORT_PORT 0xe9u
#define TIMER_VECTOR 0x40u
#define IOAPIC_VECTOR 0x41u
#define HANDLER_AT (XG_CODE + 0x200u)
#define HANDLER2_AT (XG_CODE + 0x280u)
#define IOAPIC_BASE 0xfec00000ull
#define IOAPIC_PIN 5
#define PULSE_DELAY_NS 20000000L
#define MAX_RUNS 16

/* x2APIC on, enable it, timer one-shot vector 0x40 after `count` ticks at divide 1. */
static const uint8_t main_code[] = {
    0xb9, 0x1b, 0x00, 0x00, 0x00,       /* mov ecx, IA32_APIC_BASE */
    0x0f, 0x32,                         /* rdmsr */
    0x0d, 0x00, 0x0c, 0x00, 0x00,       /* or eax, EN | EXTD */
    0x0f, 0x30,                         /* wrmsr */
    0xb9, 0x0f, 0x08, 0x00, 0x00,       /* mov ecx, x2APIC SVR */
    0xb8, 0xff, 0x01, 0x00, 0x00,       /* mov eax, 0x1ff */
    0x31, 0xd2,                         /* xor edx, edx */
    0x0f, 0x30,                         /* wrmsr */
    0xb9, 0x32, 0x08, 0x00, 0x00,       /* mov ecx, LVT timer */
    0xb8, TIMER_VECTOR, 0x00, 0x00, 0x00, /* mov eax, 0x40 (one-shot) */
    0x0f, 0x30,                         /* wrmsr */
    0xb9, 0x3e, 0x08, 0x00, 0x00,       /* mov ecx, divide configuration */
    0xb8, 0x0b, 0x00, 0x00, 0x00,       /* mov eax, divide by 1 */
    0x0f, 0x30,                         /* wrmsr */
    0xb9, 0x38, 0x08, 0x00, 0x00,       /* mov ecx, initial count */
    0xb8, 0xa0, 0x86, 0x01, 0x00,       /* mov eax, 100000 */
    0x0f, 0x30,                         /* wrmsr */
    0xfb,                               /* sti */
    0xf4,                               /* hlt */
    0xeb, 0xfd,                         /* jmp hlt */
};

/* EOI, report the vector, return. */
/* x2APIC on, enabled, timer in TSC-deadline mode; deadline = TSC + 1,000,000. */
static const uint8_t deadline_code[] = {
    0xb9, 0x1b, 0x00, 0x00, 0x00, 0x0f, 0x32, 0x0d, 0x00, 0x0c, 0x00, 0x00, 0x0f, 0x30, /* x2APIC on */
    0xb9, 0x0f, 0x08, 0x00, 0x00, 0xb8, 0xff, 0x01, 0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, /* SVR */
    0xb9, 0x32, 0x08, 0x00, 0x00,       /* mov ecx, LVT timer */
    0xb8, TIMER_VECTOR, 0x00, 0x04, 0x00, /* mov eax, TSC-deadline mode | vector */
    0x0f, 0x30,                         /* wrmsr */
    0x0f, 0x31,                         /* rdtsc */
    0x05, 0x40, 0x42, 0x0f, 0x00,       /* add eax, 1000000 */
    0x83, 0xd2, 0x00,                   /* adc edx, 0 */
    0xb9, 0xe0, 0x06, 0x00, 0x00,       /* mov ecx, IA32_TSC_DEADLINE */
    0x0f, 0x30,                         /* wrmsr */
    0xfb, 0xf4, 0xeb, 0xfd,             /* sti; hlt; jmp hlt */
};

static const uint8_t handler_code[] = {
    0xb9, 0x0b, 0x08, 0x00, 0x00,       /* mov ecx, x2APIC EOI */
    0x31, 0xc0,                         /* xor eax, eax */
    0x31, 0xd2,                         /* xor edx, edx */
    0x0f, 0x30,                         /* wrmsr */
    0xb0, 0x00,                         /* mov al, <vector> (patched) */
    0xe6, REPORT_PORT,                  /* out 0xe9, al */
    0x48, 0xcf,                         /* iretq */
};
#define HANDLER_VECTOR_BYTE 12

static struct xg g;

static void gate(uint8_t vector, uint64_t handler)
{
    uint64_t *idt = (uint64_t *)(g.ram + XG_IDT);
    idt[2 * vector] = (handler & 0xffff) | (0x8ull << 16) | (XG_GATE_INT64 << 32) | (((handler >> 16) & 0xffff) << 48);
    idt[2 * vector + 1] = handler >> 32;
}

static void setup(void)
{
    test_require_backend();
    cr_assert_eq(xg_create_opts(&g, HV_VM_ACCEL_APIC), 0);
    cr_assert_eq(xg_long_mode(&g), 0);
    /* No HLT exiting: the framework handles HLT. I/O still exits. */
    cr_assert_eq(xg_ctrl(&g, VMCS_CTRL_CPU_BASED, HV_VMX_CAP_PROCBASED, CPU_BASED_UNCOND_IO), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_IDTR_LIMIT, 0xfff), 0);
    memcpy(g.ram + XG_CODE, main_code, sizeof(main_code));
    memcpy(g.ram + HANDLER_AT, handler_code, sizeof(handler_code));
    g.ram[HANDLER_AT + HANDLER_VECTOR_BYTE] = TIMER_VECTOR;
    memcpy(g.ram + HANDLER2_AT, handler_code, sizeof(handler_code));
    g.ram[HANDLER2_AT + HANDLER_VECTOR_BYTE] = IOAPIC_VECTOR;
    gate(TIMER_VECTOR, HANDLER_AT);
    gate(IOAPIC_VECTOR, HANDLER2_AT);
}

static void teardown(void) { xg_destroy(&g); }

/* Run to the next exit the client sees; the vector reported on the port, or -1. */
static int run_to_report(void)
{
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    uint32_t reason = xg_exit_reason(&g);
    if (reason != VMX_REASON_IO)
        return -(int)reason - 1;
    uint64_t q = xg_read_vmcs(&g, VMCS_RO_EXIT_QUALIFIC);
    cr_assert_eq((q >> 16) & 0xffff, REPORT_PORT);
    uint64_t len = xg_read_vmcs(&g, VMCS_RO_VMEXIT_INSTR_LEN);
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, xg_reg(&g, HV_X86_RIP) + len);
    return (int)(xg_reg(&g, HV_X86_RAX) & 0xff);
}

TestSuite(intr_guest, .init = setup, .fini = teardown);

Test(intr_guest, timer_wakes_the_halted_guest_in_x2apic_mode)
{
    int v = run_to_report();
    cr_expect_eq(v, (int)TIMER_VECTOR, "first client exit is the handler's report (got %d)", v);
    uint64_t idle = 0;
    cr_assert_eq(hv_vcpu_get_idle_time(g.vcpu, &idle), HV_SUCCESS);
    cr_expect_gt(idle, 0, "the HLT slept inside hv_vcpu_run");
    uint32_t isr = 1, irr = 1;
    hv_vcpu_apic_read(g.vcpu, 0x100 + 0x10 * (TIMER_VECTOR / 32), &isr);
    hv_vcpu_apic_read(g.vcpu, 0x200 + 0x10 * (TIMER_VECTOR / 32), &irr);
    cr_expect_eq((isr | irr) & (1u << (TIMER_VECTOR % 32)), 0, "EOIed: nothing in service or pending");
    hv_apic_state_ext_t s = { .version = HV_APIC_STATE_EXT_VER };
    cr_assert_eq(hv_vcpu_apic_get_state(g.vcpu, &s), HV_SUCCESS);
    cr_expect(s.state.apic_gpa & (1ull << 10), "the guest's WRMSR put the APIC in x2APIC mode");
}

static void *pulse(void *arg)
{
    (void)arg;
    struct timespec ts = { 0, PULSE_DELAY_NS };
    nanosleep(&ts, NULL);
    hv_vm_ioapic_pulse_irq(IOAPIC_PIN);
    return NULL;
}

Test(intr_guest, ioapic_pin_from_another_thread_wakes_it)
{
    cr_assert_eq(run_to_report(), (int)TIMER_VECTOR);
    /* Route pin 5 edge-triggered to APIC 0, vector 0x41. */
    cr_assert_eq(hv_vm_ioapic_write(IOAPIC_BASE, 0x10 + 2 * IOAPIC_PIN), HV_SUCCESS);
    cr_assert_eq(hv_vm_ioapic_write(IOAPIC_BASE + 0x10, IOAPIC_VECTOR), HV_SUCCESS);
    cr_assert_eq(hv_vm_ioapic_write(IOAPIC_BASE, 0x11 + 2 * IOAPIC_PIN), HV_SUCCESS);
    cr_assert_eq(hv_vm_ioapic_write(IOAPIC_BASE + 0x10, 0), HV_SUCCESS);
    pthread_t t;
    pthread_create(&t, NULL, pulse, NULL);
    int v = run_to_report();
    pthread_join(t, NULL);
    cr_expect_eq(v, (int)IOAPIC_VECTOR, "the pulse was delivered to the halted guest (got %d)", v);
}

Test(intr_guest, interrupt_waits_for_sti)
{
    const char *be = getenv("ANYHV_BACKEND");
    if (be && strcmp(be, "kvm") == 0 && !xg_host_hw_virt())
        cr_skip_test("paravirtual KVM (PVM) opens interrupt windows late (docs/differences.md)");
    cr_assert_eq(run_to_report(), (int)TIMER_VECTOR);
    /* Now run `cli; out; sti; nop; out` with an interrupt pending: it must arrive
     * after STI's shadow, between the two OUTs. */
    static const uint8_t code[] = { 0xfa, 0xb0, 0x01, 0xe6, REPORT_PORT, 0xfb, 0x90, 0xb0, 0x02,
                                    0xe6, REPORT_PORT, 0xf4 };
    memcpy(g.ram + XG_CODE + 0x100, code, sizeof(code));
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, XG_CODE + 0x100);
    cr_assert_eq(run_to_report(), 1, "first OUT with IF clear");
    cr_assert_eq(hv_vm_lapic_set_intr(g.vcpu, TIMER_VECTOR, HV_APIC_EDGE_TRIGGER), HV_SUCCESS);
    int v = run_to_report();
    cr_expect_eq(v, (int)TIMER_VECTOR, "taken right after STI+1, before the second OUT (got %d)", v);
    cr_expect_eq(run_to_report(), 2, "then the second OUT");
}

Test(intr_guest, tsc_deadline_timer_fires)
{
    if (strcmp(anyhv_backend_name(), "soft") != 0)
        cr_skip_test("on KVM the guest TSC is the kernel's, not the VM clock: TSC-deadline is soft-route only");
    memcpy(g.ram + XG_CODE, deadline_code, sizeof(deadline_code));
    int v = run_to_report();
    cr_expect_eq(v, (int)TIMER_VECTOR, "the TSC-deadline interrupt arrived (got %d)", v);
    hv_apic_state_ext_t s = { .version = HV_APIC_STATE_EXT_VER };
    cr_assert_eq(hv_vcpu_apic_get_state(g.vcpu, &s), HV_SUCCESS);
    cr_expect_eq((s.state.lvt[0] >> 17) & 3, 2u, "LVT timer in TSC-deadline mode");
    cr_expect_eq(s.state.tsc_deadline, 0, "a fired deadline reads 0");
}

/* CR8 and the APIC's TPR are one register on the soft route: a MOV to CR8 of 8 masks
 * vector 0x40 (class 4) until CR8 drops again. */
Test(intr_guest, cr8_is_the_tpr)
{
    if (strcmp(anyhv_backend_name(), "soft") != 0)
        cr_skip_test("on KVM CR8 and the in-framework TPR are kept apart (README)");
    cr_assert_eq(run_to_report(), (int)TIMER_VECTOR);
    /* mov eax, 8; mov cr8, rax; out 1; out 2; xor eax, eax; mov cr8, rax; nop; hlt */
    static const uint8_t code[] = { 0xb8, 0x08, 0x00, 0x00, 0x00, 0x44, 0x0f, 0x22, 0xc0, 0xb0, 0x01, 0xe6, REPORT_PORT,
                                    0xb0, 0x02, 0xe6, REPORT_PORT, 0x31, 0xc0, 0x44, 0x0f, 0x22, 0xc0, 0x90, 0xf4 };
    memcpy(g.ram + XG_CODE + 0x100, code, sizeof(code));
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, XG_CODE + 0x100);
    hv_vcpu_write_register(g.vcpu, HV_X86_RFLAGS, 0x202);
    cr_assert_eq(run_to_report(), 1, "the OUT with CR8 = 8");
    uint32_t tpr = 0;
    cr_assert_eq(hv_vcpu_apic_read(g.vcpu, 0x80, &tpr), HV_SUCCESS);
    cr_expect_eq(tpr, 0x80, "the APIC's TPR follows CR8");
    cr_assert_eq(hv_vm_lapic_set_intr(g.vcpu, TIMER_VECTOR, HV_APIC_EDGE_TRIGGER), HV_SUCCESS);
    cr_expect_eq(run_to_report(), 2, "vector 0x40 held back while CR8 = 8 masks class 4");
    cr_expect_eq(run_to_report(), (int)TIMER_VECTOR, "delivered once CR8 is 0 again");
}
