/* One whole CycleGAN step against PyTorch: tests/fixtures/torch/
 * cyclegan-step.safetensors (tools/torchref/cyclegan.py) holds the initial
 * weights of G_A, G_B, D_A, D_B under their state_dict names, two input
 * images, and the losses, images, gradients and weights after one
 * optimize_parameters() computed by PyTorch in float64.
 *
 * The weights are loaded by name with g2c_checkpoint_load (the naming
 * test), the step runs with g2c_cyclegan_step, and everything is compared:
 *  - losses: |err| <= 1e-5 * max(1, |want|);
 *  - images: |err| <= 1e-5 (tanh outputs in [-1, 1]);
 *  - gradients, per tensor: |err| <= 2e-5 * max|want| over the tensor's
 *    network (G_A, ...); measured: 1e-6 to 2e-6 of it.  Conv biases in
 *    front of an instance norm have a gradient of exactly 0 in exact
 *    arithmetic (the norm removes any constant); PyTorch's float64 gives
 *    ~1e-15, float32 ~1e-7, both far below this bound;
 *  - weights after Adam: its first step moves each weight by
 *    lr * g / (|g| + eps), i.e. by ~lr in the direction of -sign(g).  Where
 *    |g_torch| is above a floor of twice the gradient tolerance (so a
 *    gradient that passed has PyTorch's sign) the weight must match to
 *    1e-6 (a wrong sign is off by 2 lr = 4e-4); below the floor (the
 *    biases above, whose sign is rounding noise, and a handful of weights)
 *    the test only checks that both moved by at most lr.
 * Then the g2c checkpoints are read back by PyTorch (load_state_dict,
 * strict) when /usr/bin/python3 has torch. */
#include "g2c/error.h"
#include "g2c/models.h"
#include "g2c/nn.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Gradient tolerance, relative to the network's largest gradient. */
static const double GRAD_TOL = 2e-5;

static G2cSafetensors *st;
static const char *fixture_path;
static int verbose;

static const float *fixture(const char *name, size_t numel)
{
    int ndim;
    int64_t shape[G2C_MAX_DIMS];
    const float *t = g2c_safetensors_get(st, name, &ndim, shape);
    if (!t) {
        fprintf(stderr, "%s: tensor %s missing\n", fixture_path, name);
        g2c_test_failures++;
        return NULL;
    }
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    if (n != numel) {
        fprintf(stderr, "%s: %zu elements, expected %zu\n", name, n, numel);
        g2c_test_failures++;
        return NULL;
    }
    return t;
}

static double meta(const char *key)
{
    const char *v = g2c_safetensors_meta(st, key);
    if (!v) {
        fprintf(stderr, "%s: metadata %s missing\n", fixture_path, key);
        exit(1);
    }
    return atof(v);
}

static G2cCycleGanConfig config_from_fixture(void)
{
    G2cCycleGanConfig c = g2c_cyclegan_default_config();
    c.gen.ngf = (int)meta("ngf");
    c.gen.n_blocks = (int)meta("n_blocks");
    c.disc.ndf = (int)meta("ndf");
    c.disc.n_layers = (int)meta("n_layers");
    c.height = c.width = (int)meta("size");
    c.batch = 1;
    c.lambda_A = (float)meta("lambda_A");
    c.lambda_B = (float)meta("lambda_B");
    c.lambda_idt = (float)meta("lambda_idt");
    c.beta1 = (float)meta("beta1");
    c.beta2 = (float)meta("beta2");
    c.pool_size = 0; /* the reference shows D the newest fakes */
    return c;
}

/* ---- naming: PyTorch's weights load into g2c's tensors by name ------- */

static void load_by_name(G2cParams *p, const char *count_key)
{
    for (size_t i = 0; i < p->total; i++)
        p->data[i] = NAN;
    /* Not strict: the file also holds images, gradients and results. */
    CHECK_OK(g2c_checkpoint_load(fixture_path, p, NULL, 0));
    for (int k = 0; k < p->count; k++) {
        const float *v = g2c_params_value(p, k);
        size_t nan = 0;
        for (size_t i = 0; i < p->tensors[k].numel; i++)
            nan += isnan(v[i]) != 0;
        if (nan) {
            fprintf(stderr, "%s: not in the fixture\n", p->tensors[k].name);
            g2c_test_failures++;
        }
    }
    /* ... and the fixture has no weight that g2c lacks. */
    CHECK((int)meta(count_key) == p->count);
}

/* ---- comparisons --------------------------------------------------------- */

