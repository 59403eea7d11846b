/* gdb_x86.c - the Intel flavour's registers for the gdb stub: gdb's x86-64 core, SSE
 * and segment-base features (names as gdb's amd64 target validates them), and an
 * anyhv feature with the control, descriptor-table and debug registers and EFER. One
 * table drives the target description and every register access; the x87/SSE
 * registers come from the vCPU's FXSAVE image (hv_vcpu_read_fpstate). A vCPU outside
 * long mode (real or protected mode, EFER.LMA clear) when gdb connects is described as
 * an i386 instead: gdb's 32-bit core (eax..edi, eip, eflags, segments, x87), xmm0-7
 * and 32-bit segment bases, so gdb shows 32-bit registers and disassembles 32-bit code.
 * gdb reads the description once per connection: a guest that changes mode later
 * keeps the one gdb got until gdb connects again (docs/gdb.md). */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include <string.h>

#include "gdb.h"

#define FX_IMAGE_BYTES 512u
#define FX_FCW 0u
#define FX_FSW 2u
#define FX_FTW 4u
#define FX_FOP 6u
#define FX_FIP 8u
#define FX_FDP 16u
#define FX_MXCSR 24u
#define FX_ST0 32u
#define FX_ST_STRIDE 16u
#define FX_XMM0 160u
#define FX_XMM_STRIDE 16u
#define X87_REG_BYTES 10u
#define X87_TAG_EMPTY 3u
#define MSR_EFER 0xc0000080u
#define MSR_FS_BASE 0xc0000100u
#define MSR_GS_BASE 0xc0000101u
#define EFER_LMA 0x400ull

enum feat { F_CORE, F_SSE, F_SEGMENTS, F_SYS };

static const struct gdb_feature features[] = {
    [F_CORE] = { "org.gnu.gdb.i386.core", "" },
    [F_SSE] = { "org.gnu.gdb.i386.sse",
                "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
                "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
                "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
                "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
                "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
                "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
                "<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/><field name=\"v2_double\" type=\"v2d\"/>"
                "<field name=\"v16_int8\" type=\"v16i8\"/><field name=\"v8_int16\" type=\"v8i16\"/>"
                "<field name=\"v4_int32\" type=\"v4i32\"/><field name=\"v2_int64\" type=\"v2i64\"/>"
                "<field name=\"uint128\" type=\"uint128\"/></union>" },
    [F_SEGMENTS] = { "org.gnu.gdb.i386.segments", "" },
    [F_SYS] = { "org.anyhv.x86.system", "" },
};

/* Where a register lives: an hv_x86_reg_t, a slice of the FXSAVE image, or an MSR. */
enum src { S_REG, S_FX, S_FTAG, S_MSR };
struct reg_src {
    enum src src;
    uint32_t id;     /* hv_x86_reg_t, FXSAVE offset, or MSR */
};

