/* 2-D convolution (PyTorch Conv2d: zero or reflect padding, any stride,
 * square or rectangular kernels).
 *
 * Four ways to compute each product, picked by shape (see pick_*):
 *  - IMPLICIT (AVX-512; most 3x3 and larger layers, forward, dx with zero
 *    padding, dw): the product of GEMM below without writing col, in
 *    conv-implicit.c; dx as TCONV's correlation.
 *  - GEMM: im2col, then one sgemm per group of images.  Small images are
 *    folded side by side into one wide matrix so that late, small layers
 *    still give OpenBLAS a big product.  Backward recomputes col from x
 *    (forward keeps nothing): dw += dY*colT, dx += col2im(Wt*dY).
 *  - TCONV (dx, stride 1): dx is the correlation of dy, padded by k-1-p,
 *    with the flipped, transposed kernel; the sgemm then writes into dx
 *    directly and col2im's scattered adds disappear.  Pays only when out_c
 *    is small (Wt*dY would have out_c as its inner dimension).
 *  - DIRECT (stride 1, at most G2C_THIN_MAX channels on the thin side):
 *    a 64->3 7x7 layer is a matrix product with 3 rows, which sgemm runs
 *    at a few percent of peak on a 49x larger col; a register-blocked
 *    AVX-512 loop over the padded input does it instead.  It runs on the
 *    calling thread only. */
#include "g2c/nn.h"

#include "im2col.h"
#include "nn-parallel.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define G2C_HAVE_AVX512_PATH 1
#endif

G2cConvTuning g2c_conv_tuning = {G2C_CONV_AUTO, G2C_CONV_AUTO, G2C_CONV_AUTO,
                                 2048, 0};

/* kernel_w = 0 means a square kernel (width = kernel, pad_w = pad). */
static int kernel_w(const G2cConv2d *c)
{
    return c->kernel_w > 0 ? c->kernel_w : c->kernel;
}

static int pad_w(const G2cConv2d *c)
{
    return c->kernel_w > 0 ? c->pad_w : c->pad;
}

int g2c_conv2d_out_h(const G2cConv2d *c)
{
    return (c->in_h + 2 * c->pad - c->kernel) / c->stride + 1;
}

int g2c_conv2d_out_w(const G2cConv2d *c)
{
    return (c->in_w + 2 * pad_w(c) - kernel_w(c)) / c->stride + 1;
}

static G2cPatches patches_of(const G2cConv2d *c)
{
    G2cPatches g = {c->in_c,    c->in_h,     c->in_w,
                    c->kernel,  kernel_w(c), c->stride,
                    c->pad,     pad_w(c),    g2c_conv2d_out_h(c),
                    g2c_conv2d_out_w(c),     c->pad_mode};
    return g;
}

int g2c_conv_fold_count(int batch, size_t cols)
{
    size_t want = g2c_conv_tuning.fold_cols > 0
                      ? (size_t)g2c_conv_tuning.fold_cols
                      : 1;
    size_t nb = (want + cols - 1) / cols;
    if (nb < 1)
        nb = 1;
    if (nb > (size_t)batch)
        nb = (size_t)batch;
    /* Even chunks: 16 images of 144 columns go as 8 + 8, not 15 + 1. */
    size_t chunks = ((size_t)batch + nb - 1) / nb;
    return (int)(((size_t)batch + chunks - 1) / chunks);
}

/* ---- thin direct kernels --------------------------------------------- */

static void thin_conv_generic(int m, int c, int hp, int wp, int kh, int kw,
                              const float *xp, const float *w,
                              const float *bias, float *y, int accumulate)
{
    const int oh = hp - kh + 1, ow = wp - kw + 1;
    const size_t plane = (size_t)oh * ow, wstride = (size_t)c * kh * kw;
    for (int o = 0; o < m; o++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                float *out = y + o * plane + (size_t)oy * ow + ox;
                float acc = accumulate ? *out : bias ? bias[o] : 0.0f;
                for (int ch = 0; ch < c; ch++)
                    for (int ky = 0; ky < kh; ky++) {
                        const float *r =
                            xp + ((size_t)ch * hp + oy + ky) * wp + ox;
                        const float *wr =
                            w + o * wstride + ((size_t)ch * kh + ky) * kw;
                        for (int kx = 0; kx < kw; kx++)
                            acc += wr[kx] * r[kx];
                    }
                *out = acc;
            }
}

static void thin_dw_generic(int m, int c, int hp, int wp, int kh, int kw,
                            const float *xp, const float *dy, float *dw)
{
    const int oh = hp - kh + 1, ow = wp - kw + 1;
    for (int o = 0; o < m; o++)
        for (int ch = 0; ch < c; ch++)
            for (int ky = 0; ky < kh; ky++)
                for (int kx = 0; kx < kw; kx++) {
                    float acc = 0.0f;
                    for (int oy = 0; oy < oh; oy++) {
                        const float *d = dy + ((size_t)o * oh + oy) * ow;
                        const float *r =
                            xp + ((size_t)ch * hp + oy + ky) * wp + kx;
                        for (int ox = 0; ox < ow; ox++)
                            acc += d[ox] * r[ox];
                    }
                    dw[(((size_t)o * c + ch) * kh + ky) * kw + kx] += acc;
                }
}

