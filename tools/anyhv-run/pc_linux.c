/* anyhv-run PC machine: the x86 Linux boot protocol (Documentation/x86/boot.rst),
 * 64-bit entry. The protected-mode part of a bzImage is copied to its preferred
 * address (or 16 MiB), the setup header goes into a zero page with an e820 map, the
 * command line and initrd pointers and the RSDP address; the CPU then starts at the
 * 64-bit entry (load address + 0x200) in long mode with the first 4 GiB identity
 * mapped, CS = __BOOT_CS and the data segments = __BOOT_DS, RSI = zero page. An ELF
 * vmlinux goes to the PVH entry instead (pc_pvh.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc.h"

/* Setup header fields (offsets in the bzImage file and in the zero page). */
#define HDR_SETUP_SECTS 0x1f1u
#define HDR_BOOT_FLAG 0x1feu
#define HDR_JUMP_END 0x201u
#define HDR_MAGIC 0x202u
#define HDR_VERSION 0x206u
#define HDR_TYPE_OF_LOADER 0x210u
#define HDR_LOADFLAGS 0x211u
#define HDR_RAMDISK_IMAGE 0x218u
#define HDR_RAMDISK_SIZE 0x21cu
#define HDR_HEAP_END 0x224u
#define HDR_CMD_LINE_PTR 0x228u
#define HDR_INITRD_MAX 0x22cu
#define HDR_KERNEL_ALIGN 0x230u
#define HDR_RELOCATABLE 0x234u
#define HDR_XLOADFLAGS 0x236u
#define HDR_CMDLINE_SIZE 0x238u
#define HDR_PREF_ADDRESS 0x258u
#define HDR_INIT_SIZE 0x260u
#define BOOT_FLAG 0xaa55u
#define HDR_MAGIC_VALUE 0x53726448u   /* "HdrS" */
#define MIN_VERSION 0x020cu            /* 2.12: 64-bit entry and xloadflags */
#define XLF_KERNEL_64 0x01u
#define LOADED_HIGH 0x01u
#define CAN_USE_HEAP 0x80u
#define LOADER_UNDEFINED 0xffu
#define ENTRY64_OFFSET 0x200u
#define DEFAULT_LOAD 0x1000000ull
/* Zero-page fields beyond the setup header. */
#define ZP_ACPI_RSDP 0x070u
#define ZP_EXT_RAMDISK_IMAGE 0x0c0u
#define ZP_EXT_RAMDISK_SIZE 0x0c4u
#define ZP_EXT_CMD_LINE_PTR 0x0c8u
#define ZP_E820_ENTRIES 0x1e8u
#define ZP_E820_TABLE 0x2d0u
#define E820_ENTRY_SIZE 20u
#define E820_RAM 1u
#define E820_RESERVED 2u
/* Page-table entry bits and the boot GDT's descriptors. */
#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull
#define PD_PAGES 4u
#define DESC_CODE64 0x00af9b000000ffffull
#define DESC_DATA 0x00cf93000000ffffull

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) != NULL &&
            fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = n > 0 ? (size_t)n : 0;
    }
    fclose(f);
    return buf;
}

static void e820_add(uint8_t *zp, uint64_t addr, uint64_t size, uint32_t type)
{
    uint8_t n = zp[ZP_E820_ENTRIES];
    uint8_t *e = zp + ZP_E820_TABLE + n * E820_ENTRY_SIZE;
    put64(e, addr);
    put64(e + 8, size);
    put32(e + 16, type);
    zp[ZP_E820_ENTRIES] = (uint8_t)(n + 1);
}

/* GDT and identity page tables (2 MiB pages over the first 4 GiB). */
static void build_tables(uint8_t *ram)
{
    uint64_t *gdt = (uint64_t *)(ram + PC_GDT);
    gdt[0] = gdt[1] = 0;
    gdt[2] = DESC_CODE64;
    gdt[3] = DESC_DATA;
    put64(ram + PC_PML4, PC_PDPT | PTE_P | PTE_RW);
    for (unsigned i = 0; i < PD_PAGES; i++) {
        put64(ram + PC_PDPT + 8 * i, (PC_PD + 0x1000ull * i) | PTE_P | PTE_RW);
        for (unsigned j = 0; j < 512; j++)
            put64(ram + PC_PD + 0x1000ull * i + 8 * j, (((uint64_t)i << 30) | ((uint64_t)j << 21)) | PTE_P | PTE_RW | PTE_PS);
    }
}

int pc_place_initrd(const struct run_options *o, uint8_t *ram, uint64_t ram_size, uint64_t low, uint64_t max_addr,
                    uint64_t *at, uint64_t *size)
{
    *at = *size = 0;
    if (!o->initrd)
        return RUN_OK;
    size_t len = 0;
    uint8_t *img = read_file(o->initrd, &len);
    if (!img) {
        fprintf(stderr, "anyhv-run: cannot read initrd '%s'\n", o->initrd);
        return RUN_NO_INPUT;
    }
    uint64_t top = max_addr + 1 < ram_size ? max_addr + 1 : ram_size;
    uint64_t where = (top - len) & ~0xfffull;
    if (len >= top || where < low) {
        free(img);
        fprintf(stderr, "anyhv-run: initrd does not fit in guest RAM (--mem)\n");
        return RUN_BAD_IMAGE;
    }
    memcpy(ram + where, img, len);
    free(img);
    *at = where;
    *size = len;
    return RUN_OK;
}

