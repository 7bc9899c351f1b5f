/* QuPath GeoJSON: the three shapes QuPath exports, every kind of bad input,
 * and the writer's round trip. */
#include <jansson.h>

#include "annot-test.h"

static void test_feature_collection(void)
{
    G2cAnnotationList list;
    CHECK_OK(g2c_annot_read(fixture("qupath-export.geojson"), G2C_ANNOT_GEOJSON, &list));
    CHECK(list.count == 4);
    if (list.count != 4)
        return;
    CHECK_BOX(&list.items[0], 10240, 20480, 512, 480, "gs",
              "0b5a1f3e-8d2c-4c6f-9a7e-2f1d3c4b5a6e");
    /* the hole's points lie inside: the box is the outer ring's */
    CHECK_BOX(&list.items[1], 14980, 8790, 680.75, 665.5, "crescent",
              "7c1e9d20-4b3a-4f8e-b1d2-6a5c4e3f2b10");
    /* MultiPolygon: one box over both parts */
    CHECK_BOX(&list.items[2], 30000, 39900, 600, 350, "normal", NULL);
    /* no classification: empty label */
    CHECK_BOX(&list.items[3], 500, 600, 400, 400, "", "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d");
    g2c_annot_list_free(&list);
    CHECK(list.items == NULL && list.count == 0);
}

static void test_array_and_single_feature(void)
{
    G2cAnnotationList list;
    /* QuPath 0.2: a bare array, "id":"PathAnnotationObject", the name in properties */
    CHECK_OK(g2c_annot_read(fixture("qupath-array.geojson"), G2C_ANNOT_AUTO, &list));
    CHECK(list.count == 2);
    if (list.count == 2) {
        CHECK_BOX(&list.items[0], 2048, 4096, 512, 512, "sclerotic", "G1");
        CHECK_BOX(&list.items[1], 100, 200, 200, 60, "gs", "G2");
    }
    g2c_annot_list_free(&list);

    CHECK_OK(g2c_annot_read(fixture("qupath-feature.geojson"), G2C_ANNOT_AUTO, &list));
    CHECK(list.count == 1);
    if (list.count == 1)
        CHECK_BOX(&list.items[0], 7000, 8000, 400, 350, "gs",
                  "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b");
    g2c_annot_list_free(&list);
}

static void test_valid_edge_cases(void)
{
    G2cAnnotationList list;
    const char *p = scratch("none.geojson", "{\"type\":\"FeatureCollection\",\"features\":[]}");
    CHECK_OK(g2c_annot_read(p, G2C_ANNOT_GEOJSON, &list));
    CHECK(list.count == 0);
    g2c_annot_list_free(&list);

    /* numeric id, no "type" on the feature, GeometryCollection of polygons,
     * a null classification, 3-D positions */
    p = scratch("edge.json",
                "\xEF\xBB\xBF[{\"id\": 17, \"geometry\": {\"type\": \"GeometryCollection\","
                " \"geometries\": [{\"type\": \"Polygon\", \"coordinates\": "
                "[[[0,0,1],[10,0,1],[10,5,1]]]}, {\"type\": \"Polygon\", \"coordinates\":"
                " [[[20,20],[21,20],[21,30]]]}]}, \"properties\": {\"classification\": null}}]");
    CHECK_OK(g2c_annot_read(p, G2C_ANNOT_AUTO, &list));
    CHECK(list.count == 1);
    if (list.count == 1)
        CHECK_BOX(&list.items[0], 0, 0, 21, 30, "", "17");
    g2c_annot_list_free(&list);
}

/* A collection whose second feature carries `geometry`. */
static const char *with_geometry(const char *name, const char *geometry)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"type\": \"FeatureCollection\", \"features\": [\n"
             " {\"type\": \"Feature\", \"id\": \"a1\", \"geometry\": {\"type\": \"Polygon\","
             " \"coordinates\": [[[0,0],[4,0],[4,4],[0,4],[0,0]]]},"
             " \"properties\": {\"objectType\": \"annotation\"}},\n"
             " {\"type\": \"Feature\", \"id\": \"b2\", \"geometry\": %s,"
             " \"properties\": {\"objectType\": \"annotation\","
             " \"classification\": {\"name\": \"gs\", \"color\": [255, 0, 0]}}}]}\n",
             geometry);
    return scratch(name, text);
}

