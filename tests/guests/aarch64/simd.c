/* arm64 guest compiled with AdvSIMD allowed (-O2): loops the compiler vectorizes,
 * each checked against the same loop with vectorization disabled. main() returns 0,
 * or the number of the first check that differs. */
#include <stdint.h>

#define N 67   /* not a multiple of any vector length: tails are exercised */
#define SCALAR _Pragma("clang loop vectorize(disable) interleave(disable)")

static uint32_t seed = 12345;
static uint32_t next(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    return seed;
}

static int32_t a32[N], b32[N], c32[N], d32[N];
static uint8_t a8[N], b8[N];
static int16_t a16[N];
static float af[N], bf[N];
static double ad[N];

static void fill(void)
{
    for (int i = 0; i < N; i++) {
        a32[i] = (int32_t)next();
        b32[i] = (int32_t)(next() % 1000) - 500;
        a8[i] = (uint8_t)next();
        b8[i] = (uint8_t)next();
        a16[i] = (int16_t)next();
        af[i] = (float)((int32_t)(next() % 20000) - 10000) / 64.0f;
        bf[i] = (float)(next() % 1000) / 8.0f;
        ad[i] = (double)(int32_t)next() / 3.0;
    }
}

__attribute__((noinline)) static int check_arith(void)
{
    for (int i = 0; i < N; i++)
        c32[i] = a32[i] * b32[i] + (a32[i] >> 3) - (b32[i] & 0xff);
    SCALAR for (int i = 0; i < N; i++)
        d32[i] = a32[i] * b32[i] + (a32[i] >> 3) - (b32[i] & 0xff);
    for (int i = 0; i < N; i++)
        if (c32[i] != d32[i])
            return 1;
    return 0;
}

__attribute__((noinline)) static int check_reductions(void)
{
    uint32_t s8 = 0, s8s = 0;
    int32_t mx = INT32_MIN, mxs = INT32_MIN, mn = INT32_MAX, mns = INT32_MAX;
    int64_t wide = 0, wides = 0;
    for (int i = 0; i < N; i++) {
        s8 += a8[i];
        mx = a32[i] > mx ? a32[i] : mx;
        mn = b32[i] < mn ? b32[i] : mn;
        wide += a16[i];
    }
    SCALAR for (int i = 0; i < N; i++) {
        s8s += a8[i];
        mxs = a32[i] > mxs ? a32[i] : mxs;
        mns = b32[i] < mns ? b32[i] : mns;
        wides += a16[i];
    }
    return (s8 != s8s) * 2 + (mx != mxs) * 3 + (mn != mns) * 4 + (wide != wides) * 5;
}

__attribute__((noinline)) static int check_bytes(void)
{
    uint8_t x[N], y[N];
    for (int i = 0; i < N; i++)
        x[i] = (uint8_t)(a8[i] > b8[i] ? a8[i] - b8[i] : b8[i] - a8[i]) ^ (uint8_t)__builtin_popcount(a8[i]);
    SCALAR for (int i = 0; i < N; i++)
        y[i] = (uint8_t)(a8[i] > b8[i] ? a8[i] - b8[i] : b8[i] - a8[i]) ^ (uint8_t)__builtin_popcount(a8[i]);
    for (int i = 0; i < N; i++)
        if (x[i] != y[i])
            return 6;
    return 0;
}

__attribute__((noinline)) static int check_float(void)
{
    float dot = 0, dots = 0, x[N], y[N];
    for (int i = 0; i < N; i++) {
        x[i] = af[i] * bf[i] + 1.5f;
        x[i] = x[i] > 100.0f ? 100.0f : x[i];
    }
    SCALAR for (int i = 0; i < N; i++) {
        y[i] = af[i] * bf[i] + 1.5f;
        y[i] = y[i] > 100.0f ? 100.0f : y[i];
    }
    for (int i = 0; i < N; i++)
        if (x[i] != y[i])
            return 7;
    /* integer-valued products keep the sum exact in any order */
    for (int i = 0; i < N; i++)
        dot += (float)(int)af[i] * 2.0f;
    SCALAR for (int i = 0; i < N; i++)
        dots += (float)(int)af[i] * 2.0f;
    if (dot != dots)
        return 8;
    double sd = 0;
    for (int i = 0; i < N; i++)
        sd += ad[i] > 0 ? ad[i] : -ad[i];
    return sd > 0 ? 0 : 9;
}

