/* g2c run end to end: pipelines/demo-tiny.json on small synthetic slides
 * (tools/demo.sh --slides-only).  Every stage's status in the catalog, a
 * re-run that skips everything, --only and --from, a changed parameter
 * invalidating its stage and the later ones, a failed stage resuming, and
 * a kill -9 in the middle of a training stage resuming to the same model
 * bytes as an uninterrupted run. */
#include "testutil.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char data[2048], db_a[4096], db_b[4096], pipeline[4096], changed[4400];
static const int STAGES = 10;

/* g2c run on a catalog; the output goes to TMP/TAG.out and .err. */
static int run(const char *db, const char *tag, const char *file, const char *extra)
{
    return g2c_test_cli(db, tag, "--threads 1 run --set manifest=%s/manifest.csv %s %s", data,
                        extra, file);
}

static long long q(const char *db, const char *sql)
{
    return g2c_test_scalar(db, sql);
}

static long long stages_with(const char *db, const char *status)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pipeline_stages WHERE pipeline = "
                              "'demo-tiny.json' AND status = '%s'", status);
    return q(db, sql);
}

static const char *status_of(const char *db, const char *stage)
{
    static const char *names[] = {"none", "running", "done", "failed"};
    char sql[512];
    for (int i = 1; i < 4; i++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM pipeline_stages WHERE stage = '%s' "
                                  "AND status = '%s'", stage, names[i]);
        if (q(db, sql) == 1)
            return names[i];
    }
    return names[0];
}

static int file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static void setup(void)
{
    const char *tmp = g2c_test_tmpdir();
    snprintf(data, sizeof data, "%s/data", tmp);
    int rc = g2c_test_system("G2C_BUILD=\"%s\" G2C_DEMO_PATIENTS=3 G2C_DEMO_SIZE=1536x1536 "
                             "G2C_DEMO_GLOMERULI=4 G2C_DEMO_REF_STAINS=HE \"%s\" "
                             "--slides-only %s >%s/slides.log 2>&1",
                             getenv("G2C_BUILD_ROOT"), g2c_test_source_path("tools/demo.sh"),
                             data, tmp);
    if (rc != 0) {
        g2c_test_system("cat %s/slides.log >&2", tmp);
        fprintf(stderr, "tools/demo.sh --slides-only failed (%d)\n", rc);
        exit(1);
    }
    snprintf(db_a, sizeof db_a, "%s/a/g2c.db", tmp);
    snprintf(db_b, sizeof db_b, "%s/b/g2c.db", tmp);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/a", tmp);
    mkdir(dir, 0755);
    snprintf(dir, sizeof dir, "%s/b", tmp);
    mkdir(dir, 0755);
    snprintf(pipeline, sizeof pipeline, "%s", g2c_test_source_path("pipelines/demo-tiny.json"));
}

/* The whole pipeline, then again: nothing to do. */
static void full_run_and_rerun(void)
{
    CHECK(run(db_a, "a1", pipeline, "") == 0);
    g2c_test_cli_expect("a1", "out", "10 stages run, 0 skipped");
    CHECK(stages_with(db_a, "done") == STAGES);
    /* Stages that make a run record it. */
    CHECK(q(db_a, "SELECT count(*) FROM pipeline_stages ps JOIN runs r ON r.id = ps.run_id "
                  "WHERE ps.stage IN ('pretrain-HE', 'train-pas-only', 'train-g2c', "
                  "'eval-pas-only', 'eval-g2c')") == 5);
    CHECK(q(db_a, "SELECT position FROM pipeline_stages WHERE stage = 'report'") == 9);
    /* Infer scored every PAS glomerulus; the report exists. */
    CHECK(q(db_a, "SELECT count(*) FROM annotations a JOIN slides s ON s.id = a.slide_id "
                  "JOIN stains st ON st.id = s.stain_id WHERE st.name = 'PAS' AND a.id NOT IN "
                  "(SELECT annotation_id FROM predictions p JOIN models m ON m.id = p.model_id "
                  "WHERE m.name = 'g2c')") == 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/../a/reports/P003/index.html", data);
    CHECK(file_exists(path));
    g2c_test_cli_expect("a1", "out", "eval-g2c");
    g2c_test_cli_expect("a1", "out", "balanced accuracy");

    long long runs = q(db_a, "SELECT count(*) FROM runs");
    CHECK(run(db_a, "a2", pipeline, "") == 0);
    g2c_test_cli_expect("a2", "out", "0 stages run, 10 skipped");
    g2c_test_cli_expect("a2", "out", "done, skipped");
    CHECK(q(db_a, "SELECT count(*) FROM runs") == runs);
}

static long long eval_runs(const char *model)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs r JOIN models m ON m.id = r.model_id "
                              "WHERE r.kind = 'eval' AND m.name = '%s'", model);
    return q(db_a, sql);
}

