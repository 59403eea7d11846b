/* test_segments.c - segment limit and type checks on data accesses outside 64-bit
 * mode: 32-bit protected mode with limited, expand-down (B = 1 and B = 0),
 * read-only and null segments, CS-override writes, far-pointer loads, the stack
 * segment (#SS), and real mode's 64 KiB limit (#GP without an error code). Each
 * case loads its segments with guest code (so the checks follow segment loads) and
 * ends in an exception-bitmap exit whose vector, error code and RIP are checked,
 * which is the soft route's view (KVM does not honour the bitmap). */
#include <criterion/criterion.h>

#include "support/backend.h"
#include "x86_guest.h"


#define CODE 0x1000u
#define SEL_LIMITED 0x40u      /* data RW, base 0x20000, limit 0xfff */
#define SEL_EXPDOWN 0x48u      /* data RW expand-down, limit 0xfff, B = 1 */
#define SEL_READONLY 0x50u     /* data read-only, flat */
#define SEL_EXPDOWN16 0x58u    /* data RW expand-down, limit 0xfff, B = 0 */
#define GDT_LIMIT 0x5fu
#define LIMITED_BASE 0x20000u
#define GP_VECTOR 13u
#define SS_VECTOR 12u

static void require_soft(void)
{
    test_require_backend();
    const char *be = getenv("ANYHV_BACKEND");
    if (be && strcmp(be, "kvm") == 0)
        cr_skip_test("KVM does not honour exception-bitmap exits (docs/differences.md), and this host's KVM "
                     "(PVM) runs no 32-bit kernel code");
}

/* Flat 32-bit CPL0 with the extra descriptors; code at CODE. */
static void setup32(struct xg *g, const uint8_t *code, size_t len)
{
    require_soft();
    cr_assert_eq(xg_create(g), 0);
    cr_assert_eq(xg_protected32(g), 0);
    uint64_t *gdt = (uint64_t *)(g->ram + XG_GDT);
    gdt[SEL_LIMITED / 8] = xg_desc(LIMITED_BASE, 0xfff, 0x93, 0x4);
    gdt[SEL_EXPDOWN / 8] = xg_desc(0, 0xfff, 0x97, 0x4);
    gdt[SEL_READONLY / 8] = xg_desc(0, 0xfffff, 0x91, 0xc);
    gdt[SEL_EXPDOWN16 / 8] = xg_desc(0, 0xfff, 0x97, 0x0);
    cr_assert_eq(xg_vmcs(g, VMCS_GUEST_GDTR_BASE, XG_GDT) | xg_vmcs(g, VMCS_GUEST_GDTR_LIMIT, GDT_LIMIT), 0);
    memcpy(g->ram + CODE, code, len);
    g->ram[CODE + len] = 0xf4;
}

