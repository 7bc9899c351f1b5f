/* The ingest manifest: one CSV row per slide. */
#include "g2c/csv.h"
#include "g2c/error.h"
#include "g2c/ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { COL_PATIENT, COL_SLIDE, COL_STAIN, COL_ANNOTATIONS, COL_SPLIT, COL_COUNT };
static const char *const column_names[COL_COUNT] = {"patient", "slide", "stain",
                                                    "annotations", "split"};

typedef struct {
    int column[COL_COUNT]; /* field index of each column, -1 if absent */
    char folder[4096];     /* the manifest's folder, for relative paths */
} Layout;

static void say(void (*report)(void *, const char *), void *ctx)
{
    if (report)
        report(ctx, g2c_error_message());
}

static int read_header(const G2cCsvRow *row, const char *path, Layout *layout)
{
    for (int c = 0; c < COL_COUNT; c++)
        layout->column[c] = -1;
    for (int f = 0; f < row->n_fields; f++) {
        int known = 0;
        for (int c = 0; c < COL_COUNT; c++)
            if (strcasecmp(row->fields[f], column_names[c]) == 0) {
                layout->column[c] = f;
                known = 1;
            }
        if (!known)
            return g2c_error("%s:%ld: unknown column '%s' (expected patient, slide, "
                             "stain, annotations, split)", path, row->line, row->fields[f]);
    }
    for (int c = COL_PATIENT; c <= COL_STAIN; c++)
        if (layout->column[c] < 0)
            return g2c_error("%s:%ld: header lacks the '%s' column", path, row->line,
                             column_names[c]);
    return 0;
}

static int resolve_path(const Layout *layout, const char *value, char *out, size_t size)
{
    int n = value[0] == '/' || value[0] == '\0'
                ? snprintf(out, size, "%s", value)
                : snprintf(out, size, "%s/%s", layout->folder, value);
    return n >= 0 && (size_t)n < size ? 0 : g2c_error("path too long: %s", value);
}

static const char *field(const G2cCsvRow *row, const Layout *layout, int c)
{
    int f = layout->column[c];
    return f >= 0 && f < row->n_fields ? row->fields[f] : "";
}

static int parse_row(const G2cCsvRow *row, const Layout *layout, const char *path,
                     G2cManifestRow *out)
{
    memset(out, 0, sizeof *out);
    out->line = row->line;
    int max_column = 0;
    for (int c = 0; c < COL_COUNT; c++)
        if (layout->column[c] > max_column)
            max_column = layout->column[c];
    if (row->n_fields > max_column + 1 || row->n_fields < layout->column[COL_STAIN] + 1)
        return g2c_error("%s:%ld: %d fields, the header has %d", path, row->line,
                         row->n_fields, max_column + 1);
    const char *patient = field(row, layout, COL_PATIENT);
    const char *slide = field(row, layout, COL_SLIDE);
    const char *stain = field(row, layout, COL_STAIN);
    const char *split = field(row, layout, COL_SPLIT);
    if (!*patient || !*slide || !*stain)
        return g2c_error("%s:%ld: patient, slide and stain must not be empty", path, row->line);
    if (*split && strcmp(split, "train") && strcmp(split, "val") && strcmp(split, "test"))
        return g2c_error("%s:%ld: split '%s' is not train, val or test", path, row->line, split);
    if (strlen(patient) >= sizeof out->patient || strlen(stain) >= sizeof out->stain)
        return g2c_error("%s:%ld: patient or stain name too long", path, row->line);
    snprintf(out->patient, sizeof out->patient, "%s", patient);
    snprintf(out->stain, sizeof out->stain, "%s", stain);
    snprintf(out->split, sizeof out->split, "%s", split);
    if (resolve_path(layout, slide, out->slide, sizeof out->slide) != 0 ||
        resolve_path(layout, field(row, layout, COL_ANNOTATIONS), out->annotations,
                     sizeof out->annotations) != 0)
        return g2c_error_prefix("%s:%ld: ", path, row->line);
    return 0;
}

static int duplicate_of(const G2cManifestRow *rows, int n, const char *slide)
{
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].slide, slide) == 0)
            return i;
    return -1;
}

int g2c_manifest_read(const char *path, G2cManifestRow **rows_out, int *n_out,
                      int *bad_rows, void (*report)(void *ctx, const char *msg), void *ctx)
{
    *rows_out = NULL;
    *n_out = 0;
    *bad_rows = 0;
    G2cCsvReader *reader = g2c_csv_open(path);
    if (!reader)
        return -1;
    Layout layout;
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(layout.folder, sizeof layout.folder, "%.*s", (int)(slash - path), path);
    else
        snprintf(layout.folder, sizeof layout.folder, ".");
    G2cCsvRow row;
    int rc = g2c_csv_next(reader, &row);
    if (rc <= 0) {
        if (rc == 0)
            g2c_error("%s: empty manifest (expected a header: patient,slide,stain,...)", path);
        g2c_csv_close(reader);
        return -1;
    }
    if (read_header(&row, path, &layout) != 0) {
        g2c_csv_close(reader);
        return -1;
    }
    G2cManifestRow *rows = NULL;
    int n = 0, capacity = 0;
    while ((rc = g2c_csv_next(reader, &row)) != 0) {
        if (rc < 0) { /* a broken quote ends the file: the rest is unreliable */
            (*bad_rows)++;
            say(report, ctx);
            break;
        }
        if (n == capacity) {
            capacity = capacity ? 2 * capacity : 16;
            G2cManifestRow *grown = realloc(rows, (size_t)capacity * sizeof *rows);
            if (!grown) {
                free(rows);
                g2c_csv_close(reader);
                return g2c_error("out of memory reading %s", path);
            }
            rows = grown;
        }
        if (parse_row(&row, &layout, path, &rows[n]) != 0) {
            (*bad_rows)++;
            say(report, ctx);
            continue;
        }
        int first = duplicate_of(rows, n, rows[n].slide);
        if (first >= 0) {
            g2c_error("%s:%ld: duplicate of line %ld (same slide %s); ignored", path,
                      row.line, rows[first].line, rows[n].slide);
            (*bad_rows)++;
            say(report, ctx);
            continue;
        }
        n++;
    }
    g2c_csv_close(reader);
    *rows_out = rows;
    *n_out = n;
    return 0;
}
