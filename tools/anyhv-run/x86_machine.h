/* anyhv-run, Intel flavour: the machine's fixed layout (descriptor tables, page
 * tables, exception stubs below 1 MiB), its devices, and names for reports. */
#ifndef ANYHV_TOOLS_X86_MACHINE_H
#define ANYHV_TOOLS_X86_MACHINE_H

#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include <stdbool.h>
#include <stdint.h>

/* Guest-physical layout. Everything below X86M_RESERVED_END belongs to the VMM. */
#define X86M_GDT_BASE 0x0500u
#define X86M_PML4_BASE 0x1000u
#define X86M_PDPT_BASE 0x2000u
#define X86M_PD_BASE 0x3000u
#define X86M_IDT_BASE 0x4000u
#define X86M_STUB_BASE 0x5000u      /* 8 bytes of code per vector */
#define X86M_TSS_BASE 0x6000u
#define X86M_KSTACK_TOP 0x80000u    /* CPL0 stack of the exception stubs (TSS.RSP0) */
#define X86M_RESERVED_END 0x100000u
#define X86M_DEFAULT_LOAD 0x100000u
#define X86M_MIN_RAM (2u << 20)
#define X86M_IDENTITY_MAP_BYTES (1ull << 30)   /* first 1 GiB, 2 MiB pages */

/* Selectors (index << 3 | RPL). */
#define X86M_SEL_KCODE 0x08u
#define X86M_SEL_KDATA 0x10u
#define X86M_SEL_UDATA 0x1bu
#define X86M_SEL_UCODE 0x23u
#define X86M_SEL_TSS 0x28u

/* Ports. */
#define X86M_UART_BASE 0x3f8u
#define X86M_UART_PORTS 8u
#define X86M_DEBUG_EXIT_PORT 0xf4u
#define X86M_FAULT_PORT 0xf5u

/* VMX facts used by the run loop (SDM vol. 3C, "Exit Qualification for I/O Instructions"). */
#define X86M_EXIT_REASON_MASK 0xffffu
#define X86M_IOQ_SIZE_MASK 0x7u
#define X86M_IOQ_IN (1u << 3)
#define X86M_IOQ_STRING (1u << 4)
#define X86M_IOQ_REP (1u << 5)
#define X86M_IOQ_PORT_SHIFT 16
#define X86M_RFLAGS_DF (1u << 10)
#define X86M_VECTOR_PF 14u

/* 8250 UART, the part guests use: THR/RBR, LSR, scratch, divisor latch. */
struct uart8250 {
    uint8_t ier, lcr, mcr, scr, dll, dlm;
};
void uart8250_init(struct uart8250 *u);
uint8_t uart8250_read(struct uart8250 *u, unsigned reg);
void uart8250_write(struct uart8250 *u, unsigned reg, uint8_t v);

/* Writes the GDT, TSS, IDT, exception stubs and identity page tables into RAM. */
void x86m_build_tables(uint8_t *ram);
/* Sets controls and guest state: 64-bit mode, CPL3, IOPL 3, RIP = entry. */
hv_return_t x86m_setup_vcpu(hv_vcpuid_t vcpu, uint64_t entry, uint64_t ram_size);

bool x86m_vector_has_error_code(unsigned vector);
const char *x86m_vector_name(unsigned vector);
const char *x86m_exit_name(uint32_t reason);

#endif /* ANYHV_TOOLS_X86_MACHINE_H */
