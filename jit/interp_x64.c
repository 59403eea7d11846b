/* interp_x64.c - an interpreter program as x86-64 machine code: the dispatch loop
 * unrolled, the simple 64-bit forms spelled inline, every other instruction a call
 * of the interpreter's own handler (interp_outline). The semantics stay the
 * interpreter's: the same slots, the same handlers, the same exits and unwinding;
 * only the dispatch and the simplest handlers' bodies become straight-line code.
 * Other hosts keep the threaded loop (interp_native_compile says no). */
#include "jit/exec_mem.h"
#include "jit/interp_xop.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/soft/soft.h"

#if defined(__x86_64__)

/* x86-64 register numbers, and the roles the generated code gives them. */
enum { RAX = 0, RCX = 1, RDX = 2, RBX = 3, RBP = 5, RSI = 6, RDI = 7, R8 = 8, R12 = 12, R13 = 13, R14 = 14, R15 = 15 };
#define R_CPU RBP       /* struct soft_cpu * (its TLB) */
#define R_VALS RBX      /* the slots (16 bytes each) */
#define R_CTX R12       /* struct ictx *, the handlers' first argument */
#define R_STATE R13     /* the vCPU's state struct */
#define R_TABLE R14     /* interp_outline */
#define R_CODE R15      /* the program's interp_insn array */

/* Encoding bits. */
#define REX 0x40u
#define REX_W 0x08u
#define REX_R 0x04u
#define REX_B 0x01u
#define MOD_DISP32 0x80u
#define MOD_REG 0xc0u
#define OPSIZE16 0x66u
#define SLOT_BYTES 16

/* Condition codes (the low nibble of SETcc / CMOVcc / Jcc). */
enum { CC_B = 0x2, CC_AE = 0x3, CC_E = 0x4, CC_NE = 0x5, CC_BE = 0x6, CC_L = 0xc, CC_LE = 0xe };

/* The largest program worth a native form: the code stays within one size class. */
#define NATIVE_MAX_INSNS 4096u

struct xbuf {
    uint8_t *p;
    size_t n, cap;
    size_t *fix;            /* offsets of rel32 fields that jump to the epilogue */
    size_t nfix, capfix;
    bool bad;
};

static void grow(struct xbuf *b, size_t more)
{
    if (b->bad || b->n + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->n + more)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->bad = true;
        return;
    }
    b->p = p;
    b->cap = cap;
}

static void put(struct xbuf *b, const uint8_t *bytes, size_t n)
{
    grow(b, n);
    if (b->bad)
        return;
    memcpy(b->p + b->n, bytes, n);
    b->n += n;
}

#define PUT(b, ...) put((b), (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void put32(struct xbuf *b, uint32_t v)
{
    PUT(b, (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24));
}

static void put64(struct xbuf *b, uint64_t v)
{
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}

/* op reg, [base + disp32] (or the store direction, by opcode). base is never rsp
 * or r12, so no SIB byte. */
static void mem(struct xbuf *b, bool w, bool opsize16, const uint8_t *op, size_t nop, unsigned reg, unsigned base,
                int32_t disp)
{
    uint8_t rex = (uint8_t)(REX | (w ? REX_W : 0) | ((reg & 8) ? REX_R : 0) | ((base & 8) ? REX_B : 0));
    if (opsize16)
        PUT(b, OPSIZE16);
    if (rex != REX)
        PUT(b, rex);
    put(b, op, nop);
    PUT(b, (uint8_t)(MOD_DISP32 | ((reg & 7) << 3) | (base & 7)));
    put32(b, (uint32_t)disp);
}

#define MEM(b, w, reg, base, disp, ...) \
    mem((b), (w), false, (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }), (reg), (base), (disp))

static int32_t slot(uint32_t s)
{
    return (int32_t)(s * SLOT_BYTES);
}

static void load_slot(struct xbuf *b, unsigned reg, uint32_t s)
{
    MEM(b, true, reg, R_VALS, slot(s), 0x8b);
}

static void store_slot(struct xbuf *b, unsigned reg, uint32_t s)
{
    MEM(b, true, reg, R_VALS, slot(s), 0x89);
}

