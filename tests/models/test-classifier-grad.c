/* Finite-difference gradient check of the whole G2C classifier: the
 * "tiny" preset (K = 3 with cross-stain attention, light stem of width 4,
 * one unit of 8, 3 classes), 2 crops of 3x16x16 per branch, training mode.
 * Batch norm in training couples every image of the K*B stack, so every
 * difference recomputes the whole scalar loss L = sum(logits * R) for a
 * fixed R; its gradient is backward with dlogits = R.  Every trainable
 * tensor and every input branch is checked: every element of the
 * parameters and every third of the inputs one by one (1), and all of
 * them along paths (2).
 *
 * The network is only piecewise smooth: ReLUs and max pools switch, and
 * with batch norm centring every channel on 0 a step of 1e-3 in a stem
 * weight crosses ReLU kinks more often than not (PyTorch in float64 shows
 * the same: central differences with step 2e-3 disagree with autograd on
 * 82 of the 108 weights of the first conv, with step 1e-6 on none).
 * Float32 cannot take steps small enough to avoid them, hence two checks:
 *
 * 1. Per element, central differences: the analytic derivative must match
 *    the central difference (atol 1e-3 + rtol 2e-2) at a step of 1e-3 or
 *    of 4e-4 where the two one-sided differences agree (same tolerance).
 *    The larger step keeps float32 rounding of the loss (up to ~6e-7 here)
 *    small beside the difference, the smaller one crosses fewer kinks.
 *    Failing both, it must at least lie within the range of the four
 *    one-sided differences (a kink within the step puts the derivatives
 *    of both sides into that range; where the function is smooth the range
 *    is narrow).  Kinked elements may be at most half of any tensor of 32
 *    elements or more.  Two kinks close on the same side can still fool
 *    all four differences: over 8 seeds, both stems, at most 0.12 % of
 *    the elements were, so up to 0.25 % of all elements may fail this check (each one
 *    is printed); more fails the test.  The analytic gradients are computed into buffers
 *    prefilled with 0.25, which also proves that backward adds.  (Checked
 *    against PyTorch in float64 on the same weights: the analytic values
 *    agree to 1.5e-6, so what this check tolerates is the finite
 *    differences' error, not the gradient's.)
 *
 * 2. Per tensor, along a random direction v (uniform in [-1, 1] per
 *    element): the loss difference L(x + hv) - L(x - hv), h = 1e-2,
 *    against the integral of the analytic directional derivative
 *    g(x + tv) . v over t in [-h, h] (trapezoid rule, 64 panels, a forward
 *    and a backward at each point).  A continuous, piecewise smooth
 *    function is the integral of its gradient, kinks or not, so this
 *    covers every tensor's whole gradient, kinked elements included.  The
 *    kinks crossed inside panels are the quadrature's error: measured up
 *    to 3.9 % of the integral of |g . v| over 8 seeds (0.2 % with 1024
 *    panels); the tolerance is 8 %, while a missing or wrong term moves
 *    the integral by far more.
 *
 * Optional argument: "inception" checks the Inception stem instead (K = 2,
 * w = 2, one unit of 8, 11x11 inputs). */
#include "g2c/classifier.h"
#include "g2c/error.h"
#include "g2c/nn.h"
#include "../nn/gradcheck.h"
#include "../testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    G2cClassifier *m;
    G2cParams *p;
    G2cClassifierActs *a;
    float *in[G2C_CLS_MAX_BRANCHES];
    float *din[G2C_CLS_MAX_BRANCHES];
    const float *r;
    int batch;
} Ctx;

static double loss(Ctx *c)
{
    const G2cClassifierConfig *cfg = g2c_classifier_config(c->m);
    const float *logits = g2c_classifier_forward(
        c->m, c->p, (const float *const *)c->in, c->batch, 1, c->a);
    if (!logits) {
        fprintf(stderr, "forward: %s\n", g2c_error_message());
        exit(1);
    }
    return gradcheck_dot(logits, c->r, (size_t)c->batch * cfg->classes);
}

/* Forward and backward; every gradient starts from `base`. */
static double loss_and_grad(Ctx *c, size_t img, float base)
{
    const int k = g2c_classifier_config(c->m)->branches;
    double l = loss(c);
    for (size_t i = 0; i < c->p->total; i++)
        c->p->grad[i] = base;
    for (int b = 0; b < k; b++)
        for (size_t i = 0; i < img; i++)
            c->din[b][i] = base;
    if (g2c_classifier_backward(c->m, c->p, c->a, c->r, c->din) != 0) {
        fprintf(stderr, "backward: %s\n", g2c_error_message());
        exit(1);
    }
    return l;
}

static double loss_at(Ctx *c, float *x, float v)
{
    float saved = *x;
    *x = v;
    double l = loss(c);
    *x = saved;
    return l;
}

static int close_to(double a, double b)
{
    return fabs(a - b) <= 1e-3 + 2e-2 * fmax(fabs(a), fabs(b));
}

