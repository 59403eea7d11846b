/* test_avx512_native.c - AVX-512 on the soft route (ANYHV_X86_AVX512=1) against the
 * host CPU: random short sequences of the EVEX forms and opmask instructions the soft
 * CPU implements (frontends/x86_64/avx512_ops.c), with random registers 0-31, opmask
 * registers, vector lengths, zeroing, broadcast, compressed disp8 (positive and
 * negative) and sometimes an encoding the SDM makes #UD, run natively and in a
 * 64-bit guest from the same state. The state goes in and out through XRSTOR64/
 * XSAVE64 with every AVX-512 component (so XSAVE's components 5-7 are checked too),
 * and the GPRs, status flags, data and the saved image must agree bit for bit, or
 * both runs must end in the same exception. Skips where the host lacks AVX-512F/BW/
 * DQ/VL (Unicorn has no AVX-512: its QEMU base predates it). ANYHV_FUZZ_ITERS runs
 * more sequences; AVX512_FORM=name one form. Also: the model (leaf 7, leaf 0xD) with
 * AVX-512 on, and #UD while XCR0 lacks the ZMM components. */
#include <cpuid.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include <anyhv/anyhv.h>

#include "native_x86.h"
#include "x86_guest.h"

#define SEQS_DEFAULT 400
#define SEQ_INSNS 5
#define MAX_CODE 256
#define DATA_BYTES 0x400u            /* operands at data[0..0x3ff]; RBX = data + BASE */
#define BASE 0x200u
#define IMG_IN 0x400u                /* XRSTOR64 source (64-byte aligned) */
#define IMG_OUT 0x1000u              /* XSAVE64 destination */
#define GPR_SAVE 0x1c00u             /* RAX, RDX around the wrapper */
#define AREA 0x1c40u
#define XSAVE_BYTES 2688u
#define XCR0_ALL 0xe7u
#define HDR 512u
#define MXCSR_OFF 24u
#define STATUS_FLAGS 0x8d5u
#define CR4_OSXSAVE (1ull << 18)
#define CR4_OSXMMEXCPT (1ull << 10)
#define HLT 0xf4
#define CODE_AREA 0x100000u
#define CODE_SLOT 0x100u
#define CODE_SLOTS 4096u
#define V_UD 6

struct st {
    int vector;
    uint64_t gpr[16];
    uint64_t rflags;
    uint8_t mem[AREA];
};

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint64_t special(uint64_t *s)
{
    uint64_t v = rng(s);
    switch (rng(s) % 6) {
    case 0: return v & 0x00ff00ff00ff00ffull;
    case 1: return 0;
    case 2: return ~0ull;
    case 3: return v & 0x8080808080808080ull;
    default: return v;
    }
}

/* Operand shapes of the forms. */
enum shape {
    S_RVM,     /* reg, vvvv, rm/mem */
    S_RM,      /* reg, rm/mem (vvvv 1111) */
    S_RM_IB,   /* reg, rm/mem, imm8 (vvvv 1111) */
    S_MR,      /* rm/mem <- reg (stores; vvvv 1111) */
    S_RVM_IB,  /* reg, vvvv, rm/mem, imm8 */
    S_KVM,     /* k <- vvvv cmp rm/mem */
    S_KVM_IB,
    S_RG,      /* reg <- GPR (rm, register only) */
    S_MOVIN,   /* xmm reg <- GPR/mem (128-bit, unmasked) */
    S_MOVOUT,  /* GPR/mem <- xmm reg (128-bit, unmasked) */
    S_NT,      /* mem <- reg, unmasked (VMOVNTDQ) */
    S_GRP_IB,  /* vvvv <- rm/mem by imm8, ModRM.reg the opcode extension */
    S_VEX,     /* a VEX (AVX/AVX2) instruction: reg, vvvv, rm/mem of 0-15 (bits 511:256 zeroed) */
    S_VZU,     /* VZEROUPPER (f->opc 0x77) or VZEROALL (f->w = 1: VEX.L1) */
    S_FXRSTOR, /* FXRSTOR64 of the input image's legacy area: AVX-512 state untouched */
    /* VEX opmask forms */
    K_KKK,     /* k, k, k (L1) */
    K_KK,      /* k, k (L0) */
    K_KM,      /* k <- k/mem */
    K_MK,      /* mem <- k */
    K_KG,      /* k <- GPR */
    K_GK,      /* GPR <- k */
    K_KK_IB,   /* kshift: k, k, imm8 (0F3A) */
};

struct form {
    const char *name;
    uint8_t map, pp, opc, w, shape;
    uint8_t fv;        /* EVEX.b broadcast allowed with memory (full-vector tuple) */
    uint8_t aligned;   /* VL-aligned memory operand */
    uint8_t ext;       /* S_GRP_IB: ModRM.reg */
};

