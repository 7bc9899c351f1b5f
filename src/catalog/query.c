/* Named and ad-hoc read-only queries, and their three output formats. */
#include "g2c/query.h"

#include "g2c/error.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

extern const char g2c_queries_sql[];

enum { MAX_NAMED = 64 };
static G2cNamedQuery named[MAX_NAMED];
static int n_named = -1;
static char *named_text;

static void parse_named(void)
{
    n_named = 0;
    named_text = strdup(g2c_queries_sql);
    if (!named_text)
        return;
    static const char marker[] = "-- name: ";
    char *p = strstr(named_text, marker);
    while (p && n_named < MAX_NAMED) {
        G2cNamedQuery *q = &named[n_named];
        p += sizeof marker - 1;
        char *eol = strchr(p, '\n');
        if (!eol)
            break;
        snprintf(q->name, sizeof q->name, "%.*s", (int)(eol - p), p);
        p = eol + 1;
        if (strncmp(p, "-- ", 3) == 0) {
            eol = strchr(p, '\n');
            if (!eol)
                break;
            snprintf(q->description, sizeof q->description, "%.*s", (int)(eol - p - 3), p + 3);
            p = eol + 1;
        }
        q->sql = p;
        char *next = strstr(p, marker);
        if (next) {
            /* cut at the start of the next query's comment line */
            next[-1] = '\0';
        }
        n_named++;
        p = next;
    }
}

const G2cNamedQuery *g2c_named_queries(int *count)
{
    if (n_named < 0)
        parse_named();
    *count = n_named;
    return named;
}

const G2cNamedQuery *g2c_named_query(const char *name)
{
    int n;
    const G2cNamedQuery *q = g2c_named_queries(&n);
    for (int i = 0; i < n; i++)
        if (strcmp(q[i].name, name) == 0)
            return &q[i];
    g2c_error("no query named '%s' (see g2c query --list)", name);
    return NULL;
}

int g2c_format_parse(const char *name, G2cFormat *format)
{
    static const char *const names[] = {"table", "csv", "json"};
    for (int i = 0; i < 3; i++)
        if (strcmp(name, names[i]) == 0) {
            *format = (G2cFormat)i;
            return 0;
        }
    return g2c_error("unknown format '%s' (table, csv or json)", name);
}

/* ---- cells ------------------------------------------------------------- */

/* The text of a cell as printed; blobs are summarised. */
static char *cell_text(sqlite3_stmt *st, int c)
{
    char buf[64];
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_NULL:
        return strdup("");
    case SQLITE_BLOB:
        snprintf(buf, sizeof buf, "<blob %d bytes>", sqlite3_column_bytes(st, c));
        return strdup(buf);
    default:
        return strdup((const char *)sqlite3_column_text(st, c));
    }
}

static void csv_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static json_t *cell_json(sqlite3_stmt *st, int c)
{
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_NULL: return json_null();
    case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(st, c));
    case SQLITE_FLOAT: return json_real(sqlite3_column_double(st, c));
    case SQLITE_BLOB: {
        char buf[64];
        snprintf(buf, sizeof buf, "<blob %d bytes>", sqlite3_column_bytes(st, c));
        return json_string(buf);
    }
    default: return json_string((const char *)sqlite3_column_text(st, c));
    }
}

/* ---- the three formats --------------------------------------------------- */

typedef struct {
    char **cells; /* rows * cols */
    long rows, capacity;
} Table;

static int table_collect(sqlite3_stmt *st, int cols, Table *t)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (t->rows == t->capacity) {
            t->capacity = t->capacity ? 2 * t->capacity : 64;
            char **grown = realloc(t->cells, (size_t)(t->capacity * cols) * sizeof *grown);
            if (!grown)
                return g2c_error("out of memory");
            t->cells = grown;
        }
        for (int c = 0; c < cols; c++)
            t->cells[t->rows * cols + c] = cell_text(st, c);
        t->rows++;
    }
    return rc == SQLITE_DONE ? 0 : -1;
}

