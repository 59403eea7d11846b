/* Echo guest for the record/replay test (tests/tools): polls the 8250 UART for input
 * with some work between polls (so what each poll sees depends on when the bytes
 * arrive), echoes letters upper-cased, ends with status 0 on 'q', or status 2 after
 * 20000 polls without 'q'. */
#define UART_DATA 0x3f8
#define UART_LSR 0x3fd
#define LSR_DATA_READY 1
#define DEBUG_EXIT 0xf4
    .section .text.start, "ax"
    .globl _start
_start:
    mov     $20000, %r8d
poll:
    mov     $200, %ecx
1:  loop    1b
    mov     $UART_LSR, %dx
    in      (%dx), %al
    test    $LSR_DATA_READY, %al
    jnz     got
    dec     %r8d
    jnz     poll
    mov     $2, %al
    out     %al, $DEBUG_EXIT
got:
    mov     $UART_DATA, %dx
    in      (%dx), %al
    cmp     $'q', %al
    je      done
    cmp     $'a', %al
    jb      2f
    cmp     $'z', %al
    ja      2f
    sub     $32, %al
2:  out     %al, (%dx)
    jmp     poll
done:
    xor     %eax, %eax
    out     %al, $DEBUG_EXIT
