/* Crop positions for a reference set: strict allocation across slides, then
 * per slide rejection sampling among tissue pixels, with a hashed grid for
 * the overlap test.  See g2c/refset.h for the contract. */
#include "g2c/refset.h"
#include "g2c/error.h"
#include "g2c/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { DEFAULT_PATIENCE = 2000 };

/* ---- allocation -------------------------------------------------------- */

/* Largest remainder: floor of each share, then one more to the largest
 * fractional parts, ties to the lower index. */
static int allocate(const double *weight, int k, int n, int *quota)
{
    double total = 0;
    for (int i = 0; i < k; i++)
        total += weight[i];
    double *rest = malloc((size_t)k * sizeof *rest);
    if (!rest)
        return g2c_error("out of memory allocating crops to slides");
    int given = 0;
    for (int i = 0; i < k; i++) {
        double share = (double)n * weight[i] / total;
        quota[i] = (int)floor(share);
        rest[i] = share - quota[i];
        given += quota[i];
    }
    while (given < n) {
        int best = 0;
        for (int i = 1; i < k; i++)
            if (rest[i] > rest[best])
                best = i;
        quota[best]++;
        rest[best] = -1;
        given++;
    }
    free(rest);
    return 0;
}

/* ---- hashed grid of placed crops --------------------------------------- */

/* Cells are crop-sized, keyed by the cell of a crop's top-left corner, so
 * any crop that can intersect a candidate sits in the 3 x 3 cells around
 * the candidate's own. */
typedef struct {
    int64_t *keys_x, *keys_y;
    int *head;      /* first crop of the cell, -1 = empty slot */
    size_t mask;    /* capacity - 1, capacity a power of two */
    int *next;      /* next crop in the same cell */
    int64_t cell;
} Grid;

static int grid_init(Grid *g, int crops, int64_t cell)
{
    size_t cap = 64;
    while (cap < (size_t)crops * 2)
        cap *= 2;
    g->keys_x = malloc(cap * sizeof *g->keys_x);
    g->keys_y = malloc(cap * sizeof *g->keys_y);
    g->head = malloc(cap * sizeof *g->head);
    g->next = malloc(((size_t)crops + 1) * sizeof *g->next);
    g->mask = cap - 1;
    g->cell = cell;
    if (!g->keys_x || !g->keys_y || !g->head || !g->next)
        return g2c_error("out of memory for the crop grid");
    for (size_t i = 0; i < cap; i++)
        g->head[i] = -1;
    return 0;
}

static void grid_free(Grid *g)
{
    free(g->keys_x);
    free(g->keys_y);
    free(g->head);
    free(g->next);
}

static size_t grid_slot(const Grid *g, int64_t cx, int64_t cy)
{
    uint64_t h = (uint64_t)cx * 0x9E3779B97F4A7C15ull ^ (uint64_t)cy * 0xC2B2AE3D27D4EB4Full;
    size_t i = (size_t)(h >> 17) & g->mask;
    while (g->head[i] >= 0 && (g->keys_x[i] != cx || g->keys_y[i] != cy))
        i = (i + 1) & g->mask;
    return i;
}

static void grid_add(Grid *g, const G2cCropPos *crops, int index)
{
    int64_t cx = crops[index].x0 / g->cell, cy = crops[index].y0 / g->cell;
    size_t i = grid_slot(g, cx, cy);
    if (g->head[i] < 0) {
        g->keys_x[i] = cx;
        g->keys_y[i] = cy;
    }
    g->next[index] = g->head[i];
    g->head[i] = index;
}

/* Does (x0, y0) overlap any placed crop by more than max_inter px²? */
static int grid_conflicts(const Grid *g, const G2cCropPos *crops, int64_t x0, int64_t y0,
                          int64_t size, double max_inter)
{
    int64_t cx = x0 / g->cell, cy = y0 / g->cell;
    for (int64_t ny = cy - 1; ny <= cy + 1; ny++) {
        for (int64_t nx = cx - 1; nx <= cx + 1; nx++) {
            size_t i = grid_slot(g, nx, ny);
            for (int c = g->head[i]; c >= 0; c = g->next[c]) {
                int64_t ox = size - llabs(crops[c].x0 - x0);
                int64_t oy = size - llabs(crops[c].y0 - y0);
                if (ox > 0 && oy > 0 && (double)(ox * oy) > max_inter)
                    return 1;
            }
        }
    }
    return 0;
}

/* ---- drawing a tissue pixel -------------------------------------------- */

/* The k-th tissue pixel in raster order, by binary search on the integral
 * image: first the row (counts before each row are the last column), then
 * the column (counts within the row are monotone in x). */
static void kth_tissue_pixel(const G2cTissueMask *m, uint64_t k, int *px, int *py)
{
    size_t s = (size_t)m->width + 1;
    const uint32_t *I = m->integral;
    int lo = 0, hi = m->height - 1; /* the row y with I[y][W] <= k < I[y+1][W] */
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (I[(size_t)mid * s + m->width] <= k)
            lo = mid;
        else
            hi = mid - 1;
    }
    int y = lo;
    const uint32_t *r0 = I + (size_t)y * s, *r1 = r0 + s;
    uint64_t kk = k - r0[m->width];
    int a = 0, b = m->width - 1; /* smallest x with count(row, [0, x]) > kk */
    while (a < b) {
        int mid = a + (b - a) / 2;
        if ((uint64_t)(r1[mid + 1] - r0[mid + 1]) > kk)
            b = mid;
        else
            a = mid + 1;
    }
    *px = a;
    *py = y;
}

/* ---- one slide ---------------------------------------------------------- */

typedef struct {
    const G2cSampleParams *p;
    int patience;
    double max_inter;
} Ctx;

