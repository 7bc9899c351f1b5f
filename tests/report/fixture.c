#include "fixture.h"
#include "schema-check.h"

#include "ingest/slides.h"
#include "testutil.h"

#include "g2c/catalog.h"
#include "g2c/error.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

const char *fx_dir;
char fx_db[4096];

const char *fx_path(const char *fmt, ...)
{
    static char bufs[8][4096];
    static int next;
    char *path = bufs[next++ % 8];
    char rel[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof bufs[0], "%s/%s", fx_dir, rel);
    return path;
}

int fx_g2c(const char *tag, const char *fmt, ...)
{
    char args[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return g2c_test_system("\"%s\" --quiet --db '%s' %s >'%s/%s.out' 2>'%s/%s.err'",
                           getenv("G2C_EXE"), fx_db, args, fx_dir, tag, fx_dir, tag);
}

char *fx_output(const char *tag, const char *stream)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", fx_dir, tag, stream);
    return test_read_text(path);
}

int fx_sql(const char *db, const char *sql)
{
    G2cCatalog *cat = g2c_catalog_open(db, G2C_CATALOG_READWRITE);
    if (!cat)
        return -1;
    char *msg = NULL;
    int rc = sqlite3_exec(g2c_catalog_db(cat), sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "SQL failed: %s\n", msg ? msg : "?");
    sqlite3_free(msg);
    g2c_catalog_close(cat);
    return rc == SQLITE_OK ? 0 : -1;
}

void fx_quote_to(char *out, size_t size, const char *s)
{
    size_t n = 0;
    out[n++] = '\'';
    for (; *s && n + 6 < size; s++) {
        if (*s == '\'') {
            memcpy(out + n, "'\\''", 4);
            n += 4;
        } else {
            out[n++] = *s;
        }
    }
    out[n++] = '\'';
    out[n] = '\0';
}

const char *fx_quote(const char *s)
{
    static char bufs[8][4200];
    static int next;
    char *out = bufs[next++ % 8];
    fx_quote_to(out, sizeof bufs[0], s);
    return out;
}

void fx_validate(const char *json_path)
{
    static int python = -1;
    char schema[4096], checker[4096]; /* g2c_test_source_path reuses one buffer */
    snprintf(schema, sizeof schema, "%s", g2c_test_source_path("schemas/report.schema.json"));
    snprintf(checker, sizeof checker, "%s",
             g2c_test_source_path("tests/report/jsonschema-check.py"));
    CHECK(schema_check_files(schema, json_path) == 0);
    if (python < 0) {
        python = g2c_test_system("/usr/bin/python3 -c 'import jsonschema' 2>/dev/null") == 0;
        if (!python)
            fprintf(stderr, "note: Python's jsonschema is not installed; validating with "
                            "schema-check.c only\n");
    }
    if (python)
        CHECK(g2c_test_system("/usr/bin/python3 %s %s %s", fx_quote(checker),
                              fx_quote(schema), fx_quote(json_path)) == 0);
}

int fx_count(const char *text, const char *needle)
{
    int n = 0;
    size_t len = strlen(needle);
    for (const char *p = strstr(text, needle); p; p = strstr(p + len, needle))
        n++;
    return n;
}

