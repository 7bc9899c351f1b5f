/* index.html of a patient report: one line per slide (small overlay, the
 * class counts, % globally sclerosed, confidence, disagreements) linking to
 * the slide's own report, and the patient's totals.  Self-contained like
 * the slide pages, apart from those links. */
#include "report-private.h"

#include "g2c/error.h"

#include <stdlib.h>
#include <string.h>

#define H(s) g2c_rep_html(out, s)

static const char css[] =
    ":root{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
    "color:#222;background:#fff}"
    "body{margin:1.5rem auto;max-width:1280px;padding:0 1rem;line-height:1.4}"
    "h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}"
    ".sub{color:#555;margin:0 0 1rem}"
    "table{border-collapse:collapse}"
    "th,td{border-bottom:1px solid #ddd;padding:.25rem .5rem;text-align:left;"
    "vertical-align:middle}"
    "th{background:#f4f4f4}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    "tfoot th{background:#fff;border-top:2px solid #888}"
    ".sw{display:inline-block;width:.9em;height:.9em;border-radius:2px;"
    "vertical-align:-.1em;margin-right:.35em}"
    ".muted{color:#888}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}"
    "dt{font-weight:600}dd{margin:0;word-break:break-all}";

/* Catalog's built-in classes first, in their usual order, then others as
 * met: the same column order on every patient page. */
static int label_rank(const char *label)
{
    static const char *const known[] = {"noa", "ss", "gs", "nongs"};
    for (int i = 0; i < 4; i++)
        if (strcmp(label, known[i]) == 0)
            return i;
    return 4;
}

typedef struct {
    const char **labels;
    int n;
} Labels;

static int collect(const G2cRepIndexRow *rows, int n, Labels *l)
{
    int cap = 0;
    for (int r = 0; r < n; r++)
        cap += rows[r].n_labels;
    l->labels = calloc((size_t)cap + 1, sizeof *l->labels);
    if (!l->labels)
        return g2c_error("out of memory");
    for (int r = 0; r < n; r++)
        for (int k = 0; k < rows[r].n_labels; k++) {
            const char *name = rows[r].labels[k];
            int seen = 0;
            for (int i = 0; i < l->n && !seen; i++)
                seen = strcmp(l->labels[i], name) == 0;
            if (!seen)
                l->labels[l->n++] = name;
        }
    /* stable insertion sort by rank */
    for (int i = 1; i < l->n; i++)
        for (int j = i; j > 0 && label_rank(l->labels[j - 1]) > label_rank(l->labels[j]); j--) {
            const char *t = l->labels[j];
            l->labels[j] = l->labels[j - 1];
            l->labels[j - 1] = t;
        }
    return 0;
}

static int count_of(const G2cRepIndexRow *row, const char *label)
{
    for (int k = 0; k < row->n_labels; k++)
        if (strcmp(row->labels[k], label) == 0)
            return row->counts[k];
    return 0;
}

static void header(FILE *out, const char *patient, const G2cRepModel *model,
                   const Labels *l, const G2cRepIndexRow *rows, int n)
{
    long total = 0;
    int reported = 0;
    for (int r = 0; r < n; r++)
        if (rows[r].dir) {
            total += rows[r].glomeruli;
            reported++;
        }
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"g2c " G2C_VERSION "\">\n"
          "<title>g2c report: patient ",
          out);
    H(patient);
    fprintf(out, "</title>\n<style>%s", css);
    for (int i = 0; i < l->n; i++) {
        char hex[8];
        g2c_rep_color_hex(l->labels[i], hex);
        fprintf(out, ".b%d{background:%s}", i, hex);
    }
    fputs("</style>\n</head>\n<body>\n<header>\n<h1>Patient <span id=\"patient\">", out);
    H(patient);
    fputs("</span></h1>\n<p class=\"sub\">model <strong>", out);
    H(model->name);
    fprintf(out, "</strong> &middot; %d slide report(s) &middot; %ld glomeruli classified</p>\n"
                 "</header>\n", reported, total);
}

static void slide_row(FILE *out, const Labels *l, const G2cRepIndexRow *row)
{
    fprintf(out, "<tr id=\"s%lld\"><td>", (long long)row->slide_id);
    if (row->dir) {
        fputs("<a href=\"", out);
        H(row->dir);
        fputs("/report.html\">", out);
        H(row->name);
        fputs("</a>", out);
    } else {
        H(row->name);
    }
    fputs("</td><td>", out);
    H(row->stain);
    fputs("</td><td>", out);
    if (!row->dir) {
        fprintf(out, "<span class=\"muted\">no predictions from this model</span></td>"
                     "<td colspan=\"%d\"></td></tr>\n", l->n + 5);
        return;
    }
    if (row->overlay_img) {
        int w, h;
        const char *type = g2c_rep_image_type(row->overlay_img, row->overlay_img_size, &w, &h);
        fprintf(out, "<img width=\"%d\" height=\"%d\" alt=\"overlay\" "
                     "src=\"data:%s;base64,", w, h, type ? type : "image/png");
        g2c_rep_base64(out, row->overlay_img, row->overlay_img_size);
        fputs("\">", out);
    }
    fprintf(out, "</td><td class=\"n\">%d</td>", row->glomeruli);
    int gs = 0;
    for (int i = 0; i < l->n; i++) {
        int c = count_of(row, l->labels[i]);
        if (strcmp(l->labels[i], "gs") == 0)
            gs = c;
        fprintf(out, "<td class=\"n\">%d</td>", c);
    }
    fprintf(out, "<td class=\"n\">%.1f</td><td class=\"n\">%.3f</td><td class=\"n\">%d of %d"
                 "</td><td class=\"n\">%d</td></tr>\n",
            row->glomeruli ? 100.0 * gs / row->glomeruli : 0.0, row->mean_confidence,
            row->disagreements, row->annotated, row->unclassified);
}

