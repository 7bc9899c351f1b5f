/* CycleGAN's unaligned dataset for stage 1: held-out split, resize to the
 * load size, random crop and flip, and the [-1, 1] tensor form
 * (ToTensor + Normalize(0.5, 0.5) of the original). */
#include "g2c/pretrain.h"

#include "g2c/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MIN_HELD = 4, MIN_TRAIN = 4 };

int g2c_pretrain_load_size(int size)
{
    /* CycleGAN loads 286 px for 256 px crops; 9/8 keeps the same margin
     * for the smaller presets (32 -> 36, 64 -> 72, 256 -> 288). */
    return (size * 9 + 4) / 8;
}

int g2c_pretrain_held_count(int count, int max_held)
{
    int held = count / 5;
    if (held < MIN_HELD)
        held = MIN_HELD;
    if (max_held < MIN_HELD)
        max_held = MIN_HELD;
    return held < max_held ? held : max_held;
}

static int resized(const G2cImage *src, int size, G2cImage *dst)
{
    if (g2c_image_alloc(dst, size, size, 0) != 0)
        return -1;
    if (src->width == size && src->height == size) {
        memcpy(dst->rgb, src->rgb, (size_t)size * size * 3);
        return 0;
    }
    return g2c_image_resize(src, dst);
}

void g2c_pretrain_data_free(G2cPretrainData *d)
{
    for (int i = 0; i < d->n_train; i++)
        g2c_image_free(&d->train[i]);
    for (int i = 0; i < d->n_held; i++)
        g2c_image_free(&d->held[i]);
    free(d->train);
    free(d->held);
    memset(d, 0, sizeof *d);
}

static void free_images(G2cImage *images, int count)
{
    for (int i = 0; i < count; i++)
        g2c_image_free(&images[i]);
    free(images);
}

/* The held-out crops are the first of a shuffle, so they do not depend on
 * the order the reference sets were built in, and max_train keeps a random
 * subset rather than the first crops of the first set. */
static int *shuffled(int count, G2cRng *rng)
{
    int *order = malloc((size_t)count * sizeof *order);
    if (!order)
        return NULL;
    for (int i = 0; i < count; i++)
        order[i] = i;
    for (int i = count - 1; i > 0; i--) {
        int j = (int)g2c_rng_below(rng, (uint64_t)i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    return order;
}

static int fill(G2cPretrainData *d, const G2cImage *images, const int *order)
{
    for (int i = 0; i < d->n_held; i++)
        if (resized(&images[order[i]], d->size, &d->held[i]) != 0)
            return -1;
    for (int i = 0; i < d->n_train; i++)
        if (resized(&images[order[d->n_held + i]], d->load_size,
                    &d->train[i]) != 0)
            return -1;
    return 0;
}

int g2c_pretrain_data_make(G2cImage *images, int count, int size,
                           int max_held, int max_train, G2cRng *rng,
                           G2cPretrainData *d)
{
    memset(d, 0, sizeof *d);
    int held = g2c_pretrain_held_count(count, max_held);
    if (count < held + MIN_TRAIN) {
        free_images(images, count);
        return g2c_error("%d crops; at least %d are needed (%d held out for "
                         "the quality report, %d to train on)",
                         count, MIN_HELD + MIN_TRAIN, MIN_HELD, MIN_TRAIN);
    }
    int train = count - held;
    if (max_train > 0 && train > max_train)
        train = max_train;
    d->size = size;
    d->load_size = g2c_pretrain_load_size(size);
    int *order = shuffled(count, rng);
    d->held = calloc((size_t)held, sizeof *d->held);
    d->train = calloc((size_t)train, sizeof *d->train);
    int rc = -1;
    if (!order || !d->held || !d->train) {
        g2c_error("out of memory for %d crops", count);
    } else {
        d->n_held = held;
        d->n_train = train;
        rc = fill(d, images, order);
    }
    free(order);
    free_images(images, count);
    if (rc != 0)
        g2c_pretrain_data_free(d);
    return rc;
}

/* ---- tensors ------------------------------------------------------------ */

static float to_unit(uint8_t v)
{
    return (float)v / 127.5f - 1.0f;
}

void g2c_augment(const G2cImage *img, int size, G2cRng *rng, float *out)
{
    /* random.randint(0, load - size) for x, then y, then flip > 0.5 */
    int x0 = (int)g2c_rng_below(rng, (uint64_t)(img->width - size) + 1);
    int y0 = (int)g2c_rng_below(rng, (uint64_t)(img->height - size) + 1);
    int flip = g2c_rng_uniform(rng) < 0.5;
    const size_t plane = (size_t)size * size;
    for (int y = 0; y < size; y++) {
        const uint8_t *row = img->rgb + ((size_t)(y0 + y) * img->width + x0) * 3;
        for (int x = 0; x < size; x++) {
            const uint8_t *px = row + 3 * (flip ? size - 1 - x : x);
            size_t i = (size_t)y * size + x;
            out[i] = to_unit(px[0]);
            out[plane + i] = to_unit(px[1]);
            out[2 * plane + i] = to_unit(px[2]);
        }
    }
}

void g2c_image_to_tensor(const G2cImage *img, float *out)
{
    const size_t plane = (size_t)img->width * img->height;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++)
            out[c * plane + i] = to_unit(img->rgb[3 * i + c]);
}

static uint8_t to_byte(float v)
{
    /* tensor2im: (x + 1) / 2 * 255, here rounded rather than truncated */
    float b = (v + 1.0f) * 127.5f;
    if (!(b > 0.0f))
        return 0; /* NaN too */
    if (b >= 255.0f)
        return 255;
    return (uint8_t)lrintf(b);
}

int g2c_tensor_to_image(const float *t, int width, int height, G2cImage *out)
{
    if (g2c_image_alloc(out, width, height, 0) != 0)
        return -1;
    const size_t plane = (size_t)width * height;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++)
            out->rgb[3 * i + c] = to_byte(t[c * plane + i]);
    return 0;
}
