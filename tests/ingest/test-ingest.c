/* g2c ingest end to end through the command line: good rows ingest, every
 * kind of bad row is reported by file and place and leaves nothing behind,
 * re-runs are no-ops, changed files are detected, crops hold the right
 * pixels. */
#include "slides.h"
#include "testutil.h"

#include "g2c/catalog.h"
#include "g2c/error.h"

#include <string.h>

static const char *dir;
static char db[4096];

static int g2c(const char *args, const char *tag)
{
    return g2c_test_cli(db, tag, "%s", args);
}

static char *output(const char *tag, const char *stream)
{
    return g2c_test_cli_output(tag, stream);
}

static int64_t scalar(const char *sql)
{
    return g2c_test_scalar(db, sql);
}

static void file(const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    test_write_text(path, text);
}

static void slide(const char *name, uint64_t seed)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK_OK(test_slide_write(path, 640, 480, seed));
}

static void check_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle)) {
        fprintf(stderr, "expected to find \"%s\" in:\n%s\n", needle, text);
        g2c_test_failures++;
    }
}

/* The crop of a 64x64 box read with margin 0 into a 64x64 patch is the
 * slide's own pixels. */
static void check_crop_pixels(void)
{
    G2cCatalog *cat = g2c_catalog_open(db, G2C_CATALOG_READONLY);
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT p.png FROM patches p JOIN annotations a ON a.id = p.annotation_id "
             "WHERE a.x = 100 AND a.y = 200 AND a.source_file LIKE '%s1.csv'");
    CHECK(st && sqlite3_step(st) == SQLITE_ROW);
    G2cImage crop, whole;
    CHECK_OK(g2c_png_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                            &crop));
    test_slide_image(&whole, 640, 480, 1);
    CHECK(crop.width == 64 && crop.height == 64);
    int differ = 0;
    for (int y = 0; y < 64; y++)
        differ += memcmp(crop.rgb + (size_t)y * 64 * 3,
                         whole.rgb + ((size_t)(200 + y) * 640 + 100) * 3, 64 * 3) != 0;
    CHECK(differ == 0);
    g2c_image_free(&crop);
    g2c_image_free(&whole);
    sqlite3_finalize(st);
    g2c_catalog_close(cat);
}