#define E(n, map, pp, opc, w, shape, fv, al) { n, map, pp, opc, w, shape, fv, al, 0 }
#define G(n, opc, ext, w, fv) { n, 1, 1, opc, w, S_GRP_IB, fv, 0, ext }
static const struct form forms[] = {
    E("vmovdqa64", 1, 1, 0x6f, 1, S_RM, 0, 1), E("vmovdqa32.st", 1, 1, 0x7f, 0, S_MR, 0, 1),
    E("vmovdqu32", 1, 2, 0x6f, 0, S_RM, 0, 0), E("vmovdqu64.st", 1, 2, 0x7f, 1, S_MR, 0, 0),
    E("vmovdqu8", 1, 3, 0x6f, 0, S_RM, 0, 0), E("vmovdqu16.st", 1, 3, 0x7f, 1, S_MR, 0, 0),
    E("vmovdqu16", 1, 3, 0x6f, 1, S_RM, 0, 0), E("vmovdqu8.st", 1, 3, 0x7f, 0, S_MR, 0, 0),
    E("vmovups", 1, 0, 0x10, 0, S_RM, 0, 0), E("vmovupd.st", 1, 1, 0x11, 1, S_MR, 0, 0),
    E("vmovaps", 1, 0, 0x28, 0, S_RM, 0, 1), E("vmovapd.st", 1, 1, 0x29, 1, S_MR, 0, 1),
    E("vpandd", 1, 1, 0xdb, 0, S_RVM, 1, 0), E("vpandnq", 1, 1, 0xdf, 1, S_RVM, 1, 0),
    E("vpord", 1, 1, 0xeb, 0, S_RVM, 1, 0), E("vpxorq", 1, 1, 0xef, 1, S_RVM, 1, 0),
    E("vpternlogd", 3, 1, 0x25, 0, S_RVM_IB, 1, 0), E("vpternlogq", 3, 1, 0x25, 1, S_RVM_IB, 1, 0),
    E("vpaddb", 1, 1, 0xfc, 0, S_RVM, 0, 0), E("vpaddw", 1, 1, 0xfd, 0, S_RVM, 0, 0),
    E("vpaddd", 1, 1, 0xfe, 0, S_RVM, 1, 0), E("vpaddq", 1, 1, 0xd4, 1, S_RVM, 1, 0),
    E("vpsubb", 1, 1, 0xf8, 0, S_RVM, 0, 0), E("vpsubw", 1, 1, 0xf9, 0, S_RVM, 0, 0),
    E("vpsubd", 1, 1, 0xfa, 0, S_RVM, 1, 0), E("vpsubq", 1, 1, 0xfb, 1, S_RVM, 1, 0),
    E("vpminub", 1, 1, 0xda, 0, S_RVM, 0, 0), E("vpmaxub", 1, 1, 0xde, 0, S_RVM, 0, 0),
    E("vpminsw", 1, 1, 0xea, 0, S_RVM, 0, 0), E("vpmaxsw", 1, 1, 0xee, 0, S_RVM, 0, 0),
    E("vpminsb", 2, 1, 0x38, 0, S_RVM, 0, 0), E("vpmaxsb", 2, 1, 0x3c, 0, S_RVM, 0, 0),
    E("vpminuw", 2, 1, 0x3a, 0, S_RVM, 0, 0), E("vpmaxuw", 2, 1, 0x3e, 0, S_RVM, 0, 0),
    E("vpminsq", 2, 1, 0x39, 1, S_RVM, 1, 0), E("vpmaxsd", 2, 1, 0x3d, 0, S_RVM, 1, 0),
    E("vpminud", 2, 1, 0x3b, 0, S_RVM, 1, 0), E("vpmaxuq", 2, 1, 0x3f, 1, S_RVM, 1, 0),
    E("vpcmpeqb", 1, 1, 0x74, 0, S_KVM, 0, 0), E("vpcmpeqw", 1, 1, 0x75, 0, S_KVM, 0, 0),
    E("vpcmpeqd", 1, 1, 0x76, 0, S_KVM, 1, 0), E("vpcmpeqq", 2, 1, 0x29, 1, S_KVM, 1, 0),
    E("vpcmpgtb", 1, 1, 0x64, 0, S_KVM, 0, 0), E("vpcmpgtw", 1, 1, 0x65, 0, S_KVM, 0, 0),
    E("vpcmpgtd", 1, 1, 0x66, 0, S_KVM, 1, 0), E("vpcmpgtq", 2, 1, 0x37, 1, S_KVM, 1, 0),
    E("vpcmpb", 3, 1, 0x3f, 0, S_KVM_IB, 0, 0), E("vpcmpuw", 3, 1, 0x3e, 1, S_KVM_IB, 0, 0),
    E("vpcmpub", 3, 1, 0x3e, 0, S_KVM_IB, 0, 0), E("vpcmpw", 3, 1, 0x3f, 1, S_KVM_IB, 0, 0),
    E("vpcmpd", 3, 1, 0x1f, 0, S_KVM_IB, 1, 0), E("vpcmpuq", 3, 1, 0x1e, 1, S_KVM_IB, 1, 0),
    E("vptestmb", 2, 1, 0x26, 0, S_KVM, 0, 0), E("vptestmq", 2, 1, 0x27, 1, S_KVM, 1, 0),
    E("vptestnmw", 2, 2, 0x26, 1, S_KVM, 0, 0), E("vptestnmd", 2, 2, 0x27, 0, S_KVM, 1, 0),
    E("vpbroadcastb", 2, 1, 0x78, 0, S_RM, 0, 0), E("vpbroadcastw", 2, 1, 0x79, 0, S_RM, 0, 0),
    E("vpbroadcastd", 2, 1, 0x58, 0, S_RM, 0, 0), E("vpbroadcastq", 2, 1, 0x59, 1, S_RM, 0, 0),
    E("vpbroadcastb.r", 2, 1, 0x7a, 0, S_RG, 0, 0), E("vpbroadcastw.r", 2, 1, 0x7b, 0, S_RG, 0, 0),
    E("vpbroadcastd.r", 2, 1, 0x7c, 0, S_RG, 0, 0), E("vpbroadcastq.r", 2, 1, 0x7c, 1, S_RG, 0, 0),
    E("vbroadcastss", 2, 1, 0x18, 0, S_RM, 0, 0), E("vmovntdq", 1, 1, 0xe7, 0, S_NT, 0, 1),
    E("vmovd.in", 1, 1, 0x6e, 0, S_MOVIN, 0, 0), E("vmovq.in", 1, 1, 0x6e, 1, S_MOVIN, 0, 0),
    E("vmovd.out", 1, 1, 0x7e, 0, S_MOVOUT, 0, 0), E("vmovq.out", 1, 1, 0x7e, 1, S_MOVOUT, 0, 0),
    G("vprord", 0x72, 0, 0, 1), G("vprolq", 0x72, 1, 1, 1), G("vprorq", 0x72, 0, 1, 1), G("vprold", 0x72, 1, 0, 1),
    G("vpsrld", 0x72, 2, 0, 1), G("vpsraq", 0x72, 4, 1, 1), G("vpsrad", 0x72, 4, 0, 1), G("vpslld", 0x72, 6, 0, 1),
    G("vpsrlq", 0x73, 2, 1, 1), G("vpsllq", 0x73, 6, 1, 1), G("vpsrlw", 0x71, 2, 0, 0), G("vpsraw", 0x71, 4, 0, 0),
    G("vpsllw", 0x71, 6, 0, 0),
    E("vpermi2d", 2, 1, 0x76, 0, S_RVM, 1, 0), E("vpermi2q", 2, 1, 0x76, 1, S_RVM, 1, 0),
    E("vpmullw", 1, 1, 0xd5, 0, S_RVM, 0, 0), E("vpmulld", 2, 1, 0x40, 0, S_RVM, 1, 0),
    E("vpmullq", 2, 1, 0x40, 1, S_RVM, 1, 0), E("vpaddsb", 1, 1, 0xec, 0, S_RVM, 0, 0),
    E("vpaddsw", 1, 1, 0xed, 0, S_RVM, 0, 0), E("vpaddusb", 1, 1, 0xdc, 0, S_RVM, 0, 0),
    E("vpaddusw", 1, 1, 0xdd, 0, S_RVM, 0, 0), E("vpsubsb", 1, 1, 0xe8, 0, S_RVM, 0, 0),
    E("vpsubsw", 1, 1, 0xe9, 0, S_RVM, 0, 0), E("vpsubusb", 1, 1, 0xd8, 0, S_RVM, 0, 0),
    E("vpsubusw", 1, 1, 0xd9, 0, S_RVM, 0, 0), E("vpavgb", 1, 1, 0xe0, 0, S_RVM, 0, 0),
    E("vpavgw", 1, 1, 0xe3, 0, S_RVM, 0, 0), E("vpabsb", 2, 1, 0x1c, 0, S_RM, 0, 0),
    E("vpabsw", 2, 1, 0x1d, 0, S_RM, 0, 0), E("vpabsd", 2, 1, 0x1e, 0, S_RM, 1, 0),
    E("vpabsq", 2, 1, 0x1f, 1, S_RM, 1, 0), E("vplzcntd", 2, 1, 0x44, 0, S_RM, 1, 0),
    E("vplzcntq", 2, 1, 0x44, 1, S_RM, 1, 0), E("vpconflictd", 2, 1, 0xc4, 0, S_RM, 1, 0),
    E("vpconflictq", 2, 1, 0xc4, 1, S_RM, 1, 0), E("vpshufb", 2, 1, 0x00, 0, S_RVM, 0, 0),
    E("vpshufd", 1, 1, 0x70, 0, S_RM_IB, 1, 0), E("vpermd", 2, 1, 0x36, 0, S_RVM, 1, 0),
    E("vpermq", 2, 1, 0x36, 1, S_RVM, 1, 0), E("valignd", 3, 1, 0x03, 0, S_RVM_IB, 1, 0),
    E("valignq", 3, 1, 0x03, 1, S_RVM_IB, 1, 0),
    E("vex vpaddd", 1, 1, 0xfe, 0, S_VEX, 0, 0), E("vex vpxor", 1, 1, 0xef, 0, S_VEX, 0, 0),
    E("vex vmovdqu", 1, 2, 0x6f, 0, S_VEX, 0, 0), E("vzeroupper", 1, 0, 0x77, 0, S_VZU, 0, 0),
    E("vzeroall", 1, 0, 0x77, 1, S_VZU, 0, 0), E("fxrstor64", 0, 0, 0, 0, S_FXRSTOR, 0, 0),
    E("vpermt2d", 2, 1, 0x7e, 0, S_RVM, 1, 0), E("vpermt2q", 2, 1, 0x7e, 1, S_RVM, 1, 0),
};

