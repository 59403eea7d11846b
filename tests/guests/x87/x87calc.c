/* x87calc - long double (and, in the i386 build, float/double on the x87) arithmetic
 * for the soft route's x87: sums, products, divisions, square roots, integer and
 * double conversions, rounding modes, a few transcendentals, all printed with our
 * own formatting. Built as a guest and, with the same compiler and flags, as a
 * freestanding Linux program (native_linux.c): the two outputs must be identical. */
#include <stdint.h>

#include "../demo/demo.h"

#define DIGITS 19                    /* significant decimal digits printed */
#define HARMONIC_N 2000
#define FACT_N 30
#define RC_SHIFT 10
#define FCW_RC_MASK (3u << RC_SHIFT)

static void put_str(const char *s)
{
    while (*s)
        demo_putc(*s++);
}

static void put_u64(uint64_t v)
{
    char d[24];
    int n = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        demo_putc(d[--n]);
}

static void put_i64(int64_t v)
{
    if (v < 0) {
        demo_putc('-');
        put_u64(0 - (uint64_t)v);
    } else {
        put_u64((uint64_t)v);
    }
}

static void put_hex(uint64_t v, int nibbles)
{
    for (int i = nibbles - 1; i >= 0; i--)
        demo_putc("0123456789abcdef"[(v >> (4 * i)) & 15]);
}

/* The 80-bit encoding, then a decimal rendering computed on the x87 itself. */
static void put_ld(const char *name, long double x)
{
    union {
        long double v;
        struct {
            uint64_t mant;
            uint16_t se;
        } b;
    } u = { .v = x };
    put_str(name);
    put_str(" = ");
    put_hex(u.b.se, 4);
    demo_putc(':');
    put_hex(u.b.mant, 16);
    put_str("  ");
    if (x != x) {
        put_str("nan\n");
        return;
    }
    if (x < 0) {
        demo_putc('-');
        x = -x;
    }
    if (x == 1.0L / 0.0L) {
        put_str("inf\n");
        return;
    }
    int exp10 = 0;
    if (x != 0) {
        while (x >= 10.0L) {
            x /= 10.0L;
            exp10++;
        }
        while (x < 1.0L) {
            x *= 10.0L;
            exp10--;
        }
    }
    for (int i = 0; i < DIGITS; i++) {
        int d = (int)x;
        demo_putc((char)('0' + d));
        if (i == 0)
            demo_putc('.');
        x = (x - d) * 10.0L;
    }
    put_str("e");
    put_i64(exp10);
    demo_putc('\n');
}

static uint16_t get_fcw(void)
{
    uint16_t cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    return cw;
}

static void set_fcw(uint16_t cw)
{
    __asm__ volatile("fldcw %0" : : "m"(cw) : "memory");
}

/* A value the compiler cannot fold: every operation below runs on the x87. */
static long double v(long double x)
{
    volatile long double t = x;
    return t;
}

static long double x87_unary(uint8_t op, long double x)
{
    switch (op) {
    case 0: __asm__("fsin" : "+t"(x)); break;
    case 1: __asm__("fcos" : "+t"(x)); break;
    case 2: __asm__("f2xm1" : "+t"(x)); break;
    default: __asm__("frndint" : "+t"(x)); break;
    }
    return x;
}

static long double x87_atan2(long double y, long double x)
{
    long double r;
    __asm__("fpatan" : "=t"(r) : "0"(x), "u"(y) : "st(1)");
    return r;
}

static long double x87_log2(long double x)
{
    long double r;
    __asm__("fld1\n\tfxch\n\tfyl2x" : "=t"(r) : "0"(x));
    return r;
}

static void sums_and_products(void)
{
    long double h = 0, f = 1, alt = 0;
    for (int i = 1; i <= HARMONIC_N; i++) {
        h += v(1.0L) / i;
        alt += (i & 1 ? 4.0L : -4.0L) / (2 * i - 1);
    }
    for (int i = 1; i <= FACT_N; i++)
        f *= i;
    put_ld("harmonic(2000)", h);
    put_ld("leibniz pi(2000)", alt);
    put_ld("30!", f);
    put_ld("1/7", v(1.0L) / 7);
    put_ld("-22/7", v(-22.0L) / 7);
    put_ld("sqrt 2", __builtin_sqrtl(v(2.0L)));
    put_ld("sqrt 1e-300", __builtin_sqrtl(v(1e-300L)));
    long double e = v(1), term = v(1);
    for (int i = 1; i < 25; i++) {
        term /= i;
        e += term;
    }
    put_ld("e", e);
    long double r = v(10);   /* Newton: cube root of 10 */
    for (int i = 0; i < 40; i++)
        r = r - (r * r * r - 10) / (3 * r * r);
    put_ld("cbrt 10", r);
    put_ld("tiny*tiny", v(1e-3000L) * v(1e-2000L));
    put_ld("denormal", v(1e-4940L) * v(3.0L));
    put_ld("huge*huge", v(1e3000L) * v(1e2000L));
    put_ld("0/0", v(0.0L) / v(0.0L));
}

