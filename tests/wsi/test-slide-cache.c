/* The level-0 block cache of g2c_slide_read_region: cached regions are the
 * very pixels OpenSlide gives for the same region (composited over white
 * here, independently of src/wsi), inside, across and outside the slide's
 * edges, at level 0 and at coarser levels; a budget smaller than one row
 * of blocks evicts and still gives the same pixels; parallel readers agree
 * with a sequential run. */
#include "testutil.h"

#include "g2c/error.h"
#include "g2c/parallel.h"
#include "g2c/rng.h"
#include "g2c/slide.h"
#include "g2c/tiffwriter.h"

#include <openslide.h>
#include <string.h>

typedef struct {
    int64_t x, y;
    int level, w, h;
} Region;

/* What OpenSlide itself returns for a region, over white. */
static void openslide_region(openslide_t *osr, const Region *r, G2cImage *out)
{
    uint32_t *argb = malloc((size_t)r->w * (size_t)r->h * 4);
    CHECK(argb != NULL);
    openslide_read_region(osr, argb, r->x, r->y, r->level, r->w, r->h);
    CHECK(openslide_get_error(osr) == NULL);
    g2c_image_alloc(out, r->w, r->h, 0);
    for (size_t i = 0; i < (size_t)r->w * (size_t)r->h; i++) {
        uint32_t p = argb[i], a = p >> 24;
        for (int c = 0; c < 3; c++) /* premultiplied: add white * (1 - alpha) */
            out->rgb[3 * i + c] = (uint8_t)(((p >> (16 - 8 * c)) & 0xff) + 255 - a);
    }
    free(argb);
}

static int same_pixels(const G2cImage *a, const G2cImage *b)
{
    return a->width == b->width && a->height == b->height &&
           memcmp(a->rgb, b->rgb, (size_t)a->width * (size_t)a->height * 3) == 0;
}

/* Regions of every kind: random ones inside, ones over each edge and
 * corner, wholly outside, whole rows of blocks, coarser levels. */
static int make_regions(const G2cSlideInfo *info, int block, int n_random, uint64_t seed,
                        Region *r)
{
    int64_t W = info->width, H = info->height;
    int n = 0, side = block / 2 + 7, most = block + block / 2 < 600 ? block + block / 2 : 600;
    G2cRng rng;
    g2c_rng_seed(&rng, seed);
    for (int i = 0; i < n_random; i++) {
        int w = 1 + (int)g2c_rng_below(&rng, (uint64_t)most);
        int h = 1 + (int)g2c_rng_below(&rng, (uint64_t)most);
        r[n++] = (Region){(int64_t)g2c_rng_below(&rng, (uint64_t)W),
                          (int64_t)g2c_rng_below(&rng, (uint64_t)H), 0, w, h};
    }
    const int64_t xs[] = {-side / 2, W / 2, W - side / 2}, ys[] = {-side / 2, H / 2, H - side / 2};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            r[n++] = (Region){xs[i], ys[j], 0, side, side};
    r[n++] = (Region){-3 * (int64_t)side, 5, 0, side, side};      /* wholly left */
    r[n++] = (Region){W + 2, H + 2, 0, 9, 9};                      /* wholly beyond */
    r[n++] = (Region){-5, block - 20, 0, (int)W + 10, 40}; /* across two rows of blocks */
    r[n++] = (Region){block - 1, block - 1, 0, 2, 2};              /* 4 blocks, 1 px each */
    for (int l = 1; l < info->level_count && l < 3; l++) {
        double ds = info->level_downsample[l];
        r[n++] = (Region){W / 3, H / 4, l, 150, 120};
        r[n++] = (Region){(int64_t)(W - 50 * ds), -7, l, 100, 100};
    }
    return n;
}

/* Every region read with the cache equals OpenSlide's own pixels, and the
 * uncached path agrees too.  Returns the number of regions that differ. */
