/* API fuzzer: random calls with random arguments (good, bad and hostile handles,
 * addresses, sizes, flags, register and field ids), a short bounded run now and then.
 * Every call must return an HV_* code and the process must live (under ASan/UBSan in
 * `make stress`). Built once per flavour (RACE_ARM64: Apple-silicon calls). Calls:
 * FUZZ_CALLS, times ANYHV_STRESS_SCALE. */
#ifdef RACE_ARM64
#define ANYHV_GUEST_ARM64 1
#else
#define ANYHV_GUEST_X86_64 1
#endif
#include <Hypervisor/Hypervisor.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

#include "support/backend.h"

#define FUZZ_CALLS 20000u
#define RAM 0x40000u
#define NS_PER_MS 1000000ull

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Interesting values first, then anything. */
static uint64_t pick(const uint64_t *interesting, size_t n)
{
    uint64_t r = rnd();
    return (r & 3) ? interesting[(r >> 2) % n] : rnd();
}

#define PICK(...) pick((const uint64_t[]){ __VA_ARGS__ }, sizeof((const uint64_t[]){ __VA_ARGS__ }) / 8)

struct fuzz {
    uint8_t *ram, *hole;
    uint64_t vcpus[4];
    unsigned nvcpus;
    uint32_t bad_code, calls;
    int bad_op;
};

static void check(struct fuzz *f, int op, hv_return_t r)
{
    f->calls++;
    uint32_t u = (uint32_t)r;
    bool known = u == 0 || (u >= 0xfae94001u && u <= 0xfae94008u) || u == 0xfae9400fu;
    if (!known && !f->bad_code) {
        f->bad_code = u;
        f->bad_op = op;
    }
}

static void *host_of(struct fuzz *f)
{
    switch (rnd() % 6) {
    case 0: return NULL;
    case 1: return rnd() % 2 ? f->hole : (void *)(uintptr_t)0x10000;   /* PROT_NONE / below mmap_min_addr */
    case 2: return f->ram + (rnd() % RAM);        /* unaligned mostly */
    case 3: return (void *)(uintptr_t)rnd();
    default: return f->ram + (rnd() % (RAM / 0x4000)) * 0x4000;
    }
}

static uint64_t vcpu_of(struct fuzz *f)
{
    if (f->nvcpus && rnd() % 4)
        return f->vcpus[rnd() % f->nvcpus];
    return PICK(0, 1, 63, 64, 4096, ~0ull);
}

#ifdef RACE_ARM64
#define VM_CREATE() hv_vm_create(NULL)
static hv_return_t vcpu_new(uint64_t *id)
{
    hv_vcpu_t v;
    hv_vcpu_exit_t *x;
    hv_return_t r = hv_vcpu_create(&v, &x, NULL);
    *id = v;
    return r;
}

static void flavour_call(struct fuzz *f, unsigned op)
{
    uint64_t v = vcpu_of(f), val = rnd();
    hv_simd_fp_uchar16_t q = { 0 };
    switch (op % 8) {
    case 0: check(f, 100, hv_vcpu_get_reg((hv_vcpu_t)v, (hv_reg_t)PICK(0, 30, 31, 32, 33, 34, 35, 99), &val)); break;
    case 1: check(f, 101, hv_vcpu_set_reg((hv_vcpu_t)v, (hv_reg_t)PICK(0, 31, 32, 34, 35), PICK(0, 0x3c5, 0x10, rnd())));
        break;
    case 2: check(f, 102, hv_vcpu_get_sys_reg((hv_vcpu_t)v, (hv_sys_reg_t)rnd(), &val)); break;
    case 3: check(f, 103, hv_vcpu_set_sys_reg((hv_vcpu_t)v, (hv_sys_reg_t)PICK(0xc080, 0xc100, 0xc200, rnd()), rnd()));
        break;
    case 4: check(f, 104, hv_vcpu_get_simd_fp_reg((hv_vcpu_t)v, (hv_simd_fp_reg_t)(rnd() % 40), &q)); break;
    case 5: check(f, 105, hv_vcpu_set_pending_interrupt((hv_vcpu_t)v, (hv_interrupt_type_t)(rnd() % 3), rnd() & 1));
        break;
    case 6: {
        hv_vcpu_t list[2] = { (hv_vcpu_t)v, (hv_vcpu_t)vcpu_of(f) };
        check(f, 106, hv_vcpus_exit(list, (uint32_t)(rnd() % 3)));
        break;
    }
    default:
        check(f, 107, hv_vcpu_set_vtimer_mask((hv_vcpu_t)v, rnd() & 1));
        break;
    }
}
#else
#define VM_CREATE() hv_vm_create(HV_VM_DEFAULT)
static hv_return_t vcpu_new(uint64_t *id)
{
    hv_vcpuid_t v;
    hv_return_t r = hv_vcpu_create(&v, PICK(HV_VCPU_DEFAULT, 1, 2, 4));
    *id = v;
    return r;
}

