/* hv_error.h - the result type of every Hypervisor call, hv_return_t, and its HV_*
 * codes. Intel flavour as in Apple's hv_error.h; in the Apple-silicon flavour the same
 * names come from <arm64/hv/hv_kern_types.h>, which this header includes. */
#ifndef ANYHV_HYPERVISOR_HV_ERROR_H
#define ANYHV_HYPERVISOR_HV_ERROR_H

#include <Hypervisor/hv_base.h>

#if ANYHV_HV_X86

ANYHV_BEGIN_DECLS

/* Result of a Hypervisor call: HV_SUCCESS (0) or one of the negative HV_* codes
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
    HV_FAULT = (hv_return_t)0xfae94008,                /* bad address */
    HV_UNSUPPORTED = (hv_return_t)0xfae9400f,          /* not supported here */
};

ANYHV_END_DECLS

#elif ANYHV_HV_ARM64

#include <arm64/hv/hv_kern_types.h>

#endif

#endif /* ANYHV_HYPERVISOR_HV_ERROR_H */
