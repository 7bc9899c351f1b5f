/* The README's inference questions: each SQL block of its "### Inference"
 * section is, word for word, a named query of schemas/queries.sql (what
 * `g2c query NAME` runs), and each gives the known answer on a catalog
 * whose predictions were set by hand: patient P1 half globally sclerosed,
 * P2 2 of 12, P3 3 of 12, and a second model with only 5 glomeruli. */
#include "train/test-train-fixture.h"
#include "testutil.h"

#include "g2c/error.h"
#include "g2c/query.h"

#include <ctype.h>
#include <sqlite3.h>
#include <string.h>

enum { PER_SLIDE = 12, MAX_BLOCKS = 8 };

static char db[4096];

typedef struct {
    char name[64];
    char *sql;
} Block;

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
        free(text);
        text = NULL;
    }
    if (text)
        text[n] = '\0';
    fclose(f);
    return text;
}

/* The ```sql blocks of the Inference section, each opening with
 * "-- name: NAME". */
static int readme_blocks(Block *blocks)
{
    char *readme = read_text(g2c_test_source_path("README.md"));
    CHECK(readme != NULL);
    char *start = readme ? strstr(readme, "\n### Inference\n") : NULL;
    CHECK(start != NULL);
    if (!start) {
        free(readme);
        return 0;
    }
    char *end = strstr(start + 1, "\n### ");
    if (end)
        *end = '\0';
    int n = 0;
    for (char *p = start; n < MAX_BLOCKS && (p = strstr(p, "```sql\n-- name: ")) != NULL;) {
        p += strlen("```sql\n-- name: ");
        char *eol = strchr(p, '\n'), *close = strstr(p, "```");
        if (!eol || !close)
            break;
        snprintf(blocks[n].name, sizeof blocks[n].name, "%.*s", (int)(eol - p), p);
        blocks[n].sql = strndup(eol + 1, (size_t)(close - eol - 1));
        n++;
        p = close + 3;
    }
    free(readme);
    return n;
}

/* Whitespace runs as one space, none at the ends. */
static void normalize(const char *in, char *out, size_t size)
{
    size_t n = 0;
    int space = 0;
    for (; *in && n + 2 < size; in++) {
        if (isspace((unsigned char)*in)) {
            space = n > 0;
            continue;
        }
        if (space)
            out[n++] = ' ';
        space = 0;
        out[n++] = *in;
    }
    out[n] = '\0';
}

/* Predictions by hand: model q predicts gs for the first k glomeruli of
 * each patient (P1 6, P2 2, P3 3) and nongs for the rest; model "small"
 * predicts gs for 5 of P1's.  Confidences all differ. */
static int predictions(void)
{
    static const char *const sql =
        "INSERT INTO models (name, kind, config) VALUES ('q', 'g2c', '{}'), "
        "('small', 'g2c', '{}');"
        "INSERT INTO runs (kind, model_id, status) VALUES ('infer', 1, 'done');"
        "WITH ranked AS (SELECT a.id AS aid, pa.external_id AS patient, row_number() OVER "
        "(PARTITION BY s.patient_id ORDER BY a.id) - 1 AS i FROM annotations a JOIN slides s "
        "ON s.id = a.slide_id JOIN patients pa ON pa.id = s.patient_id) "
        "INSERT INTO predictions (annotation_id, model_id, run_id, label_id, probabilities, "
        "confidence) SELECT aid, m.id, 1, (SELECT id FROM labels WHERE name = CASE WHEN "
        "i < CASE patient WHEN 'P1' THEN 6 WHEN 'P2' THEN 2 ELSE 3 END OR m.name = 'small' "
        "THEN 'gs' ELSE 'nongs' END), '{}', 0.5 + 0.01 * aid + 0.001 * m.id FROM ranked, "
        "models m WHERE m.name = 'q' OR (patient = 'P1' AND i < 5)";
    return fixture_exec(db, sql);
}

/* Rows of a query on the catalog, parameters unset (NULL), as sqlite3
 * would run it; each row's first `cols` columns joined by ',' into rows. */
