/* Convolution layers against PyTorch 1.13: tests/fixtures/torch/
 * conv.safetensors (written by tools/torchref/conv.py) holds, per case, x, w,
 * b, y, a fixed upstream gradient dy and PyTorch's dx, dw, db; the metadata
 * describes each case.  Every case runs with the automatic choice of
 * algorithm and with each forced one.
 *
 * Tolerance: |got - want| <= 2e-5 * max(1, max|want|) per tensor (values
 * are O(1); the sums differ from PyTorch's only in order). */
#include "g2c/error.h"
#include "g2c/nn.h"
#include "../../src/nn/im2col.h"
#include "../testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static G2cSafetensors *st;

static const float *ref(const char *name, const char *part, size_t numel)
{
    char key[160];
    snprintf(key, sizeof key, "%s.%s", name, part);
    int ndim;
    int64_t shape[G2C_MAX_DIMS];
    const float *t = g2c_safetensors_get(st, key, &ndim, shape);
    if (!t) {
        fprintf(stderr, "%s: %s\n", key, g2c_error_message());
        g2c_test_failures++;
        return NULL;
    }
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    if (n != numel) {
        fprintf(stderr, "%s: %zu elements, expected %zu\n", key, n, numel);
        g2c_test_failures++;
        return NULL;
    }
    return t;
}

static void compare(const char *name, const char *part, const char *plan,
                    const float *got, size_t n, float base)
{
    const float *want = ref(name, part, n);
    if (!want)
        return;
    double scale = 1.0, worst = 0.0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)got[i] - base - want[i]));
    if (getenv("G2C_TEST_VERBOSE"))
        fprintf(stderr, "%s.%s (%s): max |err| %.3g\n", name, part, plan, worst);
    if (!(worst <= 2e-5 * scale)) {
        fprintf(stderr, "%s.%s (%s): max |err| %.3g > %.3g\n", name, part,
                plan, worst, 2e-5 * scale);
        g2c_test_failures++;
    }
}

static float *filled(size_t n, float v)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p)
        exit(1);
    for (size_t i = 0; i < n; i++)
        p[i] = v;
    return p;
}

static void check_conv2d(const char *name, const char *spec, const char *plan)
{
    G2cConv2d c;
    char mode[16];
    int bias;
    if (sscanf(spec, "conv2d %d %d %d %d %d %d %d %d %15s %d %d %d", &c.batch,
               &c.in_c, &c.in_h, &c.in_w, &c.out_c, &c.kernel, &c.stride,
               &c.pad, mode, &bias, &c.kernel_w, &c.pad_w) != 12) {
        fprintf(stderr, "%s: bad case description \"%s\"\n", name, spec);
        g2c_test_failures++;
        return;
    }
    c.pad_mode = strcmp(mode, "reflect") == 0 ? G2C_PAD_REFLECT : G2C_PAD_ZERO;
    const size_t nx = (size_t)c.batch * c.in_c * c.in_h * c.in_w;
    const size_t nw = (size_t)c.out_c * c.in_c * c.kernel * c.kernel_w;
    const size_t ny = (size_t)c.batch * c.out_c * g2c_conv2d_out_h(&c) *
                      g2c_conv2d_out_w(&c);
    const float *x = ref(name, "x", nx), *w = ref(name, "w", nw);
    const float *dy = ref(name, "dy", ny);
    const float *b = bias ? ref(name, "b", (size_t)c.out_c) : NULL;
    if (!x || !w || !dy || (bias && !b))
        return;
    float *y = filled(ny, 0), *dx = filled(nx, 0.25f), *dw = filled(nw, 0.25f);
    float *db = filled((size_t)c.out_c, 0.25f);
    g2c_conv2d_forward(&c, x, w, b, y);
    compare(name, "y", plan, y, ny, 0);
    g2c_conv2d_backward(&c, x, w, dy, dx, dw, bias ? db : NULL);
    compare(name, "dx", plan, dx, nx, 0.25f);
    compare(name, "dw", plan, dw, nw, 0.25f);
    if (bias)
        compare(name, "db", plan, db, (size_t)c.out_c, 0.25f);
    free(y), free(dx), free(dw), free(db);
}

