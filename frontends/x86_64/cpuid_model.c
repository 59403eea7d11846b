/* cpuid_model.c - the CPUID leaves of the processor the software CPU implements
 * (cpuid_model.h). Rows list what is implemented today, no more: a bit here is a
 * promise the frontend keeps (docs/x86-frontend.md, "CPUID model"). */
#include "frontends/x86_64/cpuid_model.h"

#include <stddef.h>

#include "core/vm.h"

#define BIT(n) (1u << (n))
#define LEAF_EXT_MAX 0x80000008u
#define LINEAR_BITS_LA57 57u

static const struct cpuid_row {
    uint32_t leaf, subleaf;
    struct x86_cpuid_regs r;
} rows[] = {
    /* Highest basic leaf 7; "GenuineIntel" (the Intel flavour presents an Intel CPU). */
    { 0x0u, 0, { 0x7u, 0x756e6547u, 0x6c65746eu, 0x49656e69u } },
    /* ECX: SSE3 0, SSSE3 9, CX16 13, SSE4.1 19, SSE4.2 20, POPCNT 23, RDRAND 30.
     * EDX: FPU 0, DE 2, PSE 3, TSC 4, MSR 5, PAE 6, CX8 8, SEP 11, PGE 13, CMOV 15,
     * PAT 16, PSE-36 17, CLFSH 19, MMX 23, FXSR 24, SSE 25, SSE2 26. */
    { 0x1u, 0, { 0, 0,
                 BIT(0) | BIT(9) | BIT(13) | BIT(19) | BIT(20) | BIT(23) | BIT(30),
                 BIT(0) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(8) | BIT(11) | BIT(13) | BIT(15) |
                     BIT(16) | BIT(17) | BIT(19) | BIT(23) | BIT(24) | BIT(25) | BIT(26) } },
    /* EBX: SMEP 7, RDSEED 18. ECX: LA57 16. */
    { 0x7u, 0, { 0, BIT(7) | BIT(18), BIT(16), 0 } },
    { 0x80000000u, 0, { LEAF_EXT_MAX, 0, 0, 0 } },
    /* ECX: LAHF/SAHF 0. EDX: SYSCALL 11, NX 20, 1-GiB pages 26, RDTSCP 27, LM 29. */
    { 0x80000001u, 0, { 0, 0, BIT(0), BIT(11) | BIT(20) | BIT(26) | BIT(27) | BIT(29) } },
    /* EAX: physical-address width (the guest-physical space anyhv offers), linear 57. */
    { 0x80000008u, 0, { ANYHV_X86_ADDR_BITS | (LINEAR_BITS_LA57 << 8), 0, 0, 0 } },
};

static const struct {
    uint32_t leaf, subleaf;
    uint8_t reg, bit;
} features[X86_FEAT_COUNT] = {
#define X86_FEAT_ROW(name, leaf, sub, reg, bit) [X86_FEAT_##name] = { leaf, sub, reg, bit },
    X86_FEATURES(X86_FEAT_ROW)
#undef X86_FEAT_ROW
};

bool x86_cpuid_model(uint32_t leaf, uint32_t subleaf, struct x86_cpuid_regs *out)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (rows[i].leaf == leaf && rows[i].subleaf == subleaf) {
            *out = rows[i].r;
            return true;
        }
    *out = (struct x86_cpuid_regs){ 0, 0, 0, 0 };
    return false;
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