static void compare_losses(const G2cCycleGanLosses *L)
{
    const struct {
        const char *name;
        float got;
    } terms[] = {{"loss.G_A", L->G_A},       {"loss.G_B", L->G_B},
                 {"loss.cycle_A", L->cycle_A}, {"loss.cycle_B", L->cycle_B},
                 {"loss.idt_A", L->idt_A},   {"loss.idt_B", L->idt_B},
                 {"loss.G", L->G},           {"loss.D_A", L->D_A},
                 {"loss.D_B", L->D_B}};
    for (size_t i = 0; i < sizeof terms / sizeof terms[0]; i++) {
        const float *want = fixture(terms[i].name, 1);
        if (!want)
            continue;
        double err = fabs((double)terms[i].got - want[0]);
        if (verbose)
            fprintf(stderr, "%-14s g2c %.7f torch %.7f err %.2g\n",
                    terms[i].name, terms[i].got, want[0], err);
        if (!(err <= 1e-5 * fmax(1.0, fabs(want[0])))) {
            fprintf(stderr, "%s: g2c %.7g, PyTorch %.7g\n", terms[i].name,
                    terms[i].got, want[0]);
            g2c_test_failures++;
        }
    }
}

static void compare_images(const G2cCycleGan *cg)
{
    const struct {
        const char *name;
        const float *got;
    } images[] = {{"fake_B", cg->fake_B}, {"rec_A", cg->rec_A},
                  {"fake_A", cg->fake_A}, {"rec_B", cg->rec_B},
                  {"idt_A", cg->idt_A},   {"idt_B", cg->idt_B}};
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++) {
        const float *want = fixture(images[i].name, cg->image_n);
        if (!want)
            continue;
        double worst = 0.0;
        for (size_t j = 0; j < cg->image_n; j++)
            worst = fmax(worst, fabs((double)images[i].got[j] - want[j]));
        if (verbose)
            fprintf(stderr, "%-14s max |err| %.2g\n", images[i].name, worst);
        if (!(worst <= 1e-5)) {
            fprintf(stderr, "%s: max |err| %.3g > 1e-5\n", images[i].name,
                    worst);
            g2c_test_failures++;
        }
    }
}

static const float *fixture_of(const char *prefix, const G2cTensorInfo *t)
{
    char key[G2C_MAX_NAME + 16];
    snprintf(key, sizeof key, "%s%s", prefix, t->name);
    return fixture(key, t->numel);
}

/* max |torch gradient| over the network ("G_A.") that tensor k is in. */
static double network_grad_scale(const G2cParams *p, int k)
{
    double scale = 0.0;
    for (int j = 0; j < p->count; j++) {
        if (strncmp(p->tensors[j].name, p->tensors[k].name, 4) != 0)
            continue;
        const float *g = fixture_of("grad.", &p->tensors[j]);
        for (size_t i = 0; g && i < p->tensors[j].numel; i++)
            scale = fmax(scale, fabs(g[i]));
    }
    return scale;
}

static void compare_gradients(const G2cParams *p)
{
    for (int k = 0; k < p->count; k++) {
        const G2cTensorInfo *t = &p->tensors[k];
        const float *want = fixture_of("grad.", t);
        if (!want)
            continue;
        const float *got = p->grad + t->offset;
        double worst = 0.0, bound = GRAD_TOL * network_grad_scale(p, k);
        for (size_t i = 0; i < t->numel; i++)
            worst = fmax(worst, fabs((double)got[i] - want[i]));
        if (verbose)
            fprintf(stderr, "grad %-34s max |err| %.2g (bound %.2g)\n",
                    t->name, worst, bound);
        if (!(worst <= bound)) {
            fprintf(stderr, "gradient of %s: max |err| %.3g > %.3g\n",
                    t->name, worst, bound);
            g2c_test_failures++;
        }
    }
}

/* before: the weights loaded from the fixture, in p's layout. */
static void compare_weights(const G2cParams *p, const float *before,
                            double lr)
{
    int below_floor = 0;
    for (int k = 0; k < p->count; k++) {
        const G2cTensorInfo *t = &p->tensors[k];
        const float *want = fixture_of("after.", t);
        const float *g = fixture_of("grad.", t);
        if (!want || !g)
            continue;
        const float *got = p->data + t->offset, *w0 = before + t->offset;
        double floor = 2 * GRAD_TOL * network_grad_scale(p, k);
        int bad = 0;
        for (size_t i = 0; i < t->numel; i++) {
            double err = fabs((double)got[i] - want[i]);
            int ok;
            if (fabs(g[i]) >= floor) {
                ok = err <= 1e-6;
            } else {
                below_floor++;
                ok = fabs((double)got[i] - w0[i]) <= lr * 1.001 &&
                     fabs((double)want[i] - w0[i]) <= lr * 1.001;
            }
            if (!ok && bad++ < 3)
                fprintf(stderr,
                        "%s[%zu]: after the step g2c %.8g, PyTorch %.8g "
                        "(before %.8g, torch gradient %.3g)\n",
                        t->name, i, got[i], want[i], w0[i], g[i]);
        }
        if (bad) {
            fprintf(stderr, "%s: %d weights differ after the step\n",
                    t->name, bad);
            g2c_test_failures++;
        }
    }
    if (verbose)
        fprintf(stderr, "%d weights below the gradient floor\n",
                below_floor);
}

