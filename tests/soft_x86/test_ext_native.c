/* test_ext_native.c - the x86-64-v3 extensions on the soft route against the host
 * CPU (ext_diff.h): every form in the tables below runs in random short sequences
 * from random GPR/flag/XMM/YMM/memory states, natively and in a guest, and the
 * final states must agree bit for bit (flags the SDM leaves undefined are masked per
 * form). A table whose feature the host lacks skips with the reason. Also: the
 * CPUID model the anyhv_vcpu_x86_cpuid extension returns, and the XSAVE family's
 * checks (#UD, #GP, XSETBV exits). ANYHV_FUZZ_ITERS runs more sequences. */
#include <cpuid.h>
#include <math.h>

#include "ext_diff.h"

#define SEQS_DEFAULT 300
#define SEQ_INSNS 6
#define MAX_CODE 512

/* Operand shapes. GPRs are drawn from those the wrapper leaves free (not RBX/RSP);
 * ModRM registers are 0-7 (no REX.R/B), VEX.vvvv registers any of the same set. */
enum shape {
    G_RM,        /* reg = GPR, rm = GPR or [rbx+disp8] */
    G_RMV,       /* VEX: reg = GPR, vvvv = GPR, rm = GPR or memory */
    G_VRM,       /* VEX: vvvv = GPR (destination), rm = GPR or memory (BLSI group: reg fixed) */
    G_RM_IB,     /* G_RM then imm8 */
    G_R,         /* reg in ModRM.rm, mod 11 (RDRAND group: reg fixed) */
    X_XM,        /* reg = XMM, rm = XMM or 16-byte-aligned memory */
    X_XM_IB,
    X_VXM,       /* VEX: reg, vvvv = XMM/YMM, rm = register or memory */
    X_VXM_IB,
    X_XM_V,      /* VEX without vvvv (vvvv = 1111): reg, rm */
    X_XM_V_IB,
    G_XM_V,      /* VEX: reg = GPR, rm = XMM register */
    X_VXM_IS4,   /* VEX: reg, vvvv, rm, register in imm8[7:4] */
    RAW,         /* the bytes as they are */
};

struct form {
    const char *name;
    uint8_t b[32];         /* prefixes/VEX/opcode up to ModRM */
    uint8_t len;
    uint8_t shape;
    uint8_t fixed_reg;     /* ModRM.reg for group forms (G_VRM, G_R), else 0xff */
    uint8_t vex_at;        /* index of the VEX byte holding vvvv (0: none) */
    uint32_t undefined;    /* RFLAGS bits the SDM leaves undefined */
    bool rm_gpr;           /* vector shapes: ModRM.rm is a GPR (or memory) */
};

#define F(n, shp, undef, ...) { n, { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }), shp, 0xff, 0, undef }
#define FV(n, shp, at, undef, ...) { n, { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }), shp, 0xff, at, undef }
#define FG(n, shp, reg, at, undef, ...) { n, { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }), shp, reg, at, undef }
#define AF_PF 0x14u
#define AF_PF_SF 0x94u
#define ALL_BUT_CF_ZF 0x894u
#define BSF_UNDEF 0x895u

/* Not RBX (data pointer), RSP, nor 7: as a byte register without REX that is BH. */
static const uint8_t free_gpr[] = { 0, 1, 2, 5, 6 };

static unsigned modrm(uint8_t *p, unsigned reg, bool mem, unsigned rm, uint64_t *s)
{
    if (!mem) {
        p[0] = (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7));
        return 1;
    }
    p[0] = (uint8_t)(0x40 | ((reg & 7) << 3) | 3);
    p[1] = (uint8_t)((ext_rng(s) % EXT_DISP_RANGE) & ~31u);
    return 2;
}

static unsigned gpr(uint64_t *s)
{
    return free_gpr[ext_rng(s) % sizeof(free_gpr)];
}

/* One instruction of form f into p; returns its length. */
static unsigned emit(uint8_t *p, const struct form *f, uint64_t *s)
{
    memcpy(p, f->b, f->len);
    unsigned n = f->len;
    bool mem = ext_rng(s) % 3 == 0;
    bool vec = f->shape >= X_XM && f->shape != G_XM_V && f->shape != RAW;
    unsigned reg = vec ? ext_rng(s) % 8 : gpr(s), rm = vec && !f->rm_gpr ? ext_rng(s) % 8 : gpr(s);
    unsigned v = vec ? ext_rng(s) % 16 : gpr(s);
    if (f->vex_at && f->shape != X_XM_V && f->shape != X_XM_V_IB && f->shape != G_XM_V)
        p[f->vex_at] = (uint8_t)((p[f->vex_at] & 0x87) | ((~v & 15) << 3));
    switch (f->shape) {
    case G_RM: case G_RMV: case G_RM_IB: case X_XM: case X_XM_IB: case X_VXM: case X_VXM_IB: case X_XM_V:
    case X_XM_V_IB: case X_VXM_IS4:
        n += modrm(p + n, reg, mem, rm, s);
        break;
    case G_VRM:
        n += modrm(p + n, f->fixed_reg, mem, rm, s);
        break;
    case G_R:
        n += modrm(p + n, f->fixed_reg, false, rm, s);
        break;
    case G_XM_V:
        n += modrm(p + n, gpr(s), false, ext_rng(s) % 8, s);
        break;
    default:
        break;
    }
    if (f->shape == G_RM_IB || f->shape == X_XM_IB || f->shape == X_VXM_IB || f->shape == X_XM_V_IB)
        p[n++] = (uint8_t)ext_rng(s);
    if (f->shape == X_VXM_IS4)
        p[n++] = (uint8_t)((ext_rng(s) % 16) << 4);
    return n;
}

/* The vendor rows that apply to one form on this host: a dot product (VDPPS/VDPPD)
 * may pick another NaN (X86_VDIFF_DPPS_NAN_CHOICE), so a sequence holding one
 * compares NaN lanes as NaNs; every other sequence is compared exactly. */
static unsigned form_relax(const struct form *f)
{
    return strstr(f->name, "dpp") && x86_vendor_differs(X86_VDIFF_DPPS_NAN_CHOICE) ? EXT_NAN_LANES : 0;
}

/* EXT_FORM=name runs only that form of the table (for a failing case). */
/* relax: EXT_NAN_LANES / EXT_SAVED_MXCSR when the table's vendor row applies here
 * (for every sequence; form_relax adds per-form rows). */
static void run_table(const struct form *all, unsigned count, uint64_t seed, unsigned relax)
{
    const char *only = getenv("EXT_FORM");
    const struct form *set = all;
    for (unsigned i = 0; only && i < count; i++)
        if (!strcmp(all[i].name, only)) {
            set = &all[i];
            count = 1;
        }
    setenv("ANYHV_BACKEND", "soft", 1);
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    const char *iters = getenv("ANYHV_FUZZ_ITERS");
    unsigned n = iters ? (unsigned)strtoul(iters, NULL, 10) : SEQS_DEFAULT;
    for (unsigned seq = 0; seq < n; seq++) {
        if (seq && seq % EXT_CODE_SLOTS == 0) {   /* every code slot used: a fresh VM, no stale code */
            xg_destroy(&g);
            cr_assert_eq(xg_create(&g), 0);
            cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
        }
        uint8_t code[MAX_CODE];
        unsigned len = ext_prologue(code);
        uint32_t undefined = 0;
        unsigned seq_relax = relax;
        for (unsigned k = 0; k < SEQ_INSNS; k++) {
            const struct form *f = &set[ext_rng(&seed) % count];
            len += emit(code + len, f, &seed);
            undefined = (undefined | f->undefined);
            seq_relax |= form_relax(f);
        }
        len += ext_epilogue(code + len);
        struct ext_state init, native, soft;
        ext_random_state(&seed, &init);
        if (getenv("EXT_OU_MASKED")) {   /* OM and UM masked in the LDMXCSR slot (see fma_f16c) */
            uint32_t mx;
            memcpy(&mx, init.mem + EXT_MXCSR_SLOT, 4);
            mx |= 0x0c00u;
            memcpy(init.mem + EXT_MXCSR_SLOT, &mx, 4);
        }
        if (getenv("EXT_INDEX_LIMIT"))   /* gather indices: 0x0f in every other dword at data + 0x80 */
            for (unsigned i = 0; i < 32; i += 8) {
                uint64_t v = 0xf;
                memcpy(init.mem + 0x80 + i, &v, 8);
            }
        native = init;
        soft = init;
        char hex[3 * MAX_CODE + 1];
        ext_hex(code, len, hex, sizeof(hex));
        ext_run_native(code, len, &native);
        ext_run_soft(&g, code, len, &soft, seq);
        native.rflags &= ~(uint64_t)undefined;
        soft.rflags &= ~(uint64_t)undefined;
        ext_compare_relaxed(&native, &soft, hex, seq_relax);
    }
    xg_destroy(&g);
}

