/* Glomerulus annotations: one small interface, one source file per format
 * (src/annot/annot-geojson.c, annot-asap.c, annot-imagescope.c, annot-csv.c).
 *
 * Every reader produces boxes in level-0 slide pixels.  Polygons become
 * their bounding box; the polygon itself is not kept, since the pipeline
 * crops boxes.  Labels are returned verbatim; mapping them onto catalog
 * labels (and rejecting unknown ones) is the caller's job.
 */
#ifndef G2C_ANNOT_H
#define G2C_ANNOT_H

typedef enum {
    G2C_ANNOT_AUTO = 0, /* from the extension and the first bytes */
    G2C_ANNOT_GEOJSON,
    G2C_ANNOT_ASAP,
    G2C_ANNOT_IMAGESCOPE,
    G2C_ANNOT_CSV,
} G2cAnnotFormat;

typedef struct {
    double x, y, w, h; /* level-0 pixels, w and h > 0 */
    char label[64];    /* "" when the annotation has none */
    char source_id[64]; /* the feature's id / name / index in its file */
} G2cAnnotation;

typedef struct {
    G2cAnnotation *items;
    int count;
    int capacity;
} G2cAnnotationList;

/* Read a whole annotation file.  On error nothing is returned (the list is
 * left empty) and the message names the file and the feature or line:
 * "boxes.csv:7: ..." or "slide.geojson: feature 3: ...". */
int g2c_annot_read(const char *path, G2cAnnotFormat format, G2cAnnotationList *out);
void g2c_annot_list_free(G2cAnnotationList *list);

const char *g2c_annot_format_name(G2cAnnotFormat format);
/* "geojson", "asap", "imagescope", "csv" -> format; -1 if unknown. */
int g2c_annot_format_parse(const char *name, G2cAnnotFormat *format);

/* Writers, used by the test-slide tool and by `g2c export --geojson`. */
int g2c_annot_write_geojson(const char *path, const G2cAnnotationList *list);

/* Internal: the per-format readers behind g2c_annot_read, and the helper
 * they share to append a box. */
int g2c_annot_read_geojson(const char *path, G2cAnnotationList *out);
int g2c_annot_read_asap(const char *path, G2cAnnotationList *out);
int g2c_annot_read_imagescope(const char *path, G2cAnnotationList *out);
int g2c_annot_read_csv(const char *path, G2cAnnotationList *out);
int g2c_annot_list_push(G2cAnnotationList *list, const G2cAnnotation *a);

#endif