/* Place up to `want` crops of slide `slide` into out[]; returns how many. */
static int sample_slide(const Ctx *ctx, const G2cTissueMask *m, int slide, int want,
                        G2cCropPos *out, int *placed)
{
    *placed = 0;
    if (want == 0)
        return 0;
    const G2cSampleParams *p = ctx->p;
    int64_t size = p->crop_size;
    double scale = m->scale;
    int64_t extent_w = (int64_t)floor(m->width * scale);
    int64_t extent_h = (int64_t)floor(m->height * scale);
    uint64_t tissue = g2c_tissue_area(m);
    if (size > extent_w || size > extent_h)
        return 0;

    Grid grid = {0};
    int check_overlap = p->max_overlap < 1;
    if (check_overlap && grid_init(&grid, want, size) != 0) {
        grid_free(&grid);
        return -1;
    }
    G2cRng rng;
    g2c_rng_seed(&rng, p->seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(slide + 1)));
    int count = 0, misses = 0;
    while (count < want && misses < ctx->patience) {
        int px, py;
        kth_tissue_pixel(m, g2c_rng_below(&rng, tissue), &px, &py);
        double cx = (px + g2c_rng_uniform(&rng)) * scale;
        double cy = (py + g2c_rng_uniform(&rng)) * scale;
        int64_t x0 = (int64_t)floor(cx - size / 2.0);
        int64_t y0 = (int64_t)floor(cy - size / 2.0);
        int ok = x0 >= 0 && y0 >= 0 && x0 + size <= extent_w && y0 + size <= extent_h &&
                 g2c_tissue_fraction_l0(m, (double)x0, (double)y0, (double)size,
                                        (double)size) >= p->min_tissue;
        if (ok && check_overlap)
            ok = !grid_conflicts(&grid, out, x0, y0, size, ctx->max_inter);
        if (!ok) {
            misses++;
            continue;
        }
        misses = 0;
        out[count] = (G2cCropPos){slide, x0, y0};
        if (check_overlap)
            grid_add(&grid, out, count);
        count++;
    }
    grid_free(&grid);
    *placed = count;
    return 0;
}

/* ---- entry point ------------------------------------------------------- */

static int check_params(const G2cTissueMask *masks, int n_slides, int n,
                        const G2cSampleParams *p)
{
    if (n_slides <= 0)
        return g2c_error("crop sampling: no slides");
    if (n <= 0)
        return g2c_error("crop sampling: %d crops requested", n);
    if (p->crop_size <= 0)
        return g2c_error("crop sampling: crop size %d px", p->crop_size);
    if (!(p->min_tissue >= 0 && p->min_tissue <= 1))
        return g2c_error("crop sampling: minimum tissue fraction %g not in [0, 1]",
                         p->min_tissue);
    if (!(p->max_overlap >= 0))
        return g2c_error("crop sampling: maximum overlap %g is negative", p->max_overlap);
    for (int i = 0; i < n_slides; i++) {
        if (!masks[i].integral || !(masks[i].scale > 0))
            return g2c_error("crop sampling: slide %d has no valid tissue mask", i);
        if (g2c_tissue_area(&masks[i]) == 0)
            return g2c_error("crop sampling: slide %d has no tissue", i);
    }
    return 0;
}

static int shortfall(const int *quota, const int *placed, int n_slides, int n,
                     const G2cSampleParams *p)
{
    int total = 0, first = -1;
    for (int i = 0; i < n_slides; i++) {
        total += placed[i];
        if (first < 0 && placed[i] < quota[i])
            first = i;
    }
    return g2c_error("crop sampling: only %d of %d crops could be placed; slide %d "
                     "holds %d of the %d allotted to it (crop %d px, tissue >= %g, "
                     "overlap <= %g); ask for fewer or smaller crops, less tissue "
                     "or more overlap",
                     total, n, first, placed[first], quota[first], p->crop_size,
                     p->min_tissue, p->max_overlap);
}

int g2c_sample_crops(const G2cTissueMask *masks, int n_slides, int n,
                     const G2cSampleParams *params, G2cCropPos **out)
{
    *out = NULL;
    if (check_params(masks, n_slides, n, params) != 0)
        return -1;
    Ctx ctx = {params, params->patience > 0 ? params->patience : DEFAULT_PATIENCE,
               params->max_overlap * (double)params->crop_size * params->crop_size};

    double *weight = malloc((size_t)n_slides * sizeof *weight);
    int *quota = malloc((size_t)n_slides * sizeof *quota);
    int *placed = malloc((size_t)n_slides * sizeof *placed);
    G2cCropPos *crops = malloc((size_t)n * sizeof *crops);
    int rc = -1;
    if (!weight || !quota || !placed || !crops) {
        g2c_error("out of memory for %d crop positions", n);
        goto done;
    }
    for (int i = 0; i < n_slides; i++)
        weight[i] = params->allocation == G2C_ALLOC_EVEN
                        ? 1.0
                        : (double)g2c_tissue_area(&masks[i]) * masks[i].scale * masks[i].scale;
    if (allocate(weight, n_slides, n, quota) != 0)
        goto done;

    int offset = 0, short_any = 0;
    for (int i = 0; i < n_slides; i++) {
        if (sample_slide(&ctx, &masks[i], i, quota[i], crops + offset, &placed[i]) != 0)
            goto done;
        short_any |= placed[i] < quota[i];
        offset += placed[i];
    }
    if (short_any) {
        shortfall(quota, placed, n_slides, n, params);
        goto done;
    }
    *out = crops;
    crops = NULL;
    rc = 0;
done:
    free(weight);
    free(quota);
    free(placed);
    free(crops);
    return rc;
}
