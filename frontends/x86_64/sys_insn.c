/* sys_insn.c - the system helper: one function per system operation, dispatched
 * by table from the packed code the lifter passes (x86_sys.h). Exits to the client
 * (port I/O, CPUID, MSRs not made native, VMX-controlled exits) leave RIP on the
 * instruction, as VMX does; the others either move RIP themselves (transfers) or
 * let the lifter move it to the next instruction. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>

#include "core/x86_cpuid.h"
#include "frontends/x86_64/x86_sys.h"
#include "frontends/x86_64/x86_xsave.h"

#define INTR_BLOCK_STI (1u << 0)
#define INTR_BLOCK_MOV_SS (1u << 1)
#define CRQ_ACCESS_TO_CR 0u
#define CRQ_ACCESS_FROM_CR 1u
#define CRQ_ACCESS_CLTS 2u
#define CRQ_ACCESS_LMSW 3u
#define CRQ_TYPE_SHIFT 4
#define CRQ_GPR_SHIFT 8
#define CRQ_LMSW_SHIFT 16
#define DRQ_FROM_DR (1u << 4)
#define DRQ_GPR_SHIFT 8
#define TSS_IOMAP_OFFSET 0x66u
#define DESC_TYPE_LDT 0x2u
#define DESC_TYPE_TSS_AVAIL16 0x1u
#define DESC_TYPE_TSS_AVAIL 0x9u
#define DESC_TYPE_BUSY 0x2u
#define LMSW_BITS 0xfull

struct sysargs {
    struct soft_cpu *cpu;
    struct x86_state *st;
    uint64_t code, b, c;
    bool no_step;            /* an event ended the instruction: no single-step trap */
};

typedef uint64_t (*sys_fn)(struct sysargs *a);

static _Noreturn void exit_client(struct sysargs *a)
{
    x86_flags_pack(a->st);
    soft_unwind(a->cpu, SOFT_STOP_EXIT);
}

static struct anyhv_exit *begin(struct sysargs *a, enum exit_kind kind)
{
    return x86_exit_begin(a->cpu, kind, X86_SYS_LEN(a->code));
}

static void gp0_unless(struct sysargs *a, bool ok)
{
    if (!ok)
        x86_raise_now(a->cpu, X86_V_GP, 0);
}

static void fault_check(struct sysargs *a, int r, const struct x86_fault *f)
{
    if (r != 0)
        x86_fault_now(a->cpu, f);
}

static bool long64(const struct x86_state *st)
{
    return x86_code_size_of(st) == X86_CODE64;
}

static uint64_t gpr_width_mask(const struct x86_state *st)
{
    return long64(st) ? ~0ull : 0xffffffffull;
}

/* ---- segments ---------------------------------------------------------------------- */

static uint64_t sys_mov_to_seg(struct sysargs *a)
{
    struct x86_fault f;
    unsigned seg = X86_SYS_R1(a->code);
    fault_check(a, x86_load_seg(a->cpu, seg, (uint16_t)a->b, &f), &f);
    if (seg == X86_SS)
        a->st->interruptibility |= INTR_BLOCK_MOV_SS;
    return 0;
}

static uint64_t sys_pop_seg(struct sysargs *a)
{
    uint64_t mask = long64(a->st) ? ~0ull : (a->st->seg[X86_SS].ar & X86_AR_DB) ? 0xffffffffull : 0xffffull;
    sys_mov_to_seg(a);
    uint64_t sp = a->st->gpr[X86_RSP];
    a->st->gpr[X86_RSP] = (sp & ~mask) | ((sp + X86_SYS_SIZE(a->code)) & mask);
    return 0;
}

static uint64_t sys_load_far_ptr(struct sysargs *a)
{
    unsigned size = X86_SYS_SIZE(a->code);
    uint64_t off = 0;
    uint16_t sel = 0;
    struct x86_fault f;
    fault_check(a, x86_vmem_read(a->cpu, a->b, &off, size, 0, &f), &f);
    fault_check(a, x86_vmem_read(a->cpu, a->b + size, &sel, 2, 0, &f), &f);
    unsigned seg = X86_SYS_R1(a->code);
    fault_check(a, x86_load_seg(a->cpu, seg, sel, &f), &f);
    unsigned r = X86_SYS_R2(a->code);
    if (size == 2)
        a->st->gpr[r] = (a->st->gpr[r] & ~0xffffull) | (off & 0xffff);
    else
        a->st->gpr[r] = size == 4 ? (uint32_t)off : off;
    return 0;
}

/* ---- control and debug registers --------------------------------------------------- */

