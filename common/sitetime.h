/*
 * sitetime.h: time at the site.  Storage is UTC; the roster and the screen
 * speak the site's local time (default Asia/Shanghai).  The zone is set once
 * per process with sitetime_set_zone(), which sets TZ so that the C
 * library's localtime/mktime follow the site, whatever the host's zone.
 */
#ifndef EXAMSITE_SITETIME_H
#define EXAMSITE_SITETIME_H

#include <stdint.h>
#include <time.h>

#include "err.h"

#define SITETIME_DEFAULT_ZONE "Asia/Shanghai"
#define SITETIME_ISO_MAX      32 /* "2026-11-22T00:30:01.123Z" and NUL */

/* Check that zone names a zone in the tz database. */
int sitetime_zone_valid(const char *zone, struct err *e);

/* Make zone the process's local zone.  -1 if it is unknown. */
int sitetime_set_zone(const char *zone, struct err *e);

/* Wall clock in milliseconds since the epoch. */
int64_t sitetime_now_ms(void);

/* UTC ISO 8601 with milliseconds: "2026-11-22T00:30:01.123Z". */
void sitetime_format_utc(int64_t ms, char out[SITETIME_ISO_MAX]);

/* The inverse: "2026-11-22T00:30:01.123Z" (the fraction optional, the Z
 * not) → milliseconds since the epoch; 0 when it is not such a time. */
int64_t sitetime_parse_utc(const char *iso);

/* Instant ms in the site's zone as strftime's fmt into out (n bytes);
 * 0, or -1 with out = "". */
int sitetime_format_local(int64_t ms, const char *fmt, char *out, size_t n);

/* Offset of the site zone from UTC at that instant, in seconds. */
long sitetime_offset(int64_t ms);

/* Parse "YYYY-MM-DD" strictly (a real date).  Fills y/m/d.  0 or -1. */
int sitetime_parse_date(const char *s, int *y, int *m, int *d);

/* Parse "HH:MM" (00:00..23:59), also "H:MM".  Returns minutes or -1. */
int sitetime_parse_hhmm(const char *s);

/* Site-local date + minutes after midnight → epoch seconds. */
time_t sitetime_local(int y, int m, int d, int minutes);

/* Today's site-local date as "YYYY-MM-DD" (11 bytes). */
void sitetime_today(char out[11]);

/* The site-local date of instant t, "YYYY-MM-DD" (11 bytes). */
void sitetime_date(time_t t, char out[11]);

/* "HH:MM" (6 bytes) of instant t in the site's zone. */
void sitetime_hhmm(time_t t, char out[6]);

#endif
