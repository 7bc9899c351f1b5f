/* Hash noise and the tissue field of the synthetic generator.  Everything
 * is a pure function of (seed, position), so tiles can be painted in any
 * order and give the same bytes. */
#include "synth-private.h"

#include "g2c/rng.h"

#include <math.h>

uint32_t synth_hash3(uint32_t seed, int32_t x, int32_t y)
{
    uint32_t h = seed * 0x9E3779B1u;
    h ^= (uint32_t)x * 0x85EBCA77u;
    h = (h << 13) | (h >> 19);
    h ^= (uint32_t)y * 0xC2B2AE3Du;
    h ^= h >> 16;
    h *= 0x7FEB352Du;
    h ^= h >> 15;
    h *= 0x846CA68Bu;
    h ^= h >> 16;
    return h;
}

float synth_hash01(uint32_t seed, int32_t x, int32_t y)
{
    return (float)(synth_hash3(seed, x, y) >> 8) * (1.0f / 16777216.0f);
}

static float smooth(float t)
{
    return t * t * (3.0f - 2.0f * t);
}

float synth_value_noise(uint32_t seed, float x, float y)
{
    float fx = floorf(x), fy = floorf(y);
    int32_t ix = (int32_t)fx, iy = (int32_t)fy;
    float tx = smooth(x - fx), ty = smooth(y - fy);
    float a = synth_hash01(seed, ix, iy), b = synth_hash01(seed, ix + 1, iy);
    float c = synth_hash01(seed, ix, iy + 1), d = synth_hash01(seed, ix + 1, iy + 1);
    float top = a + (b - a) * tx, bottom = c + (d - c) * tx;
    return 2.0f * (top + (bottom - top) * ty) - 1.0f;
}

float synth_fbm(uint32_t seed, float x, float y, int octaves)
{
    float total = 0, amp = 1, norm = 0;
    for (int i = 0; i < octaves; i++) {
        total += amp * synth_value_noise(seed + (uint32_t)i * 101u, x, y);
        norm += amp;
        amp *= 0.5f;
        x *= 2.03f;
        y *= 2.03f;
    }
    return total / norm;
}

/* The tissue is the union of a few random ellipses (a biopsy's pieces)
 * whose edge is roughened by fractal noise. */
void synth_tissue_init(SynthTissue *t, uint64_t seed, int width, int height, float ppu)
{
    G2cRng rng;
    g2c_rng_seed(&rng, seed ^ 0x7155u);
    float span = (float)(width < height ? width : height);
    t->count = 3 + (int)g2c_rng_below(&rng, 3);
    for (int k = 0; k < t->count; k++) {
        float a = span * (float)(0.26 + 0.16 * g2c_rng_uniform(&rng));
        float b = a * (float)(0.55 + 0.4 * g2c_rng_uniform(&rng));
        float ang = (float)(M_PI * g2c_rng_uniform(&rng));
        t->cx[k] = (float)width * (float)(0.25 + 0.5 * g2c_rng_uniform(&rng));
        t->cy[k] = (float)height * (float)(0.25 + 0.5 * g2c_rng_uniform(&rng));
        t->ia[k] = 1.0f / a;
        t->ib[k] = 1.0f / b;
        t->cs[k] = cosf(ang);
        t->sn[k] = sinf(ang);
    }
    t->noise_seed = (uint32_t)(seed >> 32) ^ (uint32_t)seed ^ 0xA11CEu;
    /* Edge roughness on the scale of a few hundred µm, whatever the field
     * size; never finer than 48 pixels so the sampled grid resolves it. */
    float wavelength = 300.0f * ppu;
    if (wavelength > span * 0.5f)
        wavelength = span * 0.5f;
    if (wavelength < 48.0f)
        wavelength = 48.0f;
    t->noise_scale = 1.0f / wavelength;
    t->edge_px = 1.0f / (span * 0.3f);
}

float synth_tissue_field(const SynthTissue *t, float x, float y)
{
    float best = -1e9f;
    for (int k = 0; k < t->count; k++) {
        float dx = x - t->cx[k], dy = y - t->cy[k];
        float u = (dx * t->cs[k] + dy * t->sn[k]) * t->ia[k];
        float v = (-dx * t->sn[k] + dy * t->cs[k]) * t->ib[k];
        float f = 1.0f - sqrtf(u * u + v * v);
        if (f > best)
            best = f;
    }
    float n = synth_fbm(t->noise_seed, x * t->noise_scale, y * t->noise_scale, 3);
    return best + 0.28f * n;
}

float synth_tissue_cover(const SynthTissue *t, float field)
{
    /* About one and a half pixels of soft edge. */
    float c = 0.5f + field / (1.5f * t->edge_px);
    return c < 0 ? 0 : c > 1 ? 1 : c;
}
