/* anyhv-run, Apple-silicon flavour: the machine's layout, its devices, and the ESR
 * fields the run loop decodes (ARM ARM D17.2.37, ESR_ELx). */
#ifndef ANYHV_TOOLS_ARM64_MACHINE_H
#define ANYHV_TOOLS_ARM64_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#define A64M_RAM_BASE 0x40000000ull
#define A64M_DEFAULT_LOAD 0x40080000ull
#define A64M_MIN_RAM (1ull << 20)
#define A64M_PL011_BASE 0x09000000ull
#define A64M_PL011_SIZE 0x1000ull
#define A64M_DEBUG_EXIT 0x09010000ull
#define A64M_PSTATE_EL1H_DAIF 0x3c5ull

#define ESR_EC_SHIFT 26
#define ESR_EC_MASK 0x3fu
#define ESR_ISS_MASK 0x1ffffffu
#define ESR_ISV (1u << 24)
#define ESR_SAS_SHIFT 22
#define ESR_SAS_MASK 0x3u
#define ESR_SSE (1u << 21)
#define ESR_SRT_SHIFT 16
#define ESR_SRT_MASK 0x1fu
#define ESR_SF (1u << 15)
#define ESR_WNR (1u << 6)
#define ESR_HVC_IMM_MASK 0xffffu

enum a64m_ec {
    EC_UNKNOWN = 0x00, EC_WFX = 0x01, EC_HVC64 = 0x16, EC_SMC64 = 0x17, EC_SYSREG = 0x18,
    EC_IABT_LOWER = 0x20, EC_IABT_SAME = 0x21, EC_PC_ALIGN = 0x22, EC_DABT_LOWER = 0x24, EC_DABT_SAME = 0x25,
    EC_SP_ALIGN = 0x26, EC_BRK = 0x3c,
};

/* PSCI function ids (DEN0022) a guest may call through HVC or SMC. */
#define PSCI_VERSION 0x84000000u
#define PSCI_SYSTEM_OFF 0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u
#define PSCI_VERSION_1_0 0x10000u
#define PSCI_NOT_SUPPORTED 0xffffffffffffffffull

/* PL011 registers and the part of their behaviour polling guests need. */
struct pl011 {
    uint32_t cr, lcr_h, ibrd, fbrd, imsc, ifls;
};
void pl011_init(struct pl011 *u);
uint32_t pl011_read(struct pl011 *u, uint64_t offset);
void pl011_write(struct pl011 *u, uint64_t offset, uint32_t v);

const char *a64m_ec_name(unsigned ec);

#endif /* ANYHV_TOOLS_ARM64_MACHINE_H */
