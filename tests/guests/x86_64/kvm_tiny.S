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
irq_handler:            /* +0x40: vector 0x20 handler: OUT 0x81, IRET */
    outb    %al, $0x81
    iret