#define K(n, map, pp, opc, w, shape) { n, map, pp, opc, w, shape, 0, 0, 0 }
static const struct form kforms[] = {
    K("kandw", 1, 0, 0x41, 0, K_KKK), K("kandb", 1, 1, 0x41, 0, K_KKK), K("kandq", 1, 0, 0x41, 1, K_KKK),
    K("kandnd", 1, 1, 0x42, 1, K_KKK), K("korw", 1, 0, 0x45, 0, K_KKK), K("kxnorb", 1, 1, 0x46, 0, K_KKK),
    K("kxorq", 1, 0, 0x47, 1, K_KKK), K("kaddd", 1, 1, 0x4a, 1, K_KKK), K("kaddw", 1, 0, 0x4a, 0, K_KKK),
    K("kunpckbw", 1, 1, 0x4b, 0, K_KKK), K("kunpckdq", 1, 0, 0x4b, 1, K_KKK),
    K("knotq", 1, 0, 0x44, 1, K_KK), K("knotb", 1, 1, 0x44, 0, K_KK), K("kortestw", 1, 0, 0x98, 0, K_KK),
    K("kortestq", 1, 0, 0x98, 1, K_KK), K("kortestb", 1, 1, 0x98, 0, K_KK), K("ktestd", 1, 1, 0x99, 1, K_KK),
    K("ktestw", 1, 0, 0x99, 0, K_KK), K("kmovw", 1, 0, 0x90, 0, K_KM), K("kmovq", 1, 0, 0x90, 1, K_KM),
    K("kmovb.st", 1, 1, 0x91, 0, K_MK), K("kmovd.st", 1, 1, 0x91, 1, K_MK), K("kmovw.r", 1, 0, 0x92, 0, K_KG),
    K("kmovq.r", 1, 3, 0x92, 1, K_KG), K("kmovd.g", 1, 3, 0x93, 0, K_GK), K("kmovb.g", 1, 1, 0x93, 0, K_GK),
    K("kmovq.g", 1, 3, 0x93, 1, K_GK), K("kshiftrw", 3, 1, 0x30, 1, K_KK_IB), K("kshiftlq", 3, 1, 0x33, 1, K_KK_IB),
    K("kshiftlb", 3, 1, 0x32, 0, K_KK_IB), K("kshiftrd", 3, 1, 0x31, 0, K_KK_IB),
};

