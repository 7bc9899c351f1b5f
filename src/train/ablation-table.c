/* The ablation's tables as Markdown (g2c compare --table).  Every number is
 * read back from the runs g2c train, eval and compare stored, never
 * recomputed, so the tables say exactly what those commands measured and
 * can be rebuilt at any time from the catalog alone. */
#include "stage2-private.h"

#include "g2c/error.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one model's stored results ------------------------------------------------ */

typedef struct {
    S2ModelRow row;
    int frozen, augment;
    json_t *eval;         /* metrics of its latest eval run on the split */
    double train_seconds; /* NaN: no train run */
    int epochs;
} Entry;

/* The metrics JSON (column 0; column 1 the run id) of the first run the
 * statement finds with model id ?1 and text ?2; *out NULL when none. */
static int latest_metrics(G2cCatalog *cat, const char *sql, int64_t id, const char *text,
                          json_t **out)
{
    *out = NULL;
    sqlite3_stmt *st = g2c_catalog_prepare(cat, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    if (text)
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
    int step = sqlite3_step(st), rc = 0;
    if (step == SQLITE_ROW) {
        json_error_t err;
        *out = json_loads((const char *)sqlite3_column_text(st, 0), 0, &err);
        if (!*out)
            rc = g2c_error("run %lld: metrics are not JSON (%s)",
                           (long long)sqlite3_column_int64(st, 1), err.text);
    } else if (step != SQLITE_DONE) {
        rc = g2c_catalog_error(cat, "reading runs");
    }
    sqlite3_finalize(st);
    return rc;
}

static int entry_load(G2cCatalog *cat, const char *name, const char *split, Entry *e)
{
    memset(e, 0, sizeof *e);
    e->train_seconds = NAN;
    if (s2_model_row_find(cat, name, &e->row) != 0)
        return -1;
    e->frozen = json_is_true(json_object_get(e->row.config, "freeze_generators"));
    /* Models trained before the option existed were augmented. */
    const json_t *aug = json_object_get(e->row.config, "augment");
    e->augment = !aug || json_is_true(aug);
    if (latest_metrics(cat, "SELECT metrics, id FROM runs WHERE model_id = ?1 AND "
                            "kind = 'eval' AND status = 'done' AND "
                            "json_extract(params, '$.split') = ?2 ORDER BY id DESC LIMIT 1",
                       e->row.id, split, &e->eval) != 0)
        return -1;
    if (!e->eval)
        return g2c_error("model '%s' has no g2c eval run on the %s split: run g2c eval "
                         "--model %s --split %s first", name, split, name, split);
    json_t *train = NULL;
    if (latest_metrics(cat, "SELECT metrics, id FROM runs WHERE model_id = ?1 AND "
                            "kind = 'train' ORDER BY id DESC LIMIT 1",
                       e->row.id, NULL, &train) != 0)
        return -1;
    const json_t *sec = json_object_get(train, "seconds");
    if (json_is_number(sec))
        e->train_seconds = json_number_value(sec);
    e->epochs = (int)json_integer_value(json_object_get(train, "epochs"));
    json_decref(train);
    return 0;
}

static void entry_free(Entry *e)
{
    s2_model_row_free(&e->row);
    json_decref(e->eval);
}

/* A number at eval-metrics path k1[.k2[.k3]]; NaN when missing or null. */
static double metric(const json_t *m, const char *k1, const char *k2, const char *k3)
{
    const json_t *v = json_object_get(m, k1);
    if (k2)
        v = json_object_get(v, k2);
    if (k3)
        v = json_object_get(v, k3);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

typedef struct {
    int found;
    double p;
    int64_t n, only_first, only_second; /* as seen from the (first, second) order */
} Pair;

/* The latest McNemar comparison stored between two models, in either
 * order (the p-value is symmetric; the one-sided counts are swapped back). */
static int pair_lookup(G2cCatalog *cat, const char *first, const char *second,
                       const char *split, Pair *p)
{
    memset(p, 0, sizeof *p);
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT json_extract(params, '$.a') = ?1, json_extract(metrics, '$.p_value'), "
             "json_extract(metrics, '$.n'), json_extract(metrics, '$.a_only'), "
             "json_extract(metrics, '$.b_only') FROM runs WHERE kind = 'compare' AND "
             "json_extract(params, '$.split') = ?3 AND "
             "((json_extract(params, '$.a') = ?1 AND json_extract(params, '$.b') = ?2) OR "
             "(json_extract(params, '$.a') = ?2 AND json_extract(params, '$.b') = ?1)) "
             "ORDER BY id DESC LIMIT 1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, first, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, second, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, split, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        int same_order = sqlite3_column_int(st, 0);
        p->found = 1;
        p->p = sqlite3_column_double(st, 1);
        p->n = sqlite3_column_int64(st, 2);
        p->only_first = sqlite3_column_int64(st, same_order ? 3 : 4);
        p->only_second = sqlite3_column_int64(st, same_order ? 4 : 3);
    }
    sqlite3_finalize(st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0
                                                     : g2c_catalog_error(cat, "reading runs");
}

/* ---- Markdown rows ------------------------------------------------------------- */

enum { MAX_COLS = 24, CELL = 160 };

typedef struct {
    int n;
    char cell[MAX_COLS][CELL];
} Row;

static void G2C_PRINTF(2, 3) add(Row *r, const char *fmt, ...)
{
    if (r->n == MAX_COLS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->cell[r->n++], CELL, fmt, ap);
    va_end(ap);
}

static void add_num(Row *r, double v)
{
    char buf[32];
    add(r, "%s", s2_num(buf, sizeof buf, v));
}

static void add_p(Row *r, const Pair *p)
{
    if (p->found)
        add(r, "%.4g", p->p);
    else
        add(r, "-");
}

/* A cell's text with '|' escaped, so it cannot split the row. */
static void put_cell(FILE *out, const char *s)
{
    fputs("| ", out);
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', out);
        fputc(*s == '\n' ? ' ' : *s, out);
    }
    fputc(' ', out);
}

static void put_row(FILE *out, const Row *r)
{
    for (int i = 0; i < r->n; i++)
        put_cell(out, r->cell[i]);
    fputs("|\n", out);
}

/* The header row and the alignment row: the first `text_cols` columns
 * left-aligned, the numbers right-aligned. */
static void put_header(FILE *out, const Row *r, int text_cols)
{
    put_row(out, r);
    for (int i = 0; i < r->n; i++)
        fputs(i < text_cols ? "|---" : "|---:", out);
    fputs("|\n", out);
}

static void describe(const Entry *e, char *out, size_t size)
{
    snprintf(out, size, "%s%s%s", e->row.variant, e->frozen ? ", frozen generators" : "",
             e->augment ? "" : ", no augmentation");
}

/* ---- the tables of one task --------------------------------------------------------- */

typedef struct {
    G2cCatalog *cat;
    const char *split;
    const G2cTask *task;
    Entry **e; /* the task's models, in the order given */
    int n;
    const Entry *base;
    FILE *out;
} Section;

static int p_vs_base(const Section *s, const Entry *e, Pair *p)
{
    memset(p, 0, sizeof *p);
    if (!s->base || e == s->base)
        return 0;
    return pair_lookup(s->cat, s->base->row.name, e->row.name, s->split, p);
}

static void per_class_table(const Section *s)
{
    const G2cTask *t = s->task;
    Row h = {0};
    add(&h, "model");
    add(&h, "variant");
    if (t->parent)
        add(&h, "given (excluded)");
    add(&h, "glomeruli");
    for (int c = 0; c < t->classes; c++)
        add(&h, "acc %s", t->class_names[c]);
    add(&h, "balanced acc");
    for (int c = 0; c < t->classes; c++)
        add(&h, "F1 %s", t->class_names[c]);
    add(&h, "macro F1");
    fprintf(s->out, "### Accuracy per class (paper Tables 2 and 3)\n\n");
    put_header(s->out, &h, t->parent ? 3 : 2);
    for (int i = 0; i < s->n; i++) {
        const Entry *e = s->e[i];
        const json_t *m = e->eval;
        Row r = {0};
        char v[128];
        describe(e, v, sizeof v);
        add(&r, "%s", e->row.name);
        add(&r, "%s", v);
        if (t->parent) {
            const char *given = json_string_value(json_object_get(m, "given"));
            if (given)
                add(&r, "%s (%lld)", given,
                    (long long)json_integer_value(json_object_get(m, "given_excluded")));
            else
                add(&r, "none: all glomeruli");
        }
        add(&r, "%lld", (long long)json_integer_value(json_object_get(m, "n")));
        for (int c = 0; c < t->classes; c++)
            add_num(&r, metric(m, "per_class", t->class_names[c], "accuracy"));
        add_num(&r, metric(m, "balanced_accuracy", NULL, NULL));
        for (int c = 0; c < t->classes; c++)
            add_num(&r, metric(m, "per_class", t->class_names[c], "f1"));
        add_num(&r, metric(m, "macro_f1", NULL, NULL));
        put_row(s->out, &r);
    }
    fputc('\n', s->out);
}

static void gap_table(const Section *s)
{
    Row h = {0};
    add(&h, "model");
    add(&h, "variant");
    add(&h, "train glomeruli");
    add(&h, "train acc");
    add(&h, "%s glomeruli", s->split);
    add(&h, "%s acc", s->split);
    add(&h, "gap");
    fprintf(s->out, "### Train accuracy, %s accuracy and gap (paper Table 4)\n\n", s->split);
    put_header(s->out, &h, 2);
    for (int i = 0; i < s->n; i++) {
        const json_t *m = s->e[i]->eval;
        Row r = {0};
        char v[128];
        describe(s->e[i], v, sizeof v);
        add(&r, "%s", s->e[i]->row.name);
        add(&r, "%s", v);
        add(&r, "%lld", (long long)json_integer_value(
                            json_object_get(json_object_get(m, "train"), "n")));
        add_num(&r, metric(m, "train", "accuracy", NULL));
        add(&r, "%lld", (long long)json_integer_value(json_object_get(m, "n")));
        add_num(&r, metric(m, "accuracy", NULL, NULL));
        add_num(&r, metric(m, "gap", NULL, NULL));
        put_row(s->out, &r);
    }
    fputc('\n', s->out);
}

static void summary_row(const Entry *e, Row *r)
{
    add_num(r, metric(e->eval, "balanced_accuracy", NULL, NULL));
    add_num(r, metric(e->eval, "macro_f1", NULL, NULL));
    add_num(r, metric(e->eval, "accuracy", NULL, NULL));
    add_num(r, metric(e->eval, "gap", NULL, NULL));
}

static void summary_header(const Section *s, Row *h)
{
    add(h, "balanced acc");
    add(h, "macro F1");
    add(h, "%s acc", s->split);
    add(h, "gap");
}

static int is_all_plus(const Entry *e)
{
    return strcmp(e->row.variant, "PAS_ALL+") == 0;
}

/* PAS_ALL+ trained jointly and with frozen generators (the paper's
 * separate optimisation), with the same augmentation. */
static int joint_vs_frozen(const Section *s)
{
    fprintf(s->out, "### Joint vs separate optimisation of the generators\n\n");
    const Entry *joint = NULL, *frozen = NULL;
    for (int i = 0; i < s->n && !frozen; i++)
        for (int j = 0; j < s->n && !frozen; j++)
            if (is_all_plus(s->e[i]) && !s->e[i]->frozen && is_all_plus(s->e[j]) &&
                s->e[j]->frozen && s->e[i]->augment == s->e[j]->augment) {
                joint = s->e[i];
                frozen = s->e[j];
            }
    if (!frozen) {
        fprintf(s->out, "No pair: it needs PAS_ALL+ trained with and without "
                        "--freeze-generators (ablation.sh variants all+ and frozen).\n\n");
        return 0;
    }
    Row h = {0};
    add(&h, "model");
    add(&h, "generators");
    summary_header(s, &h);
    put_header(s->out, &h, 2);
    const Entry *pair[2] = {joint, frozen};
    for (int i = 0; i < 2; i++) {
        Row r = {0};
        add(&r, "%s", pair[i]->row.name);
        add(&r, "%s", pair[i]->frozen ? "frozen (separate optimisation)"
                                      : "fine-tuned jointly");
        summary_row(pair[i], &r);
        put_row(s->out, &r);
    }
    Pair p;
    if (pair_lookup(s->cat, joint->row.name, frozen->row.name, s->split, &p) != 0)
        return -1;
    if (p.found)
        fprintf(s->out, "\nMcNemar, joint vs frozen: p = %.4g (%lld glomeruli; only %s right "
                        "%lld, only %s right %lld).\n\n", p.p, (long long)p.n,
                joint->row.name, (long long)p.only_first, frozen->row.name,
                (long long)p.only_second);
    else
        fprintf(s->out, "\nNo McNemar comparison stored between them (g2c compare --model "
                        "%s --model %s).\n\n", joint->row.name, frozen->row.name);
    return 0;
}

/* PAS_ONLY with and without conventional augmentation against G2C. */
static int augmentation(const Section *s)
{
    fprintf(s->out, "### G2C vs conventional augmentation\n\n");
    int plain = 0, g2c = 0;
    for (int i = 0; i < s->n; i++) {
        const Entry *e = s->e[i];
        plain += strcmp(e->row.variant, "PAS_ONLY") == 0;
        g2c += is_all_plus(e) && !e->frozen;
    }
    if (!plain || !g2c) {
        fprintf(s->out, "Not enough models: it needs PAS_ONLY (with and without "
                        "--no-augment) and PAS_ALL+ (ablation.sh variants only, noaug and "
                        "all+).\n\n");
        return 0;
    }
    Row h = {0};
    add(&h, "model");
    add(&h, "variant");
    add(&h, "augmentation");
    summary_header(s, &h);
    add(&h, "p vs %s", s->base ? s->base->row.name : "baseline");
    put_header(s->out, &h, 3);
    for (int i = 0; i < s->n; i++) {
        const Entry *e = s->e[i];
        if (strcmp(e->row.variant, "PAS_ONLY") != 0 && !(is_all_plus(e) && !e->frozen))
            continue;
        Row r = {0};
        add(&r, "%s", e->row.name);
        add(&r, "%s", e->row.variant);
        add(&r, "%s", e->augment ? "flips, brightness, saturation" : "none");
        summary_row(e, &r);
        Pair p;
        if (p_vs_base(s, e, &p) != 0)
            return -1;
        if (e == s->base)
            add(&r, "baseline");
        else
            add_p(&r, &p);
        put_row(s->out, &r);
    }
    fputc('\n', s->out);
    return 0;
}

static int mcnemar_and_time(const Section *s)
{
    const char *base = s->base ? s->base->row.name : NULL;
    fprintf(s->out, "### McNemar against %s and training time\n\n", base ? base : "PAS_ONLY");
    if (!base)
        fprintf(s->out, "No baseline: no PAS_ONLY model with augmentation among the models "
                        "(or give --baseline).\n\n");
    Row h = {0};
    add(&h, "model");
    add(&h, "variant");
    add(&h, "paired glomeruli");
    add(&h, "only %s right", base ? base : "baseline");
    add(&h, "only model right");
    add(&h, "p");
    add(&h, "train min");
    add(&h, "epochs");
    put_header(s->out, &h, 2);
    for (int i = 0; i < s->n; i++) {
        const Entry *e = s->e[i];
        Pair p;
        if (p_vs_base(s, e, &p) != 0)
            return -1;
        Row r = {0};
        char v[128];
        describe(e, v, sizeof v);
        add(&r, "%s", e->row.name);
        add(&r, "%s", v);
        if (e == s->base) {
            add(&r, "baseline");
            add(&r, "-");
            add(&r, "-");
            add(&r, "-");
        } else if (p.found) {
            add(&r, "%lld", (long long)p.n);
            add(&r, "%lld", (long long)p.only_first);
            add(&r, "%lld", (long long)p.only_second);
            add_p(&r, &p);
        } else {
            add(&r, "not compared");
            add(&r, "-");
            add(&r, "-");
            add(&r, "-");
        }
        if (isnan(e->train_seconds))
            add(&r, "-");
        else
            add(&r, "%.2f", e->train_seconds / 60.0);
        add(&r, "%d", e->epochs);
        put_row(s->out, &r);
    }
    fprintf(s->out, "\np: McNemar's exact test (g2c compare) on the glomeruli both models "
                    "predicted; \"not compared\": no compare run stored.\n\n");
    return 0;
}

static int task_section(Section *s)
{
    const G2cTask *t = s->task;
    fprintf(s->out, "## Task %s\n\nLevel %d: %s.", t->name, t->level, t->description);
    if (t->parent)
        fprintf(s->out, " The paper evaluates it on the glomeruli that a level-1 model "
                        "(task %s) called %s (g2c eval --given); the column \"given\" names "
                        "that model and how many glomeruli it left out.", t->parent,
                t->parent_class);
    fprintf(s->out, "\n\n");
    per_class_table(s);
    gap_table(s);
    if (joint_vs_frozen(s) != 0 || augmentation(s) != 0 || mcnemar_and_time(s) != 0)
        return -1;
    return 0;
}

/* ---- the whole document ---------------------------------------------------------------- */

static const Entry *find_baseline(Entry *es, int n, const G2cTask *task, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (strcmp(es[i].row.name, name) == 0 && es[i].row.task == task)
            return &es[i];
    for (int i = 0; i < n; i++)
        if (es[i].row.task == task && strcmp(es[i].row.variant, "PAS_ONLY") == 0 &&
            es[i].augment)
            return &es[i];
    return NULL;
}

/* Every g2c model with an eval run on the split, in creation order. */
static int default_models(G2cCatalog *cat, const char *split, char ***names, int *n)
{
    *names = NULL;
    *n = 0;
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT name FROM models m WHERE kind = 'g2c' AND EXISTS (SELECT 1 FROM runs r "
             "WHERE r.model_id = m.id AND r.kind = 'eval' AND r.status = 'done' AND "
             "json_extract(r.params, '$.split') = ?1) ORDER BY id");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, split, -1, SQLITE_STATIC);
    int step, rc = 0;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        char **grown = realloc(*names, (size_t)(*n + 1) * sizeof *grown);
        char *name = strdup((const char *)sqlite3_column_text(st, 0));
        if (grown)
            *names = grown;
        if (!grown || !name) {
            free(name);
            rc = g2c_error("out of memory");
            break;
        }
        (*names)[(*n)++] = name;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = g2c_catalog_error(cat, "listing models");
    sqlite3_finalize(st);
    if (rc == 0 && *n == 0)
        rc = g2c_error("%s: no g2c model has an eval run on the %s split (run g2c eval)",
                       g2c_catalog_path(cat), split);
    return rc;
}

