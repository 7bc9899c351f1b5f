/* ConvTranspose2d against a double-precision reference and central
 * differences, with and without batch folding.
 *   - forward within 1e-5 * max(1, max|y|) of the reference;
 *   - backward (into buffers prefilled with 0.5) within 1e-5 * max(1,
 *     max|grad|) of the reference adjoint, NULL gradients skipped;
 *   - every element of x, w, b passes a central-difference check of
 *     L = sum(y * g) in double (eps 0.25, atol = rtol = 1e-4);
 *   - repeated runs give the same bits. */
#include "g2c/nn.h"
#include "../../src/nn/im2col.h"
#include "../testutil.h"
#include "gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    G2cConvT2d c;
    int bias;
} Case;

/* batch, in_c, in_h, in_w, out_c, kernel, stride, pad, output_pad */
static const Case cases[] = {
    {{3, 4, 5, 6, 3, 3, 2, 1, 1}, 1}, /* the generator's upsampling */
    {{2, 3, 5, 4, 2, 2, 1, 0, 0}, 1},
    {{3, 2, 4, 5, 3, 4, 2, 0, 0}, 0},
    {{2, 3, 4, 3, 5, 3, 3, 1, 2}, 1},
    {{2, 5, 3, 4, 6, 3, 2, 1, 0}, 0},
    {{1, 3, 6, 7, 2, 5, 1, 2, 0}, 1},
    {{2, 2, 1, 1, 3, 3, 2, 1, 1}, 1}, /* a 1x1 input */
    {{1, 2, 3, 21, 2, 3, 2, 1, 1}, 1}, /* rows of 42: stride-2 vectors */
};

static const int fold_plans[] = {1, -2, 1 << 30}; /* -2: two images' worth */

static void reference(const G2cConvT2d *c, const float *x, const float *w,
                      const float *dy, double *y, double *dx, double *dw)
{
    const int oh = g2c_convt2d_out_h(c), ow = g2c_convt2d_out_w(c), k = c->kernel;
    for (int n = 0; n < c->batch; n++)
        for (int ch = 0; ch < c->in_c; ch++)
            for (int iy = 0; iy < c->in_h; iy++)
                for (int ix = 0; ix < c->in_w; ix++) {
                    size_t xi = (((size_t)n * c->in_c + ch) * c->in_h + iy) * c->in_w + ix;
                    for (int o = 0; o < c->out_c; o++)
                        for (int ky = 0; ky < k; ky++) {
                            int yy = iy * c->stride - c->pad + ky;
                            if (yy < 0 || yy >= oh)
                                continue;
                            for (int kx = 0; kx < k; kx++) {
                                int yx = ix * c->stride - c->pad + kx;
                                if (yx < 0 || yx >= ow)
                                    continue;
                                size_t yi = (((size_t)n * c->out_c + o) * oh + yy) * ow + yx;
                                size_t wi = (((size_t)ch * c->out_c + o) * k + ky) * k + kx;
                                y[yi] += (double)x[xi] * w[wi];
                                dx[xi] += (double)w[wi] * dy[yi];
                                dw[wi] += (double)x[xi] * dy[yi];
                            }
                        }
                }
}

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
    const G2cConvT2d *c;
    float *x, *w, *b, *y, *g;
    size_t ny;
} FdCtx;

static double fd_loss(const float *unused, void *p)
{
    FdCtx *f = p;
    (void)unused;
    g2c_convt2d_forward(f->c, f->x, f->w, f->b, f->y);
    return gradcheck_dot(f->y, f->g, f->ny);
}

static const GradcheckTol fd_tol = {0.25, 1e-4, 1e-4};

