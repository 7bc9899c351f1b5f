/* Stage status in the catalog (table pipeline_stages, migration 0002).
 *
 * params_hash holds two hashes, "CHAIN/OWN": OWN is of the stage's kind
 * and parameters (canonical JSON: sorted keys, normalised values), CHAIN
 * of OWN and the CHAIN of the stage before.  A stage is up to date when
 * its CHAIN matches, so a changed parameter invalidates its stage and,
 * through the chain, every stage after it - also across runs, whatever
 * happened in between.  OWN tells "its parameters changed" from "a stage
 * before it changed" in the messages. */
#include "pipeline-private.h"

#include "g2c/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a, 64 bits: stable across platforms, enough to notice a change
 * (this is no defence against someone forging a collision). */
static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void hex(uint64_t h, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

void pipe_hash_stages(G2cPipeline *p)
{
    char prev[17] = "";
    for (int i = 0; i < p->count; i++) {
        PipeStage *s = &p->stages[i];
        json_t *canon = json_pack("{s:s, s:O}", "stage", s->kind->name, "params", s->params);
        char *text = json_dumps(canon, JSON_SORT_KEYS | JSON_COMPACT);
        hex(fnv1a(0xcbf29ce484222325ULL, text ? text : ""), s->own_hash);
        free(text);
        json_decref(canon);
        hex(fnv1a(fnv1a(0xcbf29ce484222325ULL, prev), s->own_hash), s->chain_hash);
        memcpy(prev, s->chain_hash, sizeof prev);
    }
}

static PipeStatus parse_status(const char *s)
{
    if (strcmp(s, "running") == 0)
        return PS_RUNNING;
    if (strcmp(s, "done") == 0)
        return PS_DONE;
    return PS_FAILED;
}

int pipe_state_read(G2cCatalog *cat, const G2cPipeline *p, PipeRow *rows)
{
    memset(rows, 0, (size_t)p->count * sizeof *rows);
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT stage, status, params_hash FROM pipeline_stages WHERE pipeline = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *hash = (const char *)sqlite3_column_text(st, 2);
        for (int i = 0; i < p->count; i++) {
            if (strcmp(p->stages[i].id, id) != 0)
                continue;
            rows[i].status = parse_status((const char *)sqlite3_column_text(st, 1));
            const char *slash = strchr(hash, '/');
            snprintf(rows[i].chain_hash, sizeof rows[i].chain_hash, "%.*s",
                     slash ? (int)(slash - hash) : (int)strlen(hash), hash);
            snprintf(rows[i].own_hash, sizeof rows[i].own_hash, "%s", slash ? slash + 1 : "");
        }
    }
    sqlite3_finalize(st);
    return 0;
}

static const char *status_text(PipeStatus s)
{
    return s == PS_RUNNING ? "running" : s == PS_DONE ? "done" : "failed";
}

int pipe_state_set(G2cCatalog *cat, const G2cPipeline *p, int i, PipeStatus status,
                   int64_t run_id)
{
    const PipeStage *s = &p->stages[i];
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "INSERT INTO pipeline_stages (pipeline, stage, position, params_hash, status, "
             "run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
             "ON CONFLICT (pipeline, stage) DO UPDATE SET position = excluded.position, "
             "params_hash = excluded.params_hash, status = excluded.status, "
             "run_id = coalesce(excluded.run_id, run_id), "
             "updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')");
    if (!st)
        return -1;
    char hash[40];
    snprintf(hash, sizeof hash, "%s/%s", s->chain_hash, s->own_hash);
    sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, s->id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, i);
    sqlite3_bind_text(st, 4, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, status_text(status), -1, SQLITE_STATIC);
    if (run_id > 0)
        sqlite3_bind_int64(st, 6, run_id);
    else
        sqlite3_bind_null(st, 6);
    int rc = g2c_catalog_step_done(cat, st);
    sqlite3_finalize(st);
    return rc;
}

int pipe_state_forget(G2cCatalog *cat, const G2cPipeline *p, int i)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "DELETE FROM pipeline_stages WHERE pipeline = ?1 AND stage = ?2");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->stages[i].id, -1, SQLITE_STATIC);
    int rc = g2c_catalog_step_done(cat, st);
    sqlite3_finalize(st);
    return rc;
}

int64_t pipe_last_run_id(G2cCatalog *cat)
{
    sqlite3_stmt *st = g2c_catalog_prepare(cat, "SELECT coalesce(max(id), 0) FROM runs");
    if (!st)
        return 0;
    int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return id;
}
