/* The G2C model of stage 2: the multi-branch classifier and its
 * generators in one G2cParams, its configuration as JSON, weights from
 * stage-1 checkpoints, and the forward, backward and prediction passes. */
#include "stage2-private.h"

#include "g2c/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration JSON ------------------------------------------------------ */

/* A float as the shortest decimal that reads back to it, so that the JSON
 * says 0.1 rather than 0.100000001 and survives a round trip. */
static json_t *real_of_float(float f)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.7g", (double)f);
    return json_real(strtod(buf, NULL));
}

json_t *s2_spec_to_json(const S2ModelSpec *s)
{
    const G2cClassifierConfig *c = &s->cls;
    json_t *widths = json_array();
    for (int i = 0; i < c->units; i++)
        json_array_append_new(widths, json_integer(c->widths[i]));
    json_t *cls = json_pack("{s:i, s:b, s:i, s:s, s:i, s:o, s:i, s:i, s:o, s:o}", "branches",
                            c->branches, "attention", c->attention, "input_size", c->input_size,
                            "stem", c->stem == G2C_STEM_INCEPTION ? "inception" : "light",
                            "stem_width", c->stem_width, "widths", widths, "classes",
                            c->classes, "reduction", c->reduction, "bn_momentum",
                            real_of_float(c->bn_momentum), "bn_eps", real_of_float(c->bn_eps));
    json_t *gens = json_array();
    for (int g = 0; g < s->n_gen; g++) {
        const S2GenSpec *x = &s->gen[g];
        json_array_append_new(gens, json_pack("{s:s, s:I, s:s, s:s, s:i, s:i}", "model",
                                              x->model, "model_id", (json_int_t)x->model_id,
                                              "stain", x->stain, "checkpoint", x->checkpoint,
                                              "ngf", x->ngf, "n_blocks", x->n_blocks));
    }
    return json_pack("{s:o, s:o, s:i}", "classifier", cls, "generators", gens, "batch",
                     s->batch);
}

static int get_int(const json_t *o, const char *key, int *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) && !json_is_boolean(v))
        return g2c_error("configuration: '%s' missing or not a whole number", key);
    *out = json_is_boolean(v) ? json_is_true(v) : (int)json_integer_value(v);
    return 0;
}

static int classifier_from_json(const json_t *c, G2cClassifierConfig *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    if (!json_is_object(c))
        return g2c_error("configuration: no 'classifier' object");
    const char *stem = json_string_value(json_object_get(c, "stem"));
    const json_t *w = json_object_get(c, "widths");
    if (get_int(c, "branches", &cfg->branches) || get_int(c, "attention", &cfg->attention) ||
        get_int(c, "input_size", &cfg->input_size) ||
        get_int(c, "stem_width", &cfg->stem_width) || get_int(c, "classes", &cfg->classes) ||
        get_int(c, "reduction", &cfg->reduction))
        return -1;
    if (!stem || (strcmp(stem, "light") && strcmp(stem, "inception")))
        return g2c_error("configuration: classifier stem is 'light' or 'inception'");
    cfg->stem = strcmp(stem, "inception") == 0 ? G2C_STEM_INCEPTION : G2C_STEM_LIGHT;
    if (!json_is_array(w) || json_array_size(w) < 1 || json_array_size(w) > G2C_CLS_MAX_UNITS)
        return g2c_error("configuration: classifier widths must be 1 to %d numbers",
                         G2C_CLS_MAX_UNITS);
    cfg->units = (int)json_array_size(w);
    for (int i = 0; i < cfg->units; i++)
        cfg->widths[i] = (int)json_integer_value(json_array_get(w, (size_t)i));
    cfg->bn_momentum = (float)json_number_value(json_object_get(c, "bn_momentum"));
    cfg->bn_eps = (float)json_number_value(json_object_get(c, "bn_eps"));
    return g2c_classifier_config_check(cfg);
}

static const char *str_or_empty(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : "";
}

