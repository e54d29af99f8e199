/*
 * period.h: the biweekly reporting periods (双周报送).  With report days
 * A < B (10 and 25), a period ends on day A or day B of a month: the one
 * ending on A runs from B+1 of the month before, the one ending on B from
 * A+1.  So with 10 and 25: 26 Dec .. 10 Jan, 11 Jan .. 25 Jan, 26 Jan ..
 * 10 Feb.  A period's report is due the day after it ends, once its last
 * day is over at the site.  Dates are "YYYY-MM-DD".
 */
#ifndef EXAMSITE_CENTRAL_PERIOD_H
#define EXAMSITE_CENTRAL_PERIOD_H

struct period {
    char start[11], end[11];
};

/* The period date falls in.  0, or -1 when date is not a real date or
 * days are not 1 <= A < B <= 28. */
int period_of(const int days[2], const char *date, struct period *p);

/* The period after p (0 or -1). */
int period_next(const int days[2], const struct period *p, struct period *n);

/* Is date the last day of a period? */
int period_is_end(const int days[2], const char *date);

/* date plus n days (n may be negative) into out; 0 or -1. */
int period_add_days(const char *date, int n, char out[11]);

#endif