#define GPR(n, id, t) { n, 64, t, F_CORE }
static const struct gdb_reg regs[] = {
    GPR("rax", HV_X86_RAX, "int64"), GPR("rbx", HV_X86_RBX, "int64"), GPR("rcx", HV_X86_RCX, "int64"),
    GPR("rdx", HV_X86_RDX, "int64"), GPR("rsi", HV_X86_RSI, "int64"), GPR("rdi", HV_X86_RDI, "int64"),
    GPR("rbp", HV_X86_RBP, "data_ptr"), GPR("rsp", HV_X86_RSP, "data_ptr"), GPR("r8", HV_X86_R8, "int64"),
    GPR("r9", HV_X86_R9, "int64"), GPR("r10", HV_X86_R10, "int64"), GPR("r11", HV_X86_R11, "int64"),
    GPR("r12", HV_X86_R12, "int64"), GPR("r13", HV_X86_R13, "int64"), GPR("r14", HV_X86_R14, "int64"),
    GPR("r15", HV_X86_R15, "int64"), GPR("rip", HV_X86_RIP, "code_ptr"),
    { "eflags", 32, "int32", F_CORE }, { "cs", 32, "int32", F_CORE }, { "ss", 32, "int32", F_CORE },
    { "ds", 32, "int32", F_CORE }, { "es", 32, "int32", F_CORE }, { "fs", 32, "int32", F_CORE },
    { "gs", 32, "int32", F_CORE },
    { "st0", 80, "i387_ext", F_CORE }, { "st1", 80, "i387_ext", F_CORE }, { "st2", 80, "i387_ext", F_CORE },
    { "st3", 80, "i387_ext", F_CORE }, { "st4", 80, "i387_ext", F_CORE }, { "st5", 80, "i387_ext", F_CORE },
    { "st6", 80, "i387_ext", F_CORE }, { "st7", 80, "i387_ext", F_CORE },
    { "fctrl", 32, "int", F_CORE }, { "fstat", 32, "int", F_CORE }, { "ftag", 32, "int", F_CORE },
    { "fiseg", 32, "int", F_CORE }, { "fioff", 32, "int", F_CORE }, { "foseg", 32, "int", F_CORE },
    { "fooff", 32, "int", F_CORE }, { "fop", 32, "int", F_CORE },
    { "xmm0", 128, "vec128", F_SSE }, { "xmm1", 128, "vec128", F_SSE }, { "xmm2", 128, "vec128", F_SSE },
    { "xmm3", 128, "vec128", F_SSE }, { "xmm4", 128, "vec128", F_SSE }, { "xmm5", 128, "vec128", F_SSE },
    { "xmm6", 128, "vec128", F_SSE }, { "xmm7", 128, "vec128", F_SSE }, { "xmm8", 128, "vec128", F_SSE },
    { "xmm9", 128, "vec128", F_SSE }, { "xmm10", 128, "vec128", F_SSE }, { "xmm11", 128, "vec128", F_SSE },
    { "xmm12", 128, "vec128", F_SSE }, { "xmm13", 128, "vec128", F_SSE }, { "xmm14", 128, "vec128", F_SSE },
    { "xmm15", 128, "vec128", F_SSE }, { "mxcsr", 32, "int", F_SSE },
    { "fs_base", 64, "int", F_SEGMENTS }, { "gs_base", 64, "int", F_SEGMENTS },
    { "cr0", 64, "int", F_SYS }, { "cr2", 64, "int", F_SYS }, { "cr3", 64, "int", F_SYS },
    { "cr4", 64, "int", F_SYS }, { "efer", 64, "int", F_SYS }, { "gdtr_base", 64, "int", F_SYS },
    { "gdtr_limit", 32, "int", F_SYS }, { "idtr_base", 64, "int", F_SYS }, { "idtr_limit", 32, "int", F_SYS },
    { "tr", 32, "int", F_SYS }, { "ldtr", 32, "int", F_SYS }, { "dr0", 64, "int", F_SYS },
    { "dr1", 64, "int", F_SYS }, { "dr2", 64, "int", F_SYS }, { "dr3", 64, "int", F_SYS },
    { "dr6", 64, "int", F_SYS }, { "dr7", 64, "int", F_SYS }, { "xcr0", 64, "int", F_SYS },
};
#define NREGS (sizeof(regs) / sizeof(regs[0]))

