/* anyhv-bench helpers shared by engines: the clock and ELF loading (bounds-checked). */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

bool bench_load_elf(const char *path, uint8_t *ram, uint64_t ram_base, uint64_t ram_size, uint64_t *entry,
                    char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s", path);
        return false;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *img = len > 0 ? malloc((size_t)len) : NULL;
    bool ok = img && fread(img, 1, (size_t)len, f) == (size_t)len;
    fclose(f);
    const Elf64_Ehdr *eh = (const void *)img;
    ok = ok && (size_t)len >= sizeof(*eh) && !memcmp(eh->e_ident, ELFMAG, SELFMAG) &&
         eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) <= (uint64_t)len;
    for (unsigned i = 0; ok && i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = (const void *)(img + eh->e_phoff + i * sizeof(Elf64_Phdr));
        if (ph->p_type != PT_LOAD)
            continue;
        ok = ph->p_paddr >= ram_base && ph->p_memsz <= ram_size && ph->p_paddr - ram_base <= ram_size - ph->p_memsz &&
             ph->p_filesz <= ph->p_memsz && ph->p_offset + ph->p_filesz <= (uint64_t)len;
        if (ok) {
            memcpy(ram + (ph->p_paddr - ram_base), img + ph->p_offset, ph->p_filesz);
            memset(ram + (ph->p_paddr - ram_base) + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
        }
    }
    if (ok)
        *entry = eh->e_entry;
    else
        snprintf(err, errlen, "%s is not a loadable guest image", path);
    free(img);
    return ok;
}
