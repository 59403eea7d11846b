/* test_sse_native.c - the SSE helpers against the host CPU (tests/soft_x86/native_x86.h):
 * PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM for every imm8 control on inputs biased
 * towards matches, zero elements and saturating lengths, and CRC32 at every source
 * size. The helper is called the way the lifter calls it (state in a struct
 * x86_state); the instruction runs natively from the same inputs. Skips off x86-64
 * hosts and where the host lacks SSE4.2. */
#include <criterion/criterion.h>
#include <cpuid.h>
#include <string.h>

#include "frontends/x86_64/x86_sse.h"
#include "native_x86.h"

#define CPUID1_ECX_SSE42 (1u << 20)
#define CASES_PER_CONTROL 24
#define RFLAGS_STATUS 0x8d5u   /* CF PF AF ZF SF OF */
#define RFLAGS_CF 0x001u
#define RFLAGS_PF 0x004u
#define RFLAGS_AF 0x010u
#define RFLAGS_ZF 0x040u
#define RFLAGS_SF 0x080u
#define RFLAGS_OF 0x800u

static void require_oracle(void)
{
    const char *why = NULL;
    if (!native_x86_available(&why))
        cr_skip_test("native oracle unavailable: %s", why);
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & CPUID1_ECX_SSE42))
        cr_skip_test("host CPU has no SSE4.2");
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Elements from a small alphabet (so sets, ranges and substrings match), zeros
 * sometimes (implicit lengths), the signed extremes. */
static void random_operand(uint64_t *s, x86_lanes *x)
{
    static const uint8_t alphabet[] = { 'a', 'b', 'c', 'z', 0x00, 0x7f, 0x80, 0xff, 'a', 'b', 0x41, 0x61 };
    for (unsigned i = 0; i < 16; i++)
        x->b[i] = alphabet[rng_next(s) % sizeof(alphabet)];
    if (rng_next(s) % 3 == 0)   /* no zero element at all: length 16 / 8 */
        for (unsigned i = 0; i < 16; i++)
            x->b[i] |= x->b[i] ? 0 : 'q';
}

static uint64_t random_length(uint64_t *s)
{
    static const uint64_t special[] = { 0x80000000u, 0xffffffffu, 0x8000000000000000ull, 0xfffffffffffffff0ull,
                                        0x100000003ull, 17, 16, 8, 9 };
    uint64_t r = rng_next(s);
    if (r % 5 == 0)
        return special[(r >> 8) % (sizeof(special) / sizeof(special[0]))];
    return (uint64_t)((int64_t)((r >> 8) % 41) - 20);
}

static unsigned flags_of(uint64_t rflags)
{
    return ((rflags & RFLAGS_CF) ? X86_SSE_FLAG_CF : 0) | ((rflags & RFLAGS_ZF) ? X86_SSE_FLAG_ZF : 0) |
           ((rflags & RFLAGS_SF) ? X86_SSE_FLAG_SF : 0) | ((rflags & RFLAGS_OF) ? X86_SSE_FLAG_OF : 0) |
           ((rflags & RFLAGS_PF) ? X86_SSE_FLAG_PF : 0) | ((rflags & RFLAGS_AF) ? 0x100u : 0);
}