static _Noreturn void cr_exit(struct sysargs *a, unsigned cr, unsigned type, unsigned gpr, uint64_t value)
{
    struct anyhv_exit *e = begin(a, EXIT_CR_ACCESS);
    e->u.reg.index = cr;
    e->u.reg.gpr = (uint8_t)gpr;
    e->u.reg.write = type != CRQ_ACCESS_FROM_CR;
    e->u.reg.value = value;
    e->u.reg.qualification = cr | ((uint64_t)type << CRQ_TYPE_SHIFT) | ((uint64_t)(gpr & 0xf) << CRQ_GPR_SHIFT) |
                             (type == CRQ_ACCESS_LMSW ? (value & 0xffff) << CRQ_LMSW_SHIFT : 0);
    exit_client(a);
}

static bool cr3_target(const struct x86_vmx_controls *v, uint64_t value)
{
    for (uint32_t i = 0; i < v->cr3_target_count && i < 4; i++)
        if (v->cr3_target[i] == value)
            return true;
    return false;
}

/* Does VMX make this CR write an exit? */
static bool cr_write_exits(const struct x86_state *st, unsigned cr, uint64_t value)
{
    const struct x86_vmx_controls *v = &st->vmx;
    switch (cr) {
    case 0: return ((value ^ v->cr0_shadow) & v->cr0_mask) != 0;
    case 4: return ((value ^ v->cr4_shadow) & v->cr4_mask) != 0;
    case 3: return (v->cpu_based & CPU_BASED_CR3_LOAD) && !cr3_target(v, value);
    case 8: return (v->cpu_based & CPU_BASED_CR8_LOAD) != 0;
    default: return false;
    }
}

static uint64_t sys_mov_to_cr(struct sysargs *a)
{
    unsigned cr = X86_SYS_R1(a->code);
    uint64_t v = a->b & gpr_width_mask(a->st);
    if (cr_write_exits(a->st, cr, v))
        cr_exit(a, cr, CRQ_ACCESS_TO_CR, X86_SYS_R2(a->code), v);
    gp0_unless(a, x86_cr_write(a->cpu, cr, v) == 0);
    return 0;
}

static uint64_t sys_mov_from_cr(struct sysargs *a)
{
    const struct x86_state *st = a->st;
    const struct x86_vmx_controls *v = &st->vmx;
    unsigned cr = X86_SYS_R1(a->code);
    if ((cr == 3 && (v->cpu_based & CPU_BASED_CR3_STORE)) || (cr == 8 && (v->cpu_based & CPU_BASED_CR8_STORE)))
        cr_exit(a, cr, CRQ_ACCESS_FROM_CR, X86_SYS_R2(a->code), 0);
    switch (cr) {
    case 0: return (st->cr0 & ~v->cr0_mask) | (v->cr0_shadow & v->cr0_mask);
    case 2: return st->cr2;
    case 3: return st->cr3;
    case 4: return (st->cr4 & ~v->cr4_mask) | (v->cr4_shadow & v->cr4_mask);
    case 8: return st->cr8;
    default: x86_raise_now(a->cpu, X86_V_UD, X86_NO_ERR);
    }
}

/* CR4.UMIP: SGDT, SIDT, SLDT, SMSW and STR are #GP(0) above CPL0 (VM86 counts as
 * CPL3). */
static void umip_check(struct sysargs *a)
{
    gp0_unless(a, !(a->st->cr4 & X86_CR4_UMIP) || x86_cpl(a->st) == 0);
}

static uint64_t sys_smsw(struct sysargs *a)
{
    umip_check(a);
    a->code = X86_SYS_CODE(X86_SYS_MOV_FROM_CR, X86_SYS_LEN(a->code), 4, 0, X86_SYS_NO_REG);
    return sys_mov_from_cr(a);
}

/* LMSW sets PE/MP/EM/TS (it cannot clear PE). */
static uint64_t sys_lmsw(struct sysargs *a)
{
    uint64_t src = a->b & LMSW_BITS;
    uint64_t v = (a->st->cr0 & ~(LMSW_BITS & ~X86_CR0_PE)) | src;
    if (((v ^ a->st->vmx.cr0_shadow) & a->st->vmx.cr0_mask & LMSW_BITS) != 0)
        cr_exit(a, 0, CRQ_ACCESS_LMSW, 0, src);
    gp0_unless(a, x86_cr_write(a->cpu, 0, v) == 0);
    return 0;
}

static uint64_t sys_clts(struct sysargs *a)
{
    if ((a->st->vmx.cr0_mask & X86_CR0_TS) && (a->st->vmx.cr0_shadow & X86_CR0_TS))
        cr_exit(a, 0, CRQ_ACCESS_CLTS, 0, 0);
    a->st->cr0 &= ~X86_CR0_TS;
    return 0;
}

static unsigned dr_index(struct sysargs *a, unsigned dr)
{
    if (dr == 4 || dr == 5) {
        if (a->st->cr4 & X86_CR4_DE)
            x86_raise_now(a->cpu, X86_V_UD, X86_NO_ERR);
        return dr + 2;
    }
    return dr;
}

