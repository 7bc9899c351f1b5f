#include "slides.h"
#include "testutil.h"

#include "g2c/rng.h"
#include "g2c/tiffwriter.h"

#include <string.h>

void test_slide_image(G2cImage *img, int width, int height, uint64_t seed)
{
    g2c_image_alloc(img, width, height, 255);
    G2cRng rng;
    g2c_rng_seed(&rng, seed);
    /* 8x8 blocks of random tissue colours in the middle band, so every crop
     * has structure and pixel comparisons can tell crops apart. */
    for (int by = 0; by < height; by += 8)
        for (int bx = 0; bx < width; bx += 8) {
            uint8_t r = (uint8_t)(150 + g2c_rng_below(&rng, 100));
            uint8_t g = (uint8_t)(40 + g2c_rng_below(&rng, 120));
            uint8_t b = (uint8_t)(120 + g2c_rng_below(&rng, 120));
            if (by < height / 10)
                continue; /* a strip of glass at the top */
            for (int y = by; y < by + 8 && y < height; y++)
                for (int x = bx; x < bx + 8 && x < width; x++) {
                    uint8_t *p = img->rgb + ((size_t)y * width + x) * 3;
                    p[0] = (uint8_t)(r - (x & 7));
                    p[1] = (uint8_t)(g + (y & 7));
                    p[2] = b;
                }
        }
}

int test_slide_write(const char *path, int width, int height, uint64_t seed)
{
    G2cImage img;
    test_slide_image(&img, width, height, seed);
    G2cTiffOptions opt;
    g2c_tiff_options_init(&opt);
    opt.mpp = 0.5;
    opt.tile_size = 128;
    int rc = g2c_tiff_write(path, &img, &opt);
    g2c_image_free(&img);
    return rc;
}

void test_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

char *test_read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return calloc(1, 1);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = calloc((size_t)n + 1, 1);
    if (fread(text, 1, (size_t)n, f) != (size_t)n)
        text[0] = '\0';
    fclose(f);
    return text;
}
