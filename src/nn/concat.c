/* Concatenation and split along channels.  For each sample, part i is one
 * contiguous block of channels[i]*hw floats, so both directions are block
 * copies (forward) or block additions (backward). */
#include "g2c/nn.h"

#include <string.h>

static size_t total_channels(int parts, const int *channels)
{
    size_t t = 0;
    for (int i = 0; i < parts; i++)
        t += (size_t)channels[i];
    return t;
}

static void add_block(size_t len, const float *src, float *dst)
{
    for (size_t k = 0; k < len; k++)
        dst[k] += src[k];
}

void g2c_concat_forward(int n, int hw, int parts, const int *channels,
                        const float *const *xs, float *y)
{
    size_t ct = total_channels(parts, channels);
    for (int b = 0; b < n; b++) {
        float *dst = y + (size_t)b * ct * hw;
        for (int i = 0; i < parts; i++) {
            size_t len = (size_t)channels[i] * hw;
            memcpy(dst, xs[i] + (size_t)b * len, len * sizeof *dst);
            dst += len;
        }
    }
}

void g2c_concat_backward(int n, int hw, int parts, const int *channels,
                         const float *dy, float *const *dxs)
{
    size_t ct = total_channels(parts, channels);
    for (int b = 0; b < n; b++) {
        const float *src = dy + (size_t)b * ct * hw;
        for (int i = 0; i < parts; i++) {
            size_t len = (size_t)channels[i] * hw;
            if (dxs[i])
                add_block(len, src, dxs[i] + (size_t)b * len);
            src += len;
        }
    }
}

/* A NULL output part is simply not produced. */
void g2c_split_forward(int n, int hw, int parts, const int *channels,
                       const float *x, float *const *ys)
{
    size_t ct = total_channels(parts, channels);
    for (int b = 0; b < n; b++) {
        const float *src = x + (size_t)b * ct * hw;
        for (int i = 0; i < parts; i++) {
            size_t len = (size_t)channels[i] * hw;
            if (ys[i])
                memcpy(ys[i] + (size_t)b * len, src, len * sizeof *src);
            src += len;
        }
    }
}

/* A NULL part gradient means that part did not reach the loss: it adds
 * nothing. */
void g2c_split_backward(int n, int hw, int parts, const int *channels,
                        const float *const *dys, float *dx)
{
    if (!dx)
        return;
    size_t ct = total_channels(parts, channels);
    for (int b = 0; b < n; b++) {
        float *dst = dx + (size_t)b * ct * hw;
        for (int i = 0; i < parts; i++) {
            size_t len = (size_t)channels[i] * hw;
            if (dys[i])
                add_block(len, dys[i] + (size_t)b * len, dst);
            dst += len;
        }
    }
}
