/* The G2C multi-stain classifier (Wu et al., AAAI 2019), on the g2c engine.
 *
 * K branches, one per stain, all sharing their weights.  Branch 0 sees the
 * real PAS crop and branches 1..K-1 the crops the stage-1 generators made
 * from it (tanh outputs in [-1, 1]; the PAS crop is scaled to [-1, 1] too).
 * Each branch is a stem, then `units` down-sampling units:
 *
 *   residual block (conv3x3-BN-ReLU-conv3x3-BN + shortcut, ReLU after the
 *   add; the shortcut is 1x1 conv + BN where the channel count changes)
 *   -> cross-stain attention (optional)
 *   -> max pool 3x3, stride 2, padding 1 (out = ceil(in / 2)).
 *
 * Cross-stain attention (CSA): squeeze every branch's map by global average
 * pooling ([B, C] each), concatenate the K squeezes ([B, K*C]), FC to
 * K*C/reduction, ReLU, FC back to K*C, sigmoid, split into K excitations
 * [B, C] and scale each branch's channels by its own.  With K = 1 it is a
 * plain squeeze-and-excitation block.
 *
 * Head: the K branches' final maps concatenated along channels, global
 * average pooling, one fully connected layer to the classes.
 *
 * Stems (every conv is conv (no bias) + BN + ReLU):
 *  - light: 3x3 s2, 3x3 s1, 3x3 s1 (all stem_width channels, padding 1),
 *    then max pool 3x3 s2 p1: out = ceil(ceil(H / 2) / 2).
 *  - inception: Inception-v4's stem with w = stem_width (w = 32 is the
 *    original): conv3x3 s2 (w), conv3x3 (w), conv3x3 (2w);
 *    [maxpool3 s2 | conv3x3 s2 (3w)]; [1x1 (2w), 3x3 (3w)] and
 *    [1x1 (2w), 7x1 (2w), 1x7 (2w), 3x3 (3w)]; [conv3x3 s2 (6w) | maxpool3
 *    s2]: 12w channels.  Unlike Inception-v4's 'valid' convolutions, every
 *    3x3 conv and pool has padding 1 and the 7x1/1x7 convs padding 3 along
 *    their long side, so each stride-2 step maps n to ceil(n / 2) on both
 *    sides of a concatenation, odd n included, and small inputs do not
 *    vanish: out = ceil(ceil(ceil(H / 2) / 2) / 2).
 *
 * Implementation: the K branches are stacked along the batch dimension,
 * branch-major ([K*B, C, H, W], rows k*B..k*B+B-1 are branch k), for every
 * shared layer, so each convolution is one large product and batch norm
 * sees all branches together, as torch.cat(branches, 0) through one trunk.
 *
 * Parameters are registered in a G2cParams under a prefix with the
 * state_dict names of the PyTorch module in tools/torchref/classifier.py,
 * for example (prefix "classifier."):
 *   classifier.stem.0.conv.weight          light stem conv i: stem.<i>
 *   classifier.stem.0.bn.{weight,bias,running_mean,running_var,
 *                         num_batches_tracked}
 *   classifier.stem.conv1.conv.weight      inception: conv1..conv3, mix3,
 *                                          mix4a.{0,1}, mix4b.{0..3}, mix5
 *   classifier.units.0.block.conv1.weight  also bn1, conv2, bn2,
 *                                          shortcut.conv, shortcut.bn
 *   classifier.units.0.attention.fc1.{weight,bias}   (and fc2)
 *   classifier.head.{weight,bias}
 * Running statistics and num_batches_tracked are non-trainable buffers
 * (num_batches_tracked as an F32 scalar, counted up by every training
 * forward), so a checkpoint loads into the PyTorch module with strict=True.
 */
#ifndef G2C_CLASSIFIER_H
#define G2C_CLASSIFIER_H

#include <stddef.h>

#include "g2c/nn.h"
#include "g2c/rng.h"

enum { G2C_CLS_MAX_UNITS = 8, G2C_CLS_MAX_BRANCHES = 16 };

typedef enum {
    G2C_STEM_LIGHT = 0,
    G2C_STEM_INCEPTION = 1,
} G2cStemKind;

