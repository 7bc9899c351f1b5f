/* Instance normalization (PyTorch InstanceNorm2d): each (n, c) plane is
 * normalized by its own mean and biased variance, eps inside the sqrt. */
#include "g2c/nn.h"
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

void g2c_instnorm_forward(int n, int c, int hw, float eps, const float *x,
                          const float *gamma, const float *beta, float *y,
                          float *mean, float *rstd)
{
    for (int p = 0; p < n * c; p++) {
        int ch = p % c;
        const float *xp = x + (size_t)p * hw;
        float *yp = y + (size_t)p * hw;
        float m, r;
        plane_stats(hw, xp, eps, &m, &r);
        mean[p] = m;
        rstd[p] = r;
        /* Subtract the mean before scaling: folding it into the shift
         * (x*a + (b - m*a)) cancels badly on planes with a large mean. */
        float a = r * (gamma ? gamma[ch] : 1.0f);
        float b = beta ? beta[ch] : 0.0f;
        for (int i = 0; i < hw; i++)
            yp[i] = (xp[i] - m) * a + b;
    }
}

void g2c_instnorm_backward(int n, int c, int hw, const float *x,
                           const float *gamma, const float *mean,
                           const float *rstd, const float *dy, float *dx,
                           float *dgamma, float *dbeta)
{
    for (int p = 0; p < n * c; p++) {
        int ch = p % c;
        const float *xp = x + (size_t)p * hw;
        const float *dyp = dy + (size_t)p * hw;
        float m = mean[p], r = rstd[p];
        double sdy = sum(dyp, hw);                    /* sum dy */
        double sdyx = sum_dy_dev(dyp, xp, hw, m) * r; /* sum dy * xhat */
        if (dgamma)
            dgamma[ch] += (float)sdyx;
        if (dbeta)
            dbeta[ch] += (float)sdy;
        if (!dx)
            continue;
        /* dx = g*rstd*(dy - mean(dy) - xhat*mean(dy*xhat)), with the
         * per-plane factors hoisted: k*dy + u*(x - mean) + v. */
        float g = gamma ? gamma[ch] : 1.0f;
        float k = g * r;
        float u = -k * r * (float)(sdyx / hw);
        float v = -k * (float)(sdy / hw);
        float *dxp = dx + (size_t)p * hw;
        for (int i = 0; i < hw; i++)
            dxp[i] += k * dyp[i] + u * (xp[i] - m) + v;
    }
}
