/* x86_cpuid.c - the software x86 CPU's CPUID model as one table (x86_cpuid.h).
 * A bit is set only when the frontend implements what it advertises: a bit here is
 * a promise the frontend keeps. Values no CPUID-reading guest should depend on
 * (family/model, brand) describe "an Intel family-6 CPU", since the Intel API
 * presents an Intel processor. */
#include "core/x86_cpuid.h"

#include "core/vm.h"
#include "core/x86_state.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define BIT(n) (1u << (n))

/* Leaf 0 / 0x80000000: highest leaves, vendor "GenuineIntel". */
#define MAX_BASIC_LEAF X86_CPUID_LEAF_XSAVE
#define MAX_EXT_LEAF 0x80000008u
#define VENDOR_EBX 0x756e6547u   /* "Genu" */
#define VENDOR_EDX 0x49656e69u   /* "ineI" */
#define VENDOR_ECX 0x6c65746eu   /* "ntel" */

/* Leaf 1 EAX: family 6, extended model 9, model 7, stepping 2. */
#define SIGNATURE 0x00090672u
#define CLFLUSH_LINE_QWORDS (8u << 8)   /* EBX 15:8: CLFLUSH line size in 8-byte units */

/* Leaf 1 EDX: the x87 (FPU), debug extensions, PSE, TSC, MSRs, PAE, CMPXCHG8B, SYSENTER,
 * PGE, CMOV, PAT, PSE-36, CLFLUSH, MMX, FXSAVE, SSE, SSE2. Not VME/PVI, MCE/MCA, MTRR,
 * APIC (the framework has no local APIC on the soft route: a VMM that emulates one
 * sets it). */
#define L1_EDX (BIT(0) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(8) | BIT(11) | BIT(13) | BIT(15) | \
                BIT(16) | BIT(17) | BIT(19) | BIT(23) | BIT(24) | BIT(25) | BIT(26))
/* Leaf 1 ECX: SSE3, PCLMULQDQ, SSSE3, FMA, CMPXCHG16B, PCID (CR3 bits 11:0 with
 * CR4.PCIDE; the TLB is untagged and every CR3 load flushes it, which PCID allows),
 * SSE4.1, SSE4.2, MOVBE, POPCNT, AES, XSAVE, AVX, F16C, RDRAND, and "running under a
 * hypervisor". OSXSAVE (27) is dynamic. */
#define L1_ECX (BIT(0) | BIT(1) | BIT(9) | BIT(12) | BIT(13) | BIT(17) | BIT(19) | BIT(20) | BIT(22) | BIT(23) | \
                BIT(25) | BIT(26) | BIT(28) | BIT(29) | BIT(30) | BIT(31))
/* Leaf 7.0 EBX: FSGSBASE, BMI1, AVX2, SMEP, BMI2, ERMS (REP MOVSB/STOSB are exact at
 * any length, so the hint is honest), INVPCID, RDSEED, ADX, CLFLUSHOPT, CLWB, SHA. ECX: UMIP,
 * LA57, RDPID. EDX: FSRM (fast short REP MOVSB, the same kind of hint). A kernel keeps
 * ERMS only with IA32_MISC_ENABLE's Fast-Strings bit set, which the vCPU's reset state
 * has (core/x86/regs.c): FSRM without ERMS is a pair no processor has, and Linux 6.1's
 * memmove runs short copies through a loop that does not stop then. */
#define L7_EBX (BIT(0) | BIT(3) | BIT(5) | BIT(7) | BIT(8) | BIT(9) | BIT(10) | BIT(18) | BIT(19) | BIT(23) | BIT(24) | \
                BIT(29))
#define L7_ECX (BIT(2) | BIT(16) | BIT(22))
#define L7_EDX BIT(4)
/* Leaf 7.0 EBX with AVX-512 switched on: AVX512F, AVX512DQ, AVX512CD, AVX512BW,
 * AVX512VL. */
#define L7_EBX_AVX512 (BIT(16) | BIT(17) | BIT(28) | BIT(30) | BIT(31))
/* Leaf 0xD.1 EAX: XSAVEOPT, XSAVEC, XGETBV with ECX = 1. (No XSAVES: no supervisor
 * components.) */
#define LD1_EAX (BIT(0) | BIT(1) | BIT(2))
/* 0x80000001 ECX: LAHF/SAHF in 64-bit mode, LZCNT, PREFETCHW. EDX: SYSCALL, NX,
 * 1-GByte pages, RDTSCP, long mode. */
#define LX1_ECX (BIT(0) | BIT(5) | BIT(8))
#define LX1_EDX (BIT(11) | BIT(20) | BIT(26) | BIT(27) | BIT(29))
/* 0x80000008 EAX: the guest-physical width the Intel API offers (vm.h) and 57
 * linear address bits (5-level paging). */