static void totals(FILE *out, const Labels *l, const G2cRepIndexRow *rows, int n)
{
    long glom = 0, gs = 0, annotated = 0, dis = 0, uncl = 0;
    double conf = 0;
    for (int r = 0; r < n; r++) {
        if (!rows[r].dir)
            continue;
        glom += rows[r].glomeruli;
        gs += count_of(&rows[r], "gs");
        annotated += rows[r].annotated;
        dis += rows[r].disagreements;
        uncl += rows[r].unclassified;
        conf += rows[r].mean_confidence * rows[r].glomeruli;
    }
    fprintf(out, "<tfoot><tr><th colspan=\"3\">patient</th><th class=\"n\" "
                 "id=\"total-glomeruli\">%ld</th>", glom);
    for (int i = 0; i < l->n; i++) {
        long c = 0;
        for (int r = 0; r < n; r++)
            if (rows[r].dir)
                c += count_of(&rows[r], l->labels[i]);
        fprintf(out, "<th class=\"n\">%ld</th>", c);
    }
    fprintf(out, "<th class=\"n\" id=\"total-percent-gs\">%.1f</th><th class=\"n\">%.3f</th>"
                 "<th class=\"n\">%ld of %ld</th><th class=\"n\">%ld</th></tr></tfoot>\n",
            glom ? 100.0 * gs / glom : 0.0, glom ? conf / glom : 0.0, dis, annotated, uncl);
}

static void table(FILE *out, const Labels *l, const G2cRepIndexRow *rows, int n)
{
    fputs("<section id=\"slides\">\n<h2>Slides</h2>\n<table id=\"slides-table\">\n<thead><tr>"
          "<th>slide</th><th>stain</th><th>overlay</th><th class=\"n\">glomeruli</th>",
          out);
    for (int i = 0; i < l->n; i++) {
        fprintf(out, "<th class=\"n\"><span class=\"sw b%d\"></span>", i);
        H(l->labels[i]);
        fputs("</th>", out);
    }
    fputs("<th class=\"n\">% gs</th><th class=\"n\">mean confidence</th>"
          "<th class=\"n\">disagreements</th><th class=\"n\">not classified</th></tr></thead>\n"
          "<tbody>\n",
          out);
    for (int r = 0; r < n; r++)
        slide_row(out, l, &rows[r]);
    fputs("</tbody>\n", out);
    totals(out, l, rows, n);
    fputs("</table>\n</section>\n", out);
}

static void provenance(FILE *out, const char *catalog, const G2cRepModel *model)
{
    char now[32];
    g2c_rep_now(now);
    fputs("<section id=\"provenance\">\n<h2>Provenance</h2>\n<dl>\n<dt>model</dt><dd>", out);
    H(model->name);
    fputs(" (", out);
    H(model->kind);
    fprintf(out, ", id %lld)</dd>\n<dt>catalog</dt><dd>", (long long)model->id);
    H(catalog);
    fprintf(out, "</dd>\n<dt>g2c version</dt><dd>%s</dd>\n<dt>report generated</dt>"
                 "<dd>%s</dd>\n</dl>\n</section>\n", G2C_VERSION, now);
}

int g2c_rep_write_index(const char *path, const char *catalog, const char *patient,
                        const G2cRepModel *model, const G2cRepIndexRow *rows, int n)
{
    Labels l = {0};
    char *safe_patient = g2c_rep_strdup(patient), *safe_catalog = g2c_rep_strdup(catalog);
    if (!safe_patient || !safe_catalog || collect(rows, n, &l) != 0) {
        free(safe_patient), free(safe_catalog), free(l.labels);
        return g2c_error("out of memory");
    }
    FILE *out = g2c_rep_open(path);
    int rc = -1;
    if (out) {
        header(out, safe_patient, model, &l, rows, n);
        fputs("<main>\n", out);
        table(out, &l, rows, n);
        provenance(out, safe_catalog, model);
        fputs("</main>\n</body>\n</html>\n", out);
        rc = g2c_rep_close(out, path);
    }
    free(safe_patient), free(safe_catalog), free(l.labels);
    return rc;
}

void g2c_rep_index_row_free(G2cRepIndexRow *row)
{
    free(row->name), free(row->stain), free(row->dir);
    for (int i = 0; i < row->n_labels; i++)
        free(row->labels[i]);
    free(row->labels), free(row->counts), free(row->overlay_img);
    memset(row, 0, sizeof *row);
}
