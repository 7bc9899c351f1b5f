/* Tissue detection: Otsu, the brightness cut, specks and holes, O(1) box
 * fractions against brute force, and the independent checker. */
#include "g2c/error.h"
#include "g2c/refset.h"
#include "g2c/rng.h"
#include "testutil.h"

#include <math.h>
#include <string.h>

static void fill_rect(G2cImage *img, int x, int y, int w, int h, uint8_t r, uint8_t g,
                      uint8_t b)
{
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++) {
            uint8_t *p = img->rgb + ((size_t)j * img->width + i) * 3;
            p[0] = r;
            p[1] = g;
            p[2] = b;
        }
}

static uint64_t count_rect(const G2cTissueMask *m, int x, int y, int w, int h)
{
    uint64_t n = 0;
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++)
            n += m->pixels[(size_t)j * m->width + i];
    return n;
}

static void test_otsu_histogram(void)
{
    uint64_t hist[256] = {0};
    hist[40] = 1000;
    hist[200] = 1000;
    /* Every t in (40, 200] separates the modes equally well: the middle. */
    CHECK(g2c_otsu_threshold(hist) == 120);

    /* Two noisy modes of unequal size: the threshold falls between them. */
    memset(hist, 0, sizeof hist);
    G2cRng rng;
    g2c_rng_seed(&rng, 7);
    for (int i = 0; i < 30000; i++) {
        int v = (int)lround(i % 3 ? 30 + 6 * g2c_rng_normal(&rng)
                                  : 150 + 10 * g2c_rng_normal(&rng));
        hist[v < 0 ? 0 : v > 255 ? 255 : v]++;
    }
    int t = g2c_otsu_threshold(hist);
    CHECK(t > 60 && t < 120);

    memset(hist, 0, sizeof hist);
    CHECK(g2c_otsu_threshold(hist) == 0);
    hist[77] = 5;
    CHECK(g2c_otsu_threshold(hist) == 0);
}

/* Glass on the left, pink stain on the right: Otsu lands midway between
 * their saturations, the clamp lowers it to the ceiling, and the mask is the
 * right half exactly. */
static void test_detect_bimodal(void)
{
    G2cImage img;
    CHECK_OK(g2c_image_alloc(&img, 120, 80, 245));
    fill_rect(&img, 60, 0, 60, 80, 200, 120, 180); /* S = 80 * 255 / 200 = 102 */
    G2cTissueMask m;
    G2cTissueStats st;
    CHECK_OK(g2c_tissue_detect(&img, NULL, &m, &st));
    CHECK(st.otsu == 51);
    CHECK(st.threshold == 25);
    CHECK(st.tissue_px == 60 * 80);
    CHECK(count_rect(&m, 60, 0, 60, 80) == 60 * 80);
    CHECK(m.scale == 1.0);
    CHECK_CLOSE(g2c_tissue_fraction(&m, 0, 0, 120, 80), 0.5, 1e-12);
    CHECK_CLOSE(g2c_tissue_fraction(&m, 30, 0, 60, 80), 0.5, 1e-12);
    g2c_tissue_mask_free(&m);

    /* Saturation modes inside [floor, ceiling]: Otsu's value is used as is.
     * (240,240,240) has S 0 and (210,190,200) has S 24. */
    fill_rect(&img, 0, 0, 120, 80, 240, 240, 240);
    fill_rect(&img, 0, 0, 40, 80, 225, 203, 215); /* S = 22*255/225 = 24 */
    G2cTissueParams p;
    g2c_tissue_params_default(&p);
    p.gray_level = 0;
    CHECK_OK(g2c_tissue_detect(&img, &p, &m, &st));
    CHECK(st.otsu == 12);
    CHECK(st.threshold == 12);
    CHECK(st.tissue_px == 40 * 80);
    g2c_tissue_mask_free(&m);
    g2c_image_free(&img);
}

