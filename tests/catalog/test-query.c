/* g2c query: named queries over the views, the three formats with awkward
 * text, and the refusal of anything that writes. */
#include "ingest/slides.h"
#include "testutil.h"

#include "g2c/catalog.h"
#include "g2c/error.h"

#include <jansson.h>
#include <string.h>

static const char *dir;
static char db[4096];

#define g2c(tag, ...) g2c_test_cli(db, tag, __VA_ARGS__)

static char *out(const char *tag, const char *stream)
{
    return g2c_test_cli_output(tag, stream);
}

/* Two patients (one with an awkward name), a model and predictions. */
static void make_catalog(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/a.tiff", dir);
    CHECK_OK(test_slide_write(path, 400, 300, 1));
    snprintf(path, sizeof path, "%s/b.tiff", dir);
    CHECK_OK(test_slide_write(path, 400, 300, 2));
    snprintf(path, sizeof path, "%s/a.csv", dir);
    test_write_text(path, "x,y,w,h,label\n10,40,50,50,gs\n100,40,50,50,noa\n200,40,50,50,noa\n"
                          "300,40,50,50,ss\n");
    snprintf(path, sizeof path, "%s/b.csv", dir);
    test_write_text(path, "10,40,50,50,gs\n100,40,50,50,nonGS\n");
    snprintf(path, sizeof path, "%s/manifest.csv", dir);
    test_write_text(path, "patient,slide,stain,annotations\n"
                          "P1,a.tiff,PAS,a.csv\n"
                          "\"Smith, \"\"J\"\" <b>\",b.tiff,PAS,b.csv\n");
    CHECK(g2c("ingest", "ingest --patch-size 32 %s", path) == 0);
    G2cCatalog *cat = g2c_catalog_open(db, G2C_CATALOG_READWRITE);
    CHECK(cat != NULL);
    /* Predictions: P1 gets gs, noa, gs (wrong), ss; P2 gets gs, noa. */
    const char *sql =
        "INSERT INTO models (name, kind) VALUES ('m1', 'g2c');"
        "INSERT INTO runs (kind, model_id, status) VALUES ('infer', 1, 'done');"
        "INSERT INTO predictions (annotation_id, model_id, run_id, label_id, probabilities, "
        "confidence) SELECT a.id, 1, 1, CASE a.id WHEN 3 THEN (SELECT id FROM labels WHERE "
        "name = 'gs') WHEN 6 THEN (SELECT id FROM labels WHERE name = 'noa') ELSE a.label_id "
        "END, '{}', 0.5 + a.id / 20.0 FROM annotations a ORDER BY a.id;";
    CHECK(sqlite3_exec(g2c_catalog_db(cat), sql, NULL, NULL, NULL) == SQLITE_OK);
    g2c_catalog_close(cat);
}

static void named_queries(void)
{
    CHECK(g2c("list", "query --list") == 0);
    char *text = out("list", "out");
    CHECK(strstr(text, "by-patient") && strstr(text, "disagreements"));
    free(text);

    CHECK(g2c("byp", "query by-patient --format json") == 0);
    text = out("byp", "out");
    json_error_t err;
    json_t *rows = json_loads(text, 0, &err);
    CHECK(json_is_array(rows) && json_array_size(rows) == 2);
    json_t *p1 = NULL;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) if (strcmp(json_string_value(json_object_get(row, "patient")), "P1") == 0) p1 = row;
    CHECK(p1 != NULL);
    if (p1) {
        CHECK(json_integer_value(json_object_get(p1, "glomeruli")) == 4);
        CHECK(json_integer_value(json_object_get(p1, "gs")) == 2);
        CHECK(json_real_value(json_object_get(p1, "percent_gs")) == 50.0);
        CHECK(json_integer_value(json_object_get(p1, "disagreements")) == 1);
    }
    json_decref(rows);
    free(text);

    /* nonGS annotated, noa predicted: agreement, not a disagreement. */
    CHECK(g2c("dis", "query disagreements --format csv") == 0);
    text = out("dis", "out");
    CHECK(strstr(text, "P1,a.tiff,3,noa,gs") != NULL);
    CHECK(strstr(text, "Smith") == NULL);
    free(text);

    /* The filter binds as a parameter; the awkward name round-trips
     * through CSV quoting. */
    CHECK(g2c("awk", "query patients --patient 'Smith, \"J\" <b>' --format csv") == 0);
    text = out("awk", "out");
    CHECK(strstr(text, "\"Smith, \"\"J\"\" <b>\",1,PAS,2") != NULL);
    free(text);
    CHECK(g2c("table", "query glomeruli --patient P1") == 0);
    text = out("table", "out");
    CHECK(strstr(text, "predicted_label") && strstr(text, "a.tiff"));
    free(text);
}

static void refusals(void)
{
    CHECK(g2c("write", "query --sql 'DELETE FROM slides'") == 1);
    char *text = out("write", "err");
    CHECK(strstr(text, "read-only") != NULL);
    free(text);
    CHECK(g2c("two", "query --sql 'SELECT 1; DROP TABLE slides'") == 1);
    CHECK(g2c("attach", "query --sql \"ATTACH '%s/x.db' AS x\"", dir) == 1);
    CHECK(g2c("bad", "query --sql 'SELECT nonsense FROM nowhere'") == 1);
    text = out("bad", "err");
    CHECK(strstr(text, "no such table") != NULL);
    free(text);
    CHECK(g2c("unknown", "query no-such-query") == 2);
    CHECK(g2c("count", "query --sql 'SELECT count(*) AS n FROM slides' --format csv") == 0);
    text = out("count", "out");
    CHECK(strcmp(text, "n\r\n2\r\n") == 0);
    free(text);
}

int main(void)
{
    dir = g2c_test_tmpdir();
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    make_catalog();
    named_queries();
    refusals();
    return g2c_test_finish("query");
}
