/* g2c infer end to end with a tiny PAS_ALL+ model (two random-weight
 * generators): one slide, one patient, the rest; every glomerulus (the
 * unlabelled ones too) gets one prediction equal to what the trained-model
 * API says for its crop; a second run changes nothing; --views stores the
 * generated views g2c report then shows; --rescore replaces; a level-2
 * model scores only what the level-1 model called s. */
#include "train/test-train-fixture.h"
#include "testutil.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/image.h"
#include "g2c/train.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

enum { PATIENTS = 4, PER_SLIDE = 10 };

static const char *dir;
static char db[4096];

static long long q(const char *sql)
{
    return g2c_test_scalar(db, sql);
}

static void expect_rc(const char *tag, int rc, int want)
{
    if (rc != want) {
        char *err = g2c_test_cli_output(tag, "err");
        fprintf(stderr, "%s: exit %d, expected %d: %s\n", tag, rc, want, err);
        free(err);
        g2c_test_failures++;
    }
}

static long long slide_predictions(int patient)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM predictions p JOIN annotations a ON a.id = p.annotation_id "
             "JOIN slides s ON s.id = a.slide_id JOIN patients pa ON pa.id = s.patient_id "
             "JOIN models m ON m.id = p.model_id WHERE m.name = 'm' AND "
             "pa.external_id = 'P%d'", patient);
    return q(sql);
}

/* The catalog rows infer writes, as one comparable string. */
static void snapshot(char *out, size_t size)
{
    snprintf(out, size, "predictions %lld runs %lld views %lld ids %lld created %lld",
             q("SELECT count(*) FROM predictions"), q("SELECT count(*) FROM runs"),
             q("SELECT count(*) FROM generated_views"),
             q("SELECT coalesce(sum(id + run_id), 0) FROM predictions"),
             q("SELECT coalesce(sum(length(created_at)), 0) FROM predictions"));
}

static void one_slide(void)
{
    expect_rc("slide", g2c_test_cli(db, "slide", "infer --model m --slide P1-PAS.tiff"), 0);
    CHECK(slide_predictions(1) == PER_SLIDE);
    CHECK(slide_predictions(2) == 0 && slide_predictions(3) == 0);
    g2c_test_cli_expect("slide", "out", "10 glomeruli scored on 1 slide(s)");
    CHECK(q("SELECT count(*) FROM runs r JOIN models m ON m.id = r.model_id WHERE "
            "r.kind = 'infer' AND m.name = 'm' AND r.status = 'done' AND r.finished_at IS NOT "
            "NULL AND json_extract(r.metrics, '$.glomeruli') = 10 AND "
            "json_extract(r.params, '$.scope') = 'slide'") == 1);
    /* The task's labels, probabilities that sum to 1, confidence the top one. */
    CHECK(q("SELECT count(*) FROM predictions p JOIN labels l ON l.id = p.label_id WHERE "
            "l.name NOT IN ('nongs', 'gs')") == 0);
    CHECK(q("SELECT count(*) FROM predictions WHERE abs(json_extract(probabilities, '$.rest') "
            "+ json_extract(probabilities, '$.gs') - 1) > 1e-4 OR abs(confidence - "
            "max(json_extract(probabilities, '$.rest'), json_extract(probabilities, '$.gs'))) "
            "> 1e-6") == 0);
    /* The unlabelled boxes are scored too. */
    CHECK(q("SELECT count(*) FROM predictions p JOIN annotations a ON a.id = p.annotation_id "
            "WHERE a.label_id IS NULL") > 0);
}

static void patient_then_rest(void)
{
    expect_rc("patient", g2c_test_cli(db, "patient", "infer --model m --patient P2"), 0);
    CHECK(slide_predictions(2) == PER_SLIDE && slide_predictions(3) == 0);
    expect_rc("all", g2c_test_cli(db, "all", "infer --model m"), 0);
    for (int p = 1; p <= PATIENTS; p++)
        CHECK(slide_predictions(p) == PER_SLIDE);
    g2c_test_cli_expect("all", "out", "20 glomeruli scored on 2 slide(s)");
    g2c_test_cli_expect("all", "out", "skipped 20 glomeruli already scored");
    CHECK(q("SELECT count(DISTINCT run_id) FROM predictions") == 3);
}

/* The same command again: nothing changes, not even a run row. */
static void idempotent(void)
{
    char before[512], after[512];
    snapshot(before, sizeof before);
    expect_rc("again", g2c_test_cli(db, "again", "infer --model m --all"), 0);
    snapshot(after, sizeof after);
    CHECK(strcmp(before, after) == 0);
    g2c_test_cli_expect("again", "out", "nothing to do (40 glomeruli already scored;");
}

/* What the stored rows say equals the trained-model API on the same crops;
 * the stored views are the API's views. */
