/* native_x86.c - run instruction bytes natively as a test oracle (native_x86.h): a
 * small assembly trampoline saves the host's callee-saved registers and FPU state,
 * loads the requested state, jumps to the code (which ends with a jump back to the
 * exit stub) and saves the final state. Faults come back through a signal handler
 * that copies the state at the faulting instruction and resumes the trampoline. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "native_x86.h"

#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#if defined(__x86_64__) && defined(__linux__)

#define CODE_PAGE_SIZE 4096u
#define JMP_ABS_LEN 14u             /* FF 25 00000000 + 8-byte target */
#define STACK_GAP 256u              /* kept between the saved host frame and the code's pushes */
#define DEFAULT_FCW 0x037fu
#define DEFAULT_MXCSR 0x1f80u
#define RFLAGS_FIXED1 0x2u
#define RFLAGS_TF 0x100u

/* Layout known to the assembly below (offsets pinned by the static asserts). */
struct native_ctx {
    uint64_t gpr[16];               /* 0 */
    uint64_t rflags;                /* 128 */
    uint64_t host_rsp;              /* 136 */
    uint64_t code;                  /* 144: where to jump */
    uint64_t pad[13];
    alignas(16) uint8_t fx[NATIVE_X86_FXSAVE_SIZE];       /* 256 */
    alignas(16) uint8_t host_fx[NATIVE_X86_FXSAVE_SIZE];  /* 768 */
};
_Static_assert(offsetof(struct native_ctx, rflags) == 128, "asm offset");
_Static_assert(offsetof(struct native_ctx, host_rsp) == 136, "asm offset");
_Static_assert(offsetof(struct native_ctx, code) == 144, "asm offset");
_Static_assert(offsetof(struct native_ctx, fx) == 256, "asm offset");
_Static_assert(offsetof(struct native_ctx, host_fx) == 768, "asm offset");

/* The context of the run in progress: the exit stub and the signal handler find it
 * here (tests run the oracle from one thread). */
struct native_ctx *native_x86_cur;

int native_x86_enter(struct native_ctx *ctx);
void native_x86_exit(void);
void native_x86_fault_resume(void);

__asm__(".pushsection .text\n"
        ".globl native_x86_enter\n"
        ".type native_x86_enter, @function\n"
        "native_x86_enter:\n"
        "  push %rbx\n  push %rbp\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
        "  pushfq\n"
        "  sub $256, %rsp\n"
        "  mov %rsp, 136(%rdi)\n"
        "  fxsave64 768(%rdi)\n"
        "  fxrstor64 256(%rdi)\n"
        "  pushq 128(%rdi)\n  popfq\n"
        "  mov 0(%rdi), %rax\n  mov 8(%rdi), %rcx\n  mov 16(%rdi), %rdx\n  mov 24(%rdi), %rbx\n"
        "  mov 40(%rdi), %rbp\n  mov 48(%rdi), %rsi\n"
        "  mov 64(%rdi), %r8\n  mov 72(%rdi), %r9\n  mov 80(%rdi), %r10\n  mov 88(%rdi), %r11\n"
        "  mov 96(%rdi), %r12\n  mov 104(%rdi), %r13\n  mov 112(%rdi), %r14\n  mov 120(%rdi), %r15\n"
        "  pushq 144(%rdi)\n"
        "  mov 56(%rdi), %rdi\n"
        "  ret\n"                     /* to the code: RSP is back at host_rsp */
        ".globl native_x86_exit\n"
        "native_x86_exit:\n"
        "  push %rax\n"
        "  mov native_x86_cur(%rip), %rax\n"
        "  popq 0(%rax)\n"
        "  mov %rcx, 8(%rax)\n  mov %rdx, 16(%rax)\n  mov %rbx, 24(%rax)\n"
        "  mov %rbp, 40(%rax)\n  mov %rsi, 48(%rax)\n  mov %rdi, 56(%rax)\n"
        "  mov %r8, 64(%rax)\n  mov %r9, 72(%rax)\n  mov %r10, 80(%rax)\n  mov %r11, 88(%rax)\n"
        "  mov %r12, 96(%rax)\n  mov %r13, 104(%rax)\n  mov %r14, 112(%rax)\n  mov %r15, 120(%rax)\n"
        "  pushfq\n  popq 128(%rax)\n"
        "  fxsave64 256(%rax)\n"
        "  fxrstor64 768(%rax)\n"
        "  mov 136(%rax), %rsp\n"
        "  xor %eax, %eax\n"
        "native_x86_leave:\n"
        "  add $256, %rsp\n"
        "  popfq\n"
        "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbp\n  pop %rbx\n"
        "  ret\n"
        ".globl native_x86_fault_resume\n"
        "native_x86_fault_resume:\n"  /* from the signal handler: RSP = host_rsp */
        "  mov native_x86_cur(%rip), %rax\n"
        "  fxrstor64 768(%rax)\n"
        "  mov $1, %eax\n"
        "  jmp native_x86_leave\n"
        ".popsection\n");

