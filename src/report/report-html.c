/* report.html: one self-contained page per slide.  No script, no external
 * file: the images are data: URIs and the CSS is inline, so the page can
 * be mailed or archived as one file and opens the same anywhere.
 *
 * Speed with hundreds of glomeruli: the boxes are one inline SVG (in
 * level-0 coordinates, scaled by the browser) over one thumbnail, and the
 * table's crops are small JPEGs made beforehand; nothing is computed per
 * row in the browser.  Every catalog string goes through g2c_rep_html. */
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
    ".note{background:#fff3cd;border:1px solid #e0c36a;padding:.5rem .75rem}"
    ".thumb{position:relative;max-width:100%}"
    ".thumb img{display:block;width:100%;height:auto}"
    ".thumb svg{position:absolute;left:0;top:0;width:100%;height:100%}"
    ".thumb rect{fill:none;stroke-width:2.5px;vector-effect:non-scaling-stroke}"
    ".thumb a:hover rect,.thumb a:focus rect{stroke-width:5px}"
    "table{border-collapse:collapse}"
    "th,td{border-bottom:1px solid #ddd;padding:.25rem .5rem;text-align:left;"
    "vertical-align:middle}"
    "th{background:#f4f4f4}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".sw{display:inline-block;width:.9em;height:.9em;border-radius:2px;"
    "vertical-align:-.1em;margin-right:.35em}"
    ".views{display:flex;gap:4px}"
    "figure{margin:0}figcaption{font-size:.7rem;color:#555;text-align:center}"
    ".bar{display:flex;width:120px;height:8px;background:#eee;margin-bottom:2px}"
    ".bar span{display:block;height:100%}"
    ".probs{font-size:.8rem;color:#444;font-variant-numeric:tabular-nums}"
    ".dis td.ann{color:#b00;font-weight:600}"
    ".muted{color:#888}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}"
    "dt{font-weight:600}dd{margin:0;word-break:break-all}"
    "pre{margin:0;white-space:pre-wrap;font-size:.8rem}"
    ":target{outline:3px solid #444}";

/* Per-class colours: kN strokes the boxes, bN fills swatches and bars. */
static void class_css(FILE *out, const G2cRepData *d)
{
    for (int i = 0; i < d->n_labels; i++) {
        char hex[8];
        g2c_rep_color_hex(d->labels[i], hex);
        fprintf(out, ".k%d{stroke:%s}.b%d{background:%s}", i, hex, i, hex);
    }
}

/* Table images load lazily: the browser decodes only the rows in view, so
 * the top of a 500-row page shows at once. */
static void image(FILE *out, const uint8_t *data, size_t size, const char *cls,
                  const char *alt)
{
    int w, h;
    const char *type = g2c_rep_image_type(data, size, &w, &h);
    fprintf(out, "<img class=\"%s\" width=\"%d\" height=\"%d\" alt=\"", cls, w, h);
    H(alt);
    fprintf(out, "\"%s decoding=\"async\" src=\"data:%s;base64,",
            strcmp(cls, "slide") == 0 ? "" : " loading=\"lazy\"", type ? type : "image/png");
    g2c_rep_base64(out, data, size);
    fputs("\">", out);
}

static void swatch(FILE *out, int label_index)
{
    fprintf(out, "<span class=\"sw b%d\"></span>", label_index);
}

static void head(FILE *out, const G2cRepData *d)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"g2c " G2C_VERSION "\">\n<title>g2c report: ",
          out);
    H(d->slide.name);
    fputs(" (patient ", out);
    H(d->slide.patient);
    fprintf(out, ")</title>\n<style>%s", css);
    class_css(out, d);
    fputs("</style>\n</head>\n<body>\n<header>\n<h1>Glomeruli of ", out);
    H(d->slide.name);
    fputs("</h1>\n<p class=\"sub\">Patient <strong id=\"patient\">", out);
    H(d->slide.patient);
    fputs("</strong> &middot; stain ", out);
    H(d->slide.stain);
    fputs(" &middot; model <strong>", out);
    H(d->model.name);
    fprintf(out, "</strong> &middot; %d glomeruli classified</p>\n", d->n_gloms);
    if (d->slide_note) {
        fputs("<p class=\"note\">", out);
        H(d->slide_note);
        fputs("</p>\n", out);
    }
    fputs("</header>\n", out);
}

