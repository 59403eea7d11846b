/* anyhv-run --hash-memory (memhash.h). */
#include "memhash.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <anyhv/anyhv.h>

#define PAGE 4096ull
#define LANES 4u
#define MIB ((uint64_t)1 << 20)
/* Odd 64-bit multipliers with well-mixed bits (the golden ratio's and two of the
 * usual 64-bit hash primes). */
#define MUL_A 0x9e3779b97f4a7c15ull
#define MUL_B 0xc2b2ae3d27d4eb4full
#define MUL_C 0x165667b19e3779f9ull

static uint64_t rotl(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t finish(uint64_t z)
{
    z = (z ^ (z >> 33)) * MUL_B;
    z = (z ^ (z >> 29)) * MUL_C;
    return z ^ (z >> 32);
}

/* Four independent lanes over 32-byte blocks (the multiplies of one block overlap),
 * then the tail a word at a time; each lane's words are multiplied and rotated so a
 * change of any bit, or two words swapped, changes the result. */
uint64_t memhash_bytes(const uint8_t *p, uint64_t n)
{
    uint64_t acc[LANES] = { MUL_A, MUL_B, MUL_C, MUL_A ^ MUL_B };
    uint64_t i = 0;
    for (; i + LANES * 8 <= n; i += LANES * 8) {
        for (unsigned l = 0; l < LANES; l++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * l, 8);
            acc[l] = rotl(acc[l] + w * MUL_B, 31) * MUL_A;
        }
    }
    uint64_t h = n * MUL_C;
    for (unsigned l = 0; l < LANES; l++)
        h = rotl(h ^ finish(acc[l]), 27) * MUL_A + l;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = rotl(h ^ (w * MUL_B), 27) * MUL_A;
    }
    return finish(h);
}

void memhash_init(struct memhash *h, const uint8_t *ram, uint64_t size, uint32_t parts)
{
    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->lock, NULL);
    if (!parts || !ram || !size)
        return;
    h->ram = ram;
    h->size = size;
    h->parts = parts;
    uint64_t len = (size + parts - 1) / parts;
    h->part_len = (len + PAGE - 1) / PAGE * PAGE;
}

void memhash_exit(struct memhash *h, unsigned cpu, uint64_t vcpu)
{
    if (!h->part_len)
        return;
    uint64_t insns = 0;
    anyhv_vcpu_get_instructions(vcpu, &insns);
    pthread_mutex_lock(&h->lock);
    uint64_t n = ++h->exits;
    uint32_t part = (uint32_t)((n - 1) % h->parts);
    uint64_t at = (uint64_t)part * h->part_len;
    uint64_t len = at >= h->size ? 0 : (h->size - at < h->part_len ? h->size - at : h->part_len);
    uint64_t hash = memhash_bytes(h->ram + at, len);
    fprintf(stderr, "[hash] exit %" PRIu64 " cpu %u insns %" PRIu64 " part %u/%u %016" PRIx64 "\n", n, cpu, insns,
            part, h->parts, hash);
    pthread_mutex_unlock(&h->lock);
}

void memhash_end(struct memhash *h)
{
    if (!h->part_len)
        return;
    fprintf(stderr, "[hash] end ram %" PRIu64 " MiB %016" PRIx64 "\n", (uint64_t)(h->size / MIB), memhash_bytes(h->ram, h->size));
}
