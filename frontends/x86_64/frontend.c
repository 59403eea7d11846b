/* frontend.c - the x86-64 frontend as the dispatcher sees it (struct soft_frontend):
 * mode key, translation of one block (fetch through the walker, decode, lift by
 * table), events before a block (VM-entry injection, interrupt/NMI windows), TLB
 * fills, stage-2 faults as EPT-violation exits, and the lazy arithmetic flags. */
#define ANYHV_GUEST_X86_64 1
#include <Hypervisor/Hypervisor.h>
#include <stddef.h>
#include <string.h>

#include "frontends/x86_64/x86_fe.h"
#include "frontends/x86_64/x86_evex.h"

#define X86_BLOCK_MAX_INSNS 64
#define X86_INTERNAL_BAD_GUEST_STATE EXIT_INTERNAL_BAD_GUEST_STATE
#define ARITH_FLAGS (X86_FLAG_CF | X86_FLAG_PF | X86_FLAG_AF | X86_FLAG_ZF | X86_FLAG_SF | X86_FLAG_OF)
#define INTR_BLOCK_STI (1u << 0)
#define INTR_BLOCK_MOV_SS (1u << 1)
#define INTR_BLOCK_NMI (1u << 3)
#define MK_CS_HASH_SHIFT 18
#define X86_XCR0_SSE_AVX 0x6ull
#define MK_CS_HASH_MASK 0x1fffu   /* 13 bits: bit 17 is X86_MK_MXCSR_DEFAULT, 31 X86_MK_AVX */
#define MXCSR_CONTROLS 0xffc0u    /* DAZ, the masks, RC, FZ */
#define MXCSR_DEFAULT 0x1f80u
#define REAL_BASE_LIMIT 0x100000u       /* bases below 1 MiB that are multiples of 16 */
#define REAL_BASE_ALIGN 0xfu
#define REAL_BASE_SHIFT 4

static const x86_lifter lifters[X86_I_COUNT] = {
#define X86_OP(name, csid, lifter) [X86_I_##name] = lifter,
#include "frontends/x86_64/x86_ops.def"
#undef X86_OP
};

/* ---- flags ---------------------------------------------------------------------- */

static const unsigned flag_bit[6] = { 0, 2, 4, 6, 7, 11 };
/* The byte of each flag inside struct x86_soft_flags, in flag_bit order. */
static const size_t flag_byte[6] = {
    offsetof(struct x86_soft_flags, cf), offsetof(struct x86_soft_flags, pf),
    offsetof(struct x86_soft_flags, af), offsetof(struct x86_soft_flags, zf),
    offsetof(struct x86_soft_flags, sf), offsetof(struct x86_soft_flags, of),
};

uint64_t x86_rflags_of(const struct x86_state *st)
{
    const uint8_t *f = (const uint8_t *)&st->soft;
    uint64_t v = (st->rflags & ~(uint64_t)ARITH_FLAGS) | X86_FLAG_FIXED1;
    for (unsigned i = 0; i < 6; i++)
        v |= (uint64_t)(f[flag_byte[i]] & 1) << flag_bit[i];
    return v;
}

void x86_flags_pack(struct x86_state *st)
{
    st->rflags = x86_rflags_of(st);
    st->soft.rflags_synced = st->rflags;
}

void x86_flags_unpack(struct x86_state *st)
{
    uint8_t *f = (uint8_t *)&st->soft;
    for (unsigned i = 0; i < 6; i++)
        f[flag_byte[i]] = (uint8_t)((st->rflags >> flag_bit[i]) & 1);
    st->soft.rflags_synced = st->rflags;
}

void x86_rflags_write(struct x86_state *st, uint64_t v)
{
    st->rflags = v | X86_FLAG_FIXED1;
    x86_flags_unpack(st);
}

/* ---- mode ----------------------------------------------------------------------- */

