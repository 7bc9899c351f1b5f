/* Read-only questions to the catalog: the named queries of
 * schemas/queries.sql and ad-hoc SQL, printed as a table, CSV or JSON. */
#ifndef G2C_QUERY_H
#define G2C_QUERY_H

#include <stdio.h>

#include "g2c/catalog.h"

typedef enum { G2C_FORMAT_TABLE, G2C_FORMAT_CSV, G2C_FORMAT_JSON } G2cFormat;

/* "table", "csv", "json" -> format; -1 with a message if unknown. */
int g2c_format_parse(const char *name, G2cFormat *format);

typedef struct {
    const char *patient; /* bound to :patient, NULL = not given */
    const char *slide;   /* :slide */
    const char *model;   /* :model */
} G2cQueryParams;

typedef struct {
    char name[64];
    char description[256];
    const char *sql; /* points into the embedded text, NUL-terminated copy */
} G2cNamedQuery;

/* The named queries (parsed once from the embedded schemas/queries.sql). */
const G2cNamedQuery *g2c_named_queries(int *count);
const G2cNamedQuery *g2c_named_query(const char *name);

/* Run one read-only statement and print its rows.  Anything that would
 * write, or more than one statement, is refused before it runs.  Blobs
 * print as "<blob N bytes>".  *rows receives the row count. */
int g2c_query_run(G2cCatalog *cat, const char *sql, const G2cQueryParams *params,
                  G2cFormat format, FILE *out, long *rows);

#endif
