/* Reference sets in the catalog: build from slides, import tiles, export. */
#include "g2c/refset_store.h"

#include "g2c/error.h"
#include "g2c/parallel.h"
#include "g2c/path.h"
#include "g2c/slide.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void g2c_refset_build_default(G2cRefsetBuild *b)
{
    memset(b, 0, sizeof *b);
    b->count = 500;
    b->size = 128;
    b->min_tissue = 0.5;
    b->max_overlap = 0.25;
    b->allocation = G2C_ALLOC_PROPORTIONAL;
    b->seed = 1;
    b->thumb_max = 2048;
    b->png_level = 1;
}

typedef struct {
    int64_t id;
    char *path;
    G2cSlide *slide;
    double l0_per_px; /* level-0 pixels per crop pixel */
    G2cTissueMask mask;
} SourceSlide;

typedef struct {
    SourceSlide *slides;
    int n_slides;
    const G2cRefsetBuild *b;
    G2cCropPos *pos;
    uint8_t **png;
    size_t *png_size;
    int *level;
} BuildJob;

static void release_source(SourceSlide *s)
{
    g2c_slide_close(s->slide);
    g2c_tissue_mask_free(&s->mask);
    free(s->path);
}

static void free_sources(SourceSlide *s, int n)
{
    for (int i = 0; i < n; i++)
        release_source(&s[i]);
    free(s);
}

static int name_taken(G2cCatalog *cat, const char *name)
{
    sqlite3_stmt *st = g2c_catalog_prepare(cat, "SELECT 1 FROM refsets WHERE name = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int taken = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return taken ? g2c_error("a reference set named '%s' already exists", name) : 0;
}

/* The slides of the stain (and split), opened. */
static int open_sources(G2cCatalog *cat, const G2cRefsetBuild *b, int64_t stain_id,
                        SourceSlide **out, int *n_out)
{
    *out = NULL;
    *n_out = 0;
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT id, path FROM slides WHERE stain_id = ?1 AND (?2 IS NULL OR split = ?2) "
             "ORDER BY id");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, stain_id);
    if (b->split)
        sqlite3_bind_text(st, 2, b->split, -1, SQLITE_STATIC);
    SourceSlide *s = NULL;
    int n = 0, rc = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        SourceSlide *grown = realloc(s, (size_t)(n + 1) * sizeof *s);
        if (!grown) {
            rc = g2c_error("out of memory");
            break;
        }
        s = grown;
        memset(&s[n], 0, sizeof s[n]);
        s[n].id = sqlite3_column_int64(st, 0);
        s[n].path = strdup((const char *)sqlite3_column_text(st, 1));
        n++;
        if (!(s[n - 1].slide = g2c_slide_open(s[n - 1].path))) {
            rc = -1;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc == 0 && n == 0)
        rc = g2c_error("no slides of stain %s%s%s in the catalog (ingest some first)",
                       b->stain, b->split ? " in split " : "", b->split ? b->split : "");
    if (rc != 0) {
        free_sources(s, n);
        return -1;
    }
    *out = s;
    *n_out = n;
    return 0;
}

/* Tissue mask of one slide from a thumbnail of at most thumb_max pixels,
 * in crop-pixel units (mask->scale = crop px per mask px) so slides of
 * different resolutions share one crop size. */
static int detect_tissue(SourceSlide *s, const G2cRefsetBuild *b)
{
    const G2cSlideInfo *info = g2c_slide_info(s->slide);
    if (b->mpp > 0 && info->mpp_x <= 0)
        return g2c_error("%s: the slide does not record its resolution, so crops at "
                         "%g um/px cannot be cut (use --mpp 0 for level-0 pixels)",
                         s->path, b->mpp);
    s->l0_per_px = b->mpp > 0 ? b->mpp / info->mpp_x : 1.0;
    double longer = (double)(info->width > info->height ? info->width : info->height);
    double down = longer > b->thumb_max ? longer / b->thumb_max : 1.0;
    int tw = (int)ceil((double)info->width / down), th = (int)ceil((double)info->height / down);
    G2cImage thumb;
    if (g2c_slide_read_box(s->slide, 0, 0, (double)info->width, (double)info->height, tw, th,
                           &thumb, NULL) != 0)
        return -1;
    G2cTissueParams params;
    g2c_tissue_params_default(&params);
    params.um_per_px = info->mpp_x > 0 ? info->mpp_x * down : 0;
    /* Reference crops should show stain, not glass: fill only small gaps
     * (2000 µm², a 45 µm square), not lumens and tears, so the mask's
     * tissue fraction is what a crop actually shows. */
    params.max_hole_um2 = 2000;
    int rc = g2c_tissue_detect(&thumb, &params, &s->mask, NULL);
    g2c_image_free(&thumb);
    if (rc != 0)
        return g2c_error_prefix("%s: ", s->path);
    s->mask.scale = down / s->l0_per_px;
    return 0;
}

