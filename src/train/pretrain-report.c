/* What a pre-training run shows: a sample sheet per epoch, the loss table
 * and plot, and the quality report on held-out crops. */
#include "pretrain-private.h"

#include "g2c/error.h"
#include "g2c/plot.h"
#include "g2c/quality.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const pt_loss_names[PT_LOSS_TERMS] = {"G_A",    "G_B", "cycle_A", "cycle_B", "idt_A",
                                                  "idt_B",  "G",   "D_A",     "D_B"};

void pt_loss_values(const PtEpoch *e, double v[PT_LOSS_TERMS])
{
    const double values[PT_LOSS_TERMS] = {e->G_A,   e->G_B, e->cycle_A, e->cycle_B, e->idt_A,
                                          e->idt_B, e->G,   e->D_A,     e->D_B};
    memcpy(v, values, sizeof values);
}

/* ---- epochs as JSON (run_epochs rows, checkpoint history) ------------------- */

json_t *pt_epoch_json(const PtEpoch *e)
{
    json_t *o = json_pack("{s:i, s:f}", "epoch", e->epoch, "lr", e->lr);
    double v[PT_LOSS_TERMS];
    pt_loss_values(e, v);
    for (int i = 0; i < PT_LOSS_TERMS; i++)
        json_object_set_new(o, pt_loss_names[i], json_real(v[i]));
    json_object_set_new(o, "seconds", json_real(e->seconds));
    json_object_set_new(o, "pairs_per_second", json_real(e->pairs_per_second));
    return o;
}

static int number(json_t *o, const char *key, double *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        return -1;
    *out = json_number_value(v);
    return 0;
}

int pt_epoch_from_json(json_t *o, PtEpoch *e)
{
    double epoch;
    double *dst[PT_LOSS_TERMS] = {&e->G_A,   &e->G_B, &e->cycle_A, &e->cycle_B, &e->idt_A,
                                  &e->idt_B, &e->G,   &e->D_A,     &e->D_B};
    if (number(o, "epoch", &epoch) != 0 || number(o, "lr", &e->lr) != 0 ||
        number(o, "seconds", &e->seconds) != 0 ||
        number(o, "pairs_per_second", &e->pairs_per_second) != 0)
        return -1;
    for (int i = 0; i < PT_LOSS_TERMS; i++)
        if (number(o, pt_loss_names[i], dst[i]) != 0)
            return -1;
    e->epoch = (int)epoch;
    return 0;
}

/* ---- labelled grids of crops ------------------------------------------------ */

enum { MARGIN = 8, HEADER = 34, MIN_CELL = 128 };

static void blit_scaled(const G2cImage *src, int scale, G2cImage *dst, int dx, int dy)
{
    for (int y = 0; y < src->height * scale; y++) {
        int ty = dy + y;
        if (ty < 0 || ty >= dst->height)
            continue;
        for (int x = 0; x < src->width * scale; x++) {
            int tx = dx + x;
            if (tx < 0 || tx >= dst->width)
                continue;
            const uint8_t *s = src->rgb + ((size_t)(y / scale) * src->width + x / scale) * 3;
            memcpy(dst->rgb + ((size_t)ty * dst->width + tx) * 3, s, 3);
        }
    }
}

/* rows x cols crops of size x size, each enlarged by a whole factor (so the
 * pixels stay visible) to at least MIN_CELL, under a title and a label per
 * column.  The built-in font has lower-case letters only. */
static int write_grid(const char *path, const char *title, const char *const *labels,
                      int cols, const G2cImage *cells, int rows, int size)
{
    const int scale = size >= MIN_CELL ? 1 : (MIN_CELL + size - 1) / size;
    const int cell = size * scale;
    G2cImage sheet;
    if (g2c_image_alloc(&sheet, MARGIN + cols * (cell + MARGIN),
                        HEADER + rows * (cell + MARGIN) + MARGIN, 255) != 0)
        return -1;
    const unsigned char black[3] = {0, 0, 0};
    g2c_draw_text(&sheet, MARGIN, 4, title, 2, black);
    for (int c = 0; c < cols; c++)
        g2c_draw_text(&sheet, MARGIN + c * (cell + MARGIN), 20, labels[c], 2, black);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            if (cells[r * cols + c].rgb)
                blit_scaled(&cells[r * cols + c], scale, &sheet, MARGIN + c * (cell + MARGIN),
                            HEADER + r * (cell + MARGIN));
    int rc = g2c_png_write(path, &sheet);
    g2c_image_free(&sheet);
    return rc;
}

