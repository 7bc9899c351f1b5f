/* The G2C classifier's API: presets and configuration errors, tensor
 * names and shapes, output sizes for any input size, initialization,
 * activation errors, partial batches, eval vs training, frozen modules,
 * NULL input gradients, the branch layout, and a checkpoint round trip
 * (and, where /usr/bin/python3 has torch, a strict load into the PyTorch
 * module of tools/torchref/classifier.py). */
#include "g2c/classifier.h"
#include "g2c/error.h"
#include "g2c/nn.h"
#include "../testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float *alloc_floats(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    if (!p)
        exit(1);
    return p;
}

/* Branch k's crops, flat index i: sin(0.37 i + k), as classifier.py's
 * --check makes them. */
static float *pattern(int k, int batch, int size)
{
    size_t n = (size_t)batch * 3 * size * size;
    float *x = alloc_floats(n);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)sin(0.37 * (double)i + k);
    return x;
}

static int contains(const char *s, const char *part)
{
    if (strstr(s, part))
        return 1;
    fprintf(stderr, "message \"%s\" lacks \"%s\"\n", s, part);
    return 0;
}

/* A built, finalized, initialized model. */
typedef struct {
    G2cClassifierConfig cfg;
    G2cParams p;
    G2cClassifier *m;
} Model;

static int model_new(Model *md, const G2cClassifierConfig *cfg,
                     uint64_t seed)
{
    md->cfg = *cfg;
    g2c_params_init(&md->p);
    md->m = g2c_classifier_build(cfg, &md->p, "classifier.");
    if (!md->m || g2c_params_finalize(&md->p) != 0) {
        fprintf(stderr, "build: %s\n", g2c_error_message());
        g2c_test_failures++;
        return -1;
    }
    G2cRng rng;
    g2c_rng_seed(&rng, seed);
    g2c_classifier_init(md->m, &md->p, &rng);
    return 0;
}

static void model_free(Model *md)
{
    g2c_classifier_free(md->m);
    g2c_params_free(&md->p);
}

static void test_config(void)
{
    G2cClassifierConfig c;
    const char *names[] = {"cpu", "inception", "resnet18", "tiny"};
    for (int i = 0; i < 4; i++) {
        CHECK_OK(g2c_classifier_config_preset(&c, names[i]));
        CHECK_OK(g2c_classifier_config_check(&c));
    }
    CHECK(g2c_classifier_config_preset(&c, "huge") == -1);
    CHECK(contains(g2c_error_message(), "\"huge\""));

    g2c_classifier_config_preset(&c, "tiny");
    c.branches = 0;
    CHECK(g2c_classifier_config_check(&c) == -1);
    CHECK(contains(g2c_error_message(), "branches = 0"));
    g2c_classifier_config_preset(&c, "cpu");
    c.widths[1] = -3;
    CHECK(g2c_classifier_config_check(&c) == -1);
    CHECK(contains(g2c_error_message(), "widths[1] = -3"));
    g2c_classifier_config_preset(&c, "cpu");
    c.units = 9;
    CHECK(g2c_classifier_config_check(&c) == -1);
    CHECK(contains(g2c_error_message(), "units = 9"));
    g2c_classifier_config_preset(&c, "cpu");
    c.bn_eps = 0.0f;
    CHECK(g2c_classifier_config_check(&c) == -1);
    CHECK(contains(g2c_error_message(), "bn_eps"));
    c.bn_eps = 1e-5f;
    c.bn_momentum = NAN;
    CHECK(g2c_classifier_config_check(&c) == -1);
    CHECK(contains(g2c_error_message(), "bn_momentum"));

    /* A bad configuration registers nothing. */
    G2cParams p;
    g2c_params_init(&p);
    CHECK(g2c_classifier_build(&c, &p, "") == NULL);
    CHECK(p.count == 0);
    g2c_params_free(&p);
}

/* The "tiny" model's tensors, in registration order (= the PyTorch
 * module's state_dict order). */
