/* codecheck.c - the check generations of the once-per-generation byte check (see
 * soft_vcpu.check_gen). The client may rewrite guest memory between runs; a block's
 * bytes are compared with its copy before it first runs in a generation. With compiled
 * code a generation outlives a run when the bytes of everything it verified can be
 * compared again at the next entry, cheaply: they are kept as a few ranges of guest
 * code (blocks of one hot loop overlap or lie a few bytes apart, so a loop of seven
 * blocks is two comparisons), each with a copy of its bytes as verified. */
#include <string.h>

#include "core/soft/soft_internal.h"

/* Whether n bytes at a and b are equal: word by word, inline (a libc call costs more
 * than the comparison at these sizes), the last partial word as an overlapping one. */
bool soft_same_bytes(const uint8_t *a, const uint8_t *b, uint32_t n)
{
    uint64_t x, y, diff = 0;
    if (n < sizeof(uint64_t)) {
        for (; n; n--)
            diff |= (uint64_t)(*a++ ^ *b++);
        return diff == 0;
    }
    uint32_t last = n - (uint32_t)sizeof(uint64_t);
    for (uint32_t i = 0; i < last; i += sizeof(uint64_t)) {
        memcpy(&x, a + i, sizeof(x));
        memcpy(&y, b + i, sizeof(y));
        diff |= x ^ y;
    }
    memcpy(&x, a + last, sizeof(x));
    memcpy(&y, b + last, sizeof(y));
    return (diff | (x ^ y)) == 0;
}

/* [host, host+len) at guest-physical gpa, with its bytes as verified at copy, into
 * range r if it overlaps r or lies at most SOFT_RANGE_GAP bytes from it (the gap's
 * bytes are taken from memory now: nothing translated lies there, so a later change
 * there only renews the generation) and the union stays within SOFT_RANGE_MAX. */
static bool merge_into(struct soft_code_range *r, const uint8_t *host, uint64_t gpa, uint32_t len,
                       const uint8_t *copy)
{
    /* Host addresses as integers: the two may lie in different mappings. */
    uintptr_t rlo = (uintptr_t)r->host, rend = rlo + r->len, plo = (uintptr_t)host, pend = plo + len;
    if (plo - rlo != gpa - r->gpa)
        return false;   /* not the same stretch of one mapping */
    uintptr_t lo = plo < rlo ? plo : rlo, hi = pend > rend ? pend : rend;
    if (plo > rend + SOFT_RANGE_GAP || rlo > pend + SOFT_RANGE_GAP || hi - lo > SOFT_RANGE_MAX)
        return false;
    if (rlo > lo)   /* the range grows to the left */
        memmove(r->copy + (rlo - lo), r->copy, r->len);
    if (pend < rlo)   /* the gap between, from memory */
        memcpy(r->copy + (pend - lo), host + len, rlo - pend);
    if (plo > rend)
        memcpy(r->copy + (rend - lo), r->host + r->len, plo - rend);
    memcpy(r->copy + (plo - lo), copy, len);   /* the newest bytes */
    r->gpa -= rlo - lo;
    r->host = (const uint8_t *)lo;
    r->len = (uint32_t)(hi - lo);
    return true;
}

static void add_range(struct soft_vcpu *sv, const uint8_t *host, uint64_t gpa, uint32_t len, const uint8_t *copy)
{
    for (uint32_t i = 0; i < sv->nranges; i++)
        if (merge_into(&sv->ranges[i], host, gpa, len, copy))
            return;
    if (sv->nranges == SOFT_CHECK_RANGES || len > SOFT_RANGE_MAX) {
        sv->ranges_overflow = true;
        return;
    }
    struct soft_code_range *r = &sv->ranges[sv->nranges++];
    r->host = host;
    r->gpa = gpa;
    r->len = len;
    memcpy(r->copy, copy, len);
}

void soft_code_verified(struct soft_vcpu *sv, struct tc_block *blk)
{
    blk->checked_run = sv->check_gen;
    if (!sv->jit || sv->ranges_overflow)
        return;   /* the generation ends with this run anyway */
    const uint8_t *copy = blk->code;
    for (uint32_t i = 0; i < blk->npages; i++) {
        if (blk->code_len[i])
            add_range(sv, blk->code_host[i], blk->code_gpa[i], blk->code_len[i], copy);
        copy += blk->code_len[i];
    }
}

/* The generation may go on with compiled code (the interpreter alone checks lazily the
 * few blocks a run enters), while every block it verified is covered by the ranges,
 * stage 2 has not changed (their host pointers would not be safe to read; blocks freed
 * since are harmless: the ranges hold copies, not blocks), it is not old and no byte of
 * a range changed. A change ends it and nothing more: in the new generation each block
 * is compared again before it runs, and only a block whose own bytes changed is dropped
 * (a change may lie in a gap, or be the guest's own store, already handled). */
static bool generation_holds(struct soft_vcpu *sv)
{
    /* Generation 0 is the one a zeroed stamp names: never carried on. */
    if (!sv->jit || !sv->check_gen || sv->ranges_overflow || ++sv->gen_runs >= SOFT_CHECK_REFRESH_RUNS ||
        sv->ranges_s2_epoch != atomic_load_explicit(&sv->svm->s2_epoch, memory_order_acquire))
        return false;
    for (uint32_t i = 0; i < sv->nranges; i++) {
        const struct soft_code_range *r = &sv->ranges[i];
        if (!soft_same_bytes(r->host, r->copy, r->len))
            return false;
    }
    return true;
}

void soft_checks_begin(struct soft_vcpu *sv)
{
    if (generation_holds(sv))
        return;
    sv->check_gen++;
    sv->nranges = 0;
    sv->ranges_overflow = false;
    sv->ranges_s2_epoch = atomic_load_explicit(&sv->svm->s2_epoch, memory_order_acquire);
    sv->gen_runs = 0;
}
