/* gdb_arm64.c - the Apple-silicon flavour's registers for the gdb stub: gdb's AArch64
 * core and FP/SIMD features (names as gdb's aarch64 target validates them) and an
 * anyhv feature with the EL1 system registers a kernel debugger looks at. One table
 * drives the target description and every register access. */
#define ANYHV_GUEST_ARM64 1
#include <Hypervisor/Hypervisor.h>

#include <string.h>

#include "gdb.h"

enum feat { F_CORE, F_FPU, F_SYS };

static const struct gdb_feature features[] = {
    [F_CORE] = { "org.gnu.gdb.aarch64.core", "" },
    [F_FPU] = { "org.gnu.gdb.aarch64.fpu",
                "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
                "<vector id=\"v2u\" type=\"uint64\" count=\"2\"/>"
                "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
                "<vector id=\"v4u\" type=\"uint32\" count=\"4\"/>"
                "<vector id=\"v8u\" type=\"uint16\" count=\"8\"/>"
                "<vector id=\"v16u\" type=\"uint8\" count=\"16\"/>"
                "<union id=\"vnd\"><field name=\"f\" type=\"v2d\"/><field name=\"u\" type=\"v2u\"/></union>"
                "<union id=\"vns\"><field name=\"f\" type=\"v4f\"/><field name=\"u\" type=\"v4u\"/></union>"
                "<union id=\"vnh\"><field name=\"u\" type=\"v8u\"/></union>"
                "<union id=\"vnb\"><field name=\"u\" type=\"v16u\"/></union>"
                "<union id=\"aarch64v\"><field name=\"d\" type=\"vnd\"/><field name=\"s\" type=\"vns\"/>"
                "<field name=\"h\" type=\"vnh\"/><field name=\"b\" type=\"vnb\"/>"
                "<field name=\"q\" type=\"uint128\"/></union>" },
    [F_SYS] = { "org.anyhv.aarch64.system", "" },
};

enum src { S_GPR, S_SIMD, S_SYS };
struct reg_src {
    enum src src;
    uint32_t id;   /* hv_reg_t, V register number, or hv_sys_reg_t */
};

#define X(n) { "x" #n, 64, "int", F_CORE }
#define V(n) { "v" #n, 128, "aarch64v", F_FPU }
#define SYSR(name) { name, 64, "int", F_SYS }
static const struct gdb_reg regs[] = {
    X(0), X(1), X(2), X(3), X(4), X(5), X(6), X(7), X(8), X(9), X(10), X(11), X(12), X(13), X(14), X(15),
    X(16), X(17), X(18), X(19), X(20), X(21), X(22), X(23), X(24), X(25), X(26), X(27), X(28), X(29), X(30),
    { "sp", 64, "data_ptr", F_CORE }, { "pc", 64, "code_ptr", F_CORE }, { "cpsr", 32, "int", F_CORE },
    V(0), V(1), V(2), V(3), V(4), V(5), V(6), V(7), V(8), V(9), V(10), V(11), V(12), V(13), V(14), V(15),
    V(16), V(17), V(18), V(19), V(20), V(21), V(22), V(23), V(24), V(25), V(26), V(27), V(28), V(29), V(30),
    V(31), { "fpsr", 32, "int", F_FPU }, { "fpcr", 32, "int", F_FPU },
    SYSR("sctlr_el1"), SYSR("tcr_el1"), SYSR("ttbr0_el1"), SYSR("ttbr1_el1"), SYSR("mair_el1"),
    SYSR("vbar_el1"), SYSR("esr_el1"), SYSR("far_el1"), SYSR("elr_el1"), SYSR("spsr_el1"), SYSR("sp_el0"),
    SYSR("sp_el1"), SYSR("tpidr_el0"), SYSR("tpidr_el1"), SYSR("contextidr_el1"), SYSR("cpacr_el1"),
    SYSR("mdscr_el1"), SYSR("par_el1"),
};
#define NREGS (sizeof(regs) / sizeof(regs[0]))
#define FIRST_V 34u
#define NUM_V 32u
#define FIRST_SYS (FIRST_V + NUM_V + 2u)

static const hv_sys_reg_t sys_ids[] = {
    HV_SYS_REG_SCTLR_EL1, HV_SYS_REG_TCR_EL1, HV_SYS_REG_TTBR0_EL1, HV_SYS_REG_TTBR1_EL1, HV_SYS_REG_MAIR_EL1,
    HV_SYS_REG_VBAR_EL1, HV_SYS_REG_ESR_EL1, HV_SYS_REG_FAR_EL1, HV_SYS_REG_ELR_EL1, HV_SYS_REG_SPSR_EL1,
    HV_SYS_REG_SP_EL0, HV_SYS_REG_SP_EL1, HV_SYS_REG_TPIDR_EL0, HV_SYS_REG_TPIDR_EL1, HV_SYS_REG_CONTEXTIDR_EL1,
    HV_SYS_REG_CPACR_EL1, HV_SYS_REG_MDSCR_EL1, HV_SYS_REG_PAR_EL1,
};
_Static_assert(FIRST_SYS + sizeof(sys_ids) / sizeof(sys_ids[0]) == NREGS, "one id per system register");