/* The default operand/address size comes from the CS descriptor cache in every mode
 * but virtual-8086: a real-mode guest (CR0.PE=0, which VMX allows with unrestricted
 * guest) whose CS access rights have D=1 runs 32-bit code, as it does under VMX. */
enum x86_code_size x86_code_size_of(const struct x86_state *st)
{
    uint32_t ar = st->seg[X86_CS].ar;
    if ((st->msr.efer & X86_EFER_LMA) && (ar & X86_AR_L))
        return X86_CODE64;
    if ((st->cr0 & X86_CR0_PE) && (st->rflags & X86_FLAG_VM))
        return X86_CODE16;
    return (ar & X86_AR_DB) ? X86_CODE32 : X86_CODE16;
}

/* CPL as VMX defines it: SS.DPL (real mode 0, virtual-8086 mode 3). */
unsigned x86_cpl(const struct x86_state *st)
{
    if (!(st->cr0 & X86_CR0_PE))
        return 0;
    if (st->rflags & X86_FLAG_VM)
        return 3;
    return (st->seg[X86_SS].ar & X86_AR_DPL_MASK) >> X86_AR_DPL_SHIFT;
}

/* CS.base in the key: relative targets depend on it. Real-mode and virtual-8086
 * bases (selector * 16) go in exactly modulo 2^14 paragraphs, so two bases that can
 * reach the same linear pc (less than 64 KiB apart; 2^13 paragraphs are 128 KiB) never share a key; other bases
 * are hashed. */
static uint32_t cs_base_hash(uint64_t base)
{
    if (base < REAL_BASE_LIMIT && !(base & REAL_BASE_ALIGN))
        return (uint32_t)(base >> REAL_BASE_SHIFT) & MK_CS_HASH_MASK;
    uint64_t h = base * 0x9e3779b97f4a7c15ull;
    return (uint32_t)(h >> 49) & MK_CS_HASH_MASK;
}

uint32_t x86_mode_key_of(const struct x86_state *st)
{
    enum x86_code_size code = x86_code_size_of(st);
    uint32_t k = code | (x86_cpl(st) << X86_MK_CPL_SHIFT);
    k |= (st->cr0 & X86_CR0_PE) ? X86_MK_PE : 0;
    k |= (st->rflags & X86_FLAG_VM) ? X86_MK_VM86 : 0;
    k |= (uint32_t)((st->rflags & X86_FLAG_IOPL) >> 12) << X86_MK_IOPL_SHIFT;
    k |= (st->msr.efer & X86_EFER_LMA) ? X86_MK_LMA : 0;
    k |= (st->seg[X86_SS].ar & X86_AR_DB) ? X86_MK_SS32 : 0;
    k |= (st->cr4 & X86_CR4_OSFXSR) ? X86_MK_OSFXSR : 0;
    k |= (st->cr0 & X86_CR0_EM) ? X86_MK_EM : 0;
    k |= (st->cr0 & X86_CR0_TS) ? X86_MK_TS : 0;
    bool segchk = st->soft_seg.valid ? st->soft_seg.checked : x86_seg_needs_checks(st);
    k |= segchk && code != X86_CODE64 ? X86_MK_SEGCHK : 0;
    k |= (st->rflags & X86_FLAG_TF) ? X86_MK_TF : 0;
    k |= x86_dbg_armed(st) ? X86_MK_DBG : 0;
    k |= x86_ac_armed(st) ? X86_MK_AC : 0;
    k |= (st->fpu.mxcsr & MXCSR_CONTROLS) == MXCSR_DEFAULT ? X86_MK_MXCSR_DEFAULT : 0;
    k |= (st->cr4 & X86_CR4_OSXSAVE) && (st->xcr0 & X86_XCR0_SSE_AVX) == X86_XCR0_SSE_AVX ? X86_MK_AVX : 0;
    if (code != X86_CODE64)
        k |= cs_base_hash(st->seg[X86_CS].base) << MK_CS_HASH_SHIFT;
    return k;
}

