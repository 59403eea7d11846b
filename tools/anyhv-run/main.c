/* anyhv-run-<flavour>: the VMM of one flavour (built twice, once per library). The
 * anyhv-run launcher picks the binary that matches the image. */
#include <string.h>

#include "run.h"

#ifndef RUN_FLAVOUR_ARCH
#error "RUN_FLAVOUR_ARCH must name the flavour this binary is built for"
#endif

int main(int argc, char **argv)
{
    struct run_options o;
    bool done;
    int status = run_parse_options(argc, argv, &o, &done);
    if (status != RUN_OK || done)
        return status;
    if (o.arch == RUN_ARCH_UNKNOWN && !image_is_stream(o.image))   /* a stream is read once, to load */
        o.arch = image_detect_arch(o.image);
    if (o.arch == RUN_ARCH_UNKNOWN)
        o.arch = RUN_FLAVOUR_ARCH;   /* a flat binary given to this flavour's binary directly */
    if (run_arch_flavour(o.arch) != RUN_FLAVOUR_ARCH) {
        fprintf(stderr, "anyhv-run: '%s' is an %s image; this binary runs %s guests (use anyhv-run)\n", o.image,
                run_arch_name(o.arch), run_arch_name(RUN_FLAVOUR_ARCH));
        return RUN_BAD_IMAGE;
    }
    if (RUN_FLAVOUR_ARCH != RUN_ARCH_ARM64 && (o.dtb_auto || o.smp > 1)) {
        fprintf(stderr, "anyhv-run: --dtb and --smp belong to the arm64 board\n");
        return RUN_USAGE;
    }
    return vmm_run(&o);
}