/* GPRs a form may read or write: not RSP (the harness's) nor RBX (the data pointer,
 * which differs between the runs). */
static const uint8_t free_gpr[] = { 0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

static unsigned gpr(uint64_t *s)
{
    return free_gpr[rng(s) % sizeof(free_gpr)];
}

/* ModRM for [rbx + disp8] (mod 01, rm 011) or a register. */
static unsigned modrm(uint8_t *p, unsigned reg, bool mem, unsigned rm, int disp8)
{
    if (!mem) {
        p[0] = (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7));
        return 1;
    }
    p[0] = (uint8_t)(0x40 | ((reg & 7) << 3) | 3);
    p[1] = (uint8_t)(int8_t)disp8;
    return 2;
}

/* A VEX instruction (C4 form) among the EVEX ones: registers 0-15, 128 or 256 bits. */
static unsigned emit_vex(uint8_t *p, const struct form *f, uint64_t *s)
{
    if (f->shape == S_FXRSTOR) {   /* fxrstor64 [rbx + IMG_IN - BASE] */
        const uint8_t b[] = { 0x48, 0x0f, 0xae, 0x8b, (IMG_IN - BASE) & 0xff, (IMG_IN - BASE) >> 8, 0, 0 };
        memcpy(p, b, sizeof(b));
        return sizeof(b);
    }
    if (f->shape == S_VZU) {
        p[0] = 0xc5, p[1] = (uint8_t)(0xf8 | (f->w << 2)), p[2] = 0x77;
        return 3;
    }
    bool mem = rng(s) % 3 == 0;
    unsigned reg = rng(s) % 16, v = f->opc == 0x6f ? 0 : rng(s) % 16, rm = mem ? 3 : rng(s) % 16, l = rng(s) % 2;
    p[0] = 0xc4;
    p[1] = (uint8_t)((!(reg & 8) << 7) | (1 << 6) | (!(rm & 8) << 5) | f->map);
    p[2] = (uint8_t)(((~v & 15) << 3) | (l << 2) | f->pp);
    p[3] = f->opc;
    return 4 + modrm(p + 4, reg, mem, rm, (int)(rng(s) % 8) * 16);
}

/* One EVEX instruction of form f; `odd` sometimes breaks an encoding rule. */
static unsigned emit_evex(uint8_t *p, const struct form *f, uint64_t *s)
{
    if (f->shape >= S_VEX)
        return emit_vex(p, f, s);
    bool mem = f->shape == S_NT || (f->shape != S_RG && rng(s) % 3 == 0);
    unsigned ll = rng(s) % 3, reg = rng(s) % 32, v = rng(s) % 32, rm = rng(s) % 32;
    unsigned aaa = rng(s) % 8, z = rng(s) % 2, b = mem && f->fv && rng(s) % 3 == 0;
    bool novvvv = f->shape == S_RM || f->shape == S_RM_IB || f->shape == S_MR || f->shape == S_RG ||
                  f->shape >= S_MOVIN;
    if (f->shape >= S_MOVIN)
        aaa = z = 0;
    if (f->shape == S_MOVIN || f->shape == S_MOVOUT) {
        ll = 0;
        rm = gpr(s);
    }
    if (f->shape == S_KVM || f->shape == S_KVM_IB) {
        reg = rng(s) % 8;
        z = 0;
    }
    if ((f->shape == S_MR || f->shape == S_MOVOUT) && mem)
        z = 0;
    if (novvvv)
        v = 0;
    if (f->shape == S_RG)
        rm = gpr(s);
    if (mem)
        rm = 3;   /* [rbx + disp8*N] */
    if (f->shape == S_GRP_IB)
        reg = f->ext;
    bool odd = rng(s) % 16 == 0;
    if (odd) {   /* an encoding that should be #UD on both: reserved bit, vvvv, LL 3, b */
        switch (rng(s) % 4) {
        case 0: ll = 3; break;
        case 1: v = novvvv ? 1 + rng(s) % 31 : v; break;
        case 2: b = 1; break;
        default: z = 1; aaa = f->shape >= S_MOVIN ? rng(s) % 8 : aaa; break;
        }
    }
    unsigned x = mem ? 0 : rm >> 4;
    p[0] = 0x62;
    p[1] = (uint8_t)((!(reg & 8) << 7) | (!x << 6) | (!(rm & 8) << 5) | (!(reg & 16) << 4) | f->map);
    p[2] = (uint8_t)((f->w << 7) | ((~v & 15) << 3) | 4 | f->pp);
    p[3] = (uint8_t)((z << 7) | (ll << 5) | (b << 4) | (!(v & 16) << 3) | aaa);
    p[4] = f->opc;
    unsigned n = 5;
    int disp = (int)(rng(s) % 8) - 4;
    n += modrm(p + n, reg, mem, rm, disp);
    if (f->shape == S_RVM_IB || f->shape == S_KVM_IB || f->shape == S_GRP_IB || f->shape == S_RM_IB)
        p[n++] = (uint8_t)(f->shape == S_GRP_IB && rng(s) % 2 ? rng(s) % 70 : rng(s));
    return n;
}

