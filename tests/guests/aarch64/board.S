/* arm64 guest for anyhv-run's board (--dtb auto): the device tree's address arrives in
 * x0 (checked by its magic), and a load from an address with no RAM or device comes
 * back as a synchronous external abort through the guest's own vectors (ESR_EL1 EC
 * 0x25, DFSC 0x10). Ends through the debug-exit register: 0 when both hold, else the
 * number of the first check that failed. */
    .section .text.start, "ax"
    .globl _start
_start:
    mov     x20, #0x09010000            /* debug exit */
    mov     w21, #1
    cbz     x0, fail
    ldr     w1, [x0]
    rev     w1, w1
    movz    w2, #0xfeed
    movk    w2, #0xd00d, lsl #16
    cmp     w1, w2                      /* FDT magic */
    b.ne    fail
    adr     x3, vectors
    msr     vbar_el1, x3
    isb
    mov     w21, #2
    mov     x4, #0x0a000000             /* nothing there */
    ldr     w5, [x4]
    b       fail                        /* the abort must not return here */
abort:
    mov     w21, #3
    mrs     x6, esr_el1
    lsr     x7, x6, #26
    cmp     x7, #0x25                   /* data abort, same EL */
    b.ne    fail
    mov     w21, #4
    and     x7, x6, #0x3f
    cmp     x7, #0x10                   /* synchronous external abort */
    b.ne    fail
    mov     w21, #5
    mrs     x8, far_el1
    cmp     x8, x4
    b.ne    fail
    mov     w21, #0
fail:
    str     w21, [x20]
1:  b       1b

    .balign 0x800
vectors:
    .org    vectors + 0x200             /* synchronous, current EL with SP_ELx */
    b       abort
    .org    vectors + 0x800