static void test_names(void)
{
    static const char *const want[] = {
        "stem.0.conv.weight", "stem.0.bn.weight", "stem.0.bn.bias",
        "stem.0.bn.running_mean", "stem.0.bn.running_var",
        "stem.0.bn.num_batches_tracked", "stem.1.conv.weight",
        "stem.1.bn.weight", "stem.1.bn.bias", "stem.1.bn.running_mean",
        "stem.1.bn.running_var", "stem.1.bn.num_batches_tracked",
        "stem.2.conv.weight", "stem.2.bn.weight", "stem.2.bn.bias",
        "stem.2.bn.running_mean", "stem.2.bn.running_var",
        "stem.2.bn.num_batches_tracked", "units.0.block.conv1.weight",
        "units.0.block.bn1.weight", "units.0.block.bn1.bias",
        "units.0.block.bn1.running_mean", "units.0.block.bn1.running_var",
        "units.0.block.bn1.num_batches_tracked", "units.0.block.conv2.weight",
        "units.0.block.bn2.weight", "units.0.block.bn2.bias",
        "units.0.block.bn2.running_mean", "units.0.block.bn2.running_var",
        "units.0.block.bn2.num_batches_tracked",
        "units.0.block.shortcut.conv.weight",
        "units.0.block.shortcut.bn.weight", "units.0.block.shortcut.bn.bias",
        "units.0.block.shortcut.bn.running_mean",
        "units.0.block.shortcut.bn.running_var",
        "units.0.block.shortcut.bn.num_batches_tracked",
        "units.0.attention.fc1.weight", "units.0.attention.fc1.bias",
        "units.0.attention.fc2.weight", "units.0.attention.fc2.bias",
        "head.weight", "head.bias"};
    const int n = (int)(sizeof want / sizeof want[0]);
    G2cClassifierConfig c;
    g2c_classifier_config_preset(&c, "tiny");
    G2cParams p;
    g2c_params_init(&p);
    /* Something registered before: the model starts after it. */
    int64_t one[1] = {1};
    g2c_params_add(&p, "other.weight", 1, one, 1);
    G2cClassifier *m = g2c_classifier_build(&c, &p, "cls.");
    CHECK(m != NULL);
    CHECK(p.count == n + 1);
    for (int i = 0; i < n && i + 1 < p.count; i++) {
        char full[128];
        snprintf(full, sizeof full, "cls.%s", want[i]);
        if (strcmp(p.tensors[i + 1].name, full) != 0) {
            fprintf(stderr, "tensor %d: %s, expected %s\n", i + 1,
                    p.tensors[i + 1].name, full);
            g2c_test_failures++;
        }
        int buffer = strstr(full, "running_") || strstr(full, "num_batches");
        CHECK(p.tensors[i + 1].trainable == !buffer);
    }
    int i = g2c_params_find(&p, "cls.units.0.attention.fc1.weight");
    /* K*C = 3*8 = 24 -> max(1, 24/16) = 1 hidden */
    CHECK(i >= 0 && p.tensors[i].shape[0] == 1 && p.tensors[i].shape[1] == 24);
    i = g2c_params_find(&p, "cls.head.weight");
    CHECK(i >= 0 && p.tensors[i].shape[0] == 3 && p.tensors[i].shape[1] == 24);
    i = g2c_params_find(&p, "cls.stem.0.bn.num_batches_tracked");
    CHECK(i >= 0 && p.tensors[i].ndim == 0);
    CHECK_OK(g2c_params_finalize(&p));
    /* 108+144+144 stem convs, 3*8 stem BN, 288+576+32 block convs, 3*16
     * block BN, 24+1+24+24 attention, 72+3 head */
    CHECK(g2c_classifier_param_count(m, &p) ==
          396 + 24 + 896 + 48 + 73 + 75);
    g2c_classifier_free(m);

    /* Registering after finalize fails. */
    CHECK(g2c_classifier_build(&c, &p, "again.") == NULL);
    CHECK(contains(g2c_error_message(), "finalized"));
    g2c_params_free(&p);

    /* A prefix that makes names too long: the message names the tensor. */
    g2c_params_init(&p);
    char prefix[120];
    memset(prefix, 'x', sizeof prefix - 1);
    prefix[sizeof prefix - 1] = '\0';
    CHECK(g2c_classifier_build(&c, &p, prefix) == NULL);
    CHECK(contains(g2c_error_message(), "stem.0.conv.weight"));
    g2c_params_free(&p);
}

static int ceil_half(int n)
{
    return (n + 1) / 2;
}

/* Every input size, odd ones included, gives ceil(n/2) at each stride-2
 * step, for both stems (shapes only: no forward needed). */
