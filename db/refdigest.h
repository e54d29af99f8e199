/*
 * refdigest.h: the reference tables (site, session, room, candidate) tied
 * to the hash chain.
 *
 * Every event that changes them (site.created, session.added,
 * roster.imported, and the corrections session.changed, roster.changed,
 * roster.withdrawn) carries in its payload, under "refdigest", the SHA-256
 * of each table as stored after the change, in a canonical byte encoding
 * (docs/event-chain.md, "The reference digest").  The chain protects that
 * payload; comparing the newest such digest with the tables as they are
 * now catches any row edited, added or removed outside an event: with the
 * sqlite3 CLI, a stand-in's ID hash swapped in for a candidate's.
 *
 * The digest is one streaming pass per table in primary-key order, with no
 * allocation per row.
 */
#ifndef EXAMSITE_REFDIGEST_H
#define EXAMSITE_REFDIGEST_H

#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "event.h"

struct store;

#define REFDIGEST_NTABLES 4
/* The encoding recorded now.  1: the columns of migration 001; 2 adds the
 * candidate's withdrawn mark (migration 003).  A record of either is
 * compared in its own encoding. */
#define REFDIGEST_VERSION 2
#define REFDIGEST_OLDEST  1

/* The tables, in the order of struct refdigest: site, session, room,
 * candidate. */
extern const char *const refdigest_tables[REFDIGEST_NTABLES];

struct refdigest {
    int v;                                           /* the encoding */
    char hex[REFDIGEST_NTABLES][EVENT_HASH_HEX + 1]; /* lower-case hex */
};

/* Is kind one that changes the reference tables (and so carries a
 * digest)?  1 or 0. */
int refdigest_kind(const char *kind);

/* The digest of the tables as this connection sees them now (inside the
 * caller's transaction, if any), in the current encoding.  0 or -1. */
int refdigest_compute(struct store *st, struct refdigest *d, struct err *e);

/* The same in encoding v (REFDIGEST_OLDEST..REFDIGEST_VERSION). */
int refdigest_compute_v(struct store *st, int v, struct refdigest *d,
                        struct err *e);

/*
 * The candidate table's digest fed row by row, for an import that writes
 * every row of a table that was empty (docs/roster-format.md, "Import
 * speed"): the digest then needs no second pass over the table.  It holds
 * while the rows come in increasing ticket order (the digest's order);
 * after a row out of order refdigest_compute_rows reads the table back
 * instead.  The rows added must be exactly the rows written, none written
 * otherwise.
 */
struct refdigest_rows;
struct candidate;

/* NULL when out of memory. */
struct refdigest_rows *refdigest_rows_new(void);

/* c was written (not withdrawn, as an import writes it). */
void refdigest_rows_add(struct refdigest_rows *r, const struct candidate *c);

/* 1 while every row has come in ticket order, else 0. */
int refdigest_rows_ordered(const struct refdigest_rows *r);

/* As refdigest_compute, the candidate table's digest from r when its rows
 * came in order (read back when not).  Once per stream.  0 or -1. */
int refdigest_compute_rows(struct store *st, struct refdigest_rows *r,
                           struct refdigest *d, struct err *e);

void refdigest_rows_free(struct refdigest_rows *r);

/* {"v":2,"site":"…","session":"…","room":"…","candidate":"…"}, or NULL
 * on allocation failure. */
json_t *refdigest_json(const struct refdigest *d);

/* Read back what refdigest_json wrote (any known v).  0, or -1 when j is
 * not that. */
int refdigest_from_json(const json_t *j, struct refdigest *d);

/*
 * Append ev, a change of the reference tables made inside the caller's
 * transaction (its kind one of refdigest_kind's).  *payload is the
 * caller's malloc'd JSON object text (NULL: {}); the event is recorded with
 * "refdigest" (the digest of the tables now) and, when the store has an
 * account (store_set_account) and the payload has none, "account" added.
 * On success *payload is replaced by the text recorded (ev->payload points
 * at it; the caller frees it, as before); on failure it is left as it was.
 */
int refdigest_append(struct store *st, struct event *ev, char **payload,
                     struct err *e);

/*
 * The same with d, the digest the caller computed (refdigest_compute)
 * after the whole of its change: the events of one correction, appended
 * together in its one transaction, all carry the digest of the tables as
 * that transaction leaves them, computed once.
 */
int refdigest_append_digest(struct store *st, struct event *ev, char **payload,
                            const struct refdigest *d, struct err *e);

struct refdigest_result {
    int64_t event_id;  /* the newest event that changed the tables, 0: none */
    int unrecorded;    /* 1: that event predates digests; nothing compared */
    const char *table; /* the first table that differs, NULL if none */
    char reason[256];  /* why, when one differs */
};

/*
 * Compare the tables now with the digest of the newest event that changed
 * them (with no such event: with empty tables).  0 same (or unrecorded:
 * r->unrecorded), 1 different (r->table and r->reason say which), -1 on
 * error.  Reads in the caller's transaction if there is one; otherwise in
 * one read transaction of its own, so event and tables are one snapshot.
 */
int refdigest_compare(struct store *st, struct refdigest_result *r,
                      struct err *e);

/*
 * For the daemon's start: 0 when the tables are those the record says
 * (or the record predates digests); -1 with EX_DATAERR and "roster tables
 * differ from the record: table T was edited outside examctl (…)" when
 * not, or another code on error.
 */
int refdigest_check(struct store *st, struct err *e);

#endif
