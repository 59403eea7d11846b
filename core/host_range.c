/* host_range.c - what the calling process has mapped, from /proc/self/maps: hv_vm_map
 * refuses host ranges that are not mapped, or not readable / writable as the guest
 * mapping asks, so a guest access on the soft route never meets a hole the client
 * handed over by mistake. (A range that disappears later is the soft route's guard:
 * core/soft/host_guard.c.) */
#include "core/host_range.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAPS_LINE_MAX 4096

struct maps_reader {
    int fd;
    char buf[8192];
    size_t len, pos;
};

/* Next line of /proc/self/maps into line (NUL-terminated, truncated if long). */
static bool next_line(struct maps_reader *r, char *line, size_t cap)
{
    size_t n = 0;
    for (;;) {
        if (r->pos == r->len) {
            ssize_t got = read(r->fd, r->buf, sizeof(r->buf));
            if (got <= 0) {
                line[n] = 0;
                return n > 0;
            }
            r->len = (size_t)got;
            r->pos = 0;
        }
        char c = r->buf[r->pos++];
        if (c == '\n') {
            line[n] = 0;
            return true;
        }
        if (n + 1 < cap)
            line[n++] = c;
    }
}

bool host_range_accessible(const void *host, uint64_t size, bool need_read, bool need_write)
{
    uint64_t cur = (uint64_t)(uintptr_t)host, end = cur + size;
    if (size == 0 || end < cur)
        return false;
    struct maps_reader r = { .fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC) };
    if (r.fd < 0)
        return true;   /* no procfs: nothing to check against (the soft guard still holds) */
    char line[MAPS_LINE_MAX];
    bool ok = false;
    while (next_line(&r, line, sizeof(line))) {
        uint64_t lo, hi;
        char perms[5] = { 0 };
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s", &lo, &hi, perms) != 3)
            continue;
        if (hi <= cur)
            continue;
        if (lo > cur)
            break;   /* a hole: lines are in address order */
        if ((need_read && perms[0] != 'r') || (need_write && perms[1] != 'w'))
            break;
        cur = hi;
        if (cur >= end) {
            ok = true;
            break;
        }
    }
    close(r.fd);
    return ok;
}