/* Same order as regs[]. */
static const struct reg_src srcs[NREGS] = {
    { S_REG, HV_X86_RAX }, { S_REG, HV_X86_RBX }, { S_REG, HV_X86_RCX }, { S_REG, HV_X86_RDX },
    { S_REG, HV_X86_RSI }, { S_REG, HV_X86_RDI }, { S_REG, HV_X86_RBP }, { S_REG, HV_X86_RSP },
    { S_REG, HV_X86_R8 }, { S_REG, HV_X86_R9 }, { S_REG, HV_X86_R10 }, { S_REG, HV_X86_R11 },
    { S_REG, HV_X86_R12 }, { S_REG, HV_X86_R13 }, { S_REG, HV_X86_R14 }, { S_REG, HV_X86_R15 },
    { S_REG, HV_X86_RIP }, { S_REG, HV_X86_RFLAGS }, { S_REG, HV_X86_CS }, { S_REG, HV_X86_SS },
    { S_REG, HV_X86_DS }, { S_REG, HV_X86_ES }, { S_REG, HV_X86_FS }, { S_REG, HV_X86_GS },
    { S_FX, FX_ST0 + 0 * FX_ST_STRIDE }, { S_FX, FX_ST0 + 1 * FX_ST_STRIDE }, { S_FX, FX_ST0 + 2 * FX_ST_STRIDE },
    { S_FX, FX_ST0 + 3 * FX_ST_STRIDE }, { S_FX, FX_ST0 + 4 * FX_ST_STRIDE }, { S_FX, FX_ST0 + 5 * FX_ST_STRIDE },
    { S_FX, FX_ST0 + 6 * FX_ST_STRIDE }, { S_FX, FX_ST0 + 7 * FX_ST_STRIDE },
    { S_FX, FX_FCW }, { S_FX, FX_FSW }, { S_FTAG, FX_FTW }, { S_FX, UINT32_MAX }, { S_FX, FX_FIP },
    { S_FX, UINT32_MAX }, { S_FX, FX_FDP }, { S_FX, FX_FOP },
    { S_FX, FX_XMM0 + 0 * FX_XMM_STRIDE }, { S_FX, FX_XMM0 + 1 * FX_XMM_STRIDE }, { S_FX, FX_XMM0 + 2 * FX_XMM_STRIDE },
    { S_FX, FX_XMM0 + 3 * FX_XMM_STRIDE }, { S_FX, FX_XMM0 + 4 * FX_XMM_STRIDE }, { S_FX, FX_XMM0 + 5 * FX_XMM_STRIDE },
    { S_FX, FX_XMM0 + 6 * FX_XMM_STRIDE }, { S_FX, FX_XMM0 + 7 * FX_XMM_STRIDE }, { S_FX, FX_XMM0 + 8 * FX_XMM_STRIDE },
    { S_FX, FX_XMM0 + 9 * FX_XMM_STRIDE }, { S_FX, FX_XMM0 + 10 * FX_XMM_STRIDE },
    { S_FX, FX_XMM0 + 11 * FX_XMM_STRIDE }, { S_FX, FX_XMM0 + 12 * FX_XMM_STRIDE },
    { S_FX, FX_XMM0 + 13 * FX_XMM_STRIDE }, { S_FX, FX_XMM0 + 14 * FX_XMM_STRIDE },
    { S_FX, FX_XMM0 + 15 * FX_XMM_STRIDE }, { S_FX, FX_MXCSR },
    { S_MSR, MSR_FS_BASE }, { S_MSR, MSR_GS_BASE },
    { S_REG, HV_X86_CR0 }, { S_REG, HV_X86_CR2 }, { S_REG, HV_X86_CR3 }, { S_REG, HV_X86_CR4 },
    { S_MSR, MSR_EFER }, { S_REG, HV_X86_GDT_BASE }, { S_REG, HV_X86_GDT_LIMIT }, { S_REG, HV_X86_IDT_BASE },
    { S_REG, HV_X86_IDT_LIMIT }, { S_REG, HV_X86_TR }, { S_REG, HV_X86_LDTR }, { S_REG, HV_X86_DR0 },
    { S_REG, HV_X86_DR1 }, { S_REG, HV_X86_DR2 }, { S_REG, HV_X86_DR3 }, { S_REG, HV_X86_DR6 },
    { S_REG, HV_X86_DR7 }, { S_REG, HV_X86_XCR0 },
};

/* The i386 description: gdb's 32-bit core and SSE register order, 32-bit segment
 * bases, then the same system feature. */
