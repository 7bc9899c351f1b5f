/* Convolution as an implicit GEMM: y[o, n] = sum over k of W[o, k] * B[k, n]
 * where B is the im2col matrix of the padded input (k = (ch, ky, kx), n =
 * (image, oy, ox)), never written out.
 *
 * Why: with im2col + OpenBLAS, a classifier step spent a quarter of its
 * time outside the multiply-adds: writing col, OpenBLAS packing it again,
 * folding images side by side and back.  Here the input is padded once;
 * each item takes 32 consecutive columns (they may span images), gathers
 * them for every k straight into a packed panel (two AVX-512 gathers per
 * k: column n's element k sits at base[n] + koff[k] in the padded input),
 * and runs every block of MR output channels over it in registers: MR x 32
 * accumulators, one broadcast of W and two loads of B per k.  The weights
 * are packed once per call into MR-row panels, zero-padded at the end.
 *
 * Each output element is one kernel call's whole sum over k, in k order,
 * whichever thread runs its panel: the result does not depend on the
 * thread count. */
#include "g2c/nn.h"

#include "im2col.h"
#include "nn-parallel.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,fma")))

enum { NR = 32 };

/* Output rows at least this wide take the wide-row layout (stride 1):
 * a 3x3 layer then computes 2 extra columns per 20 or more. */
enum { WIDE_MIN_WIDTH = 20 };

typedef struct {
    int m, k, mr, m_panels;
    int hp, wp, ow, stride;
    size_t P, N, out_sz, in_sz; /* in_sz: one padded image */
    const float *apack, *xpad, *bias;
    const int32_t *koff;
    float *y;
    int accumulate;
    const float *w;
    int flip, kh, kw; /* flip: w is [c, m, kh, kw], used rotated */
    int wide_panels;  /* panels per image in wide rows; 0: exact columns */
} Job;

/* Weights into panels [m_panels][k][mr], rows past m zero.  Flipped: the
 * correlation that gives dx reads w[o, row] turned by 180 degrees at
 * kk = (o, ky, kx). */
static void pack_weights(void *ctx, int pm)
{
    const Job *j = ctx;
    float *dst = (float *)j->apack + (size_t)pm * j->k * j->mr;
    const int kk_n = j->kh * j->kw;
    for (int i = 0; i < j->mr; i++) {
        const int row = pm * j->mr + i;
        if (row >= j->m) {
            for (int kk = 0; kk < j->k; kk++)
                dst[(size_t)kk * j->mr + i] = 0.0f;
            continue;
        }
        if (!j->flip) {
            const float *src = j->w + (size_t)row * j->k;
            for (int kk = 0; kk < j->k; kk++)
                dst[(size_t)kk * j->mr + i] = src[kk];
            continue;
        }
        for (int o = 0, kk = 0; o < j->k / kk_n; o++) {
            const float *src = j->w + ((size_t)o * j->m + row) * kk_n;
            for (int t = kk_n - 1; t >= 0; t--, kk++)
                dst[(size_t)kk * j->mr + i] = src[t];
        }
    }
}

typedef struct {
    const float *src;
    float *dst;
    G2cPatches g;
    size_t in_sz, pad_sz;
} PadJob;

static void pad_image(void *ctx, int n)
{
    const PadJob *p = ctx;
    g2c_pad_planes(p->g.c, p->g.h, p->g.w, p->g.ph, p->g.pw, p->g.mode,
                   p->src + (size_t)n * p->in_sz, p->dst + (size_t)n * p->pad_sz);
}

/* A panel's 32 columns, as runs that land contiguously in y. */
typedef struct {
    int count;
    struct {
        int t, len; /* first column in the panel, run length */
        size_t dst; /* offset in y of the run's element in output row 0 */
    } run[NR];
} Runs;

static void add_run(Runs *r, int t, size_t dst)
{
    if (r->count > 0) {
        int last = r->count - 1;
        if (r->run[last].t + r->run[last].len == t &&
            r->run[last].dst + (size_t)r->run[last].len == dst) {
            r->run[last].len++;
            return;
        }
    }
    r->run[r->count].t = t;
    r->run[r->count].len = 1;
    r->run[r->count].dst = dst;
    r->count++;
}

/* Exact columns (any stride): column n = (image, oy, ox) over all images;
 * its window starts at base in the padded input. */
static int32_t exact_base(const Job *j, size_t n)
{
    size_t img = n / j->P, p = n % j->P;
    size_t oy = p / (size_t)j->ow, ox = p % (size_t)j->ow;
    return (int32_t)(img * j->in_sz + oy * j->stride * (size_t)j->wp +
                     ox * j->stride);
}