int s2_spec_from_json(const json_t *j, S2ModelSpec *s)
{
    memset(s, 0, sizeof *s);
    if (classifier_from_json(json_object_get(j, "classifier"), &s->cls) != 0 ||
        get_int(j, "batch", &s->batch) != 0)
        return -1;
    const json_t *gens = json_object_get(j, "generators");
    if (!json_is_array(gens) || (int)json_array_size(gens) != s->cls.branches - 1)
        return g2c_error("configuration: %d branches need %d generators", s->cls.branches,
                         s->cls.branches - 1);
    s->n_gen = (int)json_array_size(gens);
    for (int g = 0; g < s->n_gen; g++) {
        const json_t *x = json_array_get(gens, (size_t)g);
        S2GenSpec *o = &s->gen[g];
        const char *stain = json_string_value(json_object_get(x, "stain"));
        if (!stain || get_int(x, "ngf", &o->ngf) || get_int(x, "n_blocks", &o->n_blocks))
            return g2c_error_prefix("configuration: generator %d: ", g);
        snprintf(o->stain, sizeof o->stain, "%s", stain);
        snprintf(o->model, sizeof o->model, "%s",
                 str_or_empty(json_object_get(x, "model")));
        snprintf(o->checkpoint, sizeof o->checkpoint, "%s",
                 str_or_empty(json_object_get(x, "checkpoint")));
        o->model_id = (int64_t)json_integer_value(json_object_get(x, "model_id"));
    }
    if (s->batch < 1)
        return g2c_error("configuration: batch %d", s->batch);
    return 0;
}

/* ---- building ---------------------------------------------------------------- */

static int alloc_buffers(S2Model *m)
{
    const S2ModelSpec *s = &m->spec;
    const int size = s->cls.input_size, b = s->batch;
    const size_t img = (size_t)3 * size * size;
    m->acts = g2c_classifier_acts_new(m->cls, b);
    m->x = malloc((size_t)b * img * sizeof *m->x);
    m->dlogits = malloc((size_t)b * s->cls.classes * sizeof *m->dlogits);
    m->dgen = calloc((size_t)(s->n_gen > 0 ? s->n_gen : 1), sizeof *m->dgen);
    if (!m->acts || !m->x || !m->dlogits || !m->dgen)
        return m->acts ? g2c_error("out of memory for the model's buffers") : -1;
    for (int g = 0; g < s->n_gen; g++) {
        if (g2c_net_acts_init(&m->gacts[g], &m->nets[g], b, size, size) != 0)
            return -1;
        if (!(m->dgen[g] = malloc((size_t)b * img * sizeof(float))))
            return g2c_error("out of memory for the generators' gradients");
    }
    return 0;
}

int s2_model_build(S2Model *m, const S2ModelSpec *spec)
{
    memset(m, 0, sizeof *m);
    m->spec = *spec;
    g2c_params_init(&m->params);
    const int n = spec->n_gen, size = spec->cls.input_size;
    if (spec->cls.branches != n + 1)
        return g2c_error("model: %d branches but %d generators", spec->cls.branches, n);
    if (n > 0 && (size % 4 != 0 || size < 8))
        return g2c_error("model: input size %d: generators need a multiple of 4, at least 8",
                         size);
    if (!(m->cls = g2c_classifier_build(&spec->cls, &m->params, "classifier.")))
        return -1;
    m->nets = calloc((size_t)(n > 0 ? n : 1), sizeof *m->nets);
    m->gacts = calloc((size_t)(n > 0 ? n : 1), sizeof *m->gacts);
    if (!m->nets || !m->gacts)
        return g2c_error("out of memory");
    for (int g = 0; g < n; g++) {
        G2cResnetGenConfig gc = {3, 3, spec->gen[g].ngf, spec->gen[g].n_blocks};
        char prefix[96];
        snprintf(prefix, sizeof prefix, "gen_%s.", spec->gen[g].stain);
        if (g2c_resnet_gen_build(&m->nets[g], &gc, &m->params, prefix) != 0)
            return -1;
    }
    if (g2c_params_finalize(&m->params) != 0)
        return -1;
    return alloc_buffers(m);
}

void s2_model_free(S2Model *m)
{
    for (int g = 0; m->gacts && g < m->spec.n_gen; g++)
        g2c_net_acts_free(&m->gacts[g]);
    for (int g = 0; m->dgen && g < m->spec.n_gen; g++)
        free(m->dgen[g]);
    free(m->dgen);
    free(m->gacts);
    free(m->nets);
    free(m->x);
    free(m->dlogits);
    g2c_classifier_acts_free(m->acts);
    g2c_classifier_free(m->cls);
    if (m->has_opt)
        g2c_optim_free(&m->opt);
    g2c_params_free(&m->params);
    memset(m, 0, sizeof *m);
}

/* Copy generator g's tensors from its stage-1 file; every tensor must be
 * there with the same shape. */
