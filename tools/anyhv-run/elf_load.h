/* elf_load: copying an ELF32 or ELF64 executable's PT_LOAD segments into guest RAM,
 * every bound checked. One loader for anyhv-run (which words the errors) and bench/. */
#ifndef ANYHV_TOOLS_ELF_LOAD_H
#define ANYHV_TOOLS_ELF_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum elf_load_status {
    ELF_LOAD_OK = 0,
    ELF_LOAD_NOT_ELF,            /* not a little-endian ELF32/ELF64 file */
    ELF_LOAD_WRONG_MACHINE,      /* e_machine is not the one asked for */
    ELF_LOAD_BAD_HEADERS,        /* not ET_EXEC, or program headers outside the file */
    ELF_LOAD_SEGMENT_IN_FILE,    /* a segment's bytes lie outside the file */
    ELF_LOAD_SEGMENT_IN_RAM,     /* a segment does not fit the allowed RAM window */
    ELF_LOAD_NOTHING,            /* no non-empty PT_LOAD segment */
};

/* Details for messages: the machine found, or the segment that did not fit. */
struct elf_load_detail {
    unsigned elf_class;   /* 32 or 64 */
    unsigned machine;
    unsigned segment;
    uint64_t addr, size;
};

/* Loads img (len bytes) into ram, which holds guest-physical [ram_base, ram_base +
 * ram_size); segments must lie at or above ram_base + reserved_below. machine 0 accepts
 * any e_machine. */
enum elf_load_status elf_load(const uint8_t *img, size_t len, unsigned machine, uint8_t *ram, uint64_t ram_base,
                              uint64_t ram_size, uint64_t reserved_below, uint64_t *entry,
                              struct elf_load_detail *detail);

/* 32 or 64 for a little-endian ELF file of that class with a whole header, else 0;
 * and its e_machine (0 when not such a file). */
unsigned elf_class_of(const uint8_t *img, size_t len);
unsigned elf_machine_of(const uint8_t *img, size_t len);

/* Guest-physical [addr, addr+len) lies inside [ram_base + reserved_below, ram_base +
 * ram_size), without overflow. */
bool elf_range_fits(uint64_t addr, uint64_t len, uint64_t ram_base, uint64_t ram_size, uint64_t reserved_below);

#endif /* ANYHV_TOOLS_ELF_LOAD_H */
