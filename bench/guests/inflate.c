/* inflate.c - DEFLATE decoding for the boot workload (see inflate.h). Huffman codes up
 * to FAST_BITS long decode with one table lookup; longer ones walk the canonical code
 * a bit at a time. The input is built in, but every count, length and distance is
 * still checked: corrupt data ends with an error, never an access outside the buffers.
 * Decoder state is static (one decode at a time), so no large stack frames or implicit
 * memset calls appear in freestanding guests. */
#include "inflate.h"

#define MAX_BITS 15u
#define FAST_BITS 9u
#define FAST_SIZE (1u << FAST_BITS)
#define LITLEN_SYMS 288u
#define DIST_SYMS 32u
#define CODELEN_SYMS 19u
#define END_OF_BLOCK 256u
#define FIRST_LENGTH 257u
#define LENGTH_CODES 29u
#define DIST_CODES 30u
#define FAST_SYM_SHIFT 4u
#define FAST_LEN_MASK 0xfu

/* Block types (BTYPE). */
#define BLOCK_STORED 0u
#define BLOCK_FIXED 1u
#define BLOCK_DYNAMIC 2u

/* gzip header (RFC 1952). */
#define GZ_HEADER_BYTES 10u
#define GZ_TRAILER_BYTES 8u
#define GZ_ID1 0x1fu
#define GZ_ID2 0x8bu
#define GZ_CM_DEFLATE 8u
#define GZ_FHCRC 0x02u
#define GZ_FEXTRA 0x04u
#define GZ_FNAME 0x08u
#define GZ_FCOMMENT 0x10u

