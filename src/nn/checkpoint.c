/* Checkpoints: a model's G2cParams (and optionally its optimizer state) as a
 * safetensors file whose tensor names are the PyTorch state_dict keys, so
 * the same file loads in PyTorch and in g2c.  The format, naming and
 * metadata keys are documented in schemas/checkpoints.md.
 *
 * Saving writes a temporary file beside the target, fsyncs it, renames it
 * over the target and fsyncs the folder: a crash leaves either the old
 * checkpoint or the new one.  Loading checks every tensor before it copies
 * any, so a bad file changes nothing. */
#include "safetensors-private.h"

#include "g2c/error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char OPTIM_PREFIX[] = "optim.";

/* ---- shared helpers -------------------------------------------------- */

static void format_shape(char *buf, size_t size, int ndim,
                         const int64_t *shape)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "%s%" PRId64,
                                 d ? "," : "", shape[d]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

static void state_name(char *buf, size_t size, char which, const char *name)
{
    snprintf(buf, size, "%sm.%s", OPTIM_PREFIX, name);
    buf[strlen(OPTIM_PREFIX)] = which;
}

static const char *kind_name(G2cOptKind kind)
{
    return kind == G2C_OPT_ADAM ? "adam" : "sgd";
}

/* ---- saving ---------------------------------------------------------- */

typedef struct {
    const char *name;
    const float *data;
    const G2cTensorInfo *info; /* shape */
} Blob;

typedef struct {
    Blob *blobs;
    int count;
    char (*names)[G2C_MAX_NAME + 16]; /* optimizer state names */
} Plan;

static int plan_tensors(const G2cParams *p, const G2cOptimizer *o, Plan *plan)
{
    int max = p->count * 3;
    plan->blobs = calloc((size_t)(max ? max : 1), sizeof *plan->blobs);
    plan->names = calloc((size_t)(max ? max : 1), sizeof *plan->names);
    if (!plan->blobs || !plan->names)
        return g2c_error("out of memory");
    for (int i = 0; i < p->count; i++) {
        const G2cTensorInfo *t = &p->tensors[i];
        if (strncmp(t->name, OPTIM_PREFIX, strlen(OPTIM_PREFIX)) == 0)
            return g2c_error("tensor %s: names starting with \"%s\" are "
                             "reserved for optimizer state",
                             t->name, OPTIM_PREFIX);
        plan->blobs[plan->count++] = (Blob){t->name, p->data + t->offset, t};
    }
    if (!o)
        return 0;
    const float *state[2] = {o->m, o->v};
    const char which[2] = {'m', 'v'};
    for (int s = 0; s < 2; s++) {
        if (!state[s])
            continue;
        for (int i = 0; i < p->count; i++) {
            const G2cTensorInfo *t = &p->tensors[i];
            if (!t->trainable)
                continue;
            char *name = plan->names[plan->count];
            state_name(name, sizeof plan->names[0], which[s], t->name);
            plan->blobs[plan->count++] =
                (Blob){name, state[s] + t->offset, t};
        }
    }
    return 0;
}

static int reserved_key(const char *key)
{
    return strcmp(key, "format") == 0 ||
           strncmp(key, OPTIM_PREFIX, strlen(OPTIM_PREFIX)) == 0;
}

static int set_string(json_t *obj, const char *key, const char *value)
{
    json_t *s = json_string(value);
    if (!s)
        return g2c_error("metadata %s: value is not valid UTF-8", key);
    if (json_object_set_new(obj, key, s) != 0)
        return g2c_error("metadata key \"%.60s\" is not valid UTF-8", key);
    return 0;
}

static int build_metadata(json_t *meta, const G2cOptimizer *o, int n_meta,
                          const char *const *keys, const char *const *values)
{
    /* "format": "pt" is what the safetensors package writes for PyTorch
     * state_dicts; some loaders look for it. */
    if (set_string(meta, "format", "pt") != 0)
        return -1;
    for (int i = 0; i < n_meta; i++) {
        if (reserved_key(keys[i]))
            return g2c_error("metadata key %s is reserved", keys[i]);
        if (json_object_get(meta, keys[i]))
            return g2c_error("metadata key %s given twice", keys[i]);
        if (set_string(meta, keys[i], values[i]) != 0)
            return -1;
    }
    if (o) {
        char step[32];
        snprintf(step, sizeof step, "%" PRId64, o->step);
        if (set_string(meta, "optim.kind", kind_name(o->cfg.kind)) != 0 ||
            set_string(meta, "optim.step", step) != 0)
            return -1;
    }
    return 0;
}

static json_t *tensor_entry(const G2cTensorInfo *t, size_t begin)
{
    json_t *shape = json_array();
    for (int d = 0; d < t->ndim; d++)
        json_array_append_new(shape, json_integer(t->shape[d]));
    size_t end = begin + t->numel * sizeof(float);
    return json_pack("{s:s, s:o, s:[I,I]}", "dtype", "F32", "shape", shape,
                     "data_offsets", (json_int_t)begin, (json_int_t)end);
}

