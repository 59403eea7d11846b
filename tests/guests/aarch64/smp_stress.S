/* arm64 SMP stress guest, run by every vCPU at once (tests/arm64/test_smp.c). Entry:
 * x0 = index, x1 = vCPU count, x2 = iterations, x3 = shared area, x5 = this vCPU's
 * GICR RD_base. Each iteration: an LSE atomic add and an LL/SC add on two shared
 * counters, one item produced into and one consumed from a lock-free queue (slots
 * claimed with fetch-and-add, published with store-release, awaited with load-acquire),
 * and every 16th a broadcast TLB invalidation. Then the sum of what it consumed goes to
 * sums[index], it sends SGI 2 to the next vCPU through the GIC and waits for its own,
 * and reports HVC #1. Any exception: HVC #0x3f.
 * Shared area: +0x00 LSE counter, +0x40 LL/SC counter, +0x80 queue tail, +0xc0 head,
 * +0x100 sums[], +0x400 SGIs received[], +0x1000 queue slots (zero = empty). */
    .arch   armv8.1-a                   /* LSE atomics (ID_AA64ISAR0_EL1.Atomic = 2) */
    .section .text.start, "ax"
    .globl _start
_start:
    adr     x6, vectors
    msr     vbar_el1, x6
    isb
    mov     x19, x0
    mov     x20, x1
    mov     x21, x2
    mov     x22, x3
    mov     x24, #0                     /* sum of consumed items */
    ldr     w6, [x5, #0x14]             /* GICR_WAKER: wake the redistributor */
    bic     w6, w6, #2
    str     w6, [x5, #0x14]
    add     x7, x5, #0x10000
    mov     w6, #-1
    str     w6, [x7, #0x80]             /* GICR_IGROUPR0: group 1 */
    mov     w6, #4
    str     w6, [x7, #0x100]            /* GICR_ISENABLER0: SGI 2 */
    mov     x6, #0xf0
    msr     S3_0_C4_C6_0, x6            /* ICC_PMR_EL1 */
    mov     x6, #1
    msr     S3_0_C12_C12_7, x6          /* ICC_IGRPEN1_EL1 */
    isb
    mov     x23, #0                     /* iteration */
    mov     x6, #1
loop:
    stadd   x6, [x22]                   /* LSE counter */
    add     x7, x22, #0x40
1:  ldxr    x8, [x7]                    /* LL/SC counter */
    add     x8, x8, #1
    stxr    w9, x8, [x7]
    cbnz    w9, 1b
    add     x7, x22, #0x80
    ldadd   x6, x10, [x7]               /* produce: claim slot tail++ */
    add     x11, x19, #1
    lsl     x11, x11, #32
    add     x12, x23, #1
    orr     x11, x11, x12               /* item = (index + 1) << 32 | (iteration + 1) */
    add     x13, x22, #0x1000
    add     x13, x13, x10, lsl #3
    stlr    x11, [x13]
    add     x7, x22, #0xc0
    ldadd   x6, x10, [x7]               /* consume: claim slot head++ */
    add     x13, x22, #0x1000
    add     x13, x13, x10, lsl #3
2:  ldar    x14, [x13]                  /* wait until its producer published it */
    cbz     x14, 2b
    add     x24, x24, x14
    tst     x23, #15
    b.ne    3f
    tlbi    vmalle1is
    dsb     ish
    isb
3:  add     x23, x23, #1
    cmp     x23, x21
    b.lo    loop
    dmb     ish
    add     x7, x22, #0x100
    str     x24, [x7, x19, lsl #3]
    msr     daifclr, #2
    add     x6, x19, #1                 /* SGI 2 to the next vCPU (Aff0 = index) */
    cmp     x6, x20
    csel    x6, xzr, x6, eq
    mov     x7, #1
    lsl     x7, x7, x6
    orr     x7, x7, #0x2000000
    msr     S3_0_C12_C11_5, x7          /* ICC_SGI1R_EL1 */
    isb
    add     x7, x22, #0x400
    add     x7, x7, x19, lsl #3
4:  ldar    x8, [x7]
    cbz     x8, 4b
    hvc     #1
5:  b       5b

irq:
    mrs     x15, S3_0_C12_C12_0         /* ICC_IAR1_EL1 */
    cmp     x15, #2
    b.ne    6f
    add     x16, x22, #0x400
    add     x16, x16, x19, lsl #3
    ldr     x17, [x16]
    add     x17, x17, #1
    stlr    x17, [x16]
6:  cmp     x15, #1023
    b.eq    7f
    msr     S3_0_C12_C12_1, x15         /* ICC_EOIR1_EL1 */
7:  eret

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
