/*
 * session.h: exam sessions (场次): a certificate, a level, a date and the
 * times that open and close check-in.  Times are site-local.
 */
#ifndef EXAMSITE_SESSION_H
#define EXAMSITE_SESSION_H

#include <time.h>

#include "err.h"

struct store;

#define SESSION_CODE_MAX 32

struct session_row {
    char code[SESSION_CODE_MAX + 1];
    char certificate[256];
    char level[16]; /* 初级 | 中级 | 高级 */
    char organisation[256];
    char date[11];          /* YYYY-MM-DD */
    int start_min, end_min; /* minutes after local midnight */
    int opens_before;       /* check-in opens this long before start */
    int late_after;         /* late cut-off, minutes after start */
    int published;          /* published candidate count, -1 unknown */
};

/* Is level one of 初级, 中级, 高级? */
int session_level_valid(const char *level);

/*
 * Insert s inside the caller's transaction.  1 inserted; 0 when the same
 * session with the same details is already there (nothing changes); -1
 * with EX_DATAERR when the code exists with different details.
 */
int session_put(struct store *st, const struct session_row *s, struct err *e);

/* The same details (all but the code)?  1 or 0. */
int session_equal(const struct session_row *a, const struct session_row *b);

/* A correction, inside the caller's transaction: the row of s->code takes
 * s's details.  0; -1 (EX_DATAERR when there is no such session). */
int session_update(struct store *st, const struct session_row *s,
                   struct err *e);

/* session_put, and when the session is new a session.added event, inside
 * the caller's transaction.  Same returns as session_put. */
int session_add(struct store *st, const struct session_row *s,
                const char *operator_name, struct err *e);

/* 1 found, 0 not found, -1 error. */
int session_get(struct store *st, const char *code, struct session_row *out,
                struct err *e);

/* All sessions by date, start, code.  fn returns 0 to go on, -1 to fail
 * with its own e filled (store.h, store_callback_err). */
typedef int (*session_fn)(void *ud, const struct session_row *s, struct err *e);
int session_foreach(struct store *st, session_fn fn, void *ud, struct err *e);

/* The instants that matter for check-in, in the site's zone. */
struct session_times {
    time_t opens; /* start - opens_before */
    time_t start;
    time_t cutoff; /* start + late_after */
    time_t end;
};

/* Compute t for s (the process's zone must be the site's). */
void session_times(const struct session_row *s, struct session_times *t);

/* "HH:MM" of minutes after midnight (6 bytes). */
void session_hhmm(int minutes, char out[6]);

#endif
