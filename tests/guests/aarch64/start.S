/* arm64 guest entry: set a stack below the image, call main(), report its
 * return value in x0 with HVC #0 (the test harness's exit call). */
    .section .text.start, "ax"
    .globl _start
_start:
    adr     x1, _start
    mov     sp, x1                  /* stack grows down from the image base */
    bl      main
    hvc     #0
1:  b       1b
