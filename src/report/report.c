/* g2c report: check the request against the catalog, then write one slide
 * report (or a patient's slide reports and their index).  Nothing is
 * written until the slide / patient, the crops and the model's
 * predictions are known to be there. */
#include "report-private.h"

#include "g2c/error.h"
#include "g2c/path.h"

#include <stdlib.h>
#include <string.h>

void g2c_report_options_default(G2cReportOptions *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->thumb_width = 1200;
    opt->crop_size = 96;
}

static int write_bytes(const char *path, const uint8_t *data, size_t size)
{
    FILE *out = g2c_rep_open(path);
    if (!out)
        return -1;
    fwrite(data, 1, size, out);
    return g2c_rep_close(out, path);
}

static int write_files(const char *dir, const G2cRepData *d)
{
    char path[4200];
    if (g2c_make_dirs(dir) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/overlay.png", dir);
    if (write_bytes(path, d->overlay_png, d->overlay_png_size) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/report.json", dir);
    if (g2c_rep_write_json(path, d) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/glomeruli.csv", dir);
    if (g2c_rep_write_csv(path, d) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/report.html", dir);
    return g2c_rep_write_html(path, d);
}

/* The patient index's line for a written slide report. */
static int index_row(const G2cRepData *d, const char *subdir, G2cRepIndexRow *row)
{
    row->slide_id = d->slide.id;
    row->name = strdup(d->slide.name);
    row->stain = strdup(d->slide.stain);
    row->dir = strdup(subdir);
    row->labels = calloc((size_t)d->n_labels + 1, sizeof *row->labels);
    row->counts = calloc((size_t)d->n_labels + 1, sizeof *row->counts);
    if (!row->name || !row->stain || !row->dir || !row->labels || !row->counts)
        return g2c_error("out of memory");
    for (int i = 0; i < d->n_labels; i++) {
        if (!(row->labels[i] = strdup(d->labels[i])))
            return g2c_error("out of memory");
        row->counts[i] = d->counts[i];
        row->n_labels++;
    }
    row->glomeruli = d->n_gloms;
    row->unclassified = d->unclassified;
    row->annotated = d->annotated;
    row->disagreements = d->disagreements;
    row->mean_confidence = d->mean_confidence;
    return g2c_rep_small_overlay(d, 240, &row->overlay_img, &row->overlay_img_size);
}

/* One slide: load, make the images, write the four files.  model_out
 * receives a copy of the model's description (for the patient index). */
static int slide_report(G2cCatalog *cat, const G2cReportOptions *opt, int64_t slide_id,
                        int64_t model_id, const char *dir, const char *subdir,
                        G2cRepIndexRow *row, G2cReportResult *result)
{
    G2cRepData d;
    if (g2c_rep_load(cat, slide_id, model_id, &d) != 0)
        return -1;
    int rc = g2c_rep_load_crops(cat, opt, &d);
    if (rc == 0)
        rc = g2c_rep_thumbnail(opt, &d);
    if (rc == 0)
        rc = write_files(dir, &d);
    if (rc == 0 && row)
        rc = index_row(&d, subdir, row);
    if (rc == 0) {
        result->slides++;
        result->glomeruli += d.n_gloms;
    }
    g2c_rep_free(&d);
    return rc;
}

static int model_copy(G2cCatalog *cat, int64_t model_id, G2cRepModel *m)
{
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT name, kind, config, checkpoint, created_at FROM models WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, model_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        m->id = model_id;
        m->name = g2c_rep_strdup((const char *)sqlite3_column_text(st, 0));
        m->kind = g2c_rep_strdup((const char *)sqlite3_column_text(st, 1));
        m->config = g2c_rep_strdup((const char *)sqlite3_column_text(st, 2));
        m->checkpoint = g2c_rep_strdup((const char *)sqlite3_column_text(st, 3));
        m->created_at = g2c_rep_strdup((const char *)sqlite3_column_text(st, 4));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : g2c_catalog_error(cat, "reading the model");
}

static void model_free(G2cRepModel *m)
{
    free(m->name), free(m->kind), free(m->config), free(m->checkpoint), free(m->created_at);
}

static void warn(const G2cReportOptions *opt, const char *message)
{
    if (opt->warn)
        opt->warn(opt->warn_ctx, message);
}

static int patient_report(G2cCatalog *cat, const G2cReportOptions *opt,
                          const G2cRepScope *scope, int64_t model_id, G2cReportResult *result)
{
    int64_t *ids;
    int *has, n;
    if (g2c_rep_scope_slides(cat, scope, model_id, &ids, &has, &n) != 0)
        return -1;
    G2cRepIndexRow *rows = calloc((size_t)n + 1, sizeof *rows);
    G2cRepModel model = {0};
    int rc = rows ? model_copy(cat, model_id, &model) : g2c_error("out of memory");
    for (int i = 0; rc == 0 && i < n; i++) {
        char subdir[64], dir[4200];
        rows[i].slide_id = ids[i];
        if (!has[i]) {
            char label[600], msg[1024];
            g2c_rep_slide_label(cat, ids[i], label, sizeof label);
            snprintf(msg, sizeof msg, "%s has no predictions from model '%s'; left out",
                     label, result->model);
            warn(opt, msg);
            result->skipped++;
            sqlite3_stmt *st = g2c_catalog_prepare(
                cat, "SELECT s.name, st.name FROM slides s JOIN stains st "
                     "ON st.id = s.stain_id WHERE s.id = ?1");
            if (st) {
                sqlite3_bind_int64(st, 1, ids[i]);
                if (sqlite3_step(st) == SQLITE_ROW) {
                    rows[i].name = g2c_rep_strdup((const char *)sqlite3_column_text(st, 0));
                    rows[i].stain = g2c_rep_strdup((const char *)sqlite3_column_text(st, 1));
                }
                sqlite3_finalize(st);
            }
            continue;
        }
        snprintf(subdir, sizeof subdir, "slide-%lld", (long long)ids[i]);
        snprintf(dir, sizeof dir, "%s/%s", opt->out_dir, subdir);
        rc = slide_report(cat, opt, ids[i], model_id, dir, subdir, &rows[i], result);
    }
    if (rc == 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s/index.html", opt->out_dir);
        rc = g2c_rep_write_index(path, g2c_catalog_path(cat), opt->patient, &model, rows, n);
    }
    for (int i = 0; rows && i < n; i++)
        g2c_rep_index_row_free(&rows[i]);
    free(rows);
    model_free(&model);
    free(ids);
    free(has);
    return rc;
}

int g2c_report_write(G2cCatalog *cat, const G2cReportOptions *opt, G2cReportResult *result)
{
    memset(result, 0, sizeof *result);
    if (!opt->slide == !opt->patient)
        return g2c_error("give a slide or a patient (one of them)");
    if (!opt->out_dir || !opt->out_dir[0])
        return g2c_error("no output folder given");
    G2cRepScope scope;
    int64_t model_id;
    int rc = opt->slide ? g2c_rep_find_slide(cat, opt->slide, &scope)
                        : g2c_rep_find_patient(cat, opt->patient, &scope);
    if (rc == 0)
        rc = g2c_rep_check_crops(cat, &scope);
    if (rc == 0)
        rc = g2c_rep_find_model(cat, &scope, opt->model, &model_id, result->model,
                                sizeof result->model);
    if (rc != 0)
        return -1;
    if (opt->slide)
        return slide_report(cat, opt, scope.id, model_id, opt->out_dir, NULL, NULL, result);
    return patient_report(cat, opt, &scope, model_id, result);
}
