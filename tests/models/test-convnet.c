/* The CycleGAN networks on the engine: layout and names against PyTorch's
 * (parameter counts of the original: 11,378,179 for the 9-block generator,
 * 2,764,737 for the PatchGAN), finite-difference gradient checks of a tiny
 * generator and discriminator through every tensor and the input, the
 * engine's accumulate / NULL / frozen rules, batch independence, memory of
 * the 128 px generator, and the errors for bad shapes. */
#include "g2c/error.h"
#include "g2c/models.h"
#include "g2c/nn.h"
#include "nn/gradcheck.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const float PREFILL = 0.25f; /* proves that backward adds */

static int64_t numel_sum(const G2cParams *p, const char *prefix)
{
    int64_t n = 0;
    for (int i = 0; i < p->count; i++)
        if (strncmp(p->tensors[i].name, prefix, strlen(prefix)) == 0)
            n += (int64_t)p->tensors[i].numel;
    return n;
}

static void check_shape(const G2cParams *p, const char *name, int ndim,
                        int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    int k = g2c_params_find(p, name);
    if (k < 0) {
        fprintf(stderr, "tensor %s missing\n", name);
        g2c_test_failures++;
        return;
    }
    const int64_t want[4] = {d0, d1, d2, d3};
    int same = p->tensors[k].ndim == ndim;
    for (int d = 0; same && d < ndim; d++)
        same = p->tensors[k].shape[d] == want[d];
    if (!same) {
        fprintf(stderr, "tensor %s: wrong shape\n", name);
        g2c_test_failures++;
    }
}

/* Two full-size networks in one G2cParams, as CycleGAN names them. */
static void test_layout(void)
{
    G2cParams p;
    g2c_params_init(&p);
    G2cConvNet g, d;
    G2cResnetGenConfig gc = {3, 3, 64, 9};
    G2cPatchGanConfig dc = {3, 64, 3};
    CHECK_OK(g2c_resnet_gen_build(&g, &gc, &p, "G_A."));
    CHECK_OK(g2c_patchgan_build(&d, &dc, &p, "D_A."));
    CHECK(p.count == 48 + 10);
    CHECK(numel_sum(&p, "G_A.") == 11378179);
    CHECK(numel_sum(&p, "D_A.") == 2764737);
    check_shape(&p, "G_A.model.1.weight", 4, 64, 3, 7, 7);
    check_shape(&p, "G_A.model.7.weight", 4, 256, 128, 3, 3);
    check_shape(&p, "G_A.model.10.conv_block.1.weight", 4, 256, 256, 3, 3);
    check_shape(&p, "G_A.model.18.conv_block.5.bias", 1, 256, 0, 0, 0);
    check_shape(&p, "G_A.model.19.weight", 4, 256, 128, 3, 3); /* [in, out] */
    check_shape(&p, "G_A.model.22.weight", 4, 128, 64, 3, 3);
    check_shape(&p, "G_A.model.26.weight", 4, 3, 64, 7, 7);
    check_shape(&p, "G_A.model.26.bias", 1, 3, 0, 0, 0);
    check_shape(&p, "D_A.model.0.weight", 4, 64, 3, 4, 4);
    check_shape(&p, "D_A.model.8.weight", 4, 512, 256, 4, 4);
    check_shape(&p, "D_A.model.11.weight", 4, 1, 512, 4, 4);
    check_shape(&p, "D_A.model.11.bias", 1, 1, 0, 0, 0);
    CHECK(g.count == 3 + 2 * 9 + 3 && d.count == 5);
    CHECK(g2c_params_set_frozen(&p, "G_A.", 1) == 48);
    CHECK(g2c_params_set_frozen(&p, "D_A.", 1) == 10);
    /* The 6-block generator for 128 px crops: stages renumber after the
     * blocks. */
    G2cParams p6;
    g2c_params_init(&p6);
    G2cResnetGenConfig g6 = {3, 3, 64, 6};
    CHECK_OK(g2c_resnet_gen_build(&g, &g6, &p6, ""));
    CHECK(numel_sum(&p6, "") == 7837699);
    check_shape(&p6, "model.16.weight", 4, 256, 128, 3, 3);
    check_shape(&p6, "model.23.weight", 4, 3, 64, 7, 7);
    g2c_params_free(&p6);
    g2c_params_free(&p);
}

/* ---- gradient checks ------------------------------------------------------ */

typedef struct {
    const G2cConvNet *net;
    G2cParams *p;
    float *x;
    G2cNetActs *a;
    const float *r;
    size_t out_n;
} Ctx;

