/* Colour statistics in CIELAB and the real-vs-generated two-sample test. */
#include "g2c/quality.h"

#include "g2c/error.h"
#include "g2c/models.h"
#include "g2c/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- CIELAB ------------------------------------------------------------ */

static double srgb_to_linear(double c)
{
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

static double lab_f(double t)
{
    const double d = 6.0 / 29.0;
    return t > d * d * d ? cbrt(t) : t / (3 * d * d) + 4.0 / 29.0;
}

/* sRGB (D65) to CIELAB, through a table for the per-channel linearisation. */
static void rgb_to_lab(const uint8_t *p, const double *lin, double lab[3])
{
    double r = lin[p[0]], g = lin[p[1]], b = lin[p[2]];
    double x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
    double y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
    double z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
    double fx = lab_f(x), fy = lab_f(y), fz = lab_f(z);
    lab[0] = 116 * fy - 16;
    lab[1] = 500 * (fx - fy);
    lab[2] = 200 * (fy - fz);
}

void g2c_lab_stats(const G2cImage *images, int count, G2cLabStats *out)
{
    double lin[256];
    for (int i = 0; i < 256; i++)
        lin[i] = srgb_to_linear(i / 255.0);
    double sum[3] = {0}, sq[3] = {0};
    double n = 0;
    for (int k = 0; k < count; k++) {
        size_t px = (size_t)images[k].width * images[k].height;
        for (size_t i = 0; i < px; i++) {
            double lab[3];
            rgb_to_lab(images[k].rgb + 3 * i, lin, lab);
            for (int c = 0; c < 3; c++) {
                sum[c] += lab[c];
                sq[c] += lab[c] * lab[c];
            }
        }
        n += (double)px;
    }
    for (int c = 0; c < 3; c++) {
        out->mean[c] = n > 0 ? sum[c] / n : 0;
        double var = n > 0 ? sq[c] / n - out->mean[c] * out->mean[c] : 0;
        out->std[c] = var > 0 ? sqrt(var) : 0;
    }
}

double g2c_lab_distance(const G2cLabStats *a, const G2cLabStats *b)
{
    double d = 0;
    for (int c = 0; c < 3; c++) {
        double dm = a->mean[c] - b->mean[c], ds = a->std[c] - b->std[c];
        d += dm * dm + ds * ds;
    }
    return sqrt(d);
}

/* ---- two-sample test ------------------------------------------------------ */

void g2c_two_sample_config_default(G2cTwoSampleConfig *c)
{
    c->size = 64;
    c->epochs = 15;
    c->batch = 16;
    c->lr = 1e-3f;
    c->seed = 1;
}

enum { FEATURES = 32 };

typedef struct {
    G2cConvNet net;
    G2cParams params;
    int head_w, head_b;
    G2cNetActs acts;
    int size, batch;
} Critic;

/* Three stride-2 convolutions + ReLU, global average pool, linear to 2. */
static int critic_build(Critic *m, int size, int batch, G2cRng *rng)
{
    g2c_params_init(&m->params);
    g2c_convnet_begin(&m->net, "critic.", 3);
    static const int widths[3] = {8, 16, FEATURES};
    for (int i = 0; i < 3; i++) {
        G2cNetStage s = {.kernel = 3, .stride = 2, .pad = 1, .out_c = widths[i],
                         .act = G2C_ACT_RELU, .skip_from = -1};
        snprintf(s.name, sizeof s.name, "conv.%d", i);
        if (g2c_convnet_add(&m->net, &m->params, &s, 1) < 0)
            return -1;
    }
    int64_t wshape[2] = {2, FEATURES}, bshape[1] = {2};
    m->head_w = g2c_params_add(&m->params, "critic.head.weight", 2, wshape, 1);
    m->head_b = g2c_params_add(&m->params, "critic.head.bias", 1, bshape, 1);
    if (m->head_w < 0 || m->head_b < 0 || g2c_params_finalize(&m->params) != 0)
        return -1;
    for (int t = 0; t < m->params.count; t++) {
        const G2cTensorInfo *ti = &m->params.tensors[t];
        if (ti->ndim > 1)
            g2c_init_kaiming(g2c_params_value(&m->params, t), ti->numel,
                             (int)(ti->numel / (size_t)ti->shape[0]), rng);
    }
    m->size = size;
    m->batch = batch;
    return g2c_net_acts_init(&m->acts, &m->net, batch, size, size);
}

static void critic_free(Critic *m)
{
    g2c_net_acts_free(&m->acts);
    g2c_params_free(&m->params);
}

/* Logits [batch, 2] for x [batch, 3, size, size]; pooled [batch, FEATURES]. */
static void critic_forward(Critic *m, const float *x, float *pooled, float *logits)
{
    g2c_convnet_forward(&m->net, &m->params, x, &m->acts);
    g2c_gap_forward(m->batch, FEATURES, m->acts.out_h * m->acts.out_w, m->acts.out, pooled);
    g2c_linear_forward(m->batch, FEATURES, 2, pooled, g2c_params_value(&m->params, m->head_w),
                       g2c_params_value(&m->params, m->head_b), logits);
}

static void critic_backward(Critic *m, const float *pooled, const float *dlogits,
                            float *dpooled, float *dmap)
{
    size_t map = (size_t)m->batch * FEATURES * (size_t)(m->acts.out_h * m->acts.out_w);
    memset(dpooled, 0, (size_t)m->batch * FEATURES * sizeof *dpooled);
    memset(dmap, 0, map * sizeof *dmap);
    g2c_linear_backward(m->batch, FEATURES, 2, pooled, g2c_params_value(&m->params, m->head_w),
                        dlogits, dpooled, g2c_params_gradient(&m->params, m->head_w),
                        g2c_params_gradient(&m->params, m->head_b));
    g2c_gap_backward(m->batch, FEATURES, m->acts.out_h * m->acts.out_w, dpooled, dmap);
    g2c_convnet_backward(&m->net, &m->params, &m->acts, dmap, NULL);
}

/* Images as [-1, 1] floats at the critic's size. */
static int to_tensor(const G2cImage *img, int size, float *out)
{
    G2cImage scaled;
    const G2cImage *src = img;
    if (img->width != size || img->height != size) {
        if (g2c_image_alloc(&scaled, size, size, 0) != 0 || g2c_image_resize(img, &scaled) != 0)
            return -1;
        src = &scaled;
    }
    size_t plane = (size_t)size * size;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++)
            out[c * plane + i] = src->rgb[3 * i + c] / 127.5f - 1.0f;
    if (src != img)
        g2c_image_free(&scaled);
    return 0;
}

