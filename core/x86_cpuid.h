/* x86_cpuid.h - the one CPUID model of anyhv's software x86 CPU: the processor it is,
 * as CPUID leaves, listing what it implements and nothing more (x86_cpuid.c). CPUID
 * itself exits to the client on the Intel API (VMX), so a guest sees what its VMM
 * builds; the anyhv_vcpu_x86_cpuid extension hands clients this model to build it
 * from, and the frontend's own checks read the same table instead of constants: CR4
 * bits that need a feature (#GP without it), the physical-address width the page
 * walker checks reserved bits against (MAXPHYADDR), 1-GiB pages, the canonical width,
 * XCR0's valid bits and the XSAVE area. docs/x86-frontend.md lists the bits.
 *
 * Usage: if (!x86_cpuid_has(X86_FEAT_XSAVE)) return -1;   // CR4.OSXSAVE: #GP */
#ifndef ANYHV_CORE_X86_CPUID_H
#define ANYHV_CORE_X86_CPUID_H

#include <stdbool.h>
#include <stdint.h>

struct x86_cpuid_regs {
    uint32_t eax, ebx, ecx, edx;
};

enum x86_cpuid_reg { X86_CPUID_EAX, X86_CPUID_EBX, X86_CPUID_ECX, X86_CPUID_EDX };

/* Features the frontend asks about: name, leaf, subleaf, register, bit (SDM vol. 2A
 * CPUID). */
#define X86_FEATURES(X)                                   \
    X(PCID, 0x1u, 0, X86_CPUID_ECX, 17)                   \
    X(INVPCID, 0x7u, 0, X86_CPUID_EBX, 10)                \
    X(XSAVE, 0x1u, 0, X86_CPUID_ECX, 26)                  \
    X(FSGSBASE, 0x7u, 0, X86_CPUID_EBX, 0)                \
    X(SMEP, 0x7u, 0, X86_CPUID_EBX, 7)                    \
    X(SMAP, 0x7u, 0, X86_CPUID_EBX, 20)                   \
    X(UMIP, 0x7u, 0, X86_CPUID_ECX, 2)                    \
    X(LA57, 0x7u, 0, X86_CPUID_ECX, 16)                   \
    X(AVX512F, 0x7u, 0, X86_CPUID_EBX, 16)                \
    X(NX, 0x80000001u, 0, X86_CPUID_EDX, 20)              \
    X(PAGE1GB, 0x80000001u, 0, X86_CPUID_EDX, 26)         \
    X(LM, 0x80000001u, 0, X86_CPUID_EDX, 29)

enum x86_feature {
#define X86_FEAT_ENUM(name, leaf, sub, reg, bit) X86_FEAT_##name,
    X86_FEATURES(X86_FEAT_ENUM)
#undef X86_FEAT_ENUM
    X86_FEAT_COUNT
};

/* Leaves with a meaning of their own. */
#define X86_CPUID_LEAF_FEATURES 0x1u
#define X86_CPUID_LEAF_XSAVE 0xdu
#define X86_CPUID_LEAF_EXT_BASE 0x80000000u
#define X86_CPUID1_ECX_OSXSAVE (1u << 27)
#define X86_CPUID1_EBX_APIC_ID_SHIFT 24
#define X86_CPUID1_EBX_APIC_ID_MASK 0xff000000u

/* XSAVE state components the soft CPU implements (XCR0 bits). */
#define X86_XSTATE_X87 (1ull << 0)
#define X86_XSTATE_SSE (1ull << 1)
#define X86_XSTATE_AVX (1ull << 2)
#define X86_XSTATE_OPMASK (1ull << 5)
#define X86_XSTATE_ZMM_HI256 (1ull << 6)
#define X86_XSTATE_HI16_ZMM (1ull << 7)
#define X86_XSTATE_AVX512 (X86_XSTATE_OPMASK | X86_XSTATE_ZMM_HI256 | X86_XSTATE_HI16_ZMM)
/* The components the soft CPU can hold; XCR0 may take those of them the model
 * advertises (x86_xstate_supported: AVX-512's only while it is switched on). */