static bool cpuid_bit(unsigned leaf, unsigned reg, unsigned bit)
{
    unsigned r[4] = { 0 };
    if (!__get_cpuid_count(leaf, 0, &r[0], &r[1], &r[2], &r[3]))
        return false;
    return (r[reg] >> bit) & 1;
}

#define EBX 1
#define ECX 2
#define EDX 3

/* ---- BMI1, BMI2, ADX, LZCNT/TZCNT, MOVBE, CRC32, BSF/BSR, legacy decode ---------- */

static const struct form bmi_forms[] = {
    FV("andn", G_RMV, 2, AF_PF, 0xc4, 0xe2, 0x78, 0xf2), FV("andn64", G_RMV, 2, AF_PF, 0xc4, 0xe2, 0xf8, 0xf2),
    FV("bextr", G_RMV, 2, AF_PF_SF, 0xc4, 0xe2, 0x78, 0xf7), FV("bextr64", G_RMV, 2, AF_PF_SF, 0xc4, 0xe2, 0xf8, 0xf7),
    FG("blsr", G_VRM, 1, 2, AF_PF, 0xc4, 0xe2, 0x78, 0xf3), FG("blsmsk", G_VRM, 2, 2, AF_PF, 0xc4, 0xe2, 0x78, 0xf3),
    FG("blsi", G_VRM, 3, 2, AF_PF, 0xc4, 0xe2, 0xf8, 0xf3), FG("blsr64", G_VRM, 1, 2, AF_PF, 0xc4, 0xe2, 0xf8, 0xf3),
    F("tzcnt", G_RM, ALL_BUT_CF_ZF, 0xf3, 0x0f, 0xbc), F("lzcnt64", G_RM, ALL_BUT_CF_ZF, 0xf3, 0x48, 0x0f, 0xbd),
    F("tzcnt16", G_RM, ALL_BUT_CF_ZF, 0x66, 0xf3, 0x0f, 0xbc),
};

static const struct form bmi2_forms[] = {
    FV("bzhi", G_RMV, 2, AF_PF, 0xc4, 0xe2, 0x78, 0xf5), FV("bzhi64", G_RMV, 2, AF_PF, 0xc4, 0xe2, 0xf8, 0xf5),
    FV("mulx", G_RMV, 2, 0, 0xc4, 0xe2, 0x7b, 0xf6), FV("mulx64", G_RMV, 2, 0, 0xc4, 0xe2, 0xfb, 0xf6),
    FV("pdep", G_RMV, 2, 0, 0xc4, 0xe2, 0x7b, 0xf5), FV("pext64", G_RMV, 2, 0, 0xc4, 0xe2, 0xfa, 0xf5),
    F("rorx", G_RM_IB, 0, 0xc4, 0xe3, 0x7b, 0xf0), F("rorx64", G_RM_IB, 0, 0xc4, 0xe3, 0xfb, 0xf0),
    FV("sarx", G_RMV, 2, 0, 0xc4, 0xe2, 0x7a, 0xf7), FV("shlx64", G_RMV, 2, 0, 0xc4, 0xe2, 0xf9, 0xf7),
    FV("shrx", G_RMV, 2, 0, 0xc4, 0xe2, 0x7b, 0xf7),
};

static const struct form misc_forms[] = {
    F("adcx", G_RM, 0, 0x66, 0x0f, 0x38, 0xf6), F("adox64", G_RM, 0, 0xf3, 0x48, 0x0f, 0x38, 0xf6),
    F("movbe", G_RM, 0, 0x0f, 0x38, 0xf0), F("movbe16", G_RM, 0, 0x66, 0x0f, 0x38, 0xf0),
    F("crc32 r/m16 (66 F2)", G_RM, 0, 0x66, 0xf2, 0x0f, 0x38, 0xf1),
    F("crc32 r/m16 (F2 66)", G_RM, 0, 0xf2, 0x66, 0x0f, 0x38, 0xf1),
    F("crc32 r/m8 (F2 66)", G_RM, 0, 0xf2, 0x66, 0x0f, 0x38, 0xf0),
    F("bsf", G_RM, BSF_UNDEF, 0x0f, 0xbc), F("bsr", G_RM, BSF_UNDEF, 0x0f, 0xbd),
    F("bsf64", G_RM, BSF_UNDEF, 0x48, 0x0f, 0xbc), F("bsr16", G_RM, BSF_UNDEF, 0x66, 0x0f, 0xbd),
    F("popcnt, REX before F3", G_RM, 0, 0x48, 0xf3, 0x0f, 0xb8),
    F("movdqa, REX before 66", X_XM, 0, 0x40, 0x66, 0x0f, 0x6f),
    F("nop 0f 18 /4 reg", G_R, 0, 0x0f, 0x18), F("nop 0f 1c reg", G_RM, 0, 0x0f, 0x1c),
    F("nop 0f 1e reg", G_RM, 0, 0x0f, 0x1e), F("prefetch 0f 0d /0", RAW, 0, 0x0f, 0x0d, 0x43, 0x10),
    F("prefetchw", RAW, 0, 0x0f, 0x0d, 0x4b, 0x20), F("prefetcht1", RAW, 0, 0x0f, 0x18, 0x53, 0x08),
    F("prefetcht2", RAW, 0, 0x0f, 0x18, 0x5b, 0x08), F("clflushopt", RAW, 0, 0x66, 0x0f, 0xae, 0x7b, 0x08),
    F("clwb", RAW, 0, 0x66, 0x0f, 0xae, 0x73, 0x10),
};

Test(soft_x86_ext_native, bmi1)
{
    ext_require(cpuid_bit(7, EBX, 3), "BMI1");
    run_table(bmi_forms, sizeof(bmi_forms) / sizeof(bmi_forms[0]), 0x243f6a8885a308d3ull, 0);
}

Test(soft_x86_ext_native, bmi2)
{
    ext_require(cpuid_bit(7, EBX, 8), "BMI2");
    run_table(bmi2_forms, sizeof(bmi2_forms) / sizeof(bmi2_forms[0]), 0x13198a2e03707344ull, 0);
}

Test(soft_x86_ext_native, adx_movbe_crc32_bsf_hints)
{
    ext_require(cpuid_bit(7, EBX, 19) && cpuid_bit(1, ECX, 22) && cpuid_bit(7, EBX, 23) && cpuid_bit(7, EBX, 24),
                "ADX, MOVBE, CLFLUSHOPT or CLWB");
    run_table(misc_forms, sizeof(misc_forms) / sizeof(misc_forms[0]), 0xa4093822299f31d0ull, 0);
}

/* ---- the XSAVE family: save forms into [rbx+IMG_IN] and a restore from it --------- */

/* Each form sets EDX:EAX itself: the host's XCR0 has components beyond the 832-byte
 * area (AVX-512, PKRU), which a random mask would let XSAVE write. */
