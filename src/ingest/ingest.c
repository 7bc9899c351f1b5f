/* Ingest one slide: check, read annotations, cut crops in parallel, then
 * write everything in one transaction. */
#include "g2c/error.h"
#include "g2c/image.h"
#include "g2c/ingest.h"
#include "g2c/parallel.h"
#include "g2c/slide.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void g2c_ingest_options_default(G2cIngestOptions *o)
{
    memset(o, 0, sizeof *o);
    o->patch_size = 224;
    o->margin = 0.1;
    o->fit = G2C_FIT_SCALE;
    o->png_level = 1;
}

typedef struct {
    G2cAnnotation box; /* after clipping to the slide */
    int64_t label_id;  /* 0: unlabelled */
    int clipped;
    double sx, sy, side; /* level-0 square read */
    int level;
    uint8_t *png;
    size_t png_size;
    char *error; /* why its crop failed, NULL if it did not */
} Item;

static void warn(const G2cIngestOptions *opt, const char *fmt, ...) G2C_PRINTF(2, 3);
static void warn(const G2cIngestOptions *opt, const char *fmt, ...)
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

/* ---- checks before anything is written --------------------------------- */

/* Clip a box to the slide; a box wholly outside is an error. */
static int clip_box(const G2cSlideInfo *info, G2cAnnotation *a, int *clipped)
{
    double x1 = a->x + a->w, y1 = a->y + a->h;
    if (a->x >= (double)info->width || a->y >= (double)info->height || x1 <= 0 || y1 <= 0)
        return g2c_error("box (%.0f, %.0f, %.0f x %.0f) lies wholly outside the "
                         "%lld x %lld slide", a->x, a->y, a->w, a->h,
                         (long long)info->width, (long long)info->height);
    double cx0 = a->x < 0 ? 0 : a->x, cy0 = a->y < 0 ? 0 : a->y;
    double cx1 = x1 > (double)info->width ? (double)info->width : x1;
    double cy1 = y1 > (double)info->height ? (double)info->height : y1;
    *clipped = cx0 != a->x || cy0 != a->y || cx1 != x1 || cy1 != y1;
    a->x = cx0;
    a->y = cy0;
    a->w = cx1 - cx0;
    a->h = cy1 - cy0;
    return 0;
}

static int prepare_items(G2cCatalog *cat, const G2cManifestRow *row,
                         const G2cSlideInfo *info, const G2cIngestOptions *opt,
                         Item **items_out, int *count_out, G2cAnnotFormat *format)
{
    *items_out = NULL;
    *count_out = 0;
    *format = G2C_ANNOT_AUTO;
    if (!row->annotations[0])
        return 0;
    G2cAnnotationList list = {0};
    if (g2c_annot_read(row->annotations, G2C_ANNOT_AUTO, &list) != 0)
        return -1;
    Item *items = calloc(list.count ? (size_t)list.count : 1, sizeof *items);
    if (!items) {
        g2c_annot_list_free(&list);
        return g2c_error("out of memory");
    }
    for (int i = 0; i < list.count; i++) {
        Item *it = &items[i];
        it->box = list.items[i];
        const char *id = it->box.source_id[0] ? it->box.source_id : "?";
        if (it->box.label[0] && g2c_catalog_label_id(cat, it->box.label, &it->label_id) != 0)
            goto fail_at;
        if (clip_box(info, &it->box, &it->clipped) != 0)
            goto fail_at;
        if (it->clipped)
            warn(opt, "%s: annotation %d (%s): box clipped to the slide", row->annotations,
                 i + 1, id);
        continue;
    fail_at:
        g2c_error_prefix("%s: annotation %d (%s): ", row->annotations, i + 1, id);
        free(items);
        g2c_annot_list_free(&list);
        return -1;
    }
    *items_out = items;
    *count_out = list.count;
    *format = list.format;
    g2c_annot_list_free(&list);
    return 0;
}