#define LINEAR_BITS 57u
#define LX8_EAX (ANYHV_X86_ADDR_BITS | (LINEAR_BITS << 8))

struct cpuid_entry {
    uint32_t leaf, subleaf;
    bool indexed;            /* the subleaf selects the entry */
    struct x86_cpuid_regs r;
};

/* "anyhv software x86-64 CPU", 48 bytes over leaves 0x80000002..4 (NUL padded). */
#define BRAND(a, b, c, d) { (a), (b), (c), (d) }
static const struct cpuid_entry model[] = {
    { 0x0, 0, false, { MAX_BASIC_LEAF, VENDOR_EBX, VENDOR_ECX, VENDOR_EDX } },
    { 0x1, 0, false, { SIGNATURE, CLFLUSH_LINE_QWORDS, L1_ECX, L1_EDX } },
    { 0x7, 0, true, { 0, L7_EBX, L7_ECX, L7_EDX } },
    { 0xd, 0, true, { (uint32_t)X86_XSTATE_SUPPORTED, 0, 0, 0 } },   /* EBX/ECX computed */
    { 0xd, 1, true, { LD1_EAX, 0, 0, 0 } },                          /* EBX computed */
    { 0xd, 2, true, { X86_XSAVE_AVX_BYTES, X86_XSAVE_AVX_OFFSET, 0, 0 } },
    { 0xd, 5, true, { X86_XSAVE_OPMASK_BYTES, X86_XSAVE_OPMASK_OFFSET, 0, 0 } },        /* AVX-512 only */
    { 0xd, 6, true, { X86_XSAVE_ZMM_HI256_BYTES, X86_XSAVE_ZMM_HI256_OFFSET, 0, 0 } },  /* AVX-512 only */
    { 0xd, 7, true, { X86_XSAVE_HI16_ZMM_BYTES, X86_XSAVE_HI16_ZMM_OFFSET, 0, 0 } },    /* AVX-512 only */
    { 0x80000000u, 0, false, { MAX_EXT_LEAF, 0, 0, 0 } },
    { 0x80000001u, 0, false, { 0, 0, LX1_ECX, LX1_EDX } },
    { 0x80000002u, 0, false, BRAND(0x68796e61u, 0x6f732076u, 0x61777466u, 0x78206572u) },
    { 0x80000003u, 0, false, BRAND(0x362d3638u, 0x50432034u, 0x55u, 0) },
    { 0x80000004u, 0, false, BRAND(0, 0, 0, 0) },
    { 0x80000008u, 0, false, { LX8_EAX, 0, 0, 0 } },
};

static const struct {
    uint32_t leaf, subleaf;
    uint8_t reg, bit;
} features[X86_FEAT_COUNT] = {
#define X86_FEAT_ROW(name, leaf, sub, reg, bit) [X86_FEAT_##name] = { leaf, sub, reg, bit },
    X86_FEATURES(X86_FEAT_ROW)
#undef X86_FEAT_ROW
};

bool x86_cpuid_avx512(void)
{
    /* Read once: the model must not change under a running guest. Atomic: vCPU
     * threads translating at the same time may each be the first. */
    static _Atomic int on = -1;
    int v = atomic_load_explicit(&on, memory_order_relaxed);
    if (v < 0) {
        const char *e = getenv("ANYHV_X86_AVX512");
        v = e && e[0] == '1';
        atomic_store_explicit(&on, v, memory_order_relaxed);
    }
    return v == 1;
}

uint64_t x86_xstate_supported(void)
{
    return X86_XSTATE_SUPPORTED | (x86_cpuid_avx512() ? X86_XSTATE_AVX512 : 0);
}

static const struct { uint8_t i; uint16_t offset, size; } components[] = {
    { 2, X86_XSAVE_AVX_OFFSET, X86_XSAVE_AVX_BYTES },
    { 5, X86_XSAVE_OPMASK_OFFSET, X86_XSAVE_OPMASK_BYTES },
    { 6, X86_XSAVE_ZMM_HI256_OFFSET, X86_XSAVE_ZMM_HI256_BYTES },
    { 7, X86_XSAVE_HI16_ZMM_OFFSET, X86_XSAVE_HI16_ZMM_BYTES },
};

bool x86_xsave_component(unsigned i, uint32_t *offset, uint32_t *size)
{
    for (size_t k = 0; k < sizeof(components) / sizeof(components[0]); k++)
        if (components[k].i == i) {
            *offset = components[k].offset;
            *size = components[k].size;
            return true;
        }
    return false;
}

