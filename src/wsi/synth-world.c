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

/* ---- primitives --------------------------------------------------------- */

static SynthPrim *push_prim(SynthWorld *w, int kind, float cx, float cy, float a, float b,
                            float ang, float reach)
{
    if (w->prim_count == w->prim_capacity) {
        int cap = w->prim_capacity ? w->prim_capacity * 2 : 4096;
        SynthPrim *grown = realloc(w->prims, (size_t)cap * sizeof *grown);
        if (!grown)
            return NULL;
        w->prims = grown;
        w->prim_capacity = cap;
    }
    SynthPrim *p = &w->prims[w->prim_count++];
    memset(p, 0, sizeof *p);
    p->kind = (uint8_t)kind;
    p->cx = cx;
    p->cy = cy;
    p->a = a;
    p->b = b;
    p->cs = cosf(ang);
    p->sn = sinf(ang);
    p->x0 = cx - reach;
    p->x1 = cx + reach;
    p->y0 = cy - reach;
    p->y1 = cy + reach;
    p->glom = -1;
    return p;
}

static float uni(G2cRng *rng, float lo, float hi)
{
    return lo + (hi - lo) * (float)g2c_rng_uniform(rng);
}

/* ---- a spatial hash of ellipses, for placing things without overlap ---- */

typedef struct {
    float x, y, a, b, cs, sn;
} Ell;

typedef struct {
    float x0, y0, cell;
    int gw, gh;
    int32_t *head, *next;
    Ell *e;
    int n, cap;
    float rmax;
} EllHash;

static int hash_init(EllHash *h, float x0, float y0, float w, float hgt, float cell)
{
    memset(h, 0, sizeof *h);
    h->x0 = x0;
    h->y0 = y0;
    h->cell = cell;
    h->gw = (int)(w / cell) + 1;
    h->gh = (int)(hgt / cell) + 1;
    h->head = malloc((size_t)h->gw * h->gh * sizeof *h->head);
    if (!h->head)
        return -1;
    for (int i = 0; i < h->gw * h->gh; i++)
        h->head[i] = -1;
    return 0;
}

static void hash_free(EllHash *h)
{
    free(h->head);
    free(h->next);
    free(h->e);
    memset(h, 0, sizeof *h);
}

static int cell_of(const EllHash *h, float v, float origin, int n)
{
    int c = (int)floorf((v - origin) / h->cell);
    return c < 0 ? 0 : c >= n ? n - 1 : c;
}

static int hash_add(EllHash *h, Ell e)
{
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 256;
        Ell *ge = realloc(h->e, (size_t)cap * sizeof *ge);
        if (!ge)
            return -1;
        h->e = ge;
        int32_t *gn = realloc(h->next, (size_t)cap * sizeof *gn);
        if (!gn)
            return -1;
        h->next = gn;
        h->cap = cap;
    }
    int cx = cell_of(h, e.x, h->x0, h->gw), cy = cell_of(h, e.y, h->y0, h->gh);
    h->e[h->n] = e;
    h->next[h->n] = h->head[cy * h->gw + cx];
    h->head[cy * h->gw + cx] = h->n;
    h->n++;
    if (e.a > h->rmax)
        h->rmax = e.a;
    return 0;
}

/* Radius of an ellipse in the direction (ux, uy) (unit vector). */
static float dir_radius(const Ell *e, float ux, float uy)
{
    float lu = ux * e->cs + uy * e->sn, lv = -ux * e->sn + uy * e->cs;
    float d = sqrtf(e->b * e->b * lu * lu + e->a * e->a * lv * lv);
    return d > 0 ? e->a * e->b / d : e->a;
}

/* Does e come closer than gap to anything in the hash?  The distance of
 * two ellipses is approximated along the line joining their centres. */
