/* Internals of the G2C classifier (src/models/classifier*.c): the model's
 * geometry and parameter indices, the activations, the backward workspace
 * and the building blocks shared by the stems and the units. */
#ifndef G2C_CLASSIFIER_PRIVATE_H
#define G2C_CLASSIFIER_PRIVATE_H

#include "g2c/classifier.h"
#include "g2c/nn.h"

#include <stdint.h>

/* ---- activation layout ------------------------------------------------- */

/* Buffers are carved from one float and one int32 allocation.  The layout
 * functions run twice: with base NULL they only count (and hand out NULL),
 * then over the real allocation.  Each buffer starts on 64 bytes. */
typedef struct {
    float *base;
    size_t used;
} FloatBump;

typedef struct {
    int32_t *base;
    size_t used;
} IntBump;

static inline float *take_floats(FloatBump *b, size_t n)
{
    float *p = b->base ? b->base + b->used : NULL;
    b->used += (n + 15) / 16 * 16;
    return p;
}

static inline int32_t *take_ints(IntBump *b, size_t n)
{
    int32_t *p = b->base ? b->base + b->used : NULL;
    b->used += (n + 15) / 16 * 16;
    return p;
}

/* ---- conv (no bias) + batch norm (+ ReLU) ------------------------------ */

typedef struct {
    G2cConv2d geo; /* batch is filled in per call */
    int oh, ow;
    int relu;
    int w, gamma, beta, rmean, rvar, nbt; /* indices into G2cParams */
} ConvBn;

typedef struct {
    float *c;          /* convolution output, BN's input */
    float *y;          /* BN (+ ReLU) output; may be a buffer of the caller */
    float *mean, *rstd; /* BN statistics used by this forward */
} ConvBnActs;

/* Registers <name>.conv.weight and <name>.bn.* (or, when conv_name and
 * bn_name are given separately, those two names: the residual block's
 * conv1/bn1).  kh x kw kernel, padding ph / pw. */
int convbn_register(ConvBn *op, G2cParams *p, const char *conv_name,
                    const char *bn_name, int in_c, int in_h, int in_w,
                    int out_c, int kh, int kw, int stride, int ph, int pw,
                    int relu);
void convbn_init(const ConvBn *op, G2cParams *p, G2cRng *rng);
size_t convbn_out_size(const ConvBn *op); /* per image */
void convbn_forward(const ConvBn *op, G2cParams *p, int n, float momentum,
                    float eps, int training, const float *x, ConvBnActs *a);

/* Gradient buffers of the backward pass: a few slots of the largest
 * activation size, handed out zeroed and given back as soon as the
 * gradient they hold has been consumed.  The pass needs at most 4 at a
 * time (the residual block and the Inception stem); running out is a bug
 * and aborts. */
enum { WS_SLOTS = 4 };
typedef struct {
    float *slot[WS_SLOTS];
    int busy[WS_SLOTS];
    size_t size; /* floats per slot */
} Workspace;

float *ws_get(Workspace *ws, size_t n);
void ws_put(Workspace *ws, float *buf);

/* dy: the gradient of the op's output, consumed (masked by the ReLU in
 * place).  Adds the input gradient into dx unless dx is NULL. */
void convbn_backward(const ConvBn *op, G2cParams *p, int n, int training,
                     const float *x, const ConvBnActs *a, float *dy,
                     float *dx, Workspace *ws);

/* nn.Linear's default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias. */
void linear_init(G2cParams *p, int wi, int bi, int in, int out, G2cRng *rng);

/* ---- stems ------------------------------------------------------------- */

enum { STEM_MAX_OPS = 11 };

/* Light: ops 0..2, pool_a.  Inception: ops 0 conv1, 1 conv2, 2 conv3,
 * 3 mix3, 4..5 mix4a, 6..9 mix4b, 10 mix5; pool_a on conv3's output,
 * pool_b on mix4's output. */
typedef struct {
    G2cStemKind kind;
    int n_ops;
    ConvBn op[STEM_MAX_OPS];
    G2cPool2d pool_a, pool_b; /* batch filled in per call */
    int out_c, out_h, out_w;
} Stem;

typedef struct {
    ConvBnActs op[STEM_MAX_OPS];
    float *pa, *pb;            /* pool outputs */
    int32_t *pa_arg, *pb_arg;  /* their argmax */
    float *m3, *m4, *m5;       /* inception concatenations */
    float *out;                /* the stem's output (pa or m5) */
} StemActs;

