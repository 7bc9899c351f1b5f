/* Confusion matrices, per-class and averaged metrics, McNemar's exact test. */
#include "g2c/metrics.h"

#include <math.h>
#include <string.h>

void g2c_confusion_init(G2cConfusion *c, int classes)
{
    memset(c, 0, sizeof *c);
    if (classes < 1)
        classes = 1;
    if (classes > G2C_METRICS_MAX_CLASSES)
        classes = G2C_METRICS_MAX_CLASSES;
    c->classes = classes;
}

void g2c_confusion_add(G2cConfusion *c, int truth, int predicted)
{
    if (truth < 0 || truth >= c->classes || predicted < 0 || predicted >= c->classes)
        return;
    c->counts[truth][predicted]++;
}

static double ratio(int64_t num, int64_t den)
{
    return den > 0 ? (double)num / (double)den : NAN;
}

void g2c_metrics_compute(const G2cConfusion *c, G2cMetrics *m)
{
    memset(m, 0, sizeof *m);
    const int k = c->classes;
    m->classes = k;
    for (int t = 0; t < k; t++)
        for (int p = 0; p < k; p++) {
            m->support[t] += c->counts[t][p];
            m->predicted[p] += c->counts[t][p];
            m->total += c->counts[t][p];
        }
    double recall_sum = 0, f1_sum = 0;
    int recall_n = 0, f1_n = 0;
    for (int i = 0; i < k; i++) {
        int64_t tp = c->counts[i][i];
        int64_t fn = m->support[i] - tp, fp = m->predicted[i] - tp;
        m->correct += tp;
        m->recall[i] = ratio(tp, m->support[i]);
        m->precision[i] = ratio(tp, m->predicted[i]);
        m->f1[i] = ratio(2 * tp, 2 * tp + fp + fn);
        if (m->support[i] > 0) {
            recall_sum += m->recall[i];
            recall_n++;
        }
        if (!isnan(m->f1[i])) {
            f1_sum += m->f1[i];
            f1_n++;
        }
    }
    m->accuracy = ratio(m->correct, m->total);
    m->balanced_accuracy = recall_n ? recall_sum / recall_n : NAN;
    m->macro_f1 = f1_n ? f1_sum / f1_n : NAN;
}

/* log C(n, k) */
static double log_choose(int64_t n, int64_t k)
{
    return lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1);
}

/* 2 * P(X <= k) for X ~ Binomial(n, 1/2), k <= n / 2.  The terms
 * C(n, i) / 2^n grow with i up to k, so the sum is taken relative to the
 * last one (by the ratio C(n, i-1) / C(n, i) = i / (n - i + 1)) and scaled
 * back in log space: nothing under- or overflows for any n. */
double g2c_mcnemar_exact(int64_t b, int64_t c)
{
    if (b < 0 || c < 0)
        return NAN;
    int64_t n = b + c, k = b < c ? b : c;
    /* min(b, c) >= (n - 1) / 2: P(X <= k) >= 1/2 by symmetry. */
    if (2 * k + 1 >= n)
        return 1.0;
    double rel = 1.0, term = 1.0;
    for (int64_t i = k; i > 0; i--) {
        term *= (double)i / (double)(n - i + 1);
        rel += term;
        if (term < rel * 1e-18)
            break;
    }
    double log_p = log(2.0) + log_choose(n, k) - (double)n * log(2.0) + log(rel);
    double p = exp(log_p);
    return p < 1.0 ? p : 1.0;
}
