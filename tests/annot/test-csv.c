/* The CSV splitter and file reader of src/util/csv.c (shared with the
 * ingest manifest). */
#include <string.h>

#include "annot-test.h"
#include "g2c/csv.h"

static char fields[8][G2C_CSV_FIELD_MAX];

/* Split `line`; expect n fields equal to the NULL-terminated list. */
static void split_ok_at(int where, const char *line, int n, ...)
{
    int got = -1;
    if (g2c_csv_split(line, fields, 8, &got) != 0 || got != n) {
        fprintf(stderr, "line %d: split of [%s] gave %d fields (%s)\n", where, line, got,
                g2c_error_message());
        g2c_test_failures++;
        return;
    }
    va_list ap;
    va_start(ap, n);
    for (int k = 0; k < n; k++) {
        const char *want = va_arg(ap, const char *);
        if (strcmp(fields[k], want) != 0) {
            fprintf(stderr, "line %d: field %d of [%s] is [%s], expected [%s]\n", where, k + 1,
                    line, fields[k], want);
            g2c_test_failures++;
        }
    }
    va_end(ap);
}
#define SPLIT_OK(line, n, ...) split_ok_at(__LINE__, line, n, __VA_ARGS__)

static void split_fails_at(int where, const char *line, int max, const char *needle)
{
    int got = 42;
    g2c_error_clear();
    if (g2c_csv_split(line, fields, max, &got) != -1 || got != 0 ||
        !strstr(g2c_error_message(), needle)) {
        fprintf(stderr, "line %d: split of [%.40s] should fail with \"%s\": got %d, [%s]\n",
                where, line, needle, got, g2c_error_message());
        g2c_test_failures++;
    }
}
#define SPLIT_FAILS(line, max, needle) split_fails_at(__LINE__, line, max, needle)

static void test_split(void)
{
    SPLIT_OK("a,b,c", 3, "a", "b", "c");
    SPLIT_OK("a,b,c\r\n", 3, "a", "b", "c");
    SPLIT_OK("a,b,c\n", 3, "a", "b", "c");
    SPLIT_OK("", 1, "");
    SPLIT_OK(",,", 3, "", "", "");
    SPLIT_OK("  x , y\t,z  ", 3, "x", "y", "z");
    SPLIT_OK("\"a,b\",\"say \"\"hi\"\"\",\" kept \"", 3, "a,b", "say \"hi\"", " kept ");
    SPLIT_OK("  \"q\"  ,1", 2, "q", "1");
    SPLIT_OK("\"\",x", 2, "", "x");
    SPLIT_OK("5\" glom,b\"c", 2, "5\" glom", "b\"c");
    SPLIT_OK("\"line\nbreak\",2", 2, "line\nbreak", "2");

    char wide[G2C_CSV_FIELD_MAX + 8];
    memset(wide, 'w', G2C_CSV_FIELD_MAX - 1);
    wide[G2C_CSV_FIELD_MAX - 1] = '\0';
    int n = 0;
    CHECK_OK(g2c_csv_split(wide, fields, 8, &n));
    CHECK(n == 1 && strlen(fields[0]) == G2C_CSV_FIELD_MAX - 1);
    strcat(wide, "w");
    SPLIT_FAILS(wide, 8, "field 1: longer than 255 bytes");

    SPLIT_FAILS("a,\"open", 8, "field 2: unterminated quote");
    SPLIT_FAILS("\"a\"b,c", 8, "field 1: unexpected 'b' after the closing quote");
    SPLIT_FAILS("a,b,c,d", 3, "4 fields, at most 3");
}

static void test_reader(void)
{
    /* BOM, CRLF, blank lines, a quoted field over three lines, no final
     * newline */
    const char *path = scratch("r.csv", "\xEF\xBB\xBF"
                                        "name,note\r\n"
                                        "\r\n"
                                        "a,\"one\r\n"
                                        "\r\n"
                                        "two, \"\"three\"\"\"\r\n"
                                        "  \t \r\n"
                                        "b,plain");
    G2cCsvReader *r = g2c_csv_open(path);
    CHECK(r != NULL);
    if (!r)
        return;
    G2cCsvRow row;
    CHECK(g2c_csv_next(r, &row) == 1);
    CHECK(row.line == 1 && row.n_fields == 2 && strcmp(row.fields[0], "name") == 0);
    CHECK(g2c_csv_next(r, &row) == 1);
    CHECK(row.line == 3 && row.n_fields == 2);
    CHECK(row.n_fields == 2 && strcmp(row.fields[1], "one\n\ntwo, \"three\"") == 0);
    CHECK(g2c_csv_next(r, &row) == 1);
    CHECK(row.line == 7 && row.n_fields == 2 && strcmp(row.fields[1], "plain") == 0);
    CHECK(g2c_csv_next(r, &row) == 0);
    CHECK(g2c_csv_next(r, &row) == 0);
    CHECK(g2c_csv_lines_read(r) == 7);
    CHECK(strcmp(g2c_csv_path(r), path) == 0);
    g2c_csv_close(r);

    /* no limit on field size in the reader */
    size_t big = 100000;
    char *text = malloc(big + 16);
    memset(text, 'z', big);
    strcpy(text + big, ",end\n");
    r = g2c_csv_open(scratch("big.csv", text));
    free(text);
    CHECK(r && g2c_csv_next(r, &row) == 1 && row.n_fields == 2 &&
          strlen(row.fields[0]) == big && strcmp(row.fields[1], "end") == 0);
    g2c_csv_close(r);

    /* a quote left open runs to the end and is reported where it began */
    r = g2c_csv_open(scratch("open.csv", "a,b\nc,\"d\ne,f\n"));
    CHECK(r && g2c_csv_next(r, &row) == 1);
    g2c_error_clear();
    CHECK(r && g2c_csv_next(r, &row) == -1);
    CHECK(strstr(g2c_error_message(), "open.csv:2: field 2: unterminated quote") != NULL);
    g2c_csv_close(r);

    r = g2c_csv_open(scratch("bad.csv", "a,b\n\n\"c\"d,e\nf,g\n"));
    CHECK(r && g2c_csv_next(r, &row) == 1 && g2c_csv_next(r, &row) == -1);
    CHECK(strstr(g2c_error_message(), "bad.csv:3: field 1: unexpected 'd'") != NULL);
    /* a bad record does not end the file */
    CHECK(r && g2c_csv_next(r, &row) == 1 && row.line == 4 && row.n_fields == 2 &&
          strcmp(row.fields[1], "g") == 0);
    g2c_csv_close(r);

    char missing[4200];
    snprintf(missing, sizeof missing, "%s/none.csv", g2c_test_tmpdir());
    CHECK(g2c_csv_open(missing) == NULL);
    CHECK(strstr(g2c_error_message(), "none.csv: cannot open: No such file") != NULL);
    g2c_csv_close(NULL);
}

int main(void)
{
    test_split();
    test_reader();
    g2c_test_system("rm -rf '%s'", g2c_test_tmpdir());
    return g2c_test_finish("csv");
}
