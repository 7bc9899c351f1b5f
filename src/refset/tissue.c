/* Tissue detection on a low-resolution image: Otsu on saturation with a
 * brightness cut, speck removal, hole filling; O(1) box fractions through an
 * integral image; and an independent per-crop checker.  See g2c/refset.h
 * for the method and its parameters. */
#include "g2c/refset.h"
#include "g2c/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void g2c_tissue_params_default(G2cTissueParams *p)
{
    p->sat_floor = 8;
    p->sat_ceiling = 25;
    p->white_level = 230;
    p->gray_level = 215;
    p->black_level = 30;
    p->um_per_px = 0;
    p->min_tissue_um2 = 10000;
    p->max_hole_um2 = 20000;
    p->min_tissue_frac = 1e-4;
    p->max_hole_frac = 1e-3;
}

/* ---- masks ------------------------------------------------------------- */

int g2c_tissue_mask_alloc(G2cTissueMask *mask, int width, int height)
{
    memset(mask, 0, sizeof *mask);
    if (width <= 0 || height <= 0)
        return g2c_error("tissue mask size %dx%d out of range", width, height);
    /* The integral counts in uint32: the whole mask must fit. */
    if ((uint64_t)width * (uint64_t)height > UINT32_MAX)
        return g2c_error("tissue mask %dx%d too large (at most 2^32 pixels)", width, height);
    size_t n = (size_t)width * (size_t)height;
    size_t ni = (size_t)(width + 1) * (size_t)(height + 1);
    mask->pixels = calloc(n, 1);
    mask->integral = calloc(ni, sizeof *mask->integral);
    if (!mask->pixels || !mask->integral) {
        g2c_tissue_mask_free(mask);
        return g2c_error("out of memory for a %dx%d tissue mask", width, height);
    }
    mask->width = width;
    mask->height = height;
    mask->scale = 1.0;
    return 0;
}

void g2c_tissue_mask_free(G2cTissueMask *mask)
{
    free(mask->pixels);
    free(mask->integral);
    memset(mask, 0, sizeof *mask);
}

void g2c_tissue_mask_update(G2cTissueMask *mask)
{
    int w = mask->width, h = mask->height;
    size_t stride = (size_t)w + 1;
    uint32_t *I = mask->integral;
    memset(I, 0, stride * sizeof *I);
    for (int y = 0; y < h; y++) {
        const uint8_t *row = mask->pixels + (size_t)y * w;
        uint32_t *above = I + (size_t)y * stride, *cur = above + stride;
        uint32_t run = 0;
        cur[0] = 0;
        for (int x = 0; x < w; x++) {
            run += row[x] ? 1u : 0u;
            cur[x + 1] = above[x + 1] + run;
        }
    }
}

uint64_t g2c_tissue_area(const G2cTissueMask *mask)
{
    if (!mask->integral)
        return 0;
    return mask->integral[(size_t)mask->height * ((size_t)mask->width + 1) + mask->width];
}

/* ---- Otsu -------------------------------------------------------------- */

int g2c_otsu_threshold(const uint64_t hist[256])
{
    double total = 0, sum = 0;
    for (int i = 0; i < 256; i++) {
        total += (double)hist[i];
        sum += (double)i * (double)hist[i];
    }
    if (total == 0)
        return 0;
    /* Threshold t puts values < t in the lower class.  Keep the whole
     * plateau of the maximum, so two clean modes give the midpoint between
     * them rather than the value just above the lower one. */
    double best = -1, w0 = 0, sum0 = 0;
    int first = 0, last = 0;
    for (int t = 1; t < 256; t++) {
        w0 += (double)hist[t - 1];
        sum0 += (double)(t - 1) * (double)hist[t - 1];
        double w1 = total - w0;
        if (w0 == 0 || w1 == 0)
            continue;
        double d = sum0 / w0 - (sum - sum0) / w1;
        double between = w0 * w1 * d * d;
        if (between > best * (1 + 1e-12)) {
            best = between;
            first = last = t;
        } else if (between >= best * (1 - 1e-12)) {
            last = t;
        }
    }
    if (best < 0)
        return 0;
    return (first + last) / 2;
}

