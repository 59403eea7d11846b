/* anyhv-run --hash-memory PARTS: a hash of guest RAM at every exit, so two runs (or a
 * record and its replay) can be compared memory and all, exit for exit, not only by
 * their exit streams. Hashing all of a Linux-sized RAM at each of tens of thousands
 * of exits would cost more than the run, so each exit hashes the next 1/PARTS of RAM
 * in turn (PARTS consecutive exits cover all of it; PARTS = 1 hashes everything every
 * time), and the end of the run hashes all of it. A difference in memory that lasts
 * is seen within PARTS exits, and any difference at the end. Lines on stderr:
 *
 *     [hash] exit 1207 cpu 0 insns 5123456 part 183/1024 9f0c3a5e77d21b40
 *     [hash] end ram 256 MiB 3c5e0f1a9b7d2e44
 *
 * Meaningful in deterministic mode, where an exit is handled with the vCPU's turn held
 * (no other vCPU writes memory meanwhile). */
#ifndef ANYHV_TOOLS_RUN_MEMHASH_H
#define ANYHV_TOOLS_RUN_MEMHASH_H

#include <pthread.h>
#include <stdint.h>

struct memhash {
    const uint8_t *ram;
    uint64_t size;
    uint64_t part_len;     /* bytes per part, whole pages; 0: off */
    uint32_t parts;
    uint64_t exits;        /* exits hashed so far (under lock) */
    pthread_mutex_t lock;
};

/* parts 0: off (every call below does nothing). */
void memhash_init(struct memhash *h, const uint8_t *ram, uint64_t size, uint32_t parts);
/* One exit of vCPU `cpu` (handle `vcpu`, for its instruction count): the next part. */
void memhash_exit(struct memhash *h, unsigned cpu, uint64_t vcpu);
/* The run is over (every vCPU stopped): all of RAM. */
void memhash_end(struct memhash *h);
/* The hash of n bytes (n a multiple of 8). */
uint64_t memhash_bytes(const uint8_t *p, uint64_t n);

#endif /* ANYHV_TOOLS_RUN_MEMHASH_H */