static void test_shapes(void)
{
    for (int stem = 0; stem < 2; stem++)
        for (int s = 1; s <= 41; s++) {
            G2cClassifierConfig c;
            g2c_classifier_config_preset(&c, "tiny");
            c.stem = stem ? G2C_STEM_INCEPTION : G2C_STEM_LIGHT;
            c.stem_width = 2;
            c.input_size = s;
            c.units = 2;
            c.widths[0] = 4;
            c.widths[1] = 6;
            G2cParams p;
            g2c_params_init(&p);
            G2cClassifier *m = g2c_classifier_build(&c, &p, "");
            CHECK(m != NULL);
            if (!m) {
                g2c_params_free(&p);
                continue;
            }
            int want = ceil_half(ceil_half(s));
            if (stem)
                want = ceil_half(want);
            want = ceil_half(ceil_half(want));
            int fc, fh, fw;
            g2c_classifier_feature_shape(m, &fc, &fh, &fw);
            if (fc != 6 || fh != want || fw != want) {
                fprintf(stderr, "stem %d size %d: features %dx%dx%d, "
                        "expected 6x%dx%d\n", stem, s, fc, fh, fw, want,
                        want);
                g2c_test_failures++;
            }
            if (stem) { /* 12w channels reach unit 0 */
                int i = g2c_params_find(&p, "units.0.block.conv1.weight");
                CHECK(i >= 0 && p.tensors[i].shape[1] == 24);
                i = g2c_params_find(&p, "stem.mix4b.1.conv.weight");
                CHECK(i >= 0 && p.tensors[i].shape[2] == 7 &&
                      p.tensors[i].shape[3] == 1);
                i = g2c_params_find(&p, "stem.mix4b.2.conv.weight");
                CHECK(i >= 0 && p.tensors[i].shape[2] == 1 &&
                      p.tensors[i].shape[3] == 7);
            }
            g2c_classifier_free(m);
            g2c_params_free(&p);
        }
}

static double stddev(const float *x, size_t n, double *mean)
{
    double s = 0, q = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    *mean = s / n;
    for (size_t i = 0; i < n; i++)
        q += (x[i] - *mean) * (x[i] - *mean);
    return sqrt(q / n);
}

static void test_init(void)
{
    G2cClassifierConfig c;
    g2c_classifier_config_preset(&c, "cpu");
    Model a, b;
    if (model_new(&a, &c, 11) || model_new(&b, &c, 11))
        return;
    CHECK(a.p.total == b.p.total &&
          memcmp(a.p.data, b.p.data, a.p.total * sizeof(float)) == 0);
    /* Kaiming normal, fan_out = 256 * 3 * 3: std sqrt(2 / 2304). */
    int i = g2c_params_find(&a.p, "classifier.units.2.block.conv2.weight");
    double mean, sd = stddev(g2c_params_value(&a.p, i),
                             a.p.tensors[i].numel, &mean);
    CHECK_CLOSE(sd, sqrt(2.0 / 2304), 0.01 * sqrt(2.0 / 2304));
    CHECK_CLOSE(mean, 0.0, 0.003);
    /* nn.Linear: U(-1/sqrt(1024), 1/sqrt(1024)), std bound / sqrt 3. */
    i = g2c_params_find(&a.p, "classifier.units.2.attention.fc1.weight");
    const float *w = g2c_params_value(&a.p, i);
    double bound = 1.0 / sqrt(1024.0), mx = 0;
    for (size_t j = 0; j < a.p.tensors[i].numel; j++)
        mx = fmax(mx, fabs(w[j]));
    CHECK(mx <= bound && mx > 0.95 * bound);
    sd = stddev(w, a.p.tensors[i].numel, &mean);
    CHECK_CLOSE(sd, bound / sqrt(3.0), 0.03 * bound);
    const char *bn[] = {"weight", "bias", "running_mean", "running_var",
                        "num_batches_tracked"};
    const float want[] = {1, 0, 0, 1, 0};
    for (int k = 0; k < 5; k++) {
        char name[128];
        snprintf(name, sizeof name, "classifier.units.1.block.bn2.%s", bn[k]);
        i = g2c_params_find(&a.p, name);
        const float *v = g2c_params_value(&a.p, i);
        for (size_t j = 0; j < a.p.tensors[i].numel; j++)
            if (v[j] != want[k]) {
                fprintf(stderr, "%s[%zu] = %g\n", name, j, v[j]);
                g2c_test_failures++;
                break;
            }
    }
    /* Stem 3*32*9 + 2*32*32*9, BN 3*64; units 64: 32*64*9 + 64*64*9 +
     * 32*64 + 3*128, attention 256*16+16+16*256+256, ... by formula. */
    size_t count = 0;
    count += 3 * 32 * 9 + 2 * 32 * 32 * 9 + 3 * 64;
    int in = 32;
    for (int u = 0; u < 3; u++) {
        int ch = c.widths[u], kc = 4 * ch, hid = kc / 16;
        count += (size_t)in * ch * 9 + (size_t)ch * ch * 9 + 2 * 2 * ch;
        if (in != ch)
            count += (size_t)in * ch + 2 * ch;
        count += (size_t)kc * hid + hid + (size_t)hid * kc + kc;
        in = ch;
    }
    count += 4 * 256 * 2 + 2;
    CHECK(g2c_classifier_param_count(a.m, &a.p) == count);
    model_free(&a);
    model_free(&b);
}

