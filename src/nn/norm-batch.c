/* Batch normalization (PyTorch BatchNorm2d): statistics per channel over the
 * batch and the plane.  Training normalizes with the batch's biased variance
 * but feeds the unbiased one into running_var, exactly as PyTorch does. */
#include "g2c/nn.h"
#include "nn-parallel.h"
#include "reduce.h"

#include <math.h>

/* Channel ch's elements are n planes of hw floats, c planes apart.  Two
 * passes (mean, then squared deviations) for the digits, as instance norm. */
static void channel_stats(int n, int c, int hw, int ch, const float *x,
                          double *mean, double *var)
{
    double cnt = (double)n * hw, s = 0.0, v = 0.0;
    for (int b = 0; b < n; b++)
        s += sum(x + ((size_t)b * c + ch) * hw, hw);
    double m = s / cnt;
    for (int b = 0; b < n; b++)
        v += sum_sqdev(x + ((size_t)b * c + ch) * hw, hw, m);
    *mean = m;
    *var = v / cnt;
}

typedef struct {
    int n, c, hw, training;
    float eps, momentum;
    const float *x, *gamma, *beta, *dy;
    const float *saved_mean, *saved_rstd; /* backward's inputs */
    float *running_mean, *running_var, *y, *mean, *rstd, *dx, *dgamma, *dbeta;
} BatchNorm;

static void forward_channel(void *ctx, int ch)
{
    const BatchNorm *t = ctx;
    const int n = t->n, c = t->c, hw = t->hw;
    double cnt = (double)n * hw;
    double m, v;
    if (t->training) {
        channel_stats(n, c, hw, ch, t->x, &m, &v);
        if (t->running_mean && t->running_var) {
            /* A single value has no unbiased variance; PyTorch refuses
             * to train on it, here the biased one (0) stands in. */
            double unbiased = cnt > 1 ? v * cnt / (cnt - 1) : v;
            t->running_mean[ch] = (float)((1.0 - t->momentum) *
                                              t->running_mean[ch] +
                                          t->momentum * m);
            t->running_var[ch] = (float)((1.0 - t->momentum) *
                                             t->running_var[ch] +
                                         t->momentum * unbiased);
        }
    } else {
        m = t->running_mean[ch];
        v = t->running_var[ch];
    }
    float fm = (float)m;
    float r = (float)(1.0 / sqrt(v + t->eps));
    t->mean[ch] = fm;
    t->rstd[ch] = r;
    float a = r * (t->gamma ? t->gamma[ch] : 1.0f);
    float b0 = t->beta ? t->beta[ch] : 0.0f;
    for (int b = 0; b < n; b++) {
        size_t off = ((size_t)b * c + ch) * hw;
        const float *xp = t->x + off;
        float *yp = t->y + off;
        for (int i = 0; i < hw; i++)
            yp[i] = (xp[i] - fm) * a + b0;
    }
}

/* Channels are independent: each is computed whole by one thread, so the
 * result does not depend on the thread count. */
void g2c_batchnorm_forward(int n, int c, int hw, float eps, float momentum,
                           int training, const float *x, const float *gamma,
                           const float *beta, float *running_mean,
                           float *running_var, float *y, float *mean,
                           float *rstd)
{
    BatchNorm t = {.n = n, .c = c, .hw = hw, .training = training,
                   .eps = eps, .momentum = momentum, .x = x, .gamma = gamma,
                   .beta = beta, .running_mean = running_mean,
                   .running_var = running_var, .y = y, .mean = mean,
                   .rstd = rstd};
    g2c_nn_parallel(c, (size_t)n * c * hw * 3, forward_channel, &t);
}

static void backward_channel(void *ctx, int ch)
{
    const BatchNorm *t = ctx;
    const int n = t->n, c = t->c, hw = t->hw;
    double cnt = (double)n * hw;
    float m = t->saved_mean[ch], r = t->saved_rstd[ch];
    double sdy = 0.0, sdyx = 0.0; /* sum dy, sum dy * xhat */
    for (int b = 0; b < n; b++) {
        size_t off = ((size_t)b * c + ch) * hw;
        double part_dy, part_dyx;
        sum_and_dy_dev(t->dy + off, t->x + off, hw, m, &part_dy, &part_dyx);
        sdy += part_dy;
        sdyx += part_dyx * r;
    }
    if (t->dgamma)
        t->dgamma[ch] += (float)sdyx;
    if (t->dbeta)
        t->dbeta[ch] += (float)sdy;
    if (!t->dx)
        return;
    /* In eval mode the statistics are constants and the layer is a
     * plain per-channel affine map; in training they depend on x and
     * add the two mean terms. */
    float k = r * (t->gamma ? t->gamma[ch] : 1.0f);
    float u = t->training ? -k * r * (float)(sdyx / cnt) : 0.0f;
    float v = t->training ? -k * (float)(sdy / cnt) : 0.0f;
    for (int b = 0; b < n; b++) {
        size_t off = ((size_t)b * c + ch) * hw;
        const float *xp = t->x + off, *dyp = t->dy + off;
        float *dxp = t->dx + off;
        for (int i = 0; i < hw; i++)
            dxp[i] += k * dyp[i] + u * (xp[i] - m) + v;
    }
}

void g2c_batchnorm_backward(int n, int c, int hw, int training, const float *x,
                            const float *gamma, const float *mean,
                            const float *rstd, const float *dy, float *dx,
                            float *dgamma, float *dbeta)
{
    BatchNorm t = {.n = n, .c = c, .hw = hw, .training = training, .x = x,
                   .gamma = gamma, .dy = dy, .saved_mean = mean,
                   .saved_rstd = rstd, .dx = dx, .dgamma = dgamma,
                   .dbeta = dbeta};
    g2c_nn_parallel(c, (size_t)n * c * hw * 3, backward_channel, &t);
}
