/* g2c refset through the command line: building, reproducibility, bad
 * input that leaves the catalog unchanged, tile import, export. */
#include "ingest/slides.h"
#include "testutil.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/tiffwriter.h"

#include <string.h>
#include <sys/stat.h>

static const char *dir;
static char db[4096];

#define g2c(tag, ...) g2c_test_cli(db, tag, __VA_ARGS__)

static void check_err(const char *tag, const char *needle)
{
    g2c_test_cli_expect(tag, "err", needle);
}

static int64_t scalar(const char *sql)
{
    return g2c_test_scalar(db, sql);
}

static void make_slides(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tissue.tiff", dir);
    CHECK_OK(test_slide_write(path, 1024, 768, 9));
    G2cImage white;
    g2c_image_alloc(&white, 512, 512, 255);
    snprintf(path, sizeof path, "%s/white.tiff", dir);
    CHECK_OK(g2c_tiff_write(path, &white, NULL));
    g2c_image_free(&white);
    CHECK(g2c("ingest1", "ingest --patient A --stain PAS %s/tissue.tiff", dir) == 0);
    CHECK(g2c("ingest2", "ingest --patient B --stain HE %s/white.tiff", dir) == 0);
}

static void bad_input(void)
{
    CHECK(g2c("nostain", "refset m --stain MASSON --count 5 --size 32") == 1);
    check_err("nostain", "no slides of stain MASSON");
    CHECK(g2c("white", "refset w --stain HE --count 5 --size 32 --mpp 0") == 1);
    check_err("white", "no tissue found on the only slide");
    CHECK(g2c("toomany", "refset t --stain PAS --count 100000 --size 64 --mpp 0") == 1);
    check_err("toomany", "could be placed");
    check_err("toomany", "tissue.tiff");
    CHECK(g2c("unknown", "refset u --stain Giemsa --count 5") == 1);
    check_err("unknown", "unknown stain 'Giemsa'");
    CHECK(scalar("SELECT count(*) FROM refsets") == 0);
    CHECK(scalar("SELECT count(*) FROM patches") == 0);
    CHECK(g2c("usage", "refset --count 5") == 2);
}

static void build_and_reproduce(void)
{
    CHECK(g2c("a", "refset pas-a --stain PAS --count 20 --size 32 --mpp 0 --seed 5") == 0);
    CHECK(g2c("b", "refset pas-b --stain PAS --count 20 --size 32 --mpp 0 --seed 5") == 0);
    CHECK(g2c("c", "refset pas-c --stain PAS --count 20 --size 32 --mpp 0 --seed 6") == 0);
    CHECK(scalar("SELECT count(*) FROM patches p JOIN refsets r ON r.id = p.refset_id "
                 "WHERE r.name = 'pas-a' AND p.width = 32 AND p.slide_id IS NOT NULL") == 20);
    /* Same seed: the same crops in the same order; another seed: others. */
    const char *same = "SELECT count(*) FROM patches a JOIN patches b "
                       "ON b.id = a.id + 20 AND a.png = b.png AND a.x = b.x AND a.y = b.y "
                       "WHERE a.refset_id = 1";
    CHECK(scalar(same) == 20);
    CHECK(scalar("SELECT count(*) FROM patches a JOIN patches b ON b.id = a.id + 40 "
                 "AND a.png = b.png WHERE a.refset_id = 1") < 20);
    /* Provenance. */
    CHECK(scalar("SELECT count(*) FROM refsets WHERE name = 'pas-a' AND seed = 5 "
                 "AND json_extract(params, '$.min_tissue') = 0.5") == 1);
    CHECK(g2c("dup", "refset pas-a --stain PAS --count 5 --size 32 --mpp 0") == 1);
    check_err("dup", "already exists");
    /* The glass strip at the top of the test slide (y < 77) gets no crop
     * centred in it. */
    CHECK(scalar("SELECT count(*) FROM patches WHERE refset_id = 1 AND y + 16 < 60") == 0);
}

static void import_and_export(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tiles", dir);
    mkdir(path, 0777);
    for (int i = 0; i < 3; i++) {
        G2cImage img;
        test_slide_image(&img, 80 + 10 * i, 80, (uint64_t)i);
        snprintf(path, sizeof path, "%s/tiles/t%d.png", dir, i);
        CHECK_OK(g2c_png_write(path, &img));
        g2c_image_free(&img);
    }
    snprintf(path, sizeof path, "%s/tiles/zz-broken.png", dir);
    test_write_text(path, "\x89PNG\r\n\x1a\n garbage");
    CHECK(g2c("import-bad", "refset tiles --stain PAS --import %s/tiles --size 64", dir) == 1);
    check_err("import-bad", "zz-broken.png");
    CHECK(scalar("SELECT count(*) FROM refsets WHERE name = 'tiles'") == 0);
    remove(path);
    CHECK(g2c("import", "refset tiles --stain PAS --import %s/tiles --size 64", dir) == 0);
    CHECK(scalar("SELECT count(*) FROM patches p JOIN refsets r ON r.id = p.refset_id "
                 "WHERE r.name = 'tiles' AND p.width = 64 AND p.source = 't1.png'") == 1);

    CHECK(g2c("export", "refset pas-a --export %s/exported", dir) == 0);
    struct stat st;
    snprintf(path, sizeof path, "%s/exported/pas-a-0020.png", dir);
    CHECK(stat(path, &st) == 0);
    snprintf(path, sizeof path, "%s/exported/contact-sheet.png", dir);
    G2cImage sheet;
    CHECK_OK(g2c_png_read(path, &sheet));
    CHECK(sheet.width > 96 * 10);
    g2c_image_free(&sheet);

    CHECK(g2c("list", "refset --list") == 0);
    snprintf(path, sizeof path, "%s/list.out", dir);
    char *text = test_read_text(path);
    CHECK(strstr(text, "pas-a") && strstr(text, "tiles") && strstr(text, "import"));
    free(text);
    CHECK(g2c("show", "refset --show pas-c") == 0);
    snprintf(path, sizeof path, "%s/show.out", dir);
    text = test_read_text(path);
    CHECK(strstr(text, "seed       6") && strstr(text, "tissue.tiff"));
    free(text);
    CHECK(g2c("show-missing", "refset --show nope") == 1);
    check_err("show-missing", "no reference set named 'nope'");
}

int main(void)
{
    dir = g2c_test_tmpdir();
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    make_slides();
    bad_input();
    build_and_reproduce();
    import_and_export();
    return g2c_test_finish("refset-store");
}
