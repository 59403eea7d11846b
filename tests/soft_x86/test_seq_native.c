/* test_seq_native.c - instruction sequences on the soft route against the host CPU:
 * random runs start from the same random GPR/x87/MMX/XMM/MXCSR state in a CPL3
 * guest and natively (native_x86.h), and the final GPRs, status flags, FXSAVE images
 * (FCW/FSW/FTW, MXCSR, ST0-7 = MM0-7, XMM0-7) and data bytes must agree.
 * - mmx_sequences: every MMX, SSE-on-MMX and SSSE3-on-MMX form, register and
 *   [rbx+disp8] operands, the MMX<->XMM moves and conversions, MASKMOVQ/MASKMOVDQU,
 *   EMMS; TOP and the tags start random, so the x87->MMX transition is exercised.
 * - sse_fp_sequences: SSE/SSE2/SSE4.1 floating point with LDMXCSR/STMXCSR among
 *   them, so rounding control, DAZ, FTZ and the exception flags go through decode,
 *   lift and helper as the guest sees them; a quarter of the MXCSR values unmask
 *   exceptions, and a sequence that ends in #XM must end there on both sides with
 *   the same state (CR4.OSXMMEXCPT set in the guest).
 * Skips off x86-64 hosts and without the soft backend. ANYHV_FUZZ_ITERS runs more. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include <anyhv/anyhv.h>

#include "native_x86.h"
#include "support/x86_vendor.h"
#include "x86_guest.h"

#define SEQ_LEN 12
#define DEFAULT_SEQS 400
#define DATA_BYTES 256
#define DISP_RANGE 0x60u
#define HLT_BYTE 0xf4
#define GP_VECTOR 13
#define FX_FSW 2
#define FX_FTW 4
#define FX_MXCSR 24
#define FX_ST0 32
#define FX_XMM0 160
#define FX_COMPARED_END 288   /* through XMM7 */
#define FSW_TOP_SHIFT 11
#define MXCSR_DEFAULT 0x1f80u
#define RDI_OFFSET 0x48u      /* MASKMOVQ/MASKMOVDQU store at data + this */
#define RDI 7
#define STATUS_FLAGS 0x8d5u
#define MXCSR_SLOTS 0x70u     /* data + 0x70..0x7f: MXCSR values LDMXCSR may load (disp8 < 0x80) */
#define MXCSR_RANDOM_BITS 0xe07fu   /* flags, DAZ, RC, FZ */
#define MXCSR_MASK_BITS 0x1f80u
#define XM_VECTOR 19
#define CR4_OSXMMEXCPT 0x400ull

enum operands { O_MM_MMM, O_MM_IMM_GROUP, O_MM_MMM_IB, O_GPR_MM_IB, O_MM_R32M16_IB, O_MM_RM32, O_RM32_MM,
                O_MEM_MM, O_XMM_MM, O_MM_XMM, O_XMM_MMM, O_MM_XMMM, O_REG_REG, O_NONE,
                O_X_XM, O_X_XM_IB, O_GPR_XM, O_X_RM32, O_LDMXCSR, O_STMXCSR };

