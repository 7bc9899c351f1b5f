/* How good are generated stains: the automatic counterpart of the G2C
 * paper's study in which pathologists told real crops from generated ones.
 *
 *  - A colour-statistics distance in CIELAB (perceptual): per-channel mean
 *    and standard deviation of every pixel of a set of crops, and the
 *    Euclidean distance between two sets' six numbers (ΔE-like units).
 *
 *  - A held-out two-sample test: a small CNN learns to tell real
 *    target-stain crops from generated ones on half of each set; its
 *    accuracy on the other half is reported.  50% means the two sets cannot
 *    be told apart; 100% means they always can.
 */
#ifndef G2C_QUALITY_H
#define G2C_QUALITY_H

#include <stdint.h>

#include "g2c/image.h"

typedef struct {
    double mean[3]; /* L*, a*, b* */
    double std[3];
} G2cLabStats;

void g2c_lab_stats(const G2cImage *images, int count, G2cLabStats *out);
double g2c_lab_distance(const G2cLabStats *a, const G2cLabStats *b);

typedef struct {
    int size;      /* crops are resized to size x size (64) */
    int epochs;    /* training epochs (15) */
    int batch;     /* (16) */
    float lr;      /* Adam (1e-3) */
    uint64_t seed;
} G2cTwoSampleConfig;

typedef struct {
    double accuracy;       /* on the held-out halves, 0..1 */
    double train_accuracy; /* on the training halves, after training */
    int n_train, n_test;   /* images in each part (both classes) */
} G2cTwoSampleResult;

void g2c_two_sample_config_default(G2cTwoSampleConfig *c);

/* Real and generated crops (at least 4 of each).  Deterministic for a seed
 * and thread count. */
int g2c_two_sample_test(const G2cImage *real, int n_real, const G2cImage *fake, int n_fake,
                        const G2cTwoSampleConfig *cfg, G2cTwoSampleResult *out);

#endif
