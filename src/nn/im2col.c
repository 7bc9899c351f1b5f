/* im2col / col2im and padding for the convolution layers.
 *
 * Each col row is one (channel, ky, kx) tap; within it, one output row at a
 * time, the input row is copied (or added back) in three parts: the left
 * border, the interior (a plain copy when the stride is 1) and the right
 * border.  Borders are zero or mirrored like PyTorch's ReflectionPad2d. */
#include "im2col.h"
#include "nn-parallel.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define G2C_HAVE_AVX512_PATH 1
#endif

static int reflect_index(int i, int n)
{
    if (i < 0)
        i = -i;
    if (i >= n)
        i = 2 * (n - 1) - i;
    return i;
}

/* Output columns [lo, hi) whose input column ox*s - p + kx lies inside. */
typedef struct {
    int lo, hi;
} Span;

static int clamp_int(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static Span interior(const G2cPatches *g, int kx)
{
    int s = g->stride, first = g->pw - kx, past = g->w + g->pw - kx;
    Span sp;
    sp.lo = first <= 0 ? 0 : (first + s - 1) / s;
    sp.hi = past <= 0 ? 0 : (past + s - 1) / s;
    sp.lo = clamp_int(sp.lo, 0, g->ow);
    sp.hi = clamp_int(sp.hi, sp.lo, g->ow);
    return sp;
}

/* ---- row kernels ----------------------------------------------------- */

static void add_row_generic(float *restrict d, const float *restrict s, int n)
{
    for (int i = 0; i < n; i++)
        d[i] += s[i];
}

#ifdef G2C_HAVE_AVX512_PATH
__attribute__((target("avx512f"))) static void
add_row_avx512(float *restrict d, const float *restrict s, int n)
{
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(d + i, _mm512_add_ps(_mm512_loadu_ps(d + i),
                                              _mm512_loadu_ps(s + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 a = _mm512_maskz_loadu_ps(m, d + i);
        __m512 b = _mm512_maskz_loadu_ps(m, s + i);
        _mm512_mask_storeu_ps(d + i, m, _mm512_add_ps(a, b));
    }
}

/* Every other element: the stride-2 interior of a row. */
__attribute__((target("avx512f"))) static void
gather2_avx512(float *restrict d, const float *restrict s, int n)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                           20, 22, 24, 26, 28, 30);
    int i = 0;
    for (; i + 16 <= n && 2 * i + 32 <= 2 * n - 1; i += 16) {
        __m512 a = _mm512_loadu_ps(s + 2 * i);
        __m512 b = _mm512_loadu_ps(s + 2 * i + 16);
        _mm512_storeu_ps(d + i, _mm512_permutex2var_ps(a, even, b));
    }
    for (; i < n; i++)
        d[i] = s[2 * i];
}

/* d[2i] += s[i]: the stride-2 interior of col2im.  Whole vectors of d are
 * loaded and stored back; the odd lanes get +0, so only elements of the
 * row that exist are touched (2i + 31 <= 2(n - 1)). */
__attribute__((target("avx512f"))) static void
scatter2_add_avx512(float *restrict d, const float *restrict s, int n)
{
    const __m512i lo = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5,
                                         6, 6, 7, 7);
    const __m512i hi = _mm512_setr_epi32(8, 8, 9, 9, 10, 10, 11, 11, 12, 12,
                                         13, 13, 14, 14, 15, 15);
    const __mmask16 even = 0x5555;
    int i = 0;
    for (; 2 * i + 32 <= 2 * n - 1; i += 16) {
        __m512 v = _mm512_loadu_ps(s + i);
        __m512 a = _mm512_loadu_ps(d + 2 * i);
        __m512 b = _mm512_loadu_ps(d + 2 * i + 16);
        a = _mm512_add_ps(a, _mm512_maskz_permutexvar_ps(even, lo, v));
        b = _mm512_add_ps(b, _mm512_maskz_permutexvar_ps(even, hi, v));
        _mm512_storeu_ps(d + 2 * i, a);
        _mm512_storeu_ps(d + 2 * i + 16, b);
    }
    for (; i < n; i++)
        d[2 * i] += s[i];
}
#endif

static int use_avx512(void)
{
#ifdef G2C_HAVE_AVX512_PATH
    return __builtin_cpu_supports("avx512f") && !g2c_conv_tuning.generic;
#else
    return 0;
#endif
}

static void add_row(float *restrict d, const float *restrict s, int n)
{
#ifdef G2C_HAVE_AVX512_PATH
    if (use_avx512()) {
        add_row_avx512(d, s, n);
        return;
    }
#endif
    add_row_generic(d, s, n);
}

