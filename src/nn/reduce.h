/* Double-precision reductions shared by the normalization layers
 * (private to src/nn). */
#ifndef G2C_NN_REDUCE_H
#define G2C_NN_REDUCE_H

/* Reductions in double, over LANES independent partial sums: one running
 * double sum is bound by the add latency and runs ~3x slower, and
 * fixed-count inner loops are what GCC's -O2 vectorizer accepts. */
enum { LANES = 8 };

static inline double sum(const float *x, int n)
{
    double acc[LANES] = {0}, s = 0.0;
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += x[i + j];
    for (; i < n; i++)
        s += x[i];
    for (int j = 0; j < LANES; j++)
        s += acc[j];
    return s;
}

/* sum (x - m)^2 */
static inline double sum_sqdev(const float *x, int n, double m)
{
    double acc[LANES] = {0}, s = 0.0;
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) {
            double d = x[i + j] - m;
            acc[j] += d * d;
        }
    for (; i < n; i++) {
        double d = x[i] - m;
        s += d * d;
    }
    for (int j = 0; j < LANES; j++)
        s += acc[j];
    return s;
}

/* sum dy * (x - m): with sum dy, all that backward needs. */
static inline double sum_dy_dev(const float *dy, const float *x, int n, float m)
{
    double acc[LANES] = {0}, s = 0.0;
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += (double)dy[i + j] * (x[i + j] - m);
    for (; i < n; i++)
        s += (double)dy[i] * (x[i] - m);
    for (int j = 0; j < LANES; j++)
        s += acc[j];
    return s;
}

/* sum dy and sum dy * (x - m) in one pass over dy: each with the partial
 * sums and order of sum() and sum_dy_dev(), so the same bits, but dy is
 * read once (normalization backward is bound by memory traffic). */
static inline void sum_and_dy_dev(const float *dy, const float *x, int n,
                                  float m, double *sdy, double *sdyx)
{
    double a[LANES] = {0}, b[LANES] = {0}, s = 0.0, t = 0.0;
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) {
            a[j] += dy[i + j];
            b[j] += (double)dy[i + j] * (x[i + j] - m);
        }
    for (; i < n; i++) {
        s += dy[i];
        t += (double)dy[i] * (x[i] - m);
    }
    for (int j = 0; j < LANES; j++) {
        s += a[j];
        t += b[j];
    }
    *sdy = s;
    *sdyx = t;
}

#endif