/* sum(out * r): its gradient with respect to out is r. */
static double loss_fn(const float *unused, void *vctx)
{
    (void)unused;
    Ctx *c = vctx;
    g2c_convnet_forward(c->net, c->p, c->x, c->a);
    return gradcheck_dot(c->a->out, c->r, c->out_n);
}

static size_t in_numel(const G2cNetActs *a, const G2cConvNet *net)
{
    return (size_t)a->batch * net->in_c * a->in_h * a->in_w;
}

static size_t out_numel(const G2cNetActs *a)
{
    return (size_t)a->batch * a->out_c * a->out_h * a->out_w;
}

/* Central difference at the step, of the three, that agrees best, within
 * 3e-3 + 3% of the entry + 2% of the largest gradient of its tensor.
 * Every layer is followed by instance norm and a (leaky) ReLU: a step of
 * 1e-3 on a weight of ~0.02 moves many pre-activations across the kink,
 * and at 1e-4 the float32 rounding of the loss, which the norms amplify
 * (the second PatchGAN layer by ~150), is as large as small gradients.
 * Deliberate bugs are caught (tried: the skip's gradient dropped, LeakyReLU
 * differentiated as ReLU, tanh's derivative dropped, one stage's output
 * gradient scaled by 1.1, instance-norm backward over hw - 1 elements:
 * 4 to 34 of the 90 entries fail each time); the exact check is
 * test-cyclegan-step, against PyTorch. */
static int check_entry(const char *what, size_t i, float *v, double analytic,
                       double tensor_scale, Ctx *c)
{
    static const double steps[3] = {1e-3, 3e-4, 1e-4};
    double best = INFINITY, best_n = 0.0;
    const float saved = *v;
    for (int s = 0; s < 3; s++) {
        float vp = (float)(saved + steps[s]), vm = (float)(saved - steps[s]);
        *v = vp;
        double lp = loss_fn(NULL, c);
        *v = vm;
        double lm = loss_fn(NULL, c);
        *v = saved;
        double numeric = (lp - lm) / ((double)vp - (double)vm);
        if (fabs(numeric - analytic) < best) {
            best = fabs(numeric - analytic);
            best_n = numeric;
        }
    }
    double allowed = 3e-3 + 3e-2 * fmax(fabs(analytic), fabs(best_n)) +
                     2e-2 * tensor_scale;
    if (getenv("G2C_TEST_VERBOSE"))
        fprintf(stderr, "%.3f of allowed: %-32s[%4zu] analytic %10.6f "
                        "numeric %10.6f\n",
                best / allowed, what, i, analytic, best_n);
    if (best <= allowed)
        return 0;
    fprintf(stderr, "%s[%zu]: analytic %.7g, numeric %.7g\n", what, i,
            analytic, best_n);
    return 1;
}

static double max_abs_minus(const float *g, size_t n, float base)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)g[i] - base));
    return m;
}

/* An entry in each of `per` equal parts of [0, n). */
static size_t pick(G2cRng *rng, size_t n, int j, int per)
{
    size_t part = (n + (size_t)per - 1) / (size_t)per;
    size_t i = (size_t)j * part + g2c_rng_below(rng, part);
    return i < n ? i : n - 1;
}

/* Forward, backward with dout = r into gradients prefilled with PREFILL,
 * then central differences on `per` entries of every unfrozen tensor and
 * of the input. */
static void gradcheck_net(const char *what, const G2cConvNet *net,
                          G2cParams *p, int h, int w, int per, uint64_t seed)
{
    G2cRng rng;
    g2c_rng_seed(&rng, seed);
    G2cNetActs a;
    CHECK_OK(g2c_net_acts_init(&a, net, 1, h, w));
    size_t nx = in_numel(&a, net), ny = out_numel(&a);
    float *x = gradcheck_alloc(nx, 0.0f), *dx = gradcheck_alloc(nx, PREFILL);
    float *r = gradcheck_alloc(ny, 0.0f);
    gradcheck_fill(x, nx, &rng, -1.0f, 1.0f);
    gradcheck_fill(r, ny, &rng, -1.0f, 1.0f);
    for (size_t i = 0; i < p->total; i++)
        p->grad[i] = PREFILL;
    Ctx c = {net, p, x, &a, r, ny};
    g2c_convnet_forward(net, p, x, &a);
    g2c_convnet_backward(net, p, &a, r, dx);
    int bad = 0, checked = 0;
    for (int k = 0; k < p->count; k++) {
        float *v = g2c_params_value(p, k);
        const float *g = g2c_params_gradient(p, k);
        size_t n = p->tensors[k].numel;
        double scale = g ? max_abs_minus(g, n, PREFILL) : 0.0;
        for (int j = 0; j < per && g; j++, checked++) {
            size_t i = pick(&rng, n, j, per);
            bad += check_entry(p->tensors[k].name, i, v + i,
                               (double)g[i] - PREFILL, scale, &c);
        }
    }
    double scale = max_abs_minus(dx, nx, PREFILL);
    for (int j = 0; j < 2 * per; j++, checked++) {
        size_t i = pick(&rng, nx, j, 2 * per);
        bad += check_entry("input", i, x + i, (double)dx[i] - PREFILL, scale,
                           &c);
    }
    CHECK(checked >= 2 * per);
    if (bad) {
        fprintf(stderr, "%s: %d of %d gradient entries off\n", what, bad,
                checked);
        g2c_test_failures++;
    }
    free(x);
    free(dx);
    free(r);
    g2c_net_acts_free(&a);
}

