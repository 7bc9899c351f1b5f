/* g2c_annot_read's AUTO dispatch (extension, root element, first bytes),
 * format names, and the list. */
#include "annot-test.h"

/* Copy a fixture to TMPDIR/NAME, so it can be read under another name. */
static const char *copy_as(const char *fixture_name, const char *name)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s", g2c_test_tmpdir(), name);
    if (g2c_test_system("cp '%s' '%s'", fixture(fixture_name), path) != 0) {
        fprintf(stderr, "cannot copy %s\n", fixture_name);
        exit(1);
    }
    return path;
}

static void expect_count(int where, const char *path, G2cAnnotFormat format, int count,
                         const char *first_label)
{
    G2cAnnotationList list = {(G2cAnnotation *)&list, 99, 99}; /* junk to overwrite */
    int rc = g2c_annot_read(path, format, &list);
    if (rc != 0 || list.count != count ||
        (count > 0 && strcmp(list.items[0].label, first_label) != 0)) {
        fprintf(stderr, "line %d: %s read as %s: rc=%d count=%d (%s)\n", where, path,
                g2c_annot_format_name(format), rc, list.count, g2c_error_message());
        g2c_test_failures++;
    }
    if (rc == 0)
        g2c_annot_list_free(&list);
}
#define EXPECT_COUNT(path, format, count, label) \
    expect_count(__LINE__, path, format, count, label)

static void test_auto(void)
{
    EXPECT_COUNT(fixture("qupath-export.geojson"), G2C_ANNOT_AUTO, 4, "gs");
    EXPECT_COUNT(copy_as("qupath-export.geojson", "Export.GEOJSON"), G2C_ANNOT_AUTO, 4, "gs");
    EXPECT_COUNT(copy_as("qupath-array.geojson", "objects.json"), G2C_ANNOT_AUTO, 2,
                 "sclerotic");
    EXPECT_COUNT(fixture("asap.xml"), G2C_ANNOT_AUTO, 4, "gs");
    EXPECT_COUNT(copy_as("imagescope.xml", "SLIDE.XML"), G2C_ANNOT_AUTO, 4, "gs");
    EXPECT_COUNT(fixture("boxes-header.csv"), G2C_ANNOT_AUTO, 4, "gs");
    EXPECT_COUNT(copy_as("boxes-crlf.csv", "BOXES.Csv"), G2C_ANNOT_AUTO, 3, "gs");
    /* other names: the first bytes decide between JSON and XML */
    EXPECT_COUNT(copy_as("imagescope.xml", "slide.txt"), G2C_ANNOT_AUTO, 4, "gs");
    EXPECT_COUNT(copy_as("qupath-feature.geojson", "annotations"), G2C_ANNOT_AUTO, 1, "gs");
    g2c_test_system("mkdir -p '%s/dir.v2'", g2c_test_tmpdir());
    EXPECT_COUNT(copy_as("asap.xml", "dir.v2/annotations"), G2C_ANNOT_AUTO, 4, "gs");
    /* the explicit format beats the name */
    EXPECT_COUNT(copy_as("boxes-header.csv", "boxes.txt"), G2C_ANNOT_CSV, 4, "gs");
    EXPECT_COUNT(copy_as("qupath-export.geojson", "export.xml"), G2C_ANNOT_GEOJSON, 4, "gs");
}

static void test_auto_errors(void)
{
    EXPECT_ERROR(copy_as("boxes-header.csv", "boxes.dat"), G2C_ANNOT_AUTO,
                 "boxes.dat: cannot tell the annotation format");
    EXPECT_ERROR(scratch("other.xml", "<?xml version=\"1.0\"?>\n<session><image/></session>\n"),
                 G2C_ANNOT_AUTO, "other.xml: XML root element <session> is neither");
    EXPECT_ERROR(scratch("nothing.txt", "  \n"), G2C_ANNOT_AUTO, "nothing.txt: empty file");
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/gone.txt", g2c_test_tmpdir());
    EXPECT_ERROR(missing, G2C_ANNOT_AUTO, "gone.txt: cannot open");
    /* the wrong reader on a good file still names the file */
    EXPECT_ERROR(fixture("asap.xml"), G2C_ANNOT_GEOJSON, "asap.xml:1:", "malformed JSON");
    EXPECT_ERROR(fixture("qupath-export.geojson"), G2C_ANNOT_ASAP, "qupath-export.geojson:1:",
                 "malformed XML");
    EXPECT_ERROR(fixture("asap.xml"), (G2cAnnotFormat)42, "asap.xml: unknown annotation format");
}

static void test_format_names(void)
{
    G2cAnnotFormat all[] = {G2C_ANNOT_AUTO, G2C_ANNOT_GEOJSON, G2C_ANNOT_ASAP,
                            G2C_ANNOT_IMAGESCOPE, G2C_ANNOT_CSV};
    for (int i = 0; i < 5; i++) {
        G2cAnnotFormat back = (G2cAnnotFormat)-1;
        CHECK_OK(g2c_annot_format_parse(g2c_annot_format_name(all[i]), &back));
        CHECK(back == all[i]);
    }
    CHECK(strcmp(g2c_annot_format_name(G2C_ANNOT_IMAGESCOPE), "imagescope") == 0);
    G2cAnnotFormat f = G2C_ANNOT_CSV;
    CHECK_OK(g2c_annot_format_parse("GeoJSON", &f));
    CHECK(f == G2C_ANNOT_GEOJSON);
    CHECK(g2c_annot_format_parse("ndpa", &f) == -1);
    CHECK(f == G2C_ANNOT_GEOJSON);
    CHECK(strstr(g2c_error_message(), "unknown annotation format 'ndpa'") != NULL);
    CHECK(strcmp(g2c_annot_format_name((G2cAnnotFormat)42), "unknown") == 0);
}

static void test_list(void)
{
    G2cAnnotationList list = {0};
    for (int i = 0; i < 1000; i++) {
        G2cAnnotation a = {i, 2 * i, 1, 1, "gs", ""};
        snprintf(a.source_id, sizeof a.source_id, "%d", i);
        CHECK_OK(g2c_annot_list_push(&list, &a));
    }
    CHECK(list.count == 1000 && list.capacity >= 1000);
    CHECK(list.items[999].x == 999 && list.items[999].y == 1998);
    CHECK(strcmp(list.items[500].source_id, "500") == 0);
    g2c_annot_list_free(&list);
    CHECK(list.items == NULL && list.count == 0 && list.capacity == 0);
    g2c_annot_list_free(&list); /* twice is harmless */
}

int main(void)
{
    test_auto();
    test_auto_errors();
    test_format_names();
    test_list();
    g2c_test_system("rm -rf '%s'", g2c_test_tmpdir());
    return g2c_test_finish("annot-read");
}
