/* Metrics and McNemar's exact test against hand-computed values.  The
 * large-count p-values were computed with exact rational arithmetic
 * (Python integers: the binomial sum over 2^n as a Fraction). */
#include "testutil.h"

#include "g2c/metrics.h"

#include <math.h>

static void mcnemar_values(void)
{
    /* b = 1, c = 9: 2 * (C(10,0) + C(10,1)) / 2^10 = 22 / 1024. */
    CHECK_CLOSE(g2c_mcnemar_exact(1, 9), 0.021484375, 1e-15);
    CHECK_CLOSE(g2c_mcnemar_exact(9, 1), 0.021484375, 1e-15);
    CHECK_CLOSE(g2c_mcnemar_exact(0, 10), 2.0 / 1024, 1e-16);
    /* b = c, or nothing discordant: no evidence at all. */
    CHECK(g2c_mcnemar_exact(5, 5) == 1.0);
    CHECK(g2c_mcnemar_exact(0, 0) == 1.0);
    CHECK(g2c_mcnemar_exact(3, 4) == 1.0); /* 2 * P(X <= 3 | n = 7) = 1 */
    CHECK(g2c_mcnemar_exact(0, 1) == 1.0);
    /* 2 * (1 + 12 + 66) / 2^12 */
    CHECK_CLOSE(g2c_mcnemar_exact(2, 10), 2.0 * 79 / 4096, 1e-15);
    CHECK_CLOSE(g2c_mcnemar_exact(12, 30), 0.007915897334896727, 1e-14);
    /* Large counts: terms like C(40500, 20000) / 2^40500 overflow and
     * underflow doubles; the log-space sum must still be exact. */
    CHECK_CLOSE(g2c_mcnemar_exact(20000, 20500) / 0.013153825113143827, 1.0, 1e-9);
    CHECK_CLOSE(g2c_mcnemar_exact(30000, 29000) / 3.907020967829971e-05, 1.0, 1e-9);
    CHECK_CLOSE(g2c_mcnemar_exact(0, 1000) / 1.8665272370064378e-301, 1.0, 1e-9);
    double p = g2c_mcnemar_exact(1000000, 1000000);
    CHECK(p == 1.0);
    p = g2c_mcnemar_exact(1000000, 1010000);
    CHECK(p > 0 && p < 1e-5);
    CHECK(isnan(g2c_mcnemar_exact(-1, 3)));
}

static void metrics_values(void)
{
    /* 3 classes:            predicted
     *                     a    b    c
     *            true a   5    1    0      support 6
     *            true b   2    3    1      support 6
     *            true c   0    0    0      support 0 (absent class) */
    G2cConfusion c;
    g2c_confusion_init(&c, 3);
    for (int i = 0; i < 5; i++)
        g2c_confusion_add(&c, 0, 0);
    g2c_confusion_add(&c, 0, 1);
    g2c_confusion_add(&c, 1, 0);
    g2c_confusion_add(&c, 1, 0);
    for (int i = 0; i < 3; i++)
        g2c_confusion_add(&c, 1, 1);
    g2c_confusion_add(&c, 1, 2);
    g2c_confusion_add(&c, 1, 7); /* out of range: ignored */
    g2c_confusion_add(&c, -1, 0);
    G2cMetrics m;
    g2c_metrics_compute(&c, &m);
    CHECK(m.total == 12 && m.correct == 8);
    CHECK_CLOSE(m.accuracy, 8.0 / 12, 1e-12);
    CHECK(m.support[0] == 6 && m.support[1] == 6 && m.support[2] == 0);
    CHECK(m.predicted[0] == 7 && m.predicted[1] == 4 && m.predicted[2] == 1);
    CHECK_CLOSE(m.recall[0], 5.0 / 6, 1e-12);
    CHECK_CLOSE(m.recall[1], 3.0 / 6, 1e-12);
    CHECK(isnan(m.recall[2])); /* no samples: no accuracy */
    CHECK_CLOSE(m.precision[0], 5.0 / 7, 1e-12);
    CHECK_CLOSE(m.precision[1], 3.0 / 4, 1e-12);
    CHECK_CLOSE(m.precision[2], 0.0, 1e-12);
    /* F1 = 2TP / (2TP + FP + FN): a 10/13, b 6/10, c 0 (predicted, absent) */
    CHECK_CLOSE(m.f1[0], 10.0 / 13, 1e-12);
    CHECK_CLOSE(m.f1[1], 6.0 / 10, 1e-12);
    CHECK_CLOSE(m.f1[2], 0.0, 1e-12);
    /* Balanced accuracy leaves out the class without samples. */
    CHECK_CLOSE(m.balanced_accuracy, (5.0 / 6 + 0.5) / 2, 1e-12);
    CHECK_CLOSE(m.macro_f1, (10.0 / 13 + 0.6 + 0.0) / 3, 1e-12);

    /* A class neither present nor predicted: F1 undefined, left out. */
    g2c_confusion_init(&c, 3);
    g2c_confusion_add(&c, 0, 0);
    g2c_confusion_add(&c, 1, 0);
    g2c_metrics_compute(&c, &m);
    CHECK(isnan(m.f1[2]) && isnan(m.recall[2]) && isnan(m.precision[2]));
    CHECK(isnan(m.precision[1]));   /* never predicted */
    CHECK_CLOSE(m.f1[1], 0.0, 0);   /* present, never predicted */
    CHECK_CLOSE(m.f1[0], 2.0 / 3, 1e-12);
    CHECK_CLOSE(m.balanced_accuracy, 0.5, 1e-12);
    CHECK_CLOSE(m.macro_f1, 1.0 / 3, 1e-12);

    /* Empty matrix: everything undefined, nothing divides by zero. */
    g2c_confusion_init(&c, 2);
    g2c_metrics_compute(&c, &m);
    CHECK(m.total == 0 && isnan(m.accuracy) && isnan(m.balanced_accuracy) &&
          isnan(m.macro_f1));

    /* Perfect two-class predictions. */
    g2c_confusion_init(&c, 2);
    g2c_confusion_add(&c, 0, 0);
    g2c_confusion_add(&c, 1, 1);
    g2c_metrics_compute(&c, &m);
    CHECK(m.accuracy == 1.0 && m.balanced_accuracy == 1.0 && m.macro_f1 == 1.0);

    /* Class counts are clamped to the matrix size. */
    g2c_confusion_init(&c, 100);
    CHECK(c.classes == G2C_METRICS_MAX_CLASSES);
    g2c_confusion_init(&c, 0);
    CHECK(c.classes == 1);
}

int main(void)
{
    mcnemar_values();
    metrics_values();
    return g2c_test_finish("metrics");
}
