/* Real data: detect tissue on a low-resolution view, sample crops, and
 * check every crop at full resolution with the independent checker.
 *   kidney-PAS.png: a field that is all tissue (with lumens);
 *   CMU-1-Small-Region.svs: a tissue strip on glass, read through OpenSlide. */
#include "g2c/error.h"
#include "g2c/refset.h"
#include "testutil.h"

#include <openslide.h>
#include <string.h>

enum { DOWNSAMPLE = 4, CROP = 128, N_CROPS = 50 };

/* Mask fraction >= 0.6 must mean the full-resolution crop really shows
 * tissue; the checker ignores lumens the mask fills, hence its lower bar. */
static const double MIN_MASK_TISSUE = 0.6, MIN_CHECKED = 0.35;

static void check_field(const char *what, const G2cImage *full, double min_mask_fraction)
{
    G2cImage small;
    CHECK_OK(g2c_image_alloc(&small, full->width / DOWNSAMPLE, full->height / DOWNSAMPLE, 0));
    CHECK_OK(g2c_image_resize(full, &small));
    G2cTissueMask mask;
    G2cTissueStats st;
    CHECK_OK(g2c_tissue_detect(&small, NULL, &mask, &st));
    mask.scale = DOWNSAMPLE;
    double frac = (double)st.tissue_px / ((double)small.width * small.height);
    fprintf(stderr, "%s: otsu %d, threshold %d, tissue %.3f, %d specks, %d holes\n", what,
            st.otsu, st.threshold, frac, st.specks_removed, st.holes_filled);
    CHECK(frac >= min_mask_fraction);

    G2cSampleParams p = {.crop_size = CROP, .min_tissue = MIN_MASK_TISSUE,
                         .max_overlap = 0.5, .allocation = G2C_ALLOC_PROPORTIONAL,
                         .seed = 2019};
    G2cCropPos *crops;
    CHECK_OK(g2c_sample_crops(&mask, 1, N_CROPS, &p, &crops));
    if (crops) {
        G2cImage crop;
        CHECK_OK(g2c_image_alloc(&crop, CROP, CROP, 255));
        double lowest = 1;
        for (int i = 0; i < N_CROPS; i++) {
            CHECK(g2c_tissue_fraction_l0(&mask, (double)crops[i].x0, (double)crops[i].y0,
                                         CROP, CROP) >= MIN_MASK_TISSUE);
            g2c_image_blit(full, (int)crops[i].x0, (int)crops[i].y0, CROP, CROP, &crop, 0, 0);
            double f = g2c_crop_tissue_fraction(&crop);
            lowest = f < lowest ? f : lowest;
            if (f < MIN_CHECKED)
                fprintf(stderr, "%s: crop %d at (%lld, %lld): checker %.3f\n", what, i,
                        (long long)crops[i].x0, (long long)crops[i].y0, f);
            CHECK(f >= MIN_CHECKED);
        }
        fprintf(stderr, "%s: lowest checked tissue fraction of %d crops: %.3f\n", what,
                N_CROPS, lowest);
        g2c_image_free(&crop);
    }
    free(crops);
    g2c_tissue_mask_free(&mask);
    g2c_image_free(&small);
}

/* The whole slide at its lowest level, RGB over white. */
static int read_slide(const char *path, G2cImage *img)
{
    openslide_t *osr = openslide_open(path);
    if (!osr || openslide_get_error(osr))
        return g2c_error("%s: OpenSlide cannot open it", path);
    int32_t level = openslide_get_level_count(osr) - 1;
    int64_t w, h;
    openslide_get_level_dimensions(osr, level, &w, &h);
    uint32_t *argb = malloc((size_t)w * (size_t)h * 4);
    int rc = argb ? g2c_image_alloc(img, (int)w, (int)h, 255) : -1;
    if (rc == 0) {
        openslide_read_region(osr, argb, 0, 0, level, w, h);
        rc = openslide_get_error(osr) ? g2c_error("%s: %s", path, openslide_get_error(osr)) : 0;
    }
    for (size_t i = 0; rc == 0 && i < (size_t)w * (size_t)h; i++) {
        uint32_t v = argb[i];
        int back = 255 - (int)(v >> 24); /* premultiplied: add white behind */
        img->rgb[i * 3] = (uint8_t)(((v >> 16) & 255) + back);
        img->rgb[i * 3 + 1] = (uint8_t)(((v >> 8) & 255) + back);
        img->rgb[i * 3 + 2] = (uint8_t)((v & 255) + back);
    }
    free(argb);
    openslide_close(osr);
    return rc;
}

int main(void)
{
    const char *data = g2c_test_shared_data();
    char path[4200];

    G2cImage pas;
    snprintf(path, sizeof path, "%s/stains/kidney-PAS.png", data);
    CHECK_OK(g2c_png_read(path, &pas));
    if (pas.rgb)
        check_field("kidney-PAS", &pas, 0.8);
    g2c_image_free(&pas);

    G2cImage cmu = {0};
    snprintf(path, sizeof path, "%s/slides/CMU-1-Small-Region.svs", data);
    CHECK_OK(read_slide(path, &cmu));
    if (cmu.rgb)
        check_field("CMU-1-Small-Region", &cmu, 0.2);
    g2c_image_free(&cmu);
    return g2c_test_finish("refset-realdata");
}