static int cut_crop(void *ctx, int i)
{
    BuildJob *job = ctx;
    const G2cCropPos *p = &job->pos[i];
    SourceSlide *s = &job->slides[p->slide];
    double side = job->b->size * s->l0_per_px;
    G2cImage img;
    if (g2c_slide_read_box(s->slide, (double)p->x0 * s->l0_per_px,
                           (double)p->y0 * s->l0_per_px, side, side, job->b->size,
                           job->b->size, &img, &job->level[i]) != 0)
        return -1;
    int rc = g2c_png_encode(&img, job->b->png_level, &job->png[i], &job->png_size[i]);
    g2c_image_free(&img);
    return rc;
}

static char *build_params_json(const G2cRefsetBuild *b)
{
    json_t *j = json_pack("{s:s,s:i,s:i,s:f,s:f,s:f,s:s,s:I,s:i,s:s,s:s*}", "method", "sample",
                          "count", b->count, "size", b->size, "mpp", b->mpp, "min_tissue",
                          b->min_tissue, "max_overlap", b->max_overlap, "allocation",
                          b->allocation == G2C_ALLOC_EVEN ? "even" : "proportional", "seed",
                          (json_int_t)b->seed, "thumb_max", b->thumb_max, "tissue",
                          "otsu-saturation (see include/g2c/refset.h)", "split", b->split);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return text;
}

static int insert_refset(G2cCatalog *cat, const char *name, int64_t stain_id, int size,
                         double mpp, int64_t seed, int has_seed, const char *params,
                         int64_t *id)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "INSERT INTO refsets (name, stain_id, crop_size, mpp, seed, params) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, stain_id);
    sqlite3_bind_int(st, 3, size);
    if (mpp > 0)
        sqlite3_bind_double(st, 4, mpp);
    if (has_seed)
        sqlite3_bind_int64(st, 5, seed);
    sqlite3_bind_text(st, 6, params ? params : "{}", -1, SQLITE_STATIC);
    int rc = g2c_catalog_step_done(cat, st);
    sqlite3_finalize(st);
    *id = sqlite3_last_insert_rowid(g2c_catalog_db(cat));
    return rc;
}

/* One patch row of a reference set; slide_id 0 for imported tiles. */
static int insert_patch(G2cCatalog *cat, sqlite3_stmt *st, int64_t refset_id, int64_t slide_id,
                        int level, const double box[4], double mpp, int width, int height,
                        const uint8_t *png, size_t png_size, const char *source)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_int64(st, 1, refset_id);
    if (slide_id) {
        sqlite3_bind_int64(st, 2, slide_id);
        sqlite3_bind_int(st, 3, level);
        for (int k = 0; k < 4; k++)
            sqlite3_bind_double(st, 4 + k, box[k]);
    }
    if (mpp > 0)
        sqlite3_bind_double(st, 8, mpp);
    sqlite3_bind_int(st, 9, width);
    sqlite3_bind_int(st, 10, height);
    sqlite3_bind_blob64(st, 11, png, png_size, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, source ? source : "", -1, SQLITE_STATIC);
    return g2c_catalog_step_done(cat, st);
}

static const char *const insert_patch_sql =
    "INSERT INTO patches (refset_id, slide_id, level, x, y, w, h, mpp, width, height, png, "
    "source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

