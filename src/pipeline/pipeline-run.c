/* Running a pipeline: a plan from the stages' rows in the catalog (skip,
 * run, resume, run again), the resets the plan needs, then each stage's
 * commands in order, its status written before and after. */
#include "pipeline-private.h"

#include "g2c/error.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum {
    ACT_SKIP,   /* done with these parameters */
    ACT_OTHER,  /* not selected by --only / --from */
    ACT_NEW,    /* never ran */
    ACT_RESUME, /* interrupted or failed with these parameters: the same again */
    ACT_RERUN,  /* parameters changed or asked for: from the start */
} Action;

typedef struct {
    Action act;
    char why[160];
} Plan;

/* ---- which stages --------------------------------------------------------------- */

static int matches(const PipeStage *s, const char *sel)
{
    return strcmp(s->id, sel) == 0 || strcmp(s->kind->name, sel) == 0;
}

static int check_selector(const G2cPipeline *p, const char *option, const char *sel)
{
    for (int i = 0; i < p->count; i++)
        if (matches(&p->stages[i], sel))
            return 0;
    char ids[2048] = "";
    for (int i = 0; i < p->count; i++)
        snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%s", i ? ", " : "",
                 p->stages[i].id);
    return g2c_error("%s %s: %s has no stage or stage kind '%s' (stages: %s)", option, sel,
                     p->path, sel, ids);
}

static int selected(const G2cPipeline *p, const G2cPipelineRunOptions *o, int i)
{
    if (o->only)
        return matches(&p->stages[i], o->only);
    if (!o->from)
        return 1;
    for (int j = 0; j <= i; j++)
        if (matches(&p->stages[j], o->from))
            return 1;
    return 0;
}

static void plan_stage(const G2cPipeline *p, const G2cPipelineRunOptions *o, int i,
                       const PipeRow *row, Plan *plan)
{
    const PipeStage *s = &p->stages[i];
    int sel = selected(p, o, i), forced = sel && (o->only || o->from);
    int stale = row->status != PS_NONE && strcmp(row->chain_hash, s->chain_hash) != 0;
    const char *change = strcmp(row->own_hash, s->own_hash) != 0
                             ? "its parameters changed"
                             : "a stage before it changed";
    if (!sel) {
        plan->act = ACT_OTHER;
        snprintf(plan->why, sizeof plan->why, "not selected (%s)",
                 row->status == PS_NONE ? "never ran"
                 : stale                ? "out of date"
                 : row->status == PS_DONE ? "done"
                                          : "unfinished");
    } else if (row->status == PS_NONE) {
        plan->act = ACT_NEW;
        snprintf(plan->why, sizeof plan->why, "runs");
    } else if (stale) {
        plan->act = ACT_RERUN;
        snprintf(plan->why, sizeof plan->why, "%s since its last run: runs again", change);
    } else if (forced) {
        plan->act = ACT_RERUN;
        snprintf(plan->why, sizeof plan->why, "runs again (%s)", o->only ? "--only" : "--from");
    } else if (row->status == PS_DONE) {
        plan->act = ACT_SKIP;
        snprintf(plan->why, sizeof plan->why, "done, skipped");
    } else {
        plan->act = ACT_RESUME;
        snprintf(plan->why, sizeof plan->why, "%s: resumes",
                 row->status == PS_RUNNING ? "was interrupted" : "failed last time");
    }
}

static void print_plan(const G2cPipeline *p, const Plan *plan, FILE *log)
{
    int width = 5;
    for (int i = 0; i < p->count; i++)
        if ((int)strlen(p->stages[i].id) > width)
            width = (int)strlen(p->stages[i].id);
    for (int i = 0; i < p->count; i++)
        fprintf(log, "  %2d  %-*s  %-8s  %s\n", i + 1, width, p->stages[i].id,
                p->stages[i].kind->name, plan[i].why);
    fflush(log);
}

/* ---- resets ----------------------------------------------------------------------- */

