/* Tables from the Intel API's register ids and MSR indexes to struct x86_state,
 * plus the architectural INIT state of a new vCPU. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include <string.h>

#include "core/x86/x86.h"

#define FIELD(member, grp) { offsetof(struct x86_state, member), sizeof(((struct x86_state *)0)->member), grp }

_Static_assert(HV_X86_REGISTERS_MAX <= X86_REG_FIELDS, "every register id indexes the table");
const struct x86_field x86_reg_fields[X86_REG_FIELDS] = {
    [HV_X86_RIP] = FIELD(rip, SG_GPR),
    [HV_X86_RFLAGS] = FIELD(rflags, SG_GPR),
    [HV_X86_RAX] = FIELD(gpr[X86_RAX], SG_GPR),
    [HV_X86_RCX] = FIELD(gpr[X86_RCX], SG_GPR),
    [HV_X86_RDX] = FIELD(gpr[X86_RDX], SG_GPR),
    [HV_X86_RBX] = FIELD(gpr[X86_RBX], SG_GPR),
    [HV_X86_RSI] = FIELD(gpr[X86_RSI], SG_GPR),
    [HV_X86_RDI] = FIELD(gpr[X86_RDI], SG_GPR),
    [HV_X86_RSP] = FIELD(gpr[X86_RSP], SG_GPR),
    [HV_X86_RBP] = FIELD(gpr[X86_RBP], SG_GPR),
    [HV_X86_R8] = FIELD(gpr[X86_R8], SG_GPR),
    [HV_X86_R9] = FIELD(gpr[X86_R9], SG_GPR),
    [HV_X86_R10] = FIELD(gpr[X86_R10], SG_GPR),
    [HV_X86_R11] = FIELD(gpr[X86_R11], SG_GPR),
    [HV_X86_R12] = FIELD(gpr[X86_R12], SG_GPR),
    [HV_X86_R13] = FIELD(gpr[X86_R13], SG_GPR),
    [HV_X86_R14] = FIELD(gpr[X86_R14], SG_GPR),
    [HV_X86_R15] = FIELD(gpr[X86_R15], SG_GPR),
    [HV_X86_CS] = FIELD(seg[X86_CS].selector, SG_SREGS),
    [HV_X86_SS] = FIELD(seg[X86_SS].selector, SG_SREGS),
    [HV_X86_DS] = FIELD(seg[X86_DS].selector, SG_SREGS),
    [HV_X86_ES] = FIELD(seg[X86_ES].selector, SG_SREGS),
    [HV_X86_FS] = FIELD(seg[X86_FS].selector, SG_SREGS),
    [HV_X86_GS] = FIELD(seg[X86_GS].selector, SG_SREGS),
    [HV_X86_IDT_BASE] = FIELD(idtr.base, SG_SREGS),
    [HV_X86_IDT_LIMIT] = FIELD(idtr.limit, SG_SREGS),
    [HV_X86_GDT_BASE] = FIELD(gdtr.base, SG_SREGS),
    [HV_X86_GDT_LIMIT] = FIELD(gdtr.limit, SG_SREGS),
    [HV_X86_LDTR] = FIELD(seg[X86_LDTR].selector, SG_SREGS),
    [HV_X86_LDT_BASE] = FIELD(seg[X86_LDTR].base, SG_SREGS),
    [HV_X86_LDT_LIMIT] = FIELD(seg[X86_LDTR].limit, SG_SREGS),
    [HV_X86_LDT_AR] = FIELD(seg[X86_LDTR].ar, SG_SREGS),
    [HV_X86_TR] = FIELD(seg[X86_TR].selector, SG_SREGS),
    [HV_X86_TSS_BASE] = FIELD(seg[X86_TR].base, SG_SREGS),
    [HV_X86_TSS_LIMIT] = FIELD(seg[X86_TR].limit, SG_SREGS),
    [HV_X86_TSS_AR] = FIELD(seg[X86_TR].ar, SG_SREGS),
    [HV_X86_CR0] = FIELD(cr0, SG_SREGS),
    [HV_X86_CR1] = FIELD(cr1, SG_SREGS),
    [HV_X86_CR2] = FIELD(cr2, SG_SREGS),
    [HV_X86_CR3] = FIELD(cr3, SG_SREGS),
    [HV_X86_CR4] = FIELD(cr4, SG_SREGS),
    [HV_X86_DR0] = FIELD(dr[0], SG_DEBUG),
    [HV_X86_DR1] = FIELD(dr[1], SG_DEBUG),
    [HV_X86_DR2] = FIELD(dr[2], SG_DEBUG),
    [HV_X86_DR3] = FIELD(dr[3], SG_DEBUG),
    [HV_X86_DR4] = FIELD(dr[4], SG_DEBUG),
    [HV_X86_DR5] = FIELD(dr[5], SG_DEBUG),
    [HV_X86_DR6] = FIELD(dr[6], SG_DEBUG),
    [HV_X86_DR7] = FIELD(dr[7], SG_DEBUG),
    [HV_X86_TPR] = FIELD(cr8, SG_SREGS),
    [HV_X86_XCR0] = FIELD(xcr0, SG_XCR),
};


#define RESET_CR0 (X86_CR0_ET | X86_CR0_NW | X86_CR0_CD)
#define RESET_CS_SELECTOR 0xf000u
#define RESET_CS_BASE 0xffff0000ull
#define RESET_RIP 0xfff0u
#define RESET_SEG_LIMIT 0xffffu
#define AR_DATA_RW_ACCESSED 0x3u
#define AR_CODE_RX_ACCESSED 0xbu
#define AR_LDT 0x2u
#define AR_TSS16_BUSY 0x3u
#define RESET_PAT 0x0007040600070406ull
#define RESET_MXCSR 0x1f80u
#define RESET_FCW 0x37fu
#define RESET_XCR0_X87 1u
#define RESET_APIC_BASE 0xfee00900ull    /* 0xfee00000, enabled, BSP */
#define RESET_DR6 0xffff0ff0u
#define RESET_DR7 0x400u
#define RESET_MXCSR_MASK 0xffffu
/* IA32_MISC_ENABLE: Fast-Strings Enable (bit 0) is set at reset (SDM vol. 4, table
 * 2-2), as firmware leaves it. A kernel that finds it clear drops ERMS from the CPUID
 * the model gives while keeping FSRM, a pair no processor has: Linux 6.1's memmove
 * then runs short copies through its 32-byte loop, which does not stop. */
