/* sys_seg.c - segmentation (SDM vol. 3A ch. 3 and 5): descriptors from the GDT or
 * LDT, loads of data and stack segment registers with their privilege and type
 * checks, and the real-mode / virtual-8086 rule (base = selector * 16). */
#include "frontends/x86_64/x86_fe.h"

#define SEL_TI (1u << 2)
#define SEL_RPL_MASK 3u
#define SEL_INDEX_MASK 0xfff8u
#define DESC_TYPE_CODE 0x8u
#define DESC_TYPE_CONFORMING 0x4u   /* code */
#define DESC_TYPE_READABLE 0x2u     /* code */
#define DESC_TYPE_WRITABLE 0x2u     /* data */
#define DESC_TYPE_ACCESSED 0x1u
#define DESC_ACCESSED_BYTE 5        /* byte of the descriptor holding the type */

static int gp(struct x86_fault *f, unsigned vector, uint16_t sel)
{
    *f = (struct x86_fault){ .vector = vector, .err = sel & ~SEL_RPL_MASK };
    return -1;
}

void x86_seg_from_descriptor(struct x86_segment *s, uint16_t sel, uint64_t lo, uint64_t hi)
{
    uint32_t limit = (uint32_t)((lo & 0xffff) | ((lo >> 32) & 0xf0000));
    uint32_t ar = (uint32_t)(((lo >> 40) & 0xff) | (((lo >> 52) & 0xf) << 12));
    if (ar & X86_AR_G)
        limit = (limit << 12) | 0xfff;
    s->base = ((lo >> 16) & 0xffffff) | (((lo >> 56) & 0xff) << 24);
    if (!(ar & X86_AR_S))
        s->base |= (hi & 0xffffffffull) << 32;   /* 64-bit system descriptors (LDT, TSS) */
    s->limit = limit;
    s->ar = ar;
    s->selector = sel;
}

/* Read n (1 or 2) descriptor quadwords for sel from the GDT or LDT. */
int x86_read_descriptor(struct soft_cpu *cpu, uint16_t sel, uint64_t desc[2], unsigned n, struct x86_fault *f)
{
    const struct x86_state *st = x86_st(cpu);
    uint64_t base;
    uint32_t limit;
    if (sel & SEL_TI) {
        if (st->seg[X86_LDTR].ar & X86_AR_UNUSABLE)
            return gp(f, X86_V_GP, sel);
        base = st->seg[X86_LDTR].base;
        limit = st->seg[X86_LDTR].limit;
    } else {
        base = st->gdtr.base;
        limit = st->gdtr.limit;
    }
    uint32_t off = sel & SEL_INDEX_MASK;
    if ((uint64_t)off + 8 * n - 1 > limit)
        return gp(f, X86_V_GP, sel);
    uint64_t va = base + off;
    if (!(st->msr.efer & X86_EFER_LMA))
        va &= 0xffffffffull;
    return x86_vmem_read(cpu, va, desc, 8 * n, MMU_READ, f);
}

/* Mark the descriptor accessed in memory, as the processor does on a load. */
static void set_accessed(struct soft_cpu *cpu, uint16_t sel, uint64_t lo)
{
    if ((lo >> 40) & DESC_TYPE_ACCESSED)
        return;
    const struct x86_state *st = x86_st(cpu);
    uint64_t base = (sel & SEL_TI) ? st->seg[X86_LDTR].base : st->gdtr.base;
    uint8_t type = (uint8_t)((lo >> 40) | DESC_TYPE_ACCESSED);
    struct x86_fault ignored;
    x86_vmem_write(cpu, base + (sel & SEL_INDEX_MASK) + DESC_ACCESSED_BYTE, &type, 1, 0, &ignored);
}

static bool protected_mode(const struct x86_state *st)
{
    return (st->cr0 & X86_CR0_PE) && !(st->rflags & X86_FLAG_VM);
}

