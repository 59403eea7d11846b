/* avx512_exec.c - the AVX-512 state helper: one call runs one EVEX instruction or
 * VEX opmask instruction (x86_evex.h) on the ZMM registers (XMM | YMM_Hi128 |
 * ZMM_Hi256, and Hi16_ZMM for 16-31) and the opmask registers (struct x86_zmm).
 * Checks first, as the SDM orders them: #UD unless CR4.OSXSAVE and XCR0 enables
 * opmask, ZMM_Hi256, Hi16_ZMM, AVX and SSE (the opmask instructions too), and in
 * real/virtual-8086 mode; #NM with CR0.TS; #GP(0) for a misaligned aligned form
 * whose mask selects an element (with none selected the host takes no fault).
 * Masking: an element whose k[aaa] bit is clear keeps the destination's value (or
 * zero with EVEX.z) and its memory is not touched, so it cannot fault (memory fault
 * suppression). Destination bits above the vector length are zeroed. A full,
 * unmasked store resolves every page before writing; a masked one stores element by
 * element, lowest first (a fault part way leaves the lower ones written). */
#include <string.h>

#include "frontends/x86_64/x86_evex.h"

#include "core/x86_cpuid.h"

#define ZMM_BYTES 64u
#define XCR0_EVEX (X86_XSTATE_AVX512 | X86_XSTATE_AVX | X86_XSTATE_SSE)
#define LONG_REGS 32u
#define LEGACY_REGS 8u

struct evex_op {
    const struct evex_row *row;
    unsigned reg, vvvv, rm, ll, b, z, aaa, imm, seg, es, n, vl;
    bool mem, w, addr32, long_mode;
    uint64_t addr;
};

static uint8_t *zmm_at(struct x86_state *f, unsigned r, unsigned byte)
{
    if (r >= 16)
        return &f->zmm.hi16_zmm[r - 16][byte];
    return byte < 16   ? &f->fpu.xmm[r].b[byte]
           : byte < 32 ? &f->fpu.ymm_hi[r].b[byte - 16]
                       : &f->zmm.zmm_hi256[r][byte - 32];
}

static void zmm_get(struct x86_state *f, unsigned r, uint8_t out[ZMM_BYTES])
{
    for (unsigned i = 0; i < ZMM_BYTES; i += 16)
        memcpy(out + i, zmm_at(f, r, i), 16);
}

static void zmm_put(struct x86_state *f, unsigned r, const uint8_t in[ZMM_BYTES])
{
    for (unsigned i = 0; i < ZMM_BYTES; i += 16)
        memcpy(zmm_at(f, r, i), in + i, 16);
}

static uint64_t elem(const uint8_t *v, unsigned i, unsigned es)
{
    uint64_t x = 0;
    memcpy(&x, v + i * es, es);
    return x;
}

static void set_elem(uint8_t *v, unsigned i, unsigned es, uint64_t x)
{
    memcpy(v + i * es, &x, es);
}

static int64_t sext(uint64_t x, unsigned es)
{
    unsigned sh = 64 - 8 * es;
    return (int64_t)(x << sh) >> sh;
}

static uint64_t elem_mask(unsigned es)
{
    return es == 8 ? ~0ull : (1ull << (8 * es)) - 1;
}

static uint64_t lanes_mask(unsigned n)
{
    return n >= 64 ? ~0ull : (1ull << n) - 1;
}

static uint64_t addr_of(const struct evex_op *o, uint64_t off)
{
    uint64_t a = o->addr + off;
    return o->addr32 ? (uint32_t)a : a;
}

/* The memory source: one element broadcast, or the vector with only the selected
 * elements read (the others zero: never used). */
static void load_source(struct soft_cpu *cpu, const struct evex_op *o, uint64_t mask, uint8_t out[ZMM_BYTES])
{
    memset(out, 0, ZMM_BYTES);
    if (o->b) {
        if (!(mask & lanes_mask(o->n)))
            return;
        uint64_t v = mmu_read(cpu, addr_of(o, 0), o->es, MMU_READ, o->seg);
        for (unsigned i = 0; i < o->n; i++)
            set_elem(out, i, o->es, v);
        return;
    }
    if ((mask & lanes_mask(o->n)) == lanes_mask(o->n)) {
        mmu_read_bytes(cpu, addr_of(o, 0), out, o->vl, MMU_READ, o->seg);
        return;
    }
    for (unsigned i = 0; i < o->n; i++)
        if (mask >> i & 1)
            set_elem(out, i, o->es, mmu_read(cpu, addr_of(o, (uint64_t)i * o->es), o->es, MMU_READ, o->seg));
}