/* rax &= the mask of w bits (rdx may be clobbered). */
static void mask_rax(struct xbuf *b, unsigned w)
{
    if (w >= 64)
        return;
    if (w == 32)
        PUT(b, 0x89, 0xc0);                       /* mov eax, eax */
    else if (w == 16)
        PUT(b, 0x0f, 0xb7, 0xc0);                 /* movzx eax, ax */
    else if (w == 8)
        PUT(b, 0x0f, 0xb6, 0xc0);                 /* movzx eax, al */
    else if (w < 32) {
        PUT(b, 0x25);                             /* and eax, imm32 */
        put32(b, (uint32_t)((1ull << w) - 1));
    } else {
        PUT(b, 0x48, 0xba);                       /* mov rdx, imm64 */
        put64(b, (1ull << w) - 1);
        PUT(b, 0x48, 0x21, 0xd0);                 /* and rax, rdx */
    }
}

/* shl/shr/sar reg, imm8 (ext: 4 shl, 5 shr, 7 sar). */
static void shift_imm(struct xbuf *b, unsigned reg, unsigned ext, unsigned n)
{
    PUT(b, (uint8_t)(REX | REX_W | ((reg & 8) ? REX_B : 0)), 0xc1, (uint8_t)(MOD_REG | (ext << 3) | (reg & 7)),
        (uint8_t)n);
}

#define SHIFT_SHL 4u
#define SHIFT_SHR 5u
#define SHIFT_SAR 7u

/* Sign-extend reg from w bits to 64. */
static void sext_reg(struct xbuf *b, unsigned reg, unsigned w)
{
    if (w >= 64)
        return;
    shift_imm(b, reg, SHIFT_SHL, 64 - w);
    shift_imm(b, reg, SHIFT_SAR, 64 - w);
}

static void jump_out(struct xbuf *b, bool conditional_nz)
{
    if (conditional_nz)
        PUT(b, 0x0f, 0x85);                       /* jnz rel32 */
    else
        PUT(b, 0xe9);                             /* jmp rel32 */
    if (b->nfix == b->capfix) {
        size_t cap = b->capfix ? b->capfix * 2 : 64;
        size_t *f = realloc(b->fix, cap * sizeof(*f));
        if (!f) {
            b->bad = true;
            return;
        }
        b->fix = f;
        b->capfix = cap;
    }
    b->fix[b->nfix++] = b->n;
    put32(b, 0);
}

/* The handler of code[i] (xop) out of line; leave when it says so. */
static void call_out(struct xbuf *b, uint32_t i, unsigned xop)
{
    PUT(b, 0x4c, 0x89, 0xe7);                     /* mov rdi, r12 */
    MEM(b, true, RSI, R_CODE, (int32_t)(i * sizeof(struct interp_insn)), 0x8d);   /* lea rsi, [r15 + i] */
    MEM(b, false, 2, R_TABLE, (int32_t)(xop * sizeof(interp_step_fn)), 0xff);   /* call [r14 + xop] */
    PUT(b, 0x85, 0xc0);                           /* test eax, eax */
    jump_out(b, true);
}

/* test byte [slot a], 1: the low bit of an i1. */
static void test_bit0(struct xbuf *b, uint32_t a)
{
    MEM(b, false, 0, R_VALS, slot(a), 0xf6);
    PUT(b, 1);
}

/* ---- the inline forms ------------------------------------------------------------ */

static bool emit_get(struct xbuf *b, const struct interp_insn *in)
{
    int32_t off = (int32_t)in->imm;
    switch (in->w) {
    case 64: MEM(b, true, RAX, R_STATE, off, 0x8b); break;
    case 32: MEM(b, false, RAX, R_STATE, off, 0x8b); break;
    case 16: MEM(b, false, RAX, R_STATE, off, 0x0f, 0xb7); break;
    case 8: MEM(b, false, RAX, R_STATE, off, 0x0f, 0xb6); break;
    case 1:
        MEM(b, false, RAX, R_STATE, off, 0x0f, 0xb6);
        PUT(b, 0x83, 0xe0, 0x01);                 /* and eax, 1 */
        break;
    default: return false;
    }
    store_slot(b, RAX, in->dst);
    return true;
}

static bool emit_set(struct xbuf *b, const struct interp_insn *in)
{
    int32_t off = (int32_t)in->imm;
    if (in->w > 64)
        return false;
    load_slot(b, RAX, in->a);
    switch (in->w) {
    case 64: MEM(b, true, RAX, R_STATE, off, 0x89); break;
    case 32: MEM(b, false, RAX, R_STATE, off, 0x89); break;
    case 16: mem(b, false, true, (const uint8_t[]){ 0x89 }, 1, RAX, R_STATE, off); break;
    case 8:
    case 1: MEM(b, false, RAX, R_STATE, off, 0x88); break;
    default: return false;
    }
    return true;
}