static void test_bad_files(void)
{
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/missing.geojson", g2c_test_tmpdir());
    EXPECT_ERROR(missing, G2C_ANNOT_GEOJSON, "missing.geojson", "cannot open");
    EXPECT_ERROR(missing, G2C_ANNOT_AUTO, "missing.geojson", "cannot open");
    EXPECT_ERROR(scratch("empty.geojson", ""), G2C_ANNOT_AUTO, "empty.geojson",
                 "empty file");
    EXPECT_ERROR(scratch("blank.geojson", " \n\r\n\t"), G2C_ANNOT_GEOJSON, "blank.geojson",
                 "empty file");
    /* cut off in the middle of the export: jansson's line and column */
    EXPECT_ERROR(scratch("truncated.geojson", "{\n  \"type\": \"FeatureCollection\",\n"
                                              "  \"features\": [\n    {\"type\": \"Fea"),
                 G2C_ANNOT_GEOJSON, "truncated.geojson:4:", "malformed JSON");
    EXPECT_ERROR(scratch("comma.geojson", "{\"type\": \"FeatureCollection\",\n"
                                          "\"features\": [\n{\"type\": \"Feature\",, }]}"),
                 G2C_ANNOT_GEOJSON, "comma.geojson:3:", "malformed JSON");
    EXPECT_ERROR(scratch("top.geojson", "{\"type\": \"Polygon\", \"coordinates\": []}"),
                 G2C_ANNOT_GEOJSON, "top.geojson: ", "Polygon", "not a FeatureCollection");
    EXPECT_ERROR(scratch("nofeatures.geojson", "{\"type\": \"FeatureCollection\"}"),
                 G2C_ANNOT_GEOJSON, "nofeatures.geojson: ", "without a features array");
    EXPECT_ERROR(scratch("notobj.geojson", "[{\"type\": \"Feature\", \"geometry\": {\"type\":"
                                           " \"Polygon\", \"coordinates\": [[[0,0],[1,0],"
                                           "[1,1]]]}}, 42]"),
                 G2C_ANNOT_GEOJSON, "notobj.geojson: feature 2:", "not a JSON object");
}

static void test_bad_geometry(void)
{
    EXPECT_ERROR(with_geometry("point.geojson", "{\"type\": \"Point\", \"coordinates\": [1, 2]}"),
                 G2C_ANNOT_GEOJSON, "point.geojson: feature 2 (b2): ", "Point", "no area");
    EXPECT_ERROR(with_geometry("line.geojson", "{\"type\": \"LineString\", \"coordinates\":"
                                               " [[1, 2], [5, 9]]}"),
                 G2C_ANNOT_AUTO, "line.geojson: feature 2 (b2): ", "LineString");
    EXPECT_ERROR(with_geometry("nocoords.geojson", "{\"type\": \"Polygon\"}"),
                 G2C_ANNOT_GEOJSON, "nocoords.geojson: feature 2 (b2): ", "without coordinates");
    EXPECT_ERROR(with_geometry("nullgeom.geojson", "null"), G2C_ANNOT_GEOJSON,
                 "nullgeom.geojson: feature 2 (b2): ", "no geometry");
    EXPECT_ERROR(with_geometry("text.geojson", "{\"type\": \"Polygon\", \"coordinates\":"
                                               " [[[0,0],[\"4\",0],[4,4],[0,0]]]}"),
                 G2C_ANNOT_GEOJSON, "text.geojson: feature 2 (b2): ",
                 "ring 1, point 2: coordinate is not a number");
    EXPECT_ERROR(with_geometry("short.geojson", "{\"type\": \"MultiPolygon\", \"coordinates\":"
                                                " [[[[0,0],[4,0],[4,4]]], [[[0,0],[1,1]]]]}"),
                 G2C_ANNOT_GEOJSON, "short.geojson: feature 2 (b2): ",
                 "polygon 2 ring 1 has 2 position(s)");
    EXPECT_ERROR(with_geometry("pair.geojson", "{\"type\": \"Polygon\", \"coordinates\":"
                                               " [[[0,0],[4],[4,4]]]}"),
                 G2C_ANNOT_GEOJSON, "pair.geojson: feature 2 (b2): ", "point 2: not an [x, y]");
    EXPECT_ERROR(with_geometry("flat.geojson", "{\"type\": \"Polygon\", \"coordinates\":"
                                               " [[[0,7],[4,7],[9,7],[0,7]]]}"),
                 G2C_ANNOT_GEOJSON, "flat.geojson: feature 2 (b2): ", "zero-area");
}

static void test_bad_properties(void)
{
    EXPECT_ERROR(scratch("cls.geojson",
                         "[{\"type\": \"Feature\", \"geometry\": {\"type\": \"Polygon\","
                         " \"coordinates\": [[[0,0],[1,0],[1,1]]]}, \"properties\": {\"name\":"
                         " \"g9\", \"classification\": {\"name\": 3}}}]"),
                 G2C_ANNOT_GEOJSON, "cls.geojson: feature 1 (g9): ", "classification.name");
    char text[1024], label[101];
    memset(label, 'x', 100);
    label[100] = '\0';
    snprintf(text, sizeof text,
             "[{\"type\": \"Feature\", \"geometry\": {\"type\": \"Polygon\", \"coordinates\":"
             " [[[0,0],[1,0],[1,1]]]}, \"properties\": {\"classification\": {\"name\":"
             " \"%s\"}}}]", label);
    EXPECT_ERROR(scratch("long.geojson", text), G2C_ANNOT_GEOJSON, "long.geojson: feature 1:",
                 "longer than 63");
    EXPECT_ERROR(scratch("type.geojson", "[{\"type\": \"Point\"}]"), G2C_ANNOT_GEOJSON,
                 "type.geojson: feature 1:", "expected Feature");
}

