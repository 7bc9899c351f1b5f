/* g2c-mkslide, run as a program: from-png, synth and mosaic (on crops made
 * here) write slides OpenSlide opens, with exactly the pixels and boxes
 * they claim; bad usage and bad files get clear errors. */
#include "g2c/annot.h"
#include "g2c/error.h"
#include "g2c/image.h"
#include "g2c/rng.h"
#include "g2c/synth.h"
#include "../testutil.h"

#include <openslide.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char tool[4096];
static const char *dir;

static int run(const char *args)
{
    return g2c_test_system("'%s' %s > '%s/out.txt' 2> '%s/err.txt'", tool, args, dir, dir);
}

/* Does the file holds this text? */
static int file_has(const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, text) != NULL;
}

static int exists(const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static openslide_t *open_slide(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    openslide_t *osr = openslide_open(path);
    if (!osr || openslide_get_error(osr)) {
        fprintf(stderr, "%s: OpenSlide: %s\n", path,
                osr ? openslide_get_error(osr) : "not a slide");
        if (osr)
            openslide_close(osr);
        return NULL;
    }
    return osr;
}

/* Level-0 region as RGB; -1 if any pixel is not opaque. */
static int read_rgb(openslide_t *osr, int64_t x, int64_t y, int w, int h, G2cImage *out)
{
    uint32_t *argb = malloc((size_t)w * h * 4);
    if (!argb || g2c_image_alloc(out, w, h, 0) != 0)
        exit(1);
    openslide_read_region(osr, argb, x, y, 0, w, h);
    int rc = openslide_get_error(osr) ? -1 : 0;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        uint32_t p = argb[i];
        if ((p >> 24) != 255)
            rc = -1;
        out->rgb[i * 3] = (uint8_t)(p >> 16);
        out->rgb[i * 3 + 1] = (uint8_t)(p >> 8);
        out->rgb[i * 3 + 2] = (uint8_t)p;
    }
    free(argb);
    return rc;
}

static int same_pixels(const G2cImage *a, const G2cImage *b)
{
    return a->width == b->width && a->height == b->height &&
           memcmp(a->rgb, b->rgb, (size_t)a->width * a->height * 3) == 0;
}

static double resolution_mpp(openslide_t *osr)
{
    const char *res = openslide_get_property_value(osr, "tiff.XResolution");
    const char *unit = openslide_get_property_value(osr, "tiff.ResolutionUnit");
    if (!res || !unit || strcmp(unit, "centimeter") != 0)
        return 0;
    return 10000.0 / atof(res);
}

static void make_png(const char *name, int w, int h, uint64_t seed, G2cImage *img)
{
    G2cRng rng;
    g2c_rng_seed(&rng, seed);
    if (g2c_image_alloc(img, w, h, 0) != 0)
        exit(1);
    for (size_t i = 0; i < (size_t)w * h * 3; i++)
        img->rgb[i] = (uint8_t)(60 + g2c_rng_below(&rng, 150));
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (g2c_png_write(path, img) != 0)
        exit(1);
}

static void test_help_and_usage(void)
{
    CHECK(run("--help") == 0 && file_has("out.txt", "from-png"));
    CHECK(run("synth --help") == 0 && file_has("out.txt", "--glomeruli"));
    CHECK(run("mosaic --help") == 0 && file_has("out.txt", "--labels"));
    CHECK(run("from-png --help") == 0 && file_has("out.txt", "--mpp"));
    CHECK(run("") == 2);
    CHECK(run("bake x") == 2 && file_has("err.txt", "unknown command 'bake'"));
    CHECK(run("synth x --seed 1 --size 100 --glomeruli 1") == 2 &&
          file_has("err.txt", "--size needs WIDTHxHEIGHT, not '100'"));
    CHECK(run("synth x --seed 1 --size 100x100") == 2 && file_has("err.txt", "--glomeruli"));
    CHECK(run("from-png a.png b.tiff --tile 100") == 2 && file_has("err.txt", "'100'"));
    CHECK(run("from-png a.png b.tiff --frobnicate 3") == 2 &&
          file_has("err.txt", "unknown option '--frobnicate'"));
}

