/* Geometry of a synthetic field: where every tubule, vessel, capillary and
 * nucleus goes.  Uses the seed and the scene only, never the stain.
 *
 * Primitive parameters (SynthPrim.v):
 *   P_TUBULE   v0 lumen fraction, v1..v3 2nd outline harmonic (amp, cos,
 *              sin of phase), v4..v6 3rd harmonic, v7 cytoplasm density;
 *              flag 1 = proximal (brush border).
 *   P_VESSEL,
 *   P_GCAP     v0 red cell radius (0 = none), v1 v2 its offset, v3 wall
 *              half thickness (pixels).
 *   P_GLOM     glom = index into SynthWorld.gloms; v0 outer reach (pixels).
 *   P_NUCLEUS  v0 darkness, v1 v2 nucleolus offset, v3 nucleolus radius
 *              (0 = none), v4 chromatin texture amount.
 */
#include "synth-private.h"

#include "g2c/error.h"
#include "g2c/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- tubules and interstitium ------------------------------------------ */

static float tissue_cover_at(const SynthWorld *w, const SynthTissue *t, float x, float y)
{
    (void)w;
    return synth_tissue_cover(t, synth_tissue_field(t, x, y));
}


/* Is (x, y) within `extra` of a glomerulus' keep-out disc? */
static int near_glom(const SynthWorld *w, float x, float y, float extra)
{
    for (int i = 0; i < w->glom_count; i++) {
        const SynthGlom *g = &w->gloms[i];
        float dx = x - g->cx, dy = y - g->cy;
        float keep = synth_glom_keep(g) + extra;
        if (dx * dx + dy * dy < keep * keep)
            return 1;
    }
    return 0;
}

static int tubule_nuclei(SynthWorld *w, const SynthPrim *t, G2cRng *rng)
{
    float lf = t->v[0];
    float mean_r = 0.5f * (t->a + t->b);
    float ring = mean_r * (lf + 1.0f) * 0.5f;
    int n = (int)(6.2831853f * ring / (6.5f * w->ppu));
    float ph = synth_uni(rng, 0, 6.2831853f);
    for (int i = 0; i < n; i++) {
        if (g2c_rng_uniform(rng) < 0.25)
            continue;
        float th = ph + (i + synth_uni(rng, -0.3f, 0.3f)) * 6.2831853f / (float)n;
        float rho = lf + (1 - lf) * synth_uni(rng, 0.45f, 0.75f); /* nuclei sit basally */
        float u = t->a * rho * cosf(th), v = t->b * rho * sinf(th);
        float x = t->cx + u * t->cs - v * t->sn, y = t->cy + u * t->sn + v * t->cs;
        float rn = synth_uni(rng, 2.4f, 3.0f) * w->ppu;
        float a = rn * synth_uni(rng, 1.0f, 1.2f), ang = synth_uni(rng, 0, 3.14159f);
        if (synth_add_nucleus(w, rng, x, y, a, rn, ang, synth_uni(rng, 0.5f, 0.68f), 1) != 0)
            return -1;
    }
    return 0;
}

static int add_tubule(SynthWorld *w, G2cRng *rng, const Ell *e)
{
    float bm = 0.7f * w->ppu;
    float ang = atan2f(e->sn, e->cs);
    SynthPrim *p = synth_push_prim(w, P_TUBULE, e->x, e->y, e->a, e->b, ang, e->a + 2 * bm + 2);
    if (!p)
        return -1;
    int proximal = g2c_rng_uniform(rng) < 0.65;
    p->flag = (uint8_t)proximal;
    p->v[0] = proximal ? synth_uni(rng, 0.28f, 0.45f) : synth_uni(rng, 0.42f, 0.6f);
    float p2 = synth_uni(rng, 0, 6.2831853f), p3 = synth_uni(rng, 0, 6.2831853f);
    p->v[1] = synth_uni(rng, 0.05f, 0.22f);
    p->v[2] = cosf(p2);
    p->v[3] = sinf(p2);
    p->v[4] = synth_uni(rng, 0.03f, 0.15f);
    p->v[5] = cosf(p3);
    p->v[6] = sinf(p3);
    p->v[7] = proximal ? synth_uni(rng, 0.66f, 0.8f) : synth_uni(rng, 0.5f, 0.6f);
    p->hash = (uint32_t)g2c_rng_next(rng);
    SynthPrim copy = *p; /* adding nuclei may move the primitive array */
    return tubule_nuclei(w, &copy, rng);
}

/* How much tubule i may grow (a factor >= 1) before it comes within gap of
 * a neighbour or a glomerulus. */
