/* x86_xsave.h - the XSAVE feature set of the software CPU (lift_xsave.c): XSAVE,
 * XSAVEOPT, XSAVEC, XRSTOR for the components of core/x86_cpuid.h (x87, SSE,
 * AVX), and the in-use tracking XGETBV with ECX = 1 reports. */
#ifndef ANYHV_FRONTENDS_X86_64_X86_XSAVE_H
#define ANYHV_FRONTENDS_X86_64_X86_XSAVE_H

#include "frontends/x86_64/x86_fe.h"

/* XINUSE: the components not in their initial configuration (SDM vol. 1 13.6). The
 * soft CPU decides it from the values (hardware tracks it and may report 1 for a
 * component whose values happen to be initial): x87 with FCW 037FH, FSW 0, every
 * tag empty, FOP/FIP/FDP 0 and ST0-7 zero; SSE with XMM0-15 zero; AVX with the
 * YMM upper halves zero. */
uint64_t x86_xinuse(const struct x86_state *st);

extern const struct ir_helper x86_xsave_helper;
/* PDEP/PEXT and the decimal adjusts (lift_ext.c). */
extern const struct ir_helper x86_bits_helper;

#endif /* ANYHV_FRONTENDS_X86_64_X86_XSAVE_H */
