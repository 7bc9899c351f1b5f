/* A parallel for-loop over independent items that may fail: I/O-bound
 * work such as reading and encoding crops.  It starts its threads per call;
 * the NN engine's layers use the engine's persistent pool instead
 * (src/nn/nn-parallel.h). */
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