static int compare_regions(G2cSlide *cached, G2cSlide *plain, openslide_t *osr,
                           const Region *r, int n)
{
    int differ = 0;
    for (int i = 0; i < n; i++) {
        G2cImage a, b, ref;
        CHECK_OK(g2c_slide_read_region(cached, r[i].x, r[i].y, r[i].level, r[i].w, r[i].h, &a));
        CHECK_OK(g2c_slide_read_region(plain, r[i].x, r[i].y, r[i].level, r[i].w, r[i].h, &b));
        openslide_region(osr, &r[i], &ref);
        if (!same_pixels(&a, &ref) || !same_pixels(&b, &ref)) {
            fprintf(stderr, "region %d (%lld, %lld, level %d, %dx%d) differs\n", i,
                    (long long)r[i].x, (long long)r[i].y, r[i].level, r[i].w, r[i].h);
            differ++;
        }
        g2c_image_free(&a);
        g2c_image_free(&b);
        g2c_image_free(&ref);
    }
    return differ;
}

/* A slide read through a cache of `block` px blocks (0: the default) and
 * `budget` bytes gives OpenSlide's pixels; returns the cache's counters. */
static G2cSlideCacheStats check_slide(const char *path, int block, size_t budget,
                                      int n_random, uint64_t seed)
{
    G2cSlide *cached = g2c_slide_open(path), *plain = g2c_slide_open(path);
    openslide_t *osr = openslide_open(path);
    CHECK(cached && plain && osr);
    G2cSlideCacheStats st = {0};
    if (!cached || !plain || !osr)
        return st;
    CHECK_OK(g2c_slide_set_cache(cached, block, budget));
    block = block ? block : G2C_SLIDE_BLOCK;
    Region r[128];
    int n = make_regions(g2c_slide_info(cached), block, n_random, seed, r);
    int differ = compare_regions(cached, plain, osr, r, n);
    if (differ)
        fprintf(stderr, "%s, block %d, budget %zu: %d of %d regions differ\n", path, block,
                budget, differ, n);
    CHECK(differ == 0);
    g2c_slide_cache_stats(cached, &st);
    CHECK(st.bytes <= budget);
    g2c_slide_close(cached);
    g2c_slide_close(plain);
    openslide_close(osr);
    return st;
}

/* A generated slide of odd size (edges cut blocks and tiles), three levels. */
static void generated_slide(char *path, size_t size)
{
    G2cImage img;
    g2c_image_alloc(&img, 700, 530, 255);
    G2cRng rng;
    g2c_rng_seed(&rng, 7);
    for (int y = 40; y < 500; y++) /* glass at the top and bottom */
        for (int x = 0; x < 700; x++)
            for (int c = 0; c < 3; c++)
                img.rgb[((size_t)y * 700 + x) * 3 + c] =
                    (uint8_t)(x * (c + 1) + y * (3 - c) + g2c_rng_below(&rng, 40));
    G2cTiffOptions opt;
    g2c_tiff_options_init(&opt);
    opt.tile_size = 128;
    opt.levels = 3;
    snprintf(path, size, "%s/gen.tiff", g2c_test_tmpdir());
    CHECK_OK(g2c_tiff_write(path, &img, &opt));
    g2c_image_free(&img);
}

static void generated(const char *path)
{
    const size_t blk = 64 * 64 * 3;
    /* Room for everything: each block is read once. */
    G2cSlideCacheStats big = check_slide(path, 64, 1 << 30, 60, 1);
    CHECK(big.evictions == 0 && big.hits > 0);
    CHECK(big.block_reads > 0 && big.block_reads <= 11 * 9); /* 700x530 in 64 px blocks */
    /* Two blocks, less than one row of 11: blocks are evicted and read
     * again, and the pixels do not change. */
    G2cSlideCacheStats tiny = check_slide(path, 64, 2 * blk, 60, 1);
    CHECK(tiny.evictions > 0 && tiny.block_reads > big.block_reads);
    CHECK(tiny.peak_bytes <= 3 * blk);
    /* A budget below one block: every use reads its block again. */
    G2cSlideCacheStats none = check_slide(path, 64, 1, 20, 2);
    CHECK(none.hits == 0 && none.evictions == none.block_reads && none.bytes == 0);
}

/* ---- parallel readers -------------------------------------------------- */

typedef struct {
    G2cSlide *slide;
    const Region *r;
    G2cImage *expect;
} ParallelJob;

static int read_and_compare(void *ctx, int i)
{
    ParallelJob *job = ctx;
    const Region *r = &job->r[i];
    G2cImage img;
    if (g2c_slide_read_region(job->slide, r->x, r->y, r->level, r->w, r->h, &img) != 0)
        return -1;
    int same = same_pixels(&img, &job->expect[i]);
    g2c_image_free(&img);
    return same ? 0 : g2c_error("region %d differs", i);
}

