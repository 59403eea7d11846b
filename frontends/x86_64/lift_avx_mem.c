/* lift_avx_mem.c - the AVX/AVX2 memory forms with per-element masks: VMASKMOVPS/PD,
 * VPMASKMOVD/Q (loads and stores) and the gathers VPGATHERDD/DQ/QD/QQ,
 * VGATHERDPS/DPD/QPS/QPD; also the VEX forms of MASKMOVDQU and PCMPxSTRx, which
 * reuse the SSE lifters. Elements go one at a time through the soft MMU in a state
 * helper, so only the selected elements can fault. A gather writes each element and
 * clears its mask bit as it goes, so after a fault the instruction restarts where
 * it stopped (the SDM's rule); at the end the mask register is zero. Masked loads
 * zero the unselected elements; masked stores leave their memory alone (a fault part
 * way may follow stores of lower elements; the restarted instruction stores them
 * again). Gathers with the destination, index and mask not all different are #UD. */
#include <string.h>

#include "frontends/x86_64/x86_avx.h"

enum am_kind { AM_GATHER, AM_MASK_LOAD, AM_MASK_STORE };
/* how: kind | element log2 << 4 | index log2 << 6 | scale log2 << 8 | elements << 12
 * | destination << 16 | index register << 20 | mask register << 24 | segment << 28
 * | upper lane / wide << 31 | 32-bit addresses << 32 */
#define AM_ELEM_SHIFT 4
#define AM_INDEX_SHIFT 6
#define AM_SCALE_SHIFT 8
#define AM_COUNT_SHIFT 12
#define AM_DST_SHIFT 16
#define AM_IDX_SHIFT 20
#define AM_MASK_SHIFT 24
#define AM_SEG_SHIFT 28
#define AM_UPPER (1ull << 31)
#define AM_ADDR32 (1ull << 32)

static uint8_t *vec_bytes(struct x86_state *st, unsigned reg, unsigned byte)
{
    return byte < 16 ? &st->fpu.xmm[reg].b[byte] : &st->fpu.ymm_hi[reg].b[byte - 16];
}

static uint64_t get_elem(struct x86_state *st, unsigned reg, unsigned i, unsigned size)
{
    uint64_t v = 0;
    memcpy(&v, vec_bytes(st, reg, i * size), size);
    return v;
}

static void set_elem(struct x86_state *st, unsigned reg, unsigned i, unsigned size, uint64_t v)
{
    memcpy(vec_bytes(st, reg, i * size), &v, size);
}

static void gather(struct soft_cpu *cpu, uint64_t base, uint64_t how)
{
    struct x86_state *st = x86_st(cpu);
    unsigned es = 1u << ((how >> AM_ELEM_SHIFT) & 3), is = 1u << ((how >> AM_INDEX_SHIFT) & 3);
    unsigned scale = 1u << ((how >> AM_SCALE_SHIFT) & 3), n = (how >> AM_COUNT_SHIFT) & 0xf;
    unsigned dst = (how >> AM_DST_SHIFT) & 0xf, idx = (how >> AM_IDX_SHIFT) & 0xf, msk = (how >> AM_MASK_SHIFT) & 0xf;
    unsigned seg = (how >> AM_SEG_SHIFT) & 7;
    bool wide = (how & AM_UPPER) != 0;
    for (unsigned i = 0; i < n; i++) {
        if (!(get_elem(st, msk, i, es) >> (8 * es - 1)))
            continue;
        uint64_t ix = get_elem(st, idx, i, is);
        int64_t off = is == 4 ? (int64_t)(int32_t)ix : (int64_t)ix;
        uint64_t va = base + (uint64_t)off * scale;
        if (how & AM_ADDR32)
            va = (uint32_t)va;
        uint64_t v = mmu_read(cpu, va, es, MMU_READ, seg);
        set_elem(st, dst, i, es, v);
        set_elem(st, msk, i, es, 0);
    }
    unsigned bytes = wide ? 32 : 16;
    for (unsigned b = n * es; b < bytes; b++)   /* elements past the count */
        *vec_bytes(st, dst, b) = 0;
    for (unsigned b = wide ? 32 : 16; b < 32; b++)   /* VEX.128: bits 255:128 */
        *vec_bytes(st, dst, b) = 0;
    for (unsigned b = 0; b < 32; b++)
        *vec_bytes(st, msk, b) = 0;
}

