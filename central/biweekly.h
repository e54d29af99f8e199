/*
 * biweekly.h: the biweekly report (双周报送, period.h) of the office:
 * the exams held in the period, candidates, attendance, incidents, pass
 * rates and the rules' flags, generated once the period is over, kept in
 * the store with when and how it was generated (timer: on its due day;
 * catch-up: later, e.g. examcentral was down; command: by hand).  A
 * period with no report kept, or kept only after its due day, is a
 * missed report: the pilots' rule counts them, from the day the office
 * began keeping reports (the earliest generated: the periods before it
 * are made up at once by the first start, and are not counted).
 */
#ifndef EXAMSITE_CENTRAL_BIWEEKLY_H
#define EXAMSITE_CENTRAL_BIWEEKLY_H

#include <time.h>

#include <jansson.h>

#include "err.h"
#include "period.h"
#include "profile.h"

struct cstore;

/* Seconds after the site's midnight at which the due day's report is
 * made (the period's last day is then over). */
#define BIWEEKLY_AT_SEC 5

/* The report of period p (caller frees), or NULL with e. */
json_t *biweekly_build(struct cstore *st, const struct profile *pr,
                       const struct period *p, const char *today,
                       struct err *e);

/* Build and keep the report of p, marked how ("timer", "catch-up",
 * "command").  0 or -1. */
int biweekly_generate(struct cstore *st, const struct profile *pr,
                      const struct period *p, const char *how,
                      const char *today, struct err *e);

/* Keep every period that ended before today (site date) since the first
 * exam's and is not kept yet; the one due today is "timer", older ones
 * "catch-up".  The number generated, or -1. */
int biweekly_catch_up(struct cstore *st, const struct profile *pr,
                      const char *today, struct err *e);

/* Every period from the first exam's to the last one ended before today,
 * kept or not: [{"start","end","due","generated","how","on_time",
 * "counted"}]. */
json_t *biweekly_list(struct cstore *st, const struct profile *pr,
                      const char *today, struct err *e);

/* A kept report's JSON text by its period (caller frees): 1, 0 not kept,
 * -1. */
int biweekly_get(struct cstore *st, const char *period_end, char **json,
                 struct err *e);

/* Missed reports of the periods since date `since` ended before today. */
int biweekly_missed(struct cstore *st, const struct profile *pr,
                    const char *since, const char *today);

/* When the timer must next wake: the due instant of the first period
 * whose due instant is after now. */
time_t biweekly_next_due(const struct profile *pr, time_t now);

/* The report as CSV (csvout.h): one row per exam, then the totals. */
char *biweekly_csv(const json_t *report);

#endif
