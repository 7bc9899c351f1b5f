/* The catalog rows of g2c infer: the run (kind 'infer', 'running' while it
 * goes, then done, partial or failed with its counts) and, per slide, one
 * transaction with the predictions (g2c_predictions_store, as g2c eval
 * stores them) and the generated views. */
#include "infer-private.h"

#include "g2c/error.h"

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static char *dump(json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(j);
    if (!text)
        g2c_error("out of memory");
    return text;
}

int inf_run_start(Infer *inf)
{
    const G2cInferOptions *o = inf->o;
    const char *scope = o->slide ? "slide" : o->patient ? "patient" : "all";
    char *params = dump(json_pack("{s:s, s:s?, s:s?, s:s?, s:b, s:b, s:I}", "scope", scope,
                                  "slide", o->slide, "patient", o->patient, "given", o->given,
                                  "rescore", o->rescore != 0, "views", o->views != 0, "todo",
                                  (json_int_t)inf->total_todo));
    if (!params)
        return -1;
    int rc = g2c_catalog_begin(inf->cat);
    if (rc == 0) {
        rc = g2c_run_insert(inf->cat, "infer", inf->model_id, "running", params, "{}",
                            &inf->run_id);
        if (rc == 0)
            rc = g2c_catalog_commit(inf->cat);
        else
            g2c_catalog_rollback(inf->cat);
    }
    free(params);
    return rc;
}

int inf_run_finish(Infer *inf, const G2cInferResult *r, const char *status)
{
    json_t *classes = json_object();
    for (int c = 0; c < inf->task->classes && classes; c++)
        json_object_set_new(classes, inf->task->predicted_label[c],
                            json_integer((json_int_t)r->predicted[c]));
    char *metrics = dump(json_pack(
        "{s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:o, s:f, s:f}", "slides", r->slides,
        "slides_written", r->slides_written, "slides_failed", r->slides_failed, "glomeruli",
        (json_int_t)r->scored, "skipped", (json_int_t)r->skipped, "not_given",
        (json_int_t)r->not_given, "views", (json_int_t)r->views, "predicted", classes,
        "seconds", r->seconds, "glomeruli_per_second",
        r->seconds > 0 ? (double)r->scored / r->seconds : 0.0));
    if (!metrics)
        return -1;
    sqlite3_stmt *st = g2c_catalog_prepare(
        inf->cat, "UPDATE runs SET status = ?1, metrics = ?2, finished_at = "
                  "strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?3");
    int rc = st ? 0 : -1;
    if (st) {
        sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, metrics, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, inf->run_id);
        rc = g2c_catalog_step_done(inf->cat, st);
    }
    sqlite3_finalize(st);
    free(metrics);
    return rc;
}

/* Test hook: G2C_TEST_KILL_INFER=N kills the process (SIGKILL, as kill -9)
 * inside the N-th slide's transaction, its predictions inserted and its
 * views and commit not yet done. */
static void maybe_die(int seq)
{
    const char *spec = getenv("G2C_TEST_KILL_INFER");
    if (spec && atoi(spec) == seq)
        raise(SIGKILL);
}

/* With views: this model's view of each stain, replacing an older one.
 * Without: a rescored glomerulus loses the model's older views, which may
 * come from other weights than its new prediction. */
static int store_views(Infer *inf, const InfSlideOut *s)
{
    const int views = inf->o->views && s->n_gen > 0;
    sqlite3_stmt *st = g2c_catalog_prepare(
        inf->cat, views ? "INSERT INTO generated_views (annotation_id, model_id, stain, png) "
                          "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (annotation_id, model_id, "
                          "stain) DO UPDATE SET png = excluded.png"
                        : "DELETE FROM generated_views WHERE annotation_id = ?1 AND "
                          "model_id = ?2");
    if (!st)
        return -1;
    int rc = 0;
    for (int i = 0; i < s->n && rc == 0; i++)
        for (int g = 0; g < (views ? s->n_gen : 1) && rc == 0; g++) {
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, s->ids[i]);
            sqlite3_bind_int64(st, 2, inf->model_id);
            if (views) {
                size_t at = (size_t)i * s->n_gen + (size_t)g;
                sqlite3_bind_text(st, 3, inf->stains[g], -1, SQLITE_STATIC);
                sqlite3_bind_blob(st, 4, s->png[at], (int)s->png_size[at], SQLITE_STATIC);
            }
            rc = g2c_catalog_step_done(inf->cat, st);
        }
    sqlite3_finalize(st);
    return rc;
}

int inf_write_slide(Infer *inf, const InfSlideOut *s, int seq)
{
    if (s->n == 0)
        return 0;
    if (g2c_catalog_begin(inf->cat) != 0)
        return -1;
    int rc = g2c_predictions_store(inf->cat, inf->task, inf->model_id, inf->run_id, s->n,
                                   s->ids, s->cls, s->probs);
    maybe_die(seq);
    if (rc == 0 && (inf->o->views || inf->o->rescore))
        rc = store_views(inf, s);
    if (rc == 0)
        return g2c_catalog_commit(inf->cat);
    g2c_catalog_rollback(inf->cat);
    return -1;
}
