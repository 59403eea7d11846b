/* AArch64 bench guest entry (anyhv-run's machine: EL1h, MMU off, SP set): enable
 * FP/AdvSIMD at EL1 (CPACR_EL1.FPEN = 0b11) for the FP workload, run the workload,
 * store its result at 0x40010000, end through the debug-exit register. */
#define CPACR_FPEN_EL0_EL1 (3 << 20)
    .section .text.start, "ax"
    .globl _start
_start:
    mov     x0, #CPACR_FPEN_EL0_EL1
    msr     cpacr_el1, x0
    isb
    bl      bench_main
    movz    x1, #0x4001, lsl #16
    str     x0, [x1]
    movz    x1, #0x0901, lsl #16
    str     wzr, [x1]
1:  wfi
    b       1b
