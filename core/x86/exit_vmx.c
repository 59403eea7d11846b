/* The one place where a neutral exit becomes VMX exit fields (reason,
 * qualification, guest-physical/linear address, instruction length, interruption
 * and IDT-vectoring information), for every backend alike. Qualification layouts
 * follow the Intel SDM vol. 3C, "Exit Qualification for ..." tables. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include "core/x86/x86.h"

/* I/O instruction qualification. */
#define IOQ_SIZE_MINUS_1(sz) ((uint64_t)((sz)-1u) & 7u)
#define IOQ_IN (1ull << 3)
#define IOQ_STRING (1ull << 4)
#define IOQ_REP (1ull << 5)
#define IOQ_IMM (1ull << 6)
#define IOQ_PORT_SHIFT 16
/* EPT violation qualification. */
#define EPTQ_READ (1ull << 0)
#define EPTQ_WRITE (1ull << 1)
#define EPTQ_FETCH (1ull << 2)
#define EPTQ_PERM_SHIFT 3
#define EPTQ_GLA_VALID (1ull << 7)
#define EPTQ_GLA_IS_FINAL (1ull << 8)
/* Task-switch qualification: TSS selector in bits 15:0, source in bits 31:30. */
#define TASKQ_SOURCE_SHIFT 30
/* Exit-reason bit 31: VM-entry failure. */
#define VMX_EXIT_REASON_ENTRY_FAIL (1u << 31)

static const uint32_t reason_of_kind[EXIT_KIND_COUNT] = {
    [EXIT_MMIO] = VMX_REASON_EPT_VIOLATION,
    [EXIT_PIO] = VMX_REASON_IO,
    [EXIT_HLT] = VMX_REASON_HLT,
    [EXIT_HYPERCALL] = VMX_REASON_VMCALL,
    [EXIT_MSR_READ] = VMX_REASON_RDMSR,
    [EXIT_MSR_WRITE] = VMX_REASON_WRMSR,
    [EXIT_CPUID] = VMX_REASON_CPUID,
    [EXIT_CR_ACCESS] = VMX_REASON_MOV_CR,
    [EXIT_DR_ACCESS] = VMX_REASON_MOV_DR,
    [EXIT_RDTSC] = VMX_REASON_RDTSC,
    [EXIT_RDPMC] = VMX_REASON_RDPMC,
    [EXIT_INVLPG] = VMX_REASON_INVLPG,
    [EXIT_EXCEPTION] = VMX_REASON_EXC_NMI,
    [EXIT_TASK_SWITCH] = VMX_REASON_TASK,
    [EXIT_XSETBV] = VMX_REASON_XSETBV,
    [EXIT_SHUTDOWN] = VMX_REASON_TRIPLE_FAULT,
    [EXIT_IRQ_WINDOW] = VMX_REASON_IRQ_WND,
    [EXIT_NMI_WINDOW] = VMX_REASON_VIRTUAL_NMI_WND,
    [EXIT_EXT_IRQ] = VMX_REASON_IRQ,
    [EXIT_CANCELED] = VMX_REASON_IRQ,           /* hv_vcpu_interrupt: an external-interrupt exit */
    [EXIT_DEADLINE] = VMX_REASON_VMX_TIMER_EXPIRED,
    [EXIT_BUDGET] = VMX_REASON_VMX_TIMER_EXPIRED,
    [EXIT_DEBUG] = VMX_REASON_MTF,
    [EXIT_RDRAND] = VMX_REASON_RDRAND,
    [EXIT_RDSEED] = VMX_REASON_RDSEED,
};

/* VM-exit instruction information of RDRAND/RDSEED (SDM vol. 3C, table "Format of the
 * VM-Exit Instruction-Information Field as Used for RDRAND, RDSEED, ..."): destination
 * register in bits 6:3, operand size in 12:11 (0: 16-bit, 1: 32-bit, 2: 64-bit). */
#define RDRAND_INFO_REG_SHIFT 3
#define RDRAND_INFO_SIZE_SHIFT 11

static uint32_t rdrand_info(const struct exit_reg_access *r)
{
    uint32_t size = r->value == 8 ? 2u : r->value == 4 ? 1u : 0u;
    return ((uint32_t)r->gpr << RDRAND_INFO_REG_SHIFT) | (size << RDRAND_INFO_SIZE_SHIFT);
}

