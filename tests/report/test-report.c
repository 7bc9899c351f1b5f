/* g2c report: a slide report's four files and what they say, the default
 * and explicit model, a slide named with quotes, a patient report with a
 * slide left out, a slide whose file is gone, escaping of a patient id
 * that is a script, and the generated_views table of schema version 3. */
#include "fixture.h"
#include "schema-check.h"
#include "testutil.h"

#include "ingest/slides.h"

#include "g2c/catalog.h"
#include "g2c/csv.h"
#include "g2c/error.h"
#include "g2c/image.h"
#include "g2c/report.h"

#include <jansson.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static json_t *load_json(const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fprintf(stderr, "%s:%d: %s\n", path, err.line, err.text);
    CHECK(j != NULL);
    return j;
}

static const char *jstr(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "(missing)";
}

static json_int_t jint(const json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

/* ---- the slide report of slide 1 with the default model ---------------- */

static void check_json(const char *path)
{
    fx_validate(path);
    json_t *r = load_json(path);
    if (!r)
        return;
    CHECK(strcmp(jstr(r, "patient"), SCRIPT_PATIENT) == 0);
    CHECK(strcmp(jstr(r, "g2c_version"), G2C_VERSION) == 0);
    CHECK(strcmp(jstr(json_object_get(r, "model"), "name"), NEW_MODEL) == 0);
    CHECK(strcmp(jstr(json_object_get(r, "slide"), "name"), "a.tiff") == 0);
    CHECK(json_is_null(json_object_get(json_object_get(r, "slide"), "note")));
    json_t *runs = json_object_get(r, "runs");
    CHECK(json_array_size(runs) == 1 && jint(json_array_get(runs, 0), "id") == 3); /* 1: ingest */
    json_t *sum = json_object_get(r, "summary");
    CHECK(jint(sum, "glomeruli") == 4);
    CHECK(jint(sum, "unclassified") == 0);
    CHECK(jint(json_object_get(sum, "counts"), "gs") == 2);
    CHECK(jint(json_object_get(sum, "counts"), "noa") == 1);
    CHECK(jint(json_object_get(sum, "counts"), "ss") == 1);
    CHECK_CLOSE(json_number_value(json_object_get(sum, "percent_gs")), 50.0, 1e-9);
    CHECK(jint(sum, "annotated") == 4);
    CHECK(jint(sum, "disagreements") == 1);
    json_t *g = json_object_get(r, "glomeruli");
    CHECK(json_array_size(g) == 4);
    json_t *g1 = json_array_get(g, 0), *g3 = json_array_get(g, 2);
    CHECK(strcmp(jstr(g1, "source_id"), "glom \"1\" <i>") == 0);
    CHECK(strcmp(jstr(g1, "predicted"), "gs") == 0);
    CHECK_CLOSE(json_number_value(json_object_get(json_object_get(g1, "probabilities"), "gs")),
                0.85, 1e-9);
    json_t *views = json_object_get(g1, "generated_views");
    CHECK(json_array_size(views) == 2 &&
          strcmp(json_string_value(json_array_get(views, 0)), "HE") == 0 &&
          strcmp(json_string_value(json_array_get(views, 1)), "MASSON") == 0);
    CHECK(json_is_true(json_object_get(g1, "crop")));
    CHECK(strcmp(jstr(g3, "predicted"), "gs") == 0 && strcmp(jstr(g3, "annotated"), "noa") == 0);
    CHECK(json_is_false(json_object_get(g3, "agrees")));
    CHECK(json_array_size(json_object_get(g3, "generated_views")) == 0);
    CHECK_CLOSE(json_number_value(json_object_get(json_object_get(g3, "box"), "x")), 200, 1e-9);
    json_decref(r);
}

static void check_csv(const char *path)
{
    G2cCsvReader *csv = g2c_csv_open(path);
    CHECK(csv != NULL);
    if (!csv)
        return;
    G2cCsvRow row;
    int rows = 0, predicted = -1, patient = -1, source = -1, agrees = -1;
    CHECK(g2c_csv_next(csv, &row) == 1);
    for (int i = 0; i < row.n_fields; i++) {
        predicted = strcmp(row.fields[i], "predicted") == 0 ? i : predicted;
        patient = strcmp(row.fields[i], "patient") == 0 ? i : patient;
        source = strcmp(row.fields[i], "source_id") == 0 ? i : source;
        agrees = strcmp(row.fields[i], "agrees") == 0 ? i : agrees;
    }
    CHECK(predicted >= 0 && patient >= 0 && source >= 0 && agrees >= 0);
    int n_fields = row.n_fields;
    static const char *const want[] = {"gs", "noa", "gs", "ss"};
    while (g2c_csv_next(csv, &row) == 1 && predicted >= 0 && patient >= 0) {
        CHECK(row.n_fields == n_fields);
        if (rows < 4)
            CHECK(strcmp(row.fields[predicted], want[rows]) == 0);
        CHECK(strcmp(row.fields[patient], SCRIPT_PATIENT) == 0);
        if (rows == 0)
            CHECK(strcmp(row.fields[source], "glom \"1\" <i>") == 0);
        if (rows == 2)
            CHECK(strcmp(row.fields[agrees], "0") == 0);
        rows++;
    }
    CHECK(rows == 4);
    g2c_csv_close(csv);
}

static void check_html(const char *path)
{
    char *html = test_read_text(path);
    CHECK(fx_count(html, "<tr id=\"g") == 4);
    CHECK(fx_count(html, "<rect ") == 4);
    CHECK(fx_count(html, "<svg") == 1);
    /* Every catalog string escaped: no script element, no raw tag. */
    CHECK(strstr(html, "<script") == NULL);
    CHECK(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
    CHECK(strstr(html, "m-new <i>") == NULL && strstr(html, "m-new &lt;i&gt;") != NULL);
    CHECK(strstr(html, "glom &quot;1&quot; &lt;i&gt;") != NULL);
    CHECK(strstr(html, "&quot;&lt;b&gt;&amp;&quot;") != NULL); /* model config */
    /* Self-contained: every image inline, nothing fetched. */
    CHECK(fx_count(html, "src=\"") == fx_count(html, "src=\"data:image/jpeg;base64,"));
    CHECK(fx_count(html, "src=\"") == 1 + 4 + 4); /* thumbnail, crops, views */
    CHECK(fx_count(html, "class=\"crop\"") == 4);
    CHECK(fx_count(html, "class=\"view\"") == 4);
    CHECK(fx_count(html, "<figcaption>MASSON</figcaption>") == 2);
    CHECK(strstr(html, "<link") == NULL && strstr(html, "url(") == NULL);
    CHECK(strstr(html, "http://") == NULL && strstr(html, "https://") == NULL);
    /* Summary and provenance. */
    CHECK(strstr(html, "<dd id=\"percent-gs\">50.0 %</dd>") != NULL);
    CHECK(strstr(html, "class=\"dis\"") != NULL);
    CHECK(strstr(html, G2C_VERSION) != NULL);
    CHECK(strstr(html, fx_db) != NULL);
    CHECK(strstr(html, "<dt>run 3</dt>") != NULL);
    G2cCatalog *cat = g2c_catalog_open(fx_db, G2C_CATALOG_READONLY);
    sqlite3_stmt *st = cat ? g2c_catalog_prepare(cat, "SELECT fingerprint FROM slides "
                                                      "WHERE id = 1") : NULL;
    CHECK(st && sqlite3_step(st) == SQLITE_ROW &&
          strstr(html, (const char *)sqlite3_column_text(st, 0)) != NULL);
    sqlite3_finalize(st);
    g2c_catalog_close(cat);
    free(html);
}

static int pixel_is(const G2cImage *img, int x, int y, const char *label)
{
    uint8_t rgb[3];
    g2c_report_label_color(label, rgb);
    return memcmp(img->rgb + ((size_t)y * img->width + x) * 3, rgb, 3) == 0;
}

static void check_overlay(const char *path)
{
    G2cImage img;
    CHECK_OK(g2c_png_read(path, &img));
    /* 400 px wide slide: the thumbnail is the slide at scale 1. */
    CHECK(img.width == 400 && img.height == 300);
    if (img.width == 400 && img.height == 300) {
        CHECK(pixel_is(&img, 10, 65, "gs"));  /* left edge of box 1 */
        CHECK(pixel_is(&img, 125, 40, "noa")); /* top edge of box 2 */
        CHECK(pixel_is(&img, 249, 65, "gs"));  /* right edge of box 3 */
        CHECK(pixel_is(&img, 325, 89, "ss"));  /* bottom edge of box 4 */
        CHECK(!pixel_is(&img, 35, 65, "gs"));  /* inside: the slide */
    }
    g2c_image_free(&img);
}

static void slide_report(void)
{
    CHECK(fx_g2c("r1", "report --slide 1 --out %s", fx_quote(fx_path("r1"))) == 0);
    char *text = fx_output("r1", "out");
    CHECK(strstr(text, NEW_MODEL) != NULL); /* newest model with predictions */
    free(text);
    check_json(fx_path("r1/report.json"));
    check_csv(fx_path("r1/glomeruli.csv"));
    check_html(fx_path("r1/report.html"));
    check_overlay(fx_path("r1/overlay.png"));
    CHECK(!exists(fx_path("r1/report.html.tmp")));
}

/* ---- model choice, quoted names --------------------------------------- */

static void explicit_models(void)
{
    CHECK(fx_g2c("old", "report --slide a.tiff --model m-old --out %s",
                 fx_quote(fx_path("old"))) == 1); /* two slides are named a.tiff */
    char *text = fx_output("old", "err");
    CHECK(strstr(text, "ambiguous") && strstr(text, "1") && strstr(text, "5"));
    free(text);
    CHECK(fx_g2c("old", "report --slide 1 --model m-old --out %s",
                 fx_quote(fx_path("old"))) == 0);
    json_t *r = load_json(fx_path("old/report.json"));
    fx_validate(fx_path("old/report.json"));
    if (r) {
        CHECK(strcmp(jstr(json_object_get(r, "model"), "name"), "m-old") == 0);
        CHECK(jint(json_object_get(json_object_get(r, "summary"), "counts"), "noa") == 4);
        CHECK(jint(json_object_get(r, "summary"), "disagreements") == 2);
        json_t *g = json_array_get(json_object_get(r, "glomeruli"), 0);
        CHECK(json_array_size(json_object_get(g, "generated_views")) == 0);
    }
    json_decref(r);
    /* by id */
    CHECK(fx_g2c("byid", "report --slide 1 --model 2 --out %s", fx_quote(fx_path("byid"))) == 0);
    fx_validate(fx_path("byid/report.json"));
    r = load_json(fx_path("byid/report.json"));
    CHECK(r && strcmp(jstr(json_object_get(r, "model"), "name"), NEW_MODEL) == 0);
    json_decref(r);
}

static void quoted_slide(void)
{
    CHECK(fx_g2c("quoted", "report --slide %s --out %s", fx_quote(QUOTED_SLIDE),
                 fx_quote(fx_path("quoted"))) == 0);
    fx_validate(fx_path("quoted/report.json"));
    json_t *r = load_json(fx_path("quoted/report.json"));
    if (r) {
        CHECK(strcmp(jstr(json_object_get(r, "slide"), "name"), QUOTED_SLIDE) == 0);
        json_t *g = json_object_get(r, "glomeruli");
        CHECK(json_array_size(g) == 3);
        json_t *unlabelled = json_array_get(g, 1);
        CHECK(json_is_null(json_object_get(unlabelled, "annotated")));
        CHECK(json_is_null(json_object_get(unlabelled, "agrees")));
        CHECK(json_is_true(json_object_get(json_array_get(g, 2), "agrees"))); /* nongs */
        CHECK(jint(json_object_get(r, "summary"), "annotated") == 2);
    }
    json_decref(r);
    char *csv = test_read_text(fx_path("quoted/glomeruli.csv"));
    CHECK(strstr(csv, ",\"it's \"\"b\"\".tiff\",") != NULL);
    free(csv);
    char *html = test_read_text(fx_path("quoted/report.html"));
    CHECK(strstr(html, "it&#39;s &quot;b&quot;.tiff") != NULL);
    CHECK(strstr(html, "it's \"b\"") == NULL);
    free(html);
}

/* ---- a patient ---------------------------------------------------------- */

static void patient_report(void)
{
    CHECK(fx_g2c("pat", "report --patient %s --out %s", fx_quote(SCRIPT_PATIENT),
                 fx_quote(fx_path("pat"))) == 0);
    char *err = fx_output("pat", "err");
    CHECK(strstr(err, "he.tiff") && strstr(err, "no predictions")); /* left out, warned */
    free(err);
    CHECK(exists(fx_path("pat/index.html")));
    CHECK(exists(fx_path("pat/slide-1/report.html")) && exists(fx_path("pat/slide-2/report.html")));
    CHECK(exists(fx_path("pat/slide-1/overlay.png")));
    CHECK(exists(fx_path("pat/slide-2/glomeruli.csv")));
    CHECK(!exists(fx_path("pat/slide-3")));
    fx_validate(fx_path("pat/slide-1/report.json"));
    fx_validate(fx_path("pat/slide-2/report.json"));
    char *html = test_read_text(fx_path("pat/index.html"));
    CHECK(fx_count(html, "<tr id=\"s") == 3);
    CHECK(strstr(html, "href=\"slide-1/report.html\"") != NULL);
    CHECK(strstr(html, "href=\"slide-2/report.html\"") != NULL);
    CHECK(strstr(html, "no predictions from this model") != NULL);
    CHECK(strstr(html, "<script") == NULL);
    CHECK(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
    CHECK(strstr(html, "it&#39;s &quot;b&quot;.tiff") != NULL);
    CHECK(strstr(html, "id=\"total-glomeruli\">7<") != NULL);
    /* gs: 2 on slide 1, 1 on slide 2, of 7 */
    CHECK(strstr(html, "id=\"total-percent-gs\">42.9<") != NULL);
    CHECK(fx_count(html, "src=\"") == fx_count(html, "src=\"data:image/jpeg;base64,"));
    free(html);
    /* A patient none of whose slides has predictions. */
    CHECK(fx_g2c("p2", "report --patient P2 --model m-old --out %s", fx_quote(fx_path("p2"))) == 1);
    err = fx_output("p2", "err");
    CHECK(strstr(err, "patient 'P2' has no predictions from model 'm-old'") != NULL);
    free(err);
}

/* ---- a slide whose file has gone ------------------------------------- */

static void missing_slide_file(void)
{
    char moved[4096];
    snprintf(moved, sizeof moved, "%s", fx_path("a.tiff.gone"));
    CHECK(rename(fx_path("a.tiff"), moved) == 0);
    CHECK(fx_g2c("gone", "report --slide 1 --out %s", fx_quote(fx_path("gone"))) == 0);
    CHECK(rename(moved, fx_path("a.tiff")) == 0);
    char *err = fx_output("gone", "err");
    CHECK(strstr(err, "a.tiff") && strstr(err, "cannot be read"));
    free(err);
    fx_validate(fx_path("gone/report.json"));
    json_t *r = load_json(fx_path("gone/report.json"));
    CHECK(r && json_is_string(json_object_get(json_object_get(r, "slide"), "note")));
    json_decref(r);
    char *html = test_read_text(fx_path("gone/report.html"));
    CHECK(strstr(html, "<p class=\"note\">") != NULL);
    CHECK(fx_count(html, "<tr id=\"g") == 4); /* the crops are in the catalog */
    free(html);
    G2cImage img;
    CHECK_OK(g2c_png_read(fx_path("gone/overlay.png"), &img));
    CHECK(img.width == 400 && img.height == 300 && pixel_is(&img, 10, 65, "gs"));
    g2c_image_free(&img);

    /* Another slide's file under the ingested name: drawn, but flagged. */
    CHECK(rename(fx_path("a.tiff"), moved) == 0);
    CHECK(g2c_test_system("cp %s %s", fx_quote(fx_path("c.tiff")),
                          fx_quote(fx_path("a.tiff"))) == 0);
    CHECK(fx_g2c("changed", "report --slide 1 --out %s", fx_quote(fx_path("changed"))) == 0);
    CHECK(rename(moved, fx_path("a.tiff")) == 0);
    fx_validate(fx_path("changed/report.json"));
    err = fx_output("changed", "err");
    CHECK(strstr(err, "slide 'a.tiff' (id 1): the slide file changed since it was ingested"));
    free(err);
    html = test_read_text(fx_path("changed/report.html"));
    CHECK(strstr(html, "<p class=\"note\">the slide file changed") != NULL);
    free(html);
}

/* ---- the schema validator itself -------------------------------------- */

static int still_valid(const json_t *schema, json_t *doc, const char *expect)
{
    char msg[1200];
    int rc = schema_check(schema, doc, msg, sizeof msg);
    if (rc == 0 || !strstr(msg, expect))
        fprintf(stderr, "validator said '%s', expected a failure naming '%s'\n", msg, expect);
    json_decref(doc);
    return rc == 0 || !strstr(msg, expect);
}

static void validator(void)
{
    json_t *schema = load_json(g2c_test_source_path("schemas/report.schema.json"));
    json_t *doc = load_json(fx_path("r1/report.json"));
    if (!schema || !doc)
        return;
    char msg[1200];
    CHECK(schema_check(schema, doc, msg, sizeof msg) == 0);
    json_t *d = json_deep_copy(doc);
    json_object_del(json_array_get(json_object_get(d, "glomeruli"), 0), "confidence");
    CHECK(!still_valid(schema, d, "$.glomeruli[0]: lacks the required property 'confidence'"));
    d = json_deep_copy(doc);
    json_object_set_new(json_array_get(json_object_get(d, "glomeruli"), 1), "confidence",
                        json_real(1.5));
    CHECK(!still_valid(schema, d, "$.glomeruli[1].confidence: 1.5 is above the maximum 1"));
    d = json_deep_copy(doc);
    json_object_set_new(json_object_get(json_object_get(d, "summary"), "counts"), "gs",
                        json_integer(-1));
    CHECK(!still_valid(schema, d, "$.summary.counts.gs: -1 is below the minimum 0"));
    d = json_deep_copy(doc);
    json_object_set_new(d, "extra", json_true());
    CHECK(!still_valid(schema, d, "has a property 'extra'"));
    d = json_deep_copy(doc);
    json_object_set_new(d, "labels", json_array());
    CHECK(!still_valid(schema, d, "$.labels: has fewer items than minItems 1"));
    d = json_deep_copy(doc);
    json_object_set_new(d, "format", json_string("other"));
    CHECK(!still_valid(schema, d, "$.format: is not one of the enum values"));
    d = json_deep_copy(doc);
    json_object_set_new(json_object_get(d, "slide"), "id", json_string("1"));
    CHECK(!still_valid(schema, d, "$.slide.id: is not of type integer"));
    d = json_deep_copy(doc);
    json_object_set_new(json_object_get(d, "slide"), "mpp", json_true());
    CHECK(!still_valid(schema, d, "$.slide.mpp: is of none of the types"));
    /* A keyword it does not check is refused, not ignored. */
    json_t *s2 = json_pack("{s:s, s:s}", "type", "string", "pattern", "^a");
    json_t *str = json_string("b");
    CHECK(schema_check(s2, str, msg, sizeof msg) == -1 && strstr(msg, "'pattern'"));
    json_decref(s2);
    json_decref(str);
    json_decref(doc);
    json_decref(schema);
}

/* ---- schema version 3 -------------------------------------------------- */

static void generated_views_table(void)
{
    char db2[4200];
    snprintf(db2, sizeof db2, "%s", fx_path("views.db"));
    CHECK(g2c_test_system("cp %s %s", fx_quote(fx_db), fx_quote(db2)) == 0);
    G2cCatalog *cat = g2c_catalog_open(db2, G2C_CATALOG_READWRITE);
    CHECK(cat != NULL);
    if (!cat)
        return;
    sqlite3 *db = g2c_catalog_db(cat);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM generated_views WHERE annotation_id = 1",
                             -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 2);
    sqlite3_reset(st);
    /* A stain the catalog does not know is refused; deleting the
     * glomerulus deletes its views. */
    CHECK(sqlite3_exec(db, "INSERT INTO generated_views VALUES (2, 2, 'Giemsa', x'00')", NULL,
                       NULL, NULL) != SQLITE_OK);
    CHECK(sqlite3_exec(db, "DELETE FROM annotations WHERE id = 1", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0);
    sqlite3_finalize(st);
    g2c_catalog_close(cat);
}

int main(void)
{
    fx_make_catalog();
    slide_report();
    explicit_models();
    quoted_slide();
    patient_report();
    missing_slide_file();
    validator();
    generated_views_table();
    return g2c_test_finish("report");
}
