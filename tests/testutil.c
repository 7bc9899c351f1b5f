#include "testutil.h"

#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int g2c_test_failures = 0;

int g2c_test_finish(const char *name)
{
    if (g2c_test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, g2c_test_failures);
        return 1;
    }
    fprintf(stderr, "%s: ok\n", name);
    return 0;
}

void g2c_test_skip(const char *why)
{
    fprintf(stderr, "SKIP: %s\n", why);
    exit(77);
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *g2c_test_shared_data(void)
{
    static char path[4096];
    const char *env = getenv("G2C_SHARED_DATA");
    if (env && is_dir(env))
        return env;
    const char *root = getenv("G2C_SOURCE_ROOT");
    if (root) {
        snprintf(path, sizeof path, "%s/../shared/data", root);
        if (is_dir(path))
            return path;
    }
    g2c_test_skip("real data not found (../shared/data beside the checkout, "
                  "or set G2C_SHARED_DATA)");
}

const char *g2c_test_tmpdir(void)
{
    static char path[4096];
    if (path[0])
        return path;
    const char *base = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/g2c-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(path)) {
        fprintf(stderr, "cannot create a temporary folder\n");
        exit(1);
    }
    return path;
}

const char *g2c_test_source_path(const char *relative)
{
    static char path[4096];
    const char *root = getenv("G2C_SOURCE_ROOT");
    snprintf(path, sizeof path, "%s/%s", root ? root : ".", relative);
    return path;
}

int g2c_test_system(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc == -1)
        return -1;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