static void test_all_white(void)
{
    G2cImage img;
    CHECK_OK(g2c_image_alloc(&img, 64, 48, 255));
    G2cTissueMask m;
    G2cTissueStats st;
    CHECK_OK(g2c_tissue_detect(&img, NULL, &m, &st));
    CHECK(st.tissue_px == 0);
    CHECK(g2c_tissue_area(&m) == 0);
    CHECK(st.threshold == 8); /* the floor */
    CHECK(g2c_tissue_fraction(&m, 0, 0, 64, 48) == 0);

    /* Glass with faint JPEG-like noise is still no tissue. */
    G2cRng rng;
    g2c_rng_seed(&rng, 3);
    for (size_t i = 0; i < (size_t)64 * 48 * 3; i++)
        img.rgb[i] = (uint8_t)(240 + g2c_rng_below(&rng, 8));
    g2c_tissue_mask_free(&m);
    CHECK_OK(g2c_tissue_detect(&img, NULL, &m, &st));
    CHECK(st.tissue_px == 0);

    G2cSampleParams sp = {.crop_size = 8, .min_tissue = 0.5, .max_overlap = 0, .seed = 1};
    G2cCropPos *crops = (G2cCropPos *)&sp; /* must be reset to NULL */
    CHECK(g2c_sample_crops(&m, 1, 5, &sp, &crops) == -1);
    CHECK(crops == NULL);
    CHECK(strstr(g2c_error_message(), "slide 0 has no tissue") != NULL);
    g2c_tissue_mask_free(&m);
    g2c_image_free(&img);
}

/* The brightness cut: black ink and tinted near-white are not tissue; pale
 * unsaturated grey that is clearly darker than glass is. */
static void test_brightness_cut(void)
{
    G2cImage img;
    CHECK_OK(g2c_image_alloc(&img, 90, 30, 250));
    fill_rect(&img, 0, 0, 30, 30, 10, 10, 25);    /* ink: max below black_level */
    fill_rect(&img, 30, 0, 30, 30, 255, 232, 250); /* tinted glass: min above white_level */
    fill_rect(&img, 60, 0, 30, 30, 190, 190, 200); /* pale counterstain */
    G2cTissueParams p;
    g2c_tissue_params_default(&p);
    p.min_tissue_frac = 0;
    p.max_hole_frac = 0;
    G2cTissueMask m;
    CHECK_OK(g2c_tissue_detect(&img, &p, &m, NULL));
    CHECK(count_rect(&m, 0, 0, 30, 30) == 0);
    CHECK(count_rect(&m, 30, 0, 30, 30) == 0);
    CHECK(count_rect(&m, 60, 0, 30, 30) == 900);
    g2c_tissue_mask_free(&m);

    p.sat_floor = 30;
    p.sat_ceiling = 20;
    CHECK(g2c_tissue_detect(&img, &p, &m, NULL) == -1);
    CHECK(strstr(g2c_error_message(), "floor 30 above ceiling 20") != NULL);
    g2c_image_free(&img);
}

/* A 200x200 image: a big tissue block with a small and a large hole, a
 * tissue ring touching the border around glass, and specks of 3x3 and 6x6
 * on glass. */
static void speck_hole_image(G2cImage *img)
{
    g2c_image_alloc(img, 200, 200, 248);
    const uint8_t t[3] = {180, 90, 160};
    fill_rect(img, 20, 20, 100, 100, t[0], t[1], t[2]);
    fill_rect(img, 30, 30, 4, 4, 248, 248, 248);     /* small hole, 16 px */
    fill_rect(img, 60, 60, 30, 30, 248, 248, 248);   /* large hole, 900 px */
    fill_rect(img, 150, 20, 3, 3, t[0], t[1], t[2]); /* speck, 9 px */
    fill_rect(img, 150, 60, 6, 6, t[0], t[1], t[2]); /* larger speck, 36 px */
    fill_rect(img, 140, 140, 6, 6, t[0], t[1], t[2]); /* speck with ... */
    fill_rect(img, 142, 142, 2, 2, 248, 248, 248);   /* ... a hole in it */
    fill_rect(img, 0, 170, 60, 30, t[0], t[1], t[2]); /* border block */
    fill_rect(img, 0, 180, 6, 6, 248, 248, 248);      /* notch open to the border, 36 px */
}

