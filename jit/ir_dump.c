/* ir_dump.c - the stable text form of a block, one instruction a line
 * ("v3:i32 = add v1, v2"). Tests compare these dumps, so the format changes only on
 * purpose; removed (dead) instructions are not printed. */
#include "jit/ir.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>

struct out {
    char *p;
    size_t len, cap;
};

static void put(struct out *o, const char *fmt, ...)
{
    if (o->cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    o->len += (size_t)n;
    if (o->len >= o->cap)
        o->len = o->cap - 1;
}

static void put_name(struct out *o, const char *name)
{
    char low[24];
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof(low); i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    low[i] = 0;
    put(o, "%s", low);
}

static const char *const stop_names[] = {
    [IR_STOP_EXCEPTION] = "exception", [IR_STOP_EXIT] = "exit", [IR_STOP_SYSTEM] = "system",
    [IR_STOP_HALT] = "halt",
};
static const char *const rmw_names[] = {
    [IR_RMW_XCHG] = "xchg", [IR_RMW_ADD] = "add", [IR_RMW_AND] = "and", [IR_RMW_OR] = "or",
    [IR_RMW_XOR] = "xor", [IR_RMW_ANDN] = "andn", [IR_RMW_SMAX] = "smax", [IR_RMW_SMIN] = "smin",
    [IR_RMW_UMAX] = "umax", [IR_RMW_UMIN] = "umin",
};

static void put_args(struct out *o, const struct ir_insn *in, unsigned n, bool comma_first)
{
    for (unsigned k = 0; k < n; k++) {
        if (k || comma_first)
            put(o, ", ");
        if (in->arg[k])
            put(o, "v%u", in->arg[k]);
        else
            put(o, "-");
    }
}

static void put_memflags(struct out *o, const struct ir_insn *in)
{
    static const struct { uint32_t bit; const char *name; } flags[] = {
        { IR_MEM_FETCH, "fetch" }, { IR_MEM_ACQUIRE, "acq" }, { IR_MEM_RELEASE, "rel" },
        { IR_MEM_EXCLUSIVE, "excl" }, { IR_MEM_PRIV_USER, "user" }, { IR_MEM_NO_ISV, "noisv" },
    };
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (in->imm & flags[i].bit)
            put(o, " !%s", flags[i].name);
    if (in->imm2 && in->op != IR_ATOMIC_RMW)
        put(o, " info=0x%llx", (unsigned long long)in->imm2);
}

/* The operator and operands; the "vN:type = " prefix is already out. */
static void put_body(struct out *o, const struct ir_insn *in)
{
    unsigned size = (unsigned)(in->imm & IR_MEM_SIZE_MASK);
    switch (in->op) {
    case IR_CONST:
        if (in->type == IR_I128 && in->imm2)
            put(o, "const 0x%llx%016llx", (unsigned long long)in->imm2, (unsigned long long)in->imm);
        else
            put(o, "const 0x%llx", (unsigned long long)in->imm);
        return;
    case IR_GET: put(o, "get @%llu", (unsigned long long)in->imm); return;
    case IR_SET: put(o, "set @%llu, v%u", (unsigned long long)in->imm, in->arg[0]); return;
    case IR_EXTRACT: put(o, "extract v%u, %llu", in->arg[0], (unsigned long long)in->imm); return;
    case IR_INSERT: put(o, "insert v%u, v%u, %llu", in->arg[0], in->arg[1], (unsigned long long)in->imm); return;
    case IR_LOAD: put(o, "load.%c%u v%u", (in->imm & IR_MEM_SIGNED) ? 's' : 'u', size, in->arg[0]); break;
    case IR_STORE: put(o, "store.%u v%u, v%u", size, in->arg[0], in->arg[1]); break;
    case IR_CMPXCHG: put(o, "cmpxchg.%u v%u, v%u, v%u", size, in->arg[0], in->arg[1], in->arg[2]); break;
    case IR_ATOMIC_RMW:
        put(o, "atomic_rmw.%s.%u v%u, v%u", in->imm2 <= IR_RMW_UMIN ? rmw_names[in->imm2] : "?", size,
            in->arg[0], in->arg[1]);
        break;
    case IR_CALL: {
        const struct ir_helper *h = ir_helper_get((uint32_t)in->imm);
        put(o, "call %s(", h ? h->name : "?");
        unsigned n = in->arg[2] ? 3 : in->arg[1] ? 2 : in->arg[0] ? 1 : 0;
        put_args(o, in, n, false);
        put(o, ")");
        return;
    }
    case IR_INSN_START:
        put(o, "insn_start 0x%llx, %llu", (unsigned long long)in->imm, (unsigned long long)in->imm2);
        return;
    case IR_EXIT_IF: put(o, "exit_if v%u, 0x%llx", in->arg[0], (unsigned long long)in->imm); return;
    case IR_TRAP_IF: put(o, "trap_if v%u, 0x%llx", in->arg[0], (unsigned long long)in->imm); return;
    case IR_JUMP: put(o, "jump 0x%llx", (unsigned long long)in->imm); return;
    case IR_BRANCH:
        put(o, "branch v%u, 0x%llx, 0x%llx", in->arg[0], (unsigned long long)in->imm,
            (unsigned long long)in->imm2);
        return;
    case IR_STOP:
        put(o, "stop %s, 0x%llx", in->imm >= IR_STOP_EXCEPTION && in->imm <= IR_STOP_HALT ? stop_names[in->imm] : "?",
            (unsigned long long)in->imm2);
        return;
    case IR_VSHUF:
        put(o, "vshuf v%u, v%u, 0x%016llx%016llx", in->arg[0], in->arg[1], (unsigned long long)in->imm2,
            (unsigned long long)in->imm);
        return;
    default:
        put_name(o, ir_op_info[in->op].name);
        if (ir_op_is_vector(in->op))
            put(o, ".%llu", (unsigned long long)in->imm);   /* the lane width */
        if (ir_op_info[in->op].nargs) {
            put(o, " ");
            put_args(o, in, ir_op_info[in->op].nargs, false);
        }
        return;
    }
    put_memflags(o, in);
}

size_t ir_dump(const struct ir_block *b, char *out, size_t outlen)
{
    struct out o = { out, 0, outlen };
    if (outlen)
        out[0] = 0;
    for (uint32_t i = 0; i < b->count; i++) {
        const struct ir_insn *in = &b->insns[i];
        if (in->dead)
            continue;
        if (in->op >= IR_OP_COUNT) {
            put(&o, "?op%u\n", in->op);
            continue;
        }
        if (in->type != IR_VOID)
            put(&o, "v%u:i%u = ", i + 1, in->type);
        put_body(&o, in);
        put(&o, "\n");
    }
    return o.len;
}
