/* Conv2d against a double-precision reference and central differences.
 *
 * For every case (zero and reflect padding, stride 1 to 3, kernels 1 to 7,
 * odd sizes, thin and wide channel counts) and every algorithm the layer
 * can take (im2col+sgemm with and without batch folding, dx as a
 * transposed correlation, the thin direct kernels, AVX-512 or plain C):
 *   - forward matches the reference within 1e-5 * max(1, max|y|);
 *   - backward (into buffers prefilled with 0.5, so it must add) matches
 *     the reference adjoint within 1e-5 * max(1, max|grad|);
 *   - every element of x, w and b passes a central-difference check of
 *     L = sum(y * g) computed in double (eps 0.25: the layer is linear in
 *     each input, so only float rounding remains; atol = rtol = 1e-4), for
 *     the automatic choice and all-GEMM (the other plans are held to the
 *     reference adjoint only, to keep the test fast under ASan);
 *   - a NULL gradient is skipped and the others are unchanged;
 *   - repeated runs give the same bits. */
#include "g2c/nn.h"
#include "../../src/nn/im2col.h"
#include "../testutil.h"
#include "gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    G2cConv2d c;
    int bias;
} Case;

/* batch, in_c, in_h, in_w, out_c, kernel, stride, pad, mode
 * [, kernel_w, pad_w for a rectangular kernel] */
static const Case cases[] = {
    {{3, 3, 7, 6, 4, 3, 1, 1, G2C_PAD_ZERO}, 1},
    {{3, 3, 7, 6, 4, 3, 1, 1, G2C_PAD_REFLECT}, 1},
    {{2, 3, 7, 8, 5, 3, 2, 1, G2C_PAD_ZERO}, 1},
    {{3, 2, 9, 7, 5, 3, 2, 1, G2C_PAD_REFLECT}, 0},
    {{2, 3, 8, 9, 2, 4, 2, 1, G2C_PAD_ZERO}, 1},     /* PatchGAN down */
    {{2, 6, 6, 5, 1, 4, 1, 1, G2C_PAD_ZERO}, 1},     /* PatchGAN head */
    {{2, 2, 8, 9, 3, 7, 1, 3, G2C_PAD_REFLECT}, 1},  /* generator ends */
    {{2, 5, 5, 7, 6, 1, 1, 0, G2C_PAD_ZERO}, 1},     /* 1x1 */
    {{3, 4, 7, 7, 6, 1, 2, 0, G2C_PAD_ZERO}, 0},     /* ResNet shortcut */
    {{2, 3, 6, 5, 4, 3, 1, 2, G2C_PAD_ZERO}, 1},     /* pad = k - 1 */
    {{2, 3, 6, 5, 4, 3, 1, 3, G2C_PAD_ZERO}, 1},     /* pad > k - 1 */
    {{2, 6, 7, 6, 7, 3, 1, 1, G2C_PAD_REFLECT}, 1},  /* wide both sides */
    {{2, 3, 11, 10, 4, 5, 3, 2, G2C_PAD_REFLECT}, 1},
    {{1, 2, 5, 37, 2, 3, 1, 1, G2C_PAD_REFLECT}, 1}, /* rows > 16 lanes */
    {{1, 2, 4, 41, 3, 3, 2, 1, G2C_PAD_REFLECT}, 1}, /* stride-2 vectors */
    {{2, 2, 4, 38, 5, 4, 2, 1, G2C_PAD_ZERO}, 0},
    {{1, 2, 4, 70, 3, 7, 1, 3, G2C_PAD_REFLECT}, 1}, /* 4-vector blocks */
    {{1, 3, 3, 67, 1, 4, 1, 1, G2C_PAD_ZERO}, 1},
    {{2, 3, 7, 20, 8, 7, 1, 3, G2C_PAD_REFLECT}, 1}, /* blocks of 6 + 2 */
    {{2, 9, 6, 19, 3, 3, 1, 1, G2C_PAD_ZERO}, 1},    /* dx: 6 + 3 */
    {{2, 3, 7, 9, 4, 1, 1, 0, G2C_PAD_ZERO, 7, 3}, 1}, /* Inception 1x7 */
    {{2, 4, 9, 6, 3, 7, 1, 3, G2C_PAD_ZERO, 1, 0}, 0}, /* and 7x1 */
    {{2, 3, 6, 8, 5, 3, 1, 1, G2C_PAD_REFLECT, 5, 2}, 1},
    {{2, 3, 9, 10, 4, 3, 2, 1, G2C_PAD_ZERO, 5, 2}, 1},
    {{1, 2, 5, 40, 3, 1, 1, 0, G2C_PAD_ZERO, 7, 3}, 1},
    {{2, 6, 5, 7, 5, 3, 1, 2, G2C_PAD_ZERO, 1, 0}, 1}, /* pad > k - 1 */
    /* implicit GEMM: 2 panels of 12 rows + padding, 32-column panels that
     * span images (exact columns) and wide rows with dropped columns */
    {{2, 5, 6, 24, 20, 3, 1, 1, G2C_PAD_ZERO}, 1},
    {{3, 4, 7, 9, 13, 3, 2, 1, G2C_PAD_ZERO}, 0},
    {{2, 3, 5, 22, 9, 3, 1, 1, G2C_PAD_REFLECT}, 1},
};

