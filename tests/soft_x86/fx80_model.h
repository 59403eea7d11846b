/* fx80_model.h - runs one fx80 operation the way host_run() runs the instruction and
 * says which parts of the captured state to compare, so the differential test can
 * check value, exception flags and condition codes bit for bit. */
#ifndef ANYHV_TESTS_SOFT_X86_FX80_MODEL_H
#define ANYHV_TESTS_SOFT_X86_FX80_MODEL_H

#include <stdbool.h>
#include <string.h>

#include "fx80_host.h"

/* What of a host_res an operation defines. */
enum {
    CMP_ST0 = 1u << 0,
    CMP_ST1 = 1u << 1,
    CMP_C1 = 1u << 2,
    CMP_CC = 1u << 3,   /* C0, C2, C3 */
};

struct model_out {
    struct host_res res;
    unsigned cmp;        /* CMP_* */
    unsigned mem_bytes;  /* bytes of mem to compare */
};

static inline uint16_t cc_bits(bool c0, bool c1, bool c2, bool c3)
{
    return (uint16_t)((c0 ? FSW_C0 : 0) | (c1 ? FSW_C1 : 0) | (c2 ? FSW_C2 : 0) | (c3 ? FSW_C3 : 0));
}

static inline void model_finish(struct model_out *o, const struct fx80_env *env)
{
    o->res.sw = (uint16_t)(o->res.sw | env->flags | (env->round_up ? FSW_C1 : 0));
}

/* Two-operand and one-operand register operations: ST(0) = a op b. */
static inline bool model_reg(enum host_op op, struct fx80_env *env, fx80 a, fx80 b, struct model_out *o)
{
    fx80 r;
    switch (op) {
    case HOST_ADD: r = fx80_add(a, b, env); break;
    case HOST_SUB: r = fx80_sub(a, b, env); break;
    case HOST_MUL: r = fx80_mul(a, b, env); break;
    case HOST_DIV: r = fx80_div(a, b, env); break;
    case HOST_SQRT: r = fx80_sqrt(a, env); break;
    case HOST_RNDINT: r = fx80_round_int(a, env); break;
    case HOST_SCALE: r = fx80_scale(a, b, env); break;
    default: return false;
    }
    o->res.st0 = env->no_result ? a : r;
    o->res.st1 = b;
    o->cmp = CMP_ST0 | CMP_ST1 | CMP_C1;
    return true;
}

static inline bool model_special(enum host_op op, struct fx80_env *env, fx80 a, fx80 b,
                                 struct model_out *o)
{
    unsigned q;
    bool partial;
    o->res.st1 = b;
    switch (op) {
    case HOST_PREM:
    case HOST_PREM1: {
        fx80 r = fx80_rem(a, b, op == HOST_PREM1, &q, &partial, env);
        o->res.st0 = env->no_result ? a : r;
        o->res.sw = cc_bits(q & 4, q & 1, partial, q & 2);
        env->round_up = false;
        o->cmp = CMP_ST0 | CMP_ST1 | CMP_C1 | CMP_CC;
        return true;
    }
    case HOST_XTRACT: {
        fx80 e, s;
        fx80_xtract(a, &e, &s, env);
        o->res.st0 = env->no_result ? a : s;
        o->res.st1 = env->no_result ? b : e;
        o->cmp = CMP_ST0 | CMP_ST1 | CMP_C1;
        return true;
    }
    case HOST_COM:
    case HOST_UCOM: {
        enum fx80_cmp c = fx80_compare(a, b, op == HOST_UCOM, env);
        o->res.st0 = a;
        o->res.sw = cc_bits(c == FX80_LT || c == FX80_UNORDERED, false, c == FX80_UNORDERED,
                            c == FX80_EQ || c == FX80_UNORDERED);
        o->cmp = CMP_ST0 | CMP_ST1 | CMP_C1 | CMP_CC;
        return true;
    }
    case HOST_XAM: {   /* class bits: C0 = bit 0, C2 = bit 1, C3 = bit 2; C1 = sign */
        enum fx80_class c = fx80_classify(a);
        o->res.st0 = a;
        o->res.sw = cc_bits(c & 1, (a.se & FX80_SIGN) != 0, c & 2, c & 4);
        o->cmp = CMP_ST0 | CMP_ST1 | CMP_C1 | CMP_CC;
        return true;
    }
    default: return false;
    }
}