#define RESET_MISC_ENABLE 0x1ull

void x86_state_reset(struct x86_state *st)
{
    memset(st, 0, sizeof(*st));
    st->rip = RESET_RIP;
    st->rflags = X86_FLAG_FIXED1;
    st->cr0 = RESET_CR0;
    for (int i = X86_ES; i <= X86_GS; i++) {
        st->seg[i].limit = RESET_SEG_LIMIT;
        st->seg[i].ar = X86_AR_P | X86_AR_S | AR_DATA_RW_ACCESSED;
    }
    st->seg[X86_CS].selector = RESET_CS_SELECTOR;
    st->seg[X86_CS].base = RESET_CS_BASE;
    st->seg[X86_CS].ar = X86_AR_P | X86_AR_S | AR_CODE_RX_ACCESSED;
    st->seg[X86_LDTR].limit = RESET_SEG_LIMIT;
    st->seg[X86_LDTR].ar = X86_AR_P | AR_LDT;
    st->seg[X86_TR].limit = RESET_SEG_LIMIT;
    st->seg[X86_TR].ar = X86_AR_P | AR_TSS16_BUSY;
    st->gdtr.limit = RESET_SEG_LIMIT;
    st->idtr.limit = RESET_SEG_LIMIT;
    st->dr[6] = RESET_DR6;
    st->dr[7] = RESET_DR7;
    st->xcr0 = RESET_XCR0_X87;
    st->msr.pat = RESET_PAT;
    st->msr.apic_base = RESET_APIC_BASE;
    st->msr.misc_enable = RESET_MISC_ENABLE;
    st->fpu.fcw = RESET_FCW;
    st->fpu.mxcsr = RESET_MXCSR;
    st->fpu.mxcsr_mask = RESET_MXCSR_MASK;
}
