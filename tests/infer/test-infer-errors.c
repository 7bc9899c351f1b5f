/* g2c infer refuses bad input with a message naming what was asked and
 * leaves the catalog as it was: unknown model, slide or patient; a model of
 * another kind or without its checkpoint; slides of another stain; a
 * level-2 model without (or with a wrong) --given; a catalog without crops;
 * usage errors.  Then a slide with an unreadable crop: the other slides are
 * written, that one not at all (exit 3), and alone it fails (exit 1). */
#include "train/test-train-fixture.h"
#include "testutil.h"

#include "g2c/error.h"

#include <string.h>

static const char *dir;
static char db[4096], bare[4200];

static long long q(const char *sql)
{
    return g2c_test_scalar(db, sql);
}

static void snapshot(const char *path, char *out, size_t size)
{
    snprintf(out, size, "predictions %lld runs %lld views %lld labels %lld",
             g2c_test_scalar(path, "SELECT count(*) FROM predictions"),
             g2c_test_scalar(path, "SELECT count(*) FROM runs"),
             g2c_test_scalar(path, "SELECT count(*) FROM generated_views"),
             g2c_test_scalar(path, "SELECT count(*) FROM labels"));
}

/* Exit status want, the message on stderr, and no catalog change. */
static void refused(const char *catalog, const char *tag, int want, const char *needle,
                    const char *args)
{
    char before[256], after[256];
    snapshot(catalog, before, sizeof before);
    int rc = g2c_test_cli(catalog, tag, "%s", args);
    snapshot(catalog, after, sizeof after);
    if (rc != want) {
        fprintf(stderr, "%s: exit %d, expected %d\n", tag, rc, want);
        g2c_test_failures++;
    }
    g2c_test_cli_expect(tag, "err", needle);
    if (strcmp(before, after) != 0) {
        fprintf(stderr, "%s changed the catalog: %s -> %s\n", tag, before, after);
        g2c_test_failures++;
    }
}

static void bad_input(void)
{
    refused(db, "no-model", 1, "no model named 'nope' (G2C models: fake-l2, gone, m)", "infer --model nope");
    refused(db, "kind", 1, "model 'gen_he' is of kind 'cyclegan', not a G2C classifier",
            "infer --model gen_he");
    refused(db, "no-slide", 1, "no slide 'nope.tiff'", "infer --model m --slide nope.tiff");
    refused(db, "no-patient", 1, "no patient 'P9' (the catalog has 3 patient(s)",
            "infer --model m --patient P9");
    refused(db, "he-slide", 1, "slide 'P3-PAS.tiff' is stained HE; model 'm' classifies PAS "
                               "crops", "infer --model m --slide P3-PAS.tiff");
    refused(db, "he-patient", 1, "patient 'P3' has no PAS slides (1 slide(s) of HE)",
            "infer --model m --patient P3");
    refused(db, "level2", 1, "model 'fake-l2' has task ss-vs-gs", "infer --model fake-l2");
    refused(db, "level2", 1, "add --given MODEL", "infer --model fake-l2");
    refused(db, "given-task", 1, "--given model 'm' has task gs-vs-rest; model 'fake-l2' (task "
                                 "ss-vs-gs) needs a model of task s-vs-noa",
            "infer --model fake-l2 --given m");
    refused(db, "given-kind", 1, "--given model 'gen_he' is of kind 'cyclegan'",
            "infer --model fake-l2 --given gen_he");
    refused(db, "given-l1", 1, "--given is only for a level-2 model",
            "infer --model m --given m");
    refused(db, "no-ckpt", 1, "model 'gone' has no checkpoint yet", "infer --model gone");
    refused(bare, "no-crops", 1, "no glomerulus crops yet: ingest slides with their "
                                 "annotations first", "infer --model m");
    refused(db, "usage-both", 2, "--slide, --patient and --all exclude each other",
            "infer --model m --slide 1 --patient P1");
    refused(db, "usage-model", 2, "--model is required", "infer --all");
    refused(db, "usage-batch", 2, "--batch expects a whole number", "infer --model m --batch 0");
    refused(db, "usage-extra", 2, "unexpected argument: extra", "infer --model m extra");
}

