/* Level blocks read once and shared by every region that touches them.
 *
 * The crops of one slide overlap heavily (and the boxes of one glomerulus
 * cluster), so reading each region from OpenSlide composites and converts
 * the same tiles again and again.  Here a block is read once, kept under a
 * byte budget, and regions are copied out of it.
 *
 * Locking: one mutex guards the table and the LRU list; a block is read
 * from OpenSlide outside the lock (state LOADING, others wanting it wait on
 * `loaded`), so workers decode different blocks in parallel.  A reader pins
 * a block while it copies from it, so eviction never frees memory in use. */
#include "slide-cache.h"
#include "g2c/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { EMPTY, LOADING, READY };

typedef struct {
    uint8_t *rgb; /* READY only */
    int state;
    int pins;
    size_t prev, next; /* LRU neighbours (NONE at the ends), READY only */
} Block;

#define NONE ((size_t)-1)

struct SlideCache {
    pthread_mutex_t lock;
    pthread_cond_t loaded;
    int64_t width, height;
    int block;
    size_t cols, rows;
    size_t budget, bytes;
    size_t newest, oldest; /* LRU list ends */
    Block *blocks;
    SlideBlockReader read;
    void *ctx;
    G2cSlideCacheStats stats;
};

SlideCache *slide_cache_new(int64_t width, int64_t height, int block, size_t budget,
                            SlideBlockReader read, void *ctx)
{
    SlideCache *c = calloc(1, sizeof *c);
    if (!c) {
        g2c_error("out of memory");
        return NULL;
    }
    c->width = width;
    c->height = height;
    c->block = block;
    c->cols = (size_t)((width + block - 1) / block);
    c->rows = (size_t)((height + block - 1) / block);
    c->budget = budget;
    c->newest = c->oldest = NONE;
    c->read = read;
    c->ctx = ctx;
    c->blocks = calloc(c->cols * c->rows, sizeof *c->blocks);
    if (!c->blocks) {
        g2c_error("out of memory for a %zux%zu block table", c->cols, c->rows);
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->loaded, NULL);
    return c;
}

void slide_cache_free(SlideCache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->cols * c->rows; i++)
        free(c->blocks[i].rgb);
    free(c->blocks);
    pthread_cond_destroy(&c->loaded);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Size of block i, clipped to the level. */
static void block_rect(const SlideCache *c, size_t i, int64_t *x, int64_t *y, int *w, int *h)
{
    *x = (int64_t)(i % c->cols) * c->block;
    *y = (int64_t)(i / c->cols) * c->block;
    *w = (int)(c->width - *x < c->block ? c->width - *x : c->block);
    *h = (int)(c->height - *y < c->block ? c->height - *y : c->block);
}

static size_t block_bytes(const SlideCache *c, size_t i)
{
    int64_t x, y;
    int w, h;
    block_rect(c, i, &x, &y, &w, &h);
    return (size_t)w * (size_t)h * 3;
}

/* ---- LRU list (under the lock) ----------------------------------------- */

static void lru_unlink(SlideCache *c, size_t i)
{
    Block *b = &c->blocks[i];
    if (b->prev != NONE)
        c->blocks[b->prev].next = b->next;
    else
        c->newest = b->next;
    if (b->next != NONE)
        c->blocks[b->next].prev = b->prev;
    else
        c->oldest = b->prev;
}

static void lru_push_newest(SlideCache *c, size_t i)
{
    Block *b = &c->blocks[i];
    b->prev = NONE;
    b->next = c->newest;
    if (c->newest != NONE)
        c->blocks[c->newest].prev = i;
    c->newest = i;
    if (c->oldest == NONE)
        c->oldest = i;
}

/* Drop unpinned blocks, oldest first, until the budget holds. */
static void evict_over_budget(SlideCache *c)
{
    size_t i = c->oldest;
    while (c->bytes > c->budget && i != NONE) {
        size_t newer = c->blocks[i].prev;
        Block *b = &c->blocks[i];
        if (b->pins == 0) {
            lru_unlink(c, i);
            c->bytes -= block_bytes(c, i);
            free(b->rgb);
            b->rgb = NULL;
            b->state = EMPTY;
            c->stats.evictions++;
        }
        i = newer;
    }
}

