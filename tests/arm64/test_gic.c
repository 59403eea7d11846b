/* The in-framework GICv3 (hv_gic_*) on the software route: geometry and creation
 * rules; a guest that programs the distributor, its redistributor and the ICC
 * registers with no exit, then takes SPIs by priority, the virtual timer's PPI, and
 * an SGI sent by another vCPU running on its own thread; MSIs; the register calls;
 * the state blob round trip. Guest: tests/guests/aarch64/gic.S. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "a64_test.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x100000ull
#define GICD_BASE 0x08000000ull
#define GICR_BASE 0x080a0000ull
#define MSI_BASE 0x08020000ull
#define MSI_FIRST 64u
#define MSI_COUNT 32u
#define SEND_SGI_ENTRY (RAM_BASE + 4)
#define HVC_READY 1u
#define HVC_IRQ 2u
#define HVC_SGI_SENT 3u
#define HVC_UNEXPECTED 0x3fu
#define SPURIOUS 1023u
#define GICD_ISENABLER1 0x0104u
#define GICD_ISPENDR1 0x0204u
#define GICD_ISPENDR2 0x0208u
#define GICD_IPRIORITYR(n) (0x0400u + (n))
#define GICD_IROUTER(n) (0x6000u + 8u * (n))
#define GICR_ISENABLER0 0x10100u
#define GICR_TYPER 0x0008u
#define CNT_CTL_ENABLE 1u

static struct a64_vm vm;

static void create_gic(bool msi)
{
    hv_gic_config_t c = hv_gic_config_create();
    cr_assert_not_null(c);
    cr_assert_eq(hv_gic_config_set_distributor_base(c, GICD_BASE), HV_SUCCESS);
    cr_assert_eq(hv_gic_config_set_redistributor_base(c, GICR_BASE), HV_SUCCESS);
    if (msi) {
        cr_assert_eq(hv_gic_config_set_msi_region_base(c, MSI_BASE), HV_SUCCESS);
        cr_assert_eq(hv_gic_config_set_msi_interrupt_range(c, MSI_FIRST, MSI_COUNT), HV_SUCCESS);
    }
    cr_assert_eq(hv_gic_create(c), HV_SUCCESS);
    os_release(c);
}

/* VM, GIC, then vCPU 0 with the guest loaded and its GIC bases in x0/x1. */
static void setup(void)
{
    test_require_backend();
    vm.base = RAM_BASE;
    vm.size = RAM_SIZE;
    vm.mem = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(vm.mem, MAP_FAILED);
    cr_assert_eq(hv_vm_create(NULL), HV_SUCCESS);
    cr_assert_eq(hv_vm_map(vm.mem, RAM_BASE, RAM_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC), HV_SUCCESS);
    create_gic(true);
    cr_assert_eq(hv_vcpu_create(&vm.vcpu, &vm.exit, NULL), HV_SUCCESS);
    a64_load_guest(&vm, "gic", RAM_BASE);
}

static void teardown(void)
{
    a64_vm_teardown(&vm);
}

static void start_guest(struct a64_vm *m)
{
    hv_ipa_t rd = 0;
    cr_assert_eq(hv_gic_get_redistributor_base(m->vcpu, &rd), HV_SUCCESS);
    a64_set(m, HV_REG_X0, GICD_BASE);
    a64_set(m, HV_REG_X1, rd);
    a64_set(m, HV_REG_PC, RAM_BASE);
    a64_set(m, HV_REG_CPSR, 0x3c5);
}

/* Run until an HVC; returns its immediate (every other exit fails the test). */
static unsigned run_to_hvc(struct a64_vm *m)
{
    uint64_t esr = a64_run_exception(m);
    cr_assert_eq(ESR_EC(esr), EC_HVC, "exit ESR %#llx at pc %#llx (a GIC access must not exit)",
                 (unsigned long long)esr, (unsigned long long)a64_reg(m, HV_REG_PC));
    return ESR_ISS(esr);
}