/* An unreadable crop fails its slide only. */
static void partial(void)
{
    CHECK_OK(fixture_exec(db, "UPDATE patches SET png = x'89504e470d0a1a0a00' WHERE id = "
                              "(SELECT max(p.id) FROM patches p JOIN slides s ON "
                              "s.id = p.slide_id JOIN patients pa ON pa.id = s.patient_id "
                              "WHERE pa.external_id = 'P2')"));
    int rc = g2c_test_cli(db, "partial", "infer --model m");
    CHECK(rc == 3);
    g2c_test_cli_expect("partial", "err", "slide 'P2-PAS.tiff' (id 2): ");
    g2c_test_cli_expect("partial", "err", "(left unscored)");
    g2c_test_cli_expect("partial", "out", "1 slide(s) failed");
    g2c_test_cli_expect("partial", "err", "left out 1 slide(s) of HE in the catalog");
    CHECK(q("SELECT count(*) FROM predictions p JOIN annotations a ON a.id = p.annotation_id "
            "WHERE a.slide_id = 1") == 8);
    CHECK(q("SELECT count(*) FROM predictions p JOIN annotations a ON a.id = p.annotation_id "
            "WHERE a.slide_id = 2") == 0);
    CHECK(q("SELECT count(*) FROM runs WHERE kind = 'infer' AND status = 'partial' AND "
            "json_extract(metrics, '$.slides_failed') = 1 AND "
            "json_extract(metrics, '$.glomeruli') = 8") == 1);
    /* Alone, the broken slide is a failure: nothing written, the run says so. */
    rc = g2c_test_cli(db, "failed", "infer --model m --slide P2-PAS.tiff");
    CHECK(rc == 1);
    g2c_test_cli_expect("failed", "err", "glomerulus ");
    CHECK(q("SELECT count(*) FROM predictions") == 8);
    CHECK(q("SELECT count(*) FROM runs WHERE kind = 'infer' AND status = 'failed'") == 1);
}

int main(void)
{
    dir = g2c_test_tmpdir();
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    snprintf(bare, sizeof bare, "%s/bare.db", dir);
    CHECK_OK(fixture_catalog(db, dir, 3, 8, "noa,gs,nongs,-"));
    CHECK_OK(fixture_generator(db, dir, "gen_he", "HE", 11, "cyclegan"));
    if (g2c_test_failures)
        return g2c_test_finish("infer-errors");
    int rc = g2c_test_cli(db, "train", "train --name m --task gs-vs-rest --variant PAS_ONLY "
                                       "--preset tiny --epochs 1");
    CHECK(rc == 0);
    char sql[4600];
    snprintf(sql, sizeof sql, "VACUUM INTO '%s'", bare);
    /* A level-2 model (the same weights, another task); a model whose
     * checkpoint went; P3's slide stained HE; a copy without crops. */
    CHECK_OK(fixture_exec(db, "INSERT INTO models (name, kind, config, checkpoint) SELECT "
                              "'fake-l2', 'g2c', json_set(config, '$.task', 'ss-vs-gs'), "
                              "checkpoint FROM models WHERE name = 'm'"));
    CHECK_OK(fixture_exec(db, "INSERT INTO models (name, kind, config, checkpoint) SELECT "
                              "'gone', 'g2c', config, checkpoint || '.gone' FROM models WHERE "
                              "name = 'm'"));
    CHECK_OK(fixture_exec(db, "UPDATE slides SET stain_id = (SELECT id FROM stains WHERE "
                              "name = 'HE') WHERE patient_id = (SELECT id FROM patients WHERE "
                              "external_id = 'P3')"));
    CHECK_OK(fixture_exec(db, sql));
    CHECK_OK(fixture_exec(bare, "DELETE FROM patches"));
    if (g2c_test_failures)
        return g2c_test_finish("infer-errors");
    bad_input();
    partial();
    return g2c_test_finish("infer-errors");
}