static void test_from_png(void)
{
    G2cImage img;
    make_png("in.png", 700, 500, 3, &img);
    char args[8192];
    snprintf(args, sizeof args, "from-png '%s/in.png' '%s/in.tiff' --mpp 0.25 --tile 128", dir,
             dir);
    CHECK(run(args) == 0);
    openslide_t *osr = open_slide("in.tiff");
    CHECK(osr != NULL);
    if (osr) {
        CHECK(strcmp(openslide_get_property_value(osr, "openslide.vendor"), "generic-tiff") == 0);
        CHECK(openslide_get_level_count(osr) == 4); /* 700 350 175 87 */
        int64_t w, h;
        openslide_get_level_dimensions(osr, 3, &w, &h);
        CHECK(w == 87 && h == 62);
        CHECK_CLOSE(resolution_mpp(osr), 0.25, 1e-5);
        G2cImage back;
        CHECK(read_rgb(osr, 0, 0, 700, 500, &back) == 0);
        CHECK(same_pixels(&back, &img));
        g2c_image_free(&back);
        openslide_close(osr);
    }
    g2c_image_free(&img);

    snprintf(args, sizeof args, "from-png '%s/in.png' '%s/in-jpeg.tiff' --jpeg --quality 80",
             dir, dir);
    CHECK(run(args) == 0);
    osr = open_slide("in-jpeg.tiff");
    CHECK(osr != NULL);
    if (osr) {
        CHECK(openslide_get_level_count(osr) == 3); /* 700 350 175 */
        openslide_close(osr);
    }

    snprintf(args, sizeof args, "from-png '%s/missing.png' '%s/x.tiff'", dir, dir);
    CHECK(run(args) == 1 && file_has("err.txt", "missing.png"));
    CHECK(!exists("x.tiff"));
    snprintf(args, sizeof args, "from-png '%s/in.png' '%s/no/such/dir/x.tiff'", dir, dir);
    CHECK(run(args) == 1 && file_has("err.txt", "no/such/dir/x.tiff"));
}

static int same_boxes(const G2cAnnotationList *a, const G2cAnnotationList *b)
{
    if (a->count != b->count)
        return 0;
    for (int i = 0; i < a->count; i++) {
        const G2cAnnotation *p = &a->items[i], *q = &b->items[i];
        if (p->x != q->x || p->y != q->y || p->w != q->w || p->h != q->h ||
            strcmp(p->label, q->label) != 0)
            return 0;
    }
    return 1;
}

static void test_synth(void)
{
    char args[8192];
    snprintf(args, sizeof args,
             "synth '%s/syn' --seed 7 --size 1536x1280 --glomeruli 5 --stains PAS,masson "
             "--mpp 1 --annotations geojson,csv,asap,imagescope",
             dir);
    CHECK(run(args) == 0);
    CHECK(exists("syn-PAS.tiff") && exists("syn-MASSON.tiff") && !exists("syn-HE.tiff"));

    /* The same layout and field, rebuilt here, is exactly level 0. */
    G2cSynthLayoutOptions lay = {0};
    lay.count = 5;
    lay.mpp = 1;
    G2cSynthGlom *gloms;
    int n;
    CHECK_OK(g2c_synth_layout(7, 1536, 1280, &lay, &gloms, &n));
    G2cSynthScene scene = {7, 1536, 1280, 1.0, gloms, n};
    G2cImage expect, back;
    CHECK_OK(g2c_synth_render(&scene, G2C_STAIN_MASSON, &expect));
    openslide_t *osr = open_slide("syn-MASSON.tiff");
    CHECK(osr != NULL);
    if (osr) {
        CHECK(openslide_get_level_count(osr) == 4); /* 1536 768 384 192 */
        CHECK_CLOSE(resolution_mpp(osr), 1.0, 1e-5);
        CHECK(read_rgb(osr, 0, 0, 1536, 1280, &back) == 0);
        CHECK(same_pixels(&back, &expect));
        g2c_image_free(&back);
        const char *desc = openslide_get_property_value(osr, "tiff.ImageDescription");
        CHECK(desc && strstr(desc, "MASSON") && strstr(desc, "seed 7"));
        openslide_close(osr);
    }
    g2c_image_free(&expect);

    /* Four annotation formats, read back by the project's readers: the
     * same boxes and labels in each. */
    G2cAnnotationList truth = {0};
    CHECK_OK(g2c_synth_boxes(&scene, &truth));
    static const char *files[] = {"syn.geojson", "syn.csv", "syn.asap.xml",
                                  "syn.imagescope.xml"};
    for (int i = 0; i < 4; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        G2cAnnotationList got = {0};
        CHECK_OK(g2c_annot_read(path, G2C_ANNOT_AUTO, &got));
        if (!same_boxes(&got, &truth))
            fprintf(stderr, "%s: boxes differ from the layout\n", files[i]);
        CHECK(same_boxes(&got, &truth));
        g2c_annot_list_free(&got);
    }
    CHECK(file_has("syn.csv", "x,y,w,h,label\n"));
    CHECK(file_has("syn.imagescope.xml", "MicronsPerPixel=\"1.000000\""));
    g2c_annot_list_free(&truth);
    free(gloms);

    snprintf(args, sizeof args, "synth '%s/bad' --seed 1 --size 800x800 --glomeruli 2 "
                                "--stains PAS,TRICHROME", dir);
    CHECK(run(args) == 2 && file_has("err.txt", "'TRICHROME'"));
    snprintf(args, sizeof args, "synth '%s/bad' --seed 1 --size 800x800 --glomeruli 2 "
                                "--annotations csv,svg", dir);
    CHECK(run(args) == 2 && file_has("err.txt", "'svg'"));
    snprintf(args, sizeof args, "synth '%s/bad' --seed 1 --size 600x600 --glomeruli 90", dir);
    CHECK(run(args) == 1 && file_has("err.txt", "of 90 glomeruli"));
    CHECK(!exists("bad-PAS.tiff"));
}

