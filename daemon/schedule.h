/*
 * schedule.h: the daemon's sense of time.  From today's sessions and the
 * rooms this station serves it decides which readers poll (from
 * poll_before minutes before check-in opens until the session ends), when
 * a room's check-in window opens (session.opened) and when the late
 * cut-off passes (absent.marked for everyone not checked in).
 *
 * It arms one timer for the next such moment.  The wall clock may be
 * stepped (NTP at boot, an administrator): a timerfd set with
 * TFD_TIMER_CANCEL_ON_SET wakes it when the system clock is set, and on a
 * day with sessions still to come it looks again at least every
 * SCHEDULE_RECHECK_S, so a step is never slept through.  An idle station
 * (no session today) makes no wakeups but one at midnight.
 *
 * What it reads of the clock is the clock it is given (env.clock).
 */
#ifndef EXAMSITE_SCHEDULE_H
#define EXAMSITE_SCHEDULE_H

#include <event2/event.h>

#include "clock.h"
#include "config.h"
#include "err.h"

#define SCHEDULE_RECHECK_S 15

struct store;
struct event;
struct schedule;

struct schedule_env {
    struct store *store;
    struct event_base *base;
    const struct clock *clock;
    const struct config *cfg; /* the devices' rooms, [policy] poll_before */
    void (*set_polling)(void *arg, const char *room, int on);
    void (*published)(void *arg, const struct event *ev);
    void *arg;
};

struct schedule *schedule_new(const struct schedule_env *env, struct err *e);
void schedule_free(struct schedule *s);

/* Look at the clock and the sessions now: set polling, record what is
 * due, arm the next timer.  Call after start, reload and session changes.
 * Returns the seconds until the next look (for tests and the log). */
long schedule_replan(struct schedule *s);

#endif
