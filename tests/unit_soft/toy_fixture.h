/* The fixture the toy-frontend run tests share (test_run.c, test_mem.c): one toy VM with
 * 64 KiB of RAM, code at CODE, and a fault handler at HANDLER that reports the cause
 * through port 0xe. Each including file gets its own copy. */
#ifndef ANYHV_TESTS_UNIT_SOFT_TOY_FIXTURE_H
#define ANYHV_TESTS_UNIT_SOFT_TOY_FIXTURE_H

#include <time.h>

#include "support.h"

#define CODE 0x1000u
#define HANDLER 0x3000u
#define RAM (64u * 1024u)

static struct toy_vm t;
static inline void setup(void) { memset(&t, 0, sizeof(t)); }
static inline void teardown(void) { toy_vm_destroy(&t); }

static inline void start(void)
{
    toy_vm_create(&t, RAM);
    toy_vcpu_create(&t);
    toy_regs(&t)->rip = CODE;
    toy_regs(&t)->gpr[15] = HANDLER;
    toy_emit(t.ram + HANDLER, TOY_OUT, 13, 0, 0xe);
}

static inline void sleep_ms(unsigned ms)
{
    struct timespec ts = { 0, (long)ms * 1000000L };
    nanosleep(&ts, NULL);
}

#endif /* ANYHV_TESTS_UNIT_SOFT_TOY_FIXTURE_H */
