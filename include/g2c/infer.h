/* g2c infer: a trained G2C model (kind 'g2c', include/g2c/train.h) on the
 * glomerulus crops of ingested PAS slides, one predictions row per
 * glomerulus and, on request, its generated stain views (generated_views)
 * for g2c report.
 *
 * Scope: one slide, one patient's slides, or every slide (the default).
 * Glomeruli the model already scored are skipped, so running the same
 * command again changes nothing; rescore replaces them.  Each slide is
 * written in one transaction after all its glomeruli went through the
 * model: an interrupted infer leaves whole slides, and the same command
 * continues where it stopped.  Every check (model, scope, stains, task,
 * crops) is made before the catalog is changed. */
#ifndef G2C_INFER_H
#define G2C_INFER_H

#include <stdint.h>

#include "g2c/catalog.h"

typedef struct {
    const char *model;   /* a model of kind 'g2c', by name */
    const char *slide;   /* slide id or file name; NULL: not this scope */
    const char *patient; /* patient external id; NULL: not this scope */
    /* For a level-2 model (ss-vs-gs): the level-1 model (s-vs-noa) whose
     * stored predictions say which glomeruli are sclerosed; only those are
     * scored, as the paper's hierarchy does. */
    const char *given;
    int rescore; /* replace glomeruli the model already scored */
    int views;   /* store each glomerulus's generated views too */
    int batch;   /* crops per forward call; 0: 32 */
    int threads; /* engine threads; 0: leave as set */
    /* Notable lines (what was skipped, a slide that failed and why). */
    void (*say)(void *ctx, const char *line);
    /* After each batch: slide index (0-based) of slides, its name,
     * glomeruli done of this call's total. */
    void (*progress)(void *ctx, int slide, int slides, const char *name, int64_t done,
                     int64_t total);
    void *ctx;
} G2cInferOptions;

typedef struct {
    int64_t model_id;
    int64_t run_id;       /* 0 when there was nothing to do */
    int slides;           /* slides of the scope the model can read */
    int slides_written;   /* slides this call wrote */
    int slides_failed;    /* slides left unwritten after an error */
    int64_t scored;       /* glomeruli this call wrote */
    int64_t skipped;      /* already scored by the model */
    int64_t not_given;    /* level 2: glomeruli the level-1 model did not call s */
    int64_t views;        /* generated_views rows written */
    int64_t predicted[4]; /* scored glomeruli per class of the task */
    double seconds;       /* wall time of the scoring (loading to last commit) */
} G2cInferResult;

/* 0 when every slide with work was written (result->slides_failed == 0)
 * or when some failed and others were written (slides_failed > 0, each
 * failure reported through say); -1 with a message when nothing could be
 * done (bad model, scope, stains, task, no crops, every slide failed). */
int g2c_infer(G2cCatalog *cat, const G2cInferOptions *opt, G2cInferResult *result);

#endif
