/* report.json: the report's data for programs, described by
 * schemas/report.schema.json (tests validate every report they make
 * against it).  Images are left out; "crop" and "generated_views" say
 * which exist. */
#include "report-private.h"

#include "g2c/error.h"

#include <string.h>

/* A string or null; jansson refuses invalid UTF-8, which the load step
 * has already replaced. */
static json_t *str(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *slide_json(const G2cRepData *d)
{
    const G2cRepSlide *s = &d->slide;
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:o, s:I, s:o}", "id",
                     (json_int_t)s->id, "name", str(s->name), "path", str(s->path),
                     "fingerprint", str(s->fingerprint), "stain", str(s->stain), "vendor",
                     str(s->vendor), "width", (json_int_t)s->width, "height",
                     (json_int_t)s->height, "mpp", s->mpp > 0 ? json_real(s->mpp) : json_null(),
                     "file_size", (json_int_t)s->file_size, "note", str(d->slide_note));
}

static json_t *model_json(const G2cRepModel *m)
{
    /* The configuration as JSON when it is a JSON object, else its text. */
    json_t *config = json_loads(m->config ? m->config : "", 0, NULL);
    if (!json_is_object(config)) {
        json_decref(config);
        config = str(m->config ? m->config : "");
    }
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)m->id, "name",
                     str(m->name), "kind", str(m->kind), "created_at", str(m->created_at),
                     "checkpoint", str(m->checkpoint), "config", config);
}

static json_t *runs_json(const G2cRepData *d)
{
    json_t *runs = json_array();
    for (int i = 0; runs && i < d->n_runs; i++) {
        const G2cRepRun *r = &d->runs[i];
        if (json_array_append_new(
                runs, json_pack("{s:I, s:o, s:o, s:o, s:o}", "id", (json_int_t)r->id, "kind",
                                str(r->kind), "status", str(r->status), "started_at",
                                str(r->started_at), "finished_at", str(r->finished_at))) != 0)
            return json_decref(runs), NULL;
    }
    return runs;
}

static json_t *summary_json(const G2cRepData *d)
{
    json_t *counts = json_object(), *percent = json_object();
    int gs = 0, bad = !counts || !percent;
    for (int i = 0; !bad && i < d->n_labels; i++) {
        double p = d->n_gloms ? 100.0 * d->counts[i] / d->n_gloms : 0.0;
        bad |= json_object_set_new(counts, d->labels[i], json_integer(d->counts[i]));
        bad |= json_object_set_new(percent, d->labels[i], json_real(p));
        if (strcmp(d->labels[i], "gs") == 0)
            gs = d->counts[i];
    }
    if (bad) {
        json_decref(counts);
        json_decref(percent);
        return NULL;
    }
    return json_pack("{s:i, s:i, s:o, s:o, s:f, s:f, s:i, s:i}", "glomeruli", d->n_gloms,
                     "unclassified", d->unclassified, "counts", counts, "percent", percent,
                     "percent_gs", d->n_gloms ? 100.0 * gs / d->n_gloms : 0.0,
                     "mean_confidence", d->mean_confidence, "annotated", d->annotated,
                     "disagreements", d->disagreements);
}

static json_t *glom_json(const G2cRepGlom *g)
{
    json_t *probs = json_object(), *views = json_array();
    int bad = !probs || !views;
    for (int k = 0; !bad && k < g->n_probs; k++)
        bad |= json_object_set_new(probs, g->probs[k].label, json_real(g->probs[k].p));
    for (int k = 0; !bad && k < g->n_views; k++)
        if (g->views[k].img)
            bad |= json_array_append_new(views, json_string(g->views[k].stain));
    if (bad) {
        json_decref(probs);
        json_decref(views);
        return NULL;
    }
    return json_pack("{s:I, s:o, s:{s:f, s:f, s:f, s:f}, s:o, s:f, s:o, s:o, s:o, s:I, s:o, "
                     "s:b, s:o}",
                     "annotation_id", (json_int_t)g->annotation_id, "source_id",
                     str(g->source_id ? g->source_id : ""), "box", "x", g->x, "y", g->y, "w",
                     g->w, "h", g->h, "predicted", str(g->predicted), "confidence",
                     g->confidence, "probabilities", probs, "annotated", str(g->annotated),
                     "agrees", g->agrees < 0 ? json_null() : json_boolean(g->agrees),
                     "run_id", (json_int_t)g->run_id, "created_at", str(g->created_at),
                     "crop", g->crop_img != NULL, "generated_views", views);
}

json_t *g2c_rep_json(const G2cRepData *d)
{
    json_t *labels = json_array(), *gloms = json_array();
    int bad = !labels || !gloms;
    for (int i = 0; !bad && i < d->n_labels; i++)
        bad |= json_array_append_new(labels, json_string(d->labels[i]));
    for (int i = 0; !bad && i < d->n_gloms; i++)
        bad |= json_array_append_new(gloms, glom_json(&d->gloms[i]));
    if (bad) {
        json_decref(labels);
        json_decref(gloms);
        g2c_error("out of memory");
        return NULL;
    }
    json_t *root = json_pack(
        "{s:s, s:i, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:i, s:i, s:s}, s:o}",
        "format", "g2c-report", "format_version", 1, "g2c_version", G2C_VERSION,
        "generated_at", d->generated_at, "catalog", str(d->catalog), "patient",
        str(d->slide.patient), "slide", slide_json(d), "model", model_json(&d->model), "runs",
        runs_json(d), "labels", labels, "summary", summary_json(d), "thumbnail", "width",
        d->thumb_width, "height", d->thumb_height, "overlay", "overlay.png", "glomeruli",
        gloms);
    if (!root)
        g2c_error("out of memory");
    return root;
}

int g2c_rep_write_json(const char *path, const G2cRepData *d)
{
    json_t *root = g2c_rep_json(d);
    if (!root)
        return g2c_error_prefix("%s: ", path);
    FILE *out = g2c_rep_open(path);
    if (!out) {
        json_decref(root);
        return -1;
    }
    int rc = json_dumpf(root, out, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
    json_decref(root);
    fputc('\n', out);
    if (rc != 0) {
        g2c_rep_abort(out, path);
        return g2c_error("%s: cannot write JSON", path);
    }
    return g2c_rep_close(out, path);
}
