/* Chains of convolution stages (conv -> instance norm -> activation ->
 * skip add), shared by the ResNet generator and the PatchGAN.
 *
 * Memory: a stage keeps its convolution output only when a norm follows
 * (instance-norm backward needs its input), and its activation is applied
 * in place (ReLU/LeakyReLU backward can read the output instead of the
 * input: both are positive at the same places; tanh needs the output).
 * Backward runs through three rotating scratch buffers: the one holding
 * the gradient of the current stage's output, the one being written, and
 * one holding the gradient of a ResnetBlock's output until the block's
 * first convolution adds its input gradient into it. */
#include "g2c/models.h"

#include "g2c/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const float IN_EPS = 1e-5f;
enum { ALIGN = 16 }; /* floats: 64-byte aligned buffers */

void g2c_convnet_begin(G2cConvNet *net, const char *prefix, int in_c)
{
    memset(net, 0, sizeof *net);
    snprintf(net->prefix, sizeof net->prefix, "%s", prefix);
    net->in_c = in_c;
}

static int check_spec(const G2cConvNet *net, const G2cNetStage *s)
{
    if (net->count >= G2C_NET_MAX_STAGES)
        return g2c_error("more than %d stages", G2C_NET_MAX_STAGES);
    if (s->out_c < 1 || s->kernel < 1 || s->stride < 1 || s->pad < 0 ||
        s->output_pad < 0)
        return g2c_error("out_c %d, kernel %d, stride %d, pad %d, "
                         "output_pad %d: invalid",
                         s->out_c, s->kernel, s->stride, s->pad,
                         s->output_pad);
    if (s->transposed && s->pad_mode != G2C_PAD_ZERO)
        return g2c_error("transposed convolutions pad with zeros only");
    if (s->skip_from >= net->count + 1 || s->skip_from < -1)
        return g2c_error("skip from stage %d: not an earlier stage",
                         s->skip_from);
    if (s->skip_from >= 0 && s->act != G2C_ACT_NONE)
        return g2c_error("a skip stage cannot have an activation");
    /* Skips may not overlap: backward holds one skip gradient at a time. */
    for (int i = s->skip_from < 0 ? net->count : s->skip_from; i < net->count;
         i++)
        if (net->stage[i].skip_from >= 0)
            return g2c_error("skip from stage %d overlaps stage %d's skip",
                             s->skip_from, i);
    return 0;
}

static int register_tensors(G2cConvNet *net, G2cParams *p, G2cNetStage *s,
                            int bias)
{
    char name[G2C_MAX_NAME];
    int64_t w_shape[4] = {s->out_c, s->in_c, s->kernel, s->kernel};
    if (s->transposed) { /* PyTorch: [in, out, k, k] */
        w_shape[0] = s->in_c;
        w_shape[1] = s->out_c;
    }
    snprintf(name, sizeof name, "%s%s.weight", net->prefix, s->name);
    s->weight = g2c_params_add(p, name, 4, w_shape, 1);
    if (s->weight < 0)
        return -1;
    s->bias = -1;
    if (!bias)
        return 0;
    int64_t b_shape[1] = {s->out_c};
    snprintf(name, sizeof name, "%s%s.bias", net->prefix, s->name);
    s->bias = g2c_params_add(p, name, 1, b_shape, 1);
    return s->bias < 0 ? -1 : 0;
}

int g2c_convnet_add(G2cConvNet *net, G2cParams *p, const G2cNetStage *spec,
                    int bias)
{
    if (check_spec(net, spec) != 0)
        return g2c_error_prefix("%s%s: ", net->prefix, spec->name);
    G2cNetStage *s = &net->stage[net->count];
    *s = *spec;
    s->in_c = net->count ? net->stage[net->count - 1].out_c : net->in_c;
    if (s->skip_from >= 0) {
        int skip_c = s->skip_from ? net->stage[s->skip_from - 1].out_c
                                  : net->in_c;
        if (skip_c != s->out_c)
            return g2c_error("%s%s: skip of %d channels onto %d",
                             net->prefix, s->name, skip_c, s->out_c);
    }
    if (register_tensors(net, p, s, bias) != 0)
        return -1;
    return net->count++;
}

void g2c_convnet_init(const G2cConvNet *net, G2cParams *p, float std,
                      G2cRng *rng)
{
    for (int i = 0; i < net->count; i++) {
        const G2cNetStage *s = &net->stage[i];
        g2c_init_normal(g2c_params_value(p, s->weight),
                        p->tensors[s->weight].numel, 0.0f, std, rng);
        if (s->bias >= 0)
            memset(g2c_params_value(p, s->bias), 0,
                   p->tensors[s->bias].numel * sizeof(float));
    }
}

