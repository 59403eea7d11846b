/* test_routes.c - the soft route against the KVM route on the same guests: random
 * integer sequences (diff_gen.h) at CPL3 in a flat 64-bit guest, each ended by a
 * HLT that raises #GP into a handler (so the exit stream is the same on both
 * routes), run once on each backend in turn in this process. Registers, the flags
 * the sequence leaves defined, the written memory and the exit (reason, handler
 * RIP, stacked RIP) must agree. Where KVM is absent the test skips. On this kind
 * of host KVM runs CPL3 code natively, so it is the hardware's answer. */
#include <anyhv/anyhv.h>
#include <criterion/criterion.h>
#include <stdio.h>

#include "diff_gen.h"
#include "x86_guest.h"

#define CASES 300
#define CODE_AREA 0x100000u
#define CODE_SLOTS 64u
#define RBX_VALUE (XG_DATA + 0x800u)
#define RSP_VALUE (XG_STACK_TOP - 0x400u)
#define DATA_SIZE 0x1000u
#define HLT_BYTE 0xf4

static const hv_x86_reg_t gprs[16] = { HV_X86_RAX, HV_X86_RCX, HV_X86_RDX, HV_X86_RBX, HV_X86_RSP, HV_X86_RBP,
                                       HV_X86_RSI, HV_X86_RDI, HV_X86_R8,  HV_X86_R9,  HV_X86_R10, HV_X86_R11,
                                       HV_X86_R12, HV_X86_R13, HV_X86_R14, HV_X86_R15 };

struct rcase {
    uint8_t code[DG_MAX_BYTES + 1];
    unsigned len, count;
    uint32_t undefined;
    uint64_t gpr[16], rflags;
    uint8_t data[DATA_SIZE];
};

struct result {
    uint32_t reason;
    uint64_t rip, stacked_rip, gpr[16], rflags;
    uint8_t data[DATA_SIZE];
};

static struct rcase cases[CASES];
static struct result results[2][CASES];

static void make_cases(void)
{
    csh h;
    cr_assert_eq(cs_open(CS_ARCH_X86, CS_MODE_64, &h), CS_ERR_OK);
    cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
    cs_insn *ins = cs_malloc(h);
    for (unsigned i = 0; i < CASES; i++) {
        struct rcase *c = &cases[i];
        struct dg_rng r = { 0x9e3779b97f4a7c15ull * (i + 7) };
        unsigned n = 1 + (unsigned)(dg_next(&r) % DG_MAX_INSNS);
        c->len = dg_generate(h, ins, &r, n, c->code, &c->undefined, &c->count);
        c->code[c->len] = HLT_BYTE;
        for (int k = 0; k < 16; k++)
            c->gpr[k] = dg_next(&r);
        c->gpr[3] = RBX_VALUE;
        c->gpr[4] = RSP_VALUE;
        c->rflags = 0x2 | (dg_next(&r) & DG_ALL);
        for (unsigned k = 0; k < DATA_SIZE; k += 8) {
            uint64_t v = dg_next(&r);
            memcpy(c->data + k, &v, 8);
        }
    }
    cs_free(ins, 1);
    cs_close(&h);
}

static void run_route(anyhv_backend_t backend, struct result *out)
{
    cr_assert_eq(anyhv_set_backend(backend), HV_SUCCESS);
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    for (unsigned i = 0; i < CASES; i++) {
        const struct rcase *c = &cases[i];
        uint64_t code = CODE_AREA + (i % CODE_SLOTS) * 0x1000u;
        memcpy(g.ram + code, c->code, c->len + 1);
        memcpy(g.ram + XG_DATA, c->data, DATA_SIZE);
        memset(g.ram + XG_STACK_TOP - 0x1000, 0, 0x1000);
        cr_assert_eq(xg_long_mode_cpl(&g, 3), 0);
        for (int k = 0; k < 16; k++)
            hv_vcpu_write_register(g.vcpu, gprs[k], c->gpr[k]);
        hv_vcpu_write_register(g.vcpu, HV_X86_RFLAGS, c->rflags);
        hv_vcpu_write_register(g.vcpu, HV_X86_RIP, code);
        cr_assert_eq(hv_vcpu_run_until(g.vcpu, xg_now_ns() + 2000000000ull), HV_SUCCESS);
        struct result *r = &out[i];
        r->reason = xg_exit_reason(&g);
        r->rip = xg_reg(&g, HV_X86_RIP);
        for (int k = 0; k < 16; k++)
            r->gpr[k] = xg_reg(&g, gprs[k]);
        r->rflags = xg_reg(&g, HV_X86_RFLAGS);
        /* The handler's frame: [RSP] = error code (#GP, #PF) or RIP. */
        uint64_t sp = r->gpr[4], vec = (r->rip - XG_STUBS) / XG_STUB_SIZE;
        unsigned slot = (vec == 13 || vec == 14) ? 8 : 0;
        r->stacked_rip = 0;
        if (sp + slot + 8 <= XG_RAM_SIZE)
            memcpy(&r->stacked_rip, g.ram + sp + slot, 8);
        memcpy(r->data, g.ram + XG_DATA, DATA_SIZE);
    }
    xg_destroy(&g);
}

Test(soft_x86_routes, soft_matches_kvm_on_random_sequences, .timeout = 120)
{
    const char *why = NULL;
    if (!anyhv_backend_available(ANYHV_BACKEND_KVM, &why))
        cr_skip_test("no KVM here (%s): nothing to compare the soft route with", why ? why : "?");
    if (!anyhv_backend_available(ANYHV_BACKEND_SOFT, &why))
        cr_skip_test("soft backend unavailable: %s", why ? why : "?");
    make_cases();
    run_route(ANYHV_BACKEND_SOFT, results[0]);
    run_route(ANYHV_BACKEND_KVM, results[1]);
    unsigned mismatches = 0, completed = 0;
    for (unsigned i = 0; i < CASES; i++)
        completed += results[0][i].reason == VMX_REASON_HLT && results[0][i].rip == XG_STUBS + 13 * XG_STUB_SIZE;
    cr_expect_gt(completed, CASES / 2, "most sequences run to their final HLT (#GP at CPL3): %u", completed);
    for (unsigned i = 0; i < CASES && mismatches < 5; i++) {
        const struct result *s = &results[0][i], *k = &results[1][i];
        bool same = s->reason == k->reason && s->rip == k->rip && s->stacked_rip == k->stacked_rip &&
                    ((s->rflags ^ k->rflags) & DG_ALL & ~cases[i].undefined) == 0 &&
                    memcmp(s->gpr, k->gpr, sizeof(s->gpr)) == 0 && memcmp(s->data, k->data, DATA_SIZE) == 0;
        if (same)
            continue;
        mismatches++;
        cr_expect(same, "case %u (%u instructions): reason %u/%u rip %#llx/%#llx stacked %#llx/%#llx", i,
                  cases[i].count, s->reason, k->reason, (unsigned long long)s->rip, (unsigned long long)k->rip,
                  (unsigned long long)s->stacked_rip, (unsigned long long)k->stacked_rip);
        for (int r = 0; r < 16; r++)
            cr_expect_eq(s->gpr[r], k->gpr[r], "case %u gpr %d: soft %#llx kvm %#llx", i, r,
                         (unsigned long long)s->gpr[r], (unsigned long long)k->gpr[r]);
        cr_expect_eq(s->rflags & DG_ALL & ~cases[i].undefined, k->rflags & DG_ALL & ~cases[i].undefined,
                     "case %u flags", i);
    }
}