TestSuite(arm64_gic, .init = setup, .fini = teardown);

Test(arm64_gic, guest_programs_the_gic_without_exits)
{
    start_guest(&vm);
    cr_assert_eq(run_to_hvc(&vm), HVC_READY);
    uint64_t typer = a64_reg(&vm, HV_REG_X12);
    uint32_t spi_base = 0, spi_count = 0;
    cr_assert_eq(hv_gic_get_spi_interrupt_range(&spi_base, &spi_count), HV_SUCCESS);
    cr_expect_eq(((typer & 0x1f) + 1) * 32, spi_base + spi_count, "GICD_TYPER.ITLinesNumber");
    cr_expect_eq(a64_reg(&vm, HV_REG_X13) & 0xf0, 0x30, "GICD_PIDR2.ArchRev = GICv3");
    uint64_t rtyper = a64_reg(&vm, HV_REG_X14);
    cr_expect_eq(rtyper >> 32, a64_sys(&vm, HV_SYS_REG_MPIDR_EL1) & 0xffffff, "GICR_TYPER.Affinity");
    cr_expect(rtyper & (1u << 4), "the only redistributor is the last");
    /* What the guest wrote is what the VMM reads back. */
    uint64_t v = 0;
    cr_assert_eq(hv_gic_get_icc_reg(vm.vcpu, HV_GIC_ICC_REG_PMR_EL1, &v), HV_SUCCESS);
    cr_expect_eq(v, 0xf0);
    cr_assert_eq(hv_gic_get_icc_reg(vm.vcpu, HV_GIC_ICC_REG_IGRPEN1_EL1, &v), HV_SUCCESS);
    cr_expect_eq(v, 1);
    cr_assert_eq(hv_gic_get_distributor_reg(GICD_IROUTER(40), &v), HV_SUCCESS);
    cr_expect_eq(v, a64_sys(&vm, HV_SYS_REG_MPIDR_EL1) & 0xffffff);
    cr_assert_eq(hv_gic_get_distributor_reg(GICD_IPRIORITYR(40), &v), HV_SUCCESS);
    cr_expect_eq(v & 0xffff, 0x80a0);
    cr_assert_eq(hv_gic_get_redistributor_reg(vm.vcpu, GICR_ISENABLER0, &v), HV_SUCCESS);
    cr_expect_eq(v, (1u << 27) | (1u << 1));
    uint64_t pfr0 = a64_sys(&vm, HV_SYS_REG_ID_AA64PFR0_EL1);
    cr_expect_eq((pfr0 >> 24) & 0xf, 1, "ID_AA64PFR0_EL1.GIC: system register interface");
}

Test(arm64_gic, spis_are_taken_by_priority)
{
    start_guest(&vm);
    cr_assert_eq(run_to_hvc(&vm), HVC_READY);
    /* Both pending before the guest unmasks IRQs: 41 (0x80) beats 40 (0xa0). */
    cr_assert_eq(hv_gic_set_spi(40, true), HV_SUCCESS);
    cr_assert_eq(hv_gic_set_spi(41, true), HV_SUCCESS);
    cr_assert_eq(run_to_hvc(&vm), HVC_IRQ);
    cr_expect_eq(a64_reg(&vm, HV_REG_X10), 41);
    cr_expect_eq(a64_reg(&vm, HV_REG_X11), 0x80, "running priority = SPI 41's");
    cr_assert_eq(hv_gic_set_spi(41, false), HV_SUCCESS);   /* the device lowers its line */
    cr_assert_eq(run_to_hvc(&vm), HVC_IRQ);
    cr_expect_eq(a64_reg(&vm, HV_REG_X10), 40);
    cr_assert_eq(hv_gic_set_spi(40, false), HV_SUCCESS);
    /* Masked by priority: PMR 0x90 hides a 0xa0 interrupt until it is raised again. */
    cr_assert_eq(hv_gic_set_icc_reg(vm.vcpu, HV_GIC_ICC_REG_PMR_EL1, 0x90), HV_SUCCESS);
    cr_assert_eq(hv_gic_set_spi(40, true), HV_SUCCESS);
    cr_assert_eq(hv_gic_set_spi(41, true), HV_SUCCESS);
    cr_assert_eq(run_to_hvc(&vm), HVC_IRQ);
    cr_expect_eq(a64_reg(&vm, HV_REG_X10), 41);
    cr_assert_eq(hv_gic_set_spi(41, false), HV_SUCCESS);
    uint64_t pend = 0;
    cr_assert_eq(hv_gic_get_distributor_reg(GICD_ISPENDR1, &pend), HV_SUCCESS);
    cr_expect_eq(pend & (3u << 8), 1u << 8, "SPI 40 still pending, below the mask");
}

