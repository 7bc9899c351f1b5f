/* Inside g2c report / export: the report's data, loaded once from the
 * catalog, and the writers that turn it into HTML, JSON, CSV, PNG and
 * GeoJSON.  One file per step: report-resolve.c (which slide, patient,
 * model), report-load.c (rows from the catalog), report-crops.c (small crop
 * thumbnails), report-thumb.c (slide thumbnail and overlay), report-html.c,
 * report-json.c, report-csv.c, report-index.c (patient page), report.c
 * (the command), export-geojson.c, report-text.c (escaping, base64). */
#ifndef G2C_REPORT_PRIVATE_H
#define G2C_REPORT_PRIVATE_H

#include "g2c/catalog.h"
#include "g2c/image.h"
#include "g2c/report.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    char *label;
    double p;
} G2cRepProb;

typedef struct {
    char *stain;
    uint8_t *img; /* small JPEG for the table; NULL when unreadable */
    size_t img_size;
} G2cRepView;

typedef struct {
    int64_t annotation_id;
    double x, y, w, h;  /* level-0 px */
    char *source_id;
    char *annotated;    /* NULL: unlabelled */
    char *predicted;
    int predicted_index; /* into G2cRepData.labels */
    double confidence;
    int agrees;          /* 1, 0, or -1 when unlabelled */
    G2cRepProb *probs;   /* in label order */
    int n_probs;
    int64_t run_id;
    char *created_at;
    uint8_t *crop_img;   /* small JPEG; NULL when the catalog has none */
    size_t crop_img_size;
    G2cRepView *views;
    int n_views;
} G2cRepGlom;

typedef struct {
    int64_t id;
    char *kind, *status, *started_at, *finished_at; /* finished_at may be NULL */
} G2cRepRun;

typedef struct {
    int64_t id;
    char *name, *path, *fingerprint, *vendor, *stain, *patient;
    int64_t width, height, file_size;
    double mpp; /* 0 when unknown */
} G2cRepSlide;

typedef struct {
    int64_t id;
    char *name, *kind, *config, *checkpoint, *created_at; /* checkpoint may be NULL */
} G2cRepModel;

typedef struct {
    char *catalog;        /* catalog path as given */
    char generated_at[32];
    G2cRepSlide slide;
    G2cRepModel model;
    G2cRepRun *runs;
    int n_runs;
    char **labels;        /* classes in this report, catalog order first */
    int n_labels;
    G2cRepGlom *gloms;    /* ordered by annotation id */
    int n_gloms;
    int unclassified;     /* glomeruli of the slide the model did not classify */
    /* summary */
    int *counts;          /* per label, predicted */
    int annotated, disagreements;
    double mean_confidence;
    /* thumbnail: plain JPEG (for the page, under the SVG) and PNG with
     * the boxes drawn (overlay.png) */
    int thumb_width, thumb_height;
    uint8_t *thumb_img, *overlay_png;
    size_t thumb_img_size, overlay_png_size;
    char *slide_note;     /* NULL, or why the thumbnail is not the slide */
} G2cRepData;

/* ---- report-text.c ---- */
/* Copy of s with invalid UTF-8 replaced by U+FFFD (jansson and browsers
 * need valid text; file names need not be).  NULL stays NULL. */
char *g2c_rep_strdup(const char *s);
void g2c_rep_html(FILE *out, const char *s);       /* & < > " ' escaped */
void g2c_rep_csv(FILE *out, const char *s);        /* RFC 4180 field */
void g2c_rep_base64(FILE *out, const uint8_t *data, size_t size);
void g2c_rep_color_hex(const char *label, char hex[8]); /* "#rrggbb" */
void g2c_rep_now(char buf[32]); /* ISO-8601 UTC; SOURCE_DATE_EPOCH wins */
/* "image/png" or "image/jpeg" and the size, from the image's header;
 * NULL (and 0 x 0) for anything else. */
const char *g2c_rep_image_type(const uint8_t *data, size_t size, int *width, int *height);

