/* State of one g2c train call, shared by train-run.c (checks, split,
 * catalog rows) and train-loop.c (epochs and checkpoints). */
#ifndef G2C_TRAIN_RUN_H
#define G2C_TRAIN_RUN_H

#include "stage2-private.h"

typedef struct {
    const G2cTrainOptions *o;
    G2cCatalog *cat;
    const G2cTask *task;
    S2Variant variant;
    const S2Preset *preset;
    S2ModelSpec spec;
    /* Resolved settings (options over the preset). */
    int epochs, freeze_epochs, lr_step;
    double lr, lr_divisor, gamma, momentum, weight_decay;
    float alpha[G2C_TASK_MAX_CLASSES];
    S2CropList crops;
    S2SplitPlan plan;
    S2CropSet train;
    json_t *config;
    char *config_text;
    char checkpoint[S2_PATH];
    int64_t model_id, run_id;
    int resuming; /* the model row existed */
    S2Model model;
    G2cRng rng;
    int epoch;        /* epochs completed */
    json_t *history;  /* one object per completed epoch */
    G2cTrainResult *result;
} S2Train;

void s2_say(const S2Train *t, int notable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* train-loop.c */
int s2_train_start_state(S2Train *t); /* fresh weights or the checkpoint */
int s2_train_epochs(S2Train *t);

/* train-run.c: catalog writes of each epoch and of the end. */
int s2_train_record_epoch(S2Train *t, const json_t *metrics);
int s2_train_record_history(S2Train *t);

#endif
