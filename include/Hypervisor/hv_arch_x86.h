/* hv_arch_x86.h - Intel flavour: ids of the architectural x86 registers that
 * hv_vcpu_read_register() / hv_vcpu_write_register() access (hv_x86_reg_t). */
#ifndef ANYHV_HYPERVISOR_HV_ARCH_X86_H
#define ANYHV_HYPERVISOR_HV_ARCH_X86_H

#include <Hypervisor/hv_base.h>

#if ANYHV_HV_X86

/* The same ids as macros (Apple's __HV_X86_* names), usable from assembler sources. */
#define __HV_X86_RIP 0
#define __HV_X86_RFLAGS 1
#define __HV_X86_RAX 2
#define __HV_X86_RCX 3
#define __HV_X86_RDX 4
#define __HV_X86_RBX 5
#define __HV_X86_RSI 6
#define __HV_X86_RDI 7
#define __HV_X86_RSP 8
#define __HV_X86_RBP 9
#define __HV_X86_R8 10
#define __HV_X86_R9 11
#define __HV_X86_R10 12
#define __HV_X86_R11 13
#define __HV_X86_R12 14
#define __HV_X86_R13 15
#define __HV_X86_R14 16
#define __HV_X86_R15 17
#define __HV_X86_CS 18
#define __HV_X86_SS 19
#define __HV_X86_DS 20
#define __HV_X86_ES 21
#define __HV_X86_FS 22
#define __HV_X86_GS 23
#define __HV_X86_IDT_BASE 24
#define __HV_X86_IDT_LIMIT 25
#define __HV_X86_GDT_BASE 26
#define __HV_X86_GDT_LIMIT 27
#define __HV_X86_LDTR 28
#define __HV_X86_LDT_BASE 29
#define __HV_X86_LDT_LIMIT 30
#define __HV_X86_LDT_AR 31
#define __HV_X86_TR 32
#define __HV_X86_TSS_BASE 33
#define __HV_X86_TSS_LIMIT 34
#define __HV_X86_TSS_AR 35
#define __HV_X86_CR0 36
#define __HV_X86_CR1 37
#define __HV_X86_CR2 38
#define __HV_X86_CR3 39
#define __HV_X86_CR4 40
#define __HV_X86_DR0 41
#define __HV_X86_DR1 42
#define __HV_X86_DR2 43
#define __HV_X86_DR3 44
#define __HV_X86_DR4 45
#define __HV_X86_DR5 46
#define __HV_X86_DR6 47
#define __HV_X86_DR7 48
#define __HV_X86_TPR 49
#define __HV_X86_XCR0 50
#define __HV_X86_REGISTERS_MAX 51

#ifndef __ASSEMBLER__

ANYHV_BEGIN_DECLS

/* Segment registers (CS..GS, LDTR, TR) read and write the selector; their bases,
 * limits and access rights are separate ids (or VMCS fields). */
typedef enum {
    HV_X86_RIP = 0,
    HV_X86_RFLAGS = 1,
    HV_X86_RAX = 2,
    HV_X86_RCX = 3,
    HV_X86_RDX = 4,
    HV_X86_RBX = 5,
    HV_X86_RSI = 6,
    HV_X86_RDI = 7,
    HV_X86_RSP = 8,
    HV_X86_RBP = 9,
    HV_X86_R8 = 10,
    HV_X86_R9 = 11,
    HV_X86_R10 = 12,
    HV_X86_R11 = 13,
    HV_X86_R12 = 14,
    HV_X86_R13 = 15,
    HV_X86_R14 = 16,
    HV_X86_R15 = 17,
    HV_X86_CS = 18,
    HV_X86_SS = 19,
    HV_X86_DS = 20,
    HV_X86_ES = 21,
    HV_X86_FS = 22,
    HV_X86_GS = 23,
    HV_X86_IDT_BASE = 24,
    HV_X86_IDT_LIMIT = 25,
    HV_X86_GDT_BASE = 26,
    HV_X86_GDT_LIMIT = 27,
    HV_X86_LDTR = 28,
    HV_X86_LDT_BASE = 29,
    HV_X86_LDT_LIMIT = 30,
    HV_X86_LDT_AR = 31,
    HV_X86_TR = 32,
    HV_X86_TSS_BASE = 33,
    HV_X86_TSS_LIMIT = 34,
    HV_X86_TSS_AR = 35,
    HV_X86_CR0 = 36,
    HV_X86_CR1 = 37,
    HV_X86_CR2 = 38,
    HV_X86_CR3 = 39,
    HV_X86_CR4 = 40,
    HV_X86_DR0 = 41,
    HV_X86_DR1 = 42,
    HV_X86_DR2 = 43,
    HV_X86_DR3 = 44,
    HV_X86_DR4 = 45,
    HV_X86_DR5 = 46,
    HV_X86_DR6 = 47,
    HV_X86_DR7 = 48,
    HV_X86_TPR = 49,
    HV_X86_XCR0 = 50,
    HV_X86_REGISTERS_MAX = 51  /* number of ids, not a register */
} hv_x86_reg_t;

ANYHV_END_DECLS

#endif /* __ASSEMBLER__ */

#endif /* ANYHV_HV_X86 */

#endif /* ANYHV_HYPERVISOR_HV_ARCH_X86_H */
