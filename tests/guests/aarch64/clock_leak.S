/* Guest for the divergence finder's test (tests/tools): computes, then reads the virtual
 * counter once. Run with and without deterministic mode, the two runs agree on every
 * instruction before that MRS and differ after it: the finder must point at it. Ends with
 * a store to anyhv-run's debug-exit register (status 0). */
    .section .text.start, "ax"
    .globl _start
_start:
    mov     x0, #0
    mov     x1, #500
1:  add     x0, x0, #3
    subs    x1, x1, #1
    b.ne    1b
    mrs     x5, cntvct_el0
    add     x0, x0, x5
    mov     x1, #100
2:  add     x0, x0, #1
    subs    x1, x1, #1
    b.ne    2b
    movz    x2, #0x0901, lsl #16
    str     wzr, [x2]
3:  b       3b
