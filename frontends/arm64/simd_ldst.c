/* simd_ldst.c - AdvSIMD structure loads and stores: LD1-4/ST1-4 (multiple and single
 * structures, post-index) and LD1R-LD4R, run by one helper per instruction. Memory
 * is read whole before any register is written, so a fault leaves them untouched. */
#include "frontends/arm64/a64_fe.h"

#include <string.h>

#define F(insn, lsb, w) a64_bits(insn, lsb, w)

static ir_u128 helper_simd_single(void *cpu, uint32_t insn);

/* ---- LD1-4/ST1-4 (multiple structures) ---- */
/* Post-index writeback (bit 23) of both structure forms: Rn += the immediate (the
 * bytes transferred, Rm = 31) or Xm; Rn = 31 is SP. */
static void post_index(struct a64_state *st, uint32_t insn, unsigned rn, uint64_t base, uint64_t total)
{
    if (!F(insn, 23, 1))
        return;
    unsigned rm = A64_RM(insn);
    uint64_t next = base + (rm == 31 ? total : st->x[rm]);
    if (rn == 31)
        st->sp = next;
    else
        st->x[rn] = next;
}

static bool ldst_multi_shape(unsigned opcode, unsigned *regs, unsigned *interleave)
{
    switch (opcode) {
    case 0x0: *regs = 4, *interleave = 4; return true;
    case 0x2: *regs = 4, *interleave = 1; return true;
    case 0x4: *regs = 3, *interleave = 3; return true;
    case 0x6: *regs = 3, *interleave = 1; return true;
    case 0x7: *regs = 1, *interleave = 1; return true;
    case 0x8: *regs = 2, *interleave = 2; return true;
    case 0xa: *regs = 2, *interleave = 1; return true;
    default: return false;
    }
}

ir_u128 a64_helper_simd_mem(void *cpu, ir_u128 a, ir_u128 b, ir_u128 cc)
{
    (void)cc;
    uint32_t insn = (uint32_t)a;
    if ((unsigned)b == A64_SIMD_LDST_SINGLE)
        return helper_simd_single(cpu, insn);
    struct a64_state *st = a64_st(cpu);
    unsigned q = F(insn, 30, 1), load = F(insn, 22, 1), size = F(insn, 10, 2), rt = A64_RT(insn);
    unsigned regs = 1, il = 1, eb = 1u << size, bytes = q ? 16 : 8, lanes = bytes / eb;
    ldst_multi_shape(F(insn, 12, 4), &regs, &il);
    unsigned rn = A64_RN(insn);
    uint64_t base = rn == 31 ? st->sp : st->x[rn], total = (uint64_t)regs * bytes;
    uint32_t access = (a64_el(st) == 0 ? MMU_USER : 0);
    uint8_t buf[64], vr[4][16];
    unsigned structs = regs / il;   /* LD1 with several registers: consecutive blocks */
    if (load) {
        /* All of memory first, then the registers: a fault leaves them untouched. */
        for (unsigned off = 0; off < total; off += 16)
            mmu_read_bytes(cpu, base + off, buf + off, 16 < total - off ? 16 : (unsigned)(total - off),
                           access | MMU_READ, 0);
        memset(vr, 0, sizeof(vr));
        for (unsigned blk = 0; blk < structs; blk++)
            for (unsigned e = 0; e < lanes; e++)
                for (unsigned s = 0; s < il; s++)
                    memcpy(vr[blk * il + s] + e * eb, buf + blk * il * bytes + (e * il + s) * eb, eb);
        for (unsigned k = 0; k < regs; k++)
            memcpy(st->v[(rt + k) % 32].b, vr[k], 16);
    } else {
        for (unsigned k = 0; k < regs; k++)
            memcpy(vr[k], st->v[(rt + k) % 32].b, 16);
        for (unsigned blk = 0; blk < structs; blk++)
            for (unsigned e = 0; e < lanes; e++)
                for (unsigned s = 0; s < il; s++)
                    memcpy(buf + blk * il * bytes + (e * il + s) * eb, vr[blk * il + s] + e * eb, eb);
        for (unsigned off = 0; off < total; off += 16)
            mmu_write_bytes(cpu, base + off, buf + off, 16 < total - off ? 16 : (unsigned)(total - off),
                            access | MMU_WRITE, 0);
    }
    post_index(st, insn, rn, base, total);
    return 0;
}

/* ---- LD1-4/ST1-4 (single structure) and LD1R-LD4R ---- */
struct single_shape {
    unsigned selem, eb, index;
    bool replicate;
};

static bool single_shape(uint32_t insn, struct single_shape *sh)
{
    unsigned opcode = F(insn, 13, 3), s = F(insn, 12, 1), size = F(insn, 10, 2), q = F(insn, 30, 1);
    unsigned scale = opcode >> 1;
    sh->selem = (((opcode & 1) << 1) | F(insn, 21, 1)) + 1;
    sh->replicate = false;
    switch (scale) {
    case 0: sh->eb = 1, sh->index = (q << 3) | (s << 2) | size; return true;
    case 1:
        if (size & 1)
            return false;
        sh->eb = 2, sh->index = (q << 2) | (s << 1) | (size >> 1);
        return true;
    case 2:
        if (size & 2)
            return false;
        if (!(size & 1)) {
            sh->eb = 4, sh->index = (q << 1) | s;
            return true;
        }
        if (s)
            return false;
        sh->eb = 8, sh->index = q;
        return true;
    default:
        if (!F(insn, 22, 1) || s)
            return false;   /* LDnR: loads only */
        sh->eb = 1u << size, sh->index = 0, sh->replicate = true;
        return true;
    }
}

static ir_u128 helper_simd_single(void *cpu, uint32_t insn)
{
    struct a64_state *st = a64_st(cpu);
    struct single_shape sh = { 0 };
    if (!single_shape(insn, &sh))
        return 0;   /* the lifter only emits valid shapes */
    unsigned q = F(insn, 30, 1), load = F(insn, 22, 1), rt = A64_RT(insn), rn = A64_RN(insn);
    uint64_t base = rn == 31 ? st->sp : st->x[rn], total = (uint64_t)sh.selem * sh.eb;
    uint32_t access = a64_el(st) == 0 ? MMU_USER : 0;
    uint8_t buf[32];
    if (load) {
        mmu_read_bytes(cpu, base, buf, (unsigned)total, access | MMU_READ, 0);
        for (unsigned s = 0; s < sh.selem; s++) {
            uint8_t *v = st->v[(rt + s) % 32].b;
            if (sh.replicate) {
                for (unsigned i = 0; i < (q ? 16u : 8u); i += sh.eb)
                    memcpy(v + i, buf + s * sh.eb, sh.eb);
                if (!q)
                    memset(v + 8, 0, 8);
            } else {
                memcpy(v + sh.index * sh.eb, buf + s * sh.eb, sh.eb);
            }
        }
    } else {
        for (unsigned s = 0; s < sh.selem; s++)
            memcpy(buf + s * sh.eb, st->v[(rt + s) % 32].b + sh.index * sh.eb, sh.eb);
        mmu_write_bytes(cpu, base, buf, (unsigned)total, access | MMU_WRITE, 0);
    }
    post_index(st, insn, rn, base, total);
    return 0;
}

bool a64_simd_ldst_valid(uint32_t insn, unsigned group)
{
    unsigned regs, il;
    if (group == A64_SIMD_LDST_MULTI)
        return ldst_multi_shape(F(insn, 12, 4), &regs, &il) && !(F(insn, 10, 2) == 3 && !F(insn, 30, 1) && il > 1);
    struct single_shape sh;
    return single_shape(insn, &sh);
}
