/* Losses: values by hand, finite-difference gradients (with a scale, and
 * added onto a prefilled buffer), focal(gamma=0, alpha=NULL) == CE, class
 * weights and ignored labels. */
#include "g2c/nn.h"
#include "gradcheck.h"
#include "../testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const float BASE = 0.5f;
static const float SCALE = 1.5f;

enum { NB = 5, NK = 4, NE = 40 };

typedef struct {
    int kind; /* 0 mse, 1 mse-const, 2 l1, 3 ce, 4 focal */
    float x[NE], t[NE];
    float target;
    int labels[NB];
    const float *weight;
    float gamma;
} Loss;

static float loss_eval(Loss *k, float *dx, float scale)
{
    switch (k->kind) {
    case 0: return g2c_mse_loss(NE, k->x, k->t, dx, scale);
    case 1: return g2c_mse_const_loss(NE, k->x, k->target, dx, scale);
    case 2: return g2c_l1_loss(NE, k->x, k->t, dx, scale);
    case 3:
        return g2c_softmax_ce_loss(NB, NK, k->x, k->labels, k->weight, dx,
                                   scale);
    default:
        return g2c_focal_loss(NB, NK, k->x, k->labels, k->weight, k->gamma,
                              dx, scale);
    }
}

static double loss_fn(const float *x, void *ctx)
{
    (void)x;
    return SCALE * (double)loss_eval(ctx, NULL, 1.0f);
}

static void check_grad(const char *what, Loss *k)
{
    float *dx = gradcheck_alloc(NE, BASE);
    float l1 = loss_eval(k, dx, SCALE);
    float l2 = loss_eval(k, NULL, 0.0f);
    CHECK(l1 == l2); /* the gradient does not change the value */
    CHECK(isfinite(l1));
    CHECK(gradcheck(what, k->x, NE, dx, BASE, loss_fn, k, NULL) == 0);
    free(dx);
}

static void setup(Loss *k, int kind, G2cRng *rng)
{
    memset(k, 0, sizeof *k);
    k->kind = kind;
    gradcheck_fill(k->x, NE, rng, -2.0f, 2.0f);
    gradcheck_fill(k->t, NE, rng, -2.0f, 2.0f);
    k->target = 1.0f;
    for (int i = 0; i < NB; i++)
        k->labels[i] = (int)g2c_rng_below(rng, NK);
}

static void check_regression(G2cRng *rng)
{
    Loss k;
    setup(&k, 0, rng);
    check_grad("mse", &k);
    setup(&k, 1, rng);
    check_grad("mse-const", &k);
    setup(&k, 2, rng);
    /* |x - t| kept away from the kink at 0. */
    for (int i = 0; i < NE; i++)
        if (fabsf(k.x[i] - k.t[i]) < 0.05f)
            k.x[i] += 0.1f;
    check_grad("l1", &k);

    float x[4] = {1, 2, 3, 4}, t[4] = {0, 2, 5, 3.5f}, dx[4] = {0};
    CHECK_CLOSE(g2c_mse_loss(4, x, t, NULL, 1), (1 + 0 + 4 + 0.25) / 4, 1e-7);
    CHECK_CLOSE(g2c_mse_const_loss(4, x, 1.0f, NULL, 1), (0 + 1 + 4 + 9) / 4.0,
                1e-7);
    CHECK_CLOSE(g2c_l1_loss(4, x, t, dx, 2.0f), (1 + 0 + 2 + 0.5) / 4, 1e-7);
    /* sign(0) = 0: no gradient where x == target. */
    CHECK(dx[0] == 0.5f && dx[1] == 0.0f && dx[2] == -0.5f);
    CHECK(g2c_mse_loss(0, x, t, NULL, 1) == 0.0f);
}