static void make_inputs(void)
{
    slide("s1.tiff", 1);
    slide("s2.tiff", 2);
    slide("s3.tiff", 3);
    slide("s4.tiff", 4);
    slide("s5.tiff", 5);
    slide("s6.tiff", 6);
    slide("s7.tiff", 7);
    file("corrupt.svs", "II*\0 this is not a slide at all, just a few bytes");
    file("s1.csv", "x,y,w,h,label\n100,200,64,64,gs\n300,100,64,64,noa\n"
                   "400,300,64,64,ss\n600,50,80,64,noa\n");
    file("s2.geojson",
         "{\"type\":\"FeatureCollection\",\"features\":["
         "{\"type\":\"Feature\",\"id\":\"a\",\"geometry\":{\"type\":\"Polygon\","
         "\"coordinates\":[[[10,60],[90,60],[90,120],[10,120],[10,60]]]},"
         "\"properties\":{\"objectType\":\"annotation\",\"classification\":{\"name\":\"GS\"}}},"
         "{\"type\":\"Feature\",\"id\":\"b\",\"geometry\":{\"type\":\"Polygon\","
         "\"coordinates\":[[[200,200],[260,200],[260,270],[200,200]]]},"
         "\"properties\":{\"objectType\":\"annotation\",\"classification\":{\"name\":\"nonGS\"}}}]}");
    file("s4-outside.csv", "x,y,w,h,label\n100,100,50,50,gs\n5000,5000,50,50,gs\n");
    file("s5-trunc.geojson", "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":");
    file("s7-label.csv", "100,100,50,50,crescent\n");
    file("manifest.csv",
         "patient,slide,stain,annotations,split\n"
         "P1,s1.tiff,PAS,s1.csv,train\n"
         "P1,s2.tiff,H&E,s2.geojson,train\n"
         "P2,s3.tiff,PAS,,test\n"
         "P2,missing.tiff,PAS,,test\n"
         "P3,corrupt.svs,PAS,,\n"
         "P3,s4.tiff,PAS,s4-outside.csv,\n"
         "P3,s5.tiff,PAS,s5-trunc.geojson,\n"
         "P3,s6.tiff,Giemsa,,\n"
         "P3,s7.tiff,PAS,s7-label.csv,\n"
         "P1,s1.tiff,PAS,s1.csv,train\n");
}

int main(void)
{
    dir = g2c_test_tmpdir();
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    make_inputs();
    char args[8192];
    snprintf(args, sizeof args, "ingest --margin 0 --patch-size 64 %s/manifest.csv", dir);

    /* First run: 3 good rows, 7 bad ones -> partial failure (3). */
    CHECK(g2c(args, "run1") == 3);
    char *err = output("run1", "err");
    check_contains(err, "missing.tiff: no such file");
    check_contains(err, "corrupt.svs");
    check_contains(err, "s4-outside.csv: annotation 2");
    check_contains(err, "wholly outside");
    check_contains(err, "s5-trunc.geojson");
    check_contains(err, "unknown stain 'Giemsa'");
    check_contains(err, "s7-label.csv: annotation 1");
    check_contains(err, "unknown label 'crescent'");
    check_contains(err, "manifest.csv:11: duplicate of line 2");
    check_contains(err, "manifest.csv:5: ");
    check_contains(err, "manifest.csv:9: ");
    check_contains(err, "s1.csv: annotation 4 (5): box clipped"); /* a warning */
    free(err);

    /* Only the good slides, whole; the bad ones left nothing. */
    CHECK(scalar("SELECT count(*) FROM slides") == 3);
    CHECK(scalar("SELECT count(*) FROM patients") == 2);
    CHECK(scalar("SELECT count(*) FROM annotations") == 6);
    CHECK(scalar("SELECT count(*) FROM patches") == 6);
    CHECK(scalar("SELECT count(*) FROM annotations WHERE clipped = 1") == 1);
    CHECK(scalar("SELECT count(*) FROM annotations WHERE source_format = 'geojson'") == 2);
    CHECK(scalar("SELECT count(*) FROM annotations WHERE source_format = 'csv'") == 4);
    CHECK(scalar("SELECT w FROM annotations WHERE clipped = 1") == 40);
    CHECK(scalar("SELECT count(*) FROM slide_levels") ==
          scalar("SELECT sum(level_count) FROM slides"));
    CHECK(scalar("SELECT count(*) FROM slides WHERE mpp_x BETWEEN 0.499 AND 0.501") == 3);
    CHECK(scalar("SELECT count(*) FROM slides WHERE split = 'test'") == 1);
    CHECK(scalar("SELECT count(*) FROM annotations a JOIN labels l ON l.id = a.label_id "
                 "WHERE l.name = 'nongs'") == 1);
    CHECK(scalar("SELECT count(*) FROM runs WHERE kind = 'ingest' AND status = 'partial'") == 1);
    /* The README's question: glomeruli per patient and label, one SELECT. */
    CHECK(scalar("SELECT n FROM (SELECT p.external_id AS patient, l.name AS label, "
                 "count(*) AS n FROM annotations a JOIN slides s ON s.id = a.slide_id "
                 "JOIN patients p ON p.id = s.patient_id JOIN labels l ON l.id = a.label_id "
                 "GROUP BY 1, 2) WHERE patient = 'P1' AND label = 'noa'") == 2);
    check_crop_pixels();

    /* Re-running changes nothing. */
    CHECK(g2c(args, "run2") == 3);
    char *out = output("run2", "out");
    CHECK(strstr(out, "added") == NULL);
    free(out);
    CHECK(scalar("SELECT count(*) FROM slides") == 3);
    CHECK(scalar("SELECT count(*) FROM patches") == 6);

    /* A changed file under the same path is detected, then replaced on
     * request. */
    slide("s3.tiff", 33);
    snprintf(args, sizeof args, "ingest --patient P2 --stain PAS %s/s3.tiff", dir);
    CHECK(g2c(args, "changed") == 1);
    err = output("changed", "err");
    check_contains(err, "s3.tiff");
    check_contains(err, "changed");
    free(err);
    snprintf(args, sizeof args, "ingest --reingest --patient P2 --stain PAS %s/s3.tiff", dir);
    CHECK(g2c(args, "replaced") == 0);
    CHECK(scalar("SELECT count(*) FROM slides") == 3);

    /* The same content under another path is refused. */
    g2c_test_system("cp %s/s2.tiff %s/s2-copy.tiff", dir, dir);
    snprintf(args, sizeof args, "ingest --patient P9 --stain HE %s/s2-copy.tiff", dir);
    CHECK(g2c(args, "copy") == 1);
    err = output("copy", "err");
    check_contains(err, "already in the catalog");
    free(err);
    CHECK(scalar("SELECT count(*) FROM patients") == 2);

    /* --fit fixed reads at the requested resolution. */
    snprintf(db, sizeof db, "%s/fixed.db", dir);
    snprintf(args, sizeof args, "ingest --fit fixed --mpp 1.0 --patch-size 32 --patient P1 "
                                "--stain PAS --annotations %s/s1.csv %s/s1.tiff", dir, dir);
    CHECK(g2c(args, "fixed") == 0);
    CHECK(scalar("SELECT count(*) FROM patches WHERE abs(mpp - 1.0) < 1e-9 AND w = 64") == 4);

    /* Usage errors. */
    CHECK(g2c("ingest", "usage") == 2);
    CHECK(g2c("ingest --patient P1 x.tiff", "usage2") == 2);
    CHECK(g2c("ingest --patch-size 0 x.csv", "usage3") == 2);
    snprintf(args, sizeof args, "ingest %s/nonexistent.csv", dir);
    CHECK(g2c(args, "nomanifest") == 1);
    err = output("nomanifest", "err");
    check_contains(err, "nonexistent.csv");
    free(err);
    return g2c_test_finish("ingest");
}