/* Null selector: SS only in 64-bit mode below CPL 3; data segments become unusable. */
static int load_null(struct soft_cpu *cpu, unsigned seg, uint16_t sel, unsigned cpl, struct x86_fault *f)
{
    struct x86_state *st = x86_st(cpu);
    bool long64 = x86_code_size_of(st) == X86_CODE64;
    if (seg == X86_SS && !(long64 && cpl < 3 && (sel & SEL_RPL_MASK) == cpl))
        return gp(f, X86_V_GP, 0);
    struct x86_segment *s = &st->seg[seg];
    s->selector = sel;
    s->ar = X86_AR_UNUSABLE | (seg == X86_SS ? (cpl << X86_AR_DPL_SHIFT) : 0);
    if (!(long64 && (seg == X86_FS || seg == X86_GS)))
        s->base = 0;
    s->limit = 0;
    return 0;
}

static int check_data_seg(unsigned seg, uint16_t sel, uint32_t ar, unsigned cpl, struct x86_fault *f)
{
    unsigned rpl = sel & SEL_RPL_MASK, dpl = (ar & X86_AR_DPL_MASK) >> X86_AR_DPL_SHIFT;
    unsigned type = ar & X86_AR_TYPE_MASK;
    if (!(ar & X86_AR_S))
        return gp(f, X86_V_GP, sel);
    if (seg == X86_SS) {
        if ((type & DESC_TYPE_CODE) || !(type & DESC_TYPE_WRITABLE) || rpl != cpl || dpl != cpl)
            return gp(f, X86_V_GP, sel);
        if (!(ar & X86_AR_P))
            return gp(f, X86_V_SS, sel);
        return 0;
    }
    if ((type & DESC_TYPE_CODE) && !(type & DESC_TYPE_READABLE))
        return gp(f, X86_V_GP, sel);
    bool conforming_code = (type & DESC_TYPE_CODE) && (type & DESC_TYPE_CONFORMING);
    if (!conforming_code && (rpl > dpl || cpl > dpl))
        return gp(f, X86_V_GP, sel);
    if (!(ar & X86_AR_P))
        return gp(f, X86_V_NP, sel);
    return 0;
}

int x86_load_seg(struct soft_cpu *cpu, unsigned seg, uint16_t sel, struct x86_fault *f)
{
    return x86_load_seg_cpl(cpu, seg, sel, x86_cpl(x86_st(cpu)), f);
}

int x86_load_seg_cpl(struct soft_cpu *cpu, unsigned seg, uint16_t sel, unsigned cpl, struct x86_fault *f)
{
    struct x86_state *st = x86_st(cpu);
    struct x86_segment *s = &st->seg[seg];
    if (!protected_mode(st)) {
        s->selector = sel;
        s->base = (uint64_t)sel << 4;
        if (st->rflags & X86_FLAG_VM) {
            s->limit = 0xffff;
            s->ar = X86_AR_P | X86_AR_S | (3u << X86_AR_DPL_SHIFT) | 0x3u;
        } else {
            s->ar &= ~X86_AR_UNUSABLE;
        }
        return 0;
    }
    if ((sel & ~SEL_RPL_MASK) == 0)
        return load_null(cpu, seg, sel, cpl, f);
    uint64_t d[2];
    if (x86_read_descriptor(cpu, sel, d, 1, f) != 0)
        return -1;
    struct x86_segment tmp;
    x86_seg_from_descriptor(&tmp, sel, d[0], 0);
    if (check_data_seg(seg, sel, tmp.ar, cpl, f) != 0)
        return -1;
    set_accessed(cpu, sel, d[0]);
    tmp.ar |= DESC_TYPE_ACCESSED;
    if (x86_code_size_of(st) == X86_CODE64 && (seg == X86_FS || seg == X86_GS))
        tmp.base &= 0xffffffffull;
    *s = tmp;
    return 0;
}