static void check_classification(G2cRng *rng)
{
    static const float w[NK] = {0.5f, 2.0f, 1.0f, 3.0f};
    Loss k;
    setup(&k, 3, rng);
    check_grad("ce", &k);
    k.weight = w;
    check_grad("ce weighted", &k);
    k.labels[2] = -100; /* ignore_index */
    check_grad("ce ignored", &k);

    static const float gammas[3] = {2.0f, 0.5f, 1.0f};
    for (int g = 0; g < 3; g++) {
        char what[64];
        setup(&k, 4, rng);
        k.gamma = gammas[g];
        snprintf(what, sizeof what, "focal gamma %g", gammas[g]);
        check_grad(what, &k);
        k.weight = w;
        snprintf(what, sizeof what, "focal gamma %g alpha", gammas[g]);
        check_grad(what, &k);
    }

    /* CE by hand: logits (0, ln 3) with label 1: p = 3/4. */
    float z[2] = {0.0f, logf(3.0f)}, dz[2] = {0, 0};
    int lab[1] = {1};
    CHECK_CLOSE(g2c_softmax_ce_loss(1, 2, z, lab, NULL, dz, 1), -log(0.75),
                1e-6);
    CHECK_CLOSE(dz[0], 0.25, 1e-6);
    CHECK_CLOSE(dz[1], -0.25, 1e-6);
    /* Focal by hand, gamma 2, alpha 0.25 on class 1. */
    float al[2] = {1.0f, 0.25f};
    CHECK_CLOSE(g2c_focal_loss(1, 2, z, lab, al, 2.0f, NULL, 1),
                -0.25 * 0.0625 * log(0.75), 1e-7);

    /* Weighted mean: sum w_y l / sum w_y, not a plain mean. */
    float zz[4] = {0.0f, 0.0f, 0.0f, logf(3.0f)};
    int ll[2] = {0, 1};
    float cw[2] = {1.0f, 3.0f};
    double want = (1.0 * log(2.0) + 3.0 * -log(0.75)) / 4.0;
    CHECK_CLOSE(g2c_softmax_ce_loss(2, 2, zz, ll, cw, NULL, 1), want, 1e-6);
    /* No weight left: 0 and no gradient. */
    int none[2] = {-100, 7};
    float dzz[4] = {0};
    CHECK(g2c_softmax_ce_loss(2, 2, zz, none, NULL, dzz, 1) == 0.0f);
    CHECK(g2c_focal_loss(2, 2, zz, none, NULL, 2.0f, dzz, 1) == 0.0f);
    CHECK(dzz[0] == 0.0f && dzz[3] == 0.0f);

    /* Huge logits: log-sum-exp keeps everything finite. */
    float big[3] = {1000.0f, -1000.0f, 999.0f}, db[3] = {0};
    int lb[1] = {2};
    CHECK_CLOSE(g2c_softmax_ce_loss(1, 3, big, lb, NULL, db, 1),
                log(1.0 + exp(-1.0)) + 1.0, 1e-5);
    CHECK(isfinite(db[0]) && isfinite(db[1]) && isfinite(db[2]));
    lb[0] = 0; /* p_y ~ 0.73; and a confident one with p_y -> 1 */
    float fl = g2c_focal_loss(1, 3, big, lb, NULL, 0.5f, db, 1);
    CHECK(isfinite(fl) && isfinite(db[0]));
    float sure[2] = {100.0f, 0.0f}, ds[2] = {0};
    fl = g2c_focal_loss(1, 2, sure, lb, NULL, 0.5f, ds, 1);
    CHECK(isfinite(fl) && fl >= 0.0f && isfinite(ds[0]) && isfinite(ds[1]));
}

/* gamma = 0, alpha = NULL: focal loss is cross-entropy, value and
 * gradient. */
static void check_focal_is_ce(G2cRng *rng)
{
    enum { B = 16, K = 5 };
    float z[B * K], d1[B * K], d2[B * K];
    int lab[B];
    gradcheck_fill(z, B * K, rng, -4.0f, 4.0f);
    for (int i = 0; i < B; i++)
        lab[i] = (int)g2c_rng_below(rng, K);
    for (int i = 0; i < B * K; i++)
        d1[i] = d2[i] = BASE;
    float ce = g2c_softmax_ce_loss(B, K, z, lab, NULL, d1, 0.7f);
    float fo = g2c_focal_loss(B, K, z, lab, NULL, 0.0f, d2, 0.7f);
    CHECK_CLOSE(fo, ce, 1e-6 * fabs(ce));
    for (int i = 0; i < B * K; i++)
        CHECK_CLOSE(d1[i], d2[i], 1e-7);
}

int main(void)
{
    G2cRng rng;
    g2c_rng_seed(&rng, 31);
    check_regression(&rng);
    check_classification(&rng);
    check_focal_is_ce(&rng);
    return g2c_test_finish("loss");
}
