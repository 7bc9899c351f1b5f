/* CSV records: one parser for in-memory lines and for files (see
 * include/g2c/csv.h for the dialect). */
#include "g2c/csv.h"
#include "g2c/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

enum { PARSE_OK = 0, PARSE_ERROR = -1, PARSE_OPEN_QUOTE = -2 };

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Length of s[0..len) without one trailing LF, CRLF or CR. */
static size_t strip_line_end(const char *s, size_t len)
{
    if (len > 0 && s[len - 1] == '\n')
        len--;
    if (len > 0 && s[len - 1] == '\r')
        len--;
    return len;
}

static int bad_after_quote(int field, char c)
{
    if (isprint((unsigned char)c))
        return g2c_error("field %d: unexpected '%c' after the closing quote", field, c);
    return g2c_error("field %d: unexpected byte 0x%02x after the closing quote", field,
                     (unsigned char)c);
}

/* Copy a quoted field (s[*i] is just past the opening quote) into out. */
static int parse_quoted(const char *s, size_t len, size_t *i, char *out, size_t *o)
{
    while (*i < len) {
        char c = s[(*i)++];
        if (c != '"') {
            out[(*o)++] = c;
        } else if (*i < len && s[*i] == '"') {
            out[(*o)++] = '"';
            (*i)++;
        } else {
            return PARSE_OK;
        }
    }
    return PARSE_OPEN_QUOTE;
}

/* Parse the record s[0..len) into NUL-terminated fields laid end to end in
 * out, whose capacity must be at least len + 1: every field's NUL takes the
 * place of a comma or of the end, and quotes and blanks only shrink it.
 * PARSE_OPEN_QUOTE means a quoted field is still open at the end, which the
 * file reader answers by appending the next line. */
static int parse_record(const char *s, size_t len, char *out, int *n_fields)
{
    size_t i = 0, o = 0;
    int n = 0;
    for (;;) {
        n++;
        while (i < len && is_blank(s[i]))
            i++;
        if (i < len && s[i] == '"') {
            i++;
            if (parse_quoted(s, len, &i, out, &o) != PARSE_OK) {
                *n_fields = n;
                return PARSE_OPEN_QUOTE;
            }
            while (i < len && is_blank(s[i]))
                i++;
            if (i < len && s[i] != ',')
                return bad_after_quote(n, s[i]);
        } else {
            size_t start = o;
            while (i < len && s[i] != ',')
                out[o++] = s[i++];
            while (o > start && is_blank(out[o - 1]))
                o--;
        }
        out[o++] = '\0';
        if (i >= len)
            break;
        i++; /* the comma */
    }
    *n_fields = n;
    return PARSE_OK;
}

int g2c_csv_split(const char *line, char fields[][G2C_CSV_FIELD_MAX], int max_fields,
                  int *n_fields)
{
    *n_fields = 0;
    size_t len = strip_line_end(line, strlen(line));
    char *out = malloc(len + 1);
    if (!out)
        return g2c_error("out of memory splitting a %zu-byte line", len);
    int n = 0;
    int rc = parse_record(line, len, out, &n);
    if (rc == PARSE_OPEN_QUOTE)
        g2c_error("field %d: unterminated quote", n);
    else if (rc == PARSE_OK && n > max_fields)
        rc = g2c_error("%d fields, at most %d expected", n, max_fields);
    const char *field = out;
    for (int k = 0; rc == PARSE_OK && k < n; k++) {
        size_t flen = strlen(field);
        if (flen >= G2C_CSV_FIELD_MAX)
            rc = g2c_error("field %d: longer than %d bytes", k + 1, G2C_CSV_FIELD_MAX - 1);
        else
            memcpy(fields[k], field, flen + 1);
        field += flen + 1;
    }
    free(out);
    if (rc != PARSE_OK)
        return -1;
    *n_fields = n;
    return 0;
}

/* ---- file reader ------------------------------------------------------ */

struct G2cCsvReader {
    FILE *fp;
    char *path;
    long lines;           /* physical lines read */
    char *line;           /* getline's buffer */
    size_t line_cap;
    char *rec;            /* the record, its lines joined by LF */
    size_t rec_len, rec_cap;
    char *out;            /* parsed fields, end to end */
    size_t out_cap;
    char **fields;
    size_t fields_cap;
};

G2cCsvReader *g2c_csv_open(const char *path)
{
    G2cCsvReader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        g2c_error("%s: out of memory", path);
        return NULL;
    }
    r->fp = fopen(path, "rb");
    if (!r->fp) {
        g2c_error("%s: cannot open: %s", path, strerror(errno));
        g2c_csv_close(r);
        return NULL;
    }
    return r;
}

