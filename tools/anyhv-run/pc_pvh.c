/* anyhv-run PC machine: the PVH boot ABI for an ELF vmlinux (the Xen PVH entry that
 * Linux also accepts on bare virtual hardware). PT_LOAD segments go to their physical
 * addresses; the entry is the XEN_ELFNOTE_PHYS32_ENTRY note; the CPU starts in 32-bit
 * protected mode with paging off, flat segments, EBX = the hvm_start_info structure
 * (version 1: command line, the initrd as module 0, the memory map, the RSDP). This
 * skips the bzImage's own decompressor, which on the interpreter tier is most of the
 * time to the kernel proper. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc.h"

#define ELF_MAGIC "\177ELF"
#define ELFCLASS32 1
#define ELFCLASS64 2
#define PT_LOAD 1
#define PT_NOTE 4
#define XEN_ELFNOTE_PHYS32_ENTRY 18u
#define START_INFO_MAGIC 0x336ec578u
#define START_INFO_VERSION 1u
#define START_INFO_SIZE 56u
#define MODLIST_ENTRY_SIZE 32u
#define MEMMAP_ENTRY_SIZE 24u
#define E820_RAM 1u
#define E820_RESERVED 2u
#define PVH_MODLIST (PC_PVH_START_INFO + 0x100u)
#define PVH_MEMMAP (PC_PVH_START_INFO + 0x200u)

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

bool pc_is_elf(const uint8_t *img, size_t len)
{
    return len > 0x40 && !memcmp(img, ELF_MAGIC, 4) && img[4] == ELFCLASS64;
}

bool pc_is_elf32_or_64(const uint8_t *img, size_t len)
{
    return len > 0x40 && !memcmp(img, ELF_MAGIC, 4) && (img[4] == ELFCLASS32 || img[4] == ELFCLASS64);
}



/* One program header, either class. */
struct phdr { uint32_t type; uint64_t off, pa, filesz, memsz; };

static bool phdr_at(const uint8_t *img, size_t len, unsigned i, struct phdr *ph)
{
    bool c64 = img[4] == ELFCLASS64;
    uint64_t phoff = c64 ? get64(img + 0x20) : get32(img + 0x1c);
    unsigned entsize = get16(img + (c64 ? 0x36 : 0x2a));
    uint64_t at = phoff + (uint64_t)i * entsize, need = c64 ? 0x38 : 0x20;
    if (phoff > len || at + need > len)
        return false;
    const uint8_t *p = img + at;
    ph->type = get32(p);
    ph->off = c64 ? get64(p + 0x08) : get32(p + 0x04);
    ph->pa = c64 ? get64(p + 0x18) : get32(p + 0x0c);
    ph->filesz = c64 ? get64(p + 0x20) : get32(p + 0x10);
    ph->memsz = c64 ? get64(p + 0x28) : get32(p + 0x14);
    return ph->off <= len && ph->filesz <= len - ph->off && ph->filesz <= ph->memsz;
}

static unsigned phnum(const uint8_t *img)
{
    return get16(img + (img[4] == ELFCLASS64 ? 0x38 : 0x2c));
}

int pc_elf_load_segments(const uint8_t *img, size_t len, uint8_t *ram, uint64_t ram_size, uint64_t *entry,
                         uint64_t *end)
{
    *end = 0;
    *entry = img[4] == ELFCLASS64 ? get64(img + 0x18) : get32(img + 0x18);
    for (unsigned i = 0; i < phnum(img); i++) {
        struct phdr ph;
        if (!phdr_at(img, len, i, &ph))
            return RUN_BAD_IMAGE;
        if (ph.type != PT_LOAD)
            continue;
        if (ph.pa < PC_HIGH_MEM || ph.pa > ram_size || ph.memsz > ram_size - ph.pa)
            return RUN_BAD_IMAGE;
        memcpy(ram + ph.pa, img + ph.off, ph.filesz);
        memset(ram + ph.pa + ph.filesz, 0, ph.memsz - ph.filesz);
        *end = ph.pa + ph.memsz > *end ? ph.pa + ph.memsz : *end;
    }
    return RUN_OK;
}

