/* What g2c infer works on: the checks of the model's task against the
 * catalog, the slides of the scope, and which of their glomeruli are still
 * to score.  Every refusal names the catalog and what it has instead. */
#include "infer-private.h"

#include "g2c/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the task ------------------------------------------------------------- */

/* The level-1 model of --given: a G2C model of the task the level-2 model
 * refines. */
static int find_given(Infer *inf, const G2cTask *parent)
{
    const char *name = inf->o->given, *path = g2c_catalog_path(inf->cat);
    sqlite3_stmt *st = g2c_catalog_prepare(
        inf->cat, "SELECT id, kind, json_extract(config, '$.task') FROM models WHERE name = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = 0;
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = g2c_error("%s: --given: no model named '%s'", path, name);
    } else {
        const char *kind = (const char *)sqlite3_column_text(st, 1);
        const char *task = (const char *)sqlite3_column_text(st, 2);
        inf->given_id = sqlite3_column_int64(st, 0);
        if (strcmp(kind, "g2c") != 0)
            rc = g2c_error("--given model '%s' is of kind '%s'; model '%s' (task %s) needs a "
                           "G2C model of task %s", name, kind, inf->o->model, inf->task->name,
                           parent->name);
        else if (!task || strcmp(task, parent->name) != 0)
            rc = g2c_error("--given model '%s' has task %s; model '%s' (task %s) needs a "
                           "model of task %s", name, task ? task : "?", inf->o->model,
                           inf->task->name, parent->name);
    }
    sqlite3_finalize(st);
    if (rc == 0) {
        int c = g2c_task_class_index(parent, inf->task->parent_class);
        inf->given_label = c >= 0 ? parent->predicted_label[c] : inf->task->parent_class;
    }
    return rc;
}

int inf_check_task(Infer *inf)
{
    const G2cTask *task = inf->task;
    if (!task->parent) {
        if (inf->o->given)
            return g2c_error("model '%s' has task %s, a level-1 task: --given is only for a "
                             "level-2 model (ss-vs-gs)", inf->o->model, task->name);
        return 0;
    }
    const G2cTask *parent = g2c_task_find(task->parent);
    if (!parent)
        return -1;
    if (!inf->o->given)
        return g2c_error("model '%s' has task %s, which tells apart glomeruli a %s model "
                         "called %s: score the slides with a %s model first and add --given "
                         "MODEL", inf->o->model, task->name, parent->name, task->parent_class,
                         parent->name);
    return find_given(inf, parent);
}

/* ---- crops ---------------------------------------------------------------- */

static int64_t scalar(Infer *inf, const char *sql, const char *text, int64_t id)
{
    sqlite3_stmt *st = g2c_catalog_prepare(inf->cat, sql);
    int64_t v = -1;
    if (!st)
        return -1;
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        g2c_catalog_error(inf->cat, sql);
    sqlite3_finalize(st);
    return v;
}

int inf_check_crops(Infer *inf)
{
    int64_t n = scalar(inf, "SELECT count(*) FROM patches WHERE annotation_id IS NOT NULL AND "
                            "?1 IS NOT NULL", NULL, 1);
    if (n < 0)
        return -1;
    if (n == 0)
        return g2c_error("%s: no glomerulus crops yet: ingest slides with their annotations "
                         "first (g2c ingest)", g2c_catalog_path(inf->cat));
    return 0;
}

/* ---- the scope's slides ------------------------------------------------------- */

static int add_slide(Infer *inf, int64_t id, const char *name)
{
    InfSlide *grown = realloc(inf->slides, (size_t)(inf->n_slides + 1) * sizeof *grown);
    if (!grown)
        return g2c_error("out of memory");
    inf->slides = grown;
    InfSlide *s = &inf->slides[inf->n_slides++];
    memset(s, 0, sizeof *s);
    s->id = id;
    snprintf(s->name, sizeof s->name, "%s", name);
    return 0;
}

/* An id wins over a file name that happens to be all digits; a name two
 * slides share asks for the id. */
static int find_slide(Infer *inf, int64_t *id, char *stain, size_t size)
{
    const char *spec = inf->o->slide, *path = g2c_catalog_path(inf->cat);
    sqlite3_stmt *st = g2c_catalog_prepare(
        inf->cat, "SELECT s.id, st.name, 0 FROM slides s JOIN stains st ON st.id = s.stain_id "
                  "WHERE CAST(s.id AS TEXT) = ?1 UNION ALL SELECT s.id, st.name, 1 FROM slides "
                  "s JOIN stains st ON st.id = s.stain_id WHERE (s.name = ?1 OR s.path = ?1) "
                  "AND CAST(s.id AS TEXT) <> ?1 ORDER BY 3, 1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, spec, -1, SQLITE_STATIC);
    int n = 0, by_name = 0;
    int64_t other = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == 0) {
            *id = sqlite3_column_int64(st, 0);
            snprintf(stain, size, "%s", sqlite3_column_text(st, 1));
            by_name = sqlite3_column_int(st, 2);
        } else {
            other = sqlite3_column_int64(st, 0);
        }
        if (++n > 1 || !by_name)
            break;
    }
    sqlite3_finalize(st);
    if (n == 0) {
        int64_t slides = scalar(inf, "SELECT count(*) FROM slides WHERE ?1 IS NOT NULL", NULL, 1);
        return g2c_error("%s: no slide '%s' (give a slide id or file name; 'g2c query slides' "
                         "lists the %lld slide(s))", path, spec, (long long)slides);
    }
    if (n > 1)
        return g2c_error("%s: slide name '%s' is ambiguous: slides %lld and %lld have it (give "
                         "the slide id)", path, spec, (long long)*id, (long long)other);
    return 0;
}

