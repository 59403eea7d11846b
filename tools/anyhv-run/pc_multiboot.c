/* anyhv-run PC machine: Multiboot (v1) kernels, as bare-metal test images written for
 * QEMU's `-kernel` are. The header (magic 0x1BADB002 in the first 8 KiB) either gives
 * load addresses (flag 16: a flat image) or the ELF's own PT_LOAD segments are used.
 * The CPU starts in 32-bit protected mode, paging off, with EAX = 0x2BADB002 and
 * EBX = the multiboot information: lower/upper memory, the command line, the initrd
 * as module 0, and a memory map. */
#include <stdio.h>
#include <string.h>

#include "pc.h"

#define MB_MAGIC 0x1badb002u
#define MB_SEARCH 8192u
#define MB_FLAG_AOUT_KLUDGE (1u << 16)
#define MB_FLAG_UNSUPPORTED 0x0000fffcu   /* video mode (2) and unknown required bits */
#define MB_INFO_MEM (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS (1u << 3)
#define MB_INFO_MMAP (1u << 6)
#define MB_INFO_SIZE 120u
#define MB_MOD_SIZE 16u
#define MB_MMAP_ENTRY 24u     /* size field (4) + 20 bytes */
#define MB_LOWER_KB 639u
#define E820_RAM 1u
#define E820_RESERVED 2u
#define MB_MODS (PC_MULTIBOOT_INFO + 0x100u)
#define MB_MMAP (PC_MULTIBOOT_INFO + 0x200u)

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* Offset of the Multiboot header, or -1. */
long pc_multiboot_header(const uint8_t *img, size_t len)
{
    for (size_t off = 0; off + 12 <= len && off < MB_SEARCH; off += 4) {
        uint32_t magic = get32(img + off), flags = get32(img + off + 4), sum = get32(img + off + 8);
        if (magic == MB_MAGIC && (uint32_t)(magic + flags + sum) == 0)
            return (long)off;
    }
    return -1;
}

/* Flag 16: header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr. */
static int load_flat(const uint8_t *img, size_t len, long hoff, uint8_t *ram, uint64_t ram_size, uint64_t *entry,
                     uint64_t *end)
{
    const uint8_t *h = img + hoff + 12;
    uint32_t header_addr = get32(h), load = get32(h + 4), load_end = get32(h + 8), bss_end = get32(h + 12);
    uint64_t file_off = (uint64_t)hoff - (header_addr - load);
    uint64_t n = load_end ? (uint64_t)load_end - load : len - file_off;
    uint64_t top = bss_end > load + n ? bss_end : load + n;
    if (header_addr < load || file_off > len || n > len - file_off || load < PC_HIGH_MEM || top > ram_size)
        return RUN_BAD_IMAGE;
    memcpy(ram + load, img + file_off, n);
    memset(ram + load + n, 0, top - load - n);
    *entry = get32(h + 16);
    *end = top;
    return RUN_OK;
}

static void mmap_entry(uint8_t *ram, unsigned i, uint64_t base, uint64_t size, uint32_t type)
{
    uint8_t *e = ram + MB_MMAP + (uint64_t)i * MB_MMAP_ENTRY;
    put32(e, MB_MMAP_ENTRY - 4);
    put64(e + 4, base);
    put64(e + 12, size);
    put32(e + 20, type);
}

static int build_info(const struct run_options *o, uint8_t *ram, uint64_t ram_size, uint64_t end)
{
    uint8_t *mi = ram + PC_MULTIBOOT_INFO;
    memset(mi, 0, MB_INFO_SIZE);
    uint32_t flags = MB_INFO_MEM | MB_INFO_CMDLINE | MB_INFO_MMAP;
    put32(mi + 4, MB_LOWER_KB);
    put32(mi + 8, (uint32_t)((ram_size - PC_HIGH_MEM) >> 10));
    const char *cmd = o->append ? o->append : "";
    if (strlen(cmd) >= PC_CMDLINE_MAX)
        return RUN_USAGE;
    memcpy(ram + PC_CMDLINE, cmd, strlen(cmd) + 1);
    put32(mi + 16, PC_CMDLINE);
    uint64_t at = 0, len = 0;
    int status = pc_place_initrd(o, ram, ram_size, end, 0xffffffffull, &at, &len);
    if (status != RUN_OK)
        return status;
    if (len) {
        flags |= MB_INFO_MODS;
        uint8_t *m = ram + MB_MODS;
        memset(m, 0, MB_MOD_SIZE);
        put32(m, (uint32_t)at);
        put32(m + 4, (uint32_t)(at + len));
        put32(mi + 20, 1);
        put32(mi + 24, MB_MODS);
    }
    mmap_entry(ram, 0, 0, PC_EBDA, E820_RAM);
    mmap_entry(ram, 1, PC_EBDA, PC_HIGH_MEM - PC_EBDA, E820_RESERVED);
    mmap_entry(ram, 2, PC_HIGH_MEM, ram_size - PC_HIGH_MEM, E820_RAM);
    put32(mi + 44, 3 * MB_MMAP_ENTRY);
    put32(mi + 48, MB_MMAP);
    put32(mi, flags);
    return RUN_OK;
}

int pc_multiboot_load(const struct run_options *o, const uint8_t *img, size_t len, long hoff, uint8_t *ram,
                      uint64_t ram_size, uint64_t *entry)
{
    uint32_t flags = get32(img + hoff + 4);
    if (flags & MB_FLAG_UNSUPPORTED) {
        fprintf(stderr, "anyhv-run: '%s' asks for Multiboot features this loader lacks (flags %#x)\n", o->kernel,
                flags);
        return RUN_BAD_IMAGE;
    }
    uint64_t end = 0;
    int status = RUN_BAD_IMAGE;
    if (flags & MB_FLAG_AOUT_KLUDGE)
        status = load_flat(img, len, hoff, ram, ram_size, entry, &end);
    else if (pc_is_elf32_or_64(img, len))
        status = pc_elf_load_segments(img, len, ram, ram_size, entry, &end);
    if (status != RUN_OK) {
        fprintf(stderr, "anyhv-run: cannot load Multiboot kernel '%s' (addresses outside RAM? --mem)\n", o->kernel);
        return status;
    }
    return build_info(o, ram, ram_size, end);
}
