/*
 * clock.h: the wall clock as the daemon's rules see it.  The rules
 * (check-in, schedule, ops) never call time(2) themselves: they are handed
 * a clock, so tests can put them at any instant, step the clock forwards
 * and backwards and cross a DST change in microseconds.  A NULL clock is
 * the system's.
 */
#ifndef EXAMSITE_CLOCK_H
#define EXAMSITE_CLOCK_H

#include <stdint.h>
#include <time.h>

struct clock {
    int64_t (*now_ms)(void *arg); /* milliseconds since the epoch */
    void *arg;
};

/* Now, in milliseconds and in seconds. */
int64_t clock_ms(const struct clock *c);
time_t clock_s(const struct clock *c);

/* Today's site-local date, "YYYY-MM-DD" (11 bytes). */
void clock_today(const struct clock *c, char out[11]);

#endif
