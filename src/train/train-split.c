/* Train/test split for slides that have none yet.
 *
 * The unit is a patient (default) or a slide: all crops of a unit go to the
 * same side, so no glomerulus of a test slide (or patient) is ever seen in
 * training.  Units that already have a split keep it, and their slides
 * without one follow them.  The free units are divided by a seeded search:
 * many random orders are tried; in each, units join the test side while
 * that brings its share of crops closer to the test fraction; the order
 * whose test side is closest to the fraction overall and for each label
 * wins.  The same crops, seed and fraction give the same split. */
#include "stage2-private.h"

#include "g2c/error.h"
#include "g2c/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_LABELS = 8, TRIES = 256 };

typedef struct {
    int64_t key; /* patient or slide id */
    int crops;
    int per_label[MAX_LABELS];
    char fixed[8]; /* a split some of its slides already have, or "" */
    int unsplit;   /* some of its crops have no split */
} Unit;

static int64_t unit_key(const S2CropInfo *c, G2cSplitBy by)
{
    return by == G2C_SPLIT_BY_PATIENT ? c->patient_id : c->slide_id;
}

static int label_index(char names[MAX_LABELS][32], int *n, const char *label)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(names[i], label) == 0)
            return i;
    if (*n == MAX_LABELS)
        return MAX_LABELS - 1; /* more labels than the score needs: pooled */
    snprintf(names[*n], 32, "%s", label);
    return (*n)++;
}

/* Units in order of first appearance.  Crops come by annotation, so a
 * slide's crops are together: the last unit is checked first. */
static Unit *collect_units(const S2CropList *crops, G2cSplitBy by, int *n_units, int *n_labels)
{
    Unit *u = calloc((size_t)(crops->count ? crops->count : 1), sizeof *u);
    char names[MAX_LABELS][32];
    *n_units = *n_labels = 0;
    if (!u)
        return NULL;
    int j = 0;
    for (int i = 0; i < crops->count; i++) {
        const S2CropInfo *c = &crops->items[i];
        int64_t key = unit_key(c, by);
        if (j >= *n_units || u[j].key != key) {
            j = 0;
            while (j < *n_units && u[j].key != key)
                j++;
        }
        if (j == *n_units)
            u[(*n_units)++].key = key;
        u[j].unsplit |= !c->split[0];
        u[j].crops++;
        u[j].per_label[label_index(names, n_labels, c->label)]++;
        if (c->split[0] && !u[j].fixed[0])
            snprintf(u[j].fixed, sizeof u[j].fixed, "%s", c->split);
    }
    return u;
}

/* Greedy fill of the test side in `order`; returns the score (lower is
 * better) and marks test[] for the chosen units. */
static double try_order(const Unit *u, const int *order, int n, int labels, double fraction,
                        unsigned char *test)
{
    int total = 0, label_total[MAX_LABELS] = {0};
    for (int i = 0; i < n; i++) {
        total += u[i].crops;
        for (int l = 0; l < labels; l++)
            label_total[l] += u[i].per_label[l];
    }
    double target = fraction * total;
    int t = 0, label_t[MAX_LABELS] = {0};
    memset(test, 0, (size_t)n);
    for (int k = 0; k < n; k++) {
        const Unit *x = &u[order[k]];
        if (fabs(t + x->crops - target) >= fabs(t - target))
            continue;
        test[order[k]] = 1;
        t += x->crops;
        for (int l = 0; l < labels; l++)
            label_t[l] += x->per_label[l];
    }
    double score = total ? fabs((double)t / total - fraction) : 0;
    int used = 0;
    double label_score = 0;
    for (int l = 0; l < labels; l++)
        if (label_total[l] > 0) {
            label_score += fabs((double)label_t[l] / label_total[l] - fraction);
            used++;
        }
    return score + (used ? label_score / used : 0);
}

static void shuffle(int *a, int n, G2cRng *rng)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)g2c_rng_below(rng, (uint64_t)i + 1);
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