/* ---- per-pixel classification ----------------------------------------- */

static inline void min_max(const uint8_t *p, int *mn, int *mx)
{
    int lo = p[0], hi = p[0];
    if (p[1] < lo) lo = p[1];
    if (p[1] > hi) hi = p[1];
    if (p[2] < lo) lo = p[2];
    if (p[2] > hi) hi = p[2];
    *mn = lo;
    *mx = hi;
}

/* HSV saturation of every pixel into sat[], and its histogram.  A table
 * indexed by (max, max - min) spares a division per pixel. */
static int saturation_pass(const G2cImage *img, uint8_t *sat, uint64_t hist[256])
{
    uint8_t *table = malloc(256 * 256);
    if (!table)
        return g2c_error("out of memory for the saturation table");
    for (int mx = 0; mx < 256; mx++)
        for (int d = 0; d < 256; d++)
            table[mx << 8 | d] = (uint8_t)(mx && d <= mx ? d * 255 / mx : 0);
    memset(hist, 0, 256 * sizeof *hist);
    size_t n = (size_t)img->width * (size_t)img->height;
    for (size_t i = 0; i < n; i++) {
        int mn, mx;
        min_max(img->rgb + i * 3, &mn, &mx);
        sat[i] = table[mx << 8 | (mx - mn)];
        hist[sat[i]]++;
    }
    free(table);
    return 0;
}

/* Replace each saturation in px[] by the tissue verdict (0/1). */
static void classify(const G2cImage *img, const G2cTissueParams *p, int t, uint8_t *px)
{
    size_t n = (size_t)img->width * (size_t)img->height;
    int gray_sum = 3 * p->gray_level;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *q = img->rgb + i * 3;
        int mn, mx;
        min_max(q, &mn, &mx);
        int sum = q[0] + q[1] + q[2];
        px[i] = mx >= p->black_level && mn <= p->white_level &&
                (px[i] >= t || sum <= gray_sum);
    }
}

/* ---- connected components ---------------------------------------------- */

/* Components are found over horizontal runs rather than pixels: runs of
 * one row are joined (union-find) to the runs of the row above that touch
 * them, so the work is per run, not per pixel and neighbour. */
typedef struct {
    int32_t y, x0, x1; /* pixels [x0, x1) of row y */
} Run;

typedef struct {
    Run *runs;
    int32_t *parent;
    size_t count, capacity;
} Runs;

static int add_run(Runs *r, int y, int x0, int x1)
{
    if (r->count == r->capacity) {
        size_t cap = r->capacity ? r->capacity * 2 : 4096;
        Run *runs = realloc(r->runs, cap * sizeof *runs);
        if (runs)
            r->runs = runs;
        int32_t *parent = realloc(r->parent, cap * sizeof *parent);
        if (parent)
            r->parent = parent;
        if (!runs || !parent)
            return g2c_error("out of memory in tissue component labelling");
        r->capacity = cap;
    }
    if (r->count >= INT32_MAX)
        return g2c_error("too many runs in tissue component labelling");
    r->runs[r->count] = (Run){y, x0, x1};
    r->parent[r->count] = (int32_t)r->count;
    r->count++;
    return 0;
}

