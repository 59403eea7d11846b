/* a64_core.h - drive the arm64 soft CPU through the internal core API (no
 * personality): a VM with code, vector and data windows and one vCPU whose state
 * the test reads and writes directly, runs bounded by a deadline. For the
 * differential and random-code tests, which need thousands of cheap runs. */
#ifndef ANYHV_TESTS_ARM64_A64_CORE_H
#define ANYHV_TESTS_ARM64_A64_CORE_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/soft/soft.h"
#include "core/vm.h"

#define CORE_CODE_GPA 0x10000ull       /* one page of code */
#define CORE_VEC_GPA 0x20000ull        /* VBAR_EL1: every vector is HVC #CORE_VEC_IMM */
#define CORE_DATA_GPA 0x100000ull
#define CORE_DATA_SIZE 0x10000ull
#define CORE_PAGE 0x1000ull
#define CORE_HVC(imm) (0xd4000002u | ((uint32_t)(imm) << 5))
#define CORE_VEC_IMM 0x3ffu
#define CORE_SCTLR_RES1 0x30d00800ull
#define CORE_CPACR_FP_ON (3ull << 20)

struct a64_core {
    struct vcpu *v;
    struct a64_state *st;
    uint8_t *code, *vec, *data;
};

static inline void *core_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(p, MAP_FAILED);
    return p;
}

static inline void core_reset_state(struct a64_core *c)
{
    struct a64_state *st = c->st;
    memset(st, 0, sizeof(*st));
    st->pstate = A64_PSTATE_RESET;
    st->excl_addr = UINT64_MAX;
    st->sys.sctlr_el1 = CORE_SCTLR_RES1;
    st->sys.cpacr_el1 = CORE_CPACR_FP_ON;
    st->sys.vbar_el1 = CORE_VEC_GPA;
}

/* A strong reference: the soft backend refers to the frontend weakly, which does
 * not pull it out of the static core library into a test executable. */
const struct soft_frontend *volatile core_frontend_ref = &a64_soft_frontend;

static inline void core_setup(struct a64_core *c)
{
    backend_request(BACKEND_SOFT);
    struct vm_params p = { .arch = GUEST_ARM64, .ipa_bits = 40, .granule = CORE_PAGE };
    cr_assert_eq(vm_create(&p), HV_SUCCESS);
    c->code = core_alloc(CORE_PAGE);
    c->vec = core_alloc(CORE_PAGE);
    c->data = core_alloc(CORE_DATA_SIZE);
    cr_assert_eq(vm_map(0, c->code, CORE_CODE_GPA, CORE_PAGE, 7), HV_SUCCESS);
    cr_assert_eq(vm_map(0, c->vec, CORE_VEC_GPA, CORE_PAGE, 7), HV_SUCCESS);
    cr_assert_eq(vm_map(0, c->data, CORE_DATA_GPA, CORE_DATA_SIZE, 3), HV_SUCCESS);
    for (unsigned i = 0; i < CORE_PAGE / 4; i++)
        ((uint32_t *)c->vec)[i] = CORE_HVC(CORE_VEC_IMM);
    uint32_t id;
    cr_assert_eq(vcpu_create(GUEST_ARM64, &id), HV_SUCCESS);
    cr_assert_eq(vcpu_get_owned(id, &c->v), HV_SUCCESS);
    c->st = c->v->st.a64;
    core_reset_state(c);
}

static inline void core_teardown(struct a64_core *c)
{
    vcpu_destroy(c->v->id);
    vm_destroy();
    munmap(c->code, CORE_PAGE);
    munmap(c->vec, CORE_PAGE);
    munmap(c->data, CORE_DATA_SIZE);
    backend_request(BACKEND_AUTO);
}

/* Run for at most `ms` milliseconds of host time; returns the neutral exit. */
static inline const struct anyhv_exit *core_run(struct a64_core *c, unsigned ms)
{
    hv_return_t r = vcpu_run(c->v, host_monotonic_ns() + (uint64_t)ms * 1000000ull);
    cr_assert_eq(r, HV_SUCCESS);
    return &c->v->exit;
}

#endif /* ANYHV_TESTS_ARM64_A64_CORE_H */
