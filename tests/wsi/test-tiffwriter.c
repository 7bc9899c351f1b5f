/* The tiled pyramidal TIFF writer, checked through OpenSlide itself: level
 * count, sizes, downsamples, µm/px, lossless pixels at level 0, the area
 * resize at level 1, JPEG, the level limit, errors and the temp-file rule. */
#include "g2c/error.h"
#include "g2c/image.h"
#include "g2c/rng.h"
#include "g2c/tiffwriter.h"
#include "../testutil.h"

#include <dirent.h>
#include <openslide.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Smooth gradients plus noise plus a white border: resize and compression
 * both have something to do. */
static void make_image(G2cImage *img, int w, int h, uint64_t seed, int noise)
{
    G2cRng rng;
    g2c_rng_seed(&rng, seed);
    if (g2c_image_alloc(img, w, h, 255) != 0)
        exit(1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img->rgb + ((size_t)y * w + x) * 3;
            if (x < 7 || y < 5)
                continue;
            int n = noise ? (int)g2c_rng_below(&rng, (uint64_t)noise) : 0;
            p[0] = (uint8_t)((x * 255 / w + n) % 256);
            p[1] = (uint8_t)((y * 255 / h + 2 * n) % 256);
            p[2] = (uint8_t)(((x ^ y) & 0xff) / 2 + n);
        }
}

/* µm per pixel as a slide reader finds it.  OpenSlide 3.4.1 gives generic
 * TIFFs no openslide.mpp-x; it passes tiff.XResolution (pixels per unit)
 * and tiff.ResolutionUnit through, so both routes are accepted: the
 * openslide.mpp-* property when present, else 10000 / resolution in
 * centimetres.  0 when neither is there. */
static double slide_mpp(openslide_t *osr, const char *axis)
{
    char name[64];
    snprintf(name, sizeof name, "openslide.mpp-%c", axis[0] == 'X' ? 'x' : 'y');
    const char *mpp = openslide_get_property_value(osr, name);
    if (mpp)
        return atof(mpp);
    snprintf(name, sizeof name, "tiff.%sResolution", axis);
    const char *res = openslide_get_property_value(osr, name);
    const char *unit = openslide_get_property_value(osr, "tiff.ResolutionUnit");
    if (!res || !unit || strcmp(unit, "centimeter") != 0 || atof(res) <= 0)
        return 0;
    return 10000.0 / atof(res);
}

/* Read a whole level back as RGB; every pixel must be opaque. */
static int read_level(openslide_t *osr, int level, G2cImage *out)
{
    int64_t w, h;
    openslide_get_level_dimensions(osr, level, &w, &h);
    double ds = openslide_get_level_downsample(osr, level);
    (void)ds;
    uint32_t *argb = malloc((size_t)w * h * 4);
    if (!argb || g2c_image_alloc(out, (int)w, (int)h, 0) != 0)
        exit(1);
    openslide_read_region(osr, argb, 0, 0, level, w, h);
    int opaque = 1;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        uint32_t p = argb[i];
        opaque &= (p >> 24) == 255;
        out->rgb[i * 3 + 0] = (uint8_t)(p >> 16);
        out->rgb[i * 3 + 1] = (uint8_t)(p >> 8);
        out->rgb[i * 3 + 2] = (uint8_t)p;
    }
    free(argb);
    return opaque;
}

static int max_diff(const G2cImage *a, const G2cImage *b)
{
    if (a->width != b->width || a->height != b->height)
        return 999;
    int worst = 0;
    for (size_t i = 0; i < (size_t)a->width * a->height * 3; i++) {
        int d = abs((int)a->rgb[i] - (int)b->rgb[i]);
        if (d > worst)
            worst = d;
    }
    return worst;
}

static double mean_diff(const G2cImage *a, const G2cImage *b)
{
    double total = 0;
    size_t n = (size_t)a->width * a->height * 3;
    for (size_t i = 0; i < n; i++)
        total += abs((int)a->rgb[i] - (int)b->rgb[i]);
    return total / (double)n;
}

