/* Glomeruli of the synthetic field: the shape shared with the raster
 * (tuft and capsule outlines, where the sclerosis lies), and the
 * capillaries and nuclei inside each one. */
#include "synth-private.h"

#include "g2c/rng.h"

#include <math.h>
#include <string.h>

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

void synth_glom_derive(SynthGlom *g, const G2cSynthGlom *in, uint64_t seed, int index, float ppu)
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
        g->tuft = synth_uni(&rng, 0.64f, 0.74f);
        g->capsule_px = 2.4f * ppu;
        g->fibrosis_px = 11.0f * ppu;
        g->fibrosis_amp = 0.85f;
        break;
    case G2C_GLOM_SS:
        g->tuft = synth_uni(&rng, 0.86f, 0.91f);
        g->capsule_px = 1.2f * ppu;
        g->fibrosis_px = 7.0f * ppu;
        g->fibrosis_amp = 0.35f;
        break;
    default:
        g->tuft = synth_uni(&rng, 0.88f, 0.93f);
        g->capsule_px = 0.8f * ppu;
        g->fibrosis_px = 4.0f * ppu;
        g->fibrosis_amp = 0.15f;
        break;
    }
    if (g->capsule_px < 1)
        g->capsule_px = 1;
    for (int i = 0; i < 3; i++) {
        float ph = synth_uni(&rng, 0, 6.2831853f);
        g->lobe_k[i] = 3 + (int)g2c_rng_below(&rng, 4);
        g->lobe_amp[i] = synth_uni(&rng, 0.025f, 0.06f) * (in->cls == G2C_GLOM_GS ? 1.4f : 1.0f);
        g->lobe_pc[i] = cosf(ph);
        g->lobe_ps[i] = sinf(ph);
    }
    for (int i = 0; i < 2; i++) {
        float ph = synth_uni(&rng, 0, 6.2831853f);
        g->cap_amp[i] = synth_uni(&rng, 0.005f, 0.015f) * (in->cls == G2C_GLOM_GS ? 1.6f : 1.0f);
        g->cap_pc[i] = cosf(ph);
        g->cap_ps[i] = sinf(ph);
    }
    g->cleft_px = 2.5f * ppu;
    g->tex_seed = (uint32_t)g2c_rng_next(&rng);
    g->tex_scale = 1.0f / (7.0f * ppu);
    float dir = synth_uni(&rng, 0, 6.2831853f);
    g->dir_x = cosf(dir);
    g->dir_y = sinf(dir);
    g->cos_half = cosf(synth_uni(&rng, 0.7f, 1.2f)); /* 40 to 70 degrees */
}

/* ---- inside a glomerulus ----------------------------------------------- */

static float glom_reach(const SynthGlom *g)
{
    return g->R * 1.04f + g->capsule_px * 2 + g->fibrosis_px * 4 + 2;
}


static int glom_capillaries(SynthWorld *w, const SynthGlom *g, G2cRng *rng, SynthEllHash *h)
{
    float rt = g->R * g->tuft;
    float rmin = 2.0f * w->ppu, rmax = 3.6f * w->ppu, wall = 0.45f * w->ppu;
    if (wall < 0.7f)
        wall = 0.7f;
    int tries = (int)(14.0f * rt * rt / (rmax * rmax)) + 50;
    for (int i = 0; i < tries; i++) {
        float r = rt * sqrtf((float)g2c_rng_uniform(rng));
        float th = synth_uni(rng, 0, 6.2831853f);
        float dx = r * cosf(th), dy = r * sinf(th);
        float rc = synth_uni(rng, rmin, rmax);
        float ecc = synth_uni(rng, 1.0f, 2.2f);
        Ell e = {g->cx + dx, g->cy + dy, rc * ecc, rc, 0, 0};
        float ang = synth_uni(rng, 0, 3.1415926f);
        e.cs = cosf(ang);
        e.sn = sinf(ang);
        float lim = synth_glom_tuft_radius(g, cosf(th), sinf(th));
        if (r + e.a + wall + 0.8f * w->ppu > lim)
            continue;
        if (synth_glom_sclerosis(g, dx, dy, r) > 0.5f)
            continue;
        if (synth_ell_hits(h, &e, 2 * wall + 1.0f * w->ppu))
            continue;
        if (synth_ell_add(h, e) != 0)
            return -1;
        SynthPrim *p = synth_push_prim(w, P_GCAP, e.x, e.y, e.a, e.b, ang, e.a + 2 * wall + 2);
        if (!p)
            return -1;
        p->v[3] = wall;
        if (g2c_rng_uniform(rng) < 0.4) {
            p->v[0] = rc * synth_uni(rng, 0.6f, 0.8f);
            p->v[1] = synth_uni(rng, -0.2f, 0.2f) * rc;
            p->v[2] = synth_uni(rng, -0.2f, 0.2f) * rc;
        }
    }
    return 0;
}

