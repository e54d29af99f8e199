/*
 * import.h: importing the office's session and roster files (CSV) into the
 * site database, validated row by row and atomically.
 *
 * Without skip_invalid, one bad row means nothing is imported; every bad
 * row is reported with its line.  With skip_invalid the good rows go in and
 * the bad ones are still reported.  dry_run does all the work and rolls
 * back.  Rows already present with the same details count as unchanged, so
 * importing the same file twice changes nothing.  What was imported is
 * recorded as an event (roster.imported / session.added) in the same
 * transaction.
 */
#ifndef EXAMSITE_IMPORT_H
#define EXAMSITE_IMPORT_H

#include <stddef.h>

#include "correct.h"
#include "csvread.h"
#include "err.h"

struct store;
struct secret;
struct session_row;

struct import_opts {
    enum csv_encoding encoding;
    int skip_invalid;
    int dry_run;
    const char *operator_name;            /* who ran it, for the event */
    void (*progress)(void *ud, int rows); /* every 5,000 rows, or NULL */
    void *progress_ud;
    /* roster: correct the candidates the file has with other details
     * (docs/roster-format.md, "Corrections"), as roster.changed events */
    int apply_changes;
    const char *reason; /* apply_changes: why (required unless dry_run) */
    int force;          /* apply_changes: also in rooms that have opened */
};

struct import_error {
    int line;
    char *reason;
};

struct import_report {
    int rows;      /* data rows read */
    int imported;  /* new rows written (or that would be) */
    int unchanged; /* already present, identical */
    int rejected;  /* bad rows */
    int committed; /* 1 when the changes were committed */
    struct import_error *errors;
    size_t nerrors, caperrors;
    struct csvread_info file;
    /* apply_changes: */
    int changed;         /* candidates whose details the file changes */
    int refused;         /* rows refused: their room has opened (without
                          * force) or is sealed; nothing is committed */
    int withdrawn_named; /* rows of withdrawn candidates (same details):
                          * left withdrawn */
    int left_alone;      /* candidates (not withdrawn) the file does not
                          * name: left as they are */
    int change_failed;   /* a change conflicted with another row or the
                          * roster: nothing is committed */
    int64_t first_event; /* the roster.changed events, when committed */
    int64_t last_event;
    struct correct_list changes; /* added and changed rows, in file order */
};

/*
 * Import a roster file.  Returns 0 when the file was read through (the
 * report says what happened: rejected > 0 without skip_invalid means
 * nothing was committed), -1 when it could not be read at all (missing
 * file, broken CSV structure, missing columns) with e set.
 *
 * With apply_changes, a row whose ticket is on the roster with other
 * details is a correction, not a bad row: every change is applied after
 * the whole file is read (so seats can be swapped), each checked against
 * the rest as an import is; r->changes lists the added and changed rows.
 * A change that conflicts, or touches a room whose session has opened
 * (without force) or is sealed, means nothing is committed, --skip-invalid
 * or not.  Each added or changed candidate is one roster.changed event,
 * all carrying the digest of the tables after the whole change.
 */
int import_roster(struct store *st, const struct secret *sec, const char *path,
                  const struct import_opts *o, struct import_report *r,
                  struct err *e);

/* Import a sessions file; same contract. */
int import_sessions(struct store *st, const char *path,
                    const struct import_opts *o, struct import_report *r,
                    struct err *e);

/* Validate one session's fields (also used by `session add`).  On success
 * fills out; on failure returns -1 with the reason in e. */
int import_session_fields(const char *code, const char *certificate,
                          const char *level, const char *date,
                          const char *start, const char *end,
                          const char *opens_before, const char *late_after,
                          const char *published, const char *organisation,
                          struct session_row *out, struct err *e);

/* Free the error list.  Accepts a zeroed report. */
void import_report_free(struct import_report *r);

#endif
