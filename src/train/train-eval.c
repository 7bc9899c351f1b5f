/* g2c eval: a trained model on one split (and on the train split, for the
 * generalisation gap), metrics into a run, predictions into the catalog.
 * Also the trained-model API for inference. */
#include "stage2-private.h"

#include "g2c/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- predictions of one model on one split ------------------------------------- */

typedef struct {
    S2CropSet set;
    int *classes;
    float *probs;
} Predicted;

static void predicted_free(Predicted *p)
{
    s2_cropset_free(&p->set);
    free(p->classes);
    free(p->probs);
    memset(p, 0, sizeof *p);
}

static int open_model(const S2ModelRow *row, S2Model *m)
{
    if (access(row->checkpoint, R_OK) != 0)
        return g2c_error("model '%s' has no checkpoint yet (%s): g2c train has not finished "
                         "an epoch", row->name, row->checkpoint);
    return s2_model_open(row, m);
}

/* A model row with its network loaded. */
typedef struct {
    const S2ModelRow *row;
    S2Model model;
} Loaded;

/* The task's glomeruli of `split`, through the model. */
static int predict_split(G2cCatalog *cat, Loaded *l, const S2CropList *crops, const char *split,
                         Predicted *out)
{
    memset(out, 0, sizeof *out);
    const G2cTask *task = l->row->task;
    int k = task->classes;
    int rc = s2_cropset_load(cat, crops, task, split, l->model.spec.cls.input_size, &out->set);
    if (rc == 0) {
        int n = out->set.count ? out->set.count : 1;
        out->classes = malloc((size_t)n * sizeof *out->classes);
        out->probs = malloc((size_t)n * k * sizeof *out->probs);
        rc = out->classes && out->probs ? 0 : g2c_error("out of memory");
    }
    if (rc == 0 && out->set.count)
        rc = s2_model_predict(&l->model, out->set.rgb, out->set.count, out->classes, out->probs,
                              NULL);
    if (rc != 0)
        predicted_free(out);
    return rc;
}

/* Level 2 is judged on the glomeruli the level-1 model put in the class
 * level 2 refines (for ss-vs-gs: those correctly called s).  keep[i] for
 * each crop of `set`; returns how many were dropped. */
static int64_t given_filter(G2cCatalog *cat, Loaded *given, const char *parent_class,
                            const S2CropList *crops, const char *split, const S2CropSet *set,
                            unsigned char *keep, int *rc)
{
    Predicted l1;
    *rc = predict_split(cat, given, crops, split, &l1);
    if (*rc != 0)
        return 0;
    int want = g2c_task_class_index(given->row->task, parent_class);
    int64_t dropped = 0;
    for (int i = 0, j = 0; i < set->count; i++) {
        while (j < l1.set.count && l1.set.annotation_id[j] < set->annotation_id[i])
            j++;
        keep[i] = j < l1.set.count && l1.set.annotation_id[j] == set->annotation_id[i] &&
                  l1.classes[j] == want;
        dropped += !keep[i];
    }
    predicted_free(&l1);
    return dropped;
}

/* Predictions of the model on split, restricted by the level-1 model when
 * given. */
static int evaluate_split(G2cCatalog *cat, Loaded *l, Loaded *given, const S2CropList *crops,
                          const char *split, Predicted *p, G2cConfusion *conf, int64_t *dropped)
{
    const S2ModelRow *row = l->row;
    if (predict_split(cat, l, crops, split, p) != 0)
        return -1;
    if (given && p->set.count) {
        unsigned char *keep = malloc((size_t)p->set.count);
        int rc = keep ? 0 : g2c_error("out of memory");
        int64_t d = rc == 0 ? given_filter(cat, given, row->task->parent_class, crops, split,
                                           &p->set, keep, &rc)
                            : 0;
        if (rc == 0) {
            /* Compact the predictions with the crops. */
            int k = row->task->classes, n = 0;
            for (int i = 0; i < p->set.count; i++)
                if (keep[i]) {
                    p->classes[n] = p->classes[i];
                    memmove(p->probs + (size_t)n * k, p->probs + (size_t)i * k,
                            (size_t)k * sizeof(float));
                    n++;
                }
            s2_cropset_filter(&p->set, keep);
            if (dropped)
                *dropped = d;
        }
        free(keep);
        if (rc != 0)
            return -1;
    }
    g2c_confusion_init(conf, row->task->classes);
    for (int i = 0; i < p->set.count; i++)
        g2c_confusion_add(conf, p->set.cls[i], p->classes[i]);
    return 0;
}