/* Merge res into register reg under the mask (zeroing with z) and clear bits above VL. */
static void write_masked(struct x86_state *f, const struct evex_op *o, unsigned reg, const uint8_t *res, uint64_t mask)
{
    uint8_t d[ZMM_BYTES];
    zmm_get(f, reg, d);
    for (unsigned i = 0; i < o->n; i++)
        if (mask >> i & 1)
            set_elem(d, i, o->es, elem(res, i, o->es));
        else if (o->z)
            set_elem(d, i, o->es, 0);
    memset(d + o->vl, 0, ZMM_BYTES - o->vl);
    zmm_put(f, reg, d);
}

static uint64_t saturate_s(int64_t v, unsigned es)
{
    int64_t hi = (int64_t)(elem_mask(es) >> 1), lo = -hi - 1;
    return (uint64_t)(v > hi ? hi : v < lo ? lo : v);
}

static uint64_t int_op(unsigned op, uint64_t a, uint64_t b, unsigned es)
{
    int64_t sa = sext(a, es), sb = sext(b, es);
    uint64_t m = elem_mask(es);
    switch (op) {
    case EI_MULLO: return a * b;
    case EI_ADDS: return saturate_s(sa + sb, es);
    case EI_SUBS: return saturate_s(sa - sb, es);
    case EI_ADDUS: return a + b > m ? m : a + b;
    case EI_SUBUS: return a > b ? a - b : 0;
    case EI_AVGU: return (a + b + 1) >> 1;
    case EI_ABS: return sb < 0 ? (uint64_t)-sb : b;
    case EI_LZCNT: {
        unsigned n = 0;
        for (unsigned bit = 8 * es; bit-- > 0 && !(b >> bit & 1);)
            n++;
        return n;
    }
    case EI_ADD: return a + b;
    case EI_SUB: return a - b;
    case EI_AND: return a & b;
    case EI_ANDN: return ~a & b;
    case EI_OR: return a | b;
    case EI_XOR: return a ^ b;
    case EI_MINU: return a < b ? a : b;
    case EI_MAXU: return a > b ? a : b;
    case EI_MINS: return sa < sb ? a : b;
    default: return sa > sb ? a : b;   /* EI_MAXS */
    }
}

/* VPCMP predicates: 0 EQ, 1 LT, 2 LE, 3 FALSE, 4 NE, 5 NLT, 6 NLE, 7 TRUE. */
static bool compare(const struct evex_op *o, uint64_t a, uint64_t b)
{
    unsigned es = o->es;
    bool lt = o->row->arg == EC_PRED_U ? a < b : sext(a, es) < sext(b, es);
    switch (o->row->arg) {
    case EC_EQ: return a == b;
    case EC_GT: return sext(a, es) > sext(b, es);
    case EC_TESTM: return (a & b) != 0;
    case EC_TESTNM: return (a & b) == 0;
    default:
        break;
    }
    switch (o->imm & 7) {
    case 0: return a == b;
    case 1: return lt;
    case 2: return lt || a == b;
    case 3: return false;
    case 4: return a != b;
    case 5: return !lt;
    case 6: return !(lt || a == b);
    default: return true;
    }
}

static uint64_t ternlog(unsigned imm, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t r = 0;
    for (unsigned bit = 0; bit < 64; bit++) {
        unsigned idx = (unsigned)((a >> bit & 1) << 2 | (b >> bit & 1) << 1 | (c >> bit & 1));
        r |= (uint64_t)(imm >> idx & 1) << bit;
    }
    return r;
}

/* VMOVD/VMOVQ between an XMM register and a GPR or memory (128-bit, unmasked). */
static void run_movd(struct soft_cpu *cpu, const struct evex_op *o)
{
    struct x86_state *st = x86_st(cpu);
    if (o->row->kind == EK_MOVD_IN) {
        uint64_t v = o->mem ? mmu_read(cpu, addr_of(o, 0), o->es, MMU_READ, o->seg) : st->gpr[o->rm & 15];
        uint8_t d[ZMM_BYTES] = { 0 };
        set_elem(d, 0, o->es, v);
        zmm_put(st, o->reg, d);
        return;
    }
    uint64_t v = elem(zmm_at(st, o->reg, 0), 0, o->es);
    if (o->mem)
        mmu_write(cpu, addr_of(o, 0), v, o->es, MMU_WRITE, o->seg);
    else
        st->gpr[o->rm & 15] = v;   /* a 32-bit write zero-extends */
}

