/* Reference sets: the algorithmic core of stage 1 (each stain's look is
 * learnt from random unlabelled crops of tissue).
 *
 * Four pure layers, each over images and coordinates only (no catalog, no
 * files other than the ones named):
 *   tissue.c  tissue mask of a low-resolution image, O(1) box fractions,
 *             and an independent per-crop tissue checker;
 *   sample.c  reproducible crop positions over several slides' masks;
 *   tiles.c   import of a folder of existing PNG / TIFF tiles;
 *   sheet.c   a contact sheet (grid of thumbnails) as one PNG.
 *
 * ---- Tissue detection (g2c_tissue_detect) ------------------------------
 *
 * Input: a low-resolution RGB view of a slide (a thumbnail or the lowest
 * pyramid level).  Per pixel, with mn = min(R,G,B), mx = max(R,G,B),
 * mean = (R+G+B)/3 and HSV saturation S = 255 (mx - mn) / mx (0 when mx = 0):
 *
 *   1. Otsu's threshold t_otsu on the 256-bin histogram of S over the whole
 *      image (the threshold that maximises the between-class variance; on
 *      a plateau of equal variance, the middle of the plateau).
 *   2. t = clamp(t_otsu, sat_floor, sat_ceiling).  The ceiling matters for
 *      fields that are all tissue (no glass): there Otsu splits stained
 *      tissue into a light and a dark half, and the ceiling keeps the light
 *      half.  The floor matters for images that are all glass: there Otsu
 *      splits scanner and JPEG noise, and the floor keeps noise out.
 *   3. A pixel is tissue when
 *        mx >= black_level                 (not black: ink, scanner borders)
 *        and mn <= white_level             (brightness cut: not near-white
 *                                           glass, whatever its tint)
 *        and (S >= t or mean <= gray_level)
 *      The gray_level clause keeps pale, weakly saturated stain (the
 *      haematoxylin counterstain of IHC) that is still clearly darker than
 *      glass.
 *   4. Specks: 8-connected tissue components smaller than the minimum
 *      tissue area are removed (dust, debris, stray cells).
 *   5. Holes: 4-connected background components that do not touch the
 *      image border and are smaller than the maximum hole area are filled
 *      (lumens, small tears: they belong to the tissue around them).
 *
 * Areas are physical when the mask pixel size is known: um_per_px > 0
 * (µm per mask pixel = the slide's µm per level-0 pixel x the thumbnail's
 * downsample) and min_tissue_um2 / max_hole_um2 are in µm².  Images without
 * a known pixel size (um_per_px = 0) use min_tissue_frac / max_hole_frac,
 * fractions of the image area, instead.  Defaults (g2c_tissue_params_default):
 *   sat_floor 8, sat_ceiling 25 (of 255), white_level 230, gray_level 215,
 *   black_level 30, min_tissue_um2 10000 (0.01 mm², a 100 µm square),
 *   max_hole_um2 20000 (a 140 µm square: tubule lumens, Bowman's space,
 *   small vessels), min_tissue_frac 1e-4, max_hole_frac 1e-3.
 *
 * Measured on the shared data at 4x downsample: CMU-1-Small-Region 37 %
 * tissue (the strip, lumens filled, glass excluded), TCGA-CR-7395 63 %,
 * kidney-PAS 91 % (all tissue but its large lumen).  Known limit: in an IHC
 * field with no glass, the palest interstitium (mean above gray_level and
 * saturation under the threshold) reads as background: kidney-CD68 70 %.
 *
 * ---- Independent crop checker (g2c_crop_tissue_fraction) ----------------
 *
 * Deliberately unlike the detector (no histogram, no morphology, no low
 * resolution): on the full-resolution crop itself, a pixel counts as tissue
 * when its mean (R+G+B)/3 is below 225 and its chroma mx - mn is at least
 * 12.  It is for tests and for spot-checking sampled crops; lumens inside
 * tissue count as background here, so expect it to read lower than the
 * mask's fraction.
 */
#ifndef G2C_REFSET_H
#define G2C_REFSET_H

#include <stdint.h>

#include "g2c/image.h"

/* ---- tissue masks ------------------------------------------------------ */

typedef struct {
    int width, height;
    double scale;       /* level-0 px per mask px; set by the caller, 1 by default */
    uint8_t *pixels;    /* width * height, row-major, 0 = background, 1 = tissue */
    uint32_t *integral; /* (width+1) x (height+1) running counts of tissue pixels */
} G2cTissueMask;

typedef struct {
    int sat_floor, sat_ceiling; /* clamp of Otsu's threshold, 0..255 */
    int white_level;            /* min(R,G,B) above this: background */
    int gray_level;             /* mean(R,G,B) at or below this: tissue even if unsaturated */
    int black_level;            /* max(R,G,B) below this: background */
    double um_per_px;           /* µm per mask pixel; 0 = unknown, use the fractions */
    double min_tissue_um2, max_hole_um2;
    double min_tissue_frac, max_hole_frac;
} G2cTissueParams;

typedef struct {
    int otsu;            /* Otsu's threshold on saturation, before the clamp */
    int threshold;       /* the saturation threshold used */
    int specks_removed;  /* tissue components removed as too small */
    int holes_filled;    /* enclosed background components filled */
    uint64_t tissue_px;  /* tissue pixels in the final mask */
} G2cTissueStats;

void g2c_tissue_params_default(G2cTissueParams *p);

/* A width x height mask of zeros with scale 1 and its (zero) integral. */
int g2c_tissue_mask_alloc(G2cTissueMask *mask, int width, int height);
void g2c_tissue_mask_free(G2cTissueMask *mask);

