/* Snapshots and forks from one thread while vCPU threads keep entering hv_vcpu_run:
 * each vCPU's guest faults on an unmapped page, so every run is short and its thread
 * enters hv_vcpu_run again and again (with short pauses, so that the VM is often idle).
 * Another thread saves and restores the VM (and, on the software route, forks it) in a
 * loop. A save, restore or fork either sees a vCPU inside hv_vcpu_run (HV_BUSY) or
 * runs with none inside: a vCPU that enters meanwhile waits until it is done, so no
 * run ever overlaps the state being read or replaced (under ASan a restore's
 * translation-cache flush under a running block is a use-after-free; under TSan the
 * state copies race with the run). Every run returns HV_SUCCESS and every save and
 * restore HV_SUCCESS or HV_BUSY; a forked child runs each vCPU once and exits 0.
 * Built once per flavour (RACE_ARM64); ANYHV_STRESS_SCALE multiplies the rounds. */
#ifdef RACE_ARM64
#define ANYHV_GUEST_ARM64 1
#else
#define ANYHV_GUEST_X86_64 1
#endif
#include <Hypervisor/Hypervisor.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/backend.h"
#ifndef RACE_ARM64
#include "support/x86_segments.h"
#endif

#define RUNNERS 3u
#define RAM_SIZE 0x10000u
#define CODE_GPA 0x1000u
#define LOOP_GPA 0x2000u         /* a guest that never exits */
#define ROUNDS 300u              /* save + restore pairs (forks: FORK_ROUNDS) */
#define FORK_ROUNDS 60u
#define MIN_OK 20u               /* saves, restores and forks that must find the VM idle */
#define MIN_RUNS 1000u           /* runs entered meanwhile (the first ones translate) */
#define GIVE_UP_S 240            /* ... or fail: a loaded host may starve the runners a while */
#define RUNNER_PAUSE_US 50       /* between runs: the VM is idle part of the time */
#define CHILD_ALARM_S 20         /* a forked child that cannot run its vCPUs dies */
#ifdef RACE_ARM64
#define HOLE_GPA 0x100000u       /* never mapped: the guest's store there exits */
typedef hv_vcpu_t vcpu_id_t;
#else
#define HOLE_GPA 0xf000u         /* within a real-mode segment, beyond the RAM */
#define RAM_MAPPED 0x8000u
typedef hv_vcpuid_t vcpu_id_t;
#endif

struct race {
    uint8_t *ram;
    char path[64];
    _Atomic uint32_t ready;        /* runners with their vCPU set up */
    _Atomic bool stop;
    bool loop;                     /* run the looping guest once instead ... */
    _Atomic bool go;               /* ... from this on */
    _Atomic uint32_t runs;
    _Atomic int bad_run;           /* first hv_vcpu_run result other than HV_SUCCESS */
    vcpu_id_t ids[RUNNERS];
};

#ifdef RACE_ARM64
static hv_return_t make_vcpu(struct race *r, vcpu_id_t *v)
{
    hv_vcpu_exit_t *exit;
    hv_return_t ret = hv_vcpu_create(v, &exit, NULL);
    if (ret != HV_SUCCESS)
        return ret;
    hv_vcpu_set_reg(*v, HV_REG_PC, r->loop ? LOOP_GPA : CODE_GPA);
    hv_vcpu_set_reg(*v, HV_REG_X0, HOLE_GPA);
    return hv_vcpu_set_reg(*v, HV_REG_CPSR, 0x3c5);
}

static void write_code(uint8_t *ram)
{
    static const uint32_t store = 0xf9000001u;   /* str x1, [x0] */
    static const uint32_t loop = 0x14000000u;    /* b . */
    memcpy(ram + CODE_GPA, &store, sizeof(store));
    memcpy(ram + LOOP_GPA, &loop, sizeof(loop));
}

static hv_return_t stop_vcpu(vcpu_id_t v)
{
    return hv_vcpus_exit(&v, 1);
}
#define VM_CREATE() hv_vm_create(NULL)
#define RAM_MAPPED RAM_SIZE
#else
static hv_return_t make_vcpu(struct race *r, vcpu_id_t *v)
{
    hv_return_t ret = hv_vcpu_create(v, HV_VCPU_DEFAULT);
    if (ret != HV_SUCCESS)
        return ret;
    for (unsigned seg = 0; seg < TSEG_COUNT; seg++) {
        uint32_t ar = seg == TSEG_CS ? 0x9bu : seg == TSEG_LDTR ? 0x82u : seg == TSEG_TR ? 0x8bu : 0x93u;
        test_write_segment(*v, seg, 0, 0, 0xffff, ar);
    }
    hv_vmx_vcpu_write_vmcs(*v, VMCS_GUEST_CR0, 0x20);
    hv_vmx_vcpu_write_vmcs(*v, VMCS_GUEST_CR4, 0x2000);
    hv_vmx_vcpu_write_vmcs(*v, VMCS_GUEST_IA32_EFER, 0);
    hv_vcpu_write_register(*v, HV_X86_RFLAGS, 0x2);
    return hv_vcpu_write_register(*v, HV_X86_RIP, r->loop ? LOOP_GPA : CODE_GPA);
}

