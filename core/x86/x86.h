/* Intel personality internals: register and MSR tables, reset state, fpstate
 * images and the rendering of neutral exits into VMCS exit fields. */
#ifndef ANYHV_CORE_X86_X86_H
#define ANYHV_CORE_X86_X86_H

#include <string.h>

#include "core/vm.h"

/* The client wrote the state field at `offset` (struct x86_state) of group `group`
 * between runs. The soft CPU's segment bounds (soft_seg) are derived from the segment
 * registers, CR0.PE, RFLAGS.VM and, through the code size, EFER: a write that may
 * change one of them has them recomputed before the next block, and any other keeps
 * them (they were recomputed after every exit before). */
static inline void x86_state_written(struct x86_state *st, uint32_t offset, uint32_t group)
{
    if ((group & (SG_SREGS | SG_MSRS)) || offset == offsetof(struct x86_state, rflags))
        st->soft_seg.valid = 0;
}

/* Where an API register or MSR lives in struct x86_state. */
struct x86_field {
    uint16_t offset;
    uint8_t size;      /* bytes */
    uint8_t group;     /* enum state_group */
};

/* hv_x86_reg_t -> field; NULL for an id that is not a register. Inline, as the two
 * accessors below: a client reads and writes registers after most exits. */
#define X86_REG_FIELDS 64u
extern const struct x86_field x86_reg_fields[X86_REG_FIELDS];
static inline const struct x86_field *x86_reg_field(uint32_t reg)
{
    return reg < X86_REG_FIELDS && x86_reg_fields[reg].size ? &x86_reg_fields[reg] : NULL;
}

/* A little-endian field of 1, 2, 4 or 8 bytes (other sizes byte by byte): a plain
 * load or store, where memcpy with a run-time size costs a string copy per API call. */
static inline uint64_t x86_load_le(const void *p, unsigned size)
{
    switch (size) {
    case 1: return *(const uint8_t *)p;
    case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
    case 8: { uint64_t v; memcpy(&v, p, 8); return v; }
    default: { uint64_t v = 0; memcpy(&v, p, size < 8 ? size : 8); return v; }
    }
}

static inline void x86_store_le(void *p, uint64_t v, unsigned size)
{
    switch (size) {
    case 1: *(uint8_t *)p = (uint8_t)v; break;
    case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    case 8: memcpy(p, &v, 8); break;
    default: memcpy(p, &v, size < 8 ? size : 8); break;
    }
}

static inline uint64_t x86_field_read(const struct x86_state *st, const struct x86_field *f)
{
    return x86_load_le((const uint8_t *)st + f->offset, f->size);
}

static inline void x86_field_write(struct x86_state *st, const struct x86_field *f, uint64_t value)
{
    x86_store_le((uint8_t *)st + f->offset, value, f->size);
}

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
/* Their part of a snapshot (intr_snap.c). */
extern const struct vm_devstate_ops x86_intr_devstate;

#endif /* ANYHV_CORE_X86_X86_H */
