/* A down-sampling unit of the classifier: residual block, cross-stain
 * attention (optional), max pool 3x3 s2 p1.
 *
 * The attention works across branches: the trunk holds them stacked
 * branch-major ([K*B, C, H, W]), the squeeze is [K*B, C], and the two FC
 * layers see each crop's K squeezes side by side ([B, K*C]). */
#include "classifier-private.h"

#include <stdio.h>

static int add_fc(G2cParams *p, const char *prefix, int index,
                  const char *fc, int in, int out, int *w, int *b)
{
    char name[256];
    int64_t ws[2] = {out, in}, bs[1] = {out};
    snprintf(name, sizeof name, "%sunits.%d.attention.%s.weight", prefix,
             index, fc);
    if ((*w = g2c_params_add(p, name, 2, ws, 1)) < 0)
        return -1;
    snprintf(name, sizeof name, "%sunits.%d.attention.%s.bias", prefix,
             index, fc);
    *b = g2c_params_add(p, name, 1, bs, 1);
    return *b < 0 ? -1 : 0;
}

static int block_op(ConvBn *op, G2cParams *p, const char *prefix, int index,
                    const char *conv, const char *bn, int in_c, int h, int w,
                    int c, int k, int relu)
{
    char cn[256], bnn[256];
    snprintf(cn, sizeof cn, "%sunits.%d.block.%s", prefix, index, conv);
    snprintf(bnn, sizeof bnn, "%sunits.%d.block.%s", prefix, index, bn);
    return convbn_register(op, p, cn, bnn, in_c, h, w, c, k, k, 1, k / 2,
                           k / 2, relu);
}

int unit_register(Unit *u, G2cParams *p, const char *prefix, int index,
                  int in_c, int h, int w, int c,
                  const G2cClassifierConfig *cfg)
{
    u->first = p->count;
    u->in_c = in_c;
    u->c = c;
    u->h = h;
    u->w = w;
    u->has_shortcut = in_c != c;
    if (block_op(&u->conv1, p, prefix, index, "conv1", "bn1", in_c, h, w, c,
                 3, 1) ||
        block_op(&u->conv2, p, prefix, index, "conv2", "bn2", c, h, w, c, 3,
                 0))
        return -1;
    if (u->has_shortcut &&
        block_op(&u->shortcut, p, prefix, index, "shortcut.conv",
                 "shortcut.bn", in_c, h, w, c, 1, 0))
        return -1;
    u->attention = cfg->attention;
    u->branches = cfg->branches;
    if (u->attention) {
        int kc = cfg->branches * c;
        u->hidden = kc / cfg->reduction > 0 ? kc / cfg->reduction : 1;
        if (add_fc(p, prefix, index, "fc1", kc, u->hidden, &u->fc1_w,
                   &u->fc1_b) ||
            add_fc(p, prefix, index, "fc2", u->hidden, kc, &u->fc2_w,
                   &u->fc2_b))
            return -1;
    }
    G2cPool2d q = {0, c, h, w, 3, 2, 1};
    u->pool = q;
    u->oh = g2c_pool2d_out_h(&q);
    u->ow = g2c_pool2d_out_w(&q);
    return 0;
}

void unit_init(const Unit *u, G2cParams *p, G2cRng *rng)
{
    convbn_init(&u->conv1, p, rng);
    convbn_init(&u->conv2, p, rng);
    if (u->has_shortcut)
        convbn_init(&u->shortcut, p, rng);
    if (u->attention) {
        int kc = u->branches * u->c;
        linear_init(p, u->fc1_w, u->fc1_b, kc, u->hidden, rng);
        linear_init(p, u->fc2_w, u->fc2_b, u->hidden, kc, rng);
    }
}

size_t unit_max_image(const Unit *u)
{
    int c = u->in_c > u->c ? u->in_c : u->c;
    return (size_t)c * u->h * u->w;
}

static void layout_convbn(const ConvBn *op, int n, ConvBnActs *a, float *y,
                          FloatBump *fb)
{
    size_t sz = (size_t)n * convbn_out_size(op);
    a->c = take_floats(fb, sz);
    a->y = y ? y : take_floats(fb, sz);
    a->mean = take_floats(fb, (size_t)op->geo.out_c);
    a->rstd = take_floats(fb, (size_t)op->geo.out_c);
}

void unit_layout(const Unit *u, int k, int b, UnitActs *a, float *tmp,
                 FloatBump *fb, IntBump *ib)
{
    const int n = k * b;
    const size_t map = (size_t)n * u->c * u->h * u->w;
    a->r = take_floats(fb, map);
    layout_convbn(&u->conv1, n, &a->conv1, NULL, fb);
    /* bn2 writes straight into r, the shortcut's BN into the shared tmp
     * (only the sum is kept). */
    layout_convbn(&u->conv2, n, &a->conv2, a->r, fb);
    if (u->has_shortcut)
        layout_convbn(&u->shortcut, n, &a->shortcut, tmp, fb);
    a->sq = a->z = a->h1 = a->e = a->ee = NULL;
    a->y = a->r;
    if (u->attention) {
        const size_t nc = (size_t)n * u->c;
        a->sq = take_floats(fb, nc);
        a->z = take_floats(fb, nc);
        a->h1 = take_floats(fb, (size_t)b * u->hidden);
        a->e = take_floats(fb, nc);
        a->ee = take_floats(fb, nc);
        a->y = take_floats(fb, map);
    }
    const size_t pooled = (size_t)n * u->c * u->oh * u->ow;
    a->p = take_floats(fb, pooled);
    a->p_arg = take_ints(ib, pooled);
}