static int write_built(G2cCatalog *cat, const G2cRefsetBuild *b, int64_t stain_id,
                       const BuildJob *job, int64_t *refset_id)
{
    char *params = build_params_json(b);
    if (g2c_catalog_begin(cat) != 0) {
        free(params);
        return -1;
    }
    int rc = insert_refset(cat, b->name, stain_id, b->size, b->mpp, (int64_t)b->seed, 1,
                           params, refset_id);
    free(params);
    sqlite3_stmt *st = rc == 0 ? g2c_catalog_prepare(cat, insert_patch_sql) : NULL;
    if (!st)
        rc = -1;
    for (int i = 0; i < b->count && rc == 0; i++) {
        const G2cCropPos *p = &job->pos[i];
        const SourceSlide *s = &job->slides[p->slide];
        double box[4] = {(double)p->x0 * s->l0_per_px, (double)p->y0 * s->l0_per_px,
                         b->size * s->l0_per_px, b->size * s->l0_per_px};
        double mpp = g2c_slide_info(s->slide)->mpp_x * s->l0_per_px;
        rc = insert_patch(cat, st, *refset_id, s->id, job->level[i], box, mpp, b->size,
                          b->size, job->png[i], job->png_size[i], NULL);
    }
    sqlite3_finalize(st);
    if (rc == 0)
        rc = g2c_catalog_commit(cat);
    if (rc != 0)
        g2c_catalog_rollback(cat);
    return rc;
}

static void name_slides_in_error(const SourceSlide *s, int n, const char *stain)
{
    char names[2048] = "";
    size_t len = 0;
    for (int i = 0; i < n && i < 8 && len < sizeof names; i++)
        len += (size_t)snprintf(names + len, sizeof names - len, "%s%d = %s", i ? ", " : "", i,
                                s[i].path);
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", g2c_error_message());
    g2c_error("stain %s: %s (slides: %s%s)", stain, msg, names, n > 8 ? ", ..." : "");
}

/* Drop slides without tissue (with a warning); an error if none is left. */
static int keep_tissue_slides(SourceSlide *s, int *n, const G2cRefsetBuild *b)
{
    int kept = 0;
    for (int i = 0; i < *n; i++) {
        if (g2c_tissue_area(&s[i].mask) > 0) {
            s[kept++] = s[i];
            continue;
        }
        if (b->warn) {
            char msg[4200];
            snprintf(msg, sizeof msg, "%s: no tissue found; slide skipped", s[i].path);
            b->warn(b->warn_ctx, msg);
        }
        release_source(&s[i]);
    }
    int had = *n;
    *n = kept;
    if (kept == 0)
        return g2c_error("no tissue found on %s of stain %s",
                         had == 1 ? "the only slide" : "any of the slides", b->stain);
    return 0;
}