int stem_register(Stem *s, G2cParams *p, const char *prefix,
                  const G2cClassifierConfig *cfg);
void stem_init(const Stem *s, G2cParams *p, G2cRng *rng);
/* Carve the stem's activations for n images. */
void stem_layout(const Stem *s, int n, StemActs *a, FloatBump *fb,
                 IntBump *ib);
void stem_forward(const Stem *s, G2cParams *p, int n, float momentum,
                  float eps, int training, const float *x, StemActs *a);
/* dout: gradient of the stem's output (given back to ws).  Returns the
 * input's gradient (a ws buffer) or NULL when want_dx is 0. */
float *stem_backward(const Stem *s, G2cParams *p, int n, int training,
                     const float *x, const StemActs *a, float *dout,
                     int want_dx, Workspace *ws);
/* Largest activation of one image in the stem, in floats. */
size_t stem_max_image(const Stem *s);

/* ---- down-sampling units ------------------------------------------------ */

typedef struct {
    int in_c, c, h, w;   /* input channels; channels and size of the block */
    ConvBn conv1, conv2, shortcut;
    int has_shortcut;
    int attention, branches, hidden; /* CSA: K*c -> hidden -> K*c */
    int first;           /* index of its first tensor in G2cParams */
    int fc1_w, fc1_b, fc2_w, fc2_b;
    G2cPool2d pool;      /* batch filled in per call */
    int oh, ow;          /* after the pool */
} Unit;

typedef struct {
    ConvBnActs conv1, conv2, shortcut;
    float *r;          /* block output after the final ReLU */
    float *sq;         /* [K*B, c] squeeze, branch-major */
    float *z;          /* [B, K*c] squeezes side by side */
    float *h1;         /* [B, hidden] after ReLU */
    float *e;          /* [B, K*c] excitation (sigmoid output) */
    float *ee;         /* [K*B, c] the same, branch-major */
    float *y;          /* attention output (r when attention is off) */
    float *p;          /* pooled */
    int32_t *p_arg;
} UnitActs;

int unit_register(Unit *u, G2cParams *p, const char *prefix, int index,
                  int in_c, int h, int w, int c,
                  const G2cClassifierConfig *cfg);
void unit_init(const Unit *u, G2cParams *p, G2cRng *rng);
/* tmp: a buffer of the block's output size (the shortcut's BN output). */
void unit_layout(const Unit *u, int k, int b, UnitActs *a, float *tmp,
                 FloatBump *fb, IntBump *ib);
void unit_forward(const Unit *u, G2cParams *p, int k, int b, float momentum,
                  float eps, int training, const float *x, UnitActs *a);
/* dp: gradient of the pooled output (given back to ws).  Returns the
 * input's gradient (a ws buffer) or NULL when want_dx is 0. */
float *unit_backward(const Unit *u, G2cParams *p, int k, int b, int training,
                     const float *x, const UnitActs *a, float *dp,
                     int want_dx, Workspace *ws);
size_t unit_max_image(const Unit *u);

/* [K*B, c] branch-major <-> [B, K*c] side by side. */
void branches_to_rows(int k, int b, int c, const float *src, float *dst);
void rows_to_branches(int k, int b, int c, const float *src, float *dst);

/* ---- the model and its activations ------------------------------------ */

struct G2cClassifier {
    G2cClassifierConfig cfg;
    Stem stem;
    Unit unit[G2C_CLS_MAX_UNITS];
    int feat_c, feat_h, feat_w; /* each branch's final map */
    int head_w, head_b;
    int first, last; /* range of this model's tensors in G2cParams */
};

struct G2cClassifierActs {
    int max_batch;
    int batch, training, valid; /* of the last forward */
    float *x;                   /* [K*B, 3, H, W] stacked inputs */
    StemActs stem;
    UnitActs unit[G2C_CLS_MAX_UNITS];
    float *tmp;                 /* shared scratch of the units' shortcuts */
    float *gap;                 /* [K*B, feat_c] */
    float *feat;                /* [B, K*feat_c] */
    float *logits;              /* [B, classes] */
    Workspace ws;
    float *floats;
    int32_t *ints;
    size_t bytes;
};

#endif
