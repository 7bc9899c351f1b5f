/* The stage kinds of a pipeline and the parameters each accepts.  A
 * parameter is the long option of the command of the same name, so the
 * pipeline file reads like the command line it stands for; options that
 * belong to the runner (pretrain's --restart and --stop-after-epoch,
 * infer's --rescore) are left out, because the runner decides them.
 * schemas/pipeline.schema.json says the same (tests/pipeline checks that
 * the two agree). */
#include "pipeline-private.h"

#include <string.h>

#define END {NULL, PT_STRING, 0}

static const PipeParam ingest_params[] = {
    {"manifest", PT_STRING, PF_REQUIRED | PF_POSITIONAL | PF_INPUT | PF_PATH},
    {"patch-size", PT_INT, 0},
    {"margin", PT_NUMBER, 0},
    {"fit", PT_STRING, 0},
    {"mpp", PT_NUMBER, 0},
    {"png-level", PT_INT, 0},
    {"reingest", PT_FLAG, 0},
    END};

static const PipeParam refset_params[] = {
    {"name", PT_STRING, PF_REQUIRED | PF_POSITIONAL | PF_MAKES},
    {"stain", PT_STRING, PF_REQUIRED},
    {"count", PT_INT, 0},
    {"size", PT_INT, 0},
    {"mpp", PT_NUMBER, 0},
    {"min-tissue", PT_NUMBER, 0},
    {"max-overlap", PT_NUMBER, 0},
    {"even", PT_FLAG, 0},
    {"seed", PT_INT, 0},
    {"split", PT_STRING, 0},
    {"import", PT_STRING, PF_INPUT | PF_PATH},
    {"crop", PT_FLAG, 0},
    /* Not an option of the build: a second command exports the set. */
    {"export", PT_STRING, PF_PATH},
    END};

static const PipeParam pretrain_params[] = {
    {"source", PT_STRING, PF_REQUIRED},
    {"target", PT_STRING, PF_REQUIRED},
    {"source-set", PT_REPEAT, PF_USES},
    {"target-set", PT_REPEAT, PF_USES},
    {"name", PT_STRING, PF_MAKES},
    {"preset", PT_STRING, 0},
    {"epochs", PT_INT, 0},
    {"decay-epochs", PT_INT, 0},
    {"size", PT_INT, 0},
    {"max-images", PT_INT, 0},
    {"eval-images", PT_INT, 0},
    {"seed", PT_INT, 0},
    {"out", PT_STRING, PF_PATH},
    END};

static const PipeParam train_params[] = {
    {"name", PT_STRING, PF_REQUIRED | PF_MAKES},
    {"task", PT_STRING, PF_REQUIRED},
    {"variant", PT_STRING, PF_REQUIRED},
    {"generators", PT_LIST, PF_USES},
    /* Generators from another catalog: then they are not this pipeline's. */
    {"generator-db", PT_STRING, PF_INPUT | PF_PATH},
    {"preset", PT_STRING, 0},
    {"epochs", PT_INT, 0},
    {"freeze-epochs", PT_INT, 0},
    {"freeze-generators", PT_FLAG, 0},
    {"lr", PT_NUMBER, 0},
    {"lr-step", PT_INT, 0},
    {"lr-divisor", PT_NUMBER, 0},
    {"gamma", PT_NUMBER, 0},
    {"batch", PT_INT, 0},
    {"momentum", PT_NUMBER, 0},
    {"weight-decay", PT_NUMBER, 0},
    {"no-augment", PT_FLAG, 0},
    {"seed", PT_INT, 0},
    {"split-by", PT_STRING, 0},
    {"test-fraction", PT_NUMBER, 0},
    {"checkpoint-dir", PT_STRING, PF_PATH},
    END};

static const PipeParam eval_params[] = {
    {"model", PT_STRING, PF_REQUIRED | PF_USES},
    {"split", PT_STRING, 0},
    {"given", PT_STRING, PF_USES},
    END};

static const PipeParam infer_params[] = {
    {"model", PT_STRING, PF_REQUIRED | PF_USES},
    {"slide", PT_STRING, 0},
    {"patient", PT_STRING, 0},
    {"all", PT_FLAG, 0},
    {"given", PT_STRING, PF_USES},
    {"views", PT_FLAG, 0},
    {"batch", PT_INT, 0},
    END};

static const PipeParam report_params[] = {
    /* Several slides or patients: one report each, in OUT/<item>. */
    {"slide", PT_EACH, 0},
    {"patient", PT_EACH, 0},
    {"out", PT_STRING, PF_REQUIRED | PF_PATH},
    {"model", PT_STRING, PF_USES},
    {"thumb-width", PT_INT, 0},
    {"crop-size", PT_INT, 0},
    END};

static const PipeKind kinds[] = {
    {"ingest", ingest_params, PO_NONE, PO_NONE},
    {"refset", refset_params, PO_REFSET, PO_NONE},
    {"pretrain", pretrain_params, PO_MODEL, PO_REFSET},
    {"train", train_params, PO_MODEL, PO_MODEL},
    {"eval", eval_params, PO_NONE, PO_MODEL},
    {"infer", infer_params, PO_NONE, PO_MODEL},
    {"report", report_params, PO_NONE, PO_MODEL},
};

int pipe_kind_count(void)
{
    return (int)(sizeof kinds / sizeof kinds[0]);
}

const PipeKind *pipe_kind_at(int k)
{
    return k >= 0 && k < pipe_kind_count() ? &kinds[k] : NULL;
}

const PipeKind *pipe_kind_find(const char *name)
{
    for (int k = 0; k < pipe_kind_count(); k++)
        if (strcmp(kinds[k].name, name) == 0)
            return &kinds[k];
    return NULL;
}

int pipe_kind_index(const PipeKind *kind)
{
    return (int)(kind - kinds);
}

const PipeParam *pipe_param_find(const PipeKind *kind, const char *name)
{
    for (const PipeParam *q = kind->params; q->name; q++)
        if (strcmp(q->name, name) == 0)
            return q;
    return NULL;
}

int g2c_pipeline_kind_count(void)
{
    return pipe_kind_count();
}

const char *g2c_pipeline_kind_name(int k)
{
    const PipeKind *kind = pipe_kind_at(k);
    return kind ? kind->name : NULL;
}

const char *g2c_pipeline_kind_param(int k, int i)
{
    const PipeKind *kind = pipe_kind_at(k);
    if (!kind || i < 0)
        return NULL;
    for (int j = 0; j <= i; j++)
        if (!kind->params[j].name)
            return NULL;
    return kind->params[i].name;
}