#define MASK(k) 0xb8, k, 0, 0, 0, 0xba, 0, 0, 0, 0
static const struct form xsave_forms[] = {
    F("xsave64", RAW, 0, MASK(7), 0x48, 0x0f, 0xae, 0xa3, 0x00, 0x04, 0, 0),
    F("xsave64 sse", RAW, 0, MASK(2), 0x48, 0x0f, 0xae, 0xa3, 0x00, 0x04, 0, 0),
    F("xsaveopt64", RAW, 0, MASK(7), 0x48, 0x0f, 0xae, 0xb3, 0x00, 0x04, 0, 0),
    F("xsaveopt64 avx", RAW, 0, MASK(4), 0x48, 0x0f, 0xae, 0xb3, 0x00, 0x04, 0, 0),
    F("xsave", RAW, 0, MASK(3), 0x0f, 0xae, 0xa3, 0x00, 0x04, 0, 0),
    F("xrstor64", RAW, 0, MASK(7), 0x48, 0x0f, 0xae, 0xab, 0x00, 0x04, 0, 0),
    F("xrstor64 sse avx", RAW, 0, MASK(6), 0x48, 0x0f, 0xae, 0xab, 0x00, 0x04, 0, 0),
    F("xrstor x87", RAW, 0, MASK(1), 0x0f, 0xae, 0xab, 0x00, 0x04, 0, 0),
    F("pxor xmm", X_XM, 0, 0x66, 0x0f, 0xef), F("movaps xmm", X_XM, 0, 0x0f, 0x28),
};

/* The compacted form on its own: a standard XSAVE keeps XCOMP_BV, so mixing the two
 * makes the next XRSTOR depend on XINUSE, which hardware tracks by writes and the
 * soft CPU by values (x86_xsave.h); for the same reason no instruction here writes
 * an XMM register (a zero written after an init would be "in use" only in hardware),
 * and every XSAVEC saves SSE: an XRSTOR that initialises SSE from an image without it
 * leaves XINUSE[1] to the processor's choice. */
static const struct form xsavec_forms[] = {
    F("xsavec64", RAW, 0, MASK(7), 0x48, 0x0f, 0xc7, 0xa3, 0x00, 0x04, 0, 0),
    F("xsavec64 x87 sse", RAW, 0, MASK(3), 0x48, 0x0f, 0xc7, 0xa3, 0x00, 0x04, 0, 0),
    F("xsavec sse", RAW, 0, MASK(2), 0x0f, 0xc7, 0xa3, 0x00, 0x04, 0, 0),
    F("xrstor64", RAW, 0, MASK(7), 0x48, 0x0f, 0xae, 0xab, 0x00, 0x04, 0, 0),
    F("xrstor64 avx", RAW, 0, MASK(4), 0x48, 0x0f, 0xae, 0xab, 0x00, 0x04, 0, 0),
};

static void require_xsave(void)
{
    ext_require(cpuid_bit(0xd, 0, 0) && cpuid_bit(1, ECX, 28), "XSAVEOPT or AVX");
    unsigned a, b, c, d;
    __cpuid_count(0xd, 1, a, b, c, d);
    if (!(a & 2))
        cr_skip_test("host CPU lacks XSAVEC");
}

Test(soft_x86_ext_native, xsave_family)
{
    require_xsave();
    run_table(xsave_forms, sizeof(xsave_forms) / sizeof(xsave_forms[0]), 0xbe5466cf34e90c6cull, 0);
}

Test(soft_x86_ext_native, xsavec_compacted)
{
    require_xsave();
    run_table(xsavec_forms, sizeof(xsavec_forms) / sizeof(xsavec_forms[0]), 0x3f84d5b5b5470917ull,
              x86_vendor_differs(X86_VDIFF_XSAVEC_MXCSR) ? EXT_SAVED_MXCSR : 0);
}

/* ---- CPUID model, XSETBV/XGETBV and the XSAVE checks -------------------------------- */

Test(soft_x86_ext, cpuid_model)
{
    setenv("ANYHV_BACKEND", "soft", 1);
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    uint32_t r[4];
    cr_assert_eq(anyhv_vcpu_x86_cpuid(g.vcpu, 0, 0, NULL), HV_BAD_ARGUMENT);
    cr_assert_eq(anyhv_vcpu_x86_cpuid(g.vcpu, 0, 0, r), HV_SUCCESS);
    cr_assert_eq(r[1], 0x756e6547u, "vendor GenuineIntel");
    uint32_t max_basic = r[0];
    cr_assert_eq(anyhv_vcpu_x86_cpuid(g.vcpu, 1, 0, r), HV_SUCCESS);
    cr_assert(r[2] & (1u << 26), "XSAVE advertised");
    cr_assert(!(r[2] & (1u << 27)), "OSXSAVE follows CR4 (clear)");
    cr_assert(r[3] & (1u << 26), "SSE2");
    uint64_t cr4 = xg_read_vmcs(&g, VMCS_GUEST_CR4);
    cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_CR4, cr4 | EXT_CR4_OSXSAVE), 0);
    cr_assert_eq(anyhv_vcpu_x86_cpuid(g.vcpu, 1, 0, r), HV_SUCCESS);
    cr_assert(r[2] & (1u << 27), "OSXSAVE follows CR4 (set)");
    cr_assert_eq(hv_vcpu_write_register(g.vcpu, HV_X86_XCR0, 3), HV_SUCCESS);
    cr_assert_eq(anyhv_vcpu_x86_cpuid(g.vcpu, 0xd, 0, r), HV_SUCCESS);
    cr_assert_eq(r[0] & 7, 7u, "x87, SSE, AVX supported");
    cr_assert_eq(r[1], 576u, "size for XCR0 = x87|SSE");
    cr_assert_eq(r[2], 832u, "size for every component");
    cr_assert_eq(hv_vcpu_write_register(g.vcpu, HV_X86_XCR0, 7), HV_SUCCESS);
    cr_assert_eq(anyhv_vcpu_x86_cpuid(g.vcpu, 0xd, 0, r), HV_SUCCESS);
    cr_assert_eq(r[1], 832u, "size follows XCR0");
    cr_assert_eq(anyhv_vcpu_x86_cpuid(g.vcpu, 0xd, 2, r), HV_SUCCESS);
    cr_assert(r[0] == 256 && r[1] == 576, "AVX component: 256 bytes at 576");
    uint32_t top[4];
    cr_assert_eq(anyhv_vcpu_x86_cpuid(g.vcpu, max_basic, 0, top), HV_SUCCESS);
    cr_assert_eq(anyhv_vcpu_x86_cpuid(g.vcpu, 0x7fffffffu, 0, r), HV_SUCCESS);
    cr_assert(memcmp(r, top, sizeof(r)) == 0, "a leaf past the last answers as the highest basic leaf");
    cr_assert_eq(anyhv_vcpu_x86_cpuid(g.vcpu, 0x80000001u, 0, r), HV_SUCCESS);
    cr_assert(r[3] & (1u << 29), "long mode");
    xg_destroy(&g);
}

static void run_code(struct xg *g, const uint8_t *code, unsigned len, bool osxsave)
{
    cr_assert_eq(xg_long_mode(g), 0);
    uint64_t cr4 = xg_read_vmcs(g, VMCS_GUEST_CR4) & ~EXT_CR4_OSXSAVE;
    cr_assert_eq(xg_vmcs(g, VMCS_GUEST_CR4, cr4 | (osxsave ? EXT_CR4_OSXSAVE : 0)), 0);
    memcpy(g->ram + XG_CODE, code, len);
    g->ram[XG_CODE + len] = EXT_HLT;
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, XG_CODE);
    hv_vcpu_write_register(g->vcpu, HV_X86_RSP, XG_STACK_TOP);
    hv_vcpu_write_register(g->vcpu, HV_X86_RBX, XG_DATA);
    cr_assert_eq(hv_vcpu_run(g->vcpu), HV_SUCCESS);
}

static unsigned vector_of(struct xg *g)
{
    uint64_t rip = xg_reg(g, HV_X86_RIP);
    return rip >= XG_STUBS && rip < XG_STUBS + XG_STUB_SIZE * XG_VECTORS ? (unsigned)((rip - XG_STUBS) / XG_STUB_SIZE)
                                                                         : ~0u;
}

