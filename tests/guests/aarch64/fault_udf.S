/* Executes a permanently undefined instruction with no vector table: anyhv-run must
 * report the exception and exit with 70. */
    .section .text.start, "ax"
    .globl _start
_start:
    nop
    udf     #0
