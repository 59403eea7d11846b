/* sse_crypto.c - AES-NI, PCLMULQDQ and the SHA extensions as pure 128-bit lane
 * functions (SDM vol. 2 pseudo-code), and the approximate reciprocals RCPPS/RCPSS/
 * RSQRTPS/RSQRTSS. The AES S-box is computed once from its definition (inverse in
 * GF(2^8) then the affine map), not copied.
 *
 * The reciprocals: Intel does not publish its tables, only the bound (relative
 * error at most 1.5 * 2^-12). The soft CPU returns the exact reciprocal (or
 * reciprocal square root) rounded to nearest with 12 significant bits, which is
 * within 2^-12; the special cases are the SDM's: a zero or denormal source (always
 * read as zero) gives an infinity of its sign, an infinity gives a zero, a negative
 * number to RSQRT the default NaN, a NaN is returned quieted, and a result below
 * the normal range is flushed to zero of its sign (RCP of |x| >= 2^126 too, whose
 * reciprocal 2^-126 is still normal: the host CPU flushes it). No MXCSR flag is touched. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "frontends/x86_64/x86_sse.h"

static uint8_t sbox[256], inv_sbox[256];

static uint8_t gf_mul(uint8_t a, uint8_t b)
{
    uint8_t r = 0;
    for (; b; b >>= 1) {
        if (b & 1)
            r ^= a;
        a = (uint8_t)((a << 1) ^ ((a & 0x80) ? 0x1b : 0));
    }
    return r;
}

static uint8_t rotl8(uint8_t x, unsigned n)
{
    return (uint8_t)((x << n) | (x >> (8 - n)));
}

static void sbox_init(void)
{
    for (unsigned x = 0; x < 256; x++) {
        uint8_t inv = 0;   /* x^254: the inverse, 0 for 0 */
        if (x) {
            uint8_t p = (uint8_t)x;
            inv = 1;
            for (unsigned e = 254; e; e >>= 1, p = gf_mul(p, p))
                if (e & 1)
                    inv = gf_mul(inv, p);
        }
        uint8_t s = (uint8_t)(inv ^ rotl8(inv, 1) ^ rotl8(inv, 2) ^ rotl8(inv, 3) ^ rotl8(inv, 4) ^ 0x63);
        sbox[x] = s;
        inv_sbox[s] = (uint8_t)x;
    }
}

void x86_sse_crypto_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sbox_init);
}

/* State byte 4c + r is row r of column c. */
static void shift_rows(x86_lanes *s, bool inverse)
{
    x86_lanes t = *s;
    for (unsigned c = 0; c < 4; c++)
        for (unsigned r = 0; r < 4; r++)
            s->b[4 * c + r] = t.b[4 * ((inverse ? c + 4 - r : c + r) % 4) + r];
}

static void sub_bytes(x86_lanes *s, bool inverse)
{
    for (unsigned i = 0; i < 16; i++)
        s->b[i] = inverse ? inv_sbox[s->b[i]] : sbox[s->b[i]];
}

static void mix_columns(x86_lanes *s, bool inverse)
{
    static const uint8_t fwd[4] = { 2, 3, 1, 1 }, inv[4] = { 14, 11, 13, 9 };
    const uint8_t *m = inverse ? inv : fwd;
    for (unsigned c = 0; c < 4; c++) {
        uint8_t col[4];
        memcpy(col, &s->b[4 * c], 4);
        for (unsigned r = 0; r < 4; r++) {
            uint8_t v = 0;
            for (unsigned k = 0; k < 4; k++)
                v ^= gf_mul(col[k], m[(k + 4 - r) % 4]);
            s->b[4 * c + r] = v;
        }
    }
}

static uint32_t sub_word(uint32_t w)
{
    return (uint32_t)sbox[w & 0xff] | (uint32_t)sbox[(w >> 8) & 0xff] << 8 | (uint32_t)sbox[(w >> 16) & 0xff] << 16 |
           (uint32_t)sbox[w >> 24] << 24;
}

static uint32_t ror32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << ((32 - n) & 31));
}

static uint32_t rol32(uint32_t x, unsigned n)
{
    return ror32(x, (32 - n) & 31);
}