static void free_cells(G2cImage *cells, int n)
{
    for (int i = 0; i < n; i++)
        g2c_image_free(&cells[i]);
}

/* ---- the sample sheet of an epoch ------------------------------------------- */

enum { SAMPLE_ROWS = 4 };

int pt_report_samples(Pretrain *pt, int epoch)
{
    const G2cPretrainData *src = &pt->data[0];
    const int rows = src->n_held < SAMPLE_ROWS ? src->n_held : SAMPLE_ROWS;
    G2cImage cells[SAMPLE_ROWS * 3];
    memset(cells, 0, sizeof cells);
    int rc = 0;
    for (int r = 0; r < rows && rc == 0; r++) {
        G2cImage *row = &cells[r * 3];
        rc = g2c_image_alloc(&row[0], src->size, src->size, 0);
        if (rc == 0) {
            memcpy(row[0].rgb, src->held[r].rgb, (size_t)src->size * src->size * 3);
            rc = g2c_convnet_translate(&pt->cg.G_A, &pt->cg.gen, &pt->eval_acts[0], &row[0],
                                       &row[1]);
        }
        if (rc == 0)
            rc = g2c_convnet_translate(&pt->cg.G_B, &pt->cg.gen, &pt->eval_acts[1], &row[1],
                                       &row[2]);
    }
    if (rc == 0) {
        char path[PT_PATH_MAX], title[64];
        snprintf(path, sizeof path, "%s/samples-epoch-%03d.png", pt->dir, epoch);
        snprintf(title, sizeof title, "epoch %d", epoch);
        const char *labels[3] = {"source", "generated", "reconstructed"};
        rc = write_grid(path, title, labels, 3, cells, rows, src->size);
    }
    free_cells(cells, rows * 3);
    return rc;
}

/* ---- losses.csv and losses.png ------------------------------------------------ */