static void gather_strided(float *restrict d, const float *restrict s, int n,
                           int stride)
{
#ifdef G2C_HAVE_AVX512_PATH
    if (stride == 2 && use_avx512()) {
        gather2_avx512(d, s, n);
        return;
    }
#endif
    for (int i = 0; i < n; i++)
        d[i] = s[(size_t)i * stride];
}

void g2c_add_floats(float *d, const float *s, size_t n)
{
    while (n > 0) {
        int step = n > (1u << 30) ? 1 << 30 : (int)n;
        add_row(d, s, step);
        d += step;
        s += step;
        n -= (size_t)step;
    }
}

static void scatter_strided_add(float *restrict d, const float *restrict s,
                                int n, int stride)
{
#ifdef G2C_HAVE_AVX512_PATH
    if (stride == 2 && use_avx512()) {
        scatter2_add_avx512(d, s, n);
        return;
    }
#endif
    for (int i = 0; i < n; i++)
        d[(size_t)i * stride] += s[i];
}

void g2c_bias_grad(int batch, int channels, size_t plane, const float *dy,
                   float *db)
{
    for (int o = 0; o < channels; o++) {
        /* Eight running sums, so the additions do not wait on each other;
         * the order is fixed, so the result is too. */
        double part[8] = {0};
        for (int n = 0; n < batch; n++) {
            const float *p = dy + ((size_t)n * channels + o) * plane;
            size_t i = 0;
            for (; i + 8 <= plane; i += 8)
                for (int j = 0; j < 8; j++)
                    part[j] += p[i + j];
            for (; i < plane; i++)
                part[i % 8] += p[i];
        }
        double sum = 0.0;
        for (int j = 0; j < 8; j++)
            sum += part[j];
        db[o] += (float)sum;
    }
}

/* ---- im2col ---------------------------------------------------------- */

/* One output row of one tap: dst[ox] = src[ox*s - p + kx] for all ox. */
static void gather_row(const G2cPatches *g, Span sp, int kx,
                       const float *src, float *dst)
{
    int s = g->stride, off = kx - g->pw;
    for (int ox = 0; ox < sp.lo; ox++)
        dst[ox] = g->mode == G2C_PAD_ZERO
                      ? 0.0f
                      : src[reflect_index(ox * s + off, g->w)];
    if (sp.hi > sp.lo) {
        const float *from = src + sp.lo * s + off;
        if (s == 1)
            memcpy(dst + sp.lo, from, sizeof(float) * (size_t)(sp.hi - sp.lo));
        else
            gather_strided(dst + sp.lo, from, sp.hi - sp.lo, s);
    }
    for (int ox = sp.hi; ox < g->ow; ox++)
        dst[ox] = g->mode == G2C_PAD_ZERO
                      ? 0.0f
                      : src[reflect_index(ox * s + off, g->w)];
}

typedef struct {
    const G2cPatches *g;
    const float *src;
    float *dst;
    size_t ld;
} ColJob;

/* Output rows [lo, hi) whose input row oy*s - ph + ky lies inside. */
static Span rows_inside(const G2cPatches *g, int ky)
{
    int s = g->stride, first = g->ph - ky, past = g->h + g->ph - ky;
    Span sp;
    sp.lo = first <= 0 ? 0 : (first + s - 1) / s;
    sp.hi = past <= 0 ? 0 : (past + s - 1) / s;
    sp.lo = clamp_int(sp.lo, 0, g->oh);
    sp.hi = clamp_int(sp.hi, sp.lo, g->oh);
    return sp;
}

/* Stride 1 with as many output as input columns ("same" padding): the
 * rows of one tap that lie inside the input are one contiguous run of the
 * plane, shifted by kx - pw, so they are copied at once (a memcpy per
 * 24-float row cost 14 % of a classifier step); the border columns that
 * run wraps onto are then written as gather_row writes them. */
static int bulk_rows(const G2cPatches *g)
{
    return g->stride == 1 && g->ow == g->w;
}

