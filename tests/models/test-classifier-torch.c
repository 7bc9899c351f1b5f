/* The G2C classifier against PyTorch 1.13: tests/fixtures/torch/
 * classifier.safetensors (written by tools/torchref/classifier.py) holds,
 * per case, the weights, the inputs of every branch, the logits, the loss,
 * its gradient with respect to every parameter and every input branch,
 * and the buffers after the forward.  The case names are the arguments
 * (meson runs the light-stem cases and the Inception case as two tests).
 *
 * Tolerances, |got - want| <= atol * max|want| + rtol * |want| per tensor
 * (scaled by the tensor's largest magnitude: sums of many products of
 * mixed signs lose digits relative to the tensor, not to each element):
 *   logits and loss:                 atol 1e-5, rtol 1e-4
 *   parameter and input gradients:   atol 1e-4, rtol 1e-3
 *   running mean / var after:        atol 1e-5, rtol 1e-5
 *   num_batches_tracked:             exact
 * G2C_TEST_VERBOSE=1 prints the measured agreement of every tensor. */
#include "g2c/classifier.h"
#include "g2c/error.h"
#include "g2c/nn.h"
#include "../testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static G2cSafetensors *st;

static const float *get(const char *key, size_t numel)
{
    int ndim;
    int64_t shape[G2C_MAX_DIMS];
    const float *t = g2c_safetensors_get(st, key, &ndim, shape);
    if (!t) {
        fprintf(stderr, "fixture: %s: %s\n", key, g2c_error_message());
        g2c_test_failures++;
        return NULL;
    }
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    if (numel && n != numel) {
        fprintf(stderr, "fixture: %s: %zu elements, expected %zu\n", key, n,
                numel);
        g2c_test_failures++;
        return NULL;
    }
    return t;
}

static void compare(const char *key, const float *got, size_t n, double atol,
                    double rtol)
{
    const float *want = get(key, n);
    if (!want)
        return;
    double scale = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want[i]));
    size_t bad = 0, wi = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        if (!(err <= atol * scale + rtol * fabs(want[i])))
            bad++;
        if (!(err <= worst)) {
            worst = err;
            wi = i;
        }
    }
    if (getenv("G2C_TEST_VERBOSE"))
        fprintf(stderr, "%-50s max|err| %.3g (max|want| %.3g)\n", key, worst,
                scale);
    if (bad) {
        fprintf(stderr, "%s: %zu of %zu elements off; worst [%zu] got %.9g "
                "want %.9g\n", key, bad, n, wi, got[wi], want[wi]);
        g2c_test_failures++;
    }
}

typedef struct {
    G2cClassifierConfig cfg;
    int batch, training, focal;
    float gamma;
} Case;

/* "K attention size stem stem_width classes batch training loss gamma
 *  reduction units w0 w1 ..." as tools/torchref/classifier.py writes it. */
static int parse_case(const char *name, Case *c)
{
    const char *s = g2c_safetensors_meta(st, name);
    if (!s) {
        fprintf(stderr, "fixture: no case %s\n", name);
        return -1;
    }
    int v[12 + G2C_CLS_MAX_UNITS], n = 0;
    char *end;
    while (n < 12 + G2C_CLS_MAX_UNITS) {
        long x = strtol(s, &end, 10);
        if (end == s)
            break;
        v[n++] = (int)x;
        s = end;
    }
    if (n < 12 || n != 12 + v[11]) {
        fprintf(stderr, "fixture: case %s: bad description\n", name);
        return -1;
    }
    g2c_classifier_config_preset(&c->cfg, "tiny");
    c->cfg.branches = v[0];
    c->cfg.attention = v[1];
    c->cfg.input_size = v[2];
    c->cfg.stem = v[3] ? G2C_STEM_INCEPTION : G2C_STEM_LIGHT;
    c->cfg.stem_width = v[4];
    c->cfg.classes = v[5];
    c->batch = v[6];
    c->training = v[7];
    c->focal = v[8];
    c->gamma = (float)v[9];
    c->cfg.reduction = v[10];
    c->cfg.units = v[11];
    for (int i = 0; i < v[11]; i++)
        c->cfg.widths[i] = v[12 + i];
    return 0;
}

/* Every tensor of the model from the fixture, by its (prefixed) name. */
static int load_weights(const char *name, G2cParams *p)
{
    char key[256];
    snprintf(key, sizeof key, "%s.n_state", name);
    const char *n_state = g2c_safetensors_meta(st, key);
    if (!n_state || atoi(n_state) != p->count) {
        fprintf(stderr, "%s: model has %d tensors, the PyTorch module %s\n",
                name, p->count, n_state ? n_state : "?");
        g2c_test_failures++;
        return -1;
    }
    for (int i = 0; i < p->count; i++) {
        const float *t = get(p->tensors[i].name, p->tensors[i].numel);
        if (!t)
            return -1;
        memcpy(g2c_params_value(p, i), t, p->tensors[i].numel * sizeof *t);
    }
    return 0;
}