static int hash_hits(const EllHash *h, const Ell *e, float gap)
{
    float reach = e->a + h->rmax + gap;
    int cx0 = cell_of(h, e->x - reach, h->x0, h->gw), cx1 = cell_of(h, e->x + reach, h->x0, h->gw);
    int cy0 = cell_of(h, e->y - reach, h->y0, h->gh), cy1 = cell_of(h, e->y + reach, h->y0, h->gh);
    for (int cy = cy0; cy <= cy1; cy++)
        for (int cx = cx0; cx <= cx1; cx++)
            for (int i = h->head[cy * h->gw + cx]; i >= 0; i = h->next[i]) {
                const Ell *o = &h->e[i];
                float dx = o->x - e->x, dy = o->y - e->y;
                float d = sqrtf(dx * dx + dy * dy);
                if (d < 1e-3f)
                    return 1;
                float need = dir_radius(e, dx / d, dy / d) + dir_radius(o, -dx / d, -dy / d) + gap;
                if (d < need)
                    return 1;
            }
    return 0;
}

/* ---- glomerular shape (shared with the raster) ------------------------- */

/* cos and sin of k*theta for k = 0..kmax from cos and sin of theta. */
static void angle_powers(float c, float s, float *ck, float *sk, int kmax)
{
    ck[0] = 1;
    sk[0] = 0;
    for (int k = 1; k <= kmax; k++) {
        ck[k] = ck[k - 1] * c - sk[k - 1] * s;
        sk[k] = sk[k - 1] * c + ck[k - 1] * s;
    }
}

float synth_glom_tuft_radius(const SynthGlom *g, float c, float s)
{
    float ck[7], sk[7];
    angle_powers(c, s, ck, sk, 6);
    float f = 1;
    for (int i = 0; i < 3; i++) {
        int k = g->lobe_k[i];
        f += g->lobe_amp[i] * (ck[k] * g->lobe_pc[i] - sk[k] * g->lobe_ps[i]);
    }
    return g->R * g->tuft * f;
}

float synth_glom_capsule_radius(const SynthGlom *g, float c, float s)
{
    float ck[4], sk[4];
    angle_powers(c, s, ck, sk, 3);
    float f = 1 + g->cap_amp[0] * (ck[2] * g->cap_pc[0] - sk[2] * g->cap_ps[0]) +
              g->cap_amp[1] * (ck[3] * g->cap_pc[1] - sk[3] * g->cap_ps[1]);
    return g->R * f;
}

static float smoothstep(float e0, float e1, float x)
{
    float t = (x - e0) / (e1 - e0);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return t * t * (3 - 2 * t);
}

float synth_glom_sclerosis(const SynthGlom *g, float dx, float dy, float r)
{
    if (g->cls == G2C_GLOM_GS)
        return 1;
    if (g->cls != G2C_GLOM_SS || r < 1e-3f)
        return 0;
    float cos_d = (dx * g->dir_x + dy * g->dir_y) / r;
    float ang = smoothstep(g->cos_half - 0.1f, g->cos_half + 0.1f, cos_d);
    float rt = g->R * g->tuft;
    /* The segment spares the hilum: it starts a third of the way out. */
    return ang * smoothstep(0.2f * rt, 0.38f * rt, r);
}

static void derive_glom(SynthGlom *g, const G2cSynthGlom *in, uint64_t seed, int index, float ppu)
{
    G2cRng rng;
    g2c_rng_seed(&rng, seed * 0x100000001B3ULL + (uint64_t)index * 7919 + 17);
    memset(g, 0, sizeof *g);
    g->cx = (float)in->cx;
    g->cy = (float)in->cy;
    g->R = (float)in->radius;
    g->cls = (int)in->cls;
    switch (in->cls) {
    case G2C_GLOM_GS:
        g->tuft = uni(&rng, 0.64f, 0.74f);
        g->capsule_px = 2.4f * ppu;
        g->fibrosis_px = 11.0f * ppu;
        g->fibrosis_amp = 0.85f;
        break;
    case G2C_GLOM_SS:
        g->tuft = uni(&rng, 0.86f, 0.91f);
        g->capsule_px = 1.2f * ppu;
        g->fibrosis_px = 7.0f * ppu;
        g->fibrosis_amp = 0.35f;
        break;
    default:
        g->tuft = uni(&rng, 0.88f, 0.93f);
        g->capsule_px = 0.8f * ppu;
        g->fibrosis_px = 4.0f * ppu;
        g->fibrosis_amp = 0.15f;
        break;
    }
    if (g->capsule_px < 1)
        g->capsule_px = 1;
    for (int i = 0; i < 3; i++) {
        float ph = uni(&rng, 0, 6.2831853f);
        g->lobe_k[i] = 3 + (int)g2c_rng_below(&rng, 4);
        g->lobe_amp[i] = uni(&rng, 0.025f, 0.06f) * (in->cls == G2C_GLOM_GS ? 1.4f : 1.0f);
        g->lobe_pc[i] = cosf(ph);
        g->lobe_ps[i] = sinf(ph);
    }
    for (int i = 0; i < 2; i++) {
        float ph = uni(&rng, 0, 6.2831853f);
        g->cap_amp[i] = uni(&rng, 0.005f, 0.015f) * (in->cls == G2C_GLOM_GS ? 1.6f : 1.0f);
        g->cap_pc[i] = cosf(ph);
        g->cap_ps[i] = sinf(ph);
    }
    g->cleft_px = 2.5f * ppu;
    g->tex_seed = (uint32_t)g2c_rng_next(&rng);
    g->tex_scale = 1.0f / (7.0f * ppu);
    float dir = uni(&rng, 0, 6.2831853f);
    g->dir_x = cosf(dir);
    g->dir_y = sinf(dir);
    g->cos_half = cosf(uni(&rng, 0.7f, 1.2f)); /* 40 to 70 degrees */
}

