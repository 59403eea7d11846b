/* hv_vcpu.h - Apple-silicon flavour: creating, running and inspecting vCPUs.
 * Every call but hv_vcpus_exit() must come from the thread that created the vCPU;
 * from another thread it fails with HV_BAD_ARGUMENT, as on macOS. */
#ifndef ANYHV_HYPERVISOR_HV_VCPU_H
#define ANYHV_HYPERVISOR_HV_VCPU_H

#include <Hypervisor/hv_base.h>
#include <Hypervisor/hv_vcpu_types.h>
#include <Hypervisor/hv_vcpu_config.h>

#if ANYHV_HV_ARM64

ANYHV_BEGIN_DECLS

/*!
 * @function hv_vcpu_create
 * @abstract Creates a vCPU owned by the calling thread.
 * @param vcpu Receives the handle. @param exit Receives a pointer to the vCPU's exit
 *        record, valid until hv_vcpu_destroy(). @param config NULL or a configuration.
 * @result HV_SUCCESS; HV_BAD_ARGUMENT; HV_NO_RESOURCES beyond the maximum vCPU count;
 *         HV_DENIED / HV_NO_DEVICE without a VM.
 * @discussion PSTATE starts as 0x3c5 (EL1h, DAIF masked) on every anyhv backend.
 */
ANYHV_API hv_return_t hv_vcpu_create(hv_vcpu_t *vcpu, hv_vcpu_exit_t **exit, hv_vcpu_config_t config);

/*! @function hv_vcpu_destroy @abstract Destroys a vCPU of the calling thread. */
ANYHV_API hv_return_t hv_vcpu_destroy(hv_vcpu_t vcpu);

/*! @function hv_vcpu_get_reg @abstract Reads a general register (X0..X30, PC, FPCR, FPSR, CPSR). */
ANYHV_API hv_return_t hv_vcpu_get_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t *value);

/*! @function hv_vcpu_set_reg @abstract Writes a general register. */
ANYHV_API hv_return_t hv_vcpu_set_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t value);

/*! @function hv_vcpu_get_simd_fp_reg @abstract Reads a 128-bit SIMD&FP register. */
ANYHV_API hv_return_t hv_vcpu_get_simd_fp_reg(hv_vcpu_t vcpu, hv_simd_fp_reg_t reg, hv_simd_fp_uchar16_t *value);

/*! @function hv_vcpu_set_simd_fp_reg @abstract Writes a 128-bit SIMD&FP register. */
ANYHV_API hv_return_t hv_vcpu_set_simd_fp_reg(hv_vcpu_t vcpu, hv_simd_fp_reg_t reg, hv_simd_fp_uchar16_t value);

/*! @function hv_vcpu_get_sys_reg @abstract Reads a system register (hv_sys_reg_t). */
ANYHV_API hv_return_t hv_vcpu_get_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t *value);

/*! @function hv_vcpu_set_sys_reg @abstract Writes a system register (hv_sys_reg_t). */
ANYHV_API hv_return_t hv_vcpu_set_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t value);

/*! @function hv_vcpu_get_pending_interrupt @abstract Tells whether IRQ or FIQ is asserted for the next run. */
ANYHV_API hv_return_t hv_vcpu_get_pending_interrupt(hv_vcpu_t vcpu, hv_interrupt_type_t type, bool *pending);

/*!
 * @function hv_vcpu_set_pending_interrupt
 * @abstract Asserts or clears IRQ or FIQ for the next hv_vcpu_run() only; the VMM
 *           asserts it again before each run for as long as the line is high.
 */
ANYHV_API hv_return_t hv_vcpu_set_pending_interrupt(hv_vcpu_t vcpu, hv_interrupt_type_t type, bool pending);

/*! @function hv_vcpu_get_trap_debug_exceptions @abstract Tells whether debug exceptions exit to the VMM. */
ANYHV_API hv_return_t hv_vcpu_get_trap_debug_exceptions(hv_vcpu_t vcpu, bool *value);

/*! @function hv_vcpu_set_trap_debug_exceptions @abstract Makes BRK, breakpoints, watchpoints and steps exit. */
ANYHV_API hv_return_t hv_vcpu_set_trap_debug_exceptions(hv_vcpu_t vcpu, bool value);

/*! @function hv_vcpu_get_trap_debug_reg_accesses @abstract Tells whether debug register accesses exit. */
ANYHV_API hv_return_t hv_vcpu_get_trap_debug_reg_accesses(hv_vcpu_t vcpu, bool *value);

/*! @function hv_vcpu_set_trap_debug_reg_accesses @abstract Makes guest accesses to debug registers exit. */
ANYHV_API hv_return_t hv_vcpu_set_trap_debug_reg_accesses(hv_vcpu_t vcpu, bool value);

/*!
 * @function hv_vcpu_run
 * @abstract Runs the vCPU until it exits; the exit record says why.
 * @result HV_SUCCESS when the record was filled, or an error.
 */
