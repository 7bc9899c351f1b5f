/* Layers against PyTorch 1.13: the fixture written by
 * tools/torchref/layers.py holds inputs, parameters, outputs, a fixed
 * upstream gradient dy and the gradients it gives.
 *
 * Tolerances (|got - want| <= atol + rtol * |want|):
 *   point-wise, pooling, add, chanmul: 1e-6 + 1e-6 (same float operations);
 *   linear: 1e-5 + 1e-5 (sgemm summation order);
 *   instance/batch norm outputs and gradients: 2e-5 + 1e-4 (statistics
 *   reduced in a different order; PyTorch sums in float);
 *   max-pool argmax: exact. */
#include "g2c/error.h"
#include "g2c/nn.h"
#include "../testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static G2cSafetensors *st;

/* Fixture tensor prefix.name; checks it has numel elements (0 = any). */
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
    if (numel && n != numel) {
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
    if (want == NULL || n == 0)
        return;
    double worst = 0.0;
    size_t bad = 0, worst_i = 0;
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
        fprintf(stderr,
                "%s.%s: %zu of %zu elements off; worst [%zu] got %.9g want "
                "%.9g\n",
                prefix, name, bad, n, worst_i, got[worst_i], want[worst_i]);
        g2c_test_failures++;
    }
}

static float *zeros(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    if (!p)
        exit(1);
    return p;
}

static const double NORM_ATOL = 2e-5, NORM_RTOL = 1e-4;
static const double EXACT_ATOL = 1e-6, EXACT_RTOL = 1e-6;

static void check_instnorm(const char *pre, int affine)
{
    enum { N = 2, C = 3, HW = 30, SZ = N * C * HW };
    const float *x = ref(pre, "x", SZ), *dy = ref(pre, "dy", SZ);
    const float *g = affine ? ref(pre, "gamma", C) : NULL;
    const float *b = affine ? ref(pre, "beta", C) : NULL;
    float *y = zeros(SZ), *dx = zeros(SZ), mean[N * C], rstd[N * C];
    float dg[C] = {0}, db[C] = {0};
    g2c_instnorm_forward(N, C, HW, 1e-5f, x, g, b, y, mean, rstd);
    compare(pre, "y", y, SZ, NORM_ATOL, NORM_RTOL);
    g2c_instnorm_backward(N, C, HW, x, g, mean, rstd, dy, dx,
                          affine ? dg : NULL, affine ? db : NULL);
    compare(pre, "dx", dx, SZ, NORM_ATOL, NORM_RTOL);
    if (affine) {
        compare(pre, "dgamma", dg, C, NORM_ATOL, NORM_RTOL);
        compare(pre, "dbeta", db, C, NORM_ATOL, NORM_RTOL);
    }
    free(y);
    free(dx);
}

static void check_batchnorm(const char *pre, int training)
{
    enum { N = 4, C = 3, HW = 30, SZ = N * C * HW };
    const float *x = ref(pre, "x", SZ), *dy = ref(pre, "dy", SZ);
    const float *g = ref(pre, "gamma", C), *b = ref(pre, "beta", C);
    float rm[C], rv[C], mean[C], rstd[C], dg[C] = {0}, db[C] = {0};
    memcpy(rm, ref(pre, "running_mean", C), sizeof rm);
    memcpy(rv, ref(pre, "running_var", C), sizeof rv);
    float *y = zeros(SZ), *dx = zeros(SZ);
    g2c_batchnorm_forward(N, C, HW, 1e-5f, 0.1f, training, x, g, b, rm, rv,
                          y, mean, rstd);
    compare(pre, "y", y, SZ, NORM_ATOL, NORM_RTOL);
    compare(pre, "running_mean_after", rm, C, 1e-6, 1e-5);
    compare(pre, "running_var_after", rv, C, 1e-6, 1e-5);
    g2c_batchnorm_backward(N, C, HW, training, x, g, mean, rstd, dy, dx, dg,
                           db);
    compare(pre, "dx", dx, SZ, NORM_ATOL, NORM_RTOL);
    compare(pre, "dgamma", dg, C, NORM_ATOL, NORM_RTOL);
    compare(pre, "dbeta", db, C, NORM_ATOL, NORM_RTOL);
    free(y);
    free(dx);
}

static void check_activations(void)
{
    enum { SZ = 2 * 3 * 4 * 5 };
    static const char *names[4] = {"relu", "leakyrelu", "tanh", "sigmoid"};
    for (int a = 0; a < 4; a++) {
        const char *pre = names[a];
        const float *x = ref(pre, "x", SZ), *dy = ref(pre, "dy", SZ);
        float y[SZ], dx[SZ] = {0};
        switch (a) {
        case 0:
            g2c_relu_forward(SZ, x, y);
            g2c_relu_backward(SZ, x, dy, dx);
            break;
        case 1:
            g2c_leakyrelu_forward(SZ, 0.2f, x, y);
            g2c_leakyrelu_backward(SZ, 0.2f, x, dy, dx);
            break;
        case 2:
            g2c_tanh_forward(SZ, x, y);
            g2c_tanh_backward(SZ, y, dy, dx);
            break;
        default:
            g2c_sigmoid_forward(SZ, x, y);
            g2c_sigmoid_backward(SZ, y, dy, dx);
            break;
        }
        compare(pre, "y", y, SZ, EXACT_ATOL, EXACT_RTOL);
        compare(pre, "dx", dx, SZ, EXACT_ATOL, EXACT_RTOL);
    }
}

