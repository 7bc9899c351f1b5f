/* Rescued glomeruli: those model A got wrong and model B right, from the
 * predictions g2c eval stored (the cases of the paper's Figure 3). */
#include "stage2-private.h"

#include "g2c/error.h"

#include <stdlib.h>
#include <string.h>

static int predicted_class(const G2cTask *task, const char *label)
{
    for (int c = 0; c < task->classes; c++)
        if (strcmp(task->predicted_label[c], label) == 0)
            return c;
    return -1;
}

static int append(G2cRescued *r, int *cap, const G2cRescuedCase *c)
{
    if (r->count == *cap) {
        int grown_cap = *cap ? 2 * *cap : 64;
        G2cRescuedCase *grown = realloc(r->cases, (size_t)grown_cap * sizeof *grown);
        if (!grown)
            return g2c_error("out of memory");
        r->cases = grown;
        *cap = grown_cap;
    }
    r->cases[r->count++] = *c;
    return 0;
}

/* Walk the glomeruli of the split both models predicted. */
static int collect(G2cCatalog *cat, const S2ModelRow *a, const S2ModelRow *b, G2cRescued *r)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT a.id, pt.external_id, s.name, la.name, pla.name, pa.confidence, "
             "plb.name, pb.confidence FROM annotations a "
             "JOIN slides s ON s.id = a.slide_id JOIN patients pt ON pt.id = s.patient_id "
             "JOIN labels la ON la.id = a.label_id "
             "JOIN predictions pa ON pa.annotation_id = a.id AND pa.model_id = ?1 "
             "JOIN labels pla ON pla.id = pa.label_id "
             "JOIN predictions pb ON pb.annotation_id = a.id AND pb.model_id = ?2 "
             "JOIN labels plb ON plb.id = pb.label_id WHERE s.split = ?3 ORDER BY a.id");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, a->id);
    sqlite3_bind_int64(st, 2, b->id);
    sqlite3_bind_text(st, 3, r->split, -1, SQLITE_STATIC);
    const G2cTask *task = a->task;
    int step, rc = 0, cap = 0;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *truth = (const char *)sqlite3_column_text(st, 3);
        int t = g2c_task_class_of(task, truth);
        int pa = predicted_class(task, (const char *)sqlite3_column_text(st, 4));
        int pb = predicted_class(task, (const char *)sqlite3_column_text(st, 6));
        if (t < 0 || pa < 0 || pb < 0)
            continue;
        r->paired++;
        if (pa == t || pb != t)
            continue;
        G2cRescuedCase c = {0};
        c.annotation_id = sqlite3_column_int64(st, 0);
        snprintf(c.patient, sizeof c.patient, "%s", sqlite3_column_text(st, 1));
        snprintf(c.slide, sizeof c.slide, "%s", sqlite3_column_text(st, 2));
        snprintf(c.truth, sizeof c.truth, "%s", truth);
        snprintf(c.truth_class, sizeof c.truth_class, "%s", task->class_names[t]);
        snprintf(c.predicted_a, sizeof c.predicted_a, "%s", task->class_names[pa]);
        snprintf(c.predicted_b, sizeof c.predicted_b, "%s", task->class_names[pb]);
        c.confidence_a = sqlite3_column_double(st, 5);
        c.confidence_b = sqlite3_column_double(st, 7);
        rc = append(r, &cap, &c);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = g2c_catalog_error(cat, "reading predictions");
    sqlite3_finalize(st);
    return rc;
}

/* The clearest rescues first: B surest of the right answer. */
static int by_confidence(const void *x, const void *y)
{
    const G2cRescuedCase *a = x, *b = y;
    if (a->confidence_b != b->confidence_b)
        return a->confidence_b > b->confidence_b ? -1 : 1;
    return (a->annotation_id > b->annotation_id) - (a->annotation_id < b->annotation_id);
}

static int check_models(G2cCatalog *cat, const S2ModelRow *a, const S2ModelRow *b,
                        const char *split)
{
    if (a->id == b->id)
        return g2c_error("rescued cases need two different models (both are '%s')", a->name);
    if (a->task != b->task)
        return g2c_error("models '%s' (task %s) and '%s' (task %s) answer different questions",
                         a->name, a->task->name, b->name, b->task->name);
    const S2ModelRow *rows[2] = {a, b};
    for (int i = 0; i < 2; i++)
        if (s2_count_predictions(cat, rows[i]->id, split) == 0)
            return g2c_error("model '%s' has no predictions on the %s split: run g2c eval "
                             "--model %s --split %s first", rows[i]->name, split,
                             rows[i]->name, split);
    return 0;
}

int g2c_rescued_find(G2cCatalog *cat, const char *model_a, const char *model_b,
                     const char *split, G2cRescued *r)
{
    memset(r, 0, sizeof *r);
    if (!split)
        split = "test";
    if (strcmp(split, "train") && strcmp(split, "val") && strcmp(split, "test"))
        return g2c_error("--split is train, val or test, not '%s'", split);
    snprintf(r->model_a, sizeof r->model_a, "%s", model_a);
    snprintf(r->model_b, sizeof r->model_b, "%s", model_b);
    snprintf(r->split, sizeof r->split, "%s", split);
    S2ModelRow a = {0}, b = {0};
    int rc = s2_model_row_find(cat, model_a, &a);
    if (rc == 0)
        rc = s2_model_row_find(cat, model_b, &b);
    if (rc == 0)
        rc = check_models(cat, &a, &b, split);
    if (rc == 0) {
        snprintf(r->task, sizeof r->task, "%s", a.task->name);
        rc = collect(cat, &a, &b, r);
    }
    if (rc == 0 && r->paired == 0)
        rc = g2c_error("no glomerulus of the %s split has predictions from both '%s' and '%s'",
                       split, model_a, model_b);
    if (rc == 0 && r->count > 1)
        qsort(r->cases, (size_t)r->count, sizeof *r->cases, by_confidence);
    s2_model_row_free(&a);
    s2_model_row_free(&b);
    if (rc != 0)
        g2c_rescued_free(r);
    return rc;
}

void g2c_rescued_free(G2cRescued *r)
{
    free(r->cases);
    r->cases = NULL;
    r->count = 0;
}
