/*
 * number.c: decimal integers from text (number.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "number.h"

int number_parse(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v;

    /* strtoll would take leading space and '+': a value is its digits */
    if (s == NULL || !((s[0] >= '0' && s[0] <= '9') ||
                       (s[0] == '-' && s[1] >= '0' && s[1] <= '9')))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int number_parse_int(const char *s, int lo, int hi, int *out)
{
    long long v;

    if (number_parse(s, lo, hi, &v) == -1)
        return -1;
    *out = (int)v;
    return 0;
}
