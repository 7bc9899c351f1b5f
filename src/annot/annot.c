/* Annotation files: format detection, the list, and the small helpers the
 * per-format readers share. */
#include "annot-private.h"
#include "g2c/error.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    G2cAnnotFormat format;
    const char *name;
} format_names[] = {
    {G2C_ANNOT_AUTO, "auto"},         {G2C_ANNOT_GEOJSON, "geojson"},
    {G2C_ANNOT_ASAP, "asap"},         {G2C_ANNOT_IMAGESCOPE, "imagescope"},
    {G2C_ANNOT_CSV, "csv"},
};

const char *g2c_annot_format_name(G2cAnnotFormat format)
{
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++)
        if (format_names[i].format == format)
            return format_names[i].name;
    return "unknown";
}

int g2c_annot_format_parse(const char *name, G2cAnnotFormat *format)
{
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++) {
        if (strcasecmp(name, format_names[i].name) == 0) {
            *format = format_names[i].format;
            return 0;
        }
    }
    return g2c_error("unknown annotation format '%s' (expected auto, geojson, asap, "
                     "imagescope or csv)", name);
}

/* ---- the list ---------------------------------------------------------- */

int g2c_annot_list_push(G2cAnnotationList *list, const G2cAnnotation *a)
{
    if (list->count == list->capacity) {
        if (list->capacity > INT_MAX / 2)
            return g2c_error("too many annotations");
        int cap = list->capacity ? list->capacity * 2 : 16;
        G2cAnnotation *items = realloc(list->items, (size_t)cap * sizeof *items);
        if (!items)
            return g2c_error("out of memory for %d annotations", cap);
        list->items = items;
        list->capacity = cap;
    }
    list->items[list->count++] = *a;
    return 0;
}

void g2c_annot_list_free(G2cAnnotationList *list)
{
    free(list->items);
    list->items = NULL;
    list->count = list->capacity = 0;
}

/* ---- shared helpers --------------------------------------------------- */

void g2c_annot_bounds_init(G2cAnnotBounds *b)
{
    b->x0 = b->y0 = INFINITY;
    b->x1 = b->y1 = -INFINITY;
    b->n = 0;
}

void g2c_annot_bounds_add(G2cAnnotBounds *b, double x, double y)
{
    b->x0 = fmin(b->x0, x);
    b->y0 = fmin(b->y0, y);
    b->x1 = fmax(b->x1, x);
    b->y1 = fmax(b->y1, y);
    b->n++;
}

int g2c_annot_bounds_to_box(const G2cAnnotBounds *b, G2cAnnotation *a)
{
    if (b->n < 2)
        return g2c_error("%d point(s); a region needs at least 2", b->n);
    a->x = b->x0;
    a->y = b->y0;
    a->w = b->x1 - b->x0;
    a->h = b->y1 - b->y0;
    if (!(a->w > 0) || !(a->h > 0))
        return g2c_error("zero-area box: %g x %g pixels at (%g, %g)", a->w, a->h, a->x,
                         a->y);
    return 0;
}

int g2c_annot_set_label(G2cAnnotation *a, const char *label)
{
    if (!label)
        label = "";
    size_t n = strlen(label);
    if (n >= sizeof a->label)
        return g2c_error("label '%.40s...' is longer than %zu bytes", label,
                         sizeof a->label - 1);
    memcpy(a->label, label, n + 1);
    return 0;
}

void g2c_annot_set_source_id(G2cAnnotation *a, const char *id)
{
    snprintf(a->source_id, sizeof a->source_id, "%s", id ? id : "");
}

int g2c_annot_parse_number(const char *text, double *value)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text)
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end != '\0' || !isfinite(v))
        return -1;
    *value = v;
    return 0;
}

