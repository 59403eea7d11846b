/* Executes an undefined instruction: anyhv-run must report #UD and exit with 70. */
    .section .text.start, "ax"
    .globl _start
_start:
    nop
    ud2