uint32_t x86_xsave_size(uint64_t xcr0)
{
    uint32_t end = X86_XSAVE_LEGACY_SIZE + X86_XSAVE_HDR_SIZE, off, size;
    for (unsigned i = 2; i < 8; i++)
        if ((xcr0 >> i & 1) && x86_xsave_component(i, &off, &size) && off + size > end)
            end = off + size;
    return end;
}

uint32_t x86_xsave_compact_size(uint64_t xcr0)
{
    uint32_t end = X86_XSAVE_LEGACY_SIZE + X86_XSAVE_HDR_SIZE, off, size;
    for (unsigned i = 2; i < 8; i++)
        if ((xcr0 >> i & 1) && x86_xsave_component(i, &off, &size))
            end += size;   /* none of these asks for 64-byte alignment (leaf 0xD ECX bit 1) */
    return end;
}

/* Intel answers a leaf above the highest one (basic or extended) with the highest
 * basic leaf's values. */
static uint32_t effective_leaf(uint32_t leaf)
{
    if (leaf >= X86_CPUID_LEAF_EXT_BASE)
        return leaf <= MAX_EXT_LEAF ? leaf : MAX_BASIC_LEAF;
    return leaf <= MAX_BASIC_LEAF ? leaf : MAX_BASIC_LEAF;
}

bool x86_cpuid_model(uint32_t leaf, uint32_t subleaf, struct x86_cpuid_regs *out)
{
    *out = (struct x86_cpuid_regs){ 0, 0, 0, 0 };
    uint32_t eff = effective_leaf(leaf);
    bool found = false;
    for (size_t i = 0; i < sizeof(model) / sizeof(model[0]) && !found; i++)
        if (model[i].leaf == eff && (!model[i].indexed || model[i].subleaf == subleaf)) {
            *out = model[i].r;
            found = true;
        }
    uint64_t xs = x86_xstate_supported();
    if (eff == X86_CPUID_LEAF_XSAVE && subleaf == 0)
        out->eax = (uint32_t)xs;
    if (eff == X86_CPUID_LEAF_XSAVE && subleaf >= 2 && !(xs >> subleaf & 1)) {
        *out = (struct x86_cpuid_regs){ 0, 0, 0, 0 };
        found = false;
    }
    if (eff == X86_CPUID_LEAF_XSAVE && subleaf <= 1) {
        out->ebx = subleaf == 0 ? x86_xsave_size(xs) : x86_xsave_compact_size(xs);
        if (subleaf == 0)
            out->ecx = x86_xsave_size(xs);
    }
    if (eff == 0x7u && subleaf == 0 && x86_cpuid_avx512())
        out->ebx |= L7_EBX_AVX512;
    return found && eff == leaf;
}

void x86_cpuid_dynamic(uint32_t leaf, uint32_t subleaf, uint32_t apic_id, uint64_t cr4, uint64_t xcr0,
                       struct x86_cpuid_regs *regs)
{
    leaf = effective_leaf(leaf);
    if (leaf == X86_CPUID_LEAF_FEATURES) {
        regs->ebx = (regs->ebx & ~X86_CPUID1_EBX_APIC_ID_MASK) | (apic_id << X86_CPUID1_EBX_APIC_ID_SHIFT);
        regs->ecx = (regs->ecx & ~X86_CPUID1_ECX_OSXSAVE) | ((cr4 & X86_CR4_OSXSAVE) ? X86_CPUID1_ECX_OSXSAVE : 0);
    }
    if (leaf == X86_CPUID_LEAF_XSAVE && subleaf <= 1)
        regs->ebx = subleaf == 0 ? x86_xsave_size(xcr0 & x86_xstate_supported())
                                 : x86_xsave_compact_size(xcr0 & x86_xstate_supported());
}

bool x86_cpuid_has(enum x86_feature f)
{
    struct x86_cpuid_regs r;
    x86_cpuid_model(features[f].leaf, features[f].subleaf, &r);
    const uint32_t regs[4] = { r.eax, r.ebx, r.ecx, r.edx };
    return (regs[features[f].reg] >> features[f].bit) & 1u;
}

unsigned x86_cpuid_linear_bits(void)
{
    struct x86_cpuid_regs r;
    x86_cpuid_model(0x80000008u, 0, &r);
    return (r.eax >> 8) & 0xffu;
}

bool x86_canonical_load(uint64_t v)
{
    unsigned bits = x86_cpuid_linear_bits();
    return (uint64_t)((int64_t)(v << (64 - bits)) >> (64 - bits)) == v;
}

unsigned x86_cpuid_maxphyaddr(void)
{
    struct x86_cpuid_regs r;
    x86_cpuid_model(0x80000008u, 0, &r);
    return r.eax & 0xffu;
}
