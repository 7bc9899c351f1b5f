/* The CycleGAN networks of G2C on the nn engine, and one whole CycleGAN
 * training step.
 *
 * Both networks of Zhu et al.'s CycleGAN (junyanz/pytorch-CycleGAN-and-
 * pix2pix, networks.py) are chains of "stages": a convolution (or
 * transposed convolution), optionally InstanceNorm2d(affine=False), an
 * activation, and for the second half of a ResnetBlock the skip addition.
 * A G2cConvNet is such a chain; the builders below lay out the ResNet
 * generator and the 70x70 PatchGAN with the state_dict names of the original
 * (model.1.weight, model.10.conv_block.5.bias, ...), registered in a
 * G2cParams under a prefix ("G_A.") so that several networks share one
 * G2cParams and g2c_params_set_frozen(prefix) freezes one of them.
 *
 * Activations live in a G2cNetActs sized once for a batch and an image
 * size.  g2c_convnet_backward follows the engine's rules: it ADDS into the
 * parameter gradients (NULL for frozen tensors: that work is skipped) and
 * into dx when dx is not NULL, so gradients from several losses, several
 * passes through the same network, or from another network fed by this one
 * (the G2C classifier) simply add up.
 */
#ifndef G2C_MODELS_H
#define G2C_MODELS_H

#include <stddef.h>
#include <stdint.h>

#include "g2c/nn.h"
#include "g2c/rng.h"

/* ---- chains of convolution stages ------------------------------------- */

enum { G2C_NET_MAX_STAGES = 64, G2C_NET_MAX_NAME = 48 };

typedef enum {
    G2C_ACT_NONE = 0,
    G2C_ACT_RELU,
    G2C_ACT_LEAKY, /* LeakyReLU(slope) */
    G2C_ACT_TANH,
} G2cActKind;

/* One stage: conv -> [instance norm] -> [activation] -> [+ skip]. */
typedef struct {
    char name[G2C_NET_MAX_NAME]; /* conv's module path, e.g. "model.1" */
    int transposed;              /* ConvTranspose2d (zero padding) */
    int in_c, out_c, kernel, stride, pad, output_pad;
    G2cPadMode pad_mode; /* G2C_PAD_REFLECT stands for ReflectionPad2d(pad) */
    int norm;            /* InstanceNorm2d(out_c), affine=False, eps 1e-5 */
    G2cActKind act;
    float slope;      /* LeakyReLU's negative slope */
    int skip_from;    /* add the INPUT of stage skip_from (-1: no skip) */
    int weight, bias; /* tensor indices in the G2cParams; bias -1: none */
} G2cNetStage;

typedef struct {
    char prefix[G2C_NET_MAX_NAME]; /* of every tensor name, e.g. "G_A." */
    int in_c;
    int count;
    G2cNetStage stage[G2C_NET_MAX_STAGES];
} G2cConvNet;

/* Start an empty chain taking in_c channels. */
void g2c_convnet_begin(G2cConvNet *net, const char *prefix, int in_c);
/* Append a stage and register "<prefix><name>.weight" (and ".bias" when
 * bias) in p, which must not be finalized yet.  The stage's in_c is the
 * previous stage's out_c.  Returns the stage index, or -1. */
int g2c_convnet_add(G2cConvNet *net, G2cParams *p, const G2cNetStage *spec,
                    int bias);
/* CycleGAN's init_weights('normal', 0.02): every convolution weight
 * N(0, std), biases 0.  Draws in stage order from rng. */
void g2c_convnet_init(const G2cConvNet *net, G2cParams *p, float std,
                      G2cRng *rng);

/* Saved activations of one forward pass, for its backward pass. */
typedef struct {
    int batch, in_h, in_w; /* what it was sized for */
    const float *x;        /* the input of the last forward (not owned) */
    float *out;            /* [batch, out_c, out_h, out_w] */
    int out_c, out_h, out_w;
    int h[G2C_NET_MAX_STAGES], w[G2C_NET_MAX_STAGES]; /* stage outputs */
    float *pre[G2C_NET_MAX_STAGES];  /* conv outputs where a norm follows */
    float *post[G2C_NET_MAX_STAGES]; /* stage outputs */
    float *mean[G2C_NET_MAX_STAGES], *rstd[G2C_NET_MAX_STAGES];
    float *grad[3]; /* backward scratch, grad_n floats each */
    size_t grad_n;
    size_t total; /* floats allocated, scratch included */
    float *mem;
} G2cNetActs;

/* Size activations for net on [batch, net->in_c, h, w] inputs; fails when
 * a stage would get an empty output or a reflection pad wider than its
 * input (the message names the stage). */
int g2c_net_acts_init(G2cNetActs *a, const G2cConvNet *net, int batch, int h,
                      int w);
void g2c_net_acts_free(G2cNetActs *a);

/* x [batch, in_c, h, w] as sized; the output is a->out.  x must stay
 * unchanged until the matching backward. */
void g2c_convnet_forward(const G2cConvNet *net, G2cParams *p, const float *x,
                         G2cNetActs *a);
/* dout: gradient of the loss with respect to a->out (read only).  ADDS
 * into the gradients of the unfrozen tensors of net and into dx [like x]
 * when dx is not NULL. */
void g2c_convnet_backward(const G2cConvNet *net, G2cParams *p, G2cNetActs *a,
                          const float *dout, float *dx);