static int kw_of(const G2cConv2d *c)
{
    return c->kernel_w > 0 ? c->kernel_w : c->kernel;
}

static int pw_of(const G2cConv2d *c)
{
    return c->kernel_w > 0 ? c->pad_w : c->pad;
}

typedef struct {
    const char *name;
    G2cConvTuning t;
    int fold_two; /* fold_cols = 2 images' worth: chunks of 2 and a rest */
    int fd;       /* also run the central differences (the slow part) */
} Plan;

static const Plan plans[] = {
    {"auto", {G2C_CONV_AUTO, G2C_CONV_AUTO, G2C_CONV_AUTO, 2048, 0}, 0, 1},
    {"gemm", {G2C_CONV_GEMM, G2C_CONV_GEMM, G2C_CONV_GEMM, 1, 0}, 0, 1},
    {"gemm-fold2", {G2C_CONV_GEMM, G2C_CONV_GEMM, G2C_CONV_GEMM, 0, 0}, 1},
    {"tconv-foldall",
     {G2C_CONV_GEMM, G2C_CONV_GEMM, G2C_CONV_TCONV, 1 << 30, 0}, 0},
    {"tconv-fold2", {G2C_CONV_GEMM, G2C_CONV_GEMM, G2C_CONV_TCONV, 0, 0}, 1},
    {"direct", {G2C_CONV_DIRECT, G2C_CONV_DIRECT, G2C_CONV_DIRECT, 1, 0}, 0, 0},
    {"direct-c", {G2C_CONV_DIRECT, G2C_CONV_DIRECT, G2C_CONV_DIRECT, 1, 1}, 0},
    {"tconv-c", {G2C_CONV_GEMM, G2C_CONV_GEMM, G2C_CONV_TCONV, 1 << 30, 1}, 0},
    {"implicit",
     {G2C_CONV_IMPLICIT, G2C_CONV_IMPLICIT, G2C_CONV_IMPLICIT, 1, 0}, 0, 1},
};

/* ---- double-precision reference -------------------------------------- */

/* Input index along one axis, or -1 for a zero-padding position. */
static int source_index(int i, int n, G2cPadMode mode)
{
    if (i >= 0 && i < n)
        return i;
    if (mode == G2C_PAD_ZERO)
        return -1;
    return i < 0 ? -i : 2 * (n - 1) - i;
}

typedef void (*TapFn)(void *ctx, size_t xi, size_t wi, size_t yi, int o);

/* Calls fn for every (input element, weight, output element) product. */
static void for_each_tap(const G2cConv2d *c, TapFn fn, void *ctx)
{
    const int oh = g2c_conv2d_out_h(c), ow = g2c_conv2d_out_w(c);
    const int kh = c->kernel, kw = kw_of(c);
    for (int n = 0; n < c->batch; n++)
        for (int o = 0; o < c->out_c; o++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    size_t yi = (((size_t)n * c->out_c + o) * oh + oy) * ow + ox;
                    for (int ch = 0; ch < c->in_c; ch++)
                        for (int ky = 0; ky < kh; ky++) {
                            int iy = source_index(oy * c->stride - c->pad + ky,
                                                  c->in_h, c->pad_mode);
                            if (iy < 0)
                                continue;
                            for (int kx = 0; kx < kw; kx++) {
                                int ix = source_index(
                                    ox * c->stride - pw_of(c) + kx, c->in_w,
                                    c->pad_mode);
                                if (ix < 0)
                                    continue;
                                size_t xi =
                                    (((size_t)n * c->in_c + ch) * c->in_h + iy) *
                                        c->in_w + ix;
                                size_t wi =
                                    (((size_t)o * c->in_c + ch) * kh + ky) * kw + kx;
                                fn(ctx, xi, wi, yi, o);
                            }
                        }
                }
}

typedef struct {
    const float *x, *w, *dy;
    double *y, *dx, *dw, *db;
} RefCtx;