static int32_t find_root(int32_t *parent, int32_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static void unite(int32_t *parent, int32_t a, int32_t b)
{
    a = find_root(parent, a);
    b = find_root(parent, b);
    if (a < b)
        parent[b] = a;
    else if (b < a)
        parent[a] = b;
}

/* Runs of `value` in every row, joined across rows: 8-connected runs touch
 * when they overlap or meet at a corner, 4-connected ones must overlap. */
static int label_runs(const uint8_t *px, int w, int h, uint8_t value, int eight, Runs *r)
{
    size_t prev_begin = 0, prev_end = 0;
    int reach = eight ? 1 : 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = px + (size_t)y * w;
        size_t begin = r->count;
        for (int x = 0; x < w;) {
            if (row[x] != value) {
                x++;
                continue;
            }
            int x0 = x;
            while (x < w && row[x] == value)
                x++;
            if (add_run(r, y, x0, x) != 0)
                return -1;
        }
        size_t end = r->count, p = prev_begin;
        for (size_t i = begin; i < end; i++) {
            const Run *cur = &r->runs[i];
            /* Skip runs above that end before this one can touch them. */
            while (p < prev_end && r->runs[p].x1 + reach <= cur->x0)
                p++;
            for (size_t q = p; q < prev_end && r->runs[q].x0 < cur->x1 + reach; q++)
                unite(r->parent, (int32_t)i, (int32_t)q);
        }
        prev_begin = begin;
        prev_end = end;
    }
    return 0;
}

/* Flip every component of `value` smaller than max_area (and, when
 * enclosed_only, not touching the image border) to the other value. */
static int flip_small(uint8_t *px, int w, int h, uint8_t value, int eight,
                      uint64_t max_area, int enclosed_only, int *flipped)
{
    *flipped = 0;
    if (max_area == 0)
        return 0;
    Runs r = {0};
    uint64_t *area = NULL;
    uint8_t *border = NULL;
    int rc = label_runs(px, w, h, value, eight, &r);
    if (rc == 0 && r.count) {
        area = calloc(r.count, sizeof *area);
        border = calloc(r.count, 1);
        if (!area || !border)
            rc = g2c_error("out of memory in tissue component labelling");
    }
    for (size_t i = 0; rc == 0 && i < r.count; i++) {
        const Run *run = &r.runs[i];
        int32_t root = find_root(r.parent, (int32_t)i);
        area[root] += (uint64_t)(run->x1 - run->x0);
        border[root] |= run->y == 0 || run->y == h - 1 || run->x0 == 0 || run->x1 == w;
    }
    /* border[] doubles as the verdict: bit 1 = flip, counted once per root. */
    for (size_t i = 0; rc == 0 && i < r.count; i++) {
        if (r.parent[i] != (int32_t)i)
            continue;
        if (area[i] < max_area && !(enclosed_only && (border[i] & 1))) {
            border[i] |= 2;
            (*flipped)++;
        }
    }
    for (size_t i = 0; rc == 0 && i < r.count; i++) {
        const Run *run = &r.runs[i];
        if (border[find_root(r.parent, (int32_t)i)] & 2)
            memset(px + (size_t)run->y * w + run->x0, value ^ 1, (size_t)(run->x1 - run->x0));
    }
    free(r.runs);
    free(r.parent);
    free(area);
    free(border);
    return rc;
}

/* Areas in mask pixels from the parameters (µm² or fractions). */
static void area_limits(const G2cTissueParams *p, int w, int h, uint64_t *min_tissue,
                        uint64_t *max_hole)
{
    double a, b;
    if (p->um_per_px > 0) {
        double px2 = p->um_per_px * p->um_per_px;
        a = p->min_tissue_um2 / px2;
        b = p->max_hole_um2 / px2;
    } else {
        a = p->min_tissue_frac * w * h;
        b = p->max_hole_frac * w * h;
    }
    *min_tissue = a > 0 ? (uint64_t)ceil(a) : 0;
    *max_hole = b > 0 ? (uint64_t)ceil(b) : 0;
}