/* dst = (a op b) & mask: op one of the two-operand ALU opcodes (reg, r/m form). */
static bool emit_alu(struct xbuf *b, const struct interp_insn *in, const uint8_t *op, size_t nop)
{
    if (in->w == 0 || in->w > 64)
        return false;
    load_slot(b, RAX, in->a);
    mem(b, true, false, op, nop, RAX, R_VALS, slot(in->b));
    mask_rax(b, in->w);
    store_slot(b, RAX, in->dst);
    return true;
}

/* dst = (op a) & mask: not (ext 2) or neg (ext 3). */
static bool emit_unary(struct xbuf *b, const struct interp_insn *in, unsigned ext)
{
    if (in->w == 0 || in->w > 64)
        return false;
    load_slot(b, RAX, in->a);
    PUT(b, 0x48, 0xf7, (uint8_t)(MOD_REG | (ext << 3) | RAX));
    mask_rax(b, in->w);
    store_slot(b, RAX, in->dst);
    return true;
}

static bool emit_cmp(struct xbuf *b, const struct interp_insn *in, unsigned cc, bool sign)
{
    if (in->aw == 0 || in->aw > 64)
        return false;
    load_slot(b, RAX, in->a);
    load_slot(b, RCX, in->b);
    if (sign) {
        sext_reg(b, RAX, in->aw);
        sext_reg(b, RCX, in->aw);
    }
    PUT(b, 0x48, 0x39, 0xc8);                     /* cmp rax, rcx */
    PUT(b, 0x0f, (uint8_t)(0x90 | cc), 0xc0);     /* setcc al */
    PUT(b, 0x0f, 0xb6, 0xc0);                     /* movzx eax, al */
    store_slot(b, RAX, in->dst);
    return true;
}

/* Shifts by a value: counts at or past the width give 0 (shl, lshr) or the sign
 * (ashr), as the interpreter's forms say. */
static bool emit_shift(struct xbuf *b, const struct interp_insn *in, unsigned ext)
{
    unsigned w = in->w;
    if (w == 0 || w > 64)
        return false;
    load_slot(b, RAX, in->a);
    load_slot(b, RCX, in->b);
    if (ext == SHIFT_SAR) {
        sext_reg(b, RAX, w);
        PUT(b, 0xba);                             /* mov edx, w - 1 */
        put32(b, w - 1);
        PUT(b, 0x48, 0x81, 0xf9);                 /* cmp rcx, w */
        put32(b, w);
        PUT(b, 0x48, 0x0f, 0x40 | CC_AE, 0xca);   /* cmovae rcx, rdx */
        PUT(b, 0x48, 0xd3, (uint8_t)(MOD_REG | (ext << 3) | RAX));   /* sar rax, cl */
        mask_rax(b, w);
    } else {
        PUT(b, 0x48, 0xd3, (uint8_t)(MOD_REG | (ext << 3) | RAX));   /* shl/shr rax, cl */
        if (ext == SHIFT_SHL)
            mask_rax(b, w);
        PUT(b, 0x31, 0xd2);                       /* xor edx, edx */
        PUT(b, 0x48, 0x81, 0xf9);                 /* cmp rcx, w */
        put32(b, w);
        PUT(b, 0x48, 0x0f, 0x40 | CC_AE, 0xc2);   /* cmovae rax, rdx */
    }
    store_slot(b, RAX, in->dst);
    return true;
}

static bool emit_extract(struct xbuf *b, const struct interp_insn *in)
{
    if (in->imm >= 64 || in->w == 0 || in->w > 64)
        return false;
    load_slot(b, RAX, in->a);
    if (in->imm)
        shift_imm(b, RAX, SHIFT_SHR, (unsigned)in->imm);
    mask_rax(b, in->w);
    store_slot(b, RAX, in->dst);
    return true;
}

static bool emit_select(struct xbuf *b, const struct interp_insn *in)
{
    load_slot(b, RAX, in->c);
    test_bit0(b, in->a);
    MEM(b, true, RAX, R_VALS, slot(in->b), 0x0f, 0x40 | CC_NE);   /* cmovnz rax, [b] */
    store_slot(b, RAX, in->dst);
    return true;
}

