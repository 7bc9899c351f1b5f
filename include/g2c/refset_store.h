/* Reference sets in the catalog: built from slides of one stain (tissue
 * detection + reproducible sampling, include/g2c/refset.h), imported from a
 * folder of tiles, exported for a look by eye.  Every build or import is one
 * transaction: a failed one leaves no half-written set. */
#ifndef G2C_REFSET_STORE_H
#define G2C_REFSET_STORE_H

#include "g2c/catalog.h"
#include "g2c/refset.h"

typedef struct {
    const char *name;
    const char *stain;
    const char *split;  /* only slides of this split; NULL = all */
    int count;          /* crops to draw */
    int size;           /* crops are size x size pixels */
    double mpp;         /* µm/px of the crops; 0 = level-0 pixels of each slide */
    double min_tissue;  /* minimum tissue fraction of a crop (0.5) */
    double max_overlap; /* maximum intersection / crop area of two crops (0.25) */
    G2cAllocation allocation;
    uint64_t seed;
    int thumb_max;      /* longer side of the tissue-detection thumbnail (2048) */
    int threads;        /* crop workers; 0 = all cores */
    int png_level;
    void (*warn)(void *ctx, const char *message);
    void *warn_ctx;
} G2cRefsetBuild;

void g2c_refset_build_default(G2cRefsetBuild *b);

int g2c_refset_build(G2cCatalog *cat, const G2cRefsetBuild *b, int64_t *refset_id);

/* Import every PNG / TIFF tile of dir as set `name` of stain `stain`,
 * brought to size x size (size 0 = as they are). */
int g2c_refset_import(G2cCatalog *cat, const char *name, const char *stain, const char *dir,
                      int size, G2cTileFit fit, int64_t *refset_id);

/* Write the set's crops as NAME-0001.png ... and contact-sheet.png into dir
 * (created if missing). */
int g2c_refset_export(G2cCatalog *cat, const char *name, const char *dir, int *written);

/* Load a set's crops (for training and export).  *images malloc'd. */
int g2c_refset_load(G2cCatalog *cat, const char *name, G2cImage **images, int *count);

#endif
