/* Minimal test support: each test is a program of CHECK()s.
 * Exit 0 = pass, 77 = skipped (meson's convention), 1 = fail. */
#ifndef G2C_TESTUTIL_H
#define G2C_TESTUTIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

extern int g2c_test_failures;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            g2c_test_failures++;                                             \
        }                                                                    \
    } while (0)

/* CHECK that also prints the pending g2c error message. */
#define CHECK_OK(expr)                                                       \
    do {                                                                     \
        if ((expr) != 0) {                                                   \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__,    \
                    #expr, g2c_error_message());                             \
            g2c_test_failures++;                                             \
        }                                                                    \
    } while (0)

#define CHECK_CLOSE(a, b, tol)                                               \
    do {                                                                     \
        double a_ = (a), b_ = (b);                                           \
        if (!(a_ - b_ <= (tol) && b_ - a_ <= (tol))) {                       \
            fprintf(stderr, "%s:%d: %s = %.9g, %s = %.9g, tolerance %g\n",   \
                    __FILE__, __LINE__, #a, a_, #b, b_, (double)(tol));      \
            g2c_test_failures++;                                             \
        }                                                                    \
    } while (0)

/* End a test: prints a verdict and returns the exit status. */
int g2c_test_finish(const char *name);

/* Skip the whole test with a reason (exits 77). */
void g2c_test_skip(const char *why) __attribute__((noreturn));

/* Folder of the real data (../shared/data beside the source tree, or
 * $G2C_SHARED_DATA); skips the test with a message when it is absent. */
const char *g2c_test_shared_data(void);

/* A fresh empty temporary folder for this test, under $TMPDIR or /tmp. */
const char *g2c_test_tmpdir(void);

/* Path to a file under the source tree. */
const char *g2c_test_source_path(const char *relative);

/* Run the g2c program (G2C_EXE) on catalog db:
 *   g2c --quiet --db DB ARGS >TMP/TAG.out 2>TMP/TAG.err
 * with TMP = g2c_test_tmpdir(); returns its exit status. */
int g2c_test_cli(const char *db, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* What that run printed: stream "out" or "err" (caller frees). */
char *g2c_test_cli_output(const char *tag, const char *stream);
/* CHECK that a run exited 0 (rc from g2c_test_cli), printing its stderr
 * when not. */
void g2c_test_cli_ok(const char *tag, int rc);
/* A whole file, NUL-terminated, its length in *size (may be NULL); NULL if
 * it cannot be read (caller frees). */
unsigned char *g2c_test_read_file(const char *path, long *size);
/* CHECK that a run's stream contains needle, printing it when not. */
void g2c_test_cli_expect(const char *tag, const char *stream, const char *needle);
/* The first column of the first row of a query on db (read-only), or -1. */
long long g2c_test_scalar(const char *db, const char *sql);

/* Run a shell command; returns its exit status (or -1). */
int g2c_test_system(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
