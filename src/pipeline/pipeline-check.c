/* Checks across stages, made before any stage runs: input files exist,
 * and every reference set or model a stage uses is made by an earlier
 * stage or is already in the catalog. */
#include "pipeline-private.h"

#include "g2c/error.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int stage_error(const G2cPipeline *p, int i, const char *param, const char *msg)
{
    return g2c_error("%s: stage '%s' (stages[%d].params.%s): %s", p->path, p->stages[i].id, i,
                     param, msg);
}

int pipe_check_inputs(const G2cPipeline *p)
{
    for (int i = 0; i < p->count; i++) {
        const PipeStage *s = &p->stages[i];
        for (const PipeParam *q = s->kind->params; q->name; q++) {
            const char *v = json_string_value(json_object_get(s->params, q->name));
            if (!(q->flags & PF_INPUT) || !v)
                continue;
            char *path = pipe_resolve_path(p, v);
            int missing = path && access(path, F_OK) != 0;
            char msg[4200];
            snprintf(msg, sizeof msg, "no such file or folder: %s", path ? path : v);
            free(path);
            if (missing)
                return stage_error(p, i, q->name, msg);
        }
    }
    return 0;
}

/* The catalog as far as the checks need it: absent (empty), unreadable
 * (an old or odd catalog: then the stage's command will say), or open. */
typedef struct {
    G2cCatalog *cat;
    int absent;
} Known;

/* Is `name` in the catalog's refsets or models? */
static int in_catalog(const Known *k, PipeObject what, const char *name)
{
    G2cCatalog *cat = k->cat;
    if (!cat)
        return !k->absent;
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, what == PO_REFSET ? "SELECT 1 FROM refsets WHERE name = ?1"
                               : "SELECT 1 FROM models WHERE name = ?1");
    if (!st)
        return 1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

static int made_before(const G2cPipeline *p, int i, PipeObject what, const char *name)
{
    for (int j = 0; j < i; j++)
        if (p->stages[j].kind->makes == what && p->stages[j].makes &&
            strcmp(p->stages[j].makes, name) == 0)
            return 1;
    return 0;
}

static int check_name(const G2cPipeline *p, int i, const char *param, const char *name,
                      const Known *cat)
{
    PipeObject what = p->stages[i].kind->uses;
    if (made_before(p, i, what, name) || in_catalog(cat, what, name))
        return 0;
    char msg[512];
    snprintf(msg, sizeof msg, "%s '%s' is made by no earlier stage and is not in the catalog",
             what == PO_REFSET ? "reference set" : "model", name);
    return stage_error(p, i, param, msg);
}

static int check_stage(const G2cPipeline *p, int i, const Known *cat)
{
    const PipeStage *s = &p->stages[i];
    /* Generators from another catalog are that catalog's business. */
    int elsewhere = json_object_get(s->params, "generator-db") != NULL;
    for (const PipeParam *q = s->kind->params; q->name; q++) {
        json_t *v = json_object_get(s->params, q->name);
        if (!(q->flags & PF_USES) || !v || (elsewhere && strcmp(q->name, "generators") == 0))
            continue;
        if (json_is_string(v) && check_name(p, i, q->name, json_string_value(v), cat) != 0)
            return -1;
        size_t k;
        json_t *item;
        json_array_foreach(v, k, item)
        {
            if (check_name(p, i, q->name, json_string_value(item), cat) != 0)
                return -1;
        }
    }
    return 0;
}

int pipe_check_references(const G2cPipeline *p, const char *db)
{
    Known k = {NULL, access(db, F_OK) != 0};
    if (!k.absent) {
        k.cat = g2c_catalog_open(db, G2C_CATALOG_READONLY);
        g2c_error_clear();
    }
    int rc = 0;
    for (int i = 0; rc == 0 && i < p->count; i++)
        rc = check_stage(p, i, &k);
    g2c_catalog_close(k.cat);
    return rc;
}
