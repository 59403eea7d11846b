/* Tiny 64-bit guests for API tests (CPL0, long mode; the client enters with CR3 =
 * pml4 of this image). Entries 16 bytes apart from _start. */
    .section .text.start, "ax"
    .code64
    .globl _start
_start:                 /* +0x00: UD2 (with an IDT limit of 0 set by the client: triple fault) */
    ud2
    hlt
    .p2align 4
breakpoint:             /* +0x10: INT3, then HLT */
    int3
    hlt

    .section .data
    .p2align 12
    .globl pml4
pml4:   .quad pdpt + 0x3
    .fill 511, 8, 0
pdpt:   .quad pd + 0x3
    .fill 511, 8, 0
pd:     .quad 0x83
    .fill 511, 8, 0