static void expect_fault(struct xg *g, unsigned vector, bool err_valid, uint64_t rip, const char *what)
{
    cr_assert_eq(xg_run_bounded(g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(g), VMX_REASON_EXC_NMI, "%s: exit reason %u", what, xg_exit_reason(g));
    uint64_t info = xg_read_vmcs(g, VMCS_RO_VMEXIT_IRQ_INFO);
    cr_expect_eq(info & 0xff, vector, "%s: vector %llu", what, (unsigned long long)(info & 0xff));
    cr_expect_eq((info & IRQ_INFO_ERROR_VALID) != 0, err_valid, "%s: error code valid", what);
    if (err_valid)
        cr_expect_eq(xg_read_vmcs(g, VMCS_RO_VMEXIT_IRQ_ERROR), 0, "%s: error code 0", what);
    cr_expect_eq(xg_reg(g, HV_X86_RIP), rip, "%s: RIP %#llx, wanted %#llx", what,
                 (unsigned long long)xg_reg(g, HV_X86_RIP), (unsigned long long)rip);
}

static void expect_hlt(struct xg *g, const char *what)
{
    cr_assert_eq(xg_run_bounded(g), HV_SUCCESS);
    cr_expect_eq(xg_exit_reason(g), VMX_REASON_HLT, "%s: exit reason %u", what, xg_exit_reason(g));
}

/* The last dword inside a 4 KiB limit loads; one that crosses it is #GP(0). */
Test(soft_x86_segments, limit_violation_is_gp)
{
    static const uint8_t code[] = {
        0x66, 0xb8, SEL_LIMITED, 0x00,          /* mov ax, SEL_LIMITED   +0  */
        0x8e, 0xd8,                             /* mov ds, ax            +4  */
        0xa1, 0xfc, 0x0f, 0x00, 0x00,           /* mov eax, [0xffc]      +6  */
        0x8b, 0x1d, 0xfe, 0x0f, 0x00, 0x00,     /* mov ebx, [0xffe]      +11 */
    };
    struct xg g;
    setup32(&g, code, sizeof(code));
    memcpy(g.ram + LIMITED_BASE + 0xffc, "\x11\x22\x33\x44", 4);
    hv_vcpu_write_register(g.vcpu, HV_X86_RBX, 0x5a5a);
    expect_fault(&g, GP_VECTOR, true, CODE + 11, "dword at 0xffe");
    cr_expect_eq(xg_reg(&g, HV_X86_RAX), 0x44332211, "the load inside the limit used the base");
    cr_expect_eq(xg_reg(&g, HV_X86_RBX), 0x5a5a, "the faulting load wrote nothing");
    xg_destroy(&g);
}

/* The soft CPU keeps the bounds it derived from the segment registers across exits:
 * a segment the client changes between runs is checked from the next run on (a limit
 * written into the VMCS, then written back). */
Test(soft_x86_segments, a_limit_the_client_writes_between_runs)
{
    static const uint8_t code[] = {
        0xa1, 0x00, 0x00, 0x00, 0x10,           /* mov eax, [MMIO]       +0  */
        0xa1, 0x00, 0x20, 0x00, 0x00,           /* mov eax, [0x2000]     +5  */
    };
    struct xg g;
    setup32(&g, code, sizeof(code));
    memcpy(g.ram + 0x2000, "\x11\x22\x33\x44", 4);
    /* An MMIO exit: no system instruction in between drops the bounds itself. */
    cr_assert_eq(xg_run_bounded(&g), HV_SUCCESS);
    cr_assert_eq(xg_exit_reason(&g), VMX_REASON_EPT_VIOLATION, "exit reason %u", xg_exit_reason(&g));
    cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_DS_LIMIT, 0xfff), 0);
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, CODE + 5);
    expect_fault(&g, GP_VECTOR, true, CODE + 5, "a load past the limit written between runs");
    cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_DS_LIMIT, 0xffffffff), 0);
    expect_hlt(&g, "the same load with the flat limit back");
    cr_expect_eq(xg_reg(&g, HV_X86_RAX), 0x44332211);
    xg_destroy(&g);
}

/* Stack segment expand-down (B = 1): offsets above the limit are valid, a push
 * that goes to the limit or below is #SS(0) and leaves ESP alone. */
Test(soft_x86_segments, expand_down_stack_is_ss)
{
    static const uint8_t code[] = {
        0x66, 0xb8, SEL_EXPDOWN, 0x00,          /* mov ax, SEL_EXPDOWN   +0  */
        0x8e, 0xd0,                             /* mov ss, ax            +4  */
        0xbc, 0x08, 0x10, 0x00, 0x00,           /* mov esp, 0x1008       +6  */
        0x50, 0x50,                             /* push eax; push eax    +11 */
        0x50,                                   /* push eax              +13 */
    };
    struct xg g;
    setup32(&g, code, sizeof(code));
    expect_fault(&g, SS_VECTOR, true, CODE + 13, "push below an expand-down limit");
    cr_expect_eq(xg_reg(&g, HV_X86_RSP), 0x1000, "ESP as after the two pushes");
    xg_destroy(&g);
}

