/* The report's baseline JPEG encoder (src/report/jpeg.c): odd sizes,
 * flat, smooth, textured and noisy images at several qualities.  Each file
 * is checked for its markers and size here, and decoded by Pillow's
 * libjpeg against the source (PSNR), where Pillow is installed. */
#include "fixture.h"
#include "testutil.h"

#include "../../src/report/report-private.h"
#include "ingest/slides.h"

#include "g2c/error.h"
#include "g2c/rng.h"

#include <string.h>

static int pillow = -1;

static void pattern(G2cImage *img, int w, int h, int kind)
{
    G2cRng rng;
    g2c_rng_seed(&rng, 5);
    if (kind == 2) { /* tissue-like: the test slide texture */
        test_slide_image(img, w, h, 9);
        return;
    }
    g2c_image_alloc(img, w, h, 255);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img->rgb + ((size_t)y * w + x) * 3;
            if (kind == 0) { /* flat colour */
                p[0] = 200, p[1] = 40, p[2] = 90;
            } else if (kind == 1) { /* smooth gradient */
                p[0] = (uint8_t)(255 * x / (w > 1 ? w - 1 : 1));
                p[1] = (uint8_t)(255 * y / (h > 1 ? h - 1 : 1));
                p[2] = (uint8_t)((p[0] + p[1]) / 2);
            } else { /* noise, every channel independent */
                for (int c = 0; c < 3; c++)
                    p[c] = (uint8_t)g2c_rng_below(&rng, 256);
            }
        }
}

static void check(int w, int h, int kind, int quality, double min_psnr)
{
    G2cImage img;
    pattern(&img, w, h, kind);
    uint8_t *jpeg = NULL;
    size_t size = 0;
    CHECK_OK(g2c_rep_jpeg_encode(&img, quality, &jpeg, &size));
    int jw, jh;
    const char *type = g2c_rep_image_type(jpeg, size, &jw, &jh);
    CHECK(type && strcmp(type, "image/jpeg") == 0 && jw == w && jh == h);
    CHECK(size > 4 && jpeg[size - 2] == 0xFF && jpeg[size - 1] == 0xD9);
    char src[4096], dst[4096];
    snprintf(src, sizeof src, "%s", fx_path("src-%dx%d-%d-q%d.png", w, h, kind, quality));
    snprintf(dst, sizeof dst, "%s", fx_path("out-%dx%d-%d-q%d.jpg", w, h, kind, quality));
    CHECK_OK(g2c_png_write(src, &img));
    FILE *f = fopen(dst, "wb");
    CHECK(f && fwrite(jpeg, 1, size, f) == size);
    if (f)
        fclose(f);
    if (pillow) {
        char checker[4096], a[4200], b[4200];
        snprintf(checker, sizeof checker, "%s",
                 g2c_test_source_path("tests/report/jpeg-check.py"));
        fx_quote_to(a, sizeof a, src);
        fx_quote_to(b, sizeof b, dst);
        int rc = g2c_test_system("/usr/bin/python3 %s %s %s %g >&2", fx_quote(checker), a, b,
                                 min_psnr);
        if (rc != 0)
            fprintf(stderr, "%dx%d kind %d quality %d: below %.0f dB or not decoded\n", w, h,
                    kind, quality, min_psnr);
        CHECK(rc == 0);
    }
    free(jpeg);
    g2c_image_free(&img);
}

int main(void)
{
    fx_dir = g2c_test_tmpdir();
    pillow = g2c_test_system("/usr/bin/python3 -c 'import PIL' 2>/dev/null") == 0;
    if (!pillow)
        fprintf(stderr, "note: Pillow is not installed; JPEG files are checked for their "
                        "structure only\n");
    /* sizes: one pixel, less than a block, one MCU, not multiples of 16 */
    /* Minimum PSNRs are ~1.5 dB under what this encoder gives; libjpeg
     * (Pillow, 4:2:0, same quality) gives the same within 0.8 dB. */
    check(1, 1, 0, 85, 50);
    check(7, 9, 1, 85, 30);
    check(16, 16, 2, 85, 31);
    check(96, 96, 2, 85, 29);
    check(97, 65, 1, 85, 44);
    check(300, 17, 2, 50, 27);
    check(64, 48, 2, 100, 30); /* the texture's colour detail is below chroma resolution */
    check(40, 40, 3, 95, 11);  /* noise: chroma subsampling alone costs a lot */
    check(33, 31, 1, 5, 23);   /* the lowest qualities still decode */
    /* Quality buys bytes: the same crop at 50 is smaller than at 95. */
    G2cImage img;
    pattern(&img, 96, 96, 2);
    uint8_t *lo = NULL, *hi = NULL;
    size_t lo_size = 0, hi_size = 0;
    CHECK_OK(g2c_rep_jpeg_encode(&img, 50, &lo, &lo_size));
    CHECK_OK(g2c_rep_jpeg_encode(&img, 95, &hi, &hi_size));
    CHECK(lo_size < hi_size);
    free(lo);
    free(hi);
    g2c_image_free(&img);
    G2cImage empty = {0};
    uint8_t *none = NULL;
    size_t none_size;
    CHECK(g2c_rep_jpeg_encode(&empty, 85, &none, &none_size) == -1 && none == NULL);
    CHECK(strstr(g2c_error_message(), "0x0") != NULL);
    return g2c_test_finish("report-jpeg");
}
