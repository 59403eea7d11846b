/* test_gic_det.c - the in-framework GIC in deterministic mode (guest gic_ipi.S: a
 * virtual-timer-driven interrupt handler that reports each interrupt with HVC while it
 * is active, and with several vCPUs a ring of SGIs plus a non-atomic shared counter).
 * - A snapshot taken at a report, restored into a fresh VM built the same way, gives
 *   the same reports as the original run did after it: INTID, the guest's count, pc,
 *   retired instructions, virtual time and a hash of guest memory, exit for exit. A
 *   restore without the GIC's state (the active timer interrupt, the enables, the ICC
 *   registers) reports other things or nothing.
 * - Three vCPUs on three threads, their timers and SGIs, run twice: the same global
 *   exit stream with the same values at every exit. */
#include "a64_test.h"

#include <anyhv/anyhv.h>   /* after a64_test.h, which picks the flavour */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x20000ull
#define SHARED (RAM_BASE + 0x10000ull)
#define GICD_BASE 0x08000000ull
#define GICR_BASE 0x080a0000ull
#define TIMER_PERIOD 500u          /* counter ticks at 24 MHz: about 20800 instructions */
#define HVC_REPORT 2u
#define INTID_SGI 1u
#define INTID_TIMER 27u
#define SNAP_BEFORE 10u
#define SNAP_AFTER 30u
#define SMP_VCPUS 3u
#define SMP_REPORTS 60u            /* per vCPU */
#define MAX_LOG (SMP_VCPUS * SMP_REPORTS)

struct report {
    uint32_t vcpu, intid;
    uint64_t count, pc, icount, exec_time, mem_hash;
};

struct scenario {
    uint8_t *mem;
    pthread_mutex_t lock;
    pthread_barrier_t created;
    pthread_cond_t turn_to_create;
    uint32_t next_to_create, nvcpus;
    struct report log[MAX_LOG];
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

/* Guest RAM from a memfd mapped MAP_SHARED (as a VMM sharing it with a device process
 * would), instead of private anonymous memory. */
static bool shared_ram;

static void make_vm(struct scenario *sc, uint32_t nvcpus)
{
    memset(sc, 0, sizeof(*sc));
    pthread_mutex_init(&sc->lock, NULL);
    pthread_cond_init(&sc->turn_to_create, NULL);
    sc->nvcpus = nvcpus;
    int fd = shared_ram ? memfd_create("anyhv-test-ram", 0) : -1;
    cr_assert(!shared_ram || (fd >= 0 && ftruncate(fd, RAM_SIZE) == 0));
    sc->mem = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, shared_ram ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS,
                   fd, 0);
    if (fd >= 0)
        close(fd);
    cr_assert_neq(sc->mem, MAP_FAILED);
    cr_assert_eq(anyhv_set_deterministic(true), HV_SUCCESS);
    cr_assert_eq(hv_vm_create(NULL), HV_SUCCESS);
    cr_assert_eq(hv_vm_map(sc->mem, RAM_BASE, RAM_SIZE, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC),
                 HV_SUCCESS);
    hv_gic_config_t c = hv_gic_config_create();
    cr_assert_eq(hv_gic_config_set_distributor_base(c, GICD_BASE), HV_SUCCESS);
    cr_assert_eq(hv_gic_config_set_redistributor_base(c, GICR_BASE), HV_SUCCESS);
    cr_assert_eq(hv_gic_create(c), HV_SUCCESS);
    os_release(c);
    char path[512];
    snprintf(path, sizeof(path), "%s/aarch64/gic_ipi.bin", ANYHV_GUEST_DIR);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "guest %s", path);
    cr_assert_gt(fread(sc->mem, 1, 0x10000, f), 0);
    fclose(f);
}

static void start_vcpu(hv_vcpu_t vcpu, uint32_t id, uint32_t nvcpus)
{
    hv_ipa_t rd = 0;
    hv_gic_get_redistributor_base(vcpu, &rd);
    hv_vcpu_set_reg(vcpu, HV_REG_X0, GICD_BASE);
    hv_vcpu_set_reg(vcpu, HV_REG_X1, rd);
    hv_vcpu_set_reg(vcpu, HV_REG_X2, SHARED);
    hv_vcpu_set_reg(vcpu, HV_REG_X3, id);
    hv_vcpu_set_reg(vcpu, HV_REG_X4, nvcpus);
    hv_vcpu_set_reg(vcpu, HV_REG_X5, TIMER_PERIOD);
    hv_vcpu_set_reg(vcpu, HV_REG_PC, RAM_BASE);
    hv_vcpu_set_reg(vcpu, HV_REG_CPSR, 0x3c5);
}

