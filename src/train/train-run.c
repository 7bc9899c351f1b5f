/* g2c train: every check first, then the split, the model and the run in
 * one transaction, then the epochs (train-loop.c). */
#include "train-run.h"

#include "g2c/error.h"
#include "g2c/path.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void s2_say(const S2Train *t, int notable, const char *fmt, ...)
{
    if (!t->o->say)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    t->o->say(t->o->ctx, notable, line);
}

/* ---- options ------------------------------------------------------------------- */

static int check_name(const char *name)
{
    if (!name || !*name)
        return g2c_error("a model needs a --name");
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-' && *p != '+')
            return g2c_error("model name '%s': use letters, digits and . _ - + only (it "
                             "names the checkpoint file)", name);
    if (name[0] == '.' || strlen(name) >= S2_NAME)
        return g2c_error("model name '%s': must not start with '.' and must be shorter "
                         "than %d characters", name, S2_NAME);
    return 0;
}

static int resolve_settings(S2Train *t)
{
    const G2cTrainOptions *o = t->o;
    if (check_name(o->name) != 0 || !(t->task = g2c_task_find(o->task)) ||
        s2_variant_parse(o->variant, &t->variant) != 0 ||
        !(t->preset = s2_preset_find(o->preset)))
        return -1;
    const S2Preset *p = t->preset;
    t->epochs = o->epochs >= 0 ? o->epochs : p->epochs;
    t->freeze_epochs = o->freeze_epochs >= 0 ? o->freeze_epochs : p->freeze_epochs;
    t->lr_step = o->lr_step >= 0 ? o->lr_step : p->lr_step;
    t->lr = o->lr;
    t->lr_divisor = o->lr_divisor;
    t->gamma = o->gamma;
    t->momentum = o->momentum;
    t->weight_decay = o->weight_decay;
    if (t->epochs < 1)
        return g2c_error("--epochs %d: at least 1", t->epochs);
    if (!(t->lr > 0) || !(t->lr_divisor > 0) || !(t->gamma >= 0) || !(t->momentum >= 0) ||
        !(t->weight_decay >= 0))
        return g2c_error("learning rate, divisor must be > 0; gamma, momentum, weight decay "
                         ">= 0");
    if (!(o->test_fraction >= 0 && o->test_fraction < 1))
        return g2c_error("--test-fraction %g: from 0 to below 1", o->test_fraction);
    return 0;
}

/* ---- generators and variant -------------------------------------------------------- */

static int lookup_generators(S2Train *t, S2GenSpec *gens, int *n)
{
    *n = 0;
    const G2cTrainOptions *o = t->o;
    if (!o->generators || !*o->generators)
        return 0;
    G2cCatalog *src = t->cat;
    if (o->generator_db && !(src = g2c_catalog_open(o->generator_db, G2C_CATALOG_READONLY)))
        return g2c_error_prefix("--generator-db: ");
    int rc = s2_generators_lookup(src, o->generators, gens, n, o->say, o->ctx);
    if (src != t->cat)
        g2c_catalog_close(src);
    return rc;
}

/* Which generators the variant uses, in branch order. */
static int choose_generators(S2Train *t)
{
    S2GenSpec *gens = calloc(S2_MAX_GENERATORS, sizeof *gens);
    int n, rc = gens ? lookup_generators(t, gens, &n) : g2c_error("out of memory");
    const char *v = t->variant.text;
    S2ModelSpec *s = &t->spec;
    if (rc == 0 && t->variant.kind == S2_PAS_ONLY && n > 0)
        rc = g2c_error("variant %s uses no generators; leave out --generators", v);
    if (rc == 0 && t->variant.kind != S2_PAS_ONLY && n == 0)
        rc = g2c_error("variant %s needs --generators (stage-1 models from g2c pretrain)", v);
    if (rc == 0 && t->variant.kind == S2_PAS_STAIN) {
        char stain[64], have[512] = "";
        rc = s2_canonical_stain(t->cat, t->variant.stain, stain, sizeof stain);
        if (rc != 0)
            g2c_error_prefix("variant %s: ", v);
        int found = -1;
        for (int i = 0; rc == 0 && i < n; i++) {
            if (strcmp(gens[i].stain, stain) == 0)
                found = i;
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s: %s",
                     i ? ", " : "", gens[i].model, gens[i].stain);
        }
        if (rc == 0 && found < 0)
            rc = g2c_error("variant %s needs a PAS -> %s generator; --generators gives %s", v,
                           stain, have);
        if (rc == 0) {
            s->gen[0] = gens[found];
            s->n_gen = 1;
            snprintf(t->variant.text, sizeof t->variant.text, "PAS_%s", stain);
        }
    } else if (rc == 0) {
        memcpy(s->gen, gens, (size_t)n * sizeof *gens);
        s->n_gen = n;
    }
    free(gens);
    return rc;
}

