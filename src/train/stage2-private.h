/* Internals of stage 2 (g2c train / eval / compare), shared by the files of
 * src/train named train-*.c, dataset.c and metrics.c.  Every global name
 * starts with s2_ so that nothing collides with stage 1 in the same
 * folder. */
#ifndef G2C_STAGE2_PRIVATE_H
#define G2C_STAGE2_PRIVATE_H

#include "g2c/classifier.h"
#include "g2c/models.h"
#include "g2c/nn.h"
#include "g2c/rng.h"
#include "g2c/train.h"

#include <jansson.h>
#include <stdint.h>

enum { S2_MAX_GENERATORS = G2C_CLS_MAX_BRANCHES - 1, S2_PATH = 4096, S2_NAME = 128 };

/* ---- variants and presets (train-task.c) ---------------------------------- */

typedef enum {
    S2_PAS_ONLY = 0,  /* K = 1 */
    S2_PAS_STAIN,     /* K = 2: PAS and one generated stain */
    S2_PAS_ALL,       /* K = 1 + every generator, no attention */
    S2_PAS_ALL_PLUS,  /* the same with cross-stain attention */
} S2VariantKind;

typedef struct {
    S2VariantKind kind;
    char stain[64]; /* S2_PAS_STAIN: as written (resolved through the catalog) */
    char text[80];  /* as given */
} S2Variant;

int s2_variant_parse(const char *text, S2Variant *v);

typedef struct {
    const char *name;
    const char *classifier; /* a g2c_classifier_config_preset name */
    int batch, epochs, freeze_epochs, lr_step;
} S2Preset;

const S2Preset *s2_preset_find(const char *name);

/* ---- crops (dataset.c) ----------------------------------------------------- */

typedef struct {
    int64_t annotation_id, slide_id, patient_id, patch_id;
    char label[32]; /* catalog label name */
    char split[8];  /* "train", "val", "test" or "" */
} S2CropInfo;

typedef struct {
    S2CropInfo *items;
    int count;
} S2CropList;

/* Every labelled glomerulus crop on slides of `stain`, by annotation id. */
int s2_crops_list(G2cCatalog *cat, const char *stain, S2CropList *out);
void s2_crop_list_free(S2CropList *l);

/* The pixels of one split's crops that the task uses, size x size RGB. */
typedef struct {
    int size, count;
    int64_t *annotation_id;
    int *cls;     /* class in the task */
    uint8_t *rgb; /* count * size * size * 3 */
} S2CropSet;

int s2_cropset_load(G2cCatalog *cat, const S2CropList *list, const G2cTask *task,
                    const char *split, int size, S2CropSet *out);
void s2_cropset_free(S2CropSet *s);
void s2_cropset_filter(S2CropSet *s, const unsigned char *keep);
uint64_t s2_cropset_fingerprint(const S2CropSet *s);

/* ---- split (train-split.c) --------------------------------------------------- */

typedef struct {
    int64_t key;   /* patient or slide id */
    char split[8];
    int is_new;    /* chosen now (else: following its unit's existing split) */
} S2SplitItem;

typedef struct {
    G2cSplitBy by;
    S2SplitItem *items;
    int count;
} S2SplitPlan;

int s2_split_plan(const S2CropList *crops, G2cSplitBy by, double test_fraction, uint64_t seed,
                  S2SplitPlan *plan);
void s2_split_plan_free(S2SplitPlan *plan);
void s2_split_plan_apply(const S2SplitPlan *plan, S2CropList *crops);
int s2_split_plan_store(G2cCatalog *cat, const S2SplitPlan *plan);

/* ---- augmentation (train-augment.c) ------------------------------------------ */

#define S2_AUG_BRIGHTNESS 0.1
#define S2_AUG_SATURATION 0.2

typedef struct {
    int hflip, vflip;
    float brightness, saturation;
} S2Augment;

void s2_augment_draw(G2cRng *rng, S2Augment *aug);
/* rgb size x size -> out [3, size, size] in [-1, 1]; aug NULL: as it is. */
void s2_crop_to_tensor(const uint8_t *rgb, int size, const S2Augment *aug, float *out);

