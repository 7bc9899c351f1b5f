/* The classifier's stems (see include/g2c/classifier.h for both designs):
 * 'light', three conv-BN-ReLU and a max pool, and 'inception',
 * Inception-v4's stem scaled by a width w, with padding that keeps the two
 * sides of every concatenation the same size for any input size. */
#include "classifier-private.h"

#include <stdio.h>

/* ConvBn module <prefix>stem.<module>: .conv.weight and .bn.* */
static int reg(ConvBn *op, G2cParams *p, const char *prefix,
               const char *module, int in_c, int in_h, int in_w, int out_c,
               int kh, int kw, int stride, int ph, int pw)
{
    char conv[256], bn[256];
    snprintf(conv, sizeof conv, "%sstem.%s.conv", prefix, module);
    snprintf(bn, sizeof bn, "%sstem.%s.bn", prefix, module);
    return convbn_register(op, p, conv, bn, in_c, in_h, in_w, out_c, kh, kw,
                           stride, ph, pw, 1);
}

/* Max pool 3x3, stride 2, padding 1: out = ceil(in / 2). */
static G2cPool2d pool_of(int c, int h, int w)
{
    G2cPool2d q = {0, c, h, w, 3, 2, 1};
    return q;
}

static int register_light(Stem *s, G2cParams *p, const char *prefix, int w,
                          int size)
{
    if (reg(&s->op[0], p, prefix, "0", 3, size, size, w, 3, 3, 2, 1, 1))
        return -1;
    int h = s->op[0].oh, wd = s->op[0].ow;
    if (reg(&s->op[1], p, prefix, "1", w, h, wd, w, 3, 3, 1, 1, 1) ||
        reg(&s->op[2], p, prefix, "2", w, h, wd, w, 3, 3, 1, 1, 1))
        return -1;
    s->pool_a = pool_of(w, h, wd);
    s->n_ops = 3;
    s->out_c = w;
    s->out_h = g2c_pool2d_out_h(&s->pool_a);
    s->out_w = g2c_pool2d_out_w(&s->pool_a);
    return 0;
}

static int register_inception(Stem *s, G2cParams *p, const char *prefix,
                              int w, int size)
{
    ConvBn *o = s->op;
    if (reg(&o[0], p, prefix, "conv1", 3, size, size, w, 3, 3, 2, 1, 1))
        return -1;
    int h1 = o[0].oh, w1 = o[0].ow;
    if (reg(&o[1], p, prefix, "conv2", w, h1, w1, w, 3, 3, 1, 1, 1) ||
        reg(&o[2], p, prefix, "conv3", w, h1, w1, 2 * w, 3, 3, 1, 1, 1))
        return -1;
    s->pool_a = pool_of(2 * w, h1, w1);
    if (reg(&o[3], p, prefix, "mix3", 2 * w, h1, w1, 3 * w, 3, 3, 2, 1, 1))
        return -1;
    int h2 = o[3].oh, w2 = o[3].ow;
    /* mix4: [1x1, 3x3] and [1x1, 7x1, 1x7, 3x3] on the 5w channels. */
    if (reg(&o[4], p, prefix, "mix4a.0", 5 * w, h2, w2, 2 * w, 1, 1, 1, 0, 0) ||
        reg(&o[5], p, prefix, "mix4a.1", 2 * w, h2, w2, 3 * w, 3, 3, 1, 1, 1) ||
        reg(&o[6], p, prefix, "mix4b.0", 5 * w, h2, w2, 2 * w, 1, 1, 1, 0, 0) ||
        reg(&o[7], p, prefix, "mix4b.1", 2 * w, h2, w2, 2 * w, 7, 1, 1, 3, 0) ||
        reg(&o[8], p, prefix, "mix4b.2", 2 * w, h2, w2, 2 * w, 1, 7, 1, 0, 3) ||
        reg(&o[9], p, prefix, "mix4b.3", 2 * w, h2, w2, 3 * w, 3, 3, 1, 1, 1))
        return -1;
    if (reg(&o[10], p, prefix, "mix5", 6 * w, h2, w2, 6 * w, 3, 3, 2, 1, 1))
        return -1;
    s->pool_b = pool_of(6 * w, h2, w2);
    s->n_ops = 11;
    s->out_c = 12 * w;
    s->out_h = o[10].oh;
    s->out_w = o[10].ow;
    return 0;
}

int stem_register(Stem *s, G2cParams *p, const char *prefix,
                  const G2cClassifierConfig *cfg)
{
    s->kind = cfg->stem;
    if (cfg->stem == G2C_STEM_INCEPTION)
        return register_inception(s, p, prefix, cfg->stem_width,
                                  cfg->input_size);
    return register_light(s, p, prefix, cfg->stem_width, cfg->input_size);
}

void stem_init(const Stem *s, G2cParams *p, G2cRng *rng)
{
    for (int i = 0; i < s->n_ops; i++)
        convbn_init(&s->op[i], p, rng);
}

static size_t pool_size(const G2cPool2d *q)
{
    return (size_t)q->c * g2c_pool2d_out_h(q) * g2c_pool2d_out_w(q);
}