Test(arm64_gic, priority_not_intid_decides)
{
    start_guest(&vm);
    cr_assert_eq(run_to_hvc(&vm), HVC_READY);
    cr_assert_eq(hv_gic_set_distributor_reg(GICD_IPRIORITYR(40), 0x8070), HV_SUCCESS);   /* 40: 0x70, 41: 0x80 */
    cr_assert_eq(hv_gic_set_spi(41, true), HV_SUCCESS);
    cr_assert_eq(hv_gic_set_spi(40, true), HV_SUCCESS);
    cr_assert_eq(run_to_hvc(&vm), HVC_IRQ);
    cr_expect_eq(a64_reg(&vm, HV_REG_X10), 40);
    cr_expect_eq(a64_reg(&vm, HV_REG_X11), 0x70);
}

Test(arm64_gic, disabled_spi_is_not_delivered)
{
    start_guest(&vm);
    cr_assert_eq(run_to_hvc(&vm), HVC_READY);
    cr_assert_eq(hv_gic_set_distributor_reg(0x0184 /* GICD_ICENABLER1 */, 1u << 9), HV_SUCCESS);
    cr_assert_eq(hv_gic_set_spi(41, true), HV_SUCCESS);
    cr_assert_eq(hv_gic_set_spi(40, true), HV_SUCCESS);
    cr_assert_eq(run_to_hvc(&vm), HVC_IRQ);
    cr_expect_eq(a64_reg(&vm, HV_REG_X10), 40, "41 is disabled");
}

Test(arm64_gic, vtimer_raises_its_ppi_instead_of_exiting)
{
    start_guest(&vm);
    cr_assert_eq(run_to_hvc(&vm), HVC_READY);
    uint32_t ppi = 0;
    cr_assert_eq(hv_gic_get_intid(HV_GIC_INT_EL1_VIRTUAL_TIMER, &ppi), HV_SUCCESS);
    a64_set_sys(&vm, HV_SYS_REG_CNTV_CVAL_EL0, 0);   /* due now */
    a64_set_sys(&vm, HV_SYS_REG_CNTV_CTL_EL0, CNT_CTL_ENABLE);
    cr_assert_eq(run_to_hvc(&vm), HVC_IRQ, "no VTIMER_ACTIVATED exit with a GIC");
    cr_expect_eq(a64_reg(&vm, HV_REG_X10), ppi);
    cr_expect_eq(a64_reg(&vm, HV_REG_X11), 0xa0, "running priority = the timer PPI's");
    bool masked = false;
    cr_assert_eq(hv_vcpu_get_vtimer_mask(vm.vcpu, &masked), HV_SUCCESS);
    cr_expect_not(masked, "no automatic masking either");
}

struct second_cpu {
    struct a64_vm m;
    unsigned hvc[3];
    uint64_t intid;
    pthread_mutex_t lock;
    pthread_cond_t ready;
    bool is_ready;
};

