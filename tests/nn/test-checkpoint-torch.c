/* PyTorch interop both ways.  torch -> g2c: the state_dict of a small
 * nn.Sequential (tests/fixtures/torch/interop.safetensors, written by
 * tools/torchref/interop.py) loads strictly into G2cParams registered under
 * the same names.  g2c -> torch: a checkpoint written here is loaded by
 * `interop.py --check` with module.load_state_dict(strict=True), when
 * /usr/bin/python3 has torch (CI has not: that part is skipped with a
 * message). */
#include "g2c/error.h"
#include "g2c/nn.h"
#include "testutil.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    const char *name;
    int ndim;
    int64_t shape[4];
    int trainable;
} Spec;

/* The module of interop.py in state_dict order: Conv2d(3,4,3) = model.0,
 * InstanceNorm2d(4, affine) = model.1, BatchNorm2d(4) = model.2,
 * Linear(4,2) = model.6. */
static const Spec specs[] = {
    {"model.0.weight", 4, {4, 3, 3, 3}, 1},
    {"model.0.bias", 1, {4}, 1},
    {"model.1.weight", 1, {4}, 1},
    {"model.1.bias", 1, {4}, 1},
    {"model.2.weight", 1, {4}, 1},
    {"model.2.bias", 1, {4}, 1},
    {"model.2.running_mean", 1, {4}, 0},
    {"model.2.running_var", 1, {4}, 0},
    {"model.2.num_batches_tracked", 0, {0}, 0},
    {"model.6.weight", 2, {2, 4}, 1},
    {"model.6.bias", 1, {2}, 1},
};
enum { N_SPECS = sizeof specs / sizeof specs[0] };

/* interop.py's pattern for the k-th state_dict key. */
static float pattern(int k, const char *name, size_t i)
{
    double base = fmod((double)i * 7 + k * 13, 29);
    size_t len = strlen(name);
    if (len >= 19 && strcmp(name + len - 19, "num_batches_tracked") == 0)
        return 7.0f;
    if (len >= 11 && strcmp(name + len - 11, "running_var") == 0)
        return (float)((base + 1) / 8);
    return (float)((base - 14) / 8);
}

static void build(G2cParams *p)
{
    g2c_params_init(p);
    for (int k = 0; k < N_SPECS; k++)
        CHECK(g2c_params_add(p, specs[k].name, specs[k].ndim, specs[k].shape,
                             specs[k].trainable) == k);
    CHECK_OK(g2c_params_finalize(p));
}

static int matches(G2cParams *p, float scale, float shift)
{
    int bad = 0;
    for (int k = 0; k < N_SPECS; k++) {
        const float *v = g2c_params_value(p, k);
        for (size_t i = 0; i < p->tensors[k].numel; i++) {
            float want = pattern(k, specs[k].name, i) * scale + shift;
            if (v[i] != want && bad++ < 5)
                fprintf(stderr, "%s[%zu] = %g, expected %g\n", specs[k].name,
                        i, (double)v[i], (double)want);
        }
    }
    return bad == 0;
}

static int have_torch(void)
{
    struct stat sb;
    if (stat("/usr/bin/python3", &sb) != 0)
        return 0;
    return g2c_test_system("/usr/bin/python3 -c 'import torch' >/dev/null "
                           "2>&1") == 0;
}

int main(void)
{
    /* torch -> g2c */
    const char *fixture =
        g2c_test_source_path("tests/fixtures/torch/interop.safetensors");
    char fixture_path[4096];
    snprintf(fixture_path, sizeof fixture_path, "%s", fixture);
    G2cParams p;
    build(&p);
    CHECK_OK(g2c_checkpoint_load(fixture_path, &p, NULL, 1));
    CHECK(matches(&p, 1.0f, 0.0f));

    /* g2c -> torch: change every value (exactly: 2v + 1), save with
     * optimizer state, which PyTorch's side must drop. */
    for (int k = 0; k < N_SPECS; k++) {
        float *v = g2c_params_value(&p, k);
        for (size_t i = 0; i < p.tensors[k].numel; i++)
            v[i] = 2.0f * v[i] + 1.0f;
    }
    G2cOptimizer o;
    G2cOptConfig sgd = {.kind = G2C_OPT_SGD, .momentum = 0.9f};
    CHECK_OK(g2c_optim_init(&o, &p, sgd));
    char out[4096];
    const char *build_root = getenv("G2C_BUILD_ROOT");
    if (build_root)
        snprintf(out, sizeof out, "%s/tests/nn/interop-g2c.safetensors",
                 build_root);
    else
        snprintf(out, sizeof out, "%s/interop-g2c.safetensors",
                 g2c_test_tmpdir());
    const char *keys[] = {"epoch"}, *values[] = {"1"};
    CHECK_OK(g2c_checkpoint_save(out, &p, &o, 1, keys, values));

    /* ... which g2c reads back as written. */
    G2cParams q;
    build(&q);
    CHECK_OK(g2c_checkpoint_load(out, &q, NULL, 1));
    CHECK(matches(&q, 2.0f, 1.0f));
    g2c_params_free(&q);

    if (have_torch()) {
        int rc = g2c_test_system("/usr/bin/python3 '%s' --check '%s' "
                                 "--scale 2 --shift 1",
                                 g2c_test_source_path(
                                     "tools/torchref/interop.py"),
                                 out);
        if (rc != 0) {
            fprintf(stderr, "interop.py --check %s failed (%d)\n", out, rc);
            g2c_test_failures++;
        }
    } else {
        fprintf(stderr, "note: /usr/bin/python3 with torch not found; the "
                        "PyTorch side of the g2c -> torch check was skipped\n");
    }

    g2c_optim_free(&o);
    g2c_params_free(&p);
    if (!build_root) {
        remove(out);
        remove(g2c_test_tmpdir());
    }
    return g2c_test_finish("checkpoint-torch");
}