static uint64_t dr_access(struct sysargs *a, bool write)
{
    unsigned dr = X86_SYS_R1(a->code);
    if (a->st->vmx.cpu_based & CPU_BASED_MOV_DR) {
        struct anyhv_exit *e = begin(a, EXIT_DR_ACCESS);
        e->u.reg.index = dr;
        e->u.reg.gpr = (uint8_t)X86_SYS_R2(a->code);
        e->u.reg.write = write;
        e->u.reg.value = write ? a->b : 0;
        e->u.reg.qualification = dr | (write ? 0 : DRQ_FROM_DR) | ((uint64_t)(X86_SYS_R2(a->code) & 0xf) << DRQ_GPR_SHIFT);
        exit_client(a);
    }
    dr = dr_index(a, dr);
    x86_dbg_general_detect(a->cpu);
    if (write)
        gp0_unless(a, x86_dbg_write(a->st, dr, a->b & gpr_width_mask(a->st)) == 0);
    return a->st->dr[dr];
}

static uint64_t sys_mov_to_dr(struct sysargs *a) { return dr_access(a, true); }
static uint64_t sys_mov_from_dr(struct sysargs *a) { return dr_access(a, false); }

/* ---- MSRs, time, identification ----------------------------------------------------- */

static uint64_t sys_rdmsr(struct sysargs *a)
{
    uint32_t msr = (uint32_t)a->st->gpr[X86_RCX];
    uint64_t v = 0;
    int r = x86_msr_read(a->cpu, msr, &v);
    if (r > 0) {
        begin(a, EXIT_MSR_READ)->u.reg.index = msr;
        exit_client(a);
    }
    gp0_unless(a, r == 0);
    a->st->gpr[X86_RAX] = (uint32_t)v;
    a->st->gpr[X86_RDX] = v >> 32;
    return 0;
}

static uint64_t sys_wrmsr(struct sysargs *a)
{
    uint32_t msr = (uint32_t)a->st->gpr[X86_RCX];
    uint64_t v = (uint32_t)a->st->gpr[X86_RAX] | (a->st->gpr[X86_RDX] << 32);
    int r = x86_msr_write(a->cpu, msr, v);
    if (r > 0) {
        struct anyhv_exit *e = begin(a, EXIT_MSR_WRITE);
        e->u.reg.index = msr;
        e->u.reg.write = true;
        e->u.reg.value = v;
        exit_client(a);
    }
    gp0_unless(a, r == 0);
    return 0;
}

/* The TSC is the VM clock in ticks (core/clock.h) plus the vCPU's own offset, plus
 * the VMCS TSC offset when the client enables it. */
static uint64_t tsc_now(struct sysargs *a)
{
    uint64_t t = x86_tsc_base(a->cpu) + a->st->msr.tsc;
    if (a->st->vmx.cpu_based & CPU_BASED_TSC_OFFSET)
        t += a->st->vmx.tsc_offset;
    return t;
}

static uint64_t rdtsc_common(struct sysargs *a, bool aux)
{
    if ((a->st->cr4 & X86_CR4_TSD) && x86_cpl(a->st) > 0)
        x86_raise_now(a->cpu, X86_V_GP, 0);
    if (a->st->vmx.cpu_based & CPU_BASED_RDTSC) {
        begin(a, EXIT_RDTSC);
        exit_client(a);
    }
    uint64_t t = tsc_now(a);
    a->st->gpr[X86_RAX] = (uint32_t)t;
    a->st->gpr[X86_RDX] = t >> 32;
    if (aux)
        a->st->gpr[X86_RCX] = (uint32_t)a->st->msr.tsc_aux;
    return 0;
}

/* RDPMC (SDM vol. 2B): #GP(0) at CPL > 0 without CR4.PCE, a privilege fault that
 * comes before VMX's RDPMC exiting. The software CPU has no performance counters
 * (no CPUID leaf 0xA), so every counter index is invalid: #GP(0) as well. */
static uint64_t sys_rdpmc(struct sysargs *a)
{
    gp0_unless(a, x86_cpl(a->st) == 0 || (a->st->cr4 & X86_CR4_PCE));
    if (a->st->vmx.cpu_based & CPU_BASED_RDPMC) {
        begin(a, EXIT_RDPMC);
        exit_client(a);
    }
    x86_raise_now(a->cpu, X86_V_GP, 0);
}

static uint64_t sys_rdtsc(struct sysargs *a) { return rdtsc_common(a, false); }
static uint64_t sys_rdtscp(struct sysargs *a) { return rdtsc_common(a, true); }

/* RDRAND/RDSEED: exit when the secondary control asks (the client supplies the value),
 * else the instruction's count makes each draw its own (lift_rdrand). */