/* One VEX opmask instruction (C4 form). */
static unsigned emit_kop(uint8_t *p, const struct form *f, uint64_t *s)
{
    bool mem = (f->shape == K_KM && rng(s) % 3 == 0) || f->shape == K_MK;
    unsigned k1 = rng(s) % 8, k2 = rng(s) % 8, k3 = rng(s) % 8;
    unsigned reg = k1, rm = k3, v = f->shape == K_KKK ? k2 : 0, l = f->shape == K_KKK;
    if (f->shape == K_KG)
        rm = gpr(s);
    if (f->shape == K_GK)
        reg = gpr(s);
    if (mem)
        rm = 3;
    p[0] = 0xc4;
    p[1] = (uint8_t)((!(reg & 8) << 7) | (1 << 6) | (!(rm & 8) << 5) | f->map);
    p[2] = (uint8_t)((f->w << 7) | ((~v & 15) << 3) | (l << 2) | f->pp);
    p[3] = f->opc;
    unsigned n = 4;
    n += modrm(p + n, reg, mem, rm, (int)(rng(s) % 64) - 32);
    if (f->shape == K_KK_IB)
        p[n++] = (uint8_t)(rng(s) % 70);
    return n;
}

/* mov eax,0xe7; xor edx,edx; xrstor64 [rbx+IMG_IN-BASE]; mov rax,[rbx+GPR_SAVE-BASE]; mov rdx,[..+8] */
static unsigned prologue(uint8_t *p)
{
    const uint8_t code[] = {
        0xb8, XCR0_ALL, 0, 0, 0, 0x31, 0xd2, 0x48, 0x0f, 0xae, 0xab, (IMG_IN - BASE) & 0xff, (IMG_IN - BASE) >> 8, 0, 0,
        0x48, 0x8b, 0x83, (GPR_SAVE - BASE) & 0xff, (GPR_SAVE - BASE) >> 8, 0, 0,
        0x48, 0x8b, 0x93, (GPR_SAVE + 8 - BASE) & 0xff, (GPR_SAVE + 8 - BASE) >> 8, 0, 0,
    };
    memcpy(p, code, sizeof(code));
    return sizeof(code);
}

/* mov [..],rax; mov [..+8],rdx; mov eax,0xe7; xor edx,edx (flags!) -> mov edx,0; xsave64 [rbx+IMG_OUT-BASE] */
static unsigned epilogue(uint8_t *p)
{
    const uint8_t code[] = {
        0x48, 0x89, 0x83, (GPR_SAVE - BASE) & 0xff, (GPR_SAVE - BASE) >> 8, 0, 0,
        0x48, 0x89, 0x93, (GPR_SAVE + 8 - BASE) & 0xff, (GPR_SAVE + 8 - BASE) >> 8, 0, 0,
        0xb8, XCR0_ALL, 0, 0, 0, 0xba, 0, 0, 0, 0,
        0x48, 0x0f, 0xae, 0xa3, (IMG_OUT - BASE) & 0xff, (IMG_OUT - BASE) >> 8, 0, 0,
    };
    memcpy(p, code, sizeof(code));
    return sizeof(code);
}

static void random_state(uint64_t *s, struct st *t)
{
    memset(t, 0, sizeof(*t));
    t->vector = -1;
    for (unsigned i = 0; i < 16; i++)
        t->gpr[i] = special(s);
    t->rflags = rng(s) & STATUS_FLAGS;
    for (unsigned i = 0; i < DATA_BYTES; i += 8) {
        uint64_t v = special(s);
        memcpy(t->mem + i, &v, 8);
    }
    uint8_t *img = t->mem + IMG_IN;
    uint16_t fcw = 0x037f;
    uint32_t mxcsr = 0x1f80;
    memcpy(img, &fcw, 2);
    memcpy(img + MXCSR_OFF, &mxcsr, 4);
    for (unsigned i = 160; i < 416; i += 8) {
        uint64_t v = special(s);
        memcpy(img + i, &v, 8);
    }
    for (unsigned i = 576; i < XSAVE_BYTES; i += 8) {
        uint64_t v = special(s);
        if (i >= 832 && i < 1088)
            v = 0;   /* MPX's hole */
        memcpy(img + i, &v, 8);
    }
    uint64_t bv = XCR0_ALL;
    memcpy(img + HDR, &bv, 8);
}

