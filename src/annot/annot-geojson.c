/* GeoJSON annotations as QuPath exports them ("Export objects as GeoJSON"):
 *
 *   {"type": "FeatureCollection", "features": [
 *     {"type": "Feature", "id": "5f0c7a3e-...",
 *      "geometry": {"type": "Polygon", "coordinates": [[[x, y], ...]]},
 *      "properties": {"objectType": "annotation",
 *                     "classification": {"name": "gs", "color": [r, g, b]}}}]}
 *
 * QuPath also writes a bare array of Features, or a single Feature; all
 * three are read.  A rectangle is a closed 5-point Polygon.  Polygon and
 * MultiPolygon (and GeometryCollections of them) become the bounding box
 * of all their rings; points and lines are errors, since they have no
 * area to crop.  label = properties.classification.name ("" when absent).
 * source_id = the feature's id, else properties.name, else its number
 * (QuPath 0.2's constant "PathAnnotationObject" id does not count).
 * Features are numbered from 1 in messages.  Every object is read whatever
 * its objectType; choosing among them is the caller's business.
 */
#include "annot-private.h"
#include "g2c/error.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_GEOMETRY_DEPTH = 8 };

static const char *type_of(const json_t *obj)
{
    return json_string_value(json_object_get(obj, "type"));
}

/* One [x, y] (or [x, y, z]) position. */
static int add_position(const json_t *pos, G2cAnnotBounds *b)
{
    if (!json_is_array(pos) || json_array_size(pos) < 2)
        return g2c_error("not an [x, y] position");
    const json_t *x = json_array_get(pos, 0), *y = json_array_get(pos, 1);
    if (!json_is_number(x) || !json_is_number(y))
        return g2c_error("coordinate is not a number");
    g2c_annot_bounds_add(b, json_number_value(x), json_number_value(y));
    return 0;
}

/* Errors read on after "Polygon " or "MultiPolygon polygon 2 ". */
static int add_ring(const json_t *ring, size_t r, G2cAnnotBounds *b)
{
    if (!json_is_array(ring))
        return g2c_error("ring %zu is not an array of positions", r);
    size_t n = json_array_size(ring);
    if (n < 3)
        return g2c_error("ring %zu has %zu position(s); a ring needs at least 3", r, n);
    for (size_t k = 0; k < n; k++)
        if (add_position(json_array_get(ring, k), b) < 0)
            return g2c_error_prefix("ring %zu, point %zu: ", r, k + 1);
    return 0;
}

static int add_polygon(const json_t *rings, G2cAnnotBounds *b)
{
    if (!json_is_array(rings) || json_array_size(rings) == 0)
        return g2c_error("has no rings");
    for (size_t r = 0; r < json_array_size(rings); r++)
        if (add_ring(json_array_get(rings, r), r + 1, b) < 0)
            return -1;
    return 0;
}

static int add_geometry(const json_t *geom, G2cAnnotBounds *b, int depth);

static int add_collection(const json_t *geom, G2cAnnotBounds *b, int depth)
{
    const json_t *members = json_object_get(geom, "geometries");
    if (!json_is_array(members) || json_array_size(members) == 0)
        return g2c_error("GeometryCollection without geometries");
    for (size_t g = 0; g < json_array_size(members); g++)
        if (add_geometry(json_array_get(members, g), b, depth + 1) < 0)
            return g2c_error_prefix("geometries[%zu]: ", g);
    return 0;
}

static int add_geometry(const json_t *geom, G2cAnnotBounds *b, int depth)
{
    if (depth > MAX_GEOMETRY_DEPTH)
        return g2c_error("geometry nested too deeply");
    if (!json_is_object(geom))
        return g2c_error("no geometry");
    const char *type = type_of(geom);
    if (!type)
        return g2c_error("geometry without a type");
    if (strcmp(type, "GeometryCollection") == 0)
        return add_collection(geom, b, depth);
    int multi = strcmp(type, "MultiPolygon") == 0;
    if (!multi && strcmp(type, "Polygon") != 0)
        return g2c_error("geometry type %s has no area (Polygon or MultiPolygon expected)",
                         type);
    const json_t *coords = json_object_get(geom, "coordinates");
    if (!json_is_array(coords) || json_array_size(coords) == 0)
        return g2c_error("%s without coordinates", type);
    if (!multi)
        return add_polygon(coords, b) < 0 ? g2c_error_prefix("%s ", type) : 0;
    for (size_t p = 0; p < json_array_size(coords); p++)
        if (add_polygon(json_array_get(coords, p), b) < 0)
            return g2c_error_prefix("MultiPolygon polygon %zu ", p + 1);
    return 0;
}

