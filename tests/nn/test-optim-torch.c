/* SGD and Adam trajectories and the learning-rate schedules against
 * PyTorch 1.13 (fixture written by tools/torchref/optim.py). */
#include "g2c/error.h"
#include "g2c/nn.h"
#include "testutil.h"

#include <math.h>
#include <string.h>

enum { MAX_TENSORS = 8 };

static G2cSafetensors *fx;
static char names[MAX_TENSORS][G2C_MAX_NAME];
static int n_names;
static double worst; /* largest relative difference seen */

static const float *fixture(const char *fmt, int k, const char *name,
                            size_t *numel)
{
    char key[2048];
    if (k >= 0)
        snprintf(key, sizeof key, fmt, k, name);
    else
        snprintf(key, sizeof key, fmt, name);
    int ndim = 0;
    int64_t shape[G2C_MAX_DIMS];
    const float *v = g2c_safetensors_get(fx, key, &ndim, shape);
    if (!v) {
        fprintf(stderr, "fixture: %s\n", g2c_error_message());
        exit(1);
    }
    if (numel) {
        *numel = 1;
        for (int d = 0; d < ndim; d++)
            *numel *= (size_t)shape[d];
    }
    return v;
}

static double meta_number(const char *key)
{
    const char *s = g2c_safetensors_meta(fx, key);
    if (!s) {
        fprintf(stderr, "fixture: no metadata %s\n", key);
        exit(1);
    }
    return strtod(s, NULL);
}

/* Relative 1e-6, with an absolute floor for values that pass near zero. */
static int inexact;

static int close_rel(float got, float want)
{
    if (got != want) {
        inexact++;
        if (getenv("G2C_TEST_VERBOSE"))
            fprintf(stderr, "inexact: %.9g vs %.9g\n", got, want);
    }
    double d = fabs((double)got - (double)want);
    double scale = fabs((double)want) > 1e-3 ? fabs((double)want) : 1e-3;
    if (d / scale > worst) {
        worst = d / scale;
        if (getenv("G2C_TEST_VERBOSE"))
            fprintf(stderr, "worst so far: %.9g vs %.9g\n", got, want);
    }
    return d <= 1e-6 * scale;
}

static int compare(const char *what, const float *got, const float *want,
                   size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!close_rel(got[i], want[i])) {
            fprintf(stderr, "%s[%zu]: g2c %.9g, torch %.9g\n", what, i,
                    (double)got[i], (double)want[i]);
            g2c_test_failures++;
            return -1;
        }
    }
    return 0;
}

static void load_names(void)
{
    const char *list = g2c_safetensors_meta(fx, "names");
    CHECK(list != NULL);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list ? list : "");
    for (char *tok = strtok(buf, ","); tok && n_names < MAX_TENSORS;
         tok = strtok(NULL, ","))
        snprintf(names[n_names++], G2C_MAX_NAME, "%s", tok);
    CHECK(n_names == 4);
}

/* The model's tensors with their initial values, plus a buffer that the
 * optimizers must leave alone. */
static void build_params(G2cParams *p)
{
    g2c_params_init(p);
    for (int i = 0; i < n_names; i++) {
        char key[2048];
        snprintf(key, sizeof key, "init.%.127s", names[i]);
        int ndim;
        int64_t shape[G2C_MAX_DIMS];
        CHECK(g2c_safetensors_get(fx, key, &ndim, shape) != NULL);
        CHECK(g2c_params_add(p, names[i], ndim, shape, 1) == i);
    }
    int64_t four = 4;
    CHECK(g2c_params_add(p, "model.2.running_mean", 1, &four, 0) >= 0);
    CHECK_OK(g2c_params_finalize(p));
    for (int i = 0; i < n_names; i++) {
        size_t n;
        const float *v = fixture("init.%s", -1, names[i], &n);
        CHECK(n == p->tensors[i].numel);
        memcpy(g2c_params_value(p, i), v, n * sizeof(float));
    }
    float *rm = g2c_params_value(p, g2c_params_find(p, "model.2.running_mean"));
    for (int i = 0; i < 4; i++)
        rm[i] = 0.25f * (float)i;
}

static void give_gradients(G2cParams *p, int k)
{
    g2c_params_zero_grad(p);
    for (int i = 0; i < n_names; i++) {
        float *g = g2c_params_gradient(p, i);
        if (!g)
            continue; /* frozen: torch gets grad None */
        size_t n;
        const float *src = fixture("grad.%d.%s", k, names[i], &n);
        memcpy(g, src, n * sizeof(float));
    }
}

static int is_frozen_step(int k)
{
    const char *list = g2c_safetensors_meta(fx, "frozen_steps");
    char buf[64];
    snprintf(buf, sizeof buf, "%s", list ? list : "");
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","))
        if (atoi(tok) == k)
            return 1;
    return 0;
}