#ifdef G2C_HAVE_AVX512_PATH
#define AVX512 __attribute__((target("avx512f,fma")))

static AVX512 inline __mmask16 tail_mask(int remaining)
{
    return remaining >= 16  ? (__mmask16)0xFFFF
           : remaining <= 0 ? (__mmask16)0
                            : (__mmask16)((1u << remaining) - 1);
}

/* Up to 6 output channels x 4 vectors per block: 24 accumulators, 4
 * inputs and 1 weight stay within the 32 registers. */
enum { THIN_BLOCK_MAX = 6 };

/* Loads 16 floats, masked only at a row's tail (MASKED is a constant, so
 * full blocks carry no mask register at all). */
#define LOAD16(MASKED, m, p) \
    ((MASKED) ? _mm512_maskz_loadu_ps((m), (p)) : _mm512_loadu_ps(p))

/* One block of M output channels x U vectors of 16 output columns, kept in
 * registers while every (channel, ky, kx) tap streams past: one load of
 * the input serves M multiply-adds. */
static AVX512 inline __attribute__((always_inline)) void
thin_conv_block(const int M, const int U, const int MASKED, int n_left,
                int c, int hp, int wp, int kh, int kw, const float *xrow,
                const float *w, const float *bias, float *yrow, size_t plane,
                int accumulate)
{
    const size_t wstride = (size_t)c * kh * kw;
    __mmask16 mk[4];
    __m512 acc[THIN_BLOCK_MAX][4];
#pragma GCC unroll 8
    for (int u = 0; u < U; u++)
        mk[u] = tail_mask(n_left - 16 * u);
#pragma GCC unroll 8
    for (int o = 0; o < M; o++)
#pragma GCC unroll 8
        for (int u = 0; u < U; u++)
            acc[o][u] = accumulate
                            ? LOAD16(MASKED, mk[u], yrow + o * plane + 16 * u)
                            : _mm512_set1_ps(bias ? bias[o] : 0.0f);
    for (int ch = 0; ch < c; ch++)
        for (int ky = 0; ky < kh; ky++) {
            const float *r = xrow + ((size_t)ch * hp + ky) * wp;
            const float *wr = w + ((size_t)ch * kh + ky) * kw;
            for (int kx = 0; kx < kw; kx++) {
                __m512 v[4];
#pragma GCC unroll 8
                for (int u = 0; u < U; u++) {
                    v[u] = LOAD16(MASKED, mk[u], r + kx + 16 * u);
                    /* Keep the load in a register: folded into each of
                     * the M multiply-adds it would be repeated M times. */
                    __asm__("" : "+v"(v[u]));
                }
#pragma GCC unroll 8
                for (int o = 0; o < M; o++) {
                    __m512 wv = _mm512_set1_ps(wr[o * wstride + kx]);
#pragma GCC unroll 8
                    for (int u = 0; u < U; u++)
                        acc[o][u] = _mm512_fmadd_ps(wv, v[u], acc[o][u]);
                }
            }
        }
#pragma GCC unroll 8
    for (int o = 0; o < M; o++)
#pragma GCC unroll 8
        for (int u = 0; u < U; u++) {
            if (MASKED)
                _mm512_mask_storeu_ps(yrow + o * plane + 16 * u, mk[u],
                                      acc[o][u]);
            else
                _mm512_storeu_ps(yrow + o * plane + 16 * u, acc[o][u]);
        }
}

static AVX512 inline __attribute__((always_inline)) void
thin_conv_rows(const int M, const int U, int c, int hp, int wp, int kh, int kw,
               const float *xp, const float *w, const float *bias, float *y,
               int accumulate)
{
    const int oh = hp - kh + 1, ow = wp - kw + 1;
    const size_t plane = (size_t)oh * ow;
    for (int oy = 0; oy < oh; oy++) {
        const float *xrow = xp + (size_t)oy * wp;
        float *yrow = y + (size_t)oy * ow;
        int ox = 0;
        for (; ox + 16 * U <= ow; ox += 16 * U)
            thin_conv_block(M, U, 0, 16 * U, c, hp, wp, kh, kw, xrow + ox, w, bias,
                            yrow + ox, plane, accumulate);
        /* The rest of the row, in blocks of one vector. */
        for (; ox < ow; ox += 16)
            thin_conv_block(M, 1, 1, ow - ox, c, hp, wp, kh, kw, xrow + ox, w,
                            bias, yrow + ox, plane, accumulate);
    }
}

#define THIN_CONV_CASE(M_, U_)                                               \
    case (M_) * 8 + (U_):                                                    \
        thin_conv_rows(M_, U_, c, hp, wp, kh, kw, xp, w, bias, y, accumulate);   \
        return;