static void prepare(struct st *t)
{
    memcpy(t->mem + GPR_SAVE, &t->gpr[0], 8);
    memcpy(t->mem + GPR_SAVE + 8, &t->gpr[2], 8);
}

static void finish(struct st *t)
{
    memcpy(&t->gpr[0], t->mem + GPR_SAVE, 8);
    memcpy(&t->gpr[2], t->mem + GPR_SAVE + 8, 8);
    t->gpr[3] = t->gpr[4] = 0;
}

static void run_native(const uint8_t *code, unsigned len, struct st *t)
{
    static uint8_t scratch[AREA] __attribute__((aligned(64)));
    struct native_x86_state n;
    memset(&n, 0, sizeof(n));
    native_x86_default_fpu(&n);
    prepare(t);
    memcpy(n.gpr, t->gpr, sizeof(n.gpr));
    memcpy(scratch, t->mem, sizeof(scratch));
    n.gpr[3] = (uint64_t)(uintptr_t)scratch + BASE;
    n.rflags = t->rflags;
    struct native_x86_result r;
    cr_assert_eq(native_x86_run(code, len, &n, &r), 0);
    t->vector = r.signo ? r.trapno : -1;
    memcpy(t->gpr, n.gpr, sizeof(t->gpr));
    t->rflags = n.rflags & STATUS_FLAGS;
    memcpy(t->mem, scratch, sizeof(scratch));
    finish(t);
}

static const hv_x86_reg_t regs[16] = { HV_X86_RAX, HV_X86_RCX, HV_X86_RDX, HV_X86_RBX, HV_X86_RSP, HV_X86_RBP,
                                       HV_X86_RSI, HV_X86_RDI, HV_X86_R8,  HV_X86_R9,  HV_X86_R10, HV_X86_R11,
                                       HV_X86_R12, HV_X86_R13, HV_X86_R14, HV_X86_R15 };

static void run_soft(struct xg *g, const uint8_t *code, unsigned len, struct st *t, unsigned slot)
{
    uint64_t at = CODE_AREA + (uint64_t)(slot % CODE_SLOTS) * CODE_SLOT;
    cr_assert_eq(xg_long_mode(g), 0);
    cr_assert_eq(xg_vmcs(g, VMCS_GUEST_CR4, xg_read_vmcs(g, VMCS_GUEST_CR4) | CR4_OSXSAVE | CR4_OSXMMEXCPT), 0);
    cr_assert_eq(hv_vcpu_write_register(g->vcpu, HV_X86_XCR0, XCR0_ALL), HV_SUCCESS);
    prepare(t);
    memcpy(g->ram + at, code, len);
    g->ram[at + len] = HLT;
    memcpy(g->ram + XG_DATA, t->mem, sizeof(t->mem));
    for (unsigned i = 0; i < 16; i++)
        if (i != 4)
            hv_vcpu_write_register(g->vcpu, regs[i], i == 3 ? XG_DATA + BASE : t->gpr[i]);
    hv_vcpu_write_register(g->vcpu, HV_X86_RSP, XG_STACK_TOP);
    hv_vcpu_write_register(g->vcpu, HV_X86_RIP, at);
    hv_vcpu_write_register(g->vcpu, HV_X86_RFLAGS, 0x2 | t->rflags);
    cr_assert_eq(hv_vcpu_run(g->vcpu), HV_SUCCESS);
    uint64_t rip = xg_reg(g, HV_X86_RIP);
    t->vector = xg_exit_reason(g) == VMX_REASON_HLT && rip == at + len ? -1
                : rip >= XG_STUBS && rip < XG_STUBS + XG_STUB_SIZE * XG_VECTORS
                    ? (int)((rip - XG_STUBS) / XG_STUB_SIZE)
                    : 100 + (int)xg_exit_reason(g);
    for (unsigned i = 0; i < 16; i++)
        t->gpr[i] = xg_reg(g, regs[i]);
    t->rflags = xg_reg(g, HV_X86_RFLAGS) & STATUS_FLAGS;
    memcpy(t->mem, g->ram + XG_DATA, sizeof(t->mem));
    finish(t);
}

static void compare(const struct st *want, const struct st *got, const char *hex)
{
    cr_assert_eq(got->vector, want->vector, "%s: ended with vector %d, host %d", hex, got->vector, want->vector);
    if (want->vector >= 0)
        return;
    for (unsigned i = 0; i < 16; i++)
        cr_assert_eq(got->gpr[i], want->gpr[i], "%s: gpr %u %#llx, host %#llx", hex, i,
                     (unsigned long long)got->gpr[i], (unsigned long long)want->gpr[i]);
    cr_assert_eq(got->rflags, want->rflags, "%s: flags %#llx, host %#llx", hex, (unsigned long long)got->rflags,
                 (unsigned long long)want->rflags);
    for (unsigned i = 0; i < DATA_BYTES; i++)
        cr_assert_eq(got->mem[i], want->mem[i], "%s: data byte %#x is %#x, host %#x", hex, i, got->mem[i],
                     want->mem[i]);
    for (unsigned i = 0; i < XSAVE_BYTES; i++) {
        if ((i >= 28 && i < 32) || (i >= HDR && i < HDR + 64))
            continue;   /* MXCSR_MASK and the header (XINUSE tracking) are the processor's */
        cr_assert_eq(got->mem[IMG_OUT + i], want->mem[IMG_OUT + i], "%s: XSAVE byte %u is %#x, host %#x", hex, i,
                     got->mem[IMG_OUT + i], want->mem[IMG_OUT + i]);
    }
}