/* rax = (rax & ~m) | ((b << lsb) & m), m the field's bits. */
static bool insert_into_rax(struct xbuf *b, const struct interp_insn *in)
{
    unsigned lsb = (unsigned)in->imm, fw = (unsigned)in->imm2;
    if (lsb >= 64 || fw == 0)
        return false;
    uint64_t m = (fw >= 64 ? ~0ull : (1ull << fw) - 1) << lsb;
    PUT(b, 0x48, 0xba);                           /* mov rdx, ~m */
    put64(b, ~m);
    PUT(b, 0x48, 0x21, 0xd0);                     /* and rax, rdx */
    load_slot(b, RCX, in->b);
    if (lsb)
        shift_imm(b, RCX, SHIFT_SHL, lsb);
    PUT(b, 0x48, 0xba);                           /* mov rdx, m */
    put64(b, m);
    PUT(b, 0x48, 0x21, 0xd1);                     /* and rcx, rdx */
    PUT(b, 0x48, 0x09, 0xc8);                     /* or rax, rcx */
    return true;
}

/* One insert, or four in a row each into the one before (XI_INSERT64X4: only the
 * last value is written). */
static bool emit_insert(struct xbuf *b, const struct interp_insn *in, unsigned n)
{
    for (unsigned k = 0; k < n; k++)
        if (in[k].imm >= 64 || in[k].imm2 == 0)
            return false;
    load_slot(b, RAX, in->a);
    for (unsigned k = 0; k < n; k++)
        insert_into_rax(b, &in[k]);
    store_slot(b, RAX, in[n - 1].dst);
    return true;
}

/* Rotates of 8, 16, 32 or 64 bits: the host's rotate of that size takes the count
 * modulo the width, as the IR does (ext: 0 rol, 1 ror). */
static bool emit_rotate(struct xbuf *b, const struct interp_insn *in, unsigned ext)
{
    uint8_t modrm = (uint8_t)(MOD_REG | (ext << 3) | RAX);
    if (in->w != 8 && in->w != 16 && in->w != 32 && in->w != 64)
        return false;
    load_slot(b, RAX, in->a);
    load_slot(b, RCX, in->b);
    switch (in->w) {
    case 64: PUT(b, 0x48, 0xd3, modrm); break;
    case 32: PUT(b, 0xd3, modrm); break;
    case 16: PUT(b, 0x66, 0xd3, modrm, 0x0f, 0xb7, 0xc0); break;   /* ... ; movzx eax, ax */
    case 8: PUT(b, 0xd2, modrm, 0x0f, 0xb6, 0xc0); break;          /* ... ; movzx eax, al */
    default: break;
    }
    store_slot(b, RAX, in->dst);
    return true;
}

/* The high half of a 64 x 64 product: mul (ext 4) or imul (ext 5) leave it in rdx. */
static bool emit_mulh(struct xbuf *b, const struct interp_insn *in, unsigned ext)
{
    if (in->w != 64)
        return false;
    load_slot(b, RAX, in->a);
    MEM(b, true, ext, R_VALS, slot(in->b), 0xf7);
    store_slot(b, RDX, in->dst);
    return true;
}

/* Population count of an operand of 64 bits or less. */
static bool emit_popcnt(struct xbuf *b, const struct interp_insn *in)
{
    if (!__builtin_cpu_supports("popcnt") || in->aw == 0 || in->aw > 64)
        return false;
    PUT(b, 0xf3);
    MEM(b, true, RAX, R_VALS, slot(in->a), 0x0f, 0xb8);   /* popcnt rax, [a] */
    store_slot(b, RAX, in->dst);
    return true;
}

static bool emit_copy(struct xbuf *b, const struct interp_insn *in, bool masked)
{
    if (in->w == 0 || in->w > 64)
        return false;
    load_slot(b, RAX, in->a);
    if (masked)
        mask_rax(b, in->w);
    store_slot(b, RAX, in->dst);
    return true;
}

/* A conditional exit: the handler runs only when the i1 is set (it checks it again
 * and always leaves then). */
static void emit_exit_if(struct xbuf *b, const struct interp_insn *in, uint32_t i, unsigned xop)
{
    test_bit0(b, in->a);
    PUT(b, 0x74, 0);                              /* jz over the call */
    size_t at = b->n;
    call_out(b, i, xop);
    if (!b->bad)
        b->p[at - 1] = (uint8_t)(b->n - at);
}