static AVX512 void thin_conv_block_m(int m, int c, int hp, int wp, int kh, int kw,
                                     const float *xp, const float *w,
                                     const float *bias, float *y,
                                     int accumulate)
{
    /* Narrow maps use fewer vectors per block. */
    int ow = wp - kw + 1, u = ow / 16;
    if (u > 4)
        u = 4;
    if (u < 1)
        u = 1;
    switch (m * 8 + u) {
        THIN_CONV_CASE(1, 1) THIN_CONV_CASE(1, 2) THIN_CONV_CASE(1, 3)
        THIN_CONV_CASE(1, 4) THIN_CONV_CASE(2, 1) THIN_CONV_CASE(2, 2)
        THIN_CONV_CASE(2, 3) THIN_CONV_CASE(2, 4) THIN_CONV_CASE(3, 1)
        THIN_CONV_CASE(3, 2) THIN_CONV_CASE(3, 3) THIN_CONV_CASE(3, 4)
        THIN_CONV_CASE(4, 1) THIN_CONV_CASE(4, 2) THIN_CONV_CASE(4, 3)
        THIN_CONV_CASE(4, 4) THIN_CONV_CASE(5, 1) THIN_CONV_CASE(5, 2)
        THIN_CONV_CASE(5, 3) THIN_CONV_CASE(5, 4) THIN_CONV_CASE(6, 1)
        THIN_CONV_CASE(6, 2) THIN_CONV_CASE(6, 3) THIN_CONV_CASE(6, 4)
    default:
        thin_conv_generic(m, c, hp, wp, kh, kw, xp, w, bias, y, accumulate);
    }
}

/* Many output channels (a 3-channel input): blocks of THIN_BLOCK_MAX outputs,
 * each sweeping the small input again (it stays in cache). */
static AVX512 void thin_conv_avx512(int m, int c, int hp, int wp, int kh, int kw,
                                    const float *xp, const float *w,
                                    const float *bias, float *y,
                                    int accumulate)
{
    const size_t plane = (size_t)(hp - kh + 1) * (wp - kw + 1);
    const size_t wstride = (size_t)c * kh * kw;
    for (int o0 = 0; o0 < m; o0 += THIN_BLOCK_MAX) {
        int mb = m - o0 < THIN_BLOCK_MAX ? m - o0 : THIN_BLOCK_MAX;
        thin_conv_block_m(mb, c, hp, wp, kh, kw, xp, w + o0 * wstride,
                          bias ? bias + o0 : NULL, y + o0 * plane, accumulate);
    }
}

/* Partial sums of M output planes x G kernel columns, in registers, over
 * a row segment of 16 columns. */
static AVX512 inline __attribute__((always_inline)) void
thin_dw_step(const int M, const int G, const int MASKED, __mmask16 mk,
             const float *d, size_t plane, const float *r,
             __m512 acc[4][8])
{
    __m512 dv[4];
#pragma GCC unroll 4
    for (int o = 0; o < M; o++)
        dv[o] = LOAD16(MASKED, mk, d + o * plane);
#pragma GCC unroll 8
    for (int j = 0; j < G; j++) {
        __m512 v = LOAD16(MASKED, mk, r + j);
#pragma GCC unroll 4
        for (int o = 0; o < M; o++)
            acc[o][j] = _mm512_fmadd_ps(dv[o], v, acc[o][j]);
    }
}

/* dw for kernel columns kx0 .. kx0+G-1 of one (channel, ky): each row of
 * dy is read once per group.  G is exact (a constant); kw % G leftovers go
 * through a smaller G. */
static AVX512 inline __attribute__((always_inline)) void
thin_dw_group(const int M, const int G, int c, int ch, int ky, int kx0,
              int hp, int wp, int kh, int kw, const float *xp, const float *dy,
              float *dw)
{
    const int oh = hp - kh + 1, ow = wp - kw + 1;
    const size_t plane = (size_t)oh * ow;
    __m512 acc[4][8];
#pragma GCC unroll 4
    for (int o = 0; o < M; o++)
#pragma GCC unroll 8
        for (int j = 0; j < G; j++)
            acc[o][j] = _mm512_setzero_ps();
    for (int oy = 0; oy < oh; oy++) {
        const float *r = xp + ((size_t)ch * hp + oy + ky) * wp + kx0;
        const float *d = dy + (size_t)oy * ow;
        int ox = 0;
        for (; ox + 16 <= ow; ox += 16)
            thin_dw_step(M, G, 0, 0, d + ox, plane, r + ox, acc);
        if (ox < ow)
            thin_dw_step(M, G, 1, tail_mask(ow - ox), d + ox, plane, r + ox,
                         acc);
    }
#pragma GCC unroll 4
    for (int o = 0; o < M; o++)
#pragma GCC unroll 8
        for (int j = 0; j < G; j++)
            dw[(((size_t)o * c + ch) * kh + ky) * kw + kx0 + j] +=
                _mm512_reduce_add_ps(acc[o][j]);
}

/* Group sizes: M * G accumulators + M + 1 registers must fit in 32. */
#define THIN_DW_GMAX(M) ((M) <= 2 ? 8 : (M) == 3 ? 7 : 5)

#define THIN_DW_GROUP(M_, G_)                                                \
    case G_:                                                                 \
        thin_dw_group(M_, G_, c, ch, ky, kx0, hp, wp, kh, kw, xp, dy, dw);        \
        break;

