/* Deterministic mode (anyhv_set_deterministic): an SMP guest whose vCPUs race on shared
 * memory, run twice, gives the same exit stream - the same exits in the same global
 * order, each with the same vCPU, value, retired-instruction count, virtual time (the
 * counter the guest read, hv_vcpu_get_exec_time) and hash of guest memory - and the same
 * final memory. Three vCPUs on three threads, as a
 * real VMM runs them. */
#include "a64_test.h"

#include <anyhv/anyhv.h>   /* after a64_test.h, which picks the flavour */
#include <pthread.h>

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x20000ull
#define SHARED (RAM_BASE + 0x10000ull)
#define MMIO 0x09000000ull
#define VCPUS 3u
#define ITERATIONS 3000u
#define MAX_EXITS 1024u

struct exit_rec {
    uint32_t vcpu;
    uint32_t ec;
    uint64_t value, icount, exec_time, mem_hash;
};

struct scenario {
    uint8_t *mem;
    pthread_mutex_t lock;
    pthread_barrier_t created;
    pthread_cond_t turn_to_create;
    uint32_t next_to_create;
    struct exit_rec log[MAX_EXITS];
    uint32_t nlog;
    bool failed;
};

static uint64_t hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

struct worker {
    struct scenario *sc;
    uint32_t id;
};

static void record(struct scenario *sc, uint32_t id, hv_vcpu_t vcpu, uint32_t ec, uint64_t value)
{
    uint64_t n = 0, t = 0;
    anyhv_vcpu_get_instructions(vcpu, &n);
    hv_vcpu_get_exec_time(vcpu, &t);
    pthread_mutex_lock(&sc->lock);
    if (sc->nlog < MAX_EXITS)
        sc->log[sc->nlog++] = (struct exit_rec){ id, ec, value, n, t, hash(sc->mem, RAM_SIZE) };
    else
        sc->failed = true;
    pthread_mutex_unlock(&sc->lock);
}

/* One vCPU's thread: run it, emulating the report device, until HVC. */
static void *vcpu_thread(void *arg)
{
    struct worker *w = arg;
    struct scenario *sc = w->sc;
    hv_vcpu_t vcpu;
    hv_vcpu_exit_t *exit;
    /* vCPU ids follow creation order, and the rotation follows ids: create in a fixed
     * order, as a VMM does, so thread i always drives vCPU i. */
    pthread_mutex_lock(&sc->lock);
    while (sc->next_to_create != w->id)
        pthread_cond_wait(&sc->turn_to_create, &sc->lock);
    bool ok = hv_vcpu_create(&vcpu, &exit, NULL) == HV_SUCCESS && vcpu == w->id;
    sc->next_to_create++;
    pthread_cond_broadcast(&sc->turn_to_create);
    pthread_mutex_unlock(&sc->lock);
    hv_vcpu_set_reg(vcpu, HV_REG_PC, RAM_BASE);
    hv_vcpu_set_reg(vcpu, HV_REG_CPSR, 0x3c5);
    hv_vcpu_set_reg(vcpu, HV_REG_X0, w->id);
    hv_vcpu_set_reg(vcpu, HV_REG_X1, SHARED);
    hv_vcpu_set_reg(vcpu, HV_REG_X2, MMIO);
    hv_vcpu_set_reg(vcpu, HV_REG_X3, ITERATIONS);
    pthread_barrier_wait(&sc->created);   /* every vCPU exists before any runs */
    while (ok) {
        if (hv_vcpu_run(vcpu) != HV_SUCCESS || exit->reason != HV_EXIT_REASON_EXCEPTION) {
            ok = false;
            break;
        }
        uint64_t esr = exit->exception.syndrome, pc = 0, value = 0;
        uint32_t ec = ESR_EC(esr);
        if (ec == EC_HVC) {
            record(sc, w->id, vcpu, ec, 0);
            break;
        }
        if (ec != EC_DABT_LOWER || !DABT_WNR(esr)) {
            ok = false;
            break;
        }
        hv_vcpu_get_reg(vcpu, (hv_reg_t)(HV_REG_X0 + DABT_SRT(esr)), &value);
        record(sc, w->id, vcpu, ec, value);
        hv_vcpu_get_reg(vcpu, HV_REG_PC, &pc);
        hv_vcpu_set_reg(vcpu, HV_REG_PC, pc + 4);
    }
    if (!ok) {
        pthread_mutex_lock(&sc->lock);
        sc->failed = true;
        pthread_mutex_unlock(&sc->lock);
    }
    hv_vcpu_destroy(vcpu);
    return NULL;
}

