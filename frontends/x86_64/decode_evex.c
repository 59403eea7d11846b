/* decode_evex.c - our own decoder for EVEX instructions and the VEX opmask (K*)
 * instructions (SDM vol. 2A 2.7 and 3.1): the prefix fields, ModRM/SIB with the
 * registers 16-31 (EVEX.R', X in register forms, V'), disp8*N by tuple type, and
 * the encoding #UD rules, against the table in avx512_ops.c. Capstone 4.0.2 is not
 * asked: it gives EVEX forms VEX ids and reports no mask, broadcast or disp8 scale.
 * Deliberate limits (docs/x86-frontend.md "AVX-512"): 16-bit addressing and
 * VSIB are #UD (no gathers/scatters here); EVEX outside 64-bit mode reaches
 * registers 0-7 only. */
#include <string.h>

#include "frontends/x86_64/x86_evex.h"

#define EVEX_BYTE 0x62u
#define VEX3_BYTE 0xc4u
#define VEX2_BYTE 0xc5u
#define MODRM_MOD_REG 3u
#define RM_SIB 4u
#define RM_DISP32 5u
#define SIB_NO_INDEX 4u
#define EVEX_P0_RESERVED 0x0cu
#define EVEX_P1_FIXED 0x04u
#define VL_MAX_LL 2u

struct cursor {
    const uint8_t *p;
    unsigned n, i;
    bool ok;
};

static uint8_t next(struct cursor *c)
{
    if (c->i >= c->n || c->i >= X86_MAX_INSN_LEN) {
        c->ok = false;
        return 0;
    }
    return c->p[c->i++];
}

static int64_t next_le(struct cursor *c, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < bytes; k++)
        v |= (uint64_t)next(c) << (8 * k);
    return bytes == 1 ? (int8_t)v : (int32_t)v;
}

static bool is_seg_prefix(uint8_t b)
{
    return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65;
}

static int seg_of_prefix(uint8_t b)
{
    switch (b) {
    case 0x26: return X86_ES;
    case 0x2e: return X86_CS;
    case 0x36: return X86_SS;
    case 0x3e: return X86_DS;
    case 0x64: return X86_FS;
    default: return X86_GS;
    }
}

/* The prefixes EVEX/VEX may follow: segment overrides and 67. Others (66, F2, F3,
 * LOCK, REX) make the instruction #UD; *bad says so. */
static unsigned scan_prefixes(enum x86_code_size mode, const uint8_t *b, unsigned n, int *seg, bool *a67, bool *bad)
{
    unsigned i = 0;
    *seg = -1;
    *a67 = *bad = false;
    while (i < n && i < X86_MAX_INSN_LEN) {
        uint8_t x = b[i];
        if (is_seg_prefix(x))
            *seg = seg_of_prefix(x);
        else if (x == 0x67)
            *a67 = true;
        else if (x == 0x66 || x == 0xf2 || x == 0xf3 || x == 0xf0 || (mode == X86_CODE64 && (x & 0xf0) == 0x40))
            *bad = true;
        else
            break;
        i++;
    }
    return i;
}

static bool base_is_stack(unsigned base)
{
    return base == X86_RSP || base == X86_RBP;
}

/* ModRM (and SIB, displacement) of a memory operand; disp8 is scaled by n8. */
static void decode_mem(struct cursor *c, unsigned modrm, bool b_ext, bool x_ext, unsigned asz, unsigned n8,
                       struct x86_operand *o)
{
    unsigned mod = modrm >> 6, rm = modrm & 7;
    o->kind = X86_OPND_MEM;
    unsigned disp_bytes = mod == 1 ? 1 : mod == 2 ? 4 : 0;
    if (rm == RM_SIB) {
        uint8_t sib = next(c);
        unsigned index = ((sib >> 3) & 7) | (x_ext ? 8u : 0u), base = (sib & 7) | (b_ext ? 8u : 0u);
        if (index != SIB_NO_INDEX) {
            o->mem.index = (struct x86_regref){ X86_RC_GPR, (uint8_t)index };
            o->mem.scale = (uint8_t)(1u << (sib >> 6));
        }
        if ((sib & 7) == RM_DISP32 && mod == 0)
            disp_bytes = 4;
        else
            o->mem.base = (struct x86_regref){ X86_RC_GPR, (uint8_t)base };
    } else if (rm == RM_DISP32 && mod == 0) {
        disp_bytes = 4;
        if (asz == 8)
            o->mem.base = (struct x86_regref){ X86_RC_RIP, 0 };
    } else {
        o->mem.base = (struct x86_regref){ X86_RC_GPR, (uint8_t)(rm | (b_ext ? 8u : 0u)) };
    }
    int64_t d = disp_bytes ? next_le(c, disp_bytes) : 0;
    o->mem.disp = disp_bytes == 1 ? d * (int64_t)n8 : d;
    o->mem.seg = o->mem.base.cls == X86_RC_GPR && base_is_stack(o->mem.base.num) ? X86_SS : X86_DS;
}