#define THIN_DW_CASE(M_)                                                     \
    static AVX512 void thin_dw_m##M_(int c, int hp, int wp, int kh, int kw,           \
                                     const float *xp, const float *dy,       \
                                     float *dw)                              \
    {                                                                        \
        for (int ch = 0; ch < c; ch++)                                       \
            for (int ky = 0; ky < kh; ky++)                                   \
                for (int kx0 = 0; kx0 < kw; kx0 += THIN_DW_GMAX(M_)) {        \
                    int g = kw - kx0 < THIN_DW_GMAX(M_) ? kw - kx0             \
                                                       : THIN_DW_GMAX(M_);   \
                    switch (g) {                                             \
                        THIN_DW_GROUP(M_, 1) THIN_DW_GROUP(M_, 2)            \
                        THIN_DW_GROUP(M_, 3) THIN_DW_GROUP(M_, 4)            \
                        THIN_DW_GROUP(M_, 5)                                 \
                    default:                                                 \
                        thin_dw_wide_##M_(c, ch, ky, kx0, g, hp, wp, kh, kw, xp,  \
                                          dy, dw);                           \
                    }                                                        \
                }                                                            \
    }

/* Groups of 6 to 8 (only M <= 3 uses them). */
#define THIN_DW_WIDE(M_)                                                     \
    static AVX512 void thin_dw_wide_##M_(int c, int ch, int ky, int kx0,     \
                                         int g, int hp, int wp, int kh, int kw,       \
                                         const float *xp, const float *dy,   \
                                         float *dw)                          \
    {                                                                        \
        switch (g) {                                                         \
            THIN_DW_GROUP(M_, 6)                                             \
            THIN_DW_GROUP(M_, 7)                                             \
        case 8:                                                              \
            thin_dw_group(M_, THIN_DW_GMAX(M_) == 8 ? 8 : 1, c, ch, ky, kx0, \
                          hp, wp, kh, kw, xp, dy, dw);                            \
            break;                                                           \
        }                                                                    \
    }

THIN_DW_WIDE(1)
THIN_DW_WIDE(2)
THIN_DW_WIDE(3)
THIN_DW_WIDE(4)
THIN_DW_CASE(1)
THIN_DW_CASE(2)
THIN_DW_CASE(3)
THIN_DW_CASE(4)

/* Blocks of up to 4 output planes (dy planes and dw rows). */
static AVX512 void thin_dw_avx512(int m, int c, int hp, int wp, int kh, int kw,
                                  const float *xp, const float *dy, float *dw)
{
    const size_t plane = (size_t)(hp - kh + 1) * (wp - kw + 1);
    const size_t wstride = (size_t)c * kh * kw;
    for (int o0 = 0; o0 < m; o0 += 4) {
        const float *d = dy + o0 * plane;
        float *g = dw + o0 * wstride;
        switch (m - o0 < 4 ? m - o0 : 4) {
        case 1: thin_dw_m1(c, hp, wp, kh, kw, xp, d, g); break;
        case 2: thin_dw_m2(c, hp, wp, kh, kw, xp, d, g); break;
        case 3: thin_dw_m3(c, hp, wp, kh, kw, xp, d, g); break;
        default: thin_dw_m4(c, hp, wp, kh, kw, xp, d, g); break;
        }
    }
}

static int have_avx512(void)
{
    return __builtin_cpu_supports("avx512f") && !g2c_conv_tuning.generic;
}
#endif

void g2c_thin_conv(int m, int c, int hp, int wp, int kh, int kw, const float *xp,
                   const float *w, const float *bias, float *y, int accumulate)
{
#ifdef G2C_HAVE_AVX512_PATH
    if (have_avx512()) {
        thin_conv_avx512(m, c, hp, wp, kh, kw, xp, w, bias, y, accumulate);
        return;
    }
#endif
    thin_conv_generic(m, c, hp, wp, kh, kw, xp, w, bias, y, accumulate);
}

void g2c_thin_conv_dw(int m, int c, int hp, int wp, int kh, int kw, const float *xp,
                      const float *dy, float *dw)
{
#ifdef G2C_HAVE_AVX512_PATH
    if (have_avx512()) {
        thin_dw_avx512(m, c, hp, wp, kh, kw, xp, dy, dw);
        return;
    }
#endif
    thin_dw_generic(m, c, hp, wp, kh, kw, xp, dy, dw);
}

/* ---- algorithm choice ------------------------------------------------- */

/* The direct kernels hold a block of output channels in registers and
 * stream the input past it: worth it when one side has few channels (its
 * im2col matrix would be tiny or the sgemm would have 1 to 4 rows). */
static int direct_fits(const G2cConv2d *c)
{
    int thin = c->in_c < c->out_c ? c->in_c : c->out_c;
    return c->stride == 1 && thin <= G2C_THIN_MAX;
}

/* The plain C kernels are for testing and odd CPUs: without AVX-512 the
 * automatic choice stays with OpenBLAS. */
static int direct_fast(void)
{
#ifdef G2C_HAVE_AVX512_PATH
    return have_avx512();
#else
    return 0;
#endif
}

/* dx as a correlation needs the padding to fit inside the kernel. */
static int tconv_fits(const G2cConv2d *c)
{
    return c->stride == 1 &&
           (c->pad_mode == G2C_PAD_REFLECT ||
            (c->pad <= c->kernel - 1 && pad_w(c) <= kernel_w(c) - 1));
}

