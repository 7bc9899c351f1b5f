/* Stage 2 of G2C: the classification tasks, the joint fine-tuning of the
 * stage-1 generators with the multi-branch classifier (g2c train), its
 * evaluation (g2c eval) and the comparison of two models (g2c compare).
 *
 * A G2C model = the classifier of include/g2c/classifier.h plus K-1
 * generators (CycleGAN ResNet generators from stage 1, PAS -> stain) in one
 * G2cParams: "classifier.*" and "gen_<STAIN>.model.*".  Branch 0 sees the
 * PAS crop scaled to [-1, 1], branch k the output of generator k (tanh,
 * [-1, 1]) on that crop.  The classification loss reaches the generators
 * through g2c_classifier_backward's input gradients, so after the
 * --freeze-epochs the generators are fine-tuned with the classifier.
 *
 * Everything lives in the catalog: the model row (kind 'g2c', its whole
 * configuration as JSON), the train run with one run_epochs row per epoch,
 * eval and compare runs with their metrics, and per-glomerulus predictions.
 * docs/stage2.md describes the commands and every choice made here.
 */
#ifndef G2C_TRAIN_H
#define G2C_TRAIN_H

#include <stdint.h>

#include "g2c/catalog.h"
#include "g2c/image.h"
#include "g2c/metrics.h"

/* ---- tasks: the label hierarchy ----------------------------------------- */

enum { G2C_TASK_MAX_CLASSES = 4 };

typedef struct {
    const char *name;        /* "s-vs-noa" */
    const char *description;
    int level;               /* 1, or 2 for a task that refines another */
    int classes;
    const char *class_names[G2C_TASK_MAX_CLASSES]; /* "noa", "s" */
    /* Catalog labels (labels.name) of each class, comma-separated: a
     * glomerulus annotated with any other label is not used by the task. */
    const char *class_labels[G2C_TASK_MAX_CLASSES];
    /* The label a prediction of each class is stored under (predictions.
     * label_id): the class itself when it is a catalog label, nongs for
     * "rest", and "s" (added to the labels table when missing) for s. */
    const char *predicted_label[G2C_TASK_MAX_CLASSES];
    const char *parent;       /* level 2: the task it refines, else NULL */
    const char *parent_class; /* ... evaluated on glomeruli of this class */
} G2cTask;

int g2c_task_count(void);
const G2cTask *g2c_task_at(int i);
/* NULL with "unknown task 'x' (known: s-vs-noa, ss-vs-gs, gs-vs-rest)". */
const G2cTask *g2c_task_find(const char *name);
/* Class of a catalog label in the task, or -1 when the task ignores it. */
int g2c_task_class_of(const G2cTask *task, const char *label);
int g2c_task_class_index(const G2cTask *task, const char *class_name);

/* ---- g2c train ------------------------------------------------------------ */

typedef enum { G2C_SPLIT_BY_PATIENT = 0, G2C_SPLIT_BY_SLIDE = 1 } G2cSplitBy;

typedef struct {
    const char *name;       /* the new model (letters, digits, . _ -) */
    const char *task;       /* a G2cTask name */
    const char *variant;    /* PAS_ONLY, PAS_<STAIN>, PAS_ALL, PAS_ALL+ */
    const char *generators; /* comma-separated stage-1 model names, or NULL */
    const char *generator_db; /* catalog holding those models (NULL: this one) */
    const char *preset;     /* tiny, cpu, paper */
    const char *checkpoint_dir; /* NULL: "models" beside the catalog */
    /* A negative value takes the preset's. */
    int epochs, freeze_epochs, lr_step, batch;
    double lr, lr_divisor, gamma, momentum, weight_decay;
    int freeze_generators; /* generators never trained (separate optimisation) */
    int augment;           /* 1: flips + brightness/saturation jitter */
    uint64_t seed;
    G2cSplitBy split_by;   /* only used when slides have no split yet */
    double test_fraction;
    int threads;
    /* Informative lines: notable = 1 for what changes or concerns the
     * catalog (a split assigned, a resume, warnings), 0 for a line per
     * epoch. */
    void (*say)(void *ctx, int notable, const char *line);
    /* Progress within an epoch: epoch (1-based), step, steps, running loss. */
    void (*progress)(void *ctx, int epoch, int epochs, int step, int steps, double loss);
    void *ctx;
} G2cTrainOptions;

