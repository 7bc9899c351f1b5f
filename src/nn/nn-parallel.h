/* The engine's threads (private to src/nn; src/nn/workers.c).
 *
 * One persistent pool of g2c_nn_threads() threads, the calling thread
 * included, runs both the matrix products (split into panels of C, each a
 * one-thread OpenBLAS sgemm) and the memory-bound layers between them
 * (normalization, pooling, im2col, point-wise maps) over independent items
 * (channels, planes, fixed chunks).  OpenBLAS never starts threads of its
 * own: its idle threads spin in sched_yield() on the cores these layers
 * want.  No OpenMP either (its spinning threads fight OpenBLAS's, measured
 * as a 2x loss).  Each item is computed exactly as on one thread, so
 * results depend on the thread count at most through the panel split of
 * a product, never on which thread ran an item. */
#ifndef G2C_NN_PARALLEL_H
#define G2C_NN_PARALLEL_H

#include <stddef.h>

/* Below this many floats of work a call stays on the calling thread: a
 * job costs a few microseconds when the workers are spinning and up to a
 * millisecond when they sleep, about what 64K floats of a point-wise pass
 * take. */
enum { G2C_NN_PAR_MIN = 1 << 16 };

/* 0: keep these layers on the calling thread whatever the thread count
 * (OpenBLAS still uses its threads); for benchmarks, set before any layer
 * runs.  Default 1. */
extern int g2c_nn_parallel_layers;

/* 0: the optimizers use their scalar loops only (for the test that the
 * AVX-512 loops give the same bits).  Default 1. */
extern int g2c_optim_vector;

/* fn(ctx, i) for i in [0, items); on several threads when the engine has
 * more than one and `work` (floats touched, roughly) is at least
 * G2C_NN_PAR_MIN. */
void g2c_nn_parallel(int items, size_t work, void (*fn)(void *ctx, int i),
                     void *ctx);

/* fn(ctx, lo, hi) over [0, n) cut into fixed chunks of G2C_NN_CHUNK
 * elements (n below G2C_NN_PAR_MIN: one call on the calling thread). */
enum { G2C_NN_CHUNK = 1 << 14 };
void g2c_nn_parallel_range(size_t n,
                           void (*fn)(void *ctx, size_t lo, size_t hi),
                           void *ctx);

/* cblas_sgemm (row-major; trans_* 0 or 1) split into panels of C over the
 * engine's threads, each a one-thread OpenBLAS product.  Every element of
 * C is computed by one panel, so the split does not change its bits. */
void g2c_nn_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                  const float *a, int lda, const float *b, int ldb, float beta,
                  float *c, int ldc);

#endif
