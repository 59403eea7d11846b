/* A small DEFLATE (RFC 1951) and gzip (RFC 1952) decoder for the bench's boot workload,
 * freestanding (no libc): the kind of loop a kernel's self-decompressor runs. */
#ifndef ANYHV_BENCH_INFLATE_H
#define ANYHV_BENCH_INFLATE_H

#include <stddef.h>
#include <stdint.h>

enum inflate_status {
    INFLATE_OK = 0,
    INFLATE_TRUNCATED = 1,    /* input ended inside a block */
    INFLATE_BAD_BLOCK = 2,    /* reserved block type or stored length check failed */
    INFLATE_BAD_CODE = 3,     /* over-subscribed or incomplete code, invalid symbol */
    INFLATE_BAD_DISTANCE = 4, /* a match reaching before the start of the output */
    INFLATE_FULL = 5,         /* output buffer too small */
    INFLATE_BAD_HEADER = 6,   /* not a gzip member with deflate data */
    INFLATE_BAD_CHECK = 7,    /* CRC-32 or length in the gzip trailer differs */
};

/* Inflates the gzip member in[0..in_len) into out (capacity out_cap) and checks its
 * trailer; *out_len is the inflated size. */
enum inflate_status inflate_gzip(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len);
/* CRC-32 (the gzip polynomial) of buf[0..len). */
uint32_t inflate_crc32(const uint8_t *buf, size_t len);

#endif /* ANYHV_BENCH_INFLATE_H */
