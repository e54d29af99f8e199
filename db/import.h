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
};

/*
 * Import a roster file.  Returns 0 when the file was read through (the
 * report says what happened: rejected > 0 without skip_invalid means
 * nothing was committed), -1 when it could not be read at all (missing
 * file, broken CSV structure, missing columns) with e set.
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
