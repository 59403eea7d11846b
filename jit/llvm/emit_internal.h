/* emit_internal.h - the state of one function being emitted, shared by emit.c
 * (values, arithmetic) and emit_ctl.c (memory, helper calls, exits and chaining). */
#ifndef ANYHV_JIT_LLVM_EMIT_INTERNAL_H
#define ANYHV_JIT_LLVM_EMIT_INTERNAL_H

#include <stddef.h>

#include "core/soft/soft.h"
#include "jit/llvm/emit.h"

/* A guest-state field kept in an SSA variable (an alloca mem2reg promotes): every
 * access the function makes to its bytes has this offset and width. */
struct em_slot {
    uint32_t off;
    uint8_t w;                        /* bits (1 is kept as a byte) */
    bool written;                     /* some member sets it: flushed at sync points */
    bool dirty;                       /* set since the last flush on the member's main path */
    LLVMValueRef var;
    uint64_t keep;                    /* bits no write in the function changes (see keep_bits) */
    LLVMValueRef kept;                /* their value, read on entry */
};

struct em_fn {
    struct em_module *m;
    const struct em_func *func;
    const struct em_block *b;         /* the member being emitted */
    uint32_t member;
    LLVMValueRef fn, cpu, state;
    LLVMValueRef ic0;                 /* cpu->icount at the member's entry */
    LLVMValueRef *val;                /* per slot of the member's program */
    uint32_t seen;                    /* insn_starts passed so far */
    const struct interp_insn *start;  /* the open instruction's insn_start */
    uint32_t next_exit;               /* next chain cell */
    /* regions */
    LLVMBasicBlockRef *member_bb;     /* each member's entry */
    LLVMValueRef *member_ic;          /* its instruction count on entry (phi) */
    LLVMValueRef vm_epoch0;           /* the VM's code epoch when the function began */
    LLVMValueRef budget;              /* cpu->budget: set before a run, constant during it */
    struct em_slot *slot;             /* cached state, sorted by offset (NULL: none) */
    uint32_t nslot;
    LLVMValueRef left_var;            /* jit_vcpu_ctx.chain_left while cached (NULL: in memory) */
    LLVMBasicBlockRef ret_bb;         /* the one return to the dispatcher (NULL: none yet) */
    LLVMValueRef ret_phi;             /* its value */
};

/* i8 pointer at byte offset off of base. */
LLVMValueRef em_at(struct em_fn *f, LLVMValueRef base, uint64_t off);
LLVMValueRef em_load(struct em_fn *f, LLVMTypeRef t, LLVMValueRef base, uint64_t off);
void em_store(struct em_fn *f, LLVMValueRef v, LLVMValueRef base, uint64_t off);
LLVMTypeRef em_ty(struct em_fn *f, unsigned w);
LLVMValueRef em_const(struct em_fn *f, unsigned w, uint64_t v);
LLVMValueRef em_const128(struct em_fn *f, unsigned w, ir_u128 v);
/* v resized to w bits (zero-extended or truncated). */
LLVMValueRef em_fit(struct em_fn *f, LLVMValueRef v, unsigned w);
LLVMValueRef em_ptr_const(struct em_fn *f, const void *p);
unsigned em_width(LLVMValueRef v);
LLVMBasicBlockRef em_new_bb(struct em_fn *f, const char *name);
/* Tag a load or store with what it touches (see em_module's tbaa tags). em_load and
 * em_store tag by base: the state pointer, else the dispatcher's data. */
void em_mem_tag(struct em_fn *f, LLVMValueRef access, enum em_mem what);

/* emit_state.c: guest state through the cache. */
bool em_cache_plan(struct em_fn *f);
LLVMValueRef em_state_get(struct em_fn *f, uint32_t off, unsigned w);
void em_state_set(struct em_fn *f, uint32_t off, LLVMValueRef v);
/* Write back what may differ from the state struct. On the member's main path
 * (settle: true) the fields become clean; on a side path that rejoins it (a memory
 * slow path) or leaves (an exit) they stay as they were for the main path. */
void em_cache_flush(struct em_fn *f, bool settle);
/* Re-read every cached field (after a helper that may have written state). */
void em_cache_reload(struct em_fn *f);
/* A member begins: whatever any member wrote may be unsaved. */
void em_cache_enter_member(struct em_fn *f);

/* emit.c */
bool em_emit_pure(struct em_fn *f, const struct interp_insn *in, uint16_t op);
/* emit_fp.c: FP/FPFLAGS (the ordinary case inline, the fallback helper out of line) */
LLVMValueRef em_fp_value(struct em_fn *f, const struct interp_insn *in, uint16_t op);
/* emit_vec.c: an integer vector op's value, or NULL if op is not one. */
LLVMValueRef em_vec_value(struct em_fn *f, const struct interp_insn *in, uint16_t op);
/* emit_ctl.c */
bool em_emit_effect(struct em_fn *f, const struct interp_insn *in, uint16_t op);

#define EM_CPU(field) offsetof(struct soft_cpu, field)

#endif /* ANYHV_JIT_LLVM_EMIT_INTERNAL_H */