static int make_spec(S2Train *t)
{
    S2ModelSpec *s = &t->spec;
    if (g2c_classifier_config_preset(&s->cls, t->preset->classifier) != 0)
        return -1;
    s->cls.branches = 1 + s->n_gen;
    s->cls.attention = t->variant.kind == S2_PAS_ALL_PLUS;
    s->cls.classes = t->task->classes;
    s->batch = t->o->batch > 0 ? t->o->batch : t->preset->batch;
    return g2c_classifier_config_check(&s->cls);
}

/* ---- data and split ------------------------------------------------------------------ */

static void label_counts(const S2Train *t, const char *split, int *per_class, char *text,
                         size_t size)
{
    char names[8][32];
    int counts[8] = {0}, n = 0;
    memset(per_class, 0, G2C_TASK_MAX_CLASSES * sizeof *per_class);
    for (int i = 0; i < t->crops.count; i++) {
        const S2CropInfo *c = &t->crops.items[i];
        if (split && strcmp(c->split, split) != 0)
            continue;
        int cls = g2c_task_class_of(t->task, c->label);
        if (cls >= 0)
            per_class[cls]++;
        int j = 0;
        while (j < n && strcmp(names[j], c->label) != 0)
            j++;
        if (j == n && n < 8)
            snprintf(names[n++], sizeof names[0], "%s", c->label);
        if (j < 8)
            counts[j]++;
    }
    text[0] = '\0';
    for (int j = 0; j < n; j++)
        snprintf(text + strlen(text), size - strlen(text), "%s%s %d", j ? ", " : "", names[j],
                 counts[j]);
}

static int check_classes(S2Train *t, const char *split)
{
    int per_class[G2C_TASK_MAX_CLASSES];
    char text[512];
    label_counts(t, split, per_class, text, sizeof text);
    for (int c = 0; c < t->task->classes; c++) {
        if (per_class[c] > 0)
            continue;
        if (!split)
            return g2c_error("task %s: the catalog has no PAS glomeruli of class '%s' (labels "
                             "%s); labelled glomeruli: %s", t->task->name,
                             t->task->class_names[c], t->task->class_labels[c], text);
        return g2c_error("task %s: the train split has no glomeruli of class '%s' (labels %s; "
                         "train split: %s); change the split (slides.split) or "
                         "--test-fraction", t->task->name, t->task->class_names[c],
                         t->task->class_labels[c], text[0] ? text : "empty");
    }
    return 0;
}