/* ---- geometry ---------------------------------------------------------- */

static G2cConv2d conv_of(const G2cNetStage *s, int batch, int h, int w)
{
    G2cConv2d c = {batch, s->in_c, h, w, s->out_c, s->kernel, s->stride,
                   s->pad, s->pad_mode};
    return c;
}

static G2cConvT2d convt_of(const G2cNetStage *s, int batch, int h, int w)
{
    G2cConvT2d c = {batch,     s->in_c,   h,      w,
                    s->out_c,  s->kernel, s->stride,
                    s->pad,    s->output_pad};
    return c;
}

/* Output size of stage s on an h x w input; 0 with a message if invalid. */
static int stage_out_size(const G2cNetStage *s, int h, int w, int *oh,
                          int *ow)
{
    if (s->pad_mode == G2C_PAD_REFLECT && (s->pad >= h || s->pad >= w))
        return g2c_error("reflection pad %d on a %dx%d input", s->pad, w, h);
    if (s->transposed) {
        G2cConvT2d c = convt_of(s, 1, h, w);
        *oh = g2c_convt2d_out_h(&c);
        *ow = g2c_convt2d_out_w(&c);
    } else {
        G2cConv2d c = conv_of(s, 1, h, w);
        if (h + 2 * s->pad < s->kernel || w + 2 * s->pad < s->kernel)
            return g2c_error("kernel %d on a %dx%d input padded by %d",
                             s->kernel, w, h, s->pad);
        *oh = g2c_conv2d_out_h(&c);
        *ow = g2c_conv2d_out_w(&c);
    }
    if (*oh < 1 || *ow < 1)
        return g2c_error("empty output from a %dx%d input", w, h);
    return 0;
}

static size_t round_up(size_t n)
{
    return (n + ALIGN - 1) / ALIGN * ALIGN;
}

/* ---- activations -------------------------------------------------------- */

/* Fills sizes and returns the floats needed; 0 with a message on error. */
static size_t plan_acts(G2cNetActs *a, const G2cConvNet *net)
{
    int h = a->in_h, w = a->in_w;
    size_t total = 0, grad_n = (size_t)a->batch * net->in_c * h * w;
    for (int i = 0; i < net->count; i++) {
        const G2cNetStage *s = &net->stage[i];
        if (stage_out_size(s, h, w, &a->h[i], &a->w[i]) != 0) {
            g2c_error_prefix("%s%s: ", net->prefix, s->name);
            return 0;
        }
        if (s->skip_from >= 0) {
            int sh = s->skip_from ? a->h[s->skip_from - 1] : a->in_h;
            int sw = s->skip_from ? a->w[s->skip_from - 1] : a->in_w;
            if (sh != a->h[i] || sw != a->w[i]) {
                g2c_error("%s%s: skip of %dx%d onto %dx%d", net->prefix,
                          s->name, sw, sh, a->w[i], a->h[i]);
                return 0;
            }
        }
        h = a->h[i];
        w = a->w[i];
        size_t n = (size_t)a->batch * s->out_c * h * w;
        total += round_up(n) * (s->norm ? 2 : 1);
        if (s->norm)
            total += 2 * round_up((size_t)a->batch * s->out_c);
        if (n > grad_n)
            grad_n = n;
    }
    a->grad_n = round_up(grad_n);
    return total + 3 * a->grad_n;
}

static void carve_acts(G2cNetActs *a, const G2cConvNet *net)
{
    float *m = a->mem;
    for (int i = 0; i < net->count; i++) {
        const G2cNetStage *s = &net->stage[i];
        size_t n = round_up((size_t)a->batch * s->out_c * a->h[i] * a->w[i]);
        a->post[i] = m;
        m += n;
        a->pre[i] = a->post[i];
        a->mean[i] = a->rstd[i] = NULL;
        if (s->norm) {
            size_t st = round_up((size_t)a->batch * s->out_c);
            a->pre[i] = m;
            m += n;
            a->mean[i] = m;
            a->rstd[i] = m + st;
            m += 2 * st;
        }
    }
    for (int k = 0; k < 3; k++) {
        a->grad[k] = m;
        m += a->grad_n;
    }
}

