/* support.h - shared helpers for the soft-CPU unit tests: run a single IR op in the
 * interpreter on a scratch state, and set up a VM on the soft backend with the toy
 * frontend. */
#ifndef ANYHV_TESTS_UNIT_SOFT_SUPPORT_H
#define ANYHV_TESTS_UNIT_SOFT_SUPPORT_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/soft/soft_internal.h"
#include "jit/interp.h"
#include "toy.h"

/* A soft_cpu good enough for blocks without memory access or exits to the client. */
struct bare_cpu {
    struct soft_cpu cpu;
    uint64_t pc;
    _Alignas(16) uint8_t state[256];
};

static void bare_set_pc(struct soft_cpu *cpu, uint64_t pc)
{
    ((struct bare_cpu *)cpu)->pc = pc;
}

static uint64_t bare_get_pc(const struct soft_cpu *cpu)
{
    return ((const struct bare_cpu *)cpu)->pc;
}

static const struct soft_frontend bare_fe = { .name = "bare", .set_pc = bare_set_pc, .get_pc = bare_get_pc };

static inline void bare_init(struct bare_cpu *c)
{
    memset(c, 0, sizeof(*c));
    c->cpu.fe = &bare_fe;
    c->cpu.state = c->state;
    c->cpu.budget = UINT64_MAX;
}

/* Compile and run b on c; returns the interpreter's result. */
static inline enum interp_result bare_run(struct bare_cpu *c, const struct ir_block *b)
{
    struct interp_prog p;
    char err[160];
    cr_assert(ir_verify(b, err, sizeof(err)), "block does not verify: %s", err);
    cr_assert(interp_compile(b, sizeof(c->state), &p));
    enum interp_result r = interp_run(&c->cpu, &p);
    interp_prog_free(&p);
    return r;
}

static inline ir_u128 state128(const struct bare_cpu *c, unsigned off)
{
    ir_u128 v;
    memcpy(&v, c->state + off, 16);
    return v;
}

/* A VM on the soft backend with the toy frontend and `size` bytes of RAM at gpa 0. */
struct toy_vm {
    uint8_t *ram;
    size_t size;
    uint32_t id;
    struct vcpu *vcpu;
};

static inline void toy_vm_create(struct toy_vm *t, size_t size)
{
    soft_frontend_register(GUEST_X86_64, &toy_frontend);
    backend_request(BACKEND_SOFT);
    struct vm_params p = { .arch = GUEST_X86_64, .ipa_bits = 39, .granule = 4096 };
    cr_assert_eq(vm_create(&p), HV_SUCCESS);
    t->size = size;
    t->ram = aligned_alloc(4096, size);
    cr_assert(t->ram);
    memset(t->ram, 0, size);
    cr_assert_eq(vm_map(0, t->ram, 0, size, PMAP_PERM_ALL), HV_SUCCESS);
}

static inline void toy_vcpu_create(struct toy_vm *t)
{
    cr_assert_eq(vcpu_create(GUEST_X86_64, &t->id), HV_SUCCESS);
    cr_assert_eq(vcpu_get_owned(t->id, &t->vcpu), HV_SUCCESS);
}

static inline struct x86_state *toy_regs(struct toy_vm *t)
{
    return t->vcpu->st.x86;
}

static inline struct soft_cpu *toy_cpu(struct toy_vm *t)
{
    return &((struct soft_vcpu *)t->vcpu->be)->cpu;
}

static inline void toy_vm_destroy(struct toy_vm *t)
{
    if (t->vcpu)
        vcpu_destroy(t->id);
    vm_destroy();
    free(t->ram);
}

#endif /* ANYHV_TESTS_UNIT_SOFT_SUPPORT_H */
