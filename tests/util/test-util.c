/* The shared utilities: errors, images and PNG, resampling, random numbers,
 * the parallel loop, folders, plots. */
#include "testutil.h"

#include "g2c/error.h"
#include "g2c/image.h"
#include "g2c/parallel.h"
#include "g2c/path.h"
#include "g2c/plot.h"
#include "g2c/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void errors(void)
{
    CHECK(g2c_error("inner %d", 7) == -1);
    CHECK(g2c_error_prefix("file.csv:%d: ", 3) == -1);
    CHECK(strcmp(g2c_error_message(), "file.csv:3: inner 7") == 0);
    char long_prefix[3000];
    memset(long_prefix, 'x', sizeof long_prefix - 1);
    long_prefix[sizeof long_prefix - 1] = '\0';
    g2c_error_prefix("%s", long_prefix); /* cut, never overflowing */
    CHECK(strlen(g2c_error_message()) < 2048);
    g2c_error_clear();
    CHECK(g2c_error_message()[0] == '\0');
}

static void png_round_trip(void)
{
    G2cImage img, back;
    CHECK_OK(g2c_image_alloc(&img, 37, 21, 0));
    for (size_t i = 0; i < 37 * 21 * 3; i++)
        img.rgb[i] = (uint8_t)(i * 31 + 7);
    uint8_t *png;
    size_t size;
    /* 1 takes the fast path (Paeth rows, run-length deflate). */
    const int levels[] = {0, 1, 3, 9};
    for (int li = 0; li < 4; li++) {
        int level = levels[li];
        CHECK_OK(g2c_png_encode(&img, level, &png, &size));
        CHECK_OK(g2c_png_decode(png, size, &back));
        CHECK(back.width == 37 && back.height == 21 &&
              memcmp(back.rgb, img.rgb, 37 * 21 * 3) == 0);
        g2c_image_free(&back);
        CHECK(g2c_png_decode(png, size / 2, &back) == -1); /* truncated */
        CHECK(strstr(g2c_error_message(), "PNG") != NULL);
        free(png);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/x.png", g2c_test_tmpdir());
    CHECK_OK(g2c_png_write(path, &img));
    CHECK_OK(g2c_png_read(path, &back));
    CHECK(memcmp(back.rgb, img.rgb, 37 * 21 * 3) == 0);
    g2c_image_free(&back);
    CHECK(g2c_png_read("/nonexistent/y.png", &back) == -1);
    CHECK(strstr(g2c_error_message(), "/nonexistent/y.png") != NULL);
    CHECK(g2c_image_alloc(&back, 0, 5, 0) == -1);
    g2c_image_free(&img);
}

static void resampling(void)
{
    G2cImage src, dst;
    g2c_image_alloc(&src, 4, 2, 0);
    /* Left 2x2 block values 0, 10, 20, 30 -> average 15; right block 100. */
    const uint8_t left[4] = {0, 10, 20, 30};
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 4; x++)
            memset(src.rgb + (y * 4 + x) * 3, x < 2 ? left[y * 2 + x] : 100, 3);
    g2c_image_alloc(&dst, 2, 1, 0);
    CHECK_OK(g2c_image_resize(&src, &dst));
    CHECK(dst.rgb[0] == 15 && dst.rgb[3] == 100);
    g2c_image_free(&dst);
    /* Enlarging a constant image keeps it constant. */
    memset(src.rgb, 77, 4 * 2 * 3);
    g2c_image_alloc(&dst, 9, 5, 0);
    CHECK_OK(g2c_image_resize(&src, &dst));
    int constant = 1;
    for (int i = 0; i < 9 * 5 * 3; i++)
        constant &= dst.rgb[i] == 77;
    CHECK(constant);
    /* Blit clips at both images' edges. */
    G2cImage small;
    g2c_image_alloc(&small, 3, 3, 200);
    g2c_image_blit(&small, 0, 0, 3, 3, &dst, 7, 4);
    CHECK(dst.rgb[(4 * 9 + 8) * 3] == 200 && dst.rgb[(3 * 9 + 8) * 3] == 77);
    g2c_image_free(&small);
    g2c_image_free(&dst);
    g2c_image_free(&src);
}

/* The area filter by definition, in float64, unrounded: each destination
 * value is the average of the source pixels under it, weighted by the area
 * each covers. */
static void exact_area(const G2cImage *src, int dw, int dh, double *out)
{
    double sx = (double)src->width / dw, sy = (double)src->height / dh;
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++)
            for (int c = 0; c < 3; c++) {
                double sum = 0, area = 0;
                for (int iy = (int)(y * sy); iy < src->height && iy < (y + 1) * sy; iy++) {
                    double h = fmin(iy + 1, (y + 1) * sy) - fmax(iy, y * sy);
                    for (int ix = (int)(x * sx); ix < src->width && ix < (x + 1) * sx; ix++) {
                        double w = fmin(ix + 1, (x + 1) * sx) - fmax(ix, x * sx);
                        sum += w * h * src->rgb[((size_t)iy * src->width + ix) * 3 + c];
                        area += w * h;
                    }
                }
                out[((size_t)y * dw + x) * 3 + c] = sum / area;
            }
}