static int scope_slide(Infer *inf)
{
    int64_t id = 0;
    char stain[64] = "";
    if (find_slide(inf, &id, stain, sizeof stain) != 0)
        return -1;
    if (strcmp(stain, INF_SOURCE_STAIN) != 0)
        return g2c_error("%s: slide '%s' is stained %s; model '%s' classifies %s crops (its "
                         "generators translate %s into the other stains)",
                         g2c_catalog_path(inf->cat), inf->o->slide, stain, inf->o->model,
                         INF_SOURCE_STAIN, INF_SOURCE_STAIN);
    sqlite3_stmt *st = g2c_catalog_prepare(inf->cat, "SELECT name FROM slides WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st) == SQLITE_ROW
                 ? add_slide(inf, id, (const char *)sqlite3_column_text(st, 0))
                 : g2c_catalog_error(inf->cat, "reading the slide");
    sqlite3_finalize(st);
    return rc;
}

/* Whether `item` is in the ", "-separated list. */
static int in_list(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; (p = strstr(p, item)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
            return 1;
    return 0;
}

/* The source-stain slides of a patient (or of every patient when
 * patient_id is 0); *others counts the slides of other stains. */
static int list_slides(Infer *inf, int64_t patient_id, int64_t *others, char *stains,
                       size_t size)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        inf->cat, "SELECT s.id, s.name, st.name FROM slides s JOIN stains st ON "
                  "st.id = s.stain_id WHERE ?1 = 0 OR s.patient_id = ?1 ORDER BY s.id");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, patient_id);
    int rc = 0;
    *others = 0;
    stains[0] = '\0';
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *stain = (const char *)sqlite3_column_text(st, 2);
        if (strcmp(stain, INF_SOURCE_STAIN) == 0) {
            rc = add_slide(inf, sqlite3_column_int64(st, 0),
                           (const char *)sqlite3_column_text(st, 1));
            continue;
        }
        (*others)++;
        if (!in_list(stains, stain)) {
            size_t len = strlen(stains);
            snprintf(stains + len, size - len, "%s%s", len ? ", " : "", stain);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static int scope_many(Infer *inf)
{
    const char *path = g2c_catalog_path(inf->cat), *patient = inf->o->patient;
    int64_t patient_id = 0;
    if (patient) {
        patient_id = scalar(inf, "SELECT coalesce((SELECT id FROM patients WHERE "
                                 "external_id = ?1), 0)", patient, 0);
        if (patient_id < 0)
            return -1;
        if (patient_id == 0)
            return g2c_error("%s: no patient '%s' (the catalog has %lld patient(s); 'g2c query "
                             "patients' lists them; a new patient's slides go through g2c "
                             "ingest first)", path, patient,
                             (long long)scalar(inf, "SELECT count(*) FROM patients WHERE ?1 IS "
                                                    "NOT NULL", NULL, 1));
    }
    int64_t others;
    char stains[1024];
    if (list_slides(inf, patient_id, &others, stains, sizeof stains) != 0)
        return -1;
    char where[600];
    snprintf(where, sizeof where, patient ? "patient '%.500s'" : "the catalog", patient);
    if (inf->n_slides == 0)
        return g2c_error("%s: %s has no %s slides (%lld slide(s) of %s); model '%s' classifies "
                         "%s crops", path, where, INF_SOURCE_STAIN, (long long)others,
                         others ? stains : "any stain", inf->o->model, INF_SOURCE_STAIN);
    if (others)
        inf_say(inf, "left out %lld slide(s) of %s in %s: model '%s' reads %s slides",
                (long long)others, stains, where, inf->o->model, INF_SOURCE_STAIN);
    return 0;
}

int inf_resolve_scope(Infer *inf)
{
    return inf->o->slide ? scope_slide(inf) : scope_many(inf);
}

/* ---- which glomeruli ---------------------------------------------------------- */

/* ?1 slide, ?2 model, ?3 rescore, ?4 views, ?5 generators, ?6 given model
 * (NULL: none), ?7 the given model's label of the refined class.  A
 * glomerulus is eligible when level 1 put it in the refined class (always
 * at level 1), and to do when it has no prediction of the model yet (or
 * rescore), or --views and fewer views than the model has generators. */
#define ELIGIBLE                                                                        \
    "(?6 IS NULL OR EXISTS (SELECT 1 FROM predictions g JOIN labels gl ON "             \
    "gl.id = g.label_id WHERE g.annotation_id = a.id AND g.model_id = ?6 AND "          \
    "gl.name = ?7))"
#define TODO                                                                            \
    "(?3 OR NOT EXISTS (SELECT 1 FROM predictions pr WHERE pr.annotation_id = a.id AND " \
    "pr.model_id = ?2) OR (?4 AND (SELECT count(*) FROM generated_views v WHERE "        \
    "v.annotation_id = a.id AND v.model_id = ?2) < ?5))"

static sqlite3_stmt *prepare_bound(Infer *inf, const char *sql, int64_t slide_id)
{
    sqlite3_stmt *st = g2c_catalog_prepare(inf->cat, sql);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, slide_id);
    sqlite3_bind_int64(st, 2, inf->model_id);
    sqlite3_bind_int(st, 3, inf->o->rescore != 0);
    sqlite3_bind_int(st, 4, inf->o->views != 0);
    sqlite3_bind_int(st, 5, inf->n_gen);
    if (inf->given_id)
        sqlite3_bind_int64(st, 6, inf->given_id);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_text(st, 7, inf->given_label ? inf->given_label : "", -1, SQLITE_STATIC);
    return st;
}

