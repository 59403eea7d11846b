/* Apple-silicon personality internals: configuration objects, register tables,
 * feature registers and the rendering of neutral exits into hv_vcpu_exit_t. */
#ifndef ANYHV_CORE_ARM64_A64_H
#define ANYHV_CORE_ARM64_A64_H

#include <stdatomic.h>

#include "core/vm.h"

#define A64_IPA_BITS_MIN 32u
#define A64_IPA_BITS_DEFAULT 36u
#define A64_IPA_BITS_MAX 48u
#define A64_GRANULE_4K 0x1000u
#define A64_GRANULE_16K 0x4000u
#define A64_GRANULE_DEFAULT A64_GRANULE_16K   /* macOS maps 16 KiB pages */

/* Every object handed out as an os_object (configs) starts with this header. */
enum a64_object_kind { A64_OBJ_VM_CONFIG = 0x564d4346, A64_OBJ_VCPU_CONFIG = 0x56434346, A64_OBJ_GIC_CONFIG = 0x47494346,
                       A64_OBJ_GIC_STATE = 0x47495354 };
struct a64_object {
    uint32_t kind;
    _Atomic int32_t refs;
};

struct a64_vm_config {
    struct a64_object obj;
    uint32_t ipa_bits;
    uint32_t granule;
    bool el2;
};

struct a64_vcpu_config {
    struct a64_object obj;
};

/* Where an hv_sys_reg_t lives in struct a64_state; NULL for unknown ids. */
struct a64_field {
    uint16_t offset;
    bool read_only;
};
const struct a64_field *a64_sysreg_field(uint16_t reg);

/* ID and cache-geometry values describing what the soft CPU implements. */
bool a64_feature_reg(uint32_t feature_reg, uint64_t *value);
void a64_ccsidr_values(uint32_t cache_type, uint64_t values[8]);

/* Reset state of a new vCPU (same on every backend). */
void a64_state_reset(struct a64_state *st, uint32_t vcpu_id);

/* Fill the client's hv_vcpu_exit_t from vcpu->exit; HV_ERROR for internal failures. */
hv_return_t a64_exit_render(struct vcpu *vcpu);

#endif /* ANYHV_CORE_ARM64_A64_H */
