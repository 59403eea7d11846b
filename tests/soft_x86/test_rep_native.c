/* test_rep_native.c - REP MOVS/STOS on the soft route against the host CPU: the same
 * instruction runs natively (native_x86.h) in a host buffer and in the guest in a
 * buffer of the same layout, from the same registers and bytes, and the final RCX,
 * RSI, RDI, the way it ended (at its end, or faulting at the same instruction) and
 * every byte of the buffer must agree.
 *
 * The buffer is 16 pages between two guard pages (non-present in the guest,
 * PROT_NONE on the host). The guest maps its pages with 4 KiB pages scattered over
 * guest-physical memory, so a run that crosses a page continues elsewhere in RAM.
 * Cases: lengths from 0 to past the buffer (short ones most), element sizes 1-8, DF 0
 * and 1, starts near page boundaries, destinations overlapping the source on either
 * side by a few bytes, and Linux's memmove form (`mov rcx, rdx; rep movsb`). Batches
 * put a hole in the middle of the buffer: a non-present page (#PF) or a page with no
 * RAM behind it (MMIO exit), where a run must stop with RCX/RSI/RDI at the element
 * that touched it, as the host's fault gives them. The vCPU lives through a batch, so
 * its TLB is warm as a kernel's is (the bulk path of lift_string.c runs).
 * Skips off x86-64 hosts and without the soft backend. ANYHV_FUZZ_ITERS runs more
 * cases a batch, ANYHV_FUZZ_SEED picks another seed. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <anyhv/anyhv.h>

#include "native_x86.h"
#include "x86_guest.h"

#define PAGE 0x1000u
#define REGION_PAGES 18u            /* guard, 16 buffer pages, guard */
#define BUF_FIRST 1u
#define BUF_LAST 16u
#define HOLE_PAGE 9u
#define GUEST_VA 0x200000u          /* the region in the guest: PD[1] -> a page table */
#define GUEST_PT 0x73000u
#define GUEST_BUF_PA 0x100000u      /* buffer page i at GUEST_BUF_PA + scatter(i) pages */
#define GUEST_MMIO_PA 0x300000u     /* above the 2 MiB of RAM */
#define DEFAULT_CASES 500u
#define DEFAULT_SEED 0x5eedu
#define NEAR_BOUNDARY 24u           /* starts within this of a page boundary */
#define OVERLAP_RANGE 20u           /* destination within this of the source */
#define RFLAGS_DF 0x400ull
#define RFLAGS_FIXED 0x2ull
#define PF_VECTOR 14u
#define GP_VECTOR 13u
#define HLT_BYTE 0xf4u

enum { R_RAX = 0, R_RCX = 1, R_RDX = 2, R_RSI = 6, R_RDI = 7 };
enum hole { HOLE_NONE, HOLE_PF, HOLE_MMIO };

/* One instruction form; rep_at is where the REP instruction starts in code. */
static const struct form {
    const char *name;
    uint8_t code[8];
    uint8_t len, rep_at, size;
    bool movs, count_in_rdx;
} forms[] = {
    { "rep movsb", { 0xf3, 0xa4 }, 2, 0, 1, true, false },
    { "rep movsw", { 0xf3, 0x66, 0xa5 }, 3, 0, 2, true, false },
    { "rep movsd", { 0xf3, 0xa5 }, 2, 0, 4, true, false },
    { "rep movsq", { 0xf3, 0x48, 0xa5 }, 3, 0, 8, true, false },
    { "rep stosb", { 0xf3, 0xaa }, 2, 0, 1, false, false },
    { "rep stosw", { 0xf3, 0x66, 0xab }, 3, 0, 2, false, false },
    { "rep stosd", { 0xf3, 0xab }, 2, 0, 4, false, false },
    { "rep stosq", { 0xf3, 0x48, 0xab }, 3, 0, 8, false, false },
    { "mov rcx, rdx; rep movsb", { 0x48, 0x89, 0xd1, 0xf3, 0xa4 }, 5, 3, 1, true, true },
    { "mov rcx, rdx; rep stosb", { 0x48, 0x89, 0xd1, 0xf3, 0xaa }, 5, 3, 1, false, true },
};
#define NFORMS (sizeof(forms) / sizeof(forms[0]))
#define FORM_SLOT 16u               /* form k's code at XG_CODE + FORM_SLOT * k, then HLT */