/* Expand-down data: offset 0x800 (at or below the limit) faults, 0x2000 does not. */
Test(soft_x86_segments, expand_down_data)
{
    static const uint8_t code[] = {
        0x66, 0xb8, SEL_EXPDOWN, 0x00,          /* mov ax, SEL_EXPDOWN   +0  */
        0x8e, 0xc0,                             /* mov es, ax            +4  */
        0x26, 0xa1, 0x00, 0x20, 0x00, 0x00,     /* mov eax, es:[0x2000]  +6  */
        0x26, 0xa1, 0x00, 0x08, 0x00, 0x00,     /* mov eax, es:[0x800]   +12 */
    };
    struct xg g;
    setup32(&g, code, sizeof(code));
    expect_fault(&g, GP_VECTOR, true, CODE + 12, "expand-down at 0x800");
    xg_destroy(&g);
}

/* Expand-down with B = 0: the upper bound is 0xffff. */
Test(soft_x86_segments, expand_down_16_upper_bound)
{
    static const uint8_t code[] = {
        0x66, 0xb8, SEL_EXPDOWN16, 0x00,        /* mov ax, SEL_EXPDOWN16 +0  */
        0x8e, 0xe0,                             /* mov fs, ax            +4  */
        0x64, 0x66, 0xa1, 0xfe, 0xff, 0x00, 0x00, /* mov ax, fs:[0xfffe] +6  */
        0x64, 0xa1, 0xfe, 0xff, 0x00, 0x00,     /* mov eax, fs:[0xfffe]  +13 */
    };
    struct xg g;
    setup32(&g, code, sizeof(code));
    expect_fault(&g, GP_VECTOR, true, CODE + 13, "dword past 0xffff");
    xg_destroy(&g);
}

/* A read-only data segment reads, and a write through it is #GP(0). */
Test(soft_x86_segments, read_only_write_is_gp)
{
    static const uint8_t code[] = {
        0x66, 0xb8, SEL_READONLY, 0x00,         /* mov ax, SEL_READONLY  +0  */
        0x8e, 0xe8,                             /* mov gs, ax            +4  */
        0x65, 0xa1, 0x00, 0x00, 0x01, 0x00,     /* mov eax, gs:[0x10000] +6  */
        0x65, 0xa3, 0x00, 0x00, 0x01, 0x00,     /* mov gs:[0x10000], eax +12 */
    };
    struct xg g;
    setup32(&g, code, sizeof(code));
    expect_fault(&g, GP_VECTOR, true, CODE + 12, "write through a read-only segment");
    xg_destroy(&g);
}

/* A null selector loads into DS, and using it is #GP(0). */
Test(soft_x86_segments, null_selector_use_is_gp)
{
    static const uint8_t code[] = {
        0x31, 0xc0,                             /* xor eax, eax          +0 */
        0x8e, 0xd8,                             /* mov ds, ax            +2 */
        0x8b, 0x1d, 0x00, 0x00, 0x01, 0x00,     /* mov ebx, [0x10000]    +4 */
    };
    struct xg g;
    setup32(&g, code, sizeof(code));
    expect_fault(&g, GP_VECTOR, true, CODE + 4, "access through a null DS");
    xg_destroy(&g);
}

/* Writes through CS fault even when every segment is flat (no checks otherwise). */
Test(soft_x86_segments, cs_override_write_is_gp)
{
    static const uint8_t code[] = {
        0x2e, 0xa1, 0x00, 0x00, 0x01, 0x00,     /* mov eax, cs:[0x10000] +0 */
        0x2e, 0xa3, 0x00, 0x00, 0x01, 0x00,     /* mov cs:[0x10000], eax +6 */
    };
    struct xg g;
    setup32(&g, code, sizeof(code));
    expect_fault(&g, GP_VECTOR, true, CODE + 6, "write through CS");
    xg_destroy(&g);
}