/* ---- crops ------------------------------------------------------------- */

/* Pixels of slide blocks kept while one slide's crops are cut: with the
 * items in block order, the blocks in use at any time are a few around the
 * current position, and 256 MiB (85 blocks of 1024 x 1024) holds a slide
 * of 9000 x 9000 px whole. */
enum { CROP_CACHE_BYTES = 256 << 20 };

/* The level-0 square read for an item. */
static void place_item(const G2cSlideInfo *info, const G2cIngestOptions *opt, Item *it)
{
    const G2cAnnotation *b = &it->box;
    if (opt->fit == G2C_FIT_FIXED) {
        /* A square of exactly patch_size pixels at opt->mpp around the centre. */
        double side = opt->patch_size * opt->mpp / info->mpp_x;
        it->sx = b->x + b->w / 2 - side / 2;
        it->sy = b->y + b->h / 2 - side / 2;
        it->side = side;
    } else {
        g2c_crop_square(b->x, b->y, b->w, b->h, opt->margin, &it->sx, &it->sy, &it->side);
    }
}

static int cut_one(G2cSlide *slide, const G2cIngestOptions *opt, Item *it)
{
    G2cImage img;
    if (g2c_slide_read_box(slide, it->sx, it->sy, it->side, it->side, opt->patch_size,
                           opt->patch_size, &img, &it->level) != 0)
        return -1;
    int rc = g2c_png_encode(&img, opt->png_level, &it->png, &it->png_size);
    g2c_image_free(&img);
    return rc;
}

/* Position of (x, y) along a Hilbert curve over a 2^16 x 2^16 grid: cells
 * close on the curve are close on the slide, in both directions. */
static uint64_t hilbert_index(uint32_t x, uint32_t y)
{
    uint64_t d = 0;
    for (uint32_t s = 1u << 15; s > 0; s >>= 1) {
        uint32_t rx = (x & s) > 0, ry = (y & s) > 0;
        d += (uint64_t)s * s * ((3 * rx) ^ ry);
        if (ry == 0) { /* rotate the quadrant */
            if (rx == 1) {
                x = s - 1 - (x & (s - 1));
                y = s - 1 - (y & (s - 1));
            }
            uint32_t t = x;
            x = y;
            y = t;
        }
        x &= s - 1;
        y &= s - 1;
    }
    return d;
}

typedef struct {
    uint64_t key;
    int index;
} Order;

