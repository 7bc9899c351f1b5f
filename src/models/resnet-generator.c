/* CycleGAN's ResnetGenerator with norm='instance', padding_type='reflect'
 * and no dropout, with its state_dict names.  The Sequential indices count
 * every module, pads and norms included (model.0 is ReflectionPad2d(3),
 * model.1 the first Conv2d, ...); a ReflectionPad2d followed by an
 * unpadded Conv2d is one reflect-padded convolution here.  Instance norm
 * without affine parameters is why every convolution has a bias. */
#include "g2c/models.h"

#include "g2c/error.h"

#include <stdio.h>

enum { N_DOWN = 2 };

static int add(G2cConvNet *net, G2cParams *p, const char *name, int out_c,
               int kernel, int stride, int pad, G2cPadMode mode, int norm,
               G2cActKind act)
{
    G2cNetStage s = {0};
    snprintf(s.name, sizeof s.name, "%s", name);
    s.out_c = out_c;
    s.kernel = kernel;
    s.stride = stride;
    s.pad = pad;
    s.pad_mode = mode;
    s.norm = norm;
    s.act = act;
    s.skip_from = -1;
    return g2c_convnet_add(net, p, &s, 1);
}

/* ResnetBlock: conv_block.1 (after ReflectionPad2d(1) = .0), norm .2, ReLU
 * .3, pad .4, conv .5, norm .6; output = x + conv_block(x). */
static int add_block(G2cConvNet *net, G2cParams *p, int index, int dim)
{
    char name[G2C_NET_MAX_NAME];
    snprintf(name, sizeof name, "model.%d.conv_block.1", index);
    int first = add(net, p, name, dim, 3, 1, 1, G2C_PAD_REFLECT, 1,
                    G2C_ACT_RELU);
    if (first < 0)
        return -1;
    G2cNetStage s = {0};
    snprintf(s.name, sizeof s.name, "model.%d.conv_block.5", index);
    s.out_c = dim;
    s.kernel = 3;
    s.stride = 1;
    s.pad = 1;
    s.pad_mode = G2C_PAD_REFLECT;
    s.norm = 1;
    s.act = G2C_ACT_NONE;
    s.skip_from = first;
    return g2c_convnet_add(net, p, &s, 1) < 0 ? -1 : 0;
}

/* ConvTranspose2d(k3, s2, p1, output_padding 1): doubles the side. */
static int add_up(G2cConvNet *net, G2cParams *p, int index, int out_c)
{
    G2cNetStage s = {0};
    snprintf(s.name, sizeof s.name, "model.%d", index);
    s.transposed = 1;
    s.out_c = out_c;
    s.kernel = 3;
    s.stride = 2;
    s.pad = 1;
    s.output_pad = 1;
    s.norm = 1;
    s.act = G2C_ACT_RELU;
    s.skip_from = -1;
    return g2c_convnet_add(net, p, &s, 1) < 0 ? -1 : 0;
}

static int check_config(const G2cResnetGenConfig *c)
{
    if (c->in_c < 1 || c->out_c < 1 || c->ngf < 1)
        return g2c_error("in_c %d, out_c %d, ngf %d must be positive",
                         c->in_c, c->out_c, c->ngf);
    /* 3 + 2 per block + 3 stages must fit in a G2cConvNet. */
    int max_blocks = (G2C_NET_MAX_STAGES - 6) / 2;
    if (c->n_blocks < 0 || c->n_blocks > max_blocks)
        return g2c_error("n_blocks %d: 0 to %d supported", c->n_blocks,
                         max_blocks);
    return 0;
}

int g2c_resnet_gen_build(G2cConvNet *net, const G2cResnetGenConfig *cfg,
                         G2cParams *p, const char *prefix)
{
    if (check_config(cfg) != 0)
        return g2c_error_prefix("generator %s: ", prefix);
    g2c_convnet_begin(net, prefix, cfg->in_c);
    int rc = add(net, p, "model.1", cfg->ngf, 7, 1, 3, G2C_PAD_REFLECT, 1,
                 G2C_ACT_RELU);
    int index = 4, mult = 1;
    for (int i = 0; i < N_DOWN && rc >= 0; i++, index += 3, mult *= 2) {
        char name[G2C_NET_MAX_NAME];
        snprintf(name, sizeof name, "model.%d", index);
        rc = add(net, p, name, cfg->ngf * mult * 2, 3, 2, 1, G2C_PAD_ZERO, 1,
                 G2C_ACT_RELU);
    }
    for (int i = 0; i < cfg->n_blocks && rc >= 0; i++, index++)
        rc = add_block(net, p, index, cfg->ngf * mult);
    for (int i = 0; i < N_DOWN && rc >= 0; i++, index += 3) {
        mult /= 2;
        rc = add_up(net, p, index, cfg->ngf * mult);
    }
    if (rc >= 0) {
        char name[G2C_NET_MAX_NAME];
        snprintf(name, sizeof name, "model.%d", index + 1); /* after a pad */
        rc = add(net, p, name, cfg->out_c, 7, 1, 3, G2C_PAD_REFLECT, 0,
                 G2C_ACT_TANH);
    }
    return rc < 0 ? -1 : 0;
}
