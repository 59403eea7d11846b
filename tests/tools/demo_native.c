/* The demo guest's oracle: demo.c built for the host, printing to stdout. The tests
 * compare anyhv-run's guest output with this program's output for the same arch name. */
#include <stdio.h>

#include "demo.h"

static const char *arch_name = "?";

const char *demo_arch(void)
{
    return arch_name;
}

void demo_putc(char c)
{
    putchar(c);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        arch_name = argv[1];
    return demo_main();
}