/* ---- jpeg.c ---- */
/* JFIF through libjpeg-turbo (its default 4:2:0), quality 1-100. */
int g2c_rep_jpeg_encode(const G2cImage *img, int quality, uint8_t **jpeg, size_t *size);
/* Write through "path.tmp" and rename on success, so a reader never sees a
 * half-written file. */
FILE *g2c_rep_open(const char *path);
int g2c_rep_close(FILE *f, const char *path);
void g2c_rep_abort(FILE *f, const char *path); /* drop the temporary file */

/* ---- report-resolve.c ---- */
/* Which slides: "slide_id = ?1", a patient's, or every slide. */
typedef enum { G2C_SCOPE_SLIDE, G2C_SCOPE_PATIENT, G2C_SCOPE_ALL } G2cRepScopeKind;
typedef struct {
    G2cRepScopeKind kind;
    int64_t id;       /* slide or patient id */
    char label[600];  /* "slide 'a.tiff' (id 3)", "patient 'P1'", "the catalog" */
} G2cRepScope;

int g2c_rep_find_slide(G2cCatalog *cat, const char *spec, G2cRepScope *scope);
int g2c_rep_find_patient(G2cCatalog *cat, const char *spec, G2cRepScope *scope);
/* The model: by name or id, else the newest with predictions in scope.
 * Fails when the scope has no predictions from it. */
int g2c_rep_find_model(G2cCatalog *cat, const G2cRepScope *scope, const char *spec,
                       int64_t *model_id, char *name, size_t name_size);
/* Fails when a slide in scope has glomeruli but no crops of them. */
int g2c_rep_check_crops(G2cCatalog *cat, const G2cRepScope *scope);
/* Slides in scope, ordered by id, and whether each has predictions from
 * the model.  *ids and *has malloc'd. */
int g2c_rep_scope_slides(G2cCatalog *cat, const G2cRepScope *scope, int64_t model_id,
                         int64_t **ids, int **has, int *n);
/* A slide's one-line name for messages: "slide 'a.tiff' (id 3)". */
void g2c_rep_slide_label(G2cCatalog *cat, int64_t slide_id, char *buf, size_t size);

/* ---- report-load.c ---- */
/* Everything but the images (report-crops.c and report-thumb.c add those;
 * the export needs none). */
int g2c_rep_load(G2cCatalog *cat, int64_t slide_id, int64_t model_id, G2cRepData *d);
void g2c_rep_free(G2cRepData *d);

/* ---- report-crops.c ---- */
int g2c_rep_load_crops(G2cCatalog *cat, const G2cReportOptions *opt, G2cRepData *d);

/* ---- report-thumb.c ---- */
/* Thumbnail and overlay; a slide that cannot be read gives a grey canvas,
 * a warning and slide_note. */
int g2c_rep_thumbnail(const G2cReportOptions *opt, G2cRepData *d);
/* The overlay shrunk to `width` px (patient index), JPEG. */
int g2c_rep_small_overlay(const G2cRepData *d, int width, uint8_t **jpeg, size_t *size);

/* ---- writers ---- */
int g2c_rep_write_html(const char *path, const G2cRepData *d);
json_t *g2c_rep_json(const G2cRepData *d);
int g2c_rep_write_json(const char *path, const G2cRepData *d);
int g2c_rep_write_csv(const char *path, const G2cRepData *d);

/* Per-slide line of the patient index. */
typedef struct {
    int64_t slide_id;
    char *name, *stain;
    char *dir;           /* relative folder of its report; NULL when skipped */
    int n_labels;
    char **labels;
    int *counts;
    int glomeruli, unclassified, annotated, disagreements;
    double mean_confidence;
    uint8_t *overlay_img; /* small JPEG */
    size_t overlay_img_size;
} G2cRepIndexRow;

int g2c_rep_write_index(const char *path, const char *catalog, const char *patient,
                        const G2cRepModel *model, const G2cRepIndexRow *rows, int n);
void g2c_rep_index_row_free(G2cRepIndexRow *row);

#endif
