/* test_x87.c - x87 edges on every backend: the vectors of vectors_x87.inc at CPL3
 * (stack overflow and underflow, masked and unmasked IE, #MF at the next waiting
 * instruction, FISTTP against FISTP, FCOMI/FUCOMI on unordered operands, FXAM,
 * FPREM's quotient bits), also run natively where the host can so the table itself is
 * checked; CR0.TS/MP/EM and the #NM rules; and the FNSAVE/FRSTOR images in 32-bit
 * protected mode and real mode with both operand sizes, their fields derived from
 * the SDM layouts and the addresses the test chose. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "native_x86.h"
#include "support/backend.h"
#include "x86_guest.h"

#define HLT_BYTE 0xf4
#define GP_VECTOR 13
#define NM_VECTOR 7
#define MF_VECTOR 16
#define FX_SIZE 512
#define FX_FCW 0
#define FX_FSW 2
#define FX_FTW 4
#define FX_ST0 32
#define FSW_TOP_SHIFT 11
#define VECTOR_AREA 0x100000u
#define VECTOR_STRIDE 128u
#define CR0_MP 0x2ull
#define CR0_EM 0x4ull
#define CR0_TS 0x8ull

struct v87 {
    const char *code;
    unsigned len;
    uint16_t ax;
    uint64_t rcx, rdx;
    uint16_t st0_se;
    uint64_t st0_m;
    uint64_t flags_mask, flags_out;
    int exc;
    unsigned line;
};

#define V87(code, ax, c, d, se, m, fm, fo, ex) { code, sizeof(code) - 1, ax, c, d, se, m, fm, fo, ex, __LINE__ },
static const struct v87 vectors[] = {
#include "vectors_x87.inc"
};
#undef V87

/* Length of the last instruction of a #MF vector (where the fault is taken). */
static unsigned last_insn_len(const struct v87 *v)
{
    return (unsigned char)v->code[v->len - 1] == 0x9b ? 1u : 2u;   /* FWAIT or a two-byte x87 op */
}

static uint16_t get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* Run code at CPL3 ending in HLT (#GP there); returns the vector whose handler ran
 * and the RIP it stacked. */
static int run_cpl3(struct xg *g, uint64_t code, const char *bytes, unsigned len, uint64_t *stacked)
{
    memcpy(g->ram + code, bytes, len);
    g->ram[code + len] = HLT_BYTE;
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, code);
    hv_vcpu_write_register(g->vcpu, HV_X86_RSP, XG_STACK_TOP);
    hv_vcpu_write_register(g->vcpu, HV_X86_RBX, XG_DATA);
    hv_vcpu_write_register(g->vcpu, HV_X86_RAX, 0);
    hv_vcpu_write_register(g->vcpu, HV_X86_RCX, 0);
    hv_vcpu_write_register(g->vcpu, HV_X86_RDX, 0);
    hv_vcpu_write_register(g->vcpu, HV_X86_RFLAGS, 0x2);
    cr_assert_eq(hv_vcpu_run(g->vcpu), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(g), VMX_REASON_HLT, "exit reason %u, wanted HLT in a handler", xg_exit_reason(g));
    uint64_t rip = xg_reg(g, HV_X86_RIP), sp = xg_reg(g, HV_X86_RSP);
    int vec = (int)((rip - XG_STUBS) / XG_STUB_SIZE);
    unsigned slot = vec == GP_VECTOR ? 8 : 0;   /* #GP stacks an error code first */
    *stacked = 0;
    if (sp + slot + 8 <= XG_RAM_SIZE)
        memcpy(stacked, g->ram + sp + slot, 8);
    return vec;
}

