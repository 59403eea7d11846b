/* test_vectors.c - per-instruction vectors (vectors_int.inc, vectors_sse.inc) at CPL3 in a flat
 * 64-bit guest, on every backend: boundary operands, shift counts 0 and >= width,
 * #DE, #UD and exact flags. Each vector's bytes are followed by HLT, which at CPL3
 * raises #GP; every exception goes through the IDT (with the TSS stack switch) to
 * a handler that is a HLT at a known address (HLT exiting on). So a vector ends in
 * the #GP handler with the HLT's address stacked, or in its exception's handler
 * with the faulting instruction stacked. CPL3 also keeps the KVM route on native
 * execution where the host KVM emulates kernel code (PVM). */
#include <criterion/criterion.h>
#include <stdio.h>

#include "support/backend.h"
#include "x86_guest.h"

#define HLT_BYTE 0xf4
#define GP_VECTOR 13
#define BP_VECTOR 3

struct vector {
    const char *code;
    unsigned len;
    uint64_t rax, rcx, rdx, flags_in;
    uint64_t rax_out, rcx_out, rdx_out, flags_mask, flags_out;
    int exc;
    unsigned line;
};

#define V(code, a, c, d, fi, ao, co, dout, fm, fo, ex) \
    { code, sizeof(code) - 1, a, c, d, fi, ao, co, dout, fm, fo, ex, __LINE__ },
static const struct vector vectors[] = {
#include "vectors_int.inc"
};
static const struct vector sse_vectors[] = {
#include "vectors_sse.inc"
};
#undef V
#define N_INT_VECTORS (sizeof(vectors) / sizeof(vectors[0]))

/* Each vector gets its own code address: code is never rewritten under a
 * translation that a backend may have cached. */
#define VECTOR_AREA 0x100000u
#define VECTOR_STRIDE 64u

static void run_one(struct xg *g, const struct vector *v, unsigned index)
{
    uint64_t code = VECTOR_AREA + (uint64_t)index * VECTOR_STRIDE;
    memcpy(g->ram + code, v->code, v->len);
    g->ram[code + v->len] = HLT_BYTE;
    cr_assert_eq(xg_long_mode_cpl(g, 3), 0);
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, code);
    hv_vcpu_write_register(g->vcpu, HV_X86_RSP, XG_STACK_TOP);
    hv_vcpu_write_register(g->vcpu, HV_X86_RBX, XG_DATA);
    hv_vcpu_write_register(g->vcpu, HV_X86_RAX, v->rax);
    hv_vcpu_write_register(g->vcpu, HV_X86_RCX, v->rcx);
    hv_vcpu_write_register(g->vcpu, HV_X86_RDX, v->rdx);
    hv_vcpu_write_register(g->vcpu, HV_X86_RFLAGS, v->flags_in);
    cr_assert_eq(hv_vcpu_run(g->vcpu), HV_SUCCESS, "vector at line %u: run failed", v->line);
    uint32_t reason = xg_exit_reason(g);
    int vec = v->exc >= 0 ? v->exc : GP_VECTOR;
    uint64_t want_rip = v->exc < 0 || v->exc == BP_VECTOR ? code + v->len : code;
    uint64_t stub = XG_STUBS + XG_STUB_SIZE * (uint64_t)vec;
    cr_expect_eq(reason, VMX_REASON_HLT, "line %u: exit reason %u, wanted HLT in a handler", v->line, reason);
    cr_expect_eq(xg_reg(g, HV_X86_RIP), stub, "line %u: RIP %#llx, wanted the handler of vector %d", v->line,
                 (unsigned long long)xg_reg(g, HV_X86_RIP), vec);
    uint64_t sp = xg_reg(g, HV_X86_RSP), stacked = 0;
    unsigned rip_slot = vec == GP_VECTOR ? 8 : 0;   /* #GP pushes an error code first */
    if (sp + rip_slot + 8 <= XG_RAM_SIZE)
        memcpy(&stacked, g->ram + sp + rip_slot, 8);
    cr_expect_eq(stacked, want_rip, "line %u: stacked RIP %#llx, wanted %#llx", v->line,
                 (unsigned long long)stacked, (unsigned long long)want_rip);
    cr_expect_eq(xg_reg(g, HV_X86_RAX), v->rax_out, "line %u: rax %#llx, wanted %#llx", v->line,
                 (unsigned long long)xg_reg(g, HV_X86_RAX), (unsigned long long)v->rax_out);
    cr_expect_eq(xg_reg(g, HV_X86_RCX), v->rcx_out, "line %u: rcx %#llx, wanted %#llx", v->line,
                 (unsigned long long)xg_reg(g, HV_X86_RCX), (unsigned long long)v->rcx_out);
    cr_expect_eq(xg_reg(g, HV_X86_RDX), v->rdx_out, "line %u: rdx %#llx, wanted %#llx", v->line,
                 (unsigned long long)xg_reg(g, HV_X86_RDX), (unsigned long long)v->rdx_out);
    uint64_t fl = xg_reg(g, HV_X86_RFLAGS);
    cr_expect_eq(fl & v->flags_mask, v->flags_out, "line %u: flags %#llx (mask %#llx), wanted %#llx", v->line,
                 (unsigned long long)(fl & v->flags_mask), (unsigned long long)v->flags_mask,
                 (unsigned long long)v->flags_out);
}

Test(soft_x86_vectors, integer_isa)
{
    test_require_backend();
    struct xg g;
    cr_assert_eq(xg_create(&g), 0, "VM setup");
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
        run_one(&g, &vectors[i], (unsigned)i);
    xg_destroy(&g);
}

Test(soft_x86_vectors, sse_isa)
{
    test_require_backend();
    struct xg g;
    cr_assert_eq(xg_create(&g), 0, "VM setup");
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    for (size_t i = 0; i < sizeof(sse_vectors) / sizeof(sse_vectors[0]); i++)
        run_one(&g, &sse_vectors[i], (unsigned)(N_INT_VECTORS + i));
    xg_destroy(&g);
}