Test(soft_x86_ext, xsetbv_xgetbv_and_checks)
{
    setenv("ANYHV_BACKEND", "soft", 1);
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    static const uint8_t xsetbv[] = { 0x31, 0xc9, 0xb8, 7, 0, 0, 0, 0x31, 0xd2, 0x0f, 0x01, 0xd1 };
    run_code(&g, xsetbv, sizeof(xsetbv), false);
    cr_assert_eq(vector_of(&g), 6u, "XSETBV without CR4.OSXSAVE: #UD");
    run_code(&g, xsetbv, sizeof(xsetbv), true);
    cr_assert_eq(xg_exit_reason(&g), (uint32_t)VMX_REASON_XSETBV, "XSETBV exits to the client");
    cr_assert_eq(xg_reg(&g, HV_X86_RIP), XG_CODE + 9, "RIP on the XSETBV");
    cr_assert_eq(xg_read_vmcs(&g, VMCS_RO_VMEXIT_INSTR_LEN), 3u);
    /* The client writes XCR0; XGETBV (ECX 0 and 1) reads it back. */
    cr_assert_eq(hv_vcpu_write_register(g.vcpu, HV_X86_XCR0, 7), HV_SUCCESS);
    static const uint8_t xgetbv[] = { 0x31, 0xc9, 0x0f, 0x01, 0xd0, 0x89, 0xc6, 0xb9, 1, 0, 0, 0, 0x0f, 0x01, 0xd0 };
    memset(g.ram + XG_DATA, 0, 1024);
    run_code(&g, xgetbv, sizeof(xgetbv), true);
    cr_assert_eq(xg_exit_reason(&g), (uint32_t)VMX_REASON_HLT);
    cr_assert_eq(xg_reg(&g, HV_X86_RSI), 7u, "XGETBV(0) = XCR0");
    cr_assert_eq(xg_reg(&g, HV_X86_RAX) & ~7ull, 0u, "XGETBV(1) within XCR0");
    static const uint8_t xgetbv2[] = { 0xb9, 2, 0, 0, 0, 0x0f, 0x01, 0xd0 };
    run_code(&g, xgetbv2, sizeof(xgetbv2), true);
    cr_assert_eq(vector_of(&g), 13u, "XGETBV(2): #GP");
    /* XSAVE: misaligned #GP, CR0.TS #NM, without OSXSAVE #UD. */
    static const uint8_t xsave_mis[] = { 0xb8, 7, 0, 0, 0, 0x31, 0xd2, 0x0f, 0xae, 0x63, 0x20 };
    run_code(&g, xsave_mis, sizeof(xsave_mis), true);
    cr_assert_eq(vector_of(&g), 13u, "XSAVE at a 32-byte-aligned address: #GP");
    run_code(&g, xsave_mis, sizeof(xsave_mis), false);
    cr_assert_eq(vector_of(&g), 6u, "XSAVE without OSXSAVE: #UD");
    /* XRSTOR with XSTATE_BV beyond XCR0, and a standard header with XCOMP_BV set. */
    static const uint8_t xrstor[] = { 0xb8, 7, 0, 0, 0, 0x31, 0xd2, 0x0f, 0xae, 0x2b };
    memset(g.ram + XG_DATA, 0, 1024);
    uint32_t mxcsr = 0x1f80;
    memcpy(g.ram + XG_DATA + 24, &mxcsr, 4);
    g.ram[XG_DATA + 512] = 0x8;
    run_code(&g, xrstor, sizeof(xrstor), true);
    cr_assert_eq(vector_of(&g), 13u, "XRSTOR with XSTATE_BV bit 3: #GP");
    g.ram[XG_DATA + 512] = 0x7;
    g.ram[XG_DATA + 520] = 0x1;
    run_code(&g, xrstor, sizeof(xrstor), true);
    cr_assert_eq(vector_of(&g), 13u, "XRSTOR standard form with XCOMP_BV != 0: #GP");
    /* A good image: YMM upper halves come back through hv_vcpu_read_fpstate. */
    g.ram[XG_DATA + 520] = 0;
    for (unsigned i = 0; i < 256; i++)
        g.ram[XG_DATA + 576 + i] = (uint8_t)(i + 1);
    run_code(&g, xrstor, sizeof(xrstor), true);
    cr_assert_eq(xg_exit_reason(&g), (uint32_t)VMX_REASON_HLT);
    uint8_t fp[1024] __attribute__((aligned(64)));
    cr_assert_eq(hv_vcpu_read_fpstate(g.vcpu, fp, sizeof(fp)), HV_SUCCESS);
    cr_assert(memcmp(fp + 576, g.ram + XG_DATA + 576, 256) == 0, "YMM_Hi128 in the fpstate image");
    cr_assert_eq(fp[512] & 4, 4, "XSTATE_BV says AVX");
    xg_destroy(&g);
}

/* VEX needs CR4.OSXSAVE and XCR0 with SSE and AVX (#UD otherwise); CR0.TS gives #NM. */
Test(soft_x86_ext, vex_gating)
{
    setenv("ANYHV_BACKEND", "soft", 1);
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    static const uint8_t vaddps[] = { 0xc5, 0xf4, 0x58, 0xc2 };   /* vaddps ymm0, ymm1, ymm2 */
    cr_assert_eq(hv_vcpu_write_register(g.vcpu, HV_X86_XCR0, 7), HV_SUCCESS);
    run_code(&g, vaddps, sizeof(vaddps), false);
    cr_assert_eq(vector_of(&g), 6u, "VEX without CR4.OSXSAVE: #UD");
    cr_assert_eq(hv_vcpu_write_register(g.vcpu, HV_X86_XCR0, 3), HV_SUCCESS);
    run_code(&g, vaddps, sizeof(vaddps), true);
    cr_assert_eq(vector_of(&g), 6u, "VEX with XCR0 = x87|SSE: #UD");
    cr_assert_eq(hv_vcpu_write_register(g.vcpu, HV_X86_XCR0, 7), HV_SUCCESS);
    run_code(&g, vaddps, sizeof(vaddps), true);
    cr_assert_eq(xg_exit_reason(&g), (uint32_t)VMX_REASON_HLT, "VEX with XCR0 = 7 runs");
    /* aligned forms: VMOVAPS ymm needs 32 bytes, VMOVDQA xmm 16; VMOVUPS and VEX
     * arithmetic take any address */
    static const uint8_t movaps_16[] = { 0xc5, 0xfc, 0x28, 0x43, 0x10 };      /* vmovaps ymm0, [rbx+16] */
    static const uint8_t movaps_32[] = { 0xc5, 0xfc, 0x28, 0x43, 0x20 };      /* vmovaps ymm0, [rbx+32] */
    static const uint8_t movdqa_8[] = { 0xc5, 0xf9, 0x6f, 0x43, 0x08 };       /* vmovdqa xmm0, [rbx+8] */
    static const uint8_t vaddps_1[] = { 0xc5, 0xfc, 0x58, 0x43, 0x01 };       /* vaddps ymm0, ymm0, [rbx+1] */
    run_code(&g, movaps_16, sizeof(movaps_16), true);
    cr_assert_eq(vector_of(&g), 13u, "VMOVAPS ymm at 16 mod 32: #GP");
    run_code(&g, movaps_32, sizeof(movaps_32), true);
    cr_assert_eq(xg_exit_reason(&g), (uint32_t)VMX_REASON_HLT, "VMOVAPS ymm at 32 mod 32 runs");
    run_code(&g, movdqa_8, sizeof(movdqa_8), true);
    cr_assert_eq(vector_of(&g), 13u, "VMOVDQA xmm at 8 mod 16: #GP");
    run_code(&g, vaddps_1, sizeof(vaddps_1), true);
    cr_assert_eq(xg_exit_reason(&g), (uint32_t)VMX_REASON_HLT, "VEX arithmetic: no alignment");
    run_code(&g, vaddps, sizeof(vaddps), true);
    cr_assert_eq(hv_vcpu_write_register(g.vcpu, HV_X86_CR0, xg_reg(&g, HV_X86_CR0) | 8), HV_SUCCESS);
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, XG_CODE);
    cr_assert_eq(hv_vcpu_run(g.vcpu), HV_SUCCESS);
    cr_assert_eq(vector_of(&g), 7u, "VEX with CR0.TS: #NM");
    xg_destroy(&g);
}