static float *buffer_of(Model *md, const char *name)
{
    char full[160];
    snprintf(full, sizeof full, "classifier.%s", name);
    return g2c_params_value(&md->p, g2c_params_find(&md->p, full));
}

static void test_errors_and_modes(void)
{
    G2cClassifierConfig c;
    g2c_classifier_config_preset(&c, "tiny");
    Model md;
    if (model_new(&md, &c, 3))
        return;
    const int s = c.input_size;
    G2cClassifierActs *a = g2c_classifier_acts_new(md.m, 4);
    CHECK(a != NULL && g2c_classifier_acts_bytes(a) > 0);
    CHECK(g2c_classifier_acts_new(md.m, 0) == NULL);
    CHECK(contains(g2c_error_message(), "batch 0"));
    float *in[3], *in2[3];
    for (int k = 0; k < 3; k++)
        in[k] = pattern(k, 4, s);
    CHECK(g2c_classifier_backward(md.m, &md.p, a, NULL, NULL) == -1);
    CHECK(contains(g2c_error_message(), "no forward"));
    CHECK(g2c_classifier_forward(md.m, &md.p, (const float *const *)in, 5, 1,
                                 a) == NULL);
    CHECK(contains(g2c_error_message(), "batch 5 (activations hold 1 to 4)"));
    G2cParams raw;
    g2c_params_init(&raw);
    G2cClassifier *unfinalized = g2c_classifier_build(&c, &raw, "");
    CHECK(g2c_classifier_forward(unfinalized, &raw, (const float *const *)in,
                                 2, 1, a) == NULL);
    CHECK(contains(g2c_error_message(), "not finalized"));
    g2c_classifier_free(unfinalized);
    g2c_params_free(&raw);
    const float *bad[3] = {in[0], NULL, in[2]};
    CHECK(g2c_classifier_forward(md.m, &md.p, bad, 2, 1, a) == NULL);
    CHECK(contains(g2c_error_message(), "no input for branch 1"));

    /* Eval: running statistics untouched; the same result twice. */
    float *rm = buffer_of(&md, "units.0.block.bn1.running_mean");
    float *nbt = buffer_of(&md, "units.0.block.bn1.num_batches_tracked");
    float rm0 = rm[3];
    const float *y = g2c_classifier_forward(md.m, &md.p,
                                            (const float *const *)in, 4, 0, a);
    CHECK(y != NULL);
    float eval4[12];
    memcpy(eval4, y, sizeof eval4);
    CHECK(rm[3] == rm0 && nbt[0] == 0.0f);
    /* Eval treats crops independently: crop 2 alone gives its row. */
    for (int k = 0; k < 3; k++)
        in2[k] = in[k] + (size_t)2 * 3 * s * s;
    y = g2c_classifier_forward(md.m, &md.p, (const float *const *)in2, 1, 0,
                               a);
    for (int j = 0; j < 3; j++)
        CHECK_CLOSE(y[j], eval4[6 + j], 1e-5);
    /* Swapping two branches changes the result (they are not pooled
     * symmetrically: attention and head see them in order). */
    const float *swapped[3] = {in2[1], in2[0], in2[2]};
    y = g2c_classifier_forward(md.m, &md.p, swapped, 1, 0, a);
    CHECK(fabsf(y[0] - eval4[6]) + fabsf(y[1] - eval4[7]) > 1e-4);

    /* Training: statistics move, the counter counts. */
    y = g2c_classifier_forward(md.m, &md.p, (const float *const *)in, 4, 1,
                               a);
    CHECK(rm[3] != rm0 && nbt[0] == 1.0f);
    y = g2c_classifier_forward(md.m, &md.p, (const float *const *)in, 4, 1,
                               a);
    CHECK(nbt[0] == 2.0f);

    /* A partial batch in larger activations = the same batch in exact
     * ones (training: the statistics are over the 3*2 images). */
    G2cClassifierActs *a2 = g2c_classifier_acts_new(md.m, 2);
    float *saved = alloc_floats(md.p.total);
    memcpy(saved, md.p.data, md.p.total * sizeof(float));
    y = g2c_classifier_forward(md.m, &md.p, (const float *const *)in, 2, 1,
                               a);
    float part[6];
    memcpy(part, y, sizeof part);
    memcpy(md.p.data, saved, md.p.total * sizeof(float));
    y = g2c_classifier_forward(md.m, &md.p, (const float *const *)in, 2, 1,
                               a2);
    CHECK(memcmp(part, y, sizeof part) == 0);
    g2c_classifier_acts_free(a2);
    free(saved);
    for (int k = 0; k < 3; k++)
        free(in[k]);
    g2c_classifier_acts_free(a);
    model_free(&md);
}

