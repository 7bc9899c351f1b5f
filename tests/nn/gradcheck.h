/* Central finite-difference gradient checks, shared by the nn tests.
 *
 * A test wraps its forward pass in a callback that returns a scalar loss
 * (usually sum(y * r) for a fixed random r, whose gradient is backward with
 * dy = r).  gradcheck() nudges each element of one input buffer by +-eps in
 * place, calls the callback, and compares (L+ - L-) / 2eps with the analytic
 * gradient the layer's backward produced.
 */
#ifndef G2C_TEST_GRADCHECK_H
#define G2C_TEST_GRADCHECK_H

#include <stddef.h>

#include "g2c/rng.h"

/* The loss at the current contents of the buffers.  x is the buffer being
 * perturbed (the callback may also reach it through ctx). */
typedef double (*GradcheckFn)(const float *x, void *ctx);

typedef struct {
    double eps;  /* step of the central difference */
    double atol; /* pass when |analytic - numeric| <= atol + rtol * max|.| */
    double rtol;
} GradcheckTol;

/* eps 1e-2, atol 2e-3, rtol 1e-2: float32 forward passes on small shapes. */
extern const GradcheckTol gradcheck_default_tol;

/* Check grad[i] - grad_base against the central difference for every
 * element of x[n] (x is restored afterwards).  grad_base is what the
 * gradient buffer held before backward ran, so prefilling it proves that
 * backward adds instead of overwriting.  Prints the worst element, and every
 * failing one up to a few; returns the number of failing elements. */
int gradcheck(const char *what, float *x, size_t n, const float *grad,
              float grad_base, GradcheckFn fn, void *ctx,
              const GradcheckTol *tol);

/* sum(a * b) in double: the usual projection of an output onto a fixed
 * upstream gradient. */
double gradcheck_dot(const float *a, const float *b, size_t n);

/* A malloc'ed buffer of n floats, all equal to value (exits when out of
 * memory: tests have no use for recovery). */
float *gradcheck_alloc(size_t n, float value);

/* Uniform values in [lo, hi). */
void gradcheck_fill(float *x, size_t n, G2cRng *rng, float lo, float hi);

#endif