typedef struct {
    const G2cImage *img;
    int label; /* 0 real, 1 generated */
} Sample;

static void shuffle(Sample *s, int n, G2cRng *rng)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)g2c_rng_below(rng, (uint64_t)i + 1);
        Sample t = s[i];
        s[i] = s[j];
        s[j] = t;
    }
}

/* Accuracy of the critic on samples, in whole batches (a short last batch
 * is padded by repeating and not counted twice). */
static int evaluate(Critic *m, const Sample *s, int n, float *x, float *pooled, float *logits,
                    double *accuracy)
{
    size_t image_n = (size_t)3 * m->size * m->size;
    int correct = 0;
    for (int start = 0; start < n; start += m->batch) {
        for (int b = 0; b < m->batch; b++)
            if (to_tensor(s[(start + b) % n].img, m->size, x + (size_t)b * image_n) != 0)
                return -1;
        critic_forward(m, x, pooled, logits);
        for (int b = 0; b < m->batch && start + b < n; b++) {
            int predicted = logits[2 * b + 1] > logits[2 * b];
            correct += predicted == s[start + b].label;
        }
    }
    *accuracy = n ? (double)correct / n : 0;
    return 0;
}

static int train(Critic *m, const G2cTwoSampleConfig *cfg, Sample *s, int n, G2cRng *rng,
                 float *x, float *pooled, float *logits)
{
    G2cOptimizer opt;
    G2cOptConfig oc = {.kind = G2C_OPT_ADAM, .lr = cfg->lr, .beta1 = 0.9f, .beta2 = 0.999f,
                       .eps = 1e-8f};
    if (g2c_optim_init(&opt, &m->params, oc) != 0)
        return -1;
    size_t image_n = (size_t)3 * m->size * m->size;
    size_t map = (size_t)m->batch * FEATURES * (size_t)(m->acts.out_h * m->acts.out_w);
    float *dpooled = malloc((size_t)m->batch * FEATURES * sizeof *dpooled);
    float *dmap = malloc(map * sizeof *dmap);
    float dlogits[2 * 256];
    int labels[256];
    int rc = dpooled && dmap ? 0 : g2c_error("out of memory");
    for (int epoch = 0; epoch < cfg->epochs && rc == 0; epoch++) {
        shuffle(s, n, rng);
        for (int start = 0; start + m->batch <= n && rc == 0; start += m->batch) {
            for (int b = 0; b < m->batch && rc == 0; b++) {
                rc = to_tensor(s[start + b].img, m->size, x + (size_t)b * image_n);
                labels[b] = s[start + b].label;
            }
            if (rc != 0)
                break;
            g2c_params_zero_grad(&m->params);
            critic_forward(m, x, pooled, logits);
            memset(dlogits, 0, sizeof(float) * 2 * (size_t)m->batch);
            g2c_softmax_ce_loss(m->batch, 2, logits, labels, NULL, dlogits, 1.0f);
            critic_backward(m, pooled, dlogits, dpooled, dmap);
            g2c_optim_step(&opt, cfg->lr);
        }
    }
    free(dpooled);
    free(dmap);
    g2c_optim_free(&opt);
    return rc;
}

