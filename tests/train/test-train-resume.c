/* kill -9 during g2c train, then the same command again: the model ends
 * with the same weights, optimizer state and epoch records, to the bit, as
 * an uninterrupted run.  The kills land at exact places through the test
 * hook G2C_TEST_KILL_TRAIN (SIGKILL half-way through an epoch, or right
 * after a checkpoint is written and before the catalog records the
 * epoch), plus one at a random moment. */
#include "test-train-fixture.h"
#include "testutil.h"

#include "g2c/error.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *dir;
static char db[4096];
static int full_us; /* how long the uninterrupted run took */

static const char *const ARGS = "train --name %s --task s-vs-noa --variant PAS_ALL+ "
                                "--generators gen_he,gen_masson --preset tiny --epochs 3 "
                                "--batch 6";

/* Run g2c train for `name`, with the kill hook set to `kill_at` (or none).
 * Returns the exit status, or -1 when it died by a signal. */
static int train(const char *name, const char *kill_at)
{
    char args[512];
    snprintf(args, sizeof args, ARGS, name);
    return g2c_test_system("%s%s \"%s\" --threads 1 --db %s %s >%s/%s.out 2>%s/%s.err",
                           kill_at ? "G2C_TEST_KILL_TRAIN=" : "", kill_at ? kill_at : "",
                           getenv("G2C_EXE"), db, args, dir, name, dir, name);
}

/* Killed by SIGKILL: seen directly, or as the shell's 128 + 9. */
static int died(int rc)
{
    return rc == -1 || rc == 137;
}

static long long q(const char *fmt, const char *name)
{
    char sql[1024];
    snprintf(sql, sizeof sql, fmt, name);
    return g2c_test_scalar(db, sql);
}

static long long epochs_recorded(const char *name)
{
    return q("SELECT count(*) FROM run_epochs e JOIN runs r ON r.id = e.run_id JOIN models m "
             "ON m.id = r.model_id WHERE m.name = '%s'", name);
}

static void path_of(const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/models/%s.safetensors", dir, name);
}

/* Every tensor (weights, batch-norm statistics, momentum buffers) and
 * every epoch's loss equal the uninterrupted run's. */
static void check_same_as_full(const char *name)
{
    char a[4200], b[4200];
    path_of("full", a, sizeof a);
    path_of(name, b, sizeof b);
    int n = 0;
    CHECK(fixture_same_tensors(a, b, "", &n));
    CHECK(n > 50);
    CHECK(q("SELECT count(*) FROM runs r JOIN models m ON m.id = r.model_id WHERE "
            "m.name = '%s' AND r.kind = 'train' AND r.status = 'done'", name) == 1);
    CHECK(epochs_recorded(name) == 3);
    for (int e = 1; e <= 3; e++) {
        char sql[1024];
        snprintf(sql, sizeof sql,
                 "SELECT count(DISTINCT json_extract(e.metrics, '$.loss') || ' ' || "
                 "json_extract(e.metrics, '$.train_accuracy')) FROM run_epochs e JOIN runs r "
                 "ON r.id = e.run_id JOIN models m ON m.id = r.model_id WHERE m.name IN "
                 "('full', '%%s') AND e.epoch = %d", e);
        CHECK(q(sql, name) == 1);
    }
}

static void killed_after_checkpoint(void)
{
    CHECK(died(train("cut1", "1:checkpoint")));
    char ck[4200], gen[4200];
    path_of("cut1", ck, sizeof ck);
    snprintf(gen, sizeof gen, "%s/gen_he/G.safetensors", dir);
    CHECK(access(ck, F_OK) == 0);
    CHECK(epochs_recorded("cut1") == 0); /* died before the catalog heard of it */
    /* Epoch 1 ran with frozen generators: still stage 1's weights. */
    CHECK(fixture_same_tensor(gen, "model.1.weight", ck, "gen_HE.model.1.weight"));
    CHECK(fixture_same_tensor(gen, "model.10.conv_block.1.weight", ck,
                              "gen_HE.model.10.conv_block.1.weight"));
    CHECK(train("cut1", NULL) == 0);
    char *out = g2c_test_cli_output("cut1", "out");
    CHECK(strstr(out, "resuming model cut1 after epoch 1 of 3") != NULL);
    free(out);
    check_same_as_full("cut1");
    /* ... and the generators moved after the freeze. */
    CHECK(!fixture_same_tensor(gen, "model.1.weight", ck, "gen_HE.model.1.weight"));
}

static void killed_mid_epoch(void)
{
    CHECK(died(train("cut2", "2:step")));
    CHECK(epochs_recorded("cut2") == 1);
    CHECK(q("SELECT count(*) FROM runs r JOIN models m ON m.id = r.model_id WHERE "
            "m.name = '%s' AND r.status = 'running'", "cut2") == 1);
    CHECK(train("cut2", NULL) == 0);
    check_same_as_full("cut2");
}

/* A kill at a random moment (possibly before anything was written, or
 * after the end), then the command again until it succeeds. */
static void killed_at_random(const char *name)
{
    char args[512];
    snprintf(args, sizeof args, ARGS, name);
    pid_t pid = fork();
    if (pid == 0) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "exec \"%s\" --threads 1 --db %s %s >/dev/null 2>&1",
                 getenv("G2C_EXE"), db, args);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    usleep((useconds_t)(rand() % (full_us > 1000 ? full_us : 1000)));
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    fprintf(stderr, "random kill: %s\n", WIFSIGNALED(status) ? "killed" : "finished first");
    int rc = train(name, NULL);
    if (rc != 0) {
        char *err = g2c_test_cli_output(name, "err");
        fprintf(stderr, "%s rerun: %d %s\n", name, rc, err);
        free(err);
    }
    /* It may have finished before the kill: then the rerun says so. */
    CHECK(rc == 0 || rc == 1);
    check_same_as_full(name);
}

static void refusals(void)
{
    /* Done: not trained again. */
    CHECK(train("full", NULL) == 1);
    g2c_test_cli_expect("full", "err", "already trained");
    /* Other settings under the same name: refused, naming the setting. */
    CHECK(g2c_test_cli(db, "other", "train --name full --task s-vs-noa --variant PAS_ALL+ "
                                    "--generators gen_he,gen_masson --preset tiny --epochs 4 "
                                    "--batch 6") == 1);
    g2c_test_cli_expect("other", "err", "exists with another configuration (epochs: 3 then, "
                                        "4 now)");
}

int main(void)
{
    dir = g2c_test_tmpdir();
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    CHECK_OK(fixture_catalog(db, dir, 5, 12, "noa,ss,gs"));
    CHECK_OK(fixture_generator(db, dir, "gen_he", "HE", 11, "cyclegan"));
    CHECK_OK(fixture_generator(db, dir, "gen_masson", "MASSON", 12, "cyclegan"));
    if (g2c_test_failures)
        return g2c_test_finish("train-resume");
    srand((unsigned)time(NULL));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(train("full", NULL) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    full_us = (int)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
    killed_after_checkpoint();
    killed_mid_epoch();
    killed_at_random("cut3");
    killed_at_random("cut4");
    killed_at_random("cut5");
    refusals();
    return g2c_test_finish("train-resume");
}