static uint64_t linear_pc(const struct x86_state *st)
{
    if (x86_code_size_of(st) == X86_CODE64)
        return st->rip;
    return (st->seg[X86_CS].base + st->rip) & 0xffffffffull;
}

static uint64_t fe_get_pc(const struct soft_cpu *cpu)
{
    return linear_pc((const struct x86_state *)cpu->state);
}

static uint32_t fe_mode_key(const struct soft_cpu *cpu)
{
    return x86_mode_key_of((const struct x86_state *)cpu->state);
}

static void fe_set_pc(struct soft_cpu *cpu, uint64_t pc)
{
    struct x86_state *st = x86_st(cpu);
    if (x86_code_size_of(st) == X86_CODE64)
        st->rip = pc;
    else
        st->rip = (pc - st->seg[X86_CS].base) & (x86_code_size_of(st) == X86_CODE32 ? 0xffffffffull : 0xffffull);
}

/* State leaving the CPU: RFLAGS packed, and the IA-32e-mode-guest entry control
 * following EFER.LMA as VMX stores it on every exit. The segment bounds stay: a
 * client write that may change them drops them (core/x86/x86.h x86_state_written). */
static void fe_sync_state(struct soft_cpu *cpu)
{
    struct x86_state *st = x86_st(cpu);
    x86_flags_pack(st);
    const struct anyhv_exit *e = &cpu->vcpu->exit;
    if (e->kind == EXIT_INTERNAL && e->u.internal.code == X86_INTERNAL_BAD_GUEST_STATE)
        return;   /* a failed VM entry stores nothing */
    if (st->msr.efer & X86_EFER_LMA)
        st->vmx.entry |= X86_VMX_ENTRY_IA32E;
    else
        st->vmx.entry &= ~(uint32_t)X86_VMX_ENTRY_IA32E;
}

/* ---- translation ----------------------------------------------------------------- */

static void ctx_init(struct x86_ctx *c, struct soft_cpu *cpu, struct ir_block *b)
{
    const struct x86_state *st = x86_st(cpu);
    memset(c, 0, sizeof(*c));
    c->b = b;
    c->cpu = cpu;
    c->mode = x86_mode_key_of(st);
    c->code = x86_code_size_of(st);
    c->cpl = x86_cpl(st);
    c->cs_base = c->code == X86_CODE64 ? 0 : st->seg[X86_CS].base;
}

/* LOCK is allowed only on the read-modify-write forms with a memory destination. */
static bool lock_allowed(const struct x86_dinsn *in)
{
    if (!(in->prefixes & X86_PFX_LOCK))
        return true;
    switch (in->op) {
    case X86_I_ADD: case X86_I_ADC: case X86_I_AND: case X86_I_BTC: case X86_I_BTR: case X86_I_BTS:
    case X86_I_CMPXCHG: case X86_I_CMPXCHG8B: case X86_I_CMPXCHG16B: case X86_I_DEC: case X86_I_INC:
    case X86_I_NEG: case X86_I_NOT: case X86_I_OR: case X86_I_SBB: case X86_I_SUB: case X86_I_XADD:
    case X86_I_XCHG: case X86_I_XOR:
        return in->nops > 0 && in->o[0].kind == X86_OPND_MEM;
    default:
        return false;
    }
}

/* Lift one decoded instruction; an unimplemented form becomes #UD. */
static void lift_one(struct x86_ctx *c, const struct x86_dinsn *in, bool decoded)
{
    c->in = in;
    c->nsegref = 0;
    unsigned len = in->len ? in->len : 1;
    ir_insn_start(c->b, c->pc, len);
    /* Kept if the lifter refuses, in the SDM's priority order: instruction breakpoints
     * and RF, then the fetch's CS-limit check, then decoding (#UD). */
    x86_dbg_insn_start(c);
    x86_cs_limit_check_const(c, IR_NONE, c->ip + len - 1);
    uint32_t keep = c->b->count;
    if (decoded && lock_allowed(in) && lifters[in->op] && lifters[in->op](c)) {
        x86_avx512_vex_upper(c);   /* VEX writes zero bits 511:256 (AVX-512 on only) */
        return;
    }
    c->b->count = keep;   /* drop what a refusing lifter emitted */
    c->end = false;
    x86_raise(c, X86_V_UD, X86_NO_ERR);
}