/* Where the implicit GEMM beat im2col + OpenBLAS (tools/bench-nn, one
 * thread, CPU time): it gathers or copies 32 columns for every k of every
 * panel, which costs what im2col does when k is short (a 3-channel input,
 * 1x1 kernels; a 1x1 stride-1 layer has no im2col at all) or when a
 * strided layer (gathers) has few output channels to share them; past
 * k = 2560 its 32-column panel no longer stays in L2 beside the weights
 * streaming by.  m: output channels, k: the product's inner length. */
static int implicit_pays(int m, int k, int taps, int stride)
{
    return taps > 1 && k >= 64 && k <= 2560 && (stride == 1 || m >= 128);
}

static G2cConvAlgo pick_fwd(const G2cConv2d *c)
{
    G2cConvAlgo a = g2c_conv_tuning.fwd;
    if (a == G2C_CONV_DIRECT && direct_fits(c))
        return a;
    if (a == G2C_CONV_IMPLICIT)
        return a;
    if (a == G2C_CONV_AUTO && direct_fits(c) && direct_fast())
        return G2C_CONV_DIRECT;
    const int taps = c->kernel * kernel_w(c);
    if (a == G2C_CONV_AUTO && direct_fast() &&
        implicit_pays(c->out_c, c->in_c * taps, taps, c->stride))
        return G2C_CONV_IMPLICIT;
    return G2C_CONV_GEMM;
}

/* For dw the direct kernel reads dy once per kernel column group, so it
 * only beats dY * colT when the output side is the thin one (the sgemm
 * would have 1 to 4 rows). */
static G2cConvAlgo pick_dw(const G2cConv2d *c)
{
    G2cConvAlgo a = g2c_conv_tuning.dw;
    if (a == G2C_CONV_DIRECT && direct_fits(c))
        return a;
    if (a == G2C_CONV_IMPLICIT)
        return a;
    if (a == G2C_CONV_AUTO && direct_fits(c) && c->out_c <= G2C_THIN_MAX &&
        direct_fast())
        return G2C_CONV_DIRECT;
    /* The implicit dw over wide rows needs no gathers; elsewhere it gathers
     * 32 k values per pixel for every 32 k, which only many output
     * channels share (tools/bench-nn: ahead from 256, even at 128, behind
     * at 32 and 64). */
    const int wide =
        c->stride == 1 && g2c_conv2d_out_w(c) >= G2C_WIDE_MIN_WIDTH;
    if (a == G2C_CONV_AUTO && c->kernel * kernel_w(c) > 1 &&
        (c->out_c >= 128 || wide) && direct_fast())
        return G2C_CONV_IMPLICIT;
    return G2C_CONV_GEMM;
}

/* dx as an implicit GEMM: TCONV's correlation, written straight into dx
 * (zero padding only: a reflected border folds back afterwards). */
static int implicit_dx_fits(const G2cConv2d *c)
{
    return tconv_fits(c) && c->pad_mode == G2C_PAD_ZERO;
}

static G2cConvAlgo pick_dx(const G2cConv2d *c)
{
    G2cConvAlgo a = g2c_conv_tuning.dx;
    int direct = direct_fits(c) && tconv_fits(c);
    if (a == G2C_CONV_DIRECT)
        return direct ? a : G2C_CONV_GEMM;
    if (a == G2C_CONV_IMPLICIT)
        return implicit_dx_fits(c) ? a : G2C_CONV_GEMM;
    if (a == G2C_CONV_TCONV)
        return tconv_fits(c) ? a : G2C_CONV_GEMM;
    if (a == G2C_CONV_GEMM)
        return a;
    if (direct && direct_fast())
        return G2C_CONV_DIRECT;
    const int taps = c->kernel * kernel_w(c);
    if (implicit_dx_fits(c) && direct_fast() &&
        implicit_pays(c->in_c, c->out_c * taps, taps, 1))
        return G2C_CONV_IMPLICIT;
    /* Wt * dY has out_c as its inner dimension: fine for OpenBLAS from a few
     * dozen on (and then col2im is cheaper than the padded correlation),
     * hopeless for a 3- or 1-channel output. */
    return tconv_fits(c) && c->out_c <= 16 ? G2C_CONV_TCONV : G2C_CONV_GEMM;
}

/* ---- forward ----------------------------------------------------------- */

static void add_bias(float *y, int out_c, size_t plane, const float *b)
{
    if (!b)
        return;
    for (int o = 0; o < out_c; o++) {
        float *p = y + o * plane;
        for (size_t i = 0; i < plane; i++)
            p[i] += b[o];
    }
}

static void forward_direct(const G2cConv2d *c, const float *x, const float *w,
                           const float *b, float *y)
{
    const int ph = c->pad, pw = pad_w(c);
    const int hp = c->in_h + 2 * ph, wp = c->in_w + 2 * pw;
    const size_t in_sz = (size_t)c->in_c * c->in_h * c->in_w;
    const size_t out_sz =
        (size_t)c->out_c * g2c_conv2d_out_h(c) * g2c_conv2d_out_w(c);
    const int padded = ph || pw;
    float *xp = padded ? g2c_nn_scratch((size_t)c->in_c * hp * wp) : NULL;
    for (int n = 0; n < c->batch; n++) {
        const float *in = x + n * in_sz;
        if (padded) {
            g2c_pad_planes(c->in_c, c->in_h, c->in_w, ph, pw, c->pad_mode, in,
                           xp);
            in = xp;
        }
        g2c_thin_conv(c->out_c, c->in_c, hp, wp, c->kernel, kernel_w(c), in,
                      w, b, y + n * out_sz, 0);
    }
}

