/* emit_internal.h - the state of one function being emitted, shared by emit.c
 * (values, arithmetic) and emit_ctl.c (memory, helper calls, exits and chaining). */
#ifndef ANYHV_JIT_LLVM_EMIT_INTERNAL_H
#define ANYHV_JIT_LLVM_EMIT_INTERNAL_H

#include <stddef.h>

#include "core/soft/soft.h"
#include "jit/llvm/emit.h"

struct em_fn {
    struct em_module *m;
    const struct em_block *b;
    LLVMValueRef fn, cpu, state;
    LLVMValueRef ic0;                 /* cpu->icount at entry */
    LLVMValueRef *val;                /* per slot */
    uint32_t seen;                    /* insn_starts passed so far */
    const struct interp_insn *start;  /* the open instruction's insn_start */
    uint32_t next_exit;               /* next chain cell */
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

/* emit.c */
bool em_emit_pure(struct em_fn *f, const struct interp_insn *in, uint16_t op);
/* emit_ctl.c */
bool em_emit_effect(struct em_fn *f, const struct interp_insn *in, uint16_t op);

#define EM_CPU(field) offsetof(struct soft_cpu, field)

#endif /* ANYHV_JIT_LLVM_EMIT_INTERNAL_H */