/* The current SP is SP_EL0 or SP_EL1 by PSTATE.SP (M[0]) at EL1, SP_EL0 at EL0. */
#define CPSR_SPSEL 1ull
#define CPSR_EL_SHIFT 2
#define CPSR_EL_MASK 3ull

static struct reg_src src_of(unsigned n)
{
    if (n < 31)
        return (struct reg_src){ S_GPR, HV_REG_X0 + n };
    if (n == 31) {
        return (struct reg_src){ S_SYS, 0 };   /* resolved by current_sp() */
    }
    if (n == 32)
        return (struct reg_src){ S_GPR, HV_REG_PC };
    if (n == 33)
        return (struct reg_src){ S_GPR, HV_REG_CPSR };
    if (n < FIRST_V + NUM_V)
        return (struct reg_src){ S_SIMD, n - FIRST_V };
    if (n == FIRST_V + NUM_V)
        return (struct reg_src){ S_GPR, HV_REG_FPSR };
    if (n == FIRST_V + NUM_V + 1)
        return (struct reg_src){ S_GPR, HV_REG_FPCR };
    return (struct reg_src){ S_SYS, sys_ids[n - FIRST_SYS] };
}

static hv_sys_reg_t current_sp(hv_vcpu_t v)
{
    uint64_t cpsr = 0;
    hv_vcpu_get_reg(v, HV_REG_CPSR, &cpsr);
    bool el1 = ((cpsr >> CPSR_EL_SHIFT) & CPSR_EL_MASK) != 0;
    return el1 && (cpsr & CPSR_SPSEL) ? HV_SYS_REG_SP_EL1 : HV_SYS_REG_SP_EL0;
}

static bool a64_reg_read(uint64_t vcpu, unsigned n, uint8_t *out)
{
    hv_vcpu_t v = (hv_vcpu_t)vcpu;
    struct reg_src s = src_of(n);
    uint64_t val = 0;
    if (n == 31)
        s.id = current_sp(v);
    if (s.src == S_SIMD) {
        hv_simd_fp_uchar16_t q;
        if (hv_vcpu_get_simd_fp_reg(v, (hv_simd_fp_reg_t)(HV_SIMD_FP_REG_Q0 + s.id), &q) != HV_SUCCESS)
            return false;
        memcpy(out, &q, sizeof(q));
        return true;
    }
    hv_return_t r = s.src == S_GPR ? hv_vcpu_get_reg(v, (hv_reg_t)s.id, &val)
                                   : hv_vcpu_get_sys_reg(v, (hv_sys_reg_t)s.id, &val);
    if (r != HV_SUCCESS)
        return false;
    memcpy(out, &val, regs[n].bits / 8);
    return true;
}

static bool a64_reg_write(uint64_t vcpu, unsigned n, const uint8_t *in)
{
    hv_vcpu_t v = (hv_vcpu_t)vcpu;
    struct reg_src s = src_of(n);
    uint64_t val = 0;
    if (n == 31)
        s.id = current_sp(v);
    if (s.src == S_SIMD) {
        hv_simd_fp_uchar16_t q;
        memcpy(&q, in, sizeof(q));
        return hv_vcpu_set_simd_fp_reg(v, (hv_simd_fp_reg_t)(HV_SIMD_FP_REG_Q0 + s.id), q) == HV_SUCCESS;
    }
    memcpy(&val, in, regs[n].bits / 8);
    hv_return_t r = s.src == S_GPR ? hv_vcpu_set_reg(v, (hv_reg_t)s.id, val)
                                   : hv_vcpu_set_sys_reg(v, (hv_sys_reg_t)s.id, val);
    return r == HV_SUCCESS;
}

static uint64_t a64_pc(uint64_t vcpu)
{
    uint64_t pc = 0;
    hv_vcpu_get_reg((hv_vcpu_t)vcpu, HV_REG_PC, &pc);
    return pc;
}

static void a64_kick(uint64_t vcpu)
{
    hv_vcpu_t v = (hv_vcpu_t)vcpu;
    hv_vcpus_exit(&v, 1);
}

const struct gdb_target gdb_flavour_target = {
    .arch = "aarch64",
    .features = features,
    .nfeatures = sizeof(features) / sizeof(features[0]),
    .regs = regs,
    .nregs = NREGS,
    .watch_after_access = false,
    .reg_read = a64_reg_read,
    .reg_write = a64_reg_write,
    .pc = a64_pc,
    .kick = a64_kick,
};
