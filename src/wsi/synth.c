/* Synthetic multi-stain kidney fields: names, stains, and the render loop.
 * The geometry is in synth-world.c, the painting in synth-raster.c. */
#include "synth-private.h"

#include "g2c/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- names --------------------------------------------------------------- */

static const char *const stain_names[G2C_STAIN_COUNT] = {"PAS", "HE", "MASSON", "PASM"};
static const char *const class_names[G2C_GLOM_CLASS_COUNT] = {"noa", "ss", "gs"};

const char *g2c_stain_name(G2cStain stain)
{
    return (unsigned)stain < G2C_STAIN_COUNT ? stain_names[stain] : "?";
}

int g2c_stain_parse(const char *name, G2cStain *stain)
{
    for (int i = 0; i < G2C_STAIN_COUNT; i++)
        if (strcasecmp(name, stain_names[i]) == 0) {
            *stain = (G2cStain)i;
            return 0;
        }
    return g2c_error("unknown stain '%s' (PAS, HE, MASSON, PASM)", name);
}

const char *g2c_glom_class_name(G2cGlomClass cls)
{
    return (unsigned)cls < G2C_GLOM_CLASS_COUNT ? class_names[cls] : "?";
}

int g2c_glom_class_parse(const char *name, G2cGlomClass *cls)
{
    for (int i = 0; i < G2C_GLOM_CLASS_COUNT; i++)
        if (strcasecmp(name, class_names[i]) == 0) {
            *cls = (G2cGlomClass)i;
            return 0;
        }
    return g2c_error("unknown glomerulus class '%s' (noa, ss, gs)", name);
}

/* ---- stains ---------------------------------------------------------------
 * Each material's colour at full density over white; densities add as
 * optical densities (Beer-Lambert), so overlaps mix like dyes do.  Colours
 * were matched by eye to the real fields in shared/data/stains. */

typedef struct {
    uint8_t glass[3];
    uint8_t colour[M_COUNT][3];
} StainDef;

static const StainDef stains[G2C_STAIN_COUNT] = {
    [G2C_STAIN_PAS] = {{244, 243, 247},
                       {[M_STROMA] = {196, 150, 212}, [M_CYTO] = {196, 168, 218},
                        [M_NUC] = {70, 62, 135}, [M_BM] = {120, 30, 140},
                        [M_MATRIX] = {160, 70, 170}, [M_COLL] = {214, 172, 218},
                        [M_RBC] = {214, 128, 150}, [M_BRUSH] = {160, 80, 175}}},
    [G2C_STAIN_HE] = {{245, 243, 245},
                      {[M_STROMA] = {240, 175, 205}, [M_CYTO] = {234, 138, 184},
                       [M_NUC] = {62, 40, 122}, [M_BM] = {222, 125, 178},
                       [M_MATRIX] = {232, 150, 192}, [M_COLL] = {238, 165, 200},
                       [M_RBC] = {222, 46, 66}, [M_BRUSH] = {228, 128, 178}}},
    [G2C_STAIN_MASSON] = {{244, 245, 247},
                          {[M_STROMA] = {196, 208, 238}, [M_CYTO] = {214, 96, 122},
                           [M_NUC] = {66, 40, 58}, [M_BM] = {100, 124, 200},
                           [M_MATRIX] = {112, 136, 204}, [M_COLL] = {36, 76, 184},
                           [M_RBC] = {236, 66, 40}, [M_BRUSH] = {204, 84, 114}}},
    [G2C_STAIN_PASM] = {{245, 243, 245},
                        {[M_STROMA] = {222, 186, 214}, [M_CYTO] = {222, 146, 204},
                         [M_NUC] = {78, 48, 112}, [M_BM] = {22, 18, 22},
                         [M_MATRIX] = {70, 50, 70}, [M_COLL] = {164, 138, 140},
                         [M_RBC] = {220, 66, 108}, [M_BRUSH] = {218, 158, 208}}},
};

/* exp(-od) in steps of 1/256 up to od = 16: a table lookup instead of
 * three exponentials per pixel (an intensity step of 0.4%, below one grey
 * level). */
enum { EXP_STEPS = 256, EXP_SIZE = 16 * EXP_STEPS };

typedef struct {
    float glass[3];
    float od[M_COUNT][3];
    float exp_table[EXP_SIZE + 1];
} StainOD;

