/*
 * rules.h: a rule profile (profile.h) applied to exams: per exam, and per
 * certificate pilot over its exams in date order.  Pure functions of
 * their arguments, so each rule is tested on constructed histories
 * (tests/unit/test_central_rules.c).  Each verdict has a level (green /
 * amber / red), a stable code and its text in Chinese and in English.
 *
 *   attendance_below_min  red    present < min % of published
 *   pass_rate_below_min   red    pass rate < min % times_in_row times in
 *                                 a row (once is enough when times is 1)
 *   pass_rate_low_once    amber  the latest below min, not yet in a row
 *   pass_rate_below_target amber the latest pass rate under the target
 *   pass_rate_target_met  green  ... at or over it
 *   funding_tier_reached  green  the latest at or over the funding tier
 *   funding_tier_missed   amber  ... under it
 *   reports_missed        red    missed biweekly reports >= missed_max
 *   report_missed         amber  at least one missed, fewer than that
 */
#ifndef EXAMSITE_CENTRAL_RULES_H
#define EXAMSITE_CENTRAL_RULES_H

#include <stddef.h>

#include "profile.h"

enum rules_level { RULES_GREEN = 0, RULES_AMBER = 1, RULES_RED = 2 };

struct rules_exam {
    const char *date; /* YYYY-MM-DD */
    long published;   /* -1 when the session published no count */
    long present;
    long with_result; /* candidates with a result, 0 before results */
    long passed;
};

#define RULES_TEXT 300
#define RULES_MAX  8

struct verdict {
    const char *code;
    enum rules_level level;
    char zh[RULES_TEXT], en[RULES_TEXT];
};

/* The verdicts on one exam into out[RULES_MAX]; returns how many. */
int rules_exam(const struct profile *p, const struct rules_exam *x,
               struct verdict *out);

/* The verdicts on a pilot: its exams in date order and the biweekly
 * reports missed since its first exam.  Returns how many. */
int rules_pilot(const struct profile *p, const struct rules_exam *xs, size_t n,
                int missed, struct verdict *out);

/* The worst level among n verdicts (green for none). */
enum rules_level rules_worst(const struct verdict *v, int n);

const char *rules_level_name(enum rules_level l); /* green amber red */

#endif
