/* host_fp.c - the host floating-point environment the soft route computes in: round to
 * nearest even, no flush-to-zero, no denormals-are-zero, every exception masked. Both
 * tiers compute guest FP with host FP (jit/ir_fp.c, the compiled FP ops, the
 * frontends' helpers, which set a guest rounding mode only around one operation), so
 * the client thread's own control register (a VMM built with -ffast-math sets FTZ/DAZ,
 * one that called fesetround changes RC) must not leak in: every execution period
 * runs under the default and gives the thread its own back at the end. */
#include "core/soft/soft_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define HOST_FP_DEFAULT 0x1f80u   /* MXCSR: all masked, RC nearest, no FTZ/DAZ */
static inline unsigned host_fp_get(void) { return _mm_getcsr(); }
static inline void host_fp_set(unsigned v) { _mm_setcsr(v); }
/* The flag bits (0-5) are sticky and irrelevant to results: they are kept. */
#define HOST_FP_CONTROLS 0xffc0u
#elif defined(__aarch64__)
#define HOST_FP_DEFAULT 0u        /* FPCR: RMode nearest, FZ/DN/AH off, no traps */
static inline unsigned host_fp_get(void) { return (unsigned)__builtin_aarch64_get_fpcr(); }
static inline void host_fp_set(unsigned v) { __builtin_aarch64_set_fpcr(v); }
#define HOST_FP_CONTROLS 0xffffffffu
#else
#define HOST_FP_DEFAULT 0u
static inline unsigned host_fp_get(void) { return 0; }
static inline void host_fp_set(unsigned v) { (void)v; }
#define HOST_FP_CONTROLS 0u
#endif

/* Initial-exec: one TLS load per period, not a __tls_get_addr call (see core/vcpu.c). */
static _Thread_local unsigned saved __attribute__((tls_model("initial-exec")));

void soft_host_fp_enter(void)
{
    unsigned cur = host_fp_get();
    saved = cur;
    if ((cur & HOST_FP_CONTROLS) != HOST_FP_DEFAULT)
        host_fp_set((cur & ~HOST_FP_CONTROLS) | HOST_FP_DEFAULT);
}

void soft_host_fp_leave(void)
{
    unsigned cur = host_fp_get();
    if ((cur & HOST_FP_CONTROLS) != (saved & HOST_FP_CONTROLS))
        host_fp_set((cur & ~HOST_FP_CONTROLS) | (saved & HOST_FP_CONTROLS));
}
