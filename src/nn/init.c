/* Weight initialization.  Values are drawn in index order from the caller's
 * generator, so the same seed and the same registration order give the same
 * initial model on every machine. */
#include "g2c/nn.h"

#include <math.h>

/* CycleGAN's init_weights('normal', gain): conv and linear weights
 * N(0, gain), BatchNorm weights N(1, gain); the model picks mean and std. */
void g2c_init_normal(float *w, size_t n, float mean, float std, G2cRng *rng)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (float)((double)mean + (double)std * g2c_rng_normal(rng));
}

/* torch.nn.init.kaiming_normal_(a=0, mode='fan_in', nonlinearity='relu'):
 * std = sqrt(2 / fan_in). */
void g2c_init_kaiming(float *w, size_t n, int fan_in, G2cRng *rng)
{
    double std = fan_in > 0 ? sqrt(2.0 / fan_in) : 0.0;
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(std * g2c_rng_normal(rng));
}