/* classification.name, "" when there is no classification. */
static int feature_label(const json_t *props, const char **label)
{
    *label = "";
    const json_t *cls = json_object_get(props, "classification");
    if (!cls || json_is_null(cls))
        return 0;
    const json_t *name = json_object_get(cls, "name");
    if (!name || json_is_null(name))
        return 0;
    if (!json_is_string(name))
        return g2c_error("properties.classification.name is not a string");
    *label = json_string_value(name);
    return 0;
}

/* QuPath 0.2 wrote the object's class ("PathAnnotationObject") as the id:
 * the same for every feature, so not an id at all. */
static int is_qupath_class_name(const char *s)
{
    size_t n = strlen(s);
    return n > 10 && strncmp(s, "Path", 4) == 0 && strcmp(s + n - 6, "Object") == 0;
}

/* The feature's id (string or number), else properties.name, else "". */
static void feature_id(const json_t *feature, char *buf, size_t size)
{
    const json_t *id = json_object_get(feature, "id");
    const json_t *name = json_object_get(json_object_get(feature, "properties"), "name");
    buf[0] = '\0';
    if (json_is_string(id) && !is_qupath_class_name(json_string_value(id)))
        snprintf(buf, size, "%s", json_string_value(id));
    else if (json_is_integer(id))
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
    else if (json_is_real(id))
        snprintf(buf, size, "%.17g", json_real_value(id));
    if (!buf[0] && json_is_string(name))
        snprintf(buf, size, "%s", json_string_value(name));
}

static int read_feature(const json_t *feature, const char *id, G2cAnnotation *a)
{
    memset(a, 0, sizeof *a);
    if (!json_is_object(feature))
        return g2c_error("not a JSON object");
    const char *type = type_of(feature);
    if (type && strcmp(type, "Feature") != 0)
        return g2c_error("type %s, expected Feature", type);
    g2c_annot_set_source_id(a, id);
    const char *label;
    if (feature_label(json_object_get(feature, "properties"), &label) < 0 ||
        g2c_annot_set_label(a, label) < 0)
        return -1;
    G2cAnnotBounds b;
    g2c_annot_bounds_init(&b);
    if (add_geometry(json_object_get(feature, "geometry"), &b, 0) < 0)
        return -1;
    return g2c_annot_bounds_to_box(&b, a);
}

static int read_features(const char *path, const json_t *features, G2cAnnotationList *out)
{
    for (size_t i = 0; i < json_array_size(features); i++) {
        const json_t *feature = json_array_get(features, i);
        char id[64], number[24];
        feature_id(feature, id, sizeof id);
        snprintf(number, sizeof number, "%zu", i + 1);
        G2cAnnotation a;
        if (read_feature(feature, id[0] ? id : number, &a) < 0) {
            if (id[0])
                return g2c_error_prefix("%s: feature %zu (%s): ", path, i + 1, id);
            return g2c_error_prefix("%s: feature %zu: ", path, i + 1);
        }
        if (g2c_annot_list_push(out, &a) < 0)
            return g2c_error_prefix("%s: ", path);
    }
    return 0;
}

/* FeatureCollection, Feature or bare array -> the array of features. */
static int features_of(const char *path, json_t *root, json_t **features)
{
    *features = NULL;
    if (json_is_array(root)) {
        *features = json_incref(root);
        return 0;
    }
    const char *type = type_of(root);
    if (type && strcmp(type, "FeatureCollection") == 0) {
        json_t *list = json_object_get(root, "features");
        if (!json_is_array(list))
            return g2c_error("%s: FeatureCollection without a features array", path);
        *features = json_incref(list);
        return 0;
    }
    if (type && strcmp(type, "Feature") == 0) {
        *features = json_array();
        if (!*features || json_array_append(*features, root) < 0)
            return g2c_error("%s: out of memory", path);
        return 0;
    }
    return g2c_error("%s: top-level type %s is not a FeatureCollection, a Feature or an "
                     "array of Features", path, type ? type : "(none)");
}

