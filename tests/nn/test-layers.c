/* Activations, dropout, pooling, linear, concat/split, add and chanmul:
 * finite-difference gradients for every differentiable input, plus the
 * semantics finite differences cannot see (argmax ties, padding, masks). */
#include "g2c/nn.h"
#include "gradcheck.h"
#include "../testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const float BASE = 0.5f; /* gradients are prefilled: backward adds */

/* One layer under test: fwd() computes y from the inputs; the loss is
 * sum(y * r), so backward with dy = r gives its gradient. */
typedef struct Layer {
    void (*fwd)(struct Layer *);
    float *in[3];
    size_t nin[3];
    float *y, *r;
    size_t ny;
    int n, c, hw;
    float slope, p;
    G2cPool2d pool;
    int32_t *argmax;
    uint8_t *mask;
    uint64_t seed;
} Layer;

static double layer_loss(const float *x, void *ctx)
{
    (void)x;
    Layer *k = ctx;
    k->fwd(k);
    return gradcheck_dot(k->y, k->r, k->ny);
}

static G2cRng rng;

/* Allocates the inputs (uniform in [lo, hi)), y and r, and runs forward. */
static void layer_setup(Layer *k, int nin, const size_t *sizes, size_t ny,
                        float lo, float hi)
{
    for (int i = 0; i < nin; i++) {
        k->nin[i] = sizes[i];
        k->in[i] = gradcheck_alloc(sizes[i], 0.0f);
        gradcheck_fill(k->in[i], sizes[i], &rng, lo, hi);
    }
    k->ny = ny;
    k->y = gradcheck_alloc(ny, 0.0f);
    k->r = gradcheck_alloc(ny, 0.0f);
    gradcheck_fill(k->r, ny, &rng, -1.0f, 1.0f);
}

static void layer_free(Layer *k)
{
    for (int i = 0; i < 3; i++)
        free(k->in[i]);
    free(k->y);
    free(k->r);
    free(k->argmax);
    free(k->mask);
}

/* Keep inputs at least 0.05 from a kink at 0 (eps is 0.01). */
static void away_from_zero(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fabsf(x[i]) < 0.05f)
            x[i] += x[i] < 0 ? -0.1f : 0.1f;
}

/* ---- activations ----------------------------------------------------- */

static void fwd_relu(Layer *k)
{
    g2c_relu_forward(k->ny, k->in[0], k->y);
}
static void fwd_leaky(Layer *k)
{
    g2c_leakyrelu_forward(k->ny, k->slope, k->in[0], k->y);
}
static void fwd_tanh(Layer *k)
{
    g2c_tanh_forward(k->ny, k->in[0], k->y);
}
static void fwd_sigmoid(Layer *k)
{
    g2c_sigmoid_forward(k->ny, k->in[0], k->y);
}

static void check_activations(void)
{
    enum { NA = 64 };
    size_t sz[1] = {NA};
    for (int which = 0; which < 4; which++) {
        static const char *names[] = {"relu", "leakyrelu", "tanh", "sigmoid"};
        Layer k = {0};
        k.slope = 0.2f;
        k.fwd = which == 0 ? fwd_relu : which == 1 ? fwd_leaky
              : which == 2 ? fwd_tanh : fwd_sigmoid;
        layer_setup(&k, 1, sz, NA, -3.0f, 3.0f);
        away_from_zero(k.in[0], NA);
        k.fwd(&k);
        float *dx = gradcheck_alloc(NA, BASE);
        switch (which) {
        case 0: g2c_relu_backward(NA, k.in[0], k.r, dx); break;
        case 1: g2c_leakyrelu_backward(NA, k.slope, k.in[0], k.r, dx); break;
        case 2: g2c_tanh_backward(NA, k.y, k.r, dx); break;
        default: g2c_sigmoid_backward(NA, k.y, k.r, dx); break;
        }
        CHECK(gradcheck(names[which], k.in[0], NA, dx, BASE, layer_loss, &k,
                        NULL) == 0);
        free(dx);
        layer_free(&k);
    }

    /* Values and the stable sigmoid at extremes. */
    float x[5] = {-100.0f, -1.0f, 0.0f, 1.0f, 100.0f}, y[5];
    g2c_relu_forward(5, x, y);
    CHECK(y[0] == 0.0f && y[2] == 0.0f && y[3] == 1.0f);
    g2c_leakyrelu_forward(5, 0.2f, x, y);
    CHECK_CLOSE(y[1], -0.2, 1e-7);
    CHECK(y[4] == 100.0f);
    g2c_sigmoid_forward(5, x, y);
    CHECK(y[0] >= 0.0f && y[0] < 1e-40f && y[4] == 1.0f);
    CHECK_CLOSE(y[1], 1.0 / (1.0 + exp(1.0)), 1e-7);
    CHECK(y[2] == 0.5f);
    g2c_tanh_forward(5, x, y);
    CHECK(y[0] == -1.0f && y[2] == 0.0f);
    CHECK_CLOSE(y[3], tanh(1.0), 1e-7);
    /* NaN propagates through ReLU and LeakyReLU, as in PyTorch. */
    float nan_in[1] = {NAN}, nan_out[1];
    g2c_relu_forward(1, nan_in, nan_out);
    CHECK(isnan(nan_out[0]));
    g2c_leakyrelu_forward(1, 0.2f, nan_in, nan_out);
    CHECK(isnan(nan_out[0]));
    /* In-place forward works for the point-wise layers. */
    float z[2] = {-2.0f, 3.0f};
    g2c_relu_forward(2, z, z);
    CHECK(z[0] == 0.0f && z[1] == 3.0f);
}