static void write_code(uint8_t *ram)
{
    static const uint8_t store[] = { 0xa3, HOLE_GPA & 0xff, HOLE_GPA >> 8 };   /* mov [HOLE], ax */
    static const uint8_t loop[] = { 0xeb, 0xfe };                              /* jmp . */
    memcpy(ram + CODE_GPA, store, sizeof(store));
    memcpy(ram + LOOP_GPA, loop, sizeof(loop));
}

static hv_return_t stop_vcpu(vcpu_id_t v)
{
    return hv_vcpu_interrupt(&v, 1);
}
#define VM_CREATE() hv_vm_create(HV_VM_DEFAULT)
#endif

static void pause_us(long us)
{
    struct timespec ts = { 0, us * 1000L };
    nanosleep(&ts, NULL);
}

static unsigned long scale(void)
{
    const char *s = getenv("ANYHV_STRESS_SCALE");   /* `make stress` */
    unsigned long k = s ? strtoul(s, NULL, 10) : 1;
    return k ? k : 1;
}

/* Only hv_vcpu_run while the other thread snapshots: the vCPU's owner must not touch
 * its state meanwhile (include/anyhv/snapshot.h), but may enter a run at any time. */
static void *runner_main(void *arg)
{
    struct race *r = arg;
    static _Atomic uint32_t next;
    uint32_t me = atomic_fetch_add(&next, 1) % RUNNERS;
    vcpu_id_t v;
    hv_return_t ret = make_vcpu(r, &v);
    if (ret != HV_SUCCESS) {
        int none = 0;
        atomic_compare_exchange_strong(&r->bad_run, &none, (int)ret);
        atomic_fetch_add(&r->ready, 1);
        return NULL;
    }
    r->ids[me] = v;
    atomic_fetch_add(&r->ready, 1);
    while (r->loop && !atomic_load(&r->go))
        pause_us(RUNNER_PAUSE_US);
    while (!atomic_load(&r->stop)) {
        ret = hv_vcpu_run(v);
        atomic_fetch_add(&r->runs, 1);
        if (r->loop) {   /* stopped by the test */
            if (ret != HV_SUCCESS)
                atomic_compare_exchange_strong(&r->bad_run, &(int){ 0 }, (int)ret);
            while (!atomic_load(&r->stop))
                pause_us(RUNNER_PAUSE_US);
            break;
        }
        int none = 0;
        if (ret != HV_SUCCESS)
            atomic_compare_exchange_strong(&r->bad_run, &none, (int)ret);
        pause_us(RUNNER_PAUSE_US);
    }
    hv_vcpu_destroy(v);
    return NULL;
}

static void start_n(struct race *r, pthread_t *th, unsigned n)
{
    test_require_backend();
    snprintf(r->path, sizeof(r->path), "/tmp/anyhv-snap-race-%d", (int)getpid());
    r->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(r->ram, MAP_FAILED);
    write_code(r->ram);   /* before any vCPU thread exists */
    cr_assert_eq(VM_CREATE(), HV_SUCCESS);
    cr_assert_eq(hv_vm_map(r->ram, 0, RAM_MAPPED, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC), HV_SUCCESS);
    for (unsigned i = 0; i < n; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, runner_main, r), 0);
    while (atomic_load(&r->ready) < n)
        sched_yield();
    cr_assert_eq(atomic_load(&r->bad_run), 0, "vCPU setup: %#x", (unsigned)atomic_load(&r->bad_run));
}

static void start(struct race *r, pthread_t *th)
{
    start_n(r, th, RUNNERS);
}

