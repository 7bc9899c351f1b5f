/* Crops are cut in slide order through the block cache, yet the catalog
 * keeps the annotation file's order and every crop is the very PNG an
 * uncached read of the same square gives, on one thread or several. */
#include "slides.h"
#include "testutil.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/ingest.h"
#include "g2c/rng.h"
#include "g2c/slide.h"

#include <math.h>
#include <string.h>

/* Wider than two 1024 px blocks and taller than one, so that the crops
 * span several blocks and the cutting order differs from the file's; boxes
 * of 20-280 px read level 0 into 224 px crops (shrunk or enlarged). */
enum { W = 2600, H = 1300, N = 40 };

static const char *dir;
static double bx[N], by[N], bw[N], bh[N];

static void write_boxes(const char *path)
{
    G2cRng rng;
    g2c_rng_seed(&rng, 5);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("x,y,w,h\n", f);
    for (int i = 0; i < N; i++) {
        /* Scattered over the slide, some over block boundaries and edges. */
        bw[i] = 20 + (double)g2c_rng_below(&rng, 260);
        bh[i] = 20 + (double)g2c_rng_below(&rng, 260);
        bx[i] = (double)g2c_rng_below(&rng, W) - 40;
        by[i] = (double)g2c_rng_below(&rng, H) - 40;
        if (i % 7 == 0) { /* astride the corner of four blocks */
            bx[i] = floor(1024 - bw[i] / 2);
            by[i] = floor(1024 - bh[i] / 2);
        }
        fprintf(f, "%.0f,%.0f,%.0f,%.0f\n", bx[i], by[i], bw[i], bh[i]);
    }
    fclose(f);
}

/* The catalog's annotations in id order are the file's boxes in file
 * order, and each crop is the PNG of an uncached read of its square. */
static void check_catalog(const char *db, const char *slide_path)
{
    G2cCatalog *cat = g2c_catalog_open(db, G2C_CATALOG_READONLY);
    CHECK(cat != NULL);
    if (!cat)
        return;
    G2cSlide *slide = g2c_slide_open(slide_path);
    CHECK(slide != NULL);
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT a.x, a.y, a.w, a.h, p.x, p.y, p.w, p.png FROM annotations a "
             "JOIN patches p ON p.annotation_id = a.id ORDER BY a.id");
    int i = 0, wrong_order = 0, wrong_pixels = 0;
    while (st && slide && sqlite3_step(st) == SQLITE_ROW && i < N) {
        double x = sqlite3_column_double(st, 0), y = sqlite3_column_double(st, 1);
        /* Boxes over the slide's edge were clipped: compare the far side. */
        wrong_order += fabs(x + sqlite3_column_double(st, 2) - (bx[i] + bw[i])) > 1e-9 &&
                       fabs(x - bx[i]) > 1e-9;
        wrong_order += fabs(y + sqlite3_column_double(st, 3) - (by[i] + bh[i])) > 1e-9 &&
                       fabs(y - by[i]) > 1e-9;
        double side = sqlite3_column_double(st, 6);
        G2cImage img;
        uint8_t *png = NULL;
        size_t size = 0;
        CHECK_OK(g2c_slide_read_box(slide, sqlite3_column_double(st, 4),
                                    sqlite3_column_double(st, 5), side, side, 224, 224, &img,
                                    NULL));
        CHECK_OK(g2c_png_encode(&img, 1, &png, &size));
        wrong_pixels += size != (size_t)sqlite3_column_bytes(st, 7) ||
                        memcmp(png, sqlite3_column_blob(st, 7), size) != 0;
        free(png);
        g2c_image_free(&img);
        i++;
    }
    CHECK(i == N);
    CHECK(wrong_order == 0);
    CHECK(wrong_pixels == 0);
    sqlite3_finalize(st);
    g2c_slide_close(slide);
    g2c_catalog_close(cat);
}

int main(void)
{
    dir = g2c_test_tmpdir();
    char slide[4096], boxes[4096];
    snprintf(slide, sizeof slide, "%s/wide.tiff", dir);
    snprintf(boxes, sizeof boxes, "%s/boxes.csv", dir);
    CHECK_OK(test_slide_write(slide, W, H, 11));
    write_boxes(boxes);
    const int threads[] = {1, 3};
    for (int t = 0; t < 2; t++) {
        char db[4096];
        snprintf(db, sizeof db, "%s/t%d.db", dir, threads[t]);
        CHECK(g2c_test_cli(db, "ingest", "ingest --threads %d --patient P "
                           "--stain PAS --annotations %s %s", threads[t], boxes, slide) == 0);
        check_catalog(db, slide);
        /* Level 0, the level the block cache serves. */
        CHECK(g2c_test_scalar(db, "SELECT count(*) FROM patches WHERE level = 0") == N);
    }
    return g2c_test_finish("ingest-order");
}
