/*
 * sitetime.c: the site's zone, UTC formatting, strict date and time parsing.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sitetime.h"

int sitetime_zone_valid(const char *zone, struct err *e)
{
    char path[512];
    struct stat st;

    /* Reject anything that could walk out of the zoneinfo tree. */
    if (zone[0] == '\0' || zone[0] == '/' || strstr(zone, "..") != NULL ||
        strlen(zone) > 64)
        return err_set(e, EX_DATAERR, "unknown time zone '%s'", zone);
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
    if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
        return err_set(e, EX_DATAERR, "unknown time zone '%s'", zone);
    return 0;
}

int sitetime_set_zone(const char *zone, struct err *e)
{
    if (sitetime_zone_valid(zone, e) == -1)
        return -1;
    if (setenv("TZ", zone, 1) == -1)
        return err_errno(e, EX_OSERR, "setenv TZ");
    tzset();
    return 0;
}

int64_t sitetime_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sitetime_format_utc(int64_t ms, char out[SITETIME_ISO_MAX])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    char base[24];

    gmtime_r(&t, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, SITETIME_ISO_MAX, "%.19s.%03uZ", base, (unsigned)(ms % 1000));
}

int64_t sitetime_parse_utc(const char *iso)
{
    struct tm tm;
    const char *rest;
    int ms = 0, digits = 0;

    memset(&tm, 0, sizeof(tm));
    if (iso == NULL || (rest = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
        return 0;
    if (*rest == '.')
        for (rest++; *rest >= '0' && *rest <= '9'; rest++)
            if (digits++ < 3)
                ms = ms * 10 + (*rest - '0');
    while (digits > 0 && digits++ < 3) /* ".5" is 500 ms */
        ms *= 10;
    if (strcmp(rest, "Z") != 0)
        return 0;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

int sitetime_format_local(int64_t ms, const char *fmt, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (n == 0)
        return -1;
    if (localtime_r(&t, &tm) == NULL || strftime(out, n, fmt, &tm) == 0) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

long sitetime_offset(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    localtime_r(&t, &tm);
    return tm.tm_gmtoff;
}

static int fixed_digits(const char *s, int n, int *out)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int sitetime_parse_date(const char *s, int *y, int *m, int *d)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    if (fixed_digits(s, 4, y) || fixed_digits(s + 5, 2, m) ||
        fixed_digits(s + 8, 2, d))
        return -1;
    if (*y < 2000 || *y > 2200 || *m < 1 || *m > 12 || *d < 1 ||
        *d > mdays[*m - 1])
        return -1;
    if (*m == 2 && *d == 29 &&
        !((*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0))
        return -1;
    return 0;
}

int sitetime_parse_hhmm(const char *s)
{
    int h, m;
    size_t n = strlen(s);

    if (n == 4 && s[1] == ':') {
        if (fixed_digits(s, 1, &h) || fixed_digits(s + 2, 2, &m))
            return -1;
    } else if (n == 5 && s[2] == ':') {
        if (fixed_digits(s, 2, &h) || fixed_digits(s + 3, 2, &m))
            return -1;
    } else {
        return -1;
    }
    if (h > 23 || m > 59)
        return -1;
    return h * 60 + m;
}

time_t sitetime_local(int y, int m, int d, int minutes)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = minutes / 60;
    tm.tm_min = minutes % 60;
    tm.tm_isdst = -1;
    return mktime(&tm);
}

void sitetime_date(time_t t, char out[11])
{
    struct tm tm;

    localtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

void sitetime_today(char out[11])
{
    sitetime_date(time(NULL), out);
}

void sitetime_hhmm(time_t t, char out[6])
{
    struct tm tm;

    localtime_r(&t, &tm);
    strftime(out, 6, "%H:%M", &tm);
}