static void aes(unsigned op, unsigned imm, const x86_lanes *a, const x86_lanes *b, x86_lanes *r)
{
    x86_lanes s = *a;
    switch (op) {
    case X86_SSE_AESENC: case X86_SSE_AESENCLAST:
        shift_rows(&s, false);
        sub_bytes(&s, false);
        if (op == X86_SSE_AESENC)
            mix_columns(&s, false);
        break;
    case X86_SSE_AESDEC: case X86_SSE_AESDECLAST:
        shift_rows(&s, true);
        sub_bytes(&s, true);
        if (op == X86_SSE_AESDEC)
            mix_columns(&s, true);
        break;
    case X86_SSE_AESIMC:
        s = *b;
        mix_columns(&s, true);
        *r = s;
        return;
    default: {   /* AESKEYGENASSIST */
        uint32_t x1 = sub_word(b->d[1]), x3 = sub_word(b->d[3]);
        r->d[0] = x1;
        r->d[1] = ror32(x1, 8) ^ imm;
        r->d[2] = x3;
        r->d[3] = ror32(x3, 8) ^ imm;
        return;
    }
    }
    r->q[0] = s.q[0] ^ b->q[0];
    r->q[1] = s.q[1] ^ b->q[1];
}

static void clmul(unsigned imm, const x86_lanes *a, const x86_lanes *b, x86_lanes *r)
{
    uint64_t x = a->q[imm & 1], y = b->q[(imm >> 4) & 1], lo = 0, hi = 0;
    for (unsigned i = 0; i < 64; i++)
        if ((y >> i) & 1) {
            lo ^= x << i;
            hi ^= i ? x >> (64 - i) : 0;
        }
    r->q[0] = lo;
    r->q[1] = hi;
}

/* SHA-1: dwords named as the SDM does, [127:96] first. */
static uint32_t sha1_f(unsigned fn, uint32_t b, uint32_t c, uint32_t d)
{
    switch (fn) {
    case 0: return (b & c) ^ (~b & d);
    case 2: return (b & c) ^ (b & d) ^ (c & d);
    default: return b ^ c ^ d;
    }
}

static void sha1(unsigned op, unsigned imm, const x86_lanes *s1, const x86_lanes *s2, x86_lanes *r)
{
    static const uint32_t k[4] = { 0x5a827999u, 0x6ed9eba1u, 0x8f1bbcdcu, 0xca62c1d6u };
    switch (op) {
    case X86_SSE_SHA1RNDS4: {
        uint32_t A = s1->d[3], B = s1->d[2], C = s1->d[1], D = s1->d[0], E = 0;
        const uint32_t w[4] = { s2->d[3], s2->d[2], s2->d[1], s2->d[0] };
        unsigned fn = imm & 3;
        for (unsigned i = 0; i < 4; i++) {
            uint32_t na = sha1_f(fn, B, C, D) + rol32(A, 5) + w[i] + E + k[fn];
            E = D, D = C, C = rol32(B, 30), B = A, A = na;
        }
        r->d[3] = A, r->d[2] = B, r->d[1] = C, r->d[0] = D;
        return;
    }
    case X86_SSE_SHA1NEXTE:
        *r = *s2;
        r->d[3] = s2->d[3] + rol32(s1->d[3], 30);
        return;
    case X86_SSE_SHA1MSG1:
        r->d[3] = s1->d[1] ^ s1->d[3];
        r->d[2] = s1->d[0] ^ s1->d[2];
        r->d[1] = s2->d[3] ^ s1->d[1];
        r->d[0] = s2->d[2] ^ s1->d[0];
        return;
    default: {   /* SHA1MSG2 */
        uint32_t w16 = rol32(s1->d[3] ^ s2->d[2], 1), w17 = rol32(s1->d[2] ^ s2->d[1], 1);
        uint32_t w18 = rol32(s1->d[1] ^ s2->d[0], 1), w19 = rol32(s1->d[0] ^ w16, 1);
        r->d[3] = w16, r->d[2] = w17, r->d[1] = w18, r->d[0] = w19;
        return;
    }
    }
}

static uint32_t big_sigma0(uint32_t x) { return ror32(x, 2) ^ ror32(x, 13) ^ ror32(x, 22); }
static uint32_t big_sigma1(uint32_t x) { return ror32(x, 6) ^ ror32(x, 11) ^ ror32(x, 25); }
static uint32_t small_sigma0(uint32_t x) { return ror32(x, 7) ^ ror32(x, 18) ^ (x >> 3); }
static uint32_t small_sigma1(uint32_t x) { return ror32(x, 17) ^ ror32(x, 19) ^ (x >> 10); }

