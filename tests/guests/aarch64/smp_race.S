/* arm64 guest for the determinism test: every vCPU runs this code at once. A racy
 * (non-atomic) read-modify-write of a shared counter, a per-vCPU log of the values it
 * saw, and every 64 iterations a report through MMIO (the counter, then the virtual
 * counter CNTVCT_EL0), so the exit stream shows how the vCPUs interleaved and what time
 * they saw. x0 = vCPU id, x1 = shared page (counter at +0, logs at +0x1000*(id+1)),
 * x2 = MMIO report page, x3 = iterations. Ends with HVC #0. */
    .section .text.start, "ax"
    .globl _start
_start:
    mov     x5, #0
    add     x9, x1, x0, lsl #12
    add     x9, x9, #0x1000         /* this vCPU's log */
1:  ldr     w4, [x1]                /* racy: another vCPU may write in between */
    add     x6, x0, #1              /* per-vCPU delay, so the vCPUs drift apart */
2:  subs    x6, x6, #1
    b.ne    2b
    add     w4, w4, #1
    str     w4, [x1]
    and     x8, x5, #1023
    str     w4, [x9, x8, lsl #2]
    add     x5, x5, #1
    tst     x5, #63
    b.ne    3f
    str     w4, [x2]                /* report: exit with the counter */
    mrs     x10, cntvct_el0
    str     x10, [x2, #8]           /* report: exit with the time seen */
3:  cmp     x5, x3
    b.ne    1b
    hvc     #0
4:  b       4b