void g2c_train_options_default(G2cTrainOptions *o);

typedef struct {
    int64_t model_id, run_id;
    int epochs_run;     /* epochs this call ran (0 when it had nothing to do) */
    int resumed_from;   /* epoch the run resumed after (0 = started fresh) */
    double seconds;     /* training time of all epochs so far, resumes included */
    double last_loss, last_train_accuracy;
    int train_crops;
    double ms_per_step; /* mean over this call's steps */
} G2cTrainResult;

/* Train (or resume) the model opt->name.  Every check is made before the
 * catalog is changed; then, in one transaction, the split is stored (when
 * slides had none), and the model and run rows are created.  A checkpoint
 * is written after every epoch; running the same command again after an
 * interruption resumes from it and ends with the same weights as an
 * uninterrupted run. */
int g2c_train(G2cCatalog *cat, const G2cTrainOptions *opt, G2cTrainResult *result);

/* ---- g2c eval ------------------------------------------------------------- */

typedef struct {
    const char *model;
    const char *split;  /* "test" (default), "val" or "train" */
    const char *given;  /* level-1 model for a level-2 model, or NULL */
    int threads;
    void (*say)(void *ctx, const char *line);
    void *ctx;
} G2cEvalOptions;

typedef struct {
    const G2cTask *task;
    char variant[32];
    G2cConfusion confusion, train_confusion;
    G2cMetrics metrics, train_metrics; /* train: NaN fields when no crops */
    int64_t run_id;
    int64_t given_excluded; /* level-2 glomeruli the level-1 model got wrong */
} G2cEvalResult;

int g2c_eval(G2cCatalog *cat, const G2cEvalOptions *opt, G2cEvalResult *result);

/* ---- g2c compare ---------------------------------------------------------- */

typedef struct {
    char task[32];
    int64_t n;          /* glomeruli both models predicted */
    int64_t both_right, a_only, b_only, both_wrong;
    double accuracy_a, accuracy_b;
    double p_value;     /* McNemar, exact */
    int64_t run_id;
} G2cCompareResult;

/* McNemar's test between the predictions two models stored (g2c eval) on
 * the glomeruli of `split` both predicted. */
int g2c_compare(G2cCatalog *cat, const char *model_a, const char *model_b, const char *split,
                G2cCompareResult *result);

/* ---- runs and predictions in the catalog (g2c eval, compare, infer) ------- */

/* A runs row of `kind` for model_id with status ('running', 'done',
 * 'failed', 'partial'; finished_at is set unless 'running') and JSON text
 * params and metrics.  Inside the caller's transaction. */
int g2c_run_insert(G2cCatalog *cat, const char *kind, int64_t model_id, const char *status,
                   const char *params, const char *metrics, int64_t *run_id);

/* One predictions row per glomerulus (annotation_ids[i], classes[i],
 * probabilities[i * task->classes ...]) of a model of `task`, each under
 * the task's predicted_label, probabilities as a JSON object by class name,
 * confidence the predicted class's probability.  A row the model already
 * had for the glomerulus is replaced.  Inside the caller's transaction. */
int g2c_predictions_store(G2cCatalog *cat, const G2cTask *task, int64_t model_id,
                          int64_t run_id, int n, const int64_t *annotation_ids,
                          const int *classes, const float *probabilities);

/* ---- trained models, for inference --------------------------------------- */

typedef struct G2cTrainedModel G2cTrainedModel;

/* Load a model of kind 'g2c' by name; NULL with an error naming the
 * catalog and model. */
