/* Map changes against a running guest, through the public API, on every route: one
 * thread runs a guest that stores a counter in a loop and never exits; another
 * protects, maps and unmaps other pages many times. Every change returns HV_SUCCESS
 * (a watchdog turns a wedged one into a failure), the guest keeps running, and
 * hv_vcpus_exit / hv_vcpu_interrupt then stops it. Built once per flavour
 * (RACE_ARM64 selects the Apple-silicon calls); ANYHV_STRESS_SCALE multiplies the
 * number of changes (`make stress`). */
#ifdef RACE_ARM64
#define ANYHV_GUEST_ARM64 1
#else
#define ANYHV_GUEST_X86_64 1
#endif
#include <Hypervisor/Hypervisor.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

#include "support/backend.h"
#ifndef RACE_ARM64
#include "support/x86_segments.h"
#endif

#define RAM_SIZE 0x10000u
#define CODE_GPA 0x1000u
#define DATA_GPA 0x2000u
#define TOGGLE_GPA 0x8000u
#define SPARE_GPA 0x20000u
#define CHANGES 600u
#define STALL_S 20
#ifdef RACE_ARM64
#define PAGE 0x4000u
#define RAM_GPA 0x0u
#else
#define PAGE 0x1000u
#define RAM_GPA 0x0u
#endif

struct storm {
    uint8_t *ram, *spare;
    _Atomic int phase;             /* 1 running, 2 returned */
    _Atomic uint64_t vcpu;
    hv_return_t run_ret;
    char exit_text[96];
    _Atomic uint32_t changes;
    hv_return_t first_error;
};

#ifdef RACE_ARM64
static void guest_setup(struct storm *s, hv_vcpu_t v)
{
    static const uint32_t loop[] = {
        0xf9000001u,   /* str x1, [x0] */
        0x91000421u,   /* add x1, x1, #1 */
        0x17fffffeu,   /* b .-8 */
    };
    memcpy(s->ram + CODE_GPA, loop, sizeof(loop));
    hv_vcpu_set_reg(v, HV_REG_PC, RAM_GPA + CODE_GPA);
    hv_vcpu_set_reg(v, HV_REG_X0, RAM_GPA + DATA_GPA);
    hv_vcpu_set_reg(v, HV_REG_CPSR, 0x3c5);
}

static hv_vcpu_exit_t *created_exit;

static hv_return_t make_vcpu(hv_vcpu_t *v)
{
    return hv_vcpu_create(v, &created_exit, NULL);
}

static hv_return_t stop_vcpu(uint64_t id)
{
    hv_vcpu_t v = (hv_vcpu_t)id;
    return hv_vcpus_exit(&v, 1);
}
#define VM_CREATE() hv_vm_create(NULL)
typedef hv_vcpu_t vcpu_id_t;

static void describe_exit(struct storm *s, hv_vcpu_t v)
{
    (void)v;
    snprintf(s->exit_text, sizeof(s->exit_text), "exit reason %u", created_exit ? (unsigned)created_exit->reason : 0u);
}
#else
static void guest_setup(struct storm *s, hv_vcpuid_t v)
{
    static const uint8_t loop[] = {
        0xa3, 0x00, 0x20,   /* mov [0x2000], ax */
        0x40,               /* inc ax */
        0xeb, 0xfa,         /* jmp back to the mov */
    };
    memcpy(s->ram + CODE_GPA, loop, sizeof(loop));
    for (unsigned seg = 0; seg < TSEG_COUNT; seg++) {
        uint32_t ar = seg == TSEG_CS ? 0x9bu : seg == TSEG_LDTR ? 0x82u : seg == TSEG_TR ? 0x8bu : 0x93u;
        test_write_segment(v, seg, 0, 0, 0xffff, ar);
    }
    hv_vmx_vcpu_write_vmcs(v, VMCS_GUEST_GDTR_LIMIT, 0xffff);
    hv_vmx_vcpu_write_vmcs(v, VMCS_GUEST_IDTR_LIMIT, 0xffff);
    hv_vmx_vcpu_write_vmcs(v, VMCS_GUEST_CR0, 0x20);
    hv_vmx_vcpu_write_vmcs(v, VMCS_GUEST_CR4, 0x2000);
    hv_vmx_vcpu_write_vmcs(v, VMCS_GUEST_IA32_EFER, 0);
    hv_vcpu_write_register(v, HV_X86_RIP, CODE_GPA);
    hv_vcpu_write_register(v, HV_X86_RFLAGS, 0x2);
}

static hv_return_t make_vcpu(hv_vcpuid_t *v)
{
    return hv_vcpu_create(v, HV_VCPU_DEFAULT);
}

static hv_return_t stop_vcpu(uint64_t id)
{
    hv_vcpuid_t v = (hv_vcpuid_t)id;
    return hv_vcpu_interrupt(&v, 1);
}
#define VM_CREATE() hv_vm_create(HV_VM_DEFAULT)
typedef hv_vcpuid_t vcpu_id_t;

