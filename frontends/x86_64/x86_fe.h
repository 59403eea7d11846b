/* x86_fe.h - internals of the x86-64 frontend of the software CPU: our decoded
 * instruction form (filled from Capstone by decode.c), the lifting context, the
 * shared operand/flag helpers every lifter uses, and the system-semantics entry
 * points (event delivery, segment loads, safe guest memory for system code).
 *
 * Deliberate differences from the SDM, listed once here:
 * - AF after logic ops, and the flags the SDM calls undefined, follow what QEMU and
 *   Unicorn produce where cheap (0 for AF/OF in logic ops) and are not relied on;
 * - task switches exit to the client (VMX); CS limits on fetch, CR4.VME/PVI and I/O
 *   breakpoints are not modelled (docs/x86-frontend.md lists the rest). */
#ifndef ANYHV_FRONTENDS_X86_64_X86_FE_H
#define ANYHV_FRONTENDS_X86_64_X86_FE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/soft/soft.h"
#include "core/vm.h"
#include "core/x86_state.h"
#include "jit/ir.h"

/* ---- decoded form ------------------------------------------------------------ */

/* The Capstone id of the forms decode.c recognises itself (x86_ops.def). */
#define X86_OWN_DECODE X86_INS_ENDING

enum x86_iop {
    X86_I_INVALID = 0,
#define X86_OP(name, csid, lifter) X86_I_##name,
#include "frontends/x86_64/x86_ops.def"
#undef X86_OP
    X86_I_COUNT
};

enum x86_reg_class {
    X86_RC_NONE = 0,
    X86_RC_GPR,      /* num = enum x86_gpr, size from the operand */
    X86_RC_GPR8H,    /* AH CH DH BH: num = 0..3, bits 8..15 */
    X86_RC_SEG,      /* num = enum x86_seg_reg */
    X86_RC_CR,
    X86_RC_DR,
    X86_RC_XMM,
    X86_RC_ST,
    X86_RC_MMX,
    X86_RC_YMM,      /* num 0..15: XMMn and its upper half (fpu.ymm_hi) */
    X86_RC_RIP,      /* RIP-relative base */
};

struct x86_regref {
    uint8_t cls;     /* enum x86_reg_class */
    uint8_t num;
};

enum x86_opnd_kind { X86_OPND_NONE = 0, X86_OPND_REG, X86_OPND_IMM, X86_OPND_MEM };

struct x86_operand {
    uint8_t kind;            /* enum x86_opnd_kind */
    uint8_t size;            /* bytes */
    struct x86_regref reg;
    uint64_t imm;
    struct {
        uint8_t seg;         /* enum x86_seg_reg after defaulting */
        bool seg_override;
        struct x86_regref base, index;
        uint8_t scale;
        int64_t disp;
    } mem;
};

enum x86_pfx {
    X86_PFX_LOCK = 1u << 0,
    X86_PFX_REP = 1u << 1,     /* F3: REP / REPE */
    X86_PFX_REPNE = 1u << 2,   /* F2 */
    X86_PFX_OPSIZE = 1u << 3,
    X86_PFX_ADDRSIZE = 1u << 4,
    X86_PFX_REX_W = 1u << 5,
};

#define X86_MAX_INSN_LEN 15
#define X86_MAX_OPERANDS 4

struct x86_dinsn {
    uint16_t op;             /* enum x86_iop */
    uint16_t cs_id;          /* Capstone's id, kept for dumps */
    uint8_t len;
    uint8_t nops;
    uint8_t addr_size;       /* bytes: 2, 4, 8 */
    uint8_t op_size;         /* bytes: the size of operand 0, or the default one */
    uint8_t prefixes;        /* enum x86_pfx bits */
    uint8_t opcode[4];       /* Capstone's opcode bytes (distinguish forms) */
    uint8_t modrm;
    bool vex;                /* VEX-encoded (C4/C5) */
    struct x86_operand o[X86_MAX_OPERANDS];
    uint8_t bytes[X86_MAX_INSN_LEN];
};

/* Code sizes: what the D/L bits of CS select. */
enum x86_code_size { X86_CODE16 = 0, X86_CODE32 = 1, X86_CODE64 = 2 };

