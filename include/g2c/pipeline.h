/* Declarative pipelines (g2c run): a JSON file chains the stages
 * ingest -> refset -> pretrain -> train -> eval -> infer -> report, each
 * instance with a unique id and the parameters of its command.  Running it
 * records every stage's status in the catalog (table pipeline_stages), so a
 * re-run skips completed stages, resumes an interrupted one, and runs again
 * a stage whose parameters changed together with every stage after it.
 *
 * The file format is schemas/pipeline.schema.json; the README's "Pipelines"
 * section walks through it. */
#ifndef G2C_PIPELINE_H
#define G2C_PIPELINE_H

#include <stdio.h>

typedef struct G2cPipeline G2cPipeline;

/* Read and validate a pipeline file completely: JSON syntax (errors name
 * file:line:column), stage kinds, ids, parameter names and types (errors
 * name the file, the stage id and the JSON path), the order of the stages,
 * names that stages use before any stage makes them, and input files that
 * do not exist.  `sets` are n "NAME=VALUE" overrides of the file's
 * variables.  Relative paths in parameters are relative to base_dir (the
 * catalog's folder).  Returns NULL with the error pending. */
G2cPipeline *g2c_pipeline_load(const char *path, const char *const *sets, int n_sets,
                               const char *base_dir);
void g2c_pipeline_free(G2cPipeline *p);

/* The key of the pipeline's rows in the catalog: the file's name. */
const char *g2c_pipeline_name(const G2cPipeline *p);
int g2c_pipeline_stage_count(const G2cPipeline *p);
const char *g2c_pipeline_stage_id(const G2cPipeline *p, int i);
const char *g2c_pipeline_stage_kind(const G2cPipeline *p, int i);

/* Runs one command in-process: argv[0] is the command's name (ingest,
 * refset, ...), the rest its options.  Returns the command's exit status. */
typedef int (*G2cPipelineExec)(void *ctx, int argc, char **argv);

typedef struct {
    const char *db;       /* the catalog */
    const char *only;     /* a stage id or kind: run only it (NULL: all) */
    const char *from;     /* a stage id or kind: run it and everything after */
    int dry_run;          /* print the plan, change nothing */
    FILE *log;            /* progress lines (stdout) */
    G2cPipelineExec exec;
    void *exec_ctx;
} G2cPipelineRunOptions;

typedef struct {
    int ran, skipped, failed; /* stages */
    const char *failed_id;    /* the stage that failed, or NULL */
} G2cPipelineResult;

/* Plan and run.  Returns 0 when every selected stage is done, -1 with the
 * error pending otherwise (a failed stage is recorded as such). */
int g2c_pipeline_run(G2cPipeline *p, const G2cPipelineRunOptions *o, G2cPipelineResult *res);

/* The stage kinds in pipeline order, and the parameters each accepts
 * (NULL-terminated lists), for the schema test and `g2c help run`. */
int g2c_pipeline_kind_count(void);
const char *g2c_pipeline_kind_name(int k);
const char *g2c_pipeline_kind_param(int k, int i);

#endif