/* vCPU 1 on its own thread: set up, report ready, spin until the SGI arrives. */
static void *second_cpu_main(void *arg)
{
    struct second_cpu *s = arg;
    s->m.mem = vm.mem;
    cr_assert_eq(hv_vcpu_create(&s->m.vcpu, &s->m.exit, NULL), HV_SUCCESS);
    start_guest(&s->m);
    s->hvc[0] = run_to_hvc(&s->m);
    pthread_mutex_lock(&s->lock);
    s->is_ready = true;
    pthread_cond_signal(&s->ready);
    pthread_mutex_unlock(&s->lock);
    cr_assert_eq(hv_vcpu_run(s->m.vcpu), HV_SUCCESS);
    if (s->m.exit->reason == HV_EXIT_REASON_EXCEPTION) {
        s->intid = a64_reg(&s->m, HV_REG_X10);
        /* The main thread polls hvc[1] while this vCPU runs. */
        __atomic_store_n(&s->hvc[1], ESR_ISS(s->m.exit->exception.syndrome), __ATOMIC_RELEASE);
    }
    hv_vcpu_destroy(s->m.vcpu);
    return NULL;
}

Test(arm64_gic, sgi_reaches_another_vcpu_on_its_thread)
{
    struct second_cpu s = { .lock = PTHREAD_MUTEX_INITIALIZER, .ready = PTHREAD_COND_INITIALIZER };
    start_guest(&vm);
    cr_assert_eq(run_to_hvc(&vm), HVC_READY);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, second_cpu_main, &s), 0);
    pthread_mutex_lock(&s.lock);
    while (!s.is_ready)
        pthread_cond_wait(&s.ready, &s.lock);
    pthread_mutex_unlock(&s.lock);
    cr_expect_eq(s.hvc[0], HVC_READY);
    /* vCPU 0 sends SGI 1 to Aff0 = 1 (vCPU 1's MPIDR). */
    a64_set(&vm, HV_REG_PC, SEND_SGI_ENTRY);
    a64_set(&vm, HV_REG_X7, (1ull << 24) | (1u << 1));
    cr_assert_eq(run_to_hvc(&vm), HVC_SGI_SENT);
    /* If the SGI never arrived, vCPU 1 spins: end its run after 10 s. */
    for (int i = 0; i < 1000 && __atomic_load_n(&s.hvc[1], __ATOMIC_ACQUIRE) == 0; i++) {
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
    if (__atomic_load_n(&s.hvc[1], __ATOMIC_ACQUIRE) == 0) {
        hv_vcpu_t other = s.m.vcpu;
        hv_vcpus_exit(&other, 1);
    }
    pthread_join(t, NULL);
    cr_expect_eq(s.hvc[1], HVC_IRQ, "vCPU 1 took an interrupt");
    cr_expect_eq(s.intid, 1, "SGI 1");
}

Test(arm64_gic, msi_frame)
{
    uint64_t v = 0;
    cr_assert_eq(hv_gic_get_msi_reg(HV_GIC_REG_GICM_TYPER, &v), HV_SUCCESS);
    cr_expect_eq(v, (MSI_FIRST << 16) | MSI_COUNT, "GICM_TYPER: base SPI and count");
    cr_expect_eq(hv_gic_send_msi(MSI_BASE + HV_GIC_REG_GICM_SET_SPI_NSR, MSI_FIRST + 3), HV_SUCCESS);
    cr_assert_eq(hv_gic_get_distributor_reg(GICD_ISPENDR2, &v), HV_SUCCESS);
    cr_expect_eq(v, 1u << 3, "INTID 67 pending");
    cr_expect_eq(hv_gic_send_msi(MSI_BASE, MSI_FIRST), HV_BAD_ARGUMENT, "not the SETSPI address");
    cr_expect_eq(hv_gic_send_msi(MSI_BASE + HV_GIC_REG_GICM_SET_SPI_NSR, 40), HV_BAD_ARGUMENT, "not an MSI SPI");
    cr_expect_eq(hv_gic_set_spi(MSI_FIRST, true), HV_BAD_ARGUMENT, "MSI SPIs are not wired");
    cr_expect_eq(hv_gic_set_spi(31, true), HV_BAD_ARGUMENT);
    cr_expect_eq(hv_gic_set_spi(512, true), HV_BAD_ARGUMENT);
}