/* One PCMPxSTRx xmm1, xmm2, imm8 (opcode 60-63) natively and through the helper. */
static void check_pcmpstr(unsigned opc, bool rexw, unsigned imm, const x86_lanes *a, const x86_lanes *b,
                          uint64_t rax, uint64_t rdx)
{
    uint8_t code[8] = { 0x66, 0x0f, 0x3a, (uint8_t)opc, 0xca, (uint8_t)imm };
    unsigned len = 6;
    if (rexw) {
        memmove(code + 2, code + 1, 5);
        code[1] = 0x48;
        len = 7;
    }
    struct native_x86_state s;
    memset(&s, 0, sizeof(s));
    native_x86_default_fpu(&s);
    s.gpr[0] = rax;
    s.gpr[1] = 0x5555555555555555ull;
    s.gpr[2] = rdx;
    s.rflags = RFLAGS_STATUS;   /* every status flag set: the ones cleared must be */
    memcpy(s.fx + NATIVE_FX_XMM0 + 16, a, 16);
    memcpy(s.fx + NATIVE_FX_XMM0 + 32, b, 16);
    struct native_x86_result r;
    cr_assert_eq(native_x86_run(code, len, &s, &r), 0);
    cr_assert_eq(r.signo, 0, "%02x imm %02x raised signal %d", opc, imm, r.signo);

    static struct x86_state st;
    memset(&st, 0, sizeof(st));
    st.gpr[X86_RAX] = rax;
    st.gpr[X86_RCX] = 0x5555555555555555ull;
    st.gpr[X86_RDX] = rdx;
    struct soft_cpu cpu = { .state = &st };
    unsigned form = ((opc & 2) ? 0 : X86_PCMPSTR_EXPLICIT) | ((opc & 1) ? 0 : X86_PCMPSTR_MASK) |
                    (rexw ? X86_PCMPSTR_REXW : 0);
    x86_h_pcmpstr(&cpu, a->v, b->v, imm | (form << 8));
    unsigned want = flags_of(s.rflags);
    unsigned got = (st.soft.cf ? X86_SSE_FLAG_CF : 0) | (st.soft.zf ? X86_SSE_FLAG_ZF : 0) |
                   (st.soft.sf ? X86_SSE_FLAG_SF : 0) | (st.soft.of ? X86_SSE_FLAG_OF : 0) |
                   (st.soft.pf ? X86_SSE_FLAG_PF : 0) | (st.soft.af ? 0x100u : 0);
    cr_assert_eq(got, want, "opc %02x%s imm %02x rax %#llx rdx %#llx: flags %#x, host %#x", opc, rexw ? " W" : "",
                 imm, (unsigned long long)rax, (unsigned long long)rdx, got, want);
    if (form & X86_PCMPSTR_MASK) {
        cr_assert(memcmp(&st.fpu.xmm[0], s.fx + NATIVE_FX_XMM0, 16) == 0, "opc %02x imm %02x: mask differs", opc,
                  imm);
    } else {
        cr_assert_eq(st.gpr[X86_RCX], s.gpr[1], "opc %02x%s imm %02x rax %#llx rdx %#llx: rcx %#llx, host %#llx",
                     opc, rexw ? " W" : "", imm, (unsigned long long)rax, (unsigned long long)rdx,
                     (unsigned long long)st.gpr[X86_RCX], (unsigned long long)s.gpr[1]);
    }
}

Test(soft_x86_sse_native, pcmpstr_every_control)
{
    require_oracle();
    x86_helpers_register();
    uint64_t seed = 0x243f6a8885a308d3ull;
    for (unsigned opc = 0x60; opc <= 0x63; opc++)
        for (unsigned imm = 0; imm < 256; imm++)
            for (unsigned k = 0; k < CASES_PER_CONTROL; k++) {
                x86_lanes a, b;
                random_operand(&seed, &a);
                random_operand(&seed, &b);
                bool rexw = (opc & 2) == 0 && (k & 3) == 3;
                check_pcmpstr(opc, rexw, imm, &a, &b, random_length(&seed), random_length(&seed));
            }
}

/* CRC32 eax/rax, cl/cx/ecx/rcx natively against x86_crc32c. */
Test(soft_x86_sse_native, crc32_every_size)
{
    require_oracle();
    x86_helpers_register();
    static const struct { uint8_t code[6]; unsigned len, bytes; } forms[] = {
        { { 0xf2, 0x0f, 0x38, 0xf0, 0xc1 }, 5, 1 },
        { { 0x66, 0xf2, 0x0f, 0x38, 0xf1, 0xc1 }, 6, 2 },
        { { 0xf2, 0x0f, 0x38, 0xf1, 0xc1 }, 5, 4 },
        { { 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc1 }, 6, 8 },
        { { 0xf2, 0x48, 0x0f, 0x38, 0xf0, 0xc1 }, 6, 1 },
    };
    uint64_t seed = 0x13198a2e03707344ull;
    for (unsigned f = 0; f < sizeof(forms) / sizeof(forms[0]); f++)
        for (unsigned k = 0; k < 200; k++) {
            struct native_x86_state s;
            memset(&s, 0, sizeof(s));
            native_x86_default_fpu(&s);
            s.gpr[0] = rng_next(&seed);
            s.gpr[1] = rng_next(&seed);
            uint64_t crc_in = s.gpr[0], data = s.gpr[1];
            struct native_x86_result r;
            cr_assert_eq(native_x86_run(forms[f].code, forms[f].len, &s, &r), 0);
            cr_assert_eq(r.signo, 0);
            uint64_t want = s.gpr[0];
            uint64_t got = x86_crc32c((uint32_t)crc_in, data, forms[f].bytes);
            cr_assert_eq(got, want, "crc32 form %u: %#llx, host %#llx (a 32-bit result zero-extends)", f,
                         (unsigned long long)got, (unsigned long long)want);
        }
}
