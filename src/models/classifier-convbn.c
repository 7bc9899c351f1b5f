/* The classifier's building block, convolution (no bias) + batch norm
 * (+ ReLU), and the helpers every part of the classifier shares: the
 * gradient workspace, ReLU's in-place backward and the branch/row
 * rearrangement of the attention and the head. */
#include "classifier-private.h"

#include "g2c/error.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_tensor(G2cParams *p, const char *name, const char *leaf,
                      int ndim, const int64_t *shape, int trainable)
{
    char full[G2C_MAX_NAME + 32];
    int len = snprintf(full, sizeof full, "%s.%s", name, leaf);
    if (len < 0 || (size_t)len >= G2C_MAX_NAME)
        return g2c_error("tensor %s.%s: name longer than %d characters",
                         name, leaf, G2C_MAX_NAME - 1);
    return g2c_params_add(p, full, ndim, shape, trainable);
}

int convbn_register(ConvBn *op, G2cParams *p, const char *conv_name,
                    const char *bn_name, int in_c, int in_h, int in_w,
                    int out_c, int kh, int kw, int stride, int ph, int pw,
                    int relu)
{
    memset(op, 0, sizeof *op);
    /* Square kernels say so with kernel_w = 0 (the engine's convention);
     * only the Inception stem's 7x1 and 1x7 need the rectangular form. */
    int square = kw == kh && pw == ph;
    G2cConv2d g = {0, in_c, in_h, in_w, out_c, kh, stride, ph, G2C_PAD_ZERO,
                   square ? 0 : kw, square ? 0 : pw};
    op->geo = g;
    /* The engine's out_h/out_w read kernel/pad (and kernel_w/pad_w); the
     * sizes are computed here as well so that a rectangular kernel's width
     * follows PyTorch even where the engine's helper would not. */
    op->oh = (in_h + 2 * ph - kh) / stride + 1;
    op->ow = (in_w + 2 * pw - kw) / stride + 1;
    if (op->oh < 1 || op->ow < 1)
        return g2c_error("%s: %dx%d input too small for a %dx%d kernel with "
                         "stride %d", conv_name, in_h, in_w, kh, kw, stride);
    op->relu = relu;
    int64_t wshape[4] = {out_c, in_c, kh, kw}, cshape[1] = {out_c};
    /* Stop at the first failure, so that its message is the one left. */
    if ((op->w = add_tensor(p, conv_name, "weight", 4, wshape, 1)) < 0 ||
        (op->gamma = add_tensor(p, bn_name, "weight", 1, cshape, 1)) < 0 ||
        (op->beta = add_tensor(p, bn_name, "bias", 1, cshape, 1)) < 0 ||
        (op->rmean = add_tensor(p, bn_name, "running_mean", 1, cshape, 0)) <
            0 ||
        (op->rvar = add_tensor(p, bn_name, "running_var", 1, cshape, 0)) < 0 ||
        (op->nbt = add_tensor(p, bn_name, "num_batches_tracked", 0, NULL,
                              0)) < 0)
        return -1;
    return 0;
}

static void fill(float *x, size_t n, float v)
{
    for (size_t i = 0; i < n; i++)
        x[i] = v;
}

void convbn_init(const ConvBn *op, G2cParams *p, G2cRng *rng)
{
    const G2cConv2d *g = &op->geo;
    int c = g->out_c, kw = g->kernel_w ? g->kernel_w : g->kernel;
    size_t nw = (size_t)c * g->in_c * g->kernel * kw;
    g2c_init_kaiming(g2c_params_value(p, op->w), nw, c * g->kernel * kw, rng);
    fill(g2c_params_value(p, op->gamma), (size_t)c, 1.0f);
    fill(g2c_params_value(p, op->beta), (size_t)c, 0.0f);
    fill(g2c_params_value(p, op->rmean), (size_t)c, 0.0f);
    fill(g2c_params_value(p, op->rvar), (size_t)c, 1.0f);
    g2c_params_value(p, op->nbt)[0] = 0.0f;
}

