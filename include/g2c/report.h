/* Slide-level reports for people, and export back to the slide viewer.
 *
 * g2c report: for one slide (or every slide of a patient) and one model,
 * writes into a folder
 *   report.html    a self-contained page (images as data: URIs, inline CSS,
 *                  no script): slide thumbnail with every glomerulus box
 *                  coloured by predicted class (one inline SVG), summary
 *                  counts, one table row per glomerulus (PAS crop, generated
 *                  stain views, probabilities, annotated label, model) and
 *                  provenance (model, runs, catalog, slide fingerprint,
 *                  g2c version, time);
 *   report.json    the same data, valid against schemas/report.schema.json;
 *   glomeruli.csv  one row per glomerulus;
 *   overlay.png    the thumbnail with the boxes drawn.
 * A patient report writes index.html (one row per slide, with totals) and
 * one such folder per slide, slide-<id>/.
 *
 * g2c export --geojson: each slide's glomeruli as QuPath GeoJSON (rectangle
 * Polygons, objectType "annotation", classification = predicted class with
 * its colour, measurements = the probabilities), one file per slide.
 *
 * The catalog is only read.  Everything is checked (slide, patient, model,
 * crops, predictions) before anything is written, so bad input leaves the
 * output folder as it was.
 */
#ifndef G2C_REPORT_H
#define G2C_REPORT_H

#include <stdint.h>

#include "g2c/catalog.h"

typedef struct {
    const char *slide;   /* slide id or file name; exactly one of slide and */
    const char *patient; /* patient (external id) is set (export: or neither = all) */
    const char *model;   /* model name or id; NULL = the newest model with
                          * predictions on the slide / the patient's slides */
    const char *out_dir; /* created when missing */
    int thumb_width;     /* slide thumbnail width in px; 0 = 1200 */
    int crop_size;       /* crop thumbnails in the table, px; 0 = 96 */
    int threads;         /* workers for the crop thumbnails; 0 = all cores */
    /* Warnings (slide file missing or changed, a slide of the patient
     * without predictions) go here; may be NULL. */
    void (*warn)(void *ctx, const char *message);
    void *warn_ctx;
} G2cReportOptions;

void g2c_report_options_default(G2cReportOptions *opt);

typedef struct {
    int slides;          /* slide reports written */
    int skipped;         /* slides of the patient without predictions */
    long glomeruli;      /* table rows written, all slides */
    char model[256];     /* the model used */
} G2cReportResult;

/* opt->slide or opt->patient.  Errors name the catalog and what was not
 * found: "g2c.db: no slide 'x.tiff' ...", "... has no predictions from
 * model 'm2' ...", "... has no glomerulus crops yet ...". */
int g2c_report_write(G2cCatalog *cat, const G2cReportOptions *opt, G2cReportResult *result);

/* One GeoJSON file per slide with predictions from the model: slide,
 * patient or (neither) every such slide.  File names are the slide's file
 * name with .geojson for its extension (made safe; "-<slide id>" added when
 * two exported slides share a name). */
int g2c_export_geojson(G2cCatalog *cat, const G2cReportOptions *opt, G2cReportResult *result);

/* The colour a class is drawn in everywhere (report, overlay, export):
 * fixed for noa, ss, gs and nongs, a stable hash-chosen one otherwise. */
void g2c_report_label_color(const char *label, uint8_t rgb[3]);

#endif
