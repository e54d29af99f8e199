/*
 * event.h: the append-only event log and its SHA-256 hash chain.
 *
 * Every row carries prev_hash (the hash of the row before it; 64 zeros for
 * the first) and hash = SHA-256(prev_hash bytes || canonical bytes of the
 * row).  The canonical bytes are the fields id, time, tz_offset, kind,
 * session, room, ticket, device, operator, payload, in that order, each as
 * a 4-byte big-endian length and its UTF-8 bytes; NULL is the length
 * 0xFFFFFFFF and no bytes.  Numbers are in decimal text.  docs/event-chain.md
 * says the same for implementers elsewhere (the office).
 */
#ifndef EXAMSITE_EVENT_H
#define EXAMSITE_EVENT_H

#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "sitetime.h"

struct store;

#define EVENT_HASH_HEX    64
#define EVENT_PAYLOAD_MAX 8192

struct event {
    int64_t id;                  /* filled by event_append */
    int64_t time_ms;             /* 0: now (event_append fills it) */
    char time[SITETIME_ISO_MAX]; /* UTC text, filled from time_ms */
    long tz_offset;              /* filled by event_append */
    const char *kind;            /* one of event_kinds[] */
    const char *session, *room, *ticket, *device, *operator_name;
    const char *payload; /* JSON object text; NULL means "{}" */
    char *payload_owned; /* set by event_append when it had to rewrite
                          * the payload: free with event_release() */
    char prev_hash[EVENT_HASH_HEX + 1];
    char hash[EVENT_HASH_HEX + 1];
};

/* Is kind one this build knows (checkin.accepted, incident.logged, ...)? */
int event_kind_valid(const char *kind);

/*
 * Append ev inside the caller's transaction (store_begin): reads the last
 * row's hash, fills id, time, tz_offset, prev_hash and hash, inserts.
 * Event times never go backwards in the chain: when the clock reads
 * earlier than the last event (it was stepped back), the event takes the
 * last event's time and its payload says so ("clock_behind_ms": how far
 * behind the clock was); the caller then frees ev with event_release().
 * The write lock taken by store_begin makes this safe with several writers.
 * Unknown kinds, payloads that are not a JSON object or are larger than
 * EVENT_PAYLOAD_MAX, are refused (EX_SOFTWARE / EX_DATAERR).
 */
int event_append(struct store *st, struct event *ev, struct err *e);

/* Free what event_append allocated for ev (nothing, usually).  Accepts
 * an event that was never appended (zeroed). */
void event_release(struct event *ev);

/* Compute hash from ev's fields and prev_hash (hex).  0 or -1. */
int event_compute_hash(const struct event *ev, const char *prev_hash,
                       char out[EVENT_HASH_HEX + 1]);

/*
 * Call fn for each event with id > since, in id order, at most limit
 * (0: all).  The struct and its strings are valid during the call only.
 * fn returns 0 to go on, 1 to stop early, -1 to fail with its own e filled
 * (never NULL; event_foreach then fails with that error: store.h,
 * store_callback_err).
 */
typedef int (*event_fn)(void *ud, const struct event *ev, struct err *e);
int event_foreach(struct store *st, int64_t since, int64_t limit, event_fn fn,
                  void *ud, struct err *e);

/* The JSON object of an event, as `examctl events` and batches print it.
 * The payload is embedded as an object.  NULL on allocation failure. */
json_t *event_to_json(const struct event *ev);

/* Highest event id (0 when empty), or -1. */
int64_t event_last_id(struct store *st, struct err *e);

/*
 * The "account" object of a payload: {"uid":N,"user":"name"}, user left
 * out when NULL.  Who caused the event: examctl's own account
 * (store_set_account), or the daemon's client by its peer credentials.
 * NULL on allocation failure.
 */
json_t *event_account_json(long long uid, const char *user);

/*
 * Check the head of the chain, the row the next append links to: its hash
 * and prev_hash are 64 lower-case hex digits and its hash recomputes from
 * its fields and prev_hash.  0 when sound or the log is empty; -1 with
 * EX_DATAERR and "event N (the last one) is damaged: …" when not (nothing
 * can be appended after it: the daemon refuses to start), or another code
 * on a read error.
 */
int event_check_head(struct store *st, struct err *e);

struct event_verify {
    int64_t checked;                    /* rows walked */
    int64_t last_id;                    /* the last row found sound */
    char head_hash[EVENT_HASH_HEX + 1]; /* its hash, "" when none */
    int64_t bad_id;                     /* first row found wrong, 0 if none */
    const char *bad_table; /* reference table that differs, NULL if none */
    int64_t ref_id;        /* the event whose digest the tables matched */
    int ref_unrecorded;    /* 1: the newest reference change predates digests */
    char reason[256];      /* why it is broken, "" when intact */
};

/*
 * Walk the whole chain: ids consecutive from 1, each prev_hash equal to the
 * previous row's hash, each hash recomputed, and no row missing at the end
 * (the AUTOINCREMENT high-water mark equals the last id); then the
 * reference tables against the newest digest the chain recorded
 * (refdigest.h).  An empty log is not intact: a site's record starts with
 * site.created.  One read transaction.  Returns 0 intact, 1 broken (r says
 * where and why: bad_id for a row, bad_table for a table), -1 error.
 */
int event_verify(struct store *st, struct event_verify *r, struct err *e);

#endif
