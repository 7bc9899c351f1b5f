/* Softmax cross-entropy on logits with optional class weights, reduced as
 * PyTorch's CrossEntropyLoss(weight=w): sum_i w[y_i] * l_i / sum_i w[y_i].
 *
 * Labels outside [0, classes) are ignored (PyTorch's ignore_index, -100 by
 * default, is one of them): they add neither loss nor weight nor gradient.
 * When no weight is left (every label ignored, or all weights 0) the loss is
 * 0 with no gradient, where PyTorch would return NaN and poison training. */
#include "g2c/nn.h"

#include <math.h>

/* log(sum exp(z)) with the maximum factored out, so no exp overflows. */
static double log_sum_exp(int n, const float *z)
{
    float m = z[0];
    for (int j = 1; j < n; j++)
        if (z[j] > m)
            m = z[j];
    double s = 0.0;
    for (int j = 0; j < n; j++)
        s += exp((double)z[j] - m);
    return m + log(s);
}

float g2c_softmax_ce_loss(int batch, int classes, const float *logits,
                          const int *labels, const float *class_weight,
                          float *dlogits, float scale)
{
    double lsum = 0.0, wsum = 0.0;
    for (int i = 0; i < batch; i++) {
        int y = labels[i];
        if (y < 0 || y >= classes)
            continue;
        const float *z = logits + (size_t)i * classes;
        double w = class_weight ? class_weight[y] : 1.0;
        lsum += w * (log_sum_exp(classes, z) - z[y]);
        wsum += w;
    }
    if (wsum == 0.0)
        return 0.0f;
    if (dlogits) {
        for (int i = 0; i < batch; i++) {
            int y = labels[i];
            if (y < 0 || y >= classes)
                continue;
            const float *z = logits + (size_t)i * classes;
            float *dz = dlogits + (size_t)i * classes;
            double w = class_weight ? class_weight[y] : 1.0;
            double g = scale * w / wsum;
            double lse = log_sum_exp(classes, z);
            /* d/dz_j = softmax_j - [j == y] */
            for (int j = 0; j < classes; j++)
                dz[j] += (float)(g * (exp(z[j] - lse) - (j == y)));
        }
    }
    return (float)(lsum / wsum);
}