static void overview(FILE *out, const G2cRepData *d)
{
    fprintf(out, "<section id=\"overview\">\n<h2>Slide</h2>\n<div class=\"thumb\" "
                 "style=\"width:%dpx\">", d->thumb_width);
    image(out, d->thumb_img, d->thumb_img_size, "slide", "slide thumbnail");
    fprintf(out, "\n<svg viewBox=\"0 0 %lld %lld\" preserveAspectRatio=\"none\" "
                 "role=\"img\" aria-label=\"glomerulus boxes\">\n",
            (long long)d->slide.width, (long long)d->slide.height);
    for (int i = 0; i < d->n_gloms; i++) {
        const G2cRepGlom *g = &d->gloms[i];
        fprintf(out, "<a href=\"#g%lld\"><rect class=\"k%d\" x=\"%.1f\" y=\"%.1f\" "
                     "width=\"%.1f\" height=\"%.1f\"><title>glomerulus %lld: ",
                (long long)g->annotation_id, g->predicted_index, g->x, g->y, g->w, g->h,
                (long long)g->annotation_id);
        H(g->predicted);
        fprintf(out, " (confidence %.2f)</title></rect></a>\n", g->confidence);
    }
    fputs("</svg></div>\n</section>\n", out);
}

static void summary(FILE *out, const G2cRepData *d)
{
    fputs("<section id=\"summary\">\n<h2>Summary</h2>\n<table class=\"summary\">\n"
          "<thead><tr><th>class</th><th class=\"n\">glomeruli</th><th class=\"n\">%</th>"
          "</tr></thead>\n<tbody>\n",
          out);
    for (int i = 0; i < d->n_labels; i++) {
        fputs("<tr><td>", out);
        swatch(out, i);
        H(d->labels[i]);
        fprintf(out, "</td><td class=\"n\">%d</td><td class=\"n\">%.1f</td></tr>\n",
                d->counts[i], d->n_gloms ? 100.0 * d->counts[i] / d->n_gloms : 0.0);
    }
    int gs = 0;
    for (int i = 0; i < d->n_labels; i++)
        if (strcmp(d->labels[i], "gs") == 0)
            gs = d->counts[i];
    fprintf(out, "</tbody>\n<tfoot><tr><th>all</th><th class=\"n\">%d</th>"
                 "<th class=\"n\">100.0</th></tr></tfoot>\n</table>\n<dl class=\"facts\">\n"
                 "<dt>globally sclerosed</dt><dd id=\"percent-gs\">%.1f %%</dd>\n"
                 "<dt>mean confidence</dt><dd>%.3f</dd>\n"
                 "<dt>annotated</dt><dd>%d of %d</dd>\n"
                 "<dt>disagreements with annotations</dt><dd>%d</dd>\n",
            d->n_gloms, d->n_gloms ? 100.0 * gs / d->n_gloms : 0.0, d->mean_confidence,
            d->annotated, d->n_gloms, d->disagreements);
    if (d->unclassified)
        fprintf(out, "<dt>not classified by this model</dt><dd>%d</dd>\n", d->unclassified);
    fputs("</dl>\n</section>\n", out);
}

static void probabilities(FILE *out, const G2cRepData *d, const G2cRepGlom *g)
{
    fputs("<div class=\"bar\">", out);
    for (int k = 0; k < g->n_probs; k++) {
        int idx = 0;
        while (idx < d->n_labels && strcmp(d->labels[idx], g->probs[k].label) != 0)
            idx++;
        fprintf(out, "<span class=\"b%d\" style=\"width:%.1f%%\"></span>", idx,
                100 * g->probs[k].p);
    }
    fputs("</div><span class=\"probs\">", out);
    for (int k = 0; k < g->n_probs; k++) {
        if (k)
            fputs(" &middot; ", out);
        H(g->probs[k].label);
        fprintf(out, " %.3f", g->probs[k].p);
    }
    fputs("</span>", out);
}

static void row(FILE *out, const G2cRepData *d, const G2cRepGlom *g)
{
    fprintf(out, "<tr id=\"g%lld\"%s><td class=\"n\" title=\"box x=%.0f y=%.0f w=%.0f "
                 "h=%.0f (level-0 px)\">%lld",
            (long long)g->annotation_id, g->agrees == 0 ? " class=\"dis\"" : "", g->x, g->y,
            g->w, g->h, (long long)g->annotation_id);
    if (g->source_id && g->source_id[0]) {
        fputs("<br><span class=\"muted\">", out);
        H(g->source_id);
        fputs("</span>", out);
    }
    fputs("</td><td>", out);
    if (g->crop_img)
        image(out, g->crop_img, g->crop_img_size, "crop", "PAS crop");
    else
        fputs("<span class=\"muted\">no crop</span>", out);
    fputs("</td><td><div class=\"views\">", out);
    for (int k = 0; k < g->n_views; k++) {
        if (!g->views[k].img)
            continue;
        fputs("<figure>", out);
        image(out, g->views[k].img, g->views[k].img_size, "view", g->views[k].stain);
        fputs("<figcaption>", out);
        H(g->views[k].stain);
        fputs("</figcaption></figure>", out);
    }
    fputs("</div></td><td>", out);
    swatch(out, g->predicted_index);
    fputs("<strong>", out);
    H(g->predicted);
    fprintf(out, "</strong> %.3f</td><td>", g->confidence);
    probabilities(out, d, g);
    fputs("</td><td class=\"ann\">", out);
    if (g->annotated) {
        H(g->annotated);
        fputs(g->agrees ? " &#10003;" : " &#10007;", out);
    } else {
        fputs("<span class=\"muted\">&mdash;</span>", out);
    }
    fputs("</td><td>", out);
    H(d->model.name);
    fprintf(out, "<br><span class=\"muted\">run %lld</span></td></tr>\n",
            (long long)g->run_id);
}