static int find_row(bool vex, unsigned map, unsigned pp, unsigned opc, unsigned w, unsigned ext)
{
    for (unsigned i = 0; i < x86_evex_row_count; i++) {
        const struct evex_row *r = &x86_evex_rows[i];
        if (r->vex == vex && r->map == map && r->pp == pp && r->opc == opc && (r->w == 2 || r->w == w) &&
            (r->ext == EVEX_NO_EXT || r->ext == ext))
            return (int)i;
    }
    return -1;
}

static bool vex_opmask_opcode(unsigned map, unsigned pp, unsigned opc)
{
    for (unsigned i = 0; i < x86_evex_row_count; i++) {
        const struct evex_row *r = &x86_evex_rows[i];
        if (r->vex && r->map == map && r->pp == pp && r->opc == opc)
            return true;
    }
    return false;
}

/* The byte after C4/C5/62 outside 64-bit mode: with ModRM.mod 11 it is a VEX/EVEX
 * prefix, else the LDS/LES/BOUND it always was. */
static bool prefix_form(enum x86_code_size mode, const uint8_t *b, unsigned at, unsigned n)
{
    return mode == X86_CODE64 || (at + 1 < n && (b[at + 1] >> 6) == MODRM_MOD_REG);
}

struct raw {
    bool vex;
    unsigned map, pp, w, ll, b, z, aaa, vvvv;
    bool r, x, bx, r2, v2;   /* extension bits, already un-inverted (true = add) */
};

/* EVEX or VEX prefix bytes at c; false when they are not an opmask instruction (VEX). */
static int read_prefix(enum x86_code_size mode, struct cursor *c, struct raw *r)
{
    uint8_t esc = next(c);
    memset(r, 0, sizeof(*r));
    if (esc == EVEX_BYTE) {
        uint8_t p0 = next(c), p1 = next(c), p2 = next(c);
        if ((p0 & EVEX_P0_RESERVED) || !(p1 & EVEX_P1_FIXED) || (p0 & 3) == 0)
            return 0;
        r->map = p0 & 3, r->pp = p1 & 3, r->w = p1 >> 7, r->ll = (p2 >> 5) & 3, r->b = (p2 >> 4) & 1;
        r->z = p2 >> 7, r->aaa = p2 & 7, r->vvvv = (~p1 >> 3) & 15;
        r->r = !(p0 & 0x80), r->x = !(p0 & 0x40), r->bx = !(p0 & 0x20), r->r2 = !(p0 & 0x10), r->v2 = !(p2 & 8);
    } else {
        r->vex = true;
        uint8_t v1 = next(c);
        if (esc == VEX2_BYTE) {
            r->map = 1, r->r = !(v1 & 0x80), r->vvvv = (~v1 >> 3) & 15, r->ll = (v1 >> 2) & 1, r->pp = v1 & 3;
        } else {
            uint8_t v2 = next(c);
            r->r = !(v1 & 0x80), r->x = !(v1 & 0x40), r->bx = !(v1 & 0x20), r->map = v1 & 0x1f;
            r->w = v2 >> 7, r->vvvv = (~v2 >> 3) & 15, r->ll = (v2 >> 2) & 1, r->pp = v2 & 3;
        }
    }
    if (mode != X86_CODE64) {   /* only registers 0-7 (the inverted bits read as set) */
        r->r = r->x = r->bx = r->r2 = r->v2 = false;
        r->vvvv &= 7;
    }
    return c->ok ? 1 : 0;
}

/* disp8*N: the tuple's N for this form. */
static unsigned disp8_scale(const struct evex_row *row, unsigned ll, bool bcst, unsigned es)
{
    unsigned vl = 16u << ll;
    switch (row->tuple) {
    case TT_FV: return bcst ? es : vl;
    case TT_FVM: return vl;
    case TT_T1S: return es;
    default: return 1;
    }
}

