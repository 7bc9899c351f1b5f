/* Crop sampling: reproducibility, the tissue and overlap limits checked by
 * brute force, allocation across slides, and the all-or-nothing errors. */
#include "g2c/error.h"
#include "g2c/refset.h"
#include "testutil.h"

#include <string.h>

static void mask_with_block(G2cTissueMask *m, int w, int h, double scale, int bx, int by,
                            int bw, int bh)
{
    g2c_tissue_mask_alloc(m, w, h);
    m->scale = scale;
    for (int y = by; y < by + bh; y++)
        memset(m->pixels + (size_t)y * w + bx, 1, (size_t)bw);
    g2c_tissue_mask_update(m);
}

/* Every crop inside its mask's extent with enough tissue, and no two crops
 * of one slide overlapping more than allowed. */
static void check_crops(const G2cTissueMask *masks, const G2cCropPos *c, int n,
                        const G2cSampleParams *p)
{
    int64_t s = p->crop_size;
    int bad_tissue = 0, bad_extent = 0, bad_overlap = 0;
    for (int i = 0; i < n; i++) {
        const G2cTissueMask *m = &masks[c[i].slide];
        if (c[i].x0 < 0 || c[i].y0 < 0 || c[i].x0 + s > m->width * m->scale ||
            c[i].y0 + s > m->height * m->scale)
            bad_extent++;
        if (g2c_tissue_fraction_l0(m, (double)c[i].x0, (double)c[i].y0, (double)s,
                                   (double)s) < p->min_tissue)
            bad_tissue++;
        for (int j = 0; j < i; j++) {
            if (c[j].slide != c[i].slide)
                continue;
            int64_t ox = s - llabs(c[i].x0 - c[j].x0), oy = s - llabs(c[i].y0 - c[j].y0);
            if (ox > 0 && oy > 0 && (double)(ox * oy) > p->max_overlap * (double)(s * s))
                bad_overlap++;
        }
    }
    CHECK(bad_extent == 0);
    CHECK(bad_tissue == 0);
    CHECK(bad_overlap == 0);
}

/* Field by field: the struct has padding after `slide`. */
static int same_crops(const G2cCropPos *a, const G2cCropPos *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i].slide != b[i].slide || a[i].x0 != b[i].x0 || a[i].y0 != b[i].y0)
            return 0;
    return 1;
}

static void count_per_slide(const G2cCropPos *c, int n, int *counts, int k)
{
    memset(counts, 0, (size_t)k * sizeof *counts);
    for (int i = 0; i < n; i++)
        counts[c[i].slide]++;
}

static void test_reproducible_and_valid(void)
{
    /* A ragged tissue region: a block with a bite out of it. */
    G2cTissueMask m;
    mask_with_block(&m, 200, 150, 2.0, 20, 10, 150, 120);
    for (int y = 40; y < 80; y++)
        memset(m.pixels + (size_t)y * 200 + 60, 0, 50);
    g2c_tissue_mask_update(&m);

    G2cSampleParams p = {.crop_size = 16, .min_tissue = 0.7, .max_overlap = 0.25,
                         .allocation = G2C_ALLOC_PROPORTIONAL, .seed = 42};
    G2cCropPos *a, *b, *c;
    CHECK_OK(g2c_sample_crops(&m, 1, 200, &p, &a));
    CHECK_OK(g2c_sample_crops(&m, 1, 200, &p, &b));
    if (a && b)
        CHECK(same_crops(a, b, 200));
    p.seed = 43;
    CHECK_OK(g2c_sample_crops(&m, 1, 200, &p, &c));
    if (a && c)
        CHECK(!same_crops(a, c, 200));
    p.seed = 42;
    if (a)
        check_crops(&m, a, 200, &p);
    free(a);
    free(b);
    free(c);

    /* Disjoint crops: touching is allowed, any shared pixel is not. */
    p.max_overlap = 0;
    p.min_tissue = 0.5;
    CHECK_OK(g2c_sample_crops(&m, 1, 80, &p, &a));
    if (a)
        check_crops(&m, a, 80, &p);
    free(a);
    g2c_tissue_mask_free(&m);
}

/* Many crops through the hashed grid, against the O(n²) brute force. */
static void test_many_crops(void)
{
    G2cTissueMask m;
    mask_with_block(&m, 400, 400, 3.0, 10, 10, 380, 380);
    G2cSampleParams p = {.crop_size = 20, .min_tissue = 0.9, .max_overlap = 0.5, .seed = 5};
    G2cCropPos *a;
    CHECK_OK(g2c_sample_crops(&m, 1, 2000, &p, &a));
    if (a)
        check_crops(&m, a, 2000, &p);
    free(a);
    g2c_tissue_mask_free(&m);
}

/* Candidates are centred on tissue pixels: with a single tissue pixel (and
 * no tissue or overlap limit) every crop's centre lies inside it; with two,
 * both are drawn. */
