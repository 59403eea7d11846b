/* anyhv-run PC machine: ACPI tables (ACPI 6.x layouts) at PC_BIOS_AREA.
 *   RSDP (revision 2) -> XSDT -> FADT, MADT;  FADT -> DSDT
 *   MADT: one local APIC per CPU, the IOAPIC at PC_IOAPIC_BASE, ISA IRQ 0 -> GSI 2,
 *         the SCI (IRQ 9) level-triggered active high, LINT1 as NMI.
 *   FADT: PM1a event/control blocks and the 24-bit PM timer in I/O space, SCI on IRQ 9,
 *         reset register at port 0xcf9, no 8042, no VGA, no FACS (hardware not reduced).
 *   DSDT: only \_S5 (sleep type 5), so the guest can power off through PM1a_CNT. */
#include <string.h>

#include "pc.h"

#define HDR_LEN 36u
#define RSDP_LEN 36u
#define RSDP_V1_LEN 20u
#define FADT_LEN 276u
#define FADT_REVISION 6u
#define FADT_MINOR 3u
#define MADT_REVISION 5u
#define XSDT_ENTRIES 2u
#define GAS_IO 1u
#define GAS_ACCESS_BYTE 1u
#define GAS_ACCESS_WORD 2u
#define GAS_ACCESS_DWORD 3u
/* FADT flags: WBINVD, PROC_C1, PWR_BUTTON (no fixed power button), SLP_BUTTON, RESET_REG_SUP. */
#define FADT_FLAGS ((1u << 0) | (1u << 2) | (1u << 4) | (1u << 5) | (1u << 10))
/* IAPC_BOOT_ARCH: LEGACY_DEVICES, no 8042 (bit 1 clear), VGA not present. */
#define FADT_BOOT_ARCH ((1u << 0) | (1u << 2))
#define RESET_VALUE 0x06u
#define MADT_PCAT_COMPAT 1u
#define MADT_LAPIC 0u
#define MADT_IOAPIC 1u
#define MADT_OVERRIDE 2u
#define MADT_LAPIC_NMI 4u
#define OVERRIDE_LEVEL_HIGH 0x000du   /* polarity active high (01), trigger level (11) */
#define LAPIC_ENABLED 1u
#define IOAPIC_ID 0u
/* Name(_S5_, Package(4) {5, 5, 0, 0}) */
static const uint8_t dsdt_aml[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00 };

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint8_t checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)(0 - sum);
}

static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
    memset(t, 0, HDR_LEN);
    memcpy(t, sig, 4);
    put32(t + 4, len);
    t[8] = rev;
    memcpy(t + 10, "ANYHV ", 6);
    memcpy(t + 16, "ANYHVPC ", 8);
    put32(t + 24, 1);
    memcpy(t + 28, "AHV ", 4);
    put32(t + 32, 1);
}

static void seal(uint8_t *t)
{
    uint32_t len;
    memcpy(&len, t + 4, 4);
    t[9] = 0;
    t[9] = checksum(t, len);
}

/* Generic address structure for an I/O port block. */
static void gas_io(uint8_t *g, uint16_t port, uint8_t bits, uint8_t access)
{
    g[0] = GAS_IO;
    g[1] = bits;
    g[2] = 0;
    g[3] = access;
    put64(g + 4, port);
}

static uint32_t build_fadt(uint8_t *t, uint64_t dsdt)
{
    memset(t, 0, FADT_LEN);
    header(t, "FACP", FADT_LEN, FADT_REVISION);
    put32(t + 40, (uint32_t)dsdt);
    put16(t + 46, PC_IRQ_SCI);
    put32(t + 56, PC_PM1A_EVT);
    put32(t + 64, PC_PM1A_CNT);
    put32(t + 76, PC_PM_TMR);
    t[88] = 4;                          /* PM1_EVT_LEN */
    t[89] = 2;                          /* PM1_CNT_LEN */
    t[91] = 4;                          /* PM_TMR_LEN */
    put16(t + 96, 101);                 /* P_LVL2_LAT > 100: no C2 */
    put16(t + 98, 1001);                /* P_LVL3_LAT > 1000: no C3 */
    t[108] = 0x32;                      /* CENTURY in CMOS */
    put16(t + 109, FADT_BOOT_ARCH);
    put32(t + 112, FADT_FLAGS);
    gas_io(t + 116, PC_RESET_PORT, 8, GAS_ACCESS_BYTE);
    t[128] = RESET_VALUE;
    t[131] = FADT_MINOR;
    put64(t + 140, dsdt);
    gas_io(t + 148, PC_PM1A_EVT, 32, GAS_ACCESS_WORD);
    gas_io(t + 172, PC_PM1A_CNT, 16, GAS_ACCESS_WORD);
    gas_io(t + 208, PC_PM_TMR, 32, GAS_ACCESS_DWORD);
    seal(t);
    return FADT_LEN;
}

