/* Tiled pyramidal TIFF writer: turns an RGB image into a slide file that
 * OpenSlide (3.4.1, "generic-tiff") opens.
 *
 * Layout: one IFD per pyramid level, level 0 first, every further level
 * tagged SubFileType = REDUCEDIMAGE (OpenSlide skips other IFDs), all tiled
 * (OpenSlide refuses strip TIFFs).  Each level halves the previous one
 * (floor, at least 1 pixel) with the project's area resize, so level k is
 * what g2c_image_resize would make of level k-1.
 *
 * Resolution: XResolution/YResolution in pixels per centimetre
 * (10000 / mpp) with ResolutionUnit = CENTIMETER on every level.  OpenSlide
 * 3.4.1 does NOT turn that into openslide.mpp-x / openslide.mpp-y for
 * generic TIFF; it only passes the tags through as properties
 *   tiff.XResolution = "20000", tiff.YResolution = "20000",
 *   tiff.ResolutionUnit = "centimeter"
 * (for 0.5 µm/px), so a reader takes openslide.mpp-* when present and
 * otherwise computes mpp = 10000 / tiff.XResolution when the unit is
 * "centimeter" (25400 / ... for "inch").
 *
 * OpenSlide's content hash (openslide.quickhash-1) covers the smallest
 * level; it leaves the property out when that level is large, so keep the
 * full pyramid (levels = 0) when the slide needs a fingerprint.
 *
 * The file is written under a temporary name beside the target and renamed
 * at the end, so a crash never leaves a half-written slide under the final
 * name.  Memory: besides the caller's level 0, at most two reduced levels
 * are held at once (about a third of level 0).
 */
#ifndef G2C_TIFFWRITER_H
#define G2C_TIFFWRITER_H

#include "g2c/image.h"

enum { G2C_TIFF_MAX_LEVELS = 32 };

typedef enum {
    G2C_TIFF_DEFLATE = 0, /* lossless, the default: pixel tests are exact */
    G2C_TIFF_LZW,         /* lossless */
    G2C_TIFF_JPEG,        /* lossy (YCbCr), much smaller */
} G2cTiffCompression;

typedef struct {
    int tile_size;        /* tile width = height, a multiple of 16; 0 = 256 */
    int levels;           /* 0 = halve until the smallest level fits in one
                           * tile; n > 0 = at most n levels */
    G2cTiffCompression compression;
    int jpeg_quality;     /* 1..100, 0 = 90; JPEG only */
    double mpp;           /* µm per level-0 pixel; 0 = record no resolution */
    const char *description; /* ImageDescription; NULL = a default naming g2c */
} G2cTiffOptions;

/* Defaults: 256-pixel tiles, full pyramid, Deflate, no resolution. */
void g2c_tiff_options_init(G2cTiffOptions *opt);

/* The number of levels g2c_tiff_write makes for a width x height image, and
 * the size of level `level` (level 0 = the image). */
int g2c_tiff_level_count(int width, int height, const G2cTiffOptions *opt);
void g2c_tiff_level_size(int width, int height, int level, int *lw, int *lh);

/* Write img (RGB8) to path as a tiled pyramidal TIFF.  opt NULL = defaults.
 * Errors name the file. */
int g2c_tiff_write(const char *path, const G2cImage *img, const G2cTiffOptions *opt);

/* "deflate", "lzw", "jpeg" <-> compression. */
const char *g2c_tiff_compression_name(G2cTiffCompression c);
int g2c_tiff_compression_parse(const char *name, G2cTiffCompression *c);

#endif
