/* anyhv-run: picks the flavour binary for the guest's architecture (from --arch or the
 * ELF header) and runs it with the same arguments. The two flavours export the same
 * hv_* names, so one process links one flavour library. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

static int exec_flavour(enum run_arch arch, char **argv)
{
    char self[PATH_MAX], path[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        fprintf(stderr, "anyhv-run: cannot find my own location: %s\n", strerror(errno));
        return RUN_UNAVAILABLE;
    }
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    snprintf(path, sizeof(path), "%s/anyhv-run-%s", slash ? self : ".", run_arch_name(run_arch_flavour(arch)));
    execv(path, argv);
    fprintf(stderr, "anyhv-run: cannot run %s: %s\n", path, strerror(errno));
    return RUN_UNAVAILABLE;
}

int main(int argc, char **argv)
{
    struct run_options o;
    bool done;
    int status = run_parse_options(argc, argv, &o, &done);
    if (status != RUN_OK || done)
        return status;
    if (o.arch == RUN_ARCH_UNKNOWN) {
        if (access(o.image, R_OK) != 0) {
            fprintf(stderr, "anyhv-run: cannot open image '%s': %s\n", o.image, strerror(errno));
            return RUN_NO_INPUT;
        }
        if (image_is_stream(o.image)) {
            /* Its bytes can be read once, by the flavour that loads it. */
            fprintf(stderr, "anyhv-run: '%s' is not a regular file: give --arch x86_64, i386 or arm64\n", o.image);
            return RUN_USAGE;
        }
        o.arch = image_detect_arch(o.image);
        if (o.arch == RUN_ARCH_UNKNOWN) {
            fprintf(stderr,
                    "anyhv-run: '%s' is not an x86-64, i386 or AArch64 ELF executable; for a flat binary give "
                    "--arch x86_64, i386 or arm64\n",
                    o.image);
            return RUN_BAD_IMAGE;
        }
    }
    return exec_flavour(o.arch, argv);
}