/* ---- the run row and the predictions ------------------------------------------------ */

static json_t *metrics_json(const G2cTask *task, const G2cConfusion *c, const G2cMetrics *m)
{
    json_t *per = json_object(), *conf = json_array();
    for (int i = 0; i < task->classes; i++) {
        json_object_set_new(per, task->class_names[i],
                            json_pack("{s:I, s:I, s:o, s:o, s:o}", "support",
                                      (json_int_t)m->support[i], "predicted",
                                      (json_int_t)m->predicted[i], "accuracy",
                                      s2_json_real(m->recall[i]), "precision",
                                      s2_json_real(m->precision[i]), "f1",
                                      s2_json_real(m->f1[i])));
        json_t *row = json_array();
        for (int j = 0; j < task->classes; j++)
            json_array_append_new(row, json_integer((json_int_t)c->counts[i][j]));
        json_array_append_new(conf, row);
    }
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "n", (json_int_t)m->total, "accuracy",
                     s2_json_real(m->accuracy), "balanced_accuracy",
                     s2_json_real(m->balanced_accuracy), "macro_f1", s2_json_real(m->macro_f1),
                     "per_class", per, "confusion", conf);
}

static char *eval_metrics_text(const G2cEvalOptions *o, const S2ModelRow *row,
                               const G2cEvalResult *r)
{
    json_t *classes = json_array();
    for (int i = 0; i < row->task->classes; i++)
        json_array_append_new(classes, json_string(row->task->class_names[i]));
    json_t *m = metrics_json(row->task, &r->confusion, &r->metrics);
    json_object_set_new(m, "split", json_string(o->split));
    json_object_set_new(m, "task", json_string(row->task->name));
    json_object_set_new(m, "classes", classes);
    if (strcmp(o->split, "train") != 0) {
        json_object_set_new(m, "train", metrics_json(row->task, &r->train_confusion,
                                                     &r->train_metrics));
        json_object_set_new(m, "gap", s2_json_real(r->train_metrics.accuracy -
                                                   r->metrics.accuracy));
    }
    if (o->given) {
        json_object_set_new(m, "given", json_string(o->given));
        json_object_set_new(m, "given_excluded", json_integer((json_int_t)r->given_excluded));
    }
    char *text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    json_decref(m);
    return text;
}

int g2c_run_insert(G2cCatalog *cat, const char *kind, int64_t model_id, const char *status,
                   const char *params, const char *metrics, int64_t *run_id)
{
    /* A run still going has no end time yet; every other status is final. */
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "INSERT INTO runs (kind, model_id, status, params, metrics, finished_at) VALUES "
             "(?1, ?2, ?3, ?4, ?5, CASE WHEN ?3 = 'running' THEN NULL ELSE "
             "strftime('%Y-%m-%dT%H:%M:%SZ', 'now') END)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, model_id);
    sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, params, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, metrics, -1, SQLITE_STATIC);
    int rc = g2c_catalog_step_done(cat, st);
    sqlite3_finalize(st);
    *run_id = sqlite3_last_insert_rowid(g2c_catalog_db(cat));
    return rc;
}

int g2c_predictions_store(G2cCatalog *cat, const G2cTask *task, int64_t model_id,
                          int64_t run_id, int n, const int64_t *annotation_ids,
                          const int *classes, const float *probabilities)
{
    int64_t label_ids[G2C_TASK_MAX_CLASSES];
    for (int c = 0; c < task->classes; c++)
        if (s2_label_id(cat, task->predicted_label[c], &label_ids[c]) != 0)
            return -1;
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "INSERT INTO predictions (annotation_id, model_id, run_id, label_id, "
             "probabilities, confidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
             "ON CONFLICT (annotation_id, model_id) DO UPDATE SET run_id = excluded.run_id, "
             "label_id = excluded.label_id, probabilities = excluded.probabilities, "
             "confidence = excluded.confidence, "
             "created_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')");
    if (!st)
        return -1;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const float *pr = probabilities + (size_t)i * task->classes;
        char json[256] = "{";
        for (int c = 0; c < task->classes; c++)
            snprintf(json + strlen(json), sizeof json - strlen(json), "%s\"%s\":%.6g",
                     c ? "," : "", task->class_names[c], (double)pr[c]);
        snprintf(json + strlen(json), sizeof json - strlen(json), "}");
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, annotation_ids[i]);
        sqlite3_bind_int64(st, 2, model_id);
        sqlite3_bind_int64(st, 3, run_id);
        sqlite3_bind_int64(st, 4, label_ids[classes[i]]);
        sqlite3_bind_text(st, 5, json, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, 6, pr[classes[i]]);
        rc = g2c_catalog_step_done(cat, st);
    }
    sqlite3_finalize(st);
    return rc;
}