static uint64_t rdrand_common(struct sysargs *a, uint32_t control, enum exit_kind kind)
{
    const struct x86_vmx_controls *v = &a->st->vmx;
    if ((v->cpu_based & CPU_BASED_SECONDARY_CTLS) && (v->cpu_based2 & control)) {
        struct anyhv_exit *e = begin(a, kind);
        e->u.reg.gpr = (uint8_t)X86_SYS_R1(a->code);
        e->u.reg.value = X86_SYS_SIZE(a->code);
        exit_client(a);
    }
    return vcpu_random(a->cpu->vcpu, a->cpu->icount);
}

static uint64_t sys_rdrand(struct sysargs *a) { return rdrand_common(a, CPU_BASED2_RDRAND, EXIT_RDRAND); }
static uint64_t sys_rdseed(struct sysargs *a) { return rdrand_common(a, CPU_BASED2_RDSEED, EXIT_RDSEED); }

static uint64_t sys_cpuid(struct sysargs *a)
{
    begin(a, EXIT_CPUID);
    exit_client(a);
}

/* XGETBV: ECX 0 reads XCR0, ECX 1 the components not in their initial state
 * (XINUSE) that XCR0 enables; any other index is #GP(0). */
#define XCR_XCR0 0u
#define XCR_XINUSE 1u
static uint64_t sys_xgetbv(struct sysargs *a)
{
    if (!(a->st->cr4 & X86_CR4_OSXSAVE))
        x86_raise_now(a->cpu, X86_V_UD, X86_NO_ERR);
    uint32_t index = (uint32_t)a->st->gpr[X86_RCX];
    gp0_unless(a, index == XCR_XCR0 || index == XCR_XINUSE);
    uint64_t v = index == XCR_XCR0 ? a->st->xcr0 : x86_xinuse(a->st) & a->st->xcr0;
    a->st->gpr[X86_RAX] = (uint32_t)v;
    a->st->gpr[X86_RDX] = v >> 32;
    return 0;
}

/* XSETBV exits to the client as VMX does (unconditionally); the checks that have
 * priority over the exit (#UD without CR4.OSXSAVE, #GP(0) outside CPL0) come first.
 * The client checks ECX and the value and writes XCR0 (HV_X86_XCR0). */
static uint64_t sys_xsetbv(struct sysargs *a)
{
    if (!(a->st->cr4 & X86_CR4_OSXSAVE))
        x86_raise_now(a->cpu, X86_V_UD, X86_NO_ERR);
    gp0_unless(a, x86_cpl(a->st) == 0);
    begin(a, EXIT_XSETBV);
    exit_client(a);
}

/* A GPR write at an operand size: 32-bit writes zero-extend, 16-bit ones merge. */
static void set_gpr_sized(struct x86_state *st, unsigned r, unsigned size, uint64_t v)
{
    if (size == 2)
        st->gpr[r] = (st->gpr[r] & ~0xffffull) | (v & 0xffff);
    else
        st->gpr[r] = size == 4 ? (uint32_t)v : v;
}

/* RDPID: IA32_TSC_AUX, 64 bits in 64-bit mode (zero-extended 32 elsewhere). */
static uint64_t sys_rdpid(struct sysargs *a)
{
    a->st->gpr[X86_SYS_R1(a->code)] = long64(a->st) ? a->st->msr.tsc_aux : (uint32_t)a->st->msr.tsc_aux;
    return 0;
}

/* INVPCID (SDM vol. 2A): #UD without the CPUID feature or VMX's "enable INVPCID";
 * #GP(0) above CPL0, for a type above 3, descriptor bits 63:12 set, a non-canonical
 * address (type 0) or a PCID other than 0 while CR4.PCIDE is clear (types 0, 1). The
 * TLB has no PCID tags: type 0 drops the address's translations, the others every
 * translation (globals too, which the SDM allows: invalidating more is always
 * allowed). No exit: VMX's INVPCID exit (reason 58, "INVLPG exiting") is not modelled. */
#define INVPCID_TYPES 3u
#define PCID_MASK 0xfffull
static uint64_t sys_invpcid(struct sysargs *a)
{
    struct x86_state *st = a->st;
    if (!x86_cpuid_has(X86_FEAT_INVPCID) || !(st->vmx.cpu_based2 & CPU_BASED2_INVPCID))
        x86_raise_now(a->cpu, X86_V_UD, X86_NO_ERR);
    gp0_unless(a, x86_cpl(st) == 0);
    uint64_t type = st->gpr[X86_SYS_R1(a->code)], desc[2];
    if (X86_SYS_SIZE(a->code) != 8)
        type = (uint32_t)type;
    struct x86_fault f;
    fault_check(a, x86_vmem_read(a->cpu, a->b, desc, sizeof(desc), 0, &f), &f);
    gp0_unless(a, type <= INVPCID_TYPES && !(desc[0] & ~PCID_MASK));
    unsigned bits = (st->cr4 & X86_CR4_LA57) ? 57 : 48;
    if (type == 0)
        gp0_unless(a, (uint64_t)((int64_t)(desc[1] << (64 - bits)) >> (64 - bits)) == desc[1]);
    if (type <= 1)
        gp0_unless(a, (st->cr4 & X86_CR4_PCIDE) || (desc[0] & PCID_MASK) == 0);
    if (type == 0)
        mmu_tlb_flush_va(&a->cpu->tlb, desc[1]);
    else
        mmu_tlb_flush_all(&a->cpu->tlb);
    return 0;
}

/* RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE: 64-bit mode with CR4.FSGSBASE, else #UD; a
 * non-canonical base (for the model's linear width, as every base load) is #GP(0).
 * 32-bit forms zero-extend. */
static uint64_t sys_fsgsbase(struct sysargs *a)
{
    if (!long64(a->st) || !(a->st->cr4 & X86_CR4_FSGSBASE))
        x86_raise_now(a->cpu, X86_V_UD, X86_NO_ERR);
    unsigned form = X86_SYS_R2(a->code), r = X86_SYS_R1(a->code), size = X86_SYS_SIZE(a->code);
    struct x86_segment *seg = &a->st->seg[form == X86_FSGS_RDFS || form == X86_FSGS_WRFS ? X86_FS : X86_GS];
    if (form == X86_FSGS_RDFS || form == X86_FSGS_RDGS) {
        set_gpr_sized(a->st, r, size, seg->base);
        return 0;
    }
    uint64_t v = size == 8 ? a->st->gpr[r] : (uint32_t)a->st->gpr[r];
    gp0_unless(a, x86_canonical_load(v));
    seg->base = v;
    return 0;
}

static uint64_t sys_vmcall(struct sysargs *a)
{
    begin(a, EXIT_HYPERCALL);
    exit_client(a);
}

/* ---- interrupt flag, halting ---------------------------------------------------------- */

static bool iopl_allows(const struct x86_state *st)
{
    return !(st->cr0 & X86_CR0_PE) || x86_cpl(st) <= ((st->rflags & X86_FLAG_IOPL) >> 12);
}

static uint64_t sys_cli(struct sysargs *a)
{
    gp0_unless(a, iopl_allows(a->st));
    a->st->rflags &= ~(uint64_t)X86_FLAG_IF;
    return 0;
}

static uint64_t sys_sti(struct sysargs *a)
{
    gp0_unless(a, iopl_allows(a->st));
    if (!(a->st->rflags & X86_FLAG_IF))
        a->st->interruptibility |= INTR_BLOCK_STI;
    a->st->rflags |= X86_FLAG_IF;
    return 0;
}

static uint64_t sys_hlt(struct sysargs *a)
{
    if (a->st->vmx.cpu_based & CPU_BASED_HLT) {
        begin(a, EXIT_HLT);
        exit_client(a);
    }
    a->st->rip = (a->st->rip + X86_SYS_LEN(a->code)) & gpr_width_mask(a->st);
    a->st->activity_state = 1;
    a->no_step = true;   /* not modelled: HLT's single-step trap would wait for the wake-up */
    return 0;
}

/* ---- descriptor tables ------------------------------------------------------------------ */

static uint64_t dtable_load(struct sysargs *a, struct x86_dtable *t)
{
    unsigned size = X86_SYS_SIZE(a->code);
    uint16_t limit = 0;
    uint64_t base = 0;
    struct x86_fault f;
    fault_check(a, x86_vmem_read(a->cpu, a->b, &limit, 2, 0, &f), &f);
    fault_check(a, x86_vmem_read(a->cpu, a->b + 2, &base, size == 8 ? 8 : 4, 0, &f), &f);
    gp0_unless(a, size != 8 || x86_canonical_load(base));
    t->limit = limit;
    t->base = size == 8 ? base : size == 4 ? (uint32_t)base : (base & 0xffffff);
    return 0;
}

static uint64_t dtable_store(struct sysargs *a, const struct x86_dtable *t)
{
    uint8_t buf[10];
    unsigned n = X86_SYS_SIZE(a->code) == 8 ? 10 : 6;
    uint16_t limit = (uint16_t)t->limit;
    for (unsigned i = 0; i < 2; i++)
        buf[i] = (uint8_t)(limit >> (8 * i));
    for (unsigned i = 0; i < 8; i++)
        buf[2 + i] = (uint8_t)(t->base >> (8 * i));
    struct x86_fault f;
    fault_check(a, x86_vmem_write(a->cpu, a->b, buf, n, 0, &f), &f);
    return 0;
}

static uint64_t sys_lgdt(struct sysargs *a) { return dtable_load(a, &a->st->gdtr); }
static uint64_t sys_lidt(struct sysargs *a) { return dtable_load(a, &a->st->idtr); }
static uint64_t sys_sgdt(struct sysargs *a) { umip_check(a); return dtable_store(a, &a->st->gdtr); }
static uint64_t sys_sidt(struct sysargs *a) { umip_check(a); return dtable_store(a, &a->st->idtr); }
static uint64_t sys_sldt(struct sysargs *a) { umip_check(a); return a->st->seg[X86_LDTR].selector; }
static uint64_t sys_str(struct sysargs *a) { umip_check(a); return a->st->seg[X86_TR].selector; }

