/*
 * sync.h: the station's side of the sync, in its database (migration
 * 004): the office's cursor and the batches this station numbered.
 * Used by the daemon's sync client (daemon/sync.c) and by `examctl sync`.
 *
 * The cursor is the office's acknowledgement: the last batch it stored,
 * that batch's last event and the chain hash there.  A batch is the
 * events after the last numbered batch, at most max_events of them; once
 * numbered (recorded here, before it is first sent) its bounds and hashes
 * never change, and every retry re-encodes the same events to the same
 * bytes (checked against the recorded SHA-256).  Nothing is ever deleted.
 *
 * Before any batch goes out the chain must still hold the cursor's event
 * with the cursor's hash: a database restored from an older copy, or one
 * whose chain was rewritten, is refused (EX_DATAERR, one line saying why)
 * and nothing is sent.
 */
#ifndef EXAMSITE_SYNC_H
#define EXAMSITE_SYNC_H

#include <stdint.h>

#include "batch.h"
#include "err.h"

struct store;

struct sync_cursor {
    int64_t seq, last_event;
    char chain_hash[CHAIN_HASH_HEX + 1];
    char acked[32]; /* UTC time of the acknowledgement, "" before any */
};

struct sync_batch {
    int64_t seq, first_event, last_event, count;
    char prev_chain_hash[CHAIN_HASH_HEX + 1];
    char last_chain_hash[CHAIN_HASH_HEX + 1];
    char payload_sha256[CHAIN_HASH_HEX + 1];
    char body_sha256[CHAIN_HASH_HEX + 1];
    int recorded; /* 1: numbered already (a retry), 0: new */
    int acked;
};

/* The cursor (seq 0, last_event 0, 64 zeros before the first ack). */
int sync_cursor_get(struct store *st, struct sync_cursor *c, struct err *e);

/* Batch seq as recorded: 1 found, 0 not, -1. */
int sync_batch_get(struct store *st, int64_t seq, struct sync_batch *b,
                   struct err *e);

/*
 * Does the chain hold event id with hash?  1 yes, 0 no (why says, in one
 * line, that the database was restored from an older copy or its chain
 * differs from what the office acknowledged), -1 error.  id 0 is always
 * held (nothing acknowledged yet).
 */
int sync_chain_has(struct store *st, int64_t id, const char *hash, char *why,
                   size_t whylen, struct err *e);

/*
 * The next batch to send: the lowest numbered batch after seq `after`
 * (0: any) the office has not acknowledged (recorded = 1), else the bounds of a
 * new one after the last numbered batch (recorded = 0; seq, first_event,
 * last_event, count and prev_chain_hash filled; the rest once encoded).  Checks
 * the cursor against the chain first.  1 there is one, 0 nothing to send, -1
 * (with EX_DATAERR when the database was restored or altered).
 */
int sync_next(struct store *st, int max_events, int64_t after,
              struct sync_batch *b, struct err *e);

/* Feed events [*next, last] to enc, at most limit of them (0: all);
 * *next advances.  0 or -1. */
int sync_encode(struct store *st, struct batch_enc *enc, int64_t *next,
                int64_t last, int64_t limit, struct err *e);

/*
 * The encoded batch against b: fills its hashes from h and body_sha256;
 * a recorded batch must come out as it was numbered (else EX_DATAERR:
 * its events changed).  A new one is then recorded (numbered), in its
 * own transaction.  0 or -1 (EX_TEMPFAIL: the write lock was held).
 */
int sync_fix(struct store *st, struct sync_batch *b,
             const struct batch_header *h, const char *body_sha256,
             struct err *e);

/* The office acknowledged b: mark it, move the cursor.  0 or -1. */
int sync_ack(struct store *st, const struct sync_batch *b, struct err *e);

/*
 * The office says it holds up to seq/last_event/chain_hash (a 409): when
 * the chain agrees and the office is at or past what this station
 * numbered, take its word (the cursor moves, numbered batches up to seq
 * are marked acknowledged).  1 adopted, 0 nothing to change, -1 (with
 * EX_DATAERR when the chain does not hold what the office has).
 */
int sync_adopt(struct store *st, int64_t seq, int64_t last_event,
               const char *chain_hash, struct err *e);

/* Events after the last numbered batch, and after the cursor. */
int64_t sync_pending(struct store *st, struct err *e);

/* SHA-256 of buf as 64 hex digits. */
int sync_sha256(const void *buf, size_t len, char out[CHAIN_HASH_HEX + 1]);

#endif