static int load_initrd(const struct run_options *o, uint8_t *ram, uint64_t ram_size, uint8_t *zp, uint64_t kernel_end)
{
    uint64_t at, len;
    int status = pc_place_initrd(o, ram, ram_size, kernel_end, get32(zp + HDR_INITRD_MAX), &at, &len);
    if (status != RUN_OK || !len)
        return status;
    put32(zp + HDR_RAMDISK_IMAGE, (uint32_t)at);
    put32(zp + HDR_RAMDISK_SIZE, (uint32_t)len);
    put32(zp + ZP_EXT_RAMDISK_IMAGE, (uint32_t)(at >> 32));
    put32(zp + ZP_EXT_RAMDISK_SIZE, (uint32_t)(len >> 32));
    return RUN_OK;
}

static int check_header(const uint8_t *k, size_t len, const char *path)
{
    if (len < 0x1000 || get16(k + HDR_BOOT_FLAG) != BOOT_FLAG || get32(k + HDR_MAGIC) != HDR_MAGIC_VALUE) {
        fprintf(stderr, "anyhv-run: '%s' is not a Linux bzImage\n", path);
        return RUN_BAD_IMAGE;
    }
    if (get16(k + HDR_VERSION) < MIN_VERSION || !(k[HDR_XLOADFLAGS] & XLF_KERNEL_64)) {
        fprintf(stderr, "anyhv-run: '%s' has no 64-bit entry (boot protocol %#x)\n", path, get16(k + HDR_VERSION));
        return RUN_BAD_IMAGE;
    }
    return RUN_OK;
}

int pc_linux_load(const struct run_options *o, uint8_t *ram, uint64_t ram_size, uint64_t rsdp, uint64_t *entry,
                  enum pc_boot_kind *kind)
{
    size_t len = 0;
    uint8_t *k = read_file(o->kernel, &len);
    if (!k) {
        fprintf(stderr, "anyhv-run: cannot read kernel '%s': %s\n", o->kernel, strerror(errno));
        return RUN_NO_INPUT;
    }
    long mb = len >= 0x1000 && get32(k + HDR_MAGIC) == HDR_MAGIC_VALUE ? -1 : pc_multiboot_header(k, len);
    if (mb >= 0 || pc_is_elf(k, len)) {
        *kind = mb >= 0 ? PC_BOOT_MULTIBOOT : PC_BOOT_PVH;
        int st = mb >= 0 ? pc_multiboot_load(o, k, len, mb, ram, ram_size, entry)
                         : pc_pvh_load(o, k, len, ram, ram_size, rsdp, entry);
        free(k);
        return st;
    }
    *kind = PC_BOOT_LINUX64;
    int status = check_header(k, len, o->kernel);
    unsigned setup_sects = k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4;
    uint64_t setup_len = (setup_sects + 1ull) * 512;
    uint64_t pref = get64(k + HDR_PREF_ADDRESS), load = pref >= PC_HIGH_MEM ? pref : DEFAULT_LOAD;
    uint64_t end = load + (get32(k + HDR_INIT_SIZE) > len - setup_len ? get32(k + HDR_INIT_SIZE) : len - setup_len);
    if (status == RUN_OK && (setup_len >= len || end > ram_size)) {
        fprintf(stderr, "anyhv-run: the kernel needs %llu MiB of RAM (--mem)\n", (unsigned long long)(end >> 20) + 1);
        status = RUN_BAD_IMAGE;
    }
    uint8_t *zp = ram + PC_ZERO_PAGE;
    if (status == RUN_OK) {
        memcpy(ram + load, k + setup_len, len - setup_len);
        memset(zp, 0, 4096);
        unsigned hdr_end = 0x202u + k[HDR_JUMP_END];
        memcpy(zp + HDR_SETUP_SECTS, k + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
        zp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
        zp[HDR_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
        put16(zp + HDR_HEAP_END, 0xfe00u);
        const char *cmd = o->append ? o->append : "";
        size_t clen = strlen(cmd);
        uint32_t cmax = get32(zp + HDR_CMDLINE_SIZE);
        if (clen >= PC_CMDLINE_MAX || (cmax && clen > cmax)) {
            fprintf(stderr, "anyhv-run: --append is longer than the kernel accepts\n");
            status = RUN_USAGE;
        } else {
            memcpy(ram + PC_CMDLINE, cmd, clen + 1);
            put32(zp + HDR_CMD_LINE_PTR, PC_CMDLINE);
        }
        put64(zp + ZP_ACPI_RSDP, rsdp);
        e820_add(zp, 0, PC_EBDA, E820_RAM);
        e820_add(zp, PC_EBDA, 0x100000u - PC_EBDA, E820_RESERVED);
        e820_add(zp, PC_HIGH_MEM, ram_size - PC_HIGH_MEM, E820_RAM);
        e820_add(zp, PC_IOAPIC_BASE, PC_MMIO_PAGE, E820_RESERVED);
        e820_add(zp, PC_LAPIC_BASE, PC_MMIO_PAGE, E820_RESERVED);
    }
    free(k);
    if (status == RUN_OK)
        status = load_initrd(o, ram, ram_size, zp, end);
    if (status == RUN_OK) {
        build_tables(ram);
        *entry = load + ENTRY64_OFFSET;
    }
    return status;
}
