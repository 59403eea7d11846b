/* engine.c - LLVM 19 ORC through its C API. Each unit is one module: emitted to an
 * object file by a target machine of the unit's optimisation level (so one LLJIT
 * serves both tiers), added to the JIT under a resource tracker of its own, and
 * freed by removing that tracker. Every LLVMErrorRef is consumed here. */
#include "jit/llvm/engine.h"
#include "jit/llvm/emit.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Support.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct llvm_engine {
    LLVMOrcLLJITRef jit;
    LLVMOrcJITDylibRef jd;
    LLVMTargetMachineRef tm[LLVM_OPT_COUNT];
    LLVMContextRef cx;
    char *triple;
    uint64_t next_unit;
    bool debug;                /* ANYHV_JIT_DEBUG: report refused modules on stderr */
    jit_enter_fn enter;        /* C -> preserve_none entry thunk */
    LLVMOrcResourceTrackerRef enter_rt;
};

struct llvm_unit {
    LLVMOrcResourceTrackerRef rt;
};

/* IR pipelines per level: the warm tier lets FastISel work on the IR as emitted. Hot
 * regions get the function passes that matter for emitted guest code (promote the
 * cached state, fold, merge loads, hoist loop invariants, drop dead stores), about a
 * third of default<O2>'s time with code as fast or faster on every bench workload
 * (docs/jit.md has the figures); the rest of O2 (inliner, loop rotation, unrolling,
 * vectorisers) finds little in one region and costs most of its time. */
static const char *const pipeline[LLVM_OPT_COUNT] = {
    NULL, "function(sroa,early-cse<memssa>,instcombine<max-iterations=1;no-verify-fixpoint>,simplifycfg,gvn,"
          "loop-mssa(licm),dse,simplifycfg)"
};
static const LLVMCodeGenOptLevel codegen_level[LLVM_OPT_COUNT] = { LLVMCodeGenLevelNone, LLVMCodeGenLevelDefault };

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool init_ok;

/* ANYHV_LLVM_ARGS: LLVM's own command-line options, for measuring (for example
 * "-fast-isel-report-on-fallback" or "-time-passes"); parsed once per process. */
static void parse_llvm_args(void)
{
    const char *env = getenv("ANYHV_LLVM_ARGS");
    if (!env || !*env)
        return;
    static char buf[1024];
    const char *argv[32] = { "anyhv" };
    int argc = 1;
    snprintf(buf, sizeof(buf), "%s", env);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok && argc < 32; tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    LLVMParseCommandLineOptions(argc, argv, "anyhv");
}

static void init_llvm(void)
{
    init_ok = !LLVMInitializeNativeTarget() && !LLVMInitializeNativeAsmPrinter();
    if (init_ok)
        parse_llvm_args();
}

bool llvm_supported(void)
{
    pthread_once(&init_once, init_llvm);
    return init_ok;
}

/* Consume err; true if there was one. */
static bool failed(struct llvm_engine *e, LLVMErrorRef err, const char *what)
{
    if (!err)
        return false;
    char *msg = LLVMGetErrorMessage(err);
    if (!e || e->debug)
        fprintf(stderr, "anyhv jit: %s: %s\n", what, msg);
    LLVMDisposeErrorMessage(msg);
    return true;
}

static void report_session_error(void *ctx, LLVMErrorRef err)
{
    failed(ctx, err, "execution session");
}

static bool make_machines(struct llvm_engine *e)
{
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(e->triple, &target, &msg)) {
        LLVMDisposeMessage(msg);
        return false;
    }
    char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    for (unsigned i = 0; i < LLVM_OPT_COUNT; i++)
        e->tm[i] = LLVMCreateTargetMachine(target, e->triple, cpu, features, codegen_level[i], LLVMRelocPIC,
                                           LLVMCodeModelSmall);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    return e->tm[0] && e->tm[1];
}

/* The entry thunk, in a module of its own, compiled once per engine. */
static bool make_enter(struct llvm_engine *e)
{
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("anyhv_enter", e->cx);
    LLVMSetTarget(mod, e->triple);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(e->cx, 0), i32 = LLVMInt32TypeInContext(e->cx);
    LLVMTypeRef blk_t = LLVMFunctionType(i32, (LLVMTypeRef[]){ ptr, ptr }, 2, 0);
    LLVMTypeRef enter_t = LLVMFunctionType(i32, (LLVMTypeRef[]){ ptr, ptr, ptr }, 3, 0);
    LLVMValueRef f = LLVMAddFunction(mod, "anyhv_enter", enter_t);
    LLVMBuilderRef bd = LLVMCreateBuilderInContext(e->cx);
    LLVMPositionBuilderAtEnd(bd, LLVMAppendBasicBlockInContext(e->cx, f, "entry"));
    LLVMValueRef args[2] = { LLVMGetParam(f, 1), LLVMGetParam(f, 2) };
    LLVMValueRef r = LLVMBuildCall2(bd, blk_t, LLVMGetParam(f, 0), args, 2, "");
    LLVMSetInstructionCallConv(r, LLVM_BLOCK_CALLCONV);
    LLVMBuildRet(bd, r);
    LLVMDisposeBuilder(bd);
    LLVMMemoryBufferRef obj = NULL;
    char *msg = NULL;
    bool bad = LLVMTargetMachineEmitToMemoryBuffer(e->tm[LLVM_OPT_WARM], mod, LLVMObjectFile, &msg, &obj);
    LLVMDisposeModule(mod);
    LLVMDisposeMessage(msg);
    if (bad)
        return false;
    e->enter_rt = LLVMOrcJITDylibCreateResourceTracker(e->jd);
    LLVMOrcExecutorAddress addr = 0;
    if (failed(e, LLVMOrcLLJITAddObjectFileWithRT(e->jit, e->enter_rt, obj), "add entry thunk") ||
        failed(e, LLVMOrcLLJITLookup(e->jit, &addr, "anyhv_enter"), "lookup entry thunk") || !addr)
        return false;
    e->enter = (jit_enter_fn)(uintptr_t)addr;
    return true;
}

