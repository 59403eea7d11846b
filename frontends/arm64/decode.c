/* decode.c - table-driven A64 decoder. insns.def is expanded into one array; at
 * init the patterns are parsed into mask/value pairs and bucketed by bits 28:25
 * (the top-level encoding group), each bucket sorted most-specific first, so the
 * first match is the entry with the most fixed bits. */
#include "frontends/arm64/decode.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>

#define A64_INSN(name, cls, pat) bool trans_##name(struct a64_tc *t, uint32_t insn);
#define A64_UNIMPL(name, cls, pat)
#include "frontends/arm64/insns.def"
#undef A64_INSN
#undef A64_UNIMPL

static struct a64_pattern table[] = {
#define A64_INSN(name, cls, pat) { #name, A64_CLASS_##cls, pat, trans_##name, 0, 0 },
#define A64_UNIMPL(name, cls, pat) { #name, A64_CLASS_##cls, pat, NULL, 0, 0 },
#include "frontends/arm64/insns.def"
#undef A64_INSN
#undef A64_UNIMPL
};
#define TABLE_SIZE (sizeof(table) / sizeof(table[0]))

#define GROUP_SHIFT 25
#define GROUP_COUNT 16u
#define GROUP_OF(w) (((w) >> GROUP_SHIFT) & (GROUP_COUNT - 1))

static uint16_t bucket_index[GROUP_COUNT][TABLE_SIZE];
static uint16_t bucket_len[GROUP_COUNT];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

bool a64_pattern_parse(const char *text, uint32_t *mask, uint32_t *value)
{
    int bit = 31;
    uint32_t m = 0, v = 0;
    for (const char *p = text; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        if (*p == '0' || *p == '1' || *p == 'x') {
            if (bit < 0)
                return false;
            if (*p != 'x') {
                m |= 1u << bit;
                v |= (uint32_t)(*p - '0') << bit;
            }
            bit--;
            p++;
            continue;
        }
        /* name:N field */
        while (*p && (isalnum((unsigned char)*p) || *p == '_'))
            p++;
        if (*p != ':')
            return false;
        char *end;
        long n = strtol(p + 1, &end, 10);
        if (end == p + 1 || n <= 0 || n > bit + 1)
            return false;
        bit -= (int)n;
        p = end;
    }
    *mask = m;
    *value = v;
    return bit == -1;
}

/* Buckets are sorted by descending fixed-bit count, then table order. */
static int fixed_bits(uint16_t i)
{
    return __builtin_popcount(table[i].mask);
}

static void bucket_insert(unsigned g, uint16_t idx)
{
    uint16_t n = bucket_len[g]++;
    while (n > 0 && fixed_bits(bucket_index[g][n - 1]) < fixed_bits(idx)) {
        bucket_index[g][n] = bucket_index[g][n - 1];
        n--;
    }
    bucket_index[g][n] = idx;
}

static void init_tables(void)
{
    for (uint16_t i = 0; i < TABLE_SIZE; i++) {
        if (!a64_pattern_parse(table[i].text, &table[i].mask, &table[i].value)) {
            /* A malformed row never matches; the unit test names it. */
            table[i].mask = 0xffffffffu;
            table[i].value = 0;
            continue;
        }
        for (unsigned g = 0; g < GROUP_COUNT; g++) {
            uint32_t gm = (GROUP_COUNT - 1) << GROUP_SHIFT;
            if (((g << GROUP_SHIFT) ^ table[i].value) & table[i].mask & gm)
                continue;
            bucket_insert(g, i);
        }
    }
}

void a64_decode_init(void)
{
    pthread_once(&init_once, init_tables);
}

const struct a64_pattern *a64_decode(uint32_t insn)
{
    a64_decode_init();
    unsigned g = GROUP_OF(insn);
    for (uint16_t k = 0; k < bucket_len[g]; k++) {
        const struct a64_pattern *p = &table[bucket_index[g][k]];
        if ((insn & p->mask) == p->value)
            return p;
    }
    return NULL;
}

size_t a64_pattern_count(void)
{
    return TABLE_SIZE;
}

const struct a64_pattern *a64_pattern_at(size_t i)
{
    a64_decode_init();
    return i < TABLE_SIZE ? &table[i] : NULL;
}
