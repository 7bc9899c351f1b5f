/* Stage 2 training speed: one g2c train step at the cpu preset (96 px
 * crops, batch 16, light stem 32, units 64/128/256), for PAS_ONLY, and for
 * PAS_ALL+ with three generators of stage 1's cpu architecture (ngf 32,
 * 6 residual blocks) both fine-tuned with the classifier (the G2C step)
 * and frozen.  All in one run, on the same machine state, through the
 * g2c program: ms per step as train measures it (augmentation excluded,
 * forward + focal loss + backward + SGD step included), and crops per
 * second (a crop is one glomerulus, i.e. K images for K branches).
 *
 *   bench-train [STEPS [THREADS]] (default 4 steps, 1 thread: one epoch
 *   of STEPS steps; the mean step, wall and process CPU time)
 *
 * Run with: meson test -C BUILD --benchmark --suite train (or directly,
 * with G2C_EXE set). */
#include "test-train-fixture.h"
#include "testutil.h"

#include "g2c/error.h"

#include <string.h>
#include <time.h>

static const char *dir;
static char db[4096];

typedef struct {
    const char *name, *args;
} Config;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* An epoch metric of the model's run, to the microsecond. */
static double metric(const char *model, const char *key)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT 1000 * json_extract(e.metrics, '$.%s') FROM run_epochs e JOIN runs r ON "
             "r.id = e.run_id JOIN models m ON m.id = r.model_id WHERE m.name = '%s'",
             key, model);
    return (double)g2c_test_scalar(db, sql) / 1000.0;
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 4;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    if (steps < 1 || steps > 40)
        steps = 4;
    dir = g2c_test_tmpdir();
    snprintf(db, sizeof db, "%s/g2c.db", dir);
    int per_slide = steps * 16 / 4 + 1;
    if (per_slide > 40)
        per_slide = 40;
    CHECK_OK(fixture_catalog(db, dir, 4, per_slide, "noa,gs,nongs"));
    static const char *const stains[] = {"HE", "MASSON", "PASM"};
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "pas2%s", stains[i]);
        CHECK_OK(fixture_generator_arch(db, dir, name, stains[i], 7 + (uint64_t)i, "cyclegan",
                                        32, 6));
    }
    if (g2c_test_failures)
        return g2c_test_finish("bench-train");
    static const Config configs[] = {
        {"PAS_ONLY", "--variant PAS_ONLY"},
        {"PAS_ALL+ (generators trained)",
         "--variant PAS_ALL+ --generators pas2HE,pas2MASSON,pas2PASM --freeze-epochs 0"},
        {"PAS_ALL+ (generators frozen)",
         "--variant PAS_ALL+ --generators pas2HE,pas2MASSON,pas2PASM --freeze-generators"},
    };
    const int branches[] = {1, 4, 4};
    printf("g2c train step, cpu preset (96 px, batch 16), %d steps each, %d thread%s\n",
           steps, threads, threads == 1 ? "" : "s");
    printf("%-30s %2s %9s %9s %10s %10s %10s\n", "variant", "K", "wall ms", "CPU ms",
           "crops/s", "images/s", "run wall s");
    for (int i = 0; i < 3; i++) {
        char name[24];
        snprintf(name, sizeof name, "bench%d", i);
        double t0 = now();
        int rc = g2c_test_cli(db, name,
                              "--threads %d train --name %s --task gs-vs-rest --preset cpu "
                              "--epochs 1 --test-fraction 0 --split-by slide %s",
                              threads, name, configs[i].args);
        double wall = now() - t0;
        if (rc != 0) {
            g2c_test_cli_expect(name, "err", "(no error)");
            continue;
        }
        double ms = metric(name, "ms_per_step"), cpu = metric(name, "cpu_ms_per_step");
        printf("%-30s %2d %9.0f %9.0f %10.1f %10.1f %10.1f\n", configs[i].name, branches[i], ms,
               cpu, 16000.0 / ms, 16000.0 * branches[i] / ms, wall);
        fflush(stdout);
    }
    return g2c_test_finish("bench-train");
}