static void check_convt2d(const char *name, const char *spec, const char *plan)
{
    G2cConvT2d c;
    int bias;
    if (sscanf(spec, "convt2d %d %d %d %d %d %d %d %d %d %d", &c.batch,
               &c.in_c, &c.in_h, &c.in_w, &c.out_c, &c.kernel, &c.stride,
               &c.pad, &c.output_pad, &bias) != 10) {
        fprintf(stderr, "%s: bad case description \"%s\"\n", name, spec);
        g2c_test_failures++;
        return;
    }
    const size_t nx = (size_t)c.batch * c.in_c * c.in_h * c.in_w;
    const size_t nw = (size_t)c.in_c * c.out_c * c.kernel * c.kernel;
    const size_t ny = (size_t)c.batch * c.out_c * g2c_convt2d_out_h(&c) *
                      g2c_convt2d_out_w(&c);
    const float *x = ref(name, "x", nx), *w = ref(name, "w", nw);
    const float *dy = ref(name, "dy", ny);
    const float *b = bias ? ref(name, "b", (size_t)c.out_c) : NULL;
    if (!x || !w || !dy || (bias && !b))
        return;
    float *y = filled(ny, 0), *dx = filled(nx, 0.25f), *dw = filled(nw, 0.25f);
    float *db = filled((size_t)c.out_c, 0.25f);
    g2c_convt2d_forward(&c, x, w, b, y);
    compare(name, "y", plan, y, ny, 0);
    g2c_convt2d_backward(&c, x, w, dy, dx, dw, bias ? db : NULL);
    compare(name, "dx", plan, dx, nx, 0.25f);
    compare(name, "dw", plan, dw, nw, 0.25f);
    if (bias)
        compare(name, "db", plan, db, (size_t)c.out_c, 0.25f);
    free(y), free(dx), free(dw), free(db);
}

static const struct {
    const char *name;
    G2cConvTuning t;
} plans[] = {
    {"auto", {G2C_CONV_AUTO, G2C_CONV_AUTO, G2C_CONV_AUTO, 2048, 0}},
    {"gemm", {G2C_CONV_GEMM, G2C_CONV_GEMM, G2C_CONV_GEMM, 1, 0}},
    {"tconv-fold", {G2C_CONV_GEMM, G2C_CONV_GEMM, G2C_CONV_TCONV, 1 << 30, 0}},
    {"direct", {G2C_CONV_DIRECT, G2C_CONV_DIRECT, G2C_CONV_DIRECT, 1, 0}},
    {"direct-c", {G2C_CONV_DIRECT, G2C_CONV_DIRECT, G2C_CONV_DIRECT, 1, 1}},
    {"implicit", {G2C_CONV_IMPLICIT, G2C_CONV_IMPLICIT, G2C_CONV_IMPLICIT, 1, 0}},
};

int main(void)
{
    const char *path =
        g2c_test_source_path("tests/fixtures/torch/conv.safetensors");
    st = g2c_safetensors_open(path);
    if (!st) {
        fprintf(stderr, "%s\n", g2c_error_message());
        return 1;
    }
    const char *list = g2c_safetensors_meta(st, "cases");
    CHECK(list != NULL);
    int count = 0;
    for (size_t p = 0; list && p < sizeof plans / sizeof plans[0]; p++) {
        g2c_conv_tuning = plans[p].t;
        char names[1024];
        snprintf(names, sizeof names, "%s", list);
        for (char *save, *name = strtok_r(names, " ", &save); name;
             name = strtok_r(NULL, " ", &save)) {
            const char *spec = g2c_safetensors_meta(st, name);
            if (!spec) {
                fprintf(stderr, "%s: no case description\n", name);
                g2c_test_failures++;
            } else if (strncmp(spec, "conv2d ", 7) == 0) {
                check_conv2d(name, spec, plans[p].name);
            } else {
                check_convt2d(name, spec, plans[p].name);
            }
            count++;
        }
    }
    CHECK(count >= 10);
    g2c_safetensors_close(st);
    return g2c_test_finish("conv-torch");
}