/* Decode one instruction from bytes (n available) at offset ip. Returns false for
 * bytes Capstone does not decode or that map to no lifter (#UD). */
bool x86_decode(enum x86_code_size mode, const uint8_t *bytes, unsigned n, uint64_t ip, struct x86_dinsn *out);
/* Capstone text of one instruction, for dumps and reports ("" on failure). */
void x86_disasm(enum x86_code_size mode, const uint8_t *bytes, unsigned n, uint64_t ip, char *out, unsigned outlen);
const char *x86_op_name(unsigned op);

/* Translate the block at the current RIP without the dispatcher (reports, golden
 * dumps): code is read through the walker and stage 2 directly, and nothing is
 * delivered if it cannot be; needs only cpu->vcpu and cpu->state. */
typedef size_t (*x86_fetch_fn)(struct soft_cpu *cpu, uint64_t va, void *out, size_t len, bool fault);
bool x86_translate_standalone(struct soft_cpu *cpu, struct ir_block *b);

/* ---- mode key ------------------------------------------------------------------ */

/* Bits of state a translation depends on (the cache key's mode bits). */
#define X86_MK_CODE_MASK 0x3u          /* enum x86_code_size */
#define X86_MK_CPL_SHIFT 2             /* 2 bits */
#define X86_MK_PE (1u << 4)
#define X86_MK_VM86 (1u << 5)
#define X86_MK_IOPL_SHIFT 6            /* 2 bits */
#define X86_MK_LMA (1u << 8)
#define X86_MK_SS32 (1u << 9)          /* stack address size is 32 bits (SS.B) */
#define X86_MK_OSFXSR (1u << 10)
#define X86_MK_EM (1u << 11)
#define X86_MK_TS (1u << 12)
/* xsys: checks that are emitted only while armed (nothing costs in the common case) */
#define X86_MK_SEGCHK (1u << 13)       /* some segment is not flat: limit/type checks */
#define X86_MK_TF (1u << 14)           /* single-step: one instruction a block, #DB after */
#define X86_MK_DBG (1u << 15)          /* DR7 breakpoint enabled or RF set: checks */
#define X86_MK_AC (1u << 16)           /* CR0.AM && EFLAGS.AC && CPL 3: alignment checks */
/* (bits 17-30: the CS base hash outside 64-bit mode, frontend.c) */
#define X86_MK_AVX (1u << 31)          /* CR4.OSXSAVE and XCR0 enables SSE and AVX: VEX is legal */

uint32_t x86_mode_key_of(const struct x86_state *st);
enum x86_code_size x86_code_size_of(const struct x86_state *st);
unsigned x86_cpl(const struct x86_state *st);

/* ---- lifting context ----------------------------------------------------------- */

/* Linear addresses one instruction computes at most (ENTER with nesting level 31:
 * 31 frame-pointer loads and 32 pushes). */
#define X86_MAX_SEGREFS 72u

struct x86_ctx {
    struct ir_block *b;
    struct soft_cpu *cpu;
    const struct x86_dinsn *in;
    uint32_t mode;           /* x86_mode_key_of at translation */
    enum x86_code_size code;
    unsigned cpl;
    uint64_t cs_base;        /* at translation time; used only where the mode key pins it */
    uint64_t pc;             /* linear address of the instruction */
    uint64_t next_pc;        /* linear address after it */
    uint64_t ip;             /* RIP/EIP/IP offset of the instruction */
    uint64_t next_ip;
    bool end;                /* the block ends after this instruction (lifter emitted a terminator) */
    bool shadow;             /* set by STI: the next instruction is its shadow, then the block ends */
    /* Linear addresses computed for this instruction and their segment offsets, so a
     * load/store can emit the segment-limit check (seg_check.c); reset per instruction. */
    struct { ir_val lin, off; uint8_t seg; } segref[X86_MAX_SEGREFS];
    unsigned nsegref;
};

typedef bool (*x86_lifter)(struct x86_ctx *c);

/* Lifters, one per instruction family, named after the SDM, grouped by file. */
#define X86_OP(name, csid, lifter) bool lifter(struct x86_ctx *c);
#include "frontends/x86_64/x86_ops.def"
#undef X86_OP

