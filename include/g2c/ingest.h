/* Stage 0: slides, annotations and glomerulus crops into the catalog.
 *
 * The unit of work is one manifest row (one slide): everything it adds
 * (patient, slide, levels, annotations, crops) is written in one
 * transaction, or nothing is.  Re-ingesting an unchanged slide is a no-op;
 * a changed file under the same path is reported (or replaced with
 * `reingest`). */
#ifndef G2C_INGEST_H
#define G2C_INGEST_H

#include "g2c/annot.h"
#include "g2c/catalog.h"

typedef enum {
    /* The square around the box (plus margin) is resampled to the patch:
     * every glomerulus fills the patch the same way; the crop's µm/px is
     * recorded.  Works without slide resolution. */
    G2C_FIT_SCALE = 0,
    /* The crop is read at exactly `mpp` µm/px and centre-cropped or padded
     * with white to the patch: glomerulus size is preserved.  Needs the
     * slide's resolution. */
    G2C_FIT_FIXED = 1,
} G2cFitRule;

typedef struct {
    int patch_size;    /* output crops are patch_size x patch_size (224) */
    double margin;     /* context added on each side, as a fraction of the
                          box's longer side (0.1) */
    G2cFitRule fit;
    double mpp;        /* µm/px for G2C_FIT_FIXED */
    int png_level;     /* zlib level of stored crops (1: fast, still lossless) */
    int threads;       /* crop workers; 0 = number of cores */
    int reingest;      /* replace a slide whose file changed */
    /* Warnings (a box clipped to the slide...) go here; may be NULL. */
    void (*warn)(void *ctx, const char *message);
    void *warn_ctx;
} G2cIngestOptions;

void g2c_ingest_options_default(G2cIngestOptions *o);

typedef struct {
    long line;              /* manifest line, 0 for the command line */
    char patient[256];
    char slide[4096];       /* path, resolved against the manifest's folder */
    char stain[64];
    char annotations[4096]; /* "" when none */
    char split[16];         /* "", train, val or test */
} G2cManifestRow;

/* Read a manifest CSV with header `patient,slide,stain[,annotations][,split]`
 * (columns in any order; paths relative to the manifest's folder).  Rows
 * with problems are not returned: each gets one message through `report`
 * ("manifest.csv:7: ...") and counts in *bad_rows, so the good rows still
 * ingest.  A duplicate slide is reported against its first line.  Returns
 * -1 only when the file as a whole is unusable. */
int g2c_manifest_read(const char *path, G2cManifestRow **rows, int *n_rows,
                      int *bad_rows, void (*report)(void *ctx, const char *msg),
                      void *ctx);

typedef enum {
    G2C_INGEST_ADDED,
    G2C_INGEST_UNCHANGED,
    G2C_INGEST_REPLACED,
} G2cIngestOutcome;

typedef struct {
    G2cIngestOutcome outcome;
    int64_t slide_id;
    int annotations;
    int clipped;
} G2cIngestResult;

/* Ingest one slide in one transaction. */
int g2c_ingest_slide(G2cCatalog *cat, const G2cManifestRow *row,
                     const G2cIngestOptions *opt, G2cIngestResult *result);

/* The level-0 square read for a box: the box plus margin, made square
 * around its centre by extending the shorter side. */
void g2c_crop_square(double x, double y, double w, double h, double margin,
                     double *sx, double *sy, double *side);

#endif
