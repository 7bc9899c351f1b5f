/* The catalog side of pre-training: the model and its reference sets, the
 * run, one row per epoch.  Every write is one transaction with bound
 * parameters; everything that can be refused is checked before the first
 * write (pt_catalog_check_model), so a refused command leaves no row. */
#include "pretrain-private.h"

#include "g2c/error.h"

#include <stdlib.h>
#include <string.h>

/* Step a statement that returns no rows, then finalize it. */
static int done_stmt(G2cCatalog *cat, sqlite3_stmt *st)
{
    if (!st)
        return -1;
    int rc = g2c_catalog_step_done(cat, st);
    sqlite3_finalize(st);
    return rc;
}

/* Read-only: does the model exist, with which kind and configuration. */
int pt_catalog_check_model(Pretrain *pt)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        pt->cat, "SELECT id, kind, config FROM models WHERE name = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, pt->name, -1, SQLITE_STATIC);
    int rc = 0;
    pt->model_exists = pt->model_same = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        pt->model_exists = 1;
        pt->model_id = sqlite3_column_int64(st, 0);
        const char *kind = (const char *)sqlite3_column_text(st, 1);
        json_t *old = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
        if (strcmp(kind, "cyclegan") != 0) {
            rc = g2c_error("model %s exists and is a %s model; choose another --name",
                           pt->name, kind);
        } else if (old && json_equal(old, pt->config)) {
            pt->model_same = 1;
        } else if (!pt->opt->restart) {
            char *diff = old ? pt_config_diff(old, pt->config) : NULL;
            rc = g2c_error("model %s exists with another configuration (%s); use "
                           "another --name, or --restart to train it again with this one",
                           pt->name, diff ? diff : "unreadable configuration");
            free(diff);
        }
        json_decref(old);
    }
    sqlite3_finalize(st);
    return rc;
}

int pt_catalog_last_run_done(Pretrain *pt, int *done)
{
    *done = 0;
    if (!pt->model_exists)
        return 0;
    sqlite3_stmt *st = g2c_catalog_prepare(
        pt->cat, "SELECT status FROM runs WHERE model_id = ?1 AND kind = 'pretrain' "
                 "ORDER BY id DESC LIMIT 1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, pt->model_id);
    if (sqlite3_step(st) == SQLITE_ROW)
        *done = strcmp((const char *)sqlite3_column_text(st, 0), "done") == 0;
    sqlite3_finalize(st);
    return 0;
}

/* ---- registering the model and the run ------------------------------------- */

static int insert_model(Pretrain *pt)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        pt->cat, "INSERT INTO models (name, kind, config) VALUES (?1, 'cyclegan', ?2)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, pt->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, pt->config_text, -1, SQLITE_STATIC);
    if (done_stmt(pt->cat, st) != 0)
        return -1;
    pt->model_id = sqlite3_last_insert_rowid(g2c_catalog_db(pt->cat));
    return 0;
}

static int update_model(Pretrain *pt)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        pt->cat, "UPDATE models SET config = ?2, checkpoint = NULL WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, pt->model_id);
    sqlite3_bind_text(st, 2, pt->config_text, -1, SQLITE_STATIC);
    if (done_stmt(pt->cat, st) != 0)
        return -1;
    st = g2c_catalog_prepare(pt->cat, "DELETE FROM model_refsets WHERE model_id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, pt->model_id);
    return done_stmt(pt->cat, st);
}

static int insert_refsets(Pretrain *pt)
{
    static const char *const role[2] = {"source", "target"};
    for (int side = 0; side < 2; side++)
        for (int i = 0; i < pt->side[side].n_sets; i++) {
            sqlite3_stmt *st = g2c_catalog_prepare(
                pt->cat, "INSERT INTO model_refsets (model_id, refset_id, role) "
                         "VALUES (?1, ?2, ?3)");
            if (!st)
                return -1;
            sqlite3_bind_int64(st, 1, pt->model_id);
            sqlite3_bind_int64(st, 2, pt->side[side].sets[i].id);
            sqlite3_bind_text(st, 3, role[side], -1, SQLITE_STATIC);
            if (done_stmt(pt->cat, st) != 0)
                return -1;
        }
    return 0;
}

