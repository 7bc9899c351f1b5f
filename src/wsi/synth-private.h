/* Internals of the synthetic tissue generator, shared by synth*.c.
 *
 * Rendering has two halves.  The geometry (synth-world.c) turns the scene
 * into a list of primitives - tubules, vessels, glomerular capillaries,
 * glomeruli, nuclei - using only the seed, never the stain.  The raster
 * (synth-raster.c) paints them tile by tile into "material" densities (how
 * much nucleus, membrane, matrix, collagen ... a pixel holds), and the
 * stain (synth.c) turns densities into colour by Beer-Lambert absorption.
 * So every stain shows exactly the same tissue.
 */
#ifndef G2C_SYNTH_PRIVATE_H
#define G2C_SYNTH_PRIVATE_H

#include "g2c/rng.h"
#include "g2c/synth.h"

#include <stdint.h>

/* What a pixel is made of; each stain gives each material a colour. */
enum {
    M_STROMA, /* loose interstitial matrix */
    M_CYTO,   /* cytoplasm */
    M_NUC,    /* nuclear chromatin */
    M_BM,     /* basement membranes: tubular, glomerular, Bowman's capsule */
    M_MATRIX, /* mesangial and sclerotic matrix */
    M_COLL,   /* fibrous collagen: fibrosis, sclerosis */
    M_RBC,    /* red blood cells */
    M_BRUSH,  /* proximal tubule brush border */
    M_COUNT
};

/* Primitive kinds, in the order they are painted. */
enum { P_TUBULE, P_VESSEL, P_GCAP, P_GLOM, P_NUCLEUS, P_KIND_COUNT };

typedef struct {
    float cx, cy;         /* centre, pixels */
    float a, b;           /* semi-axes, pixels */
    float cs, sn;         /* orientation of the a axis */
    float x0, y0, x1, y1; /* bounding box, pixels */
    float v[8];           /* kind specific, see synth-world.c */
    uint32_t hash;        /* per-primitive texture seed */
    int32_t glom;         /* P_GLOM: index into the world's glomeruli */
    uint8_t kind;
    uint8_t flag;
} SynthPrim;

/* A glomerulus with everything the raster needs derived from its seed. */
typedef struct {
    float cx, cy, R;      /* centre, capsule radius (pixels) */
    int cls;              /* G2cGlomClass */
    float tuft;           /* tuft radius / R */
    /* Outline harmonics: amplitude and cos/sin of the phase. */
    float lobe_amp[3], lobe_pc[3], lobe_ps[3];
    int lobe_k[3];                  /* 3..6 */
    float cap_amp[2], cap_pc[2], cap_ps[2]; /* capsule wobble, k = 2, 3 */
    float dir_x, dir_y;   /* ss: centre direction of the sclerosed segment */
    float cos_half;       /* ss: cosine of its half width */
    float capsule_px;     /* capsule membrane half thickness, pixels */
    float fibrosis_px;    /* periglomerular collagen band e-folding width */
    float fibrosis_amp;
    float cleft_px;       /* gs: retraction cleft kept open around the tuft */
    uint32_t tex_seed;    /* sclerotic matrix mottling */
    float tex_scale;      /* 1 / its wavelength in pixels */
} SynthGlom;

typedef struct {
    uint64_t seed;
    int width, height;
    float ppu;            /* pixels per µm */
    /* The tissue field (positive inside) and the slow stain-strength
     * variation, sampled every `step` pixels for bilinear lookup. */
    int step, grid_w, grid_h;
    float *field, *vary;
    float edge_scale;     /* field -> coverage slope (anti-aliased edge) */
    SynthGlom *gloms;
    int glom_count;
    SynthPrim *prims;
    int prim_count, prim_capacity;
} SynthWorld;

/* ---- synth-noise.c ---- */
uint32_t synth_hash3(uint32_t seed, int32_t x, int32_t y);
float synth_hash01(uint32_t seed, int32_t x, int32_t y); /* [0, 1) */
float synth_value_noise(uint32_t seed, float x, float y); /* [-1, 1], smooth */
float synth_fbm(uint32_t seed, float x, float y, int octaves);

/* The analytic tissue field of a field: > 0 inside the tissue.  Depends on
 * the seed and the size only. */