/* The PHYS32 entry from one PT_NOTE segment's notes; 0 when absent. */
static uint32_t note_entry(const uint8_t *p, uint64_t len)
{
    uint64_t off = 0;
    while (off + 12 <= len) {
        uint32_t namesz = get32(p + off), descsz = get32(p + off + 4), type = get32(p + off + 8);
        uint64_t name = off + 12, desc = name + ((namesz + 3u) & ~3u);
        if (desc + descsz > len)
            return 0;
        if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && !memcmp(p + name, "Xen", 4) && descsz >= 4)
            return get32(p + desc);
        off = desc + ((descsz + 3u) & ~3u);
    }
    return 0;
}

/* The PVH entry from the PT_NOTE segments; 0 when absent. */
static uint32_t pvh_entry(const uint8_t *img, size_t len)
{
    for (unsigned i = 0; i < phnum(img); i++) {
        struct phdr ph;
        if (phdr_at(img, len, i, &ph) && ph.type == PT_NOTE) {
            uint32_t e = note_entry(img + ph.off, ph.filesz);
            if (e)
                return e;
        }
    }
    return 0;
}

static void memmap_entry(uint8_t *ram, unsigned i, uint64_t addr, uint64_t size, uint32_t type)
{
    uint8_t *e = ram + PVH_MEMMAP + (uint64_t)i * MEMMAP_ENTRY_SIZE;
    put64(e, addr);
    put64(e + 8, size);
    put32(e + 16, type);
    put32(e + 20, 0);
}

int pc_pvh_load(const struct run_options *o, const uint8_t *img, size_t len, uint8_t *ram, uint64_t ram_size,
                uint64_t rsdp, uint64_t *entry)
{
    uint64_t end, elf_entry;
    uint32_t e = pvh_entry(img, len);
    if (!e || pc_elf_load_segments(img, len, ram, ram_size, &elf_entry, &end) != RUN_OK) {
        fprintf(stderr, "anyhv-run: '%s' is an ELF without a PVH entry note, or does not fit in RAM (--mem)\n",
                o->kernel);
        return RUN_BAD_IMAGE;
    }
    uint8_t *si = ram + PC_PVH_START_INFO;
    memset(si, 0, START_INFO_SIZE);
    put32(si, START_INFO_MAGIC);
    put32(si + 4, START_INFO_VERSION);
    const char *cmd = o->append ? o->append : "";
    if (strlen(cmd) >= PC_CMDLINE_MAX) {
        fprintf(stderr, "anyhv-run: --append is too long\n");
        return RUN_USAGE;
    }
    memcpy(ram + PC_CMDLINE, cmd, strlen(cmd) + 1);
    put64(si + 0x18, PC_CMDLINE);
    put64(si + 0x20, rsdp);
    uint64_t initrd_at = 0, initrd_len = 0;
    int status = pc_place_initrd(o, ram, ram_size, end, 0xffffffffull, &initrd_at, &initrd_len);
    if (status != RUN_OK)
        return status;
    if (initrd_len) {
        uint8_t *m = ram + PVH_MODLIST;
        memset(m, 0, MODLIST_ENTRY_SIZE);
        put64(m, initrd_at);
        put64(m + 8, initrd_len);
        put32(si + 0x0c, 1);
        put64(si + 0x10, PVH_MODLIST);
    }
    memmap_entry(ram, 0, 0, PC_EBDA, E820_RAM);
    memmap_entry(ram, 1, PC_EBDA, PC_HIGH_MEM - PC_EBDA, E820_RESERVED);
    memmap_entry(ram, 2, PC_HIGH_MEM, ram_size - PC_HIGH_MEM, E820_RAM);
    memmap_entry(ram, 3, PC_IOAPIC_BASE, PC_MMIO_PAGE, E820_RESERVED);
    memmap_entry(ram, 4, PC_LAPIC_BASE, PC_MMIO_PAGE, E820_RESERVED);
    put64(si + 0x28, PVH_MEMMAP);
    put32(si + 0x30, 5);
    *entry = e;
    return RUN_OK;
}
