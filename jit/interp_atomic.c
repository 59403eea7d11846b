/* interp_atomic.c - guest CMPXCHG and atomic read-modify-write as host atomics.
 * Aligned accesses within a page use the host's compare-and-swap (lock cmpxchg16b
 * for 16 bytes on x86-64 hosts); misaligned ones take a process-wide lock (atomic
 * against each other, not against plain stores); page-crossing ones are split. */
#include <pthread.h>
#include <string.h>

#include "core/soft/soft.h"
#include "jit/interp.h"

static pthread_mutex_t split_lock = PTHREAD_MUTEX_INITIALIZER;

static inline ir_u128 width_mask(unsigned size)
{
    return size >= 16 ? ~(ir_u128)0 : (((ir_u128)1 << (size * 8)) - 1);
}

/* Compare-and-swap on host memory; *expected gets the old value. */
static bool host_cas(uint8_t *p, unsigned size, ir_u128 *expected, ir_u128 desired)
{
    if (((uintptr_t)p & (size - 1)) == 0) {
        switch (size) {
        case 1: { uint8_t e = (uint8_t)*expected;
            bool ok = __atomic_compare_exchange_n(p, &e, (uint8_t)desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            *expected = e; return ok; }
        case 2: { uint16_t e = (uint16_t)*expected;
            bool ok = __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t)desired, false, __ATOMIC_SEQ_CST,
                                                  __ATOMIC_SEQ_CST);
            *expected = e; return ok; }
        case 4: { uint32_t e = (uint32_t)*expected;
            bool ok = __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)desired, false, __ATOMIC_SEQ_CST,
                                                  __ATOMIC_SEQ_CST);
            *expected = e; return ok; }
        case 8: { uint64_t e = (uint64_t)*expected;
            bool ok = __atomic_compare_exchange_n((uint64_t *)p, &e, (uint64_t)desired, false, __ATOMIC_SEQ_CST,
                                                  __ATOMIC_SEQ_CST);
            *expected = e; return ok; }
#if defined(__x86_64__)
        case 16: {
            uint64_t lo = (uint64_t)*expected, hi = (uint64_t)(*expected >> 64);
            bool ok;
            __asm__ volatile("lock cmpxchg16b %1"
                             : "=@ccz"(ok), "+m"(*(volatile ir_u128 *)p), "+a"(lo), "+d"(hi)
                             : "b"((uint64_t)desired), "c"((uint64_t)(desired >> 64))
                             : "memory");
            *expected = lo | ((ir_u128)hi << 64);
            return ok; }
#endif
        default: break;
        }
    }
    pthread_mutex_lock(&split_lock);
    ir_u128 old = 0;
    memcpy(&old, p, size);
    bool ok = old == *expected;
    if (ok)
        memcpy(p, &desired, size);
    *expected = old;
    pthread_mutex_unlock(&split_lock);
    return ok;
}

ir_u128 interp_cmpxchg(struct soft_cpu *cpu, uint64_t va, unsigned size, uint32_t access, uint64_t info,
                       ir_u128 expected, ir_u128 desired)
{
    uint8_t *p = mmu_rmw_ptr(cpu, va, size, access, info);
    if (p) {
        ir_u128 e = expected;
        host_cas(p, size, &e, desired);
        return e & width_mask(size);
    }
    /* Page-crossing: read, compare and write through the checked slow paths, which
     * may fault (unwind), so no lock is held; such split accesses are not atomic. */
    ir_u128 old = 0;
    mmu_read_bytes(cpu, va, &old, size, (access & ~MMU_WRITE) | MMU_READ, info);
    if (old == expected)
        mmu_write_bytes(cpu, va, &desired, size, (access & ~MMU_READ) | MMU_WRITE, info);
    else
        mmu_write_bytes(cpu, va, &old, size, (access & ~MMU_READ) | MMU_WRITE, info);
    return old;
}

static ir_u128 rmw_apply(enum ir_rmw_kind kind, ir_u128 old, ir_u128 x, unsigned size)
{
    unsigned w = size * 8;
    ir_u128 m = width_mask(size);
    __int128 so = w >= 128 ? (__int128)old : (__int128)(old << (128 - w)) >> (128 - w);
    __int128 sx = w >= 128 ? (__int128)x : (__int128)(x << (128 - w)) >> (128 - w);
    switch (kind) {
    case IR_RMW_XCHG: return x;
    case IR_RMW_ADD: return (old + x) & m;
    case IR_RMW_AND: return old & x;
    case IR_RMW_OR: return old | x;
    case IR_RMW_XOR: return old ^ x;
    case IR_RMW_ANDN: return old & ~x & m;
    case IR_RMW_SMAX: return so >= sx ? old : x;
    case IR_RMW_SMIN: return so <= sx ? old : x;
    case IR_RMW_UMAX: return old >= x ? old : x;
    case IR_RMW_UMIN: return old <= x ? old : x;
    }
    return old;
}

ir_u128 interp_rmw(struct soft_cpu *cpu, uint64_t va, unsigned size, uint32_t access, enum ir_rmw_kind kind,
                   ir_u128 operand)
{
    uint8_t *p = mmu_rmw_ptr(cpu, va, size, access, 0);
    if (p) {
        /* The first guess is read atomically where the width allows (another vCPU may
         * be changing the word); the CAS loop corrects any guess. */
        ir_u128 old = 0;
        bool aligned = ((uintptr_t)p & (size - 1)) == 0;
        if (aligned && size == 8)
            old = __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED);
        else if (aligned && size == 4)
            old = __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
        else if (aligned && size == 2)
            old = __atomic_load_n((uint16_t *)p, __ATOMIC_RELAXED);
        else if (size == 1)
            old = __atomic_load_n(p, __ATOMIC_RELAXED);
        else
            memcpy(&old, p, size);
        while (!host_cas(p, size, &old, rmw_apply(kind, old, operand, size)))
            ;
        return old;
    }
    ir_u128 old = 0;
    mmu_read_bytes(cpu, va, &old, size, (access & ~MMU_WRITE) | MMU_READ, 0);
    ir_u128 n = rmw_apply(kind, old, operand, size);
    mmu_write_bytes(cpu, va, &n, size, (access & ~MMU_READ) | MMU_WRITE, 0);
    return old;
}
