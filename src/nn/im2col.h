/* Private helpers of the convolution layers (conv2d.c, convt2d.c):
 * im2col / col2im, padding, per-thread scratch, the thin direct kernels,
 * and the knobs that tests and the benchmark use to force one algorithm. */
#ifndef G2C_NN_IM2COL_H
#define G2C_NN_IM2COL_H

#include <stddef.h>

#include "g2c/nn.h"

/* Geometry of one image's patches: c planes of h x w, a kh x kw window
 * moved by `stride` over the input padded by ph (top, bottom) and pw (left,
 * right), giving oh x ow positions. */
typedef struct {
    int c, h, w;
    int kh, kw, stride;
    int ph, pw;
    int oh, ow;
    G2cPadMode mode;
} G2cPatches;

/* col row r = (ch * kh + ky) * kw + kx holds the oh*ow window values; rows
 * are `ld` floats apart (ld > oh*ow when several images share one
 * matrix). */
void g2c_im2col(const G2cPatches *g, const float *x, float *col, size_t ld);
/* The adjoint: ADDS every col entry into the x element it was read from
 * (reflected entries land on the pixel they mirror). */
void g2c_col2im(const G2cPatches *g, const float *col, size_t ld, float *x);

/* Copy x [c, h, w] into xp [c, h + 2ph, w + 2pw] with zero or reflect
 * border. */
void g2c_pad_planes(int c, int h, int w, int ph, int pw, G2cPadMode mode,
                    const float *x, float *xp);
/* Adjoint of g2c_pad_planes: ADDS dxp back into dx. */
void g2c_unpad_planes_add(int c, int h, int w, int ph, int pw,
                          G2cPadMode mode, const float *dxp, float *dx);

/* db[o] += sum of dy[n, o, :] over n and the plane, summed in double. */
void g2c_bias_grad(int batch, int channels, size_t plane, const float *dy,
                   float *db);

/* d[i] += s[i] for n elements (vectorized where the CPU allows). */
void g2c_add_floats(float *d, const float *s, size_t n);

/* Direct stride-1 correlation, for layers with few channels on one side
 * (at most G2C_THIN_MAX; the other side may be wide):
 * y[o] (oh x ow = hp - kh + 1 x wp - kw + 1) = bias[o] (0 if NULL) + sum
 * over c, ky, kx of w[o, c, ky, kx] * xp[c, oy + ky, ox + kx], o < m.
 * accumulate=1 adds the result into y instead of writing it.  w is
 * [m, c, kh, kw]. */
enum { G2C_THIN_MAX = 4 };
void g2c_thin_conv(int m, int c, int hp, int wp, int kh, int kw,
                   const float *xp, const float *w, const float *bias, float *y,
                   int accumulate);
/* dw[o, c, ky, kx] += sum over oy, ox of dy[o, oy, ox] * xp[c, oy+ky, ox+kx]
 * for m output planes of oh x ow. */
void g2c_thin_conv_dw(int m, int c, int hp, int wp, int kh, int kw,
                      const float *xp, const float *dy, float *dw);

/* Per-thread scratch: at least n floats, 64-byte aligned, contents
 * undefined, valid until this thread's next call.  Grows, never shrinks, so
 * a training loop allocates only during its first step.  The layers have no
 * error path, so running out of memory here aborts with a message. */
float *g2c_nn_scratch(size_t n);
/* The same, a second buffer: for the items of a parallel job, which may
 * run on the calling thread while its g2c_nn_scratch() buffer is in use. */
float *g2c_nn_item_scratch(size_t n);

/* y (+)= the correlation of x with w as an implicit GEMM: the im2col
 * matrix is never written; each item gathers 32 of its columns into a
 * packed panel that an AVX-512 register-blocked kernel multiplies with the
 * packed weights.  g: one image's geometry (any kernel, stride, zero or
 * reflect padding); w [m, c * kh * kw]; y [batch, m, oh, ow]; bias may be
 * NULL; accumulate = 1 adds into y.  Every output element is one kernel
 * call's full sum, so the result does not depend on the thread count.
 * Returns -1 (nothing done) where the CPU has no AVX-512 or the padded
 * input is too large for 32-bit gather offsets. */
int g2c_conv_implicit(const G2cPatches *g, int batch, int m, const float *x,
                      const float *w, const float *bias, float *y,
                      int accumulate);
/* The same with w [c, m, kh, kw] used transposed and turned by 180
 * degrees, adding into y: a convolution's dx as the correlation of its dy
 * (c = its out_c, m = its in_c). */
int g2c_conv_implicit_flipped(const G2cPatches *g, int batch, int m,
                              const float *x, const float *w, float *y);
/* dw [m, c * kh * kw] += dy [batch, m, oh, ow] times the transposed im2col
 * matrix of x, the same way (32 gathered k columns per item, the pixel
 * sum in blocks of 256; each dw element is one item's). */
int g2c_conv_implicit_dw(const G2cPatches *g, int batch, int m,
                         const float *x, const float *dy, float *dw);

/* Stride-1 output rows at least this wide take the implicit GEMM's "wide
 * rows" (computed over the padded width, a 3x3 layer then computes 2
 * extra columns per 20 or more): plain loads instead of gathers, and for
 * dw register-blocked dot products over them. */
enum { G2C_WIDE_MIN_WIDTH = 20 };

/* Algorithm choice.  AUTO picks by shape; the others force one path where
 * it applies (tests cover each path; the benchmark compares them). */
typedef enum {
    G2C_CONV_AUTO = 0,
    G2C_CONV_GEMM,   /* im2col + sgemm (dx: sgemm + col2im) */
    G2C_CONV_DIRECT, /* thin direct kernels (stride 1, few channels) */
    G2C_CONV_TCONV,  /* dx as a stride-1 correlation of dy: im2col + sgemm */
    G2C_CONV_IMPLICIT, /* implicit GEMM (fwd; dx as TCONV's correlation) */
} G2cConvAlgo;

typedef struct {
    G2cConvAlgo fwd, dw, dx;
    /* Images folded into one sgemm: enough to reach this many columns. */
    int fold_cols;
    /* 1: plain C loops even where AVX-512 is there (tests of both). */
    int generic;
} G2cConvTuning;

/* Process-wide knobs; change only while no convolution runs. */
extern G2cConvTuning g2c_conv_tuning;

/* How many images of `cols` output columns each go into one sgemm. */
int g2c_conv_fold_count(int batch, size_t cols);

#endif