Test(arm64_gic, state_round_trip)
{
    cr_assert_eq(hv_gic_set_distributor_reg(0x0000, 2), HV_SUCCESS);   /* GICD_CTLR.EnableGrp1 */
    cr_assert_eq(hv_gic_set_distributor_reg(GICD_ISENABLER1, 0x00f0), HV_SUCCESS);
    cr_assert_eq(hv_gic_set_distributor_reg(GICD_IPRIORITYR(44), 0x48), HV_SUCCESS);
    cr_assert_eq(hv_gic_set_distributor_reg(GICD_IROUTER(45), 0x0102), HV_SUCCESS);
    cr_assert_eq(hv_gic_set_redistributor_reg(vm.vcpu, GICR_ISENABLER0, 1u << 27), HV_SUCCESS);
    cr_assert_eq(hv_gic_set_spi(36, true), HV_SUCCESS);
    hv_gic_state_t st = hv_gic_state_create();
    cr_assert_not_null(st);
    size_t size = 0;
    cr_assert_eq(hv_gic_state_get_size(st, &size), HV_SUCCESS);
    cr_assert_gt(size, 0);
    uint8_t *blob = malloc(size);
    cr_assert_eq(hv_gic_state_get_data(st, blob), HV_SUCCESS);
    os_release(st);

    cr_assert_eq(hv_gic_reset(), HV_SUCCESS);
    uint64_t v = 1;
    cr_assert_eq(hv_gic_get_distributor_reg(GICD_ISENABLER1, &v), HV_SUCCESS);
    cr_expect_eq(v, 0, "reset disables");
    cr_assert_eq(hv_gic_get_redistributor_reg(vm.vcpu, GICR_ISENABLER0, &v), HV_SUCCESS);
    cr_expect_eq(v, 0);

    cr_assert_eq(hv_gic_set_state(blob, size), HV_SUCCESS);
    cr_assert_eq(hv_gic_get_distributor_reg(0x0000, &v), HV_SUCCESS);
    cr_expect_eq(v & 3, 2);
    cr_assert_eq(hv_gic_get_distributor_reg(GICD_ISENABLER1, &v), HV_SUCCESS);
    cr_expect_eq(v, 0x00f0);
    cr_assert_eq(hv_gic_get_distributor_reg(GICD_IPRIORITYR(44), &v), HV_SUCCESS);
    cr_expect_eq(v & 0xff, 0x48);
    cr_assert_eq(hv_gic_get_distributor_reg(GICD_IROUTER(45), &v), HV_SUCCESS);
    cr_expect_eq(v, 0x0102);
    cr_assert_eq(hv_gic_get_distributor_reg(GICD_ISPENDR1, &v), HV_SUCCESS);
    cr_expect_eq(v, 1u << 4, "SPI 36's line is still high");
    cr_assert_eq(hv_gic_get_redistributor_reg(vm.vcpu, GICR_ISENABLER0, &v), HV_SUCCESS);
    cr_expect_eq(v, 1u << 27);

    blob[0] ^= 0xff;
    cr_expect_eq(hv_gic_set_state(blob, size), HV_BAD_ARGUMENT, "a damaged blob is refused");
    blob[0] ^= 0xff;
    cr_expect_eq(hv_gic_set_state(blob, size - 1), HV_BAD_ARGUMENT, "a short blob is refused");
    free(blob);
}