/* Stages that run again from the start lose what they made, latest first
 * (a model goes before the reference set it was trained on), and their
 * rows, so that an interruption now cannot leave a row saying "done" for
 * something removed.  All or nothing: one transaction. */
static int reset_stages(G2cCatalog *cat, const G2cPipeline *p, const Plan *plan)
{
    char **files = calloc((size_t)p->count, sizeof *files);
    if (!files || g2c_catalog_begin(cat) != 0) {
        free(files);
        return files ? -1 : g2c_error("out of memory");
    }
    int rc = 0;
    for (int i = p->count - 1; rc == 0 && i >= 0; i--)
        if (plan[i].act == ACT_RERUN) {
            rc = pipe_stage_reset(cat, &p->stages[i], &files[i]);
            if (rc == 0)
                rc = pipe_state_forget(cat, p, i);
        }
    if (rc == 0)
        rc = g2c_catalog_commit(cat);
    else
        g2c_catalog_rollback(cat);
    for (int i = 0; i < p->count; i++) {
        if (rc == 0 && files[i])
            pipe_remove_file(files[i]);
        free(files[i]);
    }
    free(files);
    return rc;
}

/* ---- one stage ------------------------------------------------------------------------ */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int exec_command(const G2cPipelineRunOptions *o, PipeCommand *c)
{
    char *text = pipe_command_text(c);
    fprintf(o->log, "  $ %s\n", text ? text : c->argv[0]);
    free(text);
    fflush(o->log);
    fflush(stderr);
    /* getopt permutes the array it is given: give it a copy. */
    char **argv = malloc((size_t)(c->argc + 1) * sizeof *argv);
    if (!argv)
        return g2c_error("out of memory");
    memcpy(argv, c->argv, (size_t)(c->argc + 1) * sizeof *argv);
    int status = o->exec(o->exec_ctx, c->argc, argv);
    free(argv);
    fflush(stdout);
    return status;
}

static int run_stage(G2cCatalog *cat, const G2cPipeline *p, int i, const Plan *plan,
                     const G2cPipelineRunOptions *o)
{
    const PipeStage *s = &p->stages[i];
    PipeCommand *cmds;
    int n, first = 0, status = 0;
    if (pipe_stage_commands(p, s, plan->act == ACT_RERUN, &cmds, &n) != 0)
        return -1;
    int complete = 0;
    if (plan->act == ACT_RESUME && pipe_stage_complete(cat, s, &complete) != 0) {
        pipe_commands_free(cmds, n);
        return -1;
    }
    if (complete) {
        fprintf(o->log, "  (%s '%s' was finished before the interruption)\n",
                s->kind->makes == PO_REFSET ? "reference set" : "model", s->makes);
        first = 1;
    }
    int64_t before = pipe_last_run_id(cat);
    if (pipe_state_set(cat, p, i, PS_RUNNING, 0) != 0) {
        pipe_commands_free(cmds, n);
        return -1;
    }
    for (int c = first; c < n && status == 0; c++)
        status = exec_command(o, &cmds[c]);
    pipe_commands_free(cmds, n);
    int64_t after = pipe_last_run_id(cat);
    int64_t run_id = after > before ? after : 0;
    if (pipe_state_set(cat, p, i, status == 0 ? PS_DONE : PS_FAILED, run_id) != 0)
        return -1;
    if (status != 0)
        return g2c_error("%s: stage '%s' failed (its command exited with status %d); fix "
                         "the cause and run the pipeline again: it resumes there",
                         p->path, s->id, status);
    return 0;
}

/* ---- the whole run ---------------------------------------------------------------------- */

static int make_plan(G2cCatalog *cat, const G2cPipeline *p, const G2cPipelineRunOptions *o,
                     Plan *plan)
{
    PipeRow *rows = calloc((size_t)p->count, sizeof *rows);
    if (!rows)
        return g2c_error("out of memory");
    int rc = cat ? pipe_state_read(cat, p, rows) : 0;
    for (int i = 0; rc == 0 && i < p->count; i++)
        plan_stage(p, o, i, &rows[i], &plan[i]);
    free(rows);
    return rc;
}