/* One encoding: prefix (0 none), opcode bytes after 0F, operand shape, group /reg. */
static const struct form {
    uint8_t prefix;
    uint8_t op[3];
    uint8_t oplen;
    uint8_t shape;
    uint8_t group;
} forms[] = {
    /* MMX: punpck/pcmpgt/pack, movd, movq, pcmpeq, shifts, arithmetic, logic */
    { 0, { 0x60 }, 1, O_MM_MMM, 0 }, { 0, { 0x61 }, 1, O_MM_MMM, 0 }, { 0, { 0x62 }, 1, O_MM_MMM, 0 },
    { 0, { 0x63 }, 1, O_MM_MMM, 0 }, { 0, { 0x64 }, 1, O_MM_MMM, 0 }, { 0, { 0x65 }, 1, O_MM_MMM, 0 },
    { 0, { 0x66 }, 1, O_MM_MMM, 0 }, { 0, { 0x67 }, 1, O_MM_MMM, 0 }, { 0, { 0x68 }, 1, O_MM_MMM, 0 },
    { 0, { 0x69 }, 1, O_MM_MMM, 0 }, { 0, { 0x6a }, 1, O_MM_MMM, 0 }, { 0, { 0x6b }, 1, O_MM_MMM, 0 },
    { 0, { 0x6e }, 1, O_MM_RM32, 0 }, { 0, { 0x7e }, 1, O_RM32_MM, 0 }, { 0, { 0x6f }, 1, O_MM_MMM, 0 },
    { 0, { 0x7f }, 1, O_MEM_MM, 0 }, { 0, { 0x74 }, 1, O_MM_MMM, 0 }, { 0, { 0x75 }, 1, O_MM_MMM, 0 },
    { 0, { 0x76 }, 1, O_MM_MMM, 0 }, { 0, { 0x71 }, 1, O_MM_IMM_GROUP, 2 }, { 0, { 0x71 }, 1, O_MM_IMM_GROUP, 4 },
    { 0, { 0x71 }, 1, O_MM_IMM_GROUP, 6 }, { 0, { 0x72 }, 1, O_MM_IMM_GROUP, 2 },
    { 0, { 0x72 }, 1, O_MM_IMM_GROUP, 4 }, { 0, { 0x72 }, 1, O_MM_IMM_GROUP, 6 },
    { 0, { 0x73 }, 1, O_MM_IMM_GROUP, 2 }, { 0, { 0x73 }, 1, O_MM_IMM_GROUP, 6 },
    { 0, { 0xd1 }, 1, O_MM_MMM, 0 }, { 0, { 0xd2 }, 1, O_MM_MMM, 0 }, { 0, { 0xd3 }, 1, O_MM_MMM, 0 },
    { 0, { 0xd4 }, 1, O_MM_MMM, 0 }, { 0, { 0xd5 }, 1, O_MM_MMM, 0 }, { 0, { 0xd8 }, 1, O_MM_MMM, 0 },
    { 0, { 0xd9 }, 1, O_MM_MMM, 0 }, { 0, { 0xda }, 1, O_MM_MMM, 0 }, { 0, { 0xdb }, 1, O_MM_MMM, 0 },
    { 0, { 0xdc }, 1, O_MM_MMM, 0 }, { 0, { 0xdd }, 1, O_MM_MMM, 0 }, { 0, { 0xde }, 1, O_MM_MMM, 0 },
    { 0, { 0xdf }, 1, O_MM_MMM, 0 }, { 0, { 0xe0 }, 1, O_MM_MMM, 0 }, { 0, { 0xe1 }, 1, O_MM_MMM, 0 },
    { 0, { 0xe2 }, 1, O_MM_MMM, 0 }, { 0, { 0xe3 }, 1, O_MM_MMM, 0 }, { 0, { 0xe4 }, 1, O_MM_MMM, 0 },
    { 0, { 0xe5 }, 1, O_MM_MMM, 0 }, { 0, { 0xe7 }, 1, O_MEM_MM, 0 }, { 0, { 0xe8 }, 1, O_MM_MMM, 0 },
    { 0, { 0xe9 }, 1, O_MM_MMM, 0 }, { 0, { 0xea }, 1, O_MM_MMM, 0 }, { 0, { 0xeb }, 1, O_MM_MMM, 0 },
    { 0, { 0xec }, 1, O_MM_MMM, 0 }, { 0, { 0xed }, 1, O_MM_MMM, 0 }, { 0, { 0xee }, 1, O_MM_MMM, 0 },
    { 0, { 0xef }, 1, O_MM_MMM, 0 }, { 0, { 0xf1 }, 1, O_MM_MMM, 0 }, { 0, { 0xf2 }, 1, O_MM_MMM, 0 },
    { 0, { 0xf3 }, 1, O_MM_MMM, 0 }, { 0, { 0xf4 }, 1, O_MM_MMM, 0 }, { 0, { 0xf5 }, 1, O_MM_MMM, 0 },
    { 0, { 0xf6 }, 1, O_MM_MMM, 0 }, { 0, { 0xf8 }, 1, O_MM_MMM, 0 }, { 0, { 0xf9 }, 1, O_MM_MMM, 0 },
    { 0, { 0xfa }, 1, O_MM_MMM, 0 }, { 0, { 0xfb }, 1, O_MM_MMM, 0 }, { 0, { 0xfc }, 1, O_MM_MMM, 0 },
    { 0, { 0xfd }, 1, O_MM_MMM, 0 }, { 0, { 0xfe }, 1, O_MM_MMM, 0 }, { 0, { 0x77 }, 1, O_NONE, 0 },
    /* SSE on MMX registers */
    { 0, { 0x70 }, 1, O_MM_MMM_IB, 0 }, { 0, { 0xc4 }, 1, O_MM_R32M16_IB, 0 }, { 0, { 0xc5 }, 1, O_GPR_MM_IB, 0 },
    { 0, { 0xd7 }, 1, O_GPR_MM_IB, 0xff },
    /* SSSE3 on MMX registers */
    { 0, { 0x38, 0x00 }, 2, O_MM_MMM, 0 }, { 0, { 0x38, 0x01 }, 2, O_MM_MMM, 0 }, { 0, { 0x38, 0x02 }, 2, O_MM_MMM, 0 },
    { 0, { 0x38, 0x03 }, 2, O_MM_MMM, 0 }, { 0, { 0x38, 0x04 }, 2, O_MM_MMM, 0 }, { 0, { 0x38, 0x05 }, 2, O_MM_MMM, 0 },
    { 0, { 0x38, 0x06 }, 2, O_MM_MMM, 0 }, { 0, { 0x38, 0x07 }, 2, O_MM_MMM, 0 }, { 0, { 0x38, 0x08 }, 2, O_MM_MMM, 0 },
    { 0, { 0x38, 0x09 }, 2, O_MM_MMM, 0 }, { 0, { 0x38, 0x0a }, 2, O_MM_MMM, 0 }, { 0, { 0x38, 0x0b }, 2, O_MM_MMM, 0 },
    { 0, { 0x38, 0x1c }, 2, O_MM_MMM, 0 }, { 0, { 0x38, 0x1d }, 2, O_MM_MMM, 0 }, { 0, { 0x38, 0x1e }, 2, O_MM_MMM, 0 },
    { 0, { 0x3a, 0x0f }, 2, O_MM_MMM_IB, 0 },
    /* MMX <-> XMM */
    { 0xf3, { 0xd6 }, 1, O_XMM_MM, 0 }, { 0xf2, { 0xd6 }, 1, O_MM_XMM, 0 }, { 0, { 0x2a }, 1, O_XMM_MMM, 0 },
    { 0x66, { 0x2a }, 1, O_XMM_MMM, 0 }, { 0, { 0x2d }, 1, O_MM_XMMM, 0 }, { 0, { 0x2c }, 1, O_MM_XMMM, 0 },
    { 0x66, { 0x2d }, 1, O_MM_XMM, 0 }, { 0x66, { 0x2c }, 1, O_MM_XMM, 0 },
    /* MASKMOVQ / MASKMOVDQU to [rdi] (rdi points into the data) */
    { 0, { 0xf7 }, 1, O_REG_REG, 0 }, { 0x66, { 0xf7 }, 1, O_REG_REG, 0 },
};