static uint32_t build_madt(uint8_t *t, unsigned cpus)
{
    uint32_t n = HDR_LEN + 8;
    for (unsigned i = 0; i < cpus; i++, n += 8) {
        uint8_t *e = t + n;
        e[0] = MADT_LAPIC;
        e[1] = 8;
        e[2] = (uint8_t)i;              /* ACPI processor UID */
        e[3] = (uint8_t)i;              /* APIC id = vCPU id */
        put32(e + 4, LAPIC_ENABLED);
    }
    uint8_t *io = t + n;
    io[0] = MADT_IOAPIC;
    io[1] = 12;
    io[2] = IOAPIC_ID;
    io[3] = 0;
    put32(io + 4, (uint32_t)PC_IOAPIC_BASE);
    put32(io + 8, 0);
    n += 12;
    const struct { uint8_t irq; uint32_t gsi; uint16_t flags; } ov[] = {
        { PC_IRQ_PIT, PC_GSI_PIT, 0 }, { PC_IRQ_SCI, PC_IRQ_SCI, OVERRIDE_LEVEL_HIGH },
    };
    for (unsigned i = 0; i < 2; i++, n += 10) {
        uint8_t *e = t + n;
        e[0] = MADT_OVERRIDE;
        e[1] = 10;
        e[2] = 0;                       /* ISA bus */
        e[3] = ov[i].irq;
        put32(e + 4, ov[i].gsi);
        put16(e + 8, ov[i].flags);
    }
    uint8_t *nmi = t + n;
    nmi[0] = MADT_LAPIC_NMI;
    nmi[1] = 6;
    nmi[2] = 0xff;                      /* all processors */
    put16(nmi + 3, 0);
    nmi[5] = 1;                         /* LINT1 */
    n += 6;
    uint8_t *body = t;
    header(body, "APIC", n, MADT_REVISION);
    put32(body + HDR_LEN, (uint32_t)PC_LAPIC_BASE);
    put32(body + HDR_LEN + 4, MADT_PCAT_COMPAT);
    seal(body);
    return n;
}

uint64_t pc_acpi_build(uint8_t *ram, unsigned cpus)
{
    uint64_t rsdp = PC_BIOS_AREA, xsdt = rsdp + 64, dsdt = xsdt + 64, fadt = dsdt + 64, madt = fadt + 512;
    uint8_t *d = ram + dsdt;
    header(d, "DSDT", HDR_LEN + sizeof(dsdt_aml), 2);
    memcpy(d + HDR_LEN, dsdt_aml, sizeof(dsdt_aml));
    seal(d);
    build_fadt(ram + fadt, dsdt);
    build_madt(ram + madt, cpus);
    uint8_t *x = ram + xsdt;
    header(x, "XSDT", HDR_LEN + 8 * XSDT_ENTRIES, 1);
    put64(x + HDR_LEN, fadt);
    put64(x + HDR_LEN + 8, madt);
    seal(x);
    uint8_t *r = ram + rsdp;
    memset(r, 0, RSDP_LEN);
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, "ANYHV ", 6);
    r[15] = 2;                          /* revision: ACPI 2.0+ */
    put32(r + 20, RSDP_LEN);
    put64(r + 24, xsdt);
    r[8] = checksum(r, RSDP_V1_LEN);
    r[32] = checksum(r, RSDP_LEN);
    return rsdp;
}
