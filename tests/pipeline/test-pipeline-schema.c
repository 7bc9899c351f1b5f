/* schemas/pipeline.schema.json and the parameter table of g2c run
 * (src/pipeline/pipeline-kinds.c) say the same; the shipped pipelines load
 * and validate, by g2c and (where Python's jsonschema is installed) by
 * the schema. */
#include "testutil.h"

#include "g2c/error.h"
#include "g2c/pipeline.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void same_parameters(json_t *schema)
{
    json_t *defs = json_object_get(schema, "$defs");
    CHECK(defs != NULL);
    for (int k = 0; k < g2c_pipeline_kind_count(); k++) {
        char key[64];
        snprintf(key, sizeof key, "%s-params", g2c_pipeline_kind_name(k));
        json_t *props = json_object_get(json_object_get(defs, key), "properties");
        if (!props) {
            fprintf(stderr, "schema: no $defs.%s.properties\n", key);
            CHECK(0);
            continue;
        }
        int n = 0;
        for (const char *name; (name = g2c_pipeline_kind_param(k, n)); n++)
            if (!json_object_get(props, name)) {
                fprintf(stderr, "schema: %s lacks '%s'\n", key, name);
                CHECK(0);
            }
        if ((int)json_object_size(props) != n) {
            fprintf(stderr, "schema: %s has %d parameters, g2c %d\n", key,
                    (int)json_object_size(props), n);
            CHECK(0);
        }
    }
    /* The stage enum lists the kinds in pipeline order. */
    json_t *kinds = json_object_get(
        json_object_get(json_object_get(json_object_get(defs, "stage"), "properties"), "stage"),
        "enum");
    CHECK((int)json_array_size(kinds) == g2c_pipeline_kind_count());
    for (int k = 0; k < g2c_pipeline_kind_count() && k < (int)json_array_size(kinds); k++)
        CHECK(strcmp(json_string_value(json_array_get(kinds, (size_t)k)),
                     g2c_pipeline_kind_name(k)) == 0);
}

static void loads(const char *file, int stages, const char *last_kind)
{
    const char *dir = g2c_test_tmpdir();
    G2cPipeline *p = g2c_pipeline_load(g2c_test_source_path(file), NULL, 0, dir);
    if (!p) {
        fprintf(stderr, "%s: %s\n", file, g2c_error_message());
        CHECK(0);
        return;
    }
    CHECK(g2c_pipeline_stage_count(p) == stages);
    CHECK(strcmp(g2c_pipeline_stage_kind(p, stages - 1), last_kind) == 0);
    CHECK(strcmp(g2c_pipeline_stage_kind(p, 0), "ingest") == 0);
    g2c_pipeline_free(p);
}

static void python_check(const char *file)
{
    if (g2c_test_system("/usr/bin/python3 -c 'import jsonschema' 2>/dev/null") != 0) {
        fprintf(stderr, "(Python jsonschema not installed: %s checked by g2c only)\n", file);
        return;
    }
    /* g2c_test_source_path returns one static buffer: one call at a time. */
    char script[4200], schema[4200];
    snprintf(script, sizeof script, "%s", g2c_test_source_path("tests/report/jsonschema-check.py"));
    snprintf(schema, sizeof schema, "%s", g2c_test_source_path("schemas/pipeline.schema.json"));
    CHECK(g2c_test_system("/usr/bin/python3 %s %s %s", script, schema,
                          g2c_test_source_path(file)) == 0);
}

int main(void)
{
    json_error_t err;
    json_t *schema = json_load_file(g2c_test_source_path("schemas/pipeline.schema.json"), 0, &err);
    if (!schema)
        fprintf(stderr, "schema: %s:%d: %s\n", err.source, err.line, err.text);
    CHECK(schema != NULL);
    if (schema)
        same_parameters(schema);
    json_decref(schema);

    /* The demo pipelines need only their manifest in the catalog's folder. */
    char manifest[4200];
    snprintf(manifest, sizeof manifest, "%s/manifest.csv", g2c_test_tmpdir());
    FILE *f = fopen(manifest, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("patient,slide,stain\n", f);
        fclose(f);
    }
    loads("pipelines/demo.json", 14, "report");
    loads("pipelines/demo-tiny.json", 10, "report");
    python_check("pipelines/demo.json");
    python_check("pipelines/demo-tiny.json");
    python_check("pipelines/real.json");
    return g2c_test_finish("pipeline-schema");
}