static void im2col_bulk(const G2cPatches *g, Span sp, Span rows, int ky,
                        int kx, const float *plane, float *row)
{
    const long w = g->w, off = kx - g->pw;
    /* dst element t = (oy - rows.lo) * w + ox reads plane[base + t]; the
     * ones whose source lies outside the plane are border columns. */
    const long base = (rows.lo + ky - g->ph) * w + off;
    long t0 = base < 0 ? -base : 0, t1 = (rows.hi - rows.lo) * w;
    if (base + t1 > g->h * w)
        t1 = g->h * w - base;
    float *dst = row + rows.lo * w;
    if (t1 > t0)
        memcpy(dst + t0, plane + base + t0, sizeof(float) * (size_t)(t1 - t0));
    for (int oy = rows.lo; oy < rows.hi; oy++) {
        float *d = row + oy * w;
        const float *src = plane + (oy + ky - g->ph) * w;
        for (int ox = 0; ox < sp.lo; ox++)
            d[ox] = g->mode == G2C_PAD_ZERO
                        ? 0.0f
                        : src[reflect_index(ox + (int)off, g->w)];
        for (int ox = sp.hi; ox < g->ow; ox++)
            d[ox] = g->mode == G2C_PAD_ZERO
                        ? 0.0f
                        : src[reflect_index(ox + (int)off, g->w)];
    }
}

static void im2col_channel(void *ctx, int ch)
{
    const ColJob *j = ctx;
    const G2cPatches *g = j->g;
    const float *plane = j->src + (size_t)ch * g->h * g->w;
    for (int ky = 0; ky < g->kh; ky++) {
        const Span rows = rows_inside(g, ky);
        for (int kx = 0; kx < g->kw; kx++) {
            Span sp = interior(g, kx);
            float *row =
                j->dst + (size_t)((ch * g->kh + ky) * g->kw + kx) * j->ld;
            const int bulk = bulk_rows(g) && rows.hi > rows.lo;
            if (bulk)
                im2col_bulk(g, sp, rows, ky, kx, plane, row);
            for (int oy = 0; oy < g->oh; oy++) {
                if (bulk && oy == rows.lo) { /* done above */
                    oy = rows.hi - 1;
                    continue;
                }
                float *dst = row + (size_t)oy * g->ow;
                int iy = oy * g->stride - g->ph + ky;
                if (iy < 0 || iy >= g->h) {
                    if (g->mode == G2C_PAD_ZERO) {
                        memset(dst, 0, sizeof(float) * (size_t)g->ow);
                        continue;
                    }
                    iy = reflect_index(iy, g->h);
                }
                gather_row(g, sp, kx, plane + (size_t)iy * g->w, dst);
            }
        }
    }
}

/* Channels write disjoint rows of col: threads take whole channels. */
void g2c_im2col(const G2cPatches *g, const float *x, float *col, size_t ld)
{
    ColJob j = {g, x, col, ld};
    size_t work = (size_t)g->c * g->kh * g->kw * g->oh * g->ow;
    g2c_nn_parallel(g->c, work, im2col_channel, &j);
}

/* ---- col2im ---------------------------------------------------------- */

static void scatter_row(const G2cPatches *g, Span sp, int kx,
                        const float *src, float *dst)
{
    int s = g->stride, off = kx - g->pw;
    if (g->mode == G2C_PAD_REFLECT)
        for (int ox = 0; ox < sp.lo; ox++)
            dst[reflect_index(ox * s + off, g->w)] += src[ox];
    if (sp.hi > sp.lo) {
        float *to = dst + sp.lo * s + off;
        int n = sp.hi - sp.lo;
        if (s == 1)
            add_row(to, src + sp.lo, n);
        else
            scatter_strided_add(to, src + sp.lo, n, s);
    }
    if (g->mode == G2C_PAD_REFLECT)
        for (int ox = sp.hi; ox < g->ow; ox++)
            dst[reflect_index(ox * s + off, g->w)] += src[ox];
}

static void col2im_channel(void *ctx, int ch)
{
    const ColJob *j = ctx;
    const G2cPatches *g = j->g;
    float *plane = j->dst + (size_t)ch * g->h * g->w;
    for (int ky = 0; ky < g->kh; ky++) {
        for (int kx = 0; kx < g->kw; kx++) {
            Span sp = interior(g, kx);
            const float *row =
                j->src + (size_t)((ch * g->kh + ky) * g->kw + kx) * j->ld;
            for (int oy = 0; oy < g->oh; oy++) {
                int iy = oy * g->stride - g->ph + ky;
                if (iy < 0 || iy >= g->h) {
                    if (g->mode == G2C_PAD_ZERO)
                        continue;
                    iy = reflect_index(iy, g->h);
                }
                scatter_row(g, sp, kx, row + (size_t)oy * g->ow,
                            plane + (size_t)iy * g->w);
            }
        }
    }
}

/* Channel outermost so one plane of x stays in cache while all its taps
 * are added; channels touch disjoint planes, so threads take whole
 * channels, and the order of additions per element is fixed: results do
 * not depend on anything but the inputs. */
