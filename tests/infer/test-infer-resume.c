/* kill -9 in the middle of writing a slide (test hook G2C_TEST_KILL_INFER:
 * the 2nd slide's predictions inserted, its views and commit not done):
 * the catalog holds the first slide whole and nothing of the others; the
 * same command again scores only the rest, and the catalog ends with the
 * same predictions and views as an uninterrupted run on a copy. */
#include "train/test-train-fixture.h"
#include "testutil.h"

#include "g2c/error.h"

#include <sqlite3.h>
#include <string.h>

enum { PATIENTS = 3, PER_SLIDE = 9 };

static const char *dir;
static char db[4096], copy[4200];

static long long q(const char *sql)
{
    return g2c_test_scalar(db, sql);
}

static long long on_slide(const char *table, int slide)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s t JOIN annotations a ON "
             "a.id = t.annotation_id WHERE a.slide_id = %d", table, slide);
    return q(sql);
}

/* Rows of one catalog's table that the other lacks, compared on content. */
static long long differing(const char *sql)
{
    sqlite3 *h;
    long long n = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
        char attach[4400];
        snprintf(attach, sizeof attach, "ATTACH '%s' AS other", copy);
        sqlite3_stmt *st;
        if (sqlite3_exec(h, attach, NULL, NULL, NULL) == SQLITE_OK &&
            sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(h);
    return n;
}

int main(void)
{
    dir = g2c_test_tmpdir();
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    snprintf(copy, sizeof copy, "%s/copy.db", dir);
    CHECK_OK(fixture_catalog(db, dir, PATIENTS, PER_SLIDE, "noa,gs,nongs"));
    CHECK_OK(fixture_generator(db, dir, "gen_he", "HE", 11, "cyclegan"));
    if (g2c_test_failures)
        return g2c_test_finish("infer-resume");
    CHECK(g2c_test_cli(db, "train", "train --name m --task gs-vs-rest --variant PAS_ALL+ "
                                    "--generators gen_he --preset tiny --epochs 1") == 0);
    char sql[4600];
    snprintf(sql, sizeof sql, "VACUUM INTO '%s'", copy);
    CHECK_OK(fixture_exec(db, sql));
    int rc = g2c_test_system("G2C_TEST_KILL_INFER=2 \"%s\" --quiet --db %s infer --model m "
                             "--views --batch 4 >%s/killed.out 2>&1", getenv("G2C_EXE"), db, dir);
    CHECK(rc == -1 || rc == 137);
    /* Slide 1 whole, nothing of slides 2 and 3. */
    CHECK(on_slide("predictions", 1) == PER_SLIDE && on_slide("generated_views", 1) == PER_SLIDE);
    CHECK(on_slide("predictions", 2) == 0 && on_slide("generated_views", 2) == 0);
    CHECK(on_slide("predictions", 3) == 0);
    CHECK(q("SELECT count(*) FROM runs WHERE kind = 'infer' AND status = 'running'") == 1);
    CHECK(g2c_test_cli(db, "resume", "infer --model m --views --batch 4") == 0);
    g2c_test_cli_expect("resume", "out", "18 glomeruli scored on 2 slide(s)");
    g2c_test_cli_expect("resume", "out", "skipped 9 glomeruli already scored");
    CHECK(g2c_test_cli(copy, "full", "infer --model m --views") == 0);
    CHECK(q("SELECT count(*) FROM predictions") == PATIENTS * PER_SLIDE);
    CHECK(q("SELECT count(*) FROM generated_views") == PATIENTS * PER_SLIDE);
    CHECK(differing("SELECT count(*) FROM (SELECT annotation_id, label_id, probabilities, "
                    "confidence FROM main.predictions EXCEPT SELECT annotation_id, label_id, "
                    "probabilities, confidence FROM other.predictions)") == 0);
    CHECK(differing("SELECT count(*) FROM (SELECT annotation_id, stain, png FROM "
                    "main.generated_views EXCEPT SELECT annotation_id, stain, png FROM "
                    "other.generated_views)") == 0);
    CHECK(differing("SELECT count(*) FROM other.predictions") == PATIENTS * PER_SLIDE);
    return g2c_test_finish("infer-resume");
}