static int order_cmp(const void *pa, const void *pb)
{
    const Order *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

static uint32_t block_of(double v)
{
    double b = floor(v / G2C_SLIDE_BLOCK);
    return b <= 0 ? 0 : b >= 65535 ? 65535 : (uint32_t)b;
}

/* Items in the order the crops are cut: along the slide's blocks, so that
 * the block cache (and OpenSlide's tile cache at other levels) hits.  The
 * catalog keeps the annotation order. */
static int *cut_order(const Item *items, int count)
{
    Order *o = malloc((size_t)count * sizeof *o);
    int *order = malloc((size_t)count * sizeof *order);
    if (!o || !order) {
        free(o);
        free(order);
        g2c_error("out of memory");
        return NULL;
    }
    for (int i = 0; i < count; i++) {
        const Item *it = &items[i];
        o[i].key = hilbert_index(block_of(it->sx + it->side / 2),
                                 block_of(it->sy + it->side / 2));
        o[i].index = i;
    }
    qsort(o, (size_t)count, sizeof *o, order_cmp);
    for (int i = 0; i < count; i++)
        order[i] = o[i].index;
    free(o);
    return order;
}

typedef struct {
    G2cSlide *slide;
    const G2cIngestOptions *opt;
    Item *items;
    const int *order;
} CropJob;

static int crop_item(void *ctx, int k)
{
    CropJob *job = ctx;
    Item *it = &job->items[job->order[k]];
    if (cut_one(job->slide, job->opt, it) == 0)
        return 0;
    /* Kept so that the first failing annotation in file order is reported,
     * whatever order the crops were cut in. */
    it->error = strdup(g2c_error_message());
    return -1;
}

static int report_first_failure(const Item *items, int count)
{
    for (int i = 0; i < count; i++)
        if (items[i].error || !items[i].png) {
            g2c_error("item %d: %s", i + 1, items[i].error ? items[i].error : "out of memory");
            /* The message reads "item N: why"; N is the annotation. */
            return g2c_error_prefix("crop failed (annotation %s): ", items[i].box.source_id);
        }
    return g2c_error("crop failed");
}

static int cut_crops(G2cSlide *slide, const G2cIngestOptions *opt, Item *items, int count)
{
    for (int i = 0; i < count; i++)
        place_item(g2c_slide_info(slide), opt, &items[i]);
    int *order = cut_order(items, count);
    if (!order)
        return -1;
    if (g2c_slide_set_cache(slide, 0, CROP_CACHE_BYTES) != 0) {
        free(order);
        return -1;
    }
    CropJob job = {.slide = slide, .opt = opt, .items = items, .order = order};
    int rc = g2c_parallel_for(count, opt->threads, crop_item, &job, NULL);
    g2c_slide_set_cache(slide, 0, 0); /* frees the blocks before the catalog is written */
    free(order);
    return rc == 0 ? 0 : report_first_failure(items, count);
}

static void free_items(Item *items, int count)
{
    for (int i = 0; i < count; i++) {
        free(items[i].png);
        free(items[i].error);
    }
    free(items);
}

/* ---- the transaction --------------------------------------------------- */

static void bind_double_or_null(sqlite3_stmt *st, int index, double v)
{
    if (v > 0)
        sqlite3_bind_double(st, index, v);
    else
        sqlite3_bind_null(st, index);
}

static int insert_slide(G2cCatalog *cat, const G2cManifestRow *row, const char *path,
                        int64_t stain_id, const G2cSlideInfo *info, int64_t *slide_id)
{
    int64_t patient_id;
    if (g2c_catalog_patient_id(cat, row->patient, &patient_id) != 0)
        return -1;
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "INSERT INTO slides (patient_id, stain_id, path, name, vendor, width, height, "
             "level_count, mpp_x, mpp_y, objective_power, fingerprint, file_size, split) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
    if (!st)
        return -1;
    const char *name = strrchr(path, '/');
    sqlite3_bind_int64(st, 1, patient_id);
    sqlite3_bind_int64(st, 2, stain_id);
    sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, name ? name + 1 : path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, info->vendor, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, info->width);
    sqlite3_bind_int64(st, 7, info->height);
    sqlite3_bind_int(st, 8, info->level_count);
    bind_double_or_null(st, 9, info->mpp_x);
    bind_double_or_null(st, 10, info->mpp_y);
    bind_double_or_null(st, 11, info->objective_power);
    sqlite3_bind_text(st, 12, info->fingerprint, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 13, info->file_size);
    if (row->split[0])
        sqlite3_bind_text(st, 14, row->split, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 14);
    int rc = g2c_catalog_step_done(cat, st);
    sqlite3_finalize(st);
    if (rc != 0)
        return -1;
    *slide_id = sqlite3_last_insert_rowid(g2c_catalog_db(cat));

    st = g2c_catalog_prepare(cat, "INSERT INTO slide_levels (slide_id, level, width, height, "
                                  "downsample) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st)
        return -1;
    for (int l = 0; l < info->level_count && rc == 0; l++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, *slide_id);
        sqlite3_bind_int(st, 2, l);
        sqlite3_bind_int64(st, 3, info->level_width[l]);
        sqlite3_bind_int64(st, 4, info->level_height[l]);
        sqlite3_bind_double(st, 5, info->level_downsample[l]);
        rc = g2c_catalog_step_done(cat, st);
    }
    sqlite3_finalize(st);
    return rc;
}

