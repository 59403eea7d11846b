/* arm64 guest for the deterministic idle test (tests/tools/idle_case.sh): on anyhv-run's
 * board (--dtb auto) it arms the virtual timer 1 ms (24000 counter ticks) ahead and
 * waits for it with WFI, IRQs masked (a WFI wakes on a pending interrupt all the same;
 * anyhv-run sees the timer's condition), ROUNDS times, printing a dot per wake-up. Ends
 * through the debug-exit register: 0 when every wait lasted at least the 1 ms asked for
 * (CNTVCT read after the wake-up), 1 otherwise. In deterministic mode guest time moves
 * only with instructions, so the waits finish only if idle vCPUs let it pass. */
#define PL011 0x09000000
#define DEBUG_EXIT 0x09010000
#define ROUNDS 20
#define TICKS 24000
    .section .text.start, "ax"
    .globl _start
_start:
    mov     x20, #DEBUG_EXIT
    mov     x21, #PL011
    mov     w22, #ROUNDS
    mov     w23, #0                     /* status */
    mov     x24, #TICKS
round:
    mrs     x1, cntvct_el0
    add     x2, x1, x24
    msr     cntv_cval_el0, x2
    mov     x3, #1                      /* ENABLE, not IMASK */
    msr     cntv_ctl_el0, x3
    isb
wait:
    wfi
    mrs     x4, cntv_ctl_el0
    tbz     x4, #2, wait                /* ISTATUS: the timer fired */
    mrs     x5, cntvct_el0
    cmp     x5, x2
    b.hs    1f
    mov     w23, #1                     /* woke before the deadline */
1:  msr     cntv_ctl_el0, xzr
    mov     w6, #'.'
    str     w6, [x21]
    subs    w22, w22, #1
    b.ne    round
    mov     w6, #'\n'
    str     w6, [x21]
    str     w23, [x20]
2:  b       2b