static void tap_forward(void *p, size_t xi, size_t wi, size_t yi, int o)
{
    RefCtx *r = p;
    (void)o;
    r->y[yi] += (double)r->x[xi] * r->w[wi];
}

static void tap_backward(void *p, size_t xi, size_t wi, size_t yi, int o)
{
    RefCtx *r = p;
    (void)o;
    r->dx[xi] += (double)r->w[wi] * r->dy[yi];
    r->dw[wi] += (double)r->x[xi] * r->dy[yi];
}

/* ---- comparisons ------------------------------------------------------ */

static int compare(const char *what, const float *got, const double *want,
                   size_t n, float base)
{
    double scale = 1.0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++) {
        double err = fabs(((double)got[i] - base) - want[i]);
        if (!(err <= 1e-5 * scale)) {
            fprintf(stderr, "%s[%zu]: got %.8g, want %.8g\n", what, i,
                    (double)got[i] - base, want[i]);
            return 1;
        }
    }
    return 0;
}

typedef struct {
    const G2cConv2d *c;
    float *x, *w, *b, *y, *g;
    size_t ny;
} FdCtx;

static double fd_loss(const float *unused, void *p)
{
    FdCtx *f = p;
    (void)unused;
    g2c_conv2d_forward(f->c, f->x, f->w, f->b, f->y);
    return gradcheck_dot(f->y, f->g, f->ny);
}

static const GradcheckTol fd_tol = {0.25, 1e-4, 1e-4};

static void check_case(int ci, const Plan *plan)
{
    const Case *cs = &cases[ci];
    const G2cConv2d *c = &cs->c;
    const int oh = g2c_conv2d_out_h(c), ow = g2c_conv2d_out_w(c);
    const size_t nx = (size_t)c->batch * c->in_c * c->in_h * c->in_w;
    const size_t nw = (size_t)c->out_c * c->in_c * c->kernel * kw_of(c);
    const size_t ny = (size_t)c->batch * c->out_c * oh * ow;
    char what[160];
    snprintf(what, sizeof what, "case %d (k%dx%d s%d p%dx%d %s) plan %s", ci,
             c->kernel, kw_of(c), c->stride, c->pad, pw_of(c),
             c->pad_mode == G2C_PAD_ZERO ? "zero" : "reflect", plan->name);

    g2c_conv_tuning = plan->t;
    if (plan->fold_two)
        g2c_conv_tuning.fold_cols = 2 * oh * ow;

    G2cRng rng;
    g2c_rng_seed(&rng, 1000 + (uint64_t)ci);
    float *x = gradcheck_alloc(nx, 0), *w = gradcheck_alloc(nw, 0);
    float *b = cs->bias ? gradcheck_alloc((size_t)c->out_c, 0) : NULL;
    float *y = gradcheck_alloc(ny, 0), *g = gradcheck_alloc(ny, 0);
    gradcheck_fill(x, nx, &rng, -1, 1);
    gradcheck_fill(w, nw, &rng, -0.5f, 0.5f);
    if (b)
        gradcheck_fill(b, (size_t)c->out_c, &rng, -0.5f, 0.5f);
    gradcheck_fill(g, ny, &rng, -1, 1);

    double *ry = calloc(ny, sizeof *ry), *rdx = calloc(nx, sizeof *rdx);
    double *rdw = calloc(nw, sizeof *rdw), *rdb = calloc((size_t)c->out_c, sizeof *rdb);
    RefCtx r = {x, w, g, ry, rdx, rdw, rdb};
    for (size_t i = 0; b && i < ny; i++)
        ry[i] = b[(i / ((size_t)oh * ow)) % (size_t)c->out_c];
    for_each_tap(c, tap_forward, &r);
    for_each_tap(c, tap_backward, &r);
    for (size_t i = 0; i < ny; i++)
        rdb[(i / ((size_t)oh * ow)) % (size_t)c->out_c] += g[i];

    g2c_conv2d_forward(c, x, w, b, y);
    if (compare("y", y, ry, ny, 0))
        fprintf(stderr, "  in %s\n", what), g2c_test_failures++;

    float *dx = gradcheck_alloc(nx, 0.5f), *dw = gradcheck_alloc(nw, 0.5f);
    float *db = gradcheck_alloc((size_t)c->out_c, 0.5f);
    g2c_conv2d_backward(c, x, w, g, dx, dw, b ? db : NULL);
    if (compare("dx", dx, rdx, nx, 0.5f) || compare("dw", dw, rdw, nw, 0.5f) ||
        (b && compare("db", db, rdb, (size_t)c->out_c, 0.5f)))
        fprintf(stderr, "  in %s\n", what), g2c_test_failures++;

    /* One gradient at a time: the NULL ones are skipped. */
    float *one = gradcheck_alloc(nx > nw ? nx : nw, 0.5f);
    g2c_conv2d_backward(c, x, w, g, one, NULL, NULL);
    if (compare("dx alone", one, rdx, nx, 0.5f))
        fprintf(stderr, "  in %s\n", what), g2c_test_failures++;
    for (size_t i = 0; i < nw; i++)
        one[i] = 0.5f;
    g2c_conv2d_backward(c, x, w, g, NULL, one, NULL);
    if (compare("dw alone", one, rdw, nw, 0.5f))
        fprintf(stderr, "  in %s\n", what), g2c_test_failures++;
    if (b) {
        for (int i = 0; i < c->out_c; i++)
            one[i] = 0.5f;
        g2c_conv2d_backward(c, x, w, g, NULL, NULL, one);
        if (compare("db alone", one, rdb, (size_t)c->out_c, 0.5f))
            fprintf(stderr, "  in %s\n", what), g2c_test_failures++;
    }

    FdCtx f = {c, x, w, b, y, g, ny};
    int bad = !plan->fd ? 0 : gradcheck("x", x, nx, dx, 0.5f, fd_loss, &f, &fd_tol);
    if (plan->fd)
        bad += gradcheck("w", w, nw, dw, 0.5f, fd_loss, &f, &fd_tol);
    if (plan->fd && b)
        bad += gradcheck("b", b, (size_t)c->out_c, db, 0.5f, fd_loss, &f,
                         &fd_tol);
    if (bad)
        fprintf(stderr, "  in %s\n", what), g2c_test_failures++;

    free(x), free(w), free(b), free(y), free(g), free(dx), free(dw), free(db);
    free(one), free(ry), free(rdx), free(rdw), free(rdb);
}

