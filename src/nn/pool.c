/* 2-D pooling with PyTorch semantics (ceil_mode=False): max pool treats the
 * padding as -inf, so a padded border never wins; average pool counts the
 * padding in its divisor (count_include_pad=True). */
#include "g2c/nn.h"

#include "nn-parallel.h"

#include <math.h>
#include <string.h>

static int pool_out(int in, const G2cPool2d *p)
{
    int span = in + 2 * p->pad - p->kernel;
    return span < 0 ? 0 : span / p->stride + 1;
}

int g2c_pool2d_out_h(const G2cPool2d *p)
{
    return pool_out(p->in_h, p);
}

int g2c_pool2d_out_w(const G2cPool2d *p)
{
    return pool_out(p->in_w, p);
}

/* The window of output o along one axis, clipped to the input. */
static void window(int o, int in, const G2cPool2d *p, int *lo, int *hi)
{
    int start = o * p->stride - p->pad;
    int end = start + p->kernel;
    *lo = start < 0 ? 0 : start;
    *hi = end > in ? in : end;
}

/* Output columns whose window column kx (0-based within the kernel) falls
 * inside the input: [*lo, *hi). */
static void column_range(const G2cPool2d *p, int ow, int kx, int *lo, int *hi)
{
    int off = kx - p->pad; /* input column of output 0 */
    int l = off >= 0 ? 0 : (-off + p->stride - 1) / p->stride;
    int h = p->in_w - 1 - off < 0 ? 0 : (p->in_w - 1 - off) / p->stride + 1;
    *lo = l;
    *hi = h < ow ? h : ow;
}

/* Whether a plane holds a NaN.  Fixed blocks through a local array, so
 * that GCC's -O2 vectorizer takes the loop (see activation.c). */
static int has_nan(const float *x, size_t n)
{
    enum { BLK = 16 };
    int acc[BLK] = {0};
    size_t i = 0;
    for (; i + BLK <= n; i += BLK)
        for (int j = 0; j < BLK; j++)
            acc[j] |= x[i + j] != x[i + j];
    int any = 0;
    for (int j = 0; j < BLK; j++)
        any |= acc[j];
    for (; i < n; i++)
        any |= x[i] != x[i];
    return any;
}

/* One output row: the kernel's elements are visited in row-major order, so
 * strict '>' keeps PyTorch's first maximum, each across all output columns
 * at once.  The columns are independent, so the selects are done with bit
 * masks: GCC turns float selects back into branches, and on real
 * activations those mispredict a few times per window.  with_nan also lets
 * a NaN win (the last one, as in PyTorch's kernel); testing it costs as
 * much as the rest, so it is only done on planes that hold one (always
 * inlined, so that each call's constant flag removes the test). */
static inline __attribute__((always_inline)) void
maxpool_row(const G2cPool2d *p, const float *xp, int oy, int ow, int with_nan,
            float *ym, int32_t *am)
{
    /* Locals: the stores below could alias *p as far as the compiler
     * knows, and would force a reload of every field each element. */
    const int w = p->in_w, s = p->stride;
    int y0, y1;
    window(oy, p->in_h, p, &y0, &y1);
    for (int ox = 0; ox < ow; ox++) {
        int x0, x1;
        window(ox, w, p, &x0, &x1);
        ym[ox] = -INFINITY; /* all -inf: the first element, as PyTorch */
        am[ox] = y0 * w + x0;
    }
    for (int iy = y0; iy < y1; iy++) {
        const float *row = xp + (size_t)iy * w;
        for (int kx = 0; kx < p->kernel; kx++) {
            int lo, hi;
            column_range(p, ow, kx, &lo, &hi);
            uint32_t idx = (uint32_t)(iy * w + lo * s - p->pad + kx);
            const float *src = row + (lo * s - p->pad + kx);
            for (int ox = lo; ox < hi; ox++, src += s, idx += (uint32_t)s) {
                float v = *src, m = ym[ox];
                uint32_t vb, mb;
                memcpy(&vb, &v, sizeof vb);
                memcpy(&mb, &m, sizeof mb);
                uint32_t take = with_nan
                    ? 0u - (uint32_t)((v > m) | (v != v))
                    : 0u - (uint32_t)(v > m);
                mb = (vb & take) | (mb & ~take);
                memcpy(&ym[ox], &mb, sizeof mb);
                am[ox] = (int32_t)((idx & take) | ((uint32_t)am[ox] & ~take));
            }
        }
    }
}

typedef struct {
    const G2cPool2d *p;
    int oh, ow;
    const float *x, *dy;
    float *y, *dx;
    const int32_t *argmax_in;
    int32_t *argmax;
} MaxPool;

static void maxpool_plane(void *ctx, int pl)
{
    const MaxPool *t = ctx;
    const G2cPool2d *p = t->p;
    const int oh = t->oh, ow = t->ow;
    size_t in_plane = (size_t)p->in_h * p->in_w, out_plane = (size_t)oh * ow;
    const float *xp = t->x + (size_t)pl * in_plane;
    float *yp = t->y + (size_t)pl * out_plane;
    int32_t *ap = t->argmax + (size_t)pl * out_plane;
    if (has_nan(xp, in_plane))
        for (int oy = 0; oy < oh; oy++)
            maxpool_row(p, xp, oy, ow, 1, yp + (size_t)oy * ow,
                        ap + (size_t)oy * ow);
    else
        for (int oy = 0; oy < oh; oy++)
            maxpool_row(p, xp, oy, ow, 0, yp + (size_t)oy * ow,
                        ap + (size_t)oy * ow);
}