/* ---- inside a glomerulus ----------------------------------------------- */

static float glom_reach(const SynthGlom *g)
{
    return g->R * 1.04f + g->capsule_px * 2 + g->fibrosis_px * 4 + 2;
}

static int add_nucleus(SynthWorld *w, G2cRng *rng, float x, float y, float a, float b,
                       float ang, float dark, int nucleolus)
{
    SynthPrim *p = push_prim(w, P_NUCLEUS, x, y, a, b, ang, a + 2);
    if (!p)
        return -1;
    p->v[0] = dark;
    if (nucleolus) {
        p->v[1] = uni(rng, -0.3f, 0.3f) * a;
        p->v[2] = uni(rng, -0.3f, 0.3f) * b;
        p->v[3] = 0.22f * b + 0.3f;
    }
    p->v[4] = uni(rng, 0.15f, 0.35f);
    p->hash = (uint32_t)g2c_rng_next(rng);
    return 0;
}

static int glom_capillaries(SynthWorld *w, const SynthGlom *g, G2cRng *rng, EllHash *h)
{
    float rt = g->R * g->tuft;
    float rmin = 2.0f * w->ppu, rmax = 3.6f * w->ppu, wall = 0.45f * w->ppu;
    if (wall < 0.7f)
        wall = 0.7f;
    int tries = (int)(14.0f * rt * rt / (rmax * rmax)) + 50;
    for (int i = 0; i < tries; i++) {
        float r = rt * sqrtf((float)g2c_rng_uniform(rng));
        float th = uni(rng, 0, 6.2831853f);
        float dx = r * cosf(th), dy = r * sinf(th);
        float rc = uni(rng, rmin, rmax);
        float ecc = uni(rng, 1.0f, 2.2f);
        Ell e = {g->cx + dx, g->cy + dy, rc * ecc, rc, 0, 0};
        float ang = uni(rng, 0, 3.1415926f);
        e.cs = cosf(ang);
        e.sn = sinf(ang);
        float lim = synth_glom_tuft_radius(g, cosf(th), sinf(th));
        if (r + e.a + wall + 0.8f * w->ppu > lim)
            continue;
        if (synth_glom_sclerosis(g, dx, dy, r) > 0.5f)
            continue;
        if (hash_hits(h, &e, 2 * wall + 1.0f * w->ppu))
            continue;
        if (hash_add(h, e) != 0)
            return -1;
        SynthPrim *p = push_prim(w, P_GCAP, e.x, e.y, e.a, e.b, ang, e.a + 2 * wall + 2);
        if (!p)
            return -1;
        p->v[3] = wall;
        if (g2c_rng_uniform(rng) < 0.4) {
            p->v[0] = rc * uni(rng, 0.6f, 0.8f);
            p->v[1] = uni(rng, -0.2f, 0.2f) * rc;
            p->v[2] = uni(rng, -0.2f, 0.2f) * rc;
        }
    }
    return 0;
}

