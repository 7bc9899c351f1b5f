/* What a stage made, for running it again from the start.  Reference sets
 * and models have names, and their commands refuse to make a second of
 * the same name (a model of the same name with other settings, a finished
 * model, a set that exists), so a stage that must run again first removes
 * its own.  Ingest, eval, infer and report need nothing: running them
 * again replaces what they wrote (infer is told to rescore). */
#include "pipeline-private.h"

#include "g2c/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *model_kind(const PipeStage *s)
{
    return strcmp(s->kind->name, "pretrain") == 0 ? "cyclegan" : "g2c";
}

/* "a, b, c" of the models that use the reference set. */
static void models_using(G2cCatalog *cat, const char *refset, char *out, size_t size)
{
    out[0] = '\0';
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT DISTINCT m.name FROM model_refsets mr JOIN models m ON m.id = mr.model_id "
             "JOIN refsets r ON r.id = mr.refset_id WHERE r.name = ?1 ORDER BY m.name");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, refset, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? ", " : "",
                 (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

static int reset_refset(G2cCatalog *cat, const PipeStage *s)
{
    char users[512];
    models_using(cat, s->makes, users, sizeof users);
    if (users[0])
        return g2c_error("stage '%s': reference set '%s' cannot be made again while models "
                         "trained on it remain (%s); run from this stage with --from, or "
                         "remove them",
                         s->id, s->makes, users);
    sqlite3_stmt *st = g2c_catalog_prepare(cat, "DELETE FROM refsets WHERE name = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, s->makes, -1, SQLITE_STATIC);
    int rc = g2c_catalog_step_done(cat, st);
    sqlite3_finalize(st);
    return rc;
}

static int reset_model(G2cCatalog *cat, const PipeStage *s, char **file)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT id, kind, checkpoint FROM models WHERE name = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, s->makes, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return 0;
    }
    int64_t id = sqlite3_column_int64(st, 0);
    int rc = 0;
    if (strcmp((const char *)sqlite3_column_text(st, 1), model_kind(s)) != 0)
        rc = g2c_error("stage '%s': the catalog's model '%s' is of kind '%s', not one this "
                       "stage made; choose another name",
                       s->id, s->makes, (const char *)sqlite3_column_text(st, 1));
    char *checkpoint = NULL;
    if (rc == 0 && strcmp(s->kind->name, "train") == 0 &&
        sqlite3_column_type(st, 2) != SQLITE_NULL)
        checkpoint = strdup((const char *)sqlite3_column_text(st, 2));
    sqlite3_finalize(st);
    if (rc != 0)
        return rc;
    /* Runs, epochs, predictions, views and reference-set links go with it
     * (ON DELETE CASCADE). */
    st = g2c_catalog_prepare(cat, "DELETE FROM models WHERE id = ?1");
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        rc = g2c_catalog_step_done(cat, st);
        sqlite3_finalize(st);
    } else {
        rc = -1;
    }
    /* A stale checkpoint must not be resumed by the new model; pretrain's
     * folder is cleared by its --restart instead. */
    if (rc == 0)
        *file = checkpoint;
    else
        free(checkpoint);
    return rc;
}

int pipe_stage_reset(G2cCatalog *cat, const PipeStage *s, char **file)
{
    if (!s->makes)
        return 0;
    return s->kind->makes == PO_REFSET ? reset_refset(cat, s) : reset_model(cat, s, file);
}

void pipe_remove_file(const char *path)
{
    /* Gone already is fine; anything else leaves a file the new model
     * will not read (its checkpoint is written afresh), so only say so. */
    if (unlink(path) != 0 && access(path, F_OK) == 0)
        fprintf(stderr, "warning: %s: cannot remove the old checkpoint\n", path);
}

int pipe_stage_complete(G2cCatalog *cat, const PipeStage *s, int *complete)
{
    *complete = 0;
    const char *sql = NULL;
    if (s->kind->makes == PO_REFSET)
        sql = "SELECT 1 FROM refsets WHERE name = ?1";
    else if (strcmp(s->kind->name, "train") == 0)
        sql = "SELECT 1 FROM models m WHERE m.name = ?1 AND m.kind = 'g2c' AND "
              "(SELECT status FROM runs WHERE model_id = m.id AND kind = 'train' "
              "ORDER BY id DESC LIMIT 1) = 'done'";
    if (!sql || !s->makes)
        return 0;
    sqlite3_stmt *st = g2c_catalog_prepare(cat, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, s->makes, -1, SQLITE_STATIC);
    *complete = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return 0;
}