/* Run to the next report; false on any other exit. */
static bool next_report(struct scenario *sc, uint32_t id, hv_vcpu_t vcpu, hv_vcpu_exit_t *exit, struct report *r)
{
    if (hv_vcpu_run(vcpu) != HV_SUCCESS || exit->reason != HV_EXIT_REASON_EXCEPTION ||
        ESR_EC(exit->exception.syndrome) != EC_HVC || ESR_ISS(exit->exception.syndrome) != HVC_REPORT)
        return false;
    uint64_t intid = 0, count = 0;
    *r = (struct report){ .vcpu = id };
    hv_vcpu_get_reg(vcpu, HV_REG_X10, &intid);
    hv_vcpu_get_reg(vcpu, HV_REG_X9, &count);
    hv_vcpu_get_reg(vcpu, HV_REG_PC, &r->pc);
    anyhv_vcpu_get_instructions(vcpu, &r->icount);
    hv_vcpu_get_exec_time(vcpu, &r->exec_time);
    r->intid = (uint32_t)intid;
    r->count = count;
    r->mem_hash = hash(sc->mem, RAM_SIZE);
    return true;
}

static void expect_same(const struct report *a, const struct report *b, uint32_t i)
{
    cr_expect(a->vcpu == b->vcpu && a->intid == b->intid && a->count == b->count && a->pc == b->pc &&
                  a->icount == b->icount && a->exec_time == b->exec_time && a->mem_hash == b->mem_hash,
              "report %u differs: vCPU %u/%u INTID %u/%u count %llu/%llu icount %llu/%llu time %llu/%llu", i, a->vcpu,
              b->vcpu, a->intid, b->intid, (unsigned long long)a->count, (unsigned long long)b->count,
              (unsigned long long)a->icount, (unsigned long long)b->icount, (unsigned long long)a->exec_time,
              (unsigned long long)b->exec_time);
}

static void end_vm(struct scenario *sc, hv_vcpu_t vcpu)
{
    hv_vcpu_destroy(vcpu);
    cr_assert_eq(hv_vm_destroy(), HV_SUCCESS);
    munmap(sc->mem, RAM_SIZE);
    anyhv_set_deterministic(false);
}

static void require_soft(void)
{
    test_require_backend();
    if (anyhv_get_backend() != ANYHV_BACKEND_SOFT)
        cr_skip_test("deterministic mode and the in-framework GIC are the software route's");
}

static struct scenario first, second;

Test(arm64_gic_det, timer_guest_continues_exactly_after_restore)
{
    require_soft();
    char path[] = "/tmp/anyhv-gic-snap-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    hv_vcpu_t vcpu;
    hv_vcpu_exit_t *exit;
    struct report r;
    make_vm(&first, 1);
    cr_assert_eq(hv_vcpu_create(&vcpu, &exit, NULL), HV_SUCCESS);
    start_vcpu(vcpu, 0, 1);
    for (uint32_t i = 0; i < SNAP_BEFORE; i++)
        cr_assert(next_report(&first, 0, vcpu, exit, &r), "report %u", i);
    cr_assert_eq(r.intid, INTID_TIMER);
    cr_assert_eq(r.count, SNAP_BEFORE);
    cr_assert_eq(anyhv_vm_snapshot_save(path, NULL, 0), HV_SUCCESS, "%s", anyhv_snapshot_error());
    for (uint32_t i = 0; i < SNAP_AFTER; i++)
        cr_assert(next_report(&first, 0, vcpu, exit, &first.log[i]), "report %u", i);
    end_vm(&first, vcpu);

    make_vm(&second, 1);
    cr_assert_eq(hv_vcpu_create(&vcpu, &exit, NULL), HV_SUCCESS);
    cr_assert_eq(anyhv_vm_snapshot_restore(path, NULL, 0, NULL), HV_SUCCESS, "%s", anyhv_snapshot_error());
    uint64_t rpr = 0;
    cr_assert_eq(hv_gic_get_icc_reg(vcpu, HV_GIC_ICC_REG_RPR_EL1, &rpr), HV_SUCCESS);
    cr_expect_eq(rpr, 0xa0, "the timer interrupt is still active: running priority %#llx", (unsigned long long)rpr);
    for (uint32_t i = 0; i < SNAP_AFTER; i++) {
        cr_assert(next_report(&second, 0, vcpu, exit, &second.log[i]), "restored report %u", i);
        expect_same(&first.log[i], &second.log[i], i);
    }
    end_vm(&second, vcpu);
    unlink(path);
}

struct worker {
    struct scenario *sc;
    uint32_t id;
};

