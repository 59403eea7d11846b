/* arm64 guest for the in-framework GIC tests. Entry (host sets x0 = GICD base,
 * x1 = this vCPU's GICR RD_base): wake the redistributor, make SGI 1, PPI 27 (the
 * virtual timer) and SPIs 40/41 group 1, enabled, routed here, with priorities
 * SGI1 0x90, PPI27 0xa0, SPI40 0xa0, SPI41 0x80; PMR 0xf0, group 1 on. Reports
 * HVC #1 with x12 = GICD_TYPER, x13 = GICD_PIDR2, x14 = GICR_TYPER (64-bit); then
 * unmasks IRQs and spins. Each IRQ: x10 = ICC_IAR1_EL1, x11 = ICC_RPR_EL1, HVC #2;
 * a timer IRQ turns the timer off; then EOI and return.
 * Entry at +4 (send_sgi): write x7 to ICC_SGI1R_EL1, then HVC #3.
 * Any other exception: HVC #0x3f. All GIC accesses are single-register loads and
 * stores, as Linux's accessors make them. */
    .section .text.start, "ax"
    .globl _start
_start:
    b       setup
    b       send_sgi

setup:
    adr     x3, vectors
    msr     vbar_el1, x3
    isb
    ldr     w4, [x1, #0x14]             /* GICR_WAKER: clear ProcessorSleep */
    bic     w4, w4, #2
    str     w4, [x1, #0x14]
1:  ldr     w4, [x1, #0x14]
    tbnz    w4, #2, 1b                  /* ChildrenAsleep */
    add     x5, x1, #0x10000            /* SGI_base */
    mov     w4, #-1
    str     w4, [x5, #0x80]             /* GICR_IGROUPR0: group 1 */
    mov     w4, #0x2
    movk    w4, #0x0800, lsl #16        /* SGI 1 and PPI 27 */
    str     w4, [x5, #0x100]            /* GICR_ISENABLER0 */
    mov     w4, #0x90
    strb    w4, [x5, #0x401]            /* GICR_IPRIORITYR: SGI 1 */
    mov     w4, #0xa0
    strb    w4, [x5, #0x41b]            /* PPI 27 */
    mov     w4, #-1
    str     w4, [x0, #0x84]             /* GICD_IGROUPR1: SPIs 32-63 group 1 */
    mov     w4, #0x300
    str     w4, [x0, #0x104]            /* GICD_ISENABLER1: SPIs 40, 41 */
    mov     w4, #0xa0
    strb    w4, [x0, #0x428]            /* GICD_IPRIORITYR: SPI 40 */
    mov     w4, #0x80
    strb    w4, [x0, #0x429]            /* SPI 41 */
    mrs     x6, mpidr_el1
    and     x6, x6, #0xffffff
    str     x6, [x0, #0x6140]           /* GICD_IROUTER40 */
    str     x6, [x0, #0x6148]           /* GICD_IROUTER41 */
    mov     w4, #0x12
    str     w4, [x0]                    /* GICD_CTLR: EnableGrp1, ARE */
    mov     x4, #0xf0
    msr     S3_0_C4_C6_0, x4            /* ICC_PMR_EL1 */
    mov     x4, #1
    msr     S3_0_C12_C12_7, x4          /* ICC_IGRPEN1_EL1 */
    isb
    ldr     w12, [x0, #4]               /* GICD_TYPER */
    add     x4, x0, #0xf000
    ldr     w13, [x4, #0xfe8]           /* GICD_PIDR2 */
    ldr     x14, [x1, #8]               /* GICR_TYPER */
    hvc     #1
    msr     daifclr, #2
2:  b       2b

send_sgi:
    msr     S3_0_C12_C11_5, x7          /* ICC_SGI1R_EL1 */
    isb
    hvc     #3
3:  b       3b

irq:
    mrs     x10, S3_0_C12_C12_0         /* ICC_IAR1_EL1 */
    mrs     x11, S3_0_C12_C11_3         /* ICC_RPR_EL1 */
    hvc     #2
    cmp     x10, #27
    b.ne    4f
    msr     cntv_ctl_el0, xzr           /* the timer's handler turns it off */
4:  cmp     x10, #1023
    b.eq    5f
    msr     S3_0_C12_C12_1, x10         /* ICC_EOIR1_EL1 */
5:  eret

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
