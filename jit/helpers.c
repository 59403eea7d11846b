/* helpers.c - the process-wide registry of C helpers callable from IR. Frontends
 * register at init; registering the same function again returns its first id, so
 * repeated init is harmless. Ids are stable for the process's life. */
#include "jit/ir.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define IR_HELPERS_MAX 2048u

static struct ir_helper helpers[IR_HELPERS_MAX];
static _Atomic uint32_t helper_count = 1;   /* id 0 stays invalid */
static pthread_mutex_t helper_lock = PTHREAD_MUTEX_INITIALIZER;

uint32_t ir_helper_register(const struct ir_helper *h)
{
    if (!h || !h->fn)
        return 0;
    pthread_mutex_lock(&helper_lock);
    uint32_t n = atomic_load(&helper_count), id = 0;
    for (uint32_t i = 1; i < n; i++) {
        if (helpers[i].fn == h->fn && helpers[i].flags == h->flags) {
            id = i;
            goto out;
        }
    }
    if (n < IR_HELPERS_MAX) {
        helpers[n] = *h;
        id = n;
        atomic_store_explicit(&helper_count, n + 1, memory_order_release);
    }
out:
    pthread_mutex_unlock(&helper_lock);
    return id;
}

const struct ir_helper *ir_helper_get(uint32_t id)
{
    if (id == 0 || id >= atomic_load_explicit(&helper_count, memory_order_acquire))
        return NULL;
    return &helpers[id];
}
