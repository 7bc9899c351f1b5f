/* g2c export --geojson: predictions back into the slide viewer.
 *
 * One QuPath GeoJSON file per slide ("File > Import objects from file"):
 *
 *   {"type": "FeatureCollection", "features": [
 *     {"type": "Feature",
 *      "geometry": {"type": "Polygon", "coordinates": [[[x, y], ...5 points]]},
 *      "properties": {"objectType": "annotation", "name": "glomerulus 17",
 *        "classification": {"name": "gs", "color": [214, 39, 40]},
 *        "measurements": {"g2c annotation id": 17, "confidence": 0.91,
 *                         "p(noa)": 0.03, "p(ss)": 0.06, "p(gs)": 0.91},
 *        "g2c": {"annotation_id": 17, "source_id": "...", "annotated": "gs",
 *                "model": "m1", "run_id": 4}}}]}
 *
 * Measurements are the name -> number object QuPath 0.4 writes (older
 * versions wrote a list of {name, value}); QuPath shows them in its
 * measurement table.  The class colour is the report's.  The writer of
 * src/annot (g2c_annot_write_geojson) has no place for measurements, so
 * this one is separate; g2c_annot_read reads its output back (tested).
 */
#include "report-private.h"

#include "g2c/error.h"
#include "g2c/path.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Integers print as integers, as QuPath writes them. */
static json_t *number(double v)
{
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        return json_integer((json_int_t)v);
    return json_real(v);
}

static json_t *rectangle(const G2cRepGlom *g)
{
    double xs[5] = {g->x, g->x + g->w, g->x + g->w, g->x, g->x};
    double ys[5] = {g->y, g->y, g->y + g->h, g->y + g->h, g->y};
    json_t *ring = json_array();
    for (int k = 0; ring && k < 5; k++)
        if (json_array_append_new(ring, json_pack("[oo]", number(xs[k]), number(ys[k]))) != 0)
            return json_decref(ring), NULL;
    return json_pack("{s:s, s:[o]}", "type", "Polygon", "coordinates", ring);
}

static json_t *measurements(const G2cRepGlom *g)
{
    json_t *m = json_pack("{s:I, s:f}", "g2c annotation id", (json_int_t)g->annotation_id,
                          "confidence", g->confidence);
    for (int k = 0; m && k < g->n_probs; k++) {
        char name[300];
        snprintf(name, sizeof name, "p(%s)", g->probs[k].label);
        if (json_object_set_new(m, name, json_real(g->probs[k].p)) != 0)
            return json_decref(m), NULL;
    }
    return m;
}

static json_t *feature(const G2cRepData *d, const G2cRepGlom *g)
{
    uint8_t rgb[3];
    char name[64];
    g2c_report_label_color(g->predicted, rgb);
    snprintf(name, sizeof name, "glomerulus %lld", (long long)g->annotation_id);
    json_t *props = json_pack(
        "{s:s, s:s, s:{s:s, s:[iii]}, s:o, s:{s:I, s:s, s:s?, s:s, s:I}}", "objectType",
        "annotation", "name", name, "classification", "name", g->predicted, "color",
        (int)rgb[0], (int)rgb[1], (int)rgb[2], "measurements", measurements(g), "g2c",
        "annotation_id", (json_int_t)g->annotation_id, "source_id",
        g->source_id ? g->source_id : "", "annotated", g->annotated, "model", d->model.name,
        "run_id", (json_int_t)g->run_id);
    return json_pack("{s:s, s:o, s:o}", "type", "Feature", "geometry", rectangle(g),
                     "properties", props);
}

