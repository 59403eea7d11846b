/* x86 demo entry (anyhv-run machine: 64-bit mode for x86_64 builds, 32-bit protected
 * mode for i386 builds, CPL0, stack set up): run demo_main and hand its result to the
 * debug-exit port 0xf4. The same bytes mean the same in both code sizes. */
    .section .text.start, "ax"
    .globl _start
_start:
    call    demo_main
    outl    %eax, $0xf4
1:  jmp     1b