static void flavour_call(struct fuzz *f, unsigned op)
{
    uint64_t v = vcpu_of(f), val = rnd();
    uint8_t fp[4096];
    switch (op % 8) {
    case 0: check(f, 200, hv_vcpu_read_register((hv_vcpuid_t)v, (hv_x86_reg_t)(rnd() % 120), &val)); break;
    case 1: check(f, 201, hv_vcpu_write_register((hv_vcpuid_t)v, (hv_x86_reg_t)(rnd() % 120), rnd())); break;
    case 2: check(f, 202, hv_vmx_vcpu_read_vmcs((hv_vcpuid_t)v, (uint32_t)(rnd() % 0x7000), &val)); break;
    case 3: check(f, 203, hv_vmx_vcpu_write_vmcs((hv_vcpuid_t)v, (uint32_t)PICK(0x4016, 0x4004, 0x6820, rnd() % 0x7000),
                                                rnd()));
        break;
    case 4: check(f, 204, hv_vcpu_read_msr((hv_vcpuid_t)v, (uint32_t)PICK(0x10, 0x1b, 0xc0000080, rnd()), &val)); break;
    case 5: /* any size up to the buffer the client really has */
        check(f, 205, hv_vcpu_read_fpstate((hv_vcpuid_t)v, fp, (size_t)(PICK(512, 4096, 0, 511) % (sizeof(fp) + 1))));
        break;
    case 6: {
        hv_vcpuid_t list[2] = { (hv_vcpuid_t)v, (hv_vcpuid_t)vcpu_of(f) };
        check(f, 206, hv_vcpu_interrupt(list, (unsigned)(rnd() % 3)));
        break;
    }
    default: {
        uint64_t cap;
        check(f, 207, hv_vmx_read_capability((hv_vmx_capability_t)(rnd() % 8), &cap));
        break;
    }
    }
}
#endif

/* A short run of whatever state the fuzzer left, bounded by an instruction budget and
 * a deadline (an exception loop retires no instruction: only time ends it). */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#ifdef RACE_ARM64
struct stopper {
    hv_vcpu_t vcpu;
    _Atomic bool done;
};

static void *stop_later(void *arg)
{
    struct stopper *s = arg;
    uint64_t until = now_ns() + 2 * NS_PER_MS;
    while (!atomic_load(&s->done)) {
        if (now_ns() >= until) {
            hv_vcpus_exit(&s->vcpu, 1);
            until = now_ns() + 2 * NS_PER_MS;
        }
        sched_yield();
    }
    return NULL;
}
#endif

static void short_run(struct fuzz *f)
{
    if (!f->nvcpus)
        return;
    uint64_t v = f->vcpus[rnd() % f->nvcpus];
    anyhv_vcpu_set_instruction_budget(v, 2000);
#ifdef RACE_ARM64
    struct stopper s = { .vcpu = (hv_vcpu_t)v };
    pthread_t t;
    if (pthread_create(&t, NULL, stop_later, &s) != 0)
        return;
    check(f, 300, hv_vcpu_run((hv_vcpu_t)v));
    atomic_store(&s.done, true);
    pthread_join(t, NULL);
#else
    check(f, 300, hv_vcpu_run_until((hv_vcpuid_t)v, now_ns() + 2 * NS_PER_MS));
#endif
}