int g2c_refset_build(G2cCatalog *cat, const G2cRefsetBuild *b, int64_t *refset_id)
{
    int64_t stain_id;
    if (b->count <= 0 || b->size <= 0)
        return g2c_error("a reference set needs a positive count and crop size");
    if (g2c_catalog_stain_id(cat, b->stain, &stain_id) != 0 || name_taken(cat, b->name) != 0)
        return -1;
    SourceSlide *slides;
    int n;
    if (open_sources(cat, b, stain_id, &slides, &n) != 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = detect_tissue(&slides[i], b);
    if (rc == 0)
        rc = keep_tissue_slides(slides, &n, b);
    BuildJob job = {.slides = slides, .n_slides = n, .b = b};
    if (rc == 0) {
        G2cTissueMask *masks = malloc((size_t)n * sizeof *masks);
        for (int i = 0; i < n; i++)
            masks[i] = slides[i].mask;
        G2cSampleParams sp = {.crop_size = b->size, .min_tissue = b->min_tissue,
                              .max_overlap = b->max_overlap, .allocation = b->allocation,
                              .seed = b->seed};
        rc = g2c_sample_crops(masks, n, b->count, &sp, &job.pos);
        free(masks);
        /* The sampler numbers slides among those kept; name the files. */
        if (rc != 0)
            name_slides_in_error(slides, n, b->stain);
    }
    if (rc == 0) {
        job.png = calloc((size_t)b->count, sizeof *job.png);
        job.png_size = calloc((size_t)b->count, sizeof *job.png_size);
        job.level = calloc((size_t)b->count, sizeof *job.level);
        rc = job.png && job.png_size && job.level
                 ? g2c_parallel_for(b->count, b->threads, cut_crop, &job, NULL)
                 : g2c_error("out of memory");
    }
    if (rc == 0)
        rc = write_built(cat, b, stain_id, &job, refset_id);
    for (int i = 0; job.png && i < b->count; i++)
        free(job.png[i]);
    free(job.png);
    free(job.png_size);
    free(job.level);
    free(job.pos);
    free_sources(slides, n);
    return rc;
}

int g2c_refset_import(G2cCatalog *cat, const char *name, const char *stain, const char *dir,
                      int size, G2cTileFit fit, int64_t *refset_id)
{
    int64_t stain_id;
    if (g2c_catalog_stain_id(cat, stain, &stain_id) != 0 || name_taken(cat, name) != 0)
        return -1;
    G2cTile *tiles;
    int count;
    if (g2c_tiles_read_dir(dir, size, fit, &tiles, &count) != 0)
        return -1;
    if (count == 0) {
        g2c_tiles_free(tiles, count);
        return g2c_error("%s: no PNG or TIFF tiles in this folder", dir);
    }
    json_t *j = json_pack("{s:s,s:s,s:i,s:s}", "method", "import", "folder", dir, "size", size,
                          "fit", fit == G2C_TILE_CROP ? "crop" : "resize");
    char *params = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    int rc = g2c_catalog_begin(cat);
    if (rc == 0)
        rc = insert_refset(cat, name, stain_id, size ? size : tiles[0].image.width, 0, 0, 0,
                           params, refset_id);
    sqlite3_stmt *st = rc == 0 ? g2c_catalog_prepare(cat, insert_patch_sql) : NULL;
    if (!st)
        rc = -1;
    for (int i = 0; i < count && rc == 0; i++) {
        uint8_t *png;
        size_t png_size;
        if ((rc = g2c_png_encode(&tiles[i].image, 1, &png, &png_size)) != 0)
            break;
        rc = insert_patch(cat, st, *refset_id, 0, 0, NULL, 0, tiles[i].image.width,
                          tiles[i].image.height, png, png_size, tiles[i].name);
        free(png);
    }
    sqlite3_finalize(st);
    free(params);
    g2c_tiles_free(tiles, count);
    if (rc == 0)
        rc = g2c_catalog_commit(cat);
    if (rc != 0)
        g2c_catalog_rollback(cat);
    return rc;
}

int g2c_refset_load(G2cCatalog *cat, const char *name, G2cImage **images, int *count)
{
    *images = NULL;
    *count = 0;
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT p.png FROM patches p JOIN refsets r ON r.id = p.refset_id "
             "WHERE r.name = ?1 ORDER BY p.id");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    G2cImage *imgs = NULL;
    int n = 0, rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        G2cImage *grown = realloc(imgs, (size_t)(n + 1) * sizeof *imgs);
        if (!grown) {
            rc = g2c_error("out of memory");
            break;
        }
        imgs = grown;
        rc = g2c_png_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                            &imgs[n]);
        if (rc == 0)
            n++;
    }
    sqlite3_finalize(st);
    if (rc == 0 && n == 0)
        rc = g2c_error("no reference set named '%s' (see g2c refset --list)", name);
    if (rc != 0) {
        for (int i = 0; i < n; i++)
            g2c_image_free(&imgs[i]);
        free(imgs);
        return -1;
    }
    *images = imgs;
    *count = n;
    return 0;
}

int g2c_refset_export(G2cCatalog *cat, const char *name, const char *dir, int *written)
{
    *written = 0;
    G2cImage *imgs;
    int n;
    if (g2c_refset_load(cat, name, &imgs, &n) != 0)
        return -1;
    int rc = 0;
    if (g2c_make_dirs(dir) != 0)
        rc = -1;
    char path[4096];
    for (int i = 0; i < n && rc == 0; i++) {
        snprintf(path, sizeof path, "%s/%s-%04d.png", dir, name, i + 1);
        rc = g2c_png_write(path, &imgs[i]);
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/contact-sheet.png", dir);
        rc = g2c_contact_sheet_write(path, imgs, n, 96, n < 16 ? n : 16);
    }
    for (int i = 0; i < n; i++)
        g2c_image_free(&imgs[i]);
    free(imgs);
    if (rc == 0)
        *written = n;
    return rc;
}
