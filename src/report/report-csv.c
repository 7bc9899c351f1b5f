/* glomeruli.csv: one row per classified glomerulus, for spreadsheets and
 * scripts.  RFC 4180 (CRLF, quotes doubled), every catalog string quoted
 * when it needs to be; one probability column per class of the report. */
#include "report-private.h"

#include "g2c/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void header(FILE *out, const G2cRepData *d)
{
    fputs("patient,slide_id,slide,annotation_id,source_id,x,y,w,h,predicted,confidence", out);
    for (int i = 0; i < d->n_labels; i++) {
        char name[300];
        snprintf(name, sizeof name, "p_%s", d->labels[i]);
        fputc(',', out);
        g2c_rep_csv(out, name);
    }
    fputs(",annotated,agrees,model,run_id,created_at,crop,generated_views\r\n", out);
}

/* The glomerulus's probability of label i, or -1 when it has none. */
static double prob_of(const G2cRepGlom *g, const char *label)
{
    for (int k = 0; k < g->n_probs; k++)
        if (strcmp(g->probs[k].label, label) == 0)
            return g->probs[k].p;
    return -1;
}

static void row(FILE *out, const G2cRepData *d, const G2cRepGlom *g)
{
    g2c_rep_csv(out, d->slide.patient);
    fprintf(out, ",%lld,", (long long)d->slide.id);
    g2c_rep_csv(out, d->slide.name);
    fprintf(out, ",%lld,", (long long)g->annotation_id);
    g2c_rep_csv(out, g->source_id);
    fprintf(out, ",%.10g,%.10g,%.10g,%.10g,", g->x, g->y, g->w, g->h);
    g2c_rep_csv(out, g->predicted);
    fprintf(out, ",%.6f", g->confidence);
    for (int i = 0; i < d->n_labels; i++) {
        double p = prob_of(g, d->labels[i]);
        if (p >= 0)
            fprintf(out, ",%.6f", p);
        else
            fputc(',', out);
    }
    fputc(',', out);
    g2c_rep_csv(out, g->annotated);
    fprintf(out, ",%s,", g->agrees < 0 ? "" : g->agrees ? "1" : "0");
    g2c_rep_csv(out, d->model.name);
    fprintf(out, ",%lld,", (long long)g->run_id);
    g2c_rep_csv(out, g->created_at);
    fprintf(out, ",%d,", g->crop_img != NULL);
    /* Stain names joined with ';' (the field is quoted if a name has a
     * separator of its own). */
    size_t len = 1;
    for (int k = 0; k < g->n_views; k++)
        len += strlen(g->views[k].stain) + 1;
    char *joined = calloc(len, 1);
    for (int k = 0; joined && k < g->n_views; k++)
        if (g->views[k].img) {
            if (joined[0])
                strcat(joined, ";");
            strcat(joined, g->views[k].stain);
        }
    g2c_rep_csv(out, joined ? joined : "");
    free(joined);
    fputs("\r\n", out);
}

int g2c_rep_write_csv(const char *path, const G2cRepData *d)
{
    FILE *out = g2c_rep_open(path);
    if (!out)
        return -1;
    header(out, d);
    for (int i = 0; i < d->n_gloms; i++)
        row(out, d, &d->gloms[i]);
    return g2c_rep_close(out, path);
}
