/* arm64 guest for the deterministic GIC tests (snapshots, SMP with SGIs). Entry (the
 * host sets x0 = GICD base, x1 = this vCPU's GICR RD_base, x2 = shared area, x3 = vCPU
 * number, x4 = vCPU count, x5 = virtual timer period in counter ticks, 0 = none):
 * stack at x2 + 0x2000 + 0x1000 * x3; wake the redistributor, enable SGI 1 (priority
 * 0x90) and PPI 27 (0xa0) in group 1 (vCPU 0 also turns the distributor on), PMR 0xf0,
 * group 1 on; arm the virtual timer; unmask IRQs. Main loop: a non-atomic increment of
 * the shared counter at [x2]; every 1024 iterations, with more than one vCPU, SGI 1 to
 * the next vCPU. Each IRQ: acknowledge, count it at [x2 + 8 + 8 * x3], report with
 * HVC #2 (x10 = INTID, x9 = this vCPU's count) while it is active, re-arm the timer if
 * it was the timer, EOI, return. Any other exception: HVC #0x3f. */
    .section .text.start, "ax"
    .globl _start
_start:
    adr     x9, vectors
    msr     vbar_el1, x9
    add     x9, x2, #0x2000
    add     x9, x9, x3, lsl #12
    mov     sp, x9
    isb
    mov     x22, x2
    mov     x23, x3
    mov     x24, x4
    mov     x25, x5
    ldr     w9, [x1, #0x14]             /* GICR_WAKER: clear ProcessorSleep */
    bic     w9, w9, #2
    str     w9, [x1, #0x14]
1:  ldr     w9, [x1, #0x14]
    tbnz    w9, #2, 1b
    add     x10, x1, #0x10000           /* SGI_base */
    mov     w9, #-1
    str     w9, [x10, #0x80]            /* GICR_IGROUPR0: group 1 */
    mov     w9, #0x2
    movk    w9, #0x0800, lsl #16        /* SGI 1 and PPI 27 */
    str     w9, [x10, #0x100]           /* GICR_ISENABLER0 */
    mov     w9, #0x90
    strb    w9, [x10, #0x401]           /* GICR_IPRIORITYR: SGI 1 */
    mov     w9, #0xa0
    strb    w9, [x10, #0x41b]           /* PPI 27 */
    cbnz    x23, 2f
    mov     w9, #0x12
    str     w9, [x0]                    /* GICD_CTLR: EnableGrp1, ARE */
2:  mov     x9, #0xf0
    msr     S3_0_C4_C6_0, x9            /* ICC_PMR_EL1 */
    mov     x9, #1
    msr     S3_0_C12_C12_7, x9          /* ICC_IGRPEN1_EL1 */
    isb
    cbz     x25, 3f
    msr     cntv_tval_el0, x25
    mov     x9, #1
    msr     cntv_ctl_el0, x9
3:  msr     daifclr, #2
    mov     x26, #0
loop:
    ldr     x9, [x22]
    add     x9, x9, #1
    str     x9, [x22]
    add     x26, x26, #1
    tst     x26, #0x3ff
    b.ne    loop
    cmp     x24, #1
    b.ls    loop
    add     x9, x23, #1                 /* the next vCPU, round the ring */
    cmp     x9, x24
    csel    x9, xzr, x9, hs
    mov     x10, #1
    lsl     x10, x10, x9                /* ICC_SGI1R_EL1.TargetList (Aff0) */
    orr     x10, x10, #0x1000000        /* INTID 1 */
    msr     S3_0_C12_C11_5, x10
    isb
    b       loop

irq:
    stp     x9, x10, [sp, #-16]!
    stp     x11, x12, [sp, #-16]!
    mrs     x11, S3_0_C12_C12_0         /* ICC_IAR1_EL1 */
    cmp     x11, #1023
    b.eq    5f
    add     x12, x22, #8
    ldr     x9, [x12, x23, lsl #3]
    add     x9, x9, #1
    str     x9, [x12, x23, lsl #3]
    mov     x10, x11
    hvc     #2
    cmp     x11, #27
    b.ne    4f
    msr     cntv_tval_el0, x25          /* the next period */
4:  msr     S3_0_C12_C12_1, x11         /* ICC_EOIR1_EL1 */
5:  ldp     x11, x12, [sp], #16
    ldp     x9, x10, [sp], #16
    eret

other:
    hvc     #0x3f
    b       other

    .balign 0x800
vectors:
    .irp off, 0x000, 0x080, 0x100, 0x180, 0x200, 0x280, 0x300, 0x380, 0x400, 0x480, 0x500, 0x580, 0x600, 0x680, 0x700, 0x780
    .org    vectors + \off
    .if \off == 0x280
    b       irq                         /* IRQ, current EL with SP_ELx */
    .else
    b       other
    .endif
    .endr