static void test_centred_on_tissue(void)
{
    G2cTissueMask m;
    mask_with_block(&m, 50, 50, 10.0, 17, 33, 1, 1);
    G2cSampleParams p = {.crop_size = 10, .min_tissue = 0, .max_overlap = 1, .seed = 8};
    G2cCropPos *c;
    CHECK_OK(g2c_sample_crops(&m, 1, 20, &p, &c));
    for (int i = 0; c && i < 20; i++) {
        CHECK(c[i].x0 >= 165 && c[i].x0 < 175);
        CHECK(c[i].y0 >= 325 && c[i].y0 < 335);
    }
    free(c);
    m.pixels[5 * 50 + 40] = 1;
    g2c_tissue_mask_update(&m);
    CHECK_OK(g2c_sample_crops(&m, 1, 40, &p, &c));
    int near_first = 0, near_second = 0;
    for (int i = 0; c && i < 40; i++) {
        near_first += c[i].x0 >= 165 && c[i].x0 < 175 && c[i].y0 >= 325 && c[i].y0 < 335;
        near_second += c[i].x0 >= 395 && c[i].x0 < 405 && c[i].y0 >= 45 && c[i].y0 < 55;
    }
    CHECK(near_first + near_second == 40);
    CHECK(near_first > 5 && near_second > 5);
    free(c);
    g2c_tissue_mask_free(&m);
}

/* Slide 0: 60x60 tissue px at 4 l0 px each = 57600 px²; slide 1: 15x20 at 8
 * = 19200 px².  Proportional: 3 : 1; even: 1 : 1. */
static void test_allocation(void)
{
    G2cTissueMask masks[2];
    mask_with_block(&masks[0], 100, 100, 4.0, 20, 20, 60, 60);
    mask_with_block(&masks[1], 40, 40, 8.0, 10, 10, 15, 20);
    G2cSampleParams p = {.crop_size = 16, .min_tissue = 0.6, .max_overlap = 0.25,
                         .allocation = G2C_ALLOC_PROPORTIONAL, .seed = 9};
    G2cCropPos *c;
    int counts[2];
    CHECK_OK(g2c_sample_crops(masks, 2, 40, &p, &c));
    if (c) {
        count_per_slide(c, 40, counts, 2);
        CHECK(counts[0] == 30 && counts[1] == 10);
        CHECK(c[0].slide == 0 && c[39].slide == 1); /* by slide, then draw order */
        check_crops(masks, c, 40, &p);
    }
    free(c);

    /* 41 = 30.75 + 10.25: the larger remainder gets the extra crop. */
    CHECK_OK(g2c_sample_crops(masks, 2, 41, &p, &c));
    if (c) {
        count_per_slide(c, 41, counts, 2);
        CHECK(counts[0] == 31 && counts[1] == 10);
    }
    free(c);

    p.allocation = G2C_ALLOC_EVEN;
    CHECK_OK(g2c_sample_crops(masks, 2, 41, &p, &c));
    if (c) {
        count_per_slide(c, 41, counts, 2);
        CHECK(counts[0] == 21 && counts[1] == 20); /* tie: lower index */
        check_crops(masks, c, 41, &p);
    }
    free(c);
    g2c_tissue_mask_free(&masks[0]);
    g2c_tissue_mask_free(&masks[1]);
}

static void test_errors(void)
{
    /* 20x20 tissue, 10 px disjoint crops: at most 4 fit, so 5 cannot. */
    G2cTissueMask masks[3];
    mask_with_block(&masks[0], 20, 20, 1.0, 0, 0, 20, 20);
    G2cSampleParams p = {.crop_size = 10, .min_tissue = 0.5, .max_overlap = 0,
                         .seed = 1, .patience = 500};
    G2cCropPos *c = (G2cCropPos *)&p;
    CHECK(g2c_sample_crops(masks, 1, 5, &p, &c) == -1);
    CHECK(c == NULL);
    const char *msg = g2c_error_message();
    CHECK(strstr(msg, "of 5 crops could be placed") != NULL);
    CHECK(strstr(msg, "slide 0 holds") != NULL);
    int placed = -1;
    CHECK(sscanf(strstr(msg, "only ") ? strstr(msg, "only ") : "", "only %d", &placed) == 1);
    CHECK(placed >= 1 && placed <= 4);

    /* A crop larger than the slide. */
    p.crop_size = 21;
    CHECK(g2c_sample_crops(masks, 1, 1, &p, &c) == -1);
    CHECK(strstr(g2c_error_message(), "only 0 of 1 crops") != NULL);

    /* A slide without tissue is named. */
    mask_with_block(&masks[1], 20, 20, 1.0, 0, 0, 0, 0);
    mask_with_block(&masks[2], 20, 20, 1.0, 0, 0, 10, 10);
    p.crop_size = 5;
    CHECK(g2c_sample_crops(masks, 3, 4, &p, &c) == -1);
    CHECK(strstr(g2c_error_message(), "slide 1 has no tissue") != NULL);
    CHECK(c == NULL);

    p.min_tissue = 1.5;
    CHECK(g2c_sample_crops(masks, 1, 4, &p, &c) == -1);
    CHECK(strstr(g2c_error_message(), "1.5") != NULL);
    p.min_tissue = 0.5;
    CHECK(g2c_sample_crops(masks, 1, 0, &p, &c) == -1);
    for (int i = 0; i < 3; i++)
        g2c_tissue_mask_free(&masks[i]);
}

int main(void)
{
    test_reproducible_and_valid();
    test_many_crops();
    test_centred_on_tissue();
    test_allocation();
    test_errors();
    return g2c_test_finish("refset-sample");
}