/* A system descriptor (LDT or TSS) from the GDT: 16 bytes in long mode. */
static struct x86_segment system_descriptor(struct sysargs *a, uint16_t sel, uint64_t d[2])
{
    struct x86_fault f;
    if (sel & 4u)
        x86_raise_now(a->cpu, X86_V_GP, sel & ~3u);
    unsigned n = (a->st->msr.efer & X86_EFER_LMA) ? 2 : 1;
    d[1] = 0;
    fault_check(a, x86_read_descriptor(a->cpu, sel, d, n, &f), &f);
    struct x86_segment s;
    x86_seg_from_descriptor(&s, sel, d[0], n == 2 ? d[1] : 0);
    return s;
}

/* In long mode a system descriptor's 64-bit base must be canonical: #GP(selector). */
static void check_system_base(struct sysargs *a, uint16_t sel, const struct x86_segment *s)
{
    if ((a->st->msr.efer & X86_EFER_LMA) && !x86_canonical_load(s->base))
        x86_raise_now(a->cpu, X86_V_GP, sel & ~3u);
}

static uint64_t sys_lldt(struct sysargs *a)
{
    uint16_t sel = (uint16_t)a->b;
    if ((sel & ~3u) == 0) {
        a->st->seg[X86_LDTR] = (struct x86_segment){ .selector = sel, .ar = X86_AR_UNUSABLE };
        return 0;
    }
    uint64_t d[2];
    struct x86_segment s = system_descriptor(a, sel, d);
    if ((s.ar & X86_AR_S) || (s.ar & X86_AR_TYPE_MASK) != DESC_TYPE_LDT)
        x86_raise_now(a->cpu, X86_V_GP, sel & ~3u);
    if (!(s.ar & X86_AR_P))
        x86_raise_now(a->cpu, X86_V_NP, sel & ~3u);
    check_system_base(a, sel, &s);
    a->st->seg[X86_LDTR] = s;
    return 0;
}

static uint64_t sys_ltr(struct sysargs *a)
{
    uint16_t sel = (uint16_t)a->b;
    if ((sel & ~3u) == 0)
        x86_raise_now(a->cpu, X86_V_GP, 0);
    uint64_t d[2];
    struct x86_segment s = system_descriptor(a, sel, d);
    unsigned type = s.ar & X86_AR_TYPE_MASK;
    bool long_mode = (a->st->msr.efer & X86_EFER_LMA) != 0;
    if ((s.ar & X86_AR_S) || !(type == DESC_TYPE_TSS_AVAIL || (!long_mode && type == DESC_TYPE_TSS_AVAIL16)))
        x86_raise_now(a->cpu, X86_V_GP, sel & ~3u);
    if (!(s.ar & X86_AR_P))
        x86_raise_now(a->cpu, X86_V_NP, sel & ~3u);
    check_system_base(a, sel, &s);
    uint8_t busy = (uint8_t)((d[0] >> 40) | DESC_TYPE_BUSY);
    struct x86_fault f;
    fault_check(a, x86_vmem_write(a->cpu, a->st->gdtr.base + (sel & ~7u) + 5, &busy, 1, 0, &f), &f);
    s.ar |= DESC_TYPE_BUSY;
    a->st->seg[X86_TR] = s;
    return 0;
}

static uint64_t sys_invlpg(struct sysargs *a)
{
    if (a->st->vmx.cpu_based & CPU_BASED_INVLPG) {
        begin(a, EXIT_INVLPG)->u.reg.value = a->b;
        exit_client(a);
    }
    mmu_tlb_flush_va(&a->cpu->tlb, a->b);
    return 0;
}

static uint64_t sys_wbinvd(struct sysargs *a)
{
    (void)a;
    return 0;
}

static uint64_t sys_swapgs(struct sysargs *a)
{
    if (!long64(a->st))
        x86_raise_now(a->cpu, X86_V_UD, X86_NO_ERR);
    uint64_t t = a->st->seg[X86_GS].base;
    a->st->seg[X86_GS].base = a->st->msr.kernel_gs_base;
    a->st->msr.kernel_gs_base = t;
    return 0;
}

/* ---- transfers --------------------------------------------------------------------------- */

static uint64_t sys_far_jmp(struct sysargs *a)
{
    x86_far_jmp_call(a->cpu, (uint16_t)a->b, a->c, X86_SYS_SIZE(a->code), false, X86_SYS_LEN(a->code));
    return 0;
}

static uint64_t sys_far_call(struct sysargs *a)
{
    x86_far_jmp_call(a->cpu, (uint16_t)a->b, a->c, X86_SYS_SIZE(a->code), true, X86_SYS_LEN(a->code));
    return 0;
}