#define R32(n) { n, 32, "int32", F_CORE }
#define ST(n) { n, 80, "i387_ext", F_CORE }
#define X87(n) { n, 32, "int", F_CORE }
#define XMM(n) { n, 128, "vec128", F_SSE }
static const struct gdb_reg regs32[] = {
    R32("eax"), R32("ecx"), R32("edx"), R32("ebx"), { "esp", 32, "data_ptr", F_CORE },
    { "ebp", 32, "data_ptr", F_CORE }, R32("esi"), R32("edi"), { "eip", 32, "code_ptr", F_CORE },
    R32("eflags"), R32("cs"), R32("ss"), R32("ds"), R32("es"), R32("fs"), R32("gs"),
    ST("st0"), ST("st1"), ST("st2"), ST("st3"), ST("st4"), ST("st5"), ST("st6"), ST("st7"),
    X87("fctrl"), X87("fstat"), X87("ftag"), X87("fiseg"), X87("fioff"), X87("foseg"), X87("fooff"), X87("fop"),
    XMM("xmm0"), XMM("xmm1"), XMM("xmm2"), XMM("xmm3"), XMM("xmm4"), XMM("xmm5"), XMM("xmm6"), XMM("xmm7"),
    { "mxcsr", 32, "int", F_SSE },
    { "cr0", 64, "int", F_SYS }, { "cr2", 64, "int", F_SYS }, { "cr3", 64, "int", F_SYS },
    { "cr4", 64, "int", F_SYS }, { "efer", 64, "int", F_SYS }, { "gdtr_base", 64, "int", F_SYS },
    { "gdtr_limit", 32, "int", F_SYS }, { "idtr_base", 64, "int", F_SYS }, { "idtr_limit", 32, "int", F_SYS },
    { "tr", 32, "int", F_SYS }, { "ldtr", 32, "int", F_SYS }, { "dr0", 64, "int", F_SYS },
    { "dr1", 64, "int", F_SYS }, { "dr2", 64, "int", F_SYS }, { "dr3", 64, "int", F_SYS },
    { "dr6", 64, "int", F_SYS }, { "dr7", 64, "int", F_SYS }, { "xcr0", 64, "int", F_SYS },
};
#define NREGS32 (sizeof(regs32) / sizeof(regs32[0]))

/* Same order as regs32[]. */
static const struct reg_src srcs32[NREGS32] = {
    { S_REG, HV_X86_RAX }, { S_REG, HV_X86_RCX }, { S_REG, HV_X86_RDX }, { S_REG, HV_X86_RBX },
    { S_REG, HV_X86_RSP }, { S_REG, HV_X86_RBP }, { S_REG, HV_X86_RSI }, { S_REG, HV_X86_RDI },
    { S_REG, HV_X86_RIP }, { S_REG, HV_X86_RFLAGS }, { S_REG, HV_X86_CS }, { S_REG, HV_X86_SS },
    { S_REG, HV_X86_DS }, { S_REG, HV_X86_ES }, { S_REG, HV_X86_FS }, { S_REG, HV_X86_GS },
    { S_FX, FX_ST0 + 0 * FX_ST_STRIDE }, { S_FX, FX_ST0 + 1 * FX_ST_STRIDE }, { S_FX, FX_ST0 + 2 * FX_ST_STRIDE },
    { S_FX, FX_ST0 + 3 * FX_ST_STRIDE }, { S_FX, FX_ST0 + 4 * FX_ST_STRIDE }, { S_FX, FX_ST0 + 5 * FX_ST_STRIDE },
    { S_FX, FX_ST0 + 6 * FX_ST_STRIDE }, { S_FX, FX_ST0 + 7 * FX_ST_STRIDE },
    { S_FX, FX_FCW }, { S_FX, FX_FSW }, { S_FTAG, FX_FTW }, { S_FX, UINT32_MAX }, { S_FX, FX_FIP },
    { S_FX, UINT32_MAX }, { S_FX, FX_FDP }, { S_FX, FX_FOP },
    { S_FX, FX_XMM0 + 0 * FX_XMM_STRIDE }, { S_FX, FX_XMM0 + 1 * FX_XMM_STRIDE }, { S_FX, FX_XMM0 + 2 * FX_XMM_STRIDE },
    { S_FX, FX_XMM0 + 3 * FX_XMM_STRIDE }, { S_FX, FX_XMM0 + 4 * FX_XMM_STRIDE }, { S_FX, FX_XMM0 + 5 * FX_XMM_STRIDE },
    { S_FX, FX_XMM0 + 6 * FX_XMM_STRIDE }, { S_FX, FX_XMM0 + 7 * FX_XMM_STRIDE }, { S_FX, FX_MXCSR },
    { S_REG, HV_X86_CR0 }, { S_REG, HV_X86_CR2 }, { S_REG, HV_X86_CR3 }, { S_REG, HV_X86_CR4 },
    { S_MSR, MSR_EFER }, { S_REG, HV_X86_GDT_BASE }, { S_REG, HV_X86_GDT_LIMIT }, { S_REG, HV_X86_IDT_BASE },
    { S_REG, HV_X86_IDT_LIMIT }, { S_REG, HV_X86_TR }, { S_REG, HV_X86_LDTR }, { S_REG, HV_X86_DR0 },
    { S_REG, HV_X86_DR1 }, { S_REG, HV_X86_DR2 }, { S_REG, HV_X86_DR3 }, { S_REG, HV_X86_DR6 },
    { S_REG, HV_X86_DR7 }, { S_REG, HV_X86_XCR0 },
};