static void build_tiny(G2cParams *p, G2cConvNet *g, G2cConvNet *d,
                       uint64_t seed)
{
    g2c_params_init(p);
    G2cResnetGenConfig gc = {3, 3, 4, 1};
    G2cPatchGanConfig dc = {3, 4, 3};
    CHECK_OK(g2c_resnet_gen_build(g, &gc, p, "G."));
    CHECK_OK(g2c_patchgan_build(d, &dc, p, "D."));
    CHECK_OK(g2c_params_finalize(p));
    G2cRng rng;
    g2c_rng_seed(&rng, seed);
    g2c_convnet_init(g, p, 0.02f, &rng);
    g2c_convnet_init(d, p, 0.02f, &rng);
    /* Nonzero biases, so that a bias path that is wrong shows. */
    for (int k = 0; k < p->count; k++) {
        size_t len = strlen(p->tensors[k].name);
        if (strcmp(p->tensors[k].name + len - 5, ".bias") == 0)
            gradcheck_fill(g2c_params_value(p, k), p->tensors[k].numel, &rng,
                           -0.1f, 0.1f);
    }
}

static void test_gradients(void)
{
    G2cParams p;
    G2cConvNet g, d;
    build_tiny(&p, &g, &d, 7);
    /* The other network's tensors are frozen, so each check sees one. */
    g2c_params_set_frozen(&p, "D.", 1);
    gradcheck_net("generator", &g, &p, 16, 16, 3, 11);
    g2c_params_set_frozen(&p, "D.", 0);
    g2c_params_set_frozen(&p, "G.", 1);
    gradcheck_net("patchgan", &d, &p, 32, 32, 3, 12);
    g2c_params_free(&p);
}

/* A chain the builders never make: a skip from the network input to the
 * last stage (backward must copy the caller's dout before adding into it,
 * and add the skip's gradient into dx), and the chain's own errors. */
static void test_custom_chain(void)
{
    G2cParams p;
    g2c_params_init(&p);
    G2cConvNet net;
    g2c_convnet_begin(&net, "res.", 3);
    G2cNetStage s = {"body.0", 0, 0, 4, 3, 1, 1, 0, G2C_PAD_REFLECT, 1,
                     G2C_ACT_RELU, 0.0f, -1, 0, 0};
    CHECK(g2c_convnet_add(&net, &p, &s, 1) == 0);
    G2cNetStage t = {"body.3", 0, 0, 3, 3, 1, 1, 0, G2C_PAD_ZERO, 1,
                     G2C_ACT_NONE, 0.0f, 0, 0, 0};
    CHECK(g2c_convnet_add(&net, &p, &t, 0) == 1); /* no bias */
    CHECK(g2c_params_find(&p, "res.body.3.bias") < 0);
    /* Refused: an activation after a skip, overlapping skips, and a skip
     * between different channel counts. */
    G2cNetStage u = t;
    snprintf(u.name, sizeof u.name, "bad");
    u.act = G2C_ACT_RELU;
    CHECK(g2c_convnet_add(&net, &p, &u, 1) == -1);
    CHECK(strstr(g2c_error_message(), "res.bad: a skip stage cannot") !=
          NULL);
    u.act = G2C_ACT_NONE;
    u.skip_from = 1;
    CHECK(g2c_convnet_add(&net, &p, &u, 1) == -1);
    CHECK(strstr(g2c_error_message(), "overlaps stage 1's skip") != NULL);
    u.skip_from = 2;
    u.out_c = 5;
    CHECK(g2c_convnet_add(&net, &p, &u, 1) == -1);
    CHECK(strstr(g2c_error_message(), "skip of 3 channels onto 5") != NULL);
    CHECK(net.count == 2);
    CHECK_OK(g2c_params_finalize(&p));
    G2cRng rng;
    g2c_rng_seed(&rng, 3);
    g2c_convnet_init(&net, &p, 0.3f, &rng);
    gradcheck_net("input skip", &net, &p, 6, 5, 4, 13);
    g2c_params_free(&p);
}

