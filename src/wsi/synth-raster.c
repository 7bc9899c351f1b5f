/* Painting primitives into material densities, one tile at a time.
 *
 * Every edge is anti-aliased over about a pixel: coverage = clamp(0.5 - d)
 * with d the signed distance in pixels, so downsampled levels of a slide
 * look like a real scanner's and not like a binary mask.  Structures
 * override what lies beneath them (a tubule replaces interstitium), except
 * membranes and nuclei, which are maxima on top.
 */
#include "synth-private.h"

#include <math.h>
#include <string.h>

static inline float clamp01(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

static inline float maxf(float a, float b)
{
    return a > b ? a : b;
}

/* A cheap stand-in for exp(-x*x): same height and about the same width,
 * exactly zero past |x| = 2.2 (membranes are painted per pixel, so the
 * exponential was the raster's main cost). */
static inline float bump(float x)
{
    float t = 1 - x * x * (1.0f / 4.84f);
    return t > 0 ? t * t * t : 0;
}

/* And for exp(-x), x >= 0. */
static inline float decay(float x)
{
    float t = 1 - x * (1.0f / 4.0f);
    return t > 0 ? t * t * t * t : 0;
}

typedef struct {
    int xa, xb, ya, yb; /* inclusive pixel range inside the tile */
} Span;

/* The part of a primitive's box inside the tile; 0 when empty. */
static int clip(const SynthPrim *p, int x0, int y0, int tw, int th, Span *s)
{
    s->xa = (int)floorf(p->x0);
    s->xb = (int)ceilf(p->x1);
    s->ya = (int)floorf(p->y0);
    s->yb = (int)ceilf(p->y1);
    if (s->xa < x0)
        s->xa = x0;
    if (s->ya < y0)
        s->ya = y0;
    if (s->xb > x0 + tw - 1)
        s->xb = x0 + tw - 1;
    if (s->yb > y0 + th - 1)
        s->yb = y0 + th - 1;
    return s->xa <= s->xb && s->ya <= s->yb;
}

/* Elliptic radius (1 on the outline) and local frame of a pixel. */
typedef struct {
    float rho, nu, nv, reff;
} EllPos;

static inline EllPos ell_pos(const SynthPrim *p, float px, float py)
{
    float dx = px - p->cx, dy = py - p->cy;
    float u = dx * p->cs + dy * p->sn, v = -dx * p->sn + dy * p->cs;
    EllPos e;
    e.nu = u / p->a;
    e.nv = v / p->b;
    e.rho = sqrtf(e.nu * e.nu + e.nv * e.nv);
    e.reff = sqrtf(p->a * p->b);
    return e;
}

/* ---- base: interstitium wherever there is tissue ----------------------- */

static void paint_base(const SynthWorld *w, SynthTile *t, int x0, int y0, int tw, int th)
{
    memset(t, 0, sizeof *t);
    float inv = 1.0f / (float)w->step;
    for (int y = 0; y < th; y++) {
        float gy = ((float)(y0 + y) + 0.5f) * inv;
        int j = (int)gy;
        float fy = gy - (float)j;
        const float *f0 = w->field + (size_t)j * w->grid_w, *f1 = f0 + w->grid_w;
        const float *v0 = w->vary + (size_t)j * w->grid_w, *v1 = v0 + w->grid_w;
        for (int x = 0; x < tw; x++) {
            float gx = ((float)(x0 + x) + 0.5f) * inv;
            int i = (int)gx;
            float fx = gx - (float)i;
            float top = f0[i] + (f0[i + 1] - f0[i]) * fx;
            float bot = f1[i] + (f1[i + 1] - f1[i]) * fx;
            float field = top + (bot - top) * fy;
            float vt = v0[i] + (v0[i + 1] - v0[i]) * fx;
            float vb = v1[i] + (v1[i + 1] - v1[i]) * fx;
            int k = y * SYNTH_TILE + x;
            t->tissue[k] = clamp01(0.5f + field * w->edge_scale);
            t->vary[k] = vt + (vb - vt) * fy;
            t->m[M_STROMA][k] = 0.45f;
            t->m[M_COLL][k] = 0.08f;
        }
    }
}

/* ---- tubules ----------------------------------------------------------- */

static void paint_tubule(const SynthWorld *w, SynthTile *t, const SynthPrim *p, const Span *s,
                         int x0, int y0)
{
    float bm = 0.7f * w->ppu < 0.8f ? 0.8f : 0.7f * w->ppu;
    float brush_w = 1.3f * w->ppu;
    float lf = p->v[0], cyto = p->v[7];
    for (int y = s->ya; y <= s->yb; y++)
        for (int x = s->xa; x <= s->xb; x++) {
            EllPos e = ell_pos(p, (float)x + 0.5f, (float)y + 0.5f);
            float d = (e.rho - 1) * e.reff;
            if (d > 3 * bm + 1)
                continue;
            int k = (y - y0) * SYNTH_TILE + (x - x0);
            float inside = clamp01(0.5f - d);
            float c = 1, sn = 0;
            if (e.rho > 1e-6f) {
                c = e.nu / e.rho;
                sn = e.nv / e.rho;
            }
            float c2 = c * c - sn * sn, s2 = 2 * c * sn;
            float c3 = c2 * c - s2 * sn, s3 = s2 * c + c2 * sn;
            float rl = lf * (1 + p->v[1] * (c2 * p->v[2] - s2 * p->v[3]) +
                             p->v[4] * (c3 * p->v[5] - s3 * p->v[6]));
            float dl = (e.rho - rl) * e.reff;
            float lumen = clamp01(0.5f - dl);
            float epi = inside * (1 - lumen);
            float out = 1 - inside;
            t->m[M_STROMA][k] *= out;
            t->m[M_COLL][k] *= out;
            t->m[M_CYTO][k] = t->m[M_CYTO][k] * out + epi * cyto + inside * lumen * 0.04f;
            if (p->flag && dl > -1)
                t->m[M_BRUSH][k] = maxf(t->m[M_BRUSH][k],
                                        epi * 0.75f * decay(maxf(dl, 0) / brush_w));
            t->m[M_BM][k] = maxf(t->m[M_BM][k], 0.9f * bump(d / bm));
        }
}

/* ---- capillaries: interstitial ones paint directly, glomerular ones into
 * the tile's hole/wall/rbc planes for the glomerulus to use ---------------- */

static void paint_vessel(SynthTile *t, const SynthPrim *p, const Span *s, int x0, int y0,
                         int glomerular)
{
    float wall = p->v[3];
    for (int y = s->ya; y <= s->yb; y++)
        for (int x = s->xa; x <= s->xb; x++) {
            float px = (float)x + 0.5f, py = (float)y + 0.5f;
            EllPos e = ell_pos(p, px, py);
            float d = (e.rho - 1) * e.reff;
            if (d > 3 * wall + 1)
                continue;
            int k = (y - y0) * SYNTH_TILE + (x - x0);
            float inside = clamp01(0.5f - d);
            float ring = bump(d / wall);
            float rbc = 0;
            if (p->v[0] > 0) {
                float rx = px - p->cx - p->v[1], ry = py - p->cy - p->v[2];
                rbc = inside * clamp01(0.5f - (sqrtf(rx * rx + ry * ry) - p->v[0]));
            }
            if (glomerular) {
                t->hole[k] = maxf(t->hole[k], inside);
                t->wall[k] = maxf(t->wall[k], ring);
                t->rbc[k] = maxf(t->rbc[k], rbc);
                continue;
            }
            float out = 1 - inside;
            t->m[M_STROMA][k] *= out;
            t->m[M_COLL][k] *= out;
            t->m[M_CYTO][k] *= out;
            t->m[M_BM][k] = maxf(t->m[M_BM][k], 0.5f * ring);
            t->m[M_RBC][k] = maxf(t->m[M_RBC][k], 0.85f * rbc);
        }
}

/* ---- glomeruli ----------------------------------------------------------- */

static float smoothstep(float e0, float e1, float x)
{
    float v = clamp01((x - e0) / (e1 - e0));
    return v * v * (3 - 2 * v);
}

/* Periglomerular collagen in concentric lamellae, fading outwards. */
static float fibrosis(const SynthGlom *g, float dc)
{
    if (dc <= 0)
        return 0;
    float lam = 0.75f + 0.25f * cosf(dc * 6.2831853f / (2.2f * g->capsule_px + 2));
    return g->fibrosis_amp * decay(dc / g->fibrosis_px) * lam;
}

static void paint_glom_pixel(SynthTile *t, const SynthGlom *g, int k, float dx, float dy)
{
    float r = sqrtf(dx * dx + dy * dy) + 1e-4f;
    float c = dx / r, sn = dy / r;
    float rc = synth_glom_capsule_radius(g, c, sn);
    float dc = r - rc;
    float outside = clamp01(dc + 0.5f), inside = 1 - outside;
    float fib = fibrosis(g, dc);
    for (int m = 0; m < M_COUNT; m++)
        t->m[m][k] *= outside;
    t->m[M_COLL][k] += outside * fib;
    t->m[M_STROMA][k] *= 1 - 0.5f * clamp01(fib);

    float capsule = bump(dc / g->capsule_px);
    t->m[M_BM][k] = maxf(t->m[M_BM][k], 0.95f * capsule);
    if (g->cls == G2C_GLOM_GS)
        t->m[M_COLL][k] += 0.5f * capsule;
    if (inside <= 0)
        return;

    float s = synth_glom_sclerosis(g, dx, dy, r);
    float rt = synth_glom_tuft_radius(g, c, sn);
    if (g->cls == G2C_GLOM_SS) {
        /* The segment adheres to the capsule (a synechia). */
        float cos_d = c * g->dir_x + sn * g->dir_y;
        float adh = smoothstep(1 - 0.35f * (1 - g->cos_half), 1 - 0.08f * (1 - g->cos_half), cos_d);
        rt += (rc - g->capsule_px - rt) * adh;
    }
    float tu = inside * clamp01(rt - r + 0.5f);
    float open = 1 - s;
    /* Capillary lumens hold some plasma: not quite empty. */
    float hole = 0.6f * t->hole[k] * open, wall = t->wall[k] * open, rbc = t->rbc[k] * open;
    float coll_s = g->cls == G2C_GLOM_GS ? 0.6f : 0.45f;
    /* Mesangial stalks branch through the tuft (denser matrix in places);
     * sclerotic matrix is mottled a little. */
    float tex = 0;
    if (tu > 0)
        tex = synth_fbm(g->tex_seed, dx * g->tex_scale, dy * g->tex_scale, 2);
    float mottle = 1 + 0.12f * s * tex;
    float stalk = 1 + 0.6f * tex;
    t->m[M_CYTO][k] += tu * (0.36f * (1 - hole) * open + 0.1f * s);
    t->m[M_MATRIX][k] += tu * (0.30f * stalk * (1 - hole) * open + 0.85f * s * mottle);
    t->m[M_COLL][k] += tu * coll_s * s * mottle;
    t->m[M_BM][k] = maxf(t->m[M_BM][k], tu * 0.55f * wall);
    t->m[M_RBC][k] += tu * 0.85f * rbc;
    float space = inside * (1 - tu);
    if (g->cls == G2C_GLOM_GS) {
        /* Bowman's space fills with concentric fibrous tissue, leaving a
         * retraction cleft around the tuft. */
        float fill = space * clamp01(r - rt - g->cleft_px);
        float wob = synth_value_noise(g->tex_seed + 1, dx * g->tex_scale, dy * g->tex_scale);
        float lam = 0.7f + 0.3f * cosf((dc + 3 * g->capsule_px * wob) * 6.2831853f /
                                       (1.5f * g->capsule_px + 2));
        t->m[M_COLL][k] += fill * 0.45f * lam;
        t->m[M_MATRIX][k] += fill * 0.12f;
    } else {
        t->m[M_CYTO][k] += space * 0.03f;
    }
    t->glassy[k] = tu * s;
}

static void paint_glom(const SynthWorld *w, SynthTile *t, const SynthPrim *p, const Span *s,
                       int x0, int y0)
{
    const SynthGlom *g = &w->gloms[p->glom];
    float reach = p->v[0];
    for (int y = s->ya; y <= s->yb; y++)
        for (int x = s->xa; x <= s->xb; x++) {
            float dx = (float)x + 0.5f - g->cx, dy = (float)y + 0.5f - g->cy;
            if (dx * dx + dy * dy > reach * reach)
                continue;
            paint_glom_pixel(t, g, (y - y0) * SYNTH_TILE + (x - x0), dx, dy);
        }
}

/* ---- nuclei -------------------------------------------------------------- */

static void paint_nucleus(SynthTile *t, const SynthPrim *p, const Span *s, int x0, int y0)
{
    float dark = p->v[0], texture = p->v[4];
    int vesicular = dark < 0.7f; /* pale centre, darker rim */
    for (int y = s->ya; y <= s->yb; y++)
        for (int x = s->xa; x <= s->xb; x++) {
            float px = (float)x + 0.5f, py = (float)y + 0.5f;
            EllPos e = ell_pos(p, px, py);
            float cover = clamp01(0.6f - (e.rho - 1) * e.reff);
            if (cover <= 0)
                continue;
            int k = (y - y0) * SYNTH_TILE + (x - x0);
            float grain = synth_hash01(p->hash, x, y);
            float dens = dark * (1 - 0.5f * texture + texture * grain);
            if (vesicular)
                dens *= 0.75f + 0.4f * e.rho * e.rho;
            if (p->v[3] > 0) {
                float nx = px - p->cx - p->v[1], ny = py - p->cy - p->v[2];
                dens += 0.4f * clamp01(0.5f - (sqrtf(nx * nx + ny * ny) - p->v[3]));
            }
            t->m[M_NUC][k] = maxf(t->m[M_NUC][k], cover * dens);
            t->m[M_CYTO][k] *= 1 - 0.5f * cover;
        }
}

void synth_raster_tile(const SynthWorld *w, SynthTile *t, int x0, int y0, int tw, int th,
                       const int32_t *prims, int count)
{
    paint_base(w, t, x0, y0, tw, th);
    for (int i = 0; i < count; i++) {
        const SynthPrim *p = &w->prims[prims[i]];
        Span s;
        if (!clip(p, x0, y0, tw, th, &s))
            continue;
        switch (p->kind) {
        case P_TUBULE: paint_tubule(w, t, p, &s, x0, y0); break;
        case P_VESSEL: paint_vessel(t, p, &s, x0, y0, 0); break;
        case P_GCAP: paint_vessel(t, p, &s, x0, y0, 1); break;
        case P_GLOM: paint_glom(w, t, p, &s, x0, y0); break;
        case P_NUCLEUS: paint_nucleus(t, p, &s, x0, y0); break;
        }
    }
}
