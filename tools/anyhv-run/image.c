/* anyhv-run image loading: ELF executables (ELF64 x86-64/AArch64, ELF32 i386) by
 * their PT_LOAD segments (physical addresses), or flat binaries at a load address. Every bound is checked: a hostile
 * image gets a message and RUN_BAD_IMAGE, never an out-of-bounds copy. */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "elf_load.h"
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

/* The ELF class and machine each architecture's images have. */
static const struct { enum run_arch arch; unsigned elf_class, machine; } arch_elf[] = {
    { RUN_ARCH_X86_64, 64, EM_X86_64 },
    { RUN_ARCH_ARM64, 64, EM_AARCH64 },
    { RUN_ARCH_I386, 32, EM_386 },
};

static enum run_arch arch_of_elf(unsigned elf_class, unsigned machine)
{
    for (unsigned i = 0; i < sizeof(arch_elf) / sizeof(arch_elf[0]); i++)
        if (arch_elf[i].elf_class == elf_class && arch_elf[i].machine == machine)
            return arch_elf[i].arch;
    return RUN_ARCH_UNKNOWN;
}

static unsigned machine_of_arch(enum run_arch a)
{
    for (unsigned i = 0; i < sizeof(arch_elf) / sizeof(arch_elf[0]); i++)
        if (arch_elf[i].arch == a)
            return arch_elf[i].machine;
    return 0;
}

enum run_arch image_detect_arch(const char *path)
{
    size_t n = 0;
    int status = RUN_OK;
    uint8_t *head = image_read(path, sizeof(Elf64_Ehdr), true, &n, &status);
    if (!head)
        return RUN_ARCH_UNKNOWN;
    enum run_arch a = arch_of_elf(elf_class_of(head, n), elf_machine_of(head, n));
    free(head);
    return a;
}

static int load_elf(const struct run_options *o, enum run_arch want, const uint8_t *img, size_t len, uint8_t *ram,
                    uint64_t ram_base, uint64_t ram_size, uint64_t reserved_below, uint64_t *entry)
{
    struct elf_load_detail d;
    switch (elf_load(img, len, machine_of_arch(want), ram, ram_base, ram_size, reserved_below, entry, &d)) {
    case ELF_LOAD_OK:
        if (d.elf_class == (want == RUN_ARCH_I386 ? 32u : 64u))
            return RUN_OK;
        fprintf(stderr, "anyhv-run: '%s' is an ELF%u file; %s images are ELF%u\n", o->image, d.elf_class,
                run_arch_name(want), want == RUN_ARCH_I386 ? 32u : 64u);
        break;
    case ELF_LOAD_NOT_ELF:
        fprintf(stderr, "anyhv-run: '%s' is not a little-endian ELF file\n", o->image);
        break;
    case ELF_LOAD_WRONG_MACHINE:
        fprintf(stderr, "anyhv-run: '%s' is for %s, not %s\n", o->image, elf_machine_name(d.machine),
                run_arch_name(want));
        break;
    case ELF_LOAD_BAD_HEADERS:
        fprintf(stderr, "anyhv-run: '%s' is not a static ELF executable with valid program headers\n", o->image);
        break;
    case ELF_LOAD_SEGMENT_IN_FILE:
        fprintf(stderr, "anyhv-run: '%s': segment %u lies outside the file\n", o->image, d.segment);
        break;
    case ELF_LOAD_SEGMENT_IN_RAM:
        fprintf(stderr,
                "anyhv-run: '%s': segment %u at 0x%" PRIx64 "+0x%" PRIx64 " does not fit guest RAM "
                "0x%" PRIx64 "..0x%" PRIx64 " (use --mem for more)\n",
                o->image, d.segment, d.addr, d.size, ram_base + reserved_below, ram_base + ram_size);
        break;
    case ELF_LOAD_NOTHING:
        fprintf(stderr, "anyhv-run: '%s' has nothing to load\n", o->image);
        break;
    }
    return RUN_BAD_IMAGE;
}

int image_load(const struct run_options *o, enum run_arch want, uint8_t *ram, uint64_t ram_base, uint64_t ram_size,
               uint64_t reserved_below, uint64_t *entry)
{
    size_t len = 0;
    int status = RUN_OK;
    uint8_t *img = image_read(o->image, ram_size, false, &len, &status);
    if (!img)
        return status;
    if (len >= SELFMAG && !memcmp(img, ELFMAG, SELFMAG)) {
        status = load_elf(o, want, img, len, ram, ram_base, ram_size, reserved_below, entry);
    } else if (len == 0) {
        fprintf(stderr, "anyhv-run: '%s' is empty\n", o->image);
        status = RUN_BAD_IMAGE;
    } else if (!elf_range_fits(o->load_addr, len, ram_base, ram_size, reserved_below)) {
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
