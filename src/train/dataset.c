/* Labelled glomerulus crops from the catalog: the list (who, which label,
 * which split) and the pixels of one split for one task, resized to the
 * model's input size. */
#include "stage2-private.h"

#include "g2c/error.h"

#include <stdlib.h>
#include <string.h>

/* One crop per annotation (the first one stored), on slides of `stain`,
 * with a label. */
static const char *const crops_sql =
    "SELECT a.id, a.slide_id, s.patient_id, l.name, coalesce(s.split, ''), p.id "
    "FROM annotations a "
    "JOIN slides s ON s.id = a.slide_id "
    "JOIN stains st ON st.id = s.stain_id "
    "JOIN labels l ON l.id = a.label_id "
    "JOIN patches p ON p.id = (SELECT min(q.id) FROM patches q WHERE q.annotation_id = a.id) "
    "WHERE st.name = ?1 ORDER BY a.id";

int s2_crops_list(G2cCatalog *cat, const char *stain, S2CropList *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = g2c_catalog_prepare(cat, crops_sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, stain, -1, SQLITE_STATIC);
    int rc, cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->count == cap) {
            cap = cap ? 2 * cap : 256;
            S2CropInfo *grown = realloc(out->items, (size_t)cap * sizeof *grown);
            if (!grown) {
                sqlite3_finalize(st);
                s2_crop_list_free(out);
                return g2c_error("out of memory listing crops");
            }
            out->items = grown;
        }
        S2CropInfo *c = &out->items[out->count++];
        memset(c, 0, sizeof *c);
        c->annotation_id = sqlite3_column_int64(st, 0);
        c->slide_id = sqlite3_column_int64(st, 1);
        c->patient_id = sqlite3_column_int64(st, 2);
        snprintf(c->label, sizeof c->label, "%s", (const char *)sqlite3_column_text(st, 3));
        snprintf(c->split, sizeof c->split, "%s", (const char *)sqlite3_column_text(st, 4));
        c->patch_id = sqlite3_column_int64(st, 5);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        s2_crop_list_free(out);
        return g2c_catalog_error(cat, "listing crops");
    }
    return 0;
}

void s2_crop_list_free(S2CropList *l)
{
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* Decode one stored PNG and resize it to size x size into rgb. */
static int load_pixels(G2cCatalog *cat, sqlite3_stmt *st, int64_t patch_id, int size,
                       uint8_t *rgb)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, patch_id);
    if (sqlite3_step(st) != SQLITE_ROW)
        return g2c_catalog_error(cat, "reading a crop");
    G2cImage img, scaled;
    if (g2c_png_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &img))
        return g2c_error_prefix("crop %lld: ", (long long)patch_id);
    int rc = 0;
    if (img.width == size && img.height == size) {
        memcpy(rgb, img.rgb, (size_t)size * size * 3);
    } else if ((rc = g2c_image_alloc(&scaled, size, size, 0)) == 0) {
        rc = g2c_image_resize(&img, &scaled);
        if (rc == 0)
            memcpy(rgb, scaled.rgb, (size_t)size * size * 3);
        g2c_image_free(&scaled);
    }
    g2c_image_free(&img);
    return rc;
}

int s2_cropset_load(G2cCatalog *cat, const S2CropList *list, const G2cTask *task, const char *split,
                 int size, S2CropSet *out)
{
    memset(out, 0, sizeof *out);
    out->size = size;
    int n = 0;
    for (int i = 0; i < list->count; i++)
        n += strcmp(list->items[i].split, split) == 0 &&
             g2c_task_class_of(task, list->items[i].label) >= 0;
    size_t px = (size_t)size * size * 3;
    out->annotation_id = malloc((size_t)(n ? n : 1) * sizeof *out->annotation_id);
    out->cls = malloc((size_t)(n ? n : 1) * sizeof *out->cls);
    out->rgb = malloc((size_t)(n ? n : 1) * px);
    if (!out->annotation_id || !out->cls || !out->rgb) {
        s2_cropset_free(out);
        return g2c_error("out of memory for %d crops of %d px", n, size);
    }
    sqlite3_stmt *st = g2c_catalog_prepare(cat, "SELECT png FROM patches WHERE id = ?1");
    if (!st) {
        s2_cropset_free(out);
        return -1;
    }
    for (int i = 0; i < list->count; i++) {
        const S2CropInfo *c = &list->items[i];
        int cls = g2c_task_class_of(task, c->label);
        if (strcmp(c->split, split) != 0 || cls < 0)
            continue;
        if (load_pixels(cat, st, c->patch_id, size, out->rgb + (size_t)out->count * px) != 0) {
            g2c_error_prefix("glomerulus %lld: ", (long long)c->annotation_id);
            sqlite3_finalize(st);
            s2_cropset_free(out);
            return -1;
        }
        out->annotation_id[out->count] = c->annotation_id;
        out->cls[out->count] = cls;
        out->count++;
    }
    sqlite3_finalize(st);
    return 0;
}

void s2_cropset_free(S2CropSet *s)
{
    free(s->annotation_id);
    free(s->cls);
    free(s->rgb);
    memset(s, 0, sizeof *s);
}

/* Keep only the crops whose keep[i] is set, in order. */
void s2_cropset_filter(S2CropSet *s, const unsigned char *keep)
{
    size_t px = (size_t)s->size * s->size * 3;
    int n = 0;
    for (int i = 0; i < s->count; i++) {
        if (!keep[i])
            continue;
        if (n != i) {
            s->annotation_id[n] = s->annotation_id[i];
            s->cls[n] = s->cls[i];
            memmove(s->rgb + (size_t)n * px, s->rgb + (size_t)i * px, px);
        }
        n++;
    }
    s->count = n;
}

/* A 64-bit FNV-1a fingerprint of the training crops (which glomeruli, with
 * which class), so a resumed run can tell that its data changed. */
uint64_t s2_cropset_fingerprint(const S2CropSet *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < s->count; i++) {
        uint64_t v[2] = {(uint64_t)s->annotation_id[i], (uint64_t)s->cls[i]};
        const unsigned char *b = (const unsigned char *)v;
        for (size_t j = 0; j < sizeof v; j++) {
            h ^= b[j];
            h *= 1099511628211ULL;
        }
    }
    return h;
}