sqlite3_stmt *inf_todo_statement(Infer *inf, int64_t slide_id)
{
    return prepare_bound(inf,
                         "SELECT a.id, p.png FROM annotations a JOIN patches p ON p.id = "
                         "(SELECT min(q.id) FROM patches q WHERE q.annotation_id = a.id) "
                         "WHERE a.slide_id = ?1 AND " ELIGIBLE " AND " TODO " ORDER BY a.id",
                         slide_id);
}

static int count_slide(Infer *inf, InfSlide *s)
{
    sqlite3_stmt *st = prepare_bound(
        inf, "SELECT count(*), coalesce(sum(e), 0), coalesce(sum(e AND t), 0), "
             "coalesce(sum(g), 0) FROM (SELECT " ELIGIBLE " AS e, " TODO " AS t, EXISTS "
             "(SELECT 1 FROM predictions g WHERE g.annotation_id = a.id AND g.model_id = ?6) "
             "AS g FROM annotations a WHERE a.slide_id = ?1 AND "
             "EXISTS (SELECT 1 FROM patches q WHERE q.annotation_id = a.id))", s->id);
    if (!st)
        return -1;
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : g2c_catalog_error(inf->cat, "counting glomeruli");
    if (rc == 0) {
        s->glomeruli = sqlite3_column_int64(st, 0);
        s->eligible = sqlite3_column_int64(st, 1);
        s->todo = sqlite3_column_int64(st, 2);
        s->given = sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    return rc;
}

int inf_count(Infer *inf, G2cInferResult *r)
{
    int64_t glomeruli = 0, no_crops = 0, given = 0;
    for (int i = 0; i < inf->n_slides; i++) {
        InfSlide *s = &inf->slides[i];
        if (count_slide(inf, s) != 0)
            return g2c_error_prefix("slide '%s': ", s->name);
        glomeruli += s->glomeruli;
        no_crops += s->glomeruli == 0;
        given += s->given;
        r->skipped += s->eligible - s->todo;
        r->not_given += s->glomeruli - s->eligible;
        inf->total_todo += s->todo;
    }
    r->slides = inf->n_slides;
    const char *path = g2c_catalog_path(inf->cat);
    if (glomeruli == 0 && inf->o->slide)
        return g2c_error("%s: slide '%s' has no glomerulus crops (it was ingested without "
                         "annotations)", path, inf->o->slide);
    if (glomeruli == 0)
        return g2c_error("%s: none of the %d %s slide(s) of %s%s%s has glomerulus crops (they "
                         "were ingested without annotations)", path, inf->n_slides,
                         INF_SOURCE_STAIN, inf->o->patient ? "patient '" : "the catalog",
                         inf->o->patient ? inf->o->patient : "", inf->o->patient ? "'" : "");
    if (inf->given_id && given == 0)
        return g2c_error("%s: --given model '%s' has not scored these %lld glomeruli: run g2c "
                         "infer --model %s on them first", path, inf->o->given,
                         (long long)glomeruli, inf->o->given);
    if (inf->given_id && r->not_given == glomeruli)
        return g2c_error("%s: --given model '%s' called none of these %lld glomeruli %s: "
                         "nothing for model '%s' to tell apart", path, inf->o->given,
                         (long long)glomeruli, inf->given_label, inf->o->model);
    if (no_crops)
        inf_say(inf, "%lld slide(s) without glomerulus crops left out", (long long)no_crops);
    return 0;
}
