/* The VMCS view (core/x86/vmcs.c): field access by encoding, VMX capabilities and
 * the control defaults of a new vCPU. Backend-neutral: both routes use it. */
#ifndef ANYHV_CORE_X86_VMCS_H
#define ANYHV_CORE_X86_VMCS_H

#include <string.h>

#include "core/vm.h"

/* Read/write one VMCS field (any width; the odd "high" encoding of a 64-bit field
 * reaches its upper half). HV_BAD_ARGUMENT for an unknown encoding, and for a
 * write to a read-only exit field. Writes to host-state fields are ignored. */
hv_return_t x86_vmcs_read(struct vcpu *v, uint32_t enc, uint64_t *value);
hv_return_t x86_vmcs_write(struct vcpu *v, uint32_t enc, uint64_t value);
bool x86_vmcs_field_known(uint32_t enc);

/* hv_vmx_read_capability values: allowed-0 in the low 32 bits, allowed-1 high. */
hv_return_t x86_vmx_capability(uint32_t cap, uint64_t *value);

/* Control defaults of a fresh vCPU: allowed-0 of every control capability. */
void x86_vmcs_reset(struct x86_state *st);

#endif /* ANYHV_CORE_X86_VMCS_H */
