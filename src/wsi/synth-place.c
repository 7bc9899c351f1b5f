/* Placing things without overlap: primitives, a spatial hash of ellipses,
 * and the helpers the glomerulus and tubule builders share. */
#include "synth-private.h"

#include "g2c/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- primitives --------------------------------------------------------- */

SynthPrim *synth_push_prim(SynthWorld *w, int kind, float cx, float cy, float a, float b,
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

float synth_uni(G2cRng *rng, float lo, float hi)
{
    return lo + (hi - lo) * (float)g2c_rng_uniform(rng);
}

/* ---- a spatial hash of ellipses, for placing things without overlap ---- */


int synth_ell_init(SynthEllHash *h, float x0, float y0, float w, float hgt, float cell)
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

void synth_ell_free(SynthEllHash *h)
{
    free(h->head);
    free(h->next);
    free(h->e);
    memset(h, 0, sizeof *h);
}

int synth_ell_cell(const SynthEllHash *h, float v, float origin, int n)
{
    int c = (int)floorf((v - origin) / h->cell);
    return c < 0 ? 0 : c >= n ? n - 1 : c;
}

void synth_ell_range(const SynthEllHash *h, float x, float y, float reach, int r[4])
{
    r[0] = synth_ell_cell(h, x - reach, h->x0, h->gw);
    r[1] = synth_ell_cell(h, x + reach, h->x0, h->gw);
    r[2] = synth_ell_cell(h, y - reach, h->y0, h->gh);
    r[3] = synth_ell_cell(h, y + reach, h->y0, h->gh);
}

int synth_ell_add(SynthEllHash *h, Ell e)
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
    int cx = synth_ell_cell(h, e.x, h->x0, h->gw), cy = synth_ell_cell(h, e.y, h->y0, h->gh);
    h->e[h->n] = e;
    h->next[h->n] = h->head[cy * h->gw + cx];
    h->head[cy * h->gw + cx] = h->n;
    h->n++;
    if (e.a > h->rmax)
        h->rmax = e.a;
    return 0;
}

/* Radius of an ellipse in the direction (ux, uy) (unit vector). */
float synth_dir_radius(const Ell *e, float ux, float uy)
{
    float lu = ux * e->cs + uy * e->sn, lv = -ux * e->sn + uy * e->cs;
    float d = sqrtf(e->b * e->b * lu * lu + e->a * e->a * lv * lv);
    return d > 0 ? e->a * e->b / d : e->a;
}

/* Does e come closer than gap to anything in the hash?  The distance of
 * two ellipses is approximated along the line joining their centres. */
int synth_ell_hits(const SynthEllHash *h, const Ell *e, float gap)
{
    int r[4];
    synth_ell_range(h, e->x, e->y, e->a + h->rmax + gap, r);
    for (int cy = r[2]; cy <= r[3]; cy++)
        for (int cx = r[0]; cx <= r[1]; cx++)
            for (int i = h->head[cy * h->gw + cx]; i >= 0; i = h->next[i]) {
                const Ell *o = &h->e[i];
                float dx = o->x - e->x, dy = o->y - e->y;
                float d = sqrtf(dx * dx + dy * dy);
                if (d < 1e-3f)
                    return 1;
                float need = synth_dir_radius(e, dx / d, dy / d) +
                             synth_dir_radius(o, -dx / d, -dy / d) + gap;
                if (d < need)
                    return 1;
            }
    return 0;
}

int synth_add_nucleus(SynthWorld *w, G2cRng *rng, float x, float y, float a, float b,
                       float ang, float dark, int nucleolus)
{
    SynthPrim *p = synth_push_prim(w, P_NUCLEUS, x, y, a, b, ang, a + 2);
    if (!p)
        return -1;
    p->v[0] = dark;
    if (nucleolus) {
        p->v[1] = synth_uni(rng, -0.3f, 0.3f) * a;
        p->v[2] = synth_uni(rng, -0.3f, 0.3f) * b;
        p->v[3] = 0.22f * b + 0.3f;
    }
    p->v[4] = synth_uni(rng, 0.15f, 0.35f);
    p->hash = (uint32_t)g2c_rng_next(rng);
    return 0;
}
