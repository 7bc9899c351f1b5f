/* One CycleGAN optimisation step (cycle_gan_model.py, optimize_parameters):
 *
 *   fake_B = G_A(real_A), rec_A = G_B(fake_B), fake_A = G_B(real_B),
 *   rec_B = G_A(fake_A), idt_A = G_A(real_B), idt_B = G_B(real_A);
 *   loss_G = LSGAN(D_A(fake_B), 1) + LSGAN(D_B(fake_A), 1)
 *          + lambda_A L1(rec_A, real_A) + lambda_B L1(rec_B, real_B)
 *          + lambda_idt (lambda_B L1(idt_A, real_B) + lambda_A L1(idt_B,
 *            real_A)),
 *   with D frozen; Adam on G_A + G_B; then
 *   loss_D_A = (LSGAN(D_A(real_B), 1) + LSGAN(D_A(pool(fake_B)), 0)) / 2,
 *   the same for D_B, and Adam on D_A + D_B.
 *
 * PyTorch keeps all six generator passes alive for one backward.  Here each
 * cycle is run forward and straight back (rec's gradient through the second
 * generator gives fake's, the discriminator adds its part, then the first
 * generator), so each generator holds one pass of activations at a time.
 * The gradients are the same sums, added in another order. */
#include "g2c/models.h"

#include "g2c/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

G2cCycleGanConfig g2c_cyclegan_default_config(void)
{
    G2cCycleGanConfig c = {
        .gen = {3, 3, 64, 6},
        .disc = {3, 64, 3},
        .batch = 1,
        .height = 128,
        .width = 128,
        .lambda_A = 10.0f,
        .lambda_B = 10.0f,
        .lambda_idt = 0.5f,
        .beta1 = 0.5f,
        .beta2 = 0.999f,
        .eps = 1e-8f,
        .pool_size = 50,
        .seed = 1,
    };
    return c;
}

/* ---- setup --------------------------------------------------------------- */

static int check_config(const G2cCycleGanConfig *c)
{
    /* Identity losses feed B images to G_A, so both domains have the same
     * channels, and so do the discriminators' inputs. */
    if (c->gen.in_c != c->gen.out_c || c->disc.in_c != c->gen.in_c)
        return g2c_error("channels: generator %d -> %d, discriminator %d: "
                         "all must be equal",
                         c->gen.in_c, c->gen.out_c, c->disc.in_c);
    if (c->batch < 1 || c->height < 1 || c->width < 1)
        return g2c_error("batch %d of %dx%d images: invalid", c->batch,
                         c->width, c->height);
    if (!(c->lambda_A >= 0) || !(c->lambda_B >= 0) || !(c->lambda_idt >= 0))
        return g2c_error("lambdas %g, %g, %g must be >= 0", c->lambda_A,
                         c->lambda_B, c->lambda_idt);
    if (c->pool_size < 0)
        return g2c_error("pool size %d must be >= 0", c->pool_size);
    return 0;
}

static int build(G2cCycleGan *cg)
{
    const G2cCycleGanConfig *c = &cg->cfg;
    if (g2c_resnet_gen_build(&cg->G_A, &c->gen, &cg->gen, "G_A.") != 0 ||
        g2c_resnet_gen_build(&cg->G_B, &c->gen, &cg->gen, "G_B.") != 0 ||
        g2c_patchgan_build(&cg->D_A, &c->disc, &cg->disc, "D_A.") != 0 ||
        g2c_patchgan_build(&cg->D_B, &c->disc, &cg->disc, "D_B.") != 0 ||
        g2c_params_finalize(&cg->gen) != 0 ||
        g2c_params_finalize(&cg->disc) != 0)
        return -1;
    G2cRng rng;
    g2c_rng_seed(&rng, c->seed);
    g2c_convnet_init(&cg->G_A, &cg->gen, 0.02f, &rng);
    g2c_convnet_init(&cg->G_B, &cg->gen, 0.02f, &rng);
    g2c_convnet_init(&cg->D_A, &cg->disc, 0.02f, &rng);
    g2c_convnet_init(&cg->D_B, &cg->disc, 0.02f, &rng);
    /* The pools draw from their own stream, so that changing the pool size
     * leaves the initial weights alone. */
    g2c_rng_seed(&cg->rng, c->seed ^ 0x706f6f6cULL);
    G2cOptConfig adam = {G2C_OPT_ADAM, 2e-4f, 0, 0, c->beta1, c->beta2,
                         c->eps};
    if (g2c_optim_init(&cg->opt_G, &cg->gen, adam) != 0 ||
        g2c_optim_init(&cg->opt_D, &cg->disc, adam) != 0)
        return -1;
    return 0;
}