int g2c_tissue_detect(const G2cImage *img, const G2cTissueParams *params,
                      G2cTissueMask *mask, G2cTissueStats *stats)
{
    G2cTissueParams defaults;
    memset(mask, 0, sizeof *mask); /* safe to free whatever happens */
    if (!params) {
        g2c_tissue_params_default(&defaults);
        params = &defaults;
    }
    if (params->sat_floor > params->sat_ceiling)
        return g2c_error("tissue detection: saturation floor %d above ceiling %d",
                         params->sat_floor, params->sat_ceiling);
    if (g2c_tissue_mask_alloc(mask, img->width, img->height) != 0)
        return g2c_error_prefix("tissue detection: ");

    uint64_t hist[256];
    if (saturation_pass(img, mask->pixels, hist) != 0) {
        g2c_tissue_mask_free(mask);
        return -1;
    }
    int otsu = g2c_otsu_threshold(hist);
    int t = otsu < params->sat_floor ? params->sat_floor
          : otsu > params->sat_ceiling ? params->sat_ceiling : otsu;
    classify(img, params, t, mask->pixels);

    uint64_t min_tissue, max_hole;
    area_limits(params, img->width, img->height, &min_tissue, &max_hole);
    int specks = 0, holes = 0;
    int rc = flip_small(mask->pixels, img->width, img->height, 1, 1, min_tissue, 0, &specks);
    /* Background is 4-connected, the dual of 8-connected tissue. */
    if (rc == 0)
        rc = flip_small(mask->pixels, img->width, img->height, 0, 0, max_hole, 1, &holes);
    if (rc != 0) {
        g2c_tissue_mask_free(mask);
        return -1;
    }
    g2c_tissue_mask_update(mask);
    if (stats) {
        stats->otsu = otsu;
        stats->threshold = t;
        stats->specks_removed = specks;
        stats->holes_filled = holes;
        stats->tissue_px = g2c_tissue_area(mask);
    }
    return 0;
}

/* ---- box fractions ----------------------------------------------------- */

/* The integral of a piecewise-constant mask is bilinear inside each cell,
 * so interpolating the integral image gives the exact covered area at
 * fractional coordinates. */
static double integral_at(const G2cTissueMask *m, double x, double y)
{
    if (x <= 0 || y <= 0)
        return 0;
    if (x > m->width)
        x = m->width;
    if (y > m->height)
        y = m->height;
    int i = (int)x, j = (int)y;
    if (i == m->width)
        i--;
    if (j == m->height)
        j--;
    double fx = x - i, fy = y - j;
    size_t s = (size_t)m->width + 1;
    const uint32_t *r0 = m->integral + (size_t)j * s, *r1 = r0 + s;
    double a = r0[i], b = r0[i + 1], c = r1[i], d = r1[i + 1];
    return a + fx * (b - a) + fy * (c - a) + fx * fy * (d - b - c + a);
}

double g2c_tissue_fraction(const G2cTissueMask *mask, double x, double y, double w,
                           double h)
{
    if (!(w > 0) || !(h > 0) || !isfinite(x) || !isfinite(y) || !isfinite(w) ||
        !isfinite(h) || !mask->integral)
        return 0;
    double x1 = x + w, y1 = y + h;
    double covered = integral_at(mask, x1, y1) - integral_at(mask, x, y1) -
                     integral_at(mask, x1, y) + integral_at(mask, x, y);
    double f = covered / (w * h);
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

double g2c_tissue_fraction_l0(const G2cTissueMask *mask, double x0, double y0, double w,
                              double h)
{
    double s = mask->scale > 0 ? mask->scale : 1.0;
    return g2c_tissue_fraction(mask, x0 / s, y0 / s, w / s, h / s);
}

/* ---- independent checker ----------------------------------------------- */

double g2c_crop_tissue_fraction(const G2cImage *crop)
{
    size_t n = (size_t)crop->width * (size_t)crop->height, hits = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = crop->rgb + i * 3;
        int lo = p[0] < p[1] ? p[0] : p[1], hi = p[0] > p[1] ? p[0] : p[1];
        lo = p[2] < lo ? p[2] : lo;
        hi = p[2] > hi ? p[2] : hi;
        int sum = p[0] + p[1] + p[2];
        hits += sum < 3 * 225 && hi - lo >= 12;
    }
    return (double)hits / (double)n;
}