static void test_specks_and_holes(void)
{
    G2cImage img;
    speck_hole_image(&img);
    G2cTissueParams p;
    g2c_tissue_params_default(&p);
    /* In mask pixels through fractions of the 40000 px image. */
    p.min_tissue_frac = 20.0 / 40000; /* removes components under 20 px */
    p.max_hole_frac = 100.0 / 40000;  /* fills enclosed holes under 100 px */
    G2cTissueMask m;
    G2cTissueStats st;
    CHECK_OK(g2c_tissue_detect(&img, &p, &m, &st));
    CHECK(count_rect(&m, 30, 30, 4, 4) == 16);   /* small hole filled */
    CHECK(count_rect(&m, 60, 60, 30, 30) == 0);  /* large hole kept */
    CHECK(count_rect(&m, 150, 20, 3, 3) == 0);   /* speck removed */
    CHECK(count_rect(&m, 150, 60, 6, 6) == 36);  /* larger speck kept */
    CHECK(count_rect(&m, 140, 140, 6, 6) == 36); /* 32 px ring kept, its hole filled */
    CHECK(count_rect(&m, 0, 180, 6, 6) == 0);    /* notch touches the border */
    CHECK(count_rect(&m, 0, 170, 60, 30) == 60 * 30 - 36);
    CHECK(st.specks_removed == 1);
    CHECK(st.holes_filled == 2);
    g2c_tissue_mask_free(&m);

    /* The same through µm²: 2 µm mask pixels, so 4 µm² per pixel. */
    p.um_per_px = 2;
    p.min_tissue_um2 = 40 * 4; /* removes components under 40 px */
    p.max_hole_um2 = 20 * 4;   /* fills holes under 20 px */
    CHECK_OK(g2c_tissue_detect(&img, &p, &m, &st));
    CHECK(count_rect(&m, 30, 30, 4, 4) == 16);
    CHECK(count_rect(&m, 150, 60, 6, 6) == 0);   /* 36 px < 40: removed */
    CHECK(count_rect(&m, 140, 140, 6, 6) == 0);  /* 32 px < 40: removed */
    CHECK(st.specks_removed == 3);
    /* The hole of the removed ring speck merged with the glass around it. */
    CHECK(st.holes_filled == 1);
    g2c_tissue_mask_free(&m);
    g2c_image_free(&img);
}

/* Exact area-weighted coverage of a fractional box, pixel by pixel. */
static double brute_fraction(const G2cTissueMask *m, double x, double y, double w, double h)
{
    double covered = 0;
    for (int j = 0; j < m->height; j++)
        for (int i = 0; i < m->width; i++) {
            if (!m->pixels[(size_t)j * m->width + i])
                continue;
            double ox = fmin(i + 1, x + w) - fmax(i, x);
            double oy = fmin(j + 1, y + h) - fmax(j, y);
            if (ox > 0 && oy > 0)
                covered += ox * oy;
        }
    return covered / (w * h);
}

static void test_fraction(void)
{
    G2cTissueMask m;
    CHECK_OK(g2c_tissue_mask_alloc(&m, 37, 23));
    G2cRng rng;
    g2c_rng_seed(&rng, 11);
    for (int i = 0; i < 37 * 23; i++)
        m.pixels[i] = g2c_rng_uniform(&rng) < 0.4;
    g2c_tissue_mask_update(&m);
    uint64_t ones = 0;
    for (int i = 0; i < 37 * 23; i++)
        ones += m.pixels[i];
    CHECK(g2c_tissue_area(&m) == ones);
    double worst = 0;
    for (int k = 0; k < 500; k++) {
        double x = -5 + 45 * g2c_rng_uniform(&rng), y = -5 + 30 * g2c_rng_uniform(&rng);
        double w = 0.1 + 20 * g2c_rng_uniform(&rng), h = 0.1 + 15 * g2c_rng_uniform(&rng);
        if (k % 5 == 0) { /* integer boxes too */
            x = floor(x);
            y = floor(y);
            w = ceil(w);
            h = ceil(h);
        }
        double d = fabs(g2c_tissue_fraction(&m, x, y, w, h) - brute_fraction(&m, x, y, w, h));
        worst = d > worst ? d : worst;
    }
    CHECK(worst < 1e-9);
    CHECK(g2c_tissue_fraction(&m, 3, 3, 0, 5) == 0);

    /* Level-0 boxes go through the scale. */
    m.scale = 8;
    CHECK_CLOSE(g2c_tissue_fraction_l0(&m, 40, 16, 100, 60),
                brute_fraction(&m, 5, 2, 12.5, 7.5), 1e-9);
    g2c_tissue_mask_free(&m);
}

static void test_checker(void)
{
    G2cImage img;
    CHECK_OK(g2c_image_alloc(&img, 10, 10, 255));
    CHECK(g2c_crop_tissue_fraction(&img) == 0);
    fill_rect(&img, 0, 0, 10, 4, 200, 120, 180);
    CHECK_CLOSE(g2c_crop_tissue_fraction(&img), 0.4, 1e-12);
    fill_rect(&img, 0, 4, 10, 1, 150, 150, 150); /* grey: no chroma */
    fill_rect(&img, 0, 5, 10, 1, 240, 220, 235); /* near-white pink */
    CHECK_CLOSE(g2c_crop_tissue_fraction(&img), 0.4, 1e-12);
    g2c_image_free(&img);
}

int main(void)
{
    test_otsu_histogram();
    test_detect_bimodal();
    test_all_white();
    test_brightness_cut();
    test_specks_and_holes();
    test_fraction();
    test_checker();
    return g2c_test_finish("refset-tissue");
}