/* SSE floating point on XMM0-7: O_X_XM takes a memory source only for scalar forms
 * (the packed ones would need 16-byte alignment); imm8 forms get a random imm8. */
static const struct form fp_forms[] = {
    { 0xf2, { 0x58 }, 1, O_X_XM, 1 }, { 0xf3, { 0x58 }, 1, O_X_XM, 1 }, { 0, { 0x58 }, 1, O_X_XM, 0 },
    { 0x66, { 0x58 }, 1, O_X_XM, 0 }, { 0xf2, { 0x59 }, 1, O_X_XM, 1 }, { 0, { 0x59 }, 1, O_X_XM, 0 },
    { 0xf3, { 0x5c }, 1, O_X_XM, 1 }, { 0x66, { 0x5c }, 1, O_X_XM, 0 }, { 0xf2, { 0x5e }, 1, O_X_XM, 1 },
    { 0, { 0x5e }, 1, O_X_XM, 0 }, { 0xf3, { 0x51 }, 1, O_X_XM, 1 }, { 0x66, { 0x51 }, 1, O_X_XM, 0 },
    { 0xf2, { 0x5d }, 1, O_X_XM, 1 }, { 0, { 0x5f }, 1, O_X_XM, 0 }, { 0xf3, { 0x5a }, 1, O_X_XM, 1 },
    { 0xf2, { 0x5a }, 1, O_X_XM, 1 }, { 0, { 0x5a }, 1, O_X_XM, 0 }, { 0x66, { 0x5a }, 1, O_X_XM, 0 },
    { 0, { 0x5b }, 1, O_X_XM, 0 }, { 0x66, { 0x5b }, 1, O_X_XM, 0 }, { 0xf3, { 0x5b }, 1, O_X_XM, 0 },
    { 0xf2, { 0xe6 }, 1, O_X_XM, 0 }, { 0x66, { 0xe6 }, 1, O_X_XM, 0 }, { 0xf2, { 0x7c }, 1, O_X_XM, 0 },
    { 0x66, { 0xd0 }, 1, O_X_XM, 0 }, { 0x66, { 0x2e }, 1, O_X_XM, 1 }, { 0, { 0x2f }, 1, O_X_XM, 1 },
    { 0xf2, { 0x2d }, 1, O_GPR_XM, 1 }, { 0xf3, { 0x2c }, 1, O_GPR_XM, 1 }, { 0xf2, { 0x2a }, 1, O_X_RM32, 0 },
    { 0, { 0xc2 }, 1, O_X_XM_IB, 0 }, { 0xf2, { 0xc2 }, 1, O_X_XM_IB, 1 },
    { 0x66, { 0x3a, 0x0a }, 2, O_X_XM_IB, 1 }, { 0x66, { 0x3a, 0x08 }, 2, O_X_XM_IB, 0 },
    { 0x66, { 0x3a, 0x40 }, 2, O_X_XM_IB, 0 }, { 0x66, { 0x3a, 0x41 }, 2, O_X_XM_IB, 0 },
    { 0, { 0xae }, 1, O_LDMXCSR, 0 }, { 0, { 0xae }, 1, O_STMXCSR, 0 },
};

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A GPR other than RBX (the data pointer), RSP and RDI (MASKMOVQ's pointer). */
static unsigned some_gpr(uint64_t *s)
{
    static const uint8_t ok[] = { 0, 1, 2, 5, 6 };
    return ok[rng_next(s) % sizeof(ok)];
}

/* ModRM (+disp8) for reg and an r/m that is a register (mod 11) or [rbx+disp8]. */
static unsigned modrm(uint8_t *p, unsigned reg, bool mem, unsigned rm_reg, uint64_t *s)
{
    if (!mem) {
        p[0] = (uint8_t)(0xc0 | (reg << 3) | rm_reg);
        return 1;
    }
    p[0] = (uint8_t)(0x40 | (reg << 3) | 3);
    p[1] = (uint8_t)((rng_next(s) % DISP_RANGE) & ~7u);
    return 2;
}

static unsigned emit(uint8_t *p, const struct form *f, uint64_t *s)
{
    unsigned n = 0;
    if (f->prefix)
        p[n++] = f->prefix;
    p[n++] = 0x0f;
    for (unsigned i = 0; i < f->oplen; i++)
        p[n++] = f->op[i];
    bool mem = rng_next(s) % 3 == 0;
    unsigned a = rng_next(s) % 8, b = rng_next(s) % 8;
    switch (f->shape) {
    case O_MM_MMM: case O_XMM_MMM:
        n += modrm(p + n, a, mem, b, s);
        break;
    case O_MM_XMMM:
        n += modrm(p + n, a, mem, b, s);
        break;
    case O_MM_IMM_GROUP:
        n += modrm(p + n, f->group, false, a, s);
        p[n++] = (uint8_t)(rng_next(s) % 70);
        break;
    case O_MM_MMM_IB:
        n += modrm(p + n, a, mem, b, s);
        p[n++] = (uint8_t)rng_next(s);
        break;
    case O_GPR_MM_IB:
        n += modrm(p + n, some_gpr(s), false, b, s);
        if (f->group != 0xff)
            p[n++] = (uint8_t)rng_next(s);
        break;
    case O_MM_R32M16_IB:
        n += modrm(p + n, a, mem, some_gpr(s), s);
        p[n++] = (uint8_t)rng_next(s);
        break;
    case O_MM_RM32:
        n += modrm(p + n, a, mem, some_gpr(s), s);
        break;
    case O_RM32_MM:
        n += modrm(p + n, a, mem, some_gpr(s), s);
        break;
    case O_MEM_MM:
        n += modrm(p + n, a, true, 0, s);
        break;
    case O_X_XM: case O_X_XM_IB:
        n += modrm(p + n, a, mem && f->group, b, s);   /* group: scalar, memory allowed */
        if (f->shape == O_X_XM_IB)
            p[n++] = (uint8_t)rng_next(s);
        break;
    case O_GPR_XM:
        n += modrm(p + n, some_gpr(s), mem, b, s);
        break;
    case O_X_RM32:
        n += modrm(p + n, a, mem, some_gpr(s), s);
        break;
    case O_LDMXCSR:
        p[n++] = 0x53;   /* /2 [rbx+disp8] */
        p[n++] = (uint8_t)(MXCSR_SLOTS + 4 * (rng_next(s) % 4));
        break;
    case O_STMXCSR:
        p[n++] = 0x5b;   /* /3 [rbx+disp8] */
        p[n++] = (uint8_t)((rng_next(s) % DISP_RANGE) & ~3u);
        break;
    case O_XMM_MM: case O_MM_XMM: case O_REG_REG:
        n += modrm(p + n, a, false, b, s);
        break;
    default:
        break;
    }
    return n;
}

struct state {
    int vector;            /* -1: ran to the end; else the exception and where */
    uint64_t fault_offset;
    uint64_t gpr[16];
    uint64_t rflags;
    uint8_t fx[NATIVE_X86_FXSAVE_SIZE];
    uint8_t data[DATA_BYTES];
};

/* 64 random bits, or lanes that make FP interesting: small integers, zeros,
 * denormals, NaNs, infinities, values near 1. */
static uint64_t special(uint64_t *s)
{
    uint64_t v = rng_next(s), k = rng_next(s) % 8;
    switch (k) {
    case 0: return v & 0x00000000ffffffffull;
    case 1: return v & 0x000000ff000000ffull;                       /* float denormals / small ints */
    case 2: return v & 0x800fffffffffffffull;                       /* a double denormal or zero */
    case 3: return (v & 0x8000000080000000ull) | 0x7fc000007f800000ull;   /* NaN, infinity */
    case 4: return 0x3ff0000000000000ull | (v & 0x800000000000ffffull);   /* near 1.0 */
    default: return v;
    }
}

/* Flags, DAZ, RC, FZ at random; in one case out of four some exceptions unmasked, so
 * #XM (with the destination unchanged and the flags as the host reports them) is
 * compared too. */
static uint32_t random_mxcsr(uint64_t *s)
{
    uint32_t v = MXCSR_DEFAULT | ((uint32_t)rng_next(s) & MXCSR_RANDOM_BITS);
    uint64_t r = rng_next(s);
    if (r % 4 == 0)
        v &= ~((uint32_t)(r >> 8) & MXCSR_MASK_BITS);
    return v;
}

static void random_state(uint64_t *s, struct state *st)
{
    memset(st, 0, sizeof(*st));
    for (unsigned i = 0; i < 16; i++)
        st->gpr[i] = rng_next(s);   /* RBX, RSP and RDI are set by the runners */
    uint16_t fcw = 0x037f, fsw = (uint16_t)((rng_next(s) % 8) << FSW_TOP_SHIFT);
    uint32_t mxcsr = random_mxcsr(s);
    memcpy(st->fx, &fcw, 2);
    memcpy(st->fx + FX_FSW, &fsw, 2);
    st->fx[FX_FTW] = (uint8_t)rng_next(s);
    memcpy(st->fx + FX_MXCSR, &mxcsr, 4);
    for (unsigned i = 0; i < 8; i++) {
        uint64_t m = rng_next(s);
        uint16_t e = (uint16_t)rng_next(s);
        memcpy(st->fx + FX_ST0 + 16 * i, &m, 8);
        memcpy(st->fx + FX_ST0 + 16 * i + 8, &e, 2);
    }
    for (unsigned i = 0; i < 16 * 16; i += 8) {
        uint64_t v = special(s);
        memcpy(st->fx + FX_XMM0 + i, &v, 8);
    }
    for (unsigned i = 0; i < DATA_BYTES; i += 8) {
        uint64_t v = special(s);
        memcpy(st->data + i, &v, 8);
    }
    for (unsigned i = MXCSR_SLOTS; i < MXCSR_SLOTS + 16; i += 4) {
        uint32_t v = random_mxcsr(s);
        memcpy(st->data + i, &v, 4);
    }
}

static void run_native(const uint8_t *code, unsigned len, struct state *st, uint8_t *scratch)
{
    struct native_x86_state n;
    memset(&n, 0, sizeof(n));
    memcpy(n.gpr, st->gpr, sizeof(n.gpr));
    memcpy(scratch, st->data, DATA_BYTES);
    n.gpr[3] = (uint64_t)(uintptr_t)scratch;
    n.gpr[RDI] = (uint64_t)(uintptr_t)scratch + RDI_OFFSET;
    n.rflags = 0x2;
    memcpy(n.fx, st->fx, sizeof(n.fx));
    struct native_x86_result r;
    cr_assert_eq(native_x86_run(code, len, &n, &r), 0);
    cr_assert(r.signo == 0 || r.trapno == XM_VECTOR, "native run raised signal %d (vector %d) at offset %llu",
              r.signo, r.trapno, (unsigned long long)r.fault_offset);
    st->vector = r.signo ? r.trapno : -1;
    st->fault_offset = r.signo ? r.fault_offset : len;
    memcpy(st->gpr, n.gpr, sizeof(n.gpr));
    st->rflags = n.rflags & STATUS_FLAGS;
    memcpy(st->fx, n.fx, sizeof(n.fx));
    memcpy(st->data, scratch, DATA_BYTES);
}

static void run_soft(struct xg *g, const uint8_t *code, unsigned len, struct state *st, const char *hex)
{
    cr_assert_eq(xg_long_mode_cpl(g, 3), 0);
    cr_assert_eq(xg_vmcs(g, VMCS_GUEST_CR4, xg_read_vmcs(g, VMCS_GUEST_CR4) | CR4_OSXMMEXCPT), 0);
    memcpy(g->ram + XG_CODE, code, len);
    g->ram[XG_CODE + len] = HLT_BYTE;
    memcpy(g->ram + XG_DATA, st->data, DATA_BYTES);
    static const hv_x86_reg_t regs[16] = { HV_X86_RAX, HV_X86_RCX, HV_X86_RDX, HV_X86_RBX, HV_X86_RSP, HV_X86_RBP,
                                           HV_X86_RSI, HV_X86_RDI, HV_X86_R8, HV_X86_R9, HV_X86_R10, HV_X86_R11,
                                           HV_X86_R12, HV_X86_R13, HV_X86_R14, HV_X86_R15 };
    for (unsigned i = 0; i < 16; i++)
        if (i != 4)
            hv_vcpu_write_register(g->vcpu, regs[i], i == 3 ? XG_DATA : i == RDI ? XG_DATA + RDI_OFFSET : st->gpr[i]);
    hv_vcpu_write_register(g->vcpu, HV_X86_RSP, XG_STACK_TOP);
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, XG_CODE);
    uint8_t fx[NATIVE_X86_FXSAVE_SIZE] __attribute__((aligned(16)));
    memcpy(fx, st->fx, sizeof(fx));
    cr_assert_eq(hv_vcpu_write_fpstate(g->vcpu, fx, sizeof(fx)), HV_SUCCESS);
    cr_assert_eq(hv_vcpu_run(g->vcpu), HV_SUCCESS);
    uint64_t rip = xg_reg(g, HV_X86_RIP);
    uint64_t sp = xg_reg(g, HV_X86_RSP), at = 0;
    if (sp + 8 <= XG_RAM_SIZE)
        memcpy(&at, g->ram + sp, 8);
    if (rip == XG_STUBS + XG_STUB_SIZE * GP_VECTOR && sp + 16 <= XG_RAM_SIZE)
        memcpy(&at, g->ram + sp + 8, 8);   /* #GP: RIP is above the error code */
    cr_assert(rip == XG_STUBS + XG_STUB_SIZE * GP_VECTOR || rip == XG_STUBS + XG_STUB_SIZE * XM_VECTOR,
              "soft run ended at %#llx (vector %llu at offset %lld), not #XM or the closing HLT's #GP: %s",
              (unsigned long long)rip, (unsigned long long)((rip - XG_STUBS) / XG_STUB_SIZE),
              (long long)(at - XG_CODE), hex);
    bool xm = rip == XG_STUBS + XG_STUB_SIZE * XM_VECTOR;
    st->vector = xm ? XM_VECTOR : -1;
    st->fault_offset = at - XG_CODE;
    for (unsigned i = 0; i < 16; i++)
        st->gpr[i] = i == 3 || i == 4 || i == RDI ? 0 : xg_reg(g, regs[i]);
    st->rflags = xg_reg(g, HV_X86_RFLAGS) & STATUS_FLAGS;
    cr_assert_eq(hv_vcpu_read_fpstate(g->vcpu, fx, sizeof(fx)), HV_SUCCESS);
    memcpy(st->fx, fx, sizeof(fx));
    memcpy(st->data, g->ram + XG_DATA, DATA_BYTES);
}