static int load_data(S2Train *t)
{
    if (s2_crops_list(t->cat, "PAS", &t->crops) != 0)
        return -1;
    if (t->crops.count == 0)
        return g2c_error("%s: no labelled PAS glomerulus crops (ingest PAS slides with "
                         "annotations that carry labels: g2c ingest)",
                         g2c_catalog_path(t->cat));
    if (check_classes(t, NULL) != 0)
        return -1;
    if (s2_split_plan(&t->crops, t->o->split_by, t->o->test_fraction, t->o->seed, &t->plan))
        return -1;
    s2_split_plan_apply(&t->plan, &t->crops);
    if (check_classes(t, "train") != 0)
        return -1;
    if (s2_cropset_load(t->cat, &t->crops, t->task, "train", t->spec.cls.input_size,
                        &t->train) != 0)
        return -1;
    if (t->train.count < 2)
        return g2c_error("task %s: only %d training glomerulus; need at least 2",
                         t->task->name, t->train.count);
    if (t->spec.batch > t->train.count)
        t->spec.batch = t->train.count;
    /* Class-balancing focal-loss weights: inverse class frequency, scaled
     * to average 1 over the classes. */
    double inv[G2C_TASK_MAX_CLASSES] = {0}, sum = 0;
    for (int i = 0; i < t->train.count; i++)
        inv[t->train.cls[i]] += 1;
    for (int c = 0; c < t->task->classes; c++)
        sum += (inv[c] = 1.0 / inv[c]);
    for (int c = 0; c < t->task->classes; c++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.6g", inv[c] * t->task->classes / sum);
        t->alpha[c] = (float)strtod(buf, NULL);
    }
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Distinct values of n ids (sorted in place). */
static int distinct(int64_t *ids, int n)
{
    qsort(ids, (size_t)n, sizeof *ids, cmp_i64);
    int d = 0;
    for (int i = 0; i < n; i++)
        d += i == 0 || ids[i] != ids[i - 1];
    return d;
}

static void report_split(S2Train *t)
{
    int fresh = 0;
    for (int i = 0; i < t->plan.count; i++)
        fresh += t->plan.items[i].is_new;
    const char *unit = t->plan.by == G2C_SPLIT_BY_PATIENT ? "patient" : "slide";
    if (fresh)
        s2_say(t, 1, "split: %d %s%s had no split; assigned by %s (seed %llu, test fraction "
                     "%.2f) and stored in slides.split", fresh, unit, fresh == 1 ? "" : "s",
               unit, (unsigned long long)t->o->seed, t->o->test_fraction);
    int64_t *patients = malloc((size_t)(t->crops.count ? t->crops.count : 1) * sizeof *patients);
    int64_t *slides = malloc((size_t)(t->crops.count ? t->crops.count : 1) * sizeof *slides);
    static const char *const splits[] = {"train", "val", "test"};
    for (int s = 0; s < 3 && patients && slides; s++) {
        int per_class[G2C_TASK_MAX_CLASSES], n = 0;
        char text[512];
        label_counts(t, splits[s], per_class, text, sizeof text);
        for (int i = 0; i < t->crops.count; i++)
            if (strcmp(t->crops.items[i].split, splits[s]) == 0) {
                patients[n] = t->crops.items[i].patient_id;
                slides[n++] = t->crops.items[i].slide_id;
            }
        if (n || s != 1)
            s2_say(t, 1, "  %-5s %3d patients %3d slides %5d glomeruli (%s)", splits[s],
                   distinct(patients, n), distinct(slides, n), n, text[0] ? text : "none");
        if (s == 2 && n == 0)
            s2_say(t, 1, "warning: the test split is empty; g2c eval will have nothing to test");
    }
    free(patients);
    free(slides);
}

/* ---- configuration and resuming -------------------------------------------------------- */

static int make_config(S2Train *t)
{
    const G2cTrainOptions *o = t->o;
    json_t *classes = json_array(), *alpha = json_array();
    for (int c = 0; c < t->task->classes; c++) {
        json_array_append_new(classes, json_string(t->task->class_names[c]));
        json_array_append_new(alpha, json_real(t->alpha[c]));
    }
    char fp[32];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)s2_cropset_fingerprint(&t->train));
    json_t *c = s2_spec_to_json(&t->spec);
    json_t *more = json_pack(
        "{s:s, s:o, s:s, s:s, s:s, s:i, s:i, s:b, s:f, s:i, s:f, s:f, s:f, s:f, s:o, s:b,"
        " s:I, s:s, s:f, s:i, s:s}",
        "task", t->task->name, "classes", classes, "variant", t->variant.text, "preset",
        t->preset->name, "source_stain", "PAS", "epochs", t->epochs, "freeze_epochs",
        t->freeze_epochs, "freeze_generators", o->freeze_generators, "lr", t->lr, "lr_step",
        t->lr_step, "lr_divisor", t->lr_divisor, "momentum", t->momentum, "weight_decay",
        t->weight_decay, "gamma", t->gamma, "alpha", alpha, "augment", o->augment, "seed",
        (json_int_t)o->seed, "split_by",
        o->split_by == G2C_SPLIT_BY_PATIENT ? "patient" : "slide", "test_fraction",
        o->test_fraction, "train_crops", t->train.count, "train_fingerprint", fp);
    if (!c || !more) {
        json_decref(c);
        json_decref(more);
        return g2c_error("cannot build the model configuration");
    }
    json_object_update(c, more);
    json_decref(more);
    /* Kept as parsed back from its text, so that it compares equal to the
     * stored configuration of the same settings (reals included). */
    t->config_text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    json_decref(c);
    if (!t->config_text || !(t->config = json_loads(t->config_text, 0, NULL)))
        return g2c_error("out of memory");
    return 0;
}