/* One-sided differences of the loss at x[i] +- step (the steps actually
 * taken in float); l0 = L(x). */
static void sided(Ctx *c, float *x, double step, double l0, double *dp,
                  double *dm, double *central)
{
    const float x0 = *x, xp = (float)(x0 + step), xm = (float)(x0 - step);
    double lp = loss_at(c, x, xp), lm = loss_at(c, x, xm);
    *dp = (lp - l0) / ((double)xp - x0);
    *dm = (l0 - lm) / ((double)x0 - xm);
    *central = (lp - lm) / ((double)xp - xm);
}

/* Check 1 for every stride-th of the n elements of x against grad - 0.25;
 * l0 = L(x).  Adds the elements checked and those that fail to *checked
 * and *off_total; returns 1 when the tensor is too rough to check. */
static int check_elements(const char *what, float *x, size_t n,
                          size_t stride, const float *grad, double l0,
                          Ctx *c, size_t *checked, size_t *off_total)
{
    const double steps[2] = {1e-3, 4e-4};
    size_t off = 0, kinked = 0, count = 0;
    for (size_t i = 0; i < n; i += stride, count++) {
        const double a = (double)grad[i] - 0.25;
        double d[4], central = 0.0;
        int smooth = 0, ok = 0;
        for (int j = 0; j < 2 && !ok; j++) {
            sided(c, &x[i], steps[j], l0, &d[2 * j], &d[2 * j + 1], &central);
            smooth |= close_to(d[2 * j], d[2 * j + 1]);
            ok = close_to(d[2 * j], d[2 * j + 1]) && close_to(a, central);
        }
        if (ok)
            continue;
        double lo = fmin(fmin(d[0], d[1]), fmin(d[2], d[3]));
        double hi = fmax(fmax(d[0], d[1]), fmax(d[2], d[3]));
        double tol = 1e-3 + 2e-2 * fmax(fabs(a), fmax(fabs(lo), fabs(hi)));
        if (a >= lo - tol && a <= hi + tol) {
            kinked += !smooth || !close_to(lo, hi);
            continue;
        }
        if (off < 5)
            fprintf(stderr, "%s[%zu]: analytic %.7g, one-sided differences "
                    "%.7g %.7g (step %g), %.7g %.7g (step %g)\n", what, i, a,
                    d[0], d[1], steps[0], d[2], d[3], steps[1]);
        off++;
    }
    if (getenv("G2C_TEST_VERBOSE"))
        fprintf(stderr, "%-45s %5zu elements, %4zu with kinks, %zu off\n",
                what, count, kinked, off);
    if (off)
        fprintf(stderr, "%s: %zu of %zu elements off\n", what, off, count);
    *off_total += off;
    *checked += count;
    if (count >= 32 && kinked * 2 > count) {
        fprintf(stderr, "%s: %zu of %zu elements near kinks: too rough to "
                "check\n", what, kinked, count);
        return 1;
    }
    return 0;
}

/* Check 2 for the n elements of x, whose gradient loss_and_grad leaves in
 * grad (without offset). */
