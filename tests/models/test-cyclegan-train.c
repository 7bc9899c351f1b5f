/* g2c_cyclegan_step as a training loop uses it: a tiny CycleGAN with the
 * image pool on and a batch of 2 trains for a few steps on fixed images
 * (cycle losses fall), two runs from one seed are bit-identical, identity
 * off gives zero identity losses, a non-finite loss stops the step before
 * anything changes, and bad configurations are refused with a message. */
#include "g2c/error.h"
#include "g2c/models.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { SIZE = 32, BATCH = 2, STEPS = 8 };

static G2cCycleGanConfig tiny(void)
{
    G2cCycleGanConfig c = g2c_cyclegan_default_config();
    c.gen.ngf = 4;
    c.gen.n_blocks = 1;
    c.disc.ndf = 4;
    c.batch = BATCH;
    c.height = c.width = SIZE;
    c.pool_size = 3;
    c.seed = 99;
    return c;
}

/* Two smooth "domains": A a horizontal ramp, B a vertical one. */
static void make_images(float *a, float *b)
{
    for (int n = 0; n < BATCH; n++)
        for (int ch = 0; ch < 3; ch++)
            for (int y = 0; y < SIZE; y++)
                for (int x = 0; x < SIZE; x++) {
                    size_t i = (((size_t)n * 3 + ch) * SIZE + y) * SIZE + x;
                    a[i] = (float)(x + 7 * ch + 3 * n) / SIZE - 1.0f;
                    b[i] = (float)(y - 5 * ch + 2 * n) / SIZE - 0.5f;
                }
}

static void train(G2cCycleGan *cg, const float *a, const float *b,
                  G2cCycleGanLosses *first, G2cCycleGanLosses *last)
{
    for (int t = 0; t < STEPS; t++) {
        G2cCycleGanLosses L;
        CHECK_OK(g2c_cyclegan_step(cg, a, b, 2e-3f, &L));
        CHECK(isfinite(L.G) && isfinite(L.D_A) && isfinite(L.D_B));
        if (t == 0)
            *first = L;
        *last = L;
    }
}

static void test_training(const float *a, const float *b)
{
    G2cCycleGanConfig cfg = tiny();
    G2cCycleGan cg1, cg2;
    CHECK_OK(g2c_cyclegan_init(&cg1, &cfg));
    CHECK_OK(g2c_cyclegan_init(&cg2, &cfg));
    G2cCycleGanLosses f1, l1, f2, l2;
    train(&cg1, a, b, &f1, &l1);
    train(&cg2, a, b, &f2, &l2);
    if (getenv("G2C_TEST_VERBOSE"))
        fprintf(stderr, "cycle_A %.4f -> %.4f, cycle_B %.4f -> %.4f, "
                        "D_A %.4f -> %.4f\n",
                f1.cycle_A, l1.cycle_A, f1.cycle_B, l1.cycle_B, f1.D_A,
                l1.D_A);
    CHECK(l1.cycle_A < 0.9f * f1.cycle_A);
    CHECK(l1.cycle_B < 0.9f * f1.cycle_B);
    CHECK(cg1.steps == STEPS && cg1.opt_G.step == STEPS &&
          cg1.opt_D.step == STEPS);
    CHECK(cg1.pool_A.count == 3 && cg1.pool_B.count == 3);
    CHECK(memcmp(&l1, &l2, sizeof l1) == 0);
    CHECK(memcmp(cg1.gen.data, cg2.gen.data,
                 cg1.gen.total * sizeof(float)) == 0);
    CHECK(memcmp(cg1.disc.data, cg2.disc.data,
                 cg1.disc.total * sizeof(float)) == 0);
    g2c_cyclegan_free(&cg1);
    g2c_cyclegan_free(&cg2);
}

static void test_no_identity(const float *a, const float *b)
{
    G2cCycleGanConfig cfg = tiny();
    cfg.lambda_idt = 0.0f;
    cfg.pool_size = 0;
    G2cCycleGan cg;
    CHECK_OK(g2c_cyclegan_init(&cg, &cfg));
    G2cCycleGanLosses L;
    CHECK_OK(g2c_cyclegan_step(&cg, a, b, 2e-4f, &L));
    CHECK(L.idt_A == 0.0f && L.idt_B == 0.0f);
    CHECK_CLOSE(L.G, L.G_A + L.G_B + L.cycle_A + L.cycle_B, 1e-5);
    g2c_cyclegan_free(&cg);
}

/* A NaN in the input makes the generator loss NaN: the step fails and the
 * weights stay as they were. */
static void test_nan(const float *a, const float *b)
{
    G2cCycleGanConfig cfg = tiny();
    G2cCycleGan cg;
    CHECK_OK(g2c_cyclegan_init(&cg, &cfg));
    size_t n = cg.image_n;
    float *bad = malloc(n * sizeof(float));
    float *w0 = malloc(cg.gen.total * sizeof(float));
    memcpy(bad, a, n * sizeof(float));
    bad[n / 2] = NAN;
    memcpy(w0, cg.gen.data, cg.gen.total * sizeof(float));
    CHECK(g2c_cyclegan_step(&cg, bad, b, 2e-4f, NULL) == -1);
    CHECK(strstr(g2c_error_message(), "CycleGAN step 1: generator loss") !=
          NULL);
    CHECK(memcmp(w0, cg.gen.data, cg.gen.total * sizeof(float)) == 0);
    CHECK(cg.steps == 0 && cg.opt_G.step == 0);
    free(bad);
    free(w0);
    g2c_cyclegan_free(&cg);
}

static void expect_init_error(G2cCycleGanConfig cfg, const char *needle)
{
    G2cCycleGan cg;
    CHECK(g2c_cyclegan_init(&cg, &cfg) == -1);
    if (!strstr(g2c_error_message(), needle)) {
        fprintf(stderr, "error \"%s\" does not mention \"%s\"\n",
                g2c_error_message(), needle);
        g2c_test_failures++;
    }
    g2c_cyclegan_free(&cg); /* harmless after a failed init */
}

static void test_bad_configs(void)
{
    G2cCycleGanConfig c = tiny();
    c.height = 30;
    expect_init_error(c, "CycleGAN: generator output 32x32 for 32x30 images");
    c = tiny();
    c.height = c.width = 16; /* the PatchGAN needs at least 24 */
    expect_init_error(c, "input 16x16: D_A.model.11: kernel 4 on a 1x1 input");
    c = tiny();
    c.gen.out_c = 1;
    expect_init_error(c, "CycleGAN: channels: generator 3 -> 1");
    c = tiny();
    c.lambda_idt = -1.0f;
    expect_init_error(c, "lambdas 10, 10, -1");
    c = tiny();
    c.pool_size = -2;
    expect_init_error(c, "pool size -2");
    c = tiny();
    c.gen.n_blocks = 1000;
    expect_init_error(c, "CycleGAN: generator G_A.: n_blocks 1000");
}

int main(void)
{
    size_t n = (size_t)BATCH * 3 * SIZE * SIZE;
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    make_images(a, b);
    test_training(a, b);
    test_no_identity(a, b);
    test_nan(a, b);
    test_bad_configs();
    free(a);
    free(b);
    return g2c_test_finish("cyclegan-train");
}
