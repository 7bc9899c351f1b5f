/* Internals of g2c_pretrain, shared by src/train/pretrain*.c:
 *   pretrain.c          presets, the run from start to end, the epoch loop
 *   pretrain-config.c   stains, reference sets, the configuration JSON
 *   pretrain-catalog.c  model, model_refsets, runs and run_epochs rows
 *   pretrain-state.c    checkpoints: save, resume, G.safetensors, lock
 *   pretrain-report.c   sample sheets, loss table and plot, quality report
 */
#ifndef G2C_PRETRAIN_PRIVATE_H
#define G2C_PRETRAIN_PRIVATE_H

#include "g2c/pretrain.h"

#include <jansson.h>

/* Paths in the model folder: the folder plus a file name. */
enum { PT_PATH_MAX = 4096 + 512 };

/* The mean loss terms of one epoch and how long it took. */
typedef struct {
    int epoch; /* 1-based */
    double lr;
    double G_A, G_B, cycle_A, cycle_B, idt_A, idt_B, G, D_A, D_B;
    double seconds, pairs_per_second;
} PtEpoch;

enum { PT_LOSS_TERMS = 9 };
/* Names (as in cycle_gan_model.py) and values of the loss terms, in order. */
extern const char *const pt_loss_names[PT_LOSS_TERMS];
void pt_loss_values(const PtEpoch *e, double v[PT_LOSS_TERMS]);

typedef struct {
    char name[G2C_PRETRAIN_MAX_NAME];
    int64_t id;
    int crops;
} PtSet;

/* One side of the translation: a stain and its reference sets. */
typedef struct {
    char stain[64]; /* canonical name */
    int64_t stain_id;
    PtSet sets[G2C_PRETRAIN_MAX_SETS];
    int n_sets;
    int crops; /* in all its sets */
} PtSide;

typedef struct {
    const G2cPretrainOptions *opt;
    G2cCatalog *cat;
    PtSide side[2]; /* source, target */
    char name[G2C_PRETRAIN_MAX_NAME];
    char dir[4096];
    json_t *config; /* the model's configuration */
    char *config_text; /* its canonical text (sorted keys, compact) */
    int model_exists, model_same;
    int64_t model_id, run_id;
    int total;       /* epochs + decay epochs */
    int epoch;       /* epochs completed */
    G2cCycleGanConfig cgc;
    G2cCycleGan cg;
    int cg_ready;
    G2cPretrainData data[2]; /* source = A, target = B */
    G2cRng data_rng;
    PtEpoch *history; /* one per completed epoch */
    G2cParams disc_view;   /* D_A, D_B and the image pools, to checkpoint */
    G2cParams gen_export;  /* G_A under ResnetGenerator's names */
    G2cConvNet gen_export_net;
    G2cNetActs eval_acts[2]; /* G_A and G_B on whole held-out crops */
    int lock_fd;
} Pretrain;

/* pretrain-config.c */
int pt_resolve_side(Pretrain *pt, int which, const char *stain,
                    const char *const *sets, int n_sets);
int pt_check_name(const char *name);
int pt_make_config(Pretrain *pt);
/* "epochs 1 -> 2; seed 1 -> 3" for the keys that differ (malloc'd). */
char *pt_config_diff(json_t *old, json_t *now);
int pt_load_data(Pretrain *pt);

/* pretrain-catalog.c */
int pt_catalog_check_model(Pretrain *pt);
int pt_catalog_last_run_done(Pretrain *pt, int *done);
int pt_catalog_register(Pretrain *pt);
int pt_catalog_sync_epochs(Pretrain *pt);
int pt_catalog_epoch(Pretrain *pt, const PtEpoch *e);
int pt_catalog_finish(Pretrain *pt, const char *status, json_t *metrics);

/* pretrain-state.c */
int pt_state_init(Pretrain *pt);
void pt_state_free(Pretrain *pt);
int pt_state_lock(Pretrain *pt);
int pt_state_discard(Pretrain *pt);
/* Loads the last complete epoch, if any; *found = 0 leaves the fresh
 * initial state. */
int pt_state_load(Pretrain *pt, int *found);
int pt_state_save(Pretrain *pt);
int pt_state_export_G(Pretrain *pt);

/* pretrain-report.c */
int pt_report_samples(Pretrain *pt, int epoch);
int pt_report_losses(Pretrain *pt);
int pt_report_quality(Pretrain *pt, G2cPretrainQuality *q);
json_t *pt_epoch_json(const PtEpoch *e);
int pt_epoch_from_json(json_t *o, PtEpoch *e);

#endif