/* ---- AES-NI, PCLMULQDQ, SHA ---------------------------------------------------------- */

static const struct form crypto_forms[] = {
    F("aesenc", X_XM, 0, 0x66, 0x0f, 0x38, 0xdc), F("aesenclast", X_XM, 0, 0x66, 0x0f, 0x38, 0xdd),
    F("aesdec", X_XM, 0, 0x66, 0x0f, 0x38, 0xde), F("aesdeclast", X_XM, 0, 0x66, 0x0f, 0x38, 0xdf),
    F("aesimc", X_XM, 0, 0x66, 0x0f, 0x38, 0xdb), F("aeskeygenassist", X_XM_IB, 0, 0x66, 0x0f, 0x3a, 0xdf),
    F("pclmulqdq", X_XM_IB, 0, 0x66, 0x0f, 0x3a, 0x44),
};

static const struct form sha_forms[] = {
    F("sha1rnds4", X_XM_IB, 0, 0x0f, 0x3a, 0xcc), F("sha1nexte", X_XM, 0, 0x0f, 0x38, 0xc8),
    F("sha1msg1", X_XM, 0, 0x0f, 0x38, 0xc9), F("sha1msg2", X_XM, 0, 0x0f, 0x38, 0xca),
    F("sha256rnds2", X_XM, 0, 0x0f, 0x38, 0xcb), F("sha256msg1", X_XM, 0, 0x0f, 0x38, 0xcc),
    F("sha256msg2", X_XM, 0, 0x0f, 0x38, 0xcd),
};

Test(soft_x86_ext_native, aes_pclmulqdq)
{
    ext_require(cpuid_bit(1, ECX, 25) && cpuid_bit(1, ECX, 1), "AES-NI or PCLMULQDQ");
    run_table(crypto_forms, sizeof(crypto_forms) / sizeof(crypto_forms[0]), 0x452821e638d01377ull, 0);
}

Test(soft_x86_ext_native, sha)
{
    ext_require(cpuid_bit(7, EBX, 29), "SHA");
    run_table(sha_forms, sizeof(sha_forms) / sizeof(sha_forms[0]), 0xc0ac29b7c97c50ddull, 0);
}

/* ---- RCPPS/RSQRTPS: bit-exact on the special cases, within the SDM's bound elsewhere --- */

#define RCP_BOUND (1.5 / 4096.0)

static float f32_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void check_rcp_lane(uint32_t in, uint32_t got, uint32_t host, bool rsqrt)
{
    float x = f32_of(in);
    bool special = (in & 0x7f800000u) == 0 || (in & 0x7f800000u) == 0x7f800000u || (rsqrt && (in >> 31));
    double exact = rsqrt ? 1.0 / sqrt((double)x) : 1.0 / (double)x;
    if (!rsqrt && (in & 0x7f800000u) >= 0x7e800000u && (in & 0x7f800000u) != 0x7f800000u &&
        x86_vendor_differs(X86_VDIFF_RCP_LARGE_FLUSH)) {
        cr_assert_eq(got, in & 0x80000000u, "rcp(%#x) = %#x: the model flushes", in, got);
        return;   /* the host's answer is its own (tests/support/x86_vendor.h) */
    }
    bool tiny = fabs(exact) <= 1.1754943508222875e-38;   /* the flush boundary */
    if (special || tiny) {
        cr_assert_eq(got, host, "%s(%#x): %#x, host %#x", rsqrt ? "rsqrt" : "rcp", in, got, host);
        return;
    }
    double eg = fabs((f32_of(got) - exact) / exact), eh = fabs((f32_of(host) - exact) / exact);
    cr_assert(eg <= RCP_BOUND, "%s(%#x) = %#x: relative error %g beyond 1.5*2^-12", rsqrt ? "rsqrt" : "rcp", in,
              got, eg);
    cr_assert(eh <= RCP_BOUND, "host %s(%#x) = %#x: relative error %g", rsqrt ? "rsqrt" : "rcp", in, host, eh);
}

Test(soft_x86_ext_native, rcpps_rsqrtps_bound)
{
    ext_require(true, "");
    setenv("ANYHV_BACKEND", "soft", 1);
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    /* rcpps xmm0,[rbx]; rsqrtps xmm1,[rbx]; rcpss xmm2,[rbx]; rsqrtss xmm3,[rbx]; stored to [rbx+0x20..] */
    static const uint8_t code[] = { 0x0f, 0x53, 0x03, 0x0f, 0x52, 0x0b, 0xf3, 0x0f, 0x53, 0x13, 0xf3, 0x0f, 0x52,
                                    0x1b, 0x0f, 0x11, 0x43, 0x20, 0x0f, 0x11, 0x4b, 0x30, 0x0f, 0x11, 0x53, 0x40,
                                    0x0f, 0x11, 0x5b, 0x50 };
    static const uint32_t edges[] = { 0, 0x80000000u, 1, 0x80000001u, 0x007fffffu, 0x00800000u, 0x7f7fffffu,
                                      0x7e800000u, 0xfe800001u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u,
                                      0xffa00000u, 0x3f800000u, 0xbf800000u, 0x40000000u, 0x3f7fffffu };
    uint64_t seed = 0x9216d5d98979fb1bull;
    for (unsigned it = 0; it < 400; it++) {
        uint32_t in[4];
        for (unsigned i = 0; i < 4; i++)
            in[i] = it < 5 ? edges[(it * 4 + i) % (sizeof(edges) / sizeof(edges[0]))] : (uint32_t)ext_rng(&seed);
        struct ext_state st;
        memset(&st, 0, sizeof(st));
        memcpy(st.mem, in, 16);
        struct ext_state native = st, soft = st;
        uint8_t prog[128];
        unsigned len = ext_prologue(prog);
        memcpy(prog + len, code, sizeof(code));
        len += sizeof(code);
        len += ext_epilogue(prog + len);
        uint64_t bv = 0;   /* every component in its initial state: MXCSR 0x1f80 */
        uint32_t mxcsr = 0x1f80;
        memcpy(native.mem + EXT_IMG_IN + 512, &bv, 8);
        memcpy(native.mem + EXT_IMG_IN + 24, &mxcsr, 4);
        soft = native;
        ext_run_native(prog, len, &native);
        ext_run_soft(&g, prog, len, &soft, it);
        cr_assert_eq(soft.vector, native.vector);
        for (unsigned k = 0; k < 4; k++)
            for (unsigned i = 0; i < (k < 2 ? 4u : 1u); i++) {
                uint32_t got, host;
                memcpy(&got, soft.mem + 0x20 + 16 * k + 4 * i, 4);
                memcpy(&host, native.mem + 0x20 + 16 * k + 4 * i, 4);
                check_rcp_lane(in[i], got, host, k & 1);
            }
        cr_assert(memcmp(soft.mem + 0x40 + 4, native.mem + 0x40 + 4, 12) == 0, "RCPSS keeps the upper lanes");
    }
    xg_destroy(&g);
}

/* ---- AVX and AVX2: VEX forms of the SSE operations, 128- and 256-bit ------------------- */

