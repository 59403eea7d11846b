/* x86_sys.h - the x86 system instructions as one helper with a table of
 * operations (sys_insn.c), and the lifter entry points that build their calls.
 * Operations that transfer control (far jumps, interrupts, IRET, SYSCALL ...) set
 * RIP themselves; the others leave RIP on the instruction and the lifter moves it. */
#ifndef ANYHV_FRONTENDS_X86_64_X86_SYS_H
#define ANYHV_FRONTENDS_X86_64_X86_SYS_H

#include "frontends/x86_64/x86_fe.h"

#define X86_SYSOP_LIST(X)                                                                  \
    X(MOV_TO_SEG, 0) X(POP_SEG, 0) X(MOV_TO_CR, 0) X(MOV_FROM_CR, 0) X(MOV_TO_DR, 0)        \
    X(MOV_FROM_DR, 0) X(RDMSR, 0) X(WRMSR, 0) X(RDTSC, 0) X(RDTSCP, 0) X(CLI, 0) X(STI, 0) \
    X(LGDT, 0) X(LIDT, 0) X(SGDT, 0) X(SIDT, 0) X(LLDT, 0) X(LTR, 0) X(SLDT, 0) X(STR, 0)  \
    X(SMSW, 0) X(LMSW, 0) X(CLTS, 0) X(INVLPG, 0) X(WBINVD, 0) X(SWAPGS, 0) X(XGETBV, 0)   \
    X(VMCALL, 1) X(SYSCALL, 1) X(SYSRET, 1) X(SYSENTER, 1) X(SYSEXIT, 1) X(LOAD_FAR_PTR, 0) \
    X(FAR_JMP, 1) X(FAR_CALL, 1) X(FAR_RET, 1) X(IRET, 1) X(INT, 1) X(INTO, 1) X(HLT, 1)    \
    X(IN, 0) X(OUT, 0) X(INS, 0) X(OUTS, 0) X(CPUID, 0) X(RAISE_UD, 1) X(RDPMC, 0)           \
    X(RDRAND, 0) X(RDSEED, 0) X(XSETBV, 0) X(RDPID, 0) X(FSGSBASE, 0) X(INVPCID, 0)

/* name, sets RIP itself (1) or leaves it on the instruction (0) */
enum x86_sysop {
#define X(name, transfer) X86_SYS_##name,
    X86_SYSOP_LIST(X)
#undef X
    X86_SYSOP_COUNT
};

/* The helper's first argument: operation and instruction facts, packed. */
#define X86_SYS_CODE(op, len, size, r1, r2)                                                      \
    ((uint64_t)(op) | ((uint64_t)(len) << 8) | ((uint64_t)(size) << 16) | ((uint64_t)(r1) << 24) | \
     ((uint64_t)(r2) << 32))
#define X86_SYS_OP(code) ((unsigned)((code)&0xff))
#define X86_SYS_LEN(code) ((unsigned)(((code) >> 8) & 0xff))
#define X86_SYS_SIZE(code) ((unsigned)(((code) >> 16) & 0xff))
#define X86_SYS_R1(code) ((unsigned)(((code) >> 24) & 0xff))
#define X86_SYS_R2(code) ((unsigned)(((code) >> 32) & 0xff))
#define X86_SYS_NO_REG 0xff

/* Emit the call and end the block: RIP to the next instruction unless the
 * operation moves it itself. Returns the helper's value. */
ir_val x86_sys_call(struct x86_ctx *c, enum x86_sysop op, unsigned size, unsigned r1, unsigned r2, ir_val b,
                    ir_val cval);
bool x86_sysop_transfers(enum x86_sysop op);

bool lift_mov_sys(struct x86_ctx *c);
bool lift_pop_seg(struct x86_ctx *c, unsigned seg, unsigned size);

/* FSGSBASE forms (X86_SYS_FSGSBASE's r2). */
enum x86_fsgs_form { X86_FSGS_RDFS, X86_FSGS_RDGS, X86_FSGS_WRFS, X86_FSGS_WRGS };

/* The helper (sys_insn.c). */
ir_u128 x86_h_system(void *cpu, ir_u128 code, ir_u128 b, ir_u128 c);

/* The VM clock in TSC ticks (core/clock.h): every guest TSC read adds the vCPU's
 * offset (x86_state.msr.tsc on the soft route) to it. */
static inline uint64_t x86_tsc_base(const struct soft_cpu *cpu)
{
    const struct vm_clock *c = &cpu->vcpu->vm->clock;
    return clock_ns_to_ticks(c, clock_now_ns_at(c, cpu->vcpu, cpu->icount));
}

/* MSRs (sys_msr.c): 0 on success; -1 raises #GP; 1 means "exit to the client". */
int x86_msr_read(struct soft_cpu *cpu, uint32_t msr, uint64_t *value);
int x86_msr_write(struct soft_cpu *cpu, uint32_t msr, uint64_t value);

/* Control registers with their checks (sys_cr.c): 0, or -1 for #GP. */
int x86_cr_write(struct soft_cpu *cpu, unsigned cr, uint64_t value);

/* Far transfers and interrupts (sys_far.c). */
void x86_far_jmp_call(struct soft_cpu *cpu, uint16_t sel, uint64_t offset, unsigned size, bool call, unsigned len);
void x86_far_ret(struct soft_cpu *cpu, unsigned size, uint64_t pop_bytes);
void x86_iret(struct soft_cpu *cpu, unsigned size, unsigned len);
void x86_syscall(struct soft_cpu *cpu, unsigned len);
void x86_sysret(struct soft_cpu *cpu, unsigned size);
void x86_sysenter(struct soft_cpu *cpu);
void x86_sysexit(struct soft_cpu *cpu, unsigned size);
/* Call gates (sys_gate.c): the gate descriptor's low quadword is lo. */
void x86_far_call_gate(struct soft_cpu *cpu, uint16_t sel, uint64_t lo, bool call, unsigned len);
/* Task switches exit to the client (sys_task.c). */
bool x86_is_task_descriptor(uint64_t lo);
void x86_task_far(struct soft_cpu *cpu, uint16_t sel, uint64_t lo, bool call, unsigned len);
void x86_task_iret(struct soft_cpu *cpu, unsigned len);
/* A task gate in the IDT: -1 with *f a fault, or with f->task set (exit). */
int x86_task_gate_idt(struct soft_cpu *cpu, uint64_t gate_lo, struct x86_fault *f);

#endif /* ANYHV_FRONTENDS_X86_64_X86_SYS_H */
