/* A JSON Schema validator for the subset schemas/report.schema.json uses
 * (no Debian C library validates JSON Schema): type (a name or a list),
 * required, properties, additionalProperties (false or a schema), items
 * (one schema), enum, minimum, maximum, minItems.  The annotation keywords
 * $schema, $id, title and description are ignored; any other keyword is an
 * error, so the schema cannot drift beyond what is checked here. */
#ifndef G2C_TEST_SCHEMA_CHECK_H
#define G2C_TEST_SCHEMA_CHECK_H

#include <jansson.h>
#include <stddef.h>

/* 0 when doc is valid.  -1 otherwise, with the first problem in msg as
 * "$.glomeruli[3].confidence: 1.5 is above the maximum 1". */
int schema_check(const json_t *schema, const json_t *doc, char *msg, size_t size);

/* schema_check of a file against a schema file (paths); the problem is
 * printed to stderr. */
int schema_check_files(const char *schema_path, const char *doc_path);

#endif