/* VEX prefixes with vvvv = 1111 (the emitter fills it in), R/X/B clear (registers 0-7). */
#define V2(pp, l) 0xc5, (uint8_t)(0xf8 | ((l) << 2) | (pp))           /* 0F map */
#define V38(pp, l, w) 0xc4, 0xe2, (uint8_t)(0x78 | ((w) << 7) | ((l) << 2) | (pp))
#define V3A(pp, l, w) 0xc4, 0xe3, (uint8_t)(0x78 | ((w) << 7) | ((l) << 2) | (pp))
#define NP 0
#define P66 1
#define PF3 2
#define PF2 3
#define A2(n, shp, pp, l, op) FV(n, shp, 1, 0, V2(pp, l), op)
#define A38(n, shp, pp, l, op) FV(n, shp, 2, 0, V38(pp, l, 0), op)
#define A3A(n, shp, pp, l, op) FV(n, shp, 2, 0, V3A(pp, l, 0), op)
#define V2X(pp, w) 0xc4, 0xe1, (uint8_t)(0x78 | ((w) << 7) | (pp))   /* 0F map, C4 form (for W) */
#define AG2(n, shp, pp, l, w, op) { n, { 0xc4, 0xe1, (uint8_t)(0x78 | ((w) << 7) | ((l) << 2) | (pp)), op }, 4, shp, 0xff, 2, 0, true }
#define AG3A(n, shp, pp, l, w, op) { n, { V3A(pp, l, w), op }, 4, shp, 0xff, 2, 0, true }

static const struct form avx_fp_forms[] = {
    A2("vaddps", X_VXM, NP, 0, 0x58), A2("vaddps256", X_VXM, NP, 1, 0x58), A2("vaddpd256", X_VXM, P66, 1, 0x58),
    A2("vaddss", X_VXM, PF3, 0, 0x58), A2("vaddsd", X_VXM, PF2, 0, 0x58), A2("vmulps256", X_VXM, NP, 1, 0x59),
    A2("vmulsd", X_VXM, PF2, 0, 0x59), A2("vsubpd", X_VXM, P66, 0, 0x5c), A2("vdivps256", X_VXM, NP, 1, 0x5e),
    A2("vdivss", X_VXM, PF3, 0, 0x5e), A2("vminps256", X_VXM, NP, 1, 0x5d), A2("vmaxpd256", X_VXM, P66, 1, 0x5f),
    A2("vmaxss", X_VXM, PF3, 0, 0x5f), A2("vsqrtps256", X_XM_V, NP, 1, 0x51), A2("vsqrtsd", X_VXM, PF2, 0, 0x51),
    A2("vcmpps256", X_VXM_IB, NP, 1, 0xc2), A2("vcmpsd", X_VXM_IB, PF2, 0, 0xc2), A2("vcmppd", X_VXM_IB, P66, 0, 0xc2),
    A2("vhaddps256", X_VXM, PF2, 1, 0x7c), A2("vaddsubpd256", X_VXM, P66, 1, 0xd0), A3A("vdpps256", X_VXM_IB, P66, 1, 0x40),
    A3A("vroundps256", X_XM_V_IB, P66, 1, 0x08), A3A("vroundsd", X_VXM_IB, P66, 0, 0x0b),
    A2("vcvtdq2ps256", X_XM_V, NP, 1, 0x5b), A2("vcvttps2dq256", X_XM_V, PF3, 1, 0x5b),
    A2("vcvtps2pd256", X_XM_V, NP, 1, 0x5a), A2("vcvtpd2ps256", X_XM_V, P66, 1, 0x5a),
    A2("vcvtdq2pd256", X_XM_V, PF3, 1, 0xe6), A2("vcvttpd2dq256", X_XM_V, P66, 1, 0xe6),
    A2("vcvtsd2ss", X_VXM, PF2, 0, 0x5a), A2("vcvtss2sd", X_VXM, PF3, 0, 0x5a),
    A2("vshufps256", X_VXM_IB, NP, 1, 0xc6), A2("vshufpd256", X_VXM_IB, P66, 1, 0xc6),
    A2("vunpcklps256", X_VXM, NP, 1, 0x14), A2("vunpckhpd256", X_VXM, P66, 1, 0x15),
    A3A("vblendps256", X_VXM_IB, P66, 1, 0x0c), A3A("vblendpd256", X_VXM_IB, P66, 1, 0x0d),
    A3A("vblendvps256", X_VXM_IS4, P66, 1, 0x4a), A3A("vinsertps", X_VXM_IB, P66, 0, 0x21),
    A2("vmovmskps256", G_XM_V, NP, 1, 0x50), A2("vmovmskpd", G_XM_V, P66, 0, 0x50),
    A2("vmovshdup256", X_XM_V, PF3, 1, 0x16), A2("vmovddup256", X_XM_V, PF2, 1, 0x12),
    A2("vandps256", X_VXM, NP, 1, 0x54), A2("vandnpd256", X_VXM, P66, 1, 0x55), A2("vxorps256", X_VXM, NP, 1, 0x57),
    A2("vucomiss", X_XM_V, NP, 0, 0x2e), A2("vcomisd", X_XM_V, P66, 0, 0x2f),
    F("ldmxcsr random", RAW, 0, 0x0f, 0xae, 0x53, 0x70), F("vldmxcsr random", RAW, 0, 0xc5, 0xf8, 0xae, 0x53, 0x70),
    AG2("vcvtsi2sd r32", X_VXM, PF2, 0, 0, 0x2a), AG2("vcvtsi2ss r64", X_VXM, PF3, 0, 1, 0x2a),
    FV("vcvttss2si r64", G_XM_V, 2, 0, V2X(PF3, 1), 0x2c), FV("vcvtsd2si r32", G_XM_V, 2, 0, V2X(PF2, 0), 0x2d),
};

static const struct form avx_int_forms[] = {
    A2("vpaddd256", X_VXM, P66, 1, 0xfe), A2("vpaddb", X_VXM, P66, 0, 0xfc), A2("vpsubq256", X_VXM, P66, 1, 0xfb),
    A2("vpaddusw256", X_VXM, P66, 1, 0xdd), A2("vpsubsb256", X_VXM, P66, 1, 0xe8), A2("vpxor256", X_VXM, P66, 1, 0xef),
    A2("vpand", X_VXM, P66, 0, 0xdb), A2("vpandn256", X_VXM, P66, 1, 0xdf), A2("vpor256", X_VXM, P66, 1, 0xeb),
    A2("vpcmpeqb256", X_VXM, P66, 1, 0x74), A2("vpcmpeqd", X_VXM, P66, 0, 0x76), A2("vpcmpgtw256", X_VXM, P66, 1, 0x65),
    A38("vpcmpeqq256", X_VXM, P66, 1, 0x29), A38("vpcmpgtq256", X_VXM, P66, 1, 0x37),
    A2("vpmovmskb256", G_XM_V, P66, 1, 0xd7), A2("vpmovmskb", G_XM_V, P66, 0, 0xd7),
    A2("vpminub256", X_VXM, P66, 1, 0xda), A38("vpmaxsd256", X_VXM, P66, 1, 0x3d), A38("vpminuw256", X_VXM, P66, 1, 0x3a),
    A2("vpmullw256", X_VXM, P66, 1, 0xd5), A38("vpmulld256", X_VXM, P66, 1, 0x40), A2("vpmuludq256", X_VXM, P66, 1, 0xf4),
    A2("vpmaddwd256", X_VXM, P66, 1, 0xf5), A38("vpmaddubsw256", X_VXM, P66, 1, 0x04), A2("vpsadbw256", X_VXM, P66, 1, 0xf6),
    A3A("vmpsadbw256", X_VXM_IB, P66, 1, 0x42), A2("vpavgb256", X_VXM, P66, 1, 0xe0), A38("vpsignw256", X_VXM, P66, 1, 0x09),
    A38("vpabsd256", X_XM_V, P66, 1, 0x1e), A38("vphaddd256", X_VXM, P66, 1, 0x02), A38("vphsubsw", X_VXM, P66, 0, 0x07),
    A2("vpacksswb256", X_VXM, P66, 1, 0x63), A38("vpackusdw256", X_VXM, P66, 1, 0x2b), A38("vpshufb256", X_VXM, P66, 1, 0x00),
    A2("vpshufd256", X_XM_V_IB, P66, 1, 0x70), A2("vpshuflw256", X_XM_V_IB, PF2, 1, 0x70),
    A2("vpunpcklbw256", X_VXM, P66, 1, 0x60), A2("vpunpckhqdq256", X_VXM, P66, 1, 0x6d),
    A3A("vpalignr256", X_VXM_IB, P66, 1, 0x0f), A3A("vpblendw256", X_VXM_IB, P66, 1, 0x0e),
    A3A("vpblendvb256", X_VXM_IS4, P66, 1, 0x4c), A3A("vpblendd256", X_VXM_IB, P66, 1, 0x02),
    A38("vptest256", X_XM_V, P66, 1, 0x17), A38("vptest", X_XM_V, P66, 0, 0x17),
    A2("vpsllw256 xmm", X_VXM, P66, 1, 0xf1), A2("vpsrad256 xmm", X_VXM, P66, 1, 0xe2),
    A38("vpmovzxbw256", X_XM_V, P66, 1, 0x30), A38("vpmovsxbd256", X_XM_V, P66, 1, 0x21),
    A38("vpmovzxdq256", X_XM_V, P66, 1, 0x35), A38("vpmovsxwq", X_XM_V, P66, 0, 0x24),
    A38("vaesenc", X_VXM, P66, 0, 0xdc), A3A("vpclmulqdq", X_VXM_IB, P66, 0, 0x44),
};