static void check_vector(struct xg *g, const struct v87 *v, unsigned index)
{
    uint64_t code = VECTOR_AREA + (uint64_t)index * VECTOR_STRIDE, stacked;
    cr_assert(v->len + 1 <= VECTOR_STRIDE);
    int vec = run_cpl3(g, code, v->code, v->len, &stacked);
    int want_vec = v->exc >= 0 ? v->exc : GP_VECTOR;
    uint64_t want_rip = v->exc >= 0 ? code + v->len - last_insn_len(v) : code + v->len;
    cr_expect_eq(vec, want_vec, "line %u: ended in the handler of vector %d, wanted %d", v->line, vec, want_vec);
    cr_expect_eq(stacked, want_rip, "line %u: stacked RIP %#llx, wanted %#llx", v->line,
                 (unsigned long long)stacked, (unsigned long long)want_rip);
    cr_expect_eq(xg_reg(g, HV_X86_RAX) & 0xffff, v->ax, "line %u: FSW (ax) %#llx, wanted %#x", v->line,
                 (unsigned long long)(xg_reg(g, HV_X86_RAX) & 0xffff), v->ax);
    cr_expect_eq(xg_reg(g, HV_X86_RCX), v->rcx, "line %u: rcx %#llx", v->line, (unsigned long long)xg_reg(g, HV_X86_RCX));
    cr_expect_eq(xg_reg(g, HV_X86_RDX), v->rdx, "line %u: rdx %#llx", v->line, (unsigned long long)xg_reg(g, HV_X86_RDX));
    cr_expect_eq(xg_reg(g, HV_X86_RFLAGS) & v->flags_mask, v->flags_out, "line %u: rflags %#llx", v->line,
                 (unsigned long long)xg_reg(g, HV_X86_RFLAGS));
    uint8_t fx[FX_SIZE];
    cr_assert_eq(hv_vcpu_read_fpstate(g->vcpu, fx, sizeof(fx)), HV_SUCCESS);
    unsigned top = (get16(fx + FX_FSW) >> FSW_TOP_SHIFT) & 7;
    if (v->exc < 0 && (fx[FX_FTW] & (1u << top))) {
        uint64_t m;
        memcpy(&m, fx + FX_ST0, 8);
        cr_expect(get16(fx + FX_ST0 + 8) == v->st0_se && m == v->st0_m, "line %u: st0 %04x:%016llx, wanted %04x:%016llx",
                  v->line, get16(fx + FX_ST0 + 8), (unsigned long long)m, v->st0_se, (unsigned long long)v->st0_m);
    }
}

Test(soft_x86_x87, vectors)
{
    test_require_backend();
    struct xg g;
    cr_assert_eq(xg_create(&g), 0, "VM setup");
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        cr_assert_eq(xg_long_mode_cpl(&g, 3), 0);   /* the last handler left CPL 0 */
        check_vector(&g, &vectors[i], (unsigned)i);
    }
    xg_destroy(&g);
}

/* The table against the host processor itself. */
Test(soft_x86_x87, vectors_match_the_host)
{
    const char *why;
    if (!native_x86_available(&why))
        cr_skip_test("%s", why);
    static uint8_t scratch[256];
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const struct v87 *v = &vectors[i];
        struct native_x86_state s;
        memset(&s, 0, sizeof(s));
        native_x86_default_fpu(&s);
        s.gpr[3] = (uint64_t)(uintptr_t)scratch;
        s.rflags = 0x2;
        struct native_x86_result r;
        cr_assert_eq(native_x86_run((const uint8_t *)v->code, v->len, &s, &r), 0);
        if (v->exc >= 0) {
            cr_expect(r.signo != 0 && r.trapno == v->exc && r.fault_offset == v->len - last_insn_len(v),
                      "line %u: host signal %d trap %d at +%llu", v->line, r.signo, r.trapno,
                      (unsigned long long)r.fault_offset);
        } else {
            cr_expect_eq(r.signo, 0, "line %u: host signal %d", v->line, r.signo);
        }
        cr_expect_eq(s.gpr[0] & 0xffff, v->ax, "line %u: host FSW %#llx", v->line, (unsigned long long)(s.gpr[0] & 0xffff));
        cr_expect_eq(s.gpr[1], v->rcx, "line %u: host rcx %#llx", v->line, (unsigned long long)s.gpr[1]);
        cr_expect_eq(s.gpr[2], v->rdx, "line %u: host rdx %#llx", v->line, (unsigned long long)s.gpr[2]);
        cr_expect_eq(s.rflags & v->flags_mask, v->flags_out, "line %u: host rflags %#llx", v->line,
                     (unsigned long long)s.rflags);
    }
}

/* CR0.TS: #NM on any x87 instruction; FWAIT only with MP too. CR0.EM: #NM on x87
 * instructions, FWAIT unaffected. */