void g2c_csv_close(G2cCsvReader *r)
{
    if (!r)
        return;
    if (r->fp)
        fclose(r->fp);
    free(r->path);
    free(r->line);
    free(r->rec);
    free(r->out);
    free(r->fields);
    free(r);
}

const char *g2c_csv_path(const G2cCsvReader *r)
{
    return r->path;
}

long g2c_csv_lines_read(const G2cCsvReader *r)
{
    return r->lines;
}

/* Grow an array to hold at least `need` elements; returns the (possibly
 * moved) array, or NULL with the old one left intact. */
static void *grow(void *array, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return array;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    void *p = realloc(array, n * elem);
    if (p)
        *cap = n;
    return p;
}

/* Read one physical line without its line end.  Returns 1, 0 at the end,
 * -1 on error; *len gets its length. */
static int read_line(G2cCsvReader *r, size_t *len)
{
    errno = 0;
    ssize_t got = getline(&r->line, &r->line_cap, r->fp);
    if (got < 0) {
        if (ferror(r->fp))
            return g2c_error("%s:%ld: read error: %s", r->path, r->lines + 1,
                             strerror(errno ? errno : EIO));
        return 0;
    }
    r->lines++;
    size_t n = (size_t)got;
    if (memchr(r->line, '\0', n))
        return g2c_error("%s:%ld: NUL byte (not a text file?)", r->path, r->lines);
    if (r->lines == 1 && n >= 3 && memcmp(r->line, "\xEF\xBB\xBF", 3) == 0) {
        memmove(r->line, r->line + 3, n - 3 + 1);
        n -= 3;
    }
    *len = strip_line_end(r->line, n);
    r->line[*len] = '\0';
    return 1;
}

static int is_blank_line(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_blank(s[i]) && s[i] != '\r')
            return 0;
    return 1;
}

static int append_rec(G2cCsvReader *r, const char *s, size_t len, int newline_first)
{
    size_t need = r->rec_len + len + (newline_first ? 1 : 0) + 1;
    char *rec = grow(r->rec, &r->rec_cap, need, 1);
    if (!rec)
        return g2c_error("%s:%ld: out of memory", r->path, r->lines);
    r->rec = rec;
    if (newline_first)
        r->rec[r->rec_len++] = '\n';
    memcpy(r->rec + r->rec_len, s, len);
    r->rec_len += len;
    r->rec[r->rec_len] = '\0';
    return 0;
}

/* Point row->fields at the n NUL-terminated fields in r->out. */
static int index_fields(G2cCsvReader *r, int n, G2cCsvRow *row)
{
    char **fields = grow(r->fields, &r->fields_cap, (size_t)n, sizeof *fields);
    if (!fields)
        return g2c_error("%s:%ld: out of memory", r->path, r->lines);
    r->fields = fields;
    char *p = r->out;
    for (int k = 0; k < n; k++) {
        r->fields[k] = p;
        p += strlen(p) + 1;
    }
    row->fields = r->fields;
    row->n_fields = n;
    return 0;
}

/* Parse r->rec, pulling in more lines while a quoted field is open. */
static int parse_joined(G2cCsvReader *r, long start, G2cCsvRow *row)
{
    for (;;) {
        char *out = grow(r->out, &r->out_cap, r->rec_len + 1, 1);
        if (!out)
            return g2c_error("%s:%ld: out of memory", r->path, start);
        r->out = out;
        int n = 0;
        int rc = parse_record(r->rec, r->rec_len, r->out, &n);
        if (rc == PARSE_OK)
            return index_fields(r, n, row);
        if (rc == PARSE_ERROR)
            return g2c_error_prefix("%s:%ld: ", r->path, start);
        size_t len = 0;
        int got = read_line(r, &len);
        if (got < 0)
            return -1;
        if (got == 0)
            return g2c_error("%s:%ld: field %d: unterminated quote (runs to the end of "
                             "the file)", r->path, start, n);
        if (append_rec(r, r->line, len, 1) < 0)
            return -1;
    }
}

int g2c_csv_next(G2cCsvReader *r, G2cCsvRow *row)
{
    row->fields = NULL;
    row->n_fields = 0;
    row->line = 0;
    for (;;) {
        size_t len = 0;
        int got = read_line(r, &len);
        if (got <= 0)
            return got;
        if (is_blank_line(r->line, len))
            continue;
        long start = r->lines;
        r->rec_len = 0;
        if (append_rec(r, r->line, len, 0) < 0 || parse_joined(r, start, row) < 0)
            return -1;
        row->line = start;
        return 1;
    }
}