/* ---- g2c -> PyTorch -------------------------------------------------------- */

static int have_torch(void)
{
    struct stat sb;
    if (stat("/usr/bin/python3", &sb) != 0)
        return 0;
    /* find_spec, not import: importing torch takes seconds. */
    return g2c_test_system("/usr/bin/python3 -c 'import importlib.util, sys; "
                           "sys.exit(not importlib.util.find_spec(\"torch\"))'"
                           " >/dev/null 2>&1") == 0;
}

static void torch_reads_checkpoints(G2cCycleGan *cg)
{
    if (!have_torch()) {
        fprintf(stderr, "note: /usr/bin/python3 has no torch; the "
                        "PyTorch side of the naming check is skipped\n");
        return;
    }
    char gen[4200], disc[4200], v[4][16];
    snprintf(gen, sizeof gen, "%s/gen.safetensors", g2c_test_tmpdir());
    snprintf(disc, sizeof disc, "%s/disc.safetensors", g2c_test_tmpdir());
    snprintf(v[0], sizeof v[0], "%d", cg->cfg.gen.ngf);
    snprintf(v[1], sizeof v[1], "%d", cg->cfg.gen.n_blocks);
    snprintf(v[2], sizeof v[2], "%d", cg->cfg.disc.ndf);
    snprintf(v[3], sizeof v[3], "%d", cg->cfg.disc.n_layers);
    const char *keys[4] = {"ngf", "n_blocks", "ndf", "n_layers"};
    const char *values[4] = {v[0], v[1], v[2], v[3]};
    CHECK_OK(g2c_checkpoint_save(gen, &cg->gen, &cg->opt_G, 4, keys, values));
    CHECK_OK(g2c_checkpoint_save(disc, &cg->disc, &cg->opt_D, 4, keys,
                                 values));
    CHECK(g2c_test_system("/usr/bin/python3 %s --check %s %s >&2",
                          g2c_test_source_path("tools/torchref/cyclegan.py"),
                          gen, disc) == 0);
    g2c_test_system("rm -rf %s", g2c_test_tmpdir());
}

int main(void)
{
    verbose = getenv("G2C_TEST_VERBOSE") != NULL;
    fixture_path =
        g2c_test_source_path("tests/fixtures/torch/cyclegan-step.safetensors");
    st = g2c_safetensors_open(fixture_path);
    if (!st) {
        fprintf(stderr, "%s\n", g2c_error_message());
        return 1;
    }
    G2cCycleGanConfig cfg = config_from_fixture();
    G2cCycleGan cg;
    CHECK_OK(g2c_cyclegan_init(&cg, &cfg));
    load_by_name(&cg.gen, "tensors.gen");
    load_by_name(&cg.disc, "tensors.disc");
    float *gen0 = malloc(cg.gen.total * sizeof(float));
    float *disc0 = malloc(cg.disc.total * sizeof(float));
    memcpy(gen0, cg.gen.data, cg.gen.total * sizeof(float));
    memcpy(disc0, cg.disc.data, cg.disc.total * sizeof(float));

    const float *real_A = fixture("real_A", cg.image_n);
    const float *real_B = fixture("real_B", cg.image_n);
    const double lr = meta("lr");
    G2cCycleGanLosses L;
    if (real_A && real_B &&
        g2c_test_failures == 0) { /* a step on NaN weights says nothing */
        CHECK_OK(g2c_cyclegan_step(&cg, real_A, real_B, (float)lr, &L));
        compare_losses(&L);
        compare_images(&cg);
        compare_gradients(&cg.gen);
        compare_gradients(&cg.disc);
        compare_weights(&cg.gen, gen0, lr);
        compare_weights(&cg.disc, disc0, lr);
        torch_reads_checkpoints(&cg);
    }
    free(gen0);
    free(disc0);
    g2c_cyclegan_free(&cg);
    g2c_safetensors_close(st);
    return g2c_test_finish("cyclegan-step");
}