ANYHV_API hv_return_t hv_vcpu_run(hv_vcpu_t vcpu);

/*!
 * @function hv_vcpus_exit
 * @abstract Makes the given vCPUs leave hv_vcpu_run() (reason CANCELED). Any thread.
 */
ANYHV_API hv_return_t hv_vcpus_exit(hv_vcpu_t *vcpus, uint32_t vcpu_count);

/*! @function hv_vcpu_get_exec_time @abstract Nanoseconds the vCPU has spent running guest code. */
ANYHV_API hv_return_t hv_vcpu_get_exec_time(hv_vcpu_t vcpu, uint64_t *time);

/*! @function hv_vcpu_get_vtimer_mask @abstract Tells whether the virtual timer is masked from exiting. */
ANYHV_API hv_return_t hv_vcpu_get_vtimer_mask(hv_vcpu_t vcpu, bool *vtimer_is_masked);

/*!
 * @function hv_vcpu_set_vtimer_mask
 * @abstract Masks or unmasks the virtual timer. The framework masks it itself when it
 *           reports VTIMER_ACTIVATED; the VMM unmasks it after handling the interrupt.
 */
ANYHV_API hv_return_t hv_vcpu_set_vtimer_mask(hv_vcpu_t vcpu, bool vtimer_is_masked);

/*! @function hv_vcpu_get_vtimer_offset @abstract Reads CNTVOFF: CNTVCT = host counter - offset. */
ANYHV_API hv_return_t hv_vcpu_get_vtimer_offset(hv_vcpu_t vcpu, uint64_t *vtimer_offset);

/*! @function hv_vcpu_set_vtimer_offset @abstract Writes CNTVOFF. */
ANYHV_API hv_return_t hv_vcpu_set_vtimer_offset(hv_vcpu_t vcpu, uint64_t vtimer_offset);

/* SME state (macOS 15.2). anyhv's CPUs do not implement SME (ID_AA64PFR1_EL1.SME = 0):
 * these calls return HV_UNSUPPORTED. The maximum vector length is in hv_sme_config.h. */

/*! @function hv_vcpu_get_sme_state @abstract Reads PSTATE.SM and PSTATE.ZA. */
ANYHV_API hv_return_t hv_vcpu_get_sme_state(hv_vcpu_t vcpu, hv_vcpu_sme_state_t *sme_state);

/*! @function hv_vcpu_set_sme_state @abstract Writes PSTATE.SM and PSTATE.ZA. */
ANYHV_API hv_return_t hv_vcpu_set_sme_state(hv_vcpu_t vcpu, const hv_vcpu_sme_state_t *sme_state);

/*! @function hv_vcpu_get_sme_z_reg @abstract Reads a streaming Z register. */
ANYHV_API hv_return_t hv_vcpu_get_sme_z_reg(hv_vcpu_t vcpu, hv_sme_z_reg_t reg, uint8_t *value, size_t length);

/*! @function hv_vcpu_set_sme_z_reg @abstract Writes a streaming Z register. */
ANYHV_API hv_return_t hv_vcpu_set_sme_z_reg(hv_vcpu_t vcpu, hv_sme_z_reg_t reg, const uint8_t *value, size_t length);

/*! @function hv_vcpu_get_sme_p_reg @abstract Reads a streaming P register. */
ANYHV_API hv_return_t hv_vcpu_get_sme_p_reg(hv_vcpu_t vcpu, hv_sme_p_reg_t reg, uint8_t *value, size_t length);

/*! @function hv_vcpu_set_sme_p_reg @abstract Writes a streaming P register. */
ANYHV_API hv_return_t hv_vcpu_set_sme_p_reg(hv_vcpu_t vcpu, hv_sme_p_reg_t reg, const uint8_t *value, size_t length);

/*! @function hv_vcpu_get_sme_za_reg @abstract Reads the ZA array. */
ANYHV_API hv_return_t hv_vcpu_get_sme_za_reg(hv_vcpu_t vcpu, uint8_t *value, size_t length);

/*! @function hv_vcpu_set_sme_za_reg @abstract Writes the ZA array. */
ANYHV_API hv_return_t hv_vcpu_set_sme_za_reg(hv_vcpu_t vcpu, const uint8_t *value, size_t length);

/*! @function hv_vcpu_get_sme_zt0_reg @abstract Reads ZT0. */
ANYHV_API hv_return_t hv_vcpu_get_sme_zt0_reg(hv_vcpu_t vcpu, hv_sme_zt0_uchar64_t *value);

/*! @function hv_vcpu_set_sme_zt0_reg @abstract Writes ZT0. */
ANYHV_API hv_return_t hv_vcpu_set_sme_zt0_reg(hv_vcpu_t vcpu, const hv_sme_zt0_uchar64_t *value);

ANYHV_END_DECLS

#endif /* ANYHV_HV_ARM64 */

#endif /* ANYHV_HYPERVISOR_HV_VCPU_H */
