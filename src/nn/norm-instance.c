/* Instance normalization (PyTorch InstanceNorm2d): each (n, c) plane is
 * normalized by its own mean and biased variance, eps inside the sqrt. */
#include "g2c/nn.h"
#include "nn-parallel.h"
#include "reduce.h"

#include <math.h>

/* Two passes (mean, then squared deviations): the one-pass E[x^2] - E[x]^2
 * form loses most of its digits on planes with a large mean. */
static void plane_stats(int hw, const float *x, float eps, float *mean,
                        float *rstd)
{
    double m = sum(x, hw) / hw;
    double v = sum_sqdev(x, hw, m) / hw;
    *mean = (float)m;
    *rstd = (float)(1.0 / sqrt(v + eps));
}

typedef struct {
    int n, c, hw;
    float eps;
    const float *x, *gamma, *beta, *dy;
    const float *saved_mean, *saved_rstd; /* backward's inputs */
    float *y, *mean, *rstd, *dx, *dgamma, *dbeta;
} InstanceNorm;

/* Item ch: the planes of channel ch in every image, images in order (the
 * order dgamma/dbeta add in), so that results do not depend on the thread
 * count. */
static void forward_channel(void *ctx, int ch)
{
    const InstanceNorm *t = ctx;
    for (int b = 0; b < t->n; b++) {
        size_t p = (size_t)b * t->c + ch;
        const float *xp = t->x + p * t->hw;
        float *yp = t->y + p * t->hw;
        float m, r;
        plane_stats(t->hw, xp, t->eps, &m, &r);
        t->mean[p] = m;
        t->rstd[p] = r;
        /* Subtract the mean before scaling: folding it into the shift
         * (x*a + (b - m*a)) cancels badly on planes with a large mean. */
        float a = r * (t->gamma ? t->gamma[ch] : 1.0f);
        float sh = t->beta ? t->beta[ch] : 0.0f;
        for (int i = 0; i < t->hw; i++)
            yp[i] = (xp[i] - m) * a + sh;
    }
}

void g2c_instnorm_forward(int n, int c, int hw, float eps, const float *x,
                          const float *gamma, const float *beta, float *y,
                          float *mean, float *rstd)
{
    InstanceNorm t = {.n = n, .c = c, .hw = hw, .eps = eps, .x = x,
                      .gamma = gamma, .beta = beta, .y = y, .mean = mean,
                      .rstd = rstd};
    g2c_nn_parallel(c, (size_t)n * c * hw * 3, forward_channel, &t);
}

static void backward_channel(void *ctx, int ch)
{
    const InstanceNorm *t = ctx;
    const int hw = t->hw;
    for (int b = 0; b < t->n; b++) {
        size_t p = (size_t)b * t->c + ch;
        const float *xp = t->x + p * hw;
        const float *dyp = t->dy + p * hw;
        float m = t->saved_mean[p], r = t->saved_rstd[p];
        double sdy, sdyx; /* sum dy, sum dy * xhat */
        sum_and_dy_dev(dyp, xp, hw, m, &sdy, &sdyx);
        sdyx *= r;
        if (t->dgamma)
            t->dgamma[ch] += (float)sdyx;
        if (t->dbeta)
            t->dbeta[ch] += (float)sdy;
        if (!t->dx)
            continue;
        /* dx = g*rstd*(dy - mean(dy) - xhat*mean(dy*xhat)), with the
         * per-plane factors hoisted: k*dy + u*(x - mean) + v. */
        float g = t->gamma ? t->gamma[ch] : 1.0f;
        float k = g * r;
        float u = -k * r * (float)(sdyx / hw);
        float v = -k * (float)(sdy / hw);
        float *dxp = t->dx + p * hw;
        for (int i = 0; i < hw; i++)
            dxp[i] += k * dyp[i] + u * (xp[i] - m) + v;
    }
}

void g2c_instnorm_backward(int n, int c, int hw, const float *x,
                           const float *gamma, const float *mean,
                           const float *rstd, const float *dy, float *dx,
                           float *dgamma, float *dbeta)
{
    InstanceNorm t = {.n = n, .c = c, .hw = hw, .x = x, .gamma = gamma,
                      .dy = dy, .saved_mean = mean, .saved_rstd = rstd,
                      .dx = dx, .dgamma = dgamma, .dbeta = dbeta};
    g2c_nn_parallel(c, (size_t)n * c * hw * 3, backward_channel, &t);
}