static void same_as_api(void)
{
    G2cCatalog *cat = g2c_catalog_open(db, G2C_CATALOG_READONLY);
    G2cTrainedModel *m = cat ? g2c_trained_model_load(cat, "m", 1) : NULL;
    CHECK_OK(m ? 0 : -1);
    if (!m) {
        g2c_catalog_close(cat);
        return;
    }
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT a.id, c.png, lp.name, pr.probabilities, "
             "(SELECT v.png FROM generated_views v WHERE v.annotation_id = a.id AND "
             "v.model_id = pr.model_id AND v.stain = 'MASSON') FROM annotations a "
             "JOIN patches c ON c.id = (SELECT min(id) FROM patches WHERE annotation_id = a.id) "
             "JOIN predictions pr ON pr.annotation_id = a.id JOIN labels lp ON "
             "lp.id = pr.label_id ORDER BY a.id");
    int rows = 0, views = 0;
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        G2cImage crop, out[2] = {{0}};
        CHECK_OK(g2c_png_decode(sqlite3_column_blob(st, 1),
                                (size_t)sqlite3_column_bytes(st, 1), &crop));
        int cls = -1;
        float probs[2] = {0};
        CHECK_OK(g2c_trained_model_predict(m, &crop, 1, &cls, probs, out));
        CHECK(cls >= 0 && strcmp((const char *)sqlite3_column_text(st, 2),
                                 cls ? "gs" : "nongs") == 0);
        json_t *j = json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL);
        CHECK_CLOSE(json_number_value(json_object_get(j, "rest")), probs[0], 1e-5);
        CHECK_CLOSE(json_number_value(json_object_get(j, "gs")), probs[1], 1e-5);
        json_decref(j);
        if (sqlite3_column_type(st, 4) == SQLITE_BLOB) {
            G2cImage v;
            CHECK_OK(g2c_png_decode(sqlite3_column_blob(st, 4),
                                    (size_t)sqlite3_column_bytes(st, 4), &v));
            CHECK(v.width == out[1].width && v.height == out[1].height &&
                  memcmp(v.rgb, out[1].rgb, (size_t)v.width * v.height * 3) == 0);
            g2c_image_free(&v);
            views++;
        }
        g2c_image_free(&crop);
        g2c_image_free(&out[0]);
        g2c_image_free(&out[1]);
        rows++;
    }
    sqlite3_finalize(st);
    CHECK(rows == PATIENTS * PER_SLIDE);
    fprintf(stderr, "checked %d predictions and %d views against the API\n", rows, views);
    g2c_trained_model_free(m);
    g2c_catalog_close(cat);
}

/* --views on one slide: its glomeruli lacked views, so they are scored
 * again with them; the report shows them. */
static void views_and_report(void)
{
    expect_rc("views", g2c_test_cli(db, "views", "infer --model m --slide P1-PAS.tiff --views"), 0);
    g2c_test_cli_expect("views", "out", "stored 20 generated views");
    CHECK(q("SELECT count(*) FROM generated_views v JOIN models m ON m.id = v.model_id WHERE "
            "m.name = 'm' AND v.stain IN ('HE', 'MASSON')") == 2 * PER_SLIDE);
    CHECK(q("SELECT count(*) FROM predictions") == PATIENTS * PER_SLIDE);
    expect_rc("views-again", g2c_test_cli(db, "views-again",
                                          "infer --model m --slide P1-PAS.tiff --views"), 0);
    g2c_test_cli_expect("views-again", "out", "nothing to do");
    same_as_api();
    char out[4200], path[4300];
    snprintf(out, sizeof out, "%s/report-P1", dir);
    expect_rc("report", g2c_test_cli(db, "report", "report --slide P1-PAS.tiff --model m "
                                                   "--out %s", out), 0);
    snprintf(path, sizeof path, "%s/report.json", out);
    json_t *r = json_load_file(path, 0, NULL);
    json_t *gloms = json_object_get(r, "glomeruli");
    CHECK(json_array_size(gloms) == PER_SLIDE);
    size_t i;
    json_t *g;
    json_array_foreach(gloms, i, g)
    {
        json_t *v = json_object_get(g, "generated_views");
        CHECK(json_array_size(v) == 2 &&
              strcmp(json_string_value(json_array_get(v, 0)), "HE") == 0 &&
              strcmp(json_string_value(json_array_get(v, 1)), "MASSON") == 0);
    }
    json_decref(r);
    /* The page carries the pictures: the crop and two views per row. */
    snprintf(path, sizeof path, "%s/report.html", out);
    FILE *f = fopen(path, "rb");
    char *html = calloc(1, 1 << 24);
    size_t n = f && html ? fread(html, 1, (1 << 24) - 1, f) : 0;
    if (f)
        fclose(f);
    int jpegs = 0;
    for (const char *p = html; n && (p = strstr(p, "data:image/jpeg")); p++)
        jpegs++;
    CHECK(jpegs >= 3 * PER_SLIDE);
    free(html);
}

