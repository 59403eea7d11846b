/* test_rdrand.c - RDRAND and RDSEED on the software route: CF = 1 and the other status
 * flags clear, every operand size, distinct values per instruction; in deterministic mode
 * the values are a function of the seed (ANYHV_DETERMINISTIC_SEED), the same in every run,
 * and another seed gives others. */
#include <criterion/criterion.h>
#include <anyhv/anyhv.h>

#include "support/backend.h"
#include "x86_guest.h"

#define CF_AND_STATUS 0x8d5u   /* OF SF ZF AF PF CF */
#define CF 1u

/* rdrand rax; rdrand ebx; rdseed rcx; rdrand si; pushfq; pop rdi; hlt */
static const uint8_t code[] = { 0x48, 0x0f, 0xc7, 0xf0, 0x0f, 0xc7, 0xf3, 0x48, 0x0f, 0xc7, 0xf9,
                                0x66, 0x0f, 0xc7, 0xf6, 0x9c, 0x5f, 0xf4 };

struct draws {
    uint64_t rax, rbx, rcx, rsi, flags;
};

static struct draws run(bool deterministic)
{
    struct xg g;
    struct draws d;
    cr_assert_eq(anyhv_set_deterministic(deterministic), HV_SUCCESS);
    cr_assert_eq(xg_create(&g), 0);
    memcpy(g.ram + XG_CODE, code, sizeof(code));
    cr_assert_eq(xg_long_mode(&g), 0);
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, XG_CODE);
    hv_vcpu_write_register(g.vcpu, HV_X86_RSP, XG_STACK_TOP);
    hv_vcpu_write_register(g.vcpu, HV_X86_RSI, 0xffffffffffffffffull);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_HLT, "exit reason %u", xg_exit_reason(&g));
    d = (struct draws){ xg_reg(&g, HV_X86_RAX), xg_reg(&g, HV_X86_RBX), xg_reg(&g, HV_X86_RCX), xg_reg(&g, HV_X86_RSI),
                        xg_reg(&g, HV_X86_RDI) };
    xg_destroy(&g);
    return d;
}

static void require_soft(void)
{
    test_require_backend();
    if (anyhv_get_backend() != ANYHV_BACKEND_SOFT)
        cr_skip_test("the software route's generator (KVM runs the host's RDRAND)");
}

Test(soft_x86_rdrand, values_flags_and_sizes)
{
    require_soft();
    struct draws d = run(false);
    cr_expect_eq(d.flags & CF_AND_STATUS, CF, "CF set, OF SF ZF AF PF clear: flags %#llx",
                 (unsigned long long)d.flags);
    cr_expect_eq(d.rbx >> 32, 0, "a 32-bit destination zero-extends");
    cr_expect_eq(d.rsi >> 16, 0xffffffffffffull, "a 16-bit destination keeps the rest");
    cr_expect(d.rax != d.rcx, "two draws differ");
}

Test(soft_x86_rdrand, deterministic_mode_draws_from_the_seed)
{
    require_soft();
    setenv("ANYHV_DETERMINISTIC_SEED", "12345", 1);
    struct draws a = run(true), b = run(true);
    cr_expect(a.rax == b.rax && a.rbx == b.rbx && a.rcx == b.rcx && a.rsi == b.rsi, "the same draws every run");
    setenv("ANYHV_DETERMINISTIC_SEED", "12346", 1);
    struct draws c = run(true);
    cr_expect(c.rax != a.rax && c.rcx != a.rcx, "another seed, other draws");
    unsetenv("ANYHV_DETERMINISTIC_SEED");
}

Test(soft_x86_rdrand, rdrand_exiting_exits_with_the_instruction_information)
{
    require_soft();
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    memcpy(g.ram + XG_CODE, code, sizeof(code));
    cr_assert_eq(xg_long_mode(&g), 0);
    uint64_t cpu = xg_read_vmcs(&g, VMCS_CTRL_CPU_BASED);
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_CPU_BASED, cpu | CPU_BASED_SECONDARY_CTLS), 0);
    cr_assert_eq(xg_ctrl(&g, VMCS_CTRL_CPU_BASED2, HV_VMX_CAP_PROCBASED2, CPU_BASED2_RDRAND | CPU_BASED2_RDSEED), 0);
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, XG_CODE);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_expect_eq(xg_exit_reason(&g), VMX_REASON_RDRAND);
    cr_expect_eq(xg_reg(&g, HV_X86_RIP), XG_CODE, "the instruction has not run");
    cr_expect_eq(xg_read_vmcs(&g, VMCS_RO_VMEXIT_INSTR_LEN), 4);
    cr_expect_eq(xg_read_vmcs(&g, VMCS_RO_VMX_INSTR_INFO), 2u << 11, "RAX, 64-bit");
    /* The client emulates it and moves on: the next one (EBX, 32-bit) exits too. */
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, XG_CODE + 4);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_expect_eq(xg_exit_reason(&g), VMX_REASON_RDRAND);
    cr_expect_eq(xg_read_vmcs(&g, VMCS_RO_VMX_INSTR_INFO), (3u << 3) | (1u << 11), "RBX, 32-bit");
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, XG_CODE + 7);
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_expect_eq(xg_exit_reason(&g), VMX_REASON_RDSEED);
    cr_expect_eq(xg_read_vmcs(&g, VMCS_RO_VMX_INSTR_INFO), (1u << 3) | (2u << 11), "RCX, 64-bit");
    xg_destroy(&g);
}
