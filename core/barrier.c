/* barrier.c - the rare side of the asymmetric fences (see barrier.h). */
#include "core/barrier.h"

#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

bool barrier_asymmetric;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int membarrier(int cmd)
{
    return (int)syscall(__NR_membarrier, cmd, 0, 0);
}

#define NEEDED (MEMBARRIER_CMD_PRIVATE_EXPEDITED | MEMBARRIER_CMD_GLOBAL)

static void decide(void)
{
#if defined(ANYHV_TSAN_BUILD)
    barrier_asymmetric = false;
#else
    int have = membarrier(MEMBARRIER_CMD_QUERY);
    barrier_asymmetric = have > 0 && (have & NEEDED) == NEEDED &&
                         membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
#endif
}

void barrier_init(void)
{
    pthread_once(&once, decide);
}

void barrier_rare(void)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (!barrier_asymmetric)
        return;
    /* A forked child's process starts unregistered: register and try again; the
     * global command (slower, needs no registration) if that fails too. */
    if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
        return;
    if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0 &&
        membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
        return;
    membarrier(MEMBARRIER_CMD_GLOBAL);
}
