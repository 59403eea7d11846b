/* arm64 guest for snapshots of an SMP board (anyhv-run --dtb auto --smp 2
 * --deterministic, tests/tools/snapshot_case.sh): vCPU 0 starts vCPU 1 with PSCI CPU_ON;
 * each then does ROUNDS rounds of: SPIN non-atomic increments of a shared counter, a
 * letter to the PL011 ('a' from vCPU 0, 'b' from vCPU 1), a WFI until its virtual timer
 * fires 100 us later, and every other round a WFE. So at any instant each vCPU is
 * running, handling a WFI/WFE exit, waiting for its timer or, at the end, powered off
 * (vCPU 1 leaves with PSCI CPU_OFF after setting a flag). vCPU 0 then waits for the
 * flag, prints the counter's low byte as two hex digits and ends through the
 * debug-exit register with status 0. */
#define PL011 0x09000000
#define DEBUG_EXIT 0x09010000
#define PSCI_CPU_ON 0xc4000003
#define PSCI_CPU_OFF 0x84000002
#define ROUNDS 12
#define SPIN 3000
#define TICKS 2400                      /* 100 us of the 24 MHz counter */
    .section .text.start, "ax"
    .globl _start
_start:
    ldr     x0, =PSCI_CPU_ON
    mov     x1, #1                      /* MPIDR Aff0 of vCPU 1 */
    adr     x2, secondary
    mov     x3, #'b'
    hvc     #0
    mov     x19, #'a'
    bl      work
wait_flag:
    wfe
    adr     x9, flag
    ldr     w10, [x9]
    cbz     w10, wait_flag
    mov     x21, #PL011
    adr     x9, counter
    ldr     w10, [x9]
    ubfx    w11, w10, #4, #4
    bl      hexdigit
    and     w11, w10, #15
    bl      hexdigit
    mov     w6, #'\n'
    str     w6, [x21]
    mov     x20, #DEBUG_EXIT
    str     wzr, [x20]
1:  b       1b

secondary:
    mov     x19, x0                     /* the context: its letter */
    bl      work
    adr     x9, flag
    mov     w10, #1
    str     w10, [x9]
    dsb     sy
    sev
    ldr     x0, =PSCI_CPU_OFF
    hvc     #0
1:  b       1b                          /* CPU_OFF does not return */

/* ROUNDS rounds as above, printing the letter in x19. Clobbers x1-x8, x21-x23. */
work:
    mov     x21, #PL011
    mov     w22, #ROUNDS
    adr     x23, counter
round:
    mov     w1, #SPIN
2:  ldr     w2, [x23]
    add     w2, w2, #1
    str     w2, [x23]
    subs    w1, w1, #1
    b.ne    2b
    str     w19, [x21]
    mrs     x3, cntvct_el0
    add     x3, x3, #TICKS
    msr     cntv_cval_el0, x3
    mov     x4, #1                      /* ENABLE, not IMASK: WFI wakes when it fires */
    msr     cntv_ctl_el0, x4
    isb
3:  wfi
    mrs     x5, cntv_ctl_el0
    tbz     x5, #2, 3b
    msr     cntv_ctl_el0, xzr
    tbz     w22, #0, 4f
    wfe
4:  subs    w22, w22, #1
    b.ne    round
    ret

hexdigit:                               /* w11 = 0..15 to the PL011 */
    cmp     w11, #10
    add     w12, w11, #'0'
    add     w13, w11, #'a' - 10
    csel    w12, w13, w12, hs
    str     w12, [x21]
    ret

    .ltorg
    .section .data
    .balign 4096                        /* not in a code page (stores there flush its code) */
counter: .long 0
flag: .long 0