/* Lengths 3..258 and distances 1..32768: base value and extra bits per code. */
static const uint16_t length_base[LENGTH_CODES] = { 3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                                    31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const uint8_t length_extra[LENGTH_CODES] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                                    2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const uint16_t dist_base[DIST_CODES] = { 1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                                33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                                1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577 };
static const uint8_t dist_extra[DIST_CODES] = { 0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                                6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };
/* The order code-length code lengths are sent in (dynamic block header). */
static const uint8_t codelen_order[CODELEN_SYMS] = { 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15 };

struct huff {
    uint16_t fast[FAST_SIZE];       /* symbol << 4 | length; 0: a longer code */
    uint16_t count[MAX_BITS + 1];   /* number of codes of each length */
    uint16_t sym[LITLEN_SYMS];      /* symbols in canonical code order */
};

struct inflater {
    const uint8_t *in;
    size_t in_len, in_pos;
    uint64_t bits;                  /* next input bits, least significant first */
    unsigned nbits;
    uint8_t *out;
    size_t out_cap, out_len;
    enum inflate_status err;
};

static struct inflater st;
static struct huff lit, dist, codelen;

/* Top the bit buffer up from the input (fewer bits at the end of the input). */
static void refill(struct inflater *s)
{
    while (s->nbits <= 56 && s->in_pos < s->in_len) {
        s->bits |= (uint64_t)s->in[s->in_pos++] << s->nbits;
        s->nbits += 8;
    }
}

static void consume(struct inflater *s, unsigned n)
{
    if (n > s->nbits) {
        s->err = INFLATE_TRUNCATED;
        n = s->nbits;
    }
    s->bits >>= n;
    s->nbits -= n;
}

static unsigned get_bits(struct inflater *s, unsigned n)
{
    refill(s);
    unsigned v = (unsigned)(s->bits & ((1ull << n) - 1));
    consume(s, n);
    return v;
}

static unsigned reverse_bits(unsigned code, unsigned len)
{
    unsigned r = 0;
    for (unsigned i = 0; i < len; i++, code >>= 1)
        r = (r << 1) | (code & 1);
    return r;
}

/* Canonical code of n symbols from their lengths (0: unused). Incomplete codes are
 * allowed (a lone distance code); over-subscribed ones are not. */
static enum inflate_status huff_build(struct huff *h, const uint8_t *len, unsigned n)
{
    uint16_t next_index[MAX_BITS + 2];
    for (unsigned l = 0; l <= MAX_BITS; l++)
        h->count[l] = 0;
    for (unsigned s = 0; s < n; s++)
        h->count[len[s]]++;
    h->count[0] = 0;
    int left = 1;
    for (unsigned l = 1; l <= MAX_BITS; l++) {
        left = 2 * left - h->count[l];
        if (left < 0)
            return INFLATE_BAD_CODE;
    }
    next_index[1] = 0;
    for (unsigned l = 1; l <= MAX_BITS; l++)
        next_index[l + 1] = (uint16_t)(next_index[l] + h->count[l]);
    for (unsigned s = 0; s < n; s++)
        if (len[s])
            h->sym[next_index[len[s]]++] = (uint16_t)s;
    for (unsigned i = 0; i < FAST_SIZE; i++)
        h->fast[i] = 0;
    unsigned code = 0, index = 0;
    for (unsigned l = 1; l <= FAST_BITS; l++, code <<= 1)
        for (unsigned k = 0; k < h->count[l]; k++, code++) {
            uint16_t entry = (uint16_t)(h->sym[index++] << FAST_SYM_SHIFT | l);
            for (unsigned j = reverse_bits(code, l); j < FAST_SIZE; j += 1u << l)
                h->fast[j] = entry;
        }
    return INFLATE_OK;
}

/* Slow path: codes longer than FAST_BITS (or none), one bit at a time. */
static unsigned decode_long(struct inflater *s, const struct huff *h)
{
    unsigned code = 0, first = 0, index = 0;
    for (unsigned l = 1; l <= MAX_BITS; l++) {
        code |= get_bits(s, 1);
        unsigned count = h->count[l];
        if (code - first < count)
            return h->sym[index + code - first];
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    s->err = INFLATE_BAD_CODE;
    return 0;
}

static unsigned decode(struct inflater *s, const struct huff *h)
{
    refill(s);
    uint16_t entry = h->fast[s->bits & (FAST_SIZE - 1)];
    if (!entry)
        return decode_long(s, h);
    consume(s, entry & FAST_LEN_MASK);
    return entry >> FAST_SYM_SHIFT;
}

static enum inflate_status build_fixed(void)
{
    static uint8_t len[LITLEN_SYMS];
    for (unsigned s = 0; s < LITLEN_SYMS; s++)
        len[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
    enum inflate_status r = huff_build(&lit, len, LITLEN_SYMS);
    for (unsigned s = 0; s < DIST_SYMS; s++)
        len[s] = 5;
    return r != INFLATE_OK ? r : huff_build(&dist, len, DIST_SYMS);
}

/* The code lengths of a dynamic block, themselves Huffman-coded with run lengths. */
static enum inflate_status build_dynamic(struct inflater *s)
{
    static uint8_t len[LITLEN_SYMS + DIST_SYMS];
    unsigned nlit = get_bits(s, 5) + FIRST_LENGTH, ndist = get_bits(s, 5) + 1, ncode = get_bits(s, 4) + 4;
    if (nlit > LITLEN_SYMS - 2 || ndist > DIST_CODES)
        return INFLATE_BAD_CODE;
    for (unsigned i = 0; i < CODELEN_SYMS; i++)
        len[codelen_order[i]] = i < ncode ? (uint8_t)get_bits(s, 3) : 0;
    if (huff_build(&codelen, len, CODELEN_SYMS) != INFLATE_OK)
        return INFLATE_BAD_CODE;
    for (unsigned i = 0; i < nlit + ndist && s->err == INFLATE_OK;) {
        unsigned sym = decode(s, &codelen), repeat, value = 0;
        if (sym < 16) {
            len[i++] = (uint8_t)sym;
            continue;
        }
        if (sym == 16) {
            if (i == 0)
                return INFLATE_BAD_CODE;
            value = len[i - 1];
            repeat = 3 + get_bits(s, 2);
        } else if (sym == 17) {
            repeat = 3 + get_bits(s, 3);
        } else {
            repeat = 11 + get_bits(s, 7);
        }
        if (i + repeat > nlit + ndist)
            return INFLATE_BAD_CODE;
        while (repeat--)
            len[i++] = (uint8_t)value;
    }
    if (s->err != INFLATE_OK || len[END_OF_BLOCK] == 0)
        return s->err != INFLATE_OK ? s->err : INFLATE_BAD_CODE;
    enum inflate_status r = huff_build(&lit, len, nlit);
    return r != INFLATE_OK ? r : huff_build(&dist, len + nlit, ndist);
}

/* Literals and matches until the end-of-block code. */
static enum inflate_status inflate_codes(struct inflater *s)
{
    for (;;) {
        unsigned sym = decode(s, &lit);
        if (s->err != INFLATE_OK)
            return s->err;
        if (sym < END_OF_BLOCK) {
            if (s->out_len == s->out_cap)
                return INFLATE_FULL;
            s->out[s->out_len++] = (uint8_t)sym;
            continue;
        }
        if (sym == END_OF_BLOCK)
            return INFLATE_OK;
        sym -= FIRST_LENGTH;
        if (sym >= LENGTH_CODES)
            return INFLATE_BAD_CODE;
        unsigned length = length_base[sym] + get_bits(s, length_extra[sym]);
        unsigned dsym = decode(s, &dist);
        if (dsym >= DIST_CODES)
            return INFLATE_BAD_CODE;
        size_t distance = dist_base[dsym] + get_bits(s, dist_extra[dsym]);
        if (s->err != INFLATE_OK)
            return s->err;
        if (distance > s->out_len)
            return INFLATE_BAD_DISTANCE;
        if (length > s->out_cap - s->out_len)
            return INFLATE_FULL;
        /* Byte by byte: a match may overlap the bytes it produces. */
        uint8_t *to = s->out + s->out_len;
        const uint8_t *from = to - distance;
        for (unsigned k = 0; k < length; k++)
            to[k] = from[k];
        s->out_len += length;
    }
}

static enum inflate_status inflate_stored(struct inflater *s)
{
    consume(s, s->nbits & 7);   /* to a byte boundary */
    unsigned len = get_bits(s, 16), nlen = get_bits(s, 16);
    if (s->err != INFLATE_OK || (len ^ 0xffffu) != nlen)
        return INFLATE_BAD_BLOCK;
    if (len > s->out_cap - s->out_len)
        return INFLATE_FULL;
    for (unsigned k = 0; k < len && s->err == INFLATE_OK; k++)
        s->out[s->out_len++] = (uint8_t)get_bits(s, 8);
    return s->err;
}

static enum inflate_status inflate_blocks(struct inflater *s)
{
    unsigned last;
    do {
        last = get_bits(s, 1);
        unsigned type = get_bits(s, 2);
        enum inflate_status r = s->err;
        if (r == INFLATE_OK) {
            if (type == BLOCK_STORED)
                r = inflate_stored(s);
            else if (type == BLOCK_FIXED)
                r = build_fixed();
            else if (type == BLOCK_DYNAMIC)
                r = build_dynamic(s);
            else
                r = INFLATE_BAD_BLOCK;
        }
        if (r == INFLATE_OK && type != BLOCK_STORED)
            r = inflate_codes(s);
        if (r != INFLATE_OK)
            return r;
    } while (!last);
    return INFLATE_OK;
}

/* Offset of the deflate data after the gzip header, or 0 when it is not one. */
static size_t gzip_header(const uint8_t *in, size_t len)
{
    if (len < GZ_HEADER_BYTES + GZ_TRAILER_BYTES || in[0] != GZ_ID1 || in[1] != GZ_ID2 || in[2] != GZ_CM_DEFLATE)
        return 0;
    unsigned flags = in[3];
    size_t pos = GZ_HEADER_BYTES, end = len - GZ_TRAILER_BYTES;
    if (flags & GZ_FEXTRA)
        pos = pos + 2 <= end ? pos + 2 + (in[pos] | (size_t)in[pos + 1] << 8) : end + 1;
    for (unsigned f = GZ_FNAME; f <= GZ_FCOMMENT; f <<= 1)
        if (flags & f) {
            while (pos < end && in[pos])
                pos++;
            pos++;
        }
    if (flags & GZ_FHCRC)
        pos += 2;
    return pos < end ? pos : 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t inflate_crc32(const uint8_t *buf, size_t len)
{
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t n = 0; n < 256; n++) {
            uint32_t c = n;
            for (unsigned k = 0; k < 8; k++)
                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len; i++)
        crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
    return crc ^ 0xffffffffu;
}

enum inflate_status inflate_gzip(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    size_t start = gzip_header(in, in_len);
    *out_len = 0;
    if (!start)
        return INFLATE_BAD_HEADER;
    struct inflater *s = &st;
    s->in = in + start;
    s->in_len = in_len - GZ_TRAILER_BYTES - start;
    s->in_pos = 0;
    s->bits = 0;
    s->nbits = 0;
    s->out = out;
    s->out_cap = out_cap;
    s->out_len = 0;
    s->err = INFLATE_OK;
    enum inflate_status r = inflate_blocks(s);
    *out_len = s->out_len;
    if (r != INFLATE_OK)
        return r;
    const uint8_t *trailer = in + in_len - GZ_TRAILER_BYTES;
    if (le32(trailer) != inflate_crc32(out, s->out_len) || le32(trailer + 4) != (uint32_t)s->out_len)
        return INFLATE_BAD_CHECK;
    return INFLATE_OK;
}
