/* Real-mode guest: writes "hello from real mode\n" to the 8250 data port (0x3f8)
 * one byte at a time, then HLT. The client starts it with CS:IP = 0x1000:0000
 * (base 0x10000) and DS = CS. */
    .code16
    .section .text.start, "ax"
    .globl _start
_start:
    mov     %cs, %ax
    mov     %ax, %ds
    mov     $(msg - _start), %si
    mov     $0x3f8, %dx
1:  lodsb
    test    %al, %al
    jz      2f
    outb    %al, %dx
    jmp     1b
2:  hlt
    jmp     2b
msg:
    .asciz  "hello from real mode\n"
