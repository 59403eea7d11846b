/* test_intr_api.c - the in-framework interrupt controllers through Apple's calls,
 * without running a guest: with HV_VM_ACCEL_APIC off every call answers
 * HV_UNSUPPORTED; with it on, the local APIC's registers (reset values, TPR/PPR,
 * IRR from hv_vm_lapic_set_intr, LVT masking, version), the IOAPIC's index/window
 * registers and its routing into an APIC (edge, level with remote IRR, EOI
 * broadcast), the 8259 pair's ICW/OCW programming (IRR/ISR reads, masking, ELCR,
 * poll, special mask), and get/put state round trips of all three. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <anyhv/anyhv.h>

#include "support/backend.h"
#include "x86_guest.h"

#define APIC_ID 0x20u
#define APIC_VER 0x30u
#define APIC_TPR 0x80u
#define APIC_PPR 0xa0u
#define APIC_EOI 0xb0u
#define APIC_SVR 0xf0u
#define APIC_ISR 0x100u
#define APIC_TMR 0x180u
#define APIC_IRR 0x200u
#define APIC_ICR_LO 0x300u
#define APIC_ICR_HI 0x310u
#define APIC_LVT_TIMER 0x320u
#define APIC_TIMER_ICR 0x380u
#define APIC_TIMER_CCR 0x390u
#define APIC_TIMER_DCR 0x3e0u
#define LVT_MASKED (1u << 16)
#define SVR_ENABLE (1u << 8)
#define IOAPIC_BASE 0xfec00000ull
#define IOREGSEL IOAPIC_BASE
#define IOWIN (IOAPIC_BASE + 0x10)
#define RTE_LEVEL (1u << 15)
#define RTE_REMOTE_IRR (1u << 14)
#define RTE_MASKED (1u << 16)

static struct xg g;

static void make(hv_vm_options_t opts)
{
    test_require_backend();
    cr_assert_eq(xg_create_opts(&g, opts), 0);
}

static void fini(void) { xg_destroy(&g); }

static uint32_t apic_rd(uint32_t off)
{
    uint32_t v = 0;
    cr_assert_eq(hv_vcpu_apic_read(g.vcpu, off, &v), HV_SUCCESS, "read %#x", off);
    return v;
}

static bool apic_wr(uint32_t off, uint32_t v)
{
    bool quiet = false;
    cr_assert_eq(hv_vcpu_apic_write(g.vcpu, off, v, &quiet), HV_SUCCESS, "write %#x", off);
    return quiet;
}

static bool vec_bit(uint32_t base, uint8_t vector)
{
    return (apic_rd(base + 0x10u * (vector / 32)) >> (vector % 32)) & 1;
}

static void ioapic_wr(uint32_t reg, uint32_t v)
{
    cr_assert_eq(hv_vm_ioapic_write(IOREGSEL, reg), HV_SUCCESS);
    cr_assert_eq(hv_vm_ioapic_write(IOWIN, v), HV_SUCCESS);
}

static uint32_t ioapic_rd(uint32_t reg)
{
    uint32_t v = 0;
    cr_assert_eq(hv_vm_ioapic_write(IOREGSEL, reg), HV_SUCCESS);
    cr_assert_eq(hv_vm_ioapic_read(IOWIN, &v), HV_SUCCESS);
    return v;
}

Test(intr_api, without_accel_apic_everything_is_unsupported, .fini = fini)
{
    make(HV_VM_DEFAULT);
    uint32_t v;
    bool b;
    uint8_t u8;
    hv_apic_state_ext_t as = { .version = HV_APIC_STATE_EXT_VER };
    cr_expect_eq(hv_vcpu_apic_read(g.vcpu, APIC_ID, &v), HV_UNSUPPORTED);
    cr_expect_eq(hv_vcpu_apic_write(g.vcpu, APIC_TPR, 0, &b), HV_UNSUPPORTED);
    cr_expect_eq(hv_vcpu_apic_get_state(g.vcpu, &as), HV_UNSUPPORTED);
    cr_expect_eq(hv_vm_lapic_set_intr(g.vcpu, 0x40, HV_APIC_EDGE_TRIGGER), HV_UNSUPPORTED);
    cr_expect_eq(hv_vm_ioapic_assert_irq(1), HV_UNSUPPORTED);
    cr_expect_eq(hv_vm_atpic_port_read(0x21, &u8), HV_UNSUPPORTED);
    cr_expect_eq(hv_vcpu_inject_extint(g.vcpu), HV_UNSUPPORTED);
    cr_expect_eq(hv_vm_add_pio_notifier(0x80, 1, 0, 0, HV_ION_ANY_VALUE), HV_UNSUPPORTED);
}

Test(intr_api, lapic_registers_after_reset, .fini = fini)
{
    make(HV_VM_ACCEL_APIC);
    cr_expect_eq(apic_rd(APIC_ID) >> 24, g.vcpu, "xAPIC id is the vCPU id");
    cr_expect_eq(apic_rd(APIC_VER) & 0xff, 0x14, "integrated APIC version");
    cr_expect(apic_rd(APIC_LVT_TIMER) & LVT_MASKED, "LVTs start masked");
    cr_expect_eq(apic_rd(APIC_SVR), 0xff, "software-disabled, spurious vector 0xff");
    uint32_t dummy;
    cr_expect_eq(hv_vcpu_apic_read(g.vcpu, 0x44, &dummy), HV_BAD_ARGUMENT, "unaligned offset");
    cr_expect_eq(hv_vcpu_apic_read(g.vcpu, 0x1000, &dummy), HV_BAD_ARGUMENT, "outside the page");
}

Test(intr_api, irr_isr_ppr_and_eoi, .fini = fini)
{
    make(HV_VM_ACCEL_APIC);
    apic_wr(APIC_SVR, SVR_ENABLE | 0xff);
    cr_assert_eq(hv_vm_lapic_set_intr(g.vcpu, 0x51, HV_APIC_LEVEL_TRIGGER), HV_SUCCESS);
    cr_expect(vec_bit(APIC_IRR, 0x51), "IRR has the vector");
    cr_expect(vec_bit(APIC_TMR, 0x51), "level: TMR set");
    apic_wr(APIC_TPR, 0x60);
    cr_expect_eq(apic_rd(APIC_PPR), 0x60, "PPR follows TPR with nothing in service");
    cr_expect_eq(hv_vm_lapic_set_intr(g.vcpu, 0x0f, HV_APIC_EDGE_TRIGGER), HV_SUCCESS);
    cr_expect_not(vec_bit(APIC_IRR, 0x0f), "vectors below 16 are illegal and not raised");
    cr_expect_eq(hv_vm_lapic_set_intr(g.vcpu, 0x40, (hv_apic_intr_trigger_t)7), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vm_lapic_set_intr(63, 0x40, HV_APIC_EDGE_TRIGGER), HV_BAD_ARGUMENT, "no such vCPU");
}

Test(intr_api, lapic_state_round_trip, .fini = fini)
{
    make(HV_VM_ACCEL_APIC);
    apic_wr(APIC_SVR, SVR_ENABLE | 0xef);
    apic_wr(APIC_TPR, 0x20);
    apic_wr(APIC_TIMER_DCR, 0xb);
    apic_wr(APIC_LVT_TIMER, 0x20045);
    hv_vm_lapic_set_intr(g.vcpu, 0x77, HV_APIC_EDGE_TRIGGER);
    hv_apic_state_ext_t a = { .version = HV_APIC_STATE_EXT_VER }, b = { .version = HV_APIC_STATE_EXT_VER };
    cr_assert_eq(hv_vcpu_apic_get_state(g.vcpu, &a), HV_SUCCESS);
    cr_expect_eq(a.state.tpr, 0x20);
    cr_expect_eq(a.state.lvt[0], 0x20045, "timer LVT, periodic, vector 0x45");
    cr_expect_eq((a.state.irr[0x77 / 32] >> (0x77 % 32)) & 1, 1u);
    apic_wr(APIC_TPR, 0);
    cr_assert_eq(hv_vcpu_apic_put_state(g.vcpu, &a), HV_SUCCESS);
    cr_assert_eq(hv_vcpu_apic_get_state(g.vcpu, &b), HV_SUCCESS);
    cr_expect_eq(memcmp(&a, &b, sizeof(a)), 0, "get -> put -> get gives the same state");
    hv_apic_state_ext_t bad = a;
    bad.version = 1;
    cr_expect_eq(hv_vcpu_apic_put_state(g.vcpu, &bad), HV_BAD_ARGUMENT, "wrong version");
    bad = a;
    bad.state.boot_state = (enum hv_boot_state)9;
    cr_expect_eq(hv_vcpu_apic_put_state(g.vcpu, &bad), HV_BAD_ARGUMENT, "boot state out of range");
}

Test(intr_api, timer_counts_down_on_the_vm_clock, .fini = fini)
{
    make(HV_VM_ACCEL_APIC);
    apic_wr(APIC_SVR, SVR_ENABLE | 0xff);
    apic_wr(APIC_TIMER_DCR, 0xb);                 /* divide by 1 */
    apic_wr(APIC_LVT_TIMER, LVT_MASKED | 0x40);
    apic_wr(APIC_TIMER_ICR, 0xffffffffu);
    uint32_t c0 = apic_rd(APIC_TIMER_CCR);
    struct timespec ts = { 0, 5000000 };
    nanosleep(&ts, NULL);
    uint32_t c1 = apic_rd(APIC_TIMER_CCR);
    cr_expect(c0 <= 0xffffffffu && c1 < c0, "the count goes down: %u then %u", c0, c1);
    cr_expect_geq(c0 - c1, 5000000u / 10u, "5 ms at >= 16 MHz bus is well over 500000/... ticks");
}