/* ---- dropout --------------------------------------------------------- */

static void fwd_dropout(Layer *k)
{
    G2cRng r;
    g2c_rng_seed(&r, k->seed); /* the same mask for every evaluation */
    g2c_dropout_forward(k->ny, k->p, 1, &r, k->in[0], k->y, k->mask);
}

static void check_dropout(void)
{
    enum { ND = 20000 };
    float *x = gradcheck_alloc(ND, 1.0f), *y = gradcheck_alloc(ND, 0.0f);
    uint8_t *mask = malloc(ND), *mask2 = malloc(ND);
    G2cRng a, b;
    g2c_rng_seed(&a, 42);
    g2c_dropout_forward(ND, 0.3f, 1, &a, x, y, mask);
    size_t kept = 0;
    int scaled_ok = 1;
    for (size_t i = 0; i < ND; i++) {
        kept += mask[i];
        float want = mask[i] ? 1.0f / 0.7f : 0.0f;
        scaled_ok &= y[i] == want;
    }
    CHECK(scaled_ok);
    /* 14000 expected, sd ~65. */
    CHECK(kept > 13600 && kept < 14400);
    g2c_rng_seed(&b, 42);
    g2c_dropout_forward(ND, 0.3f, 1, &b, x, y, mask2);
    CHECK(memcmp(mask, mask2, ND) == 0);
    g2c_rng_seed(&b, 43);
    g2c_dropout_forward(ND, 0.3f, 1, &b, x, y, mask2);
    CHECK(memcmp(mask, mask2, ND) != 0);

    /* Eval: the identity, gradient passes straight through. */
    for (size_t i = 0; i < ND; i++)
        x[i] = (float)i;
    g2c_dropout_forward(ND, 0.3f, 0, &b, x, y, mask2);
    CHECK(memcmp(x, y, ND * sizeof *x) == 0);
    float dy[3] = {1, 2, 3}, dx[3] = {1, 1, 1};
    g2c_dropout_backward(3, 0.3f, 0, mask2, dy, dx);
    CHECK(dx[0] == 2.0f && dx[2] == 4.0f);
    /* p = 1 drops everything, without NaN. */
    g2c_dropout_forward(ND, 1.0f, 1, &b, x, y, mask2);
    CHECK(y[ND - 1] == 0.0f && mask2[ND - 1] == 0);
    free(x);
    free(y);
    free(mask);
    free(mask2);

    /* Training gradient against finite differences, mask fixed by seed. */
    size_t sz[1] = {50};
    Layer k = {0};
    k.p = 0.4f;
    k.seed = 9;
    k.fwd = fwd_dropout;
    k.mask = malloc(50);
    layer_setup(&k, 1, sz, 50, -2.0f, 2.0f);
    k.fwd(&k);
    float *g = gradcheck_alloc(50, BASE);
    g2c_dropout_backward(50, k.p, 1, k.mask, k.r, g);
    CHECK(gradcheck("dropout", k.in[0], 50, g, BASE, layer_loss, &k, NULL) ==
          0);
    free(g);
    layer_free(&k);
}

