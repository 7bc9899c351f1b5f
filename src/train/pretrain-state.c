/* Checkpoints of a pre-training run, and resuming from them.
 *
 * An epoch's state is two files, each written atomically
 * (g2c_checkpoint_save): latest-gen (G_A, G_B, Adam) and latest-disc (D_A,
 * D_B, Adam, the image pools, both RNG states, the step count and the loss
 * history).  The order makes the pair crash-safe:
 *
 *   1. rename latest-gen -> previous-gen   (epoch N-1)
 *   2. write latest-gen                    (epoch N)
 *   3. write latest-disc                   (epoch N: the epoch is committed)
 *
 * Both files carry their epoch and the configuration.  On resume the
 * discriminator file names the epoch, and the generator file of that epoch
 * is latest-gen or, after a crash between 1 and 3, previous-gen; a pair
 * that matches neither way is reported rather than used. */
#include "pretrain-private.h"

#include "g2c/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const FILES[] = {"latest-gen.safetensors", "previous-gen.safetensors",
                                    "latest-disc.safetensors", "G.safetensors",
                                    "losses.csv", "losses.png"};
enum { F_GEN, F_PREV, F_DISC, F_G };

static void file_path(const Pretrain *pt, const char *file, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", pt->dir, file);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- setup ----------------------------------------------------------------- */

/* The discriminators' tensors in the same order and shapes (so the same
 * offsets, which lets the optimizer state be shared), then the pools. */
static int build_disc_view(Pretrain *pt)
{
    G2cParams *v = &pt->disc_view, *d = &pt->cg.disc;
    g2c_params_init(v);
    for (int i = 0; i < d->count; i++) {
        const G2cTensorInfo *t = &d->tensors[i];
        if (g2c_params_add(v, t->name, t->ndim, t->shape, t->trainable) < 0)
            return -1;
    }
    const G2cCycleGanConfig *c = &pt->cgc;
    if (c->pool_size > 0) {
        int64_t shape[4] = {c->pool_size, c->gen.out_c, c->height, c->width};
        if (g2c_params_add(v, "pool_A.images", 4, shape, 0) < 0 ||
            g2c_params_add(v, "pool_B.images", 4, shape, 0) < 0)
            return -1;
    }
    if (g2c_params_finalize(v) != 0)
        return -1;
    for (int i = 0; i < d->count; i++)
        if (v->tensors[i].offset != d->tensors[i].offset)
            return g2c_error("checkpoint view: tensor %s moved", d->tensors[i].name);
    return 0;
}

static int build_gen_export(Pretrain *pt)
{
    g2c_params_init(&pt->gen_export);
    if (g2c_resnet_gen_build(&pt->gen_export_net, &pt->cgc.gen, &pt->gen_export, "") != 0 ||
        g2c_params_finalize(&pt->gen_export) != 0)
        return -1;
    G2cParams *g = &pt->cg.gen;
    for (int i = 0; i < pt->gen_export.count; i++) {
        char name[G2C_MAX_NAME + 8];
        snprintf(name, sizeof name, "G_A.%s", pt->gen_export.tensors[i].name);
        if (g2c_params_find(g, name) < 0)
            return g2c_error("G.safetensors: G_A has no tensor %s", name);
    }
    return 0;
}

int pt_state_init(Pretrain *pt)
{
    pt->lock_fd = -1;
    if (build_disc_view(pt) != 0 || build_gen_export(pt) != 0)
        return g2c_error_prefix("%s: ", pt->dir);
    return 0;
}

void pt_state_free(Pretrain *pt)
{
    g2c_params_free(&pt->disc_view);
    g2c_params_free(&pt->gen_export);
    if (pt->lock_fd >= 0)
        close(pt->lock_fd);
    pt->lock_fd = -1;
}

/* Two commands training into one folder would overwrite each other's
 * checkpoints. */
int pt_state_lock(Pretrain *pt)
{
    char path[PT_PATH_MAX];
    file_path(pt, "lock", path, sizeof path);
    pt->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (pt->lock_fd < 0)
        return g2c_error("%s: %s", path, strerror(errno));
    if (flock(pt->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return g2c_error("%s: another g2c pretrain is training into this folder", path);
    return 0;
}

static int remove_file(const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return g2c_error("cannot remove %s: %s", path, strerror(errno));
    return 0;
}

/* --restart: everything an earlier run wrote, so no old sheet survives. */
int pt_state_discard(Pretrain *pt)
{
    char path[PT_PATH_MAX];
    for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
        file_path(pt, FILES[i], path, sizeof path);
        if (remove_file(path) != 0)
            return -1;
    }
    DIR *d = opendir(pt->dir);
    if (!d)
        return g2c_error("%s: %s", pt->dir, strerror(errno));
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "samples-epoch-", 14) == 0) {
            file_path(pt, e->d_name, path, sizeof path);
            rc = remove_file(path);
        }
    closedir(d);
    return rc;
}