Test(intr_api, init_and_sipi_are_the_clients, .fini = fini)
{
    make(HV_VM_ACCEL_APIC);
    apic_wr(APIC_SVR, SVR_ENABLE | 0xff);
    apic_wr(APIC_ICR_HI, 0);
    cr_expect_not(apic_wr(APIC_ICR_LO, 0x4500), "INIT to APIC 0 has a side effect");
    hv_vm_exitinfo_t info = 0;
    cr_assert_eq(hv_vcpu_exit_info(g.vcpu, &info), HV_SUCCESS);
    cr_expect_eq(info, HV_VM_EXITINFO_INIT_AP);
    bool act[4] = { 0 };
    cr_assert_eq(hv_vcpu_exit_init_ap(g.vcpu, act, 4), HV_SUCCESS);
    cr_expect(act[0] && !act[1], "targets: vCPU 0 only");
    cr_expect_not(apic_wr(APIC_ICR_LO, 0x4608), "SIPI vector 8");
    cr_assert_eq(hv_vcpu_exit_info(g.vcpu, &info), HV_SUCCESS);
    cr_expect_eq(info, HV_VM_EXITINFO_STARTUP_AP);
    uint64_t rip = 0;
    cr_assert_eq(hv_vcpu_exit_startup_ap(g.vcpu, act, 4, &rip), HV_SUCCESS);
    cr_expect_eq(rip, 0x8000, "the AP starts at vector << 12");
    cr_expect(apic_wr(APIC_ICR_LO, 0x40050), "a fixed self IPI needs nobody");
    cr_expect(vec_bit(APIC_IRR, 0x50));
}

