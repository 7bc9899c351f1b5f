/* Batch normalization (PyTorch BatchNorm2d): statistics per channel over the
 * batch and the plane.  Training normalizes with the batch's biased variance
 * but feeds the unbiased one into running_var, exactly as PyTorch does. */
#include "g2c/nn.h"
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

void g2c_batchnorm_forward(int n, int c, int hw, float eps, float momentum,
                           int training, const float *x, const float *gamma,
                           const float *beta, float *running_mean,
                           float *running_var, float *y, float *mean,
                           float *rstd)
{
    double cnt = (double)n * hw;
    for (int ch = 0; ch < c; ch++) {
        double m, v;
        if (training) {
            channel_stats(n, c, hw, ch, x, &m, &v);
            if (running_mean && running_var) {
                /* A single value has no unbiased variance; PyTorch refuses
                 * to train on it, here the biased one (0) stands in. */
                double unbiased = cnt > 1 ? v * cnt / (cnt - 1) : v;
                running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] +
                                           momentum * m);
                running_var[ch] = (float)((1.0 - momentum) * running_var[ch] +
                                          momentum * unbiased);
            }
        } else {
            m = running_mean[ch];
            v = running_var[ch];
        }
        float fm = (float)m;
        float r = (float)(1.0 / sqrt(v + eps));
        mean[ch] = fm;
        rstd[ch] = r;
        float a = r * (gamma ? gamma[ch] : 1.0f);
        float b0 = beta ? beta[ch] : 0.0f;
        for (int b = 0; b < n; b++) {
            size_t off = ((size_t)b * c + ch) * hw;
            const float *xp = x + off;
            float *yp = y + off;
            for (int i = 0; i < hw; i++)
                yp[i] = (xp[i] - fm) * a + b0;
        }
    }
}

void g2c_batchnorm_backward(int n, int c, int hw, int training, const float *x,
                            const float *gamma, const float *mean,
                            const float *rstd, const float *dy, float *dx,
                            float *dgamma, float *dbeta)
{
    double cnt = (double)n * hw;
    for (int ch = 0; ch < c; ch++) {
        float m = mean[ch], r = rstd[ch];
        double sdy = 0.0, sdyx = 0.0; /* sum dy, sum dy * xhat */
        for (int b = 0; b < n; b++) {
            size_t off = ((size_t)b * c + ch) * hw;
            sdy += sum(dy + off, hw);
            sdyx += sum_dy_dev(dy + off, x + off, hw, m) * r;
        }
        if (dgamma)
            dgamma[ch] += (float)sdyx;
        if (dbeta)
            dbeta[ch] += (float)sdy;
        if (!dx)
            continue;
        /* In eval mode the statistics are constants and the layer is a
         * plain per-channel affine map; in training they depend on x and
         * add the two mean terms. */
        float k = r * (gamma ? gamma[ch] : 1.0f);
        float u = training ? -k * r * (float)(sdyx / cnt) : 0.0f;
        float v = training ? -k * (float)(sdy / cnt) : 0.0f;
        for (int b = 0; b < n; b++) {
            size_t off = ((size_t)b * c + ch) * hw;
            const float *xp = x + off, *dyp = dy + off;
            float *dxp = dx + off;
            for (int i = 0; i < hw; i++)
                dxp[i] += k * dyp[i] + u * (xp[i] - m) + v;
        }
    }
}
