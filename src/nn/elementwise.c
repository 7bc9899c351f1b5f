/* Binary element-wise layers: residual addition and the channel-wise scale
 * of squeeze-and-excitation blocks. */
#include "g2c/nn.h"

void g2c_add_forward(size_t n, const float *a, const float *b, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

void g2c_add_backward(size_t n, const float *dy, float *da, float *db)
{
    if (da)
        for (size_t i = 0; i < n; i++)
            da[i] += dy[i];
    if (db)
        for (size_t i = 0; i < n; i++)
            db[i] += dy[i];
}

void g2c_chanmul_forward(int n, int c, int hw, const float *x, const float *s,
                         float *y)
{
    for (size_t pl = 0; pl < (size_t)n * c; pl++) {
        const float *xp = x + pl * hw;
        float *yp = y + pl * hw;
        float k = s[pl];
        for (int i = 0; i < hw; i++)
            yp[i] = xp[i] * k;
    }
}

void g2c_chanmul_backward(int n, int c, int hw, const float *x, const float *s,
                          const float *dy, float *dx, float *ds)
{
    for (size_t pl = 0; pl < (size_t)n * c; pl++) {
        const float *xp = x + pl * hw;
        const float *dyp = dy + pl * hw;
        if (dx) {
            float *dxp = dx + pl * hw;
            float k = s[pl];
            for (int i = 0; i < hw; i++)
                dxp[i] += dyp[i] * k;
        }
        if (ds) {
            double acc = 0.0;
            for (int i = 0; i < hw; i++)
                acc += (double)dyp[i] * xp[i];
            ds[pl] += (float)acc;
        }
    }
}