Test(intr_api, ioapic_routes_edge_and_level_with_remote_irr, .fini = fini)
{
    make(HV_VM_ACCEL_APIC);
    apic_wr(APIC_SVR, SVR_ENABLE | 0xff);
    cr_expect_eq(ioapic_rd(1) & 0xff, 0x20, "IOAPIC version");
    cr_expect_eq((ioapic_rd(1) >> 16) & 0xff, 23, "24 pins");
    cr_expect(ioapic_rd(0x10) & RTE_MASKED, "pins start masked");
    ioapic_wr(0x10 + 2 * 3, 0x61);                 /* pin 3: edge, vector 0x61, APIC 0 */
    ioapic_wr(0x11 + 2 * 3, 0);
    cr_assert_eq(hv_vm_ioapic_pulse_irq(3), HV_SUCCESS);
    cr_expect(vec_bit(APIC_IRR, 0x61), "edge pin delivered");
    cr_expect_not(vec_bit(APIC_TMR, 0x61));
    ioapic_wr(0x10 + 2 * 4, 0x62 | RTE_LEVEL);     /* pin 4: level, vector 0x62 */
    ioapic_wr(0x11 + 2 * 4, 0);
    cr_assert_eq(hv_vm_ioapic_assert_irq(4), HV_SUCCESS);
    cr_expect(vec_bit(APIC_IRR, 0x62) && vec_bit(APIC_TMR, 0x62), "level pin delivered, TMR set");
    cr_expect(ioapic_rd(0x10 + 2 * 4) & RTE_REMOTE_IRR, "remote IRR set until EOI");
    /* Make it in service as the CPU would (state put), then EOI it: the still-asserted
     * pin is delivered again. */
    hv_apic_state_ext_t s = { .version = HV_APIC_STATE_EXT_VER };
    hv_vcpu_apic_get_state(g.vcpu, &s);
    s.state.irr[0x62 / 32] &= ~(1u << (0x62 % 32));
    s.state.irr[0x61 / 32] &= ~(1u << (0x61 % 32));
    s.state.isr[0x62 / 32] |= 1u << (0x62 % 32);
    cr_assert_eq(hv_vcpu_apic_put_state(g.vcpu, &s), HV_SUCCESS);
    apic_wr(APIC_EOI, 0);
    cr_expect_not(vec_bit(APIC_ISR, 0x62), "EOI ends the in-service vector");
    cr_expect(vec_bit(APIC_IRR, 0x62), "asserted level pin comes back after the EOI broadcast");
    cr_expect(ioapic_rd(0x10 + 2 * 4) & RTE_REMOTE_IRR, "and sets remote IRR again");
    cr_expect_eq(hv_vm_ioapic_assert_irq(24), HV_BAD_ARGUMENT, "no pin 24");
    hv_ioapic_state_ext_t a = { .version = HV_IOAPIC_STATE_EXT_VER }, b = a;
    cr_assert_eq(hv_vm_ioapic_get_state(&a), HV_SUCCESS);
    cr_expect_eq(a.state.rtbl[3] & 0xff, 0x61);
    ioapic_wr(0x10 + 2 * 3, RTE_MASKED);
    cr_assert_eq(hv_vm_ioapic_put_state(&a), HV_SUCCESS);
    cr_assert_eq(hv_vm_ioapic_get_state(&b), HV_SUCCESS);
    cr_expect_eq(memcmp(&a, &b, sizeof(a)), 0, "IOAPIC state round trip");
}