/* ---- engine rules ------------------------------------------------------- */

static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* dx NULL gives the same weight gradients; a frozen network gets none but
 * still passes dx; twice the backward gives twice the gradients. */
static void test_rules(void)
{
    G2cParams p;
    G2cConvNet g, d;
    build_tiny(&p, &g, &d, 8);
    G2cRng rng;
    g2c_rng_seed(&rng, 5);
    G2cNetActs a;
    CHECK_OK(g2c_net_acts_init(&a, &g, 1, 16, 16));
    size_t nx = in_numel(&a, &g), ny = out_numel(&a);
    float *x = gradcheck_alloc(nx, 0.0f), *r = gradcheck_alloc(ny, 0.0f);
    float *dx1 = gradcheck_alloc(nx, 0.0f), *dx2 = gradcheck_alloc(nx, 0.0f);
    float *g1 = gradcheck_alloc(p.total, 0.0f);
    gradcheck_fill(x, nx, &rng, -1.0f, 1.0f);
    gradcheck_fill(r, ny, &rng, -1.0f, 1.0f);
    g2c_convnet_forward(&g, &p, x, &a);

    g2c_params_zero_grad(&p);
    g2c_convnet_backward(&g, &p, &a, r, dx1);
    memcpy(g1, p.grad, p.total * sizeof(float));
    g2c_params_zero_grad(&p);
    g2c_convnet_backward(&g, &p, &a, r, NULL);
    CHECK(max_diff(g1, p.grad, p.total) <= 1e-6);

    g2c_convnet_backward(&g, &p, &a, r, NULL); /* adds a second copy */
    for (size_t i = 0; i < p.total; i++)
        g1[i] *= 2.0f;
    CHECK(max_diff(g1, p.grad, p.total) <= 1e-5);

    g2c_params_zero_grad(&p);
    CHECK(g2c_params_set_frozen(&p, "G.", 1) == 16);
    g2c_convnet_backward(&g, &p, &a, r, dx2);
    double any = 0.0;
    for (size_t i = 0; i < p.total; i++)
        any = fmax(any, fabs(p.grad[i]));
    CHECK(any == 0.0);
    CHECK(max_diff(dx1, dx2, nx) <= 1e-6);
    /* Frozen and no dx: nothing to do, nothing touched. */
    g2c_convnet_backward(&g, &p, &a, r, NULL);
    for (size_t i = 0; i < p.total; i++)
        any = fmax(any, fabs(p.grad[i]));
    CHECK(any == 0.0);

    free(x);
    free(r);
    free(dx1);
    free(dx2);
    free(g1);
    g2c_net_acts_free(&a);
    g2c_params_free(&p);
}

/* Instance norm is per image: a batch of 2 gives each image's own result,
 * and the weight gradients add up. */
static void test_batch(void)
{
    G2cParams p;
    G2cConvNet g, d;
    build_tiny(&p, &g, &d, 9);
    G2cRng rng;
    g2c_rng_seed(&rng, 6);
    G2cNetActs a1, a2;
    CHECK_OK(g2c_net_acts_init(&a1, &d, 1, 32, 32));
    CHECK_OK(g2c_net_acts_init(&a2, &d, 2, 32, 32));
    size_t nx = in_numel(&a1, &d), ny = out_numel(&a1);
    float *x = gradcheck_alloc(2 * nx, 0.0f), *r = gradcheck_alloc(2 * ny, 0);
    float *dx = gradcheck_alloc(2 * nx, 0.0f), *dxs = gradcheck_alloc(2 * nx, 0);
    float *gsum = gradcheck_alloc(p.total, 0.0f), *out = gradcheck_alloc(2 * ny, 0);
    gradcheck_fill(x, 2 * nx, &rng, -1.0f, 1.0f);
    gradcheck_fill(r, 2 * ny, &rng, -1.0f, 1.0f);
    g2c_params_zero_grad(&p);
    for (int b = 0; b < 2; b++) {
        g2c_convnet_forward(&d, &p, x + b * nx, &a1);
        memcpy(out + b * ny, a1.out, ny * sizeof(float));
        g2c_convnet_backward(&d, &p, &a1, r + b * ny, dxs + b * nx);
    }
    memcpy(gsum, p.grad, p.total * sizeof(float));
    g2c_params_zero_grad(&p);
    g2c_convnet_forward(&d, &p, x, &a2);
    g2c_convnet_backward(&d, &p, &a2, r, dx);
    CHECK(a2.out_h == 2 && a2.out_w == 2 && a2.out_c == 1);
    CHECK(max_diff(out, a2.out, 2 * ny) <= 1e-6);
    CHECK(max_diff(dxs, dx, 2 * nx) <= 1e-6);
    CHECK(max_diff(gsum, p.grad, p.total) <= 1e-5);
    free(x);
    free(r);
    free(dx);
    free(dxs);
    free(gsum);
    free(out);
    g2c_net_acts_free(&a1);
    g2c_net_acts_free(&a2);
    g2c_params_free(&p);
}

