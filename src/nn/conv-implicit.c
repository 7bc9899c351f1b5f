/* Convolution as an implicit GEMM: y[o, n] = sum over k of W[o, k] * B[k, n]
 * where B is the im2col matrix of the padded input (k = (ch, ky, kx), n =
 * (image, oy, ox)), never written out.
 *
 * Why: with im2col + OpenBLAS, a classifier step spent a quarter of its
 * time outside the multiply-adds: writing col, OpenBLAS packing it again,
 * folding images side by side and back.  Here the input is padded once;
 * each item takes 32 consecutive output columns and runs every block of MR
 * output channels over them in registers: MR x 32 accumulators, one
 * broadcast of W and two loads of B per k.  The columns' B rows come from
 * one of two layouts:
 *  - wide rows (stride 1, rows of 20+): each row computed over the padded
 *    width, so B's row k is 32 consecutive floats of the padded input,
 *    read in place (2 of every 20+ columns computed and dropped);
 *  - exact columns (they may span images): gathered for every k into a
 *    packed panel, two AVX-512 gathers per k (column n's element k sits at
 *    base[n] + koff[k] in the padded input).
 * The weights are packed once per call into MR-row panels, zero-padded at
 * the end.  dw has its own two forms (below).
 *
 * Each output element is computed by one item, summing in an order fixed by
 * the shape alone, whichever thread runs it: the result does not depend on
 * the thread count. */
#include "g2c/nn.h"

#include "im2col.h"
#include "nn-parallel.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,fma")))

enum { NR = 32 };

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
                   p->src + (size_t)n * p->in_sz,
                   p->dst + (size_t)n * p->pad_sz);
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
 * the padded input for every k, in place (x + koff[k]): no packing at all.
 * The wp - ow extra columns of each row are computed and dropped.  Item =
 * image x panel of its oh * wp columns; returns where its columns start. */
static const float *wide_runs(const Job *j, int item, Runs *runs)
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
    return j->xpad + img * j->in_sz + v0;
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

/* The same, B read in place: row kk of B is the 32 floats at x + off[kk]
 * (wide rows). */
static AVX512 inline __attribute__((always_inline)) void
kernel_in_place(const int MR, int k, const float *a, const float *x,
                const int32_t *off, float *tile)
{
    __m512 acc[12][2];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++)
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int kk = 0; kk < k; kk++) {
        const float *b = x + off[kk];
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += MR;
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        _mm512_store_ps(tile + i * NR, acc[i][0]);
        _mm512_store_ps(tile + i * NR + 16, acc[i][1]);
    }
}

static AVX512 void kernel12_in_place(int k, const float *a, const float *x,
                                     const int32_t *off, float *t)
{
    kernel_in_place(12, k, a, x, off, t);
}

static AVX512 void kernel8_in_place(int k, const float *a, const float *x,
                                    const int32_t *off, float *t)
{
    kernel_in_place(8, k, a, x, off, t);
}

static AVX512 void kernel12(int k, const float *a, const float *b, float *t)
{
    kernel(12, k, a, b, t);
}

static AVX512 void kernel8(int k, const float *a, const float *b, float *t)
{
    kernel(8, k, a, b, t);
}

/* Rows [o0, o0 + rows) of the tile into y, run by run (up to 32 floats:
 * two masked vectors per row). */
static AVX512 void store_tile(const Job *j, const Runs *runs, int o0,
                              int rows, const float *tile)
{
    for (int r = 0; r < runs->count; r++) {
        const int t = runs->run[r].t, len = runs->run[r].len;
        const __mmask16 m0 = (__mmask16)(len >= 16 ? 0xFFFF : (1u << len) - 1);
        const __mmask16 m1 =
            (__mmask16)(len <= 16 ? 0 : len >= 32 ? 0xFFFF
                                                  : (1u << (len - 16)) - 1);
        for (int i = 0; i < rows; i++) {
            const float *src = tile + i * NR + t;
            float *d = j->y + runs->run[r].dst + (size_t)(o0 + i) * j->P;
            __m512 v0 = _mm512_maskz_loadu_ps(m0, src);
            __m512 v1 = _mm512_maskz_loadu_ps(m1, src + 16);
            __m512 add = j->accumulate
                             ? _mm512_setzero_ps()
                             : _mm512_set1_ps(j->bias ? j->bias[o0 + i] : 0.0f);
            if (j->accumulate) {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, d));
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, d + 16));
            } else {
                v0 = _mm512_add_ps(v0, add);
                v1 = _mm512_add_ps(v1, add);
            }
            _mm512_mask_storeu_ps(d, m0, v0);
            _mm512_mask_storeu_ps(d + 16, m1, v1);
        }
    }
}

