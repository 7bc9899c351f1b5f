/* g2c error convention.
 *
 * Every fallible function returns 0 on success and -1 on failure (or NULL for
 * constructors).  The function that detects a failure records one message
 * with g2c_error(); callers that add context (the file, the line, the
 * feature) prepend it with g2c_error_prefix() and return -1 in turn.  The
 * message is per thread, so worker threads can fail independently.
 */
#ifndef G2C_ERROR_H
#define G2C_ERROR_H

#include <stdarg.h>

#if defined(__GNUC__)
#define G2C_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define G2C_PRINTF(a, b)
#endif

/* Replace the pending message.  Always returns -1 so that code can say
 * `return g2c_error("...")`. */
int g2c_error(const char *fmt, ...) G2C_PRINTF(1, 2);

/* Prepend context ("manifest.csv:12: ") to the pending message.  Returns -1. */
int g2c_error_prefix(const char *fmt, ...) G2C_PRINTF(1, 2);

/* The pending message, or "" when there is none. */
const char *g2c_error_message(void);

void g2c_error_clear(void);

#endif