static int write_eval(G2cCatalog *cat, const G2cEvalOptions *o, const S2ModelRow *row,
                      G2cEvalResult *r, const Predicted *p)
{
    char *metrics = eval_metrics_text(o, row, r);
    json_t *params = json_pack("{s:s, s:s?}", "split", o->split, "given", o->given);
    char *ptext = params ? json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(params);
    int rc = metrics && ptext ? g2c_catalog_begin(cat) : g2c_error("out of memory");
    if (rc == 0) {
        rc = g2c_run_insert(cat, "eval", row->id, "done", ptext, metrics, &r->run_id);
        if (rc == 0)
            rc = g2c_predictions_store(cat, row->task, row->id, r->run_id, p->set.count,
                                       p->set.annotation_id, p->classes, p->probs);
        if (rc == 0)
            rc = g2c_catalog_commit(cat);
        else
            g2c_catalog_rollback(cat);
    }
    free(metrics);
    free(ptext);
    return rc;
}

/* ---- g2c eval ------------------------------------------------------------------------ */

static int check_split(const char *split)
{
    if (strcmp(split, "train") && strcmp(split, "val") && strcmp(split, "test"))
        return g2c_error("--split is train, val or test, not '%s'", split);
    return 0;
}

static int check_given(const S2ModelRow *row, const S2ModelRow *given)
{
    if (!row->task->parent)
        return g2c_error("model '%s' has task %s, a level-1 task: --given is only for a "
                         "level-2 model (ss-vs-gs)", row->name, row->task->name);
    if (strcmp(row->task->parent, given->task->name) != 0)
        return g2c_error("--given model '%s' has task %s; model '%s' (task %s) needs a "
                         "model of task %s", given->name, given->task->name, row->name,
                         row->task->name, row->task->parent);
    return 0;
}

static void say(const G2cEvalOptions *o, const char *line)
{
    if (o->say)
        o->say(o->ctx, line);
}

int g2c_eval(G2cCatalog *cat, const G2cEvalOptions *opt, G2cEvalResult *r)
{
    memset(r, 0, sizeof *r);
    G2cEvalOptions o = *opt;
    if (!o.split)
        o.split = "test";
    if (o.threads > 0)
        g2c_nn_set_threads(o.threads);
    S2ModelRow row, given = {0};
    if (check_split(o.split) != 0 || s2_model_row_find(cat, o.model, &row) != 0)
        return -1;
    int rc = 0;
    if (o.given && (s2_model_row_find(cat, o.given, &given) != 0 || check_given(&row, &given)))
        rc = -1;
    r->task = row.task;
    snprintf(r->variant, sizeof r->variant, "%s", row.variant);
    if (rc == 0 && !o.given && row.task->parent) {
        char line[512];
        snprintf(line, sizeof line, "note: %s is evaluated on all its glomeruli; the paper "
                 "evaluates it on those a %s model called %s: add --given MODEL",
                 row.task->name, row.task->parent, row.task->parent_class);
        say(&o, line);
    }
    S2CropList crops = {0};
    Predicted test = {0}, train = {0};
    Loaded model = {&row}, l1 = {&given};
    Loaded *g = o.given ? &l1 : NULL;
    if (rc == 0)
        rc = open_model(&row, &model.model);
    if (rc == 0 && g && open_model(&given, &l1.model) != 0)
        rc = -1;
    if (rc == 0)
        rc = s2_crops_list(cat, "PAS", &crops);
    if (rc == 0)
        rc = evaluate_split(cat, &model, g, &crops, o.split, &test, &r->confusion,
                            &r->given_excluded);
    if (rc == 0 && test.set.count == 0)
        rc = g2c_error("model '%s': no glomeruli of task %s in the %s split%s", o.model,
                       row.task->name, o.split, g ? " that the --given model classified as "
                                                    "the refined class" : "");
    if (rc == 0 && strcmp(o.split, "train") != 0)
        rc = evaluate_split(cat, &model, g, &crops, "train", &train, &r->train_confusion, NULL);
    if (rc == 0) {
        g2c_metrics_compute(&r->confusion, &r->metrics);
        g2c_metrics_compute(strcmp(o.split, "train") ? &r->train_confusion : &r->confusion,
                            &r->train_metrics);
        rc = write_eval(cat, &o, &row, r, &test);
    }
    predicted_free(&test);
    predicted_free(&train);
    s2_model_free(&model.model);
    s2_model_free(&l1.model);
    s2_crop_list_free(&crops);
    s2_model_row_free(&row);
    s2_model_row_free(&given);
    return rc;
}