static int count_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp-") != NULL;
    if (d)
        closedir(d);
    return n;
}

static void test_lossless_pyramid(const char *dir, G2cTiffCompression comp)
{
    G2cImage img;
    make_image(&img, 1000, 700, 7, 40);
    char path[4096];
    snprintf(path, sizeof path, "%s/pyr-%s.tiff", dir, g2c_tiff_compression_name(comp));
    G2cTiffOptions opt;
    g2c_tiff_options_init(&opt);
    opt.mpp = 0.5;
    opt.compression = comp;
    CHECK(g2c_tiff_level_count(1000, 700, &opt) == 3);
    CHECK_OK(g2c_tiff_write(path, &img, &opt));

    openslide_t *osr = openslide_open(path);
    CHECK(osr && !openslide_get_error(osr));
    if (!osr || openslide_get_error(osr)) {
        fprintf(stderr, "openslide: %s\n", osr ? openslide_get_error(osr) : "not opened");
        g2c_image_free(&img);
        return;
    }
    const char *vendor = openslide_get_property_value(osr, OPENSLIDE_PROPERTY_NAME_VENDOR);
    CHECK(vendor && strcmp(vendor, "generic-tiff") == 0);
    CHECK(openslide_get_level_count(osr) == 3);
    int64_t w, h;
    openslide_get_level_dimensions(osr, 0, &w, &h);
    CHECK(w == 1000 && h == 700);
    openslide_get_level_dimensions(osr, 1, &w, &h);
    CHECK(w == 500 && h == 350);
    openslide_get_level_dimensions(osr, 2, &w, &h);
    CHECK(w == 250 && h == 175);
    CHECK_CLOSE(openslide_get_level_downsample(osr, 1), 2.0, 1e-9);
    CHECK_CLOSE(openslide_get_level_downsample(osr, 2), 4.0, 1e-9);
    CHECK_CLOSE(slide_mpp(osr, "X"), 0.5, 1e-5);
    CHECK_CLOSE(slide_mpp(osr, "Y"), 0.5, 1e-5);
    const char *desc = openslide_get_property_value(osr, "tiff.ImageDescription");
    CHECK(desc && strstr(desc, "g2c"));

    G2cImage back;
    CHECK(read_level(osr, 0, &back));
    CHECK(max_diff(&back, &img) == 0);
    g2c_image_free(&back);

    /* Level 1 is the area resize of level 0. */
    G2cImage expect;
    CHECK_OK(g2c_image_alloc(&expect, 500, 350, 0));
    CHECK_OK(g2c_image_resize(&img, &expect));
    CHECK(read_level(osr, 1, &back));
    CHECK(max_diff(&back, &expect) <= 1);
    g2c_image_free(&back);
    g2c_image_free(&expect);

    /* A region that straddles tiles, in level-0 coordinates on level 1. */
    uint32_t argb[40 * 30];
    openslide_read_region(osr, argb, 500, 490, 1, 40, 30);
    CHECK(!openslide_get_error(osr));
    G2cImage l1;
    CHECK_OK(g2c_image_alloc(&l1, 500, 350, 0));
    CHECK_OK(g2c_image_resize(&img, &l1));
    int worst = 0;
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++) {
            const uint8_t *p = l1.rgb + ((size_t)(245 + y) * 500 + 250 + x) * 3;
            uint32_t q = argb[y * 40 + x];
            int d0 = abs((int)p[0] - (int)((q >> 16) & 255));
            int d1 = abs((int)p[1] - (int)((q >> 8) & 255));
            int d2 = abs((int)p[2] - (int)(q & 255));
            int d = d0 > d1 ? d0 : d1;
            d = d > d2 ? d : d2;
            worst = d > worst ? d : worst;
        }
    CHECK(worst <= 1);
    g2c_image_free(&l1);
    openslide_close(osr);
    g2c_image_free(&img);
}