/* Recompute the integral image after writing mask->pixels by hand. */
void g2c_tissue_mask_update(G2cTissueMask *mask);

/* Otsu's threshold of a 256-bin histogram: values >= the threshold form the
 * upper class.  0 when the histogram is empty or has a single value. */
int g2c_otsu_threshold(const uint64_t hist[256]);

/* Detect tissue in img into *mask (allocated here, scale 1: set mask->scale
 * afterwards).  params NULL = defaults; stats may be NULL.  An image with no
 * tissue is not an error: the mask is all zeros.  On error *mask is left
 * empty (freeing it is harmless). */
int g2c_tissue_detect(const G2cImage *img, const G2cTissueParams *params,
                      G2cTissueMask *mask, G2cTissueStats *stats);

/* Tissue pixels in the whole mask. */
uint64_t g2c_tissue_area(const G2cTissueMask *mask);

/* Fraction of the box (x, y, w, h), in mask pixels and possibly fractional,
 * that lies on tissue, each mask pixel a unit square [i, i+1) x [j, j+1).
 * Exact (area-weighted) and O(1) through the integral image; parts of the
 * box outside the mask count as background.  0 for an empty box. */
double g2c_tissue_fraction(const G2cTissueMask *mask, double x, double y,
                           double w, double h);

/* The same for a level-0 box, through mask->scale. */
double g2c_tissue_fraction_l0(const G2cTissueMask *mask, double x0, double y0,
                              double w, double h);

/* The independent checker (see above): fraction of crop pixels that look
 * like tissue. */
double g2c_crop_tissue_fraction(const G2cImage *crop);

/* ---- crop positions ----------------------------------------------------- */

typedef enum {
    G2C_ALLOC_PROPORTIONAL, /* crops per slide proportional to tissue area */
    G2C_ALLOC_EVEN          /* the same number of crops on every slide */
} G2cAllocation;

typedef struct {
    int crop_size;       /* side of a square crop, level-0 px */
    double min_tissue;   /* minimum tissue fraction of a crop, through its mask */
    double max_overlap;  /* maximum intersection / crop area between two crops
                            of one slide (0 = disjoint, touching allowed;
                            >= 1 = no limit) */
    G2cAllocation allocation;
    uint64_t seed;
    int patience;        /* a slide is full after this many rejected candidates
                            in a row; 0 = 2000 */
} G2cSampleParams;

typedef struct {
    int slide;      /* index into the masks given */
    int64_t x0, y0; /* top-left corner, level-0 px */
} G2cCropPos;

/* Draw n crop positions over n_slides masks (each with its scale).
 *
 * Allocation: n is split across slides by largest remainder, proportional to
 * each slide's tissue area in level-0 px² or evenly (ties go to the lower
 * slide index); the split is strict, a slide that cannot hold its share is
 * not topped up by another.  On each slide, candidates are centred on a
 * uniformly drawn tissue pixel (uniform within it), must lie inside the
 * mask's extent (width x scale by height x scale), must have at least
 * min_tissue of their area on tissue and must overlap no earlier crop of
 * that slide by more than max_overlap (a hashed grid of crop-sized cells
 * keeps this O(1)).  Every slide draws from its own stream derived from
 * seed and its index, so the result depends only on the inputs and seed.
 *
 * Output: *out (malloc'd, n entries, by slide then draw order).  Errors
 * return -1 with *out = NULL, never a partial list: a slide with no tissue
 * ("slide 2 has no tissue"), or fewer than n crops placeable (the message
 * says how many could be placed and on which slide it fell short). */
int g2c_sample_crops(const G2cTissueMask *masks, int n_slides, int n,
                     const G2cSampleParams *params, G2cCropPos **out);

/* ---- tile folders ------------------------------------------------------- */

typedef enum {
    G2C_TILE_RESIZE, /* centre-crop to the largest square, then resample to
                        size x size (area filter when shrinking, bilinear
                        when enlarging) */
    G2C_TILE_CROP    /* centre-crop size x size at native resolution; a tile
                        smaller than that is an error */
} G2cTileFit;

typedef struct {
    char *name;     /* file name within the folder (no directory), owned */
    G2cImage image; /* owned */
} G2cTile;

/* Read every *.png, *.tif and *.tiff (any letter case; hidden files and other
 * names skipped) in dir, sorted by file name (byte order), into size x size
 * images (size 0 = keep each tile as it is).  The format is told by the
 * file's signature.  TIFF: the first directory, strip or tiled, any
 * photometric libtiff's RGBA interface converts, alpha over white.
 * Errors name the file; nothing is returned on error.  An empty folder
 * gives 0 tiles. */
int g2c_tiles_read_dir(const char *dir, int size, G2cTileFit fit,
                       G2cTile **tiles, int *count);
void g2c_tiles_free(G2cTile *tiles, int count);

/* One tile file (PNG or TIFF by signature) as it is. */
int g2c_tile_read(const char *path, G2cImage *img);

/* ---- contact sheets ----------------------------------------------------- */

/* A grid of thumbnails on white: min(columns, count) columns, as many rows
 * as needed, each cell thumb x thumb with a 2 px white gutter between cells
 * and around the edge, so the sheet is cols * thumb + (cols + 1) * 2 wide.
 * Each image is scaled to fit its cell (aspect kept, centred). */
int g2c_contact_sheet(const G2cImage *images, int count, int thumb, int columns,
                      G2cImage *sheet);
int g2c_contact_sheet_write(const char *path, const G2cImage *images, int count,
                            int thumb, int columns);

#endif