static bool host_avx512(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    unsigned need = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);   /* F, DQ, BW, VL */
    return (b & need) == need;
}

static void require(void)
{
    const char *why = NULL;
    if (!native_x86_available(&why))
        cr_skip_test("native oracle unavailable: %s", why);
    if (!anyhv_backend_available(ANYHV_BACKEND_SOFT, &why))
        cr_skip_test("soft backend unavailable: %s", why);
    if (!host_avx512())
        cr_skip_test("host CPU lacks AVX-512 F/BW/DQ/VL");
}

static void hex_of(const uint8_t *code, unsigned len, char *out, size_t outlen)
{
    out[0] = 0;
    for (unsigned i = 0; i < len && 3 * i + 3 < outlen; i++)
        snprintf(out + 3 * i, 4, "%02x ", code[i]);
}

static struct xg fresh(void)
{
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    cr_assert_eq(xg_vmcs(&g, VMCS_CTRL_EXC_BITMAP, 0), 0);
    return g;
}

static void run_table(const struct form *all, unsigned count, bool vex, uint64_t seed)
{
    const char *only = getenv("AVX512_FORM");
    const struct form *set = all;
    for (unsigned i = 0; only && i < count; i++)
        if (!strcmp(all[i].name, only)) {
            set = &all[i];
            count = 1;
        }
    const char *iters = getenv("ANYHV_FUZZ_ITERS");
    unsigned n = iters ? (unsigned)strtoul(iters, NULL, 10) : SEQS_DEFAULT;
    struct xg g = fresh();
    unsigned ran = 0;
    for (unsigned seq = 0; seq < n; seq++) {
        if (seq && seq % CODE_SLOTS == 0) {
            xg_destroy(&g);
            g = fresh();
        }
        uint8_t code[MAX_CODE];
        unsigned len = prologue(code);
        for (unsigned k = 0; k < SEQ_INSNS; k++) {
            const struct form *f = &set[rng(&seed) % count];
            len += vex ? emit_kop(code + len, f, &seed) : emit_evex(code + len, f, &seed);
        }
        len += epilogue(code + len);
        struct st init, native, soft;
        random_state(&seed, &init);
        native = init;
        soft = init;
        char hex[3 * MAX_CODE + 1];
        hex_of(code, len, hex, sizeof(hex));
        run_native(code, len, &native);
        run_soft(&g, code, len, &soft, seq);
        compare(&native, &soft, hex);
        ran += native.vector < 0;
    }
    xg_destroy(&g);
    /* Most sequences must run to their end, or the comparison says little. */
    cr_assert_geq(ran, n / 3, "only %u of %u sequences ran to the end", ran, n);
    cr_log_info("%u of %u sequences ran to the end", ran, n);
}

static void avx512_on(void)
{
    setenv("ANYHV_BACKEND", "soft", 1);
    setenv("ANYHV_X86_AVX512", "1", 1);
}

Test(soft_x86_avx512_native, evex_forms)
{
    avx512_on();
    require();
    run_table(forms, sizeof(forms) / sizeof(forms[0]), false, 0x5eed0512u);
}

Test(soft_x86_avx512_native, opmask_forms)
{
    avx512_on();
    require();
    run_table(kforms, sizeof(kforms) / sizeof(kforms[0]), true, 0x6b6d61736bu);
}

/* The model with AVX-512 on: leaf 7 F/DQ/CD/BW/VL, leaf 0xD components 5-7 at
 * Intel's offsets and the sizes for XCR0 = 0xE7. */
Test(soft_x86_avx512, cpuid_model)
{
    avx512_on();
    struct xg g;
    cr_assert_eq(xg_create(&g), 0);
    uint32_t r[4];
    cr_assert_eq(anyhv_vcpu_x86_cpuid(g.vcpu, 7, 0, r), HV_SUCCESS);
    uint32_t want = (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31);
    cr_assert_eq(r[1] & want, want);
    cr_assert_eq(anyhv_vcpu_x86_cpuid(g.vcpu, 0xd, 0, r), HV_SUCCESS);
    cr_assert_eq(r[0], XCR0_ALL);
    cr_assert_eq(r[2], XSAVE_BYTES);
    static const uint32_t size[3] = { 64, 512, 1024 }, off[3] = { 1088, 1152, 1664 };
    for (unsigned i = 0; i < 3; i++) {
        cr_assert_eq(anyhv_vcpu_x86_cpuid(g.vcpu, 0xd, 5 + i, r), HV_SUCCESS);
        cr_assert_eq(r[0], size[i]);
        cr_assert_eq(r[1], off[i]);
    }
    cr_assert_eq(hv_vcpu_write_register(g.vcpu, HV_X86_XCR0, XCR0_ALL), HV_SUCCESS);
    cr_assert_eq(anyhv_vcpu_x86_cpuid(g.vcpu, 0xd, 0, r), HV_SUCCESS);
    cr_assert_eq(r[1], XSAVE_BYTES);
    cr_assert_eq(anyhv_vcpu_x86_cpuid(g.vcpu, 0xd, 1, r), HV_SUCCESS);
    cr_assert_eq(r[1], 576u + 256u + 64u + 512u + 1024u, "compacted size %u", r[1]);
    xg_destroy(&g);
}

