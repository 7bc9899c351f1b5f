/* Binary element-wise layers: residual addition and the channel-wise scale
 * of squeeze-and-excitation blocks; and zeroing a buffer.  All split over
 * the engine's threads by elements or planes, each computed alone, so the
 * split changes no bit. */
#include "g2c/nn.h"

#include "nn-parallel.h"

#include <string.h>

typedef struct {
    const float *a, *b;
    float *y, *z;
} Ptrs;

static void add_range(void *ctx, size_t lo, size_t hi)
{
    const Ptrs *p = ctx;
    for (size_t i = lo; i < hi; i++)
        p->y[i] = p->a[i] + p->b[i];
}

void g2c_add_forward(size_t n, const float *a, const float *b, float *y)
{
    Ptrs p = {a, b, y, NULL};
    g2c_nn_parallel_range(n, add_range, &p);
}

static void add_grad_range(void *ctx, size_t lo, size_t hi)
{
    const Ptrs *p = ctx;
    if (p->y)
        for (size_t i = lo; i < hi; i++)
            p->y[i] += p->a[i];
    if (p->z)
        for (size_t i = lo; i < hi; i++)
            p->z[i] += p->a[i];
}

void g2c_add_backward(size_t n, const float *dy, float *da, float *db)
{
    Ptrs p = {dy, NULL, da, db};
    if (da || db)
        g2c_nn_parallel_range(n, add_grad_range, &p);
}

static void zero_range(void *ctx, size_t lo, size_t hi)
{
    const Ptrs *p = ctx;
    memset(p->y + lo, 0, (hi - lo) * sizeof(float));
}

void g2c_zero_floats(float *x, size_t n)
{
    Ptrs p = {NULL, NULL, x, NULL};
    g2c_nn_parallel_range(n, zero_range, &p);
}

typedef struct {
    int hw;
    const float *x, *s, *dy;
    float *y, *dx, *ds;
} ChanMul;

static void chanmul_plane(void *ctx, int pl)
{
    const ChanMul *m = ctx;
    const float *xp = m->x + (size_t)pl * m->hw;
    float *yp = m->y + (size_t)pl * m->hw;
    float k = m->s[pl];
    for (int i = 0; i < m->hw; i++)
        yp[i] = xp[i] * k;
}

void g2c_chanmul_forward(int n, int c, int hw, const float *x, const float *s,
                         float *y)
{
    ChanMul m = {hw, x, s, NULL, y, NULL, NULL};
    g2c_nn_parallel(n * c, (size_t)n * c * hw * 2, chanmul_plane, &m);
}

static void chanmul_grad_plane(void *ctx, int pl)
{
    const ChanMul *m = ctx;
    const size_t at = (size_t)pl * m->hw;
    const float *xp = m->x + at, *dyp = m->dy + at;
    if (m->dx) {
        float *dxp = m->dx + at;
        float k = m->s[pl];
        for (int i = 0; i < m->hw; i++)
            dxp[i] += dyp[i] * k;
    }
    if (m->ds) {
        double acc = 0.0;
        for (int i = 0; i < m->hw; i++)
            acc += (double)dyp[i] * xp[i];
        m->ds[pl] += (float)acc;
    }
}

void g2c_chanmul_backward(int n, int c, int hw, const float *x, const float *s,
                          const float *dy, float *dx, float *ds)
{
    ChanMul m = {hw, x, s, dy, NULL, dx, ds};
    g2c_nn_parallel(n * c, (size_t)n * c * hw * 3, chanmul_grad_plane, &m);
}