void g2c_col2im(const G2cPatches *g, const float *col, size_t ld, float *x)
{
    ColJob j = {g, col, x, ld};
    size_t work = (size_t)g->c * g->kh * g->kw * g->oh * g->ow;
    g2c_nn_parallel(g->c, work, col2im_channel, &j);
}

/* ---- explicit padding ------------------------------------------------ */

#ifdef G2C_HAVE_AVX512_PATH
/* Zero padding of a whole plane, 16 destination floats at a time with
 * masks: the rows of the classifier's late layers are 6 to 24 floats,
 * where a memcpy and two fills per row cost more than the copy. */
__attribute__((target("avx512f"))) static void
pad_plane_zero_avx512(int h, int w, int ph, int pw, const float *src,
                      float *dst)
{
    const int hp = h + 2 * ph, wp = w + 2 * pw;
    for (int y = 0; y < hp; y++) {
        float *d = dst + (size_t)y * wp;
        const int iy = y - ph;
        for (int j = 0; j < wp; j += 16) {
            const int lo = pw - j, hi = pw + w - j; /* source lanes */
            unsigned keep = 0;
            if (iy >= 0 && iy < h && hi > 0 && lo < 16) {
                unsigned top = hi >= 16 ? 0xFFFFu : (1u << hi) - 1;
                unsigned bottom = lo <= 0 ? 0u : (1u << lo) - 1;
                keep = top & ~bottom;
            }
            const unsigned store =
                wp - j >= 16 ? 0xFFFFu : (1u << (wp - j)) - 1;
            /* Masked-off lanes are never read, so the address may point
             * before the row (its first lanes are padding). */
            __m512 v = _mm512_maskz_loadu_ps(
                (__mmask16)keep, src + (ptrdiff_t)iy * w + (j - pw));
            _mm512_mask_storeu_ps(d + j, (__mmask16)store, v);
        }
    }
}
#endif

void g2c_pad_planes(int c, int h, int w, int ph, int pw, G2cPadMode mode,
                    const float *x, float *xp)
{
    const int hp = h + 2 * ph, wp = w + 2 * pw;
#ifdef G2C_HAVE_AVX512_PATH
    if (mode == G2C_PAD_ZERO && use_avx512()) {
        for (int ch = 0; ch < c; ch++)
            pad_plane_zero_avx512(h, w, ph, pw, x + (size_t)ch * h * w,
                                  xp + (size_t)ch * hp * wp);
        return;
    }
#endif
    for (int ch = 0; ch < c; ch++) {
        const float *src = x + (size_t)ch * h * w;
        float *dst = xp + (size_t)ch * hp * wp;
        for (int y = 0; y < hp; y++) {
            float *d = dst + (size_t)y * wp;
            int iy = y - ph;
            if (iy < 0 || iy >= h) {
                if (mode == G2C_PAD_ZERO) {
                    memset(d, 0, sizeof(float) * (size_t)wp);
                    continue;
                }
                iy = reflect_index(iy, h);
            }
            const float *s = src + (size_t)iy * w;
            for (int xx = 0; xx < pw; xx++)
                d[xx] = mode == G2C_PAD_ZERO ? 0.0f
                                             : s[reflect_index(xx - pw, w)];
            memcpy(d + pw, s, sizeof(float) * (size_t)w);
            for (int xx = pw + w; xx < wp; xx++)
                d[xx] = mode == G2C_PAD_ZERO ? 0.0f
                                             : s[reflect_index(xx - pw, w)];
        }
    }
}

void g2c_unpad_planes_add(int c, int h, int w, int ph, int pw,
                          G2cPadMode mode, const float *dxp, float *dx)
{
    const int hp = h + 2 * ph, wp = w + 2 * pw;
    for (int ch = 0; ch < c; ch++) {
        const float *src = dxp + (size_t)ch * hp * wp;
        float *dst = dx + (size_t)ch * h * w;
        for (int y = 0; y < hp; y++) {
            const float *s = src + (size_t)y * wp;
            int iy = y - ph;
            if (iy < 0 || iy >= h) {
                if (mode == G2C_PAD_ZERO)
                    continue;
                iy = reflect_index(iy, h);
            }
            float *d = dst + (size_t)iy * w;
            if (mode == G2C_PAD_REFLECT)
                for (int xx = 0; xx < pw; xx++)
                    d[reflect_index(xx - pw, w)] += s[xx];
            add_row(d, s + pw, w);
            if (mode == G2C_PAD_REFLECT)
                for (int xx = pw + w; xx < wp; xx++)
                    d[reflect_index(xx - pw, w)] += s[xx];
        }
    }
}