/* Shrinking rounds the exact area average: every value is within 0.5 of
 * it, give or take float rounding (1e-3), so it differs from the correctly
 * rounded value only where that sits on .5 (which hard 0/255 edges make
 * common); on noise and on edges, for ratios whole and not, shrinking one
 * axis only, and down to one pixel. */
static void resize_against_exact_area(void)
{
    const int sizes[][4] = {{421, 300, 224, 224}, {300, 421, 224, 224}, {448, 448, 224, 224},
                            {97, 61, 13, 7},      {64, 50, 64, 21},     {50, 64, 17, 64},
                            {333, 5, 1, 1},       {225, 225, 224, 224}};
    G2cRng rng;
    g2c_rng_seed(&rng, 2019);
    for (int k = 0; k < 8; k++) {
        G2cImage src, got;
        g2c_image_alloc(&src, sizes[k][0], sizes[k][1], 0);
        for (int y = 0; y < src.height; y++)
            for (int x = 0; x < src.width * 3; x++) /* noise left, edges right */
                src.rgb[(size_t)y * src.width * 3 + x] =
                    x < src.width * 3 / 2 ? (uint8_t)g2c_rng_below(&rng, 256)
                                          : (uint8_t)(((x / 21 + y / 13) & 1) * 255);
        g2c_image_alloc(&got, sizes[k][2], sizes[k][3], 0);
        CHECK_OK(g2c_image_resize(&src, &got));
        size_t n = (size_t)got.width * got.height * 3, off = 0;
        double *want = malloc(n * sizeof *want), worst = 0;
        exact_area(&src, got.width, got.height, want);
        for (size_t i = 0; i < n; i++) {
            double d = fabs(got.rgb[i] - want[i]);
            worst = d > worst ? d : worst;
            off += got.rgb[i] != (uint8_t)(want[i] + 0.5);
        }
        if (worst > 0.501)
            fprintf(stderr, "resize %dx%d -> %dx%d: %g from the exact average\n", src.width,
                    src.height, got.width, got.height, worst);
        CHECK(worst <= 0.501);
        CHECK(off * 20 <= n); /* the ties on .5, not more */
        free(want);
        g2c_image_free(&src);
        g2c_image_free(&got);
    }
}

static void random_numbers(void)
{
    G2cRng a, b;
    g2c_rng_seed(&a, 42);
    g2c_rng_seed(&b, 42);
    int same = 1, in_range = 1, below_ok = 1;
    double sum = 0, sq = 0;
    for (int i = 0; i < 1000; i++)
        same &= g2c_rng_next(&a) == g2c_rng_next(&b);
    for (int i = 0; i < 20000; i++) {
        double u = g2c_rng_uniform(&a);
        in_range &= u >= 0 && u < 1;
        below_ok &= g2c_rng_below(&a, 7) < 7;
        double z = g2c_rng_normal(&a);
        sum += z;
        sq += z * z;
    }
    CHECK(same && in_range && below_ok);
    CHECK_CLOSE(sum / 20000, 0.0, 0.05);
    CHECK_CLOSE(sq / 20000, 1.0, 0.05);
    g2c_rng_seed(&b, 43);
    CHECK(g2c_rng_next(&a) != g2c_rng_next(&b));
}

static int fail_on_multiples_of_5(void *ctx, int i)
{
    int *done = ctx;
    __atomic_add_fetch(done, 1, __ATOMIC_SEQ_CST);
    return i % 5 == 4 ? g2c_error("item says no") : 0;
}

static void parallel_loop(void)
{
    int done = 0, failed;
    CHECK(g2c_parallel_for(23, 3, fail_on_multiples_of_5, &done, &failed) == -1);
    CHECK(done == 23); /* every item ran */
    CHECK(failed == 4);
    CHECK(strcmp(g2c_error_message(), "item 5: item says no") == 0);
    CHECK(g2c_parallel_for(0, 2, fail_on_multiples_of_5, &done, &failed) == 0);
}

static void folders_and_plots(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/a/b/c", g2c_test_tmpdir());
    CHECK_OK(g2c_make_dirs(path));
    CHECK_OK(g2c_make_dirs(path));
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    snprintf(path, sizeof path, "%s/x.png/sub", g2c_test_tmpdir());
    CHECK(g2c_make_dirs(path) == -1);

    double a[5] = {3, 2, 1.5, 1.2, 1}, b[5] = {0.5, 0.6, 0.4, 0.5, 0.45};
    G2cSeries s[2] = {{"loss_g", a, 5}, {"d_a", b, 5}};
    G2cImage img;
    CHECK_OK(g2c_plot_lines("losses", s, 2, 400, 300, &img));
    int blue = 0, orange = 0;
    for (int i = 0; i < 400 * 300; i++) {
        const uint8_t *p = img.rgb + 3 * i;
        blue += p[0] == 31 && p[1] == 119 && p[2] == 180;
        orange += p[0] == 255 && p[1] == 127 && p[2] == 14;
    }
    CHECK(blue > 100 && orange > 100);
    g2c_image_free(&img);
    CHECK(g2c_plot_lines("x", s, 2, 50, 50, &img) == -1);
}

int main(void)
{
    errors();
    png_round_trip();
    resampling();
    resize_against_exact_area();
    random_numbers();
    parallel_loop();
    folders_and_plots();
    return g2c_test_finish("util");
}
