/* x86_cpuid.h - the one CPUID model of anyhv's software x86 CPU: what it implements,
 * as the CPUID leaves a VMM should show its guest. The frontend's feature checks
 * (XCR0 bits, XSAVE area sizes) read the same table, and the anyhv_vcpu_x86_cpuid
 * extension hands it to clients; docs/x86-frontend.md lists the bits. */
#ifndef ANYHV_CORE_X86_CPUID_H
#define ANYHV_CORE_X86_CPUID_H

#include <stdbool.h>
#include <stdint.h>

/* CPUID register indexes in the out[] arrays. */
enum x86_cpuid_reg { X86_CPUID_EAX, X86_CPUID_EBX, X86_CPUID_ECX, X86_CPUID_EDX, X86_CPUID_REGS };

/* Leaves with a meaning of their own. */
#define X86_CPUID_LEAF_BASIC 0x0u
#define X86_CPUID_LEAF_FEATURES 0x1u
#define X86_CPUID_LEAF_EXT_FEATURES 0x7u
#define X86_CPUID_LEAF_XSAVE 0xdu
#define X86_CPUID_LEAF_EXT_BASE 0x80000000u

/* Leaf 1. */
#define X86_CPUID1_ECX_OSXSAVE (1u << 27)
#define X86_CPUID1_EBX_APIC_ID_SHIFT 24
#define X86_CPUID1_EBX_APIC_ID_MASK 0xff000000u

/* XSAVE state components the soft CPU implements (XCR0 bits). */
#define X86_XSTATE_X87 (1ull << 0)
#define X86_XSTATE_SSE (1ull << 1)
#define X86_XSTATE_AVX (1ull << 2)
#define X86_XSTATE_SUPPORTED (X86_XSTATE_X87 | X86_XSTATE_SSE | X86_XSTATE_AVX)
/* Standard-format layout: the legacy FXSAVE area, the 64-byte header, YMM_Hi128. */
#define X86_XSAVE_LEGACY_SIZE 512u
#define X86_XSAVE_HDR_SIZE 64u
#define X86_XSAVE_AVX_OFFSET 576u
#define X86_XSAVE_AVX_BYTES 256u

/* The model's value of (leaf, subleaf) as a CPU with no dynamic state would report
 * it: out of range leaves answer as Intel CPUs do (the highest basic leaf). The
 * dynamic fields are the caller's: x86_cpuid_dynamic fills them. */
void x86_cpuid_model(uint32_t leaf, uint32_t subleaf, uint32_t out[X86_CPUID_REGS]);
/* The fields that follow the vCPU: leaf 1's APIC ID and OSXSAVE, leaf 0xB/0x1F x2APIC
 * id, leaf 0xD subleaf 0 EBX (the XSAVE area for the current XCR0). */
void x86_cpuid_dynamic(uint32_t leaf, uint32_t subleaf, uint32_t apic_id, uint64_t cr4, uint64_t xcr0,
                       uint32_t out[X86_CPUID_REGS]);
/* Standard-format XSAVE area size for the components in xcr0. */
uint32_t x86_xsave_size(uint64_t xcr0);
/* Whether the model sets feature bit `bit` of register `reg` of (leaf, subleaf 0). */
bool x86_cpuid_has(uint32_t leaf, enum x86_cpuid_reg reg, unsigned bit);

#endif /* ANYHV_CORE_X86_CPUID_H */
