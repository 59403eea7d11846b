/* decode.h - the A64 decoder built from insns.def: pattern parsing, lookup of the
 * most specific matching entry, and the table itself for coverage lists and the
 * differential tests' random instruction generator. */
#ifndef ANYHV_FRONTENDS_ARM64_DECODE_H
#define ANYHV_FRONTENDS_ARM64_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct a64_tc;
typedef bool (*a64_trans_fn)(struct a64_tc *t, uint32_t insn);

/* Encoding classes = translator files. */
enum a64_class { A64_CLASS_DP_IMM, A64_CLASS_DP_REG, A64_CLASS_LDST, A64_CLASS_BRANCH_SYS,
                 A64_CLASS_FP, A64_CLASS_SIMD };

struct a64_pattern {
    const char *name;      /* Arm ARM encoding name */
    enum a64_class cls;
    const char *text;      /* the pattern as written in insns.def */
    a64_trans_fn trans;    /* NULL: in the coverage list only (UNDEFINED) */
    uint32_t mask, value;  /* filled by a64_decode_init() */
};

/* Parse the table once per process (thread-safe, idempotent). */
void a64_decode_init(void);
/* The entry for insn, or NULL when no entry matches (unallocated). */
const struct a64_pattern *a64_decode(uint32_t insn);
size_t a64_pattern_count(void);
const struct a64_pattern *a64_pattern_at(size_t i);
/* Pattern text -> mask/value; false when it does not describe exactly 32 bits. */
bool a64_pattern_parse(const char *text, uint32_t *mask, uint32_t *value);

#endif /* ANYHV_FRONTENDS_ARM64_DECODE_H */
