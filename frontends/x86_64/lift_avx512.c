/* lift_avx512.c - AVX-512 and opmask instructions (x86_evex.h) into IR: the memory
 * operand's linear address (with the segment check outside 64-bit mode over the
 * whole vector), then one call of the AVX-512 state helper (avx512_exec.c) with the
 * decoded form packed into a word. The instruction is decoded again from its bytes
 * (decode_evex.c is deterministic), so struct x86_dinsn carries no EVEX fields.
 * Also the VEX rule a processor with AVX-512 adds: a VEX instruction writing an
 * XMM/YMM register zeroes its bits 511:256 (x86_avx512_vex_upper). */
#include "frontends/x86_64/x86_evex.h"

#include "core/x86_cpuid.h"

#define ZMM_HI_OFF(n) \
    ((uint32_t)(offsetof(struct x86_state, zmm) + offsetof(struct x86_zmm, zmm_hi256) + 32u * (n)))

uint64_t x86_evex_pack(const struct x86_evex *ev, unsigned seg, bool addr32, bool long_mode)
{
    return (uint64_t)ev->row << EVX_ROW_SHIFT | (uint64_t)ev->reg << EVX_REG_SHIFT |
           (uint64_t)ev->vvvv << EVX_VVVV_SHIFT | (uint64_t)ev->rm << EVX_RM_SHIFT | (uint64_t)ev->ll << EVX_LL_SHIFT |
           (uint64_t)ev->b << EVX_B_SHIFT | (uint64_t)ev->z << EVX_Z_SHIFT | (uint64_t)ev->aaa << EVX_AAA_SHIFT |
           (uint64_t)ev->mem << EVX_MEM_SHIFT | (uint64_t)ev->w << EVX_W_SHIFT | (uint64_t)ev->imm << EVX_IMM_SHIFT |
           (uint64_t)(seg & 7) << EVX_SEG_SHIFT | (uint64_t)addr32 << EVX_ADDR32_SHIFT |
           (uint64_t)long_mode << EVX_LONG_SHIFT;
}

bool lift_evex(struct x86_ctx *c)
{
    struct x86_dinsn again;
    struct x86_evex ev;
    if (x86_decode_evex(c->code, c->in->bytes, c->in->len, &again, &ev) != 1)
        return false;
    const struct x86_operand *m = &c->in->o[0];
    ir_val addr = ir_const(c->b, IR_I64, 0);
    unsigned seg = X86_DS;
    if (ev.mem) {
        const struct evex_row *row = &x86_evex_rows[ev.row];
        bool write = row->kind == EK_MOV_STORE || row->kind == KK_MOV_STORE;
        addr = x86_operand_addr(c, m);
        x86_seg_guard(c, addr, m->size ? m->size : 16, write);
        seg = m->mem.seg;
    }
    uint64_t how = x86_evex_pack(&ev, seg, c->in->addr_size == 4, c->code == X86_CODE64);
    x86_call(c, IR_I64, x86_helper[X86_H_EVEX], addr, ir_const(c->b, IR_I64, how), ir_const(c->b, IR_I64, 0));
    return true;
}

void x86_avx512_vex_upper(struct x86_ctx *c)
{
    const struct x86_dinsn *in = c->in;
    if (!x86_cpuid_avx512() || c->end || !in->vex || in->op == X86_I_EVEX)
        return;
    ir_val z = ir_const(c->b, IR_I128, 0);
    if (in->op == X86_I_VZEROUPPER || in->op == X86_I_VZEROALL) {
        for (unsigned i = 0; i < (c->code == X86_CODE64 ? 16u : 8u); i++) {
            ir_set(c->b, ZMM_HI_OFF(i), z);
            ir_set(c->b, ZMM_HI_OFF(i) + 16u, z);
        }
        return;
    }
    /* Instructions whose first operand is a source, not a destination. */
    switch (in->op) {
    case X86_I_VPTEST: case X86_I_VTESTPS: case X86_I_VTESTPD: case X86_I_VCOMISS: case X86_I_VCOMISD:
    case X86_I_VUCOMISS: case X86_I_VUCOMISD: case X86_I_VPCMPESTRI: case X86_I_VPCMPISTRI:
        return;
    default:
        break;
    }
    unsigned reg = in->op == X86_I_VPCMPESTRM || in->op == X86_I_VPCMPISTRM ? 0u : 32u;
    if (reg && in->nops && in->o[0].kind == X86_OPND_REG &&
        (in->o[0].reg.cls == X86_RC_XMM || in->o[0].reg.cls == X86_RC_YMM))
        reg = in->o[0].reg.num;
    if (reg >= 16)
        return;
    ir_set(c->b, ZMM_HI_OFF(reg), z);
    ir_set(c->b, ZMM_HI_OFF(reg) + 16u, z);
    bool gather = in->op >= X86_I_VPGATHERDD && in->op <= X86_I_VGATHERQPD;
    const struct x86_operand *mask = &in->o[in->nops ? in->nops - 1 : 0];
    if (gather && mask->kind == X86_OPND_REG && mask->reg.num < 16) {   /* the mask register is written too */
        ir_set(c->b, ZMM_HI_OFF(mask->reg.num), z);
        ir_set(c->b, ZMM_HI_OFF(mask->reg.num) + 16u, z);
    }
}