int s2_split_plan(const S2CropList *crops, G2cSplitBy by, double test_fraction, uint64_t seed,
               S2SplitPlan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->by = by;
    int n_units, n_labels;
    Unit *u = collect_units(crops, by, &n_units, &n_labels);
    if (!u)
        return g2c_error("out of memory planning the split");
    /* Free units (no split anywhere yet) first, compacted. */
    Unit *free_u = malloc((size_t)(n_units ? n_units : 1) * sizeof *free_u);
    int *order = malloc((size_t)(n_units ? n_units : 1) * sizeof *order);
    unsigned char *best = calloc((size_t)(n_units ? n_units : 1), 1);
    unsigned char *cand = calloc((size_t)(n_units ? n_units : 1), 1);
    plan->items = malloc((size_t)(n_units ? n_units : 1) * sizeof *plan->items);
    if (!free_u || !order || !best || !cand || !plan->items) {
        free(u), free(free_u), free(order), free(best), free(cand);
        s2_split_plan_free(plan);
        return g2c_error("out of memory planning the split");
    }
    int n_free = 0;
    for (int i = 0; i < n_units; i++)
        if (!u[i].fixed[0])
            free_u[n_free++] = u[i];
    G2cRng rng;
    g2c_rng_seed(&rng, seed);
    double best_score = INFINITY;
    for (int t = 0; t < TRIES && n_free > 0; t++) {
        for (int i = 0; i < n_free; i++)
            order[i] = i;
        shuffle(order, n_free, &rng);
        double s = try_order(free_u, order, n_free, n_labels, test_fraction, cand);
        if (s < best_score) {
            best_score = s;
            memcpy(best, cand, (size_t)n_free);
        }
    }
    for (int i = 0; i < n_free; i++) {
        S2SplitItem *it = &plan->items[plan->count++];
        it->key = free_u[i].key;
        snprintf(it->split, sizeof it->split, "%s", best[i] ? "test" : "train");
        it->is_new = 1;
    }
    /* Units with a split on some slides: their other slides follow it. */
    for (int i = 0; i < n_units; i++) {
        if (!u[i].fixed[0])
            continue;
        if (!u[i].unsplit)
            continue;
        S2SplitItem *it = &plan->items[plan->count++];
        it->key = u[i].key;
        snprintf(it->split, sizeof it->split, "%s", u[i].fixed);
    }
    free(u), free(free_u), free(order), free(best), free(cand);
    return 0;
}

void s2_split_plan_free(S2SplitPlan *plan)
{
    free(plan->items);
    memset(plan, 0, sizeof *plan);
}

void s2_split_plan_apply(const S2SplitPlan *plan, S2CropList *crops)
{
    int j = 0;
    for (int i = 0; i < crops->count; i++) {
        S2CropInfo *c = &crops->items[i];
        if (c->split[0] || plan->count == 0)
            continue;
        int64_t key = unit_key(c, plan->by);
        if (plan->items[j].key != key) {
            j = 0;
            while (j < plan->count && plan->items[j].key != key)
                j++;
            if (j == plan->count) {
                j = 0;
                continue;
            }
        }
        snprintf(c->split, sizeof c->split, "%s", plan->items[j].split);
    }
}

/* Inside the caller's transaction.  By patient, every slide of the
 * patient without a split gets it (other stains too, so a later stage-1
 * reference set built from --split train never holds a test patient). */
int s2_split_plan_store(G2cCatalog *cat, const S2SplitPlan *plan)
{
    const char *sql = plan->by == G2C_SPLIT_BY_PATIENT
                          ? "UPDATE slides SET split = ?1 WHERE patient_id = ?2 AND split IS NULL"
                          : "UPDATE slides SET split = ?1 WHERE id = ?2 AND split IS NULL";
    sqlite3_stmt *st = g2c_catalog_prepare(cat, sql);
    if (!st)
        return -1;
    int rc = 0;
    for (int i = 0; i < plan->count && rc == 0; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, plan->items[i].split, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, plan->items[i].key);
        rc = g2c_catalog_step_done(cat, st);
    }
    sqlite3_finalize(st);
    return rc;
}
