/* SGD with momentum and Adam, with PyTorch 1.13's update rules and operation
 * order (torch/optim/sgd.py and adam.py, single-tensor path), so that a g2c
 * run and a PyTorch run from the same state take the same steps.
 *
 * fmaf() stands where ATen's vectorized CPU kernels fuse: `a.add(b, alpha)`
 * is fmadd(b, alpha, a), and addcmul's `a + s*t1*t2` is contracted to
 * fma(s*t1, t2, a).  With them the trajectories in tests/nn/test-optim-torch
 * are bit-identical to torch's; fmaf is correctly rounded everywhere, so
 * results do not depend on the CPU. */
#include "decimal.h"

#include "g2c/error.h"
#include "g2c/nn.h"

#include "nn-parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float *alloc_state(size_t n)
{
    size_t bytes = (n ? n : 16) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;
    float *s = g2c_nn_alloc_floats(bytes / sizeof(float));
    if (s)
        memset(s, 0, bytes);
    return s;
}

static int check_config(const G2cOptConfig *c)
{
    if (c->kind != G2C_OPT_SGD && c->kind != G2C_OPT_ADAM)
        return g2c_error("unknown optimizer kind %d", (int)c->kind);
    if (!(c->lr >= 0) || !(c->weight_decay >= 0))
        return g2c_error("optimizer: lr %g and weight_decay %g must be >= 0",
                         c->lr, c->weight_decay);
    if (c->kind == G2C_OPT_SGD && !(c->momentum >= 0))
        return g2c_error("SGD: momentum %g must be >= 0", c->momentum);
    if (c->kind == G2C_OPT_ADAM &&
        (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) ||
         !(c->eps >= 0)))
        return g2c_error("Adam: betas (%g, %g) must be in [0, 1), eps %g >= 0",
                         c->beta1, c->beta2, c->eps);
    return 0;
}

int g2c_optim_init(G2cOptimizer *o, G2cParams *p, G2cOptConfig cfg)
{
    memset(o, 0, sizeof *o);
    if (!p->data)
        return g2c_error("optimizer: parameters are not finalized");
    if (check_config(&cfg) != 0)
        return -1;
    o->cfg = cfg;
    o->params = p;
    int need_m = cfg.kind == G2C_OPT_ADAM || cfg.momentum != 0;
    if (need_m && !(o->m = alloc_state(p->total)))
        return g2c_error("optimizer: out of memory");
    if (cfg.kind == G2C_OPT_ADAM && !(o->v = alloc_state(p->total))) {
        g2c_optim_free(o);
        return g2c_error("optimizer: out of memory");
    }
    return 0;
}

void g2c_optim_free(G2cOptimizer *o)
{
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
    o->params = NULL;
    o->step = 0;
}

/* torch.optim.SGD, dampening 0, nesterov off: d = g + wd*w, buf = mu*buf + d,
 * w -= lr*buf.  torch starts the buffer as a copy of the first d; starting
 * from zero gives the same, also for a tensor unfrozen later. */
static void sgd_tensor(const G2cOptimizer *o, size_t n, float *w,
                       const float *g, float *buf, float lr)
{
    const float wd = o->cfg.weight_decay, mu = o->cfg.momentum;
    const float neg_lr = -lr;
    for (size_t i = 0; i < n; i++) {
        float d = g[i];
        if (wd != 0)
            d = fmaf(wd, w[i], d);
        if (buf) {
            buf[i] = buf[i] * mu + d;
            d = buf[i];
        }
        w[i] = fmaf(neg_lr, d, w[i]);
    }
}

typedef struct {
    float wd, beta1, one_minus_beta1, beta2, one_minus_beta2;
    float bc2_sqrt, eps, neg_step_size;
} AdamCoef;

/* The scalars of one Adam step, rounded to float where PyTorch hands them
 * to a float kernel. */
static AdamCoef adam_coef(const G2cOptimizer *o, float lr)
{
    const double b1 = g2c_typed_value(o->cfg.beta1);
    const double b2 = g2c_typed_value(o->cfg.beta2);
    const double t = (double)(float)o->step; /* torch keeps step as float32 */
    const double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);
    AdamCoef c = {0};
    c.wd = o->cfg.weight_decay;
    c.beta1 = (float)b1;
    c.one_minus_beta1 = (float)(1.0 - b1);
    c.beta2 = (float)b2;
    c.one_minus_beta2 = (float)(1.0 - b2);
    c.bc2_sqrt = (float)sqrt(bc2);
    c.eps = (float)g2c_typed_value(o->cfg.eps);
    c.neg_step_size = (float)-(g2c_typed_value(lr) / bc1);
    return c;
}

/* torch.optim.Adam (amsgrad off): g += wd*w; m = b1*m + (1-b1)*g;
 * v = b2*v + (1-b2)*g*g; w -= step_size * m / (sqrt(v)/sqrt(bc2) + eps). */
