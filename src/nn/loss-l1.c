/* Mean absolute error (the CycleGAN cycle and identity terms).  The
 * gradient at x == target is 0, PyTorch's sign(0). */
#include "g2c/nn.h"

#include <math.h>

float g2c_l1_loss(size_t n, const float *x, const float *target, float *dx,
                  float scale)
{
    if (n == 0) /* a mean over nothing: 0 rather than PyTorch's NaN */
        return 0.0f;
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += fabs((double)x[i] - target[i]);
    if (dx) {
        float g = (float)(scale / (double)n);
        /* The sign as (d > 0) - (d < 0): branch-free, where a nested ?:
         * mispredicts on every other element of a real residual. */
        for (size_t i = 0; i < n; i++) {
            float d = x[i] - target[i];
            dx[i] += g * (float)((d > 0.0f) - (d < 0.0f));
        }
    }
    return (float)(s / (double)n);
}