/* Clear blocking by STI / MOV SS once the shadowed instruction has executed. */
static void end_shadow(struct x86_ctx *c)
{
    if (c->end)
        return;   /* a terminator already left: the next check_events clears it */
    uint32_t off = (uint32_t)offsetof(struct x86_state, interruptibility);
    ir_val v = ir_get(c->b, IR_I32, off);
    ir_set(c->b, off, ir_binop(c->b, IR_AND, v, ir_const(c->b, IR_I32, ~(uint64_t)(INTR_BLOCK_STI | INTR_BLOCK_MOV_SS))));
}

/* Lift instructions until a terminator, the block cap, a page change or code that
 * cannot be fetched. Code comes through mmu_fetch_code (self-modifying code
 * tracking); a fetch fault is taken only for the block's first instruction. */
static bool translate_with(struct soft_cpu *cpu, struct ir_block *b, x86_fetch_fn fetch)
{
    struct x86_state *st = x86_st(cpu);
    struct x86_ctx c;
    ctx_init(&c, cpu, b);
    uint64_t ip = st->rip, start = linear_pc(st);
    unsigned cap = cpu->max_insns && cpu->max_insns < X86_BLOCK_MAX_INSNS ? cpu->max_insns : X86_BLOCK_MAX_INSNS;
    if (c.mode & (X86_MK_TF | X86_MK_DBG))
        cap = 1;   /* debug traps are taken at the instruction boundary after it */
    b->guest_pc = start;
    b->mode_key = c.mode;
    for (unsigned n = 0; n < cap && !c.end; n++) {
        if (n > 0 && b->count >= IR_BLOCK_SOFT_LIMIT) {
            x86_jump_ip(&c, ip);   /* heavy instructions (ENTER with nesting, ...) filled it */
            break;
        }
        uint8_t bytes[X86_MAX_INSN_LEN];
        uint64_t pc = c.cs_base + ip;
        if (c.code != X86_CODE64)
            pc &= 0xffffffffull;
        unsigned got = (unsigned)fetch(cpu, pc, bytes, X86_MAX_INSN_LEN, false);
        struct x86_dinsn in;
        bool ok = got && x86_decode(c.code, bytes, got, ip, &in);
        if (!ok && got < X86_MAX_INSN_LEN) {
            /* The instruction runs into a page that cannot be fetched: end the block
             * before it, or take that page's fault if it is the first. */
            if (n > 0) {
                x86_jump_ip(&c, ip);
                break;
            }
            fetch(cpu, pc + got, bytes, 1, true);   /* delivers and unwinds */
            return false;
        }
        if (!ok) {
            memset(&in, 0, sizeof(in));
            in.len = 1;
        }
        c.pc = pc;
        c.ip = ip;
        c.next_ip = (ip + in.len) & x86_ip_mask(&c);
        c.next_pc = c.cs_base + c.next_ip;
        if (c.code != X86_CODE64)
            c.next_pc &= 0xffffffffull;
        bool in_shadow = c.shadow;
        c.shadow = false;
        lift_one(&c, &in, ok);   /* its INSN_START counts the instruction and its bytes */
        ip = c.next_ip;
        if (in_shadow) {
            /* The instruction after STI ran in its shadow: lift the blocking, and let
             * the dispatcher look at events right after it. */
            end_shadow(&c);
            if (!c.end)
                x86_jump_ip(&c, ip);
            break;
        }
        bool page_end = ((c.next_pc ^ start) & MMU_PAGE_MASK) != 0;
        if (!c.end && (page_end || n + 1 == cap))
            x86_jump_ip(&c, ip);
    }
    return true;
}