G2cTrainedModel *g2c_trained_model_load(G2cCatalog *cat, const char *name, int threads);
void g2c_trained_model_free(G2cTrainedModel *m);
const G2cTask *g2c_trained_model_task(const G2cTrainedModel *m);
int64_t g2c_trained_model_id(const G2cTrainedModel *m);
/* Generators in branch order (branch k = generator k-1) and their stains. */
int g2c_trained_model_generators(const G2cTrainedModel *m);
const char *g2c_trained_model_stain(const G2cTrainedModel *m, int generator);
/* n crops (any size: resized to the model's input) -> classes[n] and
 * probabilities[n * task->classes].  views, when not NULL, receives
 * n * generators images (crop i, generator g at i * generators + g): the
 * generated stains at the model's input size, for reports. */
int g2c_trained_model_predict(G2cTrainedModel *m, const G2cImage *crops, int n, int *classes,
                              float *probabilities, G2cImage *views);

/* ---- the ablation's tables and the rescued cases (g2c compare --table,
 * --rescued; src/train/ablation-table.c, src/train/rescued*.c) ------------ */

#include <stdio.h>

typedef struct {
    const char *const *models; /* names; n_models 0: every g2c model with an
                                * eval run on the split, in creation order */
    int n_models;
    /* The model the McNemar p-values are against, for its task; NULL (or a
     * model of another task): per task, the first PAS_ONLY model with
     * augmentation among the models. */
    const char *baseline;
    const char *split; /* NULL: "test" */
    const char *title; /* first heading; NULL: "G2C ablation" */
} G2cAblationOptions;

/* The paper's tables as Markdown, from the catalog only: per task, per-class
 * accuracy, balanced accuracy and F1 (Tables 2 and 3), train/test accuracy
 * and gap (Table 4), joint vs frozen generators, G2C vs conventional
 * augmentation, and per model the McNemar p-value against the baseline
 * and the training time.  Metrics come from each model's latest eval run
 * on the split, p-values from the latest compare run of the two models
 * (either order), times from the train run.  A model without an eval run
 * on the split is refused, naming it. */
int g2c_ablation_markdown(G2cCatalog *cat, const G2cAblationOptions *opt, FILE *out);

/* A glomerulus model A got wrong and model B right. */
typedef struct {
    int64_t annotation_id;
    char patient[64], slide[128];
    char truth[32];                    /* catalog label */
    char truth_class[32];              /* its class in the task */
    char predicted_a[32], predicted_b[32]; /* task classes */
    double confidence_a, confidence_b; /* probability of the predicted class */
} G2cRescuedCase;

typedef struct {
    char model_a[128], model_b[128], split[8], task[32];
    int64_t paired;   /* glomeruli of the split both models predicted */
    int count;        /* rescued */
    G2cRescuedCase *cases; /* B's confidence first, then annotation id */
} G2cRescued;

/* From the predictions g2c eval stored for A and B on `split`. */
int g2c_rescued_find(G2cCatalog *cat, const char *model_a, const char *model_b,
                     const char *split, G2cRescued *out);
void g2c_rescued_free(G2cRescued *r);

enum {
    G2C_RESCUED_TILE = 96,     /* px per crop on the sheet */
    G2C_RESCUED_MAX_WIDTH = 1200
};

/* The first n cases of r as a PNG sheet (the paper's Figure 3): per case
 * the PAS crop and the stains model B's generators make of it (B run
 * again on the crop), the stain names above, and below the glomerulus,
 * its true label and both models' predictions with their probability.
 * Geometry (LINE 12, MARGIN 8, SPACE 16, T = G2C_RESCUED_TILE, k tiles per
 * case = 1 + B's generators): strip = k T + 2 (k + 1) wide, T + 4 high
 * (g2c_contact_sheet); case = max(strip, 160) x (LINE + T + 4 + 4 LINE);
 * columns = clamp((G2C_RESCUED_MAX_WIDTH - 2 MARGIN + SPACE) / (case +
 * SPACE), 1, n); width = 2 MARGIN + columns case + (columns - 1) SPACE;
 * height = 2 MARGIN + 3 LINE + 8 + rows case + (rows - 1) SPACE. */
int g2c_rescued_sheet(G2cCatalog *cat, const G2cRescued *r, int n, int threads,
                      const char *png_path, int *width, int *height);

#endif
