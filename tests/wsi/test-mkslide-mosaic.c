/* g2c-mkslide mosaic on the real glomerulus crops (shared/data/glomeruli):
 * the slide opens, every box holds exactly its crop's pixels, and every
 * label is the one labels.csv gives that crop.  Skips without the data. */
#include "g2c/annot.h"
#include "g2c/csv.h"
#include "g2c/error.h"
#include "g2c/image.h"
#include "../testutil.h"

#include <openslide.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The label labels.csv gives a file, or NULL. */
static char *label_of(const char *labels, const char *file)
{
    G2cCsvReader *r = g2c_csv_open(labels);
    if (!r)
        return NULL;
    G2cCsvRow row;
    char *found = NULL;
    while (!found && g2c_csv_next(r, &row) == 1)
        if (row.n_fields >= 2 && strcmp(row.fields[0], file) == 0)
            found = strdup(row.fields[1]);
    g2c_csv_close(r);
    return found;
}

static int crop_matches(openslide_t *osr, const G2cAnnotation *a, const char *png)
{
    G2cImage crop;
    if (g2c_png_read(png, &crop) != 0)
        return 0;
    int ok = crop.width == (int)a->w && crop.height == (int)a->h;
    uint32_t *argb = malloc((size_t)crop.width * crop.height * 4);
    if (ok && argb) {
        openslide_read_region(osr, argb, (int64_t)a->x, (int64_t)a->y, 0, crop.width,
                              crop.height);
        for (size_t i = 0; ok && i < (size_t)crop.width * crop.height; i++) {
            const uint8_t *p = crop.rgb + i * 3;
            uint32_t q = argb[i];
            ok = (q >> 24) == 255 && p[0] == (uint8_t)(q >> 16) && p[1] == (uint8_t)(q >> 8) &&
                 p[2] == (uint8_t)q;
        }
    }
    free(argb);
    g2c_image_free(&crop);
    return ok;
}

int main(void)
{
    const char *data = g2c_test_shared_data();
    const char *build = getenv("G2C_BUILD_ROOT");
    char tool[1024], crops[1024], labels[1024], out[1024], cmd_args[8192];
    snprintf(tool, sizeof tool, "%s/tools/g2c-mkslide", build ? build : ".");
    snprintf(crops, sizeof crops, "%s/glomeruli", data);
    snprintf(labels, sizeof labels, "%s/glomeruli/labels.csv", data);
    struct stat st;
    if (stat(labels, &st) != 0)
        g2c_test_skip("shared/data/glomeruli/labels.csv not found");
    const char *dir = g2c_test_tmpdir();
    snprintf(out, sizeof out, "%s/real.tiff", dir);
    snprintf(cmd_args, sizeof cmd_args,
             "'%s' mosaic '%s' --crops '%s' --labels '%s' --count 12 --seed 4 2> '%s/err.txt'",
             tool, out, crops, labels, dir);
    CHECK(g2c_test_system("%s", cmd_args) == 0);

    openslide_t *osr = openslide_open(out);
    CHECK(osr && !openslide_get_error(osr));
    G2cAnnotationList boxes = {0};
    char csv[1100];
    snprintf(csv, sizeof csv, "%s/real.csv", dir);
    CHECK_OK(g2c_annot_read(csv, G2C_ANNOT_AUTO, &boxes));
    CHECK(boxes.count == 12);
    for (int i = 0; osr && !openslide_get_error(osr) && i < boxes.count; i++) {
        const G2cAnnotation *a = &boxes.items[i];
        char png[8192];
        snprintf(png, sizeof png, "%s/%s", crops, a->source_id);
        CHECK(crop_matches(osr, a, png));
        char *want = label_of(labels, a->source_id);
        CHECK(want && strcmp(want, a->label) == 0);
        CHECK(strcmp(a->label, "GS") == 0 || strcmp(a->label, "nonGS") == 0);
        free(want);
    }
    if (osr)
        openslide_close(osr);
    g2c_annot_list_free(&boxes);
    if (!g2c_test_failures)
        g2c_test_system("rm -rf '%s'", dir);
    return g2c_test_finish("mkslide-mosaic");
}
