#include "testutil.h"

#include <sqlite3.h>
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

int g2c_test_cli(const char *db, const char *tag, const char *fmt, ...)
{
    char args[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    const char *dir = g2c_test_tmpdir();
    const char *exe = getenv("G2C_EXE");
    if (!exe) {
        fprintf(stderr, "G2C_EXE is not set (run the tests through meson)\n");
        exit(1);
    }
    return g2c_test_system("\"%s\" --quiet --db %s %s >%s/%s.out 2>%s/%s.err", exe, db, args,
                           dir, tag, dir, tag);
}

unsigned char *g2c_test_read_file(const char *path, long *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = n >= 0 ? calloc((size_t)n + 1, 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b && size)
        *size = n;
    return b;
}

char *g2c_test_cli_output(const char *tag, const char *stream)
{
    char path[4096];
    char *text = NULL;
    if (snprintf(path, sizeof path, "%s/%s.%s", g2c_test_tmpdir(), tag, stream) <
        (int)sizeof path)
        text = (char *)g2c_test_read_file(path, NULL);
    return text ? text : calloc(1, 1);
}

void g2c_test_cli_ok(const char *tag, int rc)
{
    if (rc == 0)
        return;
    char *err = g2c_test_cli_output(tag, "err");
    fprintf(stderr, "%s: exit %d: %s\n", tag, rc, err);
    free(err);
    g2c_test_failures++;
}

void g2c_test_cli_expect(const char *tag, const char *stream, const char *needle)
{
    char *text = g2c_test_cli_output(tag, stream);
    if (!strstr(text, needle)) {
        fprintf(stderr, "%s.%s: expected \"%s\" in:\n%s\n", tag, stream, needle, text);
        g2c_test_failures++;
    }
    free(text);
}

long long g2c_test_scalar(const char *db, const char *sql)
{
    sqlite3 *h;
    long long v = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(h, 2000);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(h);
    return v;
}