int g2c_annot_load_file(const char *path, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return g2c_error("%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int err = buf ? 0 : ENOMEM;
    while (!err) {
        if (n + 1 == cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                err = ENOMEM;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, fp);
        n += got;
        if (got == 0) {
            if (ferror(fp))
                err = errno ? errno : EIO;
            break;
        }
    }
    fclose(fp);
    if (err) {
        free(buf);
        return g2c_error("%s: cannot read: %s", path, strerror(err));
    }
    buf[n] = '\0';
    size_t i = 0;
    while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    if (i == n) {
        free(buf);
        return g2c_error("%s: empty file", path);
    }
    *text = buf;
    *len = n;
    return 0;
}

/* ---- format detection and dispatch ------------------------------------ */

typedef enum { KIND_UNKNOWN, KIND_JSON, KIND_XML, KIND_CSV } FileKind;

static FileKind kind_from_extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (!dot)
        return KIND_UNKNOWN;
    if (strcasecmp(dot, ".geojson") == 0 || strcasecmp(dot, ".json") == 0)
        return KIND_JSON;
    if (strcasecmp(dot, ".xml") == 0)
        return KIND_XML;
    if (strcasecmp(dot, ".csv") == 0)
        return KIND_CSV;
    return KIND_UNKNOWN;
}

/* For other names (an ImageScope .txt, a temp file) the first non-blank
 * byte tells JSON from XML; CSV has no such mark and must be named. */
static int kind_from_content(const char *path, FileKind *kind)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return g2c_error("%s: cannot open: %s", path, strerror(errno));
    unsigned char head[512];
    size_t n = fread(head, 1, sizeof head, fp);
    fclose(fp);
    size_t i = (n >= 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;
    while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n'))
        i++;
    if (i == n && n < sizeof head)
        return g2c_error("%s: empty file", path);
    *kind = KIND_UNKNOWN;
    if (i < n && (head[i] == '{' || head[i] == '['))
        *kind = KIND_JSON;
    else if (i < n && head[i] == '<')
        *kind = KIND_XML;
    else
        return g2c_error("%s: cannot tell the annotation format from the name or the "
                         "first bytes; name it (geojson, asap, imagescope or csv)", path);
    return 0;
}

/* ASAP and ImageScope are both .xml: the root element decides. */
static int read_xml_auto(const char *path, G2cAnnotationList *out, G2cAnnotFormat *found)
{
    xmlDoc *doc = g2c_annot_xml_load(path);
    if (!doc)
        return -1;
    xmlNode *root = xmlDocGetRootElement(doc);
    int rc;
    if (g2c_annot_xml_is(root, "ASAP_Annotations")) {
        rc = g2c_annot_read_asap_doc(path, doc, out);
        *found = G2C_ANNOT_ASAP;
    } else if (g2c_annot_xml_is(root, "Annotations")) {
        rc = g2c_annot_read_imagescope_doc(path, doc, out);
        *found = G2C_ANNOT_IMAGESCOPE;
    }
    else
        rc = g2c_error("%s: XML root element <%s> is neither <ASAP_Annotations> (ASAP) "
                       "nor <Annotations> (Aperio ImageScope)", path,
                       root ? (const char *)root->name : "");
    xmlFreeDoc(doc);
    return rc;
}

/* Readers start by clearing the list, so the format found is set after. */
static int read_any(const char *path, G2cAnnotFormat format, G2cAnnotationList *out,
                    G2cAnnotFormat *found)
{
    *found = format;
    switch (format) {
    case G2C_ANNOT_GEOJSON:
        return g2c_annot_read_geojson(path, out);
    case G2C_ANNOT_ASAP:
        return g2c_annot_read_asap(path, out);
    case G2C_ANNOT_IMAGESCOPE:
        return g2c_annot_read_imagescope(path, out);
    case G2C_ANNOT_CSV:
        return g2c_annot_read_csv(path, out);
    case G2C_ANNOT_AUTO:
        break;
    default:
        return g2c_error("%s: unknown annotation format %d", path, (int)format);
    }
    FileKind kind = kind_from_extension(path);
    if (kind == KIND_UNKNOWN && kind_from_content(path, &kind) < 0)
        return -1;
    switch (kind) {
    case KIND_JSON:
        *found = G2C_ANNOT_GEOJSON;
        return g2c_annot_read_geojson(path, out);
    case KIND_XML:
        return read_xml_auto(path, out, found);
    default:
        *found = G2C_ANNOT_CSV;
        return g2c_annot_read_csv(path, out);
    }
}

int g2c_annot_read(const char *path, G2cAnnotFormat format, G2cAnnotationList *out)
{
    memset(out, 0, sizeof *out);
    G2cAnnotFormat found;
    int rc = read_any(path, format, out, &found);
    out->format = rc == 0 ? found : G2C_ANNOT_AUTO;
    return rc;
}