/* ---- g2c compare ---------------------------------------------------------------------- */

static int predicted_class(const G2cTask *task, const char *label)
{
    for (int c = 0; c < task->classes; c++)
        if (strcmp(task->predicted_label[c], label) == 0)
            return c;
    return -1;
}

static int tally_pairs(G2cCatalog *cat, const S2ModelRow *a, const S2ModelRow *b,
                       const char *split, G2cCompareResult *r)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT la.name, pla.name, plb.name FROM annotations a "
             "JOIN slides s ON s.id = a.slide_id JOIN labels la ON la.id = a.label_id "
             "JOIN predictions pa ON pa.annotation_id = a.id AND pa.model_id = ?1 "
             "JOIN labels pla ON pla.id = pa.label_id "
             "JOIN predictions pb ON pb.annotation_id = a.id AND pb.model_id = ?2 "
             "JOIN labels plb ON plb.id = pb.label_id WHERE s.split = ?3 ORDER BY a.id");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, a->id);
    sqlite3_bind_int64(st, 2, b->id);
    sqlite3_bind_text(st, 3, split, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int truth = g2c_task_class_of(a->task, (const char *)sqlite3_column_text(st, 0));
        int pa = predicted_class(a->task, (const char *)sqlite3_column_text(st, 1));
        int pb = predicted_class(a->task, (const char *)sqlite3_column_text(st, 2));
        if (truth < 0 || pa < 0 || pb < 0)
            continue;
        int ra = pa == truth, rb = pb == truth;
        r->n++;
        r->both_right += ra && rb;
        r->a_only += ra && !rb;
        r->b_only += !ra && rb;
        r->both_wrong += !ra && !rb;
    }
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? 0 : g2c_catalog_error(cat, "reading predictions");
}

static int write_compare(G2cCatalog *cat, const S2ModelRow *a, const char *model_b,
                         const char *split, G2cCompareResult *r)
{
    json_t *params = json_pack("{s:s, s:s, s:s}", "a", a->name, "b", model_b, "split", split);
    json_t *m = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:s}", "test",
                          "mcnemar-exact", "task", r->task, "n", (json_int_t)r->n,
                          "both_right", (json_int_t)r->both_right, "a_only",
                          (json_int_t)r->a_only, "b_only", (json_int_t)r->b_only,
                          "both_wrong", (json_int_t)r->both_wrong, "accuracy_a",
                          r->accuracy_a, "accuracy_b", r->accuracy_b, "p_value", r->p_value,
                          "split", split);
    char *ptext = params ? json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *mtext = m ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12))
                    : NULL;
    int rc = ptext && mtext ? g2c_run_insert(cat, "compare", a->id, "done", ptext, mtext,
                                            &r->run_id)
                            : g2c_error("out of memory");
    json_decref(params);
    json_decref(m);
    free(ptext);
    free(mtext);
    return rc;
}

