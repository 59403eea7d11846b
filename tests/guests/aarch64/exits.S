/* arm64 guest for the exit tests: one instruction per exit kind, in the order the
 * test expects them. x2 points at an unmapped MMIO page (0x09000000). */
    .section .text.start, "ax"
    .globl _start
_start:
    movz    x0, #0x1111
    hvc     #0x1234                 /* 1: HVC, pc past it */
    smc     #0x42                   /* 2: SMC, pc on it */
    wfi                             /* 3: WFx, TI = 0 */
    wfe                             /* 4: WFx, TI = 1 */
    movz    x2, #0x0900, lsl #16
    ldr     w3, [x2]                /* 5: read, SAS 2, SRT 3, SF 0 */
    str     x4, [x2, #8]            /* 6: write, SAS 3, SRT 4, SF 1 */
    ldrsh   x5, [x2, #2]            /* 7: SSE, SAS 1, SF 1 */
    ldrsb   w6, [x2]                /* 8: SSE, SAS 0, SF 0 */
    strb    wzr, [x2]               /* 9: SRT 31 */
    ldar    x7, [x2]                /* 10: AR */
    stp     x1, x3, [x2]            /* 11: pair, ISV 0 */
    ldr     x8, [x2], #8            /* 12: writeback, ISV 0 */
    mrs     x9, pmcr_el0            /* 13: sysreg read trap */
    msr     pmcr_el0, x10           /* 14: sysreg write trap */
    brk     #7                      /* 15: BRK (trap_debug_exceptions) */
    mrs     x11, dbgbvr0_el1        /* 16: debug register read (trap_debug_reg_accesses) */
    hvc     #0xffff                 /* 17: done */
1:  b       1b
