/* anyhv-bench children: the set-up and report both flavour programs share. */
#ifndef ANYHV_BENCH_CHILD_H
#define ANYHV_BENCH_CHILD_H

#include <Hypervisor/hv_vm_allocate.h>
#include <anyhv/anyhv.h>

#include "bench.h"

/* Parses "BACKEND IMAGE", selects the backend, allocates RAM and loads the image at
 * ram_base. Prints "error ..." and returns false on failure. */
bool child_start(int argc, char **argv, uint64_t ram_base, uint8_t **ram, uint64_t *entry);
/* Prints the run line the parent parses: "run SECONDS VALUE ICOUNT EXITS". */
void child_report(uint64_t vcpu, double seconds, uint64_t value, uint64_t exits);

#endif