/* Same inputs, same thread count: the same bits, for each algorithm. */
static void check_determinism(void)
{
    const G2cConv2d shapes[] = {
        {2, 16, 20, 18, 24, 3, 1, 1, G2C_PAD_REFLECT},
        {2, 24, 21, 19, 3, 7, 1, 3, G2C_PAD_REFLECT},
        {3, 16, 9, 9, 32, 3, 2, 1, G2C_PAD_ZERO},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t p = 0; p < 6; p++) { /* the AVX-512 / OpenBLAS plans */
            const G2cConv2d *c = &shapes[s];
            g2c_conv_tuning = plans[p].t;
            const size_t nx = (size_t)c->batch * c->in_c * c->in_h * c->in_w;
            const size_t nw = (size_t)c->out_c * c->in_c * c->kernel * c->kernel;
            const size_t ny = (size_t)c->batch * c->out_c *
                              g2c_conv2d_out_h(c) * g2c_conv2d_out_w(c);
            G2cRng rng;
            g2c_rng_seed(&rng, 7);
            float *x = gradcheck_alloc(nx, 0), *w = gradcheck_alloc(nw, 0);
            float *g = gradcheck_alloc(ny, 0), *b = gradcheck_alloc(64, 0.1f);
            gradcheck_fill(x, nx, &rng, -1, 1);
            gradcheck_fill(w, nw, &rng, -0.2f, 0.2f);
            gradcheck_fill(g, ny, &rng, -1, 1);
            float *out[2][4];
            for (int run = 0; run < 2; run++) {
                out[run][0] = gradcheck_alloc(ny, 0);
                out[run][1] = gradcheck_alloc(nx, 0);
                out[run][2] = gradcheck_alloc(nw, 0);
                out[run][3] = gradcheck_alloc(64, 0);
                g2c_conv2d_forward(c, x, w, b, out[run][0]);
                g2c_conv2d_backward(c, x, w, g, out[run][1], out[run][2],
                                    out[run][3]);
            }
            const size_t sizes[4] = {ny, nx, nw, 64};
            for (int i = 0; i < 4; i++) {
                if (memcmp(out[0][i], out[1][i], sizes[i] * sizeof(float))) {
                    fprintf(stderr, "shape %zu plan %s: output %d differs "
                                    "between runs\n",
                            s, plans[p].name, i);
                    g2c_test_failures++;
                }
                free(out[0][i]), free(out[1][i]);
            }
            free(x), free(w), free(g), free(b);
        }
}

int main(void)
{
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++)
        for (size_t p = 0; p < sizeof plans / sizeof plans[0]; p++)
            check_case((int)ci, &plans[p]);
    check_determinism();
    return g2c_test_finish("conv2d");
}