static bool fe_translate(struct soft_cpu *cpu, struct ir_block *b)
{
    return translate_with(cpu, b, mmu_fetch_code);
}

/* Code fetch without the dispatcher: stage 1 and stage 2 directly, never faulting. */
static size_t standalone_fetch(struct soft_cpu *cpu, uint64_t va, void *out, size_t len, bool fault)
{
    (void)fault;
    size_t got = 0;
    struct x86_fault f;
    uint32_t user = x86_cpl(x86_st(cpu)) == 3 ? MMU_USER : 0;
    while (got < len && x86_vmem_read(cpu, va + got, (uint8_t *)out + got, 1, MMU_FETCH | user, &f) == 0)
        got++;
    return got;
}

bool x86_translate_standalone(struct soft_cpu *cpu, struct ir_block *b)
{
    return translate_with(cpu, b, standalone_fetch);
}

/* ---- events ----------------------------------------------------------------------- */

static bool exit_now(struct soft_cpu *cpu, enum exit_kind kind)
{
    x86_flags_pack(x86_st(cpu));
    x86_exit_begin(cpu, kind, 0);
    cpu->stop = SOFT_STOP_EXIT;
    return false;
}

static bool inject_event(struct soft_cpu *cpu)
{
    struct x86_state *st = x86_st(cpu);
    uint32_t info = st->vmx.entry_irq_info;
    st->vmx.entry_irq_info &= ~(uint32_t)IRQ_INFO_VALID;
    struct x86_event ev = {
        .vector = (uint8_t)(info & 0xff),
        .type = (uint8_t)((info & IRQ_INFO_TYPE_MASK) >> 8),
        .insn_len = (uint8_t)st->vmx.entry_instr_len,
        .err = (info & IRQ_INFO_ERROR_VALID) ? (int64_t)st->vmx.entry_exc_error : X86_NO_ERR,
    };
    if (ev.vector == X86_V_PF && ev.type == X86_EV_HWEXC)
        ev.cr2 = st->cr2;
    enum soft_stop s = x86_deliver(cpu, &ev);
    if (s == SOFT_STOP_FAULT)
        return true;   /* delivered: run the handler */
    cpu->stop = s;
    return false;
}

/* The VM-entry checks on guest state that matter to the soft CPU (SDM 26.3.1):
 * a state no processor can be in is refused (hv_vcpu_run returns an error). */
static bool guest_state_valid(const struct x86_state *st)
{
    bool pg = (st->cr0 & X86_CR0_PG) != 0, lma = (st->msr.efer & X86_EFER_LMA) != 0;
    bool ia32e = (st->vmx.entry & X86_VMX_ENTRY_IA32E) != 0;
    if (pg && !(st->cr0 & X86_CR0_PE))
        return false;
    if (lma && (!pg || !(st->msr.efer & X86_EFER_LME) || !(st->cr4 & X86_CR4_PAE)))
        return false;
    if (ia32e != lma)
        return false;
    /* With virtual NMIs, injecting an NMI while blocked by NMI fails VM entry. */
    uint32_t info = st->vmx.entry_irq_info;
    if ((info & IRQ_INFO_VALID) && (info & IRQ_INFO_TYPE_MASK) == IRQ_INFO_NMI &&
        (st->vmx.pin_based & PIN_BASED_VIRTUAL_NMI) && (st->interruptibility & INTR_BLOCK_NMI))
        return false;
    return !(lma && (st->seg[X86_CS].ar & X86_AR_L) && (st->seg[X86_CS].ar & X86_AR_DB));
}

static bool refuse_state(struct soft_cpu *cpu)
{
    struct anyhv_exit *e = x86_exit_begin(cpu, EXIT_INTERNAL, 0);
    e->u.internal.code = X86_INTERNAL_BAD_GUEST_STATE;
    cpu->stop = SOFT_STOP_EXIT;
    return false;
}

