/* Stage 1 of G2C: CycleGAN pre-training of a stain-to-stain generator from
 * two reference sets, and applying a trained generator to crops.
 *
 * g2c_pretrain trains G (source -> target, CycleGAN's G_A) and F (target ->
 * source, G_B) with their PatchGANs exactly as the original CycleGAN does
 * (g2c_cyclegan_step), on unaligned crops of the reference sets of the two
 * stains.  A run writes, in its folder (models/<MODEL>/ beside the catalog
 * by default):
 *
 *   latest-gen.safetensors    G_A, G_B and their Adam state
 *   latest-disc.safetensors   D_A, D_B, their Adam state, the image pools,
 *                             the RNG states, the epoch and the loss history
 *   previous-gen.safetensors  the generators of the epoch before (see below)
 *   G.safetensors             G_A alone, under ResnetGenerator's own names
 *   losses.csv, losses.png    the mean of each loss term per epoch
 *   samples-epoch-NNN.png     real source | generated | reconstructed
 *
 * and records the model, its reference sets, the run and every epoch in the
 * catalog.  Re-running the same command after an interruption continues
 * from the last complete epoch and ends with the same weights, to the bit,
 * as an uninterrupted run.
 */
#ifndef G2C_PRETRAIN_H
#define G2C_PRETRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "g2c/catalog.h"
#include "g2c/image.h"
#include "g2c/models.h"
#include "g2c/rng.h"

/* ---- presets ---------------------------------------------------------- */

typedef struct {
    const char *name;
    int ngf, n_blocks, ndf; /* generator / discriminator widths */
    int size;               /* training crops are size x size */
    int epochs;             /* at the full learning rate */
    int decay_epochs;       /* then linearly down */
    int max_images;         /* training crops per side, 0 = all */
    const char *purpose;
} G2cPretrainPreset;

/* The table of presets (tiny, cpu, paper). */
const G2cPretrainPreset *g2c_pretrain_presets(int *count);
/* By name; NULL with "unknown preset 'x' (known: tiny, cpu, paper)". */
const G2cPretrainPreset *g2c_pretrain_preset_find(const char *name);

/* ---- training --------------------------------------------------------- */

enum { G2C_PRETRAIN_MAX_SETS = 32, G2C_PRETRAIN_MAX_NAME = 128 };

typedef struct {
    const char *source_stain, *target_stain;
    /* Reference sets by name; none given = every set of the stain. */
    const char *source_sets[G2C_PRETRAIN_MAX_SETS];
    int n_source_sets;
    const char *target_sets[G2C_PRETRAIN_MAX_SETS];
    int n_target_sets;
    const char *name;       /* model name; NULL = <SOURCE>2<TARGET> */
    G2cPretrainPreset arch; /* a preset, with the caller's overrides */
    uint64_t seed;
    const char *out_dir;  /* NULL = models/<name>/ beside the catalog */
    int eval_images;      /* held-out crops per side, at most (100) */
    int stop_after_epoch; /* > 0: stop once this epoch is saved */
    int restart;          /* discard checkpoints and a differing config */
    FILE *log;            /* a line per epoch and the report; NULL: none */
    void (*progress)(void *ctx, int epoch, int epochs, int step, int steps);
    void *progress_ctx;
} G2cPretrainOptions;

/* The cpu preset, seed 1, 100 held-out crops, the rest zero. */
void g2c_pretrain_options_default(G2cPretrainOptions *o);

/* The automatic counterpart of the paper's real-vs-generated study. */
typedef struct {
    int n_source, n_target;   /* held-out crops used */
    double accuracy;          /* two-sample test, generated vs real target */
    double train_accuracy;    /* the same critic on its training halves */
    double baseline_accuracy; /* real source vs real target */
    double lab_generated;     /* CIELAB distance, generated vs real target */
    double lab_source;        /* ... untranslated source vs real target */
} G2cPretrainQuality;

typedef struct {
    char model[G2C_PRETRAIN_MAX_NAME];
    char out_dir[4096];
    int64_t model_id, run_id;
    int epochs_done, epochs_total;
    int epochs_run;         /* by this call */
    int already_trained;    /* nothing was left to do */
    int stopped;            /* stop_after_epoch ended it early */
    double seconds_per_epoch, pairs_per_second; /* this call's epochs */
    int have_quality;
    G2cPretrainQuality quality;
} G2cPretrainResult;

int g2c_pretrain(G2cCatalog *cat, const G2cPretrainOptions *o,
                 G2cPretrainResult *result);

/* ---- data: CycleGAN's unaligned dataset (augment.c) -------------------- */

/* The crops of one side: some held out for the quality report (resized to
 * size x size), the others for training (resized to the load size,
 * size * 9/8, as CycleGAN's resize_and_crop). */
typedef struct {
    G2cImage *train;
    int n_train;
    G2cImage *held;
    int n_held;
    int size, load_size;
} G2cPretrainData;

int g2c_pretrain_load_size(int size);
/* Held-out crops for `count` crops: min(max_held, max(4, count / 5)). */
int g2c_pretrain_held_count(int count, int max_held);
/* Split images (taken over: freed here) by a shuffle drawn from rng; at most
 * max_train training crops (0 = all). */
int g2c_pretrain_data_make(G2cImage *images, int count, int size,
                           int max_held, int max_train, G2cRng *rng,
                           G2cPretrainData *d);
void g2c_pretrain_data_free(G2cPretrainData *d);

/* CycleGAN's augmentation: a random size x size crop of img (at the load
 * size) and a horizontal flip with probability 1/2, as [3, size, size]
 * floats in [-1, 1].  Draws x, y, then the flip from rng. */
void g2c_augment(const G2cImage *img, int size, G2cRng *rng, float *out);
/* Whole image <-> [3, h, w] floats in [-1, 1]. */
void g2c_image_to_tensor(const G2cImage *img, float *out);
int g2c_tensor_to_image(const float *t, int width, int height,
                        G2cImage *out);

/* ---- applying a generator (translate.c) -------------------------------- */

/* A generator on images of any size: the input is mirrored out to the next
 * multiple of 4 (the two stride-2 stages need it) and the output cut back,
 * so the output has the input's size. */
typedef struct {
    G2cResnetGenConfig cfg;
    G2cConvNet net;
    G2cParams params;
    G2cNetActs acts;
    int train_size; /* the crop size it was trained on (0: unknown) */
} G2cGenerator;

/* The G.safetensors of a catalog model of kind cyclegan. */
int g2c_generator_load(G2cCatalog *cat, const char *model, G2cGenerator *g);
/* A generator file with ResnetGenerator names (no prefix). */
int g2c_generator_open(const char *path, const G2cResnetGenConfig *cfg,
                       G2cGenerator *g);
void g2c_generator_free(G2cGenerator *g);
int g2c_generator_apply(G2cGenerator *g, const G2cImage *in, G2cImage *out);

/* The same on a network inside another G2cParams (training's G_A): acts is
 * (re)sized to the padded image as needed (zeroed acts to start). */
int g2c_convnet_translate(const G2cConvNet *net, G2cParams *p,
                          G2cNetActs *acts, const G2cImage *in,
                          G2cImage *out);

#endif
