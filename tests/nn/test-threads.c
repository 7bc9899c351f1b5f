/* The layers that split their work over g2c's worker pool (batch norm,
 * instance norm, max pool, im2col/col2im, the point-wise maps, residual
 * adds, zeroing, the optimizers) give the same bits on 1 and on 2 threads,
 * on shapes large enough to take the threaded path.  Convolutions as a
 * whole are only compared within a tolerance: where they go through
 * OpenBLAS, the product is split into one panel per thread and OpenBLAS
 * may pick other kernels for a narrower panel (the engine promises the
 * same bits for the same thread count only), so their im2col / col2im are
 * compared bit for bit on their own. */
#include "testutil.h"

#include "g2c/error.h"
#include "g2c/nn.h"
#include "../../src/nn/im2col.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 4, C = 24, H = 40, W = 40, HW = H * W, TOTAL = N * C * HW };

typedef struct {
    float y[TOTAL], dx[TOTAL];
    float mean[N * C], rstd[N * C], rm[C], rv[C], dgamma[C], dbeta[C];
    float py[N * C * (H / 2) * (W / 2)], pdx[TOTAL];
    int32_t arg[N * C * (H / 2) * (W / 2)];
    float cy[N * C * HW], cdx[TOTAL], cdw[C * C * 9];
    float ty[N * C * (H / 2) * (W / 2)], tdx[TOTAL], tdw[C * C * 9];
    float w[TOTAL], m[TOTAL];
    float col[C * 9 * HW], cim[TOTAL];
    float relu[TOTAL], mask[TOTAL], sum[TOTAL], zero[TOTAL], sig[TOTAL];
} Out;

static float x[TOTAL], dy[TOTAL], gamma_[C], beta_[C], wconv[C * C * 9];

static void fill(float *p, size_t n, unsigned seed)
{
    G2cRng rng;
    g2c_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(2.0 * g2c_rng_uniform(&rng) - 1.0);
}

static void run(Out *o)
{
    memset(o, 0, sizeof *o);
    for (int c = 0; c < C; c++)
        o->rv[c] = 1.0f;
    g2c_batchnorm_forward(N, C, HW, 1e-5f, 0.1f, 1, x, gamma_, beta_, o->rm,
                          o->rv, o->y, o->mean, o->rstd);
    g2c_batchnorm_backward(N, C, HW, 1, x, gamma_, o->mean, o->rstd, dy,
                           o->dx, o->dgamma, o->dbeta);
    /* Instance norm adds its dgamma over the images: same order needed. */
    g2c_instnorm_forward(N, C, HW, 1e-5f, x, gamma_, beta_, o->y, o->mean,
                         o->rstd);
    g2c_instnorm_backward(N, C, HW, x, gamma_, o->mean, o->rstd, dy, o->dx,
                          o->dgamma, o->dbeta);
    G2cPool2d p = {N, C, H, W, 3, 2, 1};
    g2c_maxpool2d_forward(&p, x, o->py, o->arg);
    g2c_maxpool2d_backward(&p, o->arg, dy, o->pdx);
    /* 40x40 outputs: one image per sgemm, im2col/col2im over channels. */
    G2cConv2d c = {N, C, H, W, C, 3, 1, 1, G2C_PAD_REFLECT, 0, 0};
    g2c_conv2d_forward(&c, x, wconv, beta_, o->cy);
    g2c_conv2d_backward(&c, x, wconv, dy, o->cdx, o->cdw, NULL);
    /* 20x20 outputs: images folded into one sgemm, then copied back. */
    G2cConv2d s = {N, C, H, W, C, 3, 2, 1, G2C_PAD_ZERO, 0, 0};
    g2c_conv2d_forward(&s, x, wconv, beta_, o->ty);
    g2c_conv2d_backward(&s, x, wconv, dy, o->tdx, o->tdw, NULL);
    /* im2col and its adjoint on their own, reflect padding. */
    G2cPatches g = {C, H, W, 3, 3, 1, 1, 1, H, W, G2C_PAD_REFLECT};
    g2c_im2col(&g, x, o->col, HW);
    g2c_col2im(&g, o->col, HW, o->cim);
    /* Point-wise layers, split into fixed chunks of elements. */
    g2c_relu_forward(TOTAL, x, o->relu);
    memcpy(o->mask, dy, sizeof dy);
    g2c_relu_mask(TOTAL, x, o->mask);
    g2c_add_forward(TOTAL, x, dy, o->sum);
    g2c_add_backward(TOTAL, dy, o->sum, NULL);
    g2c_sigmoid_forward(TOTAL, x, o->sig);
    g2c_sigmoid_backward(TOTAL, o->sig, dy, o->sig);
    memcpy(o->zero, x, sizeof x);
    g2c_zero_floats(o->zero, TOTAL);
    /* Adam over one large tensor (several chunks). */
    G2cParams prm;
    g2c_params_init(&prm);
    int64_t shape[1] = {TOTAL};
    CHECK(g2c_params_add(&prm, "w", 1, shape, 1) == 0);
    CHECK_OK(g2c_params_finalize(&prm));
    memcpy(prm.data, x, sizeof x);
    memcpy(prm.grad, dy, sizeof dy);
    G2cOptimizer opt;
    G2cOptConfig adam = {G2C_OPT_ADAM, 1e-3f, 0, 1e-4f, 0.9f, 0.999f, 1e-8f};
    CHECK_OK(g2c_optim_init(&opt, &prm, adam));
    g2c_optim_step(&opt, 1e-3f);
    g2c_optim_step(&opt, 1e-3f);
    memcpy(o->w, prm.data, sizeof o->w);
    memcpy(o->m, opt.m, sizeof o->m);
    g2c_optim_free(&opt);
    g2c_params_free(&prm);
}