/* ---- guest memory: the TLB fast path inline ------------------------------------------ */

/* The fast tag a read or write compares (struct mmu_entry.fast): equal to the tag of
 * the access's last byte only for RAM this access may touch directly, with the access
 * inside the page. Anything else takes the handler, which does it all again. */
#define CPU_OFF(field) ((int32_t)offsetof(struct soft_cpu, field))
#define ENTRY_BYTES ((int32_t)sizeof(struct mmu_entry))
#define REGIME_BYTES ((int32_t)sizeof(((struct mmu_tlb *)0)->e[0]))

/* rax = va (slot a); rcx = the entry's host page; eax = va's page offset; leaves
 * a rel8 jne to patch (its offset in *miss) for a miss. */
static void tlb_fast(struct xbuf *b, const struct interp_insn *in, unsigned fast, size_t *miss)
{
    unsigned size = (unsigned)(in->imm & IR_MEM_SIZE_MASK);
    load_slot(b, RAX, in->a);
    PUT(b, 0x48, 0x89, 0xc2);                     /* mov rdx, rax */
    shift_imm(b, RDX, SHIFT_SHR, MMU_PAGE_BITS);
    PUT(b, 0x81, 0xe2);                           /* and edx, entries - 1 */
    put32(b, MMU_TLB_ENTRIES - 1);
    PUT(b, 0x69, 0xd2);                           /* imul edx, edx, entry bytes */
    put32(b, (uint32_t)ENTRY_BYTES);
    if (in->imm & IR_MEM_PRIV_USER) {
        PUT(b, 0x48, 0x81, 0xc2);                 /* add rdx, the user regime's table */
        put32(b, (uint32_t)REGIME_BYTES);
    } else {
        MEM(b, false, RCX, R_CPU, CPU_OFF(regime), 0x8b);   /* mov ecx, [cpu.regime] */
        PUT(b, 0x69, 0xc9);                       /* imul ecx, ecx, regime bytes */
        put32(b, (uint32_t)REGIME_BYTES);
        PUT(b, 0x48, 0x01, 0xca);                 /* add rdx, rcx */
    }
    PUT(b, 0x48, 0x8d, 0x88);                     /* lea rcx, [rax + size - 1] */
    put32(b, size - 1);
    PUT(b, 0x48, 0x81, 0xe1);                     /* and rcx, page mask */
    put32(b, (uint32_t)MMU_PAGE_MASK);
    MEM(b, true, RCX, R_CPU, CPU_OFF(tlb.salt), 0x0b);   /* or rcx, [cpu.tlb.salt] */
    /* cmp rcx, [rbp + rdx + fast tag] */
    PUT(b, 0x48, 0x3b, 0x8c, 0x15);
    put32(b, (uint32_t)(CPU_OFF(tlb.e) + (int32_t)offsetof(struct mmu_entry, fast) + (int32_t)(fast * sizeof(uint64_t))));
    PUT(b, 0x75, 0);                              /* jne miss */
    *miss = b->n;
    /* mov rcx, [rbp + rdx + host] */
    PUT(b, 0x48, 0x8b, 0x8c, 0x15);
    put32(b, (uint32_t)(CPU_OFF(tlb.e) + (int32_t)offsetof(struct mmu_entry, host)));
    PUT(b, 0x25);                                 /* and eax, page offset bits */
    put32(b, (uint32_t)~MMU_PAGE_MASK);
}

/* The miss: the handler, then on. */
static void tlb_slow(struct xbuf *b, size_t miss, uint32_t i, unsigned xop)
{
    PUT(b, 0xeb, 0);                              /* jmp over the handler */
    size_t over = b->n;
    if (!b->bad)
        b->p[miss - 1] = (uint8_t)(b->n - miss);
    call_out(b, i, xop);
    if (!b->bad)
        b->p[over - 1] = (uint8_t)(b->n - over);
}

#if defined(ANYHV_TSAN_BUILD)
#define INLINE_GUEST_MEMORY false   /* its guest accesses are atomics (interp.c) */
#else
#define INLINE_GUEST_MEMORY true
#endif

