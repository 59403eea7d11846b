/* Echo guest for the arm64 record/replay test (tests/tools), the twin of
 * x86_64/echo.S: polls the PL011 for input with some work between polls (so what each
 * poll sees depends on when the bytes arrive), echoes letters upper-cased, ends with
 * status 0 on 'q' (anyhv-run's debug-exit register), or status 2 after 20000 polls. */
#define PL011 0x09000000
#define PL011_FR 0x18
#define FR_RXFE 0x10
#define DEBUG_EXIT 0x09010000
    .section .text.start, "ax"
    .globl _start
_start:
    mov     x1, #PL011
    mov     x2, #DEBUG_EXIT
    mov     w8, #20000
poll:
    mov     w9, #200
1:  subs    w9, w9, #1
    b.ne    1b
    ldr     w3, [x1, #PL011_FR]
    tst     w3, #FR_RXFE
    b.eq    got
    subs    w8, w8, #1
    b.ne    poll
    mov     w3, #2
    str     w3, [x2]
got:
    ldr     w3, [x1]
    and     w3, w3, #0xff
    cmp     w3, #'q'
    b.eq    done
    cmp     w3, #'a'
    b.lo    2f
    cmp     w3, #'z'
    b.hi    2f
    sub     w3, w3, #32
2:  str     w3, [x1]
    b       poll
done:
    str     wzr, [x2]
3:  b       3b
