/* elf_load: PT_LOAD segments of an ELF32 or ELF64 executable into guest RAM (see
 * elf_load.h). A hostile image gets a status, never an out-of-bounds copy. */
#include <elf.h>
#include <string.h>

#include "elf_load.h"

/* The fields the loader uses, whichever the class. */
struct elf_hdr {
    unsigned machine, type, phentsize, phnum;
    uint64_t entry, phoff;
};
struct elf_seg {
    uint32_t type;
    uint64_t offset, paddr, filesz, memsz;
};

bool elf_range_fits(uint64_t addr, uint64_t len, uint64_t ram_base, uint64_t ram_size, uint64_t reserved_below)
{
    uint64_t lo = ram_base + reserved_below, hi = ram_base + ram_size;
    return addr >= lo && addr <= hi && len <= hi - addr;
}

unsigned elf_class_of(const uint8_t *img, size_t len)
{
    if (len < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG) || img[EI_DATA] != ELFDATA2LSB)
        return 0;
    if (img[EI_CLASS] == ELFCLASS64 && len >= sizeof(Elf64_Ehdr))
        return 64;
    if (img[EI_CLASS] == ELFCLASS32 && len >= sizeof(Elf32_Ehdr))
        return 32;
    return 0;
}

unsigned elf_machine_of(const uint8_t *img, size_t len)
{
    unsigned cls = elf_class_of(img, len);
    if (cls == 64)
        return ((const Elf64_Ehdr *)(const void *)img)->e_machine;
    return cls == 32 ? ((const Elf32_Ehdr *)(const void *)img)->e_machine : 0;
}

static void read_header(const uint8_t *img, unsigned cls, struct elf_hdr *h)
{
    if (cls == 64) {
        Elf64_Ehdr e;
        memcpy(&e, img, sizeof(e));
        *h = (struct elf_hdr){ e.e_machine, e.e_type, e.e_phentsize, e.e_phnum, e.e_entry, e.e_phoff };
    } else {
        Elf32_Ehdr e;
        memcpy(&e, img, sizeof(e));
        *h = (struct elf_hdr){ e.e_machine, e.e_type, e.e_phentsize, e.e_phnum, e.e_entry, e.e_phoff };
    }
}

static void read_segment(const uint8_t *at, unsigned cls, struct elf_seg *s)
{
    if (cls == 64) {
        Elf64_Phdr p;
        memcpy(&p, at, sizeof(p));
        *s = (struct elf_seg){ p.p_type, p.p_offset, p.p_paddr, p.p_filesz, p.p_memsz };
    } else {
        Elf32_Phdr p;
        memcpy(&p, at, sizeof(p));
        *s = (struct elf_seg){ p.p_type, p.p_offset, p.p_paddr, p.p_filesz, p.p_memsz };
    }
}

enum elf_load_status elf_load(const uint8_t *img, size_t len, unsigned machine, uint8_t *ram, uint64_t ram_base,
                              uint64_t ram_size, uint64_t reserved_below, uint64_t *entry,
                              struct elf_load_detail *detail)
{
    memset(detail, 0, sizeof(*detail));
    unsigned cls = elf_class_of(img, len);
    if (!cls)
        return ELF_LOAD_NOT_ELF;
    struct elf_hdr h;
    read_header(img, cls, &h);
    detail->elf_class = cls;
    detail->machine = h.machine;
    if (machine && h.machine != machine)
        return ELF_LOAD_WRONG_MACHINE;
    size_t phsize = cls == 64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if (h.type != ET_EXEC || h.phentsize != phsize || h.phoff > len || (uint64_t)h.phnum * phsize > len - h.phoff)
        return ELF_LOAD_BAD_HEADERS;
    unsigned loaded = 0;
    for (unsigned i = 0; i < h.phnum; i++) {
        struct elf_seg s;
        read_segment(img + h.phoff + i * phsize, cls, &s);
        if (s.type != PT_LOAD || s.memsz == 0)
            continue;
        detail->segment = i;
        detail->addr = s.paddr;
        detail->size = s.memsz;
        if (s.filesz > s.memsz || s.offset > len || s.filesz > len - s.offset)
            return ELF_LOAD_SEGMENT_IN_FILE;
        if (!elf_range_fits(s.paddr, s.memsz, ram_base, ram_size, reserved_below))
            return ELF_LOAD_SEGMENT_IN_RAM;
        uint8_t *dst = ram + (s.paddr - ram_base);
        memcpy(dst, img + s.offset, s.filesz);
        memset(dst + s.filesz, 0, s.memsz - s.filesz);
        loaded++;
    }
    if (!loaded)
        return ELF_LOAD_NOTHING;
    *entry = h.entry;
    return ELF_LOAD_OK;
}