static bool emit_load(struct xbuf *b, const struct interp_insn *in, uint32_t i, unsigned xop)
{
    unsigned size = (unsigned)(in->imm & IR_MEM_SIZE_MASK);
    bool sign = in->imm & IR_MEM_SIGNED;
    if (!INLINE_GUEST_MEMORY || (in->imm & IR_MEM_FETCH) || in->w > 64 || in->w == 0 ||
        (size != 1 && size != 2 && size != 4 && size != 8))
        return false;
    size_t miss;
    tlb_fast(b, in, MMU_FAST_READ, &miss);
    /* rax = [rcx + rax], zero- or sign-extended */
    switch (size * 2 + sign) {
    case 2: PUT(b, 0x0f, 0xb6, 0x04, 0x01); break;
    case 3: PUT(b, 0x48, 0x0f, 0xbe, 0x04, 0x01); break;
    case 4: PUT(b, 0x0f, 0xb7, 0x04, 0x01); break;
    case 5: PUT(b, 0x48, 0x0f, 0xbf, 0x04, 0x01); break;
    case 8: PUT(b, 0x8b, 0x04, 0x01); break;
    case 9: PUT(b, 0x48, 0x63, 0x04, 0x01); break;
    default: PUT(b, 0x48, 0x8b, 0x04, 0x01); break;
    }
    if (sign)
        mask_rax(b, in->w);
    store_slot(b, RAX, in->dst);
    tlb_slow(b, miss, i, xop);
    return true;
}

static bool emit_store(struct xbuf *b, const struct interp_insn *in, uint32_t i, unsigned xop)
{
    unsigned size = (unsigned)(in->imm & IR_MEM_SIZE_MASK);
    if (!INLINE_GUEST_MEMORY || (size != 1 && size != 2 && size != 4 && size != 8))
        return false;
    size_t miss;
    tlb_fast(b, in, MMU_FAST_WRITE, &miss);
    load_slot(b, RDX, in->b);
    /* [rcx + rax] = dl / dx / edx / rdx */
    switch (size) {
    case 1: PUT(b, 0x88, 0x14, 0x01); break;
    case 2: PUT(b, 0x66, 0x89, 0x14, 0x01); break;
    case 4: PUT(b, 0x89, 0x14, 0x01); break;
    default: PUT(b, 0x48, 0x89, 0x14, 0x01); break;
    }
    tlb_slow(b, miss, i, xop);
    return true;
}

static const uint8_t op_add[] = { 0x03 }, op_sub[] = { 0x2b }, op_and[] = { 0x23 }, op_or[] = { 0x0b },
                     op_xor[] = { 0x33 }, op_mul[] = { 0x0f, 0xaf };

/* The inline form of code[i], or false for a call of its handler. */
static bool emit_inline(struct xbuf *b, const struct interp_insn *in, uint32_t i, unsigned xop)
{
    bool wide = in->w > 64;
    switch (xop) {
    case IR_INSN_START:
    case IX_INSN_NEXT: return true;
    case IX_GET64:
    case IR_GET: return emit_get(b, in);
    case IX_SET64:
    case XI_SET64_NEXT:
    case IR_SET:
    case XI_SET_NEXT: return emit_set(b, in);
    case IX_ADD64:
    case IR_ADD: return !wide && emit_alu(b, in, op_add, sizeof(op_add));
    case IX_SUB64:
    case IR_SUB: return !wide && emit_alu(b, in, op_sub, sizeof(op_sub));
    case IX_AND64:
    case IR_AND: return !wide && emit_alu(b, in, op_and, sizeof(op_and));
    case IX_OR64:
    case IR_OR: return !wide && emit_alu(b, in, op_or, sizeof(op_or));
    case IX_XOR64:
    case IR_XOR: return !wide && emit_alu(b, in, op_xor, sizeof(op_xor));
    case IR_MUL: return !wide && emit_alu(b, in, op_mul, sizeof(op_mul));
    case XI_NOT64: return emit_unary(b, in, 2);
    case XI_EQ64: return emit_cmp(b, in, CC_E, false);
    case XI_NE64: return emit_cmp(b, in, CC_NE, false);
    case XI_ULT64: return emit_cmp(b, in, CC_B, false);
    case XI_ULE64: return emit_cmp(b, in, CC_BE, false);
    case XI_SLT64: return emit_cmp(b, in, CC_L, true);
    case XI_SLE64: return emit_cmp(b, in, CC_LE, true);
    case XI_SHL64: return emit_shift(b, in, SHIFT_SHL);
    case XI_LSHR64: return emit_shift(b, in, SHIFT_SHR);
    case XI_ASHR64: return emit_shift(b, in, SHIFT_SAR);
    case XI_MOV64: return emit_copy(b, in, false);
    case XI_MASK64: return emit_copy(b, in, true);
    case XI_EXTRACT64: return emit_extract(b, in);
    case XI_SELECT64: return emit_select(b, in);
    case XI_INSERT64: return emit_insert(b, in, 1);
    case XI_INSERT64X4: return emit_insert(b, in, 4);
    case IR_ROTL: return emit_rotate(b, in, 0);
    case IR_ROTR: return emit_rotate(b, in, 1);
    case IR_UMULH: return emit_mulh(b, in, 4);
    case IR_SMULH: return emit_mulh(b, in, 5);
    case IR_POPCNT: return emit_popcnt(b, in);
    case IR_EXIT_IF:
    case IR_TRAP_IF: emit_exit_if(b, in, i, xop); return true;
    case IR_LOAD: return emit_load(b, in, i, xop);
    case IR_STORE:
    case XI_STORE_NEXT: return emit_store(b, in, i, xop);
    default: return false;
    }
}