/* Gradients of the tiny model for loss = sum(logits * r), with the given
 * modules frozen and input gradients requested for branches in `want`. */
typedef struct {
    float *grad;
    float *din[3];
} Grads;

static void run_grads(Model *md, const char *frozen, int want, Grads *g)
{
    const int s = md->cfg.input_size, b = 2;
    const size_t img = (size_t)b * 3 * s * s;
    G2cClassifierActs *a = g2c_classifier_acts_new(md->m, b);
    float *in[3], r[6];
    for (int k = 0; k < 3; k++) {
        in[k] = pattern(k, b, s);
        g->din[k] = want >> k & 1 ? alloc_floats(img) : NULL;
    }
    for (int j = 0; j < 6; j++)
        r[j] = (float)(j % 3) - 0.7f;
    g2c_params_set_frozen(&md->p, "", 0);
    if (frozen)
        CHECK(g2c_params_set_frozen(&md->p, frozen, 1) > 0);
    g2c_params_zero_grad(&md->p);
    CHECK(g2c_classifier_forward(md->m, &md->p, (const float *const *)in, b,
                                 1, a) != NULL);
    CHECK_OK(g2c_classifier_backward(md->m, &md->p, a, r, g->din));
    g->grad = alloc_floats(md->p.total);
    memcpy(g->grad, md->p.grad, md->p.total * sizeof(float));
    for (int k = 0; k < 3; k++)
        free(in[k]);
    g2c_classifier_acts_free(a);
}

static void grads_free(Grads *g)
{
    free(g->grad);
    for (int k = 0; k < 3; k++)
        free(g->din[k]);
}

static int same(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof(float)) == 0;
}

static void test_frozen_and_null_inputs(void)
{
    G2cClassifierConfig c;
    g2c_classifier_config_preset(&c, "tiny");
    Model md;
    if (model_new(&md, &c, 5))
        return;
    const size_t img = (size_t)2 * 3 * c.input_size * c.input_size;
    /* Running statistics change with every training forward: start each
     * run from the same parameters. */
    float *saved = alloc_floats(md.p.total);
    memcpy(saved, md.p.data, md.p.total * sizeof(float));
    Grads full, stem_frozen, partial, all_frozen;
    run_grads(&md, NULL, 7, &full);
    memcpy(md.p.data, saved, md.p.total * sizeof(float));
    run_grads(&md, "classifier.stem.", 7, &stem_frozen);
    memcpy(md.p.data, saved, md.p.total * sizeof(float));
    run_grads(&md, NULL, 5, &partial);
    memcpy(md.p.data, saved, md.p.total * sizeof(float));
    run_grads(&md, "classifier.", 0, &all_frozen);

    int stem_end = g2c_params_find(&md.p, "classifier.units.0.block.conv1.weight");
    size_t split = md.p.tensors[stem_end].offset;
    double stem_sum = 0;
    for (size_t i = 0; i < split; i++)
        stem_sum += fabs(full.grad[i]) + fabs(stem_frozen.grad[i]);
    /* The stem's gradients were there, and frozen they are not. */
    double frozen_stem = 0;
    for (size_t i = 0; i < split; i++)
        frozen_stem += fabs(stem_frozen.grad[i]);
    CHECK(stem_sum > 0 && frozen_stem == 0);
    /* Everything above the stem, and the input gradients through the
     * frozen stem, are unchanged. */
    CHECK(same(full.grad + split, stem_frozen.grad + split,
               md.p.total - split));
    for (int k = 0; k < 3; k++)
        CHECK(same(full.din[k], stem_frozen.din[k], img));
    /* Branch 1 not wanted: the others the same. */
    CHECK(partial.din[1] == NULL);
    CHECK(same(full.din[0], partial.din[0], img));
    CHECK(same(full.din[2], partial.din[2], img));
    CHECK(same(full.grad, partial.grad, md.p.total));
    /* All frozen, nothing wanted: no gradient at all. */
    double any = 0;
    for (size_t i = 0; i < md.p.total; i++)
        any += fabs(all_frozen.grad[i]);
    CHECK(any == 0);
    double din_sum = 0;
    for (size_t i = 0; i < img; i++)
        din_sum += fabs(full.din[1][i]);
    CHECK(din_sum > 0);
    grads_free(&full);
    grads_free(&stem_frozen);
    grads_free(&partial);
    grads_free(&all_frozen);
    free(saved);
    model_free(&md);
}

