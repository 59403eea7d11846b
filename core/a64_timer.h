/* The arm64 generic timer's arithmetic, shared by the frontend (guest MRS/MSR) and
 * the personality (hv_vcpu_get_sys_reg): the 24 MHz counter from the host's
 * monotonic clock and the timer control bits the hardware computes. */
#ifndef ANYHV_CORE_A64_TIMER_H
#define ANYHV_CORE_A64_TIMER_H

#include <stdint.h>

#include "core/vm.h"

#define A64_CNTFRQ 24000000ull   /* 24 MHz, the counter frequency of Apple silicon */
#define A64_CNT_CTL_ENABLE 1ull
#define A64_CNT_CTL_IMASK 2ull
#define A64_CNT_CTL_ISTATUS 4ull   /* read-only: the timer condition holds */
#define A64_CNT_CTL_WRITABLE (A64_CNT_CTL_ENABLE | A64_CNT_CTL_IMASK)

/* The physical counter of vCPU v at A64_CNTFRQ from its guest time (the host's
 * monotonic clock, or virtual time in deterministic mode: vcpu_guest_ns), seconds
 * and remainder apart so nothing overflows. */
static inline uint64_t a64_counter_now(const struct vcpu *v, uint64_t icount)
{
    uint64_t ns = vcpu_guest_ns(v, icount);
    return ns / 1000000000ull * A64_CNTFRQ + ns % 1000000000ull * A64_CNTFRQ / 1000000000ull;
}

/* CNT*_CTL_EL0 as read: the stored ENABLE/IMASK plus ISTATUS when enabled and the
 * counter has reached the compare value (IMASK does not hide ISTATUS). */
static inline uint64_t a64_timer_ctl(uint64_t ctl, uint64_t count, uint64_t cval)
{
    ctl &= A64_CNT_CTL_WRITABLE;
    if ((ctl & A64_CNT_CTL_ENABLE) && count >= cval)
        ctl |= A64_CNT_CTL_ISTATUS;
    return ctl;
}

#endif /* ANYHV_CORE_A64_TIMER_H */