/* FS/GS bases: the segment registers' hidden bases, which is what the MSRs read. */
static bool msr_read(hv_vcpuid_t v, uint32_t msr, uint64_t *out)
{
    if (msr == MSR_FS_BASE)
        return hv_vmx_vcpu_read_vmcs(v, VMCS_GUEST_FS_BASE, out) == HV_SUCCESS;
    if (msr == MSR_GS_BASE)
        return hv_vmx_vcpu_read_vmcs(v, VMCS_GUEST_GS_BASE, out) == HV_SUCCESS;
    return hv_vcpu_read_msr(v, msr, out) == HV_SUCCESS;
}

static bool msr_write(hv_vcpuid_t v, uint32_t msr, uint64_t val)
{
    if (msr == MSR_FS_BASE)
        return hv_vmx_vcpu_write_vmcs(v, VMCS_GUEST_FS_BASE, val) == HV_SUCCESS;
    if (msr == MSR_GS_BASE)
        return hv_vmx_vcpu_write_vmcs(v, VMCS_GUEST_GS_BASE, val) == HV_SUCCESS;
    return hv_vcpu_write_msr(v, msr, val) == HV_SUCCESS;
}

/* gdb's ftag is the full tag word; FXSAVE keeps one "valid" bit per register. Valid
 * registers are reported as valid (tag 0), the rest empty. */
static uint32_t full_tag(uint8_t abridged)
{
    uint32_t tag = 0;
    for (unsigned i = 0; i < 8; i++)
        tag |= ((abridged >> i) & 1u ? 0u : X87_TAG_EMPTY) << (2 * i);
    return tag;
}

static bool reg_read(const struct gdb_reg *r, const struct reg_src *s, uint64_t vcpu, uint8_t *out)
{
    hv_vcpuid_t v = (hv_vcpuid_t)vcpu;
    uint64_t val = 0;
    unsigned bytes = r->bits / 8;
    if (s->src == S_REG) {
        if (hv_vcpu_read_register(v, (hv_x86_reg_t)s->id, &val) != HV_SUCCESS)
            return false;
    } else if (s->src == S_MSR) {
        if (!msr_read(v, s->id, &val))
            return false;
    } else {
        uint8_t fx[FX_IMAGE_BYTES];
        if (hv_vcpu_read_fpstate(v, fx, sizeof(fx)) != HV_SUCCESS)
            return false;
        if (s->src == S_FTAG) {
            val = full_tag(fx[FX_FTW]);
        } else if (s->id == UINT32_MAX) {
            val = 0;   /* fiseg/foseg: not in the 64-bit FXSAVE image */
        } else if (bytes > 8) {
            memcpy(out, fx + s->id, bytes == X87_REG_BYTES ? X87_REG_BYTES : bytes);
            return true;
        } else {
            memcpy(&val, fx + s->id, s->id == FX_FCW || s->id == FX_FSW || s->id == FX_FOP ? 2 : 4);
        }
    }
    memcpy(out, &val, bytes);
    return true;
}

