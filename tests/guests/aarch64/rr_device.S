/* arm64 guest for the library-level record/replay test. Entry (host: x0 = GICD base,
 * x1 = GICR RD_base, x2 = a device frame that is not memory, x3 = a data area): SPI 40
 * edge-triggered, enabled in group 1 (priority 0xa0) and routed here, PMR 0xf0, IRQs unmasked. Loop:
 * read the device's 32-bit register at +0 (the VMM answers), add it to a sum kept at
 * [x3], spin (value & 0xff) times, report the sum by writing it to +4. IRQ: acknowledge,
 * add the INTID to [x3 + 8], EOI. So the instruction counts, the memory and the reports
 * depend on every device answer and on when each interrupt arrives. */
    .section .text.start, "ax"
    .globl _start
_start:
    adr     x9, vectors
    msr     vbar_el1, x9
    add     x9, x3, #0x1000
    mov     sp, x9
    isb
    ldr     w9, [x1, #0x14]             /* GICR_WAKER: clear ProcessorSleep */
    bic     w9, w9, #2
    str     w9, [x1, #0x14]
1:  ldr     w9, [x1, #0x14]
    tbnz    w9, #2, 1b
    mov     w9, #-1
    str     w9, [x0, #0x84]             /* GICD_IGROUPR1: SPIs 32-63 group 1 */
    mov     w9, #0x20000
    str     w9, [x0, #0xc08]            /* GICD_ICFGR2: SPI 40 edge-triggered */
    mov     w9, #0x100
    str     w9, [x0, #0x104]            /* GICD_ISENABLER1: SPI 40 */
    mov     w9, #0xa0
    strb    w9, [x0, #0x428]            /* GICD_IPRIORITYR: SPI 40 */
    mrs     x9, mpidr_el1
    and     x9, x9, #0xffffff
    str     x9, [x0, #0x6140]           /* GICD_IROUTER40 */
    mov     w9, #0x12
    str     w9, [x0]                    /* GICD_CTLR: EnableGrp1, ARE */
    mov     x9, #0xf0
    msr     S3_0_C4_C6_0, x9            /* ICC_PMR_EL1 */
    mov     x9, #1
    msr     S3_0_C12_C12_7, x9          /* ICC_IGRPEN1_EL1 */
    isb
    msr     daifclr, #2
    mov     x20, #0
loop:
    ldr     w9, [x2]                    /* the device answers */
    add     x20, x20, x9
    str     x20, [x3]
    and     x10, x9, #0xff
2:  cbz     x10, 3f
    sub     x10, x10, #1
    b       2b
3:  str     w20, [x2, #4]               /* report */
    b       loop

irq:
    stp     x9, x10, [sp, #-16]!
    mrs     x9, S3_0_C12_C12_0          /* ICC_IAR1_EL1 */
    cmp     x9, #1023
    b.eq    4f
    ldr     x10, [x3, #8]
    add     x10, x10, x9
    str     x10, [x3, #8]
    msr     S3_0_C12_C12_1, x9          /* ICC_EOIR1_EL1 */
4:  ldp     x9, x10, [sp], #16
    eret

other:
    hvc     #0x3f
    b       other

    .balign 0x800
vectors:
    .irp off, 0x000, 0x080, 0x100, 0x180, 0x200, 0x280, 0x300, 0x380, 0x400, 0x480, 0x500, 0x580, 0x600, 0x680, 0x700, 0x780
    .org    vectors + \off
    .if \off == 0x280
    b       irq
    .else
    b       other
    .endif
    .endr