/* ---- pooling --------------------------------------------------------- */

static void fwd_maxpool(Layer *k)
{
    g2c_maxpool2d_forward(&k->pool, k->in[0], k->y, k->argmax);
}
static void fwd_avgpool(Layer *k)
{
    g2c_avgpool2d_forward(&k->pool, k->in[0], k->y);
}
static void fwd_gap(Layer *k)
{
    g2c_gap_forward(k->n, k->c, k->hw, k->in[0], k->y);
}

static void check_pool_grads(int kernel, int stride, int pad)
{
    G2cPool2d p = {2, 3, 7, 6, kernel, stride, pad};
    int oh = g2c_pool2d_out_h(&p), ow = g2c_pool2d_out_w(&p);
    size_t nx = (size_t)2 * 3 * 7 * 6, ny = (size_t)2 * 3 * oh * ow;
    size_t sz[1] = {nx};
    char what[64];
    for (int avg = 0; avg <= 1; avg++) {
        Layer k = {0};
        k.pool = p;
        k.fwd = avg ? fwd_avgpool : fwd_maxpool;
        k.argmax = malloc(ny * sizeof *k.argmax);
        layer_setup(&k, 1, sz, ny, -1.0f, 1.0f);
        /* Distinct values 0.05 apart so that no +-eps step changes a
         * window's winner. */
        for (size_t i = 0; i < nx; i++)
            k.in[0][i] = 0.05f * (float)((i * 37) % nx) - 3.0f;
        k.fwd(&k);
        float *dx = gradcheck_alloc(nx, BASE);
        if (avg)
            g2c_avgpool2d_backward(&p, k.r, dx);
        else
            g2c_maxpool2d_backward(&p, k.argmax, k.r, dx);
        snprintf(what, sizeof what, "%s k%d s%d p%d", avg ? "avgpool" : "maxpool",
                 kernel, stride, pad);
        CHECK(gradcheck(what, k.in[0], nx, dx, BASE, layer_loss, &k, NULL) ==
              0);
        free(dx);
        layer_free(&k);
    }
}

