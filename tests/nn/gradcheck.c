#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

const GradcheckTol gradcheck_default_tol = {1e-2, 2e-3, 1e-2};

int gradcheck(const char *what, float *x, size_t n, const float *grad,
              float grad_base, GradcheckFn fn, void *ctx,
              const GradcheckTol *tol)
{
    if (!tol)
        tol = &gradcheck_default_tol;
    int failures = 0;
    double worst = 0.0;
    size_t worst_i = 0;
    double worst_a = 0.0, worst_n = 0.0;
    for (size_t i = 0; i < n; i++) {
        float saved = x[i];
        /* The step actually taken in float, so the quotient is exact. */
        float xp = (float)(saved + tol->eps), xm = (float)(saved - tol->eps);
        x[i] = xp;
        double lp = fn(x, ctx);
        x[i] = xm;
        double lm = fn(x, ctx);
        x[i] = saved;
        double numeric = (lp - lm) / ((double)xp - (double)xm);
        double analytic = (double)grad[i] - grad_base;
        double err = fabs(analytic - numeric);
        double allowed =
            tol->atol + tol->rtol * fmax(fabs(analytic), fabs(numeric));
        if (!(err <= allowed)) {
            if (failures < 5)
                fprintf(stderr,
                        "gradcheck %s[%zu]: analytic %.7g, numeric %.7g\n",
                        what, i, analytic, numeric);
            failures++;
        }
        if (!(err <= worst)) {
            worst = err;
            worst_i = i;
            worst_a = analytic;
            worst_n = numeric;
        }
    }
    if (failures)
        fprintf(stderr,
                "gradcheck %s: %d of %zu elements off; worst [%zu] analytic "
                "%.7g numeric %.7g\n",
                what, failures, n, worst_i, worst_a, worst_n);
    /* Restore the caller's outputs to the unperturbed state. */
    fn(x, ctx);
    return failures;
}

double gradcheck_dot(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

float *gradcheck_alloc(size_t n, float value)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        fprintf(stderr, "gradcheck: out of memory (%zu floats)\n", n);
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = value;
    return p;
}

void gradcheck_fill(float *x, size_t n, G2cRng *rng, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)g2c_rng_uniform(rng);
}
