/* Instance and batch normalization: finite-difference gradients for x,
 * gamma and beta (affine and not, training and eval), and the running
 * statistics rule checked by hand. */
#include "g2c/nn.h"
#include "gradcheck.h"
#include "../testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 2, C = 3, HW = 20, SIZE = N * C * HW };
static const float BASE = 0.5f; /* gradients are prefilled: backward adds */

typedef struct {
    int batchnorm, training, affine;
    float x[SIZE], r[SIZE], y[SIZE];
    float gamma[C], beta[C];
    float rmean[C], rvar[C];
    float mean[N * C], rstd[N * C];
} Norm;

static void norm_forward(Norm *k)
{
    const float *g = k->affine ? k->gamma : NULL;
    const float *b = k->affine ? k->beta : NULL;
    if (k->batchnorm) {
        /* Fixed running stats every call: training updates them, and the
         * finite differences must all see the same starting point. */
        for (int c = 0; c < C; c++) {
            k->rmean[c] = 0.1f * (float)c;
            k->rvar[c] = 1.0f + 0.5f * (float)c;
        }
        g2c_batchnorm_forward(N, C, HW, 1e-5f, 0.1f, k->training, k->x, g, b,
                              k->rmean, k->rvar, k->y, k->mean, k->rstd);
    } else {
        g2c_instnorm_forward(N, C, HW, 1e-5f, k->x, g, b, k->y, k->mean,
                             k->rstd);
    }
}

static double norm_loss(const float *x, void *ctx)
{
    (void)x;
    Norm *k = ctx;
    norm_forward(k);
    return gradcheck_dot(k->y, k->r, SIZE);
}

static void check_norm(int batchnorm, int training, int affine)
{
    char what[64];
    Norm *k = calloc(1, sizeof *k);
    G2cRng rng;
    g2c_rng_seed(&rng, 7 + batchnorm * 4 + training * 2 + affine);
    k->batchnorm = batchnorm;
    k->training = training;
    k->affine = affine;
    gradcheck_fill(k->x, SIZE, &rng, -1.0f, 2.0f);
    gradcheck_fill(k->r, SIZE, &rng, -1.0f, 1.0f);
    gradcheck_fill(k->gamma, C, &rng, 0.5f, 1.5f);
    gradcheck_fill(k->beta, C, &rng, -0.5f, 0.5f);

    norm_forward(k);
    float *dx = gradcheck_alloc(SIZE, BASE);
    float *dg = gradcheck_alloc(C, BASE), *db = gradcheck_alloc(C, BASE);
    if (batchnorm)
        g2c_batchnorm_backward(N, C, HW, training, k->x,
                               affine ? k->gamma : NULL, k->mean, k->rstd,
                               k->r, dx, affine ? dg : NULL,
                               affine ? db : NULL);
    else
        g2c_instnorm_backward(N, C, HW, k->x, affine ? k->gamma : NULL,
                              k->mean, k->rstd, k->r, dx, affine ? dg : NULL,
                              affine ? db : NULL);

    const char *name = batchnorm ? (training ? "bn-train" : "bn-eval")
                                 : "instnorm";
    snprintf(what, sizeof what, "%s%s dx", name, affine ? "" : "-noaffine");
    CHECK(gradcheck(what, k->x, SIZE, dx, BASE, norm_loss, k, NULL) == 0);
    if (affine) {
        snprintf(what, sizeof what, "%s dgamma", name);
        CHECK(gradcheck(what, k->gamma, C, dg, BASE, norm_loss, k, NULL) == 0);
        snprintf(what, sizeof what, "%s dbeta", name);
        CHECK(gradcheck(what, k->beta, C, db, BASE, norm_loss, k, NULL) == 0);
    } else {
        for (int c = 0; c < C; c++)
            CHECK(dg[c] == BASE && db[c] == BASE);
    }

    /* Only dgamma wanted: dx stays untouched. */
    float *dx2 = gradcheck_alloc(SIZE, BASE);
    if (batchnorm)
        g2c_batchnorm_backward(N, C, HW, training, k->x, k->gamma, k->mean,
                               k->rstd, k->r, NULL, dg, NULL);
    else
        g2c_instnorm_backward(N, C, HW, k->x, k->gamma, k->mean, k->rstd,
                              k->r, NULL, dg, NULL);
    for (int i = 0; i < SIZE; i++)
        CHECK(dx2[i] == BASE);
    free(dx2);
    free(dx);
    free(dg);
    free(db);
    free(k);
}