static void test_jpeg_and_limits(const char *dir)
{
    G2cImage img;
    make_image(&img, 600, 520, 11, 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/jpeg.tiff", dir);
    G2cTiffOptions opt;
    g2c_tiff_options_init(&opt);
    opt.compression = G2C_TIFF_JPEG;
    opt.tile_size = 128;
    opt.levels = 2;
    opt.mpp = 0.25;
    CHECK(g2c_tiff_level_count(600, 520, &opt) == 2);
    CHECK_OK(g2c_tiff_write(path, &img, &opt));
    openslide_t *osr = openslide_open(path);
    CHECK(osr && !openslide_get_error(osr));
    if (osr && !openslide_get_error(osr)) {
        CHECK(openslide_get_level_count(osr) == 2);
        CHECK_CLOSE(slide_mpp(osr, "X"), 0.25, 1e-5);
        G2cImage back;
        CHECK(read_level(osr, 0, &back));
        double md = mean_diff(&back, &img);
        fprintf(stderr, "jpeg: mean abs difference %.2f\n", md);
        CHECK(md < 12.0); /* lossy, but the same picture */
        g2c_image_free(&back);
        openslide_close(osr);
    }
    g2c_image_free(&img);

    /* No resolution recorded: OpenSlide reports none. */
    make_image(&img, 300, 40, 3, 40);
    snprintf(path, sizeof path, "%s/nompp.tiff", dir);
    CHECK_OK(g2c_tiff_write(path, &img, NULL));
    osr = openslide_open(path);
    CHECK(osr && !openslide_get_error(osr));
    if (osr && !openslide_get_error(osr)) {
        CHECK(slide_mpp(osr, "X") == 0);
        CHECK(openslide_get_property_value(osr, "tiff.XResolution") == NULL);
        CHECK(openslide_get_level_count(osr) == 2); /* 300x40 -> 150x20 fits */
        openslide_close(osr);
    }
    g2c_image_free(&img);

    G2cTiffOptions deflt;
    g2c_tiff_options_init(&deflt);
    CHECK(g2c_tiff_level_count(256, 256, &deflt) == 1);
    CHECK(g2c_tiff_level_count(257, 10, &deflt) == 2);
    CHECK(g2c_tiff_level_count(20000, 20000, &deflt) == 8); /* 20000 / 2^7 = 156 */
    int lw, lh;
    g2c_tiff_level_size(1001, 3, 2, &lw, &lh);
    CHECK(lw == 250 && lh == 1);
}

static void test_errors(const char *dir)
{
    G2cImage img;
    make_image(&img, 64, 64, 1, 40);
    char path[4096];
    snprintf(path, sizeof path, "%s/no-such-dir/x.tiff", dir);
    CHECK(g2c_tiff_write(path, &img, NULL) == -1);
    CHECK(strstr(g2c_error_message(), "no-such-dir/x.tiff") != NULL);

    G2cTiffOptions opt;
    g2c_tiff_options_init(&opt);
    opt.tile_size = 100;
    snprintf(path, sizeof path, "%s/badtile.tiff", dir);
    CHECK(g2c_tiff_write(path, &img, &opt) == -1);
    CHECK(strstr(g2c_error_message(), "badtile.tiff") != NULL);
    CHECK(strstr(g2c_error_message(), "tile size 100") != NULL);

    G2cImage empty = {0};
    CHECK(g2c_tiff_write(path, &empty, NULL) == -1);
    CHECK(strstr(g2c_error_message(), "empty image") != NULL);

    G2cTiffCompression c;
    CHECK(g2c_tiff_compression_parse("lzw", &c) == 0 && c == G2C_TIFF_LZW);
    CHECK(g2c_tiff_compression_parse("png", &c) == -1);
    CHECK(strstr(g2c_error_message(), "'png'") != NULL);
    g2c_image_free(&img);
}

int main(void)
{
    const char *dir = g2c_test_tmpdir();
    test_lossless_pyramid(dir, G2C_TIFF_DEFLATE);
    test_lossless_pyramid(dir, G2C_TIFF_LZW);
    test_jpeg_and_limits(dir);
    test_errors(dir);
    CHECK(count_temp_files(dir) == 0);
    g2c_test_system("rm -rf '%s'", dir);
    return g2c_test_finish("tiffwriter");
}