static void *vcpu_thread(void *arg)
{
    struct worker *w = arg;
    struct scenario *sc = w->sc;
    hv_vcpu_t vcpu;
    hv_vcpu_exit_t *exit;
    pthread_mutex_lock(&sc->lock);
    while (sc->next_to_create != w->id)
        pthread_cond_wait(&sc->turn_to_create, &sc->lock);
    bool ok = hv_vcpu_create(&vcpu, &exit, NULL) == HV_SUCCESS && vcpu == w->id;
    sc->next_to_create++;
    pthread_cond_broadcast(&sc->turn_to_create);
    pthread_mutex_unlock(&sc->lock);
    if (ok)
        start_vcpu(vcpu, w->id, sc->nvcpus);
    pthread_barrier_wait(&sc->created);
    for (uint32_t n = 0; ok && n < SMP_REPORTS; n++) {
        struct report r;
        ok = next_report(sc, w->id, vcpu, exit, &r);
        /* The exit keeps the turn: nothing else runs while it is logged. */
        pthread_mutex_lock(&sc->lock);
        if (ok && sc->nlog < MAX_LOG)
            sc->log[sc->nlog++] = r;
        pthread_mutex_unlock(&sc->lock);
    }
    pthread_mutex_lock(&sc->lock);
    sc->failed |= !ok;
    pthread_mutex_unlock(&sc->lock);
    hv_vcpu_destroy(vcpu);
    return NULL;
}

static void run_smp(struct scenario *sc)
{
    make_vm(sc, SMP_VCPUS);
    pthread_barrier_init(&sc->created, NULL, SMP_VCPUS);
    pthread_t t[SMP_VCPUS];
    struct worker w[SMP_VCPUS];
    for (uint32_t i = 0; i < SMP_VCPUS; i++) {
        w[i] = (struct worker){ sc, i };
        pthread_create(&t[i], NULL, vcpu_thread, &w[i]);
    }
    for (uint32_t i = 0; i < SMP_VCPUS; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(hv_vm_destroy(), HV_SUCCESS);
    anyhv_set_deterministic(false);
    cr_assert_not(sc->failed, "a vCPU stopped on an unexpected exit");
}

Test(arm64_gic_det, smp_guest_with_sgis_and_timers_runs_the_same_twice)
{
    require_soft();
    run_smp(&first);
    run_smp(&second);
    cr_assert_eq(first.nlog, MAX_LOG);
    cr_assert_eq(second.nlog, first.nlog);
    uint32_t sgis = 0, timers = 0, switches = 0;
    for (uint32_t i = 0; i < first.nlog; i++) {
        expect_same(&first.log[i], &second.log[i], i);
        sgis += first.log[i].intid == INTID_SGI;
        timers += first.log[i].intid == INTID_TIMER;
        switches += i && first.log[i].vcpu != first.log[i - 1].vcpu;
    }
    cr_expect_gt(sgis, SMP_VCPUS, "SGIs were taken: %u", sgis);
    cr_expect_gt(timers, SMP_VCPUS, "timer interrupts were taken: %u", timers);
    cr_expect_gt(switches, SMP_VCPUS, "the vCPUs interleaved: %u switches", switches);
    cr_expect_eq(hash(first.mem, RAM_SIZE), hash(second.mem, RAM_SIZE), "final memory");
    munmap(first.mem, RAM_SIZE);
    munmap(second.mem, RAM_SIZE);
}

/* anyhv_vm_fork with guest RAM in a shared mapping: the child gets a private copy (a
 * shared one would let the child's run change the parent's guest). The child runs on
 * first; the parent then reports exactly what the child did. */
Test(arm64_gic_det, forked_vm_with_shared_ram_runs_on_independently)
{
    require_soft();
    hv_vcpu_t vcpu;
    hv_vcpu_exit_t *exit;
    struct report r;
    shared_ram = true;
    make_vm(&first, 1);
    cr_assert_eq(hv_vcpu_create(&vcpu, &exit, NULL), HV_SUCCESS);
    start_vcpu(vcpu, 0, 1);
    for (uint32_t i = 0; i < SNAP_BEFORE; i++)
        cr_assert(next_report(&first, 0, vcpu, exit, &r), "report %u", i);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = -1;
    cr_assert_eq(anyhv_vm_fork(&pid), HV_SUCCESS);
    if (pid == 0) {
        close(fds[0]);
        for (uint32_t i = 0; i < SNAP_AFTER; i++)
            if (!next_report(&first, 0, vcpu, exit, &r) || write(fds[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
                _exit(1);
        _exit(0);
    }
    close(fds[1]);
    int status = -1;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child ran (status %#x)", status);
    for (uint32_t i = 0; i < SNAP_AFTER; i++)
        cr_assert_eq(read(fds[0], &second.log[i], sizeof(r)), (ssize_t)sizeof(r));
    close(fds[0]);
    for (uint32_t i = 0; i < SNAP_AFTER; i++) {
        cr_assert(next_report(&first, 0, vcpu, exit, &first.log[i]), "report %u", i);
        expect_same(&first.log[i], &second.log[i], i);
    }
    cr_expect_eq(first.log[0].count, SNAP_BEFORE + 1, "the parent's guest counts on from the fork");
    end_vm(&first, vcpu);
    shared_ram = false;
}
