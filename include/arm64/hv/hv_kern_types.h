/* hv_kern_types.h - Apple-silicon flavour: the result type of every Hypervisor call
 * (hv_return_t and its HV_* codes) and the guest memory permission bits, at Apple's
 * include path, <arm64/hv/hv_kern_types.h> (the SDK's usr/include). */
#ifndef ANYHV_ARM64_HV_HV_KERN_TYPES_H
#define ANYHV_ARM64_HV_HV_KERN_TYPES_H

#include <Hypervisor/hv_base.h>

#if ANYHV_HV_ARM64

ANYHV_BEGIN_DECLS

/* Result of a Hypervisor call: HV_SUCCESS (0) or one of the HV_* codes
 * (Apple: mach_error_t, err_local | err_sub(0xba5) | code). */
typedef int32_t hv_return_t;

enum {
    HV_SUCCESS = 0,                                    /* the call did what it was asked */
    HV_ERROR = (hv_return_t)0xfae94001,                /* unspecified failure */
    HV_BUSY = (hv_return_t)0xfae94002,                 /* the resource is in use (e.g. a vCPU exists) */
    HV_BAD_ARGUMENT = (hv_return_t)0xfae94003,         /* an argument is invalid */
    HV_ILLEGAL_GUEST_STATE = (hv_return_t)0xfae94004,  /* the guest state cannot be entered */
    HV_NO_RESOURCES = (hv_return_t)0xfae94005,         /* out of host resources */
    HV_NO_DEVICE = (hv_return_t)0xfae94006,            /* no VM / vCPU (or not the caller's) */
    HV_DENIED = (hv_return_t)0xfae94007,               /* not permitted */
    HV_EXISTS = (hv_return_t)0xfae94008,               /* the object already exists (Apple-silicon name of 0x08) */
    HV_UNSUPPORTED = (hv_return_t)0xfae9400f,          /* not supported here */
};

/* Guest-physical memory permissions of hv_vm_map() / hv_vm_protect(). */
enum {
    HV_MEMORY_READ = 1 << 0,
    HV_MEMORY_WRITE = 1 << 1,
    HV_MEMORY_EXEC = 1 << 2,
};

ANYHV_END_DECLS

#endif /* ANYHV_HV_ARM64 */

#endif /* ANYHV_ARM64_HV_HV_KERN_TYPES_H */
