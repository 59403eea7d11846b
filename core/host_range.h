/* host_range.h - checks on host memory a client hands to hv_vm_map. */
#ifndef ANYHV_CORE_HOST_RANGE_H
#define ANYHV_CORE_HOST_RANGE_H

#include <stdbool.h>
#include <stdint.h>

/* True when every page of [host, host+size) is mapped in this process, readable if
 * need_read and writable if need_write (as /proc/self/maps says right now). */
bool host_range_accessible(const void *host, uint64_t size, bool need_read, bool need_write);

#endif /* ANYHV_CORE_HOST_RANGE_H */
