/* engine_none.c - the LLVM engine in a build without LLVM: nothing compiles, and the
 * tier manager never starts (jit_supported() is false), so the interpreter runs all. */
#include "jit/llvm/engine.h"

bool llvm_supported(void)
{
    return false;
}

struct llvm_engine *llvm_engine_create(const char **err)
{
    *err = "built without LLVM";
    return NULL;
}

void llvm_engine_destroy(struct llvm_engine *e)
{
    (void)e;
}

struct llvm_unit *llvm_compile(struct llvm_engine *e, const struct em_func *const *funcs, unsigned n,
                               enum llvm_opt opt, jit_fn *fns, size_t *code_bytes)
{
    (void)e, (void)funcs, (void)opt;
    for (unsigned i = 0; i < n; i++)
        fns[i] = NULL;
    *code_bytes = 0;
    return NULL;
}

void llvm_unit_free(struct llvm_engine *e, struct llvm_unit *u)
{
    (void)e, (void)u;
}

jit_enter_fn llvm_engine_enter(const struct llvm_engine *e)
{
    (void)e;
    return NULL;
}
