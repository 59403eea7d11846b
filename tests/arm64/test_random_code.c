/* Random 32-bit words as guest code, at EL1 and EL0, from random register states:
 * every run ends in an exit a client can handle (never an internal error), within
 * an instruction budget (so each case runs the same every time), and read-only guest
 * memory is never written. ASan builds also check that no host memory outside the
 * guest's mappings is touched. Cases: ANYHV_FUZZ_ITERS, else ANYHV_TEST_SLICE, else ITERS. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "a64_core.h"
#include "support/cases.h"

#define ITERS 600u
#define RUN_MS 50u          /* the watchdog: only a run the budget failed to end */
#define RUN_INSNS 20000u    /* a looping run ends after this many instructions */
#define RO_GPA 0x200000ull

/* Guards against a hang the budget does not catch (a WFI wait): a run still going after
 * RUN_MS is canceled from this thread (cancel is polled at every block). */
struct watchdog {
    _Atomic unsigned run_id;      /* odd while a run is in progress */
    _Atomic bool done;
    uint64_t vcpu_id;
};

static void *watchdog_main(void *arg)
{
    struct watchdog *w = arg;
    while (!atomic_load(&w->done)) {
        unsigned seen = atomic_load(&w->run_id);
        usleep(RUN_MS * 1000);
        if ((seen & 1) && atomic_load(&w->run_id) == seen)
            vcpu_cancel(&w->vcpu_id, 1);
    }
    return NULL;
}

Test(arm64_random_code, never_crashes_or_escapes)
{
    struct a64_core c;
    core_setup(&c);
    uint8_t *ro = core_alloc(CORE_PAGE);
    for (unsigned i = 0; i < CORE_PAGE; i++)
        ro[i] = (uint8_t)(i * 7u);
    cr_assert_eq(vm_map(0, ro, RO_GPA, CORE_PAGE, 1 /* read */), HV_SUCCESS);
    /* Vectors skip the faulting instruction and return, so a run goes on through
     * many exceptions until an exit or the deadline. */
    static const uint32_t skip[] = {
        0xd5384020u,   /* mrs x0, elr_el1 */
        0x91001000u,   /* add x0, x0, #4 */
        0xd5184020u,   /* msr elr_el1, x0 */
        0xd69f03e0u,   /* eret */
    };
    for (unsigned off = 0; off < 0x800; off += 0x80)
        memcpy(c.vec + off, skip, sizeof(skip));
    struct watchdog w = { .vcpu_id = c.v->id };
    pthread_t wd;
    pthread_create(&wd, NULL, watchdog_main, &w);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    unsigned kinds[EXIT_KIND_COUNT] = { 0 };
    unsigned iters = test_case_count(ITERS);
    for (unsigned it = 0; it < iters; it++) {
        for (unsigned i = 0; i < CORE_PAGE / 4; i++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            ((uint32_t *)c.code)[i] = (uint32_t)rng;
        }
        core_reset_state(&c);
        for (int r = 0; r < 31; r++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            c.st->x[r] = (r & 1) ? rng : (r & 2) ? RO_GPA + (rng & 0xfff) : CORE_DATA_GPA + (rng & 0xffff);
        }
        c.st->sp = CORE_DATA_GPA + 0x8000;
        c.st->pc = CORE_CODE_GPA + 4 * (rng % (CORE_PAGE / 4));
        if (it & 1)
            a64_set_pstate(c.st, 0x3c0);   /* EL0t */
        /* Random tables too: if the code turns the MMU on, it walks garbage. */
        c.st->sys.ttbr0_el1 = CORE_DATA_GPA + (rng & 0xf000);
        c.st->sys.tcr_el1 = rng & 0x7f3f3f3fffull;
        c.v->insn_budget = RUN_INSNS;   /* what anyhv_vcpu_set_instruction_budget sets */
        atomic_fetch_add(&w.run_id, 1);
        const struct anyhv_exit *e = core_run(&c, 10 * RUN_MS);
        atomic_fetch_add(&w.run_id, 1);
        cr_assert_neq(e->kind, EXIT_INTERNAL, "iteration %u: internal exit code %u detail %#llx", it,
                      e->u.internal.code, (unsigned long long)e->u.internal.detail);
        cr_assert_neq(e->kind, EXIT_NONE, "iteration %u", it);
        kinds[e->kind]++;
    }
    atomic_store(&w.done, true);
    pthread_join(wd, NULL);
    for (unsigned i = 0; i < CORE_PAGE; i++)
        cr_assert_eq(ro[i], (uint8_t)(i * 7u), "read-only guest page written at %u", i);
    fprintf(stderr, "arm64 random code: %u runs:", iters);
    for (unsigned k = 0; k < EXIT_KIND_COUNT; k++)
        if (kinds[k])
            fprintf(stderr, " %s %u", exit_kind_name(k), kinds[k]);
    fprintf(stderr, "\n");
    core_teardown(&c);
    munmap(ro, CORE_PAGE);
}