/* Shifts by an immediate (a count at or past the width: zero, or the sign for SRA)
 * and rotates (count modulo the width). */
static uint64_t shift_imm(unsigned op, uint64_t x, unsigned count, unsigned es)
{
    unsigned bits = 8 * es, r = count % bits;
    uint64_t m = elem_mask(es);
    switch (op) {
    case ES_ROR: return r ? ((x >> r) | (x << (bits - r))) & m : x;
    case ES_ROL: return r ? ((x << r) | (x >> (bits - r))) & m : x;
    case ES_SRL: return count >= bits ? 0 : x >> count;
    case ES_SLL: return count >= bits ? 0 : (x << count) & m;
    default: return (uint64_t)(sext(x, es) >> (count >= bits ? bits - 1 : count)) & m;   /* ES_SRA */
    }
}

/* VPERMI2D/Q: reg holds the indices and is overwritten; the tables are vvvv (low)
 * and rm (high). VPERMT2D/Q: reg is the low table, vvvv the indices. Masked-off
 * elements keep reg's value. */
static void permute2(struct x86_state *f, const struct evex_op *o, const uint8_t *a, const uint8_t *b, uint64_t mask)
{
    uint8_t d[ZMM_BYTES], res[ZMM_BYTES];
    zmm_get(f, o->reg, d);
    bool t2 = o->row->arg == 1;
    const uint8_t *idx = t2 ? a : d, *lo = t2 ? d : a;
    for (unsigned i = 0; i < o->n; i++) {
        unsigned k = (unsigned)elem(idx, i, o->es) & (2 * o->n - 1);
        set_elem(res, i, o->es, elem(k >= o->n ? b : lo, k & (o->n - 1), o->es));
    }
    write_masked(f, o, o->reg, res, mask);
}

/* The shuffles and one-table permutes: a = vvvv, b = rm (or memory). */
static void shuffle(const struct evex_op *o, const uint8_t *a, const uint8_t *b, uint8_t *res)
{
    unsigned es = o->es, n = o->n;
    for (unsigned i = 0; i < n; i++) {
        uint64_t x = 0;
        switch (o->row->kind) {
        case EK_PERM1: x = elem(b, (unsigned)elem(a, i, es) & (n - 1), es); break;
        case EK_CONFLICT:
            for (unsigned j = 0; j < i; j++)
                x |= (uint64_t)(elem(b, j, es) == elem(b, i, es)) << j;
            break;
        case EK_PSHUFB: {
            uint8_t sel = b[i];
            x = sel & 0x80 ? 0 : a[(i & ~15u) | (sel & 15u)];
            break;
        }
        case EK_PSHUFD: x = elem(b, (i & ~3u) | ((o->imm >> (2 * (i & 3))) & 3), es); break;
        default: {   /* EK_VALIGN: element i + imm8 mod n of the 2n elements b (low), a (high) */
            unsigned k = i + (o->imm & (n - 1));
            x = k < n ? elem(b, k, es) : elem(a, k - n, es);
            break;
        }
        }
        set_elem(res, i, es, x);
    }
}

