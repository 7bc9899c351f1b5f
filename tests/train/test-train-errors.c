/* Bad input to g2c train / eval / compare: each gives one clear message
 * naming what is wrong, exits 1 (2 for a malformed command line), and
 * leaves the catalog and the models folder exactly as they were. */
#include "test-train-fixture.h"
#include "testutil.h"

#include "g2c/catalog.h"
#include "g2c/error.h"

#include <string.h>
#include <unistd.h>

static const char *dir;
static char db[4096], db_empty[4096], db_noss[4096];

/* Run, expect `status` and `message` on stderr, and no change. */
static void refused(const char *tag, const char *catalog, int status, const char *message,
                    const char *fmt, const char *arg)
{
    char before[512], after[512], args[1024];
    fixture_snapshot(catalog, before, sizeof before);
    snprintf(args, sizeof args, fmt, arg ? arg : "");
    int rc = g2c_test_cli(catalog, tag, "%s", args);
    if (rc != status) {
        fprintf(stderr, "%s: exit %d, expected %d\n", tag, rc, status);
        g2c_test_failures++;
    }
    g2c_test_cli_expect(tag, "err", message);
    fixture_snapshot(catalog, after, sizeof after);
    if (strcmp(before, after) != 0) {
        fprintf(stderr, "%s changed the catalog:\n  %s\n  %s\n", tag, before, after);
        g2c_test_failures++;
    }
}

static void train_refusals(void)
{
    refused("task", db, 1, "unknown task 'sclerosis' (known: s-vs-noa, ss-vs-gs, gs-vs-rest)",
            "train --name m --task sclerosis --variant PAS_ONLY --preset tiny", NULL);
    refused("variant", db, 1, "unknown variant 'ALL' (PAS_ONLY, PAS_<STAIN>",
            "train --name m --task s-vs-noa --variant ALL --preset tiny", NULL);
    refused("stain", db, 1, "variant PAS_XYZ: unknown stain 'XYZ'",
            "train --name m --task s-vs-noa --variant PAS_XYZ --generators gen_he "
            "--preset tiny", NULL);
    refused("preset", db, 1, "unknown preset 'huge' (tiny, cpu, paper)",
            "train --name m --task s-vs-noa --variant PAS_ONLY --preset huge", NULL);
    refused("no-gen", db, 1, "no model named 'pas2xx' (stage-1 generators: broken, gen_he",
            "train --name m --task s-vs-noa --variant PAS_ALL --generators gen_he,pas2xx "
            "--preset tiny", NULL);
    refused("kind", db, 1, "model 'notgen' is of kind 'g2c', not a stage-1 generator",
            "train --name m --task s-vs-noa --variant PAS_ALL --generators notgen "
            "--preset tiny", NULL);
    refused("only-gens", db, 1, "variant PAS_ONLY uses no generators",
            "train --name m --task s-vs-noa --variant PAS_ONLY --generators gen_he "
            "--preset tiny", NULL);
    refused("all-nogens", db, 1, "variant PAS_ALL+ needs --generators",
            "train --name m --task s-vs-noa --variant PAS_ALL+ --preset tiny", NULL);
    refused("stain-missing", db, 1, "variant PAS_PASM needs a PAS -> PASM generator; "
            "--generators gives gen_he: HE",
            "train --name m --task s-vs-noa --variant PAS_PASM --generators gen_he "
            "--preset tiny", NULL);
    refused("same-stain", db, 1, "generators 'gen_he' and 'gen_he2' both make HE",
            "train --name m --task s-vs-noa --variant PAS_ALL --generators gen_he,gen_he2 "
            "--preset tiny", NULL);
    refused("not-from-pas", db, 1, "model 'he2pas' translates HE to PAS",
            "train --name m --task s-vs-noa --variant PAS_ALL --generators he2pas "
            "--preset tiny", NULL);
    refused("bad-file", db, 1, "generator model 'broken':",
            "train --name m --task s-vs-noa --variant PAS_ALL --generators broken "
            "--preset tiny", NULL);
    refused("name", db, 1, "model name 'a/b': use letters",
            "train --name a/b --task s-vs-noa --variant PAS_ONLY --preset tiny", NULL);
    refused("taken", db, 1, "a model named 'gen_he' exists (kind 'cyclegan')",
            "train --name gen_he --task s-vs-noa --variant PAS_ONLY --preset tiny", NULL);
    refused("empty", db_empty, 1, "no labelled PAS glomerulus crops",
            "train --name m --task s-vs-noa --variant PAS_ONLY --preset tiny", NULL);
    refused("absent-class", db_noss, 1,
            "task ss-vs-gs: the catalog has no PAS glomeruli of class 'ss' (labels ss); "
            "labelled glomeruli: noa",
            "train --name m --task ss-vs-gs --variant PAS_ONLY --preset tiny", NULL);
    refused("usage", db, 2, "--split-by is 'patient' or 'slide'",
            "train --name m --task s-vs-noa --variant PAS_ONLY --split-by crop", NULL);
    refused("usage2", db, 2, "--name, --task and --variant are required",
            "train --task s-vs-noa --variant PAS_ONLY", NULL);
    refused("usage3", db, 2, "--epochs expects a whole number",
            "train --name m --task s-vs-noa --variant PAS_ONLY --epochs many", NULL);
    char models[4200];
    snprintf(models, sizeof models, "%s/models", dir);
    CHECK(access(models, F_OK) != 0); /* no folder made for a refused run */
}

