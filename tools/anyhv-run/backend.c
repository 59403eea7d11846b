/* anyhv-run: choosing the backend through the public anyhv_ extensions, with the
 * library's own explanation when the choice is not available on this machine. */
#include <anyhv/anyhv.h>

#include <string.h>

#include "run.h"

int run_select_backend(const char *name)
{
    anyhv_backend_t b = !strcmp(name, "kvm") ? ANYHV_BACKEND_KVM : !strcmp(name, "soft") ? ANYHV_BACKEND_SOFT
                                                                                        : ANYHV_BACKEND_AUTO;
    const char *why = NULL;
    if (!anyhv_backend_available(b, &why)) {
        fprintf(stderr, "anyhv-run: backend %s is not available here: %s\n", name, why ? why : "unknown reason");
        return RUN_UNAVAILABLE;
    }
    return anyhv_set_backend(b) == HV_SUCCESS ? RUN_OK : RUN_UNAVAILABLE;
}