/* The first key whose value differs, for the message. */
static int explain_difference(const char *name, json_t *old, json_t *now)
{
    const char *key;
    json_t *v;
    json_object_foreach(now, key, v)
    {
        json_t *w = json_object_get(old, key);
        if (w && json_equal(v, w))
            continue;
        char *a = w ? json_dumps(w, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        char *b = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        int rc;
        if (strcmp(key, "train_fingerprint") == 0 || strcmp(key, "train_crops") == 0)
            rc = g2c_error("model '%s' exists, and the catalog's training glomeruli changed "
                           "since it started (%s: %s then, %s now); train under another "
                           "--name", name, key, a ? a : "none", b ? b : "?");
        else
            rc = g2c_error("model '%s' exists with another configuration (%s: %.200s then, "
                           "%.200s now); to resume an unfinished run repeat its settings, "
                           "or choose another --name", name, key, a ? a : "none", b ? b : "?");
        free(a);
        free(b);
        return rc;
    }
    return g2c_error("model '%s' exists with another configuration; choose another --name",
                     name);
}

/* An existing row of this name: the same configuration resumes it. */
static int find_existing(S2Train *t)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        t->cat, "SELECT id, kind, config, checkpoint FROM models WHERE name = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, t->o->name, -1, SQLITE_STATIC);
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(st, 1);
        json_t *old = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
        if (strcmp(kind, "g2c") != 0)
            rc = g2c_error("a model named '%s' exists (kind '%s'); choose another --name",
                           t->o->name, kind);
        else if (!old || !json_equal(old, t->config))
            rc = explain_difference(t->o->name, old, t->config);
        else {
            t->resuming = 1;
            t->model_id = sqlite3_column_int64(st, 0);
            snprintf(t->checkpoint, sizeof t->checkpoint, "%s",
                     sqlite3_column_type(st, 3) == SQLITE_NULL
                         ? ""
                         : (const char *)sqlite3_column_text(st, 3));
        }
        json_decref(old);
    }
    sqlite3_finalize(st);
    if (rc != 0 || !t->resuming)
        return rc;
    st = g2c_catalog_prepare(t->cat, "SELECT id, status FROM runs WHERE model_id = ?1 AND "
                                     "kind = 'train' ORDER BY id DESC LIMIT 1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, t->model_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        t->run_id = sqlite3_column_int64(st, 0);
        if (strcmp((const char *)sqlite3_column_text(st, 1), "done") == 0)
            rc = g2c_error("model '%s' is already trained (%d epochs); evaluate it with g2c "
                           "eval, or train under another --name", t->o->name, t->epochs);
    }
    sqlite3_finalize(st);
    return rc;
}

