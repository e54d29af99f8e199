/*
 * schedule.h: the daemon's sense of time.  From today's sessions and the
 * rooms this station serves it decides which readers poll (from
 * poll_before minutes before check-in opens until the session ends), when
 * a room's check-in window opens (session.opened) and when the late
 * cut-off passes (absent.marked for everyone not checked in).  It arms one
 * timer for the next such moment and nothing else, so an idle station
 * makes no wakeups (but one at midnight to plan the new day).
 */
#ifndef EXAMSITE_SCHEDULE_H
#define EXAMSITE_SCHEDULE_H

#include "err.h"

struct daemon;
struct schedule;

struct schedule *schedule_new(struct daemon *d, struct err *e);
void schedule_free(struct schedule *s);

/* Look at the clock and the sessions now: set polling, record what is
 * due, arm the next timer.  Call after start, reload and session changes. */
void schedule_replan(struct schedule *s);

#endif
