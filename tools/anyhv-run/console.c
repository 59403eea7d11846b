/* anyhv-run console: guest UART output to stdout (flushed at newlines and at the
 * end), input from stdin read without blocking the vCPU. */
#include <poll.h>
#include <unistd.h>

#include "run.h"

static bool input_closed;

void console_init(void)
{
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
}

void console_putc(uint8_t c)
{
    fputc(c, stdout);
    if (c == '\n')
        fflush(stdout);
}

void console_flush(void)
{
    fflush(stdout);
}

bool console_has_input(void)
{
    if (input_closed)
        return false;
    struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP));
}

int console_getc(void)
{
    if (!console_has_input())
        return -1;
    unsigned char c;
    if (read(STDIN_FILENO, &c, 1) != 1) {
        input_closed = true;
        return -1;
    }
    return c;
}
