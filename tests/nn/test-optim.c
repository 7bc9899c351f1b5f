/* Optimizers without PyTorch: hand-computed steps, freezing, buffers,
 * determinism and configuration errors. */
#include "g2c/error.h"
#include "g2c/nn.h"
#include "testutil.h"
#include "../../src/nn/nn-parallel.h"

#include <math.h>
#include <string.h>

/* Two modules and a buffer, values and gradients from a fixed seed. */
static void build(G2cParams *p)
{
    g2c_params_init(p);
    int64_t w[2] = {6, 5}, b[1] = {6};
    g2c_params_add(p, "enc.weight", 2, w, 1);
    g2c_params_add(p, "enc.bias", 1, b, 1);
    g2c_params_add(p, "enc.running_var", 1, b, 0);
    g2c_params_add(p, "head.weight", 2, w, 1);
    CHECK_OK(g2c_params_finalize(p));
    G2cRng rng;
    g2c_rng_seed(&rng, 99);
    g2c_init_normal(p->data, p->total, 0.0f, 1.0f, &rng);
}

static void gradients(G2cParams *p, int step)
{
    G2cRng rng;
    g2c_rng_seed(&rng, 1000 + (uint64_t)step);
    g2c_params_zero_grad(p);
    for (int i = 0; i < p->count; i++) {
        float *g = g2c_params_gradient(p, i);
        if (g)
            g2c_init_normal(g, p->tensors[i].numel, 0.0f, 1.0f, &rng);
    }
}

static void test_sgd_by_hand(void)
{
    G2cParams p;
    build(&p);
    float *w = g2c_params_value(&p, 0), *g = g2c_params_gradient(&p, 0);
    float w0 = w[3];
    G2cOptimizer o;
    G2cOptConfig cfg = {.kind = G2C_OPT_SGD, .momentum = 0.9f,
                        .weight_decay = 0.1f};
    CHECK_OK(g2c_optim_init(&o, &p, cfg));
    g2c_params_zero_grad(&p);
    g[3] = 2.0f;
    g2c_optim_step(&o, 0.5f);
    /* d = g + wd*w; buf = d; w -= lr*d. */
    double d1 = 2.0 + 0.1 * w0;
    double w1 = w0 - 0.5 * d1;
    CHECK_CLOSE(w[3], w1, 1e-6);
    CHECK_CLOSE(o.m[p.tensors[0].offset + 3], d1, 1e-6);
    g2c_optim_step(&o, 0.25f); /* same gradient again */
    double d2 = 2.0 + 0.1 * w1, buf2 = 0.9 * d1 + d2;
    CHECK_CLOSE(w[3], w1 - 0.25 * buf2, 1e-6);
    CHECK(o.step == 2);
    g2c_optim_free(&o);

    /* Without momentum there is no buffer: plain (decayed) gradient step. */
    cfg.momentum = 0;
    CHECK_OK(g2c_optim_init(&o, &p, cfg));
    CHECK(o.m == NULL && o.v == NULL);
    float before = w[3];
    g2c_optim_step(&o, 0.5f);
    CHECK_CLOSE(w[3], before - 0.5 * (2.0 + 0.1 * before), 1e-6);
    g2c_optim_free(&o);
    g2c_params_free(&p);
}

static void test_adam_by_hand(void)
{
    G2cParams p;
    build(&p);
    float *w = g2c_params_value(&p, 3), *g = g2c_params_gradient(&p, 3);
    G2cOptimizer o;
    G2cOptConfig cfg = {.kind = G2C_OPT_ADAM, .beta1 = 0.5f, .beta2 = 0.999f,
                        .eps = 1e-8f};
    CHECK_OK(g2c_optim_init(&o, &p, cfg));
    g2c_params_zero_grad(&p);
    g[0] = 3.0f;
    g[1] = -1e-3f;
    float w0 = w[0], w1 = w[1], w2 = w[2];
    g2c_optim_step(&o, 2e-4f);
    /* Bias correction makes the first step lr * sign(g). */
    CHECK_CLOSE(w[0], w0 - 2e-4, 3e-7);
    CHECK_CLOSE(w[1], w1 + 2e-4, 3e-7);
    CHECK(w[2] == w2); /* zero gradient, zero step */
    CHECK_CLOSE(o.m[p.tensors[3].offset], 1.5, 1e-7);
    CHECK_CLOSE(o.v[p.tensors[3].offset], 0.009, 1e-9);
    g2c_optim_free(&o);
    g2c_params_free(&p);
}

static int same(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof *a) == 0;
}

/* Frozen tensors keep their values and optimizer state; the others move;
 * buffers never move; unfreezing resumes the updates. */
static void test_freezing(G2cOptKind kind)
{
    G2cParams p;
    build(&p);
    G2cOptimizer o;
    G2cOptConfig cfg = {.kind = kind, .momentum = 0.9f, .weight_decay = 1e-3f,
                        .beta1 = 0.5f, .beta2 = 0.999f, .eps = 1e-8f};
    CHECK_OK(g2c_optim_init(&o, &p, cfg));
    const G2cTensorInfo *enc_w = &p.tensors[0], *head = &p.tensors[3];
    const G2cTensorInfo *rv = &p.tensors[2];
    float saved[30], saved_m[30], head_before[30], rv_before[6];
    memcpy(rv_before, p.data + rv->offset, sizeof rv_before);

    gradients(&p, 0);
    g2c_optim_step(&o, 0.01f);
    CHECK(g2c_params_set_frozen(&p, "enc.", 1) == 3);
    memcpy(saved, p.data + enc_w->offset, sizeof saved);
    memcpy(saved_m, o.m + enc_w->offset, sizeof saved_m);
    for (int s = 1; s <= 3; s++) {
        memcpy(head_before, p.data + head->offset, sizeof head_before);
        gradients(&p, s);
        g2c_optim_step(&o, 0.01f);
        CHECK(same(p.data + enc_w->offset, saved, 30));
        CHECK(same(o.m + enc_w->offset, saved_m, 30));
        CHECK(!same(p.data + head->offset, head_before, 30));
    }
    CHECK(g2c_params_set_frozen(&p, "enc.", 0) == 3);
    gradients(&p, 4);
    g2c_optim_step(&o, 0.01f);
    CHECK(!same(p.data + enc_w->offset, saved, 30));
    CHECK(!same(o.m + enc_w->offset, saved_m, 30));
    CHECK(same(p.data + rv->offset, rv_before, 6));
    CHECK(o.step == 5);
    g2c_optim_free(&o);
    g2c_params_free(&p);
}