static int checkpoint_path(S2Train *t)
{
    if (t->checkpoint[0])
        return 0;
    char dir[S2_PATH + 8];
    if (t->o->checkpoint_dir)
        snprintf(dir, sizeof dir, "%s", t->o->checkpoint_dir);
    else {
        char base[S2_PATH];
        s2_catalog_dir(t->cat, base, sizeof base);
        snprintf(dir, sizeof dir, "%s/models", base);
    }
    char *abs = realpath(dir, NULL);
    int n = snprintf(t->checkpoint, sizeof t->checkpoint, "%s/%s.safetensors", abs ? abs : dir,
                     t->o->name);
    free(abs);
    return n >= (int)sizeof t->checkpoint ? g2c_error("%s: path too long", dir) : 0;
}

/* ---- catalog writes ---------------------------------------------------------------------- */

static int exec_bound(G2cCatalog *cat, const char *sql, int64_t a, const char *text)
{
    sqlite3_stmt *st = g2c_catalog_prepare(cat, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, a);
    if (text)
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
    int rc = g2c_catalog_step_done(cat, st);
    sqlite3_finalize(st);
    return rc;
}

static int create_rows(S2Train *t)
{
    if (g2c_catalog_begin(t->cat) != 0)
        return -1;
    int rc = s2_split_plan_store(t->cat, &t->plan);
    if (rc == 0 && !t->resuming) {
        sqlite3_stmt *st = g2c_catalog_prepare(
            t->cat, "INSERT INTO models (name, kind, config, checkpoint) VALUES (?1, 'g2c', "
                    "?2, ?3)");
        if (!st)
            rc = -1;
        else {
            sqlite3_bind_text(st, 1, t->o->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, t->config_text, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, t->checkpoint, -1, SQLITE_STATIC);
            rc = g2c_catalog_step_done(t->cat, st);
            sqlite3_finalize(st);
            t->model_id = sqlite3_last_insert_rowid(g2c_catalog_db(t->cat));
        }
    }
    if (rc == 0 && !t->run_id) {
        rc = exec_bound(t->cat, "INSERT INTO runs (kind, model_id, params) VALUES ('train', "
                                "?1, ?2)", t->model_id, t->config_text);
        t->run_id = sqlite3_last_insert_rowid(g2c_catalog_db(t->cat));
    } else if (rc == 0) {
        rc = exec_bound(t->cat, "UPDATE runs SET status = 'running', finished_at = NULL "
                                "WHERE id = ?1", t->run_id, NULL);
    }
    if (rc == 0)
        return g2c_catalog_commit(t->cat);
    g2c_catalog_rollback(t->cat);
    return -1;
}