static void run_vector(struct soft_cpu *cpu, struct evex_op *o)
{
    struct x86_state *f = x86_st(cpu);
    uint64_t mask = o->aaa ? f->zmm.k[o->aaa] : ~0ull;
    const struct evex_row *row = o->row;
    /* misaligned: #GP(0) unless the mask selects no element (as the host does) */
    if ((row->flags & EF_ALIGNED) && o->mem && (o->addr & (o->vl - 1)) && (mask & lanes_mask(o->n)))
        x86_raise_now(cpu, X86_V_GP, 0);
    uint8_t a[ZMM_BYTES], b[ZMM_BYTES], res[ZMM_BYTES];
    if (row->kind == EK_MOV_STORE) {
        zmm_get(f, o->reg, a);
        if (!o->mem) {
            write_masked(f, o, o->rm, a, mask);
        } else if ((mask & lanes_mask(o->n)) == lanes_mask(o->n)) {
            mmu_write_bytes(cpu, addr_of(o, 0), a, o->vl, MMU_WRITE, o->seg);
        } else {
            for (unsigned i = 0; i < o->n; i++)
                if (mask >> i & 1)
                    mmu_write(cpu, addr_of(o, (uint64_t)i * o->es), elem(a, i, o->es), o->es, MMU_WRITE, o->seg);
        }
        return;
    }
    if (row->kind == EK_BCAST_GPR) {
        uint64_t v = x86_st(cpu)->gpr[o->rm & 15];
        for (unsigned i = 0; i < o->n; i++)
            set_elem(res, i, o->es, v);
        write_masked(f, o, o->reg, res, mask);
        return;
    }
    if (row->kind == EK_MOVD_IN || row->kind == EK_MOVD_OUT) {
        run_movd(cpu, o);
        return;
    }
    if (row->kind == EK_BCAST) {
        uint64_t v = 0;
        if (o->mem && (mask & lanes_mask(o->n)))
            v = mmu_read(cpu, addr_of(o, 0), o->es, MMU_READ, o->seg);
        else if (!o->mem)
            v = elem(zmm_at(f, o->rm, 0), 0, o->es);
        for (unsigned i = 0; i < o->n; i++)
            set_elem(res, i, o->es, v);
        write_masked(f, o, o->reg, res, mask);
        return;
    }
    /* a table (permutes), a source shifted or shuffled across elements (VALIGN,
     * VPSHUFD) or compared with every lower element (VPCONFLICT) is read whole: its elements go where the
     * indices say, not where the mask does */
    bool whole = row->kind == EK_PERM2 || row->kind == EK_PERM1 || row->kind == EK_VALIGN ||
                 row->kind == EK_CONFLICT || row->kind == EK_PSHUFD;
    if (o->mem)
        load_source(cpu, o, whole ? ~0ull : mask, b);
    else
        zmm_get(f, o->rm, b);
    if (row->kind == EK_MOV_LOAD) {
        write_masked(f, o, o->reg, b, mask);
        return;
    }
    if (row->kind == EK_SHIFT_IMM) {
        for (unsigned i = 0; i < o->n; i++)
            set_elem(res, i, o->es, shift_imm(row->arg, elem(b, i, o->es), o->imm, o->es));
        write_masked(f, o, o->vvvv, res, mask);
        return;
    }
    zmm_get(f, o->vvvv, a);
    if (row->kind == EK_PERM2) {
        permute2(f, o, a, b, mask);
        return;
    }
    if (row->kind != EK_CMP && row->kind != EK_INT && row->kind != EK_TERNLOG) {
        shuffle(o, a, b, res);
        write_masked(f, o, o->reg, res, mask);
        return;
    }
    if (row->kind == EK_CMP) {
        uint64_t k = 0;
        for (unsigned i = 0; i < o->n; i++)
            if ((mask >> i & 1) && compare(o, elem(a, i, o->es), elem(b, i, o->es)))
                k |= 1ull << i;
        f->zmm.k[o->reg & 7] = k;
        return;
    }
    uint8_t d[ZMM_BYTES];
    zmm_get(f, o->reg, d);
    for (unsigned i = 0; i < o->n; i++) {
        uint64_t x = row->kind == EK_TERNLOG
                         ? ternlog(o->imm, elem(d, i, o->es), elem(a, i, o->es), elem(b, i, o->es))
                         : int_op(row->arg, elem(a, i, o->es), elem(b, i, o->es), o->es);
        set_elem(res, i, o->es, x & elem_mask(o->es));
    }
    write_masked(f, o, o->reg, res, mask);
}