static uint64_t sys_far_ret(struct sysargs *a)
{
    x86_far_ret(a->cpu, X86_SYS_SIZE(a->code), a->b);
    return 0;
}

static uint64_t sys_iret(struct sysargs *a)
{
    x86_iret(a->cpu, X86_SYS_SIZE(a->code), X86_SYS_LEN(a->code));
    return 0;
}

/* A SYSCALL whose FMASK clears TF takes no single-step trap (the kernel's entry runs
 * its first instruction); one that keeps TF traps at the entry point. */
static uint64_t sys_syscall(struct sysargs *a)
{
    x86_syscall(a->cpu, X86_SYS_LEN(a->code));
    a->no_step = !(a->st->rflags & X86_FLAG_TF);
    return 0;
}

static uint64_t sys_sysret(struct sysargs *a)
{
    x86_sysret(a->cpu, X86_SYS_SIZE(a->code));
    return 0;
}

static uint64_t sys_sysenter(struct sysargs *a)
{
    x86_sysenter(a->cpu);
    return 0;
}

static uint64_t sys_sysexit(struct sysargs *a)
{
    x86_sysexit(a->cpu, X86_SYS_SIZE(a->code));
    return 0;
}

/* Software interrupts: delivered here; an exit (exception bitmap, triple fault)
 * unwinds with RIP still on the instruction. */
static uint64_t software_event(struct sysargs *a, unsigned vector, enum x86_event_type type)
{
    struct x86_event ev = { .vector = (uint8_t)vector, .type = (uint8_t)type,
                            .insn_len = (uint8_t)X86_SYS_LEN(a->code), .err = X86_NO_ERR };
    enum soft_stop s = x86_deliver(a->cpu, &ev);
    if (s != SOFT_STOP_FAULT) {
        x86_flags_pack(a->st);
        soft_unwind(a->cpu, s);
    }
    a->no_step = true;   /* the event cleared TF: no single-step trap after it */
    return 0;
}

static uint64_t sys_int(struct sysargs *a)
{
    static const uint8_t type_of_kind[3] = { X86_EV_SWINT, X86_EV_SWEXC, X86_EV_PRIVSW };
    unsigned kind = X86_SYS_R1(a->code);
    if (kind == 0 && (a->st->rflags & X86_FLAG_VM) && ((a->st->rflags & X86_FLAG_IOPL) >> 12) < 3)
        x86_raise_now(a->cpu, X86_V_GP, 0);
    return software_event(a, (unsigned)a->b, (enum x86_event_type)type_of_kind[kind < 3 ? kind : 0]);
}

static uint64_t sys_into(struct sysargs *a)
{
    if (a->st->soft.of)
        return software_event(a, X86_V_OF, X86_EV_SWEXC);
    a->st->rip = (a->st->rip + X86_SYS_LEN(a->code)) & 0xffffffffull;
    return 0;
}

static uint64_t sys_raise_ud(struct sysargs *a)
{
    x86_raise_now(a->cpu, X86_V_UD, X86_NO_ERR);
}

/* ---- port I/O ------------------------------------------------------------------------------ */

/* In protected mode above IOPL (and in virtual-8086 mode) the TSS I/O bitmap decides. */
static void io_permission(struct sysargs *a, uint16_t port, unsigned size)
{
    const struct x86_state *st = a->st;
    bool vm86 = (st->rflags & X86_FLAG_VM) != 0;
    if (!(st->cr0 & X86_CR0_PE) || (!vm86 && x86_cpl(st) <= ((st->rflags & X86_FLAG_IOPL) >> 12)))
        return;
    const struct x86_segment *tr = &st->seg[X86_TR];
    uint16_t base = 0, bits = 0xffff;
    struct x86_fault f;
    if (tr->limit < TSS_IOMAP_OFFSET + 1 || x86_vmem_read(a->cpu, tr->base + TSS_IOMAP_OFFSET, &base, 2, 0, &f) != 0)
        x86_raise_now(a->cpu, X86_V_GP, 0);
    uint32_t at = base + port / 8u;
    if (at + 1 > tr->limit || x86_vmem_read(a->cpu, tr->base + at, &bits, 2, 0, &f) != 0)
        x86_raise_now(a->cpu, X86_V_GP, 0);
    if ((bits >> (port % 8u)) & ((1u << size) - 1))
        x86_raise_now(a->cpu, X86_V_GP, 0);
}

static uint64_t port_io(struct sysargs *a, bool in, bool string)
{
    unsigned size = X86_SYS_SIZE(a->code);
    uint16_t port = (uint16_t)a->b;
    io_permission(a, port, size);
    struct anyhv_exit *e = begin(a, EXIT_PIO);
    e->u.pio.port = port;
    e->u.pio.size = (uint8_t)size;
    e->u.pio.in = in;
    e->u.pio.string = string;
    e->u.pio.rep = string && X86_SYS_R1(a->code);
    e->u.pio.imm = !string && X86_SYS_R1(a->code);
    e->u.pio.data = in ? 0 : (a->c & ((size == 4) ? 0xffffffffull : (1ull << (8 * size)) - 1));
    exit_client(a);
}

