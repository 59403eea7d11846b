/* anyhv-run, Intel flavour: the PC machine that boots Linux (--kernel). Memory map,
 * devices beside the in-framework interrupt controllers (HV_VM_ACCEL_APIC: local APICs,
 * IOAPIC, 8259s), and the parts each file supplies:
 *   pc_linux.c    x86 Linux boot protocol: bzImage, zero page, e820, command line, initrd
 *   pc_acpi.c     RSDP, XSDT, MADT, FADT (PM timer, S5), DSDT
 *   pc_devices.c  8254 PIT, CMOS RTC, port 0x61, ACPI PM registers, reset port
 *   pc_uart.c     16550 UART on IRQ 4 with stdin as input
 *   vmm_pc.c      vCPU threads (INIT/SIPI), exits, ports and MMIO */
#ifndef ANYHV_TOOLS_PC_H
#define ANYHV_TOOLS_PC_H

#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "run.h"

/* Guest-physical layout (below 1 MiB) and the platform's fixed addresses. */
#define PC_GDT 0x0500u
#define PC_MULTIBOOT_INFO 0x5000u  /* multiboot_info, modules, memory map */
#define PC_PVH_START_INFO 0x6000u  /* hvm_start_info, module list, memory map */
#define PC_ZERO_PAGE 0x7000u
#define PC_PML4 0x9000u
#define PC_PDPT 0xa000u
#define PC_PD 0xb000u              /* four pages: the first 4 GiB in 2 MiB pages */
#define PC_CMDLINE 0x20000u
#define PC_CMDLINE_MAX 4096u
#define PC_EBDA 0x9fc00u
#define PC_BIOS_AREA 0xe0000u       /* ACPI tables live here; reserved in e820 */
#define PC_HIGH_MEM 0x100000u
#define PC_MAX_RAM 0xc0000000ull    /* RAM stays below the 3 GiB PCI/APIC hole */
#define PC_IOAPIC_BASE 0xfec00000ull
#define PC_LAPIC_BASE 0xfee00000ull
#define PC_MMIO_PAGE 0x1000ull
#define PC_MAX_CPUS 16u

/* Linux boot GDT selectors (boot protocol: __BOOT_CS, __BOOT_DS). */
#define PC_SEL_CODE 0x10u
#define PC_SEL_DATA 0x18u

/* ISA interrupt lines and the IOAPIC pins they reach (MADT overrides IRQ 0 -> 2). */
#define PC_IRQ_PIT 0u
#define PC_GSI_PIT 2u
#define PC_IRQ_UART 4u
#define PC_IRQ_SCI 9u

/* ACPI fixed-hardware ports. */
#define PC_PM1A_EVT 0x600u
#define PC_PM1A_CNT 0x604u
#define PC_PM_TMR 0x608u
#define PC_RESET_PORT 0xcf9u

struct pc;

/* Raise/lower an ISA line on both the 8259 and the IOAPIC (GSI = IRQ, except IRQ 0). */
void pc_irq(unsigned irq, bool level);
void pc_irq_pulse(unsigned irq);

/* pc_linux.c: load the kernel (bzImage: 64-bit entry with a zero page; Multiboot v1;
 * ELF vmlinux: PVH entry), initrd and command line; *kind says which entry to take. */
enum pc_boot_kind { PC_BOOT_LINUX64 = 0, PC_BOOT_PVH, PC_BOOT_MULTIBOOT };
int pc_linux_load(const struct run_options *o, uint8_t *ram, uint64_t ram_size, uint64_t rsdp, uint64_t *entry,
                  enum pc_boot_kind *kind);
/* Copy --initrd to the top of RAM below max_addr and above low; *size 0 without one. */
int pc_place_initrd(const struct run_options *o, uint8_t *ram, uint64_t ram_size, uint64_t low, uint64_t max_addr,
                    uint64_t *at, uint64_t *size);
/* pc_pvh.c */
bool pc_is_elf(const uint8_t *img, size_t len);
bool pc_is_elf32_or_64(const uint8_t *img, size_t len);
/* PT_LOAD segments at their physical addresses (above 1 MiB); e_entry and the end. */
int pc_elf_load_segments(const uint8_t *img, size_t len, uint8_t *ram, uint64_t ram_size, uint64_t *entry,
                         uint64_t *end);
/* pc_multiboot.c: the Multiboot header's offset in the first 8 KiB, or -1; loading. */
long pc_multiboot_header(const uint8_t *img, size_t len);
int pc_multiboot_load(const struct run_options *o, const uint8_t *img, size_t len, long hoff, uint8_t *ram,
                      uint64_t ram_size, uint64_t *entry);
int pc_pvh_load(const struct run_options *o, const uint8_t *img, size_t len, uint8_t *ram, uint64_t ram_size,
                uint64_t rsdp, uint64_t *entry);
/* pc_acpi.c: ACPI tables for `cpus` processors at PC_BIOS_AREA; returns the RSDP address. */
uint64_t pc_acpi_build(uint8_t *ram, unsigned cpus);

/* pc_devices.c. `now` is the time of an access in nanoseconds: pc_host_now_ns(), or in
 * deterministic mode (det) the accessing vCPU's virtual time. */
struct pc_devices;
struct pc_devices *pc_devices_create(bool det);
void pc_devices_destroy(struct pc_devices *d);
uint64_t pc_host_now_ns(void);
/* Port I/O of the devices here; false when the port is not theirs. */
bool pc_devices_in(struct pc_devices *d, uint16_t port, unsigned size, uint64_t now, uint32_t *value);
/* out: returns false when the port is not theirs; *power_off set for S5 / reset. */
bool pc_devices_out(struct pc_devices *d, uint16_t port, unsigned size, uint64_t now, uint32_t value,
                    bool *power_off);
/* Deterministic mode: the PIT channel 0's next expiry (UINT64_MAX: none), and whether it
 * expired by `now` (then IRQ 0 is the caller's to pulse). */
uint64_t pc_devices_pit_due(struct pc_devices *d);
bool pc_devices_pit_fire(struct pc_devices *d, uint64_t now);
/* The machine stopped because the guest reset it (there is no firmware to reboot into). */
bool pc_devices_reset_requested(struct pc_devices *d);

/* pc_fwcfg.c: QEMU's fw_cfg, legacy I/O interface. */
#define PC_FWCFG_SELECTOR 0x510u
#define PC_FWCFG_DATA 0x511u
struct pc_fwcfg {
    uint16_t selector;
    uint32_t offset;
    uint64_t ram_size;
    uint16_t cpus;
    const char *cmdline;
};
bool pc_fwcfg_in(struct pc_fwcfg *f, uint16_t port, uint32_t *value);
bool pc_fwcfg_out(struct pc_fwcfg *f, uint16_t port, uint32_t value);

/* pc_uart.c. With `reader` a thread feeds stdin into the receive FIFO as it comes;
 * without (deterministic mode) pc_uart_poll takes the console's input at the caller's
 * instants (each answer logged by --record). */
struct pc_uart;
struct pc_uart *pc_uart_create(bool reader);
void pc_uart_poll(struct pc_uart *u);
void pc_uart_destroy(struct pc_uart *u);
uint8_t pc_uart_read(struct pc_uart *u, unsigned reg);
void pc_uart_write(struct pc_uart *u, unsigned reg, uint8_t v);
#define PC_UART_BASE 0x3f8u
#define PC_UART_PORTS 8u

/* vmm_pc.c: boots --kernel; the run's exit status. */
int pc_run(const struct run_options *o);

#endif /* ANYHV_TOOLS_PC_H */