/* Two identical runs agree to the bit. */
static void test_determinism(G2cOptKind kind)
{
    G2cParams p[2];
    G2cOptimizer o[2];
    G2cOptConfig cfg = {.kind = kind, .momentum = 0.9f, .weight_decay = 5e-4f,
                        .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    for (int r = 0; r < 2; r++) {
        build(&p[r]);
        CHECK_OK(g2c_optim_init(&o[r], &p[r], cfg));
        for (int s = 0; s < 6; s++) {
            gradients(&p[r], s);
            g2c_optim_step(&o[r], g2c_lr_step(0.01f, s, 2, 10.0f));
        }
    }
    CHECK(same(p[0].data, p[1].data, p[0].total));
    CHECK(same(o[0].m, o[1].m, p[0].total));
    if (kind == G2C_OPT_ADAM)
        CHECK(same(o[0].v, o[1].v, p[0].total));
    for (int r = 0; r < 2; r++) {
        g2c_optim_free(&o[r]);
        g2c_params_free(&p[r]);
    }
}

/* The AVX-512 loops against the scalar ones (tensors of 30 and 6 floats:
 * one vector and a tail, and a tail alone), with and without weight decay
 * and momentum.  On a CPU without AVX-512 both runs take the scalar path
 * and the test holds trivially. */
static void test_vector_matches_scalar(G2cOptKind kind, float wd, float mu)
{
    G2cParams p[2];
    G2cOptimizer o[2];
    G2cOptConfig cfg = {.kind = kind, .momentum = mu, .weight_decay = wd,
                        .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    for (int r = 0; r < 2; r++) {
        g2c_optim_vector = r == 0;
        build(&p[r]);
        CHECK_OK(g2c_optim_init(&o[r], &p[r], cfg));
        for (int s = 0; s < 5; s++) {
            gradients(&p[r], s);
            g2c_optim_step(&o[r], 0.01f);
        }
    }
    g2c_optim_vector = 1;
    CHECK(same(p[0].data, p[1].data, p[0].total));
    if (o[0].m)
        CHECK(same(o[0].m, o[1].m, p[0].total));
    if (kind == G2C_OPT_ADAM)
        CHECK(same(o[0].v, o[1].v, p[0].total));
    for (int r = 0; r < 2; r++) {
        g2c_optim_free(&o[r]);
        g2c_params_free(&p[r]);
    }
}

static void test_config_errors(void)
{
    G2cParams p;
    G2cOptimizer o;
    g2c_params_init(&p);
    int64_t s[1] = {4};
    g2c_params_add(&p, "w", 1, s, 1);
    G2cOptConfig cfg = {.kind = G2C_OPT_ADAM, .beta1 = 0.9f, .beta2 = 0.999f,
                        .eps = 1e-8f};
    CHECK(g2c_optim_init(&o, &p, cfg) == -1);
    CHECK(strstr(g2c_error_message(), "not finalized") != NULL);
    CHECK_OK(g2c_params_finalize(&p));
    cfg.beta2 = 1.0f;
    CHECK(g2c_optim_init(&o, &p, cfg) == -1);
    CHECK(strstr(g2c_error_message(), "betas") != NULL);
    cfg.beta2 = 0.999f;
    cfg.weight_decay = -1.0f;
    CHECK(g2c_optim_init(&o, &p, cfg) == -1);
    CHECK(strstr(g2c_error_message(), "weight_decay") != NULL);
    cfg.weight_decay = NAN;
    CHECK(g2c_optim_init(&o, &p, cfg) == -1);
    G2cOptConfig sgd = {.kind = G2C_OPT_SGD, .momentum = -0.5f};
    CHECK(g2c_optim_init(&o, &p, sgd) == -1);
    CHECK(strstr(g2c_error_message(), "momentum") != NULL);
    G2cOptConfig bad = {.kind = (G2cOptKind)7};
    CHECK(g2c_optim_init(&o, &p, bad) == -1);
    g2c_params_free(&p);
}

int main(void)
{
    test_sgd_by_hand();
    test_adam_by_hand();
    test_freezing(G2C_OPT_SGD);
    test_freezing(G2C_OPT_ADAM);
    test_determinism(G2C_OPT_SGD);
    test_vector_matches_scalar(G2C_OPT_SGD, 0.0f, 0.0f);
    test_vector_matches_scalar(G2C_OPT_SGD, 5e-4f, 0.9f);
    test_vector_matches_scalar(G2C_OPT_ADAM, 0.0f, 0.0f);
    test_vector_matches_scalar(G2C_OPT_ADAM, 1e-2f, 0.0f);
    test_determinism(G2C_OPT_ADAM);
    test_config_errors();
    return g2c_test_finish("optim");
}
