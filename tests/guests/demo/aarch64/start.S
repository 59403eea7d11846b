/* AArch64 demo entry (anyhv-run machine: EL1h, MMU off, SP_EL1 at the top of RAM):
 * run demo_main and store its result to the debug-exit register. */
    .section .text.start, "ax"
    .globl _start
_start:
    bl      demo_main
    movz    x1, #0x0901, lsl #16    /* 0x09010000: debug exit */
    str     w0, [x1]
1:  wfi
    b       1b