int g2c_compare(G2cCatalog *cat, const char *model_a, const char *model_b, const char *split,
                G2cCompareResult *r)
{
    memset(r, 0, sizeof *r);
    if (!split)
        split = "test";
    if (check_split(split) != 0)
        return -1;
    if (strcmp(model_a, model_b) == 0)
        return g2c_error("compare needs two different models (both are '%s')", model_a);
    S2ModelRow a, b;
    if (s2_model_row_find(cat, model_a, &a) != 0)
        return -1;
    if (s2_model_row_find(cat, model_b, &b) != 0) {
        s2_model_row_free(&a);
        return -1;
    }
    snprintf(r->task, sizeof r->task, "%s", a.task->name);
    int rc = 0;
    if (a.task != b.task)
        rc = g2c_error("models '%s' (task %s) and '%s' (task %s) answer different questions",
                       model_a, a.task->name, model_b, b.task->name);
    if (rc == 0)
        rc = tally_pairs(cat, &a, &b, split, r);
    if (rc == 0 && r->n == 0) {
        const S2ModelRow *missing = s2_count_predictions(cat, a.id, split) == 0   ? &a
                                    : s2_count_predictions(cat, b.id, split) == 0 ? &b
                                                                               : NULL;
        if (missing)
            rc = g2c_error("model '%s' has no predictions on the %s split: run g2c eval "
                           "--model %s --split %s first", missing->name, split, missing->name,
                           split);
        else
            rc = g2c_error("no glomerulus of the %s split has predictions from both '%s' and "
                           "'%s'", split, model_a, model_b);
    }
    if (rc == 0) {
        r->accuracy_a = (double)(r->both_right + r->a_only) / (double)r->n;
        r->accuracy_b = (double)(r->both_right + r->b_only) / (double)r->n;
        r->p_value = g2c_mcnemar_exact(r->a_only, r->b_only);
        rc = write_compare(cat, &a, model_b, split, r);
    }
    s2_model_row_free(&a);
    s2_model_row_free(&b);
    return rc;
}

/* ---- trained models for inference ------------------------------------------------------ */

struct G2cTrainedModel {
    S2ModelRow row;
    S2Model model;
};

G2cTrainedModel *g2c_trained_model_load(G2cCatalog *cat, const char *name, int threads)
{
    G2cTrainedModel *m = calloc(1, sizeof *m);
    if (!m) {
        g2c_error("out of memory");
        return NULL;
    }
    if (threads > 0)
        g2c_nn_set_threads(threads);
    if (s2_model_row_find(cat, name, &m->row) != 0) {
        free(m);
        return NULL;
    }
    if (open_model(&m->row, &m->model) != 0) {
        s2_model_row_free(&m->row);
        free(m);
        return NULL;
    }
    return m;
}

void g2c_trained_model_free(G2cTrainedModel *m)
{
    if (!m)
        return;
    s2_model_free(&m->model);
    s2_model_row_free(&m->row);
    free(m);
}

const G2cTask *g2c_trained_model_task(const G2cTrainedModel *m)
{
    return m->row.task;
}

int64_t g2c_trained_model_id(const G2cTrainedModel *m)
{
    return m->row.id;
}

int g2c_trained_model_generators(const G2cTrainedModel *m)
{
    return m->model.spec.n_gen;
}

const char *g2c_trained_model_stain(const G2cTrainedModel *m, int generator)
{
    return generator >= 0 && generator < m->model.spec.n_gen ? m->model.spec.gen[generator].stain
                                                              : NULL;
}

int g2c_trained_model_predict(G2cTrainedModel *m, const G2cImage *crops, int n, int *classes,
                              float *probabilities, G2cImage *views)
{
    if (n <= 0)
        return 0;
    const int size = m->model.spec.cls.input_size;
    const size_t px = (size_t)size * size * 3;
    uint8_t *rgb = malloc((size_t)n * px);
    if (!rgb)
        return g2c_error("out of memory for %d crops", n);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (crops[i].width == size && crops[i].height == size) {
            memcpy(rgb + (size_t)i * px, crops[i].rgb, px);
            continue;
        }
        G2cImage scaled;
        if ((rc = g2c_image_alloc(&scaled, size, size, 0)) != 0)
            break;
        if ((rc = g2c_image_resize(&crops[i], &scaled)) == 0)
            memcpy(rgb + (size_t)i * px, scaled.rgb, px);
        g2c_image_free(&scaled);
    }
    if (rc == 0)
        rc = s2_model_predict(&m->model, rgb, n, classes, probabilities, views);
    free(rgb);
    return rc;
}