/* Exact columns from n0 into b [k][32] by gathers; columns past N repeat
 * n0's (their results are not stored). */
static AVX512 void pack_exact(const Job *j, size_t n0, float *b, Runs *runs)
{
    int32_t base[NR] __attribute__((aligned(64)));
    runs->count = 0;
    for (int t = 0; t < NR; t++) {
        size_t n = n0 + t < j->N ? n0 + t : n0;
        base[t] = exact_base(j, n);
        if (n0 + t < j->N)
            add_run(runs, t, n / j->P * j->out_sz + n % j->P);
    }
    const __m512i b0 = _mm512_load_si512(base);
    const __m512i b1 = _mm512_load_si512(base + 16);
    for (int kk = 0; kk < j->k; kk++) {
        __m512i off = _mm512_set1_epi32(j->koff[kk]);
        _mm512_store_ps(b + (size_t)kk * NR,
                        _mm512_i32gather_ps(_mm512_add_epi32(b0, off),
                                            j->xpad, 4));
        _mm512_store_ps(b + (size_t)kk * NR + 16,
                        _mm512_i32gather_ps(_mm512_add_epi32(b1, off),
                                            j->xpad, 4));
    }
}

/* Wide rows (stride 1): output rows computed over the padded width wp, so
 * that 32 consecutive columns of an image read 32 consecutive floats of
 * the padded input for every k: plain loads instead of gathers.  The
 * wp - ow extra columns of each row are computed and dropped.  Item = image
 * x panel of its oh * wp columns. */
static AVX512 void pack_wide(const Job *j, int item, float *b, Runs *runs)
{
    const size_t img = (size_t)item / j->wide_panels;
    const size_t v0 = (size_t)(item % j->wide_panels) * NR;
    const size_t cols = (size_t)j->P / j->ow * j->wp; /* oh * wp */
    runs->count = 0;
    for (int t = 0; t < NR && v0 + t < cols; t++) {
        size_t oy = (v0 + t) / j->wp, ox = (v0 + t) % j->wp;
        if (ox < (size_t)j->ow)
            add_run(runs, t, img * j->out_sz + oy * j->ow + ox);
    }
    const float *x = j->xpad + img * j->in_sz + v0;
    for (int kk = 0; kk < j->k; kk++) {
        const float *src = x + j->koff[kk];
        _mm512_store_ps(b + (size_t)kk * NR, _mm512_loadu_ps(src));
        _mm512_store_ps(b + (size_t)kk * NR + 16, _mm512_loadu_ps(src + 16));
    }
}

/* tile[MR][32] = A panel [k][MR] times B panel [k][32]. */
static AVX512 inline __attribute__((always_inline)) void
kernel(const int MR, int k, const float *a, const float *b, float *tile)
{
    __m512 acc[12][2];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++)
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int kk = 0; kk < k; kk++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += MR;
        b += NR;
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        _mm512_store_ps(tile + i * NR, acc[i][0]);
        _mm512_store_ps(tile + i * NR + 16, acc[i][1]);
    }
}

static AVX512 void kernel12(int k, const float *a, const float *b, float *t)
{
    kernel(12, k, a, b, t);
}

static AVX512 void kernel8(int k, const float *a, const float *b, float *t)
{
    kernel(8, k, a, b, t);
}

/* Rows [o0, o0 + rows) of the tile into y, run by run. */
static void store_tile(const Job *j, const Runs *runs, int o0, int rows,
                       const float *tile)
{
    for (int r = 0; r < runs->count; r++) {
        const int t = runs->run[r].t, len = runs->run[r].len;
        for (int i = 0; i < rows; i++) {
            const float *src = tile + i * NR + t;
            float *d = j->y + runs->run[r].dst + (size_t)(o0 + i) * j->P;
            if (j->accumulate) {
                for (int q = 0; q < len; q++)
                    d[q] += src[q];
            } else {
                float bv = j->bias ? j->bias[o0 + i] : 0.0f;
                for (int q = 0; q < len; q++)
                    d[q] = src[q] + bv;
            }
        }
    }
}

static AVX512 void run_panel(void *ctx, int item)
{
    const Job *j = ctx;
    float *b = g2c_nn_item_scratch((size_t)j->k * NR + 12 * NR);
    float *tile = b + (size_t)j->k * NR;
    Runs runs;
    if (j->wide_panels)
        pack_wide(j, item, b, &runs);
    else
        pack_exact(j, (size_t)item * NR, b, &runs);
    for (int pm = 0; pm < j->m_panels; pm++) {
        const float *a = j->apack + (size_t)pm * j->k * j->mr;
        if (j->mr == 12)
            kernel12(j->k, a, b, tile);
        else
            kernel8(j->k, a, b, tile);
        int o0 = pm * j->mr;
        int rows = j->m - o0 < j->mr ? j->m - o0 : j->mr;
        store_tile(j, &runs, o0, rows, tile);
    }
}

