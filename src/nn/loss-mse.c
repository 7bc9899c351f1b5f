/* Mean squared error, against a tensor or a constant (the LSGAN targets).
 * Sums run in double: a mean over a few million pixels in float would drift
 * from PyTorch in the 5th digit. */
#include "g2c/nn.h"

float g2c_mse_loss(size_t n, const float *x, const float *target, float *dx,
                   float scale)
{
    if (n == 0) /* a mean over nothing: 0 rather than PyTorch's NaN */
        return 0.0f;
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - target[i];
        s += d * d;
    }
    if (dx) {
        float g = (float)(2.0 * scale / (double)n);
        for (size_t i = 0; i < n; i++)
            dx[i] += g * (x[i] - target[i]);
    }
    return (float)(s / (double)n);
}

float g2c_mse_const_loss(size_t n, const float *x, float target, float *dx,
                         float scale)
{
    if (n == 0)
        return 0.0f;
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - target;
        s += d * d;
    }
    if (dx) {
        float g = (float)(2.0 * scale / (double)n);
        for (size_t i = 0; i < n; i++)
            dx[i] += g * (x[i] - target);
    }
    return (float)(s / (double)n);
}
