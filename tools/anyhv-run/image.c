/* anyhv-run image loading: ELF64 executables by their PT_LOAD segments (physical
 * addresses), or flat binaries at a load address. Every bound is checked: a hostile
 * image gets a message and RUN_BAD_IMAGE, never an out-of-bounds copy. */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

static const char *elf_machine_name(unsigned m)
{
    switch (m) {
    case EM_X86_64: return "x86-64";
    case EM_AARCH64: return "AArch64";
    case EM_386: return "i386";
    case EM_ARM: return "32-bit ARM";
    case EM_RISCV: return "RISC-V";
    }
    return "another architecture";
}

static enum run_arch arch_of_machine(unsigned m)
{
    return m == EM_X86_64 ? RUN_ARCH_X86_64 : m == EM_AARCH64 ? RUN_ARCH_ARM64 : RUN_ARCH_UNKNOWN;
}

enum run_arch image_detect_arch(const char *path)
{
    FILE *f = fopen(path, "rb");
    Elf64_Ehdr eh;
    enum run_arch a = RUN_ARCH_UNKNOWN;
    if (!f)
        return a;
    if (fread(&eh, sizeof(eh), 1, f) == 1 && !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64)
        a = arch_of_machine(eh.e_machine);
    fclose(f);
    return a;
}

static uint8_t *read_file(const char *path, size_t *len, int *status)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "anyhv-run: cannot open image '%s': %s\n", path, strerror(errno));
        *status = RUN_NO_INPUT;
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                fprintf(stderr, "anyhv-run: out of memory reading '%s'\n", path);
                free(buf);
                fclose(f);
                *status = RUN_BAD_IMAGE;
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool err = ferror(f);
    fclose(f);
    if (err) {
        fprintf(stderr, "anyhv-run: cannot read image '%s'\n", path);
        free(buf);
        *status = RUN_NO_INPUT;
        return NULL;
    }
    *len = n;
    return buf;
}

/* Guest-physical [addr, addr+len) must sit in RAM above the VMM's reserved area. */
static bool fits(uint64_t addr, uint64_t len, uint64_t ram_base, uint64_t ram_size, uint64_t reserved_below)
{
    uint64_t lo = ram_base + reserved_below, hi = ram_base + ram_size;
    return addr >= lo && addr <= hi && len <= hi - addr;
}

static int load_elf(const struct run_options *o, enum run_arch want, const uint8_t *img, size_t len, uint8_t *ram,
                    uint64_t ram_base, uint64_t ram_size, uint64_t reserved_below, uint64_t *entry)
{
    const Elf64_Ehdr *eh = (const void *)img;
    if (len < sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB) {
        fprintf(stderr, "anyhv-run: '%s' is not a little-endian ELF64 file\n", o->image);
        return RUN_BAD_IMAGE;
    }
    if (arch_of_machine(eh->e_machine) != want) {
        fprintf(stderr, "anyhv-run: '%s' is for %s, not %s\n", o->image, elf_machine_name(eh->e_machine),
                run_arch_name(want));
        return RUN_BAD_IMAGE;
    }
    if (eh->e_type != ET_EXEC || eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > len ||
        (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff) {
        fprintf(stderr, "anyhv-run: '%s' is not a static ELF executable with valid program headers\n", o->image);
        return RUN_BAD_IMAGE;
    }
    const Elf64_Phdr *ph = (const void *)(img + eh->e_phoff);
    unsigned loaded = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
            continue;
        if (ph[i].p_filesz > ph[i].p_memsz || ph[i].p_offset > len || ph[i].p_filesz > len - ph[i].p_offset) {
            fprintf(stderr, "anyhv-run: '%s': segment %u lies outside the file\n", o->image, i);
            return RUN_BAD_IMAGE;
        }
        if (!fits(ph[i].p_paddr, ph[i].p_memsz, ram_base, ram_size, reserved_below)) {
            fprintf(stderr,
                    "anyhv-run: '%s': segment %u at 0x%" PRIx64 "+0x%" PRIx64 " does not fit guest RAM "
                    "0x%" PRIx64 "..0x%" PRIx64 " (use --mem for more)\n",
                    o->image, i, (uint64_t)ph[i].p_paddr, (uint64_t)ph[i].p_memsz, ram_base + reserved_below,
                    ram_base + ram_size);
            return RUN_BAD_IMAGE;
        }
        uint8_t *dst = ram + (ph[i].p_paddr - ram_base);
        memcpy(dst, img + ph[i].p_offset, ph[i].p_filesz);
        memset(dst + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
        loaded++;
    }
    if (!loaded) {
        fprintf(stderr, "anyhv-run: '%s' has nothing to load\n", o->image);
        return RUN_BAD_IMAGE;
    }
    *entry = eh->e_entry;
    return RUN_OK;
}

int image_load(const struct run_options *o, enum run_arch want, uint8_t *ram, uint64_t ram_base, uint64_t ram_size,
               uint64_t reserved_below, uint64_t *entry)
{
    size_t len = 0;
    int status = RUN_OK;
    uint8_t *img = read_file(o->image, &len, &status);
    if (!img)
        return status;
    if (len >= SELFMAG && !memcmp(img, ELFMAG, SELFMAG)) {
        status = load_elf(o, want, img, len, ram, ram_base, ram_size, reserved_below, entry);
    } else if (len == 0) {
        fprintf(stderr, "anyhv-run: '%s' is empty\n", o->image);
        status = RUN_BAD_IMAGE;
    } else if (!fits(o->load_addr, len, ram_base, ram_size, reserved_below)) {
        fprintf(stderr,
                "anyhv-run: '%s' (%zu bytes at 0x%" PRIx64 ") does not fit guest RAM 0x%" PRIx64 "..0x%" PRIx64
                " (use --mem for more)\n",
                o->image, len, o->load_addr, ram_base + reserved_below, ram_base + ram_size);
        status = RUN_BAD_IMAGE;
    } else {
        memcpy(ram + (o->load_addr - ram_base), img, len);
        *entry = o->load_addr;
    }
    free(img);
    return status;
}
