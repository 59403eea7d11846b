/* exec_mem.c - executable memory in size classes (powers of two from 64 bytes to
 * 64 KiB) carved from 2 MiB mappings and kept on free lists when given back; larger
 * pieces get a mapping of their own. One lock: pieces are taken when a program gets
 * its native form and given back when its block is freed, both rare next to runs. */
#include "jit/exec_mem.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#define XM_MIN_SHIFT 6u                       /* 64 bytes */
#define XM_MAX_SHIFT 16u                      /* 64 KiB */
#define XM_CLASSES (XM_MAX_SHIFT - XM_MIN_SHIFT + 1u)
#define XM_CHUNK ((size_t)2 << 20)

struct xm_free {
    struct xm_free *next;
};

static pthread_mutex_t xm_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xm_free *xm_lists[XM_CLASSES];
static uint8_t *xm_cur, *xm_end;              /* the chunk being carved */

static void *map_exec(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static unsigned class_of(size_t n)
{
    unsigned k = 0;
    while (((size_t)1 << (XM_MIN_SHIFT + k)) < n)
        k++;
    return k;
}

void *exec_mem_alloc(size_t n)
{
    if (n == 0)
        n = 1;
    if (n > ((size_t)1 << XM_MAX_SHIFT))
        return map_exec(n);
    unsigned k = class_of(n);
    size_t size = (size_t)1 << (XM_MIN_SHIFT + k);
    pthread_mutex_lock(&xm_lock);
    void *p = xm_lists[k];
    if (p) {
        xm_lists[k] = xm_lists[k]->next;
    } else {
        if (!xm_cur || (size_t)(xm_end - xm_cur) < size) {
            /* The rest of the old chunk is lost to fragments below `size`: at most
             * 64 KiB of 2 MiB. */
            uint8_t *c = map_exec(XM_CHUNK);
            if (c) {
                xm_cur = c;
                xm_end = c + XM_CHUNK;
            }
        }
        if (xm_cur && (size_t)(xm_end - xm_cur) >= size) {
            p = xm_cur;
            xm_cur += size;
        }
    }
    pthread_mutex_unlock(&xm_lock);
    return p;
}

void exec_mem_free(void *p, size_t n)
{
    if (!p)
        return;
    if (n == 0)
        n = 1;
    if (n > ((size_t)1 << XM_MAX_SHIFT)) {
        munmap(p, n);
        return;
    }
    unsigned k = class_of(n);
    struct xm_free *f = p;
    pthread_mutex_lock(&xm_lock);
    f->next = xm_lists[k];
    xm_lists[k] = f;
    pthread_mutex_unlock(&xm_lock);
}