static int write_csv(Pretrain *pt)
{
    char path[PT_PATH_MAX], tmp[PT_PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/losses.csv", pt->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return g2c_error("%s: %s", tmp, strerror(errno));
    fprintf(f, "epoch,lr");
    for (int i = 0; i < PT_LOSS_TERMS; i++)
        fprintf(f, ",%s", pt_loss_names[i]);
    fprintf(f, ",seconds,pairs_per_second\n");
    for (int e = 0; e < pt->epoch; e++) {
        const PtEpoch *h = &pt->history[e];
        double v[PT_LOSS_TERMS];
        pt_loss_values(h, v);
        fprintf(f, "%d,%.9g", h->epoch, h->lr);
        for (int i = 0; i < PT_LOSS_TERMS; i++)
            fprintf(f, ",%.6f", v[i]);
        fprintf(f, ",%.3f,%.3f\n", h->seconds, h->pairs_per_second);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        remove(tmp);
        return g2c_error("%s: write failed", tmp);
    }
    if (rename(tmp, path) != 0)
        return g2c_error("cannot rename %s: %s", tmp, strerror(errno));
    return 0;
}

static int write_plot(Pretrain *pt)
{
    /* The eight terms; their sum G would only squash the scale. */
    static const char *const legend[8] = {"g_a",   "g_b",   "cycle_a", "cycle_b",
                                          "idt_a", "idt_b", "d_a",     "d_b"};
    static const int term[8] = {0, 1, 2, 3, 4, 5, 7, 8};
    double *values = malloc((size_t)8 * (pt->epoch ? pt->epoch : 1) * sizeof *values);
    if (!values)
        return g2c_error("out of memory");
    G2cSeries series[8];
    for (int s = 0; s < 8; s++) {
        for (int e = 0; e < pt->epoch; e++) {
            double v[PT_LOSS_TERMS];
            pt_loss_values(&pt->history[e], v);
            values[s * pt->epoch + e] = v[term[s]];
        }
        series[s] = (G2cSeries){legend[s], values + s * pt->epoch, pt->epoch};
    }
    char path[PT_PATH_MAX], title[160];
    snprintf(path, sizeof path, "%s/losses.png", pt->dir);
    snprintf(title, sizeof title, "%s losses", pt->name);
    for (char *c = title; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    int rc = g2c_plot_lines_png(path, title, series, 8, 900, 500);
    free(values);
    return rc;
}

int pt_report_losses(Pretrain *pt)
{
    return write_csv(pt) == 0 && write_plot(pt) == 0 ? 0 : -1;
}

/* ---- quality on held-out crops -------------------------------------------------- */

static int quality_sheet(Pretrain *pt, const G2cImage *generated, int n)
{
    enum { ROWS = 8 };
    const G2cPretrainData *src = &pt->data[0], *tgt = &pt->data[1];
    G2cImage cells[ROWS * 3];
    memset(cells, 0, sizeof cells);
    int rows = n < ROWS ? n : ROWS;
    for (int r = 0; r < rows; r++) {
        cells[r * 3] = src->held[r];
        cells[r * 3 + 1] = generated[r];
        if (r < tgt->n_held)
            cells[r * 3 + 2] = tgt->held[r];
    }
    char path[PT_PATH_MAX], title[160];
    snprintf(path, sizeof path, "%s/held-out.png", pt->dir);
    snprintf(title, sizeof title, "held out: %s to %s", pt->side[0].stain, pt->side[1].stain);
    for (char *c = title; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    const char *labels[3] = {"source", "generated", "real target"};
    return write_grid(path, title, labels, 3, cells, rows, src->size);
}

static int two_sample(Pretrain *pt, const G2cImage *real, int n_real, const G2cImage *other,
                      int n_other, G2cTwoSampleResult *r)
{
    G2cTwoSampleConfig cfg;
    g2c_two_sample_config_default(&cfg);
    if (pt->opt->arch.size < cfg.size)
        cfg.size = pt->opt->arch.size;
    cfg.seed = pt->opt->seed;
    return g2c_two_sample_test(real, n_real, other, n_other, &cfg, r);
}

int pt_report_quality(Pretrain *pt, G2cPretrainQuality *q)
{
    const G2cPretrainData *src = &pt->data[0], *tgt = &pt->data[1];
    const int n = src->n_held;
    G2cImage *gen = calloc((size_t)n, sizeof *gen);
    if (!gen)
        return g2c_error("out of memory");
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = g2c_convnet_translate(&pt->cg.G_A, &pt->cg.gen, &pt->eval_acts[0], &src->held[i],
                                   &gen[i]);
    G2cTwoSampleResult r = {0}, base = {0};
    if (rc == 0)
        rc = two_sample(pt, tgt->held, tgt->n_held, gen, n, &r);
    if (rc == 0)
        rc = two_sample(pt, tgt->held, tgt->n_held, src->held, n, &base);
    if (rc == 0) {
        G2cLabStats lg, ls, lt;
        g2c_lab_stats(gen, n, &lg);
        g2c_lab_stats(src->held, n, &ls);
        g2c_lab_stats(tgt->held, tgt->n_held, &lt);
        *q = (G2cPretrainQuality){n,
                                  tgt->n_held,
                                  r.accuracy,
                                  r.train_accuracy,
                                  base.accuracy,
                                  g2c_lab_distance(&lg, &lt),
                                  g2c_lab_distance(&ls, &lt)};
        rc = quality_sheet(pt, gen, n);
    }
    if (rc != 0)
        g2c_error_prefix("quality report: ");
    free_cells(gen, n);
    free(gen);
    return rc;
}