/* The copies between a folded [out_c, cnt * P] matrix and cnt NCHW
 * images, one output channel per item. */
typedef struct {
    int cnt;
    size_t P, ld, out_sz;
    const float *src; /* unfold: the folded matrix; fold: the images */
    float *dst;       /* unfold: the images; fold: the folded matrix */
    const float *bias; /* unfold only, may be NULL */
} Fold;

static void unfold_channel(void *ctx, int o)
{
    const Fold *f = ctx;
    for (int i = 0; i < f->cnt; i++) {
        float *dst = f->dst + i * f->out_sz + o * f->P;
        memcpy(dst, f->src + o * f->ld + i * f->P, sizeof(float) * f->P);
        if (f->bias)
            for (size_t j = 0; j < f->P; j++)
                dst[j] += f->bias[o];
    }
}

static void fold_channel(void *ctx, int o)
{
    const Fold *f = ctx;
    for (int i = 0; i < f->cnt; i++)
        memcpy(f->dst + o * f->ld + i * f->P,
               f->src + i * f->out_sz + o * f->P, sizeof(float) * f->P);
}

static void forward_gemm(const G2cConv2d *c, const float *x, const float *w,
                         const float *b, float *y)
{
    const G2cPatches g = patches_of(c);
    const size_t P = (size_t)g.oh * g.ow, K = (size_t)c->in_c * g.kh * g.kw;
    const size_t in_sz = (size_t)c->in_c * c->in_h * c->in_w, out_sz = c->out_c * P;
    /* A 1x1 stride-1 unpadded convolution is a plain product with x. */
    const int plain = g.kh == 1 && g.kw == 1 && c->stride == 1 &&
                      g.ph == 0 && g.pw == 0;
    const int nb = g2c_conv_fold_count(c->batch, P);
    const size_t col_n = plain && nb == 1 ? 0 : K * nb * P;
    const size_t tmp_n = nb > 1 ? out_sz * nb : 0;
    float *col = g2c_nn_scratch(col_n + tmp_n), *tmp = col + col_n;
    for (int n0 = 0; n0 < c->batch; n0 += nb) {
        const int cnt = c->batch - n0 < nb ? c->batch - n0 : nb;
        const size_t ld = cnt * P;
        const float *B = col;
        if (plain && cnt == 1)
            B = x + n0 * in_sz;
        else
            for (int i = 0; i < cnt; i++)
                g2c_im2col(&g, x + (n0 + i) * in_sz, col + i * P, ld);
        float *C = cnt == 1 ? y + n0 * out_sz : tmp;
        g2c_nn_sgemm(0, 0, c->out_c, (int)ld, (int)K, 1.0f, w, (int)K, B,
                     (int)ld, 0.0f, C, (int)ld);
        if (cnt == 1) {
            add_bias(C, c->out_c, P, b);
            continue;
        }
        Fold f = {cnt, P, ld, out_sz, tmp, y + n0 * out_sz, b};
        g2c_nn_parallel(c->out_c, out_sz * cnt, unfold_channel, &f);
    }
}

void g2c_conv2d_forward(const G2cConv2d *c, const float *x, const float *w,
                        const float *b, float *y)
{
    G2cConvAlgo a = pick_fwd(c);
    if (a == G2C_CONV_DIRECT) {
        forward_direct(c, x, w, b, y);
        return;
    }
    const G2cPatches g = patches_of(c);
    if (a == G2C_CONV_IMPLICIT &&
        g2c_conv_implicit(&g, c->batch, c->out_c, x, w, b, y, 0) == 0)
        return;
    forward_gemm(c, x, w, b, y);
}

/* ---- backward ---------------------------------------------------------- */

static void backward_db(const G2cConv2d *c, const float *dy, float *db)
{
    const size_t P = (size_t)g2c_conv2d_out_h(c) * g2c_conv2d_out_w(c);
    g2c_bias_grad(c->batch, c->out_c, P, dy, db);
}

/* dw += dY * colT and/or dx += col2im(Wt * dY), sharing the folded dY. */
static void backward_gemm(const G2cConv2d *c, const float *x, const float *w,
                          const float *dy, float *dx, float *dw)
{
    const G2cPatches g = patches_of(c);
    const size_t P = (size_t)g.oh * g.ow, K = (size_t)c->in_c * g.kh * g.kw;
    const size_t in_sz = (size_t)c->in_c * c->in_h * c->in_w, out_sz = c->out_c * P;
    const int nb = g2c_conv_fold_count(c->batch, P);
    const size_t col_n = K * nb * P, dyf_n = nb > 1 ? out_sz * nb : 0;
    float *col = g2c_nn_scratch(col_n + dyf_n), *dyf = col + col_n;
    for (int n0 = 0; n0 < c->batch; n0 += nb) {
        const int cnt = c->batch - n0 < nb ? c->batch - n0 : nb;
        const size_t ld = cnt * P;
        const float *D = dy + n0 * out_sz;
        if (cnt > 1) {
            Fold f = {cnt, P, ld, out_sz, dy + n0 * out_sz, dyf, NULL};
            g2c_nn_parallel(c->out_c, out_sz * cnt, fold_channel, &f);
            D = dyf;
        }
        if (dw) {
            for (int i = 0; i < cnt; i++)
                g2c_im2col(&g, x + (n0 + i) * in_sz, col + i * P, ld);
            g2c_nn_sgemm(0, 1, c->out_c, (int)K, (int)ld, 1.0f, D, (int)ld,
                         col, (int)ld, 1.0f, dw, (int)K);
        }
        if (dx) {
            g2c_nn_sgemm(1, 0, (int)K, (int)ld, c->out_c, 1.0f, w, (int)K, D,
                         (int)ld, 0.0f, col, (int)ld);
            for (int i = 0; i < cnt; i++)
                g2c_col2im(&g, col + i * P, ld, dx + (n0 + i) * in_sz);
        }
    }
}