static int load_generator(S2Model *m, int g)
{
    const S2GenSpec *gs = &m->spec.gen[g];
    G2cSafetensors *st = g2c_safetensors_open(gs->checkpoint);
    if (!st)
        return -1;
    char prefix[96];
    snprintf(prefix, sizeof prefix, "gen_%s.", gs->stain);
    size_t plen = strlen(prefix);
    int rc = 0;
    for (int t = 0; t < m->params.count && rc == 0; t++) {
        const G2cTensorInfo *ti = &m->params.tensors[t];
        if (strncmp(ti->name, prefix, plen) != 0)
            continue;
        char name[G2C_MAX_NAME + 16];
        snprintf(name, sizeof name, "%s%s", gs->file_prefix, ti->name + plen);
        int ndim;
        int64_t shape[8];
        const float *v = g2c_safetensors_get(st, name, &ndim, shape);
        int same = v && ndim == ti->ndim;
        for (int d = 0; same && d < ndim; d++)
            same = shape[d] == ti->shape[d];
        if (!v)
            rc = g2c_error("%s: tensor %s: missing", gs->checkpoint, name);
        else if (!same)
            rc = g2c_error("%s: tensor %s: shape differs from the generator's", gs->checkpoint,
                           name);
        else
            memcpy(g2c_params_value(&m->params, t), v, ti->numel * sizeof(float));
    }
    g2c_safetensors_close(st);
    return rc;
}

int s2_model_init(S2Model *m, uint64_t seed)
{
    G2cRng rng;
    g2c_rng_seed(&rng, seed);
    g2c_classifier_init(m->cls, &m->params, &rng);
    for (int g = 0; g < m->spec.n_gen; g++)
        if (load_generator(m, g) != 0)
            return g2c_error_prefix("generator %s: ", m->spec.gen[g].model);
    return 0;
}

int s2_model_freeze_generators(S2Model *m, int frozen)
{
    return g2c_params_set_frozen(&m->params, "gen_", frozen);
}

/* ---- passes ------------------------------------------------------------------ */

const float *s2_model_forward(S2Model *m, int training)
{
    m->inputs[0] = m->x;
    for (int g = 0; g < m->spec.n_gen; g++) {
        g2c_convnet_forward(&m->nets[g], &m->params, m->x, &m->gacts[g]);
        m->inputs[g + 1] = m->gacts[g].out;
    }
    return g2c_classifier_forward(m->cls, &m->params, m->inputs, m->spec.batch, training,
                                  m->acts);
}

int s2_model_backward(S2Model *m, const float *dlogits, int generators_trainable)
{
    const int n = m->spec.n_gen;
    const size_t img = (size_t)3 * m->spec.cls.input_size * m->spec.cls.input_size;
    float *dins[G2C_CLS_MAX_BRANCHES] = {NULL};
    int through = generators_trainable && n > 0;
    for (int g = 0; through && g < n; g++) {
        memset(m->dgen[g], 0, (size_t)m->spec.batch * img * sizeof(float));
        dins[g + 1] = m->dgen[g];
    }
    if (g2c_classifier_backward(m->cls, &m->params, m->acts, dlogits, through ? dins : NULL))
        return -1;
    for (int g = 0; through && g < n; g++)
        g2c_convnet_backward(&m->nets[g], &m->params, &m->gacts[g], m->dgen[g], NULL);
    return 0;
}

static uint8_t to_byte(float v)
{
    float b = (v + 1.0f) * 127.5f + 0.5f;
    return b <= 0.0f ? 0 : b >= 255.0f ? 255 : (uint8_t)b;
}

static int tensor_to_image(const float *t, int size, G2cImage *out)
{
    if (g2c_image_alloc(out, size, size, 0) != 0)
        return -1;
    const size_t plane = (size_t)size * size;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++)
            out->rgb[3 * i + c] = to_byte(t[c * plane + i]);
    return 0;
}

static void softmax(const float *z, int k, float *p)
{
    float mx = z[0];
    for (int j = 1; j < k; j++)
        mx = z[j] > mx ? z[j] : mx;
    double s = 0;
    for (int j = 0; j < k; j++)
        s += exp((double)z[j] - mx);
    for (int j = 0; j < k; j++)
        p[j] = (float)(exp((double)z[j] - mx) / s);
}

/* In batches; a short last batch is filled up with copies of its last crop
 * (eval-mode batch norm treats every crop alone, so they change nothing). */
