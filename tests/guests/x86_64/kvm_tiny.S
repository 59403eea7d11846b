/* Tiny real-mode guests for API tests, one entry point each (CS = 0, IP = the
 * entry's address; the client reads the addresses from the ELF symbols' fixed
 * layout below). Every entry is 16 bytes apart. */
    .section .text.start, "ax"
    .code16
    .globl _start
_start:                 /* +0x00: HLT at once */
    hlt
    jmp     _start
    .p2align 4
spin:                   /* +0x10: OUT AL to port 0x80, then spin */
    outb    %al, $0x80
1:  jmp     1b
    .p2align 4
rdmsr_lstar:            /* +0x20: RDMSR ECX, OUT AL to 0x80, HLT */
    rdmsr
    outb    %al, $0x80
    hlt
    .p2align 4
irq_window:             /* +0x30: STI, then HLT (interrupt-window test) */
    sti
    nop
    hlt
    jmp     irq_window
    .p2align 4
triple:                 /* +0x40: IDT limit 0, then INT 0x21: #GP -> #DF -> triple fault */
    lidtw   %cs:idt0 - _start + 0x8000
    int     $0x21
    hlt
    .p2align 4
breakpoint:             /* +0x50: INT3, then HLT */
    int3
    hlt
    .p2align 4
irq_handler:            /* +0x60: vector 0x20 handler: OUT 0x81, IRET */
    outb    %al, $0x81
    iret
    .p2align 4
idt0:   .word 0
    .long 0