/* An EVEX instruction is #UD while XCR0 lacks the ZMM components (here XCR0 = 7),
 * and so is an opmask instruction; with them it runs. */
Test(soft_x86_avx512, ud_without_xcr0_zmm)
{
    avx512_on();
    const char *why = NULL;
    if (!anyhv_backend_available(ANYHV_BACKEND_SOFT, &why))
        cr_skip_test("soft backend unavailable: %s", why);
    struct xg g = fresh();
    static const uint8_t vpxord[] = { 0x62, 0xf1, 0x7d, 0x48, 0xef, 0xc0 };   /* vpxord zmm0,zmm0,zmm0 */
    static const uint8_t kmovw[] = { 0xc5, 0xf8, 0x92, 0xc8 };               /* kmovw k1,eax */
    const uint8_t *codes[2] = { vpxord, kmovw };
    unsigned lens[2] = { sizeof(vpxord), sizeof(kmovw) };
    for (unsigned c = 0; c < 2; c++)
        for (unsigned xcr0 = 7; xcr0 <= XCR0_ALL; xcr0 += XCR0_ALL - 7) {
            cr_assert_eq(xg_long_mode(&g), 0);
            cr_assert_eq(xg_vmcs(&g, VMCS_GUEST_CR4, xg_read_vmcs(&g, VMCS_GUEST_CR4) | CR4_OSXSAVE), 0);
            cr_assert_eq(hv_vcpu_write_register(g.vcpu, HV_X86_XCR0, xcr0), HV_SUCCESS);
            uint64_t at = CODE_AREA + (2 * c + (xcr0 != 7)) * CODE_SLOT;
            memcpy(g.ram + at, codes[c], lens[c]);
            g.ram[at + lens[c]] = HLT;
            hv_vcpu_write_register(g.vcpu, HV_X86_RIP, at);
            hv_vcpu_write_register(g.vcpu, HV_X86_RSP, XG_STACK_TOP);
            cr_assert_eq(hv_vcpu_run(g.vcpu), HV_SUCCESS);
            uint64_t rip = xg_reg(&g, HV_X86_RIP);
            if (xcr0 == 7)
                cr_assert_eq(rip, XG_STUBS + XG_STUB_SIZE * V_UD, "form %u: rip %#llx, want #UD", c,
                             (unsigned long long)rip);
            else
                cr_assert_eq(rip, at + lens[c], "form %u ran to %#llx", c, (unsigned long long)rip);
        }
    xg_destroy(&g);
}

/* The aligned forms (VMOVDQA32/64, VMOVAPS/APD, VMOVNTDQ) at every vector length on
 * addresses 4, 16 and 32 bytes off alignment, masked and not: #GP(0) exactly where the
 * host raises it (whatever the mask), and the same state where it does not. */
Test(soft_x86_avx512_native, aligned_forms_misaligned)
{
    avx512_on();
    require();
    /* EVEX prefix and opcode of each form, ModRM 0x43 ([rbx+disp8]) and disp8 0 follow */
    static const uint8_t forms_[][5] = {
        { 0x62, 0xf1, 0xfd, 0x08, 0x6f },   /* vmovdqa64 load */
        { 0x62, 0xf1, 0x7d, 0x08, 0x7f },   /* vmovdqa32 store */
        { 0x62, 0xf1, 0x7c, 0x08, 0x28 },   /* vmovaps load */
        { 0x62, 0xf1, 0xfd, 0x08, 0x29 },   /* vmovapd store */
        { 0x62, 0xf1, 0x7d, 0x08, 0xe7 },   /* vmovntdq */
    };
    static const unsigned offs[] = { 0, 4, 16, 32 };
    struct xg g = fresh();
    uint64_t seed = 0xa11a;
    unsigned slot = 0, faults = 0;
    for (unsigned f = 0; f < sizeof(forms_) / sizeof(forms_[0]); f++)
        for (unsigned ll = 0; ll < 3; ll++)
            for (unsigned o = 0; o < sizeof(offs) / sizeof(offs[0]); o++)
                for (unsigned masked = 0; masked < 2; masked++) {
                    if (f == 4 && masked)
                        continue;   /* VMOVNTDQ has no masking */
                    uint8_t code[MAX_CODE];
                    unsigned len = prologue(code);
                    /* lea rbx, [rbx + off] ... lea rbx, [rbx - off]: no flags change */
                    code[len++] = 0x48, code[len++] = 0x8d, code[len++] = 0x5b, code[len++] = (uint8_t)offs[o];
                    memcpy(code + len, forms_[f], 5);
                    code[len + 3] = (uint8_t)((ll << 5) | 0x08 | (masked ? 2 : 0));
                    len += 5;
                    code[len++] = 0x43, code[len++] = 0;
                    code[len++] = 0x48, code[len++] = 0x8d, code[len++] = 0x5b, code[len++] = (uint8_t)-offs[o];
                    len += epilogue(code + len);
                    struct st init, native, soft;
                    random_state(&seed, &init);
                    native = init;
                    soft = init;
                    char hex[3 * MAX_CODE + 1];
                    hex_of(code, len, hex, sizeof(hex));
                    run_native(code, len, &native);
                    run_soft(&g, code, len, &soft, slot++);
                    compare(&native, &soft, hex);
                    faults += native.vector == 13;
                }
    xg_destroy(&g);
    cr_assert_gt(faults, 0, "no misaligned case faulted on the host");
}