static ir_u128 h_avx_mem(void *vcpu, ir_u128 a, ir_u128 mask, ir_u128 howv)
{
    struct soft_cpu *cpu = vcpu;
    uint64_t how = (uint64_t)howv, addr = (uint64_t)a;
    unsigned kind = how & 0xf, es = 1u << ((how >> AM_ELEM_SHIFT) & 3), seg = (how >> AM_SEG_SHIFT) & 7;
    if (kind == AM_GATHER) {
        gather(cpu, addr, how);
        return 0;
    }
    x86_lanes m, r;
    m.v = mask;
    memset(&r, 0, sizeof(r));
    if (kind == AM_MASK_LOAD) {
        for (unsigned i = 0; i < 16 / es; i++)
            if (m.b[(i + 1) * es - 1] >> 7) {
                uint64_t v = mmu_read(cpu, addr + i * es, es, MMU_READ, seg);
                memcpy(&r.b[i * es], &v, es);
            }
        return r.v;
    }
    struct x86_state *st = x86_st(cpu);
    unsigned src = (how >> AM_DST_SHIFT) & 0xf;
    const uint8_t *data = (how & AM_UPPER) ? st->fpu.ymm_hi[src].b : st->fpu.xmm[src].b;
    for (unsigned i = 0; i < 16 / es; i++)
        if (m.b[(i + 1) * es - 1] >> 7) {
            uint64_t v = 0;
            memcpy(&v, data + i * es, es);
            mmu_write(cpu, addr + i * es, v, es, MMU_WRITE, seg);
        }
    return 0;
}

const struct ir_helper x86_avx_mem_helper = {
    "x86_avx_mem", h_avx_mem, IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_FAULT | IR_HELPER_MEM,
};

static ir_val mem_call(struct x86_ctx *c, ir_val addr, ir_val mask, uint64_t how)
{
    return x86_call(c, IR_I128, x86_helper[X86_H_AVX_MEM], x86_resize(c, addr, 16, false),
                    mask == IR_NONE ? x86_zero128(c) : mask, ir_const(c->b, IR_I128, how));
}

static unsigned log2_of(unsigned v)
{
    return v == 8 ? 3 : v == 4 ? 2 : v == 2 ? 1 : 0;
}

/* VMASKMOVPS/PD, VPMASKMOVD/Q: load "v1, v2 (mask), m" or store "m, v1 (mask), v2". */
bool lift_avx_maskmov(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    const struct x86_dinsn *in = c->in;
    unsigned op = in->op;
    unsigned es = op == X86_I_VMASKMOVPD || op == X86_I_VPMASKMOVQ ? 8 : 4;
    bool wide = x86_avx_wide(in), store = in->o[0].kind == X86_OPND_MEM;
    const struct x86_operand *m = &in->o[store ? 0 : 2];
    if (m->kind != X86_OPND_MEM)
        return false;
    ir_val addr = x86_operand_addr(c, m);
    ir_val addr_hi = ir_binop(c->b, IR_ADD, addr, ir_const(c->b, IR_I64, 16));
    uint64_t how = (uint64_t)log2_of(es) << AM_ELEM_SHIFT | (uint64_t)m->mem.seg << AM_SEG_SHIFT;
    struct x86_y mask = x86_avx_read(c, 1, wide);
    if (store) {
        how |= AM_MASK_STORE | (uint64_t)in->o[2].reg.num << AM_DST_SHIFT;
        mem_call(c, addr, mask.lo, how);
        if (wide)
            mem_call(c, addr_hi, mask.hi, how | AM_UPPER);
        return true;
    }
    ir_val lo = mem_call(c, addr, mask.lo, how | AM_MASK_LOAD);
    ir_val hi = wide ? mem_call(c, addr_hi, mask.hi, how | AM_MASK_LOAD) : IR_NONE;
    x86_avx_write(c, &in->o[0], lo, hi);
    return true;
}

