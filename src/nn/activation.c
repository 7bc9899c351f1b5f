/* Point-wise activations.  Backward of ReLU/LeakyReLU takes the input x
 * (the slope at exactly 0 is 0 for ReLU and `slope` for LeakyReLU, as in
 * PyTorch); tanh/sigmoid take the output y, which is all their derivative
 * needs. */
#include "g2c/nn.h"

#include "nn-parallel.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The loops run in fixed blocks through a local array.  GCC's -O2
 * vectorizer only takes loops with a known trip count and no possible
 * aliasing; a plain `y[i] = x[i] > 0 ? x[i] : 0` compiles to a branch per
 * element and runs ~5x slower on random signs.  In-place use (y == x) stays
 * valid: a block is read completely before it is written. */
enum { BLK = 16 };

#define MAP(n, y, EXPR)                                                     \
    do {                                                                    \
        size_t b_ = 0;                                                      \
        for (; b_ + BLK <= (n); b_ += BLK) {                                \
            float t_[BLK];                                                  \
            for (int j_ = 0; j_ < BLK; j_++) {                              \
                size_t i = b_ + (size_t)j_;                                 \
                t_[j_] = (EXPR);                                            \
            }                                                               \
            memcpy((y) + b_, t_, sizeof t_);                                \
        }                                                                   \
        for (size_t i = b_; i < (n); i++)                                   \
            (y)[i] = (EXPR);                                                \
    } while (0)

/* dx[i] += EXPR, same blocking. */
#define ACCUMULATE(n, dx, EXPR)                                             \
    do {                                                                    \
        size_t b_ = 0;                                                      \
        for (; b_ + BLK <= (n); b_ += BLK) {                                \
            float t_[BLK];                                                  \
            for (int j_ = 0; j_ < BLK; j_++) {                              \
                size_t i = b_ + (size_t)j_;                                 \
                t_[j_] = (EXPR);                                            \
            }                                                               \
            for (int j_ = 0; j_ < BLK; j_++)                                \
                (dx)[b_ + (size_t)j_] += t_[j_];                            \
        }                                                                   \
        for (size_t i = b_; i < (n); i++)                                   \
            (dx)[i] += (EXPR);                                              \
    } while (0)

/* The element rules, as functions so that every operand is loaded before
 * the select.  The selects are bit masks: GCC turns a float `?:` into a
 * compare-and-branch per element (measured: ReLU took 7.6 % of a classifier
 * training step on random signs), while an AND with a compare's all-ones
 * mask vectorizes.  Results are bit-identical to the `?:` forms. */
static inline float keep_if(float v, int keep)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    b &= 0u - (uint32_t)keep;
    memcpy(&v, &b, sizeof v);
    return v;
}

static inline float relu(float x)
{
    return keep_if(x, !(x <= 0.0f)); /* not `x > 0`: NaN propagates */
}

static inline float relu_grad(float x, float dy)
{
    return keep_if(dy, x > 0.0f);
}

/* LeakyReLU as (positive part) + slope * (negative part).  Exact: one of
 * the two terms is always 0. */
static inline float leaky(float x, float slope)
{
    return keep_if(x, !(x <= 0.0f)) + slope * keep_if(x, !(x > 0.0f));
}

static inline float leaky_grad(float x, float dy, float slope)
{
    int pos = x > 0.0f;
    return keep_if(dy, pos) + slope * keep_if(dy, !pos);
}

/* ---- one range of elements, each op ---------------------------------- */

typedef enum {
    RELU,
    RELU_GRAD,
    RELU_MASK,
    LEAKY,
    LEAKY_GRAD,
    TANH,
    TANH_GRAD,
    SIGMOID,
    SIGMOID_GRAD,
} Op;

/* a: the input (x, or y for tanh/sigmoid backward and the mask); b: dy;
 * y: the output (y, or dx, which backward adds to). */
typedef struct {
    Op op;
    float slope;
    const float *a, *b;
    float *y;
} Pointwise;

/* exp of a non-positive argument only, so large |x| neither overflows nor
 * turns 1 - y into garbage. */
static inline float sigmoid(float x)
{
    float e = expf(-fabsf(x));
    return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

static void pointwise_range(void *ctx, size_t lo, size_t hi)
{
    const Pointwise *p = ctx;
    const size_t n = hi - lo;
    const float *x = p->a + lo, *dy = p->b ? p->b + lo : NULL;
    float *y = p->y + lo;
    const float slope = p->slope;
    switch (p->op) {
    case RELU:
        MAP(n, y, relu(x[i]));
        break;
    case RELU_GRAD:
        ACCUMULATE(n, y, relu_grad(x[i], dy[i]));
        break;
    case RELU_MASK: /* in place on y = dy, from the output x */
        MAP(n, y, keep_if(y[i], x[i] > 0.0f));
        break;
    case LEAKY:
        MAP(n, y, leaky(x[i], slope));
        break;
    case LEAKY_GRAD:
        ACCUMULATE(n, y, leaky_grad(x[i], dy[i], slope));
        break;
    case TANH:
        for (size_t i = 0; i < n; i++)
            y[i] = tanhf(x[i]);
        break;
    case TANH_GRAD: /* x is the output */
        ACCUMULATE(n, y, dy[i] * (1.0f - x[i] * x[i]));
        break;
    case SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = sigmoid(x[i]);
        break;
    case SIGMOID_GRAD: /* x is the output */
        ACCUMULATE(n, y, dy[i] * x[i] * (1.0f - x[i]));
        break;
    }
}

/* Every element is computed alone, so the split over threads changes no
 * bit. */
static void pointwise(Op op, size_t n, float slope, const float *a,
                      const float *b, float *y)
{
    if (!y)
        return;
    Pointwise p = {op, slope, a, b, y};
    g2c_nn_parallel_range(n, pointwise_range, &p);
}

/* ---- the layers --------------------------------------------------------- */

void g2c_relu_forward(size_t n, const float *x, float *y)
{
    pointwise(RELU, n, 0.0f, x, NULL, y);
}

void g2c_relu_backward(size_t n, const float *x, const float *dy, float *dx)
{
    pointwise(RELU_GRAD, n, 0.0f, x, dy, dx);
}

void g2c_relu_mask(size_t n, const float *y, float *d)
{
    pointwise(RELU_MASK, n, 0.0f, y, NULL, d);
}

void g2c_leakyrelu_forward(size_t n, float slope, const float *x, float *y)
{
    pointwise(LEAKY, n, slope, x, NULL, y);
}

void g2c_leakyrelu_backward(size_t n, float slope, const float *x,
                            const float *dy, float *dx)
{
    pointwise(LEAKY_GRAD, n, slope, x, dy, dx);
}

void g2c_tanh_forward(size_t n, const float *x, float *y)
{
    pointwise(TANH, n, 0.0f, x, NULL, y);
}

void g2c_tanh_backward(size_t n, const float *y, const float *dy, float *dx)
{
    pointwise(TANH_GRAD, n, 0.0f, y, dy, dx);
}

void g2c_sigmoid_forward(size_t n, const float *x, float *y)
{
    pointwise(SIGMOID, n, 0.0f, x, NULL, y);
}

void g2c_sigmoid_backward(size_t n, const float *y, const float *dy, float *dx)
{
    pointwise(SIGMOID_GRAD, n, 0.0f, y, dy, dx);
}
