/* arm64 guest for the EL1 physical timer on anyhv-run's board (tests/tools/idle_case.sh,
 * --deterministic): CNTP_TVAL/CTL/CVAL trap to the VMM (as on Apple's hypervisor), and
 * the VMM must count them on the counter the guest's CNTPCT_EL0 reads - in
 * deterministic mode virtual time, not the host's. ROUNDS times it reads CNTPCT, arms
 * the timer TICKS ahead through CNTP_TVAL, and checks:
 *  - CNTP_CVAL read back is CNTPCT + TICKS, give or take SLACK ticks (status bit 0; on
 *    the host clock an exit may well take longer);
 *  - CNTP_TVAL read back is positive and at most TICKS (bit 1);
 *  - polled every SPIN loop turns, CNTP_CTL.ISTATUS comes (a host-counter CVAL never
 *    comes in virtual time: the run times out), and then CNTPCT >= CVAL (bit 2) and
 *    CNTP_TVAL is negative or zero (bit 3).
 * Prints a dot per round and ends through the debug-exit register with the status. */
#define PL011 0x09000000
#define DEBUG_EXIT 0x09010000
#define ROUNDS 5
#define TICKS 2400          /* 100 us at 24 MHz: 100000 instructions of virtual time */
#define SLACK 24            /* 1 us: far more than the few instructions between */
#define SPIN 2000
    .section .text.start, "ax"
    .globl _start
_start:
    mov     x20, #DEBUG_EXIT
    mov     x21, #PL011
    mov     w22, #ROUNDS
    mov     w23, #0                     /* status */
    mov     x24, #TICKS
round:
    isb
    mrs     x1, cntpct_el0
    msr     cntp_tval_el0, x24
    mrs     x2, cntp_cval_el0
    sub     x3, x2, x1                  /* TICKS <= x3 <= TICKS + SLACK */
    cmp     x3, x24
    b.lo    1f
    sub     x3, x3, x24
    cmp     x3, #SLACK
    b.ls    2f
1:  orr     w23, w23, #1
2:  mrs     x4, cntp_tval_el0
    sxtw    x4, w4
    cmp     x4, #0
    b.le    3f
    cmp     x4, x24
    b.ls    4f
3:  orr     w23, w23, #2
4:  mov     x3, #1                      /* ENABLE, not IMASK */
    msr     cntp_ctl_el0, x3
wait:
    mov     x5, #SPIN
5:  subs    x5, x5, #1
    b.ne    5b
    mrs     x4, cntp_ctl_el0
    tbz     x4, #2, wait                /* ISTATUS: the timer's condition */
    isb
    mrs     x5, cntpct_el0
    cmp     x5, x2
    b.hs    6f
    orr     w23, w23, #4                /* fired before its compare value */
6:  mrs     x4, cntp_tval_el0
    sxtw    x4, w4
    cmp     x4, #0
    b.le    7f
    orr     w23, w23, #8
7:  msr     cntp_ctl_el0, xzr
    mov     w6, #'.'
    str     w6, [x21]
    subs    w22, w22, #1
    b.ne    round
    mov     w6, #'\n'
    str     w6, [x21]
    str     w23, [x20]
8:  b       8b
