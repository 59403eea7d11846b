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
#define X86M_KSTACK_TOP 0x80000u    /* stack of the exception stubs (TSS.RSP0 and IST1) */
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

/* The guest's starting control state: paging with PAE in long mode, CPL3 with IOPL 3
 * (CR0 = PE|MP|ET|NE|WP|PG, CR4 = PAE|OSFXSR|OSXMMEXCPT|VMXE, EFER = LME|LMA); for
 * 32-bit guests protected mode without paging (CR0 = PE|MP|ET|NE, CR4 = OSFXSR|
 * OSXMMEXCPT|VMXE, EFER = 0). */
#define X86M_GUEST_CR0 0x80010033ull
#define X86M_GUEST_CR4 0x2620ull
#define X86M_GUEST_CR4_VMXE 0x2000ull
#define X86M_GUEST_EFER 0x500ull
#define X86M_GUEST32_CR0 0x33ull
#define X86M_GUEST32_CR4 0x2600ull
#define X86M_GUEST_RFLAGS 0x0002ull       /* CPL0: reserved bit 1 only */
#define X86M_GUEST_RFLAGS_USER 0x3002ull  /* CPL3: IOPL 3 */
#define X86M_GDT_LIMIT (7u * 8u - 1u)
#define X86M_IDT_LIMIT (256u * 16u - 1u)
#define X86M_IDT32_LIMIT (256u * 8u - 1u)
#define X86M_TSS_LIMIT 103u

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

/* The mode the guest starts in: 64-bit (x86_64 images) or 32-bit protected mode
 * with flat segments and paging off (i386 images). */
enum x86m_mode { X86M_MODE_LONG64 = 0, X86M_MODE_PROT32 };

/* Writes the GDT, TSS, IDT and exception stubs (and, for 64-bit mode, identity page
 * tables) into RAM. */
void x86m_build_tables(uint8_t *ram, enum x86m_mode mode);
/* Privilege the guest starts at: CPL0 like a 64-bit kernel entry (anyhv-run), or CPL3
 * with IOPL 3 (bench: on a paravirtual KVM such as PVM only user code runs natively). */
enum x86m_cpl { X86M_CPL0 = 0, X86M_CPL3 = 3 };

/* Sets controls and guest state: the mode at the given CPL, RIP = entry, RSP = rsp. */
hv_return_t x86m_setup_vcpu(hv_vcpuid_t vcpu, uint64_t entry, uint64_t rsp, enum x86m_cpl cpl, enum x86m_mode mode);

bool x86m_vector_has_error_code(unsigned vector);
const char *x86m_vector_name(unsigned vector);
const char *x86m_exit_name(uint32_t reason);

#endif /* ANYHV_TOOLS_X86_MACHINE_H */