/* Normalized planes have mean beta and (biased) std gamma. */
static void check_instnorm_stats(void)
{
    static float x[SIZE], y[SIZE];
    float gamma[C] = {2.0f, 0.5f, 1.0f}, beta[C] = {1.0f, -1.0f, 0.0f};
    float mean[N * C], rstd[N * C];
    G2cRng rng;
    g2c_rng_seed(&rng, 3);
    /* A large offset: the two-pass statistics must not cancel. */
    gradcheck_fill(x, SIZE, &rng, 1000.0f, 1003.0f);
    g2c_instnorm_forward(N, C, HW, 0.0f, x, gamma, beta, y, mean, rstd);
    for (int p = 0; p < N * C; p++) {
        double s = 0, s2 = 0;
        for (int i = 0; i < HW; i++)
            s += y[p * HW + i];
        double m = s / HW;
        for (int i = 0; i < HW; i++)
            s2 += (y[p * HW + i] - m) * (y[p * HW + i] - m);
        CHECK_CLOSE(m, beta[p % C], 1e-4);
        CHECK_CLOSE(sqrt(s2 / HW), gamma[p % C], 1e-3);
    }
}

/* Running statistics: PyTorch's momentum rule with the unbiased variance;
 * eval mode then uses them. */
static void check_running_stats(void)
{
    /* One channel, two samples of two values: mean 2.5, biased var 1.25,
     * unbiased 5/3. */
    float x[4] = {1.0f, 2.0f, 3.0f, 4.0f}, y[4];
    float rm = 1.0f, rv = 2.0f, mean, rstd;
    g2c_batchnorm_forward(2, 1, 2, 0.0f, 0.25f, 1, x, NULL, NULL, &rm, &rv, y,
                          &mean, &rstd);
    CHECK_CLOSE(mean, 2.5, 1e-6);
    CHECK_CLOSE(rstd, 1.0 / sqrt(1.25), 1e-6);
    CHECK_CLOSE(rm, 0.75 * 1.0 + 0.25 * 2.5, 1e-6);
    CHECK_CLOSE(rv, 0.75 * 2.0 + 0.25 * (5.0 / 3.0), 1e-6);
    CHECK_CLOSE(y[0], (1.0 - 2.5) / sqrt(1.25), 1e-6);

    /* Eval: normalized by the running stats, which stay as they are. */
    float rm0 = rm, rv0 = rv, g = 2.0f, b = 0.5f;
    g2c_batchnorm_forward(2, 1, 2, 1e-5f, 0.25f, 0, x, &g, &b, &rm, &rv, y,
                          &mean, &rstd);
    CHECK(rm == rm0 && rv == rv0);
    for (int i = 0; i < 4; i++)
        CHECK_CLOSE(y[i], (x[i] - rm0) / sqrt(rv0 + 1e-5) * 2.0 + 0.5, 1e-5);

    /* No running buffers (track_running_stats=False) is allowed in
     * training. */
    g2c_batchnorm_forward(2, 1, 2, 0.0f, 0.1f, 1, x, NULL, NULL, NULL, NULL,
                          y, &mean, &rstd);
    CHECK_CLOSE(mean, 2.5, 1e-6);
}

int main(void)
{
    for (int affine = 0; affine <= 1; affine++) {
        check_norm(0, 1, affine);
        check_norm(1, 1, affine);
        check_norm(1, 0, affine);
    }
    check_instnorm_stats();
    check_running_stats();
    return g2c_test_finish("layers-norm");
}
