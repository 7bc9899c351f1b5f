/* g2c neural-network engine: float32 layers over plain arrays, on OpenBLAS.
 *
 * Conventions (the whole engine follows them; see docs/engine.md):
 *
 *  - Tensors are contiguous float32 in NCHW order: element (n, c, y, x) of a
 *    [N, C, H, W] tensor is at ((n * C + c) * H + y) * W + x.  Weights use
 *    PyTorch's layouts (conv [out, in, k, k], transposed conv [in, out, k, k],
 *    linear [out, in]) so checkpoints map one-to-one onto state_dict keys.
 *
 *  - Every layer is a `*_forward` / `*_backward` pair with explicit shapes.
 *    Forward writes its output.  Backward ADDS into every gradient buffer it
 *    is given (dx, dw, db, ...): the caller zeroes gradients once per step,
 *    which makes residual branches, shared-weight branches and
 *    classifier-to-generator flow work without special cases.  A NULL
 *    gradient pointer means "not needed" (dx of the first layer, the weights
 *    of a frozen module) and that work is skipped.
 *
 *  - Functions that can fail return 0 / -1 with g2c_error(); pure arithmetic
 *    on valid shapes returns void.
 *
 *  - Losses return the mean loss and ADD `scale * dloss/dinput` into their
 *    gradient buffer when it is not NULL (scale = 1 for a plain loss, lambda
 *    for a weighted term).
 *
 *  - Same seed and same thread count give bit-identical results.
 */
#ifndef G2C_NN_H
#define G2C_NN_H

#include <stddef.h>
#include <stdint.h>

#include "g2c/rng.h"

/* ---- runtime --------------------------------------------------------- */

/* Make sure OpenBLAS runs its fastest kernels on this CPU.  Debian's 0.3.21
 * misdetects AVX-512 Zen CPUs as Haswell; the core type can only be chosen
 * before the library loads, so when needed this re-executes the program
 * with OPENBLAS_CORETYPE set.  Call first thing in main(); returns only if
 * no re-exec was needed (or it failed, which is harmless). */
void g2c_nn_runtime_init(int argc, char **argv);

/* The engine's threads (default: G2C_THREADS, else the core count): one
 * pool that runs the matrix products in panels (OpenBLAS itself runs on
 * one thread inside each) and the layers between them. */
void g2c_nn_set_threads(int n);
int g2c_nn_threads(void);

/* A buffer of n floats for parameters, activations, gradients or
 * optimizer state: 64-byte aligned, on transparent huge pages where the
 * kernel allows (large buffers); contents undefined; release with free().
 * NULL when out of memory. */
float *g2c_nn_alloc_floats(size_t n);

/* ---- convolution ----------------------------------------------------- */

typedef enum {
    G2C_PAD_ZERO = 0,
    G2C_PAD_REFLECT = 1, /* PyTorch ReflectionPad2d / padding_mode='reflect' */
} G2cPadMode;

typedef struct {
    int batch, in_c, in_h, in_w;
    int out_c;
    int kernel, stride, pad; /* kernel height, stride, padding (top = bottom) */
    G2cPadMode pad_mode;
    /* Rectangular kernels (Inception's 1x7 and 7x1): kernel_w > 0 gives the
     * kernel width and then pad_w the left/right padding.  kernel_w = 0
     * means square: width = kernel, pad_w = pad.  Weights are
     * [out_c, in_c, kernel, kernel_w]. */
    int kernel_w, pad_w;
} G2cConv2d;

int g2c_conv2d_out_h(const G2cConv2d *c);
int g2c_conv2d_out_w(const G2cConv2d *c);
/* x [batch, in_c, in_h, in_w], w [out_c, in_c, k, k], b [out_c] or NULL,
 * y [batch, out_c, out_h, out_w]. */
void g2c_conv2d_forward(const G2cConv2d *c, const float *x, const float *w,
                        const float *b, float *y);
void g2c_conv2d_backward(const G2cConv2d *c, const float *x, const float *w,
                         const float *dy, float *dx, float *dw, float *db);

