/* Hypervisor.h - umbrella header: everything of the flavour this translation unit
 * sees (see hv_base.h), as Apple's <Hypervisor/Hypervisor.h> does. */
#ifndef ANYHV_HYPERVISOR_HYPERVISOR_H
#define ANYHV_HYPERVISOR_HYPERVISOR_H

#include <Hypervisor/hv_base.h>

#if ANYHV_HV_ARM64
#include <Hypervisor/hv_vm_types.h>
#include <Hypervisor/hv_vm_config.h>
#include <Hypervisor/hv_vm_allocate.h>
#include <Hypervisor/hv_vm.h>
#include <Hypervisor/hv_vcpu_types.h>
#include <Hypervisor/hv_vcpu_config.h>
#include <Hypervisor/hv_vcpu.h>
#include <Hypervisor/hv_gic_types.h>
#include <Hypervisor/hv_gic.h>
#include <Hypervisor/hv_gic_config.h>
#include <Hypervisor/hv_gic_parameters.h>
#include <Hypervisor/hv_gic_state.h>
#include <Hypervisor/hv_sme_config.h>
#else
#include <Hypervisor/hv_error.h>
#include <Hypervisor/hv_types.h>
#include <Hypervisor/hv_arch_x86.h>
#include <Hypervisor/hv_arch_vmx.h>
#include <Hypervisor/hv.h>
#include <Hypervisor/hv_vmx.h>
#include <Hypervisor/hv_vm_allocate.h>
#endif

#endif /* ANYHV_HYPERVISOR_HYPERVISOR_H */
