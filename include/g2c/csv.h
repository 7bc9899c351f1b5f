/* CSV parsing shared by the annotation reader (src/annot/annot-csv.c) and
 * the ingest manifest.
 *
 * Dialect: RFC 4180 plus the leniencies that spreadsheet exports need.
 *  - Fields are separated by commas.  A record ends at LF or CRLF.
 *  - A field whose first non-blank character is a double quote is quoted: it
 *    runs to the matching closing quote and may hold commas, line breaks and
 *    doubled quotes ("" stands for one ").  Its text is kept verbatim; only
 *    blanks outside the quotes are dropped.  Anything else after the closing
 *    quote is an error.
 *  - An unquoted field has its leading and trailing blanks (space, tab)
 *    removed; a quote inside it is an ordinary character (5" stays 5").
 *  - The reader skips a UTF-8 byte-order mark at the start of the file and
 *    blank lines (empty or only blanks), and rejects NUL bytes.
 * Field numbers in messages count from 1, like line numbers.
 */
#ifndef G2C_CSV_H
#define G2C_CSV_H

#include <stddef.h>

enum { G2C_CSV_FIELD_MAX = 256 }; /* bytes per field for g2c_csv_split, NUL included */

/* Split one record held in a string (a trailing LF or CRLF is ignored) into
 * at most max_fields fields of at most G2C_CSV_FIELD_MAX - 1 bytes each.
 * An empty string is one empty field.  Returns 0, or -1 with a message such
 * as "field 3: unterminated quote" or "field 2: longer than 255 bytes"; the
 * caller prefixes the place ("manifest.csv:12: "). */
int g2c_csv_split(const char *line, char fields[][G2C_CSV_FIELD_MAX],
                  int max_fields, int *n_fields);

/* Streaming reader for whole files, with no limit on field length or
 * count.  Its messages already start with "PATH:LINE: ". */
typedef struct G2cCsvReader G2cCsvReader;

typedef struct {
    char **fields; /* n_fields strings, owned by the reader */
    int n_fields;
    long line;     /* 1-based line on which the record starts */
} G2cCsvRow;

/* NULL with "PATH: cannot open: REASON" when the file cannot be read. */
G2cCsvReader *g2c_csv_open(const char *path);

/* Read the next non-blank record into *row: returns 1, or 0 at the end of
 * the file, or -1 on error.  The row's strings stay valid until the next
 * call or g2c_csv_close.  After a -1 for a bad record (a stray character
 * after a closing quote, a NUL byte) the next call goes on with the line
 * after it; an unterminated quote has used up the rest of the file. */
int g2c_csv_next(G2cCsvReader *reader, G2cCsvRow *row);

/* Physical lines read so far (0 for an empty file). */
long g2c_csv_lines_read(const G2cCsvReader *reader);

const char *g2c_csv_path(const G2cCsvReader *reader);
void g2c_csv_close(G2cCsvReader *reader);

#endif
