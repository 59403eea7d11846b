/* anyhv-run: reading an image file without trusting it. A regular file is read up to a
 * bound (the guest's RAM: nothing bigger can load); anything else (a FIFO, a pipe from
 * process substitution, a character device) is read without blocking, waiting at most
 * IMAGE_WAIT_MS for each piece of data, and refused once it passes the bound, so a FIFO
 * nobody writes to and /dev/zero both end with a message instead of a hang. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

#define IMAGE_WAIT_MS 10000
/* Tests shorten the wait (a FIFO nobody writes to) through this variable. */
#define IMAGE_WAIT_ENV "ANYHV_RUN_IMAGE_WAIT_MS"
#define IMAGE_CHUNK 65536u

struct image_src {
    const char *path;
    int fd;
    bool stream;     /* not a regular file: poll before each read */
};

static int open_image(struct image_src *s, int *status)
{
    s->fd = open(s->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (s->fd < 0 || fstat(s->fd, &st) != 0) {
        fprintf(stderr, "anyhv-run: cannot open image '%s': %s\n", s->path, strerror(errno));
        *status = RUN_NO_INPUT;
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        fprintf(stderr, "anyhv-run: cannot open image '%s': it is a directory\n", s->path);
        *status = RUN_NO_INPUT;
        return -1;
    }
    s->stream = !S_ISREG(st.st_mode);
    if (!s->stream)
        fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) & ~O_NONBLOCK);
    return 0;
}

/* Up to `want` bytes into buf; 0 at the end; -1 with *status on an error or a wait
 * that timed out. */
static int wait_ms(void)
{
    const char *env = getenv(IMAGE_WAIT_ENV);
    long v = env ? strtol(env, NULL, 10) : 0;
    return v > 0 && v < IMAGE_WAIT_MS ? (int)v : IMAGE_WAIT_MS;
}

static ssize_t read_some(struct image_src *s, uint8_t *buf, size_t want, int *status)
{
    for (;;) {
        if (s->stream) {
            struct pollfd p = { .fd = s->fd, .events = POLLIN };
            int r = poll(&p, 1, wait_ms());
            if (r == 0) {
                fprintf(stderr, "anyhv-run: no data from '%s' in %d ms (a FIFO nobody writes to?)\n", s->path,
                        wait_ms());
                *status = RUN_NO_INPUT;
                return -1;
            }
            if (r < 0 && errno != EINTR)
                break;
        }
        ssize_t got = read(s->fd, buf, want);
        if (got >= 0)
            return got;
        if (errno != EAGAIN && errno != EINTR)
            break;
    }
    fprintf(stderr, "anyhv-run: cannot read image '%s': %s\n", s->path, strerror(errno));
    *status = RUN_NO_INPUT;
    return -1;
}

uint8_t *image_read(const char *path, size_t limit, bool head_only, size_t *len, int *status)
{
    struct image_src s = { .path = path };
    if (open_image(&s, status) != 0) {
        if (s.fd >= 0)
            close(s.fd);
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            if (cap > limit)
                break;   /* read one byte past the bound: too big */
            size_t ncap = cap ? cap * 2 : IMAGE_CHUNK;
            if (ncap > limit + 1)
                ncap = limit + 1;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                fprintf(stderr, "anyhv-run: out of memory reading '%s'\n", path);
                *status = RUN_NO_MEMORY;
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t got = read_some(&s, buf + n, cap - n, status);
        if (got < 0)
            goto fail;
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > limit)
            break;
    }
    if (n > limit && !head_only) {
        fprintf(stderr, "anyhv-run: '%s' does not fit guest RAM (more than %zu bytes; use --mem for more)\n", path,
                limit);
        *status = RUN_BAD_IMAGE;
        goto fail;
    }
    close(s.fd);
    *len = n > limit ? limit : n;
    return buf;
fail:
    close(s.fd);
    free(buf);
    return NULL;
}

bool image_is_stream(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}