static void cr0_case(struct xg *g, uint64_t set, const char *code, unsigned len, int want, unsigned index)
{
    cr_assert_eq(xg_long_mode_cpl(g, 3), 0);
    uint64_t cr0 = xg_read_vmcs(g, VMCS_GUEST_CR0) | set;
    cr_assert_eq(xg_vmcs(g, VMCS_GUEST_CR0, cr0), 0);
    cr_assert_eq(xg_vmcs(g, VMCS_CTRL_CR0_SHADOW, cr0), 0);
    uint64_t at = VECTOR_AREA + 0x10000u + (uint64_t)index * VECTOR_STRIDE, stacked;
    int vec = run_cpl3(g, at, code, len, &stacked);
    cr_expect_eq(vec, want, "CR0 |= %#llx, code %02x: vector %d, wanted %d", (unsigned long long)set,
                 (unsigned char)code[0], vec, want);
    cr_expect_eq(stacked, want == GP_VECTOR ? at + len : at, "stacked RIP %#llx", (unsigned long long)stacked);
}

Test(soft_x86_x87, cr0_nm_rules)
{
    const char *be = getenv("ANYHV_BACKEND");
    if (be && strcmp(be, "kvm") == 0 && !xg_host_hw_virt())
        cr_skip_test("this host's KVM is paravirtual (PVM): CPL3 x87 code runs on the host FPU, "
                     "guest CR0.TS/EM are not applied (docs/differences.md)");
    test_require_backend();
    struct xg g;
    cr_assert_eq(xg_create(&g), 0, "VM setup");
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    cr0_case(&g, CR0_TS, "\xd9\xe8", 2, NM_VECTOR, 0);             /* fld1 with TS */
    cr0_case(&g, CR0_TS, "\xdf\xe0", 2, NM_VECTOR, 1);             /* fnstsw ax with TS: no-wait forms too */
    cr0_case(&g, CR0_TS, "\x9b", 1, GP_VECTOR, 2);                 /* fwait with TS, MP clear: runs */
    cr0_case(&g, CR0_TS | CR0_MP, "\x9b", 1, NM_VECTOR, 3);        /* fwait with TS and MP */
    cr0_case(&g, CR0_EM, "\xd9\xe8", 2, NM_VECTOR, 4);             /* fld1 with EM */
    cr0_case(&g, CR0_EM, "\x9b", 1, GP_VECTOR, 5);                 /* fwait ignores EM */
    cr0_case(&g, 0, "\xd9\xe8", 2, GP_VECTOR, 6);                  /* and without either it runs */
    xg_destroy(&g);
}

/* With CR0.NE clear the soft CPU leaves the exception pending (no FERR#/IRQ 13 model):
 * the waiting instruction runs. The hardware would raise IRQ 13 externally instead,
 * so this is the soft route's documented behaviour, not checked on KVM. */
Test(soft_x86_x87, ne_clear_no_mf)
{
    const char *be = getenv("ANYHV_BACKEND");
    if (be && strcmp(be, "kvm") == 0)
        cr_skip_test("CR0.NE=0 reports through FERR#/IRQ 13 on hardware: soft-route behaviour only");
    test_require_backend();
    struct xg g;
    cr_assert_eq(xg_create(&g), 0, "VM setup");
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    cr_assert_eq(xg_long_mode_cpl(&g, 3), 0);
    uint64_t cr0 = xg_read_vmcs(&g, VMCS_GUEST_CR0) & ~(uint64_t)XG_CR0_NE;
    cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_CR0, cr0), 0);
    static const char code[] = "\xdb\xe3\x66\xc7\x03\x7e\x03\xd9\x2b\xd8\xc1\x9b\xdf\xe0";
    uint64_t stacked;
    int vec = run_cpl3(&g, VECTOR_AREA, code, sizeof(code) - 1, &stacked);
    cr_expect_eq(vec, GP_VECTOR, "NE=0: vector %d, wanted the run to reach HLT", vec);
    cr_expect_eq(xg_reg(&g, HV_X86_RAX) & 0xffff, 0x80c1, "the exception stays pending in FSW");
    xg_destroy(&g);
}

/* ---- FNSAVE/FRSTOR images in 16/32-bit modes ---- */

