/* Focal loss (Lin et al. 2017) on softmax logits, mean over the batch:
 *   l_i = -alpha[y] * (1 - p_y)^gamma * log p_y.
 * With p = p_y, a = alpha[y], the gradient on logit j is
 *   dl/dz_j = F * (p_j - [j == y]),
 *   F = a * ((1-p)^gamma - gamma * p * log p * (1-p)^(gamma-1)),
 * which reduces to cross-entropy's gradient at gamma = 0.
 *
 * Labels outside [0, classes) are ignored and not counted in the mean, as
 * in g2c_softmax_ce_loss. */
#include "g2c/nn.h"

#include <math.h>

/* Log-softmax of class y, and 1 - p_y summed from the other classes: when
 * p_y is close to 1, 1 - exp(log p_y) would lose every digit of it. */
static void class_prob(int n, const float *z, int y, double *logp,
                       double *one_minus_p)
{
    float m = z[0];
    for (int j = 1; j < n; j++)
        if (z[j] > m)
            m = z[j];
    double s = 0.0, others = 0.0;
    for (int j = 0; j < n; j++) {
        double e = exp((double)z[j] - m);
        s += e;
        if (j != y)
            others += e;
    }
    *logp = (double)z[y] - m - log(s);
    *one_minus_p = others / s;
}

/* F above.  At 1 - p = 0 both terms vanish (log p ~ -(1-p)), but
 * pow(0, gamma - 1) alone would be infinite for gamma < 1. */
static double focal_factor(double a, double gamma, double logp, double omp)
{
    if (gamma == 0.0)
        return a;
    if (omp <= 0.0)
        return 0.0;
    double p = exp(logp);
    return a * (pow(omp, gamma) - gamma * p * logp * pow(omp, gamma - 1.0));
}

float g2c_focal_loss(int batch, int classes, const float *logits,
                     const int *labels, const float *alpha, float gamma,
                     float *dlogits, float scale)
{
    int count = 0;
    for (int i = 0; i < batch; i++)
        count += labels[i] >= 0 && labels[i] < classes;
    if (count == 0)
        return 0.0f;
    double lsum = 0.0;
    for (int i = 0; i < batch; i++) {
        int y = labels[i];
        if (y < 0 || y >= classes)
            continue;
        const float *z = logits + (size_t)i * classes;
        double a = alpha ? alpha[y] : 1.0;
        double logp, omp;
        class_prob(classes, z, y, &logp, &omp);
        double mod = gamma == 0.0f ? 1.0 : pow(omp, gamma);
        lsum += -a * mod * logp;
        if (!dlogits)
            continue;
        double g = scale * focal_factor(a, gamma, logp, omp) / count;
        double lse = z[y] - logp; /* log sum exp(z) */
        float *dz = dlogits + (size_t)i * classes;
        for (int j = 0; j < classes; j++)
            dz[j] += (float)(g * (exp(z[j] - lse) - (j == y)));
    }
    return (float)(lsum / count);
}