static void glomeruli(FILE *out, const G2cRepData *d)
{
    fputs("<section id=\"glomeruli\">\n<h2>Glomeruli</h2>\n<table id=\"glomeruli-table\">\n"
          "<thead><tr><th class=\"n\">id</th><th>crop</th><th>generated stains</th>"
          "<th>predicted</th><th>probabilities</th><th>annotated</th><th>model</th></tr>"
          "</thead>\n<tbody>\n",
          out);
    for (int i = 0; i < d->n_gloms; i++)
        row(out, d, &d->gloms[i]);
    fputs("</tbody>\n</table>\n</section>\n", out);
}

static void fact(FILE *out, const char *name, const char *value)
{
    fprintf(out, "<dt>%s</dt><dd>", name);
    if (value)
        H(value);
    else
        fputs("<span class=\"muted\">&mdash;</span>", out);
    fputs("</dd>\n", out);
}

static void model_config(FILE *out, const char *config)
{
    json_t *j = json_loads(config ? config : "", 0, NULL);
    char *pretty = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    fputs("<dt>model configuration</dt><dd><pre>", out);
    H(pretty ? pretty : config);
    fputs("</pre></dd>\n", out);
    free(pretty);
    json_decref(j);
}

static void provenance(FILE *out, const G2cRepData *d)
{
    const G2cRepSlide *s = &d->slide;
    const G2cRepModel *m = &d->model;
    char buf[256];
    fputs("<section id=\"provenance\">\n<h2>Provenance</h2>\n<dl>\n", out);
    fact(out, "patient", s->patient);
    fact(out, "slide file", s->path);
    fact(out, "slide fingerprint", s->fingerprint);
    snprintf(buf, sizeof buf, "%lld", (long long)s->id);
    fact(out, "slide id", buf);
    if (s->mpp > 0)
        snprintf(buf, sizeof buf, "%lld x %lld px at %.4g um/px, %lld bytes",
                 (long long)s->width, (long long)s->height, s->mpp, (long long)s->file_size);
    else
        snprintf(buf, sizeof buf, "%lld x %lld px, %lld bytes", (long long)s->width,
                 (long long)s->height, (long long)s->file_size);
    fact(out, "slide size", buf);
    fact(out, "scanner format", s->vendor);
    fact(out, "model", m->name);
    fact(out, "model kind", m->kind);
    snprintf(buf, sizeof buf, "%lld", (long long)m->id);
    fact(out, "model id", buf);
    fact(out, "model created", m->created_at);
    fact(out, "model weights", m->checkpoint);
    model_config(out, m->config);
    for (int i = 0; i < d->n_runs; i++) {
        const G2cRepRun *r = &d->runs[i];
        fprintf(out, "<dt>run %lld</dt><dd>", (long long)r->id);
        H(r->kind);
        fputs(", ", out);
        H(r->status);
        fputs(", started ", out);
        H(r->started_at);
        if (r->finished_at) {
            fputs(", finished ", out);
            H(r->finished_at);
        }
        fputs("</dd>\n", out);
    }
    fact(out, "catalog", d->catalog);
    fact(out, "g2c version", G2C_VERSION);
    fact(out, "report generated", d->generated_at);
    fputs("</dl>\n</section>\n", out);
}

int g2c_rep_write_html(const char *path, const G2cRepData *d)
{
    FILE *out = g2c_rep_open(path);
    if (!out)
        return -1;
    head(out, d);
    fputs("<main>\n", out);
    overview(out, d);
    summary(out, d);
    glomeruli(out, d);
    provenance(out, d);
    fputs("</main>\n</body>\n</html>\n", out);
    return g2c_rep_close(out, path);
}
