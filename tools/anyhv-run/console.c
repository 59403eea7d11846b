/* anyhv-run console: guest UART output to stdout (flushed at newlines and at the
 * end), input from stdin read without blocking the vCPU.
 *
 * Every answer the console gives the guest about input ("is there a byte?", "which
 * byte?") is the run's only input that is not a function of the guest's own state, so
 * each is logged in order with the instruction count it was given at. --record writes
 * the log to a file; --replay answers from a file instead of stdin; the gdb stub's
 * reverse execution rewinds the log's cursor with a snapshot and re-runs the past from
 * it, with output muted up to where the run had already got. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

#define LOG_MAGIC "anyhv-record 1"
#define LOG_LINE_MAX 96

enum console_query { Q_HAS_INPUT = 0, Q_GETC = 1 };

struct console_event {
    uint64_t icount;
    int16_t value;
    uint8_t query;
};

static bool input_closed, muted, replay_only, diverged;
static struct {
    struct console_event *ev;
    size_t n, cap, cursor;
} input_log;
static uint64_t (*log_clock)(void *);
static void *log_clock_ctx;

void console_init(void)
{
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
}

void console_putc(uint8_t c)
{
    if (muted)
        return;
    fputc(c, stdout);
    if (c == '\n')
        fflush(stdout);
}

void console_flush(void)
{
    fflush(stdout);
}

void console_mute(bool on)
{
    muted = on;
}

void console_set_clock(uint64_t (*clock)(void *), void *ctx)
{
    log_clock = clock;
    log_clock_ctx = ctx;
}

static bool live_has_input(void)
{
    if (input_closed)
        return false;
    struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP));
}

bool console_input_live(void)
{
    return !input_closed && !replay_only && input_log.cursor >= input_log.n;
}

bool console_wait_input(long ns)
{
    struct timespec ts = { ns / 1000000000L, ns % 1000000000L };
    if (input_closed || replay_only || input_log.cursor < input_log.n) {
        nanosleep(&ts, NULL);   /* no live input can come */
        return false;
    }
    struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
    return ppoll(&p, 1, &ts, NULL) == 1;
}

static int live_getc(void)
{
    if (!live_has_input())
        return -1;
    unsigned char c;
    if (read(STDIN_FILENO, &c, 1) != 1) {
        input_closed = true;
        return -1;
    }
    return c;
}

static bool log_append(struct console_event e)
{
    if (input_log.n == input_log.cap) {
        size_t cap = input_log.cap ? 2 * input_log.cap : 1024;
        struct console_event *ev = realloc(input_log.ev, cap * sizeof(*ev));
        if (!ev)
            return false;
        input_log.ev = ev;
        input_log.cap = cap;
    }
    input_log.ev[input_log.n++] = e;
    return true;
}

/* One answer: from the log while the cursor is inside it (the past, or a replay),
 * else from stdin, logged. */
static int answer(enum console_query q)
{
    uint64_t now = log_clock ? log_clock(log_clock_ctx) : 0;
    if (input_log.cursor < input_log.n) {
        const struct console_event *e = &input_log.ev[input_log.cursor++];
        if ((e->query != q || e->icount != now) && !diverged) {
            diverged = true;
            fprintf(stderr, "anyhv-run: replay diverged: input query at instruction %" PRIu64
                            ", the record has one at %" PRIu64 "\n", now, e->icount);
        }
        return e->value;
    }
    if (replay_only)
        return q == Q_HAS_INPUT ? 0 : -1;   /* the recording ends here: no more input */
    int v = q == Q_HAS_INPUT ? live_has_input() : live_getc();
    if (log_append((struct console_event){ now, (int16_t)v, (uint8_t)q }))
        input_log.cursor = input_log.n;
    return v;
}

bool console_has_input(void)
{
    return answer(Q_HAS_INPUT) != 0;
}

int console_getc(void)
{
    return answer(Q_GETC);
}

size_t console_log_position(void)
{
    return input_log.cursor;
}

void console_log_seek(size_t position)
{
    input_log.cursor = position <= input_log.n ? position : input_log.n;
}

bool console_replay_diverged(void)
{
    return diverged;
}

bool console_log_save(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    fprintf(f, "%s\n", LOG_MAGIC);
    for (size_t i = 0; i < input_log.n; i++)
        fprintf(f, "%" PRIu64 " %u %d\n", input_log.ev[i].icount, input_log.ev[i].query, input_log.ev[i].value);
    return fclose(f) == 0;
}

int console_log_load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "anyhv-run: cannot open record '%s': %s\n", path, strerror(errno));
        return RUN_NO_INPUT;
    }
    char line[LOG_LINE_MAX];
    int status = RUN_OK;
    if (!fgets(line, sizeof(line), f) || strncmp(line, LOG_MAGIC, strlen(LOG_MAGIC)) != 0) {
        fprintf(stderr, "anyhv-run: '%s' is not an anyhv-run record (format 1)\n", path);
        status = RUN_BAD_IMAGE;
    }
    for (unsigned long lineno = 2; status == RUN_OK && fgets(line, sizeof(line), f); lineno++) {
        unsigned long long icount;
        unsigned query;
        int value;
        char extra;
        if (sscanf(line, "%llu %u %d %c", &icount, &query, &value, &extra) != 3 || query > Q_GETC || value < -1 ||
            value > 255 || (query == Q_HAS_INPUT && value > 1)) {
            fprintf(stderr, "anyhv-run: record '%s' line %lu is malformed\n", path, lineno);
            status = RUN_BAD_IMAGE;
        } else if (!log_append((struct console_event){ icount, (int16_t)value, (uint8_t)query })) {
            status = RUN_UNAVAILABLE;
        }
    }
    fclose(f);
    input_log.cursor = 0;
    replay_only = true;
    return status;
}