static uint8_t *code_page;
static struct native_x86_result *cur_result;
static uint64_t cur_code_addr;

/* ucontext register order for RAX..R15 (encoding order). */
static const int greg_of[16] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                                 REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15 };

static void on_fault(int sig, siginfo_t *info, void *uctx)
{
    (void)info;
    ucontext_t *uc = uctx;
    struct native_ctx *ctx = native_x86_cur;
    greg_t *g = uc->uc_mcontext.gregs;
    for (int i = 0; i < 16; i++)
        if (i != 4)
            ctx->gpr[i] = (uint64_t)g[greg_of[i]];
    ctx->rflags = (uint64_t)g[REG_EFL];
    if (uc->uc_mcontext.fpregs)
        memcpy(ctx->fx, uc->uc_mcontext.fpregs, NATIVE_X86_FXSAVE_SIZE);
    cur_result->signo = sig;
    cur_result->trapno = (int)g[REG_TRAPNO];
    cur_result->fault_offset = (uint64_t)g[REG_RIP] - cur_code_addr;
    /* Resume in the trampoline, which restores the host FPU and returns. */
    g[REG_RSP] = (greg_t)ctx->host_rsp;
    g[REG_RIP] = (greg_t)(uintptr_t)native_x86_fault_resume;
    g[REG_EFL] &= ~(greg_t)RFLAGS_TF;
}

bool native_x86_available(const char **why)
{
    if (!code_page) {
        void *p = mmap(NULL, CODE_PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            *why = "no writable and executable page for native code";
            return false;
        }
        code_page = p;
    }
    return true;
}

void native_x86_default_fpu(struct native_x86_state *s)
{
    memset(s->fx, 0, sizeof(s->fx));
    uint16_t fcw = DEFAULT_FCW;
    uint32_t mxcsr = DEFAULT_MXCSR;
    memcpy(s->fx + NATIVE_FX_FCW, &fcw, 2);
    memcpy(s->fx + NATIVE_FX_MXCSR, &mxcsr, 4);
}

int native_x86_run(const uint8_t *code, size_t len, struct native_x86_state *s, struct native_x86_result *r)
{
    const char *why;
    if (len > NATIVE_X86_MAX_CODE || !native_x86_available(&why))
        return -1;
    memcpy(code_page, code, len);
    static const uint8_t jmp_abs[6] = { 0xff, 0x25, 0, 0, 0, 0 };
    uint64_t exit_addr = (uint64_t)(uintptr_t)native_x86_exit;
    memcpy(code_page + len, jmp_abs, sizeof(jmp_abs));
    memcpy(code_page + len + sizeof(jmp_abs), &exit_addr, 8);
    __builtin___clear_cache((char *)code_page, (char *)code_page + len + JMP_ABS_LEN);

    static struct native_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    memcpy(ctx.gpr, s->gpr, sizeof(ctx.gpr));
    ctx.rflags = (s->rflags & NATIVE_X86_RFLAGS_MASK) | RFLAGS_FIXED1;
    ctx.code = (uint64_t)(uintptr_t)code_page;
    memcpy(ctx.fx, s->fx, sizeof(ctx.fx));
    /* MXCSR reserved bits would make FXRSTOR fault in the trampoline itself. */
    uint32_t mxcsr;
    memcpy(&mxcsr, ctx.fx + NATIVE_FX_MXCSR, 4);
    mxcsr &= 0xffffu;
    memcpy(ctx.fx + NATIVE_FX_MXCSR, &mxcsr, 4);

    memset(r, 0, sizeof(*r));
    cur_result = r;
    cur_code_addr = ctx.code;
    native_x86_cur = &ctx;
    struct sigaction sa, old[4];
    static const int sigs[4] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL };
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 4; i++)
        sigaction(sigs[i], &sa, &old[i]);
    native_x86_enter(&ctx);
    for (int i = 0; i < 4; i++)
        sigaction(sigs[i], &old[i], NULL);
    native_x86_cur = NULL;

    uint64_t rsp = s->gpr[4];
    memcpy(s->gpr, ctx.gpr, sizeof(s->gpr));
    s->gpr[4] = rsp;
    s->rflags = ctx.rflags & NATIVE_X86_RFLAGS_MASK;
    memcpy(s->fx, ctx.fx, sizeof(s->fx));
    return 0;
}

#else

bool native_x86_available(const char **why)
{
    *why = "the native oracle needs an x86-64 Linux host";
    return false;
}

void native_x86_default_fpu(struct native_x86_state *s)
{
    memset(s->fx, 0, sizeof(s->fx));
}

int native_x86_run(const uint8_t *code, size_t len, struct native_x86_state *s, struct native_x86_result *r)
{
    (void)code;
    (void)len;
    (void)s;
    (void)r;
    return -1;
}

#endif