/* max |a - b| / (max |a| + 1e-30) */
static double max_rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0.0, m = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double e = a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
        double v = a[i] < 0 ? -a[i] : a[i];
        d = e > d ? e : d;
        m = v > m ? v : m;
    }
    return d / m;
}

int main(void)
{
    fill(x, TOTAL, 1);
    fill(dy, TOTAL, 2);
    fill(gamma_, C, 3);
    fill(beta_, C, 4);
    fill(wconv, C * C * 9, 5);
    Out *one = malloc(sizeof *one), *two = malloc(sizeof *two);
    CHECK(one && two);
    if (!one || !two)
        return g2c_test_finish("threads");
    g2c_nn_set_threads(1);
    run(one);
    g2c_nn_set_threads(2);
    CHECK(g2c_nn_threads() == 2);
    run(two);
    /* Field by field, so that a failure names the layer. */
#define SAME(f) CHECK(memcmp(one->f, two->f, sizeof one->f) == 0);
    SAME(y) SAME(dx) SAME(mean) SAME(rstd) SAME(rm) SAME(rv)
    SAME(dgamma) SAME(dbeta) SAME(py) SAME(pdx) SAME(arg)
    SAME(w) SAME(m) SAME(col) SAME(cim)
    SAME(relu) SAME(mask) SAME(sum) SAME(zero) SAME(sig)
#undef SAME
#define NEAR(f) CHECK(max_rel_diff(one->f, two->f, \
                                   sizeof one->f / sizeof(float)) < 1e-4);
    NEAR(cy) NEAR(cdx) NEAR(cdw) NEAR(ty) NEAR(tdx) NEAR(tdw)
#undef NEAR
    /* And the layers did something (a test that cannot fail is none). */
    CHECK(one->dgamma[0] != 0.0f && one->cdw[0] != 0.0f && one->w[0] != x[0]);
    int relu_ok = 1, zero_ok = 1;
    for (size_t i = 0; i < TOTAL; i++) {
        relu_ok &= one->relu[i] == (x[i] > 0 ? x[i] : 0.0f) &&
                   one->mask[i] == (x[i] > 0 ? dy[i] : 0.0f) &&
                   one->sum[i] == x[i] + dy[i] + dy[i];
        zero_ok &= one->zero[i] == 0.0f;
    }
    CHECK(relu_ok);
    CHECK(zero_ok);
    free(one);
    free(two);
    return g2c_test_finish("threads");
}
