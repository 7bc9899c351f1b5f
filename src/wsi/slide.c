/* Whole-slide reading through OpenSlide: metadata, regions, and crops at a
 * requested resolution. */
#include "g2c/slide.h"
#include "g2c/error.h"
#include "slide-cache.h"

#include <math.h>
#include <stdio.h>
#include <openslide.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct G2cSlide {
    openslide_t *osr;
    char *path;
    G2cSlideInfo info;
    SlideCache *cache; /* level 0; NULL when off */
};

static double property_double(openslide_t *osr, const char *name)
{
    const char *v = openslide_get_property_value(osr, name);
    if (!v || !*v)
        return 0;
    char *end;
    double d = strtod(v, &end);
    return (*end == '\0' && isfinite(d) && d > 0) ? d : 0;
}

/* Generic TIFFs carry their resolution only as TIFF tags, which OpenSlide
 * 3.4 passes through as tiff.* properties without deriving openslide.mpp-*. */
static double mpp_from_tiff_tags(openslide_t *osr, const char *axis_property)
{
    const char *unit = openslide_get_property_value(osr, "tiff.ResolutionUnit");
    double per_unit = property_double(osr, axis_property);
    if (!unit || per_unit <= 0)
        return 0;
    if (strcmp(unit, "centimeter") == 0)
        return 10000.0 / per_unit;
    if (strcmp(unit, "inch") == 0)
        return 25400.0 / per_unit;
    return 0;
}

static int read_info(G2cSlide *s)
{
    G2cSlideInfo *info = &s->info;
    openslide_t *osr = s->osr;
    const char *vendor = openslide_get_property_value(osr, OPENSLIDE_PROPERTY_NAME_VENDOR);
    snprintf(info->vendor, sizeof info->vendor, "%s", vendor ? vendor : "unknown");
    openslide_get_level0_dimensions(osr, &info->width, &info->height);
    int levels = openslide_get_level_count(osr);
    if (levels <= 0 || info->width <= 0 || info->height <= 0)
        return g2c_error("%s: slide has no readable levels", s->path);
    if (levels > G2C_MAX_LEVELS)
        levels = G2C_MAX_LEVELS;
    info->level_count = levels;
    for (int l = 0; l < levels; l++) {
        openslide_get_level_dimensions(osr, l, &info->level_width[l], &info->level_height[l]);
        info->level_downsample[l] = openslide_get_level_downsample(osr, l);
    }
    info->mpp_x = property_double(osr, OPENSLIDE_PROPERTY_NAME_MPP_X);
    info->mpp_y = property_double(osr, OPENSLIDE_PROPERTY_NAME_MPP_Y);
    if (info->mpp_x <= 0)
        info->mpp_x = mpp_from_tiff_tags(osr, "tiff.XResolution");
    if (info->mpp_y <= 0)
        info->mpp_y = mpp_from_tiff_tags(osr, "tiff.YResolution");
    info->objective_power = property_double(osr, OPENSLIDE_PROPERTY_NAME_OBJECTIVE_POWER);
    const char *hash = openslide_get_property_value(osr, "openslide.quickhash-1");
    if (!hash)
        return g2c_error("%s: OpenSlide gives no content fingerprint", s->path);
    snprintf(info->fingerprint, sizeof info->fingerprint, "%s", hash);
    struct stat st;
    info->file_size = stat(s->path, &st) == 0 ? (int64_t)st.st_size : -1;
    return 0;
}

G2cSlide *g2c_slide_open(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        g2c_error("%s: no such file", path);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        g2c_error("%s: not a regular file", path);
        return NULL;
    }
    openslide_t *osr = openslide_open(path);
    if (!osr) {
        g2c_error("%s: not a slide format OpenSlide can read", path);
        return NULL;
    }
    const char *err = openslide_get_error(osr);
    if (err) {
        g2c_error("%s: unreadable slide: %s", path, err);
        openslide_close(osr);
        return NULL;
    }
    G2cSlide *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        openslide_close(osr);
        g2c_error("out of memory");
        return NULL;
    }
    s->osr = osr;
    if (read_info(s) != 0) {
        g2c_slide_close(s);
        return NULL;
    }
    return s;
}

void g2c_slide_close(G2cSlide *slide)
{
    if (!slide)
        return;
    slide_cache_free(slide->cache);
    openslide_close(slide->osr);
    free(slide->path);
    free(slide);
}

const G2cSlideInfo *g2c_slide_info(const G2cSlide *slide)
{
    return &slide->info;
}

/* OpenSlide returns premultiplied ARGB; transparent areas (outside the
 * scanned region) become white, the colour of glass. */
