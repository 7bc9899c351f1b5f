/* Internals of g2c infer (include/g2c/infer.h), shared by the files of
 * src/infer: infer-scope.c (checks, which slides and glomeruli),
 * infer-slide.c (one slide through the model), infer-write.c (catalog
 * rows) and infer.c (the whole call). */
#ifndef G2C_INFER_PRIVATE_H
#define G2C_INFER_PRIVATE_H

#include "g2c/infer.h"
#include "g2c/train.h"

#include <stddef.h>
#include <stdint.h>

/* g2c train trains on PAS crops only (its generators translate PAS), so a
 * G2C model reads PAS slides. */
#define INF_SOURCE_STAIN "PAS"

enum { INF_MAX_GEN = 8, INF_DEFAULT_BATCH = 32 };

typedef struct {
    int64_t id;
    char name[512];
    int64_t glomeruli; /* with a crop */
    int64_t eligible;  /* of those, the ones the model may score (level 2: called s) */
    int64_t todo;      /* of those, the ones this call scores */
    int64_t given;     /* level 2: glomeruli the level-1 model scored at all */
} InfSlide;

typedef struct {
    G2cCatalog *cat;
    const G2cInferOptions *o;
    G2cTrainedModel *model;
    const G2cTask *task;
    int64_t model_id;
    int64_t given_id;          /* 0: no level-1 filter */
    const char *given_label;   /* the level-1 model's stored label for the refined class */
    int n_gen;
    const char *stains[INF_MAX_GEN];
    InfSlide *slides;
    int n_slides;
    int64_t total_todo;
    int64_t run_id;
} Infer;

/* The predictions and encoded views of one slide's glomeruli. */
typedef struct {
    int n, cap, classes, n_gen;
    int64_t *ids;
    int *cls;
    float *probs;    /* n * classes */
    uint8_t **png;   /* n * n_gen views, each PNG */
    size_t *png_size;
} InfSlideOut;

void inf_say(const Infer *inf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* infer-scope.c */
int inf_check_task(Infer *inf);
int inf_check_crops(Infer *inf);
int inf_resolve_scope(Infer *inf);
int inf_count(Infer *inf, G2cInferResult *r);
/* The todo glomeruli of a slide: (annotation id, crop PNG), by id; the
 * parameters are bound. */
sqlite3_stmt *inf_todo_statement(Infer *inf, int64_t slide_id);

/* infer-slide.c */
int inf_score_slide(Infer *inf, int index, int64_t done_before, InfSlideOut *out);
void inf_slide_out_free(InfSlideOut *s);

/* infer-write.c */
int inf_run_start(Infer *inf);
int inf_run_finish(Infer *inf, const G2cInferResult *r, const char *status);
/* One transaction: the slide's predictions (and views) or nothing.  seq is
 * the 1-based count of slides this call writes (for the test hook). */
int inf_write_slide(Infer *inf, const InfSlideOut *s, int seq);

#endif