void stem_layout(const Stem *s, int n, StemActs *a, FloatBump *fb,
                 IntBump *ib)
{
    for (int i = 0; i < s->n_ops; i++) {
        size_t sz = (size_t)n * convbn_out_size(&s->op[i]);
        a->op[i].c = take_floats(fb, sz);
        a->op[i].y = take_floats(fb, sz);
        a->op[i].mean = take_floats(fb, (size_t)s->op[i].geo.out_c);
        a->op[i].rstd = take_floats(fb, (size_t)s->op[i].geo.out_c);
    }
    a->pa = take_floats(fb, (size_t)n * pool_size(&s->pool_a));
    a->pa_arg = take_ints(ib, (size_t)n * pool_size(&s->pool_a));
    a->pb = NULL;
    a->pb_arg = NULL;
    a->m3 = a->m4 = a->m5 = NULL;
    a->out = a->pa;
    if (s->kind != G2C_STEM_INCEPTION)
        return;
    const ConvBn *o = s->op;
    a->m3 = take_floats(fb, (size_t)n * (pool_size(&s->pool_a) +
                                         convbn_out_size(&o[3])));
    a->m4 = take_floats(fb, (size_t)n * (convbn_out_size(&o[5]) +
                                         convbn_out_size(&o[9])));
    a->pb = take_floats(fb, (size_t)n * pool_size(&s->pool_b));
    a->pb_arg = take_ints(ib, (size_t)n * pool_size(&s->pool_b));
    a->m5 = take_floats(fb, (size_t)n * (convbn_out_size(&o[10]) +
                                         pool_size(&s->pool_b)));
    a->out = a->m5;
}

size_t stem_max_image(const Stem *s)
{
    size_t m = pool_size(&s->pool_a);
    for (int i = 0; i < s->n_ops; i++)
        if (convbn_out_size(&s->op[i]) > m)
            m = convbn_out_size(&s->op[i]);
    if (s->kind == G2C_STEM_INCEPTION) {
        size_t cat[3] = {(size_t)5 * s->op[0].geo.out_c * s->op[3].oh *
                             s->op[3].ow,
                         (size_t)6 * s->op[0].geo.out_c * s->op[3].oh *
                             s->op[3].ow,
                         (size_t)s->out_c * s->out_h * s->out_w};
        for (int i = 0; i < 3; i++)
            if (cat[i] > m)
                m = cat[i];
    }
    return m;
}

typedef struct {
    G2cParams *p;
    int n, training;
    float momentum, eps;
} Pass;

static void fwd(const Pass *ps, const ConvBn *op, const float *x,
                ConvBnActs *a)
{
    convbn_forward(op, ps->p, ps->n, ps->momentum, ps->eps, ps->training, x,
                   a);
}

static void pool_fwd(const Pass *ps, const G2cPool2d *q, const float *x,
                     float *y, int32_t *arg)
{
    G2cPool2d g = *q;
    g.batch = ps->n;
    g2c_maxpool2d_forward(&g, x, y, arg);
}

/* Two parts of n images each, side by side along channels. */
static void cat2(int n, int hw, int c0, const float *x0, int c1,
                 const float *x1, float *y)
{
    const int ch[2] = {c0, c1};
    const float *xs[2] = {x0, x1};
    g2c_concat_forward(n, hw, 2, ch, xs, y);
}

void stem_forward(const Stem *s, G2cParams *p, int n, float momentum,
                  float eps, int training, const float *x, StemActs *a)
{
    const Pass ps = {p, n, training, momentum, eps};
    const ConvBn *o = s->op;
    ConvBnActs *oa = a->op;
    fwd(&ps, &o[0], x, &oa[0]);
    fwd(&ps, &o[1], oa[0].y, &oa[1]);
    fwd(&ps, &o[2], oa[1].y, &oa[2]);
    pool_fwd(&ps, &s->pool_a, oa[2].y, a->pa, a->pa_arg);
    if (s->kind != G2C_STEM_INCEPTION)
        return;
    const int hw2 = o[3].oh * o[3].ow, w = o[0].geo.out_c;
    fwd(&ps, &o[3], oa[2].y, &oa[3]);
    cat2(n, hw2, 2 * w, a->pa, 3 * w, oa[3].y, a->m3);
    fwd(&ps, &o[4], a->m3, &oa[4]);
    fwd(&ps, &o[5], oa[4].y, &oa[5]);
    fwd(&ps, &o[6], a->m3, &oa[6]);
    for (int i = 7; i <= 9; i++)
        fwd(&ps, &o[i], oa[i - 1].y, &oa[i]);
    cat2(n, hw2, 3 * w, oa[5].y, 3 * w, oa[9].y, a->m4);
    fwd(&ps, &o[10], a->m4, &oa[10]);
    pool_fwd(&ps, &s->pool_b, a->m4, a->pb, a->pb_arg);
    cat2(n, s->out_h * s->out_w, 6 * w, oa[10].y, 6 * w, a->pb, a->m5);
}

/* ---- backward ---------------------------------------------------------- */

typedef struct {
    G2cParams *p;
    int n, training;
    Workspace *ws;
} Back;