static void attention_forward(const Unit *u, G2cParams *p, int k, int b,
                              UnitActs *a)
{
    const int n = k * b, c = u->c, hw = u->h * u->w, kc = k * c;
    g2c_gap_forward(n, c, hw, a->r, a->sq);
    branches_to_rows(k, b, c, a->sq, a->z);
    g2c_linear_forward(b, kc, u->hidden, a->z, g2c_params_value(p, u->fc1_w),
                       g2c_params_value(p, u->fc1_b), a->h1);
    g2c_relu_forward((size_t)b * u->hidden, a->h1, a->h1);
    g2c_linear_forward(b, u->hidden, kc, a->h1,
                       g2c_params_value(p, u->fc2_w),
                       g2c_params_value(p, u->fc2_b), a->e);
    g2c_sigmoid_forward((size_t)b * kc, a->e, a->e);
    rows_to_branches(k, b, c, a->e, a->ee);
    g2c_chanmul_forward(n, c, hw, a->r, a->ee, a->y);
}

void unit_forward(const Unit *u, G2cParams *p, int k, int b, float momentum,
                  float eps, int training, const float *x, UnitActs *a)
{
    const int n = k * b;
    const size_t map = (size_t)n * u->c * u->h * u->w;
    convbn_forward(&u->conv1, p, n, momentum, eps, training, x, &a->conv1);
    convbn_forward(&u->conv2, p, n, momentum, eps, training, a->conv1.y,
                   &a->conv2);
    if (u->has_shortcut) {
        convbn_forward(&u->shortcut, p, n, momentum, eps, training, x,
                       &a->shortcut);
        g2c_add_forward(map, a->r, a->shortcut.y, a->r);
    } else {
        g2c_add_forward(map, a->r, x, a->r);
    }
    g2c_relu_forward(map, a->r, a->r);
    if (u->attention)
        attention_forward(u, p, k, b, a);
    G2cPool2d q = u->pool;
    q.batch = n;
    g2c_maxpool2d_forward(&q, a->y, a->p, a->p_arg);
}

/* dy: gradient of the attention's output (given back); returns the
 * gradient of the block's output r. */
static float *attention_backward(const Unit *u, G2cParams *p, int k, int b,
                                 const UnitActs *a, float *dy, Workspace *ws)
{
    const int n = k * b, c = u->c, hw = u->h * u->w, kc = k * c;
    const size_t nc = (size_t)n * c;
    float *dr = ws_get(ws, nc * hw), *dee = ws_get(ws, nc);
    g2c_chanmul_backward(n, c, hw, a->r, a->ee, dy, dr, dee);
    ws_put(ws, dy);
    float *de = ws_get(ws, nc);
    branches_to_rows(k, b, c, dee, de);
    ws_put(ws, dee);
    float *dh2 = ws_get(ws, nc);
    g2c_sigmoid_backward(nc, a->e, de, dh2);
    ws_put(ws, de);
    float *dh1 = ws_get(ws, (size_t)b * u->hidden);
    g2c_linear_backward(b, u->hidden, kc, a->h1,
                        g2c_params_value(p, u->fc2_w), dh2, dh1,
                        g2c_params_gradient(p, u->fc2_w),
                        g2c_params_gradient(p, u->fc2_b));
    ws_put(ws, dh2);
    g2c_relu_mask((size_t)b * u->hidden, a->h1, dh1);
    float *dz = ws_get(ws, nc);
    g2c_linear_backward(b, kc, u->hidden, a->z, g2c_params_value(p, u->fc1_w),
                        dh1, dz, g2c_params_gradient(p, u->fc1_w),
                        g2c_params_gradient(p, u->fc1_b));
    ws_put(ws, dh1);
    float *dsq = ws_get(ws, nc);
    rows_to_branches(k, b, c, dz, dsq);
    ws_put(ws, dz);
    g2c_gap_backward(n, c, hw, dsq, dr);
    ws_put(ws, dsq);
    return dr;
}

float *unit_backward(const Unit *u, G2cParams *p, int k, int b, int training,
                     const float *x, const UnitActs *a, float *dp,
                     int want_dx, Workspace *ws)
{
    const int n = k * b;
    const size_t map = (size_t)n * u->c * u->h * u->w;
    float *dy = ws_get(ws, map);
    G2cPool2d q = u->pool;
    q.batch = n;
    g2c_maxpool2d_backward(&q, a->p_arg, dp, dy);
    ws_put(ws, dp);
    float *dsum = u->attention ? attention_backward(u, p, k, b, a, dy, ws)
                               : dy;
    g2c_relu_mask(map, a->r, dsum);
    float *dx = want_dx ? ws_get(ws, (size_t)n * u->in_c * u->h * u->w)
                        : NULL;
    /* The shortcut first: dsum is needed by both paths, and this order
     * keeps at most four gradients live. */
    if (u->has_shortcut)
        convbn_backward(&u->shortcut, p, n, training, x, &a->shortcut, dsum,
                        dx, ws);
    else if (dx)
        g2c_add_backward(map, dsum, dx, NULL);
    float *da1 = ws_get(ws, map);
    convbn_backward(&u->conv2, p, n, training, a->conv1.y, &a->conv2, dsum,
                    da1, ws);
    ws_put(ws, dsum);
    convbn_backward(&u->conv1, p, n, training, x, &a->conv1, da1, dx, ws);
    ws_put(ws, da1);
    return dx;
}
