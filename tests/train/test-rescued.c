/* g2c compare --rescued: the glomeruli model A got wrong and model B right.
 * The set the command lists must be the one SQL finds in the predictions
 * table; the sheet must have the size include/g2c/train.h gives for that
 * many cases and show crops and coloured labels; none rescued writes no
 * file and says so; bad requests name the model. */
#include "test-train-fixture.h"
#include "testutil.h"

#include "g2c/error.h"
#include "g2c/image.h"
#include "g2c/train.h"

#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

static const char *dir;
static char db[4096];

/* The task's class of a catalog label, as predictions store it. */
#define TRUE_CLASS "CASE t.name WHEN 'noa' THEN 'noa' ELSE 's' END"

/* Annotation ids, ascending, of the test glomeruli A got wrong and B
 * right, straight from the predictions table: "12,15,40". */
static void sql_rescued(const char *a, const char *b, char *out, size_t size)
{
    char sql[2048];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(group_concat(id), '') FROM (SELECT a.id FROM annotations a "
             "JOIN slides s ON s.id = a.slide_id JOIN labels t ON t.id = a.label_id "
             "JOIN predictions pa ON pa.annotation_id = a.id JOIN models ma ON "
             "ma.id = pa.model_id AND ma.name = '%s' JOIN labels la ON la.id = pa.label_id "
             "JOIN predictions pb ON pb.annotation_id = a.id JOIN models mb ON "
             "mb.id = pb.model_id AND mb.name = '%s' JOIN labels lb ON lb.id = pb.label_id "
             "WHERE s.split = 'test' AND t.name IN ('noa', 'ss', 'gs') AND "
             "la.name <> " TRUE_CLASS " AND lb.name = " TRUE_CLASS " ORDER BY a.id)",
             a, b);
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
    else
        g2c_test_failures++;
    sqlite3_finalize(st);
    sqlite3_close(h);
}

static int cmp_ll(const void *x, const void *y)
{
    long long a = *(const long long *)x, b = *(const long long *)y;
    return (a > b) - (a < b);
}

/* The ids the command listed ("  glomerulus N ..."), ascending, as
 * "12,15,40"; returns how many. */
static int listed(const char *tag, char *out, size_t size)
{
    char *text = g2c_test_cli_output(tag, "out");
    long long ids[4096];
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, "  glomerulus ")) && n < 4096; p++)
        ids[n++] = atoll(p + 13);
    free(text);
    qsort(ids, (size_t)n, sizeof *ids, cmp_ll);
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%lld", i ? "," : "", ids[i]);
    return n;
}

/* The sheet's size for n cases of k tiles, as include/g2c/train.h states
 * it. */
static void expected_size(int n, int k, int *w, int *h)
{
    const int t = G2C_RESCUED_TILE, line = 12, margin = 8, space = 16;
    int strip = k * t + 2 * (k + 1), case_w = strip > 160 ? strip : 160;
    int case_h = line + t + 4 + 4 * line;
    int cols = (G2C_RESCUED_MAX_WIDTH - 2 * margin + space) / (case_w + space);
    cols = cols < 1 ? 1 : cols > n ? n : cols;
    int rows = (n + cols - 1) / cols;
    *w = 2 * margin + cols * case_w + (cols - 1) * space;
    *h = 2 * margin + 3 * line + 8 + rows * case_h + (rows - 1) * space;
}

static int count_colour(const G2cImage *img, int x0, int y0, int w, int h, int r, int g, int b)
{
    int n = 0;
    for (int y = y0; y < y0 + h && y < img->height; y++)
        for (int x = x0; x < x0 + w && x < img->width; x++) {
            const uint8_t *p = img->rgb + ((size_t)y * img->width + x) * 3;
            n += p[0] == r && p[1] == g && p[2] == b;
        }
    return n;
}

/* Run --rescued and check list, set and sheet; returns the count. */
static int check_run(const char *tag, const char *a, const char *b, int tiles, int max)
{
    char png[4200], want[8192], got[8192], maxopt[32] = "";
    snprintf(png, sizeof png, "%s/%s.png", dir, tag);
    if (max >= 0)
        snprintf(maxopt, sizeof maxopt, "--max %d", max);
    g2c_test_cli_ok(tag, g2c_test_cli(db, tag, "compare --model %s --model %s --rescued %s %s", a, b,
                                png, maxopt));
    sql_rescued(a, b, want, sizeof want);
    int n = listed(tag, got, sizeof got);
    if (strcmp(want, got) != 0) {
        fprintf(stderr, "%s: rescued by SQL {%s}, listed {%s}\n", tag, want, got);
        g2c_test_failures++;
    }
    if (n == 0) {
        g2c_test_cli_expect(tag, "out", "no glomerulus rescued: no sheet written");
        CHECK(access(png, F_OK) != 0);
        return 0;
    }
    int shown = max > 0 && max < n ? max : n, w, h;
    expected_size(shown, tiles, &w, &h);
    G2cImage img;
    CHECK(g2c_png_read(png, &img) == 0);
    if (img.rgb) {
        if (img.width != w || img.height != h) {
            fprintf(stderr, "%s: sheet %dx%d, expected %dx%d for %d cases of %d tiles\n", tag,
                    img.width, img.height, w, h, shown, tiles);
            g2c_test_failures++;
        }
        /* The first case: a crop in its first tile (not all white), B's
         * line in green and A's in red below the tiles. */
        const int t = G2C_RESCUED_TILE, top = 8 + 3 * 12 + 8;
        CHECK(count_colour(&img, 10, top + 14, t, t, 255, 255, 255) < t * t);
        CHECK(count_colour(&img, 8, top + 12 + t + 4, 160, 4 * 12, 20, 130, 40) > 10);
        CHECK(count_colour(&img, 8, top + 12 + t + 4, 160, 4 * 12, 190, 20, 20) > 10);
        g2c_image_free(&img);
    }
    char line[4400];
    snprintf(line, sizeof line, "wrote %s: %d glomeruli, %dx%d px", png, shown, w, h);
    g2c_test_cli_expect(tag, "out", line);
    return n;
}

