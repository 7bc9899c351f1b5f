/* 8-bit RGB images and their PNG form.
 *
 * Pixels are interleaved RGB, row-major, no padding: pixel (x, y) channel c
 * is at rgb[(y * width + x) * 3 + c].  Everything that moves pixels between
 * slides, the catalog and the networks goes through this one type.
 */
#ifndef G2C_IMAGE_H
#define G2C_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int width;
    int height;
    uint8_t *rgb; /* width * height * 3 bytes, owned */
} G2cImage;

/* Allocate a width x height image filled with `fill` (0..255 per byte). */
int g2c_image_alloc(G2cImage *img, int width, int height, uint8_t fill);
void g2c_image_free(G2cImage *img);

/* PNG in memory.  Encoding uses zlib level `level` (0-9; -1 = default 6).
 * Levels 1-3 are the fast ones (ingestion's crops): they use the "Up" row
 * filter and zlib's Z_RLE strategy, which halve the encoding time at about
 * the same size; other levels let libpng choose filters, with zlib's
 * default strategy.  On success *png is malloc'd and the caller frees it. */
int g2c_png_encode(const G2cImage *img, int level, uint8_t **png, size_t *png_size);
int g2c_png_decode(const uint8_t *png, size_t png_size, G2cImage *img);

/* PNG files.  Any PNG colour type is read and converted to 8-bit RGB
 * (alpha composited over white, as slides show background). */
int g2c_png_read(const char *path, G2cImage *img);
int g2c_png_write(const char *path, const G2cImage *img);

/* Resample src to dst->width x dst->height (dst allocated by the caller).
 * Shrinking averages every source pixel a destination pixel covers (area
 * filter, no aliasing); enlarging interpolates bilinearly. */
int g2c_image_resize(const G2cImage *src, G2cImage *dst);

/* Copy the w x h rectangle at (x, y) of src into dst at (dx, dy); parts
 * outside either image are skipped. */
void g2c_image_blit(const G2cImage *src, int x, int y, int w, int h,
                    G2cImage *dst, int dx, int dy);

#endif