static void only_and_from(void)
{
    long long g = eval_runs("g2c"), base = eval_runs("pas-only");
    CHECK(run(db_a, "only1", pipeline, "--only eval-g2c") == 0);
    g2c_test_cli_expect("only1", "out", "1 stage run, 9 skipped");
    g2c_test_cli_expect("only1", "out", "runs again (--only)");
    CHECK(eval_runs("g2c") == g + 1 && eval_runs("pas-only") == base);

    /* A kind selects every stage of it. */
    CHECK(run(db_a, "only2", pipeline, "--only eval") == 0);
    g2c_test_cli_expect("only2", "out", "2 stages run, 8 skipped");
    CHECK(eval_runs("g2c") == g + 2 && eval_runs("pas-only") == base + 1);

    long long trains = q(db_a, "SELECT count(*) FROM runs WHERE kind = 'train'");
    CHECK(run(db_a, "from", pipeline, "--from eval-g2c") == 0);
    g2c_test_cli_expect("from", "out", "3 stages run, 7 skipped");
    CHECK(eval_runs("g2c") == g + 3 && eval_runs("pas-only") == base + 1);
    CHECK(q(db_a, "SELECT count(*) FROM runs WHERE kind = 'train'") == trains);
    CHECK(stages_with(db_a, "done") == STAGES);

    /* A reference set cannot be made again under a model trained on it. */
    long long runs = q(db_a, "SELECT count(*) FROM runs");
    CHECK(run(db_a, "only-refset", pipeline, "--only refset-HE") == 1);
    g2c_test_cli_expect("only-refset", "err", "nothing was run: stage 'refset-HE': reference "
                                              "set 'ref-HE' cannot be made again while models "
                                              "trained on it remain (PAS2HE)");
    CHECK(q(db_a, "SELECT count(*) FROM runs") == runs && stages_with(db_a, "done") == STAGES);

    CHECK(run(db_a, "only-bad", pipeline, "--only nope") == 1);
    g2c_test_cli_expect("only-bad", "err", "has no stage or stage kind 'nope'");
}

/* The same file (same name) with train-g2c's epochs changed from 3 to 4. */
static void write_changed(void)
{
    FILE *in = fopen(pipeline, "r");
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/../changed", data);
    mkdir(dir, 0755);
    snprintf(changed, sizeof changed, "%s/demo-tiny.json", dir);
    FILE *out = fopen(changed, "w");
    CHECK(in && out);
    if (!in || !out)
        exit(1);
    char line[1024];
    int replaced = 0;
    while (fgets(line, sizeof line, in)) {
        char *at = strstr(line, "\"epochs\": 3}");
        if (at && !replaced) {
            at[10] = '4';
            replaced = 1;
        }
        fputs(line, out);
    }
    fclose(in);
    fclose(out);
    CHECK(replaced);
}

static void changed_parameter(void)
{
    write_changed();
    long long pas_only_model = q(db_a, "SELECT id FROM models WHERE name = 'pas-only'");
    CHECK(run(db_a, "changed", changed, "") == 0);
    g2c_test_cli_expect("changed", "out", "its parameters changed since its last run");
    g2c_test_cli_expect("changed", "out", "a stage before it changed since its last run");
    /* train-g2c and the four after it; nothing before it. */
    g2c_test_cli_expect("changed", "out", "5 stages run, 5 skipped");
    CHECK(q(db_a, "SELECT json_extract(config, '$.epochs') FROM models WHERE name = 'g2c'") == 4);
    CHECK(q(db_a, "SELECT id FROM models WHERE name = 'pas-only'") == pas_only_model);
    CHECK(q(db_a, "SELECT count(*) FROM runs r JOIN models m ON m.id = r.model_id "
                  "WHERE m.name = 'g2c' AND r.kind = 'train'") == 1);
    CHECK(stages_with(db_a, "done") == STAGES);
    /* Back to the original: changed again, run again. */
    CHECK(run(db_a, "changed-back", pipeline, "") == 0);
    g2c_test_cli_expect("changed-back", "out", "5 stages run, 5 skipped");
}

/* A stage that fails (its output folder is a file) is recorded as failed;
 * once the cause is gone, the next run resumes there. */
