/* One slide's glomeruli through the model, in batches: crops read from the
 * catalog and decoded in parallel, g2c_trained_model_predict (the one
 * forward path, shared with g2c eval), generated views encoded as PNG in
 * parallel.  Nothing is written here: the slide's rows go to the catalog
 * in one transaction afterwards (infer-write.c). */
#include "infer-private.h"

#include "g2c/error.h"
#include "g2c/image.h"
#include "g2c/parallel.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    Infer *inf;
    int n;
    int64_t *ids;
    uint8_t **blob; /* crop PNGs as stored */
    size_t *blob_size;
    G2cImage *crops;
    G2cImage *views; /* n * n_gen */
    InfSlideOut *out;
    int base;     /* out index of this batch's first crop */
    int finished; /* the statement said SQLITE_DONE (stepping again would restart it) */
} Batch;

static int batch_alloc(Batch *b, int size, int n_gen)
{
    b->ids = calloc((size_t)size, sizeof *b->ids);
    b->blob = calloc((size_t)size, sizeof *b->blob);
    b->blob_size = calloc((size_t)size, sizeof *b->blob_size);
    b->crops = calloc((size_t)size, sizeof *b->crops);
    b->views = calloc((size_t)size * (size_t)(n_gen ? n_gen : 1), sizeof *b->views);
    return b->ids && b->blob && b->blob_size && b->crops && b->views
               ? 0
               : g2c_error("out of memory for a batch of %d crops", size);
}

/* Frees the pixels of the last batch, keeps the arrays. */
static void batch_clear(Batch *b, int n_gen)
{
    for (int i = 0; i < b->n; i++) {
        free(b->blob[i]);
        b->blob[i] = NULL;
        g2c_image_free(&b->crops[i]);
        for (int g = 0; g < n_gen; g++)
            g2c_image_free(&b->views[(size_t)i * n_gen + g]);
    }
    b->n = 0;
}

static void batch_free(Batch *b, int n_gen)
{
    batch_clear(b, n_gen);
    free(b->ids);
    free(b->blob);
    free(b->blob_size);
    free(b->crops);
    free(b->views);
}

/* Up to `size` rows of the todo statement; 0 rows at the end. */
static int batch_read(Batch *b, sqlite3_stmt *st, int size, G2cCatalog *cat)
{
    int rc = SQLITE_ROW;
    while (!b->finished && b->n < size && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int i = b->n;
        b->ids[i] = sqlite3_column_int64(st, 0);
        b->blob_size[i] = (size_t)sqlite3_column_bytes(st, 1);
        b->blob[i] = malloc(b->blob_size[i] ? b->blob_size[i] : 1);
        if (!b->blob[i])
            return g2c_error("out of memory");
        memcpy(b->blob[i], sqlite3_column_blob(st, 1), b->blob_size[i]);
        b->n++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return g2c_catalog_error(cat, "reading glomerulus crops");
    b->finished |= rc == SQLITE_DONE;
    return 0;
}

static int decode_one(void *ctx, int i)
{
    Batch *b = ctx;
    if (g2c_png_decode(b->blob[i], b->blob_size[i], &b->crops[i]) != 0)
        return g2c_error_prefix("glomerulus %lld: crop: ", (long long)b->ids[i]);
    return 0;
}

static int out_reserve(InfSlideOut *o, int n)
{
    if (n <= o->cap)
        return 0;
    int cap = o->cap ? o->cap : 64;
    while (cap < n)
        cap *= 2;
    int64_t *ids = realloc(o->ids, (size_t)cap * sizeof *ids);
    if (ids)
        o->ids = ids;
    int *cls = realloc(o->cls, (size_t)cap * sizeof *cls);
    if (cls)
        o->cls = cls;
    float *probs = realloc(o->probs, (size_t)cap * o->classes * sizeof *probs);
    if (probs)
        o->probs = probs;
    size_t views = (size_t)cap * (size_t)(o->n_gen ? o->n_gen : 1);
    uint8_t **png = realloc(o->png, views * sizeof *png);
    if (png)
        o->png = png;
    size_t *png_size = realloc(o->png_size, views * sizeof *png_size);
    if (png_size)
        o->png_size = png_size;
    if (!ids || !cls || !probs || !png || !png_size)
        return g2c_error("out of memory for %d predictions", cap);
    size_t had = (size_t)o->cap * (size_t)(o->n_gen ? o->n_gen : 1);
    memset(o->png + had, 0, (views - had) * sizeof *png);
    o->cap = cap;
    return 0;
}

static int encode_one(void *ctx, int i)
{
    Batch *b = ctx;
    size_t at = (size_t)b->base * b->out->n_gen + (size_t)i;
    if (g2c_png_encode(&b->views[i], -1, &b->out->png[at], &b->out->png_size[at]) != 0)
        return g2c_error_prefix("glomerulus %lld: %s view: ",
                                (long long)b->ids[i / b->out->n_gen],
                                b->inf->stains[i % b->out->n_gen]);
    return 0;
}

static int batch_run(Batch *b)
{
    Infer *inf = b->inf;
    InfSlideOut *o = b->out;
    int threads = inf->o->threads;
    if (g2c_parallel_for(b->n, threads, decode_one, b, NULL) != 0 ||
        out_reserve(o, o->n + b->n) != 0)
        return -1;
    b->base = o->n;
    int want_views = inf->o->views && o->n_gen > 0;
    if (g2c_trained_model_predict(inf->model, b->crops, b->n, o->cls + o->n,
                                  o->probs + (size_t)o->n * o->classes,
                                  want_views ? b->views : NULL) != 0)
        return -1;
    if (want_views && g2c_parallel_for(b->n * o->n_gen, threads, encode_one, b, NULL) != 0)
        return -1;
    memcpy(o->ids + o->n, b->ids, (size_t)b->n * sizeof *b->ids);
    o->n += b->n;
    return 0;
}

int inf_score_slide(Infer *inf, int index, int64_t done_before, InfSlideOut *out)
{
    const InfSlide *s = &inf->slides[index];
    memset(out, 0, sizeof *out);
    out->classes = inf->task->classes;
    out->n_gen = inf->o->views ? inf->n_gen : 0;
    int size = inf->o->batch > 0 ? inf->o->batch : INF_DEFAULT_BATCH;
    Batch b = {.inf = inf, .out = out};
    sqlite3_stmt *st = NULL;
    int rc = batch_alloc(&b, size, inf->n_gen);
    if (rc == 0 && !(st = inf_todo_statement(inf, s->id)))
        rc = -1;
    while (rc == 0) {
        batch_clear(&b, inf->n_gen);
        if ((rc = batch_read(&b, st, size, inf->cat)) != 0 || b.n == 0)
            break;
        rc = batch_run(&b);
        if (rc == 0 && inf->o->progress)
            inf->o->progress(inf->o->ctx, index, inf->n_slides, s->name, done_before + out->n,
                             inf->total_todo);
    }
    sqlite3_finalize(st);
    batch_free(&b, inf->n_gen);
    if (rc != 0) {
        inf_slide_out_free(out);
        return g2c_error_prefix("slide '%s' (id %lld): ", s->name, (long long)s->id);
    }
    return 0;
}

void inf_slide_out_free(InfSlideOut *s)
{
    for (size_t i = 0; s->png && i < (size_t)s->cap * (size_t)(s->n_gen ? s->n_gen : 1); i++)
        free(s->png[i]);
    free(s->ids);
    free(s->cls);
    free(s->probs);
    free(s->png);
    free(s->png_size);
    memset(s, 0, sizeof *s);
}