/* The correlation that gives dx from dy (stride 1): dy padded by
 * q = k-1-p (zero padding: the result is dx itself) or by k-1 (reflect: the
 * result is the gradient of the padded input, folded back afterwards). */
typedef struct {
    int crop;   /* 1: output is dx's h x w; 0: output is the padded input */
    int qh, qw; /* padding of dy */
    int oh, ow; /* output size */
} DxPlan;

static DxPlan dx_plan(const G2cConv2d *c)
{
    const int kh = c->kernel, kw = kernel_w(c), ph = c->pad, pw = pad_w(c);
    DxPlan d;
    d.crop = c->pad_mode == G2C_PAD_ZERO;
    d.qh = d.crop ? kh - 1 - ph : kh - 1;
    d.qw = d.crop ? kw - 1 - pw : kw - 1;
    d.oh = d.crop ? c->in_h : c->in_h + 2 * ph;
    d.ow = d.crop ? c->in_w : c->in_w + 2 * pw;
    return d;
}

/* wt [in_c, out_c, kh, kw] = w [out_c, in_c, kh, kw] transposed, each
 * kernel rotated by 180 degrees. */
static void flip_weights(const G2cConv2d *c, const float *w, float *wt)
{
    const int kk = c->kernel * kernel_w(c);
    for (int ch = 0; ch < c->in_c; ch++)
        for (int o = 0; o < c->out_c; o++) {
            const float *src = w + ((size_t)o * c->in_c + ch) * kk;
            float *dst = wt + ((size_t)ch * c->out_c + o) * kk;
            for (int i = 0; i < kk; i++)
                dst[i] = src[kk - 1 - i];
        }
}

/* Add one image's correlation output (channel planes `ld` apart) to dx. */
static void dx_accumulate(const G2cConv2d *c, DxPlan d, const float *out,
                          size_t ld, float *dxn)
{
    const size_t plane = (size_t)c->in_h * c->in_w;
    for (int ch = 0; ch < c->in_c; ch++) {
        if (d.crop)
            g2c_add_floats(dxn + ch * plane, out + ch * ld, plane);
        else
            g2c_unpad_planes_add(1, c->in_h, c->in_w, c->pad, pad_w(c),
                                 c->pad_mode, out + ch * ld, dxn + ch * plane);
    }
}

static void backward_dx_tconv(const G2cConv2d *c, const float *w,
                              const float *dy, float *dx)
{
    const DxPlan d = dx_plan(c);
    const int oh = g2c_conv2d_out_h(c), ow = g2c_conv2d_out_w(c);
    const G2cPatches g = {c->out_c, oh,   ow,   c->kernel,   kernel_w(c), 1,
                          d.qh,     d.qw, d.oh, d.ow, G2C_PAD_ZERO};
    const size_t Q = (size_t)d.oh * d.ow;
    const size_t Kt = (size_t)c->out_c * g.kh * g.kw;
    const size_t in_sz = (size_t)c->in_c * c->in_h * c->in_w;
    const size_t out_sz = (size_t)c->out_c * oh * ow;
    const int nb = g2c_conv_fold_count(c->batch, Q);
    const int direct_out = d.crop && nb == 1;
    const size_t wt_n = (size_t)c->in_c * Kt, col_n = Kt * nb * Q;
    const size_t tmp_n = direct_out ? 0 : (size_t)c->in_c * nb * Q;
    float *wt = g2c_nn_scratch(wt_n + col_n + tmp_n);
    float *col = wt + wt_n, *tmp = col + col_n;
    flip_weights(c, w, wt);
    for (int n0 = 0; n0 < c->batch; n0 += nb) {
        const int cnt = c->batch - n0 < nb ? c->batch - n0 : nb;
        const size_t ld = cnt * Q;
        for (int i = 0; i < cnt; i++)
            g2c_im2col(&g, dy + (n0 + i) * out_sz, col + i * Q, ld);
        if (direct_out) {
            g2c_nn_sgemm(0, 0, c->in_c, (int)ld, (int)Kt, 1.0f, wt, (int)Kt,
                         col, (int)ld, 1.0f, dx + n0 * in_sz, (int)ld);
            continue;
        }
        g2c_nn_sgemm(0, 0, c->in_c, (int)ld, (int)Kt, 1.0f, wt, (int)Kt, col,
                     (int)ld, 0.0f, tmp, (int)ld);
        for (int i = 0; i < cnt; i++)
            dx_accumulate(c, d, tmp + i * Q, ld, dx + (n0 + i) * in_sz);
    }
}

