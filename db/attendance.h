/*
 * attendance.h: where a candidate stands in a session, read from the event
 * log (the log is the record; nothing here is stored twice).
 */
#ifndef EXAMSITE_ATTENDANCE_H
#define EXAMSITE_ATTENDANCE_H

#include <stdint.h>

#include "err.h"
#include "sitetime.h"

struct store;

enum attendance_state {
    ATT_NONE = 0, /* not checked in */
    ATT_PRESENT,  /* checked in (or back in) */
    ATT_OUT,      /* left with permission, not yet back */
    ATT_ABSENT,   /* marked absent at the cut-off, never came */
};

struct attendance {
    enum attendance_state state;
    int64_t first_id;                  /* the check-in event, 0 if none */
    char first_time[SITETIME_ISO_MAX]; /* its time (UTC text) */
    char first_device[64];
    char first_room[17];
    int64_t last_id; /* the latest event that moved it */
    char last_time[SITETIME_ISO_MAX];
    char last_device[64];
};

/* The state of ticket in session.  0 or -1. */
int attendance_get(struct store *st, const char *ticket, const char *session,
                   struct attendance *a, struct err *e);

/* 1 when a supervisor has closed (sealed) session in room, 0 not, -1. */
int attendance_sealed(struct store *st, const char *session, const char *room,
                      struct err *e);

/* Candidates of session in room, not withdrawn, with no check-in and not
 * yet marked absent, by seat: the ones to mark at the late cut-off.  fn returns
 * 0 to go on, -1 to fail with its own e filled (store.h, store_callback_err).
 */
struct candidate;
typedef int (*attendance_candidate_fn)(void *ud, const char *ticket,
                                       const char *seat, struct err *e);
int attendance_absentees(struct store *st, const char *session,
                         const char *room, attendance_candidate_fn fn, void *ud,
                         struct err *e);

/* 1 when session has candidates (not withdrawn) in room, 0 not, -1. */
int attendance_room_has(struct store *st, const char *session, const char *room,
                        struct err *e);

/* 1 when session.opened was recorded for session in room. */
int attendance_opened(struct store *st, const char *session, const char *room,
                      struct err *e);

#endif