static const struct form avx_move_forms[] = {
    A2("vmovdqu256 load", X_XM_V, PF3, 1, 0x6f), A2("vmovdqu256 store", X_XM_V, PF3, 1, 0x7f),
    A2("vmovdqa", X_XM_V, P66, 0, 0x6f), A2("vmovaps256", X_XM_V, NP, 1, 0x28), A2("vmovups256 st", X_XM_V, NP, 1, 0x11),
    A2("vmovapd256 st", X_XM_V, P66, 1, 0x29), AG2("vmovd", X_XM_V, P66, 0, 0, 0x6e),
    AG2("vmovd out", X_XM_V, P66, 0, 0, 0x7e), AG2("vmovq gpr", X_XM_V, P66, 0, 1, 0x6e),
    AG2("vmovq out", X_XM_V, P66, 0, 1, 0x7e), AG3A("vpextrq", X_XM_V_IB, P66, 0, 1, 0x16),
    A2("vmovq xmm", X_XM_V, PF3, 0, 0x7e), A2("vmovq st", X_XM_V, P66, 0, 0xd6), A2("vmovss", X_VXM, PF3, 0, 0x10),
    A2("vmovsd st", X_XM_V, PF2, 0, 0x11), A2("vmovhlps", X_VXM, NP, 0, 0x12), A2("vmovlhps", X_VXM, NP, 0, 0x16),
    AG3A("vpextrd", X_XM_V_IB, P66, 0, 0, 0x16), AG3A("vpinsrb", X_VXM_IB, P66, 0, 0, 0x20),
    AG3A("vpinsrq", X_VXM_IB, P66, 0, 1, 0x22), AG3A("vpextrb", X_XM_V_IB, P66, 0, 0, 0x14),
    AG2("vpinsrw", X_VXM_IB, P66, 0, 0, 0xc4), AG3A("vextractps", X_XM_V_IB, P66, 0, 0, 0x17),
    F("vzeroupper", RAW, 0, 0xc5, 0xf8, 0x77), F("vzeroall", RAW, 0, 0xc5, 0xfc, 0x77),
    A2("vpaddq256", X_VXM, P66, 1, 0xd4), A2("vmovlps ld", X_VXM, NP, 0, 0x12), A2("vmovhpd st", X_XM_V, P66, 0, 0x17),
};

static bool host_avx2(void)
{
    return cpuid_bit(1, ECX, 28) && cpuid_bit(7, EBX, 5);
}

Test(soft_x86_ext_native, avx_fp)
{
    ext_require(host_avx2(), "AVX2");
    run_table(avx_fp_forms, sizeof(avx_fp_forms) / sizeof(avx_fp_forms[0]), 0x082efa98ec4e6c89ull, 0);
}

Test(soft_x86_ext_native, avx2_int)
{
    ext_require(host_avx2() && cpuid_bit(1, ECX, 25), "AVX2 or AES");
    run_table(avx_int_forms, sizeof(avx_int_forms) / sizeof(avx_int_forms[0]), 0x3c6ef372fe94f82bull, 0);
}

Test(soft_x86_ext_native, avx_moves)
{
    ext_require(host_avx2(), "AVX2");
    run_table(avx_move_forms, sizeof(avx_move_forms) / sizeof(avx_move_forms[0]), 0xa54ff53a5f1d36f1ull, 0);
}

static const struct form avx_lane_forms[] = {
    A38("vbroadcastss256", X_XM_V, P66, 1, 0x18), A38("vbroadcastsd256", X_XM_V, P66, 1, 0x19),
    A38("vpbroadcastb256", X_XM_V, P66, 1, 0x78), A38("vpbroadcastw", X_XM_V, P66, 0, 0x79),
    A38("vpbroadcastd256", X_XM_V, P66, 1, 0x58), A38("vpbroadcastq256", X_XM_V, P66, 1, 0x59),
    F("vbroadcastf128", RAW, 0, 0xc4, 0xe2, 0x7d, 0x1a, 0x53, 0x20), F("vbroadcasti128", RAW, 0, 0xc4, 0xe2, 0x7d, 0x5a, 0x4b, 0x40),
    A3A("vinserti128", X_VXM_IB, P66, 1, 0x38), A3A("vinsertf128", X_VXM_IB, P66, 1, 0x18),
    A3A("vextracti128", X_XM_V_IB, P66, 1, 0x39), A3A("vextractf128", X_XM_V_IB, P66, 1, 0x19),
    A3A("vperm2i128", X_VXM_IB, P66, 1, 0x46), A3A("vperm2f128", X_VXM_IB, P66, 1, 0x06),
    FV("vpermq", X_XM_V_IB, 2, 0, V3A(P66, 1, 1), 0x00), FV("vpermpd", X_XM_V_IB, 2, 0, V3A(P66, 1, 1), 0x01),
    A38("vpermd", X_VXM, P66, 1, 0x36), A38("vpermps", X_VXM, P66, 1, 0x16),
    A3A("vpermilps imm", X_XM_V_IB, P66, 1, 0x04), A3A("vpermilpd imm", X_XM_V_IB, P66, 1, 0x05),
    A38("vpermilps vec", X_VXM, P66, 1, 0x0c), A38("vpermilpd vec", X_VXM, P66, 0, 0x0d),
    A38("vtestps256", X_XM_V, P66, 1, 0x0e), A38("vtestpd", X_XM_V, P66, 0, 0x0f),
    A38("vpsllvd256", X_VXM, P66, 1, 0x47), FV("vpsllvq256", X_VXM, 2, 0, V38(P66, 1, 1), 0x47),
    A38("vpsrlvd", X_VXM, P66, 0, 0x45), FV("vpsrlvq256", X_VXM, 2, 0, V38(P66, 1, 1), 0x45),
    A38("vpsravd256", X_VXM, P66, 1, 0x46), A38("vcvtph2ps256", X_XM_V, P66, 1, 0x13),
    A38("vcvtph2ps", X_XM_V, P66, 0, 0x13), A2("vpaddd256", X_VXM, P66, 1, 0xfe),
};

Test(soft_x86_ext_native, avx2_lanes_f16c)
{
    ext_require(host_avx2() && cpuid_bit(1, ECX, 29), "AVX2 or F16C");
    run_table(avx_lane_forms, sizeof(avx_lane_forms) / sizeof(avx_lane_forms[0]), 0x510e527fade682d1ull, 0);
}

/* ---- FMA3 and F16C under random MXCSR (flags, RC, DAZ, FTZ; exceptions masked) ----------- */