static int write_file(const char *path, const G2cRepData *d)
{
    json_t *features = json_array();
    for (int i = 0; features && i < d->n_gloms; i++)
        if (json_array_append_new(features, feature(d, &d->gloms[i])) != 0) {
            json_decref(features);
            features = NULL;
        }
    json_t *root = features ? json_pack("{s:s, s:o}", "type", "FeatureCollection",
                                        "features", features)
                            : NULL;
    if (!root)
        return g2c_error("%s: out of memory", path);
    FILE *out = g2c_rep_open(path);
    if (!out) {
        json_decref(root);
        return -1;
    }
    int rc = json_dumpf(root, out, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
    json_decref(root);
    fputc('\n', out);
    if (rc != 0) {
        g2c_rep_abort(out, path);
        return g2c_error("%s: cannot write", path);
    }
    return g2c_rep_close(out, path);
}

/* The slide's file name without its extension(s) (.ome.tiff too), with
 * anything but letters, digits, '.', '-' and '_' made '_'. */
static void file_stem(const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s", name && *name ? name : "slide");
    char *dot = strchr(out + 1, '.');
    if (dot)
        *dot = '\0';
    for (char *p = out; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-_", *p))
            *p = '_';
}

typedef char Stem[200];

/* File names for the slides about to be written: "-<id>" is added to a
 * stem that two of them share. */
static int stems(G2cCatalog *cat, const int64_t *ids, const int *has, int n, Stem **out)
{
    Stem *base = calloc((size_t)n + 1, sizeof *base);
    *out = calloc((size_t)n + 1, sizeof **out);
    sqlite3_stmt *st = base && *out ? g2c_catalog_prepare(cat, "SELECT name FROM slides "
                                                               "WHERE id = ?1")
                                    : NULL;
    if (!st) {
        free(base);
        return base && *out ? -1 : g2c_error("out of memory");
    }
    for (int i = 0; i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, ids[i]);
        const char *name = sqlite3_step(st) == SQLITE_ROW
                               ? (const char *)sqlite3_column_text(st, 0) : NULL;
        file_stem(name, base[i], 180);
    }
    sqlite3_finalize(st);
    for (int i = 0; i < n; i++) {
        int shared = 0;
        for (int j = 0; j < n && !shared; j++)
            shared = j != i && has[i] && has[j] && strcmp(base[i], base[j]) == 0;
        if (shared)
            snprintf((*out)[i], sizeof(Stem), "%s-%lld", base[i], (long long)ids[i]);
        else
            snprintf((*out)[i], sizeof(Stem), "%s", base[i]);
    }
    free(base);
    return 0;
}

static int resolve(G2cCatalog *cat, const G2cReportOptions *opt, G2cRepScope *scope)
{
    if (opt->slide && opt->patient)
        return g2c_error("give a slide or a patient, not both");
    if (opt->slide)
        return g2c_rep_find_slide(cat, opt->slide, scope);
    if (opt->patient)
        return g2c_rep_find_patient(cat, opt->patient, scope);
    scope->kind = G2C_SCOPE_ALL;
    scope->id = 0;
    snprintf(scope->label, sizeof scope->label, "the catalog");
    return 0;
}

int g2c_export_geojson(G2cCatalog *cat, const G2cReportOptions *opt, G2cReportResult *result)
{
    memset(result, 0, sizeof *result);
    if (!opt->out_dir || !opt->out_dir[0])
        return g2c_error("no output folder given");
    G2cRepScope scope;
    int64_t model_id, *ids = NULL;
    int *has = NULL, n = 0;
    if (resolve(cat, opt, &scope) != 0 ||
        g2c_rep_find_model(cat, &scope, opt->model, &model_id, result->model,
                           sizeof result->model) != 0 ||
        g2c_rep_scope_slides(cat, &scope, model_id, &ids, &has, &n) != 0)
        return -1;
    Stem *names = NULL;
    int rc = stems(cat, ids, has, n, &names);
    if (rc == 0)
        rc = g2c_make_dirs(opt->out_dir);
    for (int i = 0; rc == 0 && i < n; i++) {
        if (!has[i]) {
            result->skipped++;
            continue;
        }
        G2cRepData d;
        if ((rc = g2c_rep_load(cat, ids[i], model_id, &d)) != 0)
            break;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s.geojson", opt->out_dir, names[i]);
        rc = write_file(path, &d);
        if (rc == 0) {
            result->slides++;
            result->glomeruli += d.n_gloms;
        }
        g2c_rep_free(&d);
    }
    free(names);
    free(ids);
    free(has);
    return rc;
}