static float growth(const SynthWorld *w, const SynthEllHash *h, int i, float gap, float fmax)
{
    const Ell *e = &h->e[i];
    float f = fmax;
    int r[4];
    synth_ell_range(h, e->x, e->y, e->a * fmax + h->rmax + gap, r);
    for (int cy = r[2]; cy <= r[3]; cy++)
        for (int cx = r[0]; cx <= r[1]; cx++)
            for (int j = h->head[cy * h->gw + cx]; j >= 0; j = h->next[j]) {
                if (j == i)
                    continue;
                const Ell *o = &h->e[j];
                float dx = o->x - e->x, dy = o->y - e->y;
                float d = sqrtf(dx * dx + dy * dy);
                if (d < 1e-3f)
                    return 1;
                float mine = synth_dir_radius(e, dx / d, dy / d);
                float room = d - mine - synth_dir_radius(o, -dx / d, -dy / d) - gap;
                float fj = 1 + 0.9f * room / mine;
                if (fj < f)
                    f = fj;
            }
    for (int k = 0; k < w->glom_count; k++) {
        const SynthGlom *g = &w->gloms[k];
        float dx = g->cx - e->x, dy = g->cy - e->y;
        float d = sqrtf(dx * dx + dy * dy);
        float keep = synth_glom_keep(g);
        if (d > keep + e->a * fmax + gap)
            continue;
        float mine = synth_dir_radius(e, dx / d, dy / d);
        float fj = 1 + 0.9f * (d - keep - mine - gap) / mine;
        if (fj < f)
            f = fj;
    }
    return f < 1 ? 1 : f;
}

/* Random sequential placement leaves wide gaps; real cortex is packed
 * tubule against tubule with thin interstitium, so each tubule then grows
 * into the room around it. */
/* Jam cores of about `core` semi-minor axis at random, then let each new
 * one grow until it nearly touches its neighbours (at most to `cap`). */
static int jam_and_grow(SynthWorld *w, const SynthTissue *t, G2cRng *rng, SynthEllHash *h,
                        float core, float spacing, float cap, float gap)
{
    double area = (double)w->width * w->height;
    long tries = (long)(area / (core * core) * 3.0) + 20;
    int first = h->n;
    for (long i = 0; i < tries; i++) {
        float b = synth_uni(rng, 0.75f, 1.25f) * core;
        float ecc = 1.0f + 0.7f * (float)(g2c_rng_uniform(rng) * g2c_rng_uniform(rng));
        float ang = synth_uni(rng, 0, 3.1415926f);
        float x = synth_uni(rng, 0, (float)w->width), y = synth_uni(rng, 0, (float)w->height);
        Ell e = {x, y, b * ecc, b, cosf(ang), sinf(ang)};
        if (tissue_cover_at(w, t, e.x, e.y) < 0.5f)
            continue;
        if (near_glom(w, e.x, e.y, e.a + gap))
            continue;
        if (synth_ell_hits(h, &e, gap + spacing))
            continue;
        if (synth_ell_add(h, e) != 0)
            return -1;
    }
    for (int i = first; i < h->n; i++) {
        Ell *e = &h->e[i];
        float f = growth(w, h, i, gap, cap / e->b > 1 ? cap / e->b : 1);
        e->a *= f;
        e->b *= f;
        if (e->a > h->rmax)
            h->rmax = e->a;
    }
    return 0;
}

/* Real cortex is tubule against tubule with thin interstitium: big
 * tubules first, then smaller ones (thin limbs, collecting ducts) in the
 * gaps the round shapes leave. */
static int place_tubules(SynthWorld *w, const SynthTissue *t, G2cRng *rng, SynthEllHash *h)
{
    float ppu = w->ppu, gap = 1.6f * ppu;
    if (jam_and_grow(w, t, rng, h, 10.0f * ppu, 12.0f * ppu, 27.0f * ppu, gap) != 0 ||
        jam_and_grow(w, t, rng, h, 6.0f * ppu, 0, 12.0f * ppu, gap) != 0)
        return -1;
    for (int i = 0; i < h->n; i++)
        if (add_tubule(w, rng, &h->e[i]) != 0)
            return -1;
    return 0;
}