static void print_table(FILE *out, sqlite3_stmt *st, int cols, const Table *t)
{
    size_t *width = calloc((size_t)cols, sizeof *width);
    for (int c = 0; c < cols; c++) {
        width[c] = strlen(sqlite3_column_name(st, c));
        for (long r = 0; r < t->rows; r++) {
            size_t w = strlen(t->cells[r * cols + c]);
            if (w > width[c])
                width[c] = w;
        }
        if (width[c] > 60)
            width[c] = 60;
    }
    for (int c = 0; c < cols; c++)
        fprintf(out, "%s%-*s", c ? "  " : "", (int)width[c], sqlite3_column_name(st, c));
    fputc('\n', out);
    for (int c = 0; c < cols; c++) {
        fprintf(out, "%s", c ? "  " : "");
        for (size_t k = 0; k < width[c]; k++)
            fputc('-', out);
    }
    fputc('\n', out);
    for (long r = 0; r < t->rows; r++) {
        for (int c = 0; c < cols; c++)
            fprintf(out, "%s%-*.*s", c ? "  " : "", (int)width[c], (int)width[c],
                    t->cells[r * cols + c]);
        fputc('\n', out);
    }
    free(width);
}

static int print_streaming(FILE *out, sqlite3_stmt *st, int cols, G2cFormat format,
                           long *rows)
{
    json_t *array = format == G2C_FORMAT_JSON ? json_array() : NULL;
    if (format == G2C_FORMAT_CSV) {
        for (int c = 0; c < cols; c++) {
            if (c)
                fputc(',', out);
            csv_field(out, sqlite3_column_name(st, c));
        }
        fputs("\r\n", out);
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        (*rows)++;
        if (array) {
            json_t *obj = json_object();
            for (int c = 0; c < cols; c++)
                json_object_set_new(obj, sqlite3_column_name(st, c), cell_json(st, c));
            json_array_append_new(array, obj);
            continue;
        }
        for (int c = 0; c < cols; c++) {
            char *text = cell_text(st, c);
            if (c)
                fputc(',', out);
            csv_field(out, text);
            free(text);
        }
        fputs("\r\n", out);
    }
    if (array) {
        json_dumpf(array, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', out);
        json_decref(array);
    }
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- running --------------------------------------------------------------- */

static void bind_param(sqlite3_stmt *st, const char *name, const char *value)
{
    int index = sqlite3_bind_parameter_index(st, name);
    if (index > 0 && value)
        sqlite3_bind_text(st, index, value, -1, SQLITE_TRANSIENT);
}

int g2c_query_run(G2cCatalog *cat, const char *sql, const G2cQueryParams *params,
                  G2cFormat format, FILE *out, long *rows)
{
    *rows = 0;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    if (sqlite3_prepare_v2(g2c_catalog_db(cat), sql, -1, &st, &tail) != SQLITE_OK)
        return g2c_error("SQL error: %s", sqlite3_errmsg(g2c_catalog_db(cat)));
    if (!st)
        return g2c_error("empty query");
    while (tail && (*tail == ' ' || *tail == '\n' || *tail == '\t' || *tail == '\r' ||
                    *tail == ';'))
        tail++;
    int rc = 0;
    if (tail && *tail)
        rc = g2c_error("one statement at a time, please (found more after the first)");
    else if (!sqlite3_stmt_readonly(st))
        rc = g2c_error("queries are read-only: this statement would change the catalog");
    if (rc != 0) {
        sqlite3_finalize(st);
        return rc;
    }
    if (params) {
        bind_param(st, ":patient", params->patient);
        bind_param(st, ":slide", params->slide);
        bind_param(st, ":model", params->model);
    }
    int cols = sqlite3_column_count(st);
    if (format == G2C_FORMAT_TABLE) {
        Table t = {0};
        rc = table_collect(st, cols, &t);
        if (rc == 0)
            print_table(out, st, cols, &t);
        for (long i = 0; i < t.rows * cols; i++)
            free(t.cells[i]);
        free(t.cells);
        *rows = t.rows;
    } else {
        rc = print_streaming(out, st, cols, format, rows);
    }
    if (rc != 0)
        g2c_error("SQL error: %s", sqlite3_errmsg(g2c_catalog_db(cat)));
    sqlite3_finalize(st);
    return rc;
}