static void argb_to_rgb_over_white(const uint32_t *argb, size_t n, uint8_t *rgb)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t p = argb[i];
        uint32_t a = p >> 24;
        uint32_t r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
        if (a != 255) {
            uint32_t white = 255 - a; /* premultiplied: add white * (1 - a) */
            r += white;
            g += white;
            b += white;
        }
        rgb[3 * i] = (uint8_t)r;
        rgb[3 * i + 1] = (uint8_t)g;
        rgb[3 * i + 2] = (uint8_t)b;
    }
}

/* Level pixels from OpenSlide into rgb, over white. */
static int read_direct(G2cSlide *slide, int64_t x0, int64_t y0, int level, int w, int h,
                       uint8_t *rgb)
{
    uint32_t *argb = malloc((size_t)w * (size_t)h * sizeof *argb);
    if (!argb)
        return g2c_error("out of memory reading a %dx%d region", w, h);
    openslide_read_region(slide->osr, argb, x0, y0, level, w, h);
    const char *err = openslide_get_error(slide->osr);
    if (err) {
        free(argb);
        return g2c_error("%s: read failed: %s", slide->path, err);
    }
    argb_to_rgb_over_white(argb, (size_t)w * (size_t)h, rgb);
    free(argb);
    return 0;
}

static int read_level0_block(void *ctx, int64_t x, int64_t y, int w, int h, uint8_t *rgb)
{
    return read_direct(ctx, x, y, 0, w, h, rgb);
}

int g2c_slide_set_cache(G2cSlide *slide, int block, size_t budget_bytes)
{
    if (block == 0)
        block = G2C_SLIDE_BLOCK;
    if (block < 16 || block > 16384)
        return g2c_error("%s: cache block size %d out of range (16 to 16384)", slide->path,
                         block);
    slide_cache_free(slide->cache);
    slide->cache = NULL;
    if (budget_bytes == 0)
        return 0;
    slide->cache = slide_cache_new(slide->info.width, slide->info.height, block, budget_bytes,
                                   read_level0_block, slide);
    return slide->cache ? 0 : g2c_error_prefix("%s: ", slide->path);
}

void g2c_slide_cache_stats(G2cSlide *slide, G2cSlideCacheStats *stats)
{
    memset(stats, 0, sizeof *stats);
    if (slide->cache)
        slide_cache_stats(slide->cache, stats);
}

int g2c_slide_read_region(G2cSlide *slide, int64_t x0, int64_t y0, int level,
                          int w, int h, G2cImage *out)
{
    if (level < 0 || level >= slide->info.level_count)
        return g2c_error("%s: no level %d", slide->path, level);
    if (g2c_image_alloc(out, w, h, 255) != 0)
        return -1;
    int rc = slide->cache && level == 0
                 ? slide_cache_read(slide->cache, x0, y0, w, h, out->rgb)
                 : read_direct(slide, x0, y0, level, w, h, out->rgb);
    if (rc != 0)
        g2c_image_free(out);
    return rc;
}

int g2c_slide_best_level(const G2cSlide *slide, double downsample)
{
    int best = 0;
    /* Small tolerance: a level of downsample 3.9999 serves a request for 4. */
    for (int l = 0; l < slide->info.level_count; l++)
        if (slide->info.level_downsample[l] <= downsample * 1.001)
            best = l;
    return best;
}

int g2c_slide_read_box(G2cSlide *slide, double x, double y, double w, double h,
                       int out_w, int out_h, G2cImage *out, int *level_used)
{
    if (w <= 0 || h <= 0 || out_w <= 0 || out_h <= 0)
        return g2c_error("%s: empty box", slide->path);
    double downsample = fmin(w / out_w, h / out_h);
    int level = g2c_slide_best_level(slide, downsample);
    double ds = slide->info.level_downsample[level];
    int64_t x0 = (int64_t)floor(x), y0 = (int64_t)floor(y);
    int rw = (int)ceil(w / ds), rh = (int)ceil(h / ds);
    if (rw < 1)
        rw = 1;
    if (rh < 1)
        rh = 1;
    G2cImage region;
    if (g2c_slide_read_region(slide, x0, y0, level, rw, rh, &region) != 0)
        return -1;
    if (level_used)
        *level_used = level;
    if (rw == out_w && rh == out_h) {
        *out = region;
        return 0;
    }
    if (g2c_image_alloc(out, out_w, out_h, 255) != 0) {
        g2c_image_free(&region);
        return -1;
    }
    int rc = g2c_image_resize(&region, out);
    g2c_image_free(&region);
    if (rc != 0)
        g2c_image_free(out);
    return rc;
}