static void backward_dx_direct(const G2cConv2d *c, const float *w,
                               const float *dy, float *dx)
{
    const DxPlan d = dx_plan(c);
    const int oh = g2c_conv2d_out_h(c), ow = g2c_conv2d_out_w(c);
    const int kh = c->kernel, kw = kernel_w(c);
    const int hp = oh + 2 * d.qh, wp = ow + 2 * d.qw;
    const size_t Q = (size_t)d.oh * d.ow;
    const size_t in_sz = (size_t)c->in_c * c->in_h * c->in_w;
    const size_t out_sz = (size_t)c->out_c * oh * ow;
    const size_t wt_n = (size_t)c->in_c * c->out_c * kh * kw;
    const size_t dyp_n = (size_t)c->out_c * hp * wp;
    const size_t tmp_n = d.crop ? 0 : (size_t)c->in_c * Q;
    float *wt = g2c_nn_scratch(wt_n + dyp_n + tmp_n);
    float *dyp = wt + wt_n, *tmp = dyp + dyp_n;
    flip_weights(c, w, wt);
    for (int n = 0; n < c->batch; n++) {
        g2c_pad_planes(c->out_c, oh, ow, d.qh, d.qw, G2C_PAD_ZERO,
                       dy + n * out_sz, dyp);
        if (d.crop) {
            g2c_thin_conv(c->in_c, c->out_c, hp, wp, kh, kw, dyp, wt, NULL,
                          dx + n * in_sz, 1);
        } else {
            g2c_thin_conv(c->in_c, c->out_c, hp, wp, kh, kw, dyp, wt, NULL,
                          tmp, 0);
            dx_accumulate(c, d, tmp, Q, dx + n * in_sz);
        }
    }
}

static void backward_dw_direct(const G2cConv2d *c, const float *x,
                               const float *dy, float *dw)
{
    const int ph = c->pad, pw = pad_w(c);
    const int hp = c->in_h + 2 * ph, wp = c->in_w + 2 * pw;
    const size_t in_sz = (size_t)c->in_c * c->in_h * c->in_w;
    const size_t out_sz =
        (size_t)c->out_c * g2c_conv2d_out_h(c) * g2c_conv2d_out_w(c);
    const int padded = ph || pw;
    float *xp = padded ? g2c_nn_scratch((size_t)c->in_c * hp * wp) : NULL;
    for (int n = 0; n < c->batch; n++) {
        const float *in = x + n * in_sz;
        if (padded) {
            g2c_pad_planes(c->in_c, c->in_h, c->in_w, ph, pw, c->pad_mode, in,
                           xp);
            in = xp;
        }
        g2c_thin_conv_dw(c->out_c, c->in_c, hp, wp, c->kernel, kernel_w(c),
                         in, dy + n * out_sz, dw);
    }
}

/* 1 if done; 0 where the CPU cannot (the caller falls back to GEMM). */
static int backward_dx_implicit(const G2cConv2d *c, const float *w,
                                const float *dy, float *dx)
{
    const DxPlan d = dx_plan(c);
    const G2cPatches g = {c->out_c, g2c_conv2d_out_h(c), g2c_conv2d_out_w(c),
                          c->kernel, kernel_w(c), 1, d.qh, d.qw, d.oh, d.ow,
                          G2C_PAD_ZERO};
    return g2c_conv_implicit_flipped(&g, c->batch, c->in_c, dy, w, dx) == 0;
}

void g2c_conv2d_backward(const G2cConv2d *c, const float *x, const float *w,
                         const float *dy, float *dx, float *dw, float *db)
{
    if (db)
        backward_db(c, dy, db);
    G2cConvAlgo dx_algo = dx ? pick_dx(c) : G2C_CONV_AUTO;
    G2cConvAlgo dw_algo = dw ? pick_dw(c) : G2C_CONV_AUTO;
    if (dw_algo == G2C_CONV_IMPLICIT) {
        const G2cPatches g = patches_of(c);
        dw_algo = g2c_conv_implicit_dw(&g, c->batch, c->out_c, x, dy, dw) == 0
                      ? G2C_CONV_AUTO /* done */
                      : G2C_CONV_GEMM;
    }
    float *dw_gemm = dw_algo == G2C_CONV_GEMM ? dw : NULL;
    float *dx_gemm = dx_algo == G2C_CONV_GEMM ? dx : NULL;
    if (dw_gemm || dx_gemm)
        backward_gemm(c, x, w, dy, dx_gemm, dw_gemm);
    if (dw_algo == G2C_CONV_DIRECT)
        backward_dw_direct(c, x, dy, dw);
    if (dx_algo == G2C_CONV_IMPLICIT && !backward_dx_implicit(c, w, dy, dx))
        backward_gemm(c, x, w, dy, dx, NULL);
    if (dx_algo == G2C_CONV_TCONV)
        backward_dx_tconv(c, w, dy, dx);
    else if (dx_algo == G2C_CONV_DIRECT)
        backward_dx_direct(c, w, dy, dx);
}