static uint64_t sys_in(struct sysargs *a) { return port_io(a, true, false); }
static uint64_t sys_out(struct sysargs *a) { return port_io(a, false, false); }
static uint64_t sys_ins(struct sysargs *a) { return port_io(a, true, true); }
static uint64_t sys_outs(struct sysargs *a) { return port_io(a, false, true); }

static const sys_fn sys_table[X86_SYSOP_COUNT] = {
    [X86_SYS_MOV_TO_SEG] = sys_mov_to_seg, [X86_SYS_POP_SEG] = sys_pop_seg,
    [X86_SYS_MOV_TO_CR] = sys_mov_to_cr, [X86_SYS_MOV_FROM_CR] = sys_mov_from_cr,
    [X86_SYS_MOV_TO_DR] = sys_mov_to_dr, [X86_SYS_MOV_FROM_DR] = sys_mov_from_dr,
    [X86_SYS_RDMSR] = sys_rdmsr, [X86_SYS_WRMSR] = sys_wrmsr, [X86_SYS_RDTSC] = sys_rdtsc,
    [X86_SYS_RDPMC] = sys_rdpmc, [X86_SYS_RDTSCP] = sys_rdtscp, [X86_SYS_CLI] = sys_cli, [X86_SYS_STI] = sys_sti,
    [X86_SYS_LGDT] = sys_lgdt, [X86_SYS_LIDT] = sys_lidt, [X86_SYS_SGDT] = sys_sgdt, [X86_SYS_SIDT] = sys_sidt,
    [X86_SYS_LLDT] = sys_lldt, [X86_SYS_LTR] = sys_ltr, [X86_SYS_SLDT] = sys_sldt, [X86_SYS_STR] = sys_str,
    [X86_SYS_SMSW] = sys_smsw, [X86_SYS_LMSW] = sys_lmsw, [X86_SYS_CLTS] = sys_clts,
    [X86_SYS_INVLPG] = sys_invlpg, [X86_SYS_WBINVD] = sys_wbinvd, [X86_SYS_SWAPGS] = sys_swapgs,
    [X86_SYS_XGETBV] = sys_xgetbv, [X86_SYS_VMCALL] = sys_vmcall, [X86_SYS_SYSCALL] = sys_syscall,
    [X86_SYS_SYSRET] = sys_sysret, [X86_SYS_SYSENTER] = sys_sysenter, [X86_SYS_SYSEXIT] = sys_sysexit,
    [X86_SYS_LOAD_FAR_PTR] = sys_load_far_ptr, [X86_SYS_FAR_JMP] = sys_far_jmp,
    [X86_SYS_FAR_CALL] = sys_far_call, [X86_SYS_FAR_RET] = sys_far_ret, [X86_SYS_IRET] = sys_iret,
    [X86_SYS_INT] = sys_int, [X86_SYS_INTO] = sys_into, [X86_SYS_HLT] = sys_hlt, [X86_SYS_IN] = sys_in,
    [X86_SYS_OUT] = sys_out, [X86_SYS_INS] = sys_ins, [X86_SYS_OUTS] = sys_outs, [X86_SYS_CPUID] = sys_cpuid,
    [X86_SYS_RAISE_UD] = sys_raise_ud, [X86_SYS_RDRAND] = sys_rdrand, [X86_SYS_RDSEED] = sys_rdseed,
    [X86_SYS_XSETBV] = sys_xsetbv, [X86_SYS_RDPID] = sys_rdpid, [X86_SYS_INVPCID] = sys_invpcid, [X86_SYS_FSGSBASE] = sys_fsgsbase,
};

ir_u128 x86_h_system(void *vcpu, ir_u128 code, ir_u128 b, ir_u128 c)
{
    struct soft_cpu *cpu = vcpu;
    struct sysargs a = { .cpu = cpu, .st = x86_st(cpu), .code = (uint64_t)code, .b = (uint64_t)b, .c = (uint64_t)c };
    unsigned op = X86_SYS_OP(a.code);
    /* Helpers see the architectural RFLAGS; keep it packed while they run. */
    x86_flags_pack(a.st);
    x86_seg_invalidate(a.st);
    bool step = (a.st->rflags & X86_FLAG_TF) != 0;   /* TF at the start of the instruction */
    if (op >= X86_SYSOP_COUNT || !sys_table[op])
        x86_raise_now(cpu, X86_V_UD, X86_NO_ERR);
    uint64_t r = sys_table[op](&a);
    x86_flags_pack(a.st);
    if (step && !a.no_step)
        a.st->pending_dbg |= X86_PENDING_DBG_BS;
    return r;
}