typedef struct {
    int count;
    float cx[6], cy[6], ia[6], ib[6], cs[6], sn[6];
    uint32_t noise_seed;
    float noise_scale; /* 1 / wavelength in pixels */
    float edge_px;     /* field units per pixel near the edge, for anti-aliasing */
} SynthTissue;

void synth_tissue_init(SynthTissue *t, uint64_t seed, int width, int height, float ppu);
float synth_tissue_field(const SynthTissue *t, float x, float y);
/* 0..1 coverage from a field value */
float synth_tissue_cover(const SynthTissue *t, float field);

/* ---- synth-world.c: the whole field's geometry ---- */
int synth_world_build(SynthWorld *w, const G2cSynthScene *scene);
void synth_world_free(SynthWorld *w);

/* ---- synth-place.c: placing things without overlap ---- */
SynthPrim *synth_push_prim(SynthWorld *w, int kind, float cx, float cy, float a, float b,
                           float ang, float reach); /* NULL when out of memory */
float synth_uni(G2cRng *rng, float lo, float hi);   /* uniform in [lo, hi) */
int synth_add_nucleus(SynthWorld *w, G2cRng *rng, float x, float y, float a, float b,
                      float ang, float dark, int nucleolus);

typedef struct {
    float x, y, a, b, cs, sn; /* centre, semi-axes (a >= b), orientation */
} Ell;

/* Ellipses bucketed on a grid, for overlap queries. */
typedef struct {
    float x0, y0, cell;
    int gw, gh;
    int32_t *head, *next;
    Ell *e;
    int n, cap;
    float rmax; /* largest semi-axis held */
} SynthEllHash;

int synth_ell_init(SynthEllHash *h, float x0, float y0, float w, float hgt, float cell);
void synth_ell_free(SynthEllHash *h);
int synth_ell_cell(const SynthEllHash *h, float v, float origin, int n);
/* Cells within reach of (x, y): r = {x first, x last, y first, y last}. */
void synth_ell_range(const SynthEllHash *h, float x, float y, float reach, int r[4]);
int synth_ell_add(SynthEllHash *h, Ell e);
/* Radius of an ellipse in the direction (ux, uy) (a unit vector). */
float synth_dir_radius(const Ell *e, float ux, float uy);
/* Does e come closer than gap to anything held? */
int synth_ell_hits(const SynthEllHash *h, const Ell *e, float gap);

/* ---- synth-glom.c: glomeruli ---- */
/* Shape, shared by the geometry (where nuclei and capillaries go) and the
 * raster (what each pixel is). */
float synth_glom_tuft_radius(const SynthGlom *g, float cos_t, float sin_t);
float synth_glom_capsule_radius(const SynthGlom *g, float cos_t, float sin_t);
/* Sclerosis weight 0..1 at offset (dx, dy) from the centre, distance r. */
float synth_glom_sclerosis(const SynthGlom *g, float dx, float dy, float r);
void synth_glom_derive(SynthGlom *g, const G2cSynthGlom *in, uint64_t seed, int index,
                       float ppu);
/* The glomerulus primitive with its capillaries and nuclei. */
int synth_glom_build(SynthWorld *w, int index);
/* Radius tubules keep clear of. */
float synth_glom_keep(const SynthGlom *g);

/* ---- synth-raster.c ---- */
enum { SYNTH_TILE = 128 };

typedef struct {
    float m[M_COUNT][SYNTH_TILE * SYNTH_TILE];
    float tissue[SYNTH_TILE * SYNTH_TILE];
    float vary[SYNTH_TILE * SYNTH_TILE];
    float glassy[SYNTH_TILE * SYNTH_TILE]; /* sclerosis: less texture */
    float hole[SYNTH_TILE * SYNTH_TILE];   /* glomerular capillary lumens */
    float wall[SYNTH_TILE * SYNTH_TILE];
    float rbc[SYNTH_TILE * SYNTH_TILE];
} SynthTile;

/* Paint the materials of the tile whose top-left pixel is (x0, y0); w, h
 * are its size (<= SYNTH_TILE).  prims lists the primitives that touch it,
 * in painting order. */
void synth_raster_tile(const SynthWorld *w, SynthTile *t, int x0, int y0, int tw, int th,
                       const int32_t *prims, int count);

#endif
