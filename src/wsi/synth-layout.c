/* Whole-slide layouts: where the glomeruli of a synthetic slide go, and
 * their boxes as annotations. */
#include "synth-private.h"

#include "g2c/error.h"
#include "g2c/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Class counts that follow the mix exactly: floor shares, then the largest
 * remainders get the rest. */
static void class_counts(const G2cSynthLayoutOptions *opt, int counts[G2C_GLOM_CLASS_COUNT])
{
    double mix[G2C_GLOM_CLASS_COUNT], total = 0;
    for (int c = 0; c < G2C_GLOM_CLASS_COUNT; c++) {
        mix[c] = opt->mix[c] > 0 ? opt->mix[c] : 0;
        total += mix[c];
    }
    if (total <= 0)
        for (int c = 0; c < G2C_GLOM_CLASS_COUNT; c++)
            mix[c] = 1, total += 1;
    int given = 0;
    double rem[G2C_GLOM_CLASS_COUNT];
    for (int c = 0; c < G2C_GLOM_CLASS_COUNT; c++) {
        double share = opt->count * mix[c] / total;
        counts[c] = (int)floor(share);
        rem[c] = share - counts[c];
        given += counts[c];
    }
    while (given < opt->count) {
        int best = 0;
        for (int c = 1; c < G2C_GLOM_CLASS_COUNT; c++)
            if (rem[c] > rem[best])
                best = c;
        counts[best]++;
        rem[best] = -1;
        given++;
    }
}

/* A glomerulus fits where its whole periglomerular zone is tissue and it
 * keeps clear of the others. */
static int fits(const SynthTissue *t, int width, int height, const G2cSynthGlom *gloms, int n,
                double cx, double cy, double r, double gap)
{
    double keep = r * 1.3;
    if (cx - keep < 0 || cy - keep < 0 || cx + keep > width || cy + keep > height)
        return 0;
    if (synth_tissue_field(t, (float)cx, (float)cy) <= 0)
        return 0;
    for (int i = 0; i < n; i++) {
        double dx = gloms[i].cx - cx, dy = gloms[i].cy - cy;
        double need = gloms[i].radius + r + gap;
        if (dx * dx + dy * dy < need * need)
            return 0;
    }
    for (int k = 0; k < 16; k++) {
        double a = k * (2 * M_PI / 16);
        if (synth_tissue_cover(t, synth_tissue_field(t, (float)(cx + keep * cos(a)),
                                                     (float)(cy + keep * sin(a)))) < 1)
            return 0;
    }
    return 1;
}

int g2c_synth_layout(uint64_t seed, int width, int height, const G2cSynthLayoutOptions *opt,
                     G2cSynthGlom **out, int *out_count)
{
    *out = NULL;
    *out_count = 0;
    if (width <= 0 || height <= 0 || opt->count < 0)
        return g2c_error("synthetic layout: bad size %dx%d or count %d", width, height,
                         opt->count);
    double mpp = opt->mpp > 0 ? opt->mpp : 0.5;
    double rmin = (opt->radius_um_min > 0 ? opt->radius_um_min : 70) / mpp;
    double rmax = (opt->radius_um_max > 0 ? opt->radius_um_max : 100) / mpp;
    if (rmax < rmin)
        rmax = rmin;
    G2cSynthGlom *g = calloc((size_t)(opt->count > 0 ? opt->count : 1), sizeof *g);
    if (!g)
        return g2c_error("synthetic layout: out of memory");

    int counts[G2C_GLOM_CLASS_COUNT];
    class_counts(opt, counts);
    G2cRng rng;
    g2c_rng_seed(&rng, seed ^ 0x61A7E5ULL);
    SynthTissue tissue;
    synth_tissue_init(&tissue, seed, width, height, (float)(1.0 / mpp));

    int n = 0;
    long tries = 2000 + 500L * opt->count;
    for (long i = 0; i < tries && n < opt->count; i++) {
        double r = rmin + (rmax - rmin) * g2c_rng_uniform(&rng);
        double cx = width * g2c_rng_uniform(&rng), cy = height * g2c_rng_uniform(&rng);
        if (!fits(&tissue, width, height, g, n, cx, cy, r, 40.0 / mpp))
            continue;
        g[n].cx = cx;
        g[n].cy = cy;
        g[n].radius = r;
        n++;
    }
    if (n < opt->count) {
        free(g);
        return g2c_error("synthetic layout: only %d of %d glomeruli fit in the tissue of a "
                         "%dx%d field (seed %llu); use a larger size or fewer glomeruli",
                         n, opt->count, width, height, (unsigned long long)seed);
    }
    /* Classes in shuffled order, so no class clusters in one place. */
    int k = 0;
    for (int c = 0; c < G2C_GLOM_CLASS_COUNT; c++)
        for (int j = 0; j < counts[c]; j++)
            g[k++].cls = (G2cGlomClass)c;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)g2c_rng_below(&rng, (uint64_t)i + 1);
        G2cGlomClass tmp = g[i].cls;
        g[i].cls = g[j].cls;
        g[j].cls = tmp;
    }
    *out = g;
    *out_count = n;
    return 0;
}

int g2c_synth_boxes(const G2cSynthScene *scene, G2cAnnotationList *out)
{
    for (int i = 0; i < scene->glom_count; i++) {
        const G2cSynthGlom *g = &scene->gloms[i];
        /* Whole pixels: every annotation format keeps them exactly. */
        double x0 = floor(g->cx - g->radius), y0 = floor(g->cy - g->radius);
        double x1 = ceil(g->cx + g->radius), y1 = ceil(g->cy + g->radius);
        x0 = x0 < 0 ? 0 : x0;
        y0 = y0 < 0 ? 0 : y0;
        x1 = x1 > scene->width ? scene->width : x1;
        y1 = y1 > scene->height ? scene->height : y1;
        if (x1 <= x0 || y1 <= y0)
            return g2c_error("synthetic layout: glomerulus %d lies outside the field", i + 1);
        G2cAnnotation a;
        memset(&a, 0, sizeof a);
        a.x = x0;
        a.y = y0;
        a.w = x1 - x0;
        a.h = y1 - y0;
        snprintf(a.label, sizeof a.label, "%s", g2c_glom_class_name(g->cls));
        snprintf(a.source_id, sizeof a.source_id, "g%d", i + 1);
        if (g2c_annot_list_push(out, &a) != 0)
            return -1;
    }
    return 0;
}