/* ---- one block ---------------------------------------------------------- */

static uint8_t *load_block(SlideCache *c, size_t i)
{
    int64_t x, y;
    int w, h;
    block_rect(c, i, &x, &y, &w, &h);
    uint8_t *rgb = malloc((size_t)w * (size_t)h * 3);
    if (!rgb) {
        g2c_error("out of memory for a %dx%d block", w, h);
        return NULL;
    }
    if (c->read(c->ctx, x, y, w, h, rgb) != 0) {
        free(rgb);
        return NULL;
    }
    return rgb;
}

/* The pixels of block i, pinned until release_block; NULL on failure. */
static const uint8_t *acquire_block(SlideCache *c, size_t i)
{
    Block *b = &c->blocks[i];
    pthread_mutex_lock(&c->lock);
    while (b->state == LOADING)
        pthread_cond_wait(&c->loaded, &c->lock);
    if (b->state == READY) {
        b->pins++;
        lru_unlink(c, i);
        lru_push_newest(c, i);
        c->stats.hits++;
        pthread_mutex_unlock(&c->lock);
        return b->rgb;
    }
    b->state = LOADING;
    pthread_mutex_unlock(&c->lock);
    uint8_t *rgb = load_block(c, i);
    pthread_mutex_lock(&c->lock);
    if (rgb) {
        b->rgb = rgb;
        b->state = READY;
        b->pins = 1;
        lru_push_newest(c, i);
        c->bytes += block_bytes(c, i);
        c->stats.block_reads++;
        /* The new block is allocated before old ones go: that is the peak. */
        if (c->bytes > c->stats.peak_bytes)
            c->stats.peak_bytes = c->bytes;
        evict_over_budget(c);
    } else {
        b->state = EMPTY; /* a waiter tries again and gets its own error */
    }
    pthread_cond_broadcast(&c->loaded);
    pthread_mutex_unlock(&c->lock);
    return rgb;
}

static void release_block(SlideCache *c, size_t i)
{
    pthread_mutex_lock(&c->lock);
    c->blocks[i].pins--;
    evict_over_budget(c);
    pthread_mutex_unlock(&c->lock);
}

/* ---- regions ------------------------------------------------------------ */

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int slide_cache_read(SlideCache *c, int64_t x0, int64_t y0, int w, int h, uint8_t *rgb)
{
    /* The part of the region inside the level, in level pixels. */
    int64_t ix0 = max64(x0, 0), iy0 = max64(y0, 0);
    int64_t ix1 = min64(x0 + w, c->width), iy1 = min64(y0 + h, c->height);
    if (ix0 >= ix1 || iy0 >= iy1)
        return 0;
    int64_t B = c->block;
    for (int64_t by = iy0 / B; by * B < iy1; by++)
        for (int64_t bx = ix0 / B; bx * B < ix1; bx++) {
            size_t i = (size_t)by * c->cols + (size_t)bx;
            const uint8_t *blk = acquire_block(c, i);
            if (!blk)
                return -1;
            int64_t bw = min64(B, c->width - bx * B);
            int64_t xs = max64(ix0, bx * B), xe = min64(ix1, (bx + 1) * B);
            int64_t ys = max64(iy0, by * B), ye = min64(iy1, (by + 1) * B);
            for (int64_t y = ys; y < ye; y++)
                memcpy(rgb + ((size_t)(y - y0) * (size_t)w + (size_t)(xs - x0)) * 3,
                       blk + ((size_t)(y - by * B) * (size_t)bw + (size_t)(xs - bx * B)) * 3,
                       (size_t)(xe - xs) * 3);
            release_block(c, i);
        }
    return 0;
}

void slide_cache_stats(SlideCache *c, G2cSlideCacheStats *stats)
{
    pthread_mutex_lock(&c->lock);
    *stats = c->stats;
    stats->bytes = c->bytes;
    pthread_mutex_unlock(&c->lock);
}