static uint64_t io_qualification(const struct exit_pio *io)
{
    return IOQ_SIZE_MINUS_1(io->size) | (io->in ? IOQ_IN : 0) | (io->string ? IOQ_STRING : 0) |
           (io->rep ? IOQ_REP : 0) | (io->imm ? IOQ_IMM : 0) | ((uint64_t)io->port << IOQ_PORT_SHIFT);
}

static uint64_t ept_qualification(const struct exit_mem *m)
{
    uint64_t q = m->fetch ? EPTQ_FETCH : m->write ? EPTQ_WRITE : EPTQ_READ;
    q |= (uint64_t)(m->perms & (EXIT_PERM_R | EXIT_PERM_W | EXIT_PERM_X)) << EPTQ_PERM_SHIFT;
    if (m->gva_valid)
        q |= EPTQ_GLA_VALID | (m->page_walk ? 0 : EPTQ_GLA_IS_FINAL);
    return q;
}

hv_return_t x86_exit_render(struct vcpu *vcpu)
{
    const struct anyhv_exit *e = &vcpu->exit;
    struct vcpu_x86_ext *x = &vcpu->ext.x86;
    if (e->kind == EXIT_INTERNAL && e->u.internal.code == EXIT_INTERNAL_BAD_GUEST_STATE)
        return ANYHV_ERR_ILLEGAL_GUEST_STATE;
    if (e->kind == EXIT_INTERNAL || e->kind == EXIT_NONE || (unsigned)e->kind >= EXIT_KIND_COUNT)
        return HV_ERROR;
    x->exit_reason = reason_of_kind[e->kind];
    x->exit_qualification = 0;
    x->exit_gpa = 0;
    x->exit_gla = 0;
    x->exit_instr_len = e->insn_len;
    x->exit_instr_info = 0;
    x->exit_irq_info = 0;
    x->exit_irq_error = 0;
    x->idt_vectoring_info = 0;
    x->idt_vectoring_error = 0;
    switch (e->kind) {
    case EXIT_PIO:
        x->exit_qualification = io_qualification(&e->u.pio);
        x->io_rip = e->pc;
        break;
    case EXIT_MMIO:
        x->exit_qualification = ept_qualification(&e->u.mem);
        x->exit_gpa = e->u.mem.gpa;
        x->exit_gla = e->u.mem.gva_valid ? e->u.mem.gva : 0;
        break;
    case EXIT_EXCEPTION:
        x->exit_irq_info = IRQ_INFO_VALID | ((uint32_t)e->u.exc.type << 8) | e->u.exc.vector |
                           (e->u.exc.error_valid ? IRQ_INFO_ERROR_VALID : 0);
        x->exit_irq_error = e->u.exc.error_valid ? e->u.exc.error : 0;
        x->exit_qualification = e->u.exc.fault_addr;   /* #PF: linear address; #DB: DR6 bits */
        x->idt_vectoring_info = e->u.exc.idt_vectoring_info;
        x->idt_vectoring_error = e->u.exc.idt_vectoring_error;
        break;
    case EXIT_TASK_SWITCH:
        x->exit_qualification = e->u.task.selector | ((uint64_t)e->u.task.source << TASKQ_SOURCE_SHIFT);
        x->idt_vectoring_info = e->u.task.idt_vectoring_info;
        x->idt_vectoring_error = e->u.task.idt_vectoring_error;
        break;
    case EXIT_CR_ACCESS:
    case EXIT_DR_ACCESS:
        x->exit_qualification = e->u.reg.qualification;
        break;
    case EXIT_INVLPG:
        x->exit_qualification = e->u.reg.value;         /* the linear address */
        break;
    case EXIT_RDRAND:
    case EXIT_RDSEED:
        x->exit_instr_info = rdrand_info(&e->u.reg);
        break;
    case EXIT_SHUTDOWN:
    case EXIT_MSR_READ:
    case EXIT_MSR_WRITE:
    default:
        break;
    }
    return HV_SUCCESS;
}

struct x86_msr_policy *x86_msr_policy(struct vcpu *vcpu, uint32_t msr, bool create)
{
    struct vcpu_x86_ext *x = &vcpu->ext.x86;
    for (uint32_t i = 0; i < x->msr_policy_count; i++)
        if (x->msr_policy[i].msr == msr)
            return &x->msr_policy[i];
    if (!create || x->msr_policy_count == sizeof(x->msr_policy) / sizeof(x->msr_policy[0]))
        return NULL;
    struct x86_msr_policy *p = &x->msr_policy[x->msr_policy_count++];
    *p = (struct x86_msr_policy){ .msr = msr };
    return p;
}
