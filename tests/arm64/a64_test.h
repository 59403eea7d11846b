/* a64_test.h - shared harness for the arm64 tests: a VM with one RAM window and
 * one vCPU, guest loading from ANYHV_GUEST_DIR, and ESR field decoding as VMMs do
 * it (QEMU's hvf, small VMMs). */
#ifndef ANYHV_TESTS_ARM64_A64_TEST_H
#define ANYHV_TESTS_ARM64_A64_TEST_H

#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "support/backend.h"

/* ESR_EL2 fields. */
#define ESR_EC(esr) ((uint32_t)((esr) >> 26) & 0x3fu)
#define ESR_IL(esr) ((uint32_t)((esr) >> 25) & 1u)
#define ESR_ISS(esr) ((uint32_t)(esr)&0x1ffffffu)
#define DABT_ISV(esr) (((esr) >> 24) & 1u)
#define DABT_SAS(esr) (((esr) >> 22) & 3u)
#define DABT_SSE(esr) (((esr) >> 21) & 1u)
#define DABT_SRT(esr) (((esr) >> 16) & 31u)
#define DABT_SF(esr) (((esr) >> 15) & 1u)
#define DABT_AR(esr) (((esr) >> 14) & 1u)
#define DABT_S1PTW(esr) (((esr) >> 7) & 1u)
#define DABT_WNR(esr) (((esr) >> 6) & 1u)
#define DABT_DFSC(esr) ((esr)&0x3fu)
#define EC_UNKNOWN 0x00u
#define EC_WFX 0x01u
#define EC_HVC 0x16u
#define EC_SMC 0x17u
#define EC_SYSREG 0x18u
#define EC_IABT_LOWER 0x20u
#define EC_DABT_LOWER 0x24u
#define EC_BRK 0x3cu

struct a64_vm {
    uint8_t *mem;
    size_t size;
    uint64_t base;
    hv_vcpu_t vcpu;
    hv_vcpu_exit_t *exit;
};

static inline void a64_vm_setup(struct a64_vm *vm, uint64_t base, size_t size)
{
    test_require_backend();
    vm->base = base;
    vm->size = size;
    vm->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(vm->mem, MAP_FAILED);
    cr_assert_eq(hv_vm_create(NULL), HV_SUCCESS);
    cr_assert_eq(hv_vm_map(vm->mem, base, size, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC), HV_SUCCESS);
    cr_assert_eq(hv_vcpu_create(&vm->vcpu, &vm->exit, NULL), HV_SUCCESS);
}

static inline void a64_vm_teardown(struct a64_vm *vm)
{
    hv_vcpu_destroy(vm->vcpu);
    hv_vm_destroy();
    munmap(vm->mem, vm->size);
}

/* Copy ANYHV_GUEST_DIR/aarch64/<name>.bin to guest-physical gpa; returns its size. */
static inline size_t a64_load_guest(struct a64_vm *vm, const char *name, uint64_t gpa)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/aarch64/%s.bin", ANYHV_GUEST_DIR, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "guest %s", path);
    size_t n = fread(vm->mem + (gpa - vm->base), 1, vm->size - (gpa - vm->base), f);
    fclose(f);
    cr_assert_gt(n, 0);
    return n;
}

static inline uint64_t a64_reg(struct a64_vm *vm, hv_reg_t r)
{
    uint64_t v = 0;
    cr_assert_eq(hv_vcpu_get_reg(vm->vcpu, r, &v), HV_SUCCESS);
    return v;
}

static inline void a64_set(struct a64_vm *vm, hv_reg_t r, uint64_t v)
{
    cr_assert_eq(hv_vcpu_set_reg(vm->vcpu, r, v), HV_SUCCESS);
}

static inline uint64_t a64_sys(struct a64_vm *vm, hv_sys_reg_t r)
{
    uint64_t v = 0;
    cr_assert_eq(hv_vcpu_get_sys_reg(vm->vcpu, r, &v), HV_SUCCESS);
    return v;
}

static inline void a64_set_sys(struct a64_vm *vm, hv_sys_reg_t r, uint64_t v)
{
    cr_assert_eq(hv_vcpu_set_sys_reg(vm->vcpu, r, v), HV_SUCCESS);
}

/* Run once; the exit must be an exception; returns its syndrome. */
static inline uint64_t a64_run_exception(struct a64_vm *vm)
{
    cr_assert_eq(hv_vcpu_run(vm->vcpu), HV_SUCCESS);
    cr_assert_eq(vm->exit->reason, HV_EXIT_REASON_EXCEPTION, "exit reason %u", vm->exit->reason);
    return vm->exit->exception.syndrome;
}

/* Skip the trapped instruction, as a VMM does after emulating it. */
static inline void a64_advance(struct a64_vm *vm)
{
    a64_set(vm, HV_REG_PC, a64_reg(vm, HV_REG_PC) + 4);
}

#endif /* ANYHV_TESTS_ARM64_A64_TEST_H */
