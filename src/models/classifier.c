/* The G2C classifier: configuration, parameter registration, activations,
 * and the whole forward and backward passes (stem, units, head).  The
 * parts are in classifier-stem.c, classifier-unit.c and
 * classifier-convbn.c. */
#include "classifier-private.h"

#include "g2c/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration ----------------------------------------------------- */

static void set_widths(G2cClassifierConfig *c, int n, const int *w)
{
    c->units = n;
    for (int i = 0; i < n; i++)
        c->widths[i] = w[i];
}

int g2c_classifier_config_preset(G2cClassifierConfig *cfg, const char *name)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->reduction = 16;
    cfg->bn_momentum = 0.1f;
    cfg->bn_eps = 1e-5f;
    cfg->classes = 2;
    cfg->branches = 4;
    cfg->attention = 1;
    cfg->stem = G2C_STEM_LIGHT;
    if (name && strcmp(name, "cpu") == 0) {
        cfg->input_size = 96;
        cfg->stem_width = 32;
        set_widths(cfg, 3, (const int[]){64, 128, 256});
    } else if (name && strcmp(name, "inception") == 0) {
        cfg->input_size = 224;
        cfg->stem = G2C_STEM_INCEPTION;
        cfg->stem_width = 32;
        set_widths(cfg, 3, (const int[]){256, 384, 512});
    } else if (name && strcmp(name, "resnet18") == 0) {
        cfg->branches = 1;
        cfg->attention = 0;
        cfg->input_size = 224;
        cfg->stem_width = 64;
        set_widths(cfg, 4, (const int[]){64, 128, 256, 512});
    } else if (name && strcmp(name, "tiny") == 0) {
        cfg->branches = 3;
        cfg->input_size = 16;
        cfg->stem_width = 4;
        cfg->classes = 3;
        set_widths(cfg, 1, (const int[]){8});
    } else {
        return g2c_error("classifier: unknown preset \"%s\" (cpu, inception, "
                         "resnet18, tiny)", name ? name : "(null)");
    }
    return 0;
}

static int in_range(const char *what, int v, int lo, int hi)
{
    if (v < lo || v > hi)
        return g2c_error("classifier config: %s = %d (must be %d to %d)",
                         what, v, lo, hi);
    return 0;
}

int g2c_classifier_config_check(const G2cClassifierConfig *c)
{
    if (in_range("branches", c->branches, 1, G2C_CLS_MAX_BRANCHES) ||
        in_range("attention", c->attention, 0, 1) ||
        in_range("input_size", c->input_size, 1, 8192) ||
        in_range("stem", (int)c->stem, G2C_STEM_LIGHT, G2C_STEM_INCEPTION) ||
        in_range("stem_width", c->stem_width, 1, 4096) ||
        in_range("units", c->units, 1, G2C_CLS_MAX_UNITS) ||
        in_range("classes", c->classes, 1, 1 << 20) ||
        in_range("reduction", c->reduction, 1, 1 << 20))
        return -1;
    for (int i = 0; i < c->units; i++) {
        char what[32];
        snprintf(what, sizeof what, "widths[%d]", i);
        if (in_range(what, c->widths[i], 1, 1 << 16))
            return -1;
    }
    if (!(c->bn_momentum >= 0.0f && c->bn_momentum <= 1.0f))
        return g2c_error("classifier config: bn_momentum = %g (must be 0 to "
                         "1)", c->bn_momentum);
    if (!(c->bn_eps > 0.0f))
        return g2c_error("classifier config: bn_eps = %g (must be > 0)",
                         c->bn_eps);
    return 0;
}

/* ---- building ---------------------------------------------------------- */

static int register_model(G2cClassifier *m, G2cParams *p, const char *prefix)
{
    const G2cClassifierConfig *cfg = &m->cfg;
    if (stem_register(&m->stem, p, prefix, cfg) != 0)
        return -1;
    int c = m->stem.out_c, h = m->stem.out_h, w = m->stem.out_w;
    for (int u = 0; u < cfg->units; u++) {
        Unit *un = &m->unit[u];
        if (unit_register(un, p, prefix, u, c, h, w, cfg->widths[u], cfg))
            return -1;
        c = un->c;
        h = un->oh;
        w = un->ow;
    }
    m->feat_c = c;
    m->feat_h = h;
    m->feat_w = w;
    char name[256];
    int64_t ws[2] = {cfg->classes, (int64_t)cfg->branches * c};
    int64_t bs[1] = {cfg->classes};
    snprintf(name, sizeof name, "%shead.weight", prefix);
    if ((m->head_w = g2c_params_add(p, name, 2, ws, 1)) < 0)
        return -1;
    snprintf(name, sizeof name, "%shead.bias", prefix);
    m->head_b = g2c_params_add(p, name, 1, bs, 1);
    return m->head_b < 0 ? -1 : 0;
}

