/* Internals of g2c run, shared by the files of src/pipeline. */
#ifndef G2C_PIPELINE_PRIVATE_H
#define G2C_PIPELINE_PRIVATE_H

#include "g2c/catalog.h"
#include "g2c/pipeline.h"

#include <jansson.h>

/* ---- pipeline-kinds.c: what each stage kind accepts ---------------------- */

typedef enum {
    PT_STRING,
    PT_INT,
    PT_NUMBER,
    PT_FLAG,   /* true: the option alone; false: left out */
    PT_LIST,   /* strings: one comma-separated option value */
    PT_REPEAT, /* strings: the option once per item */
    PT_EACH,   /* a string or strings: the command runs once per item */
} PipeType;

enum {
    PF_REQUIRED = 1,
    PF_POSITIONAL = 2, /* an argument, not an option */
    PF_INPUT = 4,      /* a file or folder that must exist before the run */
    PF_PATH = 8,       /* relative to the catalog's folder */
    PF_MAKES = 16,     /* the name of what the stage makes (refset, model) */
    PF_USES = 32,      /* names made by an earlier stage (or in the catalog) */
};

typedef struct {
    const char *name; /* JSON key, and the command's long option */
    PipeType type;
    unsigned flags;
} PipeParam;

typedef enum { PO_NONE, PO_REFSET, PO_MODEL } PipeObject;

typedef struct {
    const char *name;       /* stage kind = the g2c command it runs */
    const PipeParam *params;
    PipeObject makes;       /* what its PF_MAKES parameter names */
    PipeObject uses;        /* what its PF_USES parameters name */
} PipeKind;

int pipe_kind_count(void);
const PipeKind *pipe_kind_at(int k);
const PipeKind *pipe_kind_find(const char *name);
int pipe_kind_index(const PipeKind *kind);
const PipeParam *pipe_param_find(const PipeKind *kind, const char *name);

/* ---- the loaded pipeline ------------------------------------------------- */

typedef struct {
    char *id;
    const PipeKind *kind;
    json_t *params;      /* after variable substitution */
    char *makes;         /* the refset or model it makes, or NULL */
    char own_hash[17];   /* of kind and parameters */
    char chain_hash[17]; /* of this and every stage before it */
} PipeStage;

struct G2cPipeline {
    char *path;
    char *name;
    char *base_dir;
    PipeStage *stages;
    int count;
};

/* ---- pipeline-load.c ----------------------------------------------------- */
/* The path of a parameter value relative to base_dir (malloc'd). */
char *pipe_resolve_path(const G2cPipeline *p, const char *value);

/* ---- pipeline-check.c: checks across stages ---------------------------- */
/* Names used before any stage makes them, and input files. */
int pipe_check_references(const G2cPipeline *p, const char *db);
int pipe_check_inputs(const G2cPipeline *p);

/* ---- pipeline-argv.c: stage -> command lines ----------------------------- */

typedef struct {
    int argc;
    char **argv; /* argv[0] = the command; NULL-terminated */
} PipeCommand;

/* The commands that carry out a stage (usually one; a report of several
 * patients runs once per patient, a refset with "export" adds one).
 * `restart` asks a stage that resumes by itself (pretrain) to start over. */
int pipe_stage_commands(const G2cPipeline *p, const PipeStage *s, int restart,
                        PipeCommand **cmds, int *count);
void pipe_commands_free(PipeCommand *cmds, int count);
/* A command line as one shell-quoted string (malloc'd). */
char *pipe_command_text(const PipeCommand *c);

/* ---- pipeline-state.c: the pipeline_stages rows ------------------------ */

typedef enum { PS_NONE, PS_RUNNING, PS_DONE, PS_FAILED } PipeStatus;

typedef struct {
    PipeStatus status;
    char chain_hash[17], own_hash[17];
} PipeRow;

void pipe_hash_stages(G2cPipeline *p);
int pipe_state_read(G2cCatalog *cat, const G2cPipeline *p, PipeRow *rows);
int pipe_state_set(G2cCatalog *cat, const G2cPipeline *p, int i, PipeStatus status,
                   int64_t run_id);
int pipe_state_forget(G2cCatalog *cat, const G2cPipeline *p, int i);
int64_t pipe_last_run_id(G2cCatalog *cat);

/* ---- pipeline-reset.c: what a stage made ------------------------------- */
/* Remove from the catalog what a stage made, before it runs again from
 * the start (a reference set, a model); nothing for stages that are
 * idempotent (ingest, eval, infer, report).  Inside the caller's
 * transaction; *file is set to a checkpoint file to remove once it
 * commits (malloc'd), or left alone. */
int pipe_stage_reset(G2cCatalog *cat, const PipeStage *s, char **file);
void pipe_remove_file(const char *path);
/* Whether an interrupted stage had in fact finished its work (a refset
 * is written in one transaction; a trained model has a finished run). */
int pipe_stage_complete(G2cCatalog *cat, const PipeStage *s, int *complete);

#endif