static void adam_tensor(const AdamCoef *c, size_t n, float *w, const float *g,
                        float *m, float *v)
{
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        if (c->wd != 0)
            gi = fmaf(c->wd, w[i], gi);
        m[i] = m[i] * c->beta1;
        m[i] = fmaf(c->one_minus_beta1, gi, m[i]);
        v[i] = v[i] * c->beta2;
        v[i] = fmaf(c->one_minus_beta2 * gi, gi, v[i]);
        float denom = sqrtf(v[i]) / c->bc2_sqrt + c->eps;
        w[i] = w[i] + c->neg_step_size * m[i] / denom;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,fma")))

/* The same operations as the scalar loops, 16 lanes at a time: IEEE
 * multiply, add, divide, square root and fused multiply-add are exact to
 * the bit in either form, so both paths give the same numbers (the scalar
 * one still does the tails).  Without this the loops call libm's fmaf()
 * per element and do not vectorize: Adam took 4x PyTorch's time. */
static AVX512 size_t sgd_avx512(const G2cOptimizer *o, size_t n, float *w,
                                const float *g, float *buf, float lr)
{
    const __m512 wd = _mm512_set1_ps(o->cfg.weight_decay);
    const __m512 mu = _mm512_set1_ps(o->cfg.momentum);
    const __m512 neg_lr = _mm512_set1_ps(-lr);
    const int decay = o->cfg.weight_decay != 0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 wi = _mm512_loadu_ps(w + i), d = _mm512_loadu_ps(g + i);
        if (decay)
            d = _mm512_fmadd_ps(wd, wi, d);
        if (buf) {
            /* buf * mu + d: two roundings, as torch's mul_ then add_ */
            d = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(buf + i), mu), d);
            _mm512_storeu_ps(buf + i, d);
        }
        _mm512_storeu_ps(w + i, _mm512_fmadd_ps(neg_lr, d, wi));
    }
    return i;
}

static AVX512 size_t adam_avx512(const AdamCoef *c, size_t n, float *w,
                                 const float *g, float *m, float *v)
{
    const __m512 wd = _mm512_set1_ps(c->wd), b1 = _mm512_set1_ps(c->beta1);
    const __m512 omb1 = _mm512_set1_ps(c->one_minus_beta1);
    const __m512 b2 = _mm512_set1_ps(c->beta2);
    const __m512 omb2 = _mm512_set1_ps(c->one_minus_beta2);
    const __m512 bc2 = _mm512_set1_ps(c->bc2_sqrt);
    const __m512 eps = _mm512_set1_ps(c->eps);
    const __m512 nss = _mm512_set1_ps(c->neg_step_size);
    const int decay = c->wd != 0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 wi = _mm512_loadu_ps(w + i), gi = _mm512_loadu_ps(g + i);
        if (decay)
            gi = _mm512_fmadd_ps(wd, wi, gi);
        __m512 mi = _mm512_mul_ps(_mm512_loadu_ps(m + i), b1);
        mi = _mm512_fmadd_ps(omb1, gi, mi);
        __m512 vi = _mm512_mul_ps(_mm512_loadu_ps(v + i), b2);
        vi = _mm512_fmadd_ps(_mm512_mul_ps(omb2, gi), gi, vi);
        __m512 denom =
            _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vi), bc2), eps);
        wi = _mm512_add_ps(wi, _mm512_div_ps(_mm512_mul_ps(nss, mi), denom));
        _mm512_storeu_ps(m + i, mi);
        _mm512_storeu_ps(v + i, vi);
        _mm512_storeu_ps(w + i, wi);
    }
    return i;
}

static int have_avx512(void)
{
    return __builtin_cpu_supports("avx512f");
}
#else
static size_t sgd_avx512(const G2cOptimizer *o, size_t n, float *w,
                         const float *g, float *buf, float lr)
{
    (void)o, (void)n, (void)w, (void)g, (void)buf, (void)lr;
    return 0;
}

static size_t adam_avx512(const AdamCoef *c, size_t n, float *w,
                          const float *g, float *m, float *v)
{
    (void)c, (void)n, (void)w, (void)g, (void)m, (void)v;
    return 0;
}

static int have_avx512(void)
{
    return 0;
}
#endif

/* Set to 0 by tests, to compare the vector path with the scalar one. */
int g2c_optim_vector = 1;

/* One tensor's update, cut into fixed chunks that threads take: every
 * element's update reads and writes only that element, so the result does
 * not depend on the thread count. */
enum { OPT_CHUNK = 1 << 15 };

typedef struct {
    const G2cOptimizer *o;
    const AdamCoef *c;
    size_t offset, numel;
    float lr;
} OptJob;

static void opt_chunk(void *ctx, int k)
{
    const OptJob *j = ctx;
    const G2cOptimizer *o = j->o;
    size_t lo = (size_t)k * OPT_CHUNK, n = j->numel - lo;
    if (n > OPT_CHUNK)
        n = OPT_CHUNK;
    size_t at = j->offset + lo;
    float *w = o->params->data + at;
    const float *g = o->params->grad + at;
    float *m = o->m ? o->m + at : NULL;
    size_t done = 0;
    const int vector = g2c_optim_vector && have_avx512();
    if (o->cfg.kind == G2C_OPT_ADAM) {
        if (vector)
            done = adam_avx512(j->c, n, w, g, m, o->v + at);
        adam_tensor(j->c, n - done, w + done, g + done, m + done,
                    o->v + at + done);
    } else {
        if (vector)
            done = sgd_avx512(o, n, w, g, m, j->lr);
        sgd_tensor(o, n - done, w + done, g + done, m ? m + done : NULL,
                   j->lr);
    }
}

/* One step count for the whole optimizer: a tensor frozen for some steps
 * still sees the global count in Adam's bias correction (PyTorch counts per
 * parameter); the header has no per-tensor counter. */
void g2c_optim_step(G2cOptimizer *o, float lr)
{
    G2cParams *p = o->params;
    if (!p || !p->data)
        return;
    o->step++;
    AdamCoef c = {0};
    if (o->cfg.kind == G2C_OPT_ADAM)
        c = adam_coef(o, lr);
    for (int i = 0; i < p->count; i++) {
        const G2cTensorInfo *t = &p->tensors[i];
        if (!t->trainable || t->frozen || t->numel == 0)
            continue;
        OptJob j = {o, &c, t->offset, t->numel, lr};
        int chunks = (int)((t->numel + OPT_CHUNK - 1) / OPT_CHUNK);
        g2c_nn_parallel(chunks, t->numel * 5, opt_chunk, &j);
    }
}