static void check_case(int ci, int fold)
{
    const Case *cs = &cases[ci];
    const G2cConvT2d *c = &cs->c;
    const int oh = g2c_convt2d_out_h(c), ow = g2c_convt2d_out_w(c);
    const size_t nx = (size_t)c->batch * c->in_c * c->in_h * c->in_w;
    const size_t nw = (size_t)c->in_c * c->out_c * c->kernel * c->kernel;
    const size_t ny = (size_t)c->batch * c->out_c * oh * ow;
    const size_t plane = (size_t)oh * ow;
    g2c_conv_tuning.fold_cols = fold > 0 ? fold : 2 * c->in_h * c->in_w;

    G2cRng rng;
    g2c_rng_seed(&rng, 2000 + (uint64_t)ci);
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
    reference(c, x, w, g, ry, rdx, rdw);
    for (size_t i = 0; i < ny; i++) {
        int o = (int)((i / plane) % (size_t)c->out_c);
        if (b)
            ry[i] += b[o];
        rdb[o] += g[i];
    }

    char what[128];
    snprintf(what, sizeof what, "case %d (k%d s%d p%d op%d) fold_cols %d", ci,
             c->kernel, c->stride, c->pad, c->output_pad,
             g2c_conv_tuning.fold_cols);
    g2c_convt2d_forward(c, x, w, b, y);
    if (compare("y", y, ry, ny, 0))
        fprintf(stderr, "  in %s\n", what), g2c_test_failures++;

    float *dx = gradcheck_alloc(nx, 0.5f), *dw = gradcheck_alloc(nw, 0.5f);
    float *db = gradcheck_alloc((size_t)c->out_c, 0.5f);
    g2c_convt2d_backward(c, x, w, g, dx, dw, b ? db : NULL);
    if (compare("dx", dx, rdx, nx, 0.5f) || compare("dw", dw, rdw, nw, 0.5f) ||
        (b && compare("db", db, rdb, (size_t)c->out_c, 0.5f)))
        fprintf(stderr, "  in %s\n", what), g2c_test_failures++;

    float *one = gradcheck_alloc(nx > nw ? nx : nw, 0.5f);
    g2c_convt2d_backward(c, x, w, g, one, NULL, NULL);
    if (compare("dx alone", one, rdx, nx, 0.5f))
        fprintf(stderr, "  in %s\n", what), g2c_test_failures++;
    for (size_t i = 0; i < nw; i++)
        one[i] = 0.5f;
    g2c_convt2d_backward(c, x, w, g, NULL, one, NULL);
    if (compare("dw alone", one, rdw, nw, 0.5f))
        fprintf(stderr, "  in %s\n", what), g2c_test_failures++;

    FdCtx f = {c, x, w, b, y, g, ny};
    int bad = gradcheck("x", x, nx, dx, 0.5f, fd_loss, &f, &fd_tol);
    bad += gradcheck("w", w, nw, dw, 0.5f, fd_loss, &f, &fd_tol);
    if (b)
        bad += gradcheck("b", b, (size_t)c->out_c, db, 0.5f, fd_loss, &f,
                         &fd_tol);
    if (bad)
        fprintf(stderr, "  in %s\n", what), g2c_test_failures++;

    free(x), free(w), free(b), free(y), free(g), free(dx), free(dw), free(db);
    free(one), free(ry), free(rdx), free(rdw), free(rdb);
}

static void check_determinism(void)
{
    const G2cConvT2d c = {3, 24, 9, 8, 16, 3, 2, 1, 1};
    const size_t nx = (size_t)c.batch * c.in_c * c.in_h * c.in_w;
    const size_t nw = (size_t)c.in_c * c.out_c * 9;
    const size_t ny = (size_t)c.batch * c.out_c * g2c_convt2d_out_h(&c) *
                      g2c_convt2d_out_w(&c);
    for (size_t p = 0; p < sizeof fold_plans / sizeof fold_plans[0]; p++) {
        g2c_conv_tuning.fold_cols = fold_plans[p] > 0 ? fold_plans[p] : 144;
        G2cRng rng;
        g2c_rng_seed(&rng, 9);
        float *x = gradcheck_alloc(nx, 0), *w = gradcheck_alloc(nw, 0);
        float *g = gradcheck_alloc(ny, 0), *b = gradcheck_alloc(16, 0.1f);
        gradcheck_fill(x, nx, &rng, -1, 1);
        gradcheck_fill(w, nw, &rng, -0.2f, 0.2f);
        gradcheck_fill(g, ny, &rng, -1, 1);
        float *out[2][4];
        for (int run = 0; run < 2; run++) {
            out[run][0] = gradcheck_alloc(ny, 0);
            out[run][1] = gradcheck_alloc(nx, 0);
            out[run][2] = gradcheck_alloc(nw, 0);
            out[run][3] = gradcheck_alloc(16, 0);
            g2c_convt2d_forward(&c, x, w, b, out[run][0]);
            g2c_convt2d_backward(&c, x, w, g, out[run][1], out[run][2],
                                 out[run][3]);
        }
        const size_t sizes[4] = {ny, nx, nw, 16};
        for (int i = 0; i < 4; i++) {
            if (memcmp(out[0][i], out[1][i], sizes[i] * sizeof(float))) {
                fprintf(stderr, "fold plan %zu: output %d differs between runs\n",
                        p, i);
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
        for (size_t p = 0; p < sizeof fold_plans / sizeof fold_plans[0]; p++)
            check_case((int)ci, fold_plans[p]);
    check_determinism();
    return g2c_test_finish("convt2d");
}