/* SSE moves shared with the string ids (MOVSD). */
bool lift_movss_movsd_sse(struct x86_ctx *c);

/* State offsets. */
#define X86_OFF_GPR(n) ((uint32_t)(offsetof(struct x86_state, gpr) + 8u * (n)))
#define X86_OFF_RIP ((uint32_t)offsetof(struct x86_state, rip))
#define X86_OFF_RFLAGS ((uint32_t)offsetof(struct x86_state, rflags))
#define X86_OFF_SEG_BASE(s) ((uint32_t)(offsetof(struct x86_state, seg) + sizeof(struct x86_segment) * (s) + \
                                        offsetof(struct x86_segment, base)))
#define X86_OFF_SEG_LIMIT(s) ((uint32_t)(offsetof(struct x86_state, seg) + sizeof(struct x86_segment) * (s) + \
                                         offsetof(struct x86_segment, limit)))
#define X86_OFF_SEG_SEL(s) ((uint32_t)(offsetof(struct x86_state, seg) + sizeof(struct x86_segment) * (s) + \
                                       offsetof(struct x86_segment, selector)))
#define X86_OFF_FLAG(f) ((uint32_t)(offsetof(struct x86_state, soft) + offsetof(struct x86_soft_flags, f)))
#define X86_OFF_XMM(n) ((uint32_t)(offsetof(struct x86_state, fpu) + offsetof(struct x86_fpu, xmm) + 16u * (n)))
#define X86_OFF_YMMH(n) ((uint32_t)(offsetof(struct x86_state, fpu) + offsetof(struct x86_fpu, ymm_hi) + 16u * (n)))

/* The six flag offsets, for the dead-flag pass. */
extern const uint32_t x86_flag_offsets[6];

/* Operands. */
ir_val x86_get_reg(struct x86_ctx *c, struct x86_regref r, unsigned size);
void x86_set_reg(struct x86_ctx *c, struct x86_regref r, unsigned size, ir_val v);
ir_val x86_get_gpr(struct x86_ctx *c, unsigned n, unsigned size);
void x86_set_gpr(struct x86_ctx *c, unsigned n, unsigned size, ir_val v);
ir_val x86_ea(struct x86_ctx *c, const struct x86_operand *o);            /* offset in segment */
ir_val x86_linear(struct x86_ctx *c, unsigned seg, ir_val offset);        /* seg base + offset */
ir_val x86_operand_addr(struct x86_ctx *c, const struct x86_operand *o);  /* linear address */
/* The same for a locked read-modify-write operand: its segment/alignment checks are
 * emitted (x86_load/x86_store do that themselves). */
ir_val x86_rmw_addr(struct x86_ctx *c, const struct x86_operand *o, unsigned size);
ir_val x86_load(struct x86_ctx *c, ir_val linear, unsigned size, unsigned seg);
void x86_store(struct x86_ctx *c, ir_val linear, ir_val v, unsigned size, unsigned seg);
ir_val x86_read_op(struct x86_ctx *c, unsigned i);          /* operand i at its size */
ir_val x86_read_op_sized(struct x86_ctx *c, unsigned i, unsigned size);
void x86_write_op(struct x86_ctx *c, unsigned i, ir_val v);
ir_val x86_const(struct x86_ctx *c, unsigned size, uint64_t v);
enum ir_type x86_type(unsigned size);
ir_val x86_resize(struct x86_ctx *c, ir_val v, unsigned size, bool sign);

/* Stack. */
unsigned x86_stack_size(const struct x86_ctx *c);           /* 2, 4, 8: SS.B / long mode */
void x86_push(struct x86_ctx *c, ir_val v, unsigned size);
ir_val x86_pop(struct x86_ctx *c, unsigned size);
/* The pop's value and the stack pointer after it, without writing RSP. */
ir_val x86_pop_value(struct x86_ctx *c, unsigned size, ir_val *next_sp);