static void run_case(const char *name)
{
    Case c;
    if (parse_case(name, &c) != 0) {
        g2c_test_failures++;
        return;
    }
    char prefix[64], key[256];
    snprintf(prefix, sizeof prefix, "%s.", name);
    const size_t plen = strlen(prefix);
    G2cParams p;
    g2c_params_init(&p);
    G2cClassifier *m = g2c_classifier_build(&c.cfg, &p, prefix);
    CHECK(m != NULL);
    if (!m) {
        fprintf(stderr, "%s\n", g2c_error_message());
        g2c_params_free(&p);
        return;
    }
    CHECK_OK(g2c_params_finalize(&p));
    const int k = c.cfg.branches, s = c.cfg.input_size, nc = c.cfg.classes;
    const size_t img = (size_t)c.batch * 3 * s * s;
    const float *in[G2C_CLS_MAX_BRANCHES];
    float *din[G2C_CLS_MAX_BRANCHES] = {NULL}, *dlogits = NULL;
    G2cClassifierActs *a = g2c_classifier_acts_new(m, c.batch);
    if (load_weights(name, &p) != 0 || !a)
        goto done;
    for (int i = 0; i < k; i++) {
        snprintf(key, sizeof key, "%s.input.%d", name, i);
        in[i] = get(key, img);
        din[i] = calloc(img, sizeof(float));
        if (!in[i] || !din[i])
            exit(1);
    }
    snprintf(key, sizeof key, "%s.labels", name);
    const float *lf = get(key, (size_t)c.batch);
    int labels[64];
    for (int i = 0; i < c.batch && lf; i++)
        labels[i] = (int)lf[i];

    const float *logits = g2c_classifier_forward(m, &p, in, c.batch,
                                                 c.training, a);
    CHECK(logits != NULL);
    if (!logits || !lf)
        goto done;
    snprintf(key, sizeof key, "%s.logits", name);
    compare(key, logits, (size_t)c.batch * nc, 1e-5, 1e-4);
    dlogits = calloc((size_t)c.batch * nc, sizeof(float));
    float loss;
    if (c.focal) {
        snprintf(key, sizeof key, "%s.alpha", name);
        loss = g2c_focal_loss(c.batch, nc, logits, labels, get(key, nc),
                              c.gamma, dlogits, 1.0f);
    } else {
        loss = g2c_softmax_ce_loss(c.batch, nc, logits, labels, NULL,
                                   dlogits, 1.0f);
    }
    snprintf(key, sizeof key, "%s.loss", name);
    compare(key, &loss, 1, 1e-5, 1e-4);

    g2c_params_zero_grad(&p);
    CHECK_OK(g2c_classifier_backward(m, &p, a, dlogits, din));
    for (int i = 0; i < p.count; i++) {
        const G2cTensorInfo *t = &p.tensors[i];
        const char *suffix = t->name + plen;
        if (t->trainable) {
            snprintf(key, sizeof key, "%s.grad.%s", name, suffix);
            compare(key, g2c_params_gradient(&p, i), t->numel, 1e-4, 1e-3);
        } else {
            snprintf(key, sizeof key, "%s.after.%s", name, suffix);
            int exact = strstr(suffix, "num_batches_tracked") != NULL;
            compare(key, g2c_params_value(&p, i), t->numel,
                    exact ? 0.0 : 1e-5, exact ? 0.0 : 1e-5);
        }
    }
    for (int i = 0; i < k; i++) {
        snprintf(key, sizeof key, "%s.dinput.%d", name, i);
        compare(key, din[i], img, 1e-4, 1e-3);
    }
done:
    for (int i = 0; i < k; i++)
        free(din[i]);
    free(dlogits);
    g2c_classifier_acts_free(a);
    g2c_classifier_free(m);
    g2c_params_free(&p);
}

int main(int argc, char **argv)
{
    const char *path =
        g2c_test_source_path("tests/fixtures/torch/classifier.safetensors");
    st = g2c_safetensors_open(path);
    if (!st) {
        fprintf(stderr, "%s\n", g2c_error_message());
        return 1;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: test-classifier-torch CASE...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++)
        run_case(argv[i]);
    g2c_safetensors_close(st);
    return g2c_test_finish("classifier-torch");
}