struct rep_case {
    unsigned form;
    uint64_t src, dst, count, rax, rcx_junk;   /* src/dst: offsets in the region */
    bool df;
};

/* What a run leaves: how it ended and the registers (offsets for RSI/RDI). */
struct outcome {
    bool faulted;               /* stopped at the REP instruction (#PF, MMIO, SIGSEGV) */
    uint64_t rcx, rsi, rdi, rax;
};

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Guest-physical page of buffer page i (1..16): scattered, none next to its neighbour. */
static uint64_t guest_page_pa(unsigned i)
{
    return GUEST_BUF_PA + (uint64_t)(((i - BUF_FIRST) * 5u + 3u) % (BUF_LAST - BUF_FIRST + 1)) * PAGE;
}

/* A start offset in the region: near a page boundary half the time. */
static uint64_t random_offset(uint64_t *seed)
{
    uint64_t r = rng_next(seed);
    if (r & 1) {
        uint64_t page = BUF_FIRST + (r >> 1) % (BUF_LAST - BUF_FIRST + 2);
        return page * PAGE + (r >> 8) % (2 * NEAR_BOUNDARY + 1) - NEAR_BOUNDARY;
    }
    return BUF_FIRST * PAGE + (r >> 1) % ((BUF_LAST - BUF_FIRST + 1) * PAGE);
}

static void random_case(uint64_t *seed, struct rep_case *c)
{
    c->form = (unsigned)(rng_next(seed) % NFORMS);
    unsigned size = forms[c->form].size;
    c->df = rng_next(seed) % 4 == 0;
    c->src = random_offset(seed);
    c->dst = rng_next(seed) % 3 == 0 ? c->src + rng_next(seed) % (2 * OVERLAP_RANGE + 1) - OVERLAP_RANGE
                                     : random_offset(seed);
    uint64_t r = rng_next(seed);
    switch (r % 4) {
    case 0:
    case 1:
        c->count = (r >> 2) % 41;
        break;
    case 2:
        c->count = (r >> 2) % 600;
        break;
    default:
        c->count = (r >> 2) % ((REGION_PAGES * PAGE) / size);
        break;
    }
    c->rax = rng_next(seed);
    c->rcx_junk = rng_next(seed);
}

static void describe(const struct rep_case *c, char *out, size_t n)
{
    snprintf(out, n, "%s count %llu src %#llx dst %#llx df %d", forms[c->form].name, (unsigned long long)c->count,
             (unsigned long long)c->src, (unsigned long long)c->dst, c->df);
}

static void run_native(const struct rep_case *c, uint8_t *region, struct outcome *o)
{
    const struct form *f = &forms[c->form];
    struct native_x86_state s = { 0 };
    native_x86_default_fpu(&s);
    uint64_t base = (uint64_t)(uintptr_t)region;
    s.gpr[R_RAX] = c->rax;
    s.gpr[R_RCX] = f->count_in_rdx ? c->rcx_junk : c->count;
    s.gpr[R_RDX] = c->count;
    s.gpr[R_RSI] = base + c->src;
    s.gpr[R_RDI] = base + c->dst;
    s.rflags = c->df ? RFLAGS_DF : 0;
    struct native_x86_result r;
    cr_assert_eq(native_x86_run(f->code, f->len, &s, &r), 0);
    cr_assert(r.signo == 0 || (r.signo == SIGSEGV && r.fault_offset == f->rep_at),
              "native run: signal %d at offset %llu", r.signo, (unsigned long long)r.fault_offset);
    o->faulted = r.signo != 0;
    o->rcx = s.gpr[R_RCX];
    o->rsi = s.gpr[R_RSI] - base;
    o->rdi = s.gpr[R_RDI] - base;
    o->rax = s.gpr[R_RAX];
}

