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

static inline int saturation(const uint8_t *p, int *mn, int *mx)
{
    int lo = p[0], hi = p[0];
    if (p[1] < lo) lo = p[1];
    if (p[1] > hi) hi = p[1];
    if (p[2] < lo) lo = p[2];
    if (p[2] > hi) hi = p[2];
    *mn = lo;
    *mx = hi;
    return hi ? (hi - lo) * 255 / hi : 0;
}

static void saturation_histogram(const G2cImage *img, uint64_t hist[256])
{
    memset(hist, 0, 256 * sizeof *hist);
    size_t n = (size_t)img->width * (size_t)img->height;
    for (size_t i = 0; i < n; i++) {
        int mn, mx;
        hist[saturation(img->rgb + i * 3, &mn, &mx)]++;
    }
}

static void classify(const G2cImage *img, const G2cTissueParams *p, int t, uint8_t *out)
{
    size_t n = (size_t)img->width * (size_t)img->height;
    int gray_sum = 3 * p->gray_level;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *q = img->rgb + i * 3;
        int mn, mx;
        int s = saturation(q, &mn, &mx);
        int sum = q[0] + q[1] + q[2];
        out[i] = mx >= p->black_level && mn <= p->white_level &&
                 (s >= t || sum <= gray_sum);
    }
}

/* ---- connected components ---------------------------------------------- */

/* Flood fills over mask bytes: bit 0 is the value, bit 1 marks a pixel
 * already visited in the current pass.  No label image is needed: a
 * component that must flip is flooded a second time. */
enum { VALUE = 1, SEEN = 2 };

typedef struct {
    uint32_t *items;
    size_t size, capacity;
} Stack;

static int push(Stack *s, uint32_t v)
{
    if (s->size == s->capacity) {
        size_t cap = s->capacity ? s->capacity * 2 : 4096;
        uint32_t *grown = realloc(s->items, cap * sizeof *grown);
        if (!grown)
            return g2c_error("out of memory in tissue component labelling");
        s->items = grown;
        s->capacity = cap;
    }
    s->items[s->size++] = v;
    return 0;
}

typedef struct {
    uint8_t *px;
    int w, h;
    int eight; /* 8-connectivity, else 4 */
    Stack stack;
} Flood;

/* Flood the component of `from` whose bytes equal `match`, rewriting them
 * to `to`; counts its pixels and whether it reaches the image border. */
static int flood(Flood *f, uint32_t from, uint8_t match, uint8_t to,
                 uint64_t *area, int *border)
{
    static const int dx[8] = {1, -1, 0, 0, 1, 1, -1, -1};
    static const int dy[8] = {0, 0, 1, -1, 1, -1, 1, -1};
    int nn = f->eight ? 8 : 4;
    uint64_t count = 0;
    int edge = 0;
    f->stack.size = 0;
    f->px[from] = to;
    if (push(&f->stack, from) != 0)
        return -1;
    while (f->stack.size) {
        uint32_t i = f->stack.items[--f->stack.size];
        int x = (int)(i % (uint32_t)f->w), y = (int)(i / (uint32_t)f->w);
        count++;
        if (x == 0 || y == 0 || x == f->w - 1 || y == f->h - 1)
            edge = 1;
        for (int k = 0; k < nn; k++) {
            int nx = x + dx[k], ny = y + dy[k];
            if (nx < 0 || ny < 0 || nx >= f->w || ny >= f->h)
                continue;
            uint32_t j = (uint32_t)ny * (uint32_t)f->w + (uint32_t)nx;
            if (f->px[j] != match)
                continue;
            f->px[j] = to;
            if (push(&f->stack, j) != 0)
                return -1;
        }
    }
    if (area)
        *area = count;
    if (border)
        *border = edge;
    return 0;
}

/* Flip every component of `value` smaller than max_area (and, when
 * enclosed_only, not touching the border) to the other value. */
static int flip_small(Flood *f, uint8_t value, uint64_t max_area, int enclosed_only,
                      int *flipped)
{
    size_t n = (size_t)f->w * (size_t)f->h;
    uint8_t other = (uint8_t)(value ^ VALUE);
    *flipped = 0;
    for (size_t i = 0; i < n; i++) {
        if (f->px[i] != value)
            continue;
        uint64_t area;
        int border;
        if (flood(f, (uint32_t)i, value, value | SEEN, &area, &border) != 0)
            return -1;
        if (area >= max_area || (enclosed_only && border))
            continue;
        if (flood(f, (uint32_t)i, value | SEEN, other | SEEN, NULL, NULL) != 0)
            return -1;
        (*flipped)++;
    }
    for (size_t i = 0; i < n; i++)
        f->px[i] &= VALUE;
    return 0;
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
    saturation_histogram(img, hist);
    int otsu = g2c_otsu_threshold(hist);
    int t = otsu < params->sat_floor ? params->sat_floor
          : otsu > params->sat_ceiling ? params->sat_ceiling : otsu;
    classify(img, params, t, mask->pixels);

    uint64_t min_tissue, max_hole;
    area_limits(params, img->width, img->height, &min_tissue, &max_hole);
    Flood f = {mask->pixels, img->width, img->height, 1, {0}};
    int specks = 0, holes = 0, rc = flip_small(&f, 1, min_tissue, 0, &specks);
    f.eight = 0; /* background is 4-connected, the dual of 8-connected tissue */
    if (rc == 0)
        rc = flip_small(&f, 0, max_hole, 1, &holes);
    free(f.stack.items);
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