/* Stores to memory: ST(0) = a. Unmasked responses leave the memory untouched. */
static inline bool model_store(enum host_op op, struct fx80_env *env, fx80 a, struct model_out *o)
{
    uint8_t buf[16];
    unsigned n;
    switch (op) {
    case HOST_FST32: { uint32_t v = fx80_to_f32(a, env); memcpy(buf, &v, n = 4); break; }
    case HOST_FST64: { uint64_t v = fx80_to_f64(a, env); memcpy(buf, &v, n = 8); break; }
    case HOST_FIST16: case HOST_FISTTP16: {
        int16_t v = (int16_t)fx80_to_int(a, 16, op == HOST_FISTTP16, env);
        memcpy(buf, &v, n = 2);
        break;
    }
    case HOST_FIST32: case HOST_FISTTP32: {
        int32_t v = (int32_t)fx80_to_int(a, 32, op == HOST_FISTTP32, env);
        memcpy(buf, &v, n = 4);
        break;
    }
    case HOST_FIST64: case HOST_FISTTP64: {
        int64_t v = fx80_to_int(a, 64, op == HOST_FISTTP64, env);
        memcpy(buf, &v, n = 8);
        break;
    }
    case HOST_FBSTP: fx80_to_bcd(a, buf, env); n = 10; break;
    default: return false;
    }
    if (!env->no_result)
        memcpy(o->res.mem, buf, n);
    o->mem_bytes = n;
    o->cmp = CMP_C1;
    return true;
}

/* Loads from memory (pushed on top of a and b). */
static inline bool model_load(enum host_op op, struct fx80_env *env, struct model_out *o)
{
    uint32_t v32;
    uint64_t v64;
    memcpy(&v32, o->res.mem, 4);
    memcpy(&v64, o->res.mem, 8);
    switch (op) {
    case HOST_FLD32: o->res.st0 = fx80_from_f32(v32, env); break;
    case HOST_FLD64: o->res.st0 = fx80_from_f64(v64, env); break;
    case HOST_FBLD: o->res.st0 = fx80_from_bcd(o->res.mem, env); break;
    default: return false;
    }
    o->cmp = env->no_result ? CMP_C1 : CMP_ST0 | CMP_C1;
    return true;
}

static const enum fx80_const MODEL_CONSTS[] = {
    [HOST_LD1 - HOST_LD1] = FX80_ONE, [HOST_LDL2T - HOST_LD1] = FX80_L2T,
    [HOST_LDL2E - HOST_LD1] = FX80_L2E, [HOST_LDPI - HOST_LD1] = FX80_PI,
    [HOST_LDLG2 - HOST_LD1] = FX80_LG2, [HOST_LDLN2 - HOST_LD1] = FX80_LN2,
    [HOST_LDZ - HOST_LD1] = FX80_ZERO,
};

/* The model's view of one case; false when the model has no such operation. */
static inline bool model_run(enum host_op op, struct fx80_env *env, fx80 a, fx80 b, struct model_out *o)
{
    o->res.sw = 0;
    o->cmp = 0;
    o->mem_bytes = 0;
    bool ok = model_reg(op, env, a, b, o) || model_special(op, env, a, b, o) ||
              model_store(op, env, a, o) || model_load(op, env, o);
    if (!ok && op >= HOST_LD1 && op <= HOST_LDZ) {
        o->res.st0 = fx80_constant(MODEL_CONSTS[op - HOST_LD1], env);
        o->cmp = CMP_ST0 | CMP_C1;
        ok = true;
    }
    if (ok)
        model_finish(o, env);
    return ok;
}

#endif