static void check_pool_semantics(void)
{
    /* 4x4 plane, k3 s2 p1 -> 2x2. */
    G2cPool2d p = {1, 1, 4, 4, 3, 2, 1};
    CHECK(g2c_pool2d_out_h(&p) == 2 && g2c_pool2d_out_w(&p) == 2);
    float x[16], y[4];
    int32_t am[4];
    /* All negative: padding (-inf) must never win against them. */
    for (int i = 0; i < 16; i++)
        x[i] = -1.0f - (float)i;
    g2c_maxpool2d_forward(&p, x, y, am);
    CHECK(y[0] == -1.0f && am[0] == 0);
    CHECK(y[3] == -6.0f && am[3] == 5); /* window rows 1-3, cols 1-3 */
    /* Ties: the first maximum in row-major order wins. */
    for (int i = 0; i < 16; i++)
        x[i] = 1.0f;
    g2c_maxpool2d_forward(&p, x, y, am);
    CHECK(am[0] == 0 && am[1] == 1 && am[2] == 4 && am[3] == 5);
    /* A NaN wins, the last one in the window (PyTorch's kernel); planes
     * without one are unaffected. */
    G2cPool2d p2 = {2, 1, 4, 4, 3, 2, 1};
    float xn[32];
    float yn[8];
    int32_t an[8];
    for (int i = 0; i < 32; i++)
        xn[i] = (float)i;
    xn[6] = NAN;
    xn[7] = NAN;
    g2c_maxpool2d_forward(&p2, xn, yn, an);
    CHECK(yn[0] == 5.0f && an[0] == 5);  /* rows 0-1, cols 0-1: no NaN */
    CHECK(isnan(yn[1]) && an[1] == 7);
    CHECK(yn[2] == 13.0f && an[2] == 13);
    CHECK(isnan(yn[3]) && an[3] == 7);
    CHECK(yn[4] == 21.0f && an[4] == 5);  /* second plane: no NaN */
    CHECK(yn[7] == 31.0f && an[7] == 15);
    /* Overlapping windows sharing a winner add up in backward. */
    float dy[4] = {1, 2, 3, 4}, dx[16] = {0};
    g2c_maxpool2d_backward(&p, am, dy, dx);
    CHECK(dx[0] == 1.0f && dx[5] == 4.0f && dx[1] == 2.0f);

    /* Average pool counts the padding: the corner window holds 4 inputs
     * but divides by 9. */
    g2c_avgpool2d_forward(&p, x, y);
    CHECK_CLOSE(y[0], 4.0 / 9.0, 1e-7);
    CHECK_CLOSE(y[3], 1.0, 1e-7);
    /* Stride 1, no padding: plain 2x2 means. */
    G2cPool2d q = {1, 1, 4, 4, 2, 2, 0};
    for (int i = 0; i < 16; i++)
        x[i] = (float)i;
    g2c_avgpool2d_forward(&q, x, y);
    CHECK(y[0] == 2.5f && y[3] == 12.5f);
    g2c_maxpool2d_forward(&q, x, y, am);
    CHECK(y[0] == 5.0f && am[0] == 5 && am[3] == 15);
    /* A kernel larger than the padded input gives no output. */
    G2cPool2d e = {1, 1, 2, 2, 5, 1, 1};
    CHECK(g2c_pool2d_out_h(&e) == 0);

    /* Global average pool. */
    size_t sz[1] = {2 * 3 * 10};
    Layer k = {0};
    k.n = 2;
    k.c = 3;
    k.hw = 10;
    k.fwd = fwd_gap;
    layer_setup(&k, 1, sz, 6, -1.0f, 1.0f);
    k.fwd(&k);
    double s = 0;
    for (int i = 10; i < 20; i++)
        s += k.in[0][i];
    CHECK_CLOSE(k.y[1], s / 10, 1e-6);
    float *g = gradcheck_alloc(sz[0], BASE);
    g2c_gap_backward(2, 3, 10, k.r, g);
    CHECK(gradcheck("gap", k.in[0], sz[0], g, BASE, layer_loss, &k, NULL) ==
          0);
    free(g);
    layer_free(&k);
}

/* The plain definition: window by window, row-major, strict '>' (PyTorch's
 * first maximum); an all -inf window reports its first element. */
static void maxpool_reference(const G2cPool2d *p, const float *x, float *y,
                              int32_t *am)
{
    int oh = g2c_pool2d_out_h(p), ow = g2c_pool2d_out_w(p);
    int h = p->in_h, w = p->in_w, k = p->kernel;
    for (int c = 0; c < p->batch * p->c; c++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                const float *xp = x + c * h * w;
                int y0 = oy * p->stride - p->pad, x0 = ox * p->stride - p->pad;
                float m = -INFINITY;
                int best = -1;
                for (int iy = y0; iy < y0 + k; iy++)
                    for (int ix = x0; ix < x0 + k; ix++) {
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                            continue;
                        if (best < 0 || xp[iy * w + ix] > m) {
                            best = iy * w + ix;
                            m = xp[best];
                        }
                    }
                y[(c * oh + oy) * ow + ox] = m;
                am[(c * oh + oy) * ow + ox] = best;
            }
}

/* Every small configuration against the reference, on values with many
 * ties and a few -inf. */
static void check_maxpool_sweep(void)
{
    enum { MAXN = 2 * 9 * 9 };
    float x[MAXN], y[MAXN], ry[MAXN];
    int32_t am[MAXN], ram[MAXN];
    int configs = 0;
    for (int k = 1; k <= 4; k++)
        for (int s = 1; s <= 3; s++)
            for (int pad = 0; pad <= k / 2; pad++)
                for (int h = 1; h <= 9; h += 2)
                    for (int w = 1; w <= 9; w += 3) {
                        G2cPool2d p = {1, 2, h, w, k, s, pad};
                        size_t no = (size_t)2 * g2c_pool2d_out_h(&p) *
                                    g2c_pool2d_out_w(&p);
                        if (no == 0)
                            continue;
                        configs++;
                        for (int i = 0; i < 2 * h * w; i++)
                            x[i] = g2c_rng_below(&rng, 9) == 0
                                       ? -INFINITY
                                       : (float)g2c_rng_below(&rng, 4);
                        g2c_maxpool2d_forward(&p, x, y, am);
                        maxpool_reference(&p, x, ry, ram);
                        CHECK(memcmp(y, ry, no * sizeof *y) == 0);
                        CHECK(memcmp(am, ram, no * sizeof *am) == 0);
                    }
    CHECK(configs > 100);
}

