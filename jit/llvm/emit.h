/* emit.h - lowering of pre-decoded IR programs to LLVM IR (one function a block),
 * shared by the compile thread (engine.c) and its unit tests. Only jit/llvm/ sees it. */
#ifndef ANYHV_JIT_LLVM_EMIT_H
#define ANYHV_JIT_LLVM_EMIT_H

#include <llvm-c/Core.h>

#include "jit/llvm/engine.h"

/* One module being built: types and the runtime's function types, made once. */
struct em_module {
    LLVMContextRef cx;
    LLVMModuleRef mod;
    LLVMBuilderRef bd;
    LLVMTypeRef i1, i8, i16, i32, i64, i128, ptr, vd;
    LLVMTypeRef blk_fn_t;       /* i32 (ptr cpu, ptr state) */
    LLVMTypeRef helper_t;       /* i128 (ptr, i128, i128, i128) */
    LLVMTypeRef load_t, store_t, load64_t, store64_t, cmpxchg_t, rmw_t, op128_t, set_pc_t;
    /* Type-based alias tags: guest state, the dispatcher's own data (soft_cpu, TLB,
     * chain cells, contexts) and guest memory never overlap, so a store to one does
     * not make LLVM reload the others (calls still may touch anything). */
    unsigned tbaa_kind;
    LLVMValueRef tbaa_state, tbaa_host, tbaa_guest;
};
enum em_mem { EM_MEM_STATE, EM_MEM_HOST, EM_MEM_GUEST };

void em_module_init(struct em_module *m, LLVMContextRef cx, const char *name);
void em_module_dispose_builder(struct em_module *m);
/* Adds function `name` for fn to the module. False if the program holds something the
 * emitter refuses (then the module must be dropped: the function may be partial). */
bool em_emit_func(struct em_module *m, const struct em_func *fn, const char *name);

#endif /* ANYHV_JIT_LLVM_EMIT_H */