/* DPPS/DPPD (66 0F 3A 40/41): on a host whose dot products pick another NaN than
 * Intel's (tests/support/x86_vendor.h), XMM lanes that are NaNs on both sides match
 * in a sequence that has one. */
static bool is_dot_product(const struct form *f)
{
    return f->oplen == 2 && f->op[0] == 0x3a && (f->op[1] == 0x40 || f->op[1] == 0x41);
}

static void compare(const struct state *want, const struct state *got, const char *hex, unsigned seq,
                    bool any_nan)
{
    cr_assert(want->vector == got->vector && want->fault_offset == got->fault_offset,
              "sequence %u (%s): ended with vector %d at offset %llu, host vector %d at offset %llu", seq, hex,
              got->vector, (unsigned long long)got->fault_offset, want->vector,
              (unsigned long long)want->fault_offset);
    for (unsigned i = 0; i < 16; i++)
        if (i != 3 && i != 4)
            cr_assert_eq(got->gpr[i], want->gpr[i], "sequence %u (%s): gpr %u %#llx, host %#llx", seq, hex, i,
                         (unsigned long long)got->gpr[i], (unsigned long long)want->gpr[i]);
    cr_assert_eq(got->rflags, want->rflags, "sequence %u (%s): flags %#llx, host %#llx", seq, hex,
                 (unsigned long long)got->rflags, (unsigned long long)want->rflags);
    /* FCW..FTW, MXCSR, ST0-7 (MM0-7 and their exponents) and XMM0-7; FOP/FIP/FDP
     * are the x87 helper's and untouched by MMX. */
    static const struct { unsigned from, to; } spans[] = { { 0, 6 }, { FX_MXCSR, FX_MXCSR + 4 },
                                                           { FX_ST0, FX_COMPARED_END } };
    for (unsigned k = 0; k < sizeof(spans) / sizeof(spans[0]); k++)
        for (unsigned i = spans[k].from; i < spans[k].to; i++) {
            if (i >= FX_ST0 && i < FX_XMM0 && (i - FX_ST0) % 16 >= 10)
                continue;   /* reserved bytes of the ST slots */
            if (any_nan && i >= FX_XMM0 && (i - FX_XMM0) % 16 == 0 &&
                x86_vdiff_nan_lanes_equal(got->fx + i, want->fx + i)) {
                i += 15;   /* this register matches up to NaN choice */
                continue;
            }
            cr_assert_eq(got->fx[i], want->fx[i], "sequence %u (%s): FXSAVE byte %u is %#x, host %#x", seq, hex, i,
                         got->fx[i], want->fx[i]);
        }
    cr_assert(memcmp(got->data, want->data, DATA_BYTES) == 0, "sequence %u (%s): data differ", seq, hex);
}