static void parallel(const char *path)
{
    enum { N = 240 };
    G2cSlide *plain = g2c_slide_open(path), *cached = g2c_slide_open(path);
    CHECK(plain && cached);
    if (!plain || !cached)
        return;
    Region r[N];
    G2cImage expect[N];
    G2cRng rng;
    g2c_rng_seed(&rng, 99);
    for (int i = 0; i < N; i++) {
        r[i] = (Region){(int64_t)g2c_rng_below(&rng, 760) - 30,
                        (int64_t)g2c_rng_below(&rng, 590) - 30, 0,
                        1 + (int)g2c_rng_below(&rng, 150), 1 + (int)g2c_rng_below(&rng, 150)};
        CHECK_OK(g2c_slide_read_region(plain, r[i].x, r[i].y, 0, r[i].w, r[i].h, &expect[i]));
    }
    ParallelJob job = {cached, r, expect};
    /* Small blocks and a budget of a few: threads wait on each other's
     * loads, pin blocks that others want evicted, and load them again. */
    const size_t budgets[] = {1 << 30, 4 * 32 * 32 * 3, 1};
    for (int b = 0; b < 3; b++) {
        CHECK_OK(g2c_slide_set_cache(cached, 32, budgets[b]));
        int failed;
        CHECK_OK(g2c_parallel_for(N, 4, read_and_compare, &job, &failed));
        G2cSlideCacheStats st;
        g2c_slide_cache_stats(cached, &st);
        CHECK(st.block_reads > 0 && st.block_reads + st.hits > N);
        CHECK(st.peak_bytes <= budgets[b] + 4 * 32 * 32 * 3 || b == 0);
    }
    for (int i = 0; i < N; i++)
        g2c_image_free(&expect[i]);
    g2c_slide_close(plain);
    g2c_slide_close(cached);
}

/* ---- settings ------------------------------------------------------------ */

static void settings(const char *path)
{
    G2cSlide *s = g2c_slide_open(path);
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK(g2c_slide_set_cache(s, 8, 1 << 20) == -1);
    CHECK(strstr(g2c_error_message(), "gen.tiff: cache block size 8") != NULL);
    G2cSlideCacheStats st;
    g2c_slide_cache_stats(s, &st); /* off: zeros */
    CHECK(st.block_reads == 0 && st.peak_bytes == 0);
    CHECK_OK(g2c_slide_set_cache(s, 0, 1 << 30)); /* 0: the default block */
    G2cImage img;
    CHECK_OK(g2c_slide_read_region(s, 10, 10, 0, 5, 5, &img));
    g2c_image_free(&img);
    g2c_slide_cache_stats(s, &st);
    CHECK(st.block_reads == 1 && st.bytes == 700 * 530 * 3); /* one 1024 block holds it */
    CHECK_OK(g2c_slide_set_cache(s, 0, 0)); /* off again, memory given back */
    g2c_slide_cache_stats(s, &st);
    CHECK(st.bytes == 0);
    g2c_slide_close(s);
}

/* ---- real slides ------------------------------------------------------- */

static void real_slides(void)
{
    const char *data = g2c_test_shared_data();
    const char *names[] = {"CMU-1-Small-Region.svs", "TCGA-CR-7395-01A-01-TS1.svs"};
    for (int i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/slides/%s", data, names[i]);
        /* The default 1024 px blocks with room for all, then 512 px blocks
         * with a budget of one (a row has 5 or more). */
        /* JPEG 2000 tiles (the TCGA slide) are slow to decode: fewer. */
        int n_random = i == 0 ? 12 : 3;
        G2cSlideCacheStats all = check_slide(path, 0 /* default */, 1 << 30, n_random, 3 + i);
        CHECK(all.evictions == 0 && all.hits > 0);
        G2cSlideCacheStats one = check_slide(path, 512, 512 * 512 * 3, n_random / 2, 5 + i);
        CHECK(one.evictions > 0);
    }
}

int main(void)
{
    char path[4096];
    generated_slide(path, sizeof path);
    generated(path);
    parallel(path);
    settings(path);
    if (g2c_test_failures) /* before a skip for want of real data could hide them */
        return g2c_test_finish("slide-cache");
    real_slides();
    return g2c_test_finish("slide-cache");
}