struct llvm_engine *llvm_engine_create(const char **err)
{
    if (!llvm_supported()) {
        *err = "LLVM has no native target here";
        return NULL;
    }
    struct llvm_engine *e = calloc(1, sizeof(*e));
    if (!e) {
        *err = "out of memory";
        return NULL;
    }
    const char *dbg = getenv("ANYHV_JIT_DEBUG");
    e->debug = dbg && *dbg && *dbg != '0';
    if (failed(e, LLVMOrcCreateLLJIT(&e->jit, LLVMOrcCreateLLJITBuilder()), "create LLJIT")) {
        free(e);
        *err = "LLJIT could not be created";
        return NULL;
    }
    LLVMOrcExecutionSessionSetErrorReporter(LLVMOrcLLJITGetExecutionSession(e->jit), report_session_error, e);
    e->jd = LLVMOrcLLJITGetMainJITDylib(e->jit);
    /* Library calls LLVM may emit (memcpy, memset) resolve in the process. */
    LLVMOrcDefinitionGeneratorRef gen;
    if (!failed(e, LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(e->jit),
                                                                        NULL, NULL),
                "process symbols"))
        LLVMOrcJITDylibAddGenerator(e->jd, gen);
    e->triple = strdup(LLVMOrcLLJITGetTripleString(e->jit));
    e->cx = LLVMContextCreate();
    if (!e->triple || !e->cx || !make_machines(e) || !make_enter(e)) {
        llvm_engine_destroy(e);
        *err = "no target machine for this host";
        return NULL;
    }
    return e;
}

jit_enter_fn llvm_engine_enter(const struct llvm_engine *e)
{
    return e ? e->enter : NULL;
}

void llvm_engine_destroy(struct llvm_engine *e)
{
    if (!e)
        return;
    if (e->enter_rt)
        LLVMOrcReleaseResourceTracker(e->enter_rt);
    if (e->jit)
        failed(e, LLVMOrcDisposeLLJIT(e->jit), "dispose LLJIT");
    for (unsigned i = 0; i < LLVM_OPT_COUNT; i++)
        if (e->tm[i])
            LLVMDisposeTargetMachine(e->tm[i]);
    if (e->cx)
        LLVMContextDispose(e->cx);
    free(e->triple);
    free(e);
}

static void fn_name(char *out, size_t len, uint64_t unit, unsigned i)
{
    snprintf(out, len, "anyhv_u%llu_b%u", (unsigned long long)unit, i);
}