/* Header text padded with spaces to a multiple of 8 bytes, as the reference
 * writer does, so the data section stays aligned. */
static char *build_header(const Plan *plan, const G2cOptimizer *o,
                          int n_meta, const char *const *keys,
                          const char *const *values, size_t *len)
{
    json_t *root = json_object(), *meta = json_object();
    char *text = NULL;
    if (!root || !meta) {
        g2c_error("out of memory");
        goto out;
    }
    if (build_metadata(meta, o, n_meta, keys, values) != 0)
        goto out;
    json_object_set(root, "__metadata__", meta);
    size_t offset = 0;
    for (int i = 0; i < plan->count; i++) {
        json_t *e = tensor_entry(plan->blobs[i].info, offset);
        if (!e || json_object_set_new(root, plan->blobs[i].name, e) != 0) {
            g2c_error("tensor %s: cannot describe it in the header",
                      plan->blobs[i].name);
            goto out;
        }
        offset += plan->blobs[i].info->numel * sizeof(float);
    }
    char *dumped = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!dumped) {
        g2c_error("out of memory");
        goto out;
    }
    size_t n = strlen(dumped), padded = (n + 7) / 8 * 8;
    text = malloc(padded);
    if (text) {
        memcpy(text, dumped, n);
        memset(text + n, ' ', padded - n);
        *len = padded;
    } else {
        g2c_error("out of memory");
    }
    free(dumped);
out:
    json_decref(meta);
    json_decref(root);
    return text;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const unsigned char *b = buf;
    while (n > 0) {
        ssize_t put = write(fd, b, n);
        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0)
            return g2c_error("write failed: %s", strerror(errno));
        b += put;
        n -= (size_t)put;
    }
    return 0;
}

static int write_body(int fd, const char *header, size_t len, const Plan *plan)
{
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)len >> (8 * i));
    if (write_all(fd, len8, 8) != 0 || write_all(fd, header, len) != 0)
        return -1;
    for (int i = 0; i < plan->count; i++)
        if (write_all(fd, plan->blobs[i].data,
                      plan->blobs[i].info->numel * sizeof(float)) != 0)
            return -1;
    if (fsync(fd) != 0)
        return g2c_error("fsync failed: %s", strerror(errno));
    return 0;
}

