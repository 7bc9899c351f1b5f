/* Colour statistics and the two-sample test on sets whose answer is known. */
#include "ingest/slides.h"
#include "testutil.h"

#include "g2c/error.h"
#include "g2c/quality.h"

#include <string.h>

enum { N = 48, SIZE = 32 };

/* Crops of the test-slide pattern: textured tissue-coloured blocks. */
static void make_set(G2cImage *set, uint64_t seed, int swap_red_green)
{
    for (int i = 0; i < N; i++) {
        G2cImage whole;
        test_slide_image(&whole, SIZE, SIZE * 2, seed * 1000 + (uint64_t)i);
        g2c_image_alloc(&set[i], SIZE, SIZE, 0);
        g2c_image_blit(&whole, 0, SIZE, SIZE, SIZE, &set[i], 0, 0);
        g2c_image_free(&whole);
        if (!swap_red_green)
            continue;
        for (int p = 0; p < SIZE * SIZE; p++) {
            uint8_t *px = set[i].rgb + 3 * p;
            uint8_t t = px[0];
            px[0] = px[1];
            px[1] = t;
        }
    }
}

static void free_set(G2cImage *set)
{
    for (int i = 0; i < N; i++)
        g2c_image_free(&set[i]);
}

static void lab_known_values(void)
{
    G2cImage img;
    g2c_image_alloc(&img, 2, 1, 255);
    G2cLabStats white;
    g2c_lab_stats(&img, 1, &white);
    CHECK_CLOSE(white.mean[0], 100.0, 0.01);
    CHECK_CLOSE(white.mean[1], 0.0, 0.01);
    CHECK_CLOSE(white.mean[2], 0.0, 0.01);
    CHECK_CLOSE(white.std[0], 0.0, 1e-6);
    memset(img.rgb, 0, 6);
    img.rgb[0] = 255; /* pure sRGB red, and black */
    G2cLabStats mix;
    g2c_lab_stats(&img, 1, &mix);
    CHECK_CLOSE(mix.mean[0], 53.24 / 2, 0.02);
    CHECK_CLOSE(mix.mean[1], 80.09 / 2, 0.05);
    CHECK_CLOSE(mix.std[0], 53.24 / 2, 0.02);
    CHECK_CLOSE(g2c_lab_distance(&white, &white), 0.0, 1e-12);
    CHECK(g2c_lab_distance(&white, &mix) > 50);
    g2c_image_free(&img);
}

int main(void)
{
    lab_known_values();

    G2cImage real[N], same[N], shifted[N];
    make_set(real, 1, 0);
    make_set(same, 2, 0);
    make_set(shifted, 3, 1);

    G2cLabStats a, b, c;
    g2c_lab_stats(real, N, &a);
    g2c_lab_stats(same, N, &b);
    g2c_lab_stats(shifted, N, &c);
    fprintf(stderr, "Lab distance: same process %.2f, red-green swapped %.2f\n",
            g2c_lab_distance(&a, &b), g2c_lab_distance(&a, &c));
    CHECK(g2c_lab_distance(&a, &b) < 2.0);
    CHECK(g2c_lab_distance(&a, &c) > 20.0);

    G2cTwoSampleConfig cfg;
    g2c_two_sample_config_default(&cfg);
    cfg.size = SIZE;
    G2cTwoSampleResult r;
    CHECK_OK(g2c_two_sample_test(real, N, shifted, N, &cfg, &r));
    fprintf(stderr, "two-sample, red-green swapped: held-out %.3f (train %.3f, n %d)\n",
            r.accuracy, r.train_accuracy, r.n_test);
    CHECK(r.n_test == N);
    CHECK(r.accuracy >= 0.9);
    CHECK_OK(g2c_two_sample_test(real, N, same, N, &cfg, &r));
    fprintf(stderr, "two-sample, same process: held-out %.3f (train %.3f)\n", r.accuracy,
            r.train_accuracy);
    CHECK(r.accuracy >= 0.25 && r.accuracy <= 0.75);

    /* Deterministic for a seed. */
    G2cTwoSampleResult again;
    CHECK_OK(g2c_two_sample_test(real, N, same, N, &cfg, &again));
    CHECK(again.accuracy == r.accuracy);

    CHECK(g2c_two_sample_test(real, 3, same, N, &cfg, &r) == -1);
    CHECK(strstr(g2c_error_message(), "at least 4") != NULL);
    free_set(real);
    free_set(same);
    free_set(shifted);
    return g2c_test_finish("quality");
}