static void run_soft(struct xg *g, const struct rep_case *c, unsigned cpl, enum hole hole, struct outcome *o,
                     const char *what)
{
    const struct form *f = &forms[c->form];
    uint64_t at = XG_CODE + FORM_SLOT * c->form;
    hv_vcpu_write_register(g->vcpu, HV_X86_RAX, c->rax);
    hv_vcpu_write_register(g->vcpu, HV_X86_RCX, f->count_in_rdx ? c->rcx_junk : c->count);
    hv_vcpu_write_register(g->vcpu, HV_X86_RDX, c->count);
    hv_vcpu_write_register(g->vcpu, HV_X86_RSI, GUEST_VA + c->src);
    hv_vcpu_write_register(g->vcpu, HV_X86_RDI, GUEST_VA + c->dst);
    hv_vcpu_write_register(g->vcpu, HV_X86_RFLAGS, RFLAGS_FIXED | (c->df ? RFLAGS_DF : 0));
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, at);
    cr_assert_eq(xg_run_bounded(g), HV_SUCCESS, "%s", what);
    uint32_t reason = xg_exit_reason(g);
    uint32_t vector = (uint32_t)xg_read_vmcs(g, VMCS_RO_VMEXIT_IRQ_INFO) & 0xffu;
    uint64_t rip = xg_reg(g, HV_X86_RIP);
    bool at_end = cpl == 0 ? reason == VMX_REASON_HLT : reason == VMX_REASON_EXC_NMI && vector == GP_VECTOR;
    bool fault = hole == HOLE_MMIO ? reason == VMX_REASON_EPT_VIOLATION || (reason == VMX_REASON_EXC_NMI &&
                                                                             vector == PF_VECTOR)
                                   : reason == VMX_REASON_EXC_NMI && vector == PF_VECTOR;
    cr_assert((at_end && rip == at + f->len) || (fault && rip == at + f->rep_at),
              "%s: exit reason %u vector %u at %#llx", what, reason, vector, (unsigned long long)rip);
    o->faulted = !at_end;
    o->rcx = xg_reg(g, HV_X86_RCX);
    o->rsi = xg_reg(g, HV_X86_RSI) - GUEST_VA;
    o->rdi = xg_reg(g, HV_X86_RDI) - GUEST_VA;
    o->rax = xg_reg(g, HV_X86_RAX);
}

/* The guest's view of the region: page tables, and each form's code then HLT. */
static void setup_guest(struct xg *g, unsigned cpl, enum hole hole)
{
    cr_assert_eq(xg_create(g), 0);
    cr_assert_eq(xg_long_mode_cpl(g, cpl), 0);
    uint64_t *pd = (uint64_t *)(g->ram + XG_PD), *pt = (uint64_t *)(g->ram + GUEST_PT);
    pd[GUEST_VA >> 21] = GUEST_PT | XG_PTE_P | XG_PTE_RW | XG_PTE_US;
    memset(pt, 0, PAGE);
    for (unsigned i = BUF_FIRST; i <= BUF_LAST; i++)
        pt[i] = guest_page_pa(i) | XG_PTE_P | XG_PTE_RW | XG_PTE_US;
    if (hole == HOLE_PF)
        pt[HOLE_PAGE] = 0;
    else if (hole == HOLE_MMIO)
        pt[HOLE_PAGE] = GUEST_MMIO_PA | XG_PTE_P | XG_PTE_RW | XG_PTE_US;
    for (unsigned k = 0; k < NFORMS; k++) {
        memcpy(g->ram + XG_CODE + FORM_SLOT * k, forms[k].code, forms[k].len);
        g->ram[XG_CODE + FORM_SLOT * k + forms[k].len] = HLT_BYTE;
    }
}

