/* Fully connected layer y = x W^T + b with W [out, in] (PyTorch nn.Linear),
 * all three products through OpenBLAS sgemm. */
#include "g2c/nn.h"

#include "nn-parallel.h"

#include <string.h>

void g2c_linear_forward(int batch, int in, int out, const float *x,
                        const float *w, const float *b, float *y)
{
    if (batch <= 0 || out <= 0)
        return;
    if (in <= 0) { /* sgemm rejects a zero leading dimension */
        for (int i = 0; i < batch; i++)
            for (int o = 0; o < out; o++)
                y[(size_t)i * out + o] = b ? b[o] : 0.0f;
        return;
    }
    float beta = 0.0f;
    if (b) {
        /* Start from the bias rows and let sgemm accumulate onto them. */
        for (int i = 0; i < batch; i++)
            memcpy(y + (size_t)i * out, b, (size_t)out * sizeof *y);
        beta = 1.0f;
    }
    g2c_nn_sgemm(0, 1, batch, out, in, 1.0f, x, in, w, in, beta, y, out);
}

void g2c_linear_backward(int batch, int in, int out, const float *x,
                         const float *w, const float *dy, float *dx, float *dw,
                         float *db)
{
    if (batch <= 0 || out <= 0 || in <= 0) {
        if (db && in <= 0) /* still defined: db = sum over the batch */
            for (int i = 0; i < batch; i++)
                for (int o = 0; o < out; o++)
                    db[o] += dy[(size_t)i * out + o];
        return;
    }
    if (dx) /* dx [batch, in] += dy [batch, out] . W [out, in] */
        g2c_nn_sgemm(0, 0, batch, in, out, 1.0f, dy, out, w, in, 1.0f, dx, in);
    if (dw) /* dW [out, in] += dy^T . x */
        g2c_nn_sgemm(1, 0, out, in, batch, 1.0f, dy, out, x, in, 1.0f, dw, in);
    if (db)
        for (int i = 0; i < batch; i++)
            for (int o = 0; o < out; o++)
                db[o] += dy[(size_t)i * out + o];
}