#define IMG_CODE_OFF 0u               /* code at CS:0 (real) or XG_CODE (protected) */
#define IMG_FADD_OFF 6u               /* fninit; fld1; fldpi; then fadd dword [bx/ebx+0x10] */
#define IMG_DATA_DISP 0x10u
#define IMG_SAVE_DISP 0x40u
#define IMG_REAL_SEG 0x100u
#define IMG_REAL_BX 0x200u
#define IMG_PROT_EBX 0x2000u
#define F32_ONE 0x3f800000u
#define ONE_SE 0x3fff
#define ONE_M 0x8000000000000000ull

struct image_want {
    uint32_t fip, fdp;                /* offsets (protected) or linear addresses (real) */
    uint16_t fcs, fds, fop;
};

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The environment part of an image, field by field as the SDM lays it out. */
static void check_env(const uint8_t *img, bool real, bool o16, const struct image_want *w)
{
    unsigned step = o16 ? 2 : 4;
    uint16_t fsw = get16(img + step);
    cr_expect_eq(get16(img), 0x37f, "FCW %#x", get16(img));
    cr_expect_eq(fsw & 0x3800, 0x3000, "FSW.TOP: fsw %#x", fsw);
    cr_expect_eq(fsw & 0x3f, 0x20, "FSW flags: PE only, fsw %#x", fsw);
    cr_expect_eq(get16(img + 2 * step), 0x0fff, "tag word %#x: ST0, ST1 valid, the rest empty", get16(img + 2 * step));
    if (o16 && !real) {
        cr_expect_eq(get16(img + 6), w->fip & 0xffff, "FIP");
        cr_expect_eq(get16(img + 8), w->fcs, "FCS");
        cr_expect_eq(get16(img + 10), w->fdp & 0xffff, "FDP");
        cr_expect_eq(get16(img + 12), w->fds, "FDS");
    } else if (o16) {
        cr_expect_eq(get16(img + 6), w->fip & 0xffff, "FIP 15:0");
        cr_expect_eq(get16(img + 8), w->fop | (((w->fip >> 16) & 0xf) << 12), "FOP, FIP 19:16: %#x", get16(img + 8));
        cr_expect_eq(get16(img + 10), w->fdp & 0xffff, "FDP 15:0");
        cr_expect_eq(get16(img + 12), ((w->fdp >> 16) & 0xf) << 12, "FDP 19:16");
    } else if (!real) {
        cr_expect_eq(get32(img + 12), w->fip, "FIP %#x", get32(img + 12));
        cr_expect_eq(get16(img + 16), w->fcs, "FCS");
        cr_expect_eq(get16(img + 18), w->fop, "FOP %#x", get16(img + 18));
        cr_expect_eq(get32(img + 20), w->fdp, "FDP %#x", get32(img + 20));
        cr_expect_eq(get16(img + 24), w->fds, "FDS");
    } else {
        cr_expect_eq(get16(img + 12), w->fip & 0xffff, "FIP 15:0");
        cr_expect_eq(get32(img + 16), w->fop | ((w->fip >> 16) << 12), "FOP, FIP 31:16: %#x", get32(img + 16));
        cr_expect_eq(get16(img + 20), w->fdp & 0xffff, "FDP 15:0");
        cr_expect_eq(get32(img + 24), (w->fdp >> 16) << 12, "FDP 31:16");
    }
}