/* ---- the model (train-model.c) -------------------------------------------------- */

typedef struct {
    char model[S2_NAME];  /* stage-1 model name ("" when given as a file) */
    int64_t model_id;     /* in the catalog it came from (0: a file) */
    char stain[64];       /* canonical target stain */
    char checkpoint[S2_PATH];
    char file_prefix[16]; /* its tensors' prefix in that file: "" or "G_A." */
    int ngf, n_blocks;
} S2GenSpec;

typedef struct {
    G2cClassifierConfig cls;
    int n_gen;
    S2GenSpec gen[S2_MAX_GENERATORS];
    int batch; /* crops per step (and per evaluation pass) */
} S2ModelSpec;

typedef struct {
    S2ModelSpec spec;
    G2cParams params;
    G2cClassifier *cls;
    G2cConvNet *nets;   /* [n_gen] */
    G2cNetActs *gacts;  /* [n_gen] */
    G2cClassifierActs *acts;
    float *x;           /* [batch, 3, S, S]: the PAS crops */
    float **dgen;       /* [n_gen][batch * 3 * S * S] */
    float *dlogits;
    const float *inputs[G2C_CLS_MAX_BRANCHES];
    G2cOptimizer opt;
    int has_opt;
} S2Model;

/* Register, finalize and allocate everything; weights are zero. */
int s2_model_build(S2Model *m, const S2ModelSpec *spec);
void s2_model_free(S2Model *m);
/* Classifier weights from the seed, generator weights from their files. */
int s2_model_init(S2Model *m, uint64_t seed);
int s2_model_freeze_generators(S2Model *m, int frozen);
/* Forward on m->x (a full batch); the logits. */
const float *s2_model_forward(S2Model *m, int training);
/* After a training forward: dlogits -> gradients (generators too unless
 * they are frozen). */
int s2_model_backward(S2Model *m, const float *dlogits, int generators_trainable);
/* Eval-mode classes and softmax probabilities of n crops (rgb, size x size
 * each at the model's input size); views as in g2c_trained_model_predict. */
int s2_model_predict(S2Model *m, const uint8_t *rgb, int n, int *classes, float *probs,
                     G2cImage *views);

/* Stage-1 generators by name (comma list) from a catalog. */
int s2_generators_lookup(G2cCatalog *cat, const char *names, S2GenSpec *out, int *n,
                         void (*say)(void *, int, const char *), void *ctx);

/* Configuration JSON <-> spec. */
json_t *s2_spec_to_json(const S2ModelSpec *spec);
int s2_spec_from_json(const json_t *j, S2ModelSpec *spec);

/* The model row of a g2c model: id, config JSON, checkpoint path. */
typedef struct {
    int64_t id;
    char name[S2_NAME];
    json_t *config;
    const G2cTask *task;
    char variant[32];
    char checkpoint[S2_PATH];
} S2ModelRow;

int s2_model_row_find(G2cCatalog *cat, const char *name, S2ModelRow *row);
void s2_model_row_free(S2ModelRow *row);
/* How many predictions a model has on the glomeruli of one split (0 also
 * when the query fails). */
int64_t s2_count_predictions(G2cCatalog *cat, int64_t model_id, const char *split);
/* Build the model of a row and load its checkpoint (no optimizer). */
int s2_model_open(const S2ModelRow *row, S2Model *m);

/* The stains table's name for a stain name or alias. */
int s2_canonical_stain(G2cCatalog *cat, const char *name, char *out, size_t size);
/* Folder of the catalog file (for default paths). */
void s2_catalog_dir(G2cCatalog *cat, char *out, size_t size);
/* Name of a label id / id of a label name (creating "s" when missing). */
int s2_label_id(G2cCatalog *cat, const char *name, int64_t *id);

/* A readable "%.4f" or "-" for NaN, into buf. */
const char *s2_num(char *buf, size_t size, double v);
/* NaN-safe JSON number (null for NaN). */
json_t *s2_json_real(double v);

#endif
