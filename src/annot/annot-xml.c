/* XML loading shared by the ASAP and ImageScope readers.
 *
 * Annotation files come from other people's machines, so the parser runs
 * locked down: XML_PARSE_NONET (never fetch anything) and no
 * XML_PARSE_NOENT / XML_PARSE_DTDLOAD (entities are not substituted and no
 * external DTD or entity is loaded), with libxml2's default size limits,
 * which stop entity bombs.
 *
 * libxml2 would print its errors on stderr; we silence that and keep the
 * first error, with its line, for our own message.
 *
 * libxml2 2.9 keeps element line numbers in 16 bits, and ImageScope writes
 * a line per vertex, so each element's line is also noted in its _private
 * field as it is parsed (g2c_annot_xml_line reads it back). */
#include "annot-private.h"
#include "g2c/error.h"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if LIBXML_VERSION >= 21200
typedef const xmlError *XmlErrorArg;
#else
typedef xmlError *XmlErrorArg;
#endif

typedef struct {
    int have;
    int line;
    char message[400];
} FirstError;

/* Called by libxml2 for every diagnostic of this parse; data is the
 * parser context, whose _private field is ours. */
static void keep_first_error(void *data, XmlErrorArg err)
{
    xmlParserCtxt *ctxt = data;
    FirstError *first = ctxt ? ctxt->_private : NULL;
    if (!first || first->have || !err || err->level < XML_ERR_ERROR)
        return;
    first->have = 1;
    first->line = err->line;
    snprintf(first->message, sizeof first->message, "%s",
             err->message ? err->message : "parse error");
    /* one line: libxml2 ends its messages with a newline and puts some
     * detail (the bad bytes) on a second line */
    size_t n = strlen(first->message);
    while (n > 0 && (first->message[n - 1] == '\n' || first->message[n - 1] == ' '))
        first->message[--n] = '\0';
    for (char *c = first->message; *c; c++)
        if (*c == '\n')
            *c = ' ';
}

static void start_element_noting_line(void *data, const xmlChar *localname,
                                      const xmlChar *prefix, const xmlChar *uri,
                                      int nb_namespaces, const xmlChar **namespaces,
                                      int nb_attributes, int nb_defaulted,
                                      const xmlChar **attributes)
{
    xmlParserCtxt *ctxt = data;
    xmlSAX2StartElementNs(data, localname, prefix, uri, nb_namespaces, namespaces,
                          nb_attributes, nb_defaulted, attributes);
    if (ctxt->node && ctxt->input)
        ctxt->node->_private = (void *)(intptr_t)ctxt->input->line;
}

long g2c_annot_xml_line(const xmlNode *node)
{
    if (node->type == XML_ELEMENT_NODE && node->_private)
        return (long)(intptr_t)node->_private;
    return xmlGetLineNo(node);
}

xmlDoc *g2c_annot_xml_load(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (g2c_annot_load_file(path, &text, &len) < 0)
        return NULL;
    if (len > (size_t)INT_MAX) {
        free(text);
        g2c_error("%s: too large for an annotation file (%zu bytes)", path, len);
        return NULL;
    }
    xmlInitParser();
    xmlParserCtxt *ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        free(text);
        g2c_error("%s: out of memory for the XML parser", path);
        return NULL;
    }
    FirstError first = {0};
    ctxt->_private = &first;
    ctxt->sax->serror = keep_first_error;
    ctxt->sax->startElementNs = start_element_noting_line;
    xmlDoc *doc = xmlCtxtReadMemory(ctxt, text, (int)len, path, NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOERROR |
                                        XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES);
    int well_formed = ctxt->wellFormed;
    if (!first.have) {
        const xmlError *last = xmlCtxtGetLastError(ctxt);
        if (last && last->level >= XML_ERR_ERROR)
            keep_first_error(ctxt, (XmlErrorArg)last);
    }
    xmlFreeParserCtxt(ctxt);
    free(text);
    if (doc && well_formed && !first.have)
        return doc;
    xmlFreeDoc(doc);
    if (first.have)
        g2c_error("%s:%d: malformed XML: %s", path, first.line, first.message);
    else
        g2c_error("%s: malformed XML", path);
    return NULL;
}

int g2c_annot_xml_is(const xmlNode *node, const char *name)
{
    return node && node->type == XML_ELEMENT_NODE &&
           xmlStrEqual(node->name, (const xmlChar *)name);
}

xmlNode *g2c_annot_xml_next(xmlNode *node, xmlNode *prev, const char *name)
{
    xmlNode *c = prev ? prev->next : (node ? node->children : NULL);
    while (c && !g2c_annot_xml_is(c, name))
        c = c->next;
    return c;
}

char *g2c_annot_xml_attr(xmlNode *node, const char *name)
{
    xmlChar *value = xmlGetNoNsProp(node, (const xmlChar *)name);
    if (!value)
        return NULL;
    char *copy = strdup((const char *)value);
    xmlFree(value);
    return copy;
}

/* ASAP written on a machine with a decimal-comma locale stores "1234,5". */
static int parse_coordinate(const char *text, int decimal_comma, double *value)
{
    if (g2c_annot_parse_number(text, value) == 0)
        return 0;
    const char *comma = strchr(text, ',');
    if (!decimal_comma || !comma || strchr(comma + 1, ',') || strchr(text, '.'))
        return -1;
    char fixed[64];
    if (snprintf(fixed, sizeof fixed, "%s", text) >= (int)sizeof fixed)
        return -1;
    fixed[comma - text] = '.';
    return g2c_annot_parse_number(fixed, value);
}

static int point_attr(xmlNode *point, const char *name, int decimal_comma, double *value)
{
    char *text = g2c_annot_xml_attr(point, name);
    if (!text)
        return g2c_error("no %s attribute", name);
    int rc = parse_coordinate(text, decimal_comma, value);
    if (rc < 0)
        g2c_error("%s '%.40s' is not a number", name, text);
    free(text);
    return rc;
}

int g2c_annot_xml_points(xmlNode *list, const char *element, int decimal_comma,
                         G2cAnnotBounds *b)
{
    int k = 0;
    for (xmlNode *p = NULL; (p = g2c_annot_xml_next(list, p, element)) != NULL;) {
        double x, y;
        k++;
        if (point_attr(p, "X", decimal_comma, &x) < 0 ||
            point_attr(p, "Y", decimal_comma, &y) < 0)
            return g2c_error_prefix("%s %d (line %ld): ", element, k, g2c_annot_xml_line(p));
        g2c_annot_bounds_add(b, x, y);
    }
    return 0;
}