static int insert_items(G2cCatalog *cat, int64_t slide_id, const char *annotation_file,
                        const char *format, const G2cSlideInfo *info,
                        const G2cIngestOptions *opt, const Item *items, int count)
{
    sqlite3_stmt *ann = g2c_catalog_prepare(
        cat, "INSERT INTO annotations (slide_id, label_id, x, y, w, h, source_file, "
             "source_format, source_id, clipped) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)");
    sqlite3_stmt *patch = g2c_catalog_prepare(
        cat, "INSERT INTO patches (slide_id, annotation_id, level, x, y, w, h, mpp, width, "
             "height, png) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)");
    int rc = ann && patch ? 0 : -1;
    for (int i = 0; i < count && rc == 0; i++) {
        const Item *it = &items[i];
        sqlite3_reset(ann);
        sqlite3_bind_int64(ann, 1, slide_id);
        if (it->label_id)
            sqlite3_bind_int64(ann, 2, it->label_id);
        else
            sqlite3_bind_null(ann, 2);
        sqlite3_bind_double(ann, 3, it->box.x);
        sqlite3_bind_double(ann, 4, it->box.y);
        sqlite3_bind_double(ann, 5, it->box.w);
        sqlite3_bind_double(ann, 6, it->box.h);
        sqlite3_bind_text(ann, 7, annotation_file, -1, SQLITE_STATIC);
        sqlite3_bind_text(ann, 8, format, -1, SQLITE_STATIC);
        sqlite3_bind_text(ann, 9, it->box.source_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(ann, 10, it->clipped);
        if ((rc = g2c_catalog_step_done(cat, ann)) != 0)
            break;
        int64_t annotation_id = sqlite3_last_insert_rowid(g2c_catalog_db(cat));
        sqlite3_reset(patch);
        sqlite3_bind_int64(patch, 1, slide_id);
        sqlite3_bind_int64(patch, 2, annotation_id);
        sqlite3_bind_int(patch, 3, it->level);
        sqlite3_bind_double(patch, 4, it->sx);
        sqlite3_bind_double(patch, 5, it->sy);
        sqlite3_bind_double(patch, 6, it->side);
        sqlite3_bind_double(patch, 7, it->side);
        bind_double_or_null(patch, 8, info->mpp_x * it->side / opt->patch_size);
        sqlite3_bind_int(patch, 9, opt->patch_size);
        sqlite3_bind_int(patch, 10, opt->patch_size);
        sqlite3_bind_blob64(patch, 11, it->png, it->png_size, SQLITE_STATIC);
        rc = g2c_catalog_step_done(cat, patch);
    }
    sqlite3_finalize(ann);
    sqlite3_finalize(patch);
    return rc;
}

/* ---- is it already there? ---------------------------------------------- */

typedef enum { SLIDE_NEW, SLIDE_SAME, SLIDE_CHANGED } SlideState;

static int existing_state(G2cCatalog *cat, const char *path, const G2cSlideInfo *info,
                          SlideState *state, int64_t *slide_id)
{
    *state = SLIDE_NEW;
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT id, fingerprint = ?2 AND file_size = ?3 FROM slides WHERE path = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, info->fingerprint, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, info->file_size);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *slide_id = sqlite3_column_int64(st, 0);
        *state = sqlite3_column_int(st, 1) ? SLIDE_SAME : SLIDE_CHANGED;
    }
    sqlite3_finalize(st);
    if (*state != SLIDE_NEW)
        return 0;
    /* The same content under another path would put one biopsy in the
     * catalog twice (and possibly in both train and test). */
    st = g2c_catalog_prepare(cat, "SELECT path FROM slides WHERE fingerprint = ?1 "
                                  "AND file_size = ?2 LIMIT 1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, info->fingerprint, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, info->file_size);
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = g2c_error("same slide content is already in the catalog as %s",
                       (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc;
}

static int delete_slide(G2cCatalog *cat, int64_t slide_id)
{
    sqlite3_stmt *st = g2c_catalog_prepare(cat, "DELETE FROM slides WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, slide_id);
    int rc = g2c_catalog_step_done(cat, st);
    sqlite3_finalize(st);
    return rc;
}

/* ---- one slide ----------------------------------------------------------- */

static int write_slide(G2cCatalog *cat, const G2cManifestRow *row, const char *path,
                       int64_t stain_id, const G2cSlideInfo *info,
                       const G2cIngestOptions *opt, const Item *items, int count,
                       const char *format, int64_t replace_id, int64_t *slide_id)
{
    if (g2c_catalog_begin(cat) != 0)
        return -1;
    int rc = 0;
    if (replace_id)
        rc = delete_slide(cat, replace_id);
    if (rc == 0)
        rc = insert_slide(cat, row, path, stain_id, info, slide_id);
    if (rc == 0)
        rc = insert_items(cat, *slide_id, row->annotations, format, info, opt, items, count);
    if (rc == 0)
        rc = g2c_catalog_commit(cat);
    if (rc != 0)
        g2c_catalog_rollback(cat);
    return rc;
}

static int ingest_open_slide(G2cCatalog *cat, const G2cManifestRow *row, const char *path,
                             G2cSlide *slide, const G2cIngestOptions *opt,
                             G2cIngestResult *result)
{
    const G2cSlideInfo *info = g2c_slide_info(slide);
    int64_t stain_id, existing_id = 0;
    SlideState state;
    if (g2c_catalog_stain_id(cat, row->stain, &stain_id) != 0)
        return -1;
    if (existing_state(cat, path, info, &state, &existing_id) != 0)
        return -1;
    if (state == SLIDE_SAME) {
        result->outcome = G2C_INGEST_UNCHANGED;
        result->slide_id = existing_id;
        return 0;
    }
    if (state == SLIDE_CHANGED && !opt->reingest)
        return g2c_error("file changed since it was ingested (fingerprint differs); "
                         "re-run with --reingest to replace it");
    if (opt->fit == G2C_FIT_FIXED && info->mpp_x <= 0)
        return g2c_error("slide does not record its resolution, which --fit fixed needs");
    Item *items;
    int count;
    G2cAnnotFormat format;
    if (prepare_items(cat, row, info, opt, &items, &count, &format) != 0)
        return -1;
    int rc = cut_crops(slide, opt, items, count);
    if (rc == 0)
        rc = write_slide(cat, row, path, stain_id, info, opt, items, count,
                         g2c_annot_format_name(format), state == SLIDE_CHANGED ? existing_id : 0,
                         &result->slide_id);
    if (rc == 0) {
        result->outcome = state == SLIDE_CHANGED ? G2C_INGEST_REPLACED : G2C_INGEST_ADDED;
        result->annotations = count;
        for (int i = 0; i < count; i++)
            result->clipped += items[i].clipped;
    }
    free_items(items, count);
    return rc;
}

int g2c_ingest_slide(G2cCatalog *cat, const G2cManifestRow *row,
                     const G2cIngestOptions *opt, G2cIngestResult *result)
{
    memset(result, 0, sizeof *result);
    char path[PATH_MAX];
    if (!realpath(row->slide, path))
        return g2c_error("%s: no such file", row->slide);
    G2cSlide *slide = g2c_slide_open(path);
    if (!slide)
        return -1;
    int rc = ingest_open_slide(cat, row, path, slide, opt, result);
    g2c_slide_close(slide);
    /* Name the slide unless the message already names it or its
     * annotation file. */
    const char *msg = g2c_error_message();
    if (rc != 0 && strncmp(msg, path, strlen(path)) != 0 &&
        !(row->annotations[0] && strncmp(msg, row->annotations, strlen(row->annotations)) == 0))
        g2c_error_prefix("%s: ", row->slide);
    return rc;
}