/* Save, load into a fresh model: the same eval logits; then PyTorch. */
static void test_checkpoint(void)
{
    G2cClassifierConfig c;
    g2c_classifier_config_preset(&c, "tiny");
    c.units = 2;
    c.widths[0] = 4; /* an identity shortcut, then a 1x1 one */
    c.widths[1] = 8;
    c.reduction = 4;
    Model md, back;
    if (model_new(&md, &c, 9) || model_new(&back, &c, 10))
        return;
    const int b = 2, s = c.input_size;
    float *in[3];
    for (int k = 0; k < 3; k++)
        in[k] = pattern(k, b, s);
    G2cClassifierActs *a = g2c_classifier_acts_new(md.m, b);
    /* A training step moves the running statistics off their defaults. */
    g2c_classifier_forward(md.m, &md.p, (const float *const *)in, b, 1, a);
    const float *y = g2c_classifier_forward(md.m, &md.p,
                                            (const float *const *)in, b, 0, a);
    char logits[512] = "", config[128];
    for (int j = 0; j < b * c.classes; j++)
        snprintf(logits + strlen(logits), sizeof logits - strlen(logits),
                 "%s%.9g", j ? " " : "", y[j]);
    float want[6];
    memcpy(want, y, sizeof want);
    snprintf(config, sizeof config, "%d %d %d %d %d %d %d 0 0 0 %d 2 %d %d",
             c.branches, c.attention, s, (int)c.stem, c.stem_width,
             c.classes, b, c.reduction, c.widths[0], c.widths[1]);
    char path[4096];
    snprintf(path, sizeof path, "%s/classifier.safetensors",
             g2c_test_tmpdir());
    const char *keys[] = {"config", "logits", "prefix"};
    const char *values[] = {config, logits, "classifier."};
    CHECK_OK(g2c_checkpoint_save(path, &md.p, NULL, 3, keys, values));
    CHECK_OK(g2c_checkpoint_load(path, &back.p, NULL, 1));
    y = g2c_classifier_forward(back.m, &back.p, (const float *const *)in, b,
                               0, a);
    CHECK(memcmp(y, want, sizeof want) == 0);
    /* Exit status 77: no /usr/bin/python3 with torch here (CI). */
    int rc = g2c_test_system(
        "test -x /usr/bin/python3 || exit 77; /usr/bin/python3 '%s' --check "
        "'%s'", g2c_test_source_path("tools/torchref/classifier.py"), path);
    if (rc == 77) {
        fprintf(stderr, "note: /usr/bin/python3 with torch not found; the "
                "PyTorch strict load was skipped\n");
    } else if (rc != 0) {
        fprintf(stderr, "classifier.py --check %s failed (%d)\n", path, rc);
        g2c_test_failures++;
    }
    for (int k = 0; k < 3; k++)
        free(in[k]);
    g2c_classifier_acts_free(a);
    model_free(&md);
    model_free(&back);
}

int main(void)
{
    test_config();
    test_names();
    test_shapes();
    test_init();
    test_errors_and_modes();
    test_frozen_and_null_inputs();
    test_checkpoint();
    return g2c_test_finish("classifier");
}