Test(arm64_gic, register_calls_check_their_arguments)
{
    uint64_t v = 0;
    cr_expect_eq(hv_gic_get_distributor_reg(0x0002, &v), HV_BAD_ARGUMENT, "misaligned");
    cr_expect_eq(hv_gic_get_icc_reg(vm.vcpu, HV_GIC_ICC_REG_SRE_EL2, &v), HV_BAD_ARGUMENT, "no EL2");
    cr_expect_eq(hv_gic_set_icc_reg(vm.vcpu, HV_GIC_ICC_REG_RPR_EL1, 0), HV_BAD_ARGUMENT, "RPR is read-only");
    cr_expect_eq(hv_gic_get_ich_reg(vm.vcpu, HV_GIC_ICH_REG_HCR_EL2, &v), HV_UNSUPPORTED);
    cr_expect_eq(hv_gic_get_icc_reg(vm.vcpu + 1, HV_GIC_ICC_REG_PMR_EL1, &v), HV_BAD_ARGUMENT, "no such vCPU");
    cr_assert_eq(hv_gic_get_redistributor_reg(vm.vcpu, GICR_TYPER, &v), HV_SUCCESS);
    cr_expect(v & (1u << 4), "GICR_TYPER.Last");
    hv_ipa_t rd = 0;
    cr_assert_eq(hv_gic_get_redistributor_base(vm.vcpu, &rd), HV_SUCCESS);
    cr_expect_eq(rd, GICR_BASE + vm.vcpu * 0x20000ull);
    hv_gic_config_t c = hv_gic_config_create();
    cr_assert_eq(hv_gic_config_set_distributor_base(c, 0x09000000), HV_SUCCESS);
    cr_assert_eq(hv_gic_config_set_redistributor_base(c, 0x0a000000), HV_SUCCESS);
    cr_expect_eq(hv_gic_create(c), HV_EXISTS, "one GIC per VM");
    os_release(c);
}

/* Creation rules and geometry, without the fixture. */
Test(arm64_gic_create, rules_and_geometry)
{
    test_require_backend();
    size_t sz = 0;
    cr_assert_eq(hv_gic_get_distributor_size(&sz), HV_SUCCESS);
    cr_expect_eq(sz, 0x10000);
    cr_assert_eq(hv_gic_get_redistributor_size(&sz), HV_SUCCESS);
    cr_expect_eq(sz, 0x20000, "RD_base and SGI_base frames");
    uint32_t max = 0;
    cr_assert_eq(hv_vm_get_max_vcpu_count(&max), HV_SUCCESS);
    cr_assert_eq(hv_gic_get_redistributor_region_size(&sz), HV_SUCCESS);
    cr_expect_eq(sz, (size_t)max * 0x20000);
    cr_assert_eq(hv_gic_get_redistributor_base_alignment(&sz), HV_SUCCESS);
    cr_expect_eq(sz, 0x10000);
    uint32_t id = 0;
    cr_assert_eq(hv_gic_get_intid(HV_GIC_INT_EL1_PHYSICAL_TIMER, &id), HV_SUCCESS);
    cr_expect_eq(id, 30);
    cr_expect_eq(hv_gic_get_intid(1, &id), HV_BAD_ARGUMENT);

    hv_gic_config_t c = hv_gic_config_create();
    cr_assert_eq(hv_gic_config_set_distributor_base(c, 0x08000000), HV_SUCCESS);
    cr_expect_eq(hv_gic_config_set_redistributor_base(c, 0x080a1000), HV_BAD_ARGUMENT, "misaligned");
    cr_expect_eq(hv_gic_config_set_msi_interrupt_range(c, 16, 4), HV_BAD_ARGUMENT, "not SPIs");
    cr_expect_eq(hv_gic_create(c), HV_BAD_ARGUMENT, "no VM yet");
    cr_assert_eq(hv_vm_create(NULL), HV_SUCCESS);
    cr_expect_eq(hv_gic_create(c), HV_BAD_ARGUMENT, "no redistributor base");
    cr_assert_eq(hv_gic_config_set_redistributor_base(c, 0x08000000), HV_SUCCESS);
    cr_expect_eq(hv_gic_create(c), HV_BAD_ARGUMENT, "frames overlap");
    cr_assert_eq(hv_gic_config_set_redistributor_base(c, 0x080a0000), HV_SUCCESS);
    cr_expect_eq(hv_gic_set_spi(40, true), HV_NO_DEVICE, "no GIC yet");
    cr_expect_null(hv_gic_state_create());
    hv_vcpu_t vcpu;
    hv_vcpu_exit_t *exit;
    cr_assert_eq(hv_vcpu_create(&vcpu, &exit, NULL), HV_SUCCESS);
    cr_expect_eq(hv_gic_create(c), HV_BUSY, "after a vCPU exists");
    cr_assert_eq(hv_vcpu_destroy(vcpu), HV_SUCCESS);
    os_release(c);
    cr_assert_eq(hv_vm_destroy(), HV_SUCCESS);
}