static void finish_n(struct race *r, pthread_t *th, unsigned n)
{
    atomic_store(&r->stop, true);
    for (unsigned i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    cr_expect_eq(atomic_load(&r->bad_run), 0, "a run returned %#x", (unsigned)atomic_load(&r->bad_run));
    cr_expect_gt(atomic_load(&r->runs), 0u);
    unlink(r->path);
    cr_assert_eq(hv_vm_destroy(), HV_SUCCESS);
    munmap(r->ram, RAM_SIZE);
}

static void finish(struct race *r, pthread_t *th)
{
    finish_n(r, th, RUNNERS);
}

static time_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Round `i` of at least `rounds` is wanted: until enough of the calls went through with
 * enough runs started around them (whatever the host's speed), within GIVE_UP_S. */
static bool more(const struct race *r, uint32_t i, uint32_t rounds, uint32_t ok, time_t since)
{
    if (now_s() - since > GIVE_UP_S)
        return false;
    return i < rounds || ok < MIN_OK || atomic_load(&r->runs) < MIN_RUNS;
}

/* Counts an outcome; anything but HV_SUCCESS or HV_BUSY fails the test. */
static void tally(hv_return_t got, uint32_t *ok, uint32_t *busy, const char *what)
{
    cr_assert(got == HV_SUCCESS || got == HV_BUSY, "%s: %#x (%s)", what, (unsigned)got, anyhv_snapshot_error());
    ++*(got == HV_SUCCESS ? ok : busy);
}

Test(snapshot_race, save_and_restore_while_vcpus_enter_runs, .timeout = 600)
{
    struct race r = { 0 };
    pthread_t th[RUNNERS];
    start(&r, th);
    uint32_t rounds = ROUNDS * (uint32_t)scale(), saved = 0, restored = 0, busy = 0, rounds_done = 0;
    bool have_file = false;
    time_t since = now_s();
    for (uint32_t i = 0; more(&r, i, rounds, saved < restored ? saved : restored, since); i++) {
        hv_return_t s = anyhv_vm_snapshot_save(r.path, NULL, 0);
        tally(s, &saved, &busy, "save");
        have_file |= s == HV_SUCCESS;
        if (have_file)
            tally(anyhv_vm_snapshot_restore(r.path, NULL, 0, NULL), &restored, &busy, "restore");
        pause_us(RUNNER_PAUSE_US);
        rounds_done = i + 1;
    }
    finish(&r, th);
    cr_log_info("%u rounds: %u saves, %u restores, %u busy, %u runs", rounds_done, saved, restored, busy,
                atomic_load(&r.runs));
    /* The VM was idle now and then: enough of them went through. */
    cr_expect_geq(saved, MIN_OK, "%u saves found the VM idle in %u rounds", saved, rounds_done);
    cr_expect_geq(restored, MIN_OK, "%u restores found the VM idle in %u rounds", restored, rounds_done);
}

/* The child runs each vCPU it inherited once: its state is whole and no lock is left
 * taken by a thread it does not have. */
static void child_main(const struct race *r)
{
    alarm(CHILD_ALARM_S);
    for (unsigned i = 0; i < RUNNERS; i++) {
        if (hv_vcpu_run(r->ids[i]) != HV_SUCCESS)
            _exit(1);
    }
    _exit(0);
}

Test(snapshot_race, fork_while_vcpus_enter_runs, .timeout = 600)
{
    struct race r = { 0 };
    pthread_t th[RUNNERS];
    start(&r, th);
    uint32_t rounds = FORK_ROUNDS * (uint32_t)scale(), forked = 0, busy = 0, unsupported = 0, rounds_done = 0;
    time_t since = now_s();
    for (uint32_t i = 0; more(&r, i, rounds, forked, since); i++) {
        rounds_done = i + 1;
        pause_us(RUNNER_PAUSE_US);
        pid_t pid = -1;
        hv_return_t f = anyhv_vm_fork(&pid);
        if (f == HV_UNSUPPORTED) {   /* KVM: the kernel's VM does not follow a fork */
            unsupported++;
            break;
        }
        if (f == HV_SUCCESS && pid == 0)
            child_main(&r);
        tally(f, &forked, &busy, "fork");
        if (f != HV_SUCCESS)
            continue;
        int status = 0;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork %u: the child could not run its vCPUs (status %#x)",
                  i, (unsigned)status);
    }
    finish(&r, th);
    if (unsupported)
        cr_skip_test("anyhv_vm_fork is software-route only");
    cr_log_info("%u rounds: %u forks, %u busy, %u runs", rounds_done, forked, busy, atomic_load(&r.runs));
    cr_expect_geq(forked, MIN_OK, "%u forks found the VM idle in %u rounds", forked, rounds_done);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(*len ? *len : 1);
    cr_assert_eq(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

/* A save refused because a vCPU runs leaves the file an earlier save wrote as it was
 * (the file is opened only once the VM is known to be still). */
Test(snapshot_race, busy_save_keeps_the_earlier_file, .timeout = 120)
{
    struct race r = { .loop = true };
    pthread_t th[1];
    start_n(&r, th, 1);
    cr_assert_eq(anyhv_vm_snapshot_save(r.path, NULL, 0), HV_SUCCESS, "%s", anyhv_snapshot_error());
    size_t len = 0, len2 = 0;
    uint8_t *before = slurp(r.path, &len);
    /* Saves go through until the vCPU is inside hv_vcpu_run, where its guest stays. */
    atomic_store(&r.go, true);
    hv_return_t s = HV_SUCCESS;
    for (int i = 0; i < 100000 && s == HV_SUCCESS && !atomic_load(&r.bad_run); i++) {
        s = anyhv_vm_snapshot_save(r.path, NULL, 0);
        if (s == HV_SUCCESS) {
            free(before);
            before = slurp(r.path, &len);
        }
        pause_us(1000);
    }
    cr_assert_eq(s, HV_BUSY, "%#x (%s), run %#x", (unsigned)s, anyhv_snapshot_error(), (unsigned)atomic_load(&r.bad_run));
    cr_expect_eq(anyhv_vm_snapshot_restore(r.path, NULL, 0, NULL), HV_BUSY);
    uint8_t *after = slurp(r.path, &len2);
    cr_expect(len2 == len && memcmp(before, after, len) == 0, "the earlier snapshot (%zu bytes) is now %zu bytes", len,
              len2);
    cr_assert_eq(stop_vcpu(r.ids[0]), HV_SUCCESS);
    finish_n(&r, th, 1);
    free(before);
    free(after);
}