#define X86_XSTATE_SUPPORTED (X86_XSTATE_X87 | X86_XSTATE_SSE | X86_XSTATE_AVX)
#define X86_XSTATE_ALL (X86_XSTATE_SUPPORTED | X86_XSTATE_AVX512)
/* Standard-format layout: the legacy FXSAVE area, the 64-byte header, YMM_Hi128,
 * and AVX-512's components at Intel's offsets (MPX's 960..1087 stays a hole). */
#define X86_XSAVE_LEGACY_SIZE 512u
#define X86_XSAVE_HDR_SIZE 64u
#define X86_XSAVE_AVX_OFFSET 576u
#define X86_XSAVE_AVX_BYTES 256u
#define X86_XSAVE_OPMASK_OFFSET 1088u
#define X86_XSAVE_OPMASK_BYTES 64u
#define X86_XSAVE_ZMM_HI256_OFFSET 1152u
#define X86_XSAVE_ZMM_HI256_BYTES 512u
#define X86_XSAVE_HI16_ZMM_OFFSET 1664u
#define X86_XSAVE_HI16_ZMM_BYTES 1024u
#define X86_XSAVE_MAX_SIZE (X86_XSAVE_HI16_ZMM_OFFSET + X86_XSAVE_HI16_ZMM_BYTES)

/* AVX-512 (F, BW, DQ, VL, CD subsets: docs/x86-frontend.md "AVX-512") is in the model
 * only when ANYHV_X86_AVX512=1 is set in the environment: it is incomplete, so a
 * VMM passing the host's CPUID through must not see it by default. */
bool x86_cpuid_avx512(void);
/* XCR0 components the model allows now. */
uint64_t x86_xstate_supported(void);
/* Standard offset and size of XSAVE component i (2, 5, 6, 7); false for others. */
bool x86_xsave_component(unsigned i, uint32_t *offset, uint32_t *size);

/* What CPUID (leaf, subleaf) returns on the model without dynamic state: true when
 * the model lists the leaf. A leaf above the highest basic or extended one answers
 * as the highest basic leaf (as Intel parts do); an unlisted one below is zero. The
 * fields that follow the vCPU are x86_cpuid_dynamic's. */
bool x86_cpuid_model(uint32_t leaf, uint32_t subleaf, struct x86_cpuid_regs *out);
/* Fill in the fields that follow the vCPU: leaf 1's APIC ID and OSXSAVE, leaf 0xD
 * subleaves 0 and 1 EBX (the XSAVE area for the current XCR0). */
void x86_cpuid_dynamic(uint32_t leaf, uint32_t subleaf, uint32_t apic_id, uint64_t cr4, uint64_t xcr0,
                       struct x86_cpuid_regs *regs);
bool x86_cpuid_has(enum x86_feature f);
/* Physical-address width (leaf 0x80000008 EAX[7:0]): MAXPHYADDR. */
unsigned x86_cpuid_maxphyaddr(void);
/* Linear-address width (leaf 0x80000008 EAX[15:8]). */
unsigned x86_cpuid_linear_bits(void);
/* Is v canonical for a base or pointer loaded into a register (WRMSR of FS/GS/
 * KERNEL_GS base, LSTAR, CSTAR, SYSENTER_ESP/EIP; LGDT/LIDT; LLDT/LTR descriptor
 * bases)? Relative to the processor's linear-address width (57 with 5-level paging
 * support), whatever CR4.LA57 says: memory accesses are what CR4.LA57 limits. */
bool x86_canonical_load(uint64_t v);
/* Standard-format XSAVE area size for the components in xcr0 (its highest one's end). */
uint32_t x86_xsave_size(uint64_t xcr0);
/* Compacted-format size (XSAVEC) for the components in xcr0: each right after the last. */
uint32_t x86_xsave_compact_size(uint64_t xcr0);

#endif /* ANYHV_CORE_X86_CPUID_H */
