/* pipelines/real.json, the same stages on the real data, validated (the
 * full run is CPU-heavy and done by hand): every stage and parameter, the
 * real input folders, and the plan of a dry run, which creates nothing. */
#include "testutil.h"

#include "g2c/error.h"
#include "g2c/pipeline.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    const char *data = g2c_test_shared_data();
    const char *dir = g2c_test_tmpdir();
    char manifest[4200], set[4200];
    snprintf(manifest, sizeof manifest, "%s/manifest.csv", dir);
    FILE *f = fopen(manifest, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("patient,slide,stain\n", f);
        fclose(f);
    }
    snprintf(set, sizeof set, "data=%s", data);
    const char *sets[] = {set};
    const char *file = g2c_test_source_path("pipelines/real.json");
    G2cPipeline *p = g2c_pipeline_load(file, sets, 1, dir);
    if (!p)
        fprintf(stderr, "%s\n", g2c_error_message());
    CHECK(p != NULL);
    if (p) {
        CHECK(g2c_pipeline_stage_count(p) == 16);
        const char *order[] = {"ingest", "refset", "pretrain", "train", "eval", "infer", "report"};
        int k = 0;
        for (int i = 0; i < g2c_pipeline_stage_count(p); i++) {
            while (k < 7 && strcmp(g2c_pipeline_stage_kind(p, i), order[k]) != 0)
                k++;
            CHECK(k < 7);
        }
        CHECK(k == 6);
        g2c_pipeline_free(p);
    }
    /* Without the data the input folders are missing: refused, naming one. */
    const char *wrong[] = {"data=/nonexistent"};
    p = g2c_pipeline_load(file, wrong, 1, dir);
    CHECK(p == NULL);
    CHECK(strstr(g2c_error_message(), "stage 'refset-pas-glom-nongs' (stages[1].params.import)"
                                      ": no such file or folder: /nonexistent/glomeruli/nonGS"));
    g2c_pipeline_free(p);

    char db[4200];
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    CHECK(g2c_test_cli(db, "dry", "run --dry-run --set data=%s %s", data, file) == 0);
    g2c_test_cli_expect("dry", "out", "16 stages");
    g2c_test_cli_expect("dry", "out", "pretrain-jones");
    CHECK(access(db, F_OK) != 0);
    return g2c_test_finish("pipeline-real");
}
