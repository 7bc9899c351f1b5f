/* g2c_nn_runtime_init: on an AVX-512 CPU a child process that calls it
 * runs OpenBLAS's SkylakeX kernels, re-executing itself when the loaded
 * library picked another core; an explicit OPENBLAS_CORETYPE and the loop
 * guard are respected.  Also the thread count setters.
 *
 * The child is this program run with --child; it prints what it sees.
 * G2C_NN_TEST_CORENAME makes the runtime believe OpenBLAS chose that core,
 * so the re-exec path runs even where OpenBLAS detects the CPU right. */
#include "g2c/nn.h"
#include "../testutil.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int child(int argc, char **argv)
{
    g2c_nn_runtime_init(argc, argv);
    const char *marker = getenv("G2C_NN_REEXECED");
    const char *type = getenv("OPENBLAS_CORETYPE");
    printf("core=%s coretype=%s reexec=%s threads=%d args=%d last=%s\n",
           openblas_get_corename(), type ? type : "unset",
           marker ? marker : "no", g2c_nn_threads(), argc, argv[argc - 1]);
    return 0;
}

/* Run the child with `env` prefixed; returns its first output line. */
static const char *run_child(const char *self, const char *env)
{
    static char line[512];
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "env -u OPENBLAS_CORETYPE -u G2C_NN_REEXECED -u "
             "G2C_NN_TEST_CORENAME -u G2C_THREADS %s '%s' --child extra-arg",
             env, self);
    FILE *p = popen(cmd, "r");
    line[0] = '\0';
    if (!p) {
        fprintf(stderr, "cannot run %s\n", cmd);
        g2c_test_failures++;
        return line;
    }
    if (!fgets(line, sizeof line, p))
        line[0] = '\0';
    int rc = pclose(p);
    CHECK(rc == 0);
    fprintf(stderr, "%s -> %s", env, line);
    return line;
}

static int has(const char *line, const char *part)
{
    if (strstr(line, part))
        return 1;
    fprintf(stderr, "expected \"%s\" in: %s\n", part, line);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0)
        return child(argc, argv);

    /* Threads: set and read back. */
    g2c_nn_set_threads(1);
    CHECK(g2c_nn_threads() == 1);
    g2c_nn_set_threads(2);
    CHECK(g2c_nn_threads() == 2);
    g2c_nn_set_threads(0); /* default: G2C_THREADS or the core count */
    CHECK(g2c_nn_threads() >= 1);

    if (!__builtin_cpu_supports("avx512f"))
        g2c_test_skip("the CPU has no AVX-512 (or valgrind hides it)");

    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    if (n <= 0)
        return g2c_test_finish("runtime");
    self[n] = '\0';

    const char *line = run_child(self, "");
    CHECK(has(line, "core=SkylakeX") || has(line, "core=Cooperlake") ||
          has(line, "core=SapphireRapids"));
    CHECK(has(line, "args=3 last=extra-arg"));

    /* OpenBLAS "chose" Haswell: the child re-executes with SkylakeX. */
    line = run_child(self, "G2C_NN_TEST_CORENAME=Haswell");
    CHECK(has(line, "core=SkylakeX coretype=SkylakeX reexec=1"));
    CHECK(has(line, "args=3 last=extra-arg"));

    /* The marker stops a second re-exec (a loop would never return). */
    line = run_child(self, "G2C_NN_TEST_CORENAME=Haswell G2C_NN_REEXECED=1");
    CHECK(has(line, "reexec=1"));

    /* A core type the user chose is left alone. */
    line = run_child(self, "OPENBLAS_CORETYPE=Haswell");
    CHECK(has(line, "core=Haswell"));
    CHECK(has(line, "reexec=no"));

    /* G2C_THREADS sets the thread count. */
    line = run_child(self, "G2C_THREADS=1");
    CHECK(has(line, "threads=1"));

    return g2c_test_finish("runtime");
}