static bool reg_write(const struct gdb_reg *r, const struct reg_src *s, uint64_t vcpu, const uint8_t *in)
{
    hv_vcpuid_t v = (hv_vcpuid_t)vcpu;
    uint64_t val = 0;
    unsigned bytes = r->bits / 8;
    /* A 32-bit view of a 64-bit register (i386's eax): the upper half stays. */
    if (s->src == S_REG && bytes < 8 && hv_vcpu_read_register(v, (hv_x86_reg_t)s->id, &val) != HV_SUCCESS)
        return false;
    if (bytes <= 8)
        memcpy(&val, in, bytes);
    if (s->src == S_REG)
        return hv_vcpu_write_register(v, (hv_x86_reg_t)s->id, val) == HV_SUCCESS;
    if (s->src == S_MSR)
        return msr_write(v, s->id, val);
    if (s->src == S_FTAG || s->id == UINT32_MAX)
        return false;
    uint8_t fx[FX_IMAGE_BYTES];
    if (hv_vcpu_read_fpstate(v, fx, sizeof(fx)) != HV_SUCCESS)
        return false;
    if (bytes > 8)
        memcpy(fx + s->id, in, bytes);
    else
        memcpy(fx + s->id, &val, s->id == FX_FCW || s->id == FX_FSW || s->id == FX_FOP ? 2 : 4);
    return hv_vcpu_write_fpstate(v, fx, sizeof(fx)) == HV_SUCCESS;
}

static bool x86_reg_read(uint64_t vcpu, unsigned n, uint8_t *out)
{
    return reg_read(&regs[n], &srcs[n], vcpu, out);
}

static bool x86_reg_write(uint64_t vcpu, unsigned n, const uint8_t *in)
{
    return reg_write(&regs[n], &srcs[n], vcpu, in);
}

static bool i386_reg_read(uint64_t vcpu, unsigned n, uint8_t *out)
{
    return reg_read(&regs32[n], &srcs32[n], vcpu, out);
}

static bool i386_reg_write(uint64_t vcpu, unsigned n, const uint8_t *in)
{
    return reg_write(&regs32[n], &srcs32[n], vcpu, in);
}

static uint64_t x86_pc(uint64_t vcpu)
{
    uint64_t rip = 0, cs_base = 0;
    hv_vcpu_read_register((hv_vcpuid_t)vcpu, HV_X86_RIP, &rip);
    hv_vmx_vcpu_read_vmcs((hv_vcpuid_t)vcpu, VMCS_GUEST_CS_BASE, &cs_base);
    return cs_base + rip;
}

static void x86_kick(uint64_t vcpu)
{
    hv_vcpuid_t v = (hv_vcpuid_t)vcpu;
    hv_vcpu_interrupt(&v, 1);
}

static const struct gdb_target *x86_for_vcpu(uint64_t vcpu);

const struct gdb_target gdb_flavour_target = {
    .arch = "i386:x86-64",
    .features = features,
    .nfeatures = sizeof(features) / sizeof(features[0]),
    .regs = regs,
    .nregs = NREGS,
    .watch_after_access = true,
    .reg_read = x86_reg_read,
    .reg_write = x86_reg_write,
    .pc = x86_pc,
    .kick = x86_kick,
    .for_vcpu = x86_for_vcpu,
};

static const struct gdb_target i386_target = {
    .arch = "i386",
    .features = features,
    .nfeatures = sizeof(features) / sizeof(features[0]),
    .regs = regs32,
    .nregs = NREGS32,
    .watch_after_access = true,
    .reg_read = i386_reg_read,
    .reg_write = i386_reg_write,
    .pc = x86_pc,
    .kick = x86_kick,
    .for_vcpu = x86_for_vcpu,
};

/* Long mode active (EFER.LMA, so compatibility-mode code too): x86-64; else i386. */
static const struct gdb_target *x86_for_vcpu(uint64_t vcpu)
{
    uint64_t efer = 0;
    hv_vmx_vcpu_read_vmcs((hv_vcpuid_t)vcpu, VMCS_GUEST_IA32_EFER, &efer);
    return efer & EFER_LMA ? &gdb_flavour_target : &i386_target;
}