/* Crops made here, so mosaic is tested without the real data. */
static void test_mosaic(void)
{
    static const char *labels[] = {"GS", "nonGS", "nonGS", "GS", "nonGS"};
    G2cImage crops[5];
    char path[4096];
    if (mkdir(strcat(strcpy(path, dir), "/crops"), 0777) != 0)
        exit(1);
    snprintf(path, sizeof path, "%s/labels.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        exit(1);
    fputs("file,label,centre,slide\n", f);
    for (int i = 0; i < 5; i++) {
        char name[64];
        snprintf(name, sizeof name, "crops/c%d.png", i);
        make_png(name, 40 + 9 * i, 50 - 3 * i, 100 + (uint64_t)i, &crops[i]);
        fprintf(f, "%s,%s,X,S%d\n", name + 6, labels[i], i);
    }
    fclose(f);

    char args[8192];
    snprintf(args, sizeof args, "mosaic '%s/mos.tiff' --crops '%s/crops' --labels '%s/labels.csv' "
                                "--count 4 --seed 9 --spacing 20 --tile 64", dir, dir, dir);
    CHECK(run(args) == 0);
    G2cAnnotationList boxes = {0};
    snprintf(path, sizeof path, "%s/mos.csv", dir);
    CHECK_OK(g2c_annot_read(path, G2C_ANNOT_CSV, &boxes));
    CHECK(boxes.count == 4);
    G2cAnnotationList geo = {0};
    snprintf(path, sizeof path, "%s/mos.geojson", dir);
    CHECK_OK(g2c_annot_read(path, G2C_ANNOT_GEOJSON, &geo));
    CHECK(same_boxes(&geo, &boxes));
    g2c_annot_list_free(&geo);

    openslide_t *osr = open_slide("mos.tiff");
    CHECK(osr != NULL);
    int seen[5] = {0};
    for (int i = 0; osr && i < boxes.count; i++) {
        const G2cAnnotation *a = &boxes.items[i];
        int k = -1;
        sscanf(a->source_id, "c%d.png", &k);
        CHECK(k >= 0 && k < 5);
        if (k < 0 || k >= 5)
            continue;
        seen[k]++;
        CHECK(strcmp(a->label, labels[k]) == 0);
        G2cImage got;
        CHECK(read_rgb(osr, (int64_t)a->x, (int64_t)a->y, (int)a->w, (int)a->h, &got) == 0);
        CHECK(same_pixels(&got, &crops[k]));
        g2c_image_free(&got);
    }
    for (int k = 0; k < 5; k++)
        CHECK(seen[k] <= 1);
    if (osr)
        openslide_close(osr);
    g2c_annot_list_free(&boxes);
    for (int i = 0; i < 5; i++)
        g2c_image_free(&crops[i]);

    snprintf(args, sizeof args, "mosaic '%s/m2.tiff' --crops '%s/crops' --labels '%s/labels.csv' "
                                "--count 9", dir, dir, dir);
    CHECK(run(args) == 1 && file_has("err.txt", "labels.csv lists 5 crops, fewer than --count 9"));
    snprintf(args, sizeof args, "mosaic '%s/m2.tiff' --crops '%s/nowhere' --labels "
                                "'%s/labels.csv' --count 2", dir, dir, dir);
    CHECK(run(args) == 1 && file_has("err.txt", "nowhere/c"));
    snprintf(args, sizeof args, "mosaic '%s/m2.tiff' --crops '%s' --labels '%s/in.png' --count 2",
             dir, dir, dir);
    CHECK(run(args) == 1 && file_has("err.txt", "in.png"));
    snprintf(path, sizeof path, "%s/bad.csv", dir);
    f = fopen(path, "w");
    if (!f)
        exit(1);
    fputs("\nname,class\nc0.png,GS\n", f);
    fclose(f);
    snprintf(args, sizeof args, "mosaic '%s/m2.tiff' --crops '%s/crops' --labels '%s/bad.csv' "
                                "--count 1", dir, dir, dir);
    CHECK(run(args) == 1 && file_has("err.txt", "bad.csv:2: the header must name"));
    CHECK(!exists("m2.tiff"));
}

int main(void)
{
    const char *build = getenv("G2C_BUILD_ROOT");
    snprintf(tool, sizeof tool, "%s/tools/g2c-mkslide", build ? build : ".");
    struct stat st;
    if (stat(tool, &st) != 0) {
        fprintf(stderr, "%s: not built\n", tool);
        return 1;
    }
    dir = g2c_test_tmpdir();
    test_help_and_usage();
    test_from_png();
    test_synth();
    test_mosaic();
    if (!g2c_test_failures)
        g2c_test_system("rm -rf '%s'", dir);
    return g2c_test_finish("mkslide");
}
