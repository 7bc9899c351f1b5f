#include "g2c/error.h"

#include <stdio.h>
#include <string.h>

enum { ERROR_CAPACITY = 2048 };

static _Thread_local char error_buffer[ERROR_CAPACITY];

int g2c_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_buffer, sizeof error_buffer, fmt, ap);
    va_end(ap);
    return -1;
}

int g2c_error_prefix(const char *fmt, ...)
{
    char prefix[ERROR_CAPACITY];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Shift the message right and put the prefix in front, cutting the
     * end if the two do not fit. */
    size_t p = strlen(prefix), m = strlen(error_buffer);
    if (p >= ERROR_CAPACITY)
        p = ERROR_CAPACITY - 1;
    if (p + m >= ERROR_CAPACITY)
        m = ERROR_CAPACITY - 1 - p;
    memmove(error_buffer + p, error_buffer, m);
    memcpy(error_buffer, prefix, p);
    error_buffer[p + m] = '\0';
    return -1;
}

const char *g2c_error_message(void)
{
    return error_buffer;
}

void g2c_error_clear(void)
{
    error_buffer[0] = '\0';
}