typedef struct {
    int batch, in_c, in_h, in_w;
    int out_c;
    int kernel, stride, pad, output_pad; /* PyTorch ConvTranspose2d semantics */
} G2cConvT2d;

int g2c_convt2d_out_h(const G2cConvT2d *c); /* (in-1)*s - 2p + k + op */
int g2c_convt2d_out_w(const G2cConvT2d *c);
/* w [in_c, out_c, k, k] as in PyTorch. */
void g2c_convt2d_forward(const G2cConvT2d *c, const float *x, const float *w,
                         const float *b, float *y);
void g2c_convt2d_backward(const G2cConvT2d *c, const float *x, const float *w,
                          const float *dy, float *dx, float *dw, float *db);

/* ---- normalization --------------------------------------------------- */

/* Instance norm over each (n, c) plane of hw elements.  gamma/beta NULL for
 * affine=False.  mean/rstd [n*c] are saved for backward. */
void g2c_instnorm_forward(int n, int c, int hw, float eps, const float *x,
                          const float *gamma, const float *beta, float *y,
                          float *mean, float *rstd);
void g2c_instnorm_backward(int n, int c, int hw, const float *x,
                           const float *gamma, const float *mean,
                           const float *rstd, const float *dy, float *dx,
                           float *dgamma, float *dbeta);

/* Batch norm.  training=1: batch statistics, running stats updated with
 * PyTorch's momentum rule (unbiased variance into running_var).
 * training=0: running statistics.  mean/rstd [c] saved for backward. */
void g2c_batchnorm_forward(int n, int c, int hw, float eps, float momentum,
                           int training, const float *x, const float *gamma,
                           const float *beta, float *running_mean,
                           float *running_var, float *y, float *mean,
                           float *rstd);
void g2c_batchnorm_backward(int n, int c, int hw, int training, const float *x,
                            const float *gamma, const float *mean,
                            const float *rstd, const float *dy, float *dx,
                            float *dgamma, float *dbeta);

/* ---- element-wise ---------------------------------------------------- */

void g2c_relu_forward(size_t n, const float *x, float *y);
void g2c_relu_backward(size_t n, const float *x, const float *dy, float *dx);
/* ReLU's backward in place, from its output: d[i] = 0 where y[i] <= 0. */
void g2c_relu_mask(size_t n, const float *y, float *d);
void g2c_leakyrelu_forward(size_t n, float slope, const float *x, float *y);
void g2c_leakyrelu_backward(size_t n, float slope, const float *x,
                            const float *dy, float *dx);
/* tanh and sigmoid backward take the forward OUTPUT y. */
void g2c_tanh_forward(size_t n, const float *x, float *y);
void g2c_tanh_backward(size_t n, const float *y, const float *dy, float *dx);
void g2c_sigmoid_forward(size_t n, const float *x, float *y);
void g2c_sigmoid_backward(size_t n, const float *y, const float *dy, float *dx);

/* Inverted dropout: in training, keeps each element with probability 1-p
 * and scales it by 1/(1-p); mask [n] records the kept elements (0/1). */
void g2c_dropout_forward(size_t n, float p, int training, G2cRng *rng,
                         const float *x, float *y, uint8_t *mask);
void g2c_dropout_backward(size_t n, float p, int training, const uint8_t *mask,
                          const float *dy, float *dx);

void g2c_add_forward(size_t n, const float *a, const float *b, float *y);
void g2c_add_backward(size_t n, const float *dy, float *da, float *db);
/* x[0..n) = 0, on the engine's threads (gradient buffers before they
 * accumulate). */
void g2c_zero_floats(float *x, size_t n);

/* Channel-wise multiply (squeeze-and-excitation): y[n,c,:] = x[n,c,:]*s[n,c]. */
void g2c_chanmul_forward(int n, int c, int hw, const float *x, const float *s,
                         float *y);
void g2c_chanmul_backward(int n, int c, int hw, const float *x, const float *s,
                          const float *dy, float *dx, float *ds);

