/* anyhv-bench children, shared part: argument checks, backend choice through the
 * anyhv_ extensions, guest RAM and image, and the one line the parent reads. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "child.h"

bool child_start(int argc, char **argv, uint64_t ram_base, uint8_t **ram, uint64_t *entry)
{
    char err[160];
    if (argc != 3) {
        printf("error usage: %s kvm|soft IMAGE\n", argv[0]);
        return false;
    }
    anyhv_backend_t b = !strcmp(argv[1], "kvm") ? ANYHV_BACKEND_KVM : ANYHV_BACKEND_SOFT;
    const char *why = NULL;
    if (!anyhv_backend_available(b, &why) || anyhv_set_backend(b) != HV_SUCCESS) {
        printf("error backend %s unavailable: %s\n", argv[1], why ? why : "?");
        return false;
    }
    if (hv_vm_allocate((void **)ram, BENCH_RAM_BYTES, HV_ALLOCATE_DEFAULT) != HV_SUCCESS ||
        !bench_load_elf(argv[2], *ram, ram_base, BENCH_RAM_BYTES, entry, err, sizeof(err))) {
        printf("error cannot load %s\n", argv[2]);
        return false;
    }
    return true;
}

void child_report(uint64_t vcpu, double seconds, uint64_t value, uint64_t exits)
{
    uint64_t icount = 0;
    if (anyhv_vcpu_get_instructions(vcpu, &icount) != HV_SUCCESS)
        icount = 0;
    /* The vCPU thread's CPU time too: on a loaded host it says what the run cost. */
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    printf("run %.9f %" PRIu64 " %" PRIu64 " %" PRIu64 " cpu %.9f\n", seconds, value, icount, exits,
           (double)ts.tv_sec + ts.tv_nsec / 1e9);
}