/* LDS reads 6 bytes: a far pointer that ends past the limit is #GP(0). */
Test(soft_x86_segments, far_pointer_past_the_limit)
{
    static const uint8_t code[] = {
        0x66, 0xb8, SEL_LIMITED, 0x00,          /* mov ax, SEL_LIMITED   +0  */
        0x8e, 0xc0,                             /* mov es, ax            +4  */
        0x26, 0xc5, 0x05, 0xfc, 0x0f, 0x00, 0x00, /* lds eax, es:[0xffc] +6  */
    };
    struct xg g;
    setup32(&g, code, sizeof(code));
    expect_fault(&g, GP_VECTOR, true, CODE + 6, "m16:32 crossing the limit");
    xg_destroy(&g);
}

/* x87 and FXSAVE memory operands are checked too (the helpers get the offset). */
Test(soft_x86_segments, x87_and_fxsave_operands)
{
    static const uint8_t code[] = {
        0x66, 0xb8, SEL_LIMITED, 0x00,          /* mov ax, SEL_LIMITED    +0  */
        0x8e, 0xd8,                             /* mov ds, ax             +4  */
        0xd9, 0x05, 0xfc, 0x0f, 0x00, 0x00,     /* fld dword [0xffc]      +6  */
        0xdd, 0x1d, 0xfc, 0x0f, 0x00, 0x00,     /* fstp qword [0xffc]     +12 */
    };
    struct xg g;
    setup32(&g, code, sizeof(code));
    expect_fault(&g, GP_VECTOR, true, CODE + 12, "qword store past the limit");
    static const uint8_t fx[] = { 0x0f, 0xae, 0x05, 0x00, 0x0f, 0x00, 0x00 };   /* fxsave [0xf00] */
    memcpy(g.ram + CODE + 0x40, fx, sizeof(fx));
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, CODE + 0x40);
    expect_fault(&g, GP_VECTOR, true, CODE + 0x40, "512 aligned bytes at 0xf00 past the limit");
    xg_destroy(&g);
}

/* Flat segments: a dword at 0xffff is fine (no 64 KiB limit in protected mode). */
Test(soft_x86_segments, flat_has_no_16_bit_limit)
{
    static const uint8_t code[] = { 0xa1, 0xff, 0xff, 0x00, 0x00 };   /* mov eax, [0xffff] */
    struct xg g;
    setup32(&g, code, sizeof(code));
    expect_hlt(&g, "flat access");
    xg_destroy(&g);
}

/* Real mode: 64 KiB limits; a word at 0xffff is #GP (vector 13, no error code), a
 * byte is not; a word push at SP = 1 is #SS. */
Test(soft_x86_segments, real_mode_limit)
{
    static const uint8_t code[] = {
        0xa0, 0xff, 0xff,                       /* mov al, [0xffff]      +0 */
        0xa1, 0xff, 0xff,                       /* mov ax, [0xffff]      +3 */
    };
    struct xg g;
    require_soft();
    cr_assert_eq(xg_create(&g), 0);
    cr_assert_eq(xg_real_mode(&g, 0x100, 0x0), 0);
    memcpy(g.ram + 0x1000, code, sizeof(code));
    expect_fault(&g, GP_VECTOR, false, 3, "word at 0xffff");
    static const uint8_t push[] = { 0x50 };                 /* push ax */
    memcpy(g.ram + 0x1000 + 0x10, push, sizeof(push));
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, 0x10);
    hv_vcpu_write_register(g.vcpu, HV_X86_RSP, 1);
    expect_fault(&g, SS_VECTOR, false, 0x10, "push at SP = 1");
    xg_destroy(&g);
}

/* ---- the CS limit: instruction fetch and near-branch targets (#GP(0) at the
 * instruction that fetches or branches, before it changes anything) ---- */
#define SMALL_CS_LIMIT 0x1fffu   /* G = 1 needs the low 12 bits set */


static void small_cs(struct xg *g)
{
    cr_assert_eq(xg_seg(g, 1, XG_SEL_KCODE, 0, SMALL_CS_LIMIT, XG_AR_CODE32), 0);
}