int s2_train_record_epoch(S2Train *t, const json_t *metrics)
{
    char *text = json_dumps(metrics, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    if (!text)
        return g2c_error("out of memory");
    int e = (int)json_integer_value(json_object_get(metrics, "epoch"));
    sqlite3_stmt *st = g2c_catalog_prepare(
        t->cat, "INSERT OR REPLACE INTO run_epochs (run_id, epoch, metrics) VALUES (?1, ?2, ?3)");
    int rc = st ? 0 : -1;
    if (st) {
        sqlite3_bind_int64(st, 1, t->run_id);
        sqlite3_bind_int(st, 2, e);
        sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
        rc = g2c_catalog_step_done(t->cat, st);
        sqlite3_finalize(st);
    }
    free(text);
    return rc;
}

/* After a resume: the epochs the checkpoint holds, in case the catalog
 * missed the last one (killed between the checkpoint and its row). */
int s2_train_record_history(S2Train *t)
{
    if (g2c_catalog_begin(t->cat) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < json_array_size(t->history) && rc == 0; i++)
        rc = s2_train_record_epoch(t, json_array_get(t->history, i));
    sqlite3_stmt *st = rc == 0 ? g2c_catalog_prepare(t->cat, "DELETE FROM run_epochs WHERE "
                                                             "run_id = ?1 AND epoch > ?2")
                               : NULL;
    if (st) {
        sqlite3_bind_int64(st, 1, t->run_id);
        sqlite3_bind_int(st, 2, t->epoch);
        rc = g2c_catalog_step_done(t->cat, st);
        sqlite3_finalize(st);
    } else {
        rc = -1;
    }
    if (rc == 0)
        return g2c_catalog_commit(t->cat);
    g2c_catalog_rollback(t->cat);
    return -1;
}

static double sum_seconds(const json_t *history)
{
    double s = 0;
    for (size_t i = 0; i < json_array_size(history); i++)
        s += json_number_value(json_object_get(json_array_get(history, i), "seconds"));
    return s;
}

static void finish_run(S2Train *t, int ok)
{
    G2cTrainResult *r = t->result;
    r->seconds = sum_seconds(t->history);
    const json_t *last = json_array_get(t->history, json_array_size(t->history) - 1);
    if (last) {
        r->last_loss = json_number_value(json_object_get(last, "loss"));
        r->last_train_accuracy = json_number_value(json_object_get(last, "train_accuracy"));
    }
    json_t *m = json_pack("{s:i, s:i, s:f, s:o, s:o, s:i}", "epochs", t->epoch, "of",
                          t->epochs, "seconds", r->seconds, "loss",
                          s2_json_real(r->last_loss), "train_accuracy",
                          s2_json_real(r->last_train_accuracy), "train_crops",
                          t->train.count);
    char *text = m ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9))
                   : NULL;
    const char *status = ok ? "done" : t->epoch > 0 ? "partial" : "failed";
    sqlite3_stmt *st = g2c_catalog_prepare(
        t->cat, "UPDATE runs SET status = ?2, metrics = ?3, finished_at = "
                "strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?1");
    if (st) {
        sqlite3_bind_int64(st, 1, t->run_id);
        sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, text ? text : "{}", -1, SQLITE_STATIC);
        g2c_catalog_step_done(t->cat, st);
        sqlite3_finalize(st);
    }
    free(text);
    json_decref(m);
}

/* ---- the whole command ------------------------------------------------------------------- */

static int prepare(S2Train *t)
{
    if (resolve_settings(t) != 0 || choose_generators(t) != 0 || make_spec(t) != 0 ||
        load_data(t) != 0 || make_config(t) != 0 || find_existing(t) != 0)
        return -1;
    if (!t->resuming && !t->o->checkpoint_dir) {
        char base[S2_PATH], dir[S2_PATH + 8];
        s2_catalog_dir(t->cat, base, sizeof base);
        snprintf(dir, sizeof dir, "%s/models", base);
        if (g2c_make_dirs(dir) != 0)
            return -1;
    } else if (!t->resuming && g2c_make_dirs(t->o->checkpoint_dir) != 0) {
        return -1;
    }
    return checkpoint_path(t);
}

int g2c_train(G2cCatalog *cat, const G2cTrainOptions *opt, G2cTrainResult *result)
{
    S2Train *t = calloc(1, sizeof *t);
    if (!t)
        return g2c_error("out of memory");
    memset(result, 0, sizeof *result);
    t->o = opt;
    t->cat = cat;
    t->result = result;
    if (opt->threads > 0)
        g2c_nn_set_threads(opt->threads);
    int rc = prepare(t);
    if (rc == 0 && (rc = create_rows(t)) == 0) {
        result->model_id = t->model_id;
        result->run_id = t->run_id;
        result->train_crops = t->train.count;
        report_split(t);
        rc = s2_train_start_state(t);
        if (rc == 0)
            rc = s2_train_epochs(t);
        int err_saved = rc;
        char message[2048];
        snprintf(message, sizeof message, "%s", g2c_error_message());
        finish_run(t, rc == 0);
        if (err_saved != 0)
            g2c_error("%s", message);
    }
    s2_model_free(&t->model);
    s2_crop_list_free(&t->crops);
    s2_split_plan_free(&t->plan);
    s2_cropset_free(&t->train);
    json_decref(t->config);
    json_decref(t->history);
    free(t->config_text);
    free(t);
    return rc;
}
