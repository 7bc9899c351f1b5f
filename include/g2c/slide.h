/* Whole-slide images through OpenSlide, and crops at a physical resolution. */
#ifndef G2C_SLIDE_H
#define G2C_SLIDE_H

#include <stddef.h>
#include <stdint.h>

#include "g2c/image.h"

enum { G2C_MAX_LEVELS = 32 };

typedef struct {
    char vendor[64];
    int64_t width, height; /* level 0 */
    int level_count;
    int64_t level_width[G2C_MAX_LEVELS], level_height[G2C_MAX_LEVELS];
    double level_downsample[G2C_MAX_LEVELS];
    double mpp_x, mpp_y;     /* µm per level-0 pixel; 0 when unknown */
    double objective_power;  /* 0 when unknown */
    char fingerprint[80];    /* openslide.quickhash-1, content based */
    int64_t file_size;
} G2cSlideInfo;

typedef struct G2cSlide G2cSlide;

/* Open any slide OpenSlide reads.  Errors name the file. */
G2cSlide *g2c_slide_open(const char *path);
void g2c_slide_close(G2cSlide *slide);
const G2cSlideInfo *g2c_slide_info(const G2cSlide *slide);

/* Read a region of `level` whose top-left is (x0, y0) in level-0 pixels,
 * w x h pixels of that level, as RGB over white.  Parts outside the slide
 * come back white.  Thread-safe (OpenSlide handles are). */
int g2c_slide_read_region(G2cSlide *slide, int64_t x0, int64_t y0, int level,
                          int w, int h, G2cImage *out);

/* Serve level-0 reads of g2c_slide_read_region from a cache of level-0
 * blocks (`block` x `block` px, 0 = G2C_SLIDE_BLOCK), each read from
 * OpenSlide once and converted over white once, holding at most
 * `budget_bytes` of pixels (least recently used blocks go first; blocks
 * being copied are kept, so the budget can be passed by one block per
 * reading thread).  Worth it when many regions overlap or share blocks,
 * as the crops of one slide do.  Pixels are the very same as uncached
 * reads.  Reads at other levels go to OpenSlide as before: there a region
 * at a level-0 position that is not a whole number of that level's pixels
 * is interpolated by OpenSlide, which blocks could not reproduce.
 * budget_bytes 0 turns the cache off.  Not to be called while other
 * threads read from the slide. */
enum { G2C_SLIDE_BLOCK = 1024 };
int g2c_slide_set_cache(G2cSlide *slide, int block, size_t budget_bytes);

typedef struct {
    int64_t block_reads; /* blocks read from OpenSlide (again after eviction) */
    int64_t hits;        /* block uses served from memory */
    int64_t evictions;
    size_t bytes, peak_bytes; /* pixels held now, and at most */
} G2cSlideCacheStats;

/* Counters of the cache since g2c_slide_set_cache (zeros when off). */
void g2c_slide_cache_stats(G2cSlide *slide, G2cSlideCacheStats *stats);

/* The finest level that is no finer than needed for `downsample` (level-0
 * pixels per output pixel): reading it and shrinking never upsamples. */
int g2c_slide_best_level(const G2cSlide *slide, double downsample);

/* Read the level-0 box (x, y, w, h) resampled to out_w x out_h, choosing the
 * pyramid level with g2c_slide_best_level and then resampling. */
int g2c_slide_read_box(G2cSlide *slide, double x, double y, double w, double h,
                       int out_w, int out_h, G2cImage *out, int *level_used);

#endif