/* ---- linear ---------------------------------------------------------- */

enum { LB = 3, LI = 5, LO = 4 };

static void fwd_linear(Layer *k)
{
    g2c_linear_forward(LB, LI, LO, k->in[0], k->in[1], k->in[2], k->y);
}

static void check_linear(void)
{
    size_t sz[3] = {LB * LI, LO * LI, LO};
    Layer k = {0};
    k.fwd = fwd_linear;
    layer_setup(&k, 3, sz, LB * LO, -1.0f, 1.0f);
    k.fwd(&k);
    /* y[1][2] by hand. */
    double want = k.in[2][2];
    for (int i = 0; i < LI; i++)
        want += (double)k.in[0][LI + i] * k.in[1][2 * LI + i];
    CHECK_CLOSE(k.y[LO + 2], want, 1e-6);

    float *dx = gradcheck_alloc(sz[0], BASE), *dw = gradcheck_alloc(sz[1], BASE);
    float *db = gradcheck_alloc(sz[2], BASE);
    g2c_linear_backward(LB, LI, LO, k.in[0], k.in[1], k.r, dx, dw, db);
    CHECK(gradcheck("linear dx", k.in[0], sz[0], dx, BASE, layer_loss, &k,
                    NULL) == 0);
    CHECK(gradcheck("linear dw", k.in[1], sz[1], dw, BASE, layer_loss, &k,
                    NULL) == 0);
    CHECK(gradcheck("linear db", k.in[2], sz[2], db, BASE, layer_loss, &k,
                    NULL) == 0);
    /* No bias. */
    float y2[LB * LO];
    g2c_linear_forward(LB, LI, LO, k.in[0], k.in[1], NULL, y2);
    CHECK_CLOSE(y2[LO + 2], want - k.in[2][2], 1e-6);
    /* Only dw: dx and db untouched. */
    float *dx2 = gradcheck_alloc(sz[0], BASE);
    g2c_linear_backward(LB, LI, LO, k.in[0], k.in[1], k.r, NULL, dw, NULL);
    g2c_linear_backward(LB, LI, LO, k.in[0], k.in[1], k.r, dx2, NULL, NULL);
    CHECK(memcmp(dx, dx2, sz[0] * sizeof *dx) == 0);
    free(dx);
    free(dx2);
    free(dw);
    free(db);
    layer_free(&k);
}

/* ---- concat / split, add, chanmul ------------------------------------ */

static const int CH[3] = {2, 1, 3};
enum { CN = 2, CHW = 4 };

static void fwd_concat(Layer *k)
{
    const float *xs[3] = {k->in[0], k->in[1], k->in[2]};
    g2c_concat_forward(CN, CHW, 3, CH, xs, k->y);
}