static void stain_od(G2cStain stain, StainOD *s)
{
    const StainDef *d = &stains[stain];
    for (int c = 0; c < 3; c++) {
        s->glass[c] = d->glass[c];
        for (int m = 0; m < M_COUNT; m++)
            s->od[m][c] = -logf((d->colour[m][c] > 0 ? d->colour[m][c] : 1) / 255.0f);
    }
    for (int i = 0; i <= EXP_SIZE; i++)
        s->exp_table[i] = expf(-(float)i / EXP_STEPS);
}

/* Materials with a fibrillar or granular look get per-pixel grain;
 * sclerosis is glassy, so less of it there. */
static void colour_tile(const SynthTile *t, const StainOD *s, uint32_t seed, int x0, int y0,
                        int tw, int th, G2cImage *out)
{
    static const int grainy[M_COUNT] = {[M_STROMA] = 1, [M_CYTO] = 1, [M_MATRIX] = 1,
                                        [M_COLL] = 1, [M_BRUSH] = 1};
    for (int y = 0; y < th; y++) {
        uint8_t *row = out->rgb + ((size_t)(y0 + y) * out->width + x0) * 3;
        for (int x = 0; x < tw; x++) {
            int k = y * SYNTH_TILE + x;
            float grain = synth_hash01(seed, x0 + x, y0 + y) * 2 - 1;
            float tissue = t->tissue[k];
            float g = tissue * (1 + grain * 0.18f * (1 - 0.85f * t->glassy[k]));
            float od[3] = {0, 0, 0};
            for (int m = 0; m < M_COUNT; m++) {
                float d = t->m[m][k];
                if (d <= 0)
                    continue;
                d *= grainy[m] ? g : tissue;
                od[0] += d * s->od[m][0];
                od[1] += d * s->od[m][1];
                od[2] += d * s->od[m][2];
            }
            float vary = (1 + 0.12f * t->vary[k]) * EXP_STEPS;
            for (int c = 0; c < 3; c++) {
                float e = od[c] * vary;
                int idx = e < EXP_SIZE ? (int)(e + 0.5f) : EXP_SIZE;
                float v = s->glass[c] * s->exp_table[idx] + grain * 1.5f;
                row[x * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
            }
        }
    }
}

/* ---- the render loop -------------------------------------------------------- */

typedef struct {
    int tiles_x, tiles_y;
    int32_t *start; /* tiles + 1 offsets into list */
    int32_t *list;
} Buckets;

static void tile_range(const SynthPrim *p, int tiles_x, int tiles_y, int *tx0, int *tx1, int *ty0,
                       int *ty1)
{
    int a = (int)floorf(p->x0) / SYNTH_TILE, b = (int)ceilf(p->x1) / SYNTH_TILE;
    int c = (int)floorf(p->y0) / SYNTH_TILE, d = (int)ceilf(p->y1) / SYNTH_TILE;
    *tx0 = p->x0 < 0 ? 0 : a;
    *ty0 = p->y0 < 0 ? 0 : c;
    *tx1 = b >= tiles_x ? tiles_x - 1 : b;
    *ty1 = d >= tiles_y ? tiles_y - 1 : d;
}

/* Which primitives touch which tile, keeping the painting order. */
static int bucket(const SynthWorld *w, Buckets *b)
{
    b->tiles_x = (w->width + SYNTH_TILE - 1) / SYNTH_TILE;
    b->tiles_y = (w->height + SYNTH_TILE - 1) / SYNTH_TILE;
    size_t tiles = (size_t)b->tiles_x * b->tiles_y;
    b->start = calloc(tiles + 1, sizeof *b->start);
    if (!b->start)
        return -1;
    size_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < w->prim_count; i++) {
            int tx0, tx1, ty0, ty1;
            tile_range(&w->prims[i], b->tiles_x, b->tiles_y, &tx0, &tx1, &ty0, &ty1);
            for (int ty = ty0; ty <= ty1; ty++)
                for (int tx = tx0; tx <= tx1; tx++) {
                    size_t tile = (size_t)ty * b->tiles_x + tx;
                    if (pass == 0)
                        b->start[tile + 1]++;
                    else
                        b->list[b->start[tile]++] = i;
                }
        }
        if (pass == 0) {
            for (size_t t = 0; t < tiles; t++)
                b->start[t + 1] += b->start[t];
            total = (size_t)b->start[tiles];
            b->list = malloc((total ? total : 1) * sizeof *b->list);
            if (!b->list)
                return -1;
        }
    }
    /* The fill pass moved every start to the next tile's start. */
    memmove(b->start + 1, b->start, tiles * sizeof *b->start);
    b->start[0] = 0;
    return 0;
}