Test(soft_x86_segments, fetch_across_the_cs_limit_is_gp)
{
    struct xg g;
    setup32(&g, (const uint8_t *)"", 0);
    small_cs(&g);
    g.ram[SMALL_CS_LIMIT - 1] = 0x90;                        /* nop             0x1ffe */
    memcpy(g.ram + SMALL_CS_LIMIT, "\x89\xd8", 2);           /* mov eax, ebx    0x1fff: ends past the limit */
    hv_vcpu_write_register(g.vcpu, HV_X86_RIP, SMALL_CS_LIMIT - 1);
    hv_vcpu_write_register(g.vcpu, HV_X86_RAX, 1);
    hv_vcpu_write_register(g.vcpu, HV_X86_RBX, 2);
    expect_fault(&g, GP_VECTOR, true, SMALL_CS_LIMIT, "instruction crossing the CS limit");
    cr_expect_eq(xg_reg(&g, HV_X86_RAX), 1, "it did not run");
    xg_destroy(&g);
}

Test(soft_x86_segments, branch_beyond_the_cs_limit_is_gp)
{
    static const uint8_t jmp[] = { 0xe9, 0xfb, 0x1f, 0x00, 0x00 };          /* jmp 0x3000 */
    static const uint8_t call[] = { 0xe8, 0xfb, 0x1f, 0x00, 0x00 };         /* call 0x3000 */
    static const uint8_t ret[] = { 0x68, 0x00, 0x30, 0x00, 0x00, 0xc3 };    /* push 0x3000; ret */
    static const uint8_t jne_taken[] = { 0x0f, 0x85, 0xfa, 0x1f, 0x00, 0x00 };   /* jne 0x3000, ZF = 0 */
    static const uint8_t je_not_taken[] = { 0x0f, 0x84, 0xfa, 0x1f, 0x00, 0x00 }; /* je 0x3000, ZF = 0 */
    static const struct { const uint8_t *code; size_t len; uint64_t fault_rip; uint64_t esp; const char *what; } cases[] = {
        { jmp, sizeof(jmp), CODE, 0x8000, "jmp" },
        { call, sizeof(call), CODE, 0x8000, "call: nothing pushed" },
        { ret, sizeof(ret), CODE + 5, 0x8000 - 4, "ret: nothing popped" },
        { jne_taken, sizeof(jne_taken), CODE, 0x8000, "taken jne" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct xg g;
        setup32(&g, cases[i].code, cases[i].len);
        small_cs(&g);
        hv_vcpu_write_register(g.vcpu, HV_X86_RSP, 0x8000);
        hv_vcpu_write_register(g.vcpu, HV_X86_RFLAGS, 0x2);   /* ZF = 0 */
        expect_fault(&g, GP_VECTOR, true, cases[i].fault_rip, cases[i].what);
        cr_expect_eq(xg_reg(&g, HV_X86_RSP), cases[i].esp, "%s: ESP %#llx", cases[i].what,
                     (unsigned long long)xg_reg(&g, HV_X86_RSP));
        xg_destroy(&g);
    }
    struct xg g;
    setup32(&g, je_not_taken, sizeof(je_not_taken));
    small_cs(&g);
    hv_vcpu_write_register(g.vcpu, HV_X86_RFLAGS, 0x2);
    expect_hlt(&g, "a branch not taken checks nothing");
    xg_destroy(&g);
}

/* Real mode: an instruction running past offset 0xffff is #GP (no error code). */
Test(soft_x86_segments, real_mode_fetch_past_64k_is_gp)
{
    struct xg g;
    require_soft();
    cr_assert_eq(xg_create(&g), 0);
    cr_assert_eq(xg_real_mode(&g, 0x100, 0xfffe), 0);
    g.ram[0x1000 + 0xfffe] = 0x90;                            /* nop */
    memcpy(g.ram + 0x1000 + 0xffff, "\x89\xd8", 2);          /* mov ax, bx at 0xffff */
    expect_fault(&g, GP_VECTOR, false, 0xffff, "instruction past 0xffff");
    xg_destroy(&g);
}