int g2c_annot_read_geojson(const char *path, G2cAnnotationList *out)
{
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    if (g2c_annot_load_file(path, &text, &len) < 0)
        return -1;
    size_t skip = (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;
    json_error_t jerr;
    json_t *root = json_loadb(text + skip, len - skip, 0, &jerr);
    free(text);
    if (!root)
        return g2c_error("%s:%d:%d: malformed JSON: %s", path, jerr.line, jerr.column,
                         jerr.text);
    json_t *features = NULL;
    int rc = features_of(path, root, &features);
    if (rc == 0)
        rc = read_features(path, features, out);
    json_decref(features);
    json_decref(root);
    if (rc < 0)
        g2c_annot_list_free(out);
    return rc;
}

/* ---- writer ------------------------------------------------------------ */

/* 8-4-4-4-12 hex digits: QuPath takes such an id as the object's UUID. */
static int is_uuid(const char *s)
{
    static const int dash_at[] = {8, 13, 18, 23};
    if (strlen(s) != 36)
        return 0;
    for (int i = 0, d = 0; i < 36; i++) {
        if (d < 4 && i == dash_at[d]) {
            if (s[i] != '-')
                return 0;
            d++;
        } else if (!strchr("0123456789abcdefABCDEF", s[i])) {
            return 0;
        }
    }
    return 1;
}

/* Integers print as integers ("100", not "100.0"), as QuPath writes them. */
static json_t *number(double v)
{
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        return json_integer((json_int_t)v);
    return json_real(v);
}

/* A stable colour per label, so classes look the same in every export. */
static json_t *label_color(const char *label)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)label; *p; p++)
        h = (h ^ *p) * 16777619u;
    return json_pack("[iii]", (int)(64 + (h & 0x7f)), (int)(64 + ((h >> 8) & 0x7f)),
                     (int)(64 + ((h >> 16) & 0x7f)));
}

static json_t *rectangle(const G2cAnnotation *a)
{
    double xs[5] = {a->x, a->x + a->w, a->x + a->w, a->x, a->x};
    double ys[5] = {a->y, a->y, a->y + a->h, a->y + a->h, a->y};
    json_t *ring = json_array();
    for (int k = 0; ring && k < 5; k++)
        if (json_array_append_new(ring, json_pack("[oo]", number(xs[k]), number(ys[k]))) < 0)
            return json_decref(ring), NULL;
    return json_pack("{s:s, s:[o]}", "type", "Polygon", "coordinates", ring);
}

static json_t *feature_json(const G2cAnnotation *a)
{
    json_t *props = json_pack("{s:s}", "objectType", "annotation");
    json_t *feature = json_pack("{s:s, s:o, s:o}", "type", "Feature", "geometry",
                                rectangle(a), "properties", props);
    if (!feature)
        return NULL;
    int bad = 0;
    if (is_uuid(a->source_id))
        bad |= json_object_set_new(feature, "id", json_string(a->source_id));
    else if (a->source_id[0])
        bad |= json_object_set_new(props, "name", json_string(a->source_id));
    if (a->label[0])
        bad |= json_object_set_new(props, "classification",
                                   json_pack("{s:s, s:o}", "name", a->label, "color",
                                             label_color(a->label)));
    if (bad)
        return json_decref(feature), NULL;
    return feature;
}

static int check_box(const G2cAnnotation *a)
{
    if (!isfinite(a->x) || !isfinite(a->y) || !isfinite(a->w) || !isfinite(a->h))
        return g2c_error("box is not finite");
    if (!(a->w > 0) || !(a->h > 0))
        return g2c_error("zero-area box: %g x %g pixels", a->w, a->h);
    return 0;
}

int g2c_annot_write_geojson(const char *path, const G2cAnnotationList *list)
{
    json_t *features = json_array();
    if (!features)
        return g2c_error("%s: out of memory", path);
    for (int i = 0; i < list->count; i++) {
        const G2cAnnotation *a = &list->items[i];
        if (check_box(a) < 0) {
            json_decref(features);
            return g2c_error_prefix("%s: annotation %d (%s): ", path, i + 1, a->source_id);
        }
        if (json_array_append_new(features, feature_json(a)) < 0) {
            json_decref(features);
            return g2c_error("%s: out of memory", path);
        }
    }
    json_t *root = json_pack("{s:s, s:o}", "type", "FeatureCollection", "features", features);
    if (!root)
        return g2c_error("%s: out of memory", path);
    errno = 0;
    int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (rc != 0)
        return g2c_error("%s: cannot write: %s", path, errno ? strerror(errno) : "I/O error");
    return 0;
}