/* Flags: values are i1; IR_NONE leaves a flag unchanged. */
void x86_set_flags(struct x86_ctx *c, ir_val cf, ir_val pf, ir_val af, ir_val zf, ir_val sf, ir_val of);
ir_val x86_get_flag(struct x86_ctx *c, uint32_t off);      /* i1 */
ir_val x86_parity(struct x86_ctx *c, ir_val res);
void x86_flags_logic(struct x86_ctx *c, ir_val res);
void x86_flags_add(struct x86_ctx *c, ir_val a, ir_val b, ir_val res, ir_val carry_in);
void x86_flags_sub(struct x86_ctx *c, ir_val a, ir_val b, ir_val res, ir_val borrow_in);
ir_val x86_cond(struct x86_ctx *c, unsigned cc);            /* i1 for condition code 0..15 */
ir_val x86_msb(struct x86_ctx *c, ir_val v);
ir_val x86_is_zero(struct x86_ctx *c, ir_val v);

/* Control flow: pcs are linear; these also write RIP. */
void x86_jump_ip(struct x86_ctx *c, uint64_t ip);          /* direct, to an offset in CS */
void x86_jump_ind(struct x86_ctx *c, ir_val ip);           /* indirect, offset value */
void x86_branch_ip(struct x86_ctx *c, ir_val cond, uint64_t taken_ip);
uint64_t x86_ip_mask(const struct x86_ctx *c);
/* End the block with RIP = next instruction and a STOP_SYSTEM (mode may have changed). */
void x86_end_system(struct x86_ctx *c);
/* Raise exception `vector` (with error code if err >= 0) at this instruction. */
void x86_raise(struct x86_ctx *c, unsigned vector, int64_t err);
/* Emit a call to a helper that may fault: RIP and flags made precise before it. */
ir_val x86_call(struct x86_ctx *c, enum ir_type ret, uint32_t helper, ir_val a0, ir_val a1, ir_val a2);
void x86_sync_rip(struct x86_ctx *c);                      /* RIP = this instruction */

/* Segment limit checks outside 64-bit mode (seg_check.c). */
bool x86_seg_needs_checks(const struct x86_state *st);
void x86_seg_bounds_update(struct x86_state *st);
/* Helpers: may [off, off+size) of segment s be read (written) now? (64-bit: yes) */
bool x86_seg_access_ok(const struct x86_state *st, const struct x86_segment *s, uint64_t off, unsigned size,
                       bool write);
/* Lifters: remember lin = seg:off; emit the check for an access at lin (a linear
 * address x86_linear returned) or at an explicit offset. */
void x86_seg_note(struct x86_ctx *c, unsigned seg, ir_val off, ir_val lin);
void x86_seg_guard(struct x86_ctx *c, ir_val lin, unsigned size, bool write);
void x86_seg_check_off(struct x86_ctx *c, unsigned seg, ir_val off, unsigned size, bool write);
/* Outside 64-bit mode, while some segment is not flat: #GP(0) at the open instruction
 * when `last_ip` (the last byte fetched, or a near-branch target) is beyond the CS limit,
 * only where `taken` (IR_NONE: always). The _const form emits nothing when off. */
void x86_cs_limit_check(struct x86_ctx *c, ir_val taken, ir_val last_ip);
void x86_cs_limit_check_const(struct x86_ctx *c, ir_val taken, uint64_t last_ip);
/* Segments may have changed (system helper, event delivery, client): recompute the
 * bounds before the next block. */
static inline void x86_seg_invalidate(struct x86_state *st) { st->soft_seg.valid = 0; }

