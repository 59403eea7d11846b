/* helpers.c - the C helpers x86 IR calls (shared by every tier): division with
 * #DE, raising an exception, POPF's privilege rules. Registered once per process;
 * their ids live in x86_helper[]. */
#include "frontends/x86_64/x86_fe.h"
#include "frontends/x86_64/x86_avx.h"
#include "frontends/x86_64/x86_evex.h"
#include "frontends/x86_64/x86_sse.h"
#include "frontends/x86_64/x86_xsave.h"
#include "frontends/x86_64/x86_sys.h"
#include "frontends/x86_64/x87.h"

uint32_t x86_helper[X86_H_COUNT];

#define DIV_SIGNED 0x100u
#define DIV_SIZE_MASK 0xffu
#define POPF_MODIFIABLE                                                                                     \
    (X86_FLAG_CF | X86_FLAG_PF | X86_FLAG_AF | X86_FLAG_ZF | X86_FLAG_SF | X86_FLAG_TF | X86_FLAG_IF |     \
     X86_FLAG_DF | X86_FLAG_OF | X86_FLAG_IOPL | X86_FLAG_NT | X86_FLAG_AC | X86_FLAG_ID)

static void write_sized(struct x86_state *st, unsigned reg, unsigned size, uint64_t v)
{
    if (size == 8)
        st->gpr[reg] = v;
    else if (size == 4)
        st->gpr[reg] = (uint32_t)v;
    else {
        uint64_t mask = (1ull << (size * 8)) - 1;
        st->gpr[reg] = (st->gpr[reg] & ~mask) | (v & mask);
    }
}

/* Quotient and remainder of rDX:rAX (AX for bytes) by the divisor, or #DE. */
static ir_u128 h_div(void *vcpu, ir_u128 how, ir_u128 divisor, ir_u128 unused)
{
    (void)unused;
    struct soft_cpu *cpu = vcpu;
    struct x86_state *st = x86_st(cpu);
    unsigned size = (unsigned)how & DIV_SIZE_MASK, w = size * 8;
    bool sign = ((unsigned)how & DIV_SIGNED) != 0;
    unsigned __int128 lo_mask = ((unsigned __int128)1 << w) - 1;
    unsigned __int128 dividend = size == 1 ? (st->gpr[X86_RAX] & 0xffff)
                                           : (((unsigned __int128)(st->gpr[X86_RDX] & (uint64_t)lo_mask) << w) |
                                              (st->gpr[X86_RAX] & (uint64_t)lo_mask));
    uint64_t d = (uint64_t)divisor & (uint64_t)lo_mask;
    if (d == 0)
        x86_raise_now(cpu, X86_V_DE, X86_NO_ERR);
    uint64_t q, r;
    if (!sign) {
        unsigned __int128 uq = dividend / d;
        if (uq > lo_mask)
            x86_raise_now(cpu, X86_V_DE, X86_NO_ERR);
        q = (uint64_t)uq;
        r = (uint64_t)(dividend % d);
    } else {
        unsigned dw = 2 * w;   /* dividend width */
        __int128 sd = dw == 128 ? (__int128)dividend
                                : (__int128)(dividend << (128 - dw)) >> (128 - dw);
        int64_t sdiv = (int64_t)(d << (64 - w)) >> (64 - w);
        __int128 min = -((__int128)1 << (w - 1)), max = ((__int128)1 << (w - 1)) - 1;
        if (dw == 128 && sdiv == -1 && dividend == ((unsigned __int128)1 << 127))
            x86_raise_now(cpu, X86_V_DE, X86_NO_ERR);
        __int128 sq = sd / sdiv;
        if (sq < min || sq > max)
            x86_raise_now(cpu, X86_V_DE, X86_NO_ERR);
        q = (uint64_t)sq;
        r = (uint64_t)(sd % sdiv);
    }
    if (size == 1) {
        write_sized(st, X86_RAX, 2, (q & 0xff) | ((r & 0xff) << 8));
    } else {
        write_sized(st, X86_RAX, size, q);
        write_sized(st, X86_RDX, size, r);
    }
    return 0;
}

