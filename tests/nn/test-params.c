/* G2cParams: registration, layout, lookup, gradients, freezing; and the
 * weight initializers. */
#include "g2c/error.h"
#include "g2c/nn.h"
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static void test_register_and_layout(void)
{
    G2cParams p;
    g2c_params_init(&p);
    int64_t w[4] = {8, 3, 7, 7}, b[1] = {8};
    CHECK(g2c_params_add(&p, "model.1.weight", 4, w, 1) == 0);
    CHECK(g2c_params_add(&p, "model.1.bias", 1, b, 1) == 1);
    CHECK(g2c_params_add(&p, "model.2.running_mean", 1, b, 0) == 2);
    CHECK(g2c_params_add(&p, "model.2.num_batches_tracked", 0, NULL, 0) == 3);
    CHECK(p.count == 4);
    CHECK_OK(g2c_params_finalize(&p));
    CHECK(p.tensors[0].numel == 8 * 3 * 7 * 7);
    CHECK(p.tensors[3].numel == 1 && p.tensors[3].ndim == 0);
    /* Tensors do not overlap and start 64-byte aligned. */
    for (int i = 0; i < p.count; i++) {
        CHECK(p.tensors[i].offset % 16 == 0);
        CHECK(((uintptr_t)g2c_params_value(&p, i) & 63) == 0);
        if (i > 0)
            CHECK(p.tensors[i].offset >=
                  p.tensors[i - 1].offset + p.tensors[i - 1].numel);
        CHECK(p.tensors[i].offset + p.tensors[i].numel <= p.total);
    }
    /* Finalize zeroes values and gradients. */
    int zeros = 1;
    for (size_t i = 0; i < p.total; i++)
        zeros &= p.data[i] == 0 && p.grad[i] == 0;
    CHECK(zeros);

    CHECK(g2c_params_find(&p, "model.1.bias") == 1);
    CHECK(g2c_params_find(&p, "model.1") == -1);
    CHECK(g2c_params_find(&p, "nope") == -1);
    CHECK(g2c_params_value(&p, 1) == p.data + p.tensors[1].offset);
    CHECK(g2c_params_value(&p, 4) == NULL);
    CHECK(g2c_params_value(&p, -1) == NULL);
    CHECK(g2c_params_gradient(&p, 0) == p.grad + p.tensors[0].offset);
    /* Buffers have no gradient. */
    CHECK(g2c_params_gradient(&p, 2) == NULL);
    CHECK(g2c_params_gradient(&p, 3) == NULL);

    g2c_params_gradient(&p, 0)[5] = 3.0f;
    g2c_params_gradient(&p, 1)[7] = -1.0f;
    g2c_params_zero_grad(&p);
    CHECK(g2c_params_gradient(&p, 0)[5] == 0.0f);
    CHECK(g2c_params_gradient(&p, 1)[7] == 0.0f);

    /* Nothing can be registered once the memory is laid out. */
    g2c_error_clear();
    CHECK(g2c_params_add(&p, "late.weight", 1, b, 1) == -1);
    CHECK(strstr(g2c_error_message(), "late.weight") != NULL);
    CHECK(g2c_params_finalize(&p) == -1);
    g2c_params_free(&p);
    CHECK(p.count == 0 && p.data == NULL && p.tensors == NULL);
    g2c_params_free(&p); /* twice is harmless */
}

static void test_bad_registrations(void)
{
    G2cParams p;
    g2c_params_init(&p);
    int64_t ok[2] = {2, 3}, zero[2] = {2, 0}, neg[1] = {-4};
    CHECK(g2c_params_add(&p, "a.weight", 2, ok, 1) == 0);

    CHECK(g2c_params_add(&p, "a.weight", 2, ok, 1) == -1);
    CHECK(strstr(g2c_error_message(), "a.weight: registered twice") != NULL);
    CHECK(g2c_params_add(&p, "b.weight", 2, zero, 1) == -1);
    CHECK(strstr(g2c_error_message(), "b.weight: dimension 1 is 0") != NULL);
    CHECK(g2c_params_add(&p, "c.weight", 1, neg, 1) == -1);
    CHECK(strstr(g2c_error_message(), "c.weight") != NULL);
    int64_t five[5] = {1, 1, 1, 1, 1};
    CHECK(g2c_params_add(&p, "d.weight", 5, five, 1) == -1);
    CHECK(strstr(g2c_error_message(), "d.weight: 5 dimensions") != NULL);
    CHECK(g2c_params_add(&p, "", 2, ok, 1) == -1);
    char longname[G2C_MAX_NAME + 10];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK(g2c_params_add(&p, longname, 2, ok, 1) == -1);
    CHECK(strstr(g2c_error_message(), "length") != NULL);
    longname[G2C_MAX_NAME - 1] = '\0'; /* the longest name that fits */
    CHECK(g2c_params_add(&p, longname, 2, ok, 1) == 1);
    CHECK(p.count == 2);

    /* Many tensors: the registry grows. */
    for (int i = 0; i < 100; i++) {
        char name[32];
        snprintf(name, sizeof name, "blocks.%d.weight", i);
        CHECK(g2c_params_add(&p, name, 2, ok, 1) == i + 2);
    }
    CHECK_OK(g2c_params_finalize(&p));
    CHECK(g2c_params_find(&p, "blocks.99.weight") == 101);
    g2c_params_free(&p);

    /* An empty model finalizes too. */
    g2c_params_init(&p);
    CHECK_OK(g2c_params_finalize(&p));
    g2c_params_zero_grad(&p);
    g2c_params_free(&p);
}

