/* Losses against PyTorch 1.13 (fixture from tools/torchref/layers.py): the
 * loss value and the gradient of the loss, for MSE (tensor and constant
 * targets), L1, cross-entropy (plain and class-weighted) and focal loss (a
 * hand-written PyTorch reference with autograd).
 *
 * Tolerance: loss 1e-6 relative; gradients 1e-7 + 1e-5 relative.  g2c sums
 * in double, PyTorch in float, hence not bit-identical. */
#include "g2c/error.h"
#include "g2c/nn.h"
#include "../testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static G2cSafetensors *st;

static const float *ref(const char *prefix, const char *name, size_t numel)
{
    static const float zero[1];
    char key[128];
    snprintf(key, sizeof key, "%s.%s", prefix, name);
    int ndim;
    int64_t shape[G2C_MAX_DIMS];
    const float *t = g2c_safetensors_get(st, key, &ndim, shape);
    if (!t) {
        fprintf(stderr, "%s\n", g2c_error_message());
        g2c_test_failures++;
        return zero;
    }
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    if (n != numel) {
        fprintf(stderr, "%s: %zu elements, expected %zu\n", key, n, numel);
        g2c_test_failures++;
        return zero;
    }
    return t;
}

static void compare(const char *prefix, const char *name, const float *got,
                    size_t n, double atol, double rtol)
{
    const float *want = ref(prefix, name, n);
    size_t bad = 0, worst_i = 0;
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        if (!(err <= atol + rtol * fabs(want[i])))
            bad++;
        if (!(err <= worst)) {
            worst = err;
            worst_i = i;
        }
    }
    if (getenv("G2C_TEST_VERBOSE")) /* the measured agreement */
        fprintf(stderr, "%s.%s: max |err| %.3g\n", prefix, name, worst);
    if (bad) {
        fprintf(stderr, "%s.%s: %zu of %zu off; worst [%zu] got %.9g want %.9g\n",
                prefix, name, bad, n, worst_i, got[worst_i], want[worst_i]);
        g2c_test_failures++;
    }
}

static const double GRAD_ATOL = 1e-7, GRAD_RTOL = 1e-5, LOSS_RTOL = 1e-6;

static void check_regression(void)
{
    enum { N = 2 * 3 * 4 * 4 };
    static const char *names[4] = {"mse", "mse_const1", "mse_const0", "l1"};
    for (int k = 0; k < 4; k++) {
        const char *pre = names[k];
        const float *x = ref(pre, "x", N);
        float dx[N] = {0}, loss;
        switch (k) {
        case 0: loss = g2c_mse_loss(N, x, ref(pre, "target", N), dx, 1); break;
        case 1: loss = g2c_mse_const_loss(N, x, 1.0f, dx, 1); break;
        case 2: loss = g2c_mse_const_loss(N, x, 0.0f, dx, 1); break;
        default: loss = g2c_l1_loss(N, x, ref(pre, "target", N), dx, 1); break;
        }
        compare(pre, "loss", &loss, 1, 0, LOSS_RTOL);
        compare(pre, "dx", dx, N, GRAD_ATOL, GRAD_RTOL);
    }
}

static void check_classification(void)
{
    enum { B = 7, K = 4 };
    static const char *names[4] = {"ce", "ce_weighted", "focal",
                                   "focal_noalpha"};
    for (int k = 0; k < 4; k++) {
        const char *pre = names[k];
        const float *z = ref(pre, "x", B * K), *lf = ref(pre, "labels", B);
        int labels[B];
        for (int i = 0; i < B; i++)
            labels[i] = (int)lf[i];
        float dz[B * K] = {0}, loss;
        switch (k) {
        case 0:
            loss = g2c_softmax_ce_loss(B, K, z, labels, NULL, dz, 1);
            break;
        case 1:
            loss = g2c_softmax_ce_loss(B, K, z, labels, ref(pre, "weight", K),
                                       dz, 1);
            break;
        case 2:
            loss = g2c_focal_loss(B, K, z, labels, ref(pre, "alpha", K), 2.0f,
                                  dz, 1);
            break;
        default:
            loss = g2c_focal_loss(B, K, z, labels, NULL, 0.5f, dz, 1);
            break;
        }
        compare(pre, "loss", &loss, 1, 0, LOSS_RTOL);
        compare(pre, "dx", dz, B * K, GRAD_ATOL, GRAD_RTOL);
    }
}

int main(void)
{
    const char *path =
        g2c_test_source_path("tests/fixtures/torch/layers.safetensors");
    st = g2c_safetensors_open(path);
    if (!st) {
        fprintf(stderr, "%s\n", g2c_error_message());
        return 1;
    }
    check_regression();
    check_classification();
    g2c_safetensors_close(st);
    return g2c_test_finish("loss-torch");
}
