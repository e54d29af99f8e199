/*
 * correct.h: the office's corrections to the roster and the sessions.
 *
 * A correction is a change of the reference tables made by an
 * administrator with a reason, recorded as an event of the chain carrying
 * the digest of the tables after it (refdigest.h): roster.changed (a
 * candidate added or their details changed by `roster import
 * --apply-changes`, import.c), roster.withdrawn (`roster withdraw`: the
 * row is kept, marked), session.changed (`session change`).
 *
 * Once a room's session has opened (session.opened for that session and
 * room, or a check-in in it) a correction touching it is refused unless
 * forced, and the event then says "forced"; a sealed (closed) room is
 * refused even so.  docs/roster-format.md, "Corrections", says the same for
 * administrators; docs/event-chain.md gives the payloads.
 */
#ifndef EXAMSITE_CORRECT_H
#define EXAMSITE_CORRECT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "roster.h"

struct store;
struct session_row;
struct refdigest;

#define CORRECT_REASON_MAX 1000 /* bytes */

struct correct_opts {
    const char *reason;        /* why: required (correct_reason_check) */
    const char *operator_name; /* who ran it (a login name), or NULL */
    int force;                 /* correct rooms whose session has opened */
};

/*
 * A reason: 1..CORRECT_REASON_MAX bytes of text, no control characters,
 * not only spaces.  0, or -1 with EX_USAGE saying what is wrong.  (Anything
 * shaped like an ID number in it is masked when it is recorded.)
 */
int correct_reason_check(const char *reason, struct err *e);

enum correct_room_state {
    CORRECT_FREE = 0, /* not opened: corrections go through */
    CORRECT_OPENED,   /* opened or checked in: only with force */
    CORRECT_SEALED,   /* closed and signed off: never */
};

/* What the record says of session in room, cached for one command: the
 * state of each (session, room) asked is read once. */
struct correct_rooms {
    struct correct_room *v;
    size_t n, cap;
};

/* The state of session in room (CORRECT_FREE, _OPENED, _SEALED), or -1.
 * Read in the caller's transaction. */
int correct_room_state(struct store *st, struct correct_rooms *rooms,
                       const char *session, const char *room, struct err *e);

/*
 * May a correction touch session in room?  0 when it may (*forced set to
 * 1 when only because o->force), -1 with EX_DATAERR and the reason when
 * not: "session X has opened in room R: corrections need --force with a
 * reason", or sealed.  -1 with another code on a read error.
 */
int correct_room_allowed(struct store *st, struct correct_rooms *rooms,
                         const char *session, const char *room,
                         const struct correct_opts *o, int *forced,
                         struct err *e);

void correct_rooms_free(struct correct_rooms *rooms);

/* What a correction did. */
struct correct_outcome {
    int unchanged;    /* 1: there was nothing to change; no event */
    int forced;       /* 1: it needed --force */
    int64_t first_id; /* the events it recorded, 0 when none */
    int64_t last_id;
    int nrooms_forced; /* session change: rooms it changed after opening */
};

/*
 * Withdraw ticket, inside the caller's transaction: the candidate's row is
 * marked withdrawn and a roster.withdrawn event recorded.  0 (out says
 * what happened: unchanged when already withdrawn); -1 with EX_DATAERR when
 * the ticket is not on the roster or its room may not be corrected, or
 * another code.  The caller commits or rolls back.
 */
int correct_withdraw(struct store *st, const char *ticket,
                     const struct correct_opts *o, struct correct_outcome *out,
                     struct err *e);

/* A session change: the fields given (NULL: as they are), as typed. */
struct correct_session_change {
    const char *date, *start, *end, *opens_before, *late_after, *published;
};

/*
 * Change session code, inside the caller's transaction: the fields of ch
 * that are given, checked as an import checks them together with the
 * others; a session.changed event with the old and new values.  *before
 * and *after (when not NULL) get the session as it was and is.  0 (out
 * says what happened); -1 with EX_DATAERR when there is no such session,
 * a value is bad, or a room may not be corrected; or another code.
 */
int correct_session(struct store *st, const char *code,
                    const struct correct_session_change *ch,
                    const struct correct_opts *o, struct session_row *before,
                    struct session_row *after, struct correct_outcome *out,
                    struct err *e);

/* --- roster import --apply-changes (import.c) ----------------------------- */

#define CORRECT_NAME    0x01u
#define CORRECT_ID      0x02u
#define CORRECT_SESSION 0x04u
#define CORRECT_ROOM    0x08u
#define CORRECT_SEAT    0x10u

enum correct_state {
    CORRECT_PENDING = 0, /* to be applied after the whole file is read */
    CORRECT_DONE,        /* applied */
    CORRECT_REJECTED,    /* refused: its reason is in the import's report */
};

/* One row of a file that changes the roster. */
struct correct_change {
    int line;
    unsigned char added; /* 1: a new candidate; 0: a changed one */
    unsigned char state; /* enum correct_state */
    unsigned char forced;
    unsigned what;        /* changed: CORRECT_NAME | CORRECT_ID | ... */
    long old;             /* changed: its index in olds[]; -1 */
    struct candidate cur; /* as the file has it */
};

/* The changes of one file, in its order.  Grown by doubling: no
 * allocation per row. */
struct correct_list {
    struct correct_change *v;
    size_t n, cap;
    struct candidate *olds; /* the changed candidates as they were */
    size_t nold, capold;
};

/* Append a change (old: the candidate as it was, or NULL for an added
 * one); the new entry, or NULL when out of memory. */
struct correct_change *correct_list_add(struct correct_list *l, int line,
                                        const struct candidate *cur,
                                        const struct candidate *old);

/* The candidate a changed entry had been, or NULL. */
const struct candidate *correct_list_old(const struct correct_list *l,
                                         const struct correct_change *c);

/* Which details differ between a and b (CORRECT_NAME | ...). */
unsigned correct_diff(const struct candidate *a, const struct candidate *b);

void correct_list_free(struct correct_list *l);

/* Where the changes came from, for their events. */
struct correct_file {
    const char *name;   /* the file's name (no directory) */
    const char *sha256; /* of its bytes, hex */
};

/*
 * Record every applied entry of l (CORRECT_DONE) as a roster.changed
 * event, in file order, all with digest d (the tables after the whole
 * change), inside the caller's transaction.  *first and *last get the
 * events' ids.  0 or -1.
 */
int correct_roster_events(struct store *st, const struct correct_list *l,
                          const struct correct_file *f,
                          const struct correct_opts *o,
                          const struct refdigest *d, int64_t *first,
                          int64_t *last, struct err *e);

#endif
