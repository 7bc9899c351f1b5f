/* Deterministic random numbers: the same seed gives the same stream on every
 * machine, so crops, initial weights, dropout masks and augmentations are
 * reproducible.  xoshiro256** seeded through splitmix64. */
#ifndef G2C_RNG_H
#define G2C_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} G2cRng;

void g2c_rng_seed(G2cRng *rng, uint64_t seed);
uint64_t g2c_rng_next(G2cRng *rng);
/* Uniform in [0, 1). */
double g2c_rng_uniform(G2cRng *rng);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t g2c_rng_below(G2cRng *rng, uint64_t n);
/* Standard normal (Box-Muller, one value per call). */
double g2c_rng_normal(G2cRng *rng);

#endif