/* Opmask instructions; es is the mask width in bytes (bits = 8 * es). */
static void run_opmask(struct soft_cpu *cpu, struct evex_op *o)
{
    struct x86_state *st = x86_st(cpu);
    uint64_t *k = st->zmm.k;
    unsigned bits = 8 * o->es;
    uint64_t m = lanes_mask(bits), src1 = k[o->vvvv & 7] & m, src2 = k[o->rm & 7] & m, r = 0;
    switch (o->row->kind) {
    case KK_LOGIC:
        switch (o->row->arg) {
        case KL_AND: r = src1 & src2; break;
        case KL_ANDN: r = ~src1 & src2; break;
        case KL_OR: r = src1 | src2; break;
        case KL_XOR: r = src1 ^ src2; break;
        case KL_XNOR: r = ~(src1 ^ src2); break;
        default: r = src1 + src2; break;
        }
        k[o->reg & 7] = r & m;
        return;
    case KK_UNPCK: {
        uint64_t half = lanes_mask(bits);
        k[o->reg & 7] = ((src1 & half) << bits) | (src2 & half);
        return;
    }
    case KK_NOT: k[o->reg & 7] = ~src2 & m; return;
    case KK_MOV:
        k[o->reg & 7] = (o->mem ? mmu_read(cpu, addr_of(o, 0), o->es, MMU_READ, o->seg) : src2) & m;
        return;
    case KK_MOV_STORE: mmu_write(cpu, addr_of(o, 0), k[o->reg & 7] & m, o->es, MMU_WRITE, o->seg); return;
    case KK_MOV_FROM_GPR: k[o->reg & 7] = st->gpr[o->rm & 15] & m; return;
    case KK_MOV_TO_GPR:
        st->gpr[o->reg & 15] = k[o->rm & 7] & m;   /* a 32-bit write zero-extends; so do narrower masks */
        return;
    case KK_SHIFTL: k[o->reg & 7] = o->imm >= bits ? 0 : (src2 << o->imm) & m; return;
    case KK_SHIFTR: k[o->reg & 7] = o->imm >= bits ? 0 : src2 >> o->imm; return;
    default: break;
    }
    /* KORTEST / KTEST: ZF and CF, the other status flags cleared. */
    uint64_t a = k[o->reg & 7] & m, b = src2;
    bool zf = o->row->kind == KK_ORTEST ? (a | b) == 0 : (a & b) == 0;
    bool cf = o->row->kind == KK_ORTEST ? (a | b) == m : (~a & b & m) == 0;
    st->soft.zf = zf, st->soft.cf = cf;
    st->soft.of = st->soft.sf = st->soft.af = st->soft.pf = 0;
}

static ir_u128 h_evex(void *vcpu, ir_u128 addr, ir_u128 howv, ir_u128 unused)
{
    (void)unused;
    struct soft_cpu *cpu = vcpu;
    struct x86_state *st = x86_st(cpu);
    uint64_t how = (uint64_t)howv;
    if (!(st->cr4 & X86_CR4_OSXSAVE) || (st->xcr0 & XCR0_EVEX) != XCR0_EVEX || !(st->cr0 & X86_CR0_PE) ||
        (st->rflags & X86_FLAG_VM))
        x86_raise_now(cpu, X86_V_UD, X86_NO_ERR);
    if (st->cr0 & X86_CR0_TS)
        x86_raise_now(cpu, X86_V_NM, X86_NO_ERR);
    struct evex_op o = {
        .row = &x86_evex_rows[(how >> EVX_ROW_SHIFT) & 0xff],
        .reg = (how >> EVX_REG_SHIFT) & 31, .vvvv = (how >> EVX_VVVV_SHIFT) & 31, .rm = (how >> EVX_RM_SHIFT) & 31,
        .ll = (how >> EVX_LL_SHIFT) & 3, .b = (how >> EVX_B_SHIFT) & 1, .z = (how >> EVX_Z_SHIFT) & 1,
        .aaa = (how >> EVX_AAA_SHIFT) & 7, .mem = (how >> EVX_MEM_SHIFT) & 1, .w = (how >> EVX_W_SHIFT) & 1,
        .imm = (how >> EVX_IMM_SHIFT) & 0xff, .seg = (how >> EVX_SEG_SHIFT) & 7,
        .addr32 = (how >> EVX_ADDR32_SHIFT) & 1, .long_mode = (how >> EVX_LONG_SHIFT) & 1, .addr = (uint64_t)addr,
    };
    o.es = o.row->esize ? o.row->esize : (o.w ? 8u : 4u);
    bool gpr_w = o.row->kind == EK_BCAST_GPR || o.row->kind == EK_MOVD_IN || o.row->kind == EK_MOVD_OUT;
    if (gpr_w && !o.row->esize && !o.long_mode)
        o.es = 4;   /* W is ignored outside 64-bit mode: r32 */
    o.vl = 16u << o.ll;
    o.n = o.vl / o.es;
    if (o.row->vex)
        run_opmask(cpu, &o);
    else
        run_vector(cpu, &o);
    return 0;
}

const struct ir_helper x86_evex_helper = {
    "x86_evex", h_evex, IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_FAULT | IR_HELPER_MEM,
};
