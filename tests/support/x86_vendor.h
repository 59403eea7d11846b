/* x86_vendor.h - the host CPU's vendor (CPUID leaf 0) and the one table of known
 * differences between Intel and AMD processors that the host-comparison tests mask
 * (docs/vendor-differences.md explains each row). The Intel flavour presents an
 * Intel CPU, so the software CPU models Intel; a test that uses the host CPU as
 * its oracle compares everything, except that on a host whose vendor a row names
 * it does not compare exactly the cases that row describes.
 *
 * Usage:
 *   if (x86_vendor_differs(X86_VDIFF_DPPS_NAN_CHOICE)) ... compare NaN lanes as NaNs
 *
 * ANYHV_TEST_HOST_VENDOR=intel|amd|other overrides the detection, so the masks
 * can be exercised on any x86-64 host (they only ever relax a comparison). */
#ifndef ANYHV_TESTS_SUPPORT_X86_VENDOR_H
#define ANYHV_TESTS_SUPPORT_X86_VENDOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

enum x86_host_vendor {
    X86_VENDOR_INTEL = 1u << 0,
    X86_VENDOR_AMD = 1u << 1,     /* AuthenticAMD and HygonGenuine (the same cores) */
    X86_VENDOR_OTHER = 1u << 2,   /* any other x86 vendor, or not an x86 host */
};
#define X86_VENDOR_NOT_INTEL (X86_VENDOR_AMD | X86_VENDOR_OTHER)

/* id, the vendors whose processors differ from the model (Intel), what differs. */
#define X86_VENDOR_DIFFS(X)                                                                                 \
    X(FX80_DENORMAL_REM_SCALE_UM, X86_VENDOR_NOT_INTEL,                                                     \
      "FPREM/FPREM1/FSCALE of a denormal ST(0) with underflow unmasked: AMD signals #U, Intel does not")    \
    X(FX80_FSIN_PSEUDO_DENORMAL, X86_VENDOR_NOT_INTEL,                                                      \
      "FSIN of a pseudo-denormal: AMD signals underflow, Intel (no #U for FSIN in the SDM) does not")      \
    X(DPPS_NAN_CHOICE, X86_VENDOR_NOT_INTEL,                                                                \
      "DPPS/DPPD with several NaN products: which NaN a lane returns (AMD: 7fc00000 in every lane)")       \
    X(REP_STRING_OVER_ITSELF, X86_VENDOR_NOT_INTEL,                                                         \
      "a REP string instruction that stores over its own bytes: Intel refetches it after that iteration")  \
    X(FMA_NAN_CHOICE, X86_VENDOR_NOT_INTEL,                                                                 \
      "FMA3 with several NaN operands: which NaN (Intel: the multiplicands, then the addend)")              \
    X(XSAVEC_MXCSR, X86_VENDOR_NOT_INTEL,                                                                   \
      "XSAVEC with AVX requested but not SSE: Intel leaves MXCSR in the area unwritten")                     \
    X(RCP_LARGE_FLUSH, X86_VENDOR_NOT_INTEL,                                                                \
      "RCPPS/RCPSS of |x| >= 2^126: Intel flushes the reciprocal (2^-126 or less) to zero")                 \
    X(KVM_SYSENTER_MSRS_32BIT, X86_VENDOR_NOT_INTEL,                                                        \
      "IA32_SYSENTER_ESP/EIP on the KVM route: an AMD host keeps bits 31:0 (KVM: 63:32 for Intel CPUID only)") \
    X(KVM_CPUID_VENDOR, X86_VENDOR_NOT_INTEL,                                                               \
      "CPUID on the KVM route is the host's (KVM_GET_SUPPORTED_CPUID): its vendor string, not GenuineIntel")

enum x86_vdiff {
#define X86_VDIFF_ENUM(id, vendors, what) X86_VDIFF_##id,
    X86_VENDOR_DIFFS(X86_VDIFF_ENUM)
#undef X86_VDIFF_ENUM
    X86_VDIFF_COUNT
};

static const struct x86_vdiff_row {
    const char *name;
    unsigned vendors;
    const char *what;
} x86_vdiff_rows[X86_VDIFF_COUNT] = {
#define X86_VDIFF_ROW(id, v, w) [X86_VDIFF_##id] = { #id, v, w },
    X86_VENDOR_DIFFS(X86_VDIFF_ROW)
#undef X86_VDIFF_ROW
};

/* The host's vendor from the CPUID leaf 0 signature (or the override). */
static inline enum x86_host_vendor x86_host_vendor(void)
{
    const char *o = getenv("ANYHV_TEST_HOST_VENDOR");
    if (o && *o)
        return strcmp(o, "intel") == 0 ? X86_VENDOR_INTEL : strcmp(o, "amd") == 0 ? X86_VENDOR_AMD : X86_VENDOR_OTHER;
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d))
        return X86_VENDOR_OTHER;
    char sig[13];
    memcpy(sig, &b, 4);
    memcpy(sig + 4, &d, 4);
    memcpy(sig + 8, &c, 4);
    sig[12] = 0;
    if (strcmp(sig, "GenuineIntel") == 0)
        return X86_VENDOR_INTEL;
    if (strcmp(sig, "AuthenticAMD") == 0 || strcmp(sig, "HygonGenuine") == 0)
        return X86_VENDOR_AMD;
#endif
    return X86_VENDOR_OTHER;
}

/* Does this host's processor differ from the model in the cases of row d? */
static inline bool x86_vendor_differs(enum x86_vdiff d)
{
    return (x86_vdiff_rows[d].vendors & (unsigned)x86_host_vendor()) != 0;
}

/* NaN-aware equality of two 16-byte vector registers, for rows that allow another
 * NaN: each 8-byte lane equal, or both double NaNs, or each 4-byte half equal or
 * both float NaNs. Everything that is not a NaN on both sides must match. */
static inline bool x86_vdiff_nan_lanes_equal(const void *x, const void *y)
{
    for (unsigned i = 0; i < 2; i++) {
        uint64_t a, b;
        memcpy(&a, (const uint8_t *)x + 8 * i, 8);
        memcpy(&b, (const uint8_t *)y + 8 * i, 8);
        const uint64_t exp64 = 0x7ff0000000000000ull;
        if (a == b || ((a & exp64) == exp64 && (a << 12) && (b & exp64) == exp64 && (b << 12)))
            continue;
        for (unsigned h = 0; h < 2; h++) {
            uint32_t p = (uint32_t)(a >> (32 * h)), q = (uint32_t)(b >> (32 * h));
            const uint32_t exp32 = 0x7f800000u;
            if (p != q && !((p & exp32) == exp32 && (p << 9) && (q & exp32) == exp32 && (q << 9)))
                return false;
        }
    }
    return true;
}

#endif /* ANYHV_TESTS_SUPPORT_X86_VENDOR_H */