/* ---- pooling --------------------------------------------------------- */

typedef struct {
    int batch, c, in_h, in_w;
    int kernel, stride, pad;
} G2cPool2d;

int g2c_pool2d_out_h(const G2cPool2d *p);
int g2c_pool2d_out_w(const G2cPool2d *p);
/* Max pool; argmax [batch, c, out_h, out_w] records the winning input index
 * within each plane (PyTorch ties: first maximum). */
void g2c_maxpool2d_forward(const G2cPool2d *p, const float *x, float *y,
                           int32_t *argmax);
void g2c_maxpool2d_backward(const G2cPool2d *p, const int32_t *argmax,
                            const float *dy, float *dx);
/* Average pool, count_include_pad=True as PyTorch's default. */
void g2c_avgpool2d_forward(const G2cPool2d *p, const float *x, float *y);
void g2c_avgpool2d_backward(const G2cPool2d *p, const float *dy, float *dx);
/* Global average pool: [n, c, hw] -> [n, c]. */
void g2c_gap_forward(int n, int c, int hw, const float *x, float *y);
void g2c_gap_backward(int n, int c, int hw, const float *dy, float *dx);

/* ---- fully connected ------------------------------------------------- */

/* x [batch, in], w [out, in], b [out] or NULL, y [batch, out]. */
void g2c_linear_forward(int batch, int in, int out, const float *x,
                        const float *w, const float *b, float *y);
void g2c_linear_backward(int batch, int in, int out, const float *x,
                         const float *w, const float *dy, float *dx, float *dw,
                         float *db);

/* ---- concatenation along channels ------------------------------------ */

/* parts tensors xs[i] of [n, channels[i], hw] -> y [n, sum channels, hw].
 * Split is the same pair read the other way. */
void g2c_concat_forward(int n, int hw, int parts, const int *channels,
                        const float *const *xs, float *y);
void g2c_concat_backward(int n, int hw, int parts, const int *channels,
                         const float *dy, float *const *dxs);
void g2c_split_forward(int n, int hw, int parts, const int *channels,
                       const float *x, float *const *ys);
void g2c_split_backward(int n, int hw, int parts, const int *channels,
                        const float *const *dys, float *dx);

/* ---- losses (mean reduction, as PyTorch's defaults) ------------------ */

float g2c_mse_loss(size_t n, const float *x, const float *target, float *dx,
                   float scale);
/* MSE against a constant target (LSGAN: 1 for real, 0 for fake). */
float g2c_mse_const_loss(size_t n, const float *x, float target, float *dx,
                         float scale);
float g2c_l1_loss(size_t n, const float *x, const float *target, float *dx,
                  float scale);
/* Softmax cross-entropy on logits [batch, classes]; class_weight [classes]
 * or NULL; weighted mean as PyTorch (sum w_y * l / sum w_y). */
float g2c_softmax_ce_loss(int batch, int classes, const float *logits,
                          const int *labels, const float *class_weight,
                          float *dlogits, float scale);
/* Focal loss (Lin et al.): mean over the batch of
 * -alpha[y] * (1 - p_y)^gamma * log p_y; alpha NULL means 1 for all. */
float g2c_focal_loss(int batch, int classes, const float *logits,
                     const int *labels, const float *alpha, float gamma,
                     float *dlogits, float scale);

/* ---- parameters ------------------------------------------------------ */

enum { G2C_MAX_NAME = 128, G2C_MAX_DIMS = 4 };

typedef struct {
    char name[G2C_MAX_NAME]; /* the PyTorch state_dict key */
    int ndim;
    int64_t shape[G2C_MAX_DIMS];
    size_t offset; /* into G2cParams.data / .grad, in floats */
    size_t numel;
    int trainable; /* 0 for buffers: running_mean, running_var */
    int frozen;    /* 1 while its module is frozen */
} G2cTensorInfo;

/* All tensors of a model in one allocation for values and one for
 * gradients: models register tensors, then finalize once. */
typedef struct {
    G2cTensorInfo *tensors;
    int count, capacity;
    float *data;
    float *grad;
    size_t total;
} G2cParams;

