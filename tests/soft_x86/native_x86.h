/* native_x86.h - the host CPU as a bit-exact oracle for user-level x86-64 code: run
 * given instruction bytes natively in an executable page from a given GPR, RFLAGS and
 * FXSAVE (x87/SSE/MXCSR) state, and return the final state, or the signal the code
 * raised with the state at the faulting instruction. Tests only; x86-64 hosts only.
 *
 * Usage:
 *   struct native_x86_state s = {0};
 *   native_x86_default_fpu(&s);              // FNINIT + default MXCSR
 *   s.gpr[3] = (uint64_t)(uintptr_t)scratch;  // memory operands go through a register
 *   struct native_x86_result r;
 *   if (native_x86_run(code, len, &s, &r) == 0 && r.signo == 0) ... s is the final state
 *
 * The code must fall through its end (no branches out, no RSP changes: RSP stays the
 * harness's stack and is neither loaded nor reported). */
#ifndef ANYHV_TESTS_SOFT_X86_NATIVE_X86_H
#define ANYHV_TESTS_SOFT_X86_NATIVE_X86_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NATIVE_X86_FXSAVE_SIZE 512
#define NATIVE_X86_MAX_CODE 4000u
/* FXSAVE image offsets. */
#define NATIVE_FX_FCW 0
#define NATIVE_FX_FSW 2
#define NATIVE_FX_FTW 4
#define NATIVE_FX_FOP 6
#define NATIVE_FX_FIP 8
#define NATIVE_FX_FDP 16
#define NATIVE_FX_MXCSR 24
#define NATIVE_FX_ST0 32
#define NATIVE_FX_XMM0 160
/* RFLAGS bits the code may load and the oracle reports (status flags and DF). */
#define NATIVE_X86_RFLAGS_MASK 0xcd5u

struct native_x86_state {
    uint64_t gpr[16];                     /* RAX..R15 in encoding order; gpr[4] (RSP) ignored */
    uint64_t rflags;                      /* NATIVE_X86_RFLAGS_MASK bits used */
    alignas(16) uint8_t fx[NATIVE_X86_FXSAVE_SIZE];   /* FXSAVE64 image */
};

struct native_x86_result {
    int signo;                            /* 0: the code ran to its end; else the signal */
    int trapno;                           /* the CPU exception vector behind the signal */
    uint64_t fault_offset;                /* offset in the code of the faulting instruction */
};

/* True when this host can run the oracle; otherwise *why says why not. */
bool native_x86_available(const char **why);
/* An FXSAVE image after FNINIT with MXCSR 0x1f80 and zeroed registers. */
void native_x86_default_fpu(struct native_x86_state *s);
/* Run len bytes of code from state *s; *s becomes the state at the end (or at the
 * fault). Returns 0, or -1 when the harness itself could not run (no executable
 * memory, code too long, not an x86-64 host). */
int native_x86_run(const uint8_t *code, size_t len, struct native_x86_state *s, struct native_x86_result *r);

#endif /* ANYHV_TESTS_SOFT_X86_NATIVE_X86_H */