/* vCPU 1 made and destroyed again and again on its own thread while vCPU 0's guest
 * reads vCPU 1's GICR_TYPER in a loop: the model reads a vCPU's affinity under the
 * GIC's lock, so a destroyed vCPU must not be freed while a reader may still hold it
 * (ASan/TSan builds see a use after free otherwise). */
#define CYCLE_ROUNDS 300u
#define LDR_X2_X1 0xf9400022u   /* ldr x2, [x1] */
#define B_MINUS_4 0x17ffffffu   /* b .-4 */
#define LOOP_OFFSET 0x8000u

struct cycler {
    _Atomic bool running;         /* vCPU 0 is inside hv_vcpu_run */
    _Atomic uint32_t made;
    _Atomic int bad;              /* first unexpected return code, 0 = none */
    hv_vcpu_t runner;
};

static void *cycler_main(void *arg)
{
    struct cycler *c = arg;
    while (!atomic_load(&c->running))
        sched_yield();
    for (uint32_t i = 0; i < CYCLE_ROUNDS; i++) {
        hv_vcpu_t v;
        hv_vcpu_exit_t *x;
        hv_return_t ret = hv_vcpu_create(&v, &x, NULL);
        if (ret == HV_SUCCESS) {
            atomic_fetch_add(&c->made, 1);
            ret = hv_vcpu_destroy(v);
        }
        int none = 0;
        if (ret != HV_SUCCESS)
            atomic_compare_exchange_strong(&c->bad, &none, (int)ret);
    }
    hv_vcpus_exit(&c->runner, 1);
    return NULL;
}

Test(arm64_gic, vcpu_destroy_races_a_guest_reading_its_redistributor, .timeout = 120)
{
    size_t rd_size = 0;
    cr_assert_eq(hv_gic_get_redistributor_size(&rd_size), HV_SUCCESS);
    uint32_t loop[] = { LDR_X2_X1, B_MINUS_4 };
    memcpy(vm.mem + LOOP_OFFSET, loop, sizeof(loop));
    a64_set(&vm, HV_REG_X1, GICR_BASE + rd_size + GICR_TYPER);   /* vCPU 1's frame */
    a64_set(&vm, HV_REG_PC, RAM_BASE + LOOP_OFFSET);
    a64_set(&vm, HV_REG_CPSR, 0x3c5);
    struct cycler c = { .runner = vm.vcpu };
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, cycler_main, &c), 0);
    atomic_store(&c.running, true);
    hv_return_t ret = hv_vcpu_run(vm.vcpu);   /* only the cycler's hv_vcpus_exit ends it */
    pthread_join(t, NULL);
    cr_assert_eq(ret, HV_SUCCESS);
    cr_expect_eq(vm.exit->reason, HV_EXIT_REASON_CANCELED);
    cr_expect_eq(atomic_load(&c.bad), 0, "create/destroy returned 0x%x", (unsigned)atomic_load(&c.bad));
    cr_expect_eq(atomic_load(&c.made), CYCLE_ROUNDS);
    cr_expect_eq(a64_reg(&vm, HV_REG_PC) & ~4ull, RAM_BASE + LOOP_OFFSET, "still in its loop");
}
