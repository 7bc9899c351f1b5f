/* g2c export --geojson: files per slide, read back through g2c's own
 * GeoJSON reader (boxes, classes, names) and through jansson (QuPath's
 * properties: objectType, classification colour, measurements). */
#include "fixture.h"
#include "testutil.h"

#include "ingest/slides.h"

#include "g2c/annot.h"
#include "g2c/error.h"
#include "g2c/report.h"

#include <dirent.h>
#include <jansson.h>
#include <string.h>

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* The boxes of slide 1 and what m-new said of them. */
static void slide_one(const char *path, const char *const want[4])
{
    static const double xs[4] = {10, 100, 200, 300};
    G2cAnnotationList list = {0};
    CHECK_OK(g2c_annot_read(path, G2C_ANNOT_AUTO, &list));
    CHECK(list.format == G2C_ANNOT_GEOJSON);
    CHECK(list.count == 4);
    for (int i = 0; i < list.count && i < 4; i++) {
        const G2cAnnotation *a = &list.items[i];
        CHECK_CLOSE(a->x, xs[i], 1e-9);
        CHECK_CLOSE(a->y, 40, 1e-9);
        CHECK_CLOSE(a->w, 50, 1e-9);
        CHECK_CLOSE(a->h, 50, 1e-9);
        CHECK(strcmp(a->label, want[i]) == 0);
        char name[32];
        snprintf(name, sizeof name, "glomerulus %d", i + 1);
        CHECK(strcmp(a->source_id, name) == 0);
    }
    g2c_annot_list_free(&list);
}

static void qupath_properties(const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    CHECK(root != NULL);
    if (!root)
        return;
    CHECK(strcmp(json_string_value(json_object_get(root, "type")), "FeatureCollection") == 0);
    json_t *f = json_array_get(json_object_get(root, "features"), 0);
    json_t *props = json_object_get(f, "properties");
    CHECK(strcmp(json_string_value(json_object_get(props, "objectType")), "annotation") == 0);
    json_t *cls = json_object_get(props, "classification");
    uint8_t rgb[3];
    g2c_report_label_color("gs", rgb);
    json_t *color = json_object_get(cls, "color");
    CHECK(json_array_size(color) == 3 && json_integer_value(json_array_get(color, 0)) == rgb[0] &&
          json_integer_value(json_array_get(color, 1)) == rgb[1] &&
          json_integer_value(json_array_get(color, 2)) == rgb[2]);
    json_t *m = json_object_get(props, "measurements");
    CHECK_CLOSE(json_number_value(json_object_get(m, "p(gs)")), 0.85, 1e-9);
    CHECK_CLOSE(json_number_value(json_object_get(m, "p(noa)")), 0.05, 1e-9);
    CHECK_CLOSE(json_number_value(json_object_get(m, "confidence")), 0.85, 1e-9);
    CHECK(json_integer_value(json_object_get(m, "g2c annotation id")) == 1);
    json_t *g = json_object_get(props, "g2c");
    CHECK(strcmp(json_string_value(json_object_get(g, "source_id")), "glom \"1\" <i>") == 0);
    CHECK(strcmp(json_string_value(json_object_get(g, "model")), NEW_MODEL) == 0);
    CHECK(strcmp(json_string_value(json_object_get(g, "annotated")), "gs") == 0);
    /* closed 5-point rectangle */
    json_t *geometry = json_object_get(f, "geometry");
    json_t *ring = json_array_get(json_object_get(geometry, "coordinates"), 0);
    CHECK(json_array_size(ring) == 5);
    CHECK(json_equal(json_array_get(ring, 0), json_array_get(ring, 4)));
    json_decref(root);
}

int main(void)
{
    fx_make_catalog();
    static const char *const m_new[4] = {"gs", "noa", "gs", "ss"};
    static const char *const m_old[4] = {"noa", "noa", "noa", "noa"};

    CHECK(fx_g2c("e1", "export --geojson --slide 1 --out %s", fx_quote(fx_path("e1"))) == 0);
    CHECK(count_files(fx_path("e1")) == 1);
    slide_one(fx_path("e1/a.geojson"), m_new);
    qupath_properties(fx_path("e1/a.geojson"));

    /* A patient: the slide without predictions gives no file; the quoted
     * name becomes a safe file name; the unlabelled box has no annotated
     * label. */
    CHECK(fx_g2c("e2", "export --geojson --patient %s --out %s", fx_quote(SCRIPT_PATIENT),
                 fx_quote(fx_path("e2"))) == 0);
    CHECK(count_files(fx_path("e2")) == 2);
    slide_one(fx_path("e2/a.geojson"), m_new);
    G2cAnnotationList list = {0};
    CHECK_OK(g2c_annot_read(fx_path("e2/it_s__b_.geojson"), G2C_ANNOT_AUTO, &list));
    CHECK(list.count == 3 && strcmp(list.items[1].label, "ss") == 0 &&
          strcmp(list.items[2].label, "nongs") == 0);
    g2c_annot_list_free(&list);
    char *text = test_read_text(fx_path("e2/it_s__b_.geojson"));
    CHECK(strstr(text, "\"annotated\": null") != NULL);
    free(text);

    /* Everything: two slides named a.tiff get their ids in the name. */
    CHECK(fx_g2c("e3", "export --geojson --out %s", fx_quote(fx_path("e3"))) == 0);
    CHECK(count_files(fx_path("e3")) == 3);
    slide_one(fx_path("e3/a-1.geojson"), m_new);
    CHECK_OK(g2c_annot_read(fx_path("e3/a-5.geojson"), G2C_ANNOT_AUTO, &list));
    CHECK(list.count == 2);
    g2c_annot_list_free(&list);
    text = fx_output("e3", "out");
    CHECK(strstr(text, "3 GeoJSON file(s), 9 glomeruli, model m-new <i>") != NULL);
    free(text);

    /* Another model. */
    CHECK(fx_g2c("e4", "export --geojson --model m-old --out %s", fx_quote(fx_path("e4"))) == 0);
    CHECK(count_files(fx_path("e4")) == 1);
    slide_one(fx_path("e4/a.geojson"), m_old);
    return g2c_test_finish("export-geojson");
}