static void conversions(void)
{
    static const long double vals[] = { 2.5L, -2.5L, 3.5L, -7.75L, 1e18L, -9.2233720368547758e18L, 0.49999999999L };
    for (unsigned i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        put_str("trunc ");
        long double x = v(vals[i]);
        put_i64((int64_t)x);
        put_str(" int32 ");
        put_i64((int32_t)x);
        double d = (double)x;
        float f = (float)x;
        union { double d; uint64_t u; } du = { .d = d };
        union { float f; uint32_t u; } fu = { .f = f };
        put_str(" double ");
        put_hex(du.u, 16);
        put_str(" float ");
        put_hex(fu.u, 8);
        demo_putc('\n');
    }
    volatile int64_t big = INT64_C(0x7ffffffffffffbff);
    put_ld("(long double)int64", (long double)big);
    volatile double tenth = 0.1;
    volatile float tenth_f = 0.1f;
    put_ld("(long double)(double)0.1", (long double)tenth);
    put_ld("(long double)(float)0.1", (long double)tenth_f);
}

/* Each rounding mode on the same quotient and the same integer conversion. */
static void rounding_modes(void)
{
    uint16_t cw = get_fcw();
    for (unsigned rc = 0; rc < 4; rc++) {
        set_fcw((uint16_t)((cw & ~FCW_RC_MASK) | (rc << RC_SHIFT)));
        volatile long double a = 2, b = 3;
        volatile long double q = a / b;
        volatile long double n = x87_unary(3, v(-2.5L));
        volatile int64_t k = (int64_t)__builtin_llrintl(v(-2.5L));
        set_fcw(cw);
        put_str("rc ");
        put_u64(rc);
        put_ld(" 2/3", q);
        put_ld("     rndint(-2.5)", n);
        put_str("     lrint(-2.5) ");
        put_i64(k);
        demo_putc('\n');
    }
}

/* Float and double arithmetic: the x87 in the i386 build (-mno-sse), SSE in x86_64. */
static void float_double(void)
{
    volatile float f0 = 0;
    volatile double d0 = 0, d1 = 1;
    float fs = f0;
    double ds = d0, dp = d1;
    for (int i = 1; i <= 1000; i++) {
        fs += 1.0f / (float)i;
        ds += 1.0 / i;
        dp *= 1.0 + 1.0 / (i * 7);
    }
    union { double d; uint64_t u; } du = { .d = ds }, dpu = { .d = dp };
    union { float f; uint32_t u; } fu = { .f = fs };
    put_str("float harmonic ");
    put_hex(fu.u, 8);
    put_str(" double harmonic ");
    put_hex(du.u, 16);
    put_str(" double product ");
    put_hex(dpu.u, 16);
    demo_putc('\n');
}

/* Transcendentals, printed to 12 digits (fx80 promises 1 ulp, not the host's bits). */
static void put_approx(const char *name, long double x)
{
    put_str(name);
    put_str(" ~ ");
    if (x < 0) {
        demo_putc('-');
        x = -x;
    }
    int exp10 = 0;
    while (x >= 10.0L) {
        x /= 10.0L;
        exp10++;
    }
    while (x != 0 && x < 1.0L) {
        x *= 10.0L;
        exp10--;
    }
    long double scaled = x * 1e11L + 0.5L;
    put_u64((uint64_t)(int64_t)scaled);
    put_str("e");
    put_i64(exp10 - 11);
    demo_putc('\n');
}

static void transcendentals(void)
{
    put_approx("sin 1", x87_unary(0, v(1.0L)));
    put_approx("cos 0.5", x87_unary(1, v(0.5L)));
    put_approx("2^0.3-1", x87_unary(2, v(0.3L)));
    put_approx("atan2(1,3)", x87_atan2(v(1.0L), v(3.0L)));
    put_approx("log2 10", x87_log2(v(10.0L)));
}

int demo_main(void)
{
    put_str("x87calc\n");
    sums_and_products();
    conversions();
    rounding_modes();
    float_double();
    transcendentals();
    put_str("done\n");
    return 0;
}
