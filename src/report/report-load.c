/* The rows of one slide report, read from the catalog: the slide, the
 * model, the runs that made the predictions, and one row per classified
 * glomerulus (from the glomerulus_results view, so agreement with the
 * annotator is decided by the same rule as in `g2c query`). */
#include "report-private.h"

#include "g2c/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Column text as a valid UTF-8 copy; NULL for SQL NULL.  *oom is set when
 * a non-NULL value could not be copied. */
static char *col_text(sqlite3_stmt *st, int c, int *oom)
{
    const char *s = (const char *)sqlite3_column_text(st, c);
    if (!s)
        return NULL;
    char *copy = g2c_rep_strdup(s);
    if (!copy)
        *oom = 1;
    return copy;
}

static int load_slide(G2cCatalog *cat, int64_t slide_id, G2cRepSlide *s)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT s.name, s.path, s.fingerprint, s.vendor, st.name, pa.external_id, "
             "s.width, s.height, coalesce(s.mpp_x, 0), s.file_size FROM slides s "
             "JOIN stains st ON st.id = s.stain_id JOIN patients pa ON pa.id = s.patient_id "
             "WHERE s.id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, slide_id);
    int rc = sqlite3_step(st), oom = 0;
    if (rc == SQLITE_ROW) {
        s->id = slide_id;
        s->name = col_text(st, 0, &oom);
        s->path = col_text(st, 1, &oom);
        s->fingerprint = col_text(st, 2, &oom);
        s->vendor = col_text(st, 3, &oom);
        s->stain = col_text(st, 4, &oom);
        s->patient = col_text(st, 5, &oom);
        s->width = sqlite3_column_int64(st, 6);
        s->height = sqlite3_column_int64(st, 7);
        s->mpp = sqlite3_column_double(st, 8);
        s->file_size = sqlite3_column_int64(st, 9);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? g2c_error("%s: no slide %lld", g2c_catalog_path(cat),
                                             (long long)slide_id)
                                 : g2c_catalog_error(cat, "reading the slide");
    return oom ? g2c_error("out of memory") : 0;
}

static int load_model(G2cCatalog *cat, int64_t model_id, G2cRepModel *m)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT name, kind, config, checkpoint, created_at FROM models WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, model_id);
    int rc = sqlite3_step(st), oom = 0;
    if (rc == SQLITE_ROW) {
        m->id = model_id;
        m->name = col_text(st, 0, &oom);
        m->kind = col_text(st, 1, &oom);
        m->config = col_text(st, 2, &oom);
        m->checkpoint = col_text(st, 3, &oom);
        m->created_at = col_text(st, 4, &oom);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? g2c_error("%s: no model %lld", g2c_catalog_path(cat),
                                             (long long)model_id)
                                 : g2c_catalog_error(cat, "reading the model");
    return oom ? g2c_error("out of memory") : 0;
}

static int load_runs(G2cCatalog *cat, G2cRepData *d)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT id, kind, status, started_at, finished_at FROM runs WHERE id IN "
             "(SELECT p.run_id FROM predictions p JOIN annotations a ON a.id = p.annotation_id "
             "WHERE a.slide_id = ?1 AND p.model_id = ?2) ORDER BY id");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, d->slide.id);
    sqlite3_bind_int64(st, 2, d->model.id);
    int rc, oom = 0, cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && !oom) {
        if (d->n_runs == cap) {
            cap = cap ? 2 * cap : 4;
            G2cRepRun *r = realloc(d->runs, (size_t)cap * sizeof *r);
            if (!r) {
                oom = 1;
                break;
            }
            d->runs = r;
        }
        G2cRepRun *r = &d->runs[d->n_runs++];
        r->id = sqlite3_column_int64(st, 0);
        r->kind = col_text(st, 1, &oom);
        r->status = col_text(st, 2, &oom);
        r->started_at = col_text(st, 3, &oom);
        r->finished_at = col_text(st, 4, &oom);
    }
    sqlite3_finalize(st);
    if (oom)
        return g2c_error("out of memory");
    return rc == SQLITE_DONE ? 0 : g2c_catalog_error(cat, "reading runs");
}

/* ---- labels ---------------------------------------------------------- */

static int label_index(const G2cRepData *d, const char *name)
{
    for (int i = 0; i < d->n_labels; i++)
        if (strcmp(d->labels[i], name) == 0)
            return i;
    return -1;
}