typedef struct {
    int branches;   /* K >= 1; 1 = the PAS_ONLY baseline */
    int attention;  /* 1: CSA after every residual block (PAS_ALL+) */
    int input_size; /* H = W of every branch's input */
    G2cStemKind stem;
    int stem_width; /* light: channels of its convs; inception: w above */
    int units;      /* 1 .. G2C_CLS_MAX_UNITS */
    int widths[G2C_CLS_MAX_UNITS]; /* channels of each unit */
    int classes;
    int reduction;  /* CSA hidden width = max(1, K*C / reduction); 16 */
    float bn_momentum; /* PyTorch's convention: 0.1 */
    float bn_eps;      /* 1e-5 */
} G2cClassifierConfig;

/* Named configurations:
 *   "cpu"      the CPU preset: K = 4 with attention, 96x96 inputs, light
 *              stem 32, units 64,128,256, 2 classes (gs vs rest).
 *   "paper"    K = 4 with attention, 224x224, Inception stem (w = 32),
 *              units 64,128,256,512, 2 classes.
 *   "resnet18" a ResNet-18-sized single branch for reference: K = 1, no
 *              attention, 224x224, light stem 64, units 64,128,256,512.
 *   "tiny"     K = 3 with attention, 16x16, light stem 4, one unit of 8,
 *              3 classes (tests).
 * BN momentum 0.1, eps 1e-5 and reduction 16 throughout.  Returns -1 for
 * an unknown name. */
int g2c_classifier_config_preset(G2cClassifierConfig *cfg, const char *name);

/* 0, or -1 with a message naming the field and its value. */
int g2c_classifier_config_check(const G2cClassifierConfig *cfg);

typedef struct G2cClassifier G2cClassifier;
typedef struct G2cClassifierActs G2cClassifierActs;

/* Check cfg and register the model's tensors in p (before
 * g2c_params_finalize) under `prefix` ("" for none, or e.g.
 * "classifier.").  NULL with g2c_error() on failure. */
G2cClassifier *g2c_classifier_build(const G2cClassifierConfig *cfg,
                                    G2cParams *p, const char *prefix);
void g2c_classifier_free(G2cClassifier *m);
const G2cClassifierConfig *g2c_classifier_config(const G2cClassifier *m);
/* Trainable parameter count (weights and biases, no buffers). */
size_t g2c_classifier_param_count(const G2cClassifier *m, const G2cParams *p);
/* Channels, height and width of each branch's final map (before the head). */
void g2c_classifier_feature_shape(const G2cClassifier *m, int *c, int *h,
                                  int *w);

/* After g2c_params_finalize: convolutions Kaiming normal (fan_out, ReLU
 * gain, as torchvision's ResNet), BN gamma 1, beta 0, running mean 0,
 * running var 1, num_batches_tracked 0; fully connected layers as
 * PyTorch's nn.Linear default, U(-1/sqrt(in), 1/sqrt(in)) for weight and
 * bias.  Drawn from rng in registration order. */
void g2c_classifier_init(const G2cClassifier *m, G2cParams *p, G2cRng *rng);

/* Activations (and the backward workspace) for batches of up to max_batch
 * crops per branch.  NULL with g2c_error() when out of memory. */
G2cClassifierActs *g2c_classifier_acts_new(const G2cClassifier *m,
                                           int max_batch);
void g2c_classifier_acts_free(G2cClassifierActs *a);
size_t g2c_classifier_acts_bytes(const G2cClassifierActs *a);

/* inputs[k], k < K: [batch, 3, H, W] for branch k.  training = 1 uses the
 * batch statistics (over all K*batch images) and updates the running ones;
 * 0 uses the running statistics.  Returns the logits [batch, classes]
 * (inside a, valid until the next forward), or NULL with g2c_error() when
 * batch is not in [1, max_batch]. */
const float *g2c_classifier_forward(const G2cClassifier *m, G2cParams *p,
                                    const float *const *inputs, int batch,
                                    int training, G2cClassifierActs *a);

/* Backward of the last forward through a (same mode).  dlogits
 * [batch, classes].  ADDS the gradient of every trainable, unfrozen tensor
 * into p's gradients, and of each input branch into dinputs[k] when
 * dinputs and dinputs[k] are not NULL ([batch, 3, H, W]): this is how the
 * joint fine-tuning reaches the generators.  -1 with g2c_error() when no
 * forward preceded it. */
int g2c_classifier_backward(const G2cClassifier *m, G2cParams *p,
                            G2cClassifierActs *a, const float *dlogits,
                            float *const *dinputs);

#endif
