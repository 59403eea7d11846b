/* x87_env.c - the FNSTENV/FLDENV environment image in its four layouts: 14 bytes
 * (16-bit operand size) or 28 bytes (32-bit), each in a real-mode form (linear
 * 20/32-bit instruction and data pointers with the opcode beside them; also
 * virtual-8086 mode) and a protected-mode form (offsets and selectors). FNSAVE and
 * FRSTOR put the eight registers after it. */
#include <string.h>

#include "frontends/x86_64/x87.h"

#define ENV16_SIZE 14u
#define ENV32_SIZE 28u
#define RESERVED_ONES 0xffffu        /* upper halves of the 32-bit image's 16-bit fields */
#define FOP_MASK 0x7ffu
#define REAL_HI_SHIFT 12u            /* pointer bits 31:16 (19:16) sit at bits 12.. of their word */
#define REAL16_HI_MASK 0xfu

unsigned x87_env_size(bool opsize16)
{
    return opsize16 ? ENV16_SIZE : ENV32_SIZE;
}

static bool real_layout(const struct x86_state *st)
{
    return !(st->cr0 & X86_CR0_PE) || (st->rflags & X86_FLAG_VM);
}

static void put16(uint8_t *p, unsigned off, uint32_t v)
{
    uint16_t x = (uint16_t)v;
    memcpy(p + off, &x, 2);
}

static void put32(uint8_t *p, unsigned off, uint32_t v)
{
    memcpy(p + off, &v, 4);
}

static uint32_t get16(const uint8_t *p, unsigned off)
{
    uint16_t x;
    memcpy(&x, p + off, 2);
    return x;
}

static uint32_t get32(const uint8_t *p, unsigned off)
{
    uint32_t x;
    memcpy(&x, p + off, 4);
    return x;
}

/* Linear instruction/data pointers of the real-mode layout. */
static uint32_t real_ptr(uint64_t off, uint16_t sel)
{
    return (uint32_t)(off + ((uint32_t)sel << 4));
}

void x87_env_store(const struct x86_state *st, bool opsize16, uint8_t *out)
{
    const struct x86_fpu *f = &st->fpu;
    uint16_t tw = x87_full_tag_word(f);
    bool real = real_layout(st);
    uint32_t ip = real ? real_ptr(f->fip, st->fpu_fcs) : (uint32_t)f->fip;
    uint32_t dp = real ? real_ptr(f->fdp, st->fpu_fds) : (uint32_t)f->fdp;
    if (opsize16) {
        put16(out, 0, f->fcw);
        put16(out, 2, f->fsw);
        put16(out, 4, tw);
        put16(out, 6, ip);
        put16(out, 8, real ? ((f->fop & FOP_MASK) | (((ip >> 16) & REAL16_HI_MASK) << REAL_HI_SHIFT)) : st->fpu_fcs);
        put16(out, 10, dp);
        put16(out, 12, real ? (((dp >> 16) & REAL16_HI_MASK) << REAL_HI_SHIFT) : st->fpu_fds);
        return;
    }
    put32(out, 0, f->fcw | (RESERVED_ONES << 16));
    put32(out, 4, f->fsw | (RESERVED_ONES << 16));
    put32(out, 8, tw | (RESERVED_ONES << 16));
    if (real) {
        put32(out, 12, (ip & 0xffffu) | (RESERVED_ONES << 16));
        put32(out, 16, (f->fop & FOP_MASK) | ((ip >> 16) << REAL_HI_SHIFT));
        put32(out, 20, (dp & 0xffffu) | (RESERVED_ONES << 16));
        put32(out, 24, (dp >> 16) << REAL_HI_SHIFT);
    } else {
        put32(out, 12, ip);
        put32(out, 16, st->fpu_fcs | ((uint32_t)(f->fop & FOP_MASK) << 16));
        put32(out, 20, dp);
        put32(out, 24, st->fpu_fds | (RESERVED_ONES << 16));
    }
}

void x87_env_load(struct x86_state *st, bool opsize16, const uint8_t *in)
{
    struct x86_fpu *f = &st->fpu;
    bool real = real_layout(st);
    f->fcw = (uint16_t)((get16(in, 0) & X87_FCW_WRITABLE) | X87_FCW_RESERVED1);
    uint16_t fsw = (uint16_t)get16(in, opsize16 ? 2 : 4);
    x87_set_top(f, (fsw & X87_FSW_TOP) >> X87_FSW_TOP_SHIFT);   /* registers stay physical */
    f->fsw = fsw;
    x87_load_full_tag_word(f, (uint16_t)get16(in, opsize16 ? 4 : 8));
    if (opsize16) {
        uint32_t w8 = get16(in, 8), w12 = get16(in, 12);
        f->fip = get16(in, 6) | (real ? (w8 >> REAL_HI_SHIFT) << 16 : 0);
        f->fdp = get16(in, 10) | (real ? (w12 >> REAL_HI_SHIFT) << 16 : 0);
        f->fop = (uint16_t)(real ? (w8 & FOP_MASK) : f->fop);
        st->fpu_fcs = (uint16_t)(real ? 0 : w8);
        st->fpu_fds = (uint16_t)(real ? 0 : w12);
    } else if (real) {
        uint32_t w16 = get32(in, 16), w24 = get32(in, 24);
        f->fip = (get32(in, 12) & 0xffffu) | ((w16 >> REAL_HI_SHIFT) << 16);
        f->fdp = (get32(in, 20) & 0xffffu) | ((w24 >> REAL_HI_SHIFT) << 16);
        f->fop = (uint16_t)(w16 & FOP_MASK);
        st->fpu_fcs = st->fpu_fds = 0;
    } else {
        uint32_t w16 = get32(in, 16);
        f->fip = get32(in, 12);
        st->fpu_fcs = (uint16_t)w16;
        f->fop = (uint16_t)((w16 >> 16) & FOP_MASK);
        f->fdp = get32(in, 20);
        st->fpu_fds = (uint16_t)get32(in, 24);
    }
    x87_update_summary(f);
}