int g2c_net_acts_init(G2cNetActs *a, const G2cConvNet *net, int batch, int h,
                      int w)
{
    memset(a, 0, sizeof *a);
    if (net->count < 1)
        return g2c_error("%s: network has no stages", net->prefix);
    if (batch < 1 || h < 1 || w < 1)
        return g2c_error("%s: input %dx%dx%d is empty", net->prefix, batch,
                         h, w);
    a->batch = batch;
    a->in_h = h;
    a->in_w = w;
    size_t total = plan_acts(a, net);
    if (total == 0)
        return g2c_error_prefix("input %dx%d: ", w, h);
    a->mem = g2c_nn_alloc_floats(total);
    if (!a->mem)
        return g2c_error("%s: out of memory for %zu MiB of activations",
                         net->prefix, total * sizeof(float) >> 20);
    a->total = total;
    carve_acts(a, net);
    const G2cNetStage *last = &net->stage[net->count - 1];
    a->out = a->post[net->count - 1];
    a->out_c = last->out_c;
    a->out_h = a->h[net->count - 1];
    a->out_w = a->w[net->count - 1];
    return 0;
}

void g2c_net_acts_free(G2cNetActs *a)
{
    free(a->mem);
    memset(a, 0, sizeof *a);
}

/* ---- forward ----------------------------------------------------------- */

/* The input of stage i (the network input for stage 0). */
static const float *stage_input(const G2cNetActs *a, int i)
{
    return i ? a->post[i - 1] : a->x;
}

static int in_h_of(const G2cNetActs *a, int i)
{
    return i ? a->h[i - 1] : a->in_h;
}

static int in_w_of(const G2cNetActs *a, int i)
{
    return i ? a->w[i - 1] : a->in_w;
}

static void activate(const G2cNetStage *s, size_t n, float *y)
{
    switch (s->act) {
    case G2C_ACT_RELU: g2c_relu_forward(n, y, y); break;
    case G2C_ACT_LEAKY: g2c_leakyrelu_forward(n, s->slope, y, y); break;
    case G2C_ACT_TANH: g2c_tanh_forward(n, y, y); break;
    case G2C_ACT_NONE: break;
    }
}

static void stage_forward(const G2cNetStage *s, G2cParams *p, G2cNetActs *a,
                          int i)
{
    const int ih = in_h_of(a, i), iw = in_w_of(a, i), hw = a->h[i] * a->w[i];
    const size_t n = (size_t)a->batch * s->out_c * hw;
    const float *x = stage_input(a, i);
    const float *w = g2c_params_value(p, s->weight);
    const float *b = s->bias >= 0 ? g2c_params_value(p, s->bias) : NULL;
    if (s->transposed) {
        G2cConvT2d c = convt_of(s, a->batch, ih, iw);
        g2c_convt2d_forward(&c, x, w, b, a->pre[i]);
    } else {
        G2cConv2d c = conv_of(s, a->batch, ih, iw);
        g2c_conv2d_forward(&c, x, w, b, a->pre[i]);
    }
    if (s->norm)
        g2c_instnorm_forward(a->batch, s->out_c, hw, IN_EPS, a->pre[i], NULL,
                             NULL, a->post[i], a->mean[i], a->rstd[i]);
    activate(s, n, a->post[i]);
    if (s->skip_from >= 0)
        g2c_add_forward(n, a->post[i], stage_input(a, s->skip_from),
                        a->post[i]);
}

void g2c_convnet_forward(const G2cConvNet *net, G2cParams *p, const float *x,
                         G2cNetActs *a)
{
    a->x = x;
    for (int i = 0; i < net->count; i++)
        stage_forward(&net->stage[i], p, a, i);
}

/* ---- backward ---------------------------------------------------------- */

typedef struct {
    G2cNetActs *a;
    const float *cur; /* gradient of the current tensor */
    int cur_buf;      /* scratch index holding cur, or -1 (caller's dout) */
    int held;         /* scratch index holding a skip gradient, or -1 */
    int held_for;     /* the stage whose input that skip gradient is for */
} Flow;

/* A zeroed scratch buffer of n floats that holds neither cur nor a skip. */
static float *fresh(Flow *f, size_t n, int *index)
{
    int k = 0;
    while (k == f->cur_buf || k == f->held)
        k++; /* k <= 2: at most two buffers are ever busy */
    memset(f->a->grad[k], 0, n * sizeof(float));
    *index = k;
    return f->a->grad[k];
}

static void set_cur(Flow *f, const float *g, int index)
{
    f->cur = g;
    f->cur_buf = index;
}

/* The skip adds the stage output's gradient to the input of stage
 * skip_from; it stays in a scratch buffer until that stage's convolution
 * adds its own input gradient to it. */
