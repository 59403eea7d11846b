/* Stage-2 shootdown against a vCPU that never exits: a guest storing in a loop on one
 * thread, map changes on another (hv_vm_protect / hv_vm_map / hv_vm_unmap through
 * vm_*), many times. Each change must return; a watchdog turns a wedged change into a
 * failure instead of a hung test. */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

#include "toy_fixture.h"

/* Map changes the storm makes (each waits for the running vCPU); `make stress` sets
 * ANYHV_STRESS_SCALE to multiply it. */
#define STORM_CHANGES 2000u
/* How long one change may take before the test calls it a deadlock (a loaded machine
 * makes the storm slow, never stuck: the watchdog looks at progress, not total time). */
#define STORM_STALL_S 20
#define SPARE_GPA 0x20000u

static _Atomic bool wedged;

static void teardown_unless_wedged(void)
{
    /* A wedged shooter still holds the VM lock: leave the VM to the process exit. */
    if (!atomic_load(&wedged))
        teardown();
}

TestSuite(shootdown, .init = setup, .fini = teardown_unless_wedged);

struct storm {
    _Atomic int runner_phase;      /* 1 running, 2 returned */
    enum exit_kind kind;
    _Atomic uint32_t changes;
    uint32_t total;
    _Atomic bool done;
    hv_return_t first_error;
    void *spare;
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

static void *runner_main(void *arg)
{
    struct storm *s = arg;
    toy_vcpu_create(&t);
    toy_regs(&t)->rip = CODE;
    atomic_store(&s->runner_phase, 1);
    vcpu_run(t.vcpu, BACKEND_NO_DEADLINE);
    s->kind = t.vcpu->exit.kind;
    atomic_store(&s->runner_phase, 2);
    vcpu_destroy(t.id);
    t.vcpu = NULL;
    return NULL;
}

static hv_return_t one_change(struct storm *s, uint32_t i)
{
    switch (i % 4) {
    case 0: return vm_protect(0, 0x8000, 0x1000, PMAP_READ);
    case 1: return vm_protect(0, 0x8000, 0x1000, PMAP_PERM_ALL);
    case 2: return vm_map(0, s->spare, SPARE_GPA, 0x1000, PMAP_READ | PMAP_WRITE);
    default: return vm_unmap(0, SPARE_GPA, 0x1000);
    }
}

static uint32_t storm_changes(void)
{
    const char *scale = getenv("ANYHV_STRESS_SCALE");
    unsigned long k = scale ? strtoul(scale, NULL, 10) : 1;
    return STORM_CHANGES * (uint32_t)(k ? k : 1);
}

static void *shooter_main(void *arg)
{
    struct storm *s = arg;
    for (uint32_t i = 0; i < s->total; i++) {
        hv_return_t r = one_change(s, i);
        if (r != HV_SUCCESS && s->first_error == HV_SUCCESS)
            s->first_error = r;
        atomic_fetch_add(&s->changes, 1);
        if (i % 8 == 0)
            sleep_ms(0);   /* let the vCPU leave and re-enter between changes */
    }
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->done, true);
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Wait for the shooter; false when no change completed for STORM_STALL_S. */
static bool wait_shooter(struct storm *s)
{
    uint32_t last = 0;
    unsigned stalled_s = 0;
    pthread_mutex_lock(&s->lock);
    while (!atomic_load(&s->done) && stalled_s < STORM_STALL_S) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&s->cond, &s->lock, &until);
        uint32_t now = atomic_load(&s->changes);
        stalled_s = now == last ? stalled_s + 1 : 0;
        last = now;
    }
    bool ok = atomic_load(&s->done);
    pthread_mutex_unlock(&s->lock);
    return ok;
}

Test(shootdown, map_changes_against_a_vcpu_that_never_exits_all_return)
{
    toy_vm_create(&t, RAM);
    uint64_t *data = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(data, MAP_FAILED);
    cr_assert_eq(vm_map(0, data, 0x10000, 0x1000, PMAP_READ | PMAP_WRITE), HV_SUCCESS);
    /* Store an incrementing counter to gpa 0x10000 forever: no exit ever. */
    uint8_t *p = toy_movi(t.ram + CODE, 6, 0x10000);
    p = toy_emit(p, TOY_ADDI, 1, 0, 1);
    p = toy_emit(p, TOY_ST, 1, 6, 0);
    toy_emit(p, TOY_JMP, 0, 0, -3);

    struct storm s = { .first_error = HV_SUCCESS, .total = storm_changes() };
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.cond, NULL);
    s.spare = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(s.spare, MAP_FAILED);
    pthread_t runner, shooter;
    cr_assert_eq(pthread_create(&runner, NULL, runner_main, &s), 0);
    while (__atomic_load_n((const uint64_t *)data, __ATOMIC_RELAXED) < 1000)   /* the guest stores it meanwhile */
        sleep_ms(1);
    cr_assert_eq(pthread_create(&shooter, NULL, shooter_main, &s), 0);
    if (!wait_shooter(&s)) {
        atomic_store(&wedged, true);
        cr_assert_fail("a map change never returned after %u of %u (shootdown deadlock)",
                       atomic_load(&s.changes), s.total);
    }
    pthread_join(shooter, NULL);
    cr_expect_eq(s.first_error, HV_SUCCESS);
    uint64_t ids[1] = { t.id };
    cr_assert_eq(vcpu_cancel(ids, 1), HV_SUCCESS);
    pthread_join(runner, NULL);
    cr_expect_eq(s.kind, EXIT_CANCELED, "exit %s", exit_kind_name(s.kind));
    cr_expect_gt(__atomic_load_n((const uint64_t *)data, __ATOMIC_RELAXED), 1000, "the guest kept storing");
    munmap(s.spare, 0x1000);
    munmap(data, 0x1000);
}
