/* Inverted dropout: the kept elements are scaled by 1/(1-p) in training so
 * that evaluation is the identity.  The mask comes from the caller's G2cRng,
 * one draw per element in order, so a seed fixes the mask. */
#include "g2c/nn.h"

#include <string.h>

void g2c_dropout_forward(size_t n, float p, int training, G2cRng *rng,
                         const float *x, float *y, uint8_t *mask)
{
    if (!training || p <= 0.0f) {
        if (y != x)
            memmove(y, x, n * sizeof *y);
        if (mask)
            memset(mask, 1, n);
        return;
    }
    /* p >= 1 drops everything (PyTorch returns zeros, not NaN). */
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    /* Factor by table lookup: a branch on keep would mispredict on about
     * every other element. */
    const float factor[2] = {0.0f, scale};
    double dp = p;
    for (size_t i = 0; i < n; i++) {
        uint8_t keep = g2c_rng_uniform(rng) >= dp;
        if (mask)
            mask[i] = keep;
        y[i] = x[i] * factor[keep];
    }
}

void g2c_dropout_backward(size_t n, float p, int training, const uint8_t *mask,
                          const float *dy, float *dx)
{
    if (!dx)
        return;
    if (!training || p <= 0.0f) {
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i];
        return;
    }
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    const float factor[2] = {0.0f, scale};
    for (size_t i = 0; i < n; i++)
        dx[i] += dy[i] * factor[mask[i] != 0];
}