static bool fe_check_events(struct soft_cpu *cpu)
{
    struct x86_state *st = x86_st(cpu);
    if ((st->rflags ^ st->soft.rflags_synced) & ARITH_FLAGS)
        x86_flags_unpack(st);
    if (!st->soft_seg.valid)
        x86_seg_bounds_update(st);
    if (!guest_state_valid(st) || !x86_entry_event_valid(st->vmx.entry_irq_info))
        return refuse_state(cpu);
    cpu->regime = x86_cpl(st) == 3;
    st->soft_dbg_held = 0;
    if (cpu->halted && st->activity_state == 0)
        cpu->halted = false;   /* the client woke it (activity state written) */
    if (st->vmx.entry_irq_info & IRQ_INFO_VALID) {
        cpu->halted = false;
        st->activity_state = 0;
        bool ok = inject_event(cpu);
        cpu->regime = x86_cpl(st) == 3;
        return ok;
    }
    uint32_t blocked = st->interruptibility & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS);
    st->interruptibility &= ~(uint32_t)(INTR_BLOCK_STI | INTR_BLOCK_MOV_SS);
    if (blocked & INTR_BLOCK_MOV_SS)
        st->soft_dbg_held = st->pending_dbg;   /* held over the next instruction */
    /* Debug traps of the last instruction (MOV SS / POP SS hold them for one more). */
    if (st->pending_dbg && !(blocked & INTR_BLOCK_MOV_SS)) {
        bool ok = x86_dbg_deliver_pending(cpu);
        cpu->regime = x86_cpl(st) == 3;
        if (!ok)
            return false;
    }
    if ((st->vmx.cpu_based & CPU_BASED_IRQ_WND) && (st->rflags & X86_FLAG_IF) && !blocked)
        return exit_now(cpu, EXIT_IRQ_WINDOW);
    if ((st->vmx.cpu_based & CPU_BASED_VIRTUAL_NMI_WND) && !(st->interruptibility & INTR_BLOCK_NMI) && !blocked)
        return exit_now(cpu, EXIT_NMI_WINDOW);
    return true;
}

/* ---- chaining compiled blocks (soft.h plain_bits / events_quiet) -------------------- */

/* A whole field is plain (all bits) when [off, off+size) lies inside [lo, lo+len). */
static bool inside(uint32_t off, uint32_t size, size_t lo, size_t len)
{
    return off >= lo && off + size <= lo + len;
}

/* Registers, the lazily kept arithmetic flags, x87/SSE state and RFLAGS.DF: nothing
 * check_events or the mode key reads, but for MXCSR's controls (X86_MK_MXCSR_DEFAULT),
 * which no SET writes: only state-writing helpers do (LDMXCSR, FXRSTOR, XRSTOR), which
 * make their block unchainable and end it; the IR sets of MXCSR only OR in flags. */
static uint64_t fe_plain_bits(uint32_t off, uint32_t size)
{
    if (inside(off, size, offsetof(struct x86_state, gpr), sizeof(((struct x86_state *)0)->gpr)) ||
        inside(off, size, offsetof(struct x86_state, rip), sizeof(uint64_t)) ||
        inside(off, size, offsetof(struct x86_state, fpu), sizeof(struct x86_fpu)) ||
        inside(off, size, offsetof(struct x86_state, soft), offsetof(struct x86_soft_flags, pad)) ||
        inside(off, size, offsetof(struct x86_state, fpu_fcs), 2 * sizeof(uint16_t)))
        return ~0ull;
    if (off == offsetof(struct x86_state, rflags) && size == sizeof(uint64_t))
        return X86_FLAG_DF;
    return 0;
}

/* In 64-bit code RIP is the pc; elsewhere set_pc subtracts CS.base and wraps. */
static int32_t fe_pc_offset(uint32_t mode)
{
    return (mode & X86_MK_CODE_MASK) == X86_CODE64 ? (int32_t)offsetof(struct x86_state, rip) : -1;
}