/* SHA256RNDS2 takes WK0/WK1 (XMM0's low dwords) as wk. */
static void sha256(unsigned op, uint64_t wk, const x86_lanes *s1, const x86_lanes *s2, x86_lanes *r)
{
    switch (op) {
    case X86_SSE_SHA256RNDS2: {
        uint32_t A = s2->d[3], B = s2->d[2], C = s1->d[3], D = s1->d[2];
        uint32_t E = s2->d[1], F = s2->d[0], G = s1->d[1], H = s1->d[0];
        for (unsigned i = 0; i < 2; i++) {
            uint32_t w = (uint32_t)(wk >> (32 * i));
            uint32_t ch = (E & F) ^ (~E & G), maj = (A & B) ^ (A & C) ^ (B & C);
            uint32_t t = ch + big_sigma1(E) + w + H;
            uint32_t na = t + maj + big_sigma0(A), ne = t + D;
            H = G, G = F, F = E, E = ne, D = C, C = B, B = A, A = na;
        }
        r->d[3] = A, r->d[2] = B, r->d[1] = E, r->d[0] = F;
        return;
    }
    case X86_SSE_SHA256MSG1:
        r->d[3] = s1->d[3] + small_sigma0(s2->d[0]);
        r->d[2] = s1->d[2] + small_sigma0(s1->d[3]);
        r->d[1] = s1->d[1] + small_sigma0(s1->d[2]);
        r->d[0] = s1->d[0] + small_sigma0(s1->d[1]);
        return;
    default: {   /* SHA256MSG2 */
        uint32_t w16 = s1->d[0] + small_sigma1(s2->d[2]), w17 = s1->d[1] + small_sigma1(s2->d[3]);
        uint32_t w18 = s1->d[2] + small_sigma1(w16), w19 = s1->d[3] + small_sigma1(w17);
        r->d[0] = w16, r->d[1] = w17, r->d[2] = w18, r->d[3] = w19;
        return;
    }
    }
}

/* ---- approximate reciprocals ----------------------------------------------------- */

#define F32_SIGN 0x80000000u
#define F32_EXP 0x7f800000u
#define F32_FRAC 0x007fffffu
#define F32_QUIET 0x00400000u
#define F32_INF 0x7f800000u
#define F32_DEFAULT_NAN 0xffc00000u
#define RCP_FLUSH_EXP (253u << 23)   /* biased exponent of 2^126 */
#define RCP_DROPPED_BITS 11u        /* of the 23 fraction bits: 12 significant bits kept */

static uint32_t round_to_12_bits(double v)
{
    float f = (float)v;
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t half = 1u << (RCP_DROPPED_BITS - 1);
    u = (u + half) & ~((1u << RCP_DROPPED_BITS) - 1);   /* may carry into the exponent: fine */
    return u;
}

static uint32_t rcp_lane(uint32_t x, bool rsqrt)
{
    uint32_t sign = x & F32_SIGN, exp = x & F32_EXP;
    if (exp == F32_EXP && (x & F32_FRAC))
        return x | F32_QUIET;
    if (exp == 0)   /* zero or denormal: read as zero */
        return sign | F32_INF;
    if (exp == F32_EXP)
        return rsqrt && sign ? F32_DEFAULT_NAN : sign;
    if (rsqrt && sign)
        return F32_DEFAULT_NAN;
    if (!rsqrt && exp >= RCP_FLUSH_EXP)
        return sign;   /* |x| >= 2^126: the reciprocal is flushed, as the host CPU does */
    float f;
    memcpy(&f, &x, 4);
    uint32_t r = round_to_12_bits(rsqrt ? 1.0 / sqrt((double)f) : 1.0 / (double)f);
    if ((r & F32_EXP) == 0)
        return r & F32_SIGN;   /* below the normal range: flushed */
    return r;
}

/* ---- AVX/AVX2/F16C lanes without an SSE twin ------------------------------------ */

/* Sign bits of a & b (ZF) and ~a & b (CF) all clear: bits 0 and 2, as PTEST. */
static void test_signs(const x86_lanes *a, const x86_lanes *b, bool pd, x86_lanes *r)
{
    uint64_t sign = pd ? 0x8000000000000000ull : 0x8000000080000000ull;
    bool zf = !((a->q[0] & b->q[0] & sign) | (a->q[1] & b->q[1] & sign));
    bool cf = !((~a->q[0] & b->q[0] & sign) | (~a->q[1] & b->q[1] & sign));
    memset(r, 0, sizeof(*r));
    r->q[0] = (zf ? X86_SSE_FLAG_ZF : 0) | (cf ? X86_SSE_FLAG_CF : 0);
}