static int glom_nuclei(SynthWorld *w, const SynthGlom *g, G2cRng *rng, SynthEllHash *h)
{
    float rt = g->R * g->tuft;
    float area_um2 = 3.14159f * rt * rt / (w->ppu * w->ppu);
    int want = (int)(area_um2 / 65.0f);
    int tries = want * 12 + 50, placed = 0;
    for (int i = 0; i < tries && placed < want; i++) {
        float r = rt * sqrtf((float)g2c_rng_uniform(rng));
        float th = synth_uni(rng, 0, 6.2831853f);
        float dx = r * cosf(th), dy = r * sinf(th);
        float rn = synth_uni(rng, 2.0f, 2.8f) * w->ppu;
        Ell e = {g->cx + dx, g->cy + dy, rn * synth_uni(rng, 1.0f, 1.4f), rn, 0, 0};
        float ang = synth_uni(rng, 0, 3.1415926f);
        e.cs = cosf(ang);
        e.sn = sinf(ang);
        if (r + e.a > synth_glom_tuft_radius(g, cosf(th), sinf(th)))
            continue;
        float s = synth_glom_sclerosis(g, dx, dy, r);
        if (g2c_rng_uniform(rng) < 0.88 * s) {
            placed++; /* a nucleus lost to sclerosis still counts */
            continue;
        }
        if (synth_ell_hits(h, &e, 0.3f * w->ppu))
            continue;
        if (synth_ell_add(h, e) != 0)
            return -1;
        /* Pyknotic in sclerosis: small and dark. */
        float shrink = 1.0f - 0.3f * s;
        if (synth_add_nucleus(w, rng, e.x, e.y, e.a * shrink, e.b * shrink, ang,
                        synth_uni(rng, 0.72f, 0.92f) + 0.1f * s, 0) != 0)
            return -1;
        placed++;
    }
    /* Parietal epithelium: flat nuclei along the inside of the capsule. */
    int n = (int)(6.2831853f * g->R / (18.0f * w->ppu));
    for (int i = 0; i < n; i++) {
        if (g2c_rng_uniform(rng) < 0.3)
            continue;
        float th = (i + synth_uni(rng, -0.3f, 0.3f)) * 6.2831853f / (float)n;
        float c = cosf(th), s = sinf(th);
        float rr = synth_glom_capsule_radius(g, c, s) - g->capsule_px - 1.6f * w->ppu;
        if (synth_add_nucleus(w, rng, g->cx + rr * c, g->cy + rr * s, 3.6f * w->ppu, 1.1f * w->ppu,
                        th + 1.5707963f, 0.8f, 0) != 0)
            return -1;
    }
    return 0;
}

int synth_glom_build(SynthWorld *w, int index)
{
    const SynthGlom *g = &w->gloms[index];
    G2cRng rng;
    g2c_rng_seed(&rng, w->seed ^ (0xC0FFEEULL + (uint64_t)index * 104729ULL));
    float reach = glom_reach(g);
    SynthPrim *p = synth_push_prim(w, P_GLOM, g->cx, g->cy, g->R, g->R, 0, reach);
    if (!p)
        return -1;
    p->glom = index;
    p->v[0] = reach;
    SynthEllHash h;
    float cell = 2 * (3.6f * 2.2f + 1.5f) * w->ppu;
    if (synth_ell_init(&h, g->cx - g->R, g->cy - g->R, 2 * g->R, 2 * g->R, cell) != 0)
        return -1;
    int rc = glom_capillaries(w, g, &rng, &h);
    if (rc == 0)
        rc = glom_nuclei(w, g, &rng, &h);
    synth_ell_free(&h);
    return rc;
}

/* Radius around a glomerulus that tubules keep clear of: the capsule and
 * the denser part of its periglomerular fibrosis. */
float synth_glom_keep(const SynthGlom *g)
{
    float fib = g->cls == G2C_GLOM_GS ? 2.0f : g->cls == G2C_GLOM_SS ? 1.2f : 0.5f;
    return g->R * 1.03f + g->capsule_px + fib * g->fibrosis_px;
}
