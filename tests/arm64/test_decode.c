/* The A64 pattern table and decoder: every row describes exactly 32 bits, no two
 * rows are ambiguous (an overlap must be a strict refinement), and well-known
 * encodings decode to the Arm ARM names. Prints the coverage figures. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "frontends/arm64/decode.h"

Test(arm64_decode, every_row_parses)
{
    for (size_t i = 0; i < a64_pattern_count(); i++) {
        const struct a64_pattern *p = a64_pattern_at(i);
        uint32_t m, v;
        cr_expect(a64_pattern_parse(p->text, &m, &v), "row %s: \"%s\"", p->name, p->text);
        cr_expect_eq(v & ~m, 0u, "row %s", p->name);
    }
    uint32_t m, v;
    cr_expect_not(a64_pattern_parse("0101", &m, &v), "too short");
    cr_expect_not(a64_pattern_parse("imm:33", &m, &v), "too long");
}

Test(arm64_decode, overlaps_are_refinements)
{
    size_t n = a64_pattern_count();
    for (size_t i = 0; i < n; i++) {
        const struct a64_pattern *a = a64_pattern_at(i);
        for (size_t j = i + 1; j < n; j++) {
            const struct a64_pattern *b = a64_pattern_at(j);
            if ((a->value ^ b->value) & a->mask & b->mask)
                continue;   /* disjoint */
            uint32_t common = a->mask & b->mask;
            bool a_refines = (a->mask & common) == b->mask && a->mask != b->mask;
            bool b_refines = (b->mask & common) == a->mask && a->mask != b->mask;
            cr_expect(a_refines || b_refines, "%s and %s overlap without one refining the other", a->name,
                      b->name);
        }
    }
}

static const struct {
    uint32_t insn;
    const char *name;
} known[] = {
    { 0xd503201f, "NOP" },               /* nop */
    { 0xd5033fdf, "ISB" },
    { 0xd5033bbf, "DMB" },               /* dmb ish */
    { 0xa9bf7bfd, "STP_gen_pre" },       /* stp x29, x30, [sp, #-16]! */
    { 0xa8c17bfd, "LDP_gen_post" },      /* ldp x29, x30, [sp], #16 */
    { 0x910003fd, "ADD_addsub_imm" },    /* mov x29, sp */
    { 0xd65f03c0, "RET" },
    { 0x52800000, "MOVZ" },              /* mov w0, #0 */
    { 0x2a0103e0, "ORR_log_shift" },     /* mov w0, w1 */
    { 0x1b007c00, "MADD" },              /* mul w0, w0, w0 */
    { 0x9ac00c00, "SDIV" },
    { 0xc85f7c20, "LDXR" },              /* ldxr x0, [x1] */
    { 0xc8027c20, "STXR" },              /* stxr w2, x0, [x1] */
    { 0xf8200020, "LDADD" },             /* ldadd x0, x0, [x1] */
    { 0xf9400001, "LDR_ldst_pos" },      /* ldr x1, [x0] */
    { 0xb9400001, "LDR_ldst_pos" },      /* ldr w1, [x0] */
    { 0x38401420, "LDRB_ldst_immpost" }, /* ldrb w0, [x1], #1 */
    { 0xd4000002, "HVC" },
    { 0xd4000003, "SMC" },
    { 0xd4200000, "BRK" },
    { 0xd69f03e0, "ERET" },
    { 0xd503207f, "WFI" },
    { 0xd53be041, "MRS" },               /* mrs x1, cntvct_el0 */
    { 0xd51be33f, "MSR_reg" },           /* msr cntv_ctl_el0, xzr */
    { 0xd50342ff, "MSR_imm" },           /* msr daifclr, #2 */
    { 0xd508871f, "SYS" },               /* tlbi vmalle1 */
    { 0x1e202000, "FCMP_float" },        /* fcmp s0, s0 */
    { 0x94000000, "BL" },
    { 0x54000000, "B_cond" },
    { 0xb4000000, "CBZ" },
};

Test(arm64_decode, known_encodings)
{
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        const struct a64_pattern *p = a64_decode(known[i].insn);
        cr_expect_not_null(p, "%08x", known[i].insn);
        if (p)
            cr_expect_str_eq(p->name, known[i].name, "%08x", known[i].insn);
    }
    cr_expect_null(a64_decode(0x00000000), "UDF #0 is unallocated");
}

Test(arm64_decode, coverage_figures)
{
    size_t impl = 0, total = a64_pattern_count();
    size_t by_class[6] = { 0 }, impl_by_class[6] = { 0 };
    for (size_t i = 0; i < total; i++) {
        const struct a64_pattern *p = a64_pattern_at(i);
        by_class[p->cls]++;
        if (p->trans) {
            impl++;
            impl_by_class[p->cls]++;
        }
    }
    static const char *const names[6] = { "dp-imm", "dp-reg", "ldst", "branch-sys", "fp", "simd" };
    fprintf(stderr, "arm64 pattern table: %zu of %zu encodings implemented\n", impl, total);
    for (int c = 0; c < 6; c++)
        fprintf(stderr, "  %-10s %3zu / %3zu\n", names[c], impl_by_class[c], by_class[c]);
    cr_expect_gt(impl, 150);
}
