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
#define CHAIN_GPA 0x3000u        /* CHAIN_BLOCKS one-instruction blocks, then the store */
#define CHAIN_BLOCKS 4096u
#define CHILD_BLOCKS 256u        /* a forked child runs the chain's last blocks */
#define COMPILE_FORKS_MAX 400u   /* forks while the compile thread works (at most) */
#define COMPILE_MIN_OVERLAP 8u   /* ... of which this many must overlap its work */
#define COMPILE_IDLE_ROUNDS 5u   /* its counts still this many forks: the queue is done */
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
    bool chain;                    /* ... or the chain of blocks at CHAIN_GPA */
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
    hv_vcpu_set_reg(*v, HV_REG_PC, r->loop ? LOOP_GPA : r->chain ? CHAIN_GPA : CODE_GPA);
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

/* CHAIN_BLOCKS blocks of `add x1, x1, #1; b .+4`, then the store that exits. */
#define CHAIN_BLOCK_BYTES 8u
static void write_chain(uint8_t *ram)
{
    static const uint32_t add = 0x91000421u, next = 0x14000001u, store = 0xf9000001u;
    uint8_t *p = ram + CHAIN_GPA;
    for (unsigned i = 0; i < CHAIN_BLOCKS; i++, p += CHAIN_BLOCK_BYTES) {
        memcpy(p, &add, 4);
        memcpy(p + 4, &next, 4);
    }
    memcpy(p, &store, 4);
}

static hv_return_t set_pc(vcpu_id_t v, uint64_t pc)
{
    return hv_vcpu_set_reg(v, HV_REG_PC, pc);
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
    return hv_vcpu_write_register(*v, HV_X86_RIP, r->loop ? LOOP_GPA : r->chain ? CHAIN_GPA : CODE_GPA);
}

static void write_code(uint8_t *ram)
{
    static const uint8_t store[] = { 0xa3, HOLE_GPA & 0xff, HOLE_GPA >> 8 };   /* mov [HOLE], ax */
    static const uint8_t loop[] = { 0xeb, 0xfe };                              /* jmp . */
    memcpy(ram + CODE_GPA, store, sizeof(store));
    memcpy(ram + LOOP_GPA, loop, sizeof(loop));
}

/* CHAIN_BLOCKS blocks of `inc ax; jmp $+2`, then the store that exits. */
#define CHAIN_BLOCK_BYTES 3u
static void write_chain(uint8_t *ram)
{
    static const uint8_t block[] = { 0x40, 0xeb, 0x00 };
    static const uint8_t store[] = { 0xa3, HOLE_GPA & 0xff, HOLE_GPA >> 8 };
    uint8_t *p = ram + CHAIN_GPA;
    for (unsigned i = 0; i < CHAIN_BLOCKS; i++, p += CHAIN_BLOCK_BYTES)
        memcpy(p, block, sizeof(block));
    memcpy(p, store, sizeof(store));
}

static hv_return_t set_pc(vcpu_id_t v, uint64_t pc)
{
    return hv_vcpu_write_register(v, HV_X86_RIP, pc);
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

/* The child translates the end of the chain afresh (its translations were dropped), so
 * it allocates in every size class the translator uses. */
static void chain_child(vcpu_id_t v)
{
    alarm(CHILD_ALARM_S);
    uint64_t pc = CHAIN_GPA + (CHAIN_BLOCKS - CHILD_BLOCKS) * CHAIN_BLOCK_BYTES;
    if (set_pc(v, pc) != HV_SUCCESS || hv_vcpu_run(v) != HV_SUCCESS)
        _exit(1);
    _exit(0);
}

struct compile_forks {
    uint32_t forks, overlap;       /* forks; those after which the compile thread went on */
    hv_return_t bad;               /* a fork or stats call other than HV_SUCCESS */
    int status;                    /* a child's wait status other than exit(0), or 0 */
    uint32_t bad_fork;
    bool hung;                     /* anyhv_vm_fork did not return in FORK_RETURN_S */
};

#define FORK_RETURN_S (3 * CHILD_ALARM_S)   /* anyhv_vm_fork waits for its child */

struct forker {
    vcpu_id_t v;
    hv_return_t f;
    int status;
    _Atomic pid_t tid;             /* the forking thread (its children are the forks) */
};

/* A child that hangs before it tells the parent it is ready keeps anyhv_vm_fork waiting:
 * kill it (the thread's children in /proc) so that the call returns and the test fails. */
static void kill_forks_of(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)tid);
    FILE *f = fopen(path, "r");
    int pid;
    while (f && fscanf(f, "%d", &pid) == 1)
        kill(pid, SIGKILL);
    if (f)
        fclose(f);
}

/* One fork from a thread of its own: its allocator caches start empty, so the child
 * takes the allocator's shared locks for every size it allocates (as the child of a
 * thread that never ran a vCPU does in fork_while_vcpus_enter_runs). */
static void *forker_main(void *arg)
{
    struct forker *fk = arg;
    pid_t pid = -1;
    atomic_store(&fk->tid, gettid());
    fk->f = anyhv_vm_fork(&pid);
    if (fk->f == HV_SUCCESS && pid == 0)
        chain_child(fk->v);
    fk->status = -1;
    if (fk->f == HV_SUCCESS && waitpid(pid, &fk->status, 0) != pid)
        fk->status = -1;
    return NULL;
}