/* Per-lane shifts by counts in b; counts beyond the width give 0 (the sign). */
static void shift_var(unsigned op, const x86_lanes *a, const x86_lanes *b, x86_lanes *r)
{
    for (unsigned i = 0; i < 4; i++) {
        uint32_t n = b->d[i];
        if (op == X86_SSE_PSLLV32) r->d[i] = n > 31 ? 0 : a->d[i] << n;
        if (op == X86_SSE_PSRLV32) r->d[i] = n > 31 ? 0 : a->d[i] >> n;
        if (op == X86_SSE_PSRAV32) r->d[i] = (uint32_t)((int32_t)a->d[i] >> (n > 31 ? 31 : n));
    }
    for (unsigned i = 0; i < 2; i++) {
        uint64_t n = b->q[i];
        if (op == X86_SSE_PSLLV64) r->q[i] = n > 63 ? 0 : a->q[i] << n;
        if (op == X86_SSE_PSRLV64) r->q[i] = n > 63 ? 0 : a->q[i] >> n;
    }
}

/* Half to single: exact (every half is a float); a signalling NaN is quieted. */
static uint32_t half_to_single(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, frac = h & 0x3ffu;
    if (exp == 0x1f)
        return sign | F32_INF | (frac << 13) | (frac ? F32_QUIET : 0);
    if (exp)
        return sign | ((exp + 112) << 23) | (frac << 13);
    if (!frac)
        return sign;
    unsigned shift = 0;   /* a denormal half: normalise */
    while (!(frac & 0x400u))
        frac <<= 1, shift++;
    return sign | ((113 - shift) << 23) | ((frac & 0x3ffu) << 13);
}

static bool avx_lanes(unsigned op, const x86_lanes *a, const x86_lanes *b, x86_lanes *r)
{
    switch (op) {
    case X86_SSE_PERMILPSV:
        for (unsigned i = 0; i < 4; i++)
            r->d[i] = a->d[b->d[i] & 3];
        return true;
    case X86_SSE_PERMILPDV:
        for (unsigned i = 0; i < 2; i++)
            r->q[i] = a->q[(b->q[i] >> 1) & 1];
        return true;
    case X86_SSE_TESTPS: case X86_SSE_TESTPD:
        test_signs(a, b, op == X86_SSE_TESTPD, r);
        return true;
    case X86_SSE_PSLLV32: case X86_SSE_PSLLV64: case X86_SSE_PSRLV32: case X86_SSE_PSRLV64: case X86_SSE_PSRAV32:
        shift_var(op, a, b, r);
        return true;
    case X86_SSE_CVTPH2PS:
        for (unsigned i = 0; i < 4; i++)
            r->d[i] = half_to_single(b->w[i]);
        return true;
    default:
        return false;
    }
}

bool x86_sse_crypto(unsigned op, unsigned imm, uint64_t extra, const x86_lanes *a, const x86_lanes *b,
                    x86_lanes *r)
{
    if (avx_lanes(op, a, b, r))
        return true;
    switch (op) {
    case X86_SSE_AESENC: case X86_SSE_AESENCLAST: case X86_SSE_AESDEC: case X86_SSE_AESDECLAST:
    case X86_SSE_AESIMC: case X86_SSE_AESKEYGEN:
        aes(op, imm, a, b, r);
        return true;
    case X86_SSE_PCLMULQDQ:
        clmul(imm, a, b, r);
        return true;
    case X86_SSE_SHA1RNDS4: case X86_SSE_SHA1NEXTE: case X86_SSE_SHA1MSG1: case X86_SSE_SHA1MSG2:
        sha1(op, imm, a, b, r);
        return true;
    case X86_SSE_SHA256RNDS2: case X86_SSE_SHA256MSG1: case X86_SSE_SHA256MSG2:
        sha256(op, extra, a, b, r);
        return true;
    case X86_SSE_RCPPS: case X86_SSE_RSQRTPS:
        for (unsigned i = 0; i < 4; i++)
            r->d[i] = rcp_lane(b->d[i], op == X86_SSE_RSQRTPS);
        return true;
    case X86_SSE_RCPSS: case X86_SSE_RSQRTSS:
        *r = *a;
        r->d[0] = rcp_lane(b->d[0], op == X86_SSE_RSQRTSS);
        return true;
    default:
        return false;
    }
}
