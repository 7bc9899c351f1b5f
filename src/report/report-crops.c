/* Small JPEGs of each glomerulus's crop and generated stain views for the
 * report's table.  The catalog's crops are 224 px PNGs or more; the page
 * shows them at ~96 px, so they are shrunk here once instead of making the
 * browser decode and scale hundreds of full crops, and stored as JPEG
 * (quality JPEG_QUALITY), which is about a sixth of the bytes of PNG for
 * tissue (see jpeg.c).  Blobs are read in
 * batches (memory stays bounded for thousands of glomeruli) and shrunk in
 * parallel. */
#include "report-private.h"

#include "g2c/error.h"
#include "g2c/parallel.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 256, JPEG_QUALITY = 85 };

typedef struct {
    int glom;          /* index into d->gloms */
    int view;          /* index into its views, -1 for the crop */
    uint8_t *blob;     /* the stored PNG */
    size_t blob_size;
    uint8_t *img;      /* the small JPEG */
    size_t img_size;
    char *error;       /* why it could not be made */
} Job;

typedef struct {
    Job *jobs;
    int size;          /* longest side of the small images */
} Batch;

static int shrink(const Job *job, int size, uint8_t **jpeg, size_t *jpeg_size)
{
    G2cImage full, small;
    if (g2c_png_decode(job->blob, job->blob_size, &full) != 0)
        return -1;
    int w = full.width, h = full.height;
    if (w > size || h > size) {
        double s = (double)size / (w > h ? w : h);
        w = (int)(w * s + 0.5);
        h = (int)(h * s + 0.5);
        w = w < 1 ? 1 : w;
        h = h < 1 ? 1 : h;
    }
    int rc = g2c_image_alloc(&small, w, h, 255);
    if (rc == 0)
        rc = g2c_image_resize(&full, &small);
    g2c_image_free(&full);
    if (rc == 0)
        rc = g2c_rep_jpeg_encode(&small, JPEG_QUALITY, jpeg, jpeg_size);
    g2c_image_free(&small);
    return rc;
}

static int run_job(void *ctx, int i)
{
    Batch *b = ctx;
    Job *job = &b->jobs[i];
    if (shrink(job, b->size, &job->img, &job->img_size) != 0)
        job->error = strdup(g2c_error_message());
    return 0;
}

static int find_glom(const G2cRepData *d, int64_t annotation_id)
{
    int lo = 0, hi = d->n_gloms - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (d->gloms[mid].annotation_id == annotation_id)
            return mid;
        if (d->gloms[mid].annotation_id < annotation_id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static void warn(const G2cReportOptions *opt, const char *fmt, ...) G2C_PRINTF(2, 3);
static void warn(const G2cReportOptions *opt, const char *fmt, ...)
{
    if (!opt->warn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    opt->warn(opt->warn_ctx, msg);
}

/* Shrink the batch and hand the results to their glomeruli. */
static void finish_batch(const G2cReportOptions *opt, G2cRepData *d, Batch *b, int n)
{
    g2c_parallel_for(n, opt->threads, run_job, b, NULL);
    for (int i = 0; i < n; i++) {
        Job *job = &b->jobs[i];
        G2cRepGlom *g = &d->gloms[job->glom];
        if (job->error)
            warn(opt, "%s: glomerulus %lld: %s%s cannot be shown: %s", d->catalog,
                 (long long)g->annotation_id, job->view < 0 ? "crop" : "generated view ",
                 job->view < 0 ? "" : g->views[job->view].stain, job->error);
        if (job->view < 0) {
            g->crop_img = job->img;
            g->crop_img_size = job->img_size;
        } else {
            g->views[job->view].img = job->img;
            g->views[job->view].img_size = job->img_size;
        }
        free(job->blob);
        free(job->error);
        memset(job, 0, sizeof *job);
    }
}

/* A new view slot on g, for rows of generated_views. */
static int add_view(G2cRepGlom *g, const char *stain)
{
    G2cRepView *v = realloc(g->views, (size_t)(g->n_views + 1) * sizeof *v);
    if (!v)
        return g2c_error("out of memory");
    g->views = v;
    memset(&v[g->n_views], 0, sizeof *v);
    if (!(v[g->n_views].stain = g2c_rep_strdup(stain)))
        return g2c_error("out of memory");
    return g->n_views++;
}

/* One pass over a query of (annotation_id, stain or NULL, png). */
static int run_query(sqlite3_stmt *st, const G2cReportOptions *opt, G2cRepData *d, Batch *b,
                     int views)
{
    int rc, n = 0;
    int64_t last = -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        int g = find_glom(d, id);
        if (g < 0 || (!views && id == last))
            continue; /* not classified, or a second crop of the same box */
        last = id;
        Job *job = &b->jobs[n];
        job->glom = g;
        job->view = -1;
        if (views && (job->view = add_view(&d->gloms[g],
                                           (const char *)sqlite3_column_text(st, 1))) < 0)
            return -1;
        job->blob_size = (size_t)sqlite3_column_bytes(st, 2);
        job->blob = malloc(job->blob_size + 1);
        if (!job->blob)
            return g2c_error("out of memory");
        memcpy(job->blob, sqlite3_column_blob(st, 2), job->blob_size);
        if (++n == BATCH) {
            finish_batch(opt, d, b, n);
            n = 0;
        }
    }
    finish_batch(opt, d, b, n);
    return rc == SQLITE_DONE ? 0 : g2c_error("reading images: %s", sqlite3_errstr(rc));
}

int g2c_rep_load_crops(G2cCatalog *cat, const G2cReportOptions *opt, G2cRepData *d)
{
    Batch b = {calloc(BATCH, sizeof(Job)), opt->crop_size > 0 ? opt->crop_size : 96};
    if (!b.jobs)
        return g2c_error("out of memory");
    static const char *const sql[2] = {
        "SELECT c.annotation_id, NULL, c.png FROM patches c JOIN annotations a "
        "ON a.id = c.annotation_id WHERE a.slide_id = ?1 AND ?2 IS NOT NULL "
        "ORDER BY c.annotation_id, c.id",
        "SELECT v.annotation_id, v.stain, v.png FROM generated_views v JOIN annotations a "
        "ON a.id = v.annotation_id LEFT JOIN stains s ON s.name = v.stain "
        "WHERE a.slide_id = ?1 AND v.model_id = ?2 ORDER BY v.annotation_id, s.id, v.stain",
    };
    int rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        sqlite3_stmt *st = g2c_catalog_prepare(cat, sql[pass]);
        if (!st) {
            rc = -1;
            break;
        }
        sqlite3_bind_int64(st, 1, d->slide.id);
        sqlite3_bind_int64(st, 2, d->model.id);
        rc = run_query(st, opt, d, &b, pass == 1);
        sqlite3_finalize(st);
        if (rc != 0)
            g2c_error_prefix("%s: %s: ", d->catalog, d->slide.name);
    }
    /* After an error mid-batch some jobs still hold blobs. */
    for (int i = 0; i < BATCH; i++)
        free(b.jobs[i].blob), free(b.jobs[i].img), free(b.jobs[i].error);
    free(b.jobs);
    return rc;
}