static void rescore(void)
{
    long long last = q("SELECT max(id) FROM runs");
    expect_rc("rescore", g2c_test_cli(db, "rescore", "infer --model m --patient P1 --rescore"), 0);
    long long run = q("SELECT max(id) FROM runs WHERE kind = 'infer'");
    CHECK(run > last);
    CHECK(q("SELECT count(*) FROM predictions") == PATIENTS * PER_SLIDE);
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM predictions WHERE run_id = %lld", run);
    CHECK(q(sql) == PER_SLIDE);
    /* Views of other weights would not match the new prediction. */
    CHECK(q("SELECT count(*) FROM generated_views") == 0);
}

static void set_level1(const char *label, const char *annotated)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "UPDATE predictions SET label_id = (SELECT id FROM labels WHERE name = '%s') "
             "WHERE model_id = (SELECT id FROM models WHERE name = 'l1') AND annotation_id IN "
             "(SELECT a.id FROM annotations a JOIN labels l ON l.id = a.label_id WHERE "
             "l.name IN (%s))", label, annotated);
    CHECK_OK(fixture_exec(db, sql));
}

/* Level 2 on what level 1 called s.  The level-1 predictions are set
 * (a tiny random model calls whatever it likes): first none s, then the
 * annotated ss and gs. */
static void hierarchy(void)
{
    expect_rc("l2-first", g2c_test_cli(db, "l2-first", "infer --model l2 --given l1"), 1);
    g2c_test_cli_expect("l2-first", "err", "--given model 'l1' has not scored these 40 "
                                           "glomeruli: run g2c infer --model l1");
    expect_rc("l1", g2c_test_cli(db, "l1", "infer --model l1"), 0);
    CHECK(q("SELECT count(*) FROM predictions p JOIN models m ON m.id = p.model_id WHERE "
            "m.name = 'l1'") == PATIENTS * PER_SLIDE);
    set_level1("noa", "'noa', 'ss', 'gs'");
    expect_rc("l2-none", g2c_test_cli(db, "l2-none", "infer --model l2 --given l1"), 1);
    g2c_test_cli_expect("l2-none", "err", "--given model 'l1' called none of these 40 glomeruli s");
    set_level1("s", "'ss', 'gs'");
    expect_rc("l2", g2c_test_cli(db, "l2", "infer --model l2 --given l1"), 0);
    long long sclerosed = q("SELECT count(*) FROM annotations a JOIN labels l ON "
                            "l.id = a.label_id WHERE l.name IN ('ss', 'gs')");
    CHECK(sclerosed == 20);
    CHECK(q("SELECT count(*) FROM predictions p JOIN models m ON m.id = p.model_id JOIN "
            "annotations a ON a.id = p.annotation_id JOIN labels l ON l.id = a.label_id "
            "WHERE m.name = 'l2' AND l.name IN ('ss', 'gs')") == sclerosed);
    CHECK(q("SELECT count(*) FROM predictions p JOIN models m ON m.id = p.model_id WHERE "
            "m.name = 'l2'") == sclerosed);
    CHECK(q("SELECT count(*) FROM predictions p JOIN models m ON m.id = p.model_id JOIN "
            "labels l ON l.id = p.label_id WHERE m.name = 'l2' AND "
            "l.name NOT IN ('ss', 'gs')") == 0);
    g2c_test_cli_expect("l2", "out", "left out 20 glomeruli the --given model did not call");
}

int main(void)
{
    dir = g2c_test_tmpdir();
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    CHECK_OK(fixture_catalog(db, dir, PATIENTS, PER_SLIDE, "noa,ss,gs,-"));
    CHECK_OK(fixture_generator(db, dir, "gen_he", "HE", 11, "cyclegan"));
    CHECK_OK(fixture_generator(db, dir, "gen_masson", "MASSON", 12, "cyclegan"));
    if (g2c_test_failures)
        return g2c_test_finish("infer");
    expect_rc("train", g2c_test_cli(db, "train", "train --name m --task gs-vs-rest --variant "
                                                 "PAS_ALL+ --generators gen_he,gen_masson "
                                                 "--preset tiny --epochs 1"), 0);
    expect_rc("train-l1", g2c_test_cli(db, "train-l1", "train --name l1 --task s-vs-noa "
                                                       "--variant PAS_ONLY --preset tiny "
                                                       "--epochs 1"), 0);
    expect_rc("train-l2", g2c_test_cli(db, "train-l2", "train --name l2 --task ss-vs-gs "
                                                       "--variant PAS_ONLY --preset tiny "
                                                       "--epochs 1"), 0);
    /* Training wrote eval-free catalogs: no predictions yet. */
    CHECK(q("SELECT count(*) FROM predictions") == 0);
    if (g2c_test_failures)
        return g2c_test_finish("infer");
    one_slide();
    patient_then_rest();
    idempotent();
    views_and_report();
    rescore();
    hierarchy();
    return g2c_test_finish("infer");
}