/* 12 rows per panel unless 8 wastes fewer padded rows (32 and 64 output
 * channels: 4 and 8 panels of 8 instead of 3 and 6 of 12). */
static int rows_per_panel(int m)
{
    int p12 = (m + 11) / 12 * 12, p8 = (m + 7) / 8 * 8;
    return p8 < p12 ? 8 : 12;
}

static int run(const G2cPatches *g, int batch, int m, const float *x,
               const float *w, int flip, const float *bias, float *y,
               int accumulate)
{
    if (!__builtin_cpu_supports("avx512f") || g2c_conv_tuning.generic)
        return -1;
    const int hp = g->h + 2 * g->ph, wp = g->w + 2 * g->pw;
    const size_t in_sz = (size_t)g->c * hp * wp;
    if (in_sz * (size_t)batch >= (size_t)INT32_MAX / 2)
        return -1;
    const int k = g->c * g->kh * g->kw, mr = rows_per_panel(m);
    const int m_panels = (m + mr - 1) / mr;
    const size_t P = (size_t)g->oh * g->ow, N = P * (size_t)batch;
    /* Wide rows where they waste little (at most wp - ow of every wp
     * columns computed for nothing), exact columns by gathers elsewhere. */
    const int wide = g->stride == 1 && g->ow >= WIDE_MIN_WIDTH;
    const int wide_panels = wide ? (g->oh * wp + NR - 1) / NR : 0;
    /* One allocation: padded input (+ the dropped columns' overrun past
     * the last image), packed weights, gather offsets. */
    const size_t slack = wide ? (size_t)NR + g->kw : 0;
    const size_t pad_n = in_sz * (size_t)batch + slack;
    const size_t apack_n = (size_t)m_panels * k * mr;
    const size_t koff_n = ((size_t)k + 15) / 16 * 16;
    float *buf = g2c_nn_scratch(pad_n + apack_n + koff_n);
    float *xpad = buf, *apack = buf + pad_n;
    int32_t *koff = (int32_t *)(apack + apack_n);
    for (int ch = 0, kk = 0; ch < g->c; ch++)
        for (int ky = 0; ky < g->kh; ky++)
            for (int kx = 0; kx < g->kw; kx++)
                koff[kk++] = (int32_t)((size_t)ch * hp * wp +
                                       (size_t)ky * wp + kx);
    PadJob pj = {x, xpad, *g, (size_t)g->c * g->h * g->w, in_sz};
    g2c_nn_parallel(batch, pad_n, pad_image, &pj);
    memset(xpad + pad_n - slack, 0, slack * sizeof *xpad);
    Job j = {.m = m, .k = k, .mr = mr, .m_panels = m_panels, .hp = hp,
             .wp = wp, .ow = g->ow, .stride = g->stride, .P = P, .N = N,
             .out_sz = (size_t)m * P, .in_sz = in_sz, .apack = apack,
             .xpad = xpad, .bias = bias, .koff = koff, .y = y,
             .accumulate = accumulate, .w = w, .flip = flip, .kh = g->kh,
             .kw = g->kw, .wide_panels = wide_panels};
    g2c_nn_parallel(m_panels, (size_t)m * k, pack_weights, &j);
    const int items = wide ? batch * wide_panels : (int)((N + NR - 1) / NR);
    g2c_nn_parallel(items, N * (size_t)k, run_panel, &j);
    return 0;
}

int g2c_conv_implicit(const G2cPatches *g, int batch, int m, const float *x,
                      const float *w, const float *bias, float *y,
                      int accumulate)
{
    return run(g, batch, m, x, w, 0, bias, y, accumulate);
}

int g2c_conv_implicit_flipped(const G2cPatches *g, int batch, int m,
                              const float *x, const float *w, float *y)
{
    return run(g, batch, m, x, w, 1, NULL, y, 1);
}

#else

int g2c_conv_implicit(const G2cPatches *g, int batch, int m, const float *x,
                      const float *w, const float *bias, float *y,
                      int accumulate)
{
    (void)g, (void)batch, (void)m, (void)x, (void)w, (void)bias, (void)y,
        (void)accumulate;
    return -1;
}

int g2c_conv_implicit_flipped(const G2cPatches *g, int batch, int m,
                              const float *x, const float *w, float *y)
{
    (void)g, (void)batch, (void)m, (void)x, (void)w, (void)y;
    return -1;
}

#endif