static void print_results(G2cCatalog *cat, const G2cPipeline *p, FILE *log)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT ps.stage, m.name, json_extract(m.config, '$.variant'), "
             "json_extract(r.metrics, '$.split'), json_extract(r.metrics, '$.n'), "
             "json_extract(r.metrics, '$.balanced_accuracy'), "
             "json_extract(r.metrics, '$.accuracy') "
             "FROM pipeline_stages ps JOIN runs r ON r.id = ps.run_id AND r.kind = 'eval' "
             "JOIN models m ON m.id = r.model_id WHERE ps.pipeline = ?1 AND ps.status = 'done' "
             "ORDER BY ps.position");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
    int first = 1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (first)
            fprintf(log, "results:\n");
        first = 0;
        fprintf(log, "  %-20s model %s (%s), %s split, %d glomeruli: balanced accuracy %.3f, "
                     "accuracy %.3f\n",
                (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
                sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : "?",
                sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "?",
                sqlite3_column_int(st, 4), sqlite3_column_double(st, 5),
                sqlite3_column_double(st, 6));
    }
    sqlite3_finalize(st);
}

static int run_plan(G2cCatalog *cat, const G2cPipeline *p, const Plan *plan,
                    const G2cPipelineRunOptions *o, G2cPipelineResult *res)
{
    int todo = 0, done = 0;
    for (int i = 0; i < p->count; i++)
        todo += plan[i].act >= ACT_NEW;
    for (int i = 0; i < p->count; i++) {
        if (plan[i].act < ACT_NEW) {
            res->skipped++;
            continue;
        }
        fprintf(o->log, "\n[%d/%d] %s (%s)\n", ++done, todo, p->stages[i].id,
                p->stages[i].kind->name);
        double t0 = now_seconds();
        if (run_stage(cat, p, i, &plan[i], o) != 0) {
            res->failed++;
            res->failed_id = p->stages[i].id;
            return -1;
        }
        res->ran++;
        fprintf(o->log, "[%d/%d] %s done in %.1f s\n", done, todo, p->stages[i].id,
                now_seconds() - t0);
        fflush(o->log);
    }
    return 0;
}

int g2c_pipeline_run(G2cPipeline *p, const G2cPipelineRunOptions *o, G2cPipelineResult *res)
{
    memset(res, 0, sizeof *res);
    if ((o->only && check_selector(p, "--only", o->only) != 0) ||
        (o->from && check_selector(p, "--from", o->from) != 0))
        return -1;
    /* Everything is checked before the catalog is opened for writing. */
    if (pipe_check_references(p, o->db) != 0)
        return -1;
    G2cCatalog *cat = g2c_catalog_open(o->db, o->dry_run ? G2C_CATALOG_READONLY
                                                         : G2C_CATALOG_READWRITE);
    if (!cat && !o->dry_run)
        return -1;
    g2c_error_clear();
    Plan *plan = calloc((size_t)p->count, sizeof *plan);
    int rc = plan ? make_plan(cat, p, o, plan) : g2c_error("out of memory");
    if (rc == 0) {
        fprintf(o->log, "pipeline %s: %d stages, catalog %s\n", p->path, p->count, o->db);
        print_plan(p, plan, o->log);
    }
    if (rc == 0 && !o->dry_run && reset_stages(cat, p, plan) != 0) {
        g2c_error_prefix("%s: nothing was run: ", p->path);
        rc = -1;
    } else if (rc == 0 && !o->dry_run) {
        rc = run_plan(cat, p, plan, o, res);
        fprintf(o->log, "\n%d stage%s run, %d skipped%s\n", res->ran, res->ran == 1 ? "" : "s",
                res->skipped, res->failed ? ", 1 failed" : "");
        if (rc == 0)
            print_results(cat, p, o->log);
    }
    free(plan);
    g2c_catalog_close(cat);
    return rc;
}