#define FMA_FORM(n, pp, w, l, op) FV(n, X_VXM, 2, 0, V38(pp, l, w), op)
static const struct form fma_forms[] = {
    FMA_FORM("vfmadd132ps", P66, 0, 0, 0x98), FMA_FORM("vfmadd213ps256", P66, 0, 1, 0xa8),
    FMA_FORM("vfmadd231pd256", P66, 1, 1, 0xb8), FMA_FORM("vfmadd231ss", P66, 0, 0, 0xb9),
    FMA_FORM("vfmadd132sd", P66, 1, 0, 0x99), FMA_FORM("vfmsub213pd", P66, 1, 0, 0xaa),
    FMA_FORM("vfmsub231ps256", P66, 0, 1, 0xba), FMA_FORM("vfnmadd132ps256", P66, 0, 1, 0x9c),
    FMA_FORM("vfnmadd213sd", P66, 1, 0, 0xad), FMA_FORM("vfnmsub231pd", P66, 1, 0, 0xbe),
    FMA_FORM("vfnmsub132ss", P66, 0, 0, 0x9f), FMA_FORM("vfmaddsub213ps256", P66, 0, 1, 0xa6),
    FMA_FORM("vfmsubadd231pd", P66, 1, 0, 0xb7), FMA_FORM("vfmaddsub132pd256", P66, 1, 1, 0x96),
    A38("vcvtph2ps256", X_XM_V, P66, 1, 0x13), A3A("vcvtps2ph256", X_XM_V_IB, P66, 1, 0x1d),
    A3A("vcvtps2ph", X_XM_V_IB, P66, 0, 0x1d),
    F("ldmxcsr random", RAW, 0, 0x0f, 0xae, 0x53, 0x70),
};

Test(soft_x86_ext_native, fma_f16c)
{
    ext_require(cpuid_bit(1, ECX, 12) && cpuid_bit(1, ECX, 29), "FMA or F16C");
    /* OM and UM stay masked: after an unmasked overflow or underflow the FMA's PE is
     * the unbounded-exponent result's on hardware, which avx_fp.c does not model. */
    setenv("EXT_OU_MASKED", "1", 1);
    run_table(fma_forms, sizeof(fma_forms) / sizeof(fma_forms[0]), 0x9b05688c2b3e6c1full,
              x86_vendor_differs(X86_VDIFF_FMA_NAN_CHOICE) ? EXT_NAN_LANES : 0);
    unsetenv("EXT_OU_MASKED");
}

/* ---- masked moves and gathers ---------------------------------------------------------- */

/* Each gather first limits its index register with VPAND against [rbx+0x80], which
 * the test fills with 0x0f in every other dword (no generated operand reaches it), so
 * every address stays in the data. */
#define IDX_LIMIT(vreg) 0xc5, (uint8_t)(0xfd ^ ((vreg) << 3)), 0xdb, (uint8_t)(0x83 | ((vreg) << 3)), 0x80, 0, 0, 0
static const struct form gather_forms[] = {
    F("vpgatherdd ymm0,[rbx+ymm1*4],ymm2", RAW, 0, IDX_LIMIT(1), 0xc4, 0xe2, 0x6d, 0x90, 0x04, 0x8b),
    F("vpgatherdd xmm0,[rbx+xmm1*2],xmm2", RAW, 0, IDX_LIMIT(1), 0xc4, 0xe2, 0x69, 0x90, 0x04, 0x4b),
    F("vpgatherqq ymm3,[rbx+ymm5*8],ymm6", RAW, 0, IDX_LIMIT(5), 0xc4, 0xe2, 0xcd, 0x91, 0x1c, 0xeb),
    F("vpgatherqd xmm0,[rbx+ymm1*4],xmm2", RAW, 0, IDX_LIMIT(1), 0xc4, 0xe2, 0x6d, 0x91, 0x04, 0x8b),
    F("vgatherdpd ymm4,[rbx+xmm5*8],ymm6", RAW, 0, IDX_LIMIT(5), 0xc4, 0xe2, 0xcd, 0x92, 0x24, 0xeb),
    F("vgatherqps xmm7,[rbx+xmm1*4+8],xmm2", RAW, 0, IDX_LIMIT(1), 0xc4, 0xe2, 0x69, 0x93, 0x7c, 0x8b, 0x08),
    A38("vmaskmovps256 load", X_VXM, P66, 1, 0x2c), A38("vmaskmovpd store", X_VXM, P66, 0, 0x2f),
    FV("vpmaskmovq256 load", X_VXM, 2, 0, V38(P66, 1, 1), 0x8c), A38("vpmaskmovd256 store", X_VXM, P66, 1, 0x8e),
    A2("vpxor256", X_VXM, P66, 1, 0xef),
};

Test(soft_x86_ext_native, avx2_gather_maskmov)
{
    ext_require(host_avx2(), "AVX2");
    /* run_table's states get the index limit at data + 0x80 (see IDX_LIMIT) */
    setenv("EXT_INDEX_LIMIT", "1", 1);
    run_table(gather_forms, sizeof(gather_forms) / sizeof(gather_forms[0]), 0x1f83d9abfb41bd6bull, 0);
    unsetenv("EXT_INDEX_LIMIT");
}

/* ---- RDRAND/RDSEED, FSGSBASE, RDPID on the soft route ------------------------------------ */

Test(soft_x86_ext, rdrand_fsgsbase_rdpid)
{
    setenv("ANYHV_BACKEND", "soft", 1);
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    /* rdrand rax; setc cl; rdrand rdx; rdseed si (16-bit: keeps bits 63:16) */
    static const uint8_t rnd[] = { 0x48, 0x0f, 0xc7, 0xf0, 0x0f, 0x92, 0xc1, 0x48, 0x0f, 0xc7, 0xf2,
                                   0x66, 0x0f, 0xc7, 0xfe };
    hv_vcpu_write_register(g.vcpu, HV_X86_RSI, 0x1234567800000000ull);
    run_code(&g, rnd, sizeof(rnd), false);
    cr_assert_eq(xg_exit_reason(&g), (uint32_t)VMX_REASON_HLT);
    cr_assert_eq(xg_reg(&g, HV_X86_RCX) & 0xff, 1u, "RDRAND sets CF");
    cr_assert_neq(xg_reg(&g, HV_X86_RAX), xg_reg(&g, HV_X86_RDX), "two RDRANDs differ");
    cr_assert_eq(xg_reg(&g, HV_X86_RSI) >> 16, 0x123456780000ull, "RDSEED r16 keeps bits 63:16");
    /* wrfsbase rax; rdfsbase rdx; rdpid rcx */
    static const uint8_t fsgs[] = { 0xf3, 0x48, 0x0f, 0xae, 0xd0, 0xf3, 0x48, 0x0f, 0xae, 0xc2, 0xf3, 0x0f, 0xc7, 0xf9 };
    hv_vcpu_write_register(g.vcpu, HV_X86_RAX, 0x00007fffdeadb000ull);
    run_code(&g, fsgs, sizeof(fsgs), false);
    cr_assert_eq(vector_of(&g), 6u, "WRFSBASE without CR4.FSGSBASE: #UD");
    cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_CR4, xg_read_vmcs(&g, VMCS_GUEST_CR4) | (1ull << 16)), 0);
    cr_assert_eq(hv_vcpu_write_msr(g.vcpu, 0xc0000103u, 0x5a5a), HV_SUCCESS);
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, XG_CODE);
    hv_vcpu_write_register(g.vcpu, HV_X86_RSP, XG_STACK_TOP);
    cr_assert_eq(hv_vcpu_run(g.vcpu), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), (uint32_t)VMX_REASON_HLT);
    cr_assert_eq(xg_reg(&g, HV_X86_RDX), 0x00007fffdeadb000ull, "RDFSBASE reads what WRFSBASE wrote");
    cr_assert_eq(xg_read_vmcs(&g, VMCS_GUEST_FS_BASE), 0x00007fffdeadb000ull, "FS.base");
    cr_assert_eq(xg_reg(&g, HV_X86_RCX), 0x5a5au, "RDPID = IA32_TSC_AUX");
    hv_vcpu_write_register(g.vcpu, HV_X86_RAX, 0x0100000000000000ull);   /* beyond 57 bits */
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, XG_CODE);
    hv_vcpu_write_register(g.vcpu, HV_X86_RSP, XG_STACK_TOP);
    cr_assert_eq(hv_vcpu_run(g.vcpu), HV_SUCCESS);
    cr_assert_eq(vector_of(&g), 13u, "WRFSBASE of a non-canonical base: #GP");
    xg_destroy(&g);
}