struct blob {
    uint64_t q[5];
    uint32_t w[3];
};

__attribute__((noinline)) static int check_copy(void)
{
    struct blob src = { { 1, 2, 3, 4, 5 }, { 6, 7, 8 } }, dst;
    volatile struct blob *vs = &src;
    dst = *(struct blob *)vs;
    uint8_t buf[96];
    for (int i = 0; i < 96; i++)
        buf[i] = 0x5a;
    for (int i = 0; i < 5; i++)
        if (dst.q[i] != (uint64_t)i + 1)
            return 10;
    for (int i = 0; i < 96; i++)
        if (buf[i] != 0x5a)
            return 11;
    return 0;
}

/* 4x4 matrix products: rows of b scaled by lanes of a row of a, the shape clang
 * turns into FMLA/FMUL and MUL/MLA by element. Small integers keep every sum exact. */
__attribute__((noinline)) static void matmul_f(float c[4][4], const float a[4][4], const float b[4][4])
{
    for (int i = 0; i < 4; i++) {
        float row[4] = { 0, 0, 0, 0 };
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < 4; j++)
                row[j] += a[i][k] * b[k][j];
        for (int j = 0; j < 4; j++)
            c[i][j] = row[j];
    }
}

__attribute__((noinline)) static void matmul_i(int32_t c[4][4], const int32_t a[4][4], const int32_t b[4][4])
{
    for (int i = 0; i < 4; i++) {
        int32_t row[4] = { 0, 0, 0, 0 };
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < 4; j++)
                row[j] += a[i][k] * b[k][j];
        for (int j = 0; j < 4; j++)
            c[i][j] = row[j];
    }
}

__attribute__((noinline)) static int check_by_element(void)
{
    float fa[4][4], fb[4][4], fc[4][4];
    int32_t ia[4][4], ib[4][4], ic[4][4];
    for (int i = 0; i < 16; i++) {
        fa[i / 4][i % 4] = (float)(a32[i] % 100), fb[i / 4][i % 4] = (float)(b32[i] % 100);
        ia[i / 4][i % 4] = a32[i], ib[i / 4][i % 4] = b32[i];
    }
    matmul_f(fc, fa, fb);
    matmul_i(ic, ia, ib);
    SCALAR for (int i = 0; i < 4; i++)
        SCALAR for (int j = 0; j < 4; j++) {
            float fs = 0;
            int32_t is = 0;
            SCALAR for (int k = 0; k < 4; k++) {
                fs += fa[i][k] * fb[k][j];
                is += (int32_t)((uint32_t)ia[i][k] * (uint32_t)ib[k][j]);
            }
            if (fc[i][j] != fs)
                return 12;
            if (ic[i][j] != is)
                return 13;
        }
    return 0;
}

/* Saturating narrow (SQXTN) and floor (FRINTM) loops. */
__attribute__((noinline)) static int check_saturate(void)
{
    int8_t x[N], y[N];
    float f[N], g[N];
    for (int i = 0; i < N; i++) {
        int16_t v = a16[i];
        x[i] = (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
        f[i] = __builtin_floorf(af[i]);
    }
    SCALAR for (int i = 0; i < N; i++) {
        int16_t v = a16[i];
        y[i] = (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
        g[i] = (float)(int)af[i] - ((float)(int)af[i] > af[i] ? 1.0f : 0.0f);
    }
    for (int i = 0; i < N; i++)
        if (x[i] != y[i] || f[i] != g[i])
            return 14;
    return 0;
}

/* double <-> float array conversions (FCVTN{2} / FCVTL{2}) against scalar FCVT. */
__attribute__((noinline)) static int check_widths(void)
{
    float f[N], g[N];
    double d[N], e[N];
    for (int i = 0; i < N; i++) {
        f[i] = (float)ad[i];
        d[i] = (double)(af[i] / 3.0f);
    }
    SCALAR for (int i = 0; i < N; i++) {
        g[i] = (float)ad[i];
        e[i] = (double)(af[i] / 3.0f);
    }
    for (int i = 0; i < N; i++)
        if (f[i] != g[i] || d[i] != e[i])
            return 15;
    return 0;
}

int main(void)
{
    fill();
    int r;
    if ((r = check_arith()) || (r = check_reductions()) || (r = check_bytes()) || (r = check_float()) ||
        (r = check_copy()) || (r = check_by_element()) || (r = check_saturate()) || (r = check_widths()))
        return r;
    return 0;
}
