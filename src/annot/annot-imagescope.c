/* Aperio ImageScope XML annotations, as ImageScope saves them beside the
 * slide (SLIDE.xml):
 *
 *   <Annotations MicronsPerPixel="0.252100">
 *     <Annotation Id="1" Name="gs" Type="4" LineColor="65280" ...>
 *       <Attributes><Attribute Name="Description" Id="0" Value=""/></Attributes>
 *       <Regions>
 *         <RegionAttributeHeaders>...</RegionAttributeHeaders>
 *         <Region Id="1" Type="1" Zoom="0.04" Text="gs" NegativeROA="0" ...>
 *           <Attributes/>
 *           <Vertices><Vertex X="15060" Y="8824" Z="0"/> ...</Vertices>
 *         </Region>
 *       </Regions>
 *       <Plots/>
 *     </Annotation>
 *   </Annotations>
 *
 * An <Annotation> is a layer; its <Region>s are the shapes.
 *
 * Label rule, first non-empty value wins:
 *   1. the Region's Text attribute (typed on the shape itself);
 *   2. the parent Annotation's Name (a layer per class);
 *   3. the Value of the first <Attribute> with one, the Region's own
 *      <Attributes> before the Annotation's (layers described by a
 *      "Description" attribute);
 *   4. "".
 *
 * The Region Type is not interpreted: the box of the vertices is right for
 * rectangles (4 vertices), polygons and free-hand shapes, and for ellipses,
 * which ImageScope stores as the 2 corners of their bounding box.  Regions
 * with NegativeROA="1" are holes cut out of a layer, not objects: skipped.
 * source_id = "ANNOTATION_ID/REGION_ID" from their Id attributes (their
 * positions when absent).
 */
#include "annot-private.h"
#include "g2c/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first non-empty Value among node's <Attributes><Attribute>, or NULL. */
static char *first_attribute_value(xmlNode *node)
{
    xmlNode *attrs = g2c_annot_xml_next(node, NULL, "Attributes");
    for (xmlNode *a = NULL; (a = g2c_annot_xml_next(attrs, a, "Attribute")) != NULL;) {
        char *value = g2c_annot_xml_attr(a, "Value");
        if (value && *value)
            return value;
        free(value);
    }
    return NULL;
}

static char *region_label(xmlNode *region, xmlNode *annotation)
{
    char *label = g2c_annot_xml_attr(region, "Text");
    if (!label || !*label) {
        free(label);
        label = g2c_annot_xml_attr(annotation, "Name");
    }
    if (!label || !*label) {
        free(label);
        label = first_attribute_value(region);
    }
    if (!label)
        label = first_attribute_value(annotation);
    return label;
}

/* Id attribute of node, else its position. */
static void id_or_index(xmlNode *node, int index, char *buf, size_t size)
{
    char *id = g2c_annot_xml_attr(node, "Id");
    if (id && *id)
        snprintf(buf, size, "%.24s", id);
    else
        snprintf(buf, size, "%d", index);
    free(id);
}

static int read_region(xmlNode *region, xmlNode *annotation, const char *annotation_id,
                       const char *region_id, G2cAnnotation *a)
{
    memset(a, 0, sizeof *a);
    char source[64];
    snprintf(source, sizeof source, "%s/%s", annotation_id, region_id);
    g2c_annot_set_source_id(a, source);
    char *label = region_label(region, annotation);
    int rc = g2c_annot_set_label(a, label);
    free(label);
    if (rc < 0)
        return -1;
    G2cAnnotBounds b;
    g2c_annot_bounds_init(&b);
    xmlNode *vertices = g2c_annot_xml_next(region, NULL, "Vertices");
    if (g2c_annot_xml_points(vertices, "Vertex", 0, &b) < 0)
        return -1;
    return g2c_annot_bounds_to_box(&b, a);
}

static int is_negative(xmlNode *region)
{
    char *neg = g2c_annot_xml_attr(region, "NegativeROA");
    int yes = neg && strcmp(neg, "1") == 0;
    free(neg);
    return yes;
}

static int read_layer(const char *path, xmlNode *annotation, int index,
                      G2cAnnotationList *out)
{
    char annotation_id[32];
    id_or_index(annotation, index, annotation_id, sizeof annotation_id);
    int r = 0;
    for (xmlNode *regions = NULL;
         (regions = g2c_annot_xml_next(annotation, regions, "Regions")) != NULL;) {
        for (xmlNode *region = NULL;
             (region = g2c_annot_xml_next(regions, region, "Region")) != NULL;) {
            char region_id[32];
            id_or_index(region, ++r, region_id, sizeof region_id);
            if (is_negative(region))
                continue;
            G2cAnnotation a;
            if (read_region(region, annotation, annotation_id, region_id, &a) < 0)
                return g2c_error_prefix("%s:%ld: annotation %s, region %s: ", path,
                                        g2c_annot_xml_line(region), annotation_id, region_id);
            if (g2c_annot_list_push(out, &a) < 0)
                return g2c_error_prefix("%s: ", path);
        }
    }
    return 0;
}

int g2c_annot_read_imagescope_doc(const char *path, xmlDoc *doc, G2cAnnotationList *out)
{
    memset(out, 0, sizeof *out);
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!g2c_annot_xml_is(root, "Annotations"))
        return g2c_error("%s: root element <%s>, expected <Annotations> (Aperio ImageScope)",
                         path, root ? (const char *)root->name : "");
    int index = 0;
    for (xmlNode *n = NULL; (n = g2c_annot_xml_next(root, n, "Annotation")) != NULL;) {
        if (read_layer(path, n, ++index, out) < 0) {
            g2c_annot_list_free(out);
            return -1;
        }
    }
    return 0;
}

int g2c_annot_read_imagescope(const char *path, G2cAnnotationList *out)
{
    memset(out, 0, sizeof *out);
    xmlDoc *doc = g2c_annot_xml_load(path);
    if (!doc)
        return -1;
    int rc = g2c_annot_read_imagescope_doc(path, doc, out);
    xmlFreeDoc(doc);
    return rc;
}