static void run(const char *label, G2cOptConfig cfg, int with_freeze)
{
    G2cParams p;
    G2cOptimizer o;
    build_params(&p);
    CHECK_OK(g2c_optim_init(&o, &p, cfg));
    int steps = (int)meta_number("steps");
    const float *lrs = fixture("%s", -1, "lr", NULL);
    const char *frozen = g2c_safetensors_meta(fx, "frozen");
    for (int k = 0; k < steps; k++) {
        int freeze = with_freeze && is_frozen_step(k);
        if (freeze)
            CHECK(g2c_params_set_frozen(&p, frozen, 1) == 1);
        give_gradients(&p, k);
        g2c_optim_step(&o, lrs[k]);
        if (freeze)
            g2c_params_set_frozen(&p, frozen, 0);
        for (int i = 0; i < n_names; i++) {
            char what[2048], fmt[64];
            snprintf(what, sizeof what, "%s step %d %.127s", label, k,
                     names[i]);
            snprintf(fmt, sizeof fmt, "%s.%%d.%%s", label);
            size_t n;
            const float *want = fixture(fmt, k, names[i], &n);
            compare(what, g2c_params_value(&p, i), want, n);
        }
    }
    CHECK(o.step == steps);
    const float *rm =
        g2c_params_value(&p, g2c_params_find(&p, "model.2.running_mean"));
    CHECK(rm[3] == 0.75f);

    /* Optimizer state after the last step (torch's momentum_buffer,
     * exp_avg, exp_avg_sq). */
    for (int i = 0; i < n_names && !with_freeze; i++) {
        size_t n, off = p.tensors[i].offset;
        char what[2048];
        snprintf(what, sizeof what, "%s state m %s", label, names[i]);
        if (cfg.kind == G2C_OPT_SGD) {
            const float *want = fixture("sgd.state.%s", -1, names[i], &n);
            compare(what, o.m + off, want, n);
        } else {
            const float *want = fixture("adam.m.%s", -1, names[i], &n);
            compare(what, o.m + off, want, n);
            snprintf(what, sizeof what, "%s state v %s", label, names[i]);
            want = fixture("adam.v.%s", -1, names[i], &n);
            compare(what, o.v + off, want, n);
        }
    }
    g2c_optim_free(&o);
    g2c_params_free(&p);
}

static void check_schedules(void)
{
    float base = (float)meta_number("sched.base");
    int every = (int)meta_number("sched.step_every");
    float divisor = (float)meta_number("sched.step_divisor");
    int n_const = (int)meta_number("sched.n_const");
    int n_decay = (int)meta_number("sched.n_decay");
    size_t n;
    const float *step = fixture("%s", -1, "sched.step", &n);
    CHECK(n == (size_t)(n_const + n_decay + 1));
    for (int e = 0; e < (int)n; e++) {
        float got = g2c_lr_step(base, e, every, divisor);
        CHECK(close_rel(got, step[e]));
        double formula = base / pow(divisor, e / every);
        CHECK_CLOSE(got, formula, 1e-6 * formula);
    }
    const float *lin = fixture("%s", -1, "sched.linear", &n);
    for (int e = 0; e < (int)n; e++) {
        float got = g2c_lr_linear_decay(base, e, n_const, n_decay);
        if (!close_rel(got, lin[e]) && fabsf(got - lin[e]) > 1e-12f) {
            fprintf(stderr, "linear epoch %d: g2c %g torch %g\n", e,
                    (double)got, (double)lin[e]);
            g2c_test_failures++;
        }
        /* The brief's 1-based form: base * (1 - max(0, e1 - n_const) /
         * (n_decay + 1)) with e1 = e + 1. */
        int over = e + 1 - n_const > 0 ? e + 1 - n_const : 0;
        double formula = base * (1.0 - over / (double)(n_decay + 1));
        CHECK_CLOSE(got, formula, 1e-6 * formula);
    }
    /* Past the end of training the lr stays at 0 instead of going negative. */
    CHECK(g2c_lr_linear_decay(base, n_const + n_decay + 5, n_const, n_decay) ==
          0.0f);
    CHECK(g2c_lr_linear_decay(2e-4f, 0, 100, 100) == 2e-4f);
    CHECK(g2c_lr_linear_decay(2e-4f, 99, 100, 100) == 2e-4f);
    CHECK_CLOSE(g2c_lr_linear_decay(2e-4f, 100, 100, 100), 2e-4 * 100 / 101,
                1e-10);
    CHECK_CLOSE(g2c_lr_linear_decay(2e-4f, 199, 100, 100), 2e-4 / 101, 1e-10);
    CHECK(g2c_lr_linear_decay(2e-4f, 200, 100, 100) == 0.0f);
    CHECK_CLOSE(g2c_lr_step(1e-3f, 59, 30, 10), 1e-4, 1e-10);
    CHECK_CLOSE(g2c_lr_step(1e-3f, 60, 30, 10), 1e-5, 1e-11);
}

int main(void)
{
    const char *path = g2c_test_source_path("tests/fixtures/torch/optim.safetensors");
    fx = g2c_safetensors_open(path);
    if (!fx) {
        fprintf(stderr, "%s\n", g2c_error_message());
        return 1;
    }
    load_names();

    G2cOptConfig sgd = {.kind = G2C_OPT_SGD};
    sgd.momentum = (float)meta_number("sgd.momentum");
    sgd.weight_decay = (float)meta_number("sgd.weight_decay");
    G2cOptConfig adam = {.kind = G2C_OPT_ADAM};
    adam.beta1 = (float)meta_number("adam.beta1");
    adam.beta2 = (float)meta_number("adam.beta2");
    adam.eps = (float)meta_number("adam.eps");
    adam.weight_decay = (float)meta_number("adam.weight_decay");

    run("sgd", sgd, 0);
    fprintf(stderr, "sgd: %d values not bit-identical\n", inexact);
    run("adam", adam, 0);
    fprintf(stderr, "+adam: %d values not bit-identical\n", inexact);
    run("sgdfreeze", sgd, 1);
    check_schedules();
    fprintf(stderr, "largest relative difference from torch: %.3g (%d values "
            "not bit-identical)\n", worst, inexact);

    g2c_safetensors_close(fx);
    return g2c_test_finish("optim-torch");
}
