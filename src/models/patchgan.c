/* CycleGAN's NLayerDiscriminator with norm='instance' (the 70x70 PatchGAN
 * for n_layers = 3), with its state_dict names: model.0 Conv + model.1
 * LeakyReLU, then Conv/norm/LeakyReLU triples, then the 1-channel Conv.
 * With instance norm every convolution has a bias. */
#include "g2c/models.h"

#include "g2c/error.h"

#include <stdio.h>

static const float SLOPE = 0.2f;

static int add(G2cConvNet *net, G2cParams *p, int index, int out_c,
               int stride, int norm, G2cActKind act)
{
    G2cNetStage s = {0};
    snprintf(s.name, sizeof s.name, "model.%d", index);
    s.out_c = out_c;
    s.kernel = 4;
    s.stride = stride;
    s.pad = 1;
    s.pad_mode = G2C_PAD_ZERO;
    s.norm = norm;
    s.act = act;
    s.slope = SLOPE;
    s.skip_from = -1;
    return g2c_convnet_add(net, p, &s, 1);
}

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

int g2c_patchgan_build(G2cConvNet *net, const G2cPatchGanConfig *cfg,
                       G2cParams *p, const char *prefix)
{
    if (cfg->in_c < 1 || cfg->ndf < 1 || cfg->n_layers < 1 ||
        cfg->n_layers > G2C_NET_MAX_STAGES - 2)
        return g2c_error("discriminator %s: in_c %d, ndf %d, n_layers %d: "
                         "invalid",
                         prefix, cfg->in_c, cfg->ndf, cfg->n_layers);
    g2c_convnet_begin(net, prefix, cfg->in_c);
    int rc = add(net, p, 0, cfg->ndf, 2, 0, G2C_ACT_LEAKY);
    int index = 2, mult = 1;
    /* Channels double per layer up to 8 ndf; the last of these keeps
     * stride 1, as in the original. */
    for (int n = 1; n <= cfg->n_layers && rc >= 0; n++, index += 3) {
        mult = min_int(1 << min_int(n, 3), 8);
        rc = add(net, p, index, cfg->ndf * mult, n < cfg->n_layers ? 2 : 1, 1,
                 G2C_ACT_LEAKY);
    }
    if (rc >= 0)
        rc = add(net, p, index, 1, 1, 0, G2C_ACT_NONE);
    return rc < 0 ? -1 : 0;
}