static int alloc_acts(G2cCycleGan *cg)
{
    const G2cCycleGanConfig *c = &cg->cfg;
    if (g2c_net_acts_init(&cg->acts_G_A, &cg->G_A, c->batch, c->height,
                          c->width) != 0 ||
        g2c_net_acts_init(&cg->acts_G_B, &cg->G_B, c->batch, c->height,
                          c->width) != 0 ||
        g2c_net_acts_init(&cg->acts_D, &cg->D_A, c->batch, c->height,
                          c->width) != 0)
        return -1;
    if (cg->acts_G_A.out_h != c->height || cg->acts_G_A.out_w != c->width)
        return g2c_error("generator output %dx%d for %dx%d images: sides "
                         "must be multiples of 4",
                         cg->acts_G_A.out_w, cg->acts_G_A.out_h, c->width,
                         c->height);
    return 0;
}

/* fake_A .. idt_B, then d_img, d_fake, pooled, d_pred. */
static int alloc_images(G2cCycleGan *cg)
{
    const G2cCycleGanConfig *c = &cg->cfg;
    const size_t one = (size_t)c->gen.out_c * c->height * c->width;
    const size_t pred = (size_t)c->batch * cg->acts_D.out_c *
                        cg->acts_D.out_h * cg->acts_D.out_w;
    cg->image_n = one * c->batch;
    cg->work = malloc((9 * cg->image_n + pred) * sizeof(float));
    if (!cg->work)
        return g2c_error("out of memory for the step's images");
    float **images[6] = {&cg->fake_A, &cg->fake_B, &cg->rec_A,
                         &cg->rec_B,  &cg->idt_A,  &cg->idt_B};
    for (int i = 0; i < 6; i++)
        *images[i] = cg->work + (size_t)(3 + i) * cg->image_n;
    memset(cg->work, 0, 9 * cg->image_n * sizeof(float));
    if (g2c_image_pool_init(&cg->pool_A, c->pool_size, one) != 0 ||
        g2c_image_pool_init(&cg->pool_B, c->pool_size, one) != 0)
        return -1;
    return 0;
}

int g2c_cyclegan_init(G2cCycleGan *cg, const G2cCycleGanConfig *cfg)
{
    memset(cg, 0, sizeof *cg);
    cg->cfg = *cfg;
    g2c_params_init(&cg->gen);
    g2c_params_init(&cg->disc);
    if (check_config(cfg) != 0 || build(cg) != 0 || alloc_acts(cg) != 0 ||
        alloc_images(cg) != 0) {
        g2c_error_prefix("CycleGAN: ");
        g2c_cyclegan_free(cg);
        return -1;
    }
    return 0;
}

void g2c_cyclegan_free(G2cCycleGan *cg)
{
    g2c_net_acts_free(&cg->acts_G_A);
    g2c_net_acts_free(&cg->acts_G_B);
    g2c_net_acts_free(&cg->acts_D);
    g2c_image_pool_free(&cg->pool_A);
    g2c_image_pool_free(&cg->pool_B);
    g2c_optim_free(&cg->opt_G);
    g2c_optim_free(&cg->opt_D);
    g2c_params_free(&cg->gen);
    g2c_params_free(&cg->disc);
    free(cg->work);
    cg->work = NULL;
}

/* ---- the step ----------------------------------------------------------- */

typedef struct {
    float *d_img, *d_fake, *pooled, *d_pred;
    size_t pred_n;
} Work;

static Work work_of(const G2cCycleGan *cg)
{
    Work w = {cg->work, cg->work + cg->image_n, cg->work + 2 * cg->image_n,
              cg->work + 9 * cg->image_n,
              (size_t)cg->acts_D.batch * cg->acts_D.out_c * cg->acts_D.out_h *
                  cg->acts_D.out_w};
    return w;
}

/* real -> fake by gen -> rec by back: adds the gradients of
 * LSGAN(D(fake), 1) + lambda L1(rec, real) into both generators. */
static void cycle(G2cCycleGan *cg, const G2cConvNet *gen, G2cNetActs *ga,
                  const G2cConvNet *back, G2cNetActs *ba,
                  const G2cConvNet *disc, const float *real, float lambda,
                  float *fake, float *rec, float *loss_gan, float *loss_cycle)
{
    const size_t n = cg->image_n;
    Work w = work_of(cg);
    g2c_convnet_forward(gen, &cg->gen, real, ga);
    memcpy(fake, ga->out, n * sizeof(float));
    g2c_convnet_forward(back, &cg->gen, fake, ba);
    memcpy(rec, ba->out, n * sizeof(float));
    memset(w.d_img, 0, n * sizeof(float));
    *loss_cycle = lambda * g2c_l1_loss(n, rec, real, w.d_img, lambda);
    memset(w.d_fake, 0, n * sizeof(float));
    g2c_convnet_backward(back, &cg->gen, ba, w.d_img, w.d_fake);
    g2c_convnet_forward(disc, &cg->disc, fake, &cg->acts_D);
    memset(w.d_pred, 0, w.pred_n * sizeof(float));
    *loss_gan = g2c_mse_const_loss(w.pred_n, cg->acts_D.out, 1.0f, w.d_pred,
                                   1.0f);
    g2c_convnet_backward(disc, &cg->disc, &cg->acts_D, w.d_pred, w.d_fake);
    g2c_convnet_backward(gen, &cg->gen, ga, w.d_fake, NULL);
}