static int glom_nuclei(SynthWorld *w, const SynthGlom *g, G2cRng *rng, EllHash *h)
{
    float rt = g->R * g->tuft;
    float area_um2 = 3.14159f * rt * rt / (w->ppu * w->ppu);
    int want = (int)(area_um2 / 65.0f);
    int tries = want * 12 + 50, placed = 0;
    for (int i = 0; i < tries && placed < want; i++) {
        float r = rt * sqrtf((float)g2c_rng_uniform(rng));
        float th = uni(rng, 0, 6.2831853f);
        float dx = r * cosf(th), dy = r * sinf(th);
        float rn = uni(rng, 2.0f, 2.8f) * w->ppu;
        Ell e = {g->cx + dx, g->cy + dy, rn * uni(rng, 1.0f, 1.4f), rn, 0, 0};
        float ang = uni(rng, 0, 3.1415926f);
        e.cs = cosf(ang);
        e.sn = sinf(ang);
        if (r + e.a > synth_glom_tuft_radius(g, cosf(th), sinf(th)))
            continue;
        float s = synth_glom_sclerosis(g, dx, dy, r);
        if (g2c_rng_uniform(rng) < 0.88 * s) {
            placed++; /* a nucleus lost to sclerosis still counts */
            continue;
        }
        if (hash_hits(h, &e, 0.3f * w->ppu))
            continue;
        if (hash_add(h, e) != 0)
            return -1;
        /* Pyknotic in sclerosis: small and dark. */
        float shrink = 1.0f - 0.3f * s;
        if (add_nucleus(w, rng, e.x, e.y, e.a * shrink, e.b * shrink, ang,
                        uni(rng, 0.72f, 0.92f) + 0.1f * s, 0) != 0)
            return -1;
        placed++;
    }
    /* Parietal epithelium: flat nuclei along the inside of the capsule. */
    int n = (int)(6.2831853f * g->R / (18.0f * w->ppu));
    for (int i = 0; i < n; i++) {
        if (g2c_rng_uniform(rng) < 0.3)
            continue;
        float th = (i + uni(rng, -0.3f, 0.3f)) * 6.2831853f / (float)n;
        float c = cosf(th), s = sinf(th);
        float rr = synth_glom_capsule_radius(g, c, s) - g->capsule_px - 1.6f * w->ppu;
        if (add_nucleus(w, rng, g->cx + rr * c, g->cy + rr * s, 3.6f * w->ppu, 1.1f * w->ppu,
                        th + 1.5707963f, 0.8f, 0) != 0)
            return -1;
    }
    return 0;
}

static int build_glom(SynthWorld *w, int index)
{
    const SynthGlom *g = &w->gloms[index];
    G2cRng rng;
    g2c_rng_seed(&rng, w->seed ^ (0xC0FFEEULL + (uint64_t)index * 104729ULL));
    float reach = glom_reach(g);
    SynthPrim *p = push_prim(w, P_GLOM, g->cx, g->cy, g->R, g->R, 0, reach);
    if (!p)
        return -1;
    p->glom = index;
    p->v[0] = reach;
    EllHash h;
    float cell = 2 * (3.6f * 2.2f + 1.5f) * w->ppu;
    if (hash_init(&h, g->cx - g->R, g->cy - g->R, 2 * g->R, 2 * g->R, cell) != 0)
        return -1;
    int rc = glom_capillaries(w, g, &rng, &h);
    if (rc == 0)
        rc = glom_nuclei(w, g, &rng, &h);
    hash_free(&h);
    return rc;
}

/* ---- tubules and interstitium ------------------------------------------ */

static float tissue_cover_at(const SynthWorld *w, const SynthTissue *t, float x, float y)
{
    (void)w;
    return synth_tissue_cover(t, synth_tissue_field(t, x, y));
}

/* Radius around a glomerulus that tubules keep clear of: the capsule and
 * the denser part of its periglomerular fibrosis. */
static float glom_keep(const SynthGlom *g)
{
    float fib = g->cls == G2C_GLOM_GS ? 2.0f : g->cls == G2C_GLOM_SS ? 1.2f : 0.5f;
    return g->R * 1.03f + g->capsule_px + fib * g->fibrosis_px;
}