static AVX512 void run_panel(void *ctx, int item)
{
    const Job *j = ctx;
    float *b = g2c_nn_item_scratch((size_t)j->k * NR + 12 * NR);
    float *tile = b + (size_t)j->k * NR;
    Runs runs;
    const float *x = NULL;
    if (j->wide_panels)
        x = wide_runs(j, item, &runs);
    else
        pack_exact(j, (size_t)item * NR, b, &runs);
    for (int pm = 0; pm < j->m_panels; pm++) {
        const float *a = j->apack + (size_t)pm * j->k * j->mr;
        if (x && j->mr == 12)
            kernel12_in_place(j->k, a, x, j->koff, tile);
        else if (x)
            kernel8_in_place(j->k, a, x, j->koff, tile);
        else if (j->mr == 12)
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

/* What every implicit product needs: the padded input and the gather
 * offsets of the k rows, in the caller's scratch with `extra` floats more
 * for the caller; the Job's geometry fields are filled in.  Returns the
 * extra space, or NULL where this CPU or size cannot take the path. */
static float *prepare(const G2cPatches *g, int batch, int m, int wide,
                      const float *x, size_t extra, Job *j)
{
    if (!__builtin_cpu_supports("avx512f") || g2c_conv_tuning.generic)
        return NULL;
    const int hp = g->h + 2 * g->ph, wp = g->w + 2 * g->pw;
    const size_t in_sz = (size_t)g->c * hp * wp;
    if (in_sz * (size_t)batch >= (size_t)INT32_MAX / 2)
        return NULL;
    const int k = g->c * g->kh * g->kw, mr = rows_per_panel(m);
    const size_t P = (size_t)g->oh * g->ow;
    /* The wide rows' dropped columns read past the last image. */
    const size_t slack = wide ? (size_t)NR + g->kw : 0;
    const size_t pad_n = in_sz * (size_t)batch + slack;
    const size_t koff_n = ((size_t)k + 15) / 16 * 16;
    float *buf = g2c_nn_scratch(pad_n + koff_n + extra);
    int32_t *koff = (int32_t *)(buf + pad_n);
    for (int ch = 0, kk = 0; ch < g->c; ch++)
        for (int ky = 0; ky < g->kh; ky++)
            for (int kx = 0; kx < g->kw; kx++)
                koff[kk++] = (int32_t)((size_t)ch * hp * wp +
                                       (size_t)ky * wp + kx);
    PadJob pj = {x, buf, *g, (size_t)g->c * g->h * g->w, in_sz};
    g2c_nn_parallel(batch, pad_n, pad_image, &pj);
    memset(buf + pad_n - slack, 0, slack * sizeof *buf);
    *j = (Job){.m = m, .k = k, .mr = mr, .m_panels = (m + mr - 1) / mr,
               .hp = hp, .wp = wp, .ow = g->ow, .stride = g->stride, .P = P,
               .N = P * (size_t)batch, .out_sz = (size_t)m * P,
               .in_sz = in_sz, .xpad = buf, .koff = koff, .kh = g->kh,
               .kw = g->kw};
    return buf + pad_n + koff_n;
}

static int run(const G2cPatches *g, int batch, int m, const float *x,
               const float *w, int flip, const float *bias, float *y,
               int accumulate)
{
    /* Wide rows where they waste little (at most wp - ow of every wp
     * columns computed for nothing), exact columns by gathers elsewhere. */
    const int wide = g->stride == 1 && g->ow >= G2C_WIDE_MIN_WIDTH;
    const int k = g->c * g->kh * g->kw, mr = rows_per_panel(m);
    const size_t apack_n = (size_t)((m + mr - 1) / mr) * k * mr;
    Job j;
    float *apack = prepare(g, batch, m, wide, x, apack_n, &j);
    if (!apack)
        return -1;
    j.apack = apack;
    j.w = w;
    j.flip = flip;
    j.bias = bias;
    j.y = y;
    j.accumulate = accumulate;
    const int wp = g->w + 2 * g->pw;
    j.wide_panels = wide ? (g->oh * wp + NR - 1) / NR : 0;
    g2c_nn_parallel(j.m_panels, (size_t)m * k, pack_weights, &j);
    const int items =
        wide ? batch * j.wide_panels : (int)((j.N + NR - 1) / NR);
    g2c_nn_parallel(items, j.N * (size_t)k, run_panel, &j);
    return 0;
}

/* ---- dw = dY * B^T ------------------------------------------------------ */

/* Pixels per block of the inner sum: the block's 32 gathered k columns
 * (32 KB) stay in L1 while every row panel of dY passes over them. */
enum { DW_BLOCK = 256 };

typedef struct {
    Job j;
    const float *dy;
    float *dw;
    float *dyt; /* dY packed as A panels: [m_panels][N][mr] */
} DwJob;

/* One row panel of dY, transposed: every pixel's mr channel values side
 * by side, as the kernel broadcasts them; rows past m zero. */
static void pack_dy(void *ctx, int pm)
{
    const DwJob *d = ctx;
    const Job *j = &d->j;
    float *dst = d->dyt + (size_t)pm * j->N * j->mr;
    const size_t images = j->N / j->P;
    for (int i = 0; i < j->mr; i++) {
        const int row = pm * j->mr + i;
        for (size_t img = 0; img < images; img++) {
            float *o = dst + img * j->P * j->mr + i;
            if (row >= j->m) {
                for (size_t p = 0; p < j->P; p++)
                    o[p * j->mr] = 0.0f;
                continue;
            }
            const float *src = d->dy + img * j->out_sz + (size_t)row * j->P;
            for (size_t p = 0; p < j->P; p++)
                o[p * j->mr] = src[p];
        }
    }
}

/* dw[:, k0 .. k0 + 32) for one item: the sum over all pixels, block by
 * block, into a private [m_panels * mr][32] accumulator. */
static AVX512 void dw_panel(void *ctx, int item)
{
    const DwJob *d = ctx;
    const Job *j = &d->j;
    const int k0 = item * NR, kn = j->k - k0 < NR ? j->k - k0 : NR;
    const int rows = j->m_panels * j->mr;
    float *bb = g2c_nn_item_scratch((size_t)DW_BLOCK * NR +
                                    (size_t)rows * NR + 12 * NR);
    float *acc = bb + (size_t)DW_BLOCK * NR;
    float *tile = acc + (size_t)rows * NR;
    memset(acc, 0, (size_t)rows * NR * sizeof *acc);
    int32_t koff[NR] __attribute__((aligned(64)));
    for (int t = 0; t < NR; t++)
        koff[t] = j->koff[k0 + (t < kn ? t : 0)];
    const __m512i o0 = _mm512_load_si512(koff);
    const __m512i o1 = _mm512_load_si512(koff + 16);
    for (size_t n0 = 0; n0 < j->N; n0 += DW_BLOCK) {
        const int nc = j->N - n0 < DW_BLOCK ? (int)(j->N - n0) : DW_BLOCK;
        for (int t = 0; t < nc; t++) {
            __m512i base = _mm512_set1_epi32(exact_base(j, n0 + t));
            _mm512_store_ps(bb + (size_t)t * NR,
                            _mm512_i32gather_ps(_mm512_add_epi32(base, o0),
                                                j->xpad, 4));
            _mm512_store_ps(bb + (size_t)t * NR + 16,
                            _mm512_i32gather_ps(_mm512_add_epi32(base, o1),
                                                j->xpad, 4));
        }
        for (int pm = 0; pm < j->m_panels; pm++) {
            const float *a = d->dyt + ((size_t)pm * j->N + n0) * j->mr;
            if (j->mr == 12)
                kernel12(nc, a, bb, tile);
            else
                kernel8(nc, a, bb, tile);
            float *s = acc + (size_t)pm * j->mr * NR;
            for (int q = 0; q < j->mr * NR; q++)
                s[q] += tile[q];
        }
    }
    for (int row = 0; row < j->m; row++)
        for (int t = 0; t < kn; t++)
            d->dw[(size_t)row * j->k + k0 + t] += acc[(size_t)row * NR + t];
}

/* ---- dw over wide rows (stride 1): dot products, no gathers ------------ */

/* dW[o, k] = sum over images and v of dYw[o, image, v] * xpad[image,
 * v + koff[k]], where v runs over the wide rows (oh x wp, the dropped
 * columns' dY set to 0): for every k the x values are 32 consecutive
 * floats, so blocks of 4 output channels x 6 k keep 24 vector partial sums
 * in registers while dY and x stream past, 16 columns at a time.  The
 * partial sums carry from image to image in a private buffer and are
 * summed across their lanes at the end. */
enum { WMB = 4, WKB = 6 };

typedef struct {
    Job j;
    const float *dy;
    float *dw;
    float *dyw;  /* [m_blocks * 4][batch][vp], zero where no output */
    size_t vp;   /* wide columns per image, a multiple of 16 */
    int batch, k_blocks;
} WideDw;

static void pack_dy_wide(void *ctx, int row)
{
    const WideDw *d = ctx;
    const Job *j = &d->j;
    const int oh = (int)(j->P / j->ow);
    for (int img = 0; img < d->batch; img++) {
        float *dst = d->dyw + ((size_t)row * d->batch + img) * d->vp;
        memset(dst, 0, d->vp * sizeof *dst);
        if (row >= j->m)
            continue;
        const float *src = d->dy + img * j->out_sz + (size_t)row * j->P;
        for (int oy = 0; oy < oh; oy++)
            memcpy(dst + (size_t)oy * j->wp, src + (size_t)oy * j->ow,
                   (size_t)j->ow * sizeof *dst);
    }
}

static AVX512 void wide_dw_block(const WideDw *d, int mb, int img, int kb,
                                 __m512 *sums)
{
    const Job *j = &d->j;
    const float *dy0 = d->dyw + ((size_t)mb * WMB * d->batch + img) * d->vp;
    const size_t row = (size_t)d->batch * d->vp;
    const float *x = j->xpad + (size_t)img * j->in_sz;
    const float *xs[WKB];
    for (int q = 0; q < WKB; q++) {
        int kk = kb * WKB + q;
        xs[q] = x + j->koff[kk < j->k ? kk : 0];
    }
    __m512 acc[WMB][WKB];
#pragma GCC unroll 4
    for (int i = 0; i < WMB; i++)
#pragma GCC unroll 6
        for (int q = 0; q < WKB; q++)
            acc[i][q] = sums[i * WKB + q];
    for (size_t v = 0; v < d->vp; v += 16) {
        __m512 dv[WMB];
#pragma GCC unroll 4
        for (int i = 0; i < WMB; i++)
            dv[i] = _mm512_loadu_ps(dy0 + i * row + v);
#pragma GCC unroll 6
        for (int q = 0; q < WKB; q++) {
            __m512 xv = _mm512_loadu_ps(xs[q] + v);
#pragma GCC unroll 4
            for (int i = 0; i < WMB; i++)
                acc[i][q] = _mm512_fmadd_ps(dv[i], xv, acc[i][q]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < WMB; i++)
#pragma GCC unroll 6
        for (int q = 0; q < WKB; q++)
            sums[i * WKB + q] = acc[i][q];
}

/* One item: 4 output channels, every k, every image. */
static AVX512 void wide_dw_rows(void *ctx, int mb)
{
    const WideDw *d = ctx;
    const Job *j = &d->j;
    const size_t n = (size_t)d->k_blocks * WMB * WKB;
    __m512 *sums = (__m512 *)g2c_nn_item_scratch(n * 16);
    for (size_t q = 0; q < n; q++)
        sums[q] = _mm512_setzero_ps();
    for (int img = 0; img < d->batch; img++)
        for (int kb = 0; kb < d->k_blocks; kb++)
            wide_dw_block(d, mb, img, kb, sums + (size_t)kb * WMB * WKB);
    for (int kb = 0; kb < d->k_blocks; kb++)
        for (int i = 0; i < WMB; i++)
            for (int q = 0; q < WKB; q++) {
                const int o = mb * WMB + i, kk = kb * WKB + q;
                if (o < j->m && kk < j->k)
                    d->dw[(size_t)o * j->k + kk] += _mm512_reduce_add_ps(
                        sums[((size_t)kb * WMB + i) * WKB + q]);
            }
}

static int wide_dw(const G2cPatches *g, int batch, int m, const float *x,
                   const float *dy, float *dw)
{
    const int wp = g->w + 2 * g->pw;
    const size_t vp = ((size_t)g->oh * wp + 15) / 16 * 16;
    const int m_blocks = (m + WMB - 1) / WMB;
    WideDw d;
    d.dyw = prepare(g, batch, m, 1, x, (size_t)m_blocks * WMB * batch * vp,
                    &d.j);
    if (!d.dyw)
        return -1;
    d.dy = dy;
    d.dw = dw;
    d.vp = vp;
    d.batch = batch;
    d.k_blocks = (d.j.k + WKB - 1) / WKB;
    g2c_nn_parallel(m_blocks * WMB, (size_t)m * batch * vp, pack_dy_wide, &d);
    g2c_nn_parallel(m_blocks, d.j.N * (size_t)d.j.k, wide_dw_rows, &d);
    return 0;
}

int g2c_conv_implicit_dw(const G2cPatches *g, int batch, int m,
                         const float *x, const float *dy, float *dw)
{
    if (g->stride == 1 && g->ow >= G2C_WIDE_MIN_WIDTH)
        return wide_dw(g, batch, m, x, dy, dw);
    DwJob d;
    const int mr = rows_per_panel(m);
    const size_t n = (size_t)g->oh * g->ow * batch;
    d.dyt = prepare(g, batch, m, 0, x, (size_t)((m + mr - 1) / mr) * mr * n,
                    &d.j);
    if (!d.dyt)
        return -1;
    d.dy = dy;
    d.dw = dw;
    g2c_nn_parallel(d.j.m_panels, d.j.N * (size_t)m, pack_dy, &d);
    const int items = (d.j.k + NR - 1) / NR;
    g2c_nn_parallel(items, d.j.N * (size_t)d.j.k, dw_panel, &d);
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

int g2c_conv_implicit_dw(const G2cPatches *g, int batch, int m,
                         const float *x, const float *dy, float *dw)
{
    (void)g, (void)batch, (void)m, (void)x, (void)dy, (void)dw;
    return -1;
}

#endif