static const uint8_t prologue[] = {
    0x55,             /* push rbp */
    0x53,             /* push rbx */
    0x41, 0x54,       /* push r12 */
    0x41, 0x55,       /* push r13 */
    0x41, 0x56,       /* push r14 */
    0x41, 0x57,       /* push r15 */
    0x48, 0x83, 0xec, 0x08, /* sub rsp, 8: 16-byte aligned for the calls */
    0x4c, 0x89, 0xcd, /* mov rbp, r9 (cpu) */
    0x48, 0x89, 0xf3, /* mov rbx, rsi (vals) */
    0x49, 0x89, 0xfc, /* mov r12, rdi (ctx) */
    0x49, 0x89, 0xd5, /* mov r13, rdx (state) */
    0x49, 0x89, 0xce, /* mov r14, rcx (handlers) */
    0x4d, 0x89, 0xc7, /* mov r15, r8 (code) */
};

static const uint8_t epilogue[] = {
    0x48, 0x83, 0xc4, 0x08, /* add rsp, 8 */
    0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5b, 0x5d, /* pop r15, r14, r13, r12, rbx, rbp */
    0xc3,                                                 /* ret */
};

bool interp_native_compile(struct interp_prog *p)
{
    if (p->native || p->count > NATIVE_MAX_INSNS)
        return false;
    struct xbuf b = { 0 };
    put(&b, prologue, sizeof(prologue));
    for (uint32_t i = p->entry; i < p->count && !b.bad;) {
        const struct interp_insn *in = &p->code[i];
        unsigned xop = in->xop;
        if (xop >= XI_COUNT || !interp_steps[xop]) {
            b.bad = true;
            break;
        }
        if (!emit_inline(&b, in, i, xop))
            call_out(&b, i, xop);
        i += interp_steps[xop];
    }
    size_t out = b.n;
    put(&b, epilogue, sizeof(epilogue));
    for (size_t k = 0; k < b.nfix && !b.bad; k++) {
        int64_t rel = (int64_t)out - (int64_t)(b.fix[k] + 4);
        uint32_t r = (uint32_t)rel;
        memcpy(b.p + b.fix[k], &r, 4);
    }
    void *code = b.bad ? NULL : exec_mem_alloc(b.n);
    if (code) {
        memcpy(code, b.p, b.n);
        /* Serialise before the code can run: without it the x87 differential test
         * failed 1 run in 5 on this (virtualised) host with code pages reused, and
         * never with it (docs/jit.md). */
        unsigned ra = 0, rb, rc = 0, rd;
        __asm__ volatile("cpuid" : "+a"(ra), "=b"(rb), "+c"(rc), "=d"(rd) : : "memory");
        p->native = code;
        p->native_bytes = (uint32_t)b.n;
    }
    free(b.p);
    free(b.fix);
    return code != NULL;
}

#include <stdio.h>
void interp_native_free(struct interp_prog *p)
{
    exec_mem_free(p->native, p->native_bytes);
    p->native = NULL;
    p->native_bytes = 0;
}

#else /* no native form on this host: the threaded loop runs every program */

bool interp_native_compile(struct interp_prog *p)
{
    (void)p;
    return false;
}

void interp_native_free(struct interp_prog *p)
{
    p->native = NULL;
    p->native_bytes = 0;
}

#endif
