/* CycleGAN's ImagePool (Shrivastava et al.): the discriminator is shown a
 * mix of the newest fakes and older ones, which damps oscillation between
 * generator and discriminator. */
#include "g2c/models.h"

#include "g2c/error.h"

#include <stdlib.h>
#include <string.h>

int g2c_image_pool_init(G2cImagePool *pool, int capacity, size_t image_n)
{
    memset(pool, 0, sizeof *pool);
    if (capacity < 0 || image_n == 0)
        return g2c_error("image pool: capacity %d, %zu floats per image",
                         capacity, image_n);
    if (capacity > 0 &&
        !(pool->images = malloc((size_t)capacity * image_n * sizeof(float))))
        return g2c_error("image pool: out of memory for %d images",
                         capacity);
    pool->capacity = capacity;
    pool->image_n = image_n;
    return 0;
}

void g2c_image_pool_free(G2cImagePool *pool)
{
    free(pool->images);
    memset(pool, 0, sizeof *pool);
}

/* The original draws p = uniform(0, 1) and swaps when p > 0.5, then picks
 * the slot uniformly; same probabilities here from the caller's stream. */
void g2c_image_pool_query(G2cImagePool *pool, G2cRng *rng, int batch,
                          const float *in, float *out)
{
    const size_t n = pool->image_n, bytes = n * sizeof(float);
    for (int b = 0; b < batch; b++) {
        const float *img = in + (size_t)b * n;
        float *dst = out + (size_t)b * n;
        if (pool->count < pool->capacity) {
            memcpy(pool->images + (size_t)pool->count++ * n, img, bytes);
            memcpy(dst, img, bytes);
        } else if (pool->capacity > 0 && g2c_rng_uniform(rng) > 0.5) {
            float *slot = pool->images +
                          g2c_rng_below(rng, (uint64_t)pool->capacity) * n;
            memcpy(dst, slot, bytes);
            memcpy(slot, img, bytes);
        } else {
            memcpy(dst, img, bytes);
        }
    }
}