static void failed_stage_resumes(void)
{
    char reports[4200];
    snprintf(reports, sizeof reports, "%s/../a/reports", data);
    CHECK(g2c_test_system("rm -rf %s && touch %s", reports, reports) == 0);
    CHECK(run(db_a, "fail", pipeline, "--from infer") == 3);
    g2c_test_cli_expect("fail", "err", "stage 'report' failed");
    CHECK(strcmp(status_of(db_a, "report"), "failed") == 0);
    CHECK(strcmp(status_of(db_a, "infer"), "done") == 0);
    unlink(reports);
    CHECK(run(db_a, "resume", pipeline, "") == 0);
    g2c_test_cli_expect("resume", "out", "failed last time: resumes");
    g2c_test_cli_expect("resume", "out", "1 stage run, 9 skipped");
    CHECK(stages_with(db_a, "done") == STAGES);
}

/* Two safetensors files hold the same tensors, bit for bit (their
 * metadata differs: it records how long each epoch took). */
static int same_tensors(const char *a, const char *b)
{
    long na = 0, nb = 0;
    unsigned char *ba = g2c_test_read_file(a, &na), *bb = g2c_test_read_file(b, &nb);
    json_t *ha = NULL, *hb = NULL;
    uint64_t la = 0, lb = 0;
    if (ba && bb && na > 8 && nb > 8) {
        memcpy(&la, ba, 8);
        memcpy(&lb, bb, 8);
        if (la + 8 <= (uint64_t)na && lb + 8 <= (uint64_t)nb) {
            ha = json_loadb((const char *)ba + 8, la, 0, NULL);
            hb = json_loadb((const char *)bb + 8, lb, 0, NULL);
        }
    }
    int same = ha && hb && json_object_size(ha) == json_object_size(hb), tensors = 0;
    const char *key;
    json_t *v;
    json_object_foreach(ha, key, v)
    {
        json_t *w = json_object_get(hb, key);
        if (!same || strcmp(key, "__metadata__") == 0)
            continue;
        json_t *oa = json_object_get(v, "data_offsets"), *ob = json_object_get(w, "data_offsets");
        json_int_t a0 = json_integer_value(json_array_get(oa, 0));
        json_int_t a1 = json_integer_value(json_array_get(oa, 1));
        json_int_t b0 = json_integer_value(json_array_get(ob, 0));
        json_int_t b1 = json_integer_value(json_array_get(ob, 1));
        same = w && a1 - a0 == b1 - b0 && (uint64_t)a1 + la + 8 <= (uint64_t)na &&
               (uint64_t)b1 + lb + 8 <= (uint64_t)nb &&
               memcmp(ba + 8 + la + a0, bb + 8 + lb + b0, (size_t)(a1 - a0)) == 0;
        if (!same)
            fprintf(stderr, "tensor %s differs between %s and %s\n", key, a, b);
        tensors++;
    }
    json_decref(ha);
    json_decref(hb);
    free(ba);
    free(bb);
    return same && tensors > 10;
}

/* kill -9 half-way through train-pas-only's second epoch (g2c train's test
 * hook raises SIGKILL in the g2c run process), then the plain command. */
static void killed_stage_resumes(void)
{
    const char *tmp = g2c_test_tmpdir();
    int rc = g2c_test_system("G2C_TEST_KILL_TRAIN=2:step \"%s\" --quiet --threads 1 --db %s run "
                             "--set manifest=%s/manifest.csv %s >%s/kill.out 2>%s/kill.err",
                             getenv("G2C_EXE"), db_b, data, pipeline, tmp, tmp);
    CHECK(rc == -1 || rc == 137);
    CHECK(strcmp(status_of(db_b, "pretrain-HE"), "done") == 0);
    CHECK(strcmp(status_of(db_b, "train-pas-only"), "running") == 0);
    CHECK(strcmp(status_of(db_b, "train-g2c"), "none") == 0);
    CHECK(run(db_b, "killed-rerun", pipeline, "") == 0);
    g2c_test_cli_expect("killed-rerun", "out", "was interrupted: resumes");
    g2c_test_cli_expect("killed-rerun", "out", "done, skipped");
    CHECK(stages_with(db_b, "done") == STAGES);
    /* Resumed from its checkpoint: the same bytes as the uninterrupted run. */
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/../a/models/pas-only.safetensors", data);
    snprintf(b, sizeof b, "%s/../b/models/pas-only.safetensors", data);
    CHECK(same_tensors(a, b));
    CHECK(q(db_b, "SELECT count(*) FROM runs r JOIN models m ON m.id = r.model_id WHERE "
                  "m.name = 'pas-only' AND r.kind = 'train'") == 1);
}

int main(void)
{
    if (!getenv("G2C_EXE") || !getenv("G2C_BUILD_ROOT"))
        g2c_test_skip("run through meson (G2C_EXE, G2C_BUILD_ROOT)");
    setup();
    full_run_and_rerun();
    only_and_from();
    changed_parameter();
    failed_stage_resumes();
    killed_stage_resumes();
    return g2c_test_finish("pipeline");
}