static int add_label(G2cRepData *d, const char *name, int *cap)
{
    if (!name || label_index(d, name) >= 0)
        return 0;
    if (d->n_labels == *cap) {
        *cap = *cap ? 2 * *cap : 8;
        char **l = realloc(d->labels, (size_t)*cap * sizeof *l);
        if (!l)
            return g2c_error("out of memory");
        d->labels = l;
    }
    if (!(d->labels[d->n_labels] = strdup(name)))
        return g2c_error("out of memory");
    d->n_labels++;
    return 0;
}

/* Classes of this report: the catalog's labels in catalog order when they
 * occur (predicted, annotated or with a probability), then any other
 * probability key in the order met. */
static int collect_labels(G2cCatalog *cat, G2cRepData *d)
{
    int cap = 0;
    sqlite3_stmt *st = g2c_catalog_prepare(cat, "SELECT name FROM labels ORDER BY id");
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int used = 0;
        for (int g = 0; g < d->n_gloms && !used; g++) {
            const G2cRepGlom *gl = &d->gloms[g];
            used = strcmp(gl->predicted, name) == 0 ||
                   (gl->annotated && strcmp(gl->annotated, name) == 0);
            for (int k = 0; k < gl->n_probs && !used; k++)
                used = strcmp(gl->probs[k].label, name) == 0;
        }
        if (used && add_label(d, name, &cap) != 0) {
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return g2c_catalog_error(cat, "reading labels");
    for (int g = 0; g < d->n_gloms; g++)
        for (int k = 0; k < d->gloms[g].n_probs; k++)
            if (add_label(d, d->gloms[g].probs[k].label, &cap) != 0)
                return -1;
    return 0;
}

static int by_label_order(const void *a, const void *b, void *ctx)
{
    const G2cRepData *d = ctx;
    return label_index(d, ((const G2cRepProb *)a)->label) -
           label_index(d, ((const G2cRepProb *)b)->label);
}

/* ---- glomeruli ------------------------------------------------------- */

/* p within [0, 1], allowing float rounding just outside (then clamped). */
static int check_probability(double *p)
{
    if (!isfinite(*p) || *p < -1e-6 || *p > 1 + 1e-6)
        return -1;
    *p = *p < 0 ? 0 : *p > 1 ? 1 : *p;
    return 0;
}

static int parse_probabilities(const char *text, G2cRepGlom *g)
{
    json_error_t jerr;
    json_t *obj = json_loads(text ? text : "", JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return g2c_error("probabilities are not a JSON object of label -> p");
    }
    g->probs = calloc(json_object_size(obj) + 1, sizeof *g->probs);
    if (!g->probs) {
        json_decref(obj);
        return g2c_error("out of memory");
    }
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        double p = json_number_value(value);
        if (!json_is_number(value) || check_probability(&p) != 0) {
            g2c_error("probability of '%s' is not a number from 0 to 1", key);
            json_decref(obj);
            return -1;
        }
        G2cRepProb *pr = &g->probs[g->n_probs];
        if (!(pr->label = g2c_rep_strdup(key))) {
            json_decref(obj);
            return g2c_error("out of memory");
        }
        pr->p = p;
        g->n_probs++;
    }
    json_decref(obj);
    return 0;
}

static int read_glom(sqlite3_stmt *st, G2cRepGlom *g)
{
    int oom = 0;
    g->annotation_id = sqlite3_column_int64(st, 0);
    g->x = sqlite3_column_double(st, 1);
    g->y = sqlite3_column_double(st, 2);
    g->w = sqlite3_column_double(st, 3);
    g->h = sqlite3_column_double(st, 4);
    g->source_id = col_text(st, 5, &oom);
    g->annotated = col_text(st, 6, &oom);
    g->predicted = col_text(st, 7, &oom);
    g->confidence = sqlite3_column_double(st, 8);
    g->run_id = sqlite3_column_int64(st, 10);
    g->created_at = col_text(st, 11, &oom);
    g->agrees = sqlite3_column_type(st, 12) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 12);
    if (oom)
        return g2c_error("out of memory");
    if (check_probability(&g->confidence) != 0)
        return g2c_error("confidence %g is not a number from 0 to 1", g->confidence);
    return parse_probabilities((const char *)sqlite3_column_text(st, 9), g);
}