/* weight * L1(gen(real), real), with its gradient into gen. */
static float identity(G2cCycleGan *cg, const G2cConvNet *gen, G2cNetActs *ga,
                      const float *real, float weight, float *idt)
{
    const size_t n = cg->image_n;
    Work w = work_of(cg);
    g2c_convnet_forward(gen, &cg->gen, real, ga);
    memcpy(idt, ga->out, n * sizeof(float));
    memset(w.d_img, 0, n * sizeof(float));
    float loss = weight * g2c_l1_loss(n, idt, real, w.d_img, weight);
    g2c_convnet_backward(gen, &cg->gen, ga, w.d_img, NULL);
    return loss;
}

static void generator_pass(G2cCycleGan *cg, const float *real_A,
                           const float *real_B, G2cCycleGanLosses *L)
{
    const G2cCycleGanConfig *c = &cg->cfg;
    g2c_params_zero_grad(&cg->gen);
    g2c_params_set_frozen(&cg->disc, "", 1); /* only dx through D */
    cycle(cg, &cg->G_A, &cg->acts_G_A, &cg->G_B, &cg->acts_G_B, &cg->D_A,
          real_A, c->lambda_A, cg->fake_B, cg->rec_A, &L->G_A, &L->cycle_A);
    cycle(cg, &cg->G_B, &cg->acts_G_B, &cg->G_A, &cg->acts_G_A, &cg->D_B,
          real_B, c->lambda_B, cg->fake_A, cg->rec_B, &L->G_B, &L->cycle_B);
    g2c_params_set_frozen(&cg->disc, "", 0);
    L->idt_A = L->idt_B = 0.0f;
    if (c->lambda_idt > 0) {
        L->idt_A = identity(cg, &cg->G_A, &cg->acts_G_A, real_B,
                            c->lambda_B * c->lambda_idt, cg->idt_A);
        L->idt_B = identity(cg, &cg->G_B, &cg->acts_G_B, real_A,
                            c->lambda_A * c->lambda_idt, cg->idt_B);
    }
    L->G = L->G_A + L->G_B + L->cycle_A + L->cycle_B + L->idt_A + L->idt_B;
}

/* 0.5 (LSGAN(D(real), 1) + LSGAN(D(pool(fake)), 0)), gradients into D. */
static float disc_loss(G2cCycleGan *cg, const G2cConvNet *disc,
                       const float *real, const float *fake,
                       G2cImagePool *pool)
{
    Work w = work_of(cg);
    g2c_convnet_forward(disc, &cg->disc, real, &cg->acts_D);
    memset(w.d_pred, 0, w.pred_n * sizeof(float));
    float l_real = g2c_mse_const_loss(w.pred_n, cg->acts_D.out, 1.0f,
                                      w.d_pred, 0.5f);
    g2c_convnet_backward(disc, &cg->disc, &cg->acts_D, w.d_pred, NULL);
    g2c_image_pool_query(pool, &cg->rng, cg->cfg.batch, fake, w.pooled);
    g2c_convnet_forward(disc, &cg->disc, w.pooled, &cg->acts_D);
    memset(w.d_pred, 0, w.pred_n * sizeof(float));
    float l_fake = g2c_mse_const_loss(w.pred_n, cg->acts_D.out, 0.0f,
                                      w.d_pred, 0.5f);
    g2c_convnet_backward(disc, &cg->disc, &cg->acts_D, w.d_pred, NULL);
    return 0.5f * (l_real + l_fake);
}

int g2c_cyclegan_step(G2cCycleGan *cg, const float *real_A,
                      const float *real_B, float lr, G2cCycleGanLosses *out)
{
    G2cCycleGanLosses L = {0};
    generator_pass(cg, real_A, real_B, &L);
    if (!isfinite(L.G))
        return g2c_error("CycleGAN step %lld: generator loss %g (G_A %g, "
                         "G_B %g, cycle %g %g, idt %g %g); nothing updated",
                         (long long)cg->steps + 1, L.G, L.G_A, L.G_B,
                         L.cycle_A, L.cycle_B, L.idt_A, L.idt_B);
    g2c_optim_step(&cg->opt_G, lr);
    g2c_params_zero_grad(&cg->disc);
    L.D_A = disc_loss(cg, &cg->D_A, real_B, cg->fake_B, &cg->pool_B);
    L.D_B = disc_loss(cg, &cg->D_B, real_A, cg->fake_A, &cg->pool_A);
    if (!isfinite(L.D_A + L.D_B))
        return g2c_error("CycleGAN step %lld: discriminator loss D_A %g, "
                         "D_B %g; discriminators not updated",
                         (long long)cg->steps + 1, L.D_A, L.D_B);
    g2c_optim_step(&cg->opt_D, lr);
    cg->steps++;
    if (out)
        *out = L;
    return 0;
}