static void run_sequences(const struct form *set, unsigned count, uint64_t seed)
{
    const char *why = NULL;
    if (!native_x86_available(&why))
        cr_skip_test("native oracle unavailable: %s", why);
    if (!anyhv_backend_available(ANYHV_BACKEND_SOFT, &why))
        cr_skip_test("soft backend unavailable: %s", why);
    setenv("ANYHV_BACKEND", "soft", 1);
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    const char *iters = getenv("ANYHV_FUZZ_ITERS");
    unsigned n = iters ? (unsigned)strtoul(iters, NULL, 10) : DEFAULT_SEQS;
    static uint8_t scratch[DATA_BYTES] __attribute__((aligned(16)));
    for (unsigned seq = 0; seq < n; seq++) {
        uint8_t code[SEQ_LEN * 8];
        unsigned len = 0;
        bool dot = false;
        for (unsigned k = 0; k < SEQ_LEN; k++) {
            const struct form *f = &set[rng_next(&seed) % count];
            dot |= is_dot_product(f);
            len += emit(code + len, f, &seed);
        }
        struct state init, native, soft;
        random_state(&seed, &init);
        native = init;
        soft = init;
        char hex[3 * SEQ_LEN * 8 + 1] = "";
        for (unsigned i = 0; i < len && 3 * i + 3 < sizeof(hex); i++)
            snprintf(hex + 3 * i, 4, "%02x ", code[i]);
        run_native(code, len, &native, scratch);
        run_soft(&g, code, len, &soft, hex);
        native.gpr[3] = native.gpr[4] = native.gpr[RDI] = 0;
        bool any_nan = dot && x86_vendor_differs(X86_VDIFF_DPPS_NAN_CHOICE);
        compare(&native, &soft, hex, seq, any_nan);
    }
    xg_destroy(&g);
}

Test(soft_x86_seq_native, mmx_sequences)
{
    run_sequences(forms, sizeof(forms) / sizeof(forms[0]), 0x9e3779b97f4a7c15ull);
}

Test(soft_x86_seq_native, sse_fp_sequences)
{
    run_sequences(fp_forms, sizeof(fp_forms) / sizeof(fp_forms[0]), 0xbf58476d1ce4e5b9ull);
}