static int write_document(G2cCatalog *cat, const G2cAblationOptions *o, const char *split,
                          Entry *es, int n, FILE *out)
{
    fprintf(out, "# %s\n\n", o->title ? o->title : "G2C ablation");
    fprintf(out, "Split `%s`, %d model%s.  Every number is read from the catalog: metrics from "
                 "each model's latest `g2c eval` run on the split, p-values from `g2c "
                 "compare` runs (McNemar's exact test), training time from the `g2c train` "
                 "run.  Accuracy of a class = its recall; balanced accuracy = the mean of "
                 "the per-class accuracies (the paper's category-averaged accuracy); gap = "
                 "train accuracy - %s accuracy.\n\n", split, n, n == 1 ? "" : "s", split);
    Entry **members = malloc((size_t)n * sizeof *members);
    if (!members)
        return g2c_error("out of memory");
    int rc = 0;
    for (int t = 0; t < g2c_task_count() && rc == 0; t++) {
        Section s = {cat, split, g2c_task_at(t), members, 0, NULL, out};
        for (int i = 0; i < n; i++)
            if (es[i].row.task == s.task)
                members[s.n++] = &es[i];
        if (s.n == 0)
            continue;
        s.base = find_baseline(es, n, s.task, o->baseline);
        rc = task_section(&s);
    }
    free(members);
    return rc;
}