/* Debug exceptions and #AC (sys_debug.c). DR6 and pending-debug bits. */
#define X86_DR6_B_MASK 0xfull
#define X86_DR6_BD (1ull << 13)
#define X86_DR6_BS (1ull << 14)
#define X86_DR6_BT (1ull << 15)
#define X86_DR6_STATUS_MASK (X86_DR6_B_MASK | X86_DR6_BD | X86_DR6_BS | X86_DR6_BT)
#define X86_DR6_FIXED1 0xffff0ff0ull     /* reserved bits that read as 1 */
#define X86_DR6_FIXED0 (1ull << 12)      /* reserved bit that reads as 0 */
#define X86_DR7_FIXED1 (1ull << 10)
#define X86_DR7_FIXED0 0xd800ull         /* bits 11, 12, 14, 15 */
#define X86_PENDING_DBG_BS (1ull << 14)  /* VMX pending debug exceptions: single step */
#define X86_PENDING_DBG_ENABLED (1ull << 12)
bool x86_dbg_armed(const struct x86_state *st);
bool x86_ac_armed(const struct x86_state *st);
void x86_debug_helpers_register(void);
void x86_dbg_insn_start(struct x86_ctx *c);
void x86_dbg_data_access(struct x86_ctx *c, ir_val linear, unsigned size, bool write);
void x86_dbg_step_mark(struct x86_ctx *c);
void x86_align_guard(struct x86_ctx *c, ir_val linear, unsigned size);
/* The checks before a data access (segment, alignment); x86_load/x86_store call it,
 * lifters emitting their own atomic ops call it themselves. */
void x86_mem_guard(struct x86_ctx *c, ir_val linear, unsigned size, bool write);
void x86_dbg_update_dr6(struct x86_state *st, uint64_t bits);
bool x86_dbg_deliver_pending(struct soft_cpu *cpu);
void x86_dbg_general_detect(struct soft_cpu *cpu);
int x86_dbg_write(struct x86_state *st, unsigned dr, uint64_t v);

/* ---- helpers (C functions called from IR) --------------------------------------- */

enum x86_helper_id {
    X86_H_DIV, X86_H_RAISE, X86_H_POPF, X86_H_SYSTEM, X86_H_SSE, X86_H_ALIGN16,
    X86_H_PCMPSTR,   /* SSE4.2 string compares (sse_str.c) */
    X86_H_SSE_FP,    /* SSE FP under MXCSR (sse_fp.c) */
    X86_H_FXSR,      /* LDMXCSR, FXSAVE, FXRSTOR, x87->MMX (lift_fxsr.c) */
    X86_H_MASKMOV,   /* MASKMOVQ/MASKMOVDQU (lift_mmx.c) */
    X86_H_XSAVE,     /* XSAVE/XSAVEOPT/XSAVEC/XRSTOR (lift_xsave.c) */
    X86_H_BITS,      /* PDEP/PEXT, decimal adjusts (lift_ext.c) */
    X86_H_AVX_FP,    /* FMA3, F16C under MXCSR (avx_fp.c) */
    X86_H_AVX_MEM,   /* masked moves and gathers (lift_avx_mem.c) */
    X86_H_REP_BULK,  /* REP MOVS/STOS in bulk (lift_string.c) */
    X86_H_EVEX,      /* AVX-512 and opmask instructions (avx512_exec.c) */
    X86_H_COUNT
};
extern uint32_t x86_helper[X86_H_COUNT];
extern const struct ir_helper x86_rep_bulk_helper;
void x86_helpers_register(void);

/* ---- system semantics ------------------------------------------------------------ */

/* Event types, in VMX interruption-information encoding (bits 10:8). */
enum x86_event_type {
    X86_EV_EXTINT = 0, X86_EV_NMI = 2, X86_EV_HWEXC = 3, X86_EV_SWINT = 4, X86_EV_PRIVSW = 5, X86_EV_SWEXC = 6,
};
enum x86_vector {
    X86_V_DE = 0, X86_V_DB = 1, X86_V_NMI = 2, X86_V_BP = 3, X86_V_OF = 4, X86_V_BR = 5, X86_V_UD = 6, X86_V_NM = 7,
    X86_V_DF = 8, X86_V_TS = 10, X86_V_NP = 11, X86_V_SS = 12, X86_V_GP = 13, X86_V_PF = 14, X86_V_MF = 16, X86_V_AC = 17,
    X86_V_MC = 18, X86_V_XM = 19,
};
#define X86_NO_ERR (-1)
#define X86_FLAG_DF_BIT 10
#define X86_FLAG_IF_BIT 9

/* Pack/unpack the arithmetic flags between the soft fields and rflags. */
void x86_flags_pack(struct x86_state *st);
void x86_flags_unpack(struct x86_state *st);
uint64_t x86_rflags_of(const struct x86_state *st);
void x86_rflags_write(struct x86_state *st, uint64_t v);