static void pic_init(uint8_t base0, uint8_t base1)
{
    const struct { int port; uint8_t v; } seq[] = {
        { 0x20, 0x11 }, { 0x21, base0 }, { 0x21, 0x04 }, { 0x21, 0x01 },
        { 0xa0, 0x11 }, { 0xa1, base1 }, { 0xa1, 0x02 }, { 0xa1, 0x01 },
    };
    for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
        cr_assert_eq(hv_vm_atpic_port_write(seq[i].port, seq[i].v), HV_SUCCESS);
}

static uint8_t pic_rd(int port)
{
    uint8_t v = 0;
    cr_assert_eq(hv_vm_atpic_port_read(port, &v), HV_SUCCESS);
    return v;
}

Test(intr_api, atpic_programming_irr_isr_mask_poll, .fini = fini)
{
    make(HV_VM_ACCEL_APIC);
    pic_init(0x20, 0x28);
    cr_expect_eq(pic_rd(0x21), 0x00, "ICW1 clears the mask");
    cr_assert_eq(hv_vm_atpic_port_write(0x21, 0xfe), HV_SUCCESS);   /* only IRQ0 */
    cr_expect_eq(pic_rd(0x21), 0xfe);
    cr_assert_eq(hv_vm_atpic_assert_irq(1), HV_SUCCESS);
    hv_vm_atpic_port_write(0x20, 0x0a);                              /* OCW3: read IRR */
    cr_expect_eq(pic_rd(0x20) & 0x02, 0x02, "IRR shows masked IRQ1 too");
    cr_assert_eq(hv_vm_atpic_assert_irq(10), HV_SUCCESS);
    hv_vm_atpic_port_write(0xa0, 0x0a);
    cr_expect_eq(pic_rd(0xa0) & 0x04, 0x04, "secondary IRR has IRQ10");
    hv_vm_atpic_port_write(0x21, 0x00);                              /* unmask all */
    hv_vm_atpic_port_write(0x20, 0x0c);                              /* OCW3: poll */
    cr_expect_eq(pic_rd(0x20), 0x81, "poll: IRQ1 is the highest request");
    hv_vm_atpic_port_write(0x20, 0x0b);                              /* read ISR */
    cr_expect_eq(pic_rd(0x20), 0x02, "poll acknowledged it: in service");
    hv_vm_atpic_port_write(0x20, 0x20);                              /* non-specific EOI */
    cr_expect_eq(pic_rd(0x20), 0x00, "EOI clears it");
    cr_assert_eq(hv_vm_atpic_port_write(0x4d1, 0xff), HV_SUCCESS);
    cr_expect_eq(pic_rd(0x4d1), 0xde, "ELCR: IRQ 8 and 13 stay edge");
    uint8_t v;
    cr_expect_eq(hv_vm_atpic_port_read(0x22, &v), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_vm_atpic_assert_irq(16), HV_BAD_ARGUMENT);
    hv_atpic_state_ext_t a = { .version = HV_ATPIC_STATE_EXT_VER }, b = a;
    cr_assert_eq(hv_vm_atpic_get_state(&a, false), HV_SUCCESS);
    cr_expect_eq(a.state.irq_base, 0x28);
    cr_expect(a.state.ready);
    hv_vm_atpic_port_write(0xa1, 0x55);
    cr_assert_eq(hv_vm_atpic_put_state(&a, false), HV_SUCCESS);
    cr_assert_eq(hv_vm_atpic_get_state(&b, false), HV_SUCCESS);
    cr_expect_eq(memcmp(&a, &b, sizeof(a)), 0, "8259 state round trip");
}

