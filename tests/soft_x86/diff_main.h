/* diff_main.h - the start the differential testers share (diff_unicorn, diff_x87):
 * the soft route chosen, the `--fuzz` entry that runs only under `make fuzz`, and the
 * iteration count (a number among the arguments, else ANYHV_FUZZ_ITERS, else a bounded
 * slice). */
#ifndef ANYHV_TESTS_SOFT_X86_DIFF_MAIN_H
#define ANYHV_TESTS_SOFT_X86_DIFF_MAIN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anyhv/anyhv.h>

#define DIFF_SKIP_EXIT 77   /* ctest's SKIP_RETURN_CODE */

/* 0 to go on; DIFF_SKIP_EXIT after saying why not. */
static inline int diff_start(int argc, char **argv)
{
    const char *why = NULL;
    if (!anyhv_backend_available(ANYHV_BACKEND_SOFT, &why) || anyhv_set_backend(ANYHV_BACKEND_SOFT) != HV_SUCCESS) {
        printf("skip: soft backend unavailable: %s\n", why ? why : "?");
        return DIFF_SKIP_EXIT;
    }
    if (argc > 1 && strcmp(argv[1], "--fuzz") == 0 && !getenv("ANYHV_FUZZ_ITERS")) {
        printf("skip: long run only under make fuzz (ANYHV_FUZZ_ITERS unset)\n");
        return DIFF_SKIP_EXIT;
    }
    return 0;
}

static inline unsigned diff_iterations(int argc, char **argv, unsigned slice)
{
    const char *s = getenv("ANYHV_FUZZ_ITERS");
    for (int i = 1; i < argc; i++)
        if (argv[i][0] >= '0' && argv[i][0] <= '9') {
            s = argv[i];
            break;
        }
    long v = s ? strtol(s, NULL, 10) : (long)slice;
    return v > 0 ? (unsigned)v : slice;
}

#endif /* ANYHV_TESTS_SOFT_X86_DIFF_MAIN_H */