/* Forks until the compile thread's count of units stood still for COMPILE_IDLE_ROUNDS
 * forks. No Criterion call in here: its messages go through a thread of its own, which
 * must not be allocating at a fork either (see below). */
static void fork_while_compiling(vcpu_id_t v, uint64_t units, struct compile_forks *out)
{
    uint32_t idle = 0;
    time_t since = now_s();
    while (out->forks < COMPILE_FORKS_MAX && idle < COMPILE_IDLE_ROUNDS && now_s() - since < GIVE_UP_S) {
        struct forker fk = { .v = v, .f = HV_ERROR };
        pthread_t th;
        bool hung = false;
        if (pthread_create(&th, NULL, forker_main, &fk) == 0) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += FORK_RETURN_S;
            hung = pthread_timedjoin_np(th, NULL, &until) != 0;
            if (hung) {
                kill_forks_of(atomic_load(&fk.tid));
                pthread_join(th, NULL);
            }
        }
        out->forks++;
        out->hung |= hung;
        if (fk.f != HV_SUCCESS || !WIFEXITED(fk.status) || WEXITSTATUS(fk.status) != 0) {
            out->bad = fk.f;
            out->status = fk.f == HV_SUCCESS ? fk.status : 0;
            out->bad_fork = out->forks;
            return;
        }
        anyhv_exec_stats_t st = { 0 };
        if ((out->bad = anyhv_vcpu_get_exec_stats(v, &st)) != HV_SUCCESS)
            return;
        out->overlap += st.compile_units != units;
        idle = st.compile_units != units ? 0 : idle + 1;
        units = st.compile_units;
    }
}

/* anyhv_vm_fork while the VM's compile thread (ANYHV_JIT=on) works through a long queue.
 * The child must find no lock taken by that thread, which it does not have: among them
 * the allocator's, in an allocator without fork handlers (GCC 12's AddressSanitizer
 * runtime: a child's first large calloc waited forever on a size-class lock the compile
 * thread held at the fork, one fork in a few thousand in make stress). A fork waits for
 * the batch in progress, and the thread goes on after it: the whole chain ends compiled. */
Test(snapshot_race, fork_while_the_compile_thread_compiles, .timeout = 600)
{
    /* The compile thread is the point; ctest's tiers (off, eager) have none. */
    setenv("ANYHV_JIT", "on", 1);
    setenv("ANYHV_JIT_THRESHOLD", "1", 1);   /* every block asks for code on its first run */
    struct race r = { .chain = true };
    start_n(&r, NULL, 0);
    write_chain(r.ram);
    vcpu_id_t v;
    cr_assert_eq(make_vcpu(&r, &v), HV_SUCCESS);
    cr_assert_eq(hv_vcpu_run(v), HV_SUCCESS);   /* queues the chain's blocks */
    atomic_fetch_add(&r.runs, 1);
    anyhv_exec_stats_t st = { 0 };
    hv_return_t sr = anyhv_vcpu_get_exec_stats(v, &st);
    pid_t probe = -1;
    hv_return_t fr = sr == HV_SUCCESS && st.jit_mode == 1 ? HV_SUCCESS : HV_UNSUPPORTED;
    if (fr == HV_SUCCESS && (fr = anyhv_vm_fork(&probe)) == HV_SUCCESS && probe == 0)
        _exit(0);
    if (fr == HV_SUCCESS)
        waitpid(probe, NULL, 0);
    if (fr != HV_SUCCESS) {
        hv_vcpu_destroy(v);
        finish_n(&r, NULL, 0);
        cr_skip_test("no compile thread to fork under (KVM, or a build without the compiled tier)");
    }
    cr_assert_geq(st.blocks_translated, CHAIN_BLOCKS, "the chain ran as %llu blocks",
                  (unsigned long long)st.blocks_translated);
    struct compile_forks cf = { 0 };
    fork_while_compiling(v, st.compile_units, &cf);
    cr_assert(!cf.hung, "fork %u: anyhv_vm_fork did not return in %d s (its child hung before it was ready)",
              cf.bad_fork, FORK_RETURN_S);
    cr_assert(cf.bad == HV_SUCCESS && cf.status == 0, "fork %u: %#x, child status %#x (%u forks)", cf.bad_fork,
              (unsigned)cf.bad, (unsigned)cf.status, cf.forks);
    cr_expect_geq(cf.overlap, COMPILE_MIN_OVERLAP, "only %u of %u forks came while the compile thread worked",
                  cf.overlap, cf.forks);
    /* The thread went on after the forks: every block is answered (installed at runs). */
    time_t since = now_s();
    do {
        cr_assert_eq(set_pc(v, CHAIN_GPA), HV_SUCCESS);
        cr_assert_eq(hv_vcpu_run(v), HV_SUCCESS);
        cr_assert_eq(anyhv_vcpu_get_exec_stats(v, &st), HV_SUCCESS);
    } while (st.blocks_compiled + st.blocks_refused < CHAIN_BLOCKS && now_s() - since < GIVE_UP_S);
    cr_log_info("%u forks, %u while the compile thread worked; %llu blocks compiled in %llu units", cf.forks,
                cf.overlap, (unsigned long long)st.blocks_compiled, (unsigned long long)st.compile_units);
    cr_expect_geq(st.blocks_compiled + st.blocks_refused, CHAIN_BLOCKS, "%llu compiled, %llu refused",
                  (unsigned long long)st.blocks_compiled, (unsigned long long)st.blocks_refused);
    hv_vcpu_destroy(v);
    finish_n(&r, NULL, 0);
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