static void vm_call(struct fuzz *f, unsigned op)
{
    uint64_t gpa = PICK(0, 0x4000, 0x10000, RAM, 0x1000, ~0ull & ~0xfffull), size = PICK(0x4000, 0x1000, 0, RAM, rnd());
    hv_memory_flags_t flags = (hv_memory_flags_t)PICK(1, 3, 7, 0, rnd() & 0xff);
    switch (op % 6) {
    case 0: check(f, 1, hv_vm_map(host_of(f), gpa, size, flags)); break;
    case 1: check(f, 2, hv_vm_unmap(gpa, size)); break;
    case 2: check(f, 3, hv_vm_protect(gpa, size, flags)); break;
    case 3:
        if (f->nvcpus < 4) {
            uint64_t id;
            hv_return_t r = vcpu_new(&id);
            check(f, 4, r);
            if (r == HV_SUCCESS)
                f->vcpus[f->nvcpus++] = id;
        }
        break;
    case 4:
        if (f->nvcpus) {
            unsigned i = (unsigned)(rnd() % f->nvcpus);
            check(f, 5, hv_vcpu_destroy(f->vcpus[i]));
            f->vcpus[i] = f->vcpus[--f->nvcpus];
        } else {
            check(f, 5, hv_vcpu_destroy(vcpu_of(f)));
        }
        break;
    default: {
        void *p = NULL;
        hv_return_t r = hv_vm_allocate(&p, (size_t)PICK(0x4000, 0, 1, 0x100000), 0);
        check(f, 6, r);
#ifdef __SANITIZE_ADDRESS__
        /* ASan's memcpy interceptor reports a guest fetch from host memory given back
         * while still mapped before the soft route's guard sees the fault (the guard
         * has its own test, unit_soft_mem): under ASan only free what is not mapped. */
        if (r == HV_SUCCESS)
            check(f, 7, hv_vm_deallocate(p, 0x4000));
#else
        check(f, 7, hv_vm_deallocate(r == HV_SUCCESS && rnd() % 2 ? p : host_of(f), (size_t)PICK(0x4000, 0x1000, 0)));
#endif
        break;
    }
    }
}

Test(api_fuzz, random_calls_return_hv_codes, .timeout = 900)
{
    test_require_backend();
    const char *scale = getenv("ANYHV_STRESS_SCALE");
    unsigned long k = scale ? strtoul(scale, NULL, 10) : 1;
    uint32_t calls = FUZZ_CALLS * (uint32_t)(k ? k : 1);
    const char *seed = getenv("ANYHV_FUZZ_SEED");
    rng_state = seed ? strtoull(seed, NULL, 0) : (uint64_t)time(NULL);
    if (!rng_state)
        rng_state = 1;
    cr_log_info("seed %#llx (ANYHV_FUZZ_SEED)", (unsigned long long)rng_state);
    struct fuzz f = { .ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) };
    /* Stays reserved (PROT_NONE): an unmapped hole could be reused by anyone, e.g. the
     * sanitizer's allocator, and then be valid memory the fuzzer hands to the guest. */
    f.hole = mmap(NULL, 0x4000, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(f.ram != MAP_FAILED && f.hole != MAP_FAILED);
    cr_assert_eq(VM_CREATE(), HV_SUCCESS);
    while (f.calls < calls) {
        unsigned op = (unsigned)rnd();
        if (op % 64 == 0)
            short_run(&f);
        else if (op % 2)
            vm_call(&f, op >> 1);
        else
            flavour_call(&f, op >> 1);
    }
    while (f.nvcpus)
        hv_vcpu_destroy(f.vcpus[--f.nvcpus]);
    cr_expect_eq(hv_vm_destroy(), HV_SUCCESS, "the VM is still usable and destroyable");
    cr_log_info("%u calls", f.calls);
    cr_expect_eq(f.bad_code, 0, "op %d returned %#x, not an HV_* code", f.bad_op, f.bad_code);
    munmap(f.ram, RAM);
    munmap(f.hole, 0x4000);
}