static G2cAnnotation box(double x, double y, double w, double h, const char *label,
                         const char *id)
{
    G2cAnnotation a = {x, y, w, h, "", ""};
    snprintf(a.label, sizeof a.label, "%s", label);
    snprintf(a.source_id, sizeof a.source_id, "%s", id);
    return a;
}

/* The file must look like a QuPath export: checked with jansson directly. */
static void check_written_shape(const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    CHECK(root != NULL);
    if (!root)
        return;
    CHECK(strcmp(json_string_value(json_object_get(root, "type")), "FeatureCollection") == 0);
    json_t *f0 = json_array_get(json_object_get(root, "features"), 0);
    json_t *props = json_object_get(f0, "properties");
    CHECK(strcmp(json_string_value(json_object_get(f0, "id")),
                 "0b5a1f3e-8d2c-4c6f-9a7e-2f1d3c4b5a6e") == 0);
    CHECK(strcmp(json_string_value(json_object_get(props, "objectType")), "annotation") == 0);
    json_t *cls = json_object_get(props, "classification");
    CHECK(strcmp(json_string_value(json_object_get(cls, "name")), "gs") == 0);
    CHECK(json_array_size(json_object_get(cls, "color")) == 3);
    json_t *ring = json_array_get(json_object_get(json_object_get(f0, "geometry"),
                                                  "coordinates"), 0);
    CHECK(json_array_size(ring) == 5); /* closed rectangle */
    CHECK(json_is_integer(json_array_get(json_array_get(ring, 0), 0)));
    json_t *f1 = json_array_get(json_object_get(root, "features"), 1);
    CHECK(json_object_get(f1, "id") == NULL); /* not a UUID: kept as the name */
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(f1, "properties"), "name")),
                 "glom-7") == 0);
    json_decref(root);
}

static void test_writer_round_trip(void)
{
    G2cAnnotationList list = {0};
    G2cAnnotation in[] = {
        box(10240, 20480, 512, 480, "gs", "0b5a1f3e-8d2c-4c6f-9a7e-2f1d3c4b5a6e"),
        box(15011.5, 8830.25, 649.25, 625.125, "crescent, cellular", "glom-7"),
        box(0.1, 0.2, 0.3, 0.7, "", ""),
    };
    for (int i = 0; i < 3; i++)
        CHECK_OK(g2c_annot_list_push(&list, &in[i]));
    char path[4200];
    snprintf(path, sizeof path, "%s/roundtrip.geojson", g2c_test_tmpdir());
    CHECK_OK(g2c_annot_write_geojson(path, &list));
    check_written_shape(path);

    G2cAnnotationList back;
    CHECK_OK(g2c_annot_read(path, G2C_ANNOT_AUTO, &back));
    CHECK(back.count == 3);
    if (back.count == 3) {
        CHECK_BOX(&back.items[0], 10240, 20480, 512, 480, "gs",
                  "0b5a1f3e-8d2c-4c6f-9a7e-2f1d3c4b5a6e");
        CHECK_BOX(&back.items[1], 15011.5, 8830.25, 649.25, 625.125, "crescent, cellular",
                  "glom-7");
        CHECK_BOX(&back.items[2], 0.1, 0.2, 0.3, 0.7, "", "3"); /* no id: its number */
    }
    g2c_annot_list_free(&back);

    /* an empty list is a valid, empty collection */
    G2cAnnotationList none = {0};
    CHECK_OK(g2c_annot_write_geojson(path, &none));
    CHECK_OK(g2c_annot_read(path, G2C_ANNOT_GEOJSON, &back));
    CHECK(back.count == 0);
    g2c_annot_list_free(&back);

    /* a zero-area box is refused, naming the file and the annotation */
    list.items[1].h = 0;
    g2c_error_clear();
    CHECK(g2c_annot_write_geojson(path, &list) == -1);
    CHECK(strstr(g2c_error_message(), "roundtrip.geojson: annotation 2 (glom-7)") != NULL);
    snprintf(path, sizeof path, "%s/no/such/folder/out.geojson", g2c_test_tmpdir());
    list.items[1].h = 1;
    CHECK(g2c_annot_write_geojson(path, &list) == -1);
    CHECK(strstr(g2c_error_message(), "out.geojson: cannot write") != NULL);
    g2c_annot_list_free(&list);
}

int main(void)
{
    test_feature_collection();
    test_array_and_single_feature();
    test_valid_edge_cases();
    test_bad_files();
    test_bad_geometry();
    test_bad_properties();
    test_writer_round_trip();
    g2c_test_system("rm -rf '%s'", g2c_test_tmpdir());
    return g2c_test_finish("annot-geojson");
}
