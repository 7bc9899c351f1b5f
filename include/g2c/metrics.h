/* Classification metrics and McNemar's exact test, for stage 2's
 * evaluation (g2c eval) and model comparison (g2c compare).
 *
 * Definitions (tests/train/test-metrics.c checks each against hand-computed
 * values):
 *  - per-class accuracy of class c = recall = TP_c / support_c, the share
 *    of the glomeruli truly of class c that the model put in class c.
 *  - balanced (category-averaged) accuracy = the mean of the per-class
 *    accuracies over the classes that have samples.  A class without
 *    samples has no accuracy (NaN) and is left out of the mean, as
 *    scikit-learn's balanced_accuracy_score does.
 *  - F1 of class c = 2 TP / (2 TP + FP + FN).  It is 0 for a class with
 *    samples that is never predicted, 0 for a class without samples that
 *    is predicted, and undefined (NaN, left out of the macro mean) for a
 *    class with neither.  Macro F1 = the mean of the defined F1s.
 *  - McNemar's exact test: of the glomeruli two models classify
 *    differently in correctness, b were right only with model A and c only
 *    with model B.  Under the null hypothesis (both models equally good)
 *    b ~ Binomial(b + c, 1/2); the two-sided p-value is
 *    min(1, 2 * P(X <= min(b, c))), computed in log space so that it is
 *    exact (to double precision) for any count.
 */
#ifndef G2C_METRICS_H
#define G2C_METRICS_H

#include <stdint.h>

enum { G2C_METRICS_MAX_CLASSES = 8 };

typedef struct {
    int classes;
    /* counts[t][p]: glomeruli of true class t predicted as class p. */
    int64_t counts[G2C_METRICS_MAX_CLASSES][G2C_METRICS_MAX_CLASSES];
} G2cConfusion;

/* classes in 1 .. G2C_METRICS_MAX_CLASSES (clamped). */
void g2c_confusion_init(G2cConfusion *c, int classes);
/* Count one glomerulus; classes outside the matrix are ignored. */
void g2c_confusion_add(G2cConfusion *c, int truth, int predicted);

typedef struct {
    int classes;
    int64_t total, correct;
    double accuracy; /* correct / total; NaN when total = 0 */
    int64_t support[G2C_METRICS_MAX_CLASSES];   /* true glomeruli per class */
    int64_t predicted[G2C_METRICS_MAX_CLASSES]; /* predictions per class */
    double recall[G2C_METRICS_MAX_CLASSES];     /* per-class accuracy; NaN: no samples */
    double precision[G2C_METRICS_MAX_CLASSES];  /* NaN: never predicted */
    double f1[G2C_METRICS_MAX_CLASSES];         /* NaN: no samples, never predicted */
    double balanced_accuracy; /* NaN when no class has samples */
    double macro_f1;          /* NaN when no F1 is defined */
} G2cMetrics;

void g2c_metrics_compute(const G2cConfusion *c, G2cMetrics *m);

/* Two-sided exact McNemar p-value for b and c discordant glomeruli
 * (b, c >= 0); 1 when b + c = 0. */
double g2c_mcnemar_exact(int64_t b, int64_t c);

#endif