/* The 128 px generator of G2C keeps its activations in well under the few
 * hundred MB that one training image may cost. */
static void test_memory(void)
{
    G2cParams p;
    g2c_params_init(&p);
    G2cConvNet g;
    G2cResnetGenConfig gc = {3, 3, 64, 6};
    CHECK_OK(g2c_resnet_gen_build(&g, &gc, &p, "G_A."));
    G2cNetActs a;
    CHECK_OK(g2c_net_acts_init(&a, &g, 1, 128, 128));
    double mib = (double)a.total * sizeof(float) / (1 << 20);
    if (getenv("G2C_TEST_VERBOSE"))
        fprintf(stderr, "128 px generator, ngf 64, 6 blocks: %.1f MiB of "
                        "activations and scratch\n",
                mib);
    CHECK(mib < 100.0);
    CHECK(a.out_c == 3 && a.out_h == 128 && a.out_w == 128);
    g2c_net_acts_free(&a);
    g2c_params_free(&p);
}

/* ---- errors ------------------------------------------------------------- */

static void expect_error(int rc, const char *needle)
{
    CHECK(rc == -1);
    if (!strstr(g2c_error_message(), needle)) {
        fprintf(stderr, "error \"%s\" does not mention \"%s\"\n",
                g2c_error_message(), needle);
        g2c_test_failures++;
    }
}

static void test_errors(void)
{
    G2cParams p;
    G2cConvNet g, d;
    build_tiny(&p, &g, &d, 10);
    G2cNetActs a;
    /* 4x4: the bottleneck is 1x1, too small for ReflectionPad2d(1). */
    expect_error(g2c_net_acts_init(&a, &g, 1, 4, 4),
                 "G.model.10.conv_block.1: reflection pad 1 on a 1x1 input");
    expect_error(g2c_net_acts_init(&a, &g, 1, 4, 4), "input 4x4");
    /* 16x16 into the PatchGAN: 8, 4, 2, then a 1x1 map, then nothing. */
    expect_error(g2c_net_acts_init(&a, &d, 1, 16, 16), "D.model.11:");
    expect_error(g2c_net_acts_init(&a, &d, 0, 32, 32), "is empty");
    /* Registering into finalized parameters names the tensor. */
    G2cConvNet g2;
    G2cResnetGenConfig gc = {3, 3, 4, 1};
    expect_error(g2c_resnet_gen_build(&g2, &gc, &p, "G2."),
                 "G2.model.1.weight: registered after finalize");
    g2c_params_free(&p);

    g2c_params_init(&p);
    G2cResnetGenConfig bad = {3, 3, 4, -1};
    expect_error(g2c_resnet_gen_build(&g2, &bad, &p, "G_B."),
                 "generator G_B.: n_blocks -1");
    G2cPatchGanConfig dbad = {3, 0, 3};
    expect_error(g2c_patchgan_build(&d, &dbad, &p, "D_B."),
                 "discriminator D_B.: in_c 3, ndf 0");
    /* A name registered twice (two networks under one prefix). */
    CHECK_OK(g2c_resnet_gen_build(&g2, &gc, &p, "G."));
    expect_error(g2c_resnet_gen_build(&g2, &gc, &p, "G."),
                 "G.model.1.weight: registered twice");
    g2c_params_free(&p);
}

int main(void)
{
    test_layout();
    test_gradients();
    test_custom_chain();
    test_rules();
    test_batch();
    test_memory();
    test_errors();
    return g2c_test_finish("convnet");
}
