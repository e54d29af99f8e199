/*
 * profile.h: a rule profile, the thresholds of a college's 1+X management
 * measures as data (central/profiles/NAME.ini, embedded at build time;
 * docs/office.md, "Rule profiles").  A percentage of 0 switches its rule
 * off.
 */
#ifndef EXAMSITE_CENTRAL_PROFILE_H
#define EXAMSITE_CENTRAL_PROFILE_H

#include <stddef.h>

#include "err.h"

#define PROFILE_TEXT_MAX 65536

struct profile {
    char name[64];
    char title_zh[256], title_en[256];
    int attendance_min; /* percent of published: below it withdraws */
    int pass_min;       /* percent: below it times_in_row times withdraws */
    int pass_times;     /* consecutive exams, >= 1 */
    int pass_target;    /* percent: the evaluation target */
    int funding_tier;   /* percent: a funding tier */
    int report_days[2]; /* the days of the month biweekly periods end */
    int missed_max;     /* missed biweekly reports that withdraw */
};

/* Parse the INI text of a profile named name.  0, or -1 with
 * "NAME:LINE: reason" in e (EX_CONFIG); p is filled only on success. */
int profile_parse(const char *name, const char *text, struct profile *p,
                  struct err *e);

/* A shipped profile by name ("default"), or a file when spec contains a
 * '/' or ends in ".ini".  0 or -1 with e. */
int profile_pick(const char *spec, struct profile *p, struct err *e);

/* The shipped profiles: their count, and the i-th's name and text. */
size_t profile_count(void);
const char *profile_name(size_t i);
const char *profile_text(size_t i);

#endif
