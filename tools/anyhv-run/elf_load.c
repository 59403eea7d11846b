/* elf_load: PT_LOAD segments of an ELF64 executable into guest RAM (see elf_load.h). A
 * hostile image gets a status, never an out-of-bounds copy. */
#include <elf.h>
#include <string.h>

#include "elf_load.h"

bool elf_range_fits(uint64_t addr, uint64_t len, uint64_t ram_base, uint64_t ram_size, uint64_t reserved_below)
{
    uint64_t lo = ram_base + reserved_below, hi = ram_base + ram_size;
    return addr >= lo && addr <= hi && len <= hi - addr;
}

enum elf_load_status elf_load(const uint8_t *img, size_t len, unsigned machine, uint8_t *ram, uint64_t ram_base,
                              uint64_t ram_size, uint64_t reserved_below, uint64_t *entry,
                              struct elf_load_detail *detail)
{
    const Elf64_Ehdr *eh = (const void *)img;
    memset(detail, 0, sizeof(*detail));
    if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_ident[EI_DATA] != ELFDATA2LSB)
        return ELF_LOAD_NOT_ELF64;
    detail->machine = eh->e_machine;
    if (machine && eh->e_machine != machine)
        return ELF_LOAD_WRONG_MACHINE;
    if (eh->e_type != ET_EXEC || eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > len ||
        (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
        return ELF_LOAD_BAD_HEADERS;
    const Elf64_Phdr *ph = (const void *)(img + eh->e_phoff);
    unsigned loaded = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
            continue;
        detail->segment = i;
        detail->addr = ph[i].p_paddr;
        detail->size = ph[i].p_memsz;
        if (ph[i].p_filesz > ph[i].p_memsz || ph[i].p_offset > len || ph[i].p_filesz > len - ph[i].p_offset)
            return ELF_LOAD_SEGMENT_IN_FILE;
        if (!elf_range_fits(ph[i].p_paddr, ph[i].p_memsz, ram_base, ram_size, reserved_below))
            return ELF_LOAD_SEGMENT_IN_RAM;
        uint8_t *dst = ram + (ph[i].p_paddr - ram_base);
        memcpy(dst, img + ph[i].p_offset, ph[i].p_filesz);
        memset(dst + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
        loaded++;
    }
    if (!loaded)
        return ELF_LOAD_NOTHING;
    *entry = eh->e_entry;
    return ELF_LOAD_OK;
}
