/* 2-D transposed convolution (PyTorch ConvTranspose2d, zero padding).
 *
 * A transposed convolution is the adjoint of the convolution that maps its
 * output shape back to its input shape, so the same patch geometry serves
 * both ways: forward is Wt * x followed by col2im into y, backward is
 * im2col of dy followed by W * col (dx) and x * colT (dw). */
#include "g2c/nn.h"

#include "im2col.h"

#include "nn-parallel.h"

#include <string.h>

int g2c_convt2d_out_h(const G2cConvT2d *c)
{
    return (c->in_h - 1) * c->stride - 2 * c->pad + c->kernel + c->output_pad;
}

int g2c_convt2d_out_w(const G2cConvT2d *c)
{
    return (c->in_w - 1) * c->stride - 2 * c->pad + c->kernel + c->output_pad;
}

/* Patches of y (out_c planes of out_h x out_w) whose positions are x's. */
static G2cPatches patches_of(const G2cConvT2d *c)
{
    G2cPatches g = {c->out_c,   g2c_convt2d_out_h(c), g2c_convt2d_out_w(c),
                    c->kernel,  c->kernel,            c->stride,
                    c->pad,     c->pad,               c->in_h,
                    c->in_w,    G2C_PAD_ZERO};
    return g;
}

/* Gather cnt images' [ch, P] planes side by side into [ch, cnt * P]. */
static void fold_images(const float *src, int cnt, int ch, size_t P,
                        float *dst)
{
    const size_t ld = cnt * P;
    for (int i = 0; i < cnt; i++)
        for (int c = 0; c < ch; c++)
            memcpy(dst + c * ld + i * P, src + ((size_t)i * ch + c) * P,
                   sizeof(float) * P);
}

void g2c_convt2d_forward(const G2cConvT2d *c, const float *x, const float *w,
                         const float *b, float *y)
{
    const G2cPatches g = patches_of(c);
    const size_t P = (size_t)c->in_h * c->in_w;
    const size_t Kt = (size_t)c->out_c * c->kernel * c->kernel;
    const size_t plane = (size_t)g.h * g.w, out_sz = c->out_c * plane;
    const size_t in_sz = c->in_c * P;
    const int nb = g2c_conv_fold_count(c->batch, P);
    const size_t col_n = Kt * nb * P, xf_n = nb > 1 ? in_sz * nb : 0;
    float *col = g2c_nn_scratch(col_n + xf_n), *xf = col + col_n;
    for (int n0 = 0; n0 < c->batch; n0 += nb) {
        const int cnt = c->batch - n0 < nb ? c->batch - n0 : nb;
        const size_t ld = cnt * P;
        const float *X = x + n0 * in_sz;
        if (cnt > 1) {
            fold_images(X, cnt, c->in_c, P, xf);
            X = xf;
        }
        g2c_nn_sgemm(1, 0, (int)Kt, (int)ld, c->in_c, 1.0f, w, (int)Kt, X,
                     (int)ld, 0.0f, col, (int)ld);
        for (int i = 0; i < cnt; i++) {
            float *yn = y + (n0 + i) * out_sz;
            for (int o = 0; o < c->out_c; o++) {
                float *p = yn + o * plane, v = b ? b[o] : 0.0f;
                for (size_t j = 0; j < plane; j++)
                    p[j] = v;
            }
            g2c_col2im(&g, col + i * P, ld, yn);
        }
    }
}

void g2c_convt2d_backward(const G2cConvT2d *c, const float *x, const float *w,
                          const float *dy, float *dx, float *dw, float *db)
{
    const G2cPatches g = patches_of(c);
    const size_t P = (size_t)c->in_h * c->in_w;
    const size_t Kt = (size_t)c->out_c * c->kernel * c->kernel;
    const size_t plane = (size_t)g.h * g.w, out_sz = c->out_c * plane;
    const size_t in_sz = c->in_c * P;
    if (db)
        g2c_bias_grad(c->batch, c->out_c, plane, dy, db);
    if (!dx && !dw)
        return;
    const int nb = g2c_conv_fold_count(c->batch, P);
    const size_t col_n = Kt * nb * P, f_n = nb > 1 ? in_sz * nb : 0;
    float *col = g2c_nn_scratch(col_n + f_n), *fold = col + col_n;
    for (int n0 = 0; n0 < c->batch; n0 += nb) {
        const int cnt = c->batch - n0 < nb ? c->batch - n0 : nb;
        const size_t ld = cnt * P;
        for (int i = 0; i < cnt; i++)
            g2c_im2col(&g, dy + (n0 + i) * out_sz, col + i * P, ld);
        if (dw) {
            const float *X = x + n0 * in_sz;
            if (cnt > 1) {
                fold_images(X, cnt, c->in_c, P, fold);
                X = fold;
            }
            g2c_nn_sgemm(0, 1, c->in_c, (int)Kt, (int)ld, 1.0f, X, (int)ld,
                         col, (int)ld, 1.0f, dw, (int)Kt);
        }
        if (!dx)
            continue;
        if (cnt == 1) {
            g2c_nn_sgemm(0, 0, c->in_c, (int)ld, (int)Kt, 1.0f, w, (int)Kt,
                         col, (int)ld, 1.0f, dx + n0 * in_sz, (int)ld);
            continue;
        }
        g2c_nn_sgemm(0, 0, c->in_c, (int)ld, (int)Kt, 1.0f, w, (int)Kt, col,
                     (int)ld, 0.0f, fold, (int)ld);
        for (int i = 0; i < cnt; i++)
            for (int ch = 0; ch < c->in_c; ch++)
                g2c_add_floats(dx + (n0 + i) * in_sz + ch * P,
                               fold + ch * ld + i * P, P);
    }
}