static ir_u128 h_raise(void *vcpu, ir_u128 vector, ir_u128 err, ir_u128 unused)
{
    (void)unused;
    x86_raise_now(vcpu, (unsigned)vector, (int64_t)(uint64_t)err);
}

/* POPF: IF only when CPL <= IOPL, IOPL only at CPL 0; VM, VIF, VIP, RF never. */
static ir_u128 h_popf(void *vcpu, ir_u128 value, ir_u128 size, ir_u128 unused)
{
    (void)unused;
    struct soft_cpu *cpu = vcpu;
    struct x86_state *st = x86_st(cpu);
    uint64_t old = x86_rflags_of(st);
    unsigned cpl = x86_cpl(st), iopl = (unsigned)((old & X86_FLAG_IOPL) >> 12);
    if ((old & X86_FLAG_VM) && iopl < 3)
        x86_raise_now(cpu, X86_V_GP, 0);
    uint64_t mask = POPF_MODIFIABLE;
    if (cpl > 0)
        mask &= ~(uint64_t)X86_FLAG_IOPL;
    if (cpl > iopl)
        mask &= ~(uint64_t)X86_FLAG_IF;
    if ((unsigned)size == 2)
        mask &= 0xffff;
    uint64_t v = ((old & ~mask) | ((uint64_t)value & mask)) & ~(uint64_t)X86_FLAG_RF;
    x86_rflags_write(st, v);
    return 0;
}

/* #GP(0) unless addr is aligned: to 16 bytes, or to mask + 1 when mask is given
 * (the 32-byte AVX forms). */
static ir_u128 h_align16(void *vcpu, ir_u128 addr, ir_u128 mask, ir_u128 unused2)
{
    (void)unused2;
    if ((uint64_t)addr & ((uint64_t)mask ? (uint64_t)mask : 15))
        x86_raise_now(vcpu, X86_V_GP, 0);
    return 0;
}

void x86_helpers_register(void)
{
    static const struct ir_helper table[X86_H_COUNT] = {
        /* Writes rAX and rDX only (or faults). */
        [X86_H_DIV] = { "x86_div", h_div,
                        IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_WRITES_PLAIN | IR_HELPER_MAY_FAULT },
        [X86_H_RAISE] = { "x86_raise", h_raise, IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_FAULT },
        [X86_H_POPF] = { "x86_popf", h_popf, IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_FAULT },
        [X86_H_SYSTEM] = { "x86_system", x86_h_system,
                           IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_FAULT | IR_HELPER_MEM },
    };
    static const struct ir_helper sse[] = {
        { "x86_sse", x86_h_sse, IR_HELPER_PURE },
        { "x86_align16", h_align16, IR_HELPER_READS_STATE | IR_HELPER_MAY_FAULT },   /* state only to fault */
        { "x86_pcmpstr", x86_h_pcmpstr, IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE },
        { "x86_sse_fp", x86_h_sse_fp, IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_FAULT },
    };
    x86_helper[X86_H_FXSR] = ir_helper_register(&x86_fxsr_helper);
    x86_helper[X86_H_MASKMOV] = ir_helper_register(&x86_maskmov_helper);
    x86_helper[X86_H_XSAVE] = ir_helper_register(&x86_xsave_helper);
    x86_helper[X86_H_BITS] = ir_helper_register(&x86_bits_helper);
    x86_helper[X86_H_AVX_FP] = ir_helper_register(&x86_avx_fp_helper);
    x86_helper[X86_H_AVX_MEM] = ir_helper_register(&x86_avx_mem_helper);
    x86_helper[X86_H_SSE_FP_PURE] = ir_helper_register(&x86_sse_fp_pure_helper);
    x86_helper[X86_H_REP_BULK] = ir_helper_register(&x86_rep_bulk_helper);
    x86_helper[X86_H_EVEX] = ir_helper_register(&x86_evex_helper);
    x86_sse_str_init();
    x86_sse_crypto_init();
    for (unsigned i = 0; i < sizeof(sse) / sizeof(sse[0]); i++)
        x86_helper[X86_H_SSE + i] = ir_helper_register(&sse[i]);
    for (unsigned i = 0; i < X86_H_SSE; i++)
        x86_helper[i] = ir_helper_register(&table[i]);
    x87_helpers_register();
    x86_debug_helpers_register();
}