void g2c_params_init(G2cParams *p);
void g2c_params_free(G2cParams *p);
/* Register a tensor before finalize; returns its index or -1. */
int g2c_params_add(G2cParams *p, const char *name, int ndim,
                   const int64_t *shape, int trainable);
int g2c_params_finalize(G2cParams *p); /* allocates data and grad, zeroed */
int g2c_params_find(const G2cParams *p, const char *name); /* index or -1 */
float *g2c_params_value(G2cParams *p, int index);
float *g2c_params_gradient(G2cParams *p, int index); /* NULL if frozen */
void g2c_params_zero_grad(G2cParams *p);
/* Freeze or unfreeze every tensor whose name starts with prefix (a module,
 * e.g. "gen_HE."); returns the number of tensors changed. */
int g2c_params_set_frozen(G2cParams *p, const char *prefix, int frozen);

/* ---- initialization -------------------------------------------------- */

void g2c_init_normal(float *w, size_t n, float mean, float std, G2cRng *rng);
/* Kaiming normal, fan_in mode, for ReLU (gain sqrt 2). */
void g2c_init_kaiming(float *w, size_t n, int fan_in, G2cRng *rng);

/* ---- optimizers and schedules ---------------------------------------- */

typedef enum { G2C_OPT_SGD, G2C_OPT_ADAM } G2cOptKind;

typedef struct {
    G2cOptKind kind;
    float lr;
    float momentum;     /* SGD */
    float weight_decay; /* both: PyTorch's coupled L2 */
    float beta1, beta2, eps; /* Adam */
} G2cOptConfig;

/* Optimizer state lives beside the parameters it updates (momentum, Adam
 * moments, step count) and is checkpointed with them. */
typedef struct {
    G2cOptConfig cfg;
    G2cParams *params;
    float *m; /* SGD momentum buffer or Adam first moment */
    float *v; /* Adam second moment */
    int64_t step;
} G2cOptimizer;

int g2c_optim_init(G2cOptimizer *o, G2cParams *p, G2cOptConfig cfg);
void g2c_optim_free(G2cOptimizer *o);
/* One update of every trainable, unfrozen tensor with learning rate lr. */
void g2c_optim_step(G2cOptimizer *o, float lr);

/* Step: base / divisor^(epoch / every). */
float g2c_lr_step(float base, int epoch, int every, float divisor);
/* CycleGAN: constant for n_const epochs, then linear to zero over n_decay. */
float g2c_lr_linear_decay(float base, int epoch, int n_const, int n_decay);

/* ---- checkpoints (safetensors) --------------------------------------- */

/* Write every tensor of p (F32, PyTorch names) plus string metadata pairs
 * (keys[i] -> values[i], may be 0 of them).  Written to a temporary file and
 * renamed, so a crash never leaves a half-written checkpoint.  When o is not
 * NULL its state is saved too, under "optim.<m|v>.<name>" and metadata
 * "optim.step". */
int g2c_checkpoint_save(const char *path, const G2cParams *p,
                        const G2cOptimizer *o, int n_meta,
                        const char *const *keys, const char *const *values);
/* Load into a finalized p.  strict=1: every tensor of p must be present with
 * the same shape; strict=0: missing tensors are left as they are.  Errors
 * name the file and the tensor. */
int g2c_checkpoint_load(const char *path, G2cParams *p, G2cOptimizer *o,
                        int strict);

/* Low-level safetensors reading, for fixtures and inspection. */
typedef struct G2cSafetensors G2cSafetensors;
G2cSafetensors *g2c_safetensors_open(const char *path);
void g2c_safetensors_close(G2cSafetensors *st);
/* F32 tensor by name (NULL if absent); shape written when ndim != NULL. */
const float *g2c_safetensors_get(G2cSafetensors *st, const char *name,
                                 int *ndim, int64_t *shape);
/* Metadata string by key, or NULL. */
const char *g2c_safetensors_meta(G2cSafetensors *st, const char *key);

#endif