/* ---- metadata ---------------------------------------------------------------- */

enum { MAX_META = 12 };

typedef struct {
    const char *keys[MAX_META];
    const char *values[MAX_META];
    char text[MAX_META][160];
    int n;
} Meta;

static void meta_add(Meta *m, const char *key, const char *value)
{
    m->keys[m->n] = key;
    m->values[m->n++] = value;
}

static void meta_addf(Meta *m, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void meta_addf(Meta *m, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->text[m->n], sizeof m->text[0], fmt, ap);
    va_end(ap);
    meta_add(m, key, m->text[m->n]);
}

static void meta_rng(Meta *m, const char *key, const G2cRng *r)
{
    meta_addf(m, key, "%016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64, r->s[0],
              r->s[1], r->s[2], r->s[3]);
}

static int parse_rng(const char *text, G2cRng *r)
{
    int used = 0;
    if (!text || sscanf(text, "%16" SCNx64 " %16" SCNx64 " %16" SCNx64 " %16" SCNx64 "%n",
                        &r->s[0], &r->s[1], &r->s[2], &r->s[3], &used) != 4 ||
        text[used] != '\0')
        return -1;
    return 0;
}

static int parse_count(const char *text, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = text ? strtoll(text, &end, 10) : -1;
    if (!text || errno || end == text || *end || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

/* ---- saving ------------------------------------------------------------------ */

static char *history_text(const Pretrain *pt)
{
    json_t *a = json_array();
    for (int i = 0; i < pt->epoch; i++)
        json_array_append_new(a, pt_epoch_json(&pt->history[i]));
    char *text = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(a);
    return text;
}

static int save_gen(Pretrain *pt)
{
    char path[PT_PATH_MAX], prev[PT_PATH_MAX];
    file_path(pt, FILES[F_GEN], path, sizeof path);
    file_path(pt, FILES[F_PREV], prev, sizeof prev);
    if (rename(path, prev) != 0 && errno != ENOENT)
        return g2c_error("cannot rename %s to %s: %s", path, prev, strerror(errno));
    Meta m = {0};
    meta_add(&m, "g2c.config", pt->config_text);
    meta_addf(&m, "g2c.epoch", "%d", pt->epoch);
    return g2c_checkpoint_save(path, &pt->cg.gen, &pt->cg.opt_G, m.n, m.keys, m.values);
}

static void pools_to_view(Pretrain *pt)
{
    G2cParams *v = &pt->disc_view;
    memcpy(v->data, pt->cg.disc.data, pt->cg.disc.total * sizeof(float));
    G2cImagePool *pools[2] = {&pt->cg.pool_A, &pt->cg.pool_B};
    const char *names[2] = {"pool_A.images", "pool_B.images"};
    for (int i = 0; i < 2 && pt->cgc.pool_size > 0; i++) {
        float *dst = g2c_params_value(v, g2c_params_find(v, names[i]));
        size_t n = (size_t)pools[i]->capacity * pools[i]->image_n;
        memset(dst, 0, n * sizeof(float));
        memcpy(dst, pools[i]->images, (size_t)pools[i]->count * pools[i]->image_n * sizeof(float));
    }
}

static int save_disc(Pretrain *pt)
{
    char path[PT_PATH_MAX];
    file_path(pt, FILES[F_DISC], path, sizeof path);
    char *history = history_text(pt);
    if (!history)
        return g2c_error("out of memory");
    pools_to_view(pt);
    G2cOptimizer opt = pt->cg.opt_D; /* its moments, at the view's offsets */
    opt.params = &pt->disc_view;
    Meta m = {0};
    meta_add(&m, "g2c.config", pt->config_text);
    meta_addf(&m, "g2c.epoch", "%d", pt->epoch);
    meta_addf(&m, "g2c.steps", "%" PRId64, pt->cg.steps);
    meta_rng(&m, "g2c.rng.pool", &pt->cg.rng);
    meta_rng(&m, "g2c.rng.data", &pt->data_rng);
    meta_addf(&m, "g2c.pool_A.count", "%d", pt->cg.pool_A.count);
    meta_addf(&m, "g2c.pool_B.count", "%d", pt->cg.pool_B.count);
    meta_add(&m, "g2c.history", history);
    int rc = g2c_checkpoint_save(path, &pt->disc_view, &opt, m.n, m.keys, m.values);
    free(history);
    return rc;
}

int pt_state_save(Pretrain *pt)
{
    return save_gen(pt) == 0 && save_disc(pt) == 0 ? 0 : -1;
}

int pt_state_export_G(Pretrain *pt)
{
    G2cParams *x = &pt->gen_export;
    for (int i = 0; i < x->count; i++) {
        char name[G2C_MAX_NAME + 8];
        snprintf(name, sizeof name, "G_A.%s", x->tensors[i].name);
        int j = g2c_params_find(&pt->cg.gen, name);
        memcpy(g2c_params_value(x, i), g2c_params_value(&pt->cg.gen, j),
               x->tensors[i].numel * sizeof(float));
    }
    char path[PT_PATH_MAX];
    file_path(pt, FILES[F_G], path, sizeof path);
    Meta m = {0};
    meta_add(&m, "g2c.network", "ResnetGenerator (CycleGAN G_A: source -> target)");
    meta_add(&m, "source_stain", pt->side[0].stain);
    meta_add(&m, "target_stain", pt->side[1].stain);
    meta_addf(&m, "ngf", "%d", pt->cgc.gen.ngf);
    meta_addf(&m, "n_blocks", "%d", pt->cgc.gen.n_blocks);
    meta_addf(&m, "size", "%d", pt->cgc.height);
    meta_addf(&m, "epoch", "%d", pt->epoch);
    return g2c_checkpoint_save(path, x, NULL, m.n, m.keys, m.values);
}

/* ---- resuming --------------------------------------------------------------- */

/* A checkpoint's epoch and configuration, checked against this run's. */
static int read_header(Pretrain *pt, const char *path, int *epoch)
{
    G2cSafetensors *st = g2c_safetensors_open(path);
    if (!st)
        return -1;
    const char *cfg = g2c_safetensors_meta(st, "g2c.config");
    long long e = 0;
    json_t *old = cfg ? json_loads(cfg, 0, NULL) : NULL;
    int rc = 0;
    if (!old || parse_count(g2c_safetensors_meta(st, "g2c.epoch"), pt->total, &e) != 0) {
        rc = g2c_error("%s: not a g2c pretrain checkpoint (metadata g2c.config / "
                       "g2c.epoch missing or bad)", path);
    } else if (!json_equal(old, pt->config)) {
        char *diff = pt_config_diff(old, pt->config);
        rc = g2c_error("%s holds a run of another configuration (%s); use --restart to "
                       "discard it, or another --out", path, diff ? diff : "?");
        free(diff);
    }
    json_decref(old);
    g2c_safetensors_close(st);
    *epoch = (int)e;
    return rc;
}

static int restore_history(Pretrain *pt, G2cSafetensors *st)
{
    const char *text = g2c_safetensors_meta(st, "g2c.history");
    json_t *a = text ? json_loads(text, 0, NULL) : NULL;
    int rc = json_is_array(a) && (int)json_array_size(a) == pt->epoch ? 0 : -1;
    for (int i = 0; rc == 0 && i < pt->epoch; i++)
        rc = pt_epoch_from_json(json_array_get(a, (size_t)i), &pt->history[i]);
    json_decref(a);
    return rc;
}

static int restore_counters(Pretrain *pt, G2cSafetensors *st)
{
    long long steps, a, b;
    if (parse_count(g2c_safetensors_meta(st, "g2c.steps"), INT64_MAX, &steps) != 0 ||
        parse_count(g2c_safetensors_meta(st, "g2c.pool_A.count"), pt->cgc.pool_size, &a) != 0 ||
        parse_count(g2c_safetensors_meta(st, "g2c.pool_B.count"), pt->cgc.pool_size, &b) != 0 ||
        parse_rng(g2c_safetensors_meta(st, "g2c.rng.pool"), &pt->cg.rng) != 0 ||
        parse_rng(g2c_safetensors_meta(st, "g2c.rng.data"), &pt->data_rng) != 0)
        return -1;
    pt->cg.steps = steps;
    pt->cg.pool_A.count = (int)a;
    pt->cg.pool_B.count = (int)b;
    return 0;
}

static void view_to_pools(Pretrain *pt)
{
    G2cParams *v = &pt->disc_view;
    memcpy(pt->cg.disc.data, v->data, pt->cg.disc.total * sizeof(float));
    G2cImagePool *pools[2] = {&pt->cg.pool_A, &pt->cg.pool_B};
    const char *names[2] = {"pool_A.images", "pool_B.images"};
    for (int i = 0; i < 2 && pt->cgc.pool_size > 0; i++)
        memcpy(pools[i]->images, g2c_params_value(v, g2c_params_find(v, names[i])),
               (size_t)pools[i]->capacity * pools[i]->image_n * sizeof(float));
}

static int load_disc(Pretrain *pt, const char *path)
{
    G2cOptimizer opt = pt->cg.opt_D;
    opt.params = &pt->disc_view;
    if (g2c_checkpoint_load(path, &pt->disc_view, &opt, 1) != 0)
        return -1;
    pt->cg.opt_D.step = opt.step;
    view_to_pools(pt);
    G2cSafetensors *st = g2c_safetensors_open(path);
    if (!st)
        return -1;
    int rc = restore_counters(pt, st) == 0 && restore_history(pt, st) == 0
                 ? 0
                 : g2c_error("%s: metadata g2c.steps / g2c.rng.* / g2c.pool_*.count / "
                             "g2c.history missing or bad", path);
    g2c_safetensors_close(st);
    return rc;
}

/* The generator file of the discriminator's epoch: latest-gen, or
 * previous-gen after a crash between writing the two. */
static int find_gen(Pretrain *pt, int epoch, char *out, size_t size)
{
    int seen[2] = {-1, -1};
    for (int i = 0; i < 2; i++) {
        file_path(pt, FILES[i == 0 ? F_GEN : F_PREV], out, size);
        if (!exists(out))
            continue;
        if (read_header(pt, out, &seen[i]) != 0)
            return -1;
        if (seen[i] == epoch)
            return 0;
    }
    return g2c_error("%s: latest-disc.safetensors is from epoch %d but no generator "
                     "checkpoint is (latest-gen: %d, previous-gen: %d; -1 = none): the "
                     "pair is inconsistent, use --restart",
                     pt->dir, epoch, seen[0], seen[1]);
}

int pt_state_load(Pretrain *pt, int *found)
{
    *found = 0;
    char disc[PT_PATH_MAX], gen[PT_PATH_MAX];
    file_path(pt, FILES[F_DISC], disc, sizeof disc);
    /* Generator files without a discriminator file are from a first epoch
     * that never completed: the run starts again from its seed. */
    if (!exists(disc))
        return 0;
    int epoch;
    if (read_header(pt, disc, &epoch) != 0 || find_gen(pt, epoch, gen, sizeof gen) != 0)
        return -1;
    pt->epoch = epoch;
    if (g2c_checkpoint_load(gen, &pt->cg.gen, &pt->cg.opt_G, 1) != 0 || load_disc(pt, disc) != 0)
        return -1;
    *found = 1;
    return 0;
}