/* fe_check_events would do nothing now, and nothing while only plain state changes. */
static bool fe_events_quiet(const struct soft_cpu *cpu)
{
    const struct x86_state *st = cpu->state;
    return st->soft_seg.valid && !((st->rflags ^ st->soft.rflags_synced) & ARITH_FLAGS) &&
           !(st->interruptibility & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS)) && !st->pending_dbg &&
           !(st->vmx.entry_irq_info & IRQ_INFO_VALID) &&
           !(st->vmx.cpu_based & (CPU_BASED_IRQ_WND | CPU_BASED_VIRTUAL_NMI_WND)) && !cpu->halted;
}

/* ---- memory ------------------------------------------------------------------------- */

/* Stage 1 for the TLB; the dispatcher applies stage 2. With MMU_PROBE a failure
 * delivers nothing. */
static bool fe_walk(struct soft_cpu *cpu, uint64_t va, uint32_t access, struct mmu_entry *out)
{
    struct x86_walk_result w;
    struct x86_fault f;
    if (x86_walk(cpu, va, access & ~(uint32_t)MMU_PROBE, &w, &f) != 0) {
        if (access & MMU_PROBE)
            return false;
        if (f.stage2) {
            x86_exit_ept(cpu, va, f.gpa, MMU_READ, true);
            x86_flags_pack(x86_st(cpu));
            cpu->stop = SOFT_STOP_EXIT;
            return false;
        }
        struct x86_event ev = { .vector = (uint8_t)f.vector, .type = X86_EV_HWEXC, .err = f.err, .cr2 = va };
        cpu->stop = x86_deliver(cpu, &ev);
        return false;
    }
    out->vpage = va & MMU_PAGE_MASK;
    out->gpage = w.gpa & MMU_PAGE_MASK;
    out->perms = w.perms;
    out->asid = MMU_ASID_GLOBAL;
    out->host = NULL;
    return true;
}

/* The dispatcher filled the EPT-violation exit; RFLAGS must be architectural. */
static void fe_stage2_fault(struct soft_cpu *cpu, uint64_t va, uint64_t gpa, uint32_t access, uint64_t info)
{
    (void)va;
    (void)gpa;
    (void)access;
    (void)info;
    x86_flags_pack(x86_st(cpu));
}

/* A block ended with STOP: a guard's fault (TRAP_IF: segment limit, #AC) is
 * delivered here; the rest as the dispatcher's defaults. */
static void fe_stop(struct soft_cpu *cpu, uint32_t reason, uint64_t detail)
{
    switch (reason) {
    case IR_STOP_EXCEPTION: {
        struct x86_event ev = { .vector = (uint8_t)detail, .type = X86_EV_HWEXC, .err = 0 };
        cpu->stop = x86_deliver(cpu, &ev);
        if (cpu->stop == SOFT_STOP_FAULT)
            cpu->stop = SOFT_RUN;
        break;
    }
    case IR_STOP_EXIT:
        x86_flags_pack(x86_st(cpu));
        x86_exit_begin(cpu, (enum exit_kind)detail, 0);
        cpu->stop = SOFT_STOP_EXIT;
        break;
    case IR_STOP_HALT:
        cpu->halted = true;
        break;
    default:
        break;
    }
}

static void fe_init(void)
{
    x86_helpers_register();
}

const struct soft_frontend x86_soft_frontend = {
    .name = "x86_64",
    .init = fe_init,
    .get_pc = fe_get_pc,
    .mode_key = fe_mode_key,
    .translate = fe_translate,
    .check_events = fe_check_events,
    .walk = fe_walk,
    .stage2_fault = fe_stage2_fault,
    .set_pc = fe_set_pc,
    .plain_bits = fe_plain_bits,
    .events_quiet = fe_events_quiet,
    .pc_offset = fe_pc_offset,
    .sync_state = fe_sync_state,
    .stop = fe_stop,
    .flag_offsets = x86_flag_offsets,
    .flag_count = 6,
};