static int check_scene(const G2cSynthScene *scene, G2cStain stain)
{
    if (scene->width <= 0 || scene->height <= 0 || scene->width > 1 << 20 ||
        scene->height > 1 << 20)
        return g2c_error("synthetic field: size %dx%d out of range", scene->width,
                         scene->height);
    if ((unsigned)stain >= G2C_STAIN_COUNT)
        return g2c_error("synthetic field: unknown stain %d", (int)stain);
    if (scene->mpp < 0 || scene->mpp > 100)
        return g2c_error("synthetic field: bad scale %g µm/px", scene->mpp);
    if (scene->glom_count < 0 || (scene->glom_count > 0 && !scene->gloms))
        return g2c_error("synthetic field: bad glomerulus list");
    /* Glomeruli are at most about 150 µm in radius; far larger ones would
     * only make the capillary placement run for ages. */
    double max_radius = 400.0 / (scene->mpp > 0 ? scene->mpp : 0.5);
    for (int i = 0; i < scene->glom_count; i++) {
        const G2cSynthGlom *g = &scene->gloms[i];
        if (!(g->radius >= 4 && g->radius <= max_radius))
            return g2c_error("synthetic field: glomerulus %d: radius %g px is outside 4 px .. "
                             "400 µm (%g px)", i + 1, g->radius, max_radius);
        if ((unsigned)g->cls >= G2C_GLOM_CLASS_COUNT || !(fabs(g->cx) < 1e7 && fabs(g->cy) < 1e7))
            return g2c_error("synthetic field: glomerulus %d: bad centre or class", i + 1);
    }
    return 0;
}

int g2c_synth_render(const G2cSynthScene *scene, G2cStain stain, G2cImage *out)
{
    out->rgb = NULL;
    out->width = out->height = 0;
    if (check_scene(scene, stain) != 0)
        return -1;
    SynthWorld w;
    if (synth_world_build(&w, scene) != 0)
        return -1;
    Buckets b = {0};
    SynthTile *tile = malloc(sizeof *tile);
    int rc = 0;
    if (!tile || bucket(&w, &b) != 0)
        rc = g2c_error("synthetic field: out of memory for %dx%d", scene->width, scene->height);
    if (rc == 0)
        rc = g2c_image_alloc(out, scene->width, scene->height, 255);
    if (rc == 0) {
        StainOD od;
        stain_od(stain, &od);
        uint32_t grain_seed = (uint32_t)(scene->seed * 0x9E3779B97F4A7C15ULL >> 32) ^ 0x6A41u;
        for (int ty = 0; ty < b.tiles_y; ty++)
            for (int tx = 0; tx < b.tiles_x; tx++) {
                int x0 = tx * SYNTH_TILE, y0 = ty * SYNTH_TILE;
                int tw = w.width - x0 < SYNTH_TILE ? w.width - x0 : SYNTH_TILE;
                int th = w.height - y0 < SYNTH_TILE ? w.height - y0 : SYNTH_TILE;
                size_t t = (size_t)ty * b.tiles_x + tx;
                synth_raster_tile(&w, tile, x0, y0, tw, th, b.list + b.start[t],
                                  b.start[t + 1] - b.start[t]);
                colour_tile(tile, &od, grain_seed, x0, y0, tw, th, out);
            }
    }
    free(tile);
    free(b.start);
    free(b.list);
    synth_world_free(&w);
    return rc;
}

double g2c_synth_tissue_at(const G2cSynthScene *scene, double x, double y)
{
    SynthTissue t;
    float ppu = (float)(1.0 / (scene->mpp > 0 ? scene->mpp : 0.5));
    synth_tissue_init(&t, scene->seed, scene->width, scene->height, ppu);
    return synth_tissue_cover(&t, synth_tissue_field(&t, (float)x, (float)y));
}