/* The encoding rules a form breaks (#UD), given its row. */
static bool encoding_ok(const struct evex_row *row, const struct raw *r, bool mem, unsigned vvvv, unsigned reg)
{
    if ((row->flags & EF_REGONLY) && mem)
        return false;
    if ((row->flags & EF_MEMONLY) && !mem)
        return false;
    if ((row->flags & EF_NOVVVV) && vvvv != 0)
        return false;
    if (row->vex)
        return r->ll == row->l && (reg < 8 || row->kind == KK_MOV_TO_GPR) && (vvvv < 8);
    if (r->ll > VL_MAX_LL || ((row->flags & EF_L0) && r->ll) || ((row->flags & EF_NOT128) && !r->ll))
        return false;
    if ((row->flags & EF_NOAAA) && (r->aaa || r->z))
        return false;
    if (r->b && (!mem || row->tuple != TT_FV))
        return false;   /* no rounding forms here; broadcast only where the tuple allows */
    if (r->z && ((row->kind == EK_MOV_STORE && mem) || row->kind == EK_CMP || r->aaa == 0))
        return false;   /* zeroing needs a mask (EVEX.z with k0 is #UD, as the host shows) */
    return true;
}

int x86_decode_evex(enum x86_code_size mode, const uint8_t *bytes, unsigned n, struct x86_dinsn *out,
                    struct x86_evex *ev)
{
    int seg;
    bool a67, bad;
    unsigned at = scan_prefixes(mode, bytes, n, &seg, &a67, &bad);
    if (at >= n || (bytes[at] != EVEX_BYTE && bytes[at] != VEX2_BYTE && bytes[at] != VEX3_BYTE) ||
        !prefix_form(mode, bytes, at, n))
        return -1;
    struct cursor c = { bytes, n, at, true };
    struct raw r;
    int got = read_prefix(mode, &c, &r);
    uint8_t opc = next(&c);
    if (r.vex && (!c.ok || !vex_opmask_opcode(r.map, r.pp, opc)))
        return -1;   /* every other VEX instruction is Capstone's */
    if (!got || !c.ok || bad)
        return 0;
    uint8_t modrm = next(&c);
    int ri = find_row(r.vex, r.map, r.pp, opc, r.w, (modrm >> 3) & 7);
    if (ri < 0 || !c.ok)
        return 0;
    const struct evex_row *row = &x86_evex_rows[ri];
    bool mem = (modrm >> 6) != MODRM_MOD_REG;
    unsigned es = row->esize ? row->esize : (r.w ? 8u : 4u);
    if ((row->kind == EK_MOVD_IN || row->kind == EK_MOVD_OUT) && mode != X86_CODE64)
        es = 4;   /* W1 means a 64-bit GPR only in 64-bit mode */
    unsigned asz = mode == X86_CODE64 ? (a67 ? 4u : 8u) : (a67 ? 2u : 4u);
    if (asz == 2)
        return 0;   /* 16-bit addressing: not decoded here */
    struct x86_evex e = { .row = (uint16_t)ri, .w = (uint8_t)r.w, .ll = (uint8_t)r.ll, .b = (uint8_t)r.b,
                          .z = (uint8_t)r.z, .aaa = (uint8_t)r.aaa, .mem = mem, .esize = (uint8_t)es };
    e.reg = (uint8_t)(((modrm >> 3) & 7) | (r.r ? 8u : 0u) | (r.r2 ? 16u : 0u));
    e.vvvv = (uint8_t)(r.vvvv | (r.v2 ? 16u : 0u));
    e.rm = (uint8_t)((modrm & 7) | (r.bx ? 8u : 0u) | (!r.vex && r.x && !mem ? 16u : 0u));
    if (r.vex && mem && row->kind != KK_MOV && row->kind != KK_MOV_STORE)
        return 0;
    memset(out, 0, sizeof(*out));
    if (mem) {
        decode_mem(&c, modrm, r.bx, r.x, asz, r.vex ? 1 : disp8_scale(row, r.ll, r.b, es), &out->o[0]);
        out->o[0].size = (uint8_t)(r.vex ? es : r.b ? es : 16u << r.ll);
        if (seg >= 0) {
            out->o[0].mem.seg = (uint8_t)seg;
            out->o[0].mem.seg_override = true;
        }
        out->nops = 1;
    }
    if (row->flags & EF_IMM8)
        e.imm = next(&c);
    if (!c.ok || !encoding_ok(row, &r, mem, e.vvvv, e.reg))
        return 0;
    out->op = X86_I_EVEX;
    out->cs_id = 0;   /* not Capstone's */
    out->len = (uint8_t)c.i;
    out->addr_size = (uint8_t)asz;
    out->op_size = es;
    out->vex = r.vex;
    out->modrm = modrm;
    memcpy(out->bytes, bytes, c.i);
    if (ev)
        *ev = e;
    return 1;
}
