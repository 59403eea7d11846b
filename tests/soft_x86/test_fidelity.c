/* test_fidelity.c - x86 behaviours bare-metal CPU test images found wrong on the
 * soft route (issue 15), each in a small flat 64-bit guest on every backend where
 * it can run: a REP string instruction that overwrites its own bytes (as Intel
 * processors run it, checked against the host). The guests end in a HLT (an exit at CPL0) or in an IDT handler stub
 * (x86_guest.h), and the client plays the handler where a test goes on. */
#include <criterion/criterion.h>

#include "native_x86.h"
#include "support/backend.h"
#include "support/x86_vendor.h"
#include "x86_guest.h"

#define CODE 0x100000u
#define GP_VECTOR 13u
#define FRAME_RIP 0
#define FRAME_RFLAGS 2
#define FRAME_RSP 3
#define NOP 0x90u
#define RFLAGS_DF 0x400ull

static uint64_t stub(unsigned vector)
{
    return XG_STUBS + XG_STUB_SIZE * (uint64_t)vector;
}

static void setup(struct xg *g, unsigned cpl, const uint8_t *code, size_t len)
{
    test_require_backend();
    cr_assert_eq(xg_create(g), 0, "VM setup");
    cr_assert_eq(xg_vmcs(g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    cr_assert_eq(xg_long_mode_cpl(g, cpl), 0);
    memcpy(g->ram + CODE, code, len);
    g->ram[CODE + len] = 0xf4;   /* HLT: #GP at CPL3, an exit at CPL0 */
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, CODE);
}

/* Run until the guest halts; the HLT must be the handler stub of `vector`. */
static void run_to_stub(struct xg *g, unsigned vector, const char *what)
{
    cr_assert_eq(xg_run_bounded(g), HV_SUCCESS);
    uint32_t reason = xg_exit_reason(g);
    cr_assert_eq(reason, VMX_REASON_HLT, "%s: exit reason %u, wanted HLT in a handler", what, reason);
    cr_assert_eq(xg_reg(g, HV_X86_RIP), stub(vector), "%s: RIP %#llx, wanted the handler of vector %u", what,
                 (unsigned long long)xg_reg(g, HV_X86_RIP), vector);
}

/* Word i of the interrupt frame (after the error code, if any). */
static uint64_t frame(struct xg *g, unsigned i, bool err)
{
    uint64_t sp = xg_reg(g, HV_X86_RSP) + (err ? 8 : 0) + 8ull * i, v = 0;
    cr_assert(sp + 8 <= XG_RAM_SIZE);
    memcpy(&v, g->ram + sp, 8);
    return v;
}

/* ---- a REP string instruction over its own bytes ---------------------------------- */

/* Intel processors (SDM vol. 3A 11.6, measured on this project's Xeon natively and
 * through KVM): the iteration whose store rewrites the instruction ends it there
 * (RIP stays on it, rCX counts that iteration), and the next fetch reads the new
 * bytes. Each sequence falls through its end (native_x86.h), ends with RDI and RSI
 * made relative to a LEA of its own, and runs at CPL3 so the KVM route runs it on
 * the host CPU. */
struct smc_case {
    const char *what;
    uint8_t code[64];
    unsigned len;
    uint64_t r8;                     /* R8 at the start */
    uint64_t rcx, rdx, rdi, rsi;     /* Intel's result */
};

static const struct smc_case smc_cases[] = {
    /* REP STOSB of 16 NOPs from its own first byte: F3 becomes a NOP, so a plain
     * STOSB runs next and stores over its own AA; the four INCs after it then run,
     * twice (R8 = 2 loops back to the rewritten bytes). */
    { "rep stosb forward over itself",
      { 0xb9, 0x10, 0x00, 0x00, 0x00,                /* mov ecx, 16        +0  */
        0xb0, NOP,                                   /* mov al, 0x90       +5  */
        0x48, 0x8d, 0x3d, 0x00, 0x00, 0x00, 0x00,    /* lea rdi, [rip]     +7  */
        0xf3, 0xaa,                                  /* rep stosb          +14 */
        0x48, 0xff, 0xc2, 0x48, 0xff, 0xc2,          /* inc rdx x 4        +16 */
        0x48, 0xff, 0xc2, 0x48, 0xff, 0xc2,
        NOP, NOP,                                    /*                    +28 */
        0x49, 0xff, 0xc8,                            /* dec r8             +30 */
        0x75, 0xeb,                                  /* jnz +14            +33 */
        0x48, 0x8d, 0x05, 0x00, 0x00, 0x00, 0x00,    /* lea rax, [rip]     +35 */
        0x48, 0x29, 0xc7 },                          /* sub rdi, rax       +42 */
      45, 2, 15, 8, (uint64_t)(16 - 42), 0 },
    /* With DF set from its own last byte: AA becomes a NOP, F3 90 is PAUSE. */
    { "rep stosb backward over itself",
      { 0xb9, 0x10, 0x00, 0x00, 0x00,                /* mov ecx, 16        +0  */
        0xb0, NOP,                                   /* mov al, 0x90       +5  */
        0x48, 0x8d, 0x3d, 0x02, 0x00, 0x00, 0x00,    /* lea rdi, [rip+2]   +7  */
        0xfd,                                        /* std                +14 */
        0xf3, 0xaa,                                  /* rep stosb          +15 */
        0xfc,                                        /* cld                +17 */
        0x48, 0x8d, 0x05, 0x00, 0x00, 0x00, 0x00,    /* lea rax, [rip]     +18 */
        0x48, 0x29, 0xc7 },                          /* sub rdi, rax       +25 */
      28, 0, 15, 0, (uint64_t)(15 - 25), 0 },
    /* REP MOVSB copying its own bytes onto themselves: the bytes do not change, so
     * however often it is refetched it completes. */
    { "rep movsb of itself onto itself",
      { 0xb9, 0x10, 0x00, 0x00, 0x00,                /* mov ecx, 16        +0  */
        0x48, 0x8d, 0x3d, 0x03, 0x00, 0x00, 0x00,    /* lea rdi, [rip+3]   +5  */
        0x48, 0x89, 0xfe,                            /* mov rsi, rdi       +12 */
        0xf3, 0xa4,                                  /* rep movsb          +15 */
        NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP,   /* +17 */
        0x48, 0x8d, 0x05, 0x00, 0x00, 0x00, 0x00,    /* lea rax, [rip]     +31 */
        0x48, 0x29, 0xc7, 0x48, 0x29, 0xc6 },        /* sub rdi/rsi, rax   +38 */
      44, 0, 0, 0, (uint64_t)(31 - 38), (uint64_t)(31 - 38) },
};

struct smc_regs {
    uint64_t rcx, rdx, rdi, rsi;
};

static void check_regs(const char *what, const char *who, const struct smc_regs *got, const struct smc_regs *want)
{
    cr_expect(got->rcx == want->rcx && got->rdx == want->rdx && got->rdi == want->rdi && got->rsi == want->rsi,
              "%s, %s: RCX %#llx RDX %#llx RDI %#llx RSI %#llx, wanted %#llx %#llx %#llx %#llx", what, who,
              (unsigned long long)got->rcx, (unsigned long long)got->rdx, (unsigned long long)got->rdi,
              (unsigned long long)got->rsi, (unsigned long long)want->rcx, (unsigned long long)want->rdx,
              (unsigned long long)want->rdi, (unsigned long long)want->rsi);
}

/* The host CPU on the same bytes; false where the oracle cannot run here. */
static bool smc_native(const struct smc_case *c, struct smc_regs *out)
{
    const char *why = NULL;
    if (!native_x86_available(&why))
        return false;
    struct native_x86_state s;
    memset(&s, 0, sizeof(s));
    native_x86_default_fpu(&s);
    s.gpr[8] = c->r8;
    s.rflags = 0x2;
    struct native_x86_result r;
    cr_assert_eq(native_x86_run(c->code, c->len, &s, &r), 0);
    cr_assert_eq(r.signo, 0, "%s: the host raised signal %d", c->what, r.signo);
    *out = (struct smc_regs){ s.gpr[1], s.gpr[2], s.gpr[7], s.gpr[6] };
    return true;
}

static bool backend_is_kvm(void)
{
    const char *be = getenv("ANYHV_BACKEND");
    return be && strcmp(be, "kvm") == 0;
}

Test(soft_x86_fidelity, rep_string_over_its_own_bytes)
{
    bool intel_host = !x86_vendor_differs(X86_VDIFF_REP_STRING_OVER_ITSELF);
    for (unsigned i = 0; i < sizeof(smc_cases) / sizeof(smc_cases[0]); i++) {
        const struct smc_case *c = &smc_cases[i];
        struct xg g;
        setup(&g, 3, c->code, c->len);
        hv_vcpu_write_register(g.vcpu, HV_X86_R8, c->r8);
        run_to_stub(&g, GP_VECTOR, c->what);
        cr_expect_eq(frame(&g, FRAME_RIP, true), CODE + c->len, "%s: #GP at the HLT after it", c->what);
        struct smc_regs guest = { xg_reg(&g, HV_X86_RCX), xg_reg(&g, HV_X86_RDX), xg_reg(&g, HV_X86_RDI),
                                  xg_reg(&g, HV_X86_RSI) };
        struct smc_regs intel = { c->rcx, c->rdx, c->rdi, c->rsi }, host;
        bool have_host = smc_native(c, &host);
        if (backend_is_kvm()) {
            /* The KVM route runs CPL3 code on the host CPU, whatever its vendor. */
            if (have_host)
                check_regs(c->what, "KVM against the host", &guest, &host);
        } else {
            check_regs(c->what, "soft route against Intel", &guest, &intel);
        }
        /* The expectation itself, on the processor it describes. */
        if (have_host && intel_host)
            check_regs(c->what, "the Intel host", &host, &intel);
        xg_destroy(&g);
    }
}