static void run_scenario(struct scenario *sc)
{
    memset(sc, 0, sizeof(*sc));
    pthread_mutex_init(&sc->lock, NULL);
    pthread_cond_init(&sc->turn_to_create, NULL);
    pthread_barrier_init(&sc->created, NULL, VCPUS);
    sc->mem = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(sc->mem, MAP_FAILED);
    cr_assert_eq(anyhv_set_deterministic(true), HV_SUCCESS);
    cr_assert_eq(hv_vm_create(NULL), HV_SUCCESS);
    cr_assert(anyhv_is_deterministic());
    cr_assert_eq(hv_vm_map(sc->mem, RAM_BASE, RAM_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC),
                 HV_SUCCESS);
    char path[512];
    snprintf(path, sizeof(path), "%s/aarch64/smp_race.bin", ANYHV_GUEST_DIR);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "guest %s", path);
    cr_assert_gt(fread(sc->mem, 1, 0x1000, f), 0);
    fclose(f);
    pthread_t t[VCPUS];
    struct worker w[VCPUS];
    for (uint32_t i = 0; i < VCPUS; i++) {
        w[i] = (struct worker){ sc, i };
        pthread_create(&t[i], NULL, vcpu_thread, &w[i]);
    }
    for (uint32_t i = 0; i < VCPUS; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(hv_vm_destroy(), HV_SUCCESS);
    cr_assert_not(sc->failed, "a vCPU stopped on an unexpected exit, or too many exits");
}

static struct scenario first, second;

Test(arm64_determinism, an_smp_guest_runs_the_same_twice)
{
    test_require_backend();
    if (anyhv_get_backend() != ANYHV_BACKEND_SOFT)
        cr_skip_test("deterministic mode is the software route's");
    run_scenario(&first);
    run_scenario(&second);
    uint32_t expected = VCPUS * (ITERATIONS / 64 * 2 + 1);
    cr_assert_eq(first.nlog, expected, "every report and every HVC: %u exits", first.nlog);
    cr_assert_eq(second.nlog, first.nlog);
    for (uint32_t i = 0; i < first.nlog; i++) {
        const struct exit_rec *a = &first.log[i], *b = &second.log[i];
        cr_assert(a->vcpu == b->vcpu && a->ec == b->ec && a->value == b->value && a->icount == b->icount &&
                      a->exec_time == b->exec_time && a->mem_hash == b->mem_hash,
                  "exit %u differs: vCPU %u/%u ec %#x/%#x value %llu/%llu icount %llu/%llu", i, a->vcpu, b->vcpu,
                  a->ec, b->ec, (unsigned long long)a->value, (unsigned long long)b->value,
                  (unsigned long long)a->icount, (unsigned long long)b->icount);
    }
    cr_assert_eq(hash(first.mem, RAM_SIZE), hash(second.mem, RAM_SIZE), "final memory");
    /* The vCPUs really interleaved: the exit stream switches vCPU more than once per vCPU. */
    uint32_t switches = 0;
    for (uint32_t i = 1; i < first.nlog; i++)
        switches += first.log[i].vcpu != first.log[i - 1].vcpu;
    cr_expect_gt(switches, VCPUS, "switches: %u", switches);
    munmap(first.mem, RAM_SIZE);
    munmap(second.mem, RAM_SIZE);
}

Test(arm64_determinism, the_mode_is_fixed_once_a_vcpu_ran)
{
    test_require_backend();
    cr_assert_eq(anyhv_set_deterministic(false), HV_SUCCESS);
    cr_assert_eq(hv_vm_create(NULL), HV_SUCCESS);
    cr_expect_not(anyhv_is_deterministic());
    if (anyhv_get_backend() == ANYHV_BACKEND_SOFT) {
        cr_expect_eq(anyhv_set_deterministic(true), HV_SUCCESS, "before any vCPU runs");
        cr_expect(anyhv_is_deterministic());
        hv_vcpu_t vcpu;
        hv_vcpu_exit_t *exit;
        cr_assert_eq(hv_vcpu_create(&vcpu, &exit, NULL), HV_SUCCESS);
        anyhv_vcpu_set_instruction_budget(vcpu, 1);
        hv_vcpu_run(vcpu);
        cr_expect_eq(anyhv_set_deterministic(false), HV_BUSY);
        cr_expect_eq(anyhv_set_deterministic(true), HV_SUCCESS, "unchanged");
        hv_vcpu_destroy(vcpu);
    }
    hv_vm_destroy();
}
