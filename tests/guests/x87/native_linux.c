/* x87calc's native platform: a freestanding Linux program (no libc), so the oracle
 * is built by the same compiler with the same flags as the guest. Output goes to
 * stdout through write(2), the exit status is demo_main's. */
#include <stdint.h>

#include "../demo/demo.h"

#define OUT_BUF 256

static char buf[OUT_BUF];
static unsigned used;

#if defined(__x86_64__)
#define SYS_WRITE 1
#define SYS_EXIT 60
static long sys3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
const char *demo_arch(void) { return "x86_64"; }
#else
#define SYS_WRITE 4
#define SYS_EXIT 1
static long sys3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
    return r;
}
const char *demo_arch(void) { return "i386"; }
#endif

static void flush(void)
{
    if (used)
        sys3(SYS_WRITE, 1, (long)(uintptr_t)buf, used);
    used = 0;
}

void demo_putc(char c)
{
    if (used == OUT_BUF)
        flush();
    buf[used++] = c;
}

__attribute__((force_align_arg_pointer)) void _start(void)
{
    int status = demo_main();
    flush();
    sys3(SYS_EXIT, status, 0, 0);
    for (;;)
        ;
}