/* Fibroblasts, lymphocytes and peritubular capillaries between tubules. */
static int place_interstitium(SynthWorld *w, const SynthTissue *t, G2cRng *rng, SynthEllHash *h)
{
    float ppu = w->ppu;
    double area_um2 = (double)w->width * w->height / (ppu * ppu);
    long tries = (long)(area_um2 / 160.0) + 10;
    for (long i = 0; i < tries; i++) {
        float x = synth_uni(rng, 0, (float)w->width), y = synth_uni(rng, 0, (float)w->height);
        double kind = g2c_rng_uniform(rng);
        float ang = synth_uni(rng, 0, 3.1415926f);
        Ell e = {x, y, 0, 0, cosf(ang), sinf(ang)};
        if (kind < 0.25) { /* capillary */
            e.b = synth_uni(rng, 2.5f, 4.5f) * ppu;
            e.a = e.b * synth_uni(rng, 1.0f, 1.8f);
        } else if (kind < 0.35) { /* lymphocyte */
            e.a = e.b = synth_uni(rng, 2.0f, 2.5f) * ppu;
        } else { /* fibroblast */
            e.a = synth_uni(rng, 3.5f, 5.5f) * ppu;
            e.b = synth_uni(rng, 0.9f, 1.4f) * ppu;
        }
        if (tissue_cover_at(w, t, x, y) < 0.6f || near_glom(w, x, y, e.a + 1))
            continue;
        if (synth_ell_hits(h, &e, 0.8f * ppu))
            continue;
        if (synth_ell_add(h, e) != 0)
            return -1;
        if (kind < 0.25) {
            float wall = 0.5f * ppu < 0.7f ? 0.7f : 0.5f * ppu;
            SynthPrim *p = synth_push_prim(w, P_VESSEL, x, y, e.a, e.b, ang, e.a + 2 * wall + 2);
            if (!p)
                return -1;
            p->v[3] = wall;
            if (g2c_rng_uniform(rng) < 0.6)
                p->v[0] = e.b * synth_uni(rng, 0.65f, 0.9f);
        } else if (synth_add_nucleus(w, rng, x, y, e.a, e.b, ang,
                               kind < 0.35 ? 1.0f : synth_uni(rng, 0.78f, 0.92f), 0) != 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- the world ---------------------------------------------------------- */

static int sample_grids(SynthWorld *w, const SynthTissue *t)
{
    w->step = 8;
    w->edge_scale = 1.0f / (1.5f * t->edge_px);
    w->grid_w = w->width / w->step + 2;
    w->grid_h = w->height / w->step + 2;
    size_t n = (size_t)w->grid_w * w->grid_h;
    w->field = malloc(n * sizeof *w->field);
    w->vary = malloc(n * sizeof *w->vary);
    if (!w->field || !w->vary)
        return -1;
    uint32_t vseed = (uint32_t)(w->seed * 0x2545F491u) ^ 0x5EEDu;
    float vscale = 1.0f / (350.0f * w->ppu);
    for (int j = 0; j < w->grid_h; j++)
        for (int i = 0; i < w->grid_w; i++) {
            float x = (float)(i * w->step), y = (float)(j * w->step);
            w->field[(size_t)j * w->grid_w + i] = synth_tissue_field(t, x, y);
            w->vary[(size_t)j * w->grid_w + i] = synth_fbm(vseed, x * vscale, y * vscale, 2);
        }
    return 0;
}

static int by_kind(const void *pa, const void *pb)
{
    const SynthPrim *a = pa, *b = pb;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    /* Ties by position keep the order, and so the bytes, deterministic. */
    if (a->cy != b->cy)
        return a->cy < b->cy ? -1 : 1;
    if (a->cx != b->cx)
        return a->cx < b->cx ? -1 : 1;
    return a->hash < b->hash ? -1 : a->hash > b->hash;
}

static int build(SynthWorld *w, const G2cSynthScene *scene)
{
    SynthTissue tissue;
    synth_tissue_init(&tissue, scene->seed, scene->width, scene->height, w->ppu);
    if (sample_grids(w, &tissue) != 0)
        return -1;
    w->gloms = calloc((size_t)(scene->glom_count > 0 ? scene->glom_count : 1), sizeof *w->gloms);
    if (!w->gloms)
        return -1;
    w->glom_count = scene->glom_count;
    for (int i = 0; i < scene->glom_count; i++)
        synth_glom_derive(&w->gloms[i], &scene->gloms[i], scene->seed, i, w->ppu);
    for (int i = 0; i < scene->glom_count; i++)
        if (synth_glom_build(w, i) != 0)
            return -1;

    G2cRng rng;
    g2c_rng_seed(&rng, scene->seed ^ 0x7B0B1E5ULL);
    SynthEllHash h;
    if (synth_ell_init(&h, 0, 0, (float)w->width, (float)w->height, 2 * 23.0f * 1.6f * w->ppu) != 0)
        return -1;
    int rc = place_tubules(w, &tissue, &rng, &h);
    if (rc == 0)
        rc = place_interstitium(w, &tissue, &rng, &h);
    synth_ell_free(&h);
    if (rc != 0)
        return -1;
    if (w->prim_count > 0)
        qsort(w->prims, (size_t)w->prim_count, sizeof *w->prims, by_kind);
    return 0;
}

int synth_world_build(SynthWorld *w, const G2cSynthScene *scene)
{
    memset(w, 0, sizeof *w);
    w->seed = scene->seed;
    w->width = scene->width;
    w->height = scene->height;
    w->ppu = (float)(1.0 / (scene->mpp > 0 ? scene->mpp : 0.5));
    if (build(w, scene) != 0) {
        synth_world_free(w);
        return g2c_error("synthetic tissue: out of memory for a %dx%d field", scene->width,
                         scene->height);
    }
    return 0;
}

void synth_world_free(SynthWorld *w)
{
    free(w->field);
    free(w->vary);
    free(w->gloms);
    free(w->prims);
    memset(w, 0, sizeof *w);
}
