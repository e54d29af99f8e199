/*
 * report.h: attendance figures per session and room, computed from the
 * roster and the event log (never stored separately, so they cannot drift
 * from the record).
 */
#ifndef EXAMSITE_REPORT_H
#define EXAMSITE_REPORT_H

#include "err.h"

struct store;

struct report_status {
    char session[33];
    char room[17]; /* "" for a session with no candidates yet */
    int expected;  /* on the roster */
    int present;   /* checked in (accepted or manual) */
    int late;      /* of those, late */
    int absent;    /* marked absent at the cut-off */
    int denied;    /* denied check-in attempts */
    int incidents; /* incidents logged */
};

/* One row per (session, room), filters NULL for all.  fn returns 0 to go
 * on, -1 to fail with its own e filled (store.h, store_callback_err). */
typedef int (*report_status_fn)(void *ud, const struct report_status *r,
                                struct err *e);
int report_status(struct store *st, const char *session, const char *room,
                  report_status_fn fn, void *ud, struct err *e);

#endif