static void test_freezing(void)
{
    G2cParams p;
    g2c_params_init(&p);
    int64_t s[1] = {3};
    const char *names[] = {"gen_HE.model.1.weight", "gen_HE.model.10.weight",
                           "gen_HE.model.2.running_mean", "gen_PAM.model.1.weight",
                           "classifier.fc.weight"};
    for (int i = 0; i < 5; i++)
        CHECK(g2c_params_add(&p, names[i], 1, s, i != 2) == i);
    CHECK_OK(g2c_params_finalize(&p));

    /* A module is every tensor under its prefix, buffers included. */
    CHECK(g2c_params_set_frozen(&p, "gen_HE.", 1) == 3);
    CHECK(p.tensors[0].frozen && p.tensors[1].frozen && p.tensors[2].frozen);
    CHECK(!p.tensors[3].frozen && !p.tensors[4].frozen);
    CHECK(g2c_params_gradient(&p, 0) == NULL);
    CHECK(g2c_params_gradient(&p, 1) == NULL);
    CHECK(g2c_params_gradient(&p, 3) != NULL);
    /* The dot keeps "model.1." from matching "model.10.". */
    CHECK(g2c_params_set_frozen(&p, "gen_HE.model.1.", 0) == 1);
    CHECK(!p.tensors[0].frozen && p.tensors[1].frozen);
    CHECK(g2c_params_gradient(&p, 0) != NULL);
    /* A mistyped module name matches nothing. */
    CHECK(g2c_params_set_frozen(&p, "gen_he.", 1) == 0);
    /* "" is the whole model. */
    CHECK(g2c_params_set_frozen(&p, "", 1) == 5);
    for (int i = 0; i < 5; i++)
        CHECK(g2c_params_gradient(&p, i) == NULL);
    CHECK(g2c_params_set_frozen(&p, "", 0) == 5);
    CHECK(g2c_params_gradient(&p, 4) != NULL);
    CHECK(g2c_params_gradient(&p, 2) == NULL); /* still a buffer */
    g2c_params_free(&p);
}

static void moments(const float *w, size_t n, double *mean, double *std)
{
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++) {
        s += w[i];
        ss += (double)w[i] * w[i];
    }
    *mean = s / (double)n;
    *std = sqrt(ss / (double)n - *mean * *mean);
}

static void test_init(void)
{
    enum { N = 200000 };
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    G2cRng r1, r2;
    double mean, std;

    g2c_rng_seed(&r1, 42);
    g2c_init_normal(a, N, 0.0f, 0.02f, &r1);
    moments(a, N, &mean, &std);
    CHECK_CLOSE(mean, 0.0, 0.0002);
    CHECK_CLOSE(std, 0.02, 0.0002);

    g2c_rng_seed(&r1, 42);
    g2c_init_normal(b, N, 1.0f, 0.02f, &r1); /* BatchNorm weights */
    moments(b, N, &mean, &std);
    CHECK_CLOSE(mean, 1.0, 0.0002);
    CHECK_CLOSE(std, 0.02, 0.0002);

    /* Same seed, same values: mean 1 is the same draws shifted. */
    g2c_rng_seed(&r2, 42);
    g2c_init_normal(b, N, 0.0f, 0.02f, &r2);
    CHECK(memcmp(a, b, N * sizeof *a) == 0);
    g2c_rng_seed(&r2, 43);
    g2c_init_normal(b, N, 0.0f, 0.02f, &r2);
    CHECK(memcmp(a, b, N * sizeof *a) != 0);

    /* Kaiming normal, fan_in, ReLU gain: std sqrt(2 / fan_in). */
    int fan_in = 64 * 3 * 3;
    g2c_rng_seed(&r1, 7);
    g2c_init_kaiming(a, N, fan_in, &r1);
    moments(a, N, &mean, &std);
    CHECK_CLOSE(mean, 0.0, 0.001);
    CHECK_CLOSE(std, sqrt(2.0 / fan_in), 0.0005);
    g2c_rng_seed(&r2, 7);
    g2c_init_kaiming(b, N, fan_in, &r2);
    CHECK(memcmp(a, b, N * sizeof *a) == 0);
    free(a);
    free(b);
}

int main(void)
{
    test_register_and_layout();
    test_bad_registrations();
    test_freezing();
    test_init();
    return g2c_test_finish("params");
}