void linear_init(G2cParams *p, int wi, int bi, int in, int out, G2cRng *rng)
{
    double bound = 1.0 / sqrt((double)in);
    float *w = g2c_params_value(p, wi), *b = g2c_params_value(p, bi);
    for (size_t i = 0; i < (size_t)in * out; i++)
        w[i] = (float)(bound * (2.0 * g2c_rng_uniform(rng) - 1.0));
    for (int i = 0; i < out; i++)
        b[i] = (float)(bound * (2.0 * g2c_rng_uniform(rng) - 1.0));
}

size_t convbn_out_size(const ConvBn *op)
{
    return (size_t)op->geo.out_c * op->oh * op->ow;
}

void convbn_forward(const ConvBn *op, G2cParams *p, int n, float momentum,
                    float eps, int training, const float *x, ConvBnActs *a)
{
    G2cConv2d g = op->geo;
    g.batch = n;
    const int c = g.out_c, hw = op->oh * op->ow;
    g2c_conv2d_forward(&g, x, g2c_params_value(p, op->w), NULL, a->c);
    g2c_batchnorm_forward(n, c, hw, eps, momentum, training, a->c,
                          g2c_params_value(p, op->gamma),
                          g2c_params_value(p, op->beta),
                          g2c_params_value(p, op->rmean),
                          g2c_params_value(p, op->rvar), a->y, a->mean,
                          a->rstd);
    if (training)
        g2c_params_value(p, op->nbt)[0] += 1.0f;
    if (op->relu)
        g2c_relu_forward((size_t)n * c * hw, a->y, a->y);
}

void convbn_backward(const ConvBn *op, G2cParams *p, int n, int training,
                     const float *x, const ConvBnActs *a, float *dy,
                     float *dx, Workspace *ws)
{
    G2cConv2d g = op->geo;
    g.batch = n;
    const int c = g.out_c, hw = op->oh * op->ow;
    const size_t size = (size_t)n * c * hw;
    if (op->relu)
        g2c_relu_mask(size, a->y, dy);
    float *dw = g2c_params_gradient(p, op->w);
    /* BN's input gradient is only worth computing when the convolution
     * has a gradient to pass it to. */
    float *dc = dw || dx ? ws_get(ws, size) : NULL;
    g2c_batchnorm_backward(n, c, hw, training, a->c,
                           g2c_params_value(p, op->gamma), a->mean, a->rstd,
                           dy, dc, g2c_params_gradient(p, op->gamma),
                           g2c_params_gradient(p, op->beta));
    if (dc) {
        g2c_conv2d_backward(&g, x, g2c_params_value(p, op->w), dc, dx, dw,
                            NULL);
        ws_put(ws, dc);
    }
}

float *ws_get(Workspace *ws, size_t n)
{
    if (n > ws->size) {
        fprintf(stderr, "g2c classifier: gradient of %zu floats exceeds the "
                "workspace's %zu (bug)\n", n, ws->size);
        abort();
    }
    for (int i = 0; i < WS_SLOTS; i++)
        if (!ws->busy[i]) {
            ws->busy[i] = 1;
            g2c_zero_floats(ws->slot[i], n);
            return ws->slot[i];
        }
    fprintf(stderr, "g2c classifier: gradient workspace exhausted (bug)\n");
    abort();
}

void ws_put(Workspace *ws, float *buf)
{
    for (int i = 0; i < WS_SLOTS; i++)
        if (ws->slot[i] == buf && ws->busy[i]) {
            ws->busy[i] = 0;
            return;
        }
    fprintf(stderr, "g2c classifier: foreign workspace buffer (bug)\n");
    abort();
}

void branches_to_rows(int k, int b, int c, const float *src, float *dst)
{
    for (int ki = 0; ki < k; ki++)
        for (int bi = 0; bi < b; bi++)
            memcpy(dst + ((size_t)bi * k + ki) * c,
                   src + ((size_t)ki * b + bi) * c, (size_t)c * sizeof *dst);
}

void rows_to_branches(int k, int b, int c, const float *src, float *dst)
{
    for (int ki = 0; ki < k; ki++)
        for (int bi = 0; bi < b; bi++)
            memcpy(dst + ((size_t)ki * b + bi) * c,
                   src + ((size_t)bi * k + ki) * c, (size_t)c * sizeof *dst);
}