/* The rename is durable only once the folder entry is on disk. */
static void sync_parent(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

static int write_atomically(const char *path, const char *header, size_t len,
                            const Plan *plan)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return g2c_error("out of memory");
    snprintf(tmp, n, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return g2c_error("cannot create a temporary file beside it: %s",
                         strerror(errno));
    }
    int rc = fchmod(fd, 0644) != 0 ? g2c_error("chmod: %s", strerror(errno))
                                   : write_body(fd, header, len, plan);
    if (close(fd) != 0 && rc == 0)
        rc = g2c_error("close failed: %s", strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = g2c_error("rename failed: %s", strerror(errno));
    if (rc != 0)
        unlink(tmp);
    else
        sync_parent(path);
    free(tmp);
    return rc;
}

int g2c_checkpoint_save(const char *path, const G2cParams *p,
                        const G2cOptimizer *o, int n_meta,
                        const char *const *keys, const char *const *values)
{
    if (!p->data)
        return g2c_error("%s: parameters are not finalized", path);
    if (o && o->params != p)
        return g2c_error("%s: the optimizer belongs to other parameters",
                         path);
    Plan plan = {0};
    size_t len = 0;
    char *header = NULL;
    int rc = plan_tensors(p, o, &plan);
    if (rc == 0) {
        header = build_header(&plan, o, n_meta, keys, values, &len);
        rc = header ? write_atomically(path, header, len, &plan) : -1;
    }
    free(header);
    free(plan.blobs);
    free(plan.names);
    if (rc != 0)
        g2c_error_prefix("%s: ", path);
    return rc;
}

/* ---- loading --------------------------------------------------------- */

/* One tensor to copy once everything has been checked. */
typedef struct {
    const G2cStEntry *src;
    float *dst;
} Copy;

typedef struct {
    Copy *copies;
    int count;
    int load_optim;
    int64_t step;
} LoadPlan;

/* F32 as is; I64 because PyTorch keeps BatchNorm's num_batches_tracked as
 * int64 and safetensors.torch.save_file writes it so. */
static int check_dtype(const G2cStEntry *e)
{
    if (strcmp(e->dtype, "F32") == 0 || strcmp(e->dtype, "I64") == 0)
        return 0;
    return g2c_error("tensor %s: dtype %s, expected F32", e->name, e->dtype);
}

static int check_shape(const G2cStEntry *e, const G2cTensorInfo *t)
{
    int same = e->ndim == t->ndim;
    for (int d = 0; same && d < t->ndim; d++)
        same = e->shape[d] == t->shape[d];
    if (same)
        return 0;
    char got[160], want[160];
    format_shape(got, sizeof got, e->ndim, e->shape);
    format_shape(want, sizeof want, t->ndim, t->shape);
    return g2c_error("tensor %s: shape %s expected %s", e->name, got, want);
}

/* Plans the copy of `name` into dst; a missing tensor is an error only when
 * strict. */
static int plan_one(const G2cSafetensors *st, const char *name,
                    const G2cTensorInfo *t, float *dst, int strict,
                    LoadPlan *lp)
{
    int idx = g2c_safetensors_find(st, name);
    if (idx < 0) {
        if (strict)
            return g2c_error("tensor %s: missing", name);
        return 0;
    }
    const G2cStEntry *e = g2c_safetensors_entry(st, idx);
    if (check_dtype(e) != 0 || check_shape(e, t) != 0)
        return -1;
    lp->copies[lp->count++] = (Copy){e, dst};
    return 0;
}

/* PyTorch's strict load also refuses keys the model does not have. */
static int check_unexpected(const G2cSafetensors *st, const G2cParams *p)
{
    for (int i = 0; i < g2c_safetensors_count(st); i++) {
        const char *name = g2c_safetensors_entry(st, i)->name;
        if (strncmp(name, OPTIM_PREFIX, strlen(OPTIM_PREFIX)) != 0 &&
            g2c_params_find(p, name) < 0)
            return g2c_error("tensor %s: unexpected (the model has no such "
                             "tensor)",
                             name);
    }
    return 0;
}

static int plan_optim(G2cSafetensors *st, const G2cParams *p,
                      const G2cOptimizer *o, int strict, LoadPlan *lp)
{
    const char *step = g2c_safetensors_meta(st, "optim.step");
    if (!step) {
        if (strict)
            return g2c_error("no optimizer state (metadata optim.step)");
        return 0;
    }
    const char *kind = g2c_safetensors_meta(st, "optim.kind");
    if (!kind || strcmp(kind, kind_name(o->cfg.kind)) != 0)
        return g2c_error("metadata optim.kind: \"%s\", expected \"%s\"",
                         kind ? kind : "(none)", kind_name(o->cfg.kind));
    char *end;
    errno = 0;
    long long v = strtoll(step, &end, 10);
    if (errno || end == step || *end || v < 0)
        return g2c_error("metadata optim.step: \"%s\" is not a step count",
                         step);
    lp->step = v;
    lp->load_optim = 1;
    float *state[2] = {o->m, o->v};
    const char which[2] = {'m', 'v'};
    for (int s = 0; s < 2; s++) {
        if (!state[s])
            continue;
        for (int i = 0; i < p->count; i++) {
            const G2cTensorInfo *t = &p->tensors[i];
            char name[G2C_MAX_NAME + 16];
            state_name(name, sizeof name, which[s], t->name);
            if (t->trainable &&
                plan_one(st, name, t, state[s] + t->offset, strict, lp) != 0)
                return -1;
        }
    }
    return 0;
}

static int plan_load(G2cSafetensors *st, G2cParams *p, const G2cOptimizer *o,
                     int strict, LoadPlan *lp)
{
    for (int i = 0; i < p->count; i++) {
        const G2cTensorInfo *t = &p->tensors[i];
        if (plan_one(st, t->name, t, p->data + t->offset, strict, lp) != 0)
            return -1;
    }
    if (strict && check_unexpected(st, p) != 0)
        return -1;
    return o ? plan_optim(st, p, o, strict, lp) : 0;
}

static void copy_tensor(const Copy *c)
{
    const G2cStEntry *e = c->src;
    if (e->elem_size == 4) {
        memcpy(c->dst, e->bytes, e->numel * sizeof(float));
        return;
    }
    for (size_t i = 0; i < e->numel; i++) {
        int64_t v;
        memcpy(&v, e->bytes + i * 8, 8);
        c->dst[i] = (float)v;
    }
}

int g2c_checkpoint_load(const char *path, G2cParams *p, G2cOptimizer *o,
                        int strict)
{
    if (!p->data)
        return g2c_error("%s: parameters are not finalized", path);
    if (o && o->params != p)
        return g2c_error("%s: the optimizer belongs to other parameters",
                         path);
    G2cSafetensors *st = g2c_safetensors_open(path);
    if (!st)
        return -1; /* the message already names the file */
    LoadPlan lp = {0};
    lp.copies = calloc((size_t)p->count * 3 + 1, sizeof *lp.copies);
    int rc = lp.copies ? plan_load(st, p, o, strict, &lp)
                       : g2c_error("out of memory");
    if (rc == 0) {
        for (int i = 0; i < lp.count; i++)
            copy_tensor(&lp.copies[i]);
        if (lp.load_optim)
            o->step = lp.step;
    } else {
        g2c_error_prefix("%s: ", path);
    }
    free(lp.copies);
    g2c_safetensors_close(st);
    return rc;
}
