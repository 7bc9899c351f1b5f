/* Parameter registry: every tensor of a model (weights and buffers) lives in
 * one value allocation and one gradient allocation, addressed by the
 * PyTorch state_dict name, so optimizers, checkpoints and freezing work on
 * the whole model without knowing its layers. */
#include "g2c/error.h"
#include "g2c/nn.h"

#include <stdlib.h>
#include <string.h>

/* Each tensor starts on a 64-byte boundary so layer loops over a weight are
 * vector-aligned; the padding floats stay zero and belong to no tensor. */
enum { ALIGN_FLOATS = 16 };

void g2c_params_init(G2cParams *p)
{
    memset(p, 0, sizeof *p);
}

void g2c_params_free(G2cParams *p)
{
    free(p->tensors);
    free(p->data);
    free(p->grad);
    g2c_params_init(p);
}

static int check_shape(const char *name, int ndim, const int64_t *shape,
                       size_t *numel)
{
    if (ndim < 0 || ndim > G2C_MAX_DIMS)
        return g2c_error("tensor %s: %d dimensions (0 to %d supported)", name,
                         ndim, G2C_MAX_DIMS);
    size_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] <= 0 || shape[d] > INT32_MAX)
            return g2c_error("tensor %s: dimension %d is %lld", name, d,
                             (long long)shape[d]);
        if (n > SIZE_MAX / 64 / (size_t)shape[d])
            return g2c_error("tensor %s: too many elements", name);
        n *= (size_t)shape[d];
    }
    *numel = n;
    return 0;
}

int g2c_params_add(G2cParams *p, const char *name, int ndim,
                   const int64_t *shape, int trainable)
{
    if (p->data)
        return g2c_error("tensor %s: registered after finalize", name);
    size_t len = strlen(name);
    if (len == 0 || len >= G2C_MAX_NAME)
        return g2c_error("tensor name \"%.40s\": length %zu (1 to %d)", name,
                         len, G2C_MAX_NAME - 1);
    if (g2c_params_find(p, name) >= 0)
        return g2c_error("tensor %s: registered twice", name);
    size_t numel = 0;
    if (check_shape(name, ndim, shape, &numel) != 0)
        return -1;
    if (p->count == p->capacity) {
        int cap = p->capacity ? p->capacity * 2 : 32;
        G2cTensorInfo *grown = realloc(p->tensors, (size_t)cap * sizeof *grown);
        if (!grown)
            return g2c_error("tensor %s: out of memory", name);
        p->tensors = grown;
        p->capacity = cap;
    }
    G2cTensorInfo *t = &p->tensors[p->count];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, len + 1);
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        t->shape[d] = shape[d];
    t->numel = numel;
    t->trainable = trainable != 0;
    /* Offsets are laid out now so that p->total is known before finalize. */
    t->offset = p->total;
    size_t padded = (numel + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    if (p->total > SIZE_MAX / sizeof(float) / 2 - padded)
        return g2c_error("tensor %s: model too large", name);
    p->total += padded;
    return p->count++;
}

static float *alloc_floats(size_t n)
{
    size_t bytes = (n ? n : ALIGN_FLOATS) * sizeof(float);
    float *f = g2c_nn_alloc_floats(bytes / sizeof(float));
    if (f)
        memset(f, 0, bytes);
    return f;
}

int g2c_params_finalize(G2cParams *p)
{
    if (p->data)
        return g2c_error("parameters finalized twice");
    p->data = alloc_floats(p->total);
    p->grad = alloc_floats(p->total);
    if (!p->data || !p->grad) {
        free(p->data);
        free(p->grad);
        p->data = p->grad = NULL;
        return g2c_error("out of memory for %zu parameters", p->total);
    }
    return 0;
}

int g2c_params_find(const G2cParams *p, const char *name)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->tensors[i].name, name) == 0)
            return i;
    return -1;
}

float *g2c_params_value(G2cParams *p, int index)
{
    if (!p->data || index < 0 || index >= p->count)
        return NULL;
    return p->data + p->tensors[index].offset;
}

/* Buffers (running statistics) have no gradient either: a layer asking for
 * one gets NULL and skips the work, exactly as for a frozen weight. */
float *g2c_params_gradient(G2cParams *p, int index)
{
    if (!p->grad || index < 0 || index >= p->count)
        return NULL;
    const G2cTensorInfo *t = &p->tensors[index];
    if (t->frozen || !t->trainable)
        return NULL;
    return p->grad + t->offset;
}

void g2c_params_zero_grad(G2cParams *p)
{
    if (p->grad)
        memset(p->grad, 0, p->total * sizeof(float));
}

/* Returns the number of tensors under the prefix (already in the requested
 * state or not), so that a mistyped module name shows up as 0. */
int g2c_params_set_frozen(G2cParams *p, const char *prefix, int frozen)
{
    size_t len = strlen(prefix);
    int matched = 0;
    for (int i = 0; i < p->count; i++) {
        if (strncmp(p->tensors[i].name, prefix, len) == 0) {
            p->tensors[i].frozen = frozen != 0;
            matched++;
        }
    }
    return matched;
}
