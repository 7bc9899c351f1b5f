/* ASAP XML annotations (the Radboud ASAP viewer, also written by many
 * scripts):
 *
 *   <ASAP_Annotations>
 *     <Annotations>
 *       <Annotation Name="Annotation 0" Type="Rectangle" PartOfGroup="gs"
 *                   Color="#F4FA58">
 *         <Coordinates>
 *           <Coordinate Order="0" X="10240" Y="20480.5" />  ...
 *       </Annotation>
 *     </Annotations>
 *     <AnnotationGroups>
 *       <Group Name="gs" PartOfGroup="None" Color="#64FE2E"><Attributes /></Group>
 *     </AnnotationGroups>
 *   </ASAP_Annotations>
 *
 * label = PartOfGroup, with ASAP's "None" (no group) read as "".  Groups
 * only carry names and colours, so <AnnotationGroups> is accepted and not
 * needed.  Types Rectangle, Polygon and Spline are regions (a spline's box
 * is taken over its control points); Dot, PointSet and the like are not.
 * source_id = Name, else the annotation's number.  Coordinates may use a
 * decimal comma, as ASAP writes them under some locales.
 */
#include "annot-private.h"
#include "g2c/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_region_type(const char *type)
{
    return !type || strcmp(type, "Rectangle") == 0 || strcmp(type, "Polygon") == 0 ||
           strcmp(type, "Spline") == 0;
}

static int read_annotation(xmlNode *node, int index, G2cAnnotation *a)
{
    memset(a, 0, sizeof *a);
    char *type = g2c_annot_xml_attr(node, "Type");
    char *group = g2c_annot_xml_attr(node, "PartOfGroup");
    char *name = g2c_annot_xml_attr(node, "Name");
    char number[16];
    snprintf(number, sizeof number, "%d", index);
    g2c_annot_set_source_id(a, name && *name ? name : number);

    int rc = 0;
    if (!is_region_type(type))
        rc = g2c_error("type '%.40s' is not a region (Rectangle, Polygon or Spline)",
                       type);
    else
        rc = g2c_annot_set_label(a, group && strcmp(group, "None") != 0 ? group : "");
    if (rc == 0) {
        G2cAnnotBounds b;
        g2c_annot_bounds_init(&b);
        xmlNode *coords = g2c_annot_xml_next(node, NULL, "Coordinates");
        rc = g2c_annot_xml_points(coords, "Coordinate", 1, &b);
        if (rc == 0)
            rc = g2c_annot_bounds_to_box(&b, a);
    }
    free(type);
    free(group);
    free(name);
    return rc;
}

static int read_annotations(const char *path, xmlNode *list, int *index,
                            G2cAnnotationList *out)
{
    for (xmlNode *n = NULL; (n = g2c_annot_xml_next(list, n, "Annotation")) != NULL;) {
        G2cAnnotation a;
        ++*index;
        if (read_annotation(n, *index, &a) < 0) {
            char *name = g2c_annot_xml_attr(n, "Name");
            g2c_error_prefix("%s:%ld: annotation %d%s%.60s%s: ", path, g2c_annot_xml_line(n),
                             *index, name ? " (" : "", name ? name : "", name ? ")" : "");
            free(name);
            return -1;
        }
        if (g2c_annot_list_push(out, &a) < 0)
            return g2c_error_prefix("%s: ", path);
    }
    return 0;
}

int g2c_annot_read_asap_doc(const char *path, xmlDoc *doc, G2cAnnotationList *out)
{
    memset(out, 0, sizeof *out);
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!g2c_annot_xml_is(root, "ASAP_Annotations"))
        return g2c_error("%s: root element <%s>, expected <ASAP_Annotations> (ASAP)", path,
                         root ? (const char *)root->name : "");
    int index = 0;
    for (xmlNode *list = NULL; (list = g2c_annot_xml_next(root, list, "Annotations"));) {
        if (read_annotations(path, list, &index, out) < 0) {
            g2c_annot_list_free(out);
            return -1;
        }
    }
    return 0;
}

int g2c_annot_read_asap(const char *path, G2cAnnotationList *out)
{
    memset(out, 0, sizeof *out);
    xmlDoc *doc = g2c_annot_xml_load(path);
    if (!doc)
        return -1;
    int rc = g2c_annot_read_asap_doc(path, doc, out);
    xmlFreeDoc(doc);
    return rc;
}