static int run_sql(const char *sql, char rows[][128], int max, int cols)
{
    sqlite3 *h;
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
        n = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (n < max) {
                rows[n][0] = '\0';
                for (int c = 0; c < cols; c++)
                    snprintf(rows[n] + strlen(rows[n]), 128 - strlen(rows[n]), "%s%s",
                             c ? "," : "", (const char *)sqlite3_column_text(st, c));
            }
            n++;
        }
    } else {
        fprintf(stderr, "query failed: %s\n", sqlite3_errmsg(h));
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

static void percent_gs(const char *sql)
{
    char rows[8][128];
    CHECK(run_sql(sql, rows, 8, 5) == 4);
    CHECK(strcmp(rows[0], "P1,small,5,5,100.0") == 0);
    CHECK(strcmp(rows[1], "P1,q,12,6,50.0") == 0);
    CHECK(strcmp(rows[2], "P3,q,12,3,25.0") == 0);
    CHECK(strcmp(rows[3], "P2,q,12,2,16.7") == 0);
    CHECK(g2c_test_cli(db, "percent-gs", "query percent-gs --patient P2 --format csv") == 0);
    g2c_test_cli_expect("percent-gs", "out", "P2,q,12,2,16.7");
}

static void gs_20(const char *sql)
{
    char rows[8][128];
    CHECK(run_sql(sql, rows, 8, 5) == 2);
    CHECK(strcmp(rows[0], "P1,q,12,6,50.0") == 0);
    CHECK(strcmp(rows[1], "P3,q,12,3,25.0") == 0);
    CHECK(g2c_test_cli(db, "gs-20", "query gs-20-percent --model q --format csv") == 0);
    g2c_test_cli_expect("gs-20", "out", "P3,q,12,3,25.0");
}

static void review_queue(const char *sql)
{
    /* Disagreements counted on the tables, not the views: gs against any
     * other annotation, nongs against gs. */
    long long want = g2c_test_scalar(
        db, "SELECT count(*) FROM predictions p JOIN annotations a ON a.id = p.annotation_id "
            "JOIN labels la ON la.id = a.label_id JOIN labels lp ON lp.id = p.label_id WHERE "
            "(lp.name = 'gs') <> (la.name = 'gs')");
    char rows[64][128];
    int n = run_sql(sql, rows, 64, 8);
    CHECK(want > 0 && n == want);
    double last = 0;
    for (int i = 0; i < n && i < 64; i++) {
        const char *conf = rows[i];
        for (int c = 0; c < 7; c++)
            conf = strchr(conf, ',') + 1;
        double v = atof(conf);
        CHECK(v >= last);
        last = v;
    }
    CHECK(g2c_test_cli(db, "review", "query review-queue --model small --format csv") == 0);
    char *out = g2c_test_cli_output("review", "out");
    int lines = 0;
    for (const char *p = out; (p = strchr(p, '\n')); p++)
        lines++;
    long long small = g2c_test_scalar(
        db, "SELECT count(*) FROM predictions p JOIN annotations a ON a.id = p.annotation_id "
            "JOIN labels la ON la.id = a.label_id WHERE p.model_id = 2 AND la.name <> 'gs'");
    CHECK(lines == small + 1);
    free(out);
}

int main(void)
{
    const char *dir = g2c_test_tmpdir();
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    CHECK_OK(fixture_catalog(db, dir, 3, PER_SLIDE, "noa,ss,gs,nongs"));
    CHECK_OK(predictions());
    if (g2c_test_failures)
        return g2c_test_finish("infer-queries");
    Block blocks[MAX_BLOCKS];
    int n = readme_blocks(blocks);
    CHECK(n == 3);
    for (int i = 0; i < n; i++) {
        const G2cNamedQuery *named = g2c_named_query(blocks[i].name);
        CHECK_OK(named ? 0 : -1);
        char a[4096], b[4096];
        normalize(blocks[i].sql, a, sizeof a);
        normalize(named ? named->sql : "", b, sizeof b);
        if (strcmp(a, b) != 0) {
            fprintf(stderr, "README query %s differs from schemas/queries.sql:\n%s\n%s\n",
                    blocks[i].name, a, b);
            g2c_test_failures++;
        }
        if (strcmp(blocks[i].name, "percent-gs") == 0)
            percent_gs(blocks[i].sql);
        else if (strcmp(blocks[i].name, "gs-20-percent") == 0)
            gs_20(blocks[i].sql);
        else if (strcmp(blocks[i].name, "review-queue") == 0)
            review_queue(blocks[i].sql);
        else
            CHECK(!"an unexpected README query");
        free(blocks[i].sql);
    }
    return g2c_test_finish("infer-queries");
}
