/* Boxes in a CSV file, in level-0 pixels, one per line:
 *
 *   x,y,w,h,label
 *   10240,20480,512,480,gs
 *   11000.5,20100,600,610,"crescent, cellular"
 *
 * The header is optional: a first line whose first field is not a number
 * is one.  Without it the columns are x, y, w, h and an optional label (4
 * or 5 fields; every line must have as many as the first).  With it the
 * columns are found by name, in any order and case: x (or left), y (or
 * top), w (or width), h (or height), and optionally label (or class) and
 * id; other columns are ignored.  A header must name x, y, w and h, so a
 * corner-style "xmin,ymin,xmax,ymax" file is refused instead of misread.
 * source_id = the id column, else the line number.  Quoting, CRLF and
 * blank lines are handled by the CSV reader (include/g2c/csv.h).
 */
#include "annot-private.h"
#include "g2c/csv.h"
#include "g2c/error.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct {
    int x, y, w, h, label, id; /* field indexes, -1 when absent */
    int n_fields;              /* every data line must have this many */
} Columns;

static const struct {
    const char *name;
    size_t offset;
} column_names[] = {
    {"x", offsetof(Columns, x)},         {"left", offsetof(Columns, x)},
    {"y", offsetof(Columns, y)},         {"top", offsetof(Columns, y)},
    {"w", offsetof(Columns, w)},         {"width", offsetof(Columns, w)},
    {"h", offsetof(Columns, h)},         {"height", offsetof(Columns, h)},
    {"label", offsetof(Columns, label)}, {"class", offsetof(Columns, label)},
    {"id", offsetof(Columns, id)},
};

static int *column_slot(Columns *c, const char *name)
{
    for (size_t i = 0; i < sizeof column_names / sizeof column_names[0]; i++)
        if (strcasecmp(name, column_names[i].name) == 0)
            return (int *)((char *)c + column_names[i].offset);
    return NULL;
}

static int columns_from_header(const G2cCsvRow *row, Columns *c)
{
    *c = (Columns){-1, -1, -1, -1, -1, -1, row->n_fields};
    for (int k = 0; k < row->n_fields; k++) {
        int *slot = column_slot(c, row->fields[k]);
        if (!slot)
            continue;
        if (*slot >= 0)
            return g2c_error("header: column '%s' given twice", row->fields[k]);
        *slot = k;
    }
    if (c->x < 0 || c->y < 0 || c->w < 0 || c->h < 0)
        return g2c_error("header must name columns x, y, w, h (also left, top, width, "
                         "height), and may name label and id");
    return 0;
}

static int columns_positional(const G2cCsvRow *row, Columns *c)
{
    if (row->n_fields != 4 && row->n_fields != 5)
        return g2c_error("%d field(s), expected x,y,w,h,label (or x,y,w,h)", row->n_fields);
    *c = (Columns){0, 1, 2, 3, row->n_fields == 5 ? 4 : -1, -1, row->n_fields};
    return 0;
}

static int field_number(const G2cCsvRow *row, int k, const char *name, double *v)
{
    if (g2c_annot_parse_number(row->fields[k], v) < 0)
        return g2c_error("%s '%.40s' is not a number", name, row->fields[k]);
    return 0;
}

static int read_box(const G2cCsvRow *row, const Columns *c, G2cAnnotation *a)
{
    memset(a, 0, sizeof *a);
    if (row->n_fields != c->n_fields)
        return g2c_error("%d field(s), expected %d", row->n_fields, c->n_fields);
    if (field_number(row, c->x, "x", &a->x) < 0 || field_number(row, c->y, "y", &a->y) < 0 ||
        field_number(row, c->w, "w", &a->w) < 0 || field_number(row, c->h, "h", &a->h) < 0)
        return -1;
    if (a->w < 0 || a->h < 0)
        return g2c_error("negative size %g x %g", a->w, a->h);
    if (a->w == 0 || a->h == 0)
        return g2c_error("zero-area box: %g x %g pixels", a->w, a->h);
    if (g2c_annot_set_label(a, c->label >= 0 ? row->fields[c->label] : "") < 0)
        return -1;
    char line[24];
    snprintf(line, sizeof line, "%ld", row->line);
    g2c_annot_set_source_id(a, c->id >= 0 && row->fields[c->id][0] ? row->fields[c->id] : line);
    return 0;
}

static int read_rows(G2cCsvReader *reader, G2cAnnotationList *out)
{
    const char *path = g2c_csv_path(reader);
    G2cCsvRow row;
    Columns columns;
    int got = g2c_csv_next(reader, &row);
    if (got <= 0)
        return got < 0 ? -1 : g2c_error("%s: empty file", path);
    double ignored;
    int header = g2c_annot_parse_number(row.fields[0], &ignored) < 0;
    int rc = header ? columns_from_header(&row, &columns) : columns_positional(&row, &columns);
    if (rc < 0)
        return g2c_error_prefix("%s:%ld: ", path, row.line);
    if (header)
        got = g2c_csv_next(reader, &row);
    for (; got > 0; got = g2c_csv_next(reader, &row)) {
        G2cAnnotation a;
        if (read_box(&row, &columns, &a) < 0)
            return g2c_error_prefix("%s:%ld: ", path, row.line);
        if (g2c_annot_list_push(out, &a) < 0)
            return g2c_error_prefix("%s: ", path);
    }
    return got;
}

int g2c_annot_read_csv(const char *path, G2cAnnotationList *out)
{
    memset(out, 0, sizeof *out);
    G2cCsvReader *reader = g2c_csv_open(path);
    if (!reader)
        return -1;
    int rc = read_rows(reader, out);
    g2c_csv_close(reader);
    if (rc < 0)
        g2c_annot_list_free(out);
    return rc < 0 ? -1 : 0;
}