/* Is (x, y) within `extra` of a glomerulus' keep-out disc? */
static int near_glom(const SynthWorld *w, float x, float y, float extra)
{
    for (int i = 0; i < w->glom_count; i++) {
        const SynthGlom *g = &w->gloms[i];
        float dx = x - g->cx, dy = y - g->cy;
        float keep = glom_keep(g) + extra;
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
    float ph = uni(rng, 0, 6.2831853f);
    for (int i = 0; i < n; i++) {
        if (g2c_rng_uniform(rng) < 0.25)
            continue;
        float th = ph + (i + uni(rng, -0.3f, 0.3f)) * 6.2831853f / (float)n;
        float rho = lf + (1 - lf) * uni(rng, 0.45f, 0.75f); /* nuclei sit basally */
        float u = t->a * rho * cosf(th), v = t->b * rho * sinf(th);
        float x = t->cx + u * t->cs - v * t->sn, y = t->cy + u * t->sn + v * t->cs;
        float rn = uni(rng, 2.4f, 3.0f) * w->ppu;
        if (add_nucleus(w, rng, x, y, rn * uni(rng, 1.0f, 1.2f), rn, uni(rng, 0, 3.14159f),
                        uni(rng, 0.5f, 0.68f), 1) != 0)
            return -1;
    }
    return 0;
}

static int add_tubule(SynthWorld *w, G2cRng *rng, const Ell *e)
{
    float bm = 0.7f * w->ppu;
    float ang = atan2f(e->sn, e->cs);
    SynthPrim *p = push_prim(w, P_TUBULE, e->x, e->y, e->a, e->b, ang, e->a + 2 * bm + 2);
    if (!p)
        return -1;
    int proximal = g2c_rng_uniform(rng) < 0.65;
    p->flag = (uint8_t)proximal;
    p->v[0] = proximal ? uni(rng, 0.28f, 0.45f) : uni(rng, 0.42f, 0.6f);
    float p2 = uni(rng, 0, 6.2831853f), p3 = uni(rng, 0, 6.2831853f);
    p->v[1] = uni(rng, 0.05f, 0.22f);
    p->v[2] = cosf(p2);
    p->v[3] = sinf(p2);
    p->v[4] = uni(rng, 0.03f, 0.15f);
    p->v[5] = cosf(p3);
    p->v[6] = sinf(p3);
    p->v[7] = proximal ? uni(rng, 0.66f, 0.8f) : uni(rng, 0.5f, 0.6f);
    p->hash = (uint32_t)g2c_rng_next(rng);
    SynthPrim copy = *p; /* adding nuclei may move the primitive array */
    return tubule_nuclei(w, &copy, rng);
}

/* How much tubule i may grow (a factor >= 1) before it comes within gap of
 * a neighbour or a glomerulus. */
static float growth(const SynthWorld *w, const EllHash *h, int i, float gap, float fmax)
{
    const Ell *e = &h->e[i];
    float f = fmax;
    float reach = e->a * fmax + h->rmax + gap;
    int cx0 = cell_of(h, e->x - reach, h->x0, h->gw), cx1 = cell_of(h, e->x + reach, h->x0, h->gw);
    int cy0 = cell_of(h, e->y - reach, h->y0, h->gh), cy1 = cell_of(h, e->y + reach, h->y0, h->gh);
    for (int cy = cy0; cy <= cy1; cy++)
        for (int cx = cx0; cx <= cx1; cx++)
            for (int j = h->head[cy * h->gw + cx]; j >= 0; j = h->next[j]) {
                if (j == i)
                    continue;
                const Ell *o = &h->e[j];
                float dx = o->x - e->x, dy = o->y - e->y;
                float d = sqrtf(dx * dx + dy * dy);
                if (d < 1e-3f)
                    return 1;
                float mine = dir_radius(e, dx / d, dy / d);
                float room = d - mine - dir_radius(o, -dx / d, -dy / d) - gap;
                float fj = 1 + 0.9f * room / mine;
                if (fj < f)
                    f = fj;
            }
    for (int k = 0; k < w->glom_count; k++) {
        const SynthGlom *g = &w->gloms[k];
        float dx = g->cx - e->x, dy = g->cy - e->y;
        float d = sqrtf(dx * dx + dy * dy);
        float keep = glom_keep(g);
        if (d > keep + e->a * fmax + gap)
            continue;
        float mine = dir_radius(e, dx / d, dy / d);
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
static int jam_and_grow(SynthWorld *w, const SynthTissue *t, G2cRng *rng, EllHash *h,
                        float core, float spacing, float cap, float gap)
{
    double area = (double)w->width * w->height;
    long tries = (long)(area / (core * core) * 3.0) + 20;
    int first = h->n;
    for (long i = 0; i < tries; i++) {
        float b = uni(rng, 0.75f, 1.25f) * core;
        float ecc = 1.0f + 0.7f * (float)(g2c_rng_uniform(rng) * g2c_rng_uniform(rng));
        float ang = uni(rng, 0, 3.1415926f);
        Ell e = {uni(rng, 0, (float)w->width), uni(rng, 0, (float)w->height), b * ecc, b,
                 cosf(ang), sinf(ang)};
        if (tissue_cover_at(w, t, e.x, e.y) < 0.5f)
            continue;
        if (near_glom(w, e.x, e.y, e.a + gap))
            continue;
        if (hash_hits(h, &e, gap + spacing))
            continue;
        if (hash_add(h, e) != 0)
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
static int place_tubules(SynthWorld *w, const SynthTissue *t, G2cRng *rng, EllHash *h)
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
static int place_interstitium(SynthWorld *w, const SynthTissue *t, G2cRng *rng, EllHash *h)
{
    float ppu = w->ppu;
    double area_um2 = (double)w->width * w->height / (ppu * ppu);
    long tries = (long)(area_um2 / 160.0) + 10;
    for (long i = 0; i < tries; i++) {
        float x = uni(rng, 0, (float)w->width), y = uni(rng, 0, (float)w->height);
        double kind = g2c_rng_uniform(rng);
        float ang = uni(rng, 0, 3.1415926f);
        Ell e = {x, y, 0, 0, cosf(ang), sinf(ang)};
        if (kind < 0.25) { /* capillary */
            e.b = uni(rng, 2.5f, 4.5f) * ppu;
            e.a = e.b * uni(rng, 1.0f, 1.8f);
        } else if (kind < 0.35) { /* lymphocyte */
            e.a = e.b = uni(rng, 2.0f, 2.5f) * ppu;
        } else { /* fibroblast */
            e.a = uni(rng, 3.5f, 5.5f) * ppu;
            e.b = uni(rng, 0.9f, 1.4f) * ppu;
        }
        if (tissue_cover_at(w, t, x, y) < 0.6f || near_glom(w, x, y, e.a + 1))
            continue;
        if (hash_hits(h, &e, 0.8f * ppu))
            continue;
        if (hash_add(h, e) != 0)
            return -1;
        if (kind < 0.25) {
            float wall = 0.5f * ppu < 0.7f ? 0.7f : 0.5f * ppu;
            SynthPrim *p = push_prim(w, P_VESSEL, x, y, e.a, e.b, ang, e.a + 2 * wall + 2);
            if (!p)
                return -1;
            p->v[3] = wall;
            if (g2c_rng_uniform(rng) < 0.6)
                p->v[0] = e.b * uni(rng, 0.65f, 0.9f);
        } else if (add_nucleus(w, rng, x, y, e.a, e.b, ang,
                               kind < 0.35 ? 1.0f : uni(rng, 0.78f, 0.92f), 0) != 0) {
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
        derive_glom(&w->gloms[i], &scene->gloms[i], scene->seed, i, w->ppu);
    for (int i = 0; i < scene->glom_count; i++)
        if (build_glom(w, i) != 0)
            return -1;

    G2cRng rng;
    g2c_rng_seed(&rng, scene->seed ^ 0x7B0B1E5ULL);
    EllHash h;
    if (hash_init(&h, 0, 0, (float)w->width, (float)w->height, 2 * 23.0f * 1.6f * w->ppu) != 0)
        return -1;
    int rc = place_tubules(w, &tissue, &rng, &h);
    if (rc == 0)
        rc = place_interstitium(w, &tissue, &rng, &h);
    hash_free(&h);
    if (rc != 0)
        return -1;
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