static void check_concat(void)
{
    size_t sz[3] = {CN * 2 * CHW, CN * 1 * CHW, CN * 3 * CHW};
    size_t ny = CN * 6 * CHW;
    Layer k = {0};
    k.fwd = fwd_concat;
    layer_setup(&k, 3, sz, ny, -1.0f, 1.0f);
    k.fwd(&k);
    /* Sample 1, channel 2 of the output is part 1's channel 0. */
    CHECK(k.y[(1 * 6 + 2) * CHW + 3] == k.in[1][(1 * 1 + 0) * CHW + 3]);
    CHECK(k.y[(1 * 6 + 5) * CHW + 0] == k.in[2][(1 * 3 + 2) * CHW + 0]);

    float *d[3];
    for (int i = 0; i < 3; i++)
        d[i] = gradcheck_alloc(sz[i], BASE);
    float *dxs[3] = {d[0], NULL, d[2]}; /* part 1 needs no gradient */
    g2c_concat_backward(CN, CHW, 3, CH, k.r, dxs);
    CHECK(gradcheck("concat d0", k.in[0], sz[0], d[0], BASE, layer_loss, &k,
                    NULL) == 0);
    CHECK(gradcheck("concat d2", k.in[2], sz[2], d[2], BASE, layer_loss, &k,
                    NULL) == 0);
    for (size_t i = 0; i < sz[1]; i++)
        CHECK(d[1][i] == BASE);

    /* Split is the inverse of concat, and its backward is concat's
     * forward added into dx. */
    float *parts[3];
    for (int i = 0; i < 3; i++)
        parts[i] = gradcheck_alloc(sz[i], 0.0f);
    g2c_split_forward(CN, CHW, 3, CH, k.y, parts);
    for (int i = 0; i < 3; i++)
        CHECK(memcmp(parts[i], k.in[i], sz[i] * sizeof(float)) == 0);
    float *dx = gradcheck_alloc(ny, BASE);
    const float *dys[3] = {k.in[0], NULL, k.in[2]};
    g2c_split_backward(CN, CHW, 3, CH, dys, dx);
    CHECK(dx[(1 * 6 + 2) * CHW + 3] == BASE); /* the NULL part */
    CHECK(dx[(1 * 6 + 5) * CHW + 0] == BASE + k.in[2][(1 * 3 + 2) * CHW]);
    CHECK(dx[(0 * 6 + 1) * CHW + 1] == BASE + k.in[0][1 * CHW + 1]);
    free(dx);
    for (int i = 0; i < 3; i++) {
        free(parts[i]);
        free(d[i]);
    }
    layer_free(&k);
}

static void fwd_add(Layer *k)
{
    g2c_add_forward(k->ny, k->in[0], k->in[1], k->y);
}

static void fwd_chanmul(Layer *k)
{
    g2c_chanmul_forward(k->n, k->c, k->hw, k->in[0], k->in[1], k->y);
}

static void check_add_chanmul(void)
{
    size_t sz[2] = {30, 30};
    Layer k = {0};
    k.fwd = fwd_add;
    layer_setup(&k, 2, sz, 30, -1.0f, 1.0f);
    k.fwd(&k);
    CHECK(k.y[7] == k.in[0][7] + k.in[1][7]);
    float *da = gradcheck_alloc(30, BASE), *db = gradcheck_alloc(30, BASE);
    g2c_add_backward(30, k.r, da, db);
    CHECK(gradcheck("add da", k.in[0], 30, da, BASE, layer_loss, &k, NULL) ==
          0);
    CHECK(gradcheck("add db", k.in[1], 30, db, BASE, layer_loss, &k, NULL) ==
          0);
    g2c_add_backward(30, k.r, NULL, db); /* NULL skipped */
    free(da);
    free(db);
    layer_free(&k);

    Layer m = {0};
    m.n = 2;
    m.c = 3;
    m.hw = 5;
    size_t msz[2] = {30, 6};
    m.fwd = fwd_chanmul;
    layer_setup(&m, 2, msz, 30, -1.0f, 1.0f);
    m.fwd(&m);
    CHECK(m.y[(1 * 3 + 2) * 5 + 4] == m.in[0][(1 * 3 + 2) * 5 + 4] * m.in[1][5]);
    float *dx = gradcheck_alloc(30, BASE), *ds = gradcheck_alloc(6, BASE);
    g2c_chanmul_backward(2, 3, 5, m.in[0], m.in[1], m.r, dx, ds);
    CHECK(gradcheck("chanmul dx", m.in[0], 30, dx, BASE, layer_loss, &m,
                    NULL) == 0);
    CHECK(gradcheck("chanmul ds", m.in[1], 6, ds, BASE, layer_loss, &m,
                    NULL) == 0);
    float ds0 = ds[0];
    g2c_chanmul_backward(2, 3, 5, m.in[0], m.in[1], m.r, NULL, ds);
    CHECK(ds[0] != ds0);
    free(dx);
    free(ds);
    layer_free(&m);
}

int main(void)
{
    g2c_rng_seed(&rng, 20190127);
    check_activations();
    check_dropout();
    check_pool_grads(3, 2, 1);
    check_pool_grads(2, 2, 0);
    check_pool_grads(3, 1, 1);
    check_pool_semantics();
    check_maxpool_sweep();
    check_linear();
    check_concat();
    check_add_chanmul();
    return g2c_test_finish("layers");
}