int g2c_ablation_markdown(G2cCatalog *cat, const G2cAblationOptions *o, FILE *out)
{
    const char *split = o->split ? o->split : "test";
    if (strcmp(split, "train") && strcmp(split, "val") && strcmp(split, "test"))
        return g2c_error("--split is train, val or test, not '%s'", split);
    char **own = NULL;
    int n = o->n_models, rc = 0;
    const char *const *names = o->models;
    if (n == 0) {
        if (default_models(cat, split, &own, &n) != 0)
            return -1;
        names = (const char *const *)own;
    }
    Entry *es = calloc((size_t)n, sizeof *es);
    if (!es)
        rc = g2c_error("out of memory");
    for (int i = 0; i < n && rc == 0; i++) {
        for (int j = 0; j < i && rc == 0; j++)
            if (strcmp(names[i], names[j]) == 0)
                rc = g2c_error("model '%s' is listed twice", names[i]);
        if (rc == 0)
            rc = entry_load(cat, names[i], split, &es[i]);
    }
    if (rc == 0 && o->baseline) {
        int listed = 0;
        for (int i = 0; i < n; i++)
            listed |= strcmp(es[i].row.name, o->baseline) == 0;
        if (!listed)
            rc = g2c_error("--baseline '%s' is not one of the models", o->baseline);
    }
    if (rc == 0)
        rc = write_document(cat, o, split, es, n, out);
    for (int i = 0; es && i < n; i++)
        entry_free(&es[i]);
    free(es);
    for (int i = 0; own && i < n; i++)
        free(own[i]);
    free(own);
    return rc;
}
