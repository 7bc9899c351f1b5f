/* Helpers shared by the tests of src/annot: fixtures, scratch files, and
 * checks on the error contract (-1, an empty list, a message that names
 * the file and the place). */
#ifndef G2C_ANNOT_TEST_H
#define G2C_ANNOT_TEST_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "g2c/annot.h"
#include "g2c/error.h"
#include "testutil.h"

/* tests/fixtures/annot/NAME; the returned buffer is reused by each call. */
static inline const char *fixture(const char *name)
{
    static char path[4096];
    char rel[512];
    snprintf(rel, sizeof rel, "tests/fixtures/annot/%s", name);
    snprintf(path, sizeof path, "%s", g2c_test_source_path(rel));
    return path;
}

/* Write `text` to TMPDIR/NAME and return that path (a fresh buffer per call
 * would be nicer; callers use it before the next call). */
static inline const char *scratch(const char *name, const char *text)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", g2c_test_tmpdir(), name);
    FILE *fp = fopen(path, "wb");
    if (!fp || fputs(text, fp) < 0 || fclose(fp) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    return path;
}

/* The message must contain every one of the NULL-terminated needles. */
static inline int message_has(const char *message, va_list ap)
{
    int ok = 1;
    for (const char *needle; (needle = va_arg(ap, const char *)) != NULL;) {
        if (!strstr(message, needle)) {
            fprintf(stderr, "  message lacks \"%s\"\n", needle);
            ok = 0;
        }
    }
    return ok;
}

/* Reading `path` must fail cleanly with a message containing the needles. */
static inline void expect_error_at(const char *where, int line, const char *path,
                                   G2cAnnotFormat format, ...)
{
    G2cAnnotationList list = {(G2cAnnotation *)&list, 99, 99}; /* junk to overwrite */
    g2c_error_clear();
    int rc = g2c_annot_read(path, format, &list);
    const char *msg = g2c_error_message();
    va_list ap;
    va_start(ap, format);
    int has = message_has(msg, ap);
    va_end(ap);
    if (getenv("G2C_TEST_VERBOSE"))
        printf("  error: %s\n", msg);
    if (rc != -1 || list.count != 0 || list.items != NULL || !has) {
        fprintf(stderr, "%s:%d: expected an error reading %s: rc=%d count=%d, message: %s\n",
                where, line, path, rc, list.count, msg);
        g2c_test_failures++;
        if (rc == 0 && list.items != (G2cAnnotation *)&list)
            g2c_annot_list_free(&list);
    }
}
#define EXPECT_ERROR(path, format, ...) \
    expect_error_at(__FILE__, __LINE__, path, format, __VA_ARGS__, (const char *)NULL)

static inline void check_box_at(const char *where, int line, const G2cAnnotation *a,
                                double x, double y, double w, double h, const char *label,
                                const char *source_id)
{
    const double tol = 1e-9;
    if (!(a->x - x <= tol && x - a->x <= tol && a->y - y <= tol && y - a->y <= tol &&
          a->w - w <= tol && w - a->w <= tol && a->h - h <= tol && h - a->h <= tol) ||
        strcmp(a->label, label) != 0 || (source_id && strcmp(a->source_id, source_id) != 0)) {
        fprintf(stderr,
                "%s:%d: got (%.10g, %.10g, %.10g, %.10g) '%s' id '%s', expected "
                "(%.10g, %.10g, %.10g, %.10g) '%s' id '%s'\n",
                where, line, a->x, a->y, a->w, a->h, a->label, a->source_id, x, y, w, h,
                label, source_id ? source_id : "(any)");
        g2c_test_failures++;
    }
}
/* Send stderr to a scratch file until stderr_release(), which returns how
 * many bytes were written there meanwhile: libraries must stay quiet. */
static int saved_stderr = -1;
static inline void stderr_capture(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/stderr.txt", g2c_test_tmpdir());
    fflush(stderr);
    saved_stderr = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (saved_stderr < 0 || fd < 0 || dup2(fd, 2) < 0) {
        fprintf(stderr, "cannot redirect stderr\n");
        exit(1);
    }
    close(fd);
}
static inline long stderr_release(void)
{
    fflush(stderr);
    long size = lseek(2, 0, SEEK_END);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    return size;
}

/* CHECK_BOX(&a, x, y, w, h, label, source_id or NULL for any) */
#define CHECK_BOX(a, x, y, w, h, label, id) \
    check_box_at(__FILE__, __LINE__, a, x, y, w, h, label, id)

#endif