static void describe_exit(struct storm *s, hv_vcpuid_t v)
{
    uint64_t reason = 0, qual = 0, gpa = 0, rip = 0;
    hv_vmx_vcpu_read_vmcs(v, VMCS_RO_EXIT_REASON, &reason);
    hv_vmx_vcpu_read_vmcs(v, VMCS_RO_EXIT_QUALIFIC, &qual);
    hv_vmx_vcpu_read_vmcs(v, VMCS_GUEST_PHYSICAL_ADDRESS, &gpa);
    hv_vcpu_read_register(v, HV_X86_RIP, &rip);
    snprintf(s->exit_text, sizeof(s->exit_text), "exit reason %llu, qualification %#llx, gpa %#llx, rip %#llx",
             (unsigned long long)reason, (unsigned long long)qual, (unsigned long long)gpa, (unsigned long long)rip);
}
#endif

static void *runner_main(void *arg)
{
    struct storm *s = arg;
    vcpu_id_t v;
    if (make_vcpu(&v) != HV_SUCCESS) {
        atomic_store(&s->phase, 2);
        return NULL;
    }
    guest_setup(s, v);
    atomic_store(&s->vcpu, v);
    atomic_store(&s->phase, 1);
    s->run_ret = hv_vcpu_run(v);
    describe_exit(s, v);
    atomic_store(&s->phase, 2);
    hv_vcpu_destroy(v);
    return NULL;
}

static hv_return_t one_change(struct storm *s, uint32_t i)
{
    switch (i % 4) {
    case 0: return hv_vm_protect(RAM_GPA + TOGGLE_GPA, PAGE, HV_MEMORY_READ);
    case 1: return hv_vm_protect(RAM_GPA + TOGGLE_GPA, PAGE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC);
    case 2: return hv_vm_map(s->spare, SPARE_GPA, PAGE, HV_MEMORY_READ | HV_MEMORY_WRITE);
    default: return hv_vm_unmap(SPARE_GPA, PAGE);
    }
}

static void *shooter_main(void *arg)
{
    struct storm *s = arg;
    const char *scale = getenv("ANYHV_STRESS_SCALE");
    unsigned long k = scale ? strtoul(scale, NULL, 10) : 1;
    uint32_t total = CHANGES * (uint32_t)(k ? k : 1);
    for (uint32_t i = 0; i < total; i++) {
        hv_return_t r = one_change(s, i);
        if (r != HV_SUCCESS && s->first_error == HV_SUCCESS)
            s->first_error = r;
        atomic_fetch_add(&s->changes, 1);
    }
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

Test(map_storm, map_changes_against_a_running_guest_all_return, .timeout = 600)
{
    test_require_backend();
    struct storm s = { .first_error = HV_SUCCESS };
    s.ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    s.spare = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(s.ram != MAP_FAILED && s.spare != MAP_FAILED);
    cr_assert_eq(VM_CREATE(), HV_SUCCESS);
    cr_assert_eq(hv_vm_map(s.ram, RAM_GPA, RAM_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC), HV_SUCCESS);
    pthread_t runner, shooter;
    cr_assert_eq(pthread_create(&runner, NULL, runner_main, &s), 0);
    /* The guest stores it while we read: an atomic read (docs/client-contract.md). */
    const uint16_t *counter = (const uint16_t *)(s.ram + DATA_GPA);
#define COUNTER() __atomic_load_n(counter, __ATOMIC_RELAXED)
    for (int i = 0; i < 20000 && COUNTER() < 100 && atomic_load(&s.phase) != 2; i++)
        sleep_ms(1);
    cr_assert_eq(atomic_load(&s.phase), 1, "the guest runs (run returned %#x)", (unsigned)s.run_ret);
    cr_assert_geq(COUNTER(), 100, "the guest stores");
    cr_assert_eq(pthread_create(&shooter, NULL, shooter_main, &s), 0);
    uint32_t last = 0;
    for (int stalled = 0; stalled < STALL_S;) {
        sleep_ms(1000);
        uint32_t now = atomic_load(&s.changes);
        if (pthread_tryjoin_np(shooter, NULL) == 0)
            break;
        stalled = now == last ? stalled + 1 : 0;
        last = now;
        cr_assert_lt(stalled, STALL_S, "a map change never returned after %u (deadlock)", now);
    }
    cr_expect_eq(s.first_error, HV_SUCCESS, "first failing change: %#x", (unsigned)s.first_error);
    cr_expect_eq(atomic_load(&s.phase), 1, "the guest still runs after %u changes (run %#x, %s)",
                 atomic_load(&s.changes), (unsigned)s.run_ret, s.exit_text);
    /* Progress, not speed: on a loaded host the vCPU thread may wait a while for a CPU. */
    uint16_t before = COUNTER();
    for (int i = 0; i < 5000 && COUNTER() == before; i++)
        sleep_ms(1);
    cr_expect_neq(COUNTER(), before, "and still stores");
    cr_assert_eq(stop_vcpu(atomic_load(&s.vcpu)), HV_SUCCESS);
    pthread_join(runner, NULL);
    cr_expect_eq(s.run_ret, HV_SUCCESS);
    cr_log_info("%u map changes against a running guest", atomic_load(&s.changes));
    hv_vm_destroy();
}