static void hold_skip(const G2cNetStage *s, Flow *f, size_t n)
{
    if (s->skip_from < 0)
        return;
    if (f->cur_buf < 0) { /* the caller's dout: read only */
        int k;
        float *d = fresh(f, n, &k);
        memcpy(d, f->cur, n * sizeof(float));
        set_cur(f, d, k);
    }
    f->held = f->cur_buf;
    f->held_for = s->skip_from;
}

static void activation_backward(const G2cNetStage *s, Flow *f, int i,
                                size_t n)
{
    if (s->act == G2C_ACT_NONE)
        return;
    int k;
    float *d = fresh(f, n, &k);
    const float *y = f->a->post[i]; /* see the top of the file */
    if (s->act == G2C_ACT_RELU)
        g2c_relu_backward(n, y, f->cur, d);
    else if (s->act == G2C_ACT_LEAKY)
        g2c_leakyrelu_backward(n, s->slope, y, f->cur, d);
    else
        g2c_tanh_backward(n, y, f->cur, d);
    set_cur(f, d, k);
}

static void norm_backward(const G2cNetStage *s, Flow *f, int i, size_t n)
{
    if (!s->norm)
        return;
    G2cNetActs *a = f->a;
    int k;
    float *d = fresh(f, n, &k);
    g2c_instnorm_backward(a->batch, s->out_c, a->h[i] * a->w[i], a->pre[i],
                          NULL, a->mean[i], a->rstd[i], f->cur, d, NULL,
                          NULL);
    set_cur(f, d, k);
}

/* Where the gradient of stage i's input goes: the caller's dx for stage 0
 * (NULL when not wanted), the held skip gradient where a skip starts, else
 * a fresh buffer. */
static float *input_grad_target(const G2cNetStage *s, Flow *f, int i,
                                float *dx, int want, int *index)
{
    G2cNetActs *a = f->a;
    size_t n = (size_t)a->batch * s->in_c * in_h_of(a, i) * in_w_of(a, i);
    *index = -1;
    if (!want)
        return NULL;
    float *target;
    if (i == 0)
        target = dx;
    else if (f->held >= 0 && f->held_for == i)
        target = a->grad[f->held];
    else
        return fresh(f, n, index);
    if (f->held >= 0 && f->held_for == i) {
        if (i == 0) /* a skip from the network input itself */
            g2c_add_backward(n, a->grad[f->held], dx, NULL);
        *index = i ? f->held : -1;
        f->held = -1;
    }
    return target;
}

static void conv_backward(const G2cNetStage *s, G2cParams *p, Flow *f, int i,
                          float *dx, int want_dx)
{
    G2cNetActs *a = f->a;
    const int ih = in_h_of(a, i), iw = in_w_of(a, i);
    const float *x = stage_input(a, i);
    const float *w = g2c_params_value(p, s->weight);
    float *dw = g2c_params_gradient(p, s->weight);
    float *db = s->bias >= 0 ? g2c_params_gradient(p, s->bias) : NULL;
    int k;
    float *d = input_grad_target(s, f, i, dx, want_dx, &k);
    if (s->transposed) {
        G2cConvT2d c = convt_of(s, a->batch, ih, iw);
        g2c_convt2d_backward(&c, x, w, f->cur, d, dw, db);
    } else {
        G2cConv2d c = conv_of(s, a->batch, ih, iw);
        g2c_conv2d_backward(&c, x, w, f->cur, d, dw, db);
    }
    set_cur(f, d, k);
}

/* The lowest stage with a gradient to compute: nothing below it matters
 * unless the caller wants dx. */
static int lowest_trainable(const G2cConvNet *net, G2cParams *p)
{
    for (int i = 0; i < net->count; i++) {
        const G2cNetStage *s = &net->stage[i];
        if (g2c_params_gradient(p, s->weight) ||
            (s->bias >= 0 && g2c_params_gradient(p, s->bias)))
            return i;
    }
    return net->count;
}

void g2c_convnet_backward(const G2cConvNet *net, G2cParams *p, G2cNetActs *a,
                          const float *dout, float *dx)
{
    const int lo = dx ? 0 : lowest_trainable(net, p);
    Flow f = {a, dout, -1, -1, -1};
    for (int i = net->count - 1; i >= lo; i--) {
        const G2cNetStage *s = &net->stage[i];
        const size_t n = (size_t)a->batch * s->out_c * a->h[i] * a->w[i];
        hold_skip(s, &f, n);
        activation_backward(s, &f, i, n);
        norm_backward(s, &f, i, n);
        conv_backward(s, p, &f, i, dx, i > lo || dx);
    }
}
