/* Splitting the engine's memory-bound layers (normalization, pooling,
 * point-wise maps) over threads (private to src/nn).
 *
 * OpenBLAS threads only run inside sgemm; between two products the layers
 * in between ran on one thread.  These run them over independent items
 * (channels, planes, fixed chunks) on g2c_nn_threads() pthreads, the
 * calling thread included (no OpenMP: its spinning threads fight
 * OpenBLAS's, measured as a 2x loss).  Each item is computed exactly as on
 * one thread, so results do not depend on the thread count or on which
 * thread ran an item. */
#ifndef G2C_NN_PARALLEL_H
#define G2C_NN_PARALLEL_H

#include <stddef.h>

/* Below this many floats of work a call stays on the calling thread:
 * starting a thread costs ~20-50 us, about what 64K floats of a point-wise
 * pass take. */
enum { G2C_NN_PAR_MIN = 1 << 16 };

/* 0: keep these layers on the calling thread whatever the thread count
 * (OpenBLAS still uses its threads); for benchmarks, set before any layer
 * runs.  Default 1. */
extern int g2c_nn_parallel_layers;

/* fn(ctx, i) for i in [0, items); on several threads when the engine has
 * more than one and `work` (floats touched, roughly) is at least
 * G2C_NN_PAR_MIN. */
void g2c_nn_parallel(int items, size_t work, void (*fn)(void *ctx, int i),
                     void *ctx);

#endif
