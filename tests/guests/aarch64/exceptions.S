/* arm64 guest for the exception tests: synchronous exceptions and an IRQ taken
 * through VBAR_EL1. Every vector reports to the host with HVC #1 after loading
 * x20 = ESR_EL1, x21 = FAR_EL1, x22 = ELR_EL1, x23 = SPSR_EL1, x24 = vector offset;
 * the host may adjust ELR_EL1 before the handler's ERET. */
    .section .text.start, "ax"
    .globl _start
_start:
    adr     x0, vectors
    msr     vbar_el1, x0
    isb
    svc     #0x55                   /* 1: SVC from EL1h */
    .word   0x00000000              /* 2: UDF #0 */
    adr     x1, data
    add     x1, x1, #1
    ldxr    x2, [x1]                /* 3: misaligned exclusive: alignment fault */
    adr     x3, 1f
    add     x3, x3, #2
    br      x3                      /* 4: misaligned pc */
1:  msr     daifclr, #2             /* 5: the pending IRQ is taken here */
    nop
    msr     daifset, #2
    adr     x4, el0_code
    msr     elr_el1, x4
    msr     spsr_el1, xzr
    eret                            /* 6: to EL0t */
el0_code:
    svc     #1                      /* 7: SVC from EL0 */
    mrs     x5, sctlr_el1           /* 8: UNDEFINED at EL0 */
    hvc     #3                      /* 9: UNDEFINED at EL0 */
    svc     #0xfe                   /* 10: the end */
2:  b       2b

    .balign 16
data:
    .quad   0x1122334455667788

handler:
    mrs     x20, esr_el1
    mrs     x21, far_el1
    mrs     x22, elr_el1
    mrs     x23, spsr_el1
    hvc     #1
    eret

    .balign 0x800
vectors:
    .irp off, 0x000, 0x080, 0x100, 0x180, 0x200, 0x280, 0x300, 0x380, 0x400, 0x480, 0x500, 0x580, 0x600, 0x680, 0x700, 0x780
    .org    vectors + \off
    mov     x24, #\off
    b       handler
    .endr
