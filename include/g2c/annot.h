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
    G2cAnnotFormat format; /* the format g2c_annot_read found (never AUTO) */
} G2cAnnotationList;

/* Read a whole annotation file into *out, which is overwritten (not freed:
 * pass a zeroed or freed list).  AUTO picks the format from the extension
 * (.geojson/.json, .xml with ASAP or ImageScope told apart by the root
 * element, .csv), or from the first bytes for other names.
 *
 * On error -1 is returned, the list is left empty and the message names the
 * file and the place, counting from 1: "boxes.csv:7: ...",
 * "slide.geojson: feature 3 (5f0c...): ...",
 * "slide.xml:41: annotation 2 (Annotation 1): ...".  A file that is valid but
 * holds no annotations gives an empty list and 0.
 *
 * label: verbatim (ASAP's "None" group reads as "").  A label longer than 63
 * bytes is an error rather than silently cut; a longer source_id is cut. */
int g2c_annot_read(const char *path, G2cAnnotFormat format, G2cAnnotationList *out);
void g2c_annot_list_free(G2cAnnotationList *list);

const char *g2c_annot_format_name(G2cAnnotFormat format);
/* "auto", "geojson", "asap", "imagescope", "csv" (any case) -> format;
 * -1 with a message if unknown. */
int g2c_annot_format_parse(const char *name, G2cAnnotFormat *format);

/* Writers, used by the test-slide tool and by `g2c export --geojson`.
 * A QuPath-importable FeatureCollection of rectangle Polygons with
 * properties.objectType "annotation" and classification.name = label
 * (omitted when ""); source_id goes to the feature's id when it is a UUID,
 * else to properties.name.  Reading the file back gives the same list. */
int g2c_annot_write_geojson(const char *path, const G2cAnnotationList *list);

/* Internal: the per-format readers behind g2c_annot_read (same contract),
 * and the helper they share to append a box (-1 on out of memory). */
int g2c_annot_read_geojson(const char *path, G2cAnnotationList *out);
int g2c_annot_read_asap(const char *path, G2cAnnotationList *out);
int g2c_annot_read_imagescope(const char *path, G2cAnnotationList *out);
int g2c_annot_read_csv(const char *path, G2cAnnotationList *out);
int g2c_annot_list_push(G2cAnnotationList *list, const G2cAnnotation *a);

#endif