Test(intr_api, apic_bus_frequency_only_before_vcpus, .fini = fini)
{
    make(HV_VM_ACCEL_APIC);
    cr_expect_eq(hv_vm_set_apic_bus_freq(1000), HV_BAD_ARGUMENT, "below 16 MHz");
    cr_expect_eq(hv_vm_set_apic_bus_freq(200000000), HV_BUSY, "the VM has a vCPU");
}

/* xAPIC page accesses reach the client as VMX's APIC-access exits (offset and
 * direction in the qualification), reads with the value already known. */
Test(intr_api, xapic_page_access_is_an_apic_access_exit, .fini = fini)
{
    make(HV_VM_ACCEL_APIC);
    static const uint8_t code[] = {
        0xa1, 0x20, 0x00, 0xe0, 0xfe,                               /* mov eax, [0xfee00020] */
        0xc7, 0x05, 0x80, 0x00, 0xe0, 0xfe, 0x30, 0x00, 0x00, 0x00, /* mov dword [0xfee00080], 0x30 */
        0xf4,
    };
    cr_assert_eq(xg_protected32(&g), 0);
    memcpy(g.ram + XG_CODE, code, sizeof(code));
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_APIC_ACCESS, "reason %u", xg_exit_reason(&g));
    cr_expect_eq(xg_read_vmcs(&g, VMCS_RO_EXIT_QUALIFIC), 0x20, "read of the ID register");
    hv_vm_exitinfo_t info = 0;
    cr_assert_eq(hv_vcpu_exit_info(g.vcpu, &info), HV_SUCCESS);
    cr_expect_eq(info, HV_VM_EXITINFO_APIC_ACCESS_READ);
    uint32_t value = 1;
    cr_assert_eq(hv_vcpu_exit_apic_access_read(g.vcpu, &value), HV_SUCCESS);
    cr_expect_eq(value, 0, "APIC id 0");
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, xg_reg(&g, HV_X86_RIP) + 5);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_APIC_ACCESS);
    cr_expect_eq(xg_read_vmcs(&g, VMCS_RO_EXIT_QUALIFIC), 0x1080, "write to the TPR");
    cr_assert_eq(hv_vcpu_exit_info(g.vcpu, &info), HV_SUCCESS);
    cr_expect_eq(info, HV_VM_EXITINFO_VMX, "a write carries nothing more");
    cr_expect(apic_wr(APIC_TPR, 0x30), "the client completes the write");
    cr_expect_eq(apic_rd(APIC_TPR), 0x30);
}

/* anyhv_vm_fork while another thread is in and out of device calls: the child, which
 * has only the forking thread, must start with the device lock free (a copy of a lock
 * held by a thread it does not have would block its first device call forever). */
#define FORKS 40u
#define CHILD_WAIT_MS 10000u
#define IRQ_PIN 3u

static _Atomic bool hammer_stop;

static void *hammer_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&hammer_stop)) {
        hv_vm_ioapic_assert_irq(IRQ_PIN);
        hv_vm_ioapic_deassert_irq(IRQ_PIN);
    }
    return NULL;
}

/* The child's status, or -1 when it did not end within CHILD_WAIT_MS (then killed). */
static int wait_bounded(pid_t pid)
{
    for (unsigned ms = 0; ms < CHILD_WAIT_MS; ms++) {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

Test(intr_api, fork_while_another_thread_is_in_a_device_call, .fini = fini)
{
    make(HV_VM_ACCEL_APIC);
    if (strcmp(anyhv_backend_name(), "soft") != 0)
        cr_skip_test("anyhv_vm_fork is the software route's");
    atomic_store(&hammer_stop, false);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, hammer_main, NULL), 0);
    int bad = 0;
    for (unsigned i = 0; i < FORKS && !bad; i++) {
        pid_t pid = -1;
        hv_return_t ret = anyhv_vm_fork(&pid);
        if (ret != HV_SUCCESS) {
            bad = 1000 + (int)i;
            break;
        }
        if (pid == 0) {
            uint32_t v = 0;
            _exit(hv_vm_ioapic_read(IOAPIC_BASE, &v) == HV_SUCCESS ? 0 : 1);
        }
        int status = wait_bounded(pid);
        if (status != 0)
            bad = status;
    }
    atomic_store(&hammer_stop, true);
    pthread_join(t, NULL);
    cr_expect_eq(bad, 0, "a child's device call (status %d: -1 = hung, >= 1000 = fork refused)", bad);
}
