/*
 * err.c: filling a struct err.  See err.h for the convention.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

/* Append src to the string in buf (capacity cap), truncating. */
static void append(char *buf, size_t cap, const char *src)
{
    size_t n = strlen(buf), k = strlen(src);

    if (n + 1 >= cap)
        return;
    if (k > cap - n - 1)
        k = cap - n - 1;
    memcpy(buf + n, src, k);
    buf[n + k] = '\0';
}

void err_clear(struct err *e)
{
    if (e == NULL)
        return;
    e->code = 0;
    e->line = 0;
    e->msg[0] = '\0';
}

int err_vset(struct err *e, int code, const char *fmt, va_list ap)
{
    if (e == NULL)
        return -1;
    e->code = code;
    e->line = 0;
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    return -1;
}

int err_set(struct err *e, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    err_vset(e, code, fmt, ap);
    va_end(ap);
    return -1;
}

int err_errno(struct err *e, int code, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    if (e == NULL)
        return -1;
    va_start(ap, fmt);
    err_vset(e, code, fmt, ap);
    va_end(ap);
    append(e->msg, sizeof(e->msg), ": ");
    append(e->msg, sizeof(e->msg), strerror(saved));
    errno = saved;
    return -1;
}

int err_prefix(struct err *e, const char *fmt, ...)
{
    char prefix[ERR_MSG_MAX], old[ERR_MSG_MAX];
    va_list ap;

    if (e == NULL)
        return -1;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof(old));
    e->msg[0] = '\0';
    append(e->msg, sizeof(e->msg), prefix);
    append(e->msg, sizeof(e->msg), ": ");
    append(e->msg, sizeof(e->msg), old);
    return -1;
}