G2cClassifier *g2c_classifier_build(const G2cClassifierConfig *cfg,
                                    G2cParams *p, const char *prefix)
{
    if (g2c_classifier_config_check(cfg) != 0)
        return NULL;
    if (p->data) {
        g2c_error("classifier: parameters already finalized");
        return NULL;
    }
    G2cClassifier *m = calloc(1, sizeof *m);
    if (!m) {
        g2c_error("classifier: out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    m->first = p->count;
    if (register_model(m, p, prefix ? prefix : "") != 0) {
        g2c_error_prefix("classifier: ");
        free(m);
        return NULL;
    }
    m->last = p->count;
    return m;
}

void g2c_classifier_free(G2cClassifier *m)
{
    free(m);
}

const G2cClassifierConfig *g2c_classifier_config(const G2cClassifier *m)
{
    return &m->cfg;
}

size_t g2c_classifier_param_count(const G2cClassifier *m, const G2cParams *p)
{
    size_t n = 0;
    for (int i = m->first; i < m->last; i++)
        if (p->tensors[i].trainable)
            n += p->tensors[i].numel;
    return n;
}

void g2c_classifier_feature_shape(const G2cClassifier *m, int *c, int *h,
                                  int *w)
{
    *c = m->feat_c;
    *h = m->feat_h;
    *w = m->feat_w;
}

void g2c_classifier_init(const G2cClassifier *m, G2cParams *p, G2cRng *rng)
{
    stem_init(&m->stem, p, rng);
    for (int u = 0; u < m->cfg.units; u++)
        unit_init(&m->unit[u], p, rng);
    linear_init(p, m->head_w, m->head_b, m->cfg.branches * m->feat_c,
                m->cfg.classes, rng);
}

/* ---- activations ------------------------------------------------------- */

/* The largest tensor of one crop's K images that the backward pass holds
 * as a gradient: every map, the stacked input, the head's vectors. */
static size_t max_image(const G2cClassifier *m)
{
    size_t s = (size_t)3 * m->cfg.input_size * m->cfg.input_size;
    if (stem_max_image(&m->stem) > s)
        s = stem_max_image(&m->stem);
    for (int u = 0; u < m->cfg.units; u++)
        if (unit_max_image(&m->unit[u]) > s)
            s = unit_max_image(&m->unit[u]);
    return s;
}

static void layout(const G2cClassifier *m, int b, G2cClassifierActs *a,
                   FloatBump *fb, IntBump *ib)
{
    const int k = m->cfg.branches, n = k * b, size = m->cfg.input_size;
    a->x = take_floats(fb, (size_t)n * 3 * size * size);
    stem_layout(&m->stem, n, &a->stem, fb, ib);
    size_t tmp = 0;
    for (int u = 0; u < m->cfg.units; u++) {
        const Unit *un = &m->unit[u];
        size_t t = (size_t)n * un->c * un->h * un->w;
        if (un->has_shortcut && t > tmp)
            tmp = t;
    }
    a->tmp = take_floats(fb, tmp);
    for (int u = 0; u < m->cfg.units; u++)
        unit_layout(&m->unit[u], k, b, &a->unit[u], a->tmp, fb, ib);
    a->gap = take_floats(fb, (size_t)n * m->feat_c);
    a->feat = take_floats(fb, (size_t)n * m->feat_c);
    a->logits = take_floats(fb, (size_t)b * m->cfg.classes);
    a->ws.size = (size_t)k * b * max_image(m);
    for (int i = 0; i < WS_SLOTS; i++) {
        a->ws.slot[i] = take_floats(fb, a->ws.size);
        a->ws.busy[i] = 0;
    }
}

G2cClassifierActs *g2c_classifier_acts_new(const G2cClassifier *m,
                                           int max_batch)
{
    if (max_batch < 1) {
        g2c_error("classifier activations: batch %d (must be >= 1)",
                  max_batch);
        return NULL;
    }
    G2cClassifierActs *a = calloc(1, sizeof *a);
    if (!a) {
        g2c_error("classifier activations: out of memory");
        return NULL;
    }
    FloatBump fb = {NULL, 0};
    IntBump ib = {NULL, 0};
    layout(m, max_batch, a, &fb, &ib);
    a->bytes = fb.used * sizeof(float) + ib.used * sizeof(int32_t);
    a->floats = g2c_nn_alloc_floats(fb.used);
    a->ints = aligned_alloc(64, (ib.used ? ib.used : 16) * sizeof(int32_t));
    if (!a->floats || !a->ints) {
        g2c_error("classifier activations: out of memory for %zu MB at "
                  "batch %d", a->bytes >> 20, max_batch);
        g2c_classifier_acts_free(a);
        return NULL;
    }
    fb.base = a->floats;
    fb.used = 0;
    ib.base = a->ints;
    ib.used = 0;
    layout(m, max_batch, a, &fb, &ib);
    a->max_batch = max_batch;
    return a;
}

void g2c_classifier_acts_free(G2cClassifierActs *a)
{
    if (!a)
        return;
    free(a->floats);
    free(a->ints);
    free(a);
}

size_t g2c_classifier_acts_bytes(const G2cClassifierActs *a)
{
    return a->bytes;
}

/* ---- forward and backward ---------------------------------------------- */

const float *g2c_classifier_forward(const G2cClassifier *m, G2cParams *p,
                                    const float *const *inputs, int batch,
                                    int training, G2cClassifierActs *a)
{
    const G2cClassifierConfig *cfg = &m->cfg;
    a->valid = 0;
    if (batch < 1 || batch > a->max_batch) {
        g2c_error("classifier forward: batch %d (activations hold 1 to %d)",
                  batch, a->max_batch);
        return NULL;
    }
    if (!p->data || p->count < m->last) {
        g2c_error("classifier forward: parameters not finalized, or not the "
                  "ones the model was built in");
        return NULL;
    }
    const int k = cfg->branches, n = k * batch;
    const size_t img = (size_t)3 * cfg->input_size * cfg->input_size;
    for (int i = 0; i < k; i++) {
        if (!inputs || !inputs[i]) {
            g2c_error("classifier forward: no input for branch %d", i);
            return NULL;
        }
        memcpy(a->x + (size_t)i * batch * img, inputs[i],
               (size_t)batch * img * sizeof(float));
    }
    const float mom = cfg->bn_momentum, eps = cfg->bn_eps;
    stem_forward(&m->stem, p, n, mom, eps, training, a->x, &a->stem);
    const float *x = a->stem.out;
    for (int u = 0; u < cfg->units; u++) {
        unit_forward(&m->unit[u], p, k, batch, mom, eps, training, x,
                     &a->unit[u]);
        x = a->unit[u].p;
    }
    g2c_gap_forward(n, m->feat_c, m->feat_h * m->feat_w, x, a->gap);
    branches_to_rows(k, batch, m->feat_c, a->gap, a->feat);
    g2c_linear_forward(batch, k * m->feat_c, cfg->classes, a->feat,
                       g2c_params_value(p, m->head_w),
                       g2c_params_value(p, m->head_b), a->logits);
    a->batch = batch;
    a->training = training != 0;
    a->valid = 1;
    return a->logits;
}

/* Whether any tensor registered before index `end` (the stem and the
 * units before a given one) takes a gradient. */
static int trains_before(const G2cClassifier *m, const G2cParams *p, int end)
{
    for (int i = m->first; i < end; i++)
        if (p->tensors[i].trainable && !p->tensors[i].frozen)
            return 1;
    return 0;
}

/* Head: dlogits -> gradient of the last unit's pooled map. */
static float *head_backward(const G2cClassifier *m, G2cParams *p,
                            G2cClassifierActs *a, const float *dlogits)
{
    const int k = m->cfg.branches, b = a->batch, c = m->feat_c;
    const int hw = m->feat_h * m->feat_w;
    Workspace *ws = &a->ws;
    float *df = ws_get(ws, (size_t)b * k * c);
    g2c_linear_backward(b, k * c, m->cfg.classes, a->feat,
                        g2c_params_value(p, m->head_w), dlogits, df,
                        g2c_params_gradient(p, m->head_w),
                        g2c_params_gradient(p, m->head_b));
    float *dg = ws_get(ws, (size_t)b * k * c);
    rows_to_branches(k, b, c, df, dg);
    ws_put(ws, df);
    float *dp = ws_get(ws, (size_t)b * k * c * hw);
    g2c_gap_backward(k * b, c, hw, dg, dp);
    ws_put(ws, dg);
    return dp;
}

static void check_workspace(const Workspace *ws)
{
    for (int i = 0; i < WS_SLOTS; i++)
        if (ws->busy[i]) {
            fprintf(stderr, "g2c classifier: gradient buffer %d not given "
                    "back (bug)\n", i);
            abort();
        }
}

int g2c_classifier_backward(const G2cClassifier *m, G2cParams *p,
                            G2cClassifierActs *a, const float *dlogits,
                            float *const *dinputs)
{
    if (!a->valid)
        return g2c_error("classifier backward: no forward pass to go back "
                         "through");
    const G2cClassifierConfig *cfg = &m->cfg;
    const int k = cfg->branches, b = a->batch, n = k * b;
    int want_in = 0;
    for (int i = 0; dinputs && i < k; i++)
        want_in |= dinputs[i] != NULL;
    float *d = head_backward(m, p, a, dlogits);
    for (int u = cfg->units - 1; u >= 0 && d; u--) {
        const float *x = u > 0 ? a->unit[u - 1].p : a->stem.out;
        int want = want_in || trains_before(m, p, m->unit[u].first);
        d = unit_backward(&m->unit[u], p, k, b, a->training, x, &a->unit[u],
                          d, want, &a->ws);
    }
    if (d) {
        d = stem_backward(&m->stem, p, n, a->training, a->x, &a->stem, d,
                          want_in, &a->ws);
    }
    if (d) {
        const size_t img = (size_t)3 * cfg->input_size * cfg->input_size;
        for (int i = 0; i < k; i++)
            if (dinputs[i])
                g2c_add_backward((size_t)b * img, d + (size_t)i * b * img,
                                 dinputs[i], NULL);
        ws_put(&a->ws, d);
    }
    check_workspace(&a->ws);
    return 0;
}
