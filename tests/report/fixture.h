/* The catalog the report tests share, built through `g2c ingest` from
 * generated slides, with models, predictions and generated views inserted
 * by SQL (inference is not these tests' business).
 *
 *   patient "<script>alert(1)</script>" (SCRIPT_PATIENT):
 *     slide 1  a.tiff            400x300, 4 boxes: gs, noa, noa, ss
 *     slide 2  it's "b".tiff     400x300, 3 boxes: gs, (unlabelled), noa
 *     slide 3  he.tiff           HE, no boxes (no predictions: left out of
 *                                the patient report)
 *   patient P2:
 *     slide 4  c.tiff            2 boxes, no predictions at all
 *     slide 5  other/a.tiff      2 boxes (a second "a.tiff")
 *
 *   model 1 "m-old" (created 2020): predictions on slide 1 only
 *   model 2 "m-new <i>" (created 2024): predictions on slides 1, 2 and 5;
 *     on slide 1: gs, noa, gs (annotated noa: a disagreement), ss;
 *     generated HE and MASSON views for annotations 1 and 2.
 */
#ifndef G2C_TEST_REPORT_FIXTURE_H
#define G2C_TEST_REPORT_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>

#define SCRIPT_PATIENT "<script>alert(1)</script>"
#define QUOTED_SLIDE "it's \"b\".tiff"
#define NEW_MODEL "m-new <i>"

extern const char *fx_dir; /* the test's temporary folder */
extern char fx_db[4096];   /* the catalog */

/* Build the catalog in a fresh temporary folder. */
void fx_make_catalog(void);

/* Run `g2c --quiet --db fx_db ARGS`, stdout and stderr to fx_dir/TAG.out
 * and TAG.err; returns the exit status. */
int fx_g2c(const char *tag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text of fx_dir/TAG.STREAM (caller frees). */
char *fx_output(const char *tag, const char *stream);
/* A file under fx_dir (8 rotating static buffers). */
const char *fx_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Run SQL on the catalog (read-write); returns 0. */
int fx_sql(const char *db, const char *sql);
/* s quoted for the shell ('...' with ' escaped): into a buffer of one's
 * own, or one of 8 rotating static ones (at most a few per command line:
 * a ninth use in one call would overwrite the first). */
void fx_quote_to(char *out, size_t size, const char *s);
const char *fx_quote(const char *s);
/* Validate a report.json against schemas/report.schema.json with
 * schema-check.c, and with Python's jsonschema where it is installed. */
void fx_validate(const char *json_path);
/* Times a string occurs in text. */
int fx_count(const char *text, const char *needle);

#endif
