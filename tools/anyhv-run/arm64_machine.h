/* anyhv-run, Apple-silicon flavour: the machine's layout, its devices, and the ESR
 * fields the run loop decodes (ARM ARM D17.2.37, ESR_ELx). */
#ifndef ANYHV_TOOLS_ARM64_MACHINE_H
#define ANYHV_TOOLS_ARM64_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define A64M_RAM_BASE 0x40000000ull
#define A64M_DEFAULT_LOAD 0x40080000ull
#define A64M_MIN_RAM (1ull << 20)
#define A64M_PL011_BASE 0x09000000ull
#define A64M_PL011_SIZE 0x1000ull
#define A64M_DEBUG_EXIT 0x09010000ull
#define A64M_PSTATE_EL1H_DAIF 0x3c5ull
/* The board (--kernel, --dtb auto): an in-framework GICv3, PSCI, the PL011's interrupt. */
#define A64M_GICD_BASE 0x08000000ull
#define A64M_GICR_BASE 0x080a0000ull
#define A64M_UART_SPI 1u                 /* INTID 33 */
#define A64M_UART_INTID (32u + A64M_UART_SPI)
#define A64M_MAX_CPUS 8u
#define A64M_DT_SPACE 0x200000ull        /* the DT lives in the top 2 MiB of RAM */
#define A64M_DT_MAX 0x10000u
#define A64M_CNTFRQ 24000000u

struct a64_board {
    uint64_t ram_base, ram_size;
    unsigned ncpus;
    const char *bootargs;                /* NULL: no /chosen/bootargs */
    uint64_t initrd_start, initrd_end;   /* both 0: no initrd */
};
/* Writes the board's flattened device tree into buf; 0 or a libfdt error. */
int a64_fdt_build(void *buf, size_t size, const struct a64_board *b);
/* Loads an arm64 Linux Image (boot protocol header) and the optional initrd into RAM;
 * fills entry, the initrd range, and the DT address (top of RAM). RUN_OK or a status. */
int a64_linux_load(const char *kernel, const char *initrd, uint8_t *ram, uint64_t ram_base, uint64_t ram_size,
                   uint64_t *entry, uint64_t *initrd_start, uint64_t *initrd_end);

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
#define PSCI_CPU_SUSPEND 0x84000001u
#define PSCI_CPU_OFF 0x84000002u
#define PSCI_CPU_ON 0x84000003u
#define PSCI_AFFINITY_INFO 0x84000004u
#define PSCI_MIGRATE_INFO_TYPE 0x84000006u
#define PSCI_SYSTEM_OFF 0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u
#define PSCI_FEATURES 0x8400000au
#define PSCI_SMC64 0x40000000u          /* the SMC64 form of a function id */
#define PSCI_VERSION_1_0 0x10000u
#define PSCI_SUCCESS 0ull
#define PSCI_NOT_SUPPORTED 0xffffffffffffffffull
#define PSCI_INVALID_PARAMETERS 0xfffffffffffffffeull
#define PSCI_ALREADY_ON 0xfffffffffffffffcull
#define PSCI_TOS_NOT_PRESENT 2u         /* MIGRATE_INFO_TYPE: no trusted OS to migrate */

/* PL011 registers and the part of their behaviour polling guests need. */
struct pl011 {
    uint32_t cr, lcr_h, ibrd, fbrd, imsc, ifls;
};
void pl011_init(struct pl011 *u);
uint32_t pl011_read(struct pl011 *u, uint64_t offset);
void pl011_write(struct pl011 *u, uint64_t offset, uint32_t v);
/* The UART's interrupt output: a masked interrupt status bit is set (TX always
 * ready; RX/RT while input is waiting). */
bool pl011_irq_level(const struct pl011 *u);

const char *a64m_ec_name(unsigned ec);

#endif /* ANYHV_TOOLS_ARM64_MACHINE_H */
