/* anyhv-run: the PL011 UART at 0x09000000: transmit always ready, receive from stdin,
 * control registers kept, PrimeCell ids readable, and the interrupt status (RIS/MIS)
 * an interrupt-driven driver needs: TX always, RX and receive-timeout while input waits. */
#include "arm64_machine.h"
#include "run.h"

enum pl011_reg {
    PL011_DR = 0x000, PL011_RSR = 0x004, PL011_FR = 0x018, PL011_IBRD = 0x024, PL011_FBRD = 0x028,
    PL011_LCR_H = 0x02c, PL011_CR = 0x030, PL011_IFLS = 0x034, PL011_IMSC = 0x038, PL011_RIS = 0x03c,
    PL011_MIS = 0x040, PL011_ICR = 0x044, PL011_ID_BASE = 0xfe0,
};
#define PL011_INT_RX (1u << 4)
#define PL011_INT_TX (1u << 5)
#define PL011_INT_RT (1u << 6)
#define PL011_FR_RXFE (1u << 4)
#define PL011_FR_TXFE (1u << 7)
#define PL011_CR_RESET 0x300u      /* TXE | RXE */
#define PL011_IFLS_RESET 0x12u
/* PeriphID0..3 and PCellID0..3 of an r1p5 PL011. */
static const uint8_t pl011_ids[8] = { 0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

/* Transmit is always ready (output is written at once); receive while stdin has data. */
static uint32_t raw_status(void)
{
    return PL011_INT_TX | (console_has_input() ? PL011_INT_RX | PL011_INT_RT : 0);
}

bool pl011_irq_level(const struct pl011 *u)
{
    return (raw_status() & u->imsc) != 0;
}

void pl011_init(struct pl011 *u)
{
    *u = (struct pl011){ .cr = PL011_CR_RESET, .ifls = PL011_IFLS_RESET };
}

uint32_t pl011_read(struct pl011 *u, uint64_t offset)
{
    if (offset >= PL011_ID_BASE && offset < PL011_ID_BASE + 4 * sizeof(pl011_ids))
        return pl011_ids[(offset - PL011_ID_BASE) / 4];
    switch ((enum pl011_reg)offset) {
    case PL011_DR: {
        int c = console_getc();
        return c < 0 ? 0 : (uint32_t)c;
    }
    case PL011_FR: return PL011_FR_TXFE | (console_has_input() ? 0 : PL011_FR_RXFE);
    case PL011_IBRD: return u->ibrd;
    case PL011_FBRD: return u->fbrd;
    case PL011_LCR_H: return u->lcr_h;
    case PL011_CR: return u->cr;
    case PL011_IFLS: return u->ifls;
    case PL011_IMSC: return u->imsc;
    case PL011_RIS: return raw_status();
    case PL011_MIS: return raw_status() & u->imsc;
    default: return 0;   /* RSR and reserved offsets: no errors */
    }
}

void pl011_write(struct pl011 *u, uint64_t offset, uint32_t v)
{
    switch ((enum pl011_reg)offset) {
    case PL011_DR: console_putc((uint8_t)v); return;
    case PL011_IBRD: u->ibrd = v; return;
    case PL011_FBRD: u->fbrd = v; return;
    case PL011_LCR_H: u->lcr_h = v; return;
    case PL011_CR: u->cr = v; return;
    case PL011_IFLS: u->ifls = v; return;
    case PL011_IMSC: u->imsc = v; return;
    default: return;     /* ICR, RSR (error clear) and read-only registers */
    }
}

const char *a64m_ec_name(unsigned ec)
{
    switch ((enum a64m_ec)ec) {
    case EC_UNKNOWN: return "unknown-reason";
    case EC_WFX: return "wfi/wfe";
    case EC_HVC64: return "hvc";
    case EC_SMC64: return "smc";
    case EC_SYSREG: return "sysreg";
    case EC_IABT_LOWER:
    case EC_IABT_SAME: return "instruction-abort";
    case EC_PC_ALIGN: return "pc-alignment";
    case EC_DABT_LOWER:
    case EC_DABT_SAME: return "data-abort";
    case EC_SP_ALIGN: return "sp-alignment";
    case EC_BRK: return "brk";
    }
    return "exception";
}
