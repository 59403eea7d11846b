/* x86-64 demo entry (anyhv-run machine: 64-bit mode, CPL3, IOPL 3, stack set up):
 * run demo_main and hand its result to the debug-exit port 0xf4. */
    .section .text.start, "ax"
    .globl _start
_start:
    call    demo_main
    outl    %eax, $0xf4
1:  jmp     1b