static const char predictions_sql[] =
    "INSERT INTO models (name, kind, config, created_at) VALUES "
    "  ('m-old', 'g2c', '{\"classes\": 3}', '2020-01-01T00:00:00Z'),"
    "  ('m-new <i>', 'g2c', '{\"stains\": [\"HE\", \"MASSON\"], \"note\": \"<b>&\"}',"
    "   '2024-01-01T00:00:00Z');"
    "INSERT INTO runs (kind, model_id, status, started_at, finished_at) VALUES "
    "  ('infer', 1, 'done', '2020-02-01T00:00:00Z', '2020-02-01T00:01:00Z'),"
    "  ('infer', 2, 'done', '2024-02-01T00:00:00Z', '2024-02-01T00:01:00Z');"
    /* m-old on slide 1: everything noa, 0.4 */
    "INSERT INTO predictions (annotation_id, model_id, run_id, label_id, probabilities,"
    " confidence) SELECT a.id, 1, (SELECT id FROM runs WHERE model_id = 1),"
    " (SELECT id FROM labels WHERE name = 'noa'),"
    " '{\"noa\": 0.4, \"ss\": 0.3, \"gs\": 0.3}', 0.4 FROM annotations a WHERE a.slide_id = 1;"
    /* m-new on slides 1, 2, 5: the annotated label, except annotation 3
     * (annotated noa) predicted gs, and unlabelled boxes predicted ss. */
    "INSERT INTO predictions (annotation_id, model_id, run_id, label_id, probabilities,"
    " confidence) SELECT a.id, 2, (SELECT id FROM runs WHERE model_id = 2),"
    " CASE WHEN a.id = 3 THEN (SELECT id FROM labels WHERE name = 'gs')"
    "      ELSE coalesce(a.label_id, (SELECT id FROM labels WHERE name = 'ss')) END,"
    " json_object('noa', 0.05, 'ss', 0.10, 'gs', 0.85), 0.85"
    " FROM annotations a WHERE a.slide_id IN (1, 2, 5);"
    /* probabilities that match the predicted class */
    "UPDATE predictions SET probabilities = json_object("
    "   'noa', CASE label_id WHEN (SELECT id FROM labels WHERE name = 'noa') THEN 0.85"
    "          ELSE 0.05 END,"
    "   'ss', CASE label_id WHEN (SELECT id FROM labels WHERE name = 'ss') THEN 0.85"
    "          ELSE 0.05 END,"
    "   'gs', CASE label_id WHEN (SELECT id FROM labels WHERE name = 'gs') THEN 0.85"
    "          ELSE 0.10 END) WHERE model_id = 2;"
    /* generated views: the crops themselves stand in for generated stains */
    "INSERT INTO generated_views (annotation_id, model_id, stain, png)"
    " SELECT c.annotation_id, 2, s.name, c.png FROM patches c, stains s"
    " WHERE c.annotation_id IN (1, 2) AND s.name IN ('HE', 'MASSON');";

void fx_make_catalog(void)
{
    fx_dir = g2c_test_tmpdir();
    snprintf(fx_db, sizeof fx_db, "%s/g2c.db", fx_dir);
    mkdir(fx_path("other"), 0755);
    CHECK_OK(test_slide_write(fx_path("a.tiff"), 400, 300, 1));
    CHECK_OK(test_slide_write(fx_path(QUOTED_SLIDE), 400, 300, 2));
    CHECK_OK(test_slide_write(fx_path("he.tiff"), 400, 300, 3));
    CHECK_OK(test_slide_write(fx_path("c.tiff"), 400, 300, 4));
    CHECK_OK(test_slide_write(fx_path("other/a.tiff"), 400, 300, 5));
    test_write_text(fx_path("a.csv"), "id,x,y,w,h,label\n"
                                      "\"glom \"\"1\"\" <i>\",10,40,50,50,gs\n"
                                      "g2,100,40,50,50,noa\ng3,200,40,50,50,noa\n"
                                      "g4,300,40,50,50,ss\n");
    test_write_text(fx_path("b.csv"), "x,y,w,h,label\n10,40,50,50,gs\n100,40,50,50,\n"
                                      "200,100,60,40,nonGS\n");
    test_write_text(fx_path("c.csv"), "x,y,w,h,label\n10,40,50,50,gs\n100,40,50,50,noa\n");
    test_write_text(fx_path("manifest.csv"),
                    "patient,slide,stain,annotations\n"
                    "\"<script>alert(1)</script>\",a.tiff,PAS,a.csv\n"
                    "\"<script>alert(1)</script>\",\"it's \"\"b\"\".tiff\",PAS,b.csv\n"
                    "\"<script>alert(1)</script>\",he.tiff,HE,\n"
                    "P2,c.tiff,PAS,c.csv\n"
                    "P2,other/a.tiff,PAS,c.csv\n");
    CHECK(fx_g2c("ingest", "ingest --patch-size 64 '%s'", fx_path("manifest.csv")) == 0);
    /* The ids the predictions above assume. */
    G2cCatalog *cat = g2c_catalog_open(fx_db, G2C_CATALOG_READONLY);
    CHECK(cat != NULL);
    sqlite3_stmt *st = cat ? g2c_catalog_prepare(
        cat, "SELECT group_concat(id || ':' || name || ':' || coalesce((SELECT group_concat(a.id) "
             "FROM annotations a WHERE a.slide_id = s.id), ''), ' ') FROM slides s") : NULL;
    const char *ids = st && sqlite3_step(st) == SQLITE_ROW
                          ? (const char *)sqlite3_column_text(st, 0) : "";
    if (strcmp(ids ? ids : "", "1:a.tiff:1,2,3,4 2:" QUOTED_SLIDE ":5,6,7 3:he.tiff: "
                                "4:c.tiff:8,9 5:a.tiff:10,11") != 0) {
        fprintf(stderr, "unexpected catalog ids: %s\n", ids ? ids : "(null)");
        CHECK(0);
    }
    sqlite3_finalize(st);
    g2c_catalog_close(cat);
    CHECK(fx_sql(fx_db, predictions_sql) == 0);
}