static float *get(const Back *b, size_t per_image)
{
    return ws_get(b->ws, (size_t)b->n * per_image);
}

/* Backward of op (dy consumed and given back); the input gradient goes
 * into dx, acquired here when the caller passes NULL and want is set. */
static float *bwd(const Back *b, const ConvBn *op, const float *x,
                  const ConvBnActs *a, float *dy, float *dx, int want,
                  size_t in_image)
{
    if (!dx && want)
        dx = get(b, in_image);
    convbn_backward(op, b->p, b->n, b->training, x, a, dy, dx, b->ws);
    ws_put(b->ws, dy);
    return dx;
}

static size_t in_size(const ConvBn *op)
{
    return (size_t)op->geo.in_c * op->geo.in_h * op->geo.in_w;
}

static void pool_bwd(const Back *b, const G2cPool2d *q, const int32_t *arg,
                     float *dy, float *dx)
{
    G2cPool2d g = *q;
    g.batch = b->n;
    g2c_maxpool2d_backward(&g, arg, dy, dx);
    ws_put(b->ws, dy);
}

/* Split the gradient of a two-part concatenation (given back). */
static void split2(const Back *b, int hw, int c0, float *d0, int c1,
                   float *d1, float *dcat)
{
    const int ch[2] = {c0, c1};
    float *const ds[2] = {d0, d1};
    g2c_concat_backward(b->n, hw, 2, ch, dcat, ds);
    ws_put(b->ws, dcat);
}

/* conv3's output gradient from mix3's, then down to the input. */
static float *back_to_input(const Stem *s, const Back *b, const float *x,
                            const StemActs *a, float *d2, int want_dx)
{
    const ConvBn *o = s->op;
    float *d1 = bwd(b, &o[2], a->op[1].y, &a->op[2], d2, NULL, 1,
                    in_size(&o[2]));
    float *d0 = bwd(b, &o[1], a->op[0].y, &a->op[1], d1, NULL, 1,
                    in_size(&o[1]));
    return bwd(b, &o[0], x, &a->op[0], d0, NULL, want_dx, in_size(&o[0]));
}

static float *backward_inception(const Stem *s, const Back *b,
                                 const float *x, const StemActs *a,
                                 float *dout, int want_dx)
{
    const ConvBn *o = s->op;
    const ConvBnActs *oa = a->op;
    const int w = o[0].geo.out_c, hw2 = o[3].oh * o[3].ow;
    const size_t m3 = (size_t)5 * w * hw2, m4 = (size_t)6 * w * hw2;
    /* mix5 = [conv | pool] of mix4 */
    float *d10 = get(b, convbn_out_size(&o[10]));
    float *dpb = get(b, pool_size(&s->pool_b));
    split2(b, s->out_h * s->out_w, 6 * w, d10, 6 * w, dpb, dout);
    float *dm4 = get(b, m4);
    pool_bwd(b, &s->pool_b, a->pb_arg, dpb, dm4);
    bwd(b, &o[10], a->m4, &oa[10], d10, dm4, 1, m4);
    /* mix4 = [a | b]; mix3's gradient is acquired at the last op of
     * branch b so that at most four buffers are live. */
    float *d5 = get(b, convbn_out_size(&o[5]));
    float *d9 = get(b, convbn_out_size(&o[9]));
    split2(b, hw2, 3 * w, d5, 3 * w, d9, dm4);
    float *d = d9;
    for (int i = 9; i >= 7; i--)
        d = bwd(b, &o[i], oa[i - 1].y, &oa[i], d, NULL, 1, in_size(&o[i]));
    float *dm3 = bwd(b, &o[6], a->m3, &oa[6], d, NULL, 1, m3);
    float *d4 = bwd(b, &o[5], oa[4].y, &oa[5], d5, NULL, 1, in_size(&o[5]));
    bwd(b, &o[4], a->m3, &oa[4], d4, dm3, 1, m3);
    /* mix3 = [pool | conv] of conv3 */
    float *dpa = get(b, pool_size(&s->pool_a));
    float *d3 = get(b, convbn_out_size(&o[3]));
    split2(b, hw2, 2 * w, dpa, 3 * w, d3, dm3);
    float *d2 = get(b, convbn_out_size(&o[2]));
    pool_bwd(b, &s->pool_a, a->pa_arg, dpa, d2);
    bwd(b, &o[3], oa[2].y, &oa[3], d3, d2, 1, convbn_out_size(&o[2]));
    return back_to_input(s, b, x, a, d2, want_dx);
}

float *stem_backward(const Stem *s, G2cParams *p, int n, int training,
                     const float *x, const StemActs *a, float *dout,
                     int want_dx, Workspace *ws)
{
    const Back b = {p, n, training, ws};
    if (s->kind == G2C_STEM_INCEPTION)
        return backward_inception(s, &b, x, a, dout, want_dx);
    float *d2 = get(&b, convbn_out_size(&s->op[2]));
    pool_bwd(&b, &s->pool_a, a->pa_arg, dout, d2);
    return back_to_input(s, &b, x, a, d2, want_dx);
}
