/*
 * period.c: biweekly periods (period.h), with the calendar done by
 * timegm/gmtime_r so month lengths and leap years are the C library's.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "period.h"
#include "sitetime.h"

/* y 1..9999, m 1..12, d 1..31 (the callers' ranges) */
static void fmt(int y, int m, int d, char out[11])
{
    char t[32];

    snprintf(t, sizeof(t), "%04d-%02d-%02d", y, m, d);
    memcpy(out, t, 10);
    out[10] = '\0';
}

int period_add_days(const char *date, int n, char out[11])
{
    struct tm tm;
    time_t t;
    int y, m, d;

    if (sitetime_parse_date(date, &y, &m, &d) == -1)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d + n;
    tm.tm_hour = 12;
    t = timegm(&tm);
    if (gmtime_r(&t, &tm) == NULL)
        return -1;
    fmt(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, out);
    return 0;
}

static int days_ok(const int days[2])
{
    return days[0] >= 1 && days[0] < days[1] && days[1] <= 28;
}

int period_of(const int days[2], const char *date, struct period *p)
{
    int y, m, d, a = days[0], b = days[1];

    if (!days_ok(days) || strlen(date) != 10 ||
        sitetime_parse_date(date, &y, &m, &d) == -1)
        return -1;
    if (d <= a) {
        fmt(y, m, a, p->end);
        fmt(m == 1 ? y - 1 : y, m == 1 ? 12 : m - 1, b + 1, p->start);
    } else if (d <= b) {
        fmt(y, m, a + 1, p->start);
        fmt(y, m, b, p->end);
    } else {
        fmt(y, m, b + 1, p->start);
        fmt(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, a, p->end);
    }
    return 0;
}

int period_next(const int days[2], const struct period *p, struct period *n)
{
    char next[11];

    if (period_add_days(p->end, 1, next) == -1)
        return -1;
    return period_of(days, next, n);
}

int period_is_end(const int days[2], const char *date)
{
    struct period p;

    return period_of(days, date, &p) == 0 && strcmp(p.end, date) == 0;
}