static char *run_params(Pretrain *pt)
{
    json_t *p = json_pack("{s:s, s:s, s:i, s:b}", "model", pt->name, "out", pt->dir,
                          "stop_after_epoch", pt->opt->stop_after_epoch, "restart",
                          pt->opt->restart);
    json_object_set(p, "config", pt->config);
    char *text = json_dumps(p, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(p);
    return text;
}

/* An unfinished run of the model continues (a resumed command is the same
 * run); --restart abandons it. */
static int find_open_run(Pretrain *pt, int64_t *run)
{
    *run = 0;
    sqlite3_stmt *st = g2c_catalog_prepare(
        pt->cat, "SELECT id FROM runs WHERE model_id = ?1 AND kind = 'pretrain' "
                 "AND status <> 'done' ORDER BY id DESC LIMIT 1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, pt->model_id);
    if (sqlite3_step(st) == SQLITE_ROW)
        *run = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

static int open_run(Pretrain *pt, const char *params)
{
    int64_t run;
    if (find_open_run(pt, &run) != 0)
        return -1;
    sqlite3_stmt *st;
    if (run && pt->opt->restart) {
        st = g2c_catalog_prepare(pt->cat, "UPDATE runs SET status = 'failed', metrics = "
                                          "'{\"error\":\"abandoned by --restart\"}', "
                                          "finished_at = strftime('%Y-%m-%dT%H:%M:%SZ', "
                                          "'now') WHERE id = ?1");
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, run);
        if (done_stmt(pt->cat, st) != 0)
            return -1;
        run = 0;
    }
    if (run) {
        st = g2c_catalog_prepare(pt->cat, "UPDATE runs SET status = 'running', params = ?2, "
                                          "finished_at = NULL WHERE id = ?1");
    } else {
        st = g2c_catalog_prepare(pt->cat, "INSERT INTO runs (kind, model_id, status, params) "
                                          "VALUES ('pretrain', ?1, 'running', ?2)");
    }
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, run ? run : pt->model_id);
    sqlite3_bind_text(st, 2, params, -1, SQLITE_STATIC);
    if (done_stmt(pt->cat, st) != 0)
        return -1;
    pt->run_id = run ? run : sqlite3_last_insert_rowid(g2c_catalog_db(pt->cat));
    return 0;
}

static int register_rows(Pretrain *pt, const char *params)
{
    if (!pt->model_exists) {
        if (insert_model(pt) != 0 || insert_refsets(pt) != 0)
            return -1;
    } else if (!pt->model_same) {
        if (update_model(pt) != 0 || insert_refsets(pt) != 0)
            return -1;
    }
    return open_run(pt, params);
}

int pt_catalog_register(Pretrain *pt)
{
    char *params = run_params(pt);
    if (!params)
        return g2c_error("out of memory");
    int rc = g2c_catalog_begin(pt->cat);
    if (rc == 0) {
        rc = register_rows(pt, params);
        if (rc == 0)
            rc = g2c_catalog_commit(pt->cat);
        else
            g2c_catalog_rollback(pt->cat);
    }
    free(params);
    if (rc == 0)
        pt->model_exists = pt->model_same = 1;
    else
        g2c_error_prefix("catalog: ");
    return rc;
}

/* ---- epochs and the end ---------------------------------------------------------- */

static int write_epoch(Pretrain *pt, const PtEpoch *e)
{
    json_t *m = pt_epoch_json(e);
    char *text = m ? json_dumps(m, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(m);
    if (!text)
        return g2c_error("out of memory");
    sqlite3_stmt *st = g2c_catalog_prepare(
        pt->cat, "INSERT OR REPLACE INTO run_epochs (run_id, epoch, metrics) "
                 "VALUES (?1, ?2, ?3)");
    int rc = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, pt->run_id);
        sqlite3_bind_int(st, 2, e->epoch);
        sqlite3_bind_text(st, 3, text, -1, SQLITE_TRANSIENT);
        rc = done_stmt(pt->cat, st);
    }
    free(text);
    return rc;
}

static int set_checkpoint(Pretrain *pt)
{
    char path[PT_PATH_MAX];
    snprintf(path, sizeof path, "%s/G.safetensors", pt->dir);
    sqlite3_stmt *st = g2c_catalog_prepare(pt->cat,
                                           "UPDATE models SET checkpoint = ?2 WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, pt->model_id);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
    return done_stmt(pt->cat, st);
}

static int in_transaction(Pretrain *pt, int (*body)(Pretrain *, const void *), const void *arg)
{
    if (g2c_catalog_begin(pt->cat) != 0)
        return g2c_error_prefix("catalog: ");
    if (body(pt, arg) != 0) {
        g2c_catalog_rollback(pt->cat);
        return g2c_error_prefix("catalog: ");
    }
    if (g2c_catalog_commit(pt->cat) != 0)
        return g2c_error_prefix("catalog: ");
    return 0;
}

static int epoch_body(Pretrain *pt, const void *arg)
{
    return write_epoch(pt, arg) != 0 || set_checkpoint(pt) != 0 ? -1 : 0;
}

int pt_catalog_epoch(Pretrain *pt, const PtEpoch *e)
{
    return in_transaction(pt, epoch_body, e);
}

/* After a resume: the rows of every completed epoch (a kill between the
 * checkpoint and the catalog write loses none), and none beyond. */
static int sync_body(Pretrain *pt, const void *arg)
{
    (void)arg;
    sqlite3_stmt *st = g2c_catalog_prepare(
        pt->cat, "DELETE FROM run_epochs WHERE run_id = ?1 AND epoch > ?2");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, pt->run_id);
    sqlite3_bind_int(st, 2, pt->epoch);
    if (done_stmt(pt->cat, st) != 0)
        return -1;
    for (int i = 0; i < pt->epoch; i++)
        if (write_epoch(pt, &pt->history[i]) != 0)
            return -1;
    return pt->epoch > 0 ? set_checkpoint(pt) : 0;
}

int pt_catalog_sync_epochs(Pretrain *pt)
{
    return in_transaction(pt, sync_body, NULL);
}

typedef struct {
    const char *status;
    const char *metrics;
} Finish;

static int finish_body(Pretrain *pt, const void *arg)
{
    const Finish *f = arg;
    sqlite3_stmt *st = g2c_catalog_prepare(
        pt->cat, "UPDATE runs SET status = ?2, metrics = ?3, finished_at = "
                 "strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, pt->run_id);
    sqlite3_bind_text(st, 2, f->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, f->metrics, -1, SQLITE_STATIC);
    return done_stmt(pt->cat, st);
}

int pt_catalog_finish(Pretrain *pt, const char *status, json_t *metrics)
{
    char *text = json_dumps(metrics, JSON_COMPACT | JSON_REAL_PRECISION(9));
    if (!text)
        return g2c_error("out of memory");
    Finish f = {status, text};
    int rc = in_transaction(pt, finish_body, &f);
    free(text);
    return rc;
}