/* ---- ResNet generator (ResnetGenerator, norm 'instance', reflect) ------ */

typedef struct {
    int in_c, out_c; /* image channels: 3 and 3 */
    int ngf;         /* filters of the first layer: 64 */
    int n_blocks;    /* residual blocks: 6 for 128 px, 9 for 256 px */
} G2cResnetGenConfig;

/* c7s1-ngf, d(2ngf), d(4ngf), n_blocks x R(4ngf), u(2ngf), u(ngf),
 * c7s1-out_c + tanh.  Inputs need a side divisible by 4 and at least 8. */
int g2c_resnet_gen_build(G2cConvNet *net, const G2cResnetGenConfig *cfg,
                         G2cParams *p, const char *prefix);

/* ---- PatchGAN discriminator (NLayerDiscriminator, norm 'instance') ----- */

typedef struct {
    int in_c;     /* 3 */
    int ndf;      /* 64 */
    int n_layers; /* 3 gives the 70x70 PatchGAN */
} G2cPatchGanConfig;

/* Output [batch, 1, oh, ow] of raw scores (LSGAN: no sigmoid).  With
 * n_layers = 3 an input side s gives s/8 - 2 (a 32 px input gives 2x2). */
int g2c_patchgan_build(G2cConvNet *net, const G2cPatchGanConfig *cfg,
                       G2cParams *p, const char *prefix);

/* ---- image pool (CycleGAN's ImagePool) -------------------------------- */

/* A history of generated images shown to the discriminator: until it is
 * full each image goes in and comes back; then each image is, with
 * probability 1/2, swapped with a random stored one (which is returned). */
typedef struct {
    int capacity, count;
    size_t image_n; /* floats per image */
    float *images;
} G2cImagePool;

/* capacity 0 gives a pool that returns every image unchanged. */
int g2c_image_pool_init(G2cImagePool *pool, int capacity, size_t image_n);
void g2c_image_pool_free(G2cImagePool *pool);
/* batch images in -> batch images out (out != in). */
void g2c_image_pool_query(G2cImagePool *pool, G2cRng *rng, int batch,
                          const float *in, float *out);

/* ---- one CycleGAN training step --------------------------------------- */

typedef struct {
    G2cResnetGenConfig gen;
    G2cPatchGanConfig disc;
    int batch, height, width; /* real_A / real_B: [batch, 3, height, width] */
    float lambda_A, lambda_B; /* cycle weights: 10, 10 */
    float lambda_idt;         /* identity weight, times lambda: 0.5 (0: off) */
    float beta1, beta2, eps;  /* Adam for both G and D: 0.5, 0.999, 1e-8 */
    int pool_size;            /* 50; 0: D sees the newest fakes */
    uint64_t seed;            /* initial weights and the pool's draws */
} G2cCycleGanConfig;

/* CycleGAN's defaults for 128 px crops: ngf 64, 6 blocks, ndf 64, 3 layers,
 * batch 1, lambdas 10/10/0.5, Adam (0.5, 0.999), pool 50. */
G2cCycleGanConfig g2c_cyclegan_default_config(void);

/* The loss terms of one step, named as in cycle_gan_model.py. */
typedef struct {
    float G_A, G_B;         /* LSGAN(D_A(fake_B), 1), LSGAN(D_B(fake_A), 1) */
    float cycle_A, cycle_B; /* lambda_A * L1(rec_A, real_A), ... */
    float idt_A, idt_B;     /* lambda_B * lambda_idt * L1(G_A(real_B), real_B) */
    float G;                /* the sum of the six */
    float D_A, D_B;         /* 0.5 * (LSGAN(real, 1) + LSGAN(fake, 0)) */
} G2cCycleGanLosses;

/* G_A: A -> B, judged by D_A; G_B: B -> A, judged by D_B.  Generators and
 * discriminators have their own parameters and Adam optimizers, so each
 * pair can be checkpointed on its own (gen: "G_A.", "G_B."; disc: "D_A.",
 * "D_B."). */
typedef struct {
    G2cCycleGanConfig cfg;
    G2cParams gen, disc;
    G2cConvNet G_A, G_B, D_A, D_B;
    G2cOptimizer opt_G, opt_D;
    G2cNetActs acts_G_A, acts_G_B, acts_D;
    G2cImagePool pool_A, pool_B; /* of fake_A and fake_B */
    G2cRng rng;                  /* the pools' draws */
    int64_t steps;
    /* The images of the last step, [batch, out_c, height, width] each. */
    float *fake_A, *fake_B, *rec_A, *rec_B, *idt_A, *idt_B;
    float *work; /* gradient and pool buffers */
    size_t image_n;
} G2cCycleGan;

/* Build the four networks, allocate everything, initialize the weights
 * with N(0, 0.02) from cfg->seed. */
int g2c_cyclegan_init(G2cCycleGan *cg, const G2cCycleGanConfig *cfg);
void g2c_cyclegan_free(G2cCycleGan *cg);

/* One optimize_parameters() of the original: generators updated with the
 * discriminators frozen, then the discriminators on real images and
 * (pooled) fakes made before the generator update.  Fails, before the
 * generators are updated, when a generator loss is not finite. */
int g2c_cyclegan_step(G2cCycleGan *cg, const float *real_A,
                      const float *real_B, float lr, G2cCycleGanLosses *out);

#endif
