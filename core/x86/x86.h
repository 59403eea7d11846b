/* Intel personality internals: register and MSR tables, reset state, fpstate
 * images and the rendering of neutral exits into VMCS exit fields. */
#ifndef ANYHV_CORE_X86_X86_H
#define ANYHV_CORE_X86_X86_H

#include "core/vm.h"

/* Where an API register or MSR lives in struct x86_state. */
struct x86_field {
    uint16_t offset;
    uint8_t size;      /* bytes */
    uint8_t group;     /* enum state_group */
};

/* hv_x86_reg_t -> field; NULL for an id that is not a register. */
const struct x86_field *x86_reg_field(uint32_t reg);

uint64_t x86_field_read(const struct x86_state *st, const struct x86_field *f);
void x86_field_write(struct x86_state *st, const struct x86_field *f, uint64_t value);

/* Architectural INIT state (what a new vCPU holds on every backend). */
void x86_state_reset(struct x86_state *st);

/* FXSAVE/XSAVE image <-> struct x86_fpu. Sizes below X86_FXSAVE_SIZE are refused. */
#define X86_FXSAVE_SIZE 512u
#define X86_XSAVE_HEADER_SIZE 64u
#define X86_XSAVE_YMM_OFFSET 576u
#define X86_XSAVE_AVX_SIZE (X86_XSAVE_YMM_OFFSET + 256u)
/* zmm: the AVX-512 state to save or load with the image (its components when XCR0 /
 * XSTATE_BV name them and the buffer holds them), or NULL to leave it out (FXSAVE). */
void x86_fpstate_save(const struct x86_fpu *fpu, const struct x86_zmm *zmm, uint64_t xcr0, uint8_t *buf,
                      size_t size);
void x86_fpstate_load(struct x86_fpu *fpu, struct x86_zmm *zmm, const uint8_t *buf, size_t size);

/* Fill the VMCS read-only exit fields from vcpu->exit. Returns the hv_vcpu_run
 * result (HV_ERROR for an internal backend failure). */
hv_return_t x86_exit_render(struct vcpu *vcpu);

/* MSR policy lookup; NULL when the MSR has no entry. */
struct x86_msr_policy *x86_msr_policy(struct vcpu *vcpu, uint32_t msr, bool create);

/* TSC (api_clock.c). On the soft route x86_state.msr.tsc holds the vCPU's offset from
 * the VM clock's ticks and this returns those ticks; on KVM the state holds the TSC
 * itself and this returns 0. */
uint64_t x86_tsc_state_base(const struct vcpu *vcpu);
/* hv_vm_sync_tsc: every vCPU's TSC reads `tsc` now. */
hv_return_t x86_tsc_sync_all(struct vm *vm, uint64_t tsc);

/* In-framework interrupt controllers (intr.c): create them for a VM made with
 * HV_VM_ACCEL_APIC; HV_UNSUPPORTED where the backend cannot host them. */
hv_return_t x86_intr_create(struct vm *vm);

#endif /* ANYHV_CORE_X86_X86_H */
