/* A byte-budgeted, thread-safe cache of RGB blocks of one slide level,
 * used by slide.c to serve level-0 regions (see g2c_slide_set_cache). */
#ifndef G2C_SLIDE_CACHE_H
#define G2C_SLIDE_CACHE_H

#include "g2c/slide.h"

#include <stddef.h>
#include <stdint.h>

/* Fills rgb (w * h * 3 bytes) with the level's pixels at (x, y) over
 * white; 0, or -1 with g2c_error(). */
typedef int (*SlideBlockReader)(void *ctx, int64_t x, int64_t y, int w, int h, uint8_t *rgb);

typedef struct SlideCache SlideCache;

/* A cache of a width x height level cut into block x block pieces. */
SlideCache *slide_cache_new(int64_t width, int64_t height, int block, size_t budget,
                            SlideBlockReader read, void *ctx);
void slide_cache_free(SlideCache *cache);

/* Copy the w x h region at (x0, y0) into rgb, leaving the bytes of pixels
 * outside the level untouched (the caller fills them white). */
int slide_cache_read(SlideCache *cache, int64_t x0, int64_t y0, int w, int h, uint8_t *rgb);

void slide_cache_stats(SlideCache *cache, G2cSlideCacheStats *stats);

#endif