/* Planes are independent: threads take whole planes. */
void g2c_maxpool2d_forward(const G2cPool2d *p, const float *x, float *y,
                           int32_t *argmax)
{
    MaxPool t = {.p = p, .oh = g2c_pool2d_out_h(p),
                 .ow = g2c_pool2d_out_w(p), .x = x, .y = y,
                 .argmax = argmax};
    int planes = p->batch * p->c;
    g2c_nn_parallel(planes, (size_t)planes * p->in_h * p->in_w * 2,
                    maxpool_plane, &t);
}

static void maxpool_back_plane(void *ctx, int pl)
{
    const MaxPool *t = ctx;
    size_t in_plane = (size_t)t->p->in_h * t->p->in_w;
    size_t out_plane = (size_t)t->oh * t->ow;
    float *dxp = t->dx + (size_t)pl * in_plane;
    const float *dyp = t->dy + (size_t)pl * out_plane;
    const int32_t *ap = t->argmax_in + (size_t)pl * out_plane;
    for (size_t o = 0; o < out_plane; o++)
        dxp[ap[o]] += dyp[o];
}

void g2c_maxpool2d_backward(const G2cPool2d *p, const int32_t *argmax,
                            const float *dy, float *dx)
{
    if (!dx)
        return;
    MaxPool t = {.p = p, .oh = g2c_pool2d_out_h(p),
                 .ow = g2c_pool2d_out_w(p), .dy = dy, .dx = dx,
                 .argmax_in = argmax};
    int planes = p->batch * p->c;
    g2c_nn_parallel(planes, (size_t)planes * p->in_h * p->in_w * 2,
                    maxpool_back_plane, &t);
}

/* PyTorch's divisor: the window clipped to the padded input, not to the
 * input itself.  With ceil_mode=False that is always kernel^2, but computing
 * it keeps the rule visible. */
static int avg_divisor(int oy, int ox, const G2cPool2d *p)
{
    int ys = oy * p->stride - p->pad, xs = ox * p->stride - p->pad;
    int ye = ys + p->kernel, xe = xs + p->kernel;
    if (ye > p->in_h + p->pad)
        ye = p->in_h + p->pad;
    if (xe > p->in_w + p->pad)
        xe = p->in_w + p->pad;
    return (ye - ys) * (xe - xs);
}

void g2c_avgpool2d_forward(const G2cPool2d *p, const float *x, float *y)
{
    int oh = g2c_pool2d_out_h(p), ow = g2c_pool2d_out_w(p);
    size_t in_plane = (size_t)p->in_h * p->in_w;
    size_t out_plane = (size_t)oh * ow;
    for (size_t pl = 0; pl < (size_t)p->batch * p->c; pl++) {
        const float *xp = x + pl * in_plane;
        float *yp = y + pl * out_plane;
        for (int oy = 0; oy < oh; oy++) {
            int y0, y1;
            window(oy, p->in_h, p, &y0, &y1);
            for (int ox = 0; ox < ow; ox++) {
                int x0, x1;
                window(ox, p->in_w, p, &x0, &x1);
                float s = 0.0f;
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++)
                        s += xp[(size_t)iy * p->in_w + ix];
                yp[oy * ow + ox] = s / (float)avg_divisor(oy, ox, p);
            }
        }
    }
}

void g2c_avgpool2d_backward(const G2cPool2d *p, const float *dy, float *dx)
{
    if (!dx)
        return;
    int oh = g2c_pool2d_out_h(p), ow = g2c_pool2d_out_w(p);
    size_t in_plane = (size_t)p->in_h * p->in_w;
    size_t out_plane = (size_t)oh * ow;
    for (size_t pl = 0; pl < (size_t)p->batch * p->c; pl++) {
        float *dxp = dx + pl * in_plane;
        const float *dyp = dy + pl * out_plane;
        for (int oy = 0; oy < oh; oy++) {
            int y0, y1;
            window(oy, p->in_h, p, &y0, &y1);
            for (int ox = 0; ox < ow; ox++) {
                int x0, x1;
                window(ox, p->in_w, p, &x0, &x1);
                float g = dyp[oy * ow + ox] / (float)avg_divisor(oy, ox, p);
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++)
                        dxp[(size_t)iy * p->in_w + ix] += g;
            }
        }
    }
}

void g2c_gap_forward(int n, int c, int hw, const float *x, float *y)
{
    for (size_t pl = 0; pl < (size_t)n * c; pl++) {
        const float *xp = x + pl * hw;
        double s = 0.0;
        for (int i = 0; i < hw; i++)
            s += xp[i];
        y[pl] = (float)(s / hw);
    }
}

void g2c_gap_backward(int n, int c, int hw, const float *dy, float *dx)
{
    if (!dx)
        return;
    for (size_t pl = 0; pl < (size_t)n * c; pl++) {
        float g = dy[pl] / (float)hw;
        float *dxp = dx + pl * hw;
        for (int i = 0; i < hw; i++)
            dxp[i] += g;
    }
}
