/* A crop into the network's input tensor, with the training augmentation.
 *
 * The augmentation acts on the PAS crop before the generators, so the
 * generated stains are made from the augmented crop and stay consistent
 * with it.  Per crop and epoch, always four draws from the run's RNG (so
 * the stream does not depend on the outcomes):
 *   - horizontal flip with probability 1/2,
 *   - vertical flip with probability 1/2,
 *   - brightness: every channel times b ~ U[1 - 0.1, 1 + 0.1],
 *   - saturation: each pixel pulled towards or pushed from its grey value
 *     (0.299 R + 0.587 G + 0.114 B) by s ~ U[1 - 0.2, 1 + 0.2],
 * clamped to [0, 255].  Without augmentation the crop is used as it is.
 * Either way the result is scaled to [-1, 1] (x / 127.5 - 1). */
#include "stage2-private.h"

#include <stddef.h>

static float clamp255(float v)
{
    return v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
}

void s2_crop_to_tensor(const uint8_t *rgb, int size, const S2Augment *aug, float *out)
{
    const size_t plane = (size_t)size * size;
    for (int y = 0; y < size; y++) {
        int sy = aug && aug->vflip ? size - 1 - y : y;
        for (int x = 0; x < size; x++) {
            int sx = aug && aug->hflip ? size - 1 - x : x;
            const uint8_t *p = rgb + ((size_t)sy * size + sx) * 3;
            float r = p[0], g = p[1], b = p[2];
            if (aug) {
                r *= aug->brightness;
                g *= aug->brightness;
                b *= aug->brightness;
                float grey = 0.299f * r + 0.587f * g + 0.114f * b;
                r = clamp255(grey + aug->saturation * (r - grey));
                g = clamp255(grey + aug->saturation * (g - grey));
                b = clamp255(grey + aug->saturation * (b - grey));
            }
            size_t i = (size_t)y * size + x;
            out[i] = r / 127.5f - 1.0f;
            out[plane + i] = g / 127.5f - 1.0f;
            out[2 * plane + i] = b / 127.5f - 1.0f;
        }
    }
}

void s2_augment_draw(G2cRng *rng, S2Augment *aug)
{
    aug->hflip = g2c_rng_uniform(rng) < 0.5;
    aug->vflip = g2c_rng_uniform(rng) < 0.5;
    aug->brightness = (float)(1.0 + S2_AUG_BRIGHTNESS * (2.0 * g2c_rng_uniform(rng) - 1.0));
    aug->saturation = (float)(1.0 + S2_AUG_SATURATION * (2.0 * g2c_rng_uniform(rng) - 1.0));
}