/* Gathers: operands dst, vm (VSIB), mask. */
bool lift_avx_gather(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    const struct x86_dinsn *in = c->in;
    const struct x86_operand *d = &in->o[0], *m = &in->o[1], *k = &in->o[2];
    if (m->kind != X86_OPND_MEM || !x86_is_vreg(d) || !x86_is_vreg(k) ||
        (m->mem.index.cls != X86_RC_XMM && m->mem.index.cls != X86_RC_YMM))
        return false;
    unsigned di = d->reg.num, ii = m->mem.index.num, ki = k->reg.num;
    if (di == ii || di == ki || ii == ki) {
        x86_raise(c, X86_V_UD, X86_NO_ERR);
        return true;
    }
    unsigned op = in->op;
    bool qindex = op == X86_I_VPGATHERQD || op == X86_I_VPGATHERQQ || op == X86_I_VGATHERQPS || op == X86_I_VGATHERQPD;
    unsigned es = m->size == 8 ? 8 : 4, is = qindex ? 8 : 4;
    unsigned index_bytes = m->mem.index.cls == X86_RC_YMM ? 32 : 16;
    unsigned n = index_bytes / is;
    if (n > (unsigned)(d->size ? d->size : 16) / es)
        n = (d->size ? d->size : 16) / es;
    uint64_t how = AM_GATHER | (uint64_t)log2_of(es) << AM_ELEM_SHIFT | (uint64_t)log2_of(is) << AM_INDEX_SHIFT |
                   (uint64_t)log2_of(m->mem.scale ? m->mem.scale : 1) << AM_SCALE_SHIFT |
                   (uint64_t)n << AM_COUNT_SHIFT | (uint64_t)di << AM_DST_SHIFT | (uint64_t)ii << AM_IDX_SHIFT |
                   (uint64_t)ki << AM_MASK_SHIFT | (uint64_t)m->mem.seg << AM_SEG_SHIFT |
                   (d->size == 32 ? AM_UPPER : 0) | (c->in->addr_size == 4 ? AM_ADDR32 : 0);
    mem_call(c, x86_operand_addr(c, m), IR_NONE, how);
    return true;
}

/* VMASKMOVDQU and VPCMPxSTRx: the SSE lifters, with VEX's #UD/#NM. */
bool lift_avx_sse_twin(struct x86_ctx *c)
{
    if (!x86_avx_allowed(c))
        return true;
    static const uint16_t twin[X86_I_COUNT] = {
        [X86_I_VMASKMOVDQU] = X86_I_MASKMOVDQU, [X86_I_VPCMPESTRI] = X86_I_PCMPESTRI,
        [X86_I_VPCMPESTRM] = X86_I_PCMPESTRM, [X86_I_VPCMPISTRI] = X86_I_PCMPISTRI,
        [X86_I_VPCMPISTRM] = X86_I_PCMPISTRM,
    };
    struct x86_dinsn as_sse = *c->in;
    const struct x86_dinsn *orig = c->in;
    as_sse.op = twin[orig->op];
    c->in = &as_sse;
    bool ok = as_sse.op == X86_I_MASKMOVDQU ? lift_maskmovdqu(c) : lift_pcmpstr(c);
    c->in = orig;
    bool mask_out = as_sse.op == X86_I_PCMPESTRM || as_sse.op == X86_I_PCMPISTRM;
    if (ok && !c->end && mask_out)   /* VEX.128 writes XMM0: its bits 255:128 are zeroed */
        ir_set(c->b, X86_OFF_YMMH(0), x86_zero128(c));
    return ok;
}