int g2c_two_sample_test(const G2cImage *real, int n_real, const G2cImage *fake, int n_fake,
                        const G2cTwoSampleConfig *cfg, G2cTwoSampleResult *out)
{
    memset(out, 0, sizeof *out);
    if (n_real < 4 || n_fake < 4)
        return g2c_error("two-sample test: need at least 4 real and 4 generated crops "
                         "(have %d and %d)", n_real, n_fake);
    if (cfg->batch < 1 || cfg->batch > 256)
        return g2c_error("two-sample test: batch %d out of range", cfg->batch);
    G2cRng rng;
    g2c_rng_seed(&rng, cfg->seed);
    /* Balanced halves: the same number of each class on each side, so 50%
     * is chance. */
    int per_class = (n_real < n_fake ? n_real : n_fake) / 2;
    Sample *all = malloc((size_t)(n_real + n_fake) * sizeof *all);
    Sample *train_s = malloc((size_t)(2 * per_class) * sizeof *train_s);
    Sample *test_s = malloc((size_t)(2 * per_class) * sizeof *test_s);
    Critic m;
    memset(&m, 0, sizeof m);
    int batch = cfg->batch < 2 * per_class ? cfg->batch : 2 * per_class;
    size_t image_n = (size_t)3 * cfg->size * cfg->size;
    float *x = malloc((size_t)batch * image_n * sizeof *x);
    float *pooled = malloc((size_t)batch * FEATURES * sizeof *pooled);
    float *logits = malloc((size_t)batch * 2 * sizeof *logits);
    int rc = all && train_s && test_s && x && pooled && logits ? 0 : g2c_error("out of memory");
    if (rc == 0) {
        for (int i = 0; i < n_real; i++)
            all[i] = (Sample){&real[i], 0};
        for (int i = 0; i < n_fake; i++)
            all[n_real + i] = (Sample){&fake[i], 1};
        shuffle(all, n_real, &rng);
        shuffle(all + n_real, n_fake, &rng);
        for (int i = 0; i < per_class; i++) {
            train_s[2 * i] = all[i];
            train_s[2 * i + 1] = all[n_real + i];
            test_s[2 * i] = all[per_class + i];
            test_s[2 * i + 1] = all[n_real + per_class + i];
        }
        rc = critic_build(&m, cfg->size, batch, &rng);
    }
    if (rc == 0)
        rc = train(&m, cfg, train_s, 2 * per_class, &rng, x, pooled, logits);
    if (rc == 0)
        rc = evaluate(&m, test_s, 2 * per_class, x, pooled, logits, &out->accuracy);
    if (rc == 0)
        rc = evaluate(&m, train_s, 2 * per_class, x, pooled, logits, &out->train_accuracy);
    out->n_train = out->n_test = 2 * per_class;
    critic_free(&m);
    free(all);
    free(train_s);
    free(test_s);
    free(x);
    free(pooled);
    free(logits);
    return rc;
}
