/* Resuming g2c pretrain (tiny preset, 1 + 1 epochs): whatever stops a run
 * (--stop-after-epoch, kill -9, a crash between writing the generator and
 * the discriminator checkpoints), running the same command again ends with
 * the same bytes of G.safetensors and latest-gen.safetensors (weights and
 * Adam state) as an uninterrupted run; a checkpoint pair that does not
 * belong together is refused. */
#include "ingest/slides.h"
#include "test-pretrain-fixture.h"
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *ARGS = "pretrain --source PAS --target HE --preset tiny";

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[65536];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

static void same_result(const char *folder)
{
    const char *files[] = {"G.safetensors", "latest-gen.safetensors"};
    for (int i = 0; i < 2; i++)
        if (!pf_same_bytes(pf_path("f/%s", files[i]), pf_path("%s/%s", folder, files[i]))) {
            fprintf(stderr, "%s/%s differs from the uninterrupted run's\n", folder, files[i]);
            g2c_test_failures++;
        }
}

/* --stop-after-epoch 1, then a simulated crash while saving epoch 2: the
 * generators of epoch 2 written, the discriminators not (latest-gen from
 * epoch 2, previous-gen and latest-disc from epoch 1). */
static void stop_then_crash(void)
{
    CHECK(pf_g2c("stop", "%s --name S --out %s/s --stop-after-epoch 1", ARGS, pf_dir()) == 0);
    pf_expect("stop", "out", "stopped after epoch 1 of 2");
    CHECK(pf_scalar("SELECT count(*) FROM runs r JOIN models m ON m.id = r.model_id "
                    "WHERE m.name = 'S' AND r.status = 'partial'") == 1);
    CHECK(pf_scalar("SELECT count(*) FROM run_epochs e JOIN runs r ON r.id = e.run_id "
                    "JOIN models m ON m.id = r.model_id WHERE m.name = 'S'") == 1);
    CHECK(pf_exists(pf_path("s/G.safetensors")));
    CHECK(!pf_exists(pf_path("s/samples-epoch-002.png")));

    CHECK(copy_file(pf_path("s/latest-gen.safetensors"), pf_path("gen-epoch-1")) == 0);
    CHECK(rename(pf_path("s/latest-gen.safetensors"), pf_path("s/previous-gen.safetensors")) ==
          0);
    CHECK(copy_file(pf_path("f/latest-gen.safetensors"), pf_path("s/latest-gen.safetensors")) ==
          0);
    CHECK(pf_g2c("resume", "%s --name S --out %s/s", ARGS, pf_dir()) == 0);
    pf_expect("resume", "out", "resuming after epoch 1 of 2");
    same_result("s");
    /* The same run row continued; one row per epoch. */
    CHECK(pf_scalar("SELECT count(*) FROM runs r JOIN models m ON m.id = r.model_id "
                    "WHERE m.name = 'S'") == 1);
    CHECK(pf_scalar("SELECT count(*) FROM runs r JOIN models m ON m.id = r.model_id "
                    "WHERE m.name = 'S' AND r.status = 'done'") == 1);
    CHECK(pf_scalar("SELECT count(*) FROM run_epochs e JOIN runs r ON r.id = e.run_id "
                    "JOIN models m ON m.id = r.model_id WHERE m.name = 'S'") == 2);

    /* A pair that does not belong together: epoch-2 discriminators, only
     * epoch-1 generators. */
    CHECK(copy_file(pf_path("gen-epoch-1"), pf_path("s/latest-gen.safetensors")) == 0);
    CHECK(unlink(pf_path("s/previous-gen.safetensors")) == 0);
    CHECK(pf_g2c("inconsistent", "%s --name S --out %s/s", ARGS, pf_dir()) == 1);
    pf_expect("inconsistent", "err",
              "latest-disc.safetensors is from epoch 2 but no generator checkpoint is "
              "(latest-gen: 1, previous-gen: -1");
}

static long read_pid(const char *path)
{
    char *text = test_read_text(path);
    long pid = strtol(text, NULL, 10);
    free(text);
    return pid;
}

/* kill -9 as soon as the first epoch is committed, then the same command. */
static void kill_then_resume(void)
{
    CHECK(g2c_test_system("\"%s\" --quiet --db %s %s --name K --out %s/k >%s/k.out 2>&1 & "
                          "echo $! >%s/k.pid",
                          getenv("G2C_EXE"), pf_db(), ARGS, pf_dir(), pf_dir(), pf_dir()) == 0);
    long pid = read_pid(pf_path("k.pid"));
    CHECK(pid > 1);
    for (int i = 0; i < 6000 && !pf_exists(pf_path("k/latest-disc.safetensors")); i++)
        sleep_ms(10);
    if (pid > 1)
        kill((pid_t)pid, SIGKILL);
    for (int i = 0; i < 500 && pid > 1 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH); i++)
        sleep_ms(10);
    CHECK(pf_exists(pf_path("k/latest-disc.safetensors")));
    fprintf(stderr, "killed run left status %s\n",
            pf_scalar("SELECT count(*) FROM runs r JOIN models m ON m.id = r.model_id "
                      "WHERE m.name = 'K' AND r.status = 'done'") == 1
                ? "done (it finished first)"
                : "running");
    CHECK(pf_g2c("k-resume", "%s --name K --out %s/k", ARGS, pf_dir()) == 0);
    same_result("k");
    CHECK(pf_scalar("SELECT count(*) FROM runs r JOIN models m ON m.id = r.model_id "
                    "WHERE m.name = 'K' AND r.status = 'done'") == 1);
    CHECK(pf_scalar("SELECT count(*) FROM run_epochs e JOIN runs r ON r.id = e.run_id "
                    "JOIN models m ON m.id = r.model_id WHERE m.name = 'K'") == 2);
}

int main(void)
{
    pf_init();
    CHECK(pf_g2c("full", "%s --name F --out %s/f", ARGS, pf_dir()) == 0);
    stop_then_crash();
    kill_then_resume();
    return g2c_test_finish("pretrain-resume");
}
