/* arm64 guest entry for code compiled with FP/SIMD: enable FP (CPACR_EL1.FPEN),
 * install vectors that report any exception with HVC #2 (x0 = ESR, x1 = ELR),
 * call main() and report its result with HVC #0. */
    .section .text.start, "ax"
    .globl _start
_start:
    mov     x0, #(3 << 20)
    msr     cpacr_el1, x0
    adr     x0, vectors
    msr     vbar_el1, x0
    isb
    adr     x1, _start
    mov     sp, x1
    bl      main
    hvc     #0
1:  b       1b

report:
    mrs     x0, esr_el1
    mrs     x1, elr_el1
    hvc     #2
    b       report

    .balign 0x800
vectors:
    .irp off, 0x000, 0x080, 0x100, 0x180, 0x200, 0x280, 0x300, 0x380, 0x400, 0x480, 0x500, 0x580, 0x600, 0x680, 0x700, 0x780
    .org    vectors + \off
    b       report
    .endr
