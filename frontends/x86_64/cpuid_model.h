/* cpuid_model.h - the processor the software CPU is, as CPUID would describe it: one
 * table of the leaves that say what it implements (cpuid_model.c). CPUID itself
 * exits to the client on the Intel API (VMX), so a guest sees what its VMM chooses;
 * the frontend's own checks read this table instead of constants, so an instruction
 * set added later (XSAVE, PCID, ...) changes one row: CR4 bits that need a feature
 * (#GP without it), the physical-address width the page walker checks reserved bits
 * against (MAXPHYADDR), 1-GiB pages.
 *
 * Usage: if (!x86_cpuid_has(X86_FEAT_XSAVE)) return -1;   // CR4.OSXSAVE: #GP */
#ifndef ANYHV_FRONTENDS_X86_64_CPUID_MODEL_H
#define ANYHV_FRONTENDS_X86_64_CPUID_MODEL_H

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
    X(XSAVE, 0x1u, 0, X86_CPUID_ECX, 26)                  \
    X(FSGSBASE, 0x7u, 0, X86_CPUID_EBX, 0)                \
    X(SMEP, 0x7u, 0, X86_CPUID_EBX, 7)                    \
    X(SMAP, 0x7u, 0, X86_CPUID_EBX, 20)                   \
    X(UMIP, 0x7u, 0, X86_CPUID_ECX, 2)                    \
    X(LA57, 0x7u, 0, X86_CPUID_ECX, 16)                   \
    X(NX, 0x80000001u, 0, X86_CPUID_EDX, 20)              \
    X(PAGE1GB, 0x80000001u, 0, X86_CPUID_EDX, 26)         \
    X(LM, 0x80000001u, 0, X86_CPUID_EDX, 29)

enum x86_feature {
#define X86_FEAT_ENUM(name, leaf, sub, reg, bit) X86_FEAT_##name,
    X86_FEATURES(X86_FEAT_ENUM)
#undef X86_FEAT_ENUM
    X86_FEAT_COUNT
};

/* The model's values for (leaf, subleaf); false (all zero) for a leaf it lacks. */
bool x86_cpuid_model(uint32_t leaf, uint32_t subleaf, struct x86_cpuid_regs *out);
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

#endif /* ANYHV_FRONTENDS_X86_64_CPUID_MODEL_H */
