/* x87_state.c - the x87 register stack as FXSAVE keeps it: ST(i) in fpu.st[i]
 * (so a push or pop rotates the array), TOP in FSW, one abridged tag bit per
 * physical register; the full tag word is computed from the contents when an image
 * needs it. Also the status-word summary bits and the FCW rounding environment. */
#include <string.h>

#include "frontends/x86_64/x87.h"

#define ST_SLOT 16u                  /* bytes per register slot in the FXSAVE layout */
#define ST_BYTES 10u                 /* the 80-bit value in it */
#define NREGS 8u
#define TAG_BITS 2u
#define TAG_MASK 3u

unsigned x87_top(const struct x86_fpu *f)
{
    return (f->fsw & X87_FSW_TOP) >> X87_FSW_TOP_SHIFT;
}

static void set_top(struct x86_fpu *f, unsigned top)
{
    f->fsw = (uint16_t)((f->fsw & ~X87_FSW_TOP) | ((top & 7u) << X87_FSW_TOP_SHIFT));
}

static unsigned phys(const struct x86_fpu *f, unsigned i)
{
    return (x87_top(f) + i) & 7u;
}

bool x87_empty(const struct x86_fpu *f, unsigned i)
{
    return !(f->ftw & (1u << phys(f, i)));
}

fx80 x87_read80(const uint8_t b[10])
{
    fx80 v;
    memcpy(&v.mant, b, 8);
    memcpy(&v.se, b + 8, 2);
    return v;
}

void x87_write80(uint8_t b[10], fx80 v)
{
    memcpy(b, &v.mant, 8);
    memcpy(b + 8, &v.se, 2);
}

fx80 x87_get(const struct x86_fpu *f, unsigned i)
{
    return x87_read80(f->st[i & 7u]);
}

void x87_set(struct x86_fpu *f, unsigned i, fx80 v)
{
    memset(f->st[i & 7u], 0, ST_SLOT);
    x87_write80(f->st[i & 7u], v);
    f->ftw |= (uint8_t)(1u << phys(f, i));
}

/* TOP += by (mod 8); the array follows so st[i] stays ST(i). */
void x87_rotate(struct x86_fpu *f, int by)
{
    uint8_t tmp[NREGS][ST_SLOT];
    unsigned k = (unsigned)by & 7u;
    for (unsigned i = 0; i < NREGS; i++)
        memcpy(tmp[i], f->st[(i + k) & 7u], ST_SLOT);
    memcpy(f->st, tmp, sizeof(tmp));
    set_top(f, x87_top(f) + k);
}

void x87_push(struct x86_fpu *f, fx80 v)
{
    x87_rotate(f, -1);
    x87_set(f, 0, v);
}

void x87_pop(struct x86_fpu *f)
{
    x87_free(f, 0);
    x87_rotate(f, 1);
}

void x87_free(struct x86_fpu *f, unsigned i)
{
    f->ftw &= (uint8_t)~(1u << phys(f, i));
}

/* The tag FNSTENV/FNSAVE report for a physical register, from its contents. */
enum x87_tag x87_tag_of(const struct x86_fpu *f, unsigned p)
{
    if (!(f->ftw & (1u << p)))
        return X87_TAG_EMPTY;
    fx80 v = x87_get(f, (p - x87_top(f)) & 7u);
    unsigned e = v.se & FX80_EXP_MASK;
    if (e == 0 && v.mant == 0)
        return X87_TAG_ZERO;
    if (e == 0 || e == FX80_EXP_MAX || !(v.mant & FX80_INT_BIT))
        return X87_TAG_SPECIAL;   /* denormal, infinity, NaN, unnormal */
    return X87_TAG_VALID;
}

uint16_t x87_full_tag_word(const struct x86_fpu *f)
{
    uint16_t tw = 0;
    for (unsigned p = 0; p < NREGS; p++)
        tw |= (uint16_t)(x87_tag_of(f, p) << (TAG_BITS * p));
    return tw;
}

/* Loading a tag word keeps only empty / not empty, as FXSAVE state does. */
void x87_load_full_tag_word(struct x86_fpu *f, uint16_t tw)
{
    uint8_t ftw = 0;
    for (unsigned p = 0; p < NREGS; p++)
        if (((tw >> (TAG_BITS * p)) & TAG_MASK) != X87_TAG_EMPTY)
            ftw |= (uint8_t)(1u << p);
    f->ftw = ftw;
}

void x87_update_summary(struct x86_fpu *f)
{
    if (f->fsw & ~f->fcw & X87_FSW_EXC)
        f->fsw |= X87_FSW_ES | X87_FSW_B;
    else
        f->fsw &= (uint16_t)~(X87_FSW_ES | X87_FSW_B);
}

void x87_set_cc(struct x86_fpu *f, unsigned cc)
{
    f->fsw = (uint16_t)((f->fsw & ~X87_FSW_CC) | (cc & X87_FSW_CC));
}

struct fx80_env x87_env_of(const struct x86_fpu *f)
{
    return (struct fx80_env){
        .rc = (uint8_t)((f->fcw >> X87_FCW_RC_SHIFT) & 3u),
        .pc = (uint8_t)((f->fcw >> X87_FCW_PC_SHIFT) & 3u),
        .masks = (uint8_t)(f->fcw & X87_FCW_MASKS),
    };
}

void x87_set_top(struct x86_fpu *f, unsigned top)
{
    x87_rotate(f, (int)((top - x87_top(f)) & 7u));
}

void x87_init(struct x86_state *st)
{
    struct x86_fpu *f = &st->fpu;
    x87_set_top(f, 0);   /* the registers keep their contents, renumbered */
    f->fcw = X87_FCW_INIT;
    f->fsw = 0;
    f->ftw = 0;
    f->fop = 0;
    f->fip = 0;
    f->fdp = 0;
    st->fpu_fcs = 0;
    st->fpu_fds = 0;
}