/* Build the module; false when it is unusable (every fns[i] stays NULL). */
static LLVMModuleRef build_module(struct llvm_engine *e, uint64_t unit, const struct em_func *const *funcs,
                                  unsigned n, enum llvm_opt opt, bool *emitted)
{
    struct em_module m;
    char name[48];
    fn_name(name, sizeof(name), unit, n);
    em_module_init(&m, e->cx, name);
    LLVMSetTarget(m.mod, e->triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(e->tm[opt]);
    LLVMSetModuleDataLayout(m.mod, td);
    LLVMDisposeTargetData(td);
    for (unsigned i = 0; i < n; i++) {
        fn_name(name, sizeof(name), unit, i);
        emitted[i] = em_emit_func(&m, funcs[i], name);
        if (e->debug && emitted[i]) {
            LLVMValueRef f = LLVMGetNamedFunction(m.mod, name);
            unsigned bbs = 0, insns = 0;
            for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb), bbs++)
                for (LLVMValueRef x = LLVMGetFirstInstruction(bb); x; x = LLVMGetNextInstruction(x))
                    insns++;
            fprintf(stderr, "anyhv jit: %s: %u members, pc 0x%llx, %u blocks, %u instructions\n", name,
                    funcs[i]->n, (unsigned long long)funcs[i]->member[0].info.pc, bbs, insns);
        }
        if (!emitted[i]) {
            LLVMValueRef f = LLVMGetNamedFunction(m.mod, name);
            if (f)
                LLVMDeleteFunction(f);
        }
    }
    em_module_dispose_builder(&m);
    char *msg = NULL;
    if (LLVMVerifyModule(m.mod, LLVMReturnStatusAction, &msg)) {
        if (e->debug)
            fprintf(stderr, "anyhv jit: module does not verify: %s\n", msg);
        LLVMDisposeMessage(msg);
        LLVMDisposeModule(m.mod);
        return NULL;
    }
    LLVMDisposeMessage(msg);
    const char *pipe = pipeline[opt];
    /* Experiment knobs: another pipeline for each level. */
    if (opt == LLVM_OPT_HOT && getenv("ANYHV_JIT_PIPELINE"))
        pipe = getenv("ANYHV_JIT_PIPELINE");
    if (opt == LLVM_OPT_WARM && getenv("ANYHV_JIT_WARM_PIPELINE"))
        pipe = getenv("ANYHV_JIT_WARM_PIPELINE");
    if (pipe) {
        LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
        LLVMErrorRef err = LLVMRunPasses(m.mod, pipe, e->tm[opt], po);
        LLVMDisposePassBuilderOptions(po);
        if (failed(e, err, "passes")) {
            LLVMDisposeModule(m.mod);
            return NULL;
        }
    }
    /* ANYHV_JIT_DUMP=DIR: each module as optimised, DIR/anyhv_uN.ll (for reading). */
    const char *dump = getenv("ANYHV_JIT_DUMP");
    if (dump && *dump) {
        char path[512];
        snprintf(path, sizeof(path), "%s/anyhv_u%llu.ll", dump, (unsigned long long)unit);
        char *err = NULL;
        if (LLVMPrintModuleToFile(m.mod, path, &err) && e->debug)
            fprintf(stderr, "anyhv jit: cannot dump %s: %s\n", path, err ? err : "?");
        LLVMDisposeMessage(err);
    }
    return m.mod;
}

struct llvm_unit *llvm_compile(struct llvm_engine *e, const struct em_func *const *funcs, unsigned n,
                               enum llvm_opt opt, jit_fn *fns, size_t *code_bytes)
{
    uint64_t unit = e->next_unit++;
    bool emitted[n ? n : 1];
    memset(fns, 0, n * sizeof(*fns));
    *code_bytes = 0;
    uint64_t t[4] = { e->debug ? jit_thread_cpu_ns() : 0 }, wall0 = e->debug ? jit_wall_ns() : 0;
    LLVMModuleRef mod = build_module(e, unit, funcs, n, opt, emitted);
    if (!mod)
        return NULL;
    if (e->debug)
        t[1] = jit_thread_cpu_ns();
    LLVMMemoryBufferRef obj = NULL;
    char *msg = NULL;
    bool bad = LLVMTargetMachineEmitToMemoryBuffer(e->tm[opt], mod, LLVMObjectFile, &msg, &obj);
    LLVMDisposeModule(mod);
    if (bad) {
        if (e->debug)
            fprintf(stderr, "anyhv jit: codegen: %s\n", msg);
        LLVMDisposeMessage(msg);
        return NULL;
    }
    *code_bytes = LLVMGetBufferSize(obj);
    if (e->debug)
        t[2] = jit_thread_cpu_ns();
    struct llvm_unit *u = calloc(1, sizeof(*u));
    if (!u) {
        LLVMDisposeMemoryBuffer(obj);
        return NULL;
    }
    u->rt = LLVMOrcJITDylibCreateResourceTracker(e->jd);
    if (failed(e, LLVMOrcLLJITAddObjectFileWithRT(e->jit, u->rt, obj), "add object")) {
        LLVMOrcReleaseResourceTracker(u->rt);
        free(u);
        return NULL;
    }
    unsigned got = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!emitted[i])
            continue;
        char name[48];
        LLVMOrcExecutorAddress addr = 0;
        fn_name(name, sizeof(name), unit, i);
        if (!failed(e, LLVMOrcLLJITLookup(e->jit, &addr, name), "lookup") && addr) {
            fns[i] = (jit_fn)(uintptr_t)addr;
            got++;
        }
    }
    if (e->debug) {
        t[3] = jit_thread_cpu_ns();
        fprintf(stderr,
                "anyhv jit: unit %llu of %u %s function(s): %.2f ms (IR %.2f, codegen %.2f, link and lookup %.2f; "
                "wall %.2f), %zu bytes\n",
                (unsigned long long)unit, n, opt == LLVM_OPT_HOT ? "hot" : "warm", (t[3] - t[0]) / 1e6,
                (t[1] - t[0]) / 1e6, (t[2] - t[1]) / 1e6, (t[3] - t[2]) / 1e6, (jit_wall_ns() - wall0) / 1e6,
                *code_bytes);
    }
    if (!got) {
        llvm_unit_free(e, u);
        return NULL;
    }
    return u;
}

void llvm_unit_free(struct llvm_engine *e, struct llvm_unit *u)
{
    if (!u)
        return;
    failed(e, LLVMOrcResourceTrackerRemove(u->rt), "free unit");
    LLVMOrcReleaseResourceTracker(u->rt);
    free(u);
}