/* Deliver an event now (state is precise, RIP = the instruction for faults or the
 * next one for traps/software interrupts, insn_len for software events). Returns
 * the soft_stop the dispatcher should see: FAULT (delivered), EXIT (the client
 * must see it: exception bitmap or triple fault). */
struct x86_event {
    uint8_t vector;
    uint8_t type;            /* enum x86_event_type */
    uint8_t insn_len;        /* software events: the instruction's length */
    int64_t err;             /* X86_NO_ERR when none */
    uint64_t cr2;            /* #PF: the faulting linear address; #DB: the DR6 bits */
};
enum soft_stop x86_deliver(struct soft_cpu *cpu, const struct x86_event *ev);
/* From a helper: deliver a hardware exception and unwind. RIP must already be the
 * faulting instruction. */
_Noreturn void x86_raise_now(struct soft_cpu *cpu, unsigned vector, int64_t err);
_Noreturn void x86_raise_event_now(struct soft_cpu *cpu, const struct x86_event *ev);

/* Safe guest-virtual access for system code (descriptor tables, TSS, event frames):
 * returns 0 on success, else fills the fault (#PF or a stage-2 exit) into *f. */
struct x86_fault {
    bool stage2;             /* EPT violation: exit to the client */
    unsigned vector;         /* #PF / #GP ... when !stage2 */
    int64_t err;
    uint64_t cr2;
    uint64_t gpa, gva;
    uint32_t access;
    bool task;               /* not a fault: a task gate in the IDT, a task-switch exit */
    uint16_t task_sel;       /* ... to this TSS */
};
int x86_vmem_read(struct soft_cpu *cpu, uint64_t va, void *out, unsigned size, uint32_t access, struct x86_fault *f);
int x86_vmem_write(struct soft_cpu *cpu, uint64_t va, const void *in, unsigned size, uint32_t access,
                   struct x86_fault *f);
/* Turn a fault from x86_vmem_* into delivery/exit and unwind. */
_Noreturn void x86_fault_now(struct soft_cpu *cpu, const struct x86_fault *f);
/* Fill an EPT-violation exit. */
void x86_exit_ept(struct soft_cpu *cpu, uint64_t va, uint64_t gpa, uint32_t access, bool page_walk);

/* Stage-1 walk (mmu/walk_x86.c). Returns 0 and fills out, or sets *f. */
struct x86_walk_result {
    uint64_t gpa;
    uint32_t perms;          /* MMU_READ | MMU_WRITE | MMU_FETCH allowed for this access's privilege */
};
int x86_walk(struct soft_cpu *cpu, uint64_t va, uint32_t access, struct x86_walk_result *out, struct x86_fault *f);

/* Segment loads with their checks (protected mode); real/VM86 mode loads base = sel*16.
 * Return 0 or set *f (#GP/#NP/#SS/#TS, or a stage-2 exit). */
int x86_load_seg(struct soft_cpu *cpu, unsigned seg, uint16_t sel, struct x86_fault *f);
/* The same, checked against an explicit CPL (returns to an outer level). */
int x86_load_seg_cpl(struct soft_cpu *cpu, unsigned seg, uint16_t sel, unsigned cpl, struct x86_fault *f);
/* Descriptor read by selector from GDT/LDT: 0 or fault. */
int x86_read_descriptor(struct soft_cpu *cpu, uint16_t sel, uint64_t desc[2], unsigned n, struct x86_fault *f);
void x86_seg_from_descriptor(struct x86_segment *s, uint16_t sel, uint64_t lo, uint64_t hi);

/* The vCPU's VMX controls and guest-physical map. */
struct pmap *x86_pmap(struct soft_cpu *cpu);
static inline struct x86_state *x86_st(struct soft_cpu *cpu) { return (struct x86_state *)cpu->state; }

/* Fill a client exit (kind + pc/len of the current instruction) and return it. */
struct anyhv_exit *x86_exit_begin(struct soft_cpu *cpu, enum exit_kind kind, unsigned insn_len);

#endif /* ANYHV_FRONTENDS_X86_64_X86_FE_H */