/* Predictions of a model set right (1) or wrong (0) for the test glomeruli
 * whose id has parity `parity` (-1: all). */
static void force(const char *model, int right, int parity)
{
    char sql[1024], cond[64] = "";
    if (parity >= 0)
        snprintf(cond, sizeof cond, " AND annotation_id %% 2 = %d", parity);
    snprintf(sql, sizeof sql,
             "UPDATE predictions SET label_id = (SELECT l.id FROM labels l, annotations a "
             "JOIN labels t ON t.id = a.label_id WHERE a.id = predictions.annotation_id AND "
             "l.name = CASE t.name WHEN 'noa' THEN '%s' ELSE '%s' END) WHERE model_id = "
             "(SELECT id FROM models WHERE name = '%s')%s",
             right ? "noa" : "s", right ? "s" : "noa", model, cond);
    CHECK_OK(fixture_exec(db, sql));
}

static void errors(void)
{
    char png[4200];
    snprintf(png, sizeof png, "%s/err.png", dir);
    CHECK(g2c_test_cli(db, "no-preds", "compare --model only --model fresh --rescued %s",
                       png) == 1);
    g2c_test_cli_expect("no-preds", "err", "model 'fresh' has no predictions on the test split");
    CHECK(g2c_test_cli(db, "max-alone", "compare --model only --model all --max 3") == 2);
    g2c_test_cli_expect("max-alone", "err", "--max goes with --rescued");
    CHECK(g2c_test_cli(db, "bad-max", "compare --model only --model all --rescued %s --max x",
                       png) == 2);
    /* An unwritable sheet: the error names the file. */
    CHECK(g2c_test_cli(db, "nodir", "compare --model only --model all --rescued "
                                    "%s/none/x.png", dir) == 1);
    g2c_test_cli_expect("nodir", "err", "none/x.png");
    CHECK(access(png, F_OK) != 0);
}

int main(void)
{
    dir = g2c_test_tmpdir();
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    CHECK_OK(fixture_catalog(db, dir, 6, 12, "noa,ss,gs"));
    CHECK_OK(fixture_generator(db, dir, "gen_he", "HE", 11, "cyclegan"));
    CHECK_OK(fixture_generator(db, dir, "gen_masson", "MASSON", 12, "cyclegan"));
    const char *train[] = {"--name only --variant PAS_ONLY",
                           "--name all --variant PAS_ALL+ --generators gen_he,gen_masson",
                           "--name fresh --variant PAS_ONLY --seed 9"};
    for (int i = 0; i < 3; i++)
        g2c_test_cli_ok("train", g2c_test_cli(db, "train", "train --task s-vs-noa --preset tiny %s",
                                        train[i]));
    g2c_test_cli_ok("eval", g2c_test_cli(db, "eval", "eval --model only"));
    g2c_test_cli_ok("eval", g2c_test_cli(db, "eval", "eval --model all"));
    if (g2c_test_failures)
        return g2c_test_finish("rescued");
    /* As trained: whatever the tiny models did, list and SQL agree. */
    int natural = check_run("natural", "only", "all", 3, -1);
    fprintf(stderr, "as trained: %d rescued\n", natural);
    /* A wrong on odd ids, B right everywhere: the odd ones are rescued. */
    force("only", 0, 1);
    force("only", 1, 0);
    force("all", 1, -1);
    long long odd = g2c_test_scalar(db, "SELECT count(*) FROM predictions p JOIN models m ON "
                                        "m.id = p.model_id WHERE m.name = 'only' AND "
                                        "p.annotation_id % 2 = 1");
    CHECK(odd >= 4);
    CHECK(check_run("forced", "only", "all", 3, -1) == odd);
    CHECK(check_run("forced-max", "only", "all", 3, 4) == odd);
    errors();
    /* The other way round B is PAS_ONLY: one tile per case; the even ids
     * are rescued. */
    force("all", 0, 0);
    force("all", 1, 1);
    force("only", 1, -1);
    long long even = g2c_test_scalar(db, "SELECT count(*) FROM predictions p JOIN models m ON "
                                         "m.id = p.model_id WHERE m.name = 'all' AND "
                                         "p.annotation_id % 2 = 0");
    CHECK(check_run("reverse", "all", "only", 1, -1) == even);
    /* B wrong everywhere: none rescued, no file. */
    force("all", 0, -1);
    CHECK(check_run("none", "only", "all", 3, -1) == 0);
    return g2c_test_finish("rescued");
}
