/* A parallel for-loop over independent items: I/O-bound work such as
 * reading and encoding crops, and the NN engine's memory-bound layers
 * (normalisation, pooling, im2col; src/nn/nn-parallel.h), which run between
 * OpenBLAS's products and so never compete with OpenBLAS's own threads. */
#ifndef G2C_PARALLEL_H
#define G2C_PARALLEL_H

/* Call fn(ctx, i) for i in [0, n) on `threads` threads (0 = all cores), the
 * calling thread included.  fn returns 0 or -1 with g2c_error().  Every item
 * runs even if some fail; the return is -1 when any failed, with the
 * message of the lowest failing i prefixed by "item I: " left pending
 * (failed_index, if not NULL, receives that i, or -1). */
int g2c_parallel_for(int n, int threads, int (*fn)(void *ctx, int i), void *ctx,
                     int *failed_index);

#endif