static int load_gloms(G2cCatalog *cat, G2cRepData *d)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT g.annotation_id, g.x, g.y, g.w, g.h, a.source_id, g.annotated_label, "
             "g.predicted_label, g.confidence, g.probabilities, g.run_id, g.created_at, "
             "g.agrees, g.prediction_id FROM glomerulus_results g "
             "JOIN annotations a ON a.id = g.annotation_id "
             "WHERE g.slide_id = ?1 AND g.model = ?2 ORDER BY g.annotation_id");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, d->slide.id);
    sqlite3_bind_text(st, 2, d->model.name, -1, SQLITE_TRANSIENT);
    int rc, cap = 0, bad = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (d->n_gloms == cap) {
            cap = cap ? 2 * cap : 64;
            G2cRepGlom *g = realloc(d->gloms, (size_t)cap * sizeof *g);
            if (!g) {
                bad = g2c_error("out of memory");
                break;
            }
            d->gloms = g;
        }
        G2cRepGlom *g = &d->gloms[d->n_gloms++];
        memset(g, 0, sizeof *g);
        if (read_glom(st, g) != 0) {
            bad = g2c_error_prefix("%s: prediction %lld (glomerulus %lld): ",
                                   g2c_catalog_path(cat),
                                   (long long)sqlite3_column_int64(st, 13),
                                   (long long)g->annotation_id);
            break;
        }
    }
    sqlite3_finalize(st);
    if (bad)
        return -1;
    return rc == SQLITE_DONE ? 0 : g2c_catalog_error(cat, "reading predictions");
}

static int count_unclassified(G2cCatalog *cat, G2cRepData *d)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT count(*) FROM annotations a WHERE a.slide_id = ?1 AND NOT EXISTS "
             "(SELECT 1 FROM predictions p WHERE p.annotation_id = a.id AND p.model_id = ?2)");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, d->slide.id);
    sqlite3_bind_int64(st, 2, d->model.id);
    int rc = sqlite3_step(st);
    d->unclassified = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : g2c_catalog_error(cat, "counting glomeruli");
}

static int summarise(G2cRepData *d)
{
    d->counts = calloc((size_t)d->n_labels + 1, sizeof *d->counts);
    if (!d->counts)
        return g2c_error("out of memory");
    double sum = 0;
    for (int i = 0; i < d->n_gloms; i++) {
        G2cRepGlom *g = &d->gloms[i];
        g->predicted_index = label_index(d, g->predicted);
        d->counts[g->predicted_index]++;
        sum += g->confidence;
        d->annotated += g->agrees >= 0;
        d->disagreements += g->agrees == 0;
        qsort_r(g->probs, (size_t)g->n_probs, sizeof *g->probs, by_label_order, d);
    }
    d->mean_confidence = d->n_gloms ? sum / d->n_gloms : 0;
    return 0;
}

int g2c_rep_load(G2cCatalog *cat, int64_t slide_id, int64_t model_id, G2cRepData *d)
{
    memset(d, 0, sizeof *d);
    g2c_rep_now(d->generated_at);
    if (!(d->catalog = g2c_rep_strdup(g2c_catalog_path(cat))))
        return g2c_error("out of memory");
    if (load_slide(cat, slide_id, &d->slide) != 0 || load_model(cat, model_id, &d->model) != 0 ||
        load_runs(cat, d) != 0 || load_gloms(cat, d) != 0 || count_unclassified(cat, d) != 0 ||
        collect_labels(cat, d) != 0 || summarise(d) != 0) {
        g2c_rep_free(d);
        return -1;
    }
    return 0;
}

void g2c_rep_free(G2cRepData *d)
{
    free(d->catalog);
    G2cRepSlide *s = &d->slide;
    free(s->name), free(s->path), free(s->fingerprint), free(s->vendor), free(s->stain),
        free(s->patient);
    G2cRepModel *m = &d->model;
    free(m->name), free(m->kind), free(m->config), free(m->checkpoint), free(m->created_at);
    for (int i = 0; i < d->n_runs; i++) {
        G2cRepRun *r = &d->runs[i];
        free(r->kind), free(r->status), free(r->started_at), free(r->finished_at);
    }
    free(d->runs);
    for (int i = 0; i < d->n_labels; i++)
        free(d->labels[i]);
    free(d->labels);
    for (int i = 0; i < d->n_gloms; i++) {
        G2cRepGlom *g = &d->gloms[i];
        free(g->source_id), free(g->annotated), free(g->predicted), free(g->created_at);
        for (int k = 0; k < g->n_probs; k++)
            free(g->probs[k].label);
        free(g->probs);
        free(g->crop_img);
        for (int k = 0; k < g->n_views; k++)
            free(g->views[k].stain), free(g->views[k].img);
        free(g->views);
    }
    free(d->gloms);
    free(d->counts);
    free(d->thumb_img);
    free(d->overlay_png);
    free(d->slide_note);
    memset(d, 0, sizeof *d);
}
