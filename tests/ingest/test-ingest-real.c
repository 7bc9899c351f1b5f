/* Ingestion on real data: a real Aperio slide, the corrupt one, and a
 * mosaic slide built from real glomerulus crops whose stored crops must
 * carry the right labels and the very same pixels. */
#include "slides.h"
#include "testutil.h"

#include "g2c/catalog.h"
#include "g2c/csv.h"
#include "g2c/error.h"
#include "g2c/tiffwriter.h"

#include <string.h>

enum { COLS = 4, ROWS = 3, CROP = 224, GAP = 40 };

static const char *dir, *data;
static char db[4096];

static int g2c(const char *args, const char *tag)
{
    return g2c_test_cli(db, tag, "%s", args);
}

static int64_t scalar(const char *sql)
{
    return g2c_test_scalar(db, sql);
}

static void real_svs(void)
{
    char path[4096], args[8192];
    snprintf(path, sizeof path, "%s/boxes.csv", dir);
    test_write_text(path, "x,y,w,h,label\n1000,1200,300,260,noa\n1500,800,200,200,gs\n");
    snprintf(args, sizeof args, "ingest --patient CMU-1 --stain HE --annotations %s "
                                "%s/slides/CMU-1-Small-Region.svs", path, data);
    CHECK(g2c(args, "svs") == 0);
    CHECK(scalar("SELECT count(*) FROM slides WHERE vendor = 'aperio' AND width = 2220 "
                 "AND height = 2967 AND objective_power = 20 AND abs(mpp_x - 0.499) < 1e-6") == 1);
    CHECK(scalar("SELECT count(*) FROM patches WHERE width = 224") == 2);
    /* Crops of tissue are not blank: PNGs of real texture are large. */
    CHECK(scalar("SELECT min(length(png)) FROM patches") > 20000);

    snprintf(args, sizeof args, "ingest --patient X --stain HE %s/slides/broken.svs", data);
    CHECK(g2c(args, "broken") == 1);
    snprintf(path, sizeof path, "%s/broken.err", dir);
    char *err = test_read_text(path);
    CHECK(strstr(err, "broken.svs") != NULL);
    free(err);
    CHECK(scalar("SELECT count(*) FROM slides") == 1);
}

static void mosaic(void)
{
    char path[4096], line[512];
    G2cImage canvas;
    g2c_image_alloc(&canvas, COLS * (CROP + GAP) + GAP, ROWS * (CROP + GAP) + GAP, 255);
    G2cImage crops[COLS * ROWS];
    char labels[COLS * ROWS][16];
    snprintf(path, sizeof path, "%s/glomeruli/labels.csv", data);
    G2cCsvReader *r = g2c_csv_open(path);
    CHECK(r != NULL);
    G2cCsvRow row;
    int n = 0, gs = 0, other = 0;
    g2c_csv_next(r, &row); /* header */
    /* Half GS, half nonGS, in file order. */
    while (n < COLS * ROWS && g2c_csv_next(r, &row) == 1) {
        int is_gs = strcmp(row.fields[1], "GS") == 0;
        if ((is_gs && gs >= COLS * ROWS / 2) || (!is_gs && other >= COLS * ROWS / 2))
            continue;
        snprintf(path, sizeof path, "%s/glomeruli/%s", data, row.fields[0]);
        CHECK_OK(g2c_png_read(path, &crops[n]));
        CHECK(crops[n].width == CROP && crops[n].height == CROP);
        snprintf(labels[n], sizeof labels[n], "%s", row.fields[1]);
        gs += is_gs;
        other += !is_gs;
        n++;
    }
    g2c_csv_close(r);
    CHECK(n == COLS * ROWS);
    snprintf(path, sizeof path, "%s/mosaic.csv", dir);
    FILE *f = fopen(path, "w");
    fputs("x,y,w,h,label\n", f);
    for (int i = 0; i < n; i++) {
        int x = GAP + (i % COLS) * (CROP + GAP), y = GAP + (i / COLS) * (CROP + GAP);
        g2c_image_blit(&crops[i], 0, 0, CROP, CROP, &canvas, x, y);
        snprintf(line, sizeof line, "%d,%d,%d,%d,%s\n", x, y, CROP, CROP, labels[i]);
        fputs(line, f);
    }
    fclose(f);
    G2cTiffOptions opt;
    g2c_tiff_options_init(&opt);
    opt.mpp = 0.25;
    snprintf(path, sizeof path, "%s/mosaic.tiff", dir);
    CHECK_OK(g2c_tiff_write(path, &canvas, &opt));
    g2c_image_free(&canvas);

    char args[8192];
    snprintf(args, sizeof args, "ingest --margin 0 --patch-size %d --patient M --stain PAS "
                                "--annotations %s/mosaic.csv %s", CROP, dir, path);
    CHECK(g2c(args, "mosaic") == 0);

    G2cCatalog *cat = g2c_catalog_open(db, G2C_CATALOG_READONLY);
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT l.name, p.png FROM annotations a JOIN slides s ON s.id = a.slide_id "
             "JOIN labels l ON l.id = a.label_id JOIN patches p ON p.annotation_id = a.id "
             "WHERE s.name = 'mosaic.tiff' ORDER BY a.id");
    int i = 0;
    while (st && sqlite3_step(st) == SQLITE_ROW && i < n) {
        const char *label = (const char *)sqlite3_column_text(st, 0);
        CHECK(strcmp(label, strcmp(labels[i], "GS") == 0 ? "gs" : "nongs") == 0);
        G2cImage got;
        CHECK_OK(g2c_png_decode(sqlite3_column_blob(st, 1),
                                (size_t)sqlite3_column_bytes(st, 1), &got));
        CHECK(got.width == CROP &&
              memcmp(got.rgb, crops[i].rgb, (size_t)CROP * CROP * 3) == 0);
        g2c_image_free(&got);
        i++;
    }
    CHECK(i == n);
    sqlite3_finalize(st);
    g2c_catalog_close(cat);
    for (int k = 0; k < n; k++)
        g2c_image_free(&crops[k]);
}

int main(void)
{
    data = g2c_test_shared_data();
    dir = g2c_test_tmpdir();
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    real_svs();
    mosaic();
    return g2c_test_finish("ingest-real");
}