static int check_path(const char *what, float *x, size_t n, const float *grad,
                      Ctx *c, size_t img, G2cRng *rng)
{
    enum { PANELS = 64 };
    const double h = 1e-2, w = 2.0 * h / PANELS;
    float *x0 = gradcheck_alloc(n, 0.0f), *v = gradcheck_alloc(n, 0.0f);
    memcpy(x0, x, n * sizeof *x);
    gradcheck_fill(v, n, rng, -1.0f, 1.0f);
    /* integral of g.v, and of |g.v|: the scale of the trapezoid's error */
    double integral = 0.0, variation = 0.0, prev = 0.0, first = 0.0, l = 0.0;
    for (int j = 0; j <= PANELS; j++) {
        double t = h * (2.0 * j / PANELS - 1.0);
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(x0[i] + t * v[i]);
        l = loss_and_grad(c, img, 0.0f);
        double dd = gradcheck_dot(grad, v, n);
        if (j == 0) {
            first = l;
        } else {
            integral += (prev + dd) * 0.5 * w;
            variation += (fabs(prev) + fabs(dd)) * 0.5 * w;
        }
        prev = dd;
    }
    memcpy(x, x0, n * sizeof *x);
    free(x0);
    free(v);
    double diff = l - first, err = fabs(diff - integral);
    if (getenv("G2C_TEST_VERBOSE"))
        fprintf(stderr, "%-45s path: dL %.9g, integral %.9g (%.2f %% of "
                "the variation)\n", what, diff, integral,
                100.0 * err / variation);
    if (!(err <= 1e-6 + 0.08 * variation)) {
        fprintf(stderr, "%s: along the path, dL %.9g but the gradient "
                "integrates to %.9g\n", what, diff, integral);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* Tiny products: a second BLAS thread only adds synchronization. */
    g2c_nn_set_threads(1);
    const int inception = argc > 1 && strcmp(argv[1], "inception") == 0;
    G2cClassifierConfig cfg;
    CHECK_OK(g2c_classifier_config_preset(&cfg, "tiny"));
    if (inception) {
        cfg.branches = 2;
        cfg.stem = G2C_STEM_INCEPTION;
        cfg.stem_width = 2;
        cfg.input_size = 11;
    }
    /* 6 hidden units (3 with the Inception stem) rather than 1, so that
     * some attention ReLUs are active and all its weights get gradients. */
    cfg.reduction = 4;
    const int batch = 2, k = cfg.branches, s = cfg.input_size;
    G2cParams p;
    g2c_params_init(&p);
    G2cClassifier *m = g2c_classifier_build(&cfg, &p, "classifier.");
    if (!m) {
        fprintf(stderr, "%s\n", g2c_error_message());
        return 1;
    }
    CHECK_OK(g2c_params_finalize(&p));
    G2cRng rng;
    g2c_rng_seed(&rng, 4);
    g2c_classifier_init(m, &p, &rng);
    /* BN affine parameters away from 1 and 0, so that their gradients and
     * the paths through them are exercised in general position. */
    for (int i = 0; i < p.count; i++) {
        const G2cTensorInfo *t = &p.tensors[i];
        if (!t->trainable || t->ndim != 1 || !strstr(t->name, ".bn"))
            continue;
        int gamma = strcmp(t->name + strlen(t->name) - 6, "weight") == 0;
        gradcheck_fill(g2c_params_value(&p, i), t->numel, &rng,
                       gamma ? 0.5f : -0.3f, gamma ? 1.5f : 0.3f);
    }
    int fc1b = g2c_params_find(&p, "classifier.units.0.attention.fc1.bias");
    gradcheck_fill(g2c_params_value(&p, fc1b), p.tensors[fc1b].numel, &rng,
                   0.1f, 0.5f);
    Ctx c = {m, &p, g2c_classifier_acts_new(m, batch), {NULL}, {NULL}, NULL,
             batch};
    CHECK(c.a != NULL);
    const size_t img = (size_t)batch * 3 * s * s;
    for (int i = 0; i < k; i++) {
        c.in[i] = gradcheck_alloc(img, 0.0f);
        gradcheck_fill(c.in[i], img, &rng, -1.0f, 1.0f);
        c.din[i] = gradcheck_alloc(img, 0.0f);
    }
    float *r = gradcheck_alloc((size_t)batch * cfg.classes, 0.0f);
    gradcheck_fill(r, (size_t)batch * cfg.classes, &rng, -1.0f, 1.0f);
    c.r = r;

    /* 1: per element, gradients prefilled with 0.25. */
    const double l0 = loss_and_grad(&c, img, 0.25f);
    float *grad = gradcheck_alloc(p.total, 0.0f), *din[G2C_CLS_MAX_BRANCHES];
    memcpy(grad, p.grad, p.total * sizeof *grad);
    for (int i = 0; i < k; i++) {
        din[i] = gradcheck_alloc(img, 0.0f);
        memcpy(din[i], c.din[i], img * sizeof(float));
    }
    int bad = 0;
    size_t off = 0, checked = 0;
    for (int i = 0; i < p.count; i++)
        if (p.tensors[i].trainable)
            bad += check_elements(p.tensors[i].name, g2c_params_value(&p, i),
                                  p.tensors[i].numel, 1,
                                  grad + p.tensors[i].offset, l0, &c,
                                  &checked, &off);
    /* Every third input element (W = 16 or 11 is no multiple of 3: every
     * column, row and channel is visited); the paths below take all. */
    for (int i = 0; i < k; i++) {
        char what[32];
        snprintf(what, sizeof what, "input[%d]", i);
        bad += check_elements(what, c.in[i], img, 3, din[i], l0, &c,
                              &checked, &off);
    }
    if (off * 400 > checked) {
        fprintf(stderr, "%zu of %zu elements off (more than 0.25 %%)\n", off,
                checked);
        bad++;
    }
    /* 2: per tensor, along paths. */
    for (int i = 0; i < p.count; i++)
        if (p.tensors[i].trainable)
            bad += check_path(p.tensors[i].name, g2c_params_value(&p, i),
                              p.tensors[i].numel, g2c_params_gradient(&p, i),
                              &c, img, &rng);
    for (int i = 0; i < k; i++) {
        char what[32];
        snprintf(what, sizeof what, "input[%d]", i);
        bad += check_path(what, c.in[i], img, c.din[i], &c, img, &rng);
    }
    CHECK(bad == 0);

    for (int i = 0; i < k; i++) {
        free(c.in[i]);
        free(c.din[i]);
        free(din[i]);
    }
    free(grad);
    free(r);
    g2c_classifier_acts_free(c.a);
    g2c_classifier_free(m);
    g2c_params_free(&p);
    return g2c_test_finish(inception ? "classifier-grad inception"
                                     : "classifier-grad");
}
