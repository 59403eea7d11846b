/* anyhv-bench helpers shared by engines: the clock and reading a guest image (loaded by
 * anyhv-run's bounds-checked ELF loader). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "../tools/anyhv-run/elf_load.h"

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
    struct elf_load_detail d;
    ok = ok && elf_load(img, (size_t)len, 0, ram, ram_base, ram_size, 0, entry, &d) == ELF_LOAD_OK;
    if (!ok)
        snprintf(err, errlen, "%s is not a loadable guest image", path);
    free(img);
    return ok;
}