static void check_pools(void)
{
    static const struct { const char *name; int k, s, p; } cfg[3] = {
        {"k3s2p1", 3, 2, 1}, {"k2s2p0", 2, 2, 0}, {"k3s1p1", 3, 1, 1}};
    for (int i = 0; i < 3; i++) {
        G2cPool2d p = {2, 3, 9, 8, cfg[i].k, cfg[i].s, cfg[i].p};
        size_t nx = 2 * 3 * 9 * 8;
        size_t ny = (size_t)2 * 3 * g2c_pool2d_out_h(&p) * g2c_pool2d_out_w(&p);
        char pre[64];
        snprintf(pre, sizeof pre, "maxpool_%s", cfg[i].name);
        const float *x = ref(pre, "x", nx), *dy = ref(pre, "dy", ny);
        float *y = zeros(ny), *dx = zeros(nx), *am = zeros(ny);
        int32_t *argmax = calloc(ny, sizeof *argmax);
        g2c_maxpool2d_forward(&p, x, y, argmax);
        g2c_maxpool2d_backward(&p, argmax, dy, dx);
        for (size_t o = 0; o < ny; o++)
            am[o] = (float)argmax[o];
        compare(pre, "y", y, ny, 0, 0);
        compare(pre, "argmax", am, ny, 0, 0);
        compare(pre, "dx", dx, nx, EXACT_ATOL, EXACT_RTOL);

        snprintf(pre, sizeof pre, "avgpool_%s", cfg[i].name);
        x = ref(pre, "x", nx);
        dy = ref(pre, "dy", ny);
        memset(dx, 0, nx * sizeof *dx);
        g2c_avgpool2d_forward(&p, x, y);
        g2c_avgpool2d_backward(&p, dy, dx);
        compare(pre, "y", y, ny, EXACT_ATOL, EXACT_RTOL);
        compare(pre, "dx", dx, nx, EXACT_ATOL, EXACT_RTOL);
        free(y);
        free(dx);
        free(am);
        free(argmax);
    }
    enum { GN = 2, GC = 4, GHW = 25 };
    const float *x = ref("gap", "x", GN * GC * GHW);
    const float *dy = ref("gap", "dy", GN * GC);
    float y[GN * GC], dx[GN * GC * GHW] = {0};
    g2c_gap_forward(GN, GC, GHW, x, y);
    g2c_gap_backward(GN, GC, GHW, dy, dx);
    compare("gap", "y", y, GN * GC, EXACT_ATOL, EXACT_RTOL);
    compare("gap", "dx", dx, GN * GC * GHW, EXACT_ATOL, EXACT_RTOL);
}

static void check_linear_add_chanmul(void)
{
    enum { B = 3, I = 7, O = 5 };
    const float *x = ref("linear", "x", B * I), *w = ref("linear", "w", O * I);
    const float *b = ref("linear", "b", O), *dy = ref("linear", "dy", B * O);
    float y[B * O], dx[B * I] = {0}, dw[O * I] = {0}, db[O] = {0};
    g2c_linear_forward(B, I, O, x, w, b, y);
    g2c_linear_backward(B, I, O, x, w, dy, dx, dw, db);
    compare("linear", "y", y, B * O, 1e-5, 1e-5);
    compare("linear", "dx", dx, B * I, 1e-5, 1e-5);
    compare("linear", "dw", dw, O * I, 1e-5, 1e-5);
    compare("linear", "db", db, O, 1e-5, 1e-5);

    enum { AN = 24 };
    const float *a = ref("add", "a", AN), *ab = ref("add", "b", AN);
    const float *ady = ref("add", "dy", AN);
    float ay[AN], da[AN] = {0}, dab[AN] = {0};
    g2c_add_forward(AN, a, ab, ay);
    g2c_add_backward(AN, ady, da, dab);
    compare("add", "y", ay, AN, EXACT_ATOL, EXACT_RTOL);
    compare("add", "da", da, AN, EXACT_ATOL, EXACT_RTOL);
    compare("add", "db", dab, AN, EXACT_ATOL, EXACT_RTOL);

    enum { CN = 2, CC = 4, CHW = 9, CS = CN * CC * CHW };
    const float *cx = ref("chanmul", "x", CS), *s = ref("chanmul", "s", CN * CC);
    const float *cdy = ref("chanmul", "dy", CS);
    float cy[CS], cdx[CS] = {0}, ds[CN * CC] = {0};
    g2c_chanmul_forward(CN, CC, CHW, cx, s, cy);
    g2c_chanmul_backward(CN, CC, CHW, cx, s, cdy, cdx, ds);
    compare("chanmul", "y", cy, CS, EXACT_ATOL, EXACT_RTOL);
    compare("chanmul", "dx", cdx, CS, EXACT_ATOL, EXACT_RTOL);
    compare("chanmul", "ds", ds, CN * CC, 1e-6, 1e-5);
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
    check_instnorm("instnorm", 1);
    check_instnorm("instnorm_noaffine", 0);
    check_batchnorm("bn_train", 1);
    check_batchnorm("bn_eval", 0);
    check_activations();
    check_pools();
    check_linear_add_chanmul();
    g2c_safetensors_close(st);
    return g2c_test_finish("layers-torch");
}