static void image_case(bool real, bool o16)
{
    struct xg g;
    cr_assert_eq(xg_create(&g), 0, "VM setup");
    bool code16 = real;
    cr_assert_eq(real ? xg_real_mode(&g, IMG_REAL_SEG, IMG_CODE_OFF) : xg_protected32(&g), 0);
    uint64_t cs_base = real ? (uint64_t)IMG_REAL_SEG << 4 : 0, ip0 = real ? IMG_CODE_OFF : XG_CODE;
    uint64_t data_off = real ? IMG_REAL_BX : IMG_PROT_EBX, ds_base = cs_base;
    uint8_t modrm_fadd = code16 ? 0x47 : 0x43, modrm_save = code16 ? 0x77 : 0x73, modrm_rstor = code16 ? 0x67 : 0x63;
    uint8_t code[32];
    unsigned n = 0;
    const uint8_t head[] = { 0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xeb, 0xd8, modrm_fadd, IMG_DATA_DISP };
    memcpy(code, head, sizeof(head));
    n = sizeof(head);
    if (o16 != code16)
        code[n++] = 0x66;
    code[n++] = 0xdd;
    code[n++] = modrm_save;
    code[n++] = IMG_SAVE_DISP;
    code[n++] = HLT_BYTE;
    memcpy(g.ram + cs_base + ip0, code, n);
    uint32_t one = F32_ONE;
    memcpy(g.ram + ds_base + data_off + IMG_DATA_DISP, &one, 4);
    hv_vcpu_write_register(g.vcpu, HV_X86_RBX, data_off);
    cr_assert_eq(hv_vcpu_run(g.vcpu), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_HLT, "exit %u", xg_exit_reason(&g));
    const uint8_t *img = g.ram + ds_base + data_off + IMG_SAVE_DISP;
    struct image_want w = {
        .fip = (uint32_t)(ip0 + IMG_FADD_OFF + (real ? cs_base : 0)),
        .fdp = (uint32_t)(data_off + IMG_DATA_DISP + (real ? ds_base : 0)),
        .fcs = real ? 0 : XG_SEL_KCODE, .fds = real ? 0 : XG_SEL_KDATA,
        .fop = (uint16_t)((0xd8 & 7) << 8 | modrm_fadd),
    };
    check_env(img, real, o16, &w);
    unsigned env = o16 ? 14 : 28;
    uint64_t m;
    memcpy(&m, img + env + 10, 8);
    cr_expect(get16(img + env + 18) == ONE_SE && m == ONE_M, "ST1 in the image: %04x:%016llx, wanted 1.0",
              get16(img + env + 18), (unsigned long long)m);
    cr_expect_eq(get16(img + env + 8), 0x4001, "ST0 = pi + 1: exponent %#x", get16(img + env + 8));
    uint8_t fx[FX_SIZE];
    hv_vcpu_read_fpstate(g.vcpu, fx, sizeof(fx));
    cr_expect(get16(fx + FX_FCW) == 0x37f && get16(fx + FX_FSW) == 0 && fx[FX_FTW] == 0, "FNSAVE reinitializes");
    /* FRSTOR the image back and look at the state it gives. */
    uint8_t back[8];
    unsigned k = 0;
    if (o16 != code16)
        back[k++] = 0x66;
    back[k++] = 0xdd;
    back[k++] = modrm_rstor;
    back[k++] = IMG_SAVE_DISP;
    back[k++] = HLT_BYTE;
    memcpy(g.ram + cs_base + ip0 + 0x100, back, k);
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, ip0 + 0x100);
    cr_assert_eq(hv_vcpu_run(g.vcpu), HV_SUCCESS);
    hv_vcpu_read_fpstate(g.vcpu, fx, sizeof(fx));
    cr_expect_eq(get16(fx + FX_FSW), get16(img + (o16 ? 2 : 4)), "FRSTOR: FSW %#x", get16(fx + FX_FSW));
    cr_expect_eq(fx[FX_FTW], 0xc0, "FRSTOR: abridged tags %#x", fx[FX_FTW]);
    memcpy(&m, fx + FX_ST0 + 16, 8);
    cr_expect(get16(fx + FX_ST0 + 24) == ONE_SE && m == ONE_M, "FRSTOR: ST1 = 1.0");
    xg_destroy(&g);
}

static void require_mode_switches(void)
{
    const char *be = getenv("ANYHV_BACKEND");
    if (be && strcmp(be, "kvm") == 0 && !xg_host_hw_virt())
        cr_skip_test("this host's KVM is paravirtual (no VT-x/SVM): no CPL0 16/32-bit guests there");
    test_require_backend();
}

Test(soft_x86_x87, fnsave_protected32)
{
    require_mode_switches();
    image_case(false, false);
}

Test(soft_x86_x87, fnsave_protected32_o16)
{
    require_mode_switches();
    image_case(false, true);
}

Test(soft_x86_x87, fnsave_real16)
{
    require_mode_switches();
    image_case(true, true);
}

Test(soft_x86_x87, fnsave_real16_o32)
{
    require_mode_switches();
    image_case(true, false);
}
