/* Helpers shared by the annotation readers of src/annot/ (not installed). */
#ifndef G2C_ANNOT_PRIVATE_H
#define G2C_ANNOT_PRIVATE_H

#include <libxml/tree.h>
#include <stddef.h>

#include "g2c/annot.h"

/* Bounding box of the points of one shape. */
typedef struct {
    double x0, y0, x1, y1;
    int n; /* points added */
} G2cAnnotBounds;

void g2c_annot_bounds_init(G2cAnnotBounds *b);
void g2c_annot_bounds_add(G2cAnnotBounds *b, double x, double y);
/* Set a's box from b; errors (no context) for fewer than 2 points and for a
 * zero width or height. */
int g2c_annot_bounds_to_box(const G2cAnnotBounds *b, G2cAnnotation *a);

/* Copy a label; error (no context) if it does not fit.  NULL = "". */
int g2c_annot_set_label(G2cAnnotation *a, const char *label);
/* Copy an id, cut to fit: it only names the box in messages and records. */
void g2c_annot_set_source_id(G2cAnnotation *a, const char *id);

/* A finite number that fills the whole string (blanks around allowed). */
int g2c_annot_parse_number(const char *text, double *value);

/* Whole file into a NUL-terminated malloc'd buffer.  Errors name the file:
 * it cannot be opened or read, or it is empty (nothing but white space). */
int g2c_annot_load_file(const char *path, char **text, size_t *len);

/* ---- XML (annot-xml.c) ---- */

/* Parse quietly and safely (no network, no entity substitution, nothing
 * printed); errors "PATH: ..." or "PATH:LINE: malformed XML: ...". */
xmlDoc *g2c_annot_xml_load(const char *path);
/* Element children of `node` named `name`, in order: pass NULL to start. */
xmlNode *g2c_annot_xml_next(xmlNode *node, xmlNode *prev, const char *name);
/* Attribute value as a malloc'd string (free with free()), NULL if absent. */
char *g2c_annot_xml_attr(xmlNode *node, const char *name);
int g2c_annot_xml_is(const xmlNode *node, const char *name);
/* The line of an element (right past 65535, unlike xmlGetLineNo in 2.9). */
long g2c_annot_xml_line(const xmlNode *node);
/* Add the X, Y attributes of list's `element` children (<Vertex X= Y=/>)
 * to b.  Errors "Vertex 3 (line 40): X 'a' is not a number".
 * decimal_comma also takes "12,5" for 12.5. */
int g2c_annot_xml_points(xmlNode *list, const char *element, int decimal_comma,
                         G2cAnnotBounds *b);

/* The XML readers on an already parsed document (AUTO parses once to see
 * the root element, then hands the document over). */
int g2c_annot_read_asap_doc(const char *path, xmlDoc *doc, G2cAnnotationList *out);
int g2c_annot_read_imagescope_doc(const char *path, xmlDoc *doc, G2cAnnotationList *out);

#endif
