/* anyhv-run PC machine: QEMU's fw_cfg through its legacy I/O ports, the subset that
 * bare-metal test images read: the selector at 0x510 (16-bit write), the data port at
 * 0x511 (one byte per read, advancing). Items: signature "QEMU", interface id 1 (no
 * DMA), RAM size, CPU count (and maximum), the command line (size with its NUL, then
 * the bytes), and an empty file directory. Multi-byte items are little-endian, as
 * QEMU's are; the directory's count is big-endian, as QEMU's is. */
#include <string.h>

#include "pc.h"

enum {
    FW_CFG_SIGNATURE = 0x00, FW_CFG_ID = 0x01, FW_CFG_RAM_SIZE = 0x03, FW_CFG_NB_CPUS = 0x05,
    FW_CFG_MAX_CPUS = 0x0f, FW_CFG_CMDLINE_SIZE = 0x14, FW_CFG_CMDLINE_DATA = 0x15, FW_CFG_FILE_DIR = 0x19,
};
#define FW_CFG_ID_TRADITIONAL 1u
#define ITEM_MAX 8u

/* The bytes of the selected item (for the fixed-size ones, in *buf). */
static const uint8_t *item(const struct pc_fwcfg *f, uint8_t *buf, uint32_t *len)
{
    uint64_t v = 0;
    switch (f->selector) {
    case FW_CFG_SIGNATURE: *len = 4; return (const uint8_t *)"QEMU";
    case FW_CFG_ID: v = FW_CFG_ID_TRADITIONAL; *len = 4; break;
    case FW_CFG_RAM_SIZE: v = f->ram_size; *len = 8; break;
    case FW_CFG_NB_CPUS: case FW_CFG_MAX_CPUS: v = f->cpus; *len = 2; break;
    case FW_CFG_CMDLINE_SIZE: v = strlen(f->cmdline) + 1; *len = 4; break;
    case FW_CFG_CMDLINE_DATA: *len = (uint32_t)strlen(f->cmdline) + 1; return (const uint8_t *)f->cmdline;
    case FW_CFG_FILE_DIR: v = 0; *len = 4; break;   /* count 0 (big-endian zero is zero) */
    default: *len = 0; return buf;
    }
    memcpy(buf, &v, ITEM_MAX);   /* little-endian host */
    return buf;
}

bool pc_fwcfg_in(struct pc_fwcfg *f, uint16_t port, uint32_t *value)
{
    if (port == PC_FWCFG_SELECTOR) {
        *value = f->selector;
        return true;
    }
    if (port != PC_FWCFG_DATA)
        return false;
    uint8_t buf[ITEM_MAX];
    uint32_t len;
    const uint8_t *p = item(f, buf, &len);
    *value = f->offset < len ? p[f->offset++] : 0;
    return true;
}

bool pc_fwcfg_out(struct pc_fwcfg *f, uint16_t port, uint32_t value)
{
    if (port == PC_FWCFG_SELECTOR) {
        f->selector = (uint16_t)value;
        f->offset = 0;
        return true;
    }
    return port == PC_FWCFG_DATA;   /* writes to items are ignored, as for read-only items */
}
