/* Reference sets on real data: no background crop from a real slide (each
 * crop's tissue measured independently of the detector), and one set per
 * stain from the four real kidney fields turned into slides. */
#include "testutil.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/refset.h"
#include "g2c/tiffwriter.h"

#include <string.h>

static const char *dir, *data;
static char db[4096];

#define g2c(tag, ...) g2c_test_cli(db, tag, __VA_ARGS__)

/* Every crop of the set, measured by the independent checker. */
static double min_crop_tissue(const char *name, int *count)
{
    G2cCatalog *cat = g2c_catalog_open(db, G2C_CATALOG_READONLY);
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "SELECT p.png FROM patches p JOIN refsets r ON r.id = p.refset_id "
             "WHERE r.name = ?1");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    double lowest = 1;
    *count = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        G2cImage crop;
        CHECK_OK(g2c_png_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                                &crop));
        double f = g2c_crop_tissue_fraction(&crop);
        if (f < lowest)
            lowest = f;
        (*count)++;
        g2c_image_free(&crop);
    }
    sqlite3_finalize(st);
    g2c_catalog_close(cat);
    return lowest;
}

static void real_slide(void)
{
    CHECK(g2c("ingest", "ingest --patient CMU-1 --stain HE %s/slides/CMU-1-Small-Region.svs",
              data) == 0);
    CHECK(g2c("build", "refset he --stain HE --count 40 --size 128 --mpp 1 --min-tissue 0.5 "
                       "--seed 3") == 0);
    int n;
    double lowest = min_crop_tissue("he", &n);
    fprintf(stderr, "CMU-1: %d crops, lowest independent tissue fraction %.3f\n", n, lowest);
    CHECK(n == 40);
    CHECK(lowest >= 0.5);
}

static void stain_fields(void)
{
    /* The last column is the least tissue the independent checker must
     * see in every crop.  CD68 immunohistochemistry leaves most tissue a
     * pale blue-beige whose chroma is under the checker's floor, so there
     * the checker can only confirm that crops are not glass. */
    static const struct {
        const char *file, *stain;
        double floor;
    } fields[] = {
        {"kidney-PAS.png", "PAS", 0.5},
        {"kidney-JonesHE.png", "JonesHE", 0.5},
        {"kidney-SiriusRed.png", "SiriusRed", 0.5},
        {"kidney-CD68.png", "CD68", 0.25},
    };
    for (int i = 0; i < 4; i++) {
        char png[4096], tiff[4096];
        snprintf(png, sizeof png, "%s/stains/%s", data, fields[i].file);
        snprintf(tiff, sizeof tiff, "%s/%s.tiff", dir, fields[i].stain);
        G2cImage img;
        CHECK_OK(g2c_png_read(png, &img));
        G2cTiffOptions opt;
        g2c_tiff_options_init(&opt);
        opt.mpp = 0.5; /* nominal: the fields do not record their resolution */
        CHECK_OK(g2c_tiff_write(tiff, &img, &opt));
        g2c_image_free(&img);
        CHECK(g2c("field", "ingest --patient NISAR --stain %s %s", fields[i].stain, tiff) == 0);
        CHECK(g2c("field-refset", "refset field-%s --stain %s --count 24 --size 128 --mpp 0 "
                                  "--min-tissue 0.5", fields[i].stain, fields[i].stain) == 0);
        char name[64];
        snprintf(name, sizeof name, "field-%s", fields[i].stain);
        int n;
        double lowest = min_crop_tissue(name, &n);
        fprintf(stderr, "%s: %d crops, lowest independent tissue fraction %.3f\n",
                fields[i].stain, n, lowest);
        CHECK(n == 24);
        CHECK(lowest >= fields[i].floor);
        /* Contact sheets land in the build folder, for a look by eye. */
        const char *build = getenv("G2C_BUILD_ROOT");
        CHECK(g2c("field-export", "refset %s --export %s/refset-sheets/%s", name,
                  build ? build : dir, name) == 0);
    }
}

int main(void)
{
    data = g2c_test_shared_data();
    dir = g2c_test_tmpdir();
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    real_slide();
    stain_fields();
    return g2c_test_finish("refset-real");
}