int s2_model_predict(S2Model *m, const uint8_t *rgb, int n, int *classes, float *probs,
                     G2cImage *views)
{
    const int size = m->spec.cls.input_size, b = m->spec.batch, k = m->spec.cls.classes;
    const size_t px = (size_t)size * size * 3, img = px;
    for (int start = 0; start < n; start += b) {
        for (int i = 0; i < b; i++) {
            int idx = start + i < n ? start + i : n - 1;
            s2_crop_to_tensor(rgb + (size_t)idx * px, size, NULL, m->x + (size_t)i * img);
        }
        const float *logits = s2_model_forward(m, 0);
        if (!logits)
            return -1;
        for (int i = 0; i < b && start + i < n; i++) {
            float *p = probs + (size_t)(start + i) * k;
            softmax(logits + (size_t)i * k, k, p);
            int best = 0;
            for (int j = 1; j < k; j++)
                best = p[j] > p[best] ? j : best;
            classes[start + i] = best;
            for (int g = 0; views && g < m->spec.n_gen; g++)
                if (tensor_to_image(m->gacts[g].out + (size_t)i * img, size,
                                    &views[(size_t)(start + i) * m->spec.n_gen + g]) != 0)
                    return -1;
        }
    }
    return 0;
}

/* ---- model rows ------------------------------------------------------------------ */

static void known_models(G2cCatalog *cat, char *buf, size_t size)
{
    buf[0] = '\0';
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT name FROM models WHERE kind = 'g2c' ORDER BY name LIMIT 20");
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", len ? ", " : "", sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
}

int s2_model_row_find(G2cCatalog *cat, const char *name, S2ModelRow *row)
{
    memset(row, 0, sizeof *row);
    snprintf(row->name, sizeof row->name, "%s", name);
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT id, kind, config, checkpoint FROM models WHERE name = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        char known[1024];
        known_models(cat, known, sizeof known);
        return g2c_error("%s: no model named '%s' (%s%s)", g2c_catalog_path(cat), name,
                         known[0] ? "G2C models: " : "no G2C models yet; run g2c train", known);
    }
    row->id = sqlite3_column_int64(st, 0);
    const char *kind = (const char *)sqlite3_column_text(st, 1);
    int rc = 0;
    json_error_t err;
    if (strcmp(kind, "g2c") != 0)
        rc = g2c_error("model '%s' is of kind '%s', not a G2C classifier (kind 'g2c', made "
                       "by g2c train)", name, kind);
    else if (!(row->config = json_loads((const char *)sqlite3_column_text(st, 2), 0, &err)))
        rc = g2c_error("model '%s': configuration is not JSON (%s)", name, err.text);
    else if (sqlite3_column_type(st, 3) == SQLITE_NULL)
        rc = g2c_error("model '%s' has no checkpoint yet (g2c train has not finished an "
                       "epoch)", name);
    else
        snprintf(row->checkpoint, sizeof row->checkpoint, "%s", sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    if (rc == 0) {
        const char *task = json_string_value(json_object_get(row->config, "task"));
        const char *variant = json_string_value(json_object_get(row->config, "variant"));
        snprintf(row->variant, sizeof row->variant, "%s", variant ? variant : "?");
        if (!(row->task = g2c_task_find(task)))
            rc = g2c_error_prefix("model '%s': ", name);
    }
    if (rc != 0)
        s2_model_row_free(row);
    return rc;
}

int64_t s2_count_predictions(G2cCatalog *cat, int64_t model_id, const char *split)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT count(*) FROM predictions p JOIN annotations a ON a.id = p.annotation_id "
             "JOIN slides s ON s.id = a.slide_id WHERE p.model_id = ?1 AND s.split = ?2");
    int64_t n = 0;
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, model_id);
    sqlite3_bind_text(st, 2, split, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

void s2_model_row_free(S2ModelRow *row)
{
    json_decref(row->config);
    row->config = NULL;
}

int s2_model_open(const S2ModelRow *row, S2Model *m)
{
    S2ModelSpec spec;
    if (s2_spec_from_json(row->config, &spec) != 0 || s2_model_build(m, &spec) != 0 ||
        g2c_checkpoint_load(row->checkpoint, &m->params, NULL, 1) != 0) {
        s2_model_free(m);
        return g2c_error_prefix("model '%s': ", row->name);
    }
    return 0;
}

/* ---- small shared helpers --------------------------------------------------------- */

int s2_label_id(G2cCatalog *cat, const char *name, int64_t *id)
{
    if (g2c_catalog_label_id(cat, name, id) == 0)
        return 0;
    if (strcmp(name, "s") != 0)
        return -1;
    /* The level-1 class "sclerosis" is not a built-in label; users may add
     * labels, and so does g2c eval for this one. */
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "INSERT INTO labels (name, description) VALUES ('s', 'sclerosis, segmental or "
             "global (the s class of task s-vs-noa)')");
    if (!st || g2c_catalog_step_done(cat, st) != 0) {
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    *id = sqlite3_last_insert_rowid(g2c_catalog_db(cat));
    return 0;
}

const char *s2_num(char *buf, size_t size, double v)
{
    if (isnan(v))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.4f", v);
    return buf;
}

json_t *s2_json_real(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}