static void eval_refusals(void)
{
    refused("eval-none", db, 1, "no model named 'nosuch' (G2C models: notgen, unfinished)",
            "eval --model nosuch", NULL);
    refused("eval-kind", db, 1, "model 'gen_he' is of kind 'cyclegan', not a G2C classifier",
            "eval --model gen_he", NULL);
    refused("eval-split", db, 1, "--split is train, val or test, not 'dev'",
            "eval --model unfinished --split dev", NULL);
    refused("eval-ckpt", db, 1, "model 'unfinished' has no checkpoint yet",
            "eval --model unfinished", NULL);
    refused("compare-same", db, 1, "compare needs two different models",
            "compare --model notgen --model notgen", NULL);
    refused("compare-usage", db, 2, "give --model exactly twice", "compare --model notgen",
            NULL);
}

/* With one trained model: --given and compare need the right partners. */
static void with_models(void)
{
    CHECK(g2c_test_cli(db, "l1", "train --name l1 --task s-vs-noa --variant PAS_ONLY "
                                 "--preset tiny --epochs 1") == 0);
    CHECK(g2c_test_cli(db, "gs", "train --name gs --task gs-vs-rest --variant PAS_ONLY "
                                 "--preset tiny --epochs 1") == 0);
    refused("given-level1", db, 1, "--given is only for a level-2 model",
            "eval --model l1 --given gs", NULL);
    CHECK(g2c_test_cli(db, "l2", "train --name l2 --task ss-vs-gs --variant PAS_ONLY "
                                 "--preset tiny --epochs 1") == 0);
    refused("given-task", db, 1, "--given model 'gs' has task gs-vs-rest; model 'l2' (task "
            "ss-vs-gs) needs a model of task s-vs-noa",
            "eval --model l2 --given gs", NULL);
    refused("compare-tasks", db, 1, "answer different questions", "compare --model l1 "
            "--model gs", NULL);
    CHECK(g2c_test_cli(db, "l1b", "train --name l1b --task s-vs-noa --variant PAS_ONLY "
                                  "--preset tiny --epochs 1 --seed 2") == 0);
    refused("compare-nopred", db, 1, "model 'l1' has no predictions on the test split: run "
            "g2c eval --model l1", "compare --model l1 --model l1b", NULL);
    CHECK(g2c_test_cli(db, "eval-l1", "eval --model l1") == 0);
    refused("compare-nopred-b", db, 1, "model 'l1b' has no predictions on the test split",
            "compare --model l1 --model l1b", NULL);
}

static int add_model(const char *catalog, const char *name, const char *kind,
                     const char *config, const char *checkpoint)
{
    G2cCatalog *cat = g2c_catalog_open(catalog, G2C_CATALOG_READWRITE);
    if (!cat)
        return -1;
    sqlite3_stmt *st = g2c_catalog_prepare(
        cat, "INSERT INTO models (name, kind, config, checkpoint) VALUES (?1, ?2, ?3, ?4)");
    int rc = -1;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, config, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, checkpoint, -1, SQLITE_STATIC);
        rc = g2c_catalog_step_done(cat, st);
        sqlite3_finalize(st);
    }
    g2c_catalog_close(cat);
    return rc;
}

int main(void)
{
    dir = g2c_test_tmpdir();
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    snprintf(db_empty, sizeof db_empty, "%s/empty.db", dir);
    snprintf(db_noss, sizeof db_noss, "%s/noss.db", dir);
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/noss", dir);
    CHECK(g2c_test_system("mkdir -p %s", sub) == 0);
    CHECK_OK(fixture_catalog(db, dir, 4, 9, "noa,ss,gs"));
    CHECK_OK(fixture_catalog(db_noss, sub, 3, 6, "noa,gs,noa,-"));
    G2cCatalog *empty = g2c_catalog_open(db_empty, G2C_CATALOG_READWRITE);
    CHECK(empty != NULL);
    g2c_catalog_close(empty);
    CHECK_OK(fixture_generator(db, dir, "gen_he", "HE", 1, "cyclegan"));
    CHECK_OK(fixture_generator(db, dir, "gen_he2", "H&E", 2, "cyclegan"));
    CHECK_OK(fixture_generator(db, dir, "notgen", "HE", 3, "g2c"));
    CHECK_OK(fixture_generator(db, dir, "broken", "MASSON", 4, "cyclegan"));
    /* A generator from HE, a file that is not a generator, a G2C model
     * whose checkpoint was never written. */
    char gen[4200];
    snprintf(gen, sizeof gen, "%s/gen_he/G.safetensors", dir);
    CHECK_OK(add_model(db, "he2pas", "cyclegan",
                       "{\"source_stain\":\"HE\",\"target_stain\":\"PAS\"}", gen));
    CHECK_OK(add_model(db, "unfinished", "g2c",
                       "{\"task\":\"s-vs-noa\",\"variant\":\"PAS_ONLY\"}",
                       "/nonexistent/unfinished.safetensors"));
    CHECK(g2c_test_system("echo junk > %s/broken/G.safetensors", dir) == 0);
    if (g2c_test_failures)
        return g2c_test_finish("train-errors");
    train_refusals();
    eval_refusals();
    with_models();
    return g2c_test_finish("train-errors");
}