static bool page_compared(unsigned i, enum hole hole)
{
    return i >= BUF_FIRST && i <= BUF_LAST && !(hole != HOLE_NONE && i == HOLE_PAGE);
}

static void run_batch(unsigned cpl, enum hole hole, uint64_t salt)
{
    const char *why = NULL;
    if (!native_x86_available(&why))
        cr_skip_test("native oracle unavailable: %s", why);
    if (!anyhv_backend_available(ANYHV_BACKEND_SOFT, &why))
        cr_skip_test("soft backend unavailable: %s", why);
    setenv("ANYHV_BACKEND", "soft", 1);
    uint8_t *region = mmap(NULL, REGION_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(region != MAP_FAILED);
    mprotect(region, PAGE, PROT_NONE);
    mprotect(region + (REGION_PAGES - 1) * PAGE, PAGE, PROT_NONE);
    if (hole != HOLE_NONE)
        mprotect(region + HOLE_PAGE * PAGE, PAGE, PROT_NONE);
    struct xg g;
    setup_guest(&g, cpl, hole);

    const char *iters = getenv("ANYHV_FUZZ_ITERS"), *seed_env = getenv("ANYHV_FUZZ_SEED");
    unsigned n = iters ? (unsigned)strtoul(iters, NULL, 10) : DEFAULT_CASES;
    uint64_t seed = (seed_env ? strtoull(seed_env, NULL, 0) : DEFAULT_SEED) * 0x9e3779b97f4a7c15ull + salt;
    seed |= 1;
    for (unsigned k = 0; k < n; k++) {
        struct rep_case c;
        random_case(&seed, &c);
        char what[160];
        describe(&c, what, sizeof(what));
        char label[200];
        snprintf(label, sizeof(label), "case %u: %s", k, what);
        for (unsigned i = BUF_FIRST; i <= BUF_LAST; i++) {
            if (!page_compared(i, hole))
                continue;
            for (unsigned b = 0; b < PAGE; b += 8) {
                uint64_t v = rng_next(&seed);
                memcpy(region + i * PAGE + b, &v, 8);
            }
            memcpy(g.ram + guest_page_pa(i), region + i * PAGE, PAGE);
        }
        struct outcome want, got;
        run_native(&c, region, &want);
        run_soft(&g, &c, cpl, hole, &got, label);
        cr_assert_eq(got.faulted, want.faulted, "%s: faulted %d, host %d", label, got.faulted, want.faulted);
        cr_assert(got.rcx == want.rcx && got.rsi == want.rsi && got.rdi == want.rdi && got.rax == want.rax,
                  "%s: rcx %#llx rsi %#llx rdi %#llx, host rcx %#llx rsi %#llx rdi %#llx", label,
                  (unsigned long long)got.rcx, (unsigned long long)got.rsi, (unsigned long long)got.rdi,
                  (unsigned long long)want.rcx, (unsigned long long)want.rsi, (unsigned long long)want.rdi);
        for (unsigned i = BUF_FIRST; i <= BUF_LAST; i++) {
            if (!page_compared(i, hole))
                continue;
            const uint8_t *h = region + i * PAGE, *s = g.ram + guest_page_pa(i);
            for (unsigned b = 0; b < PAGE; b++)
                cr_assert_eq(s[b], h[b], "%s: byte at region offset %#x is %#x, host %#x", label, i * PAGE + b, s[b],
                             h[b]);
        }
    }
    xg_destroy(&g);
    munmap(region, REGION_PAGES * PAGE);
}

Test(soft_x86_rep_native, kernel_plain) { run_batch(0, HOLE_NONE, 1); }
Test(soft_x86_rep_native, kernel_page_fault) { run_batch(0, HOLE_PF, 2); }
Test(soft_x86_rep_native, kernel_mmio_page) { run_batch(0, HOLE_MMIO, 3); }
Test(soft_x86_rep_native, user_plain) { run_batch(3, HOLE_NONE, 4); }
Test(soft_x86_rep_native, user_page_fault) { run_batch(3, HOLE_PF, 5); }
