/*
 * roster.h: candidates and rooms.  A candidate is known by ticket number
 * (准考证号) and by the keyed hash of their ID number; the number itself is
 * never here.
 */
#ifndef EXAMSITE_ROSTER_H
#define EXAMSITE_ROSTER_H

#include "err.h"
#include "idnumber.h"

struct store;

#define ROSTER_TICKET_MAX 32
#define ROSTER_NAME_MAX   64 /* bytes of UTF-8 */
#define ROSTER_ROOM_MAX   16
#define ROSTER_SEAT_MAX   8

struct candidate {
    char ticket[ROSTER_TICKET_MAX + 1];
    char name[ROSTER_NAME_MAX + 1];
    unsigned char id_hash[IDNUMBER_HASH_LEN]; /* keyed hash, raw */
    char id_last4[5];
    char session[33];
    char room[ROSTER_ROOM_MAX + 1];
    char seat[ROSTER_SEAT_MAX + 1];
    int withdrawn; /* 1: withdrawn (roster.withdrawn); the row is kept */
};

/* Make sure room code exists (inside the caller's transaction). */
int room_ensure(struct store *st, const char *code, struct err *e);

/*
 * Insert c (not withdrawn; c->withdrawn is ignored) inside the caller's
 * transaction; its session and room must exist.  1 inserted; 0 when the
 * same candidate with the same details is already there (withdrawn or
 * not); -1 with EX_DATAERR and a reason an administrator can act on when
 * the ticket, the seat or the ID number is taken.  A seat is taken only by
 * a candidate not withdrawn.
 */
int candidate_put(struct store *st, const struct candidate *c, struct err *e);

/*
 * Insert c[0..n), rows known to be new (a first import's, in ticket
 * order, with the seat and ID-number indexes dropped), inside the
 * caller's transaction: CANDIDATE_BATCH rows to a statement.  0, or -1
 * with the store's error.
 */
#define CANDIDATE_BATCH 64
int candidate_put_rows(struct store *st, const struct candidate *c, size_t n,
                       struct err *e);

/* The same details (name, ID hash, session, room, seat)?  1 or 0. */
int candidate_same(const struct candidate *a, const struct candidate *b);

/*
 * A correction, inside the caller's transaction: the row of c->ticket
 * takes c's name, ID hash and last 4, session, room and seat (its
 * withdrawn mark stays).  0; -1 with EX_DATAERR and the reason when the
 * seat or the ID number is another candidate's, or the ticket is not on
 * the roster.
 */
int candidate_update(struct store *st, const struct candidate *c,
                     struct err *e);

/*
 * Move ticket off its seat for the rest of the transaction (to a
 * placeholder no real seat can be), so that corrections that swap or
 * shift seats can be applied in any order.  Every parked ticket must get
 * its seat back by candidate_update before the commit.  0 or -1.
 */
int candidate_park(struct store *st, const char *ticket, struct err *e);

/* Mark ticket withdrawn, inside the caller's transaction.  0, or -1
 * (EX_DATAERR when it is not on the roster). */
int candidate_withdraw(struct store *st, const char *ticket, struct err *e);

/* 1 found, 0 not found, -1 error. */
int candidate_get(struct store *st, const char *ticket, struct candidate *out,
                  struct err *e);

/* 1 when the candidate table has no row (withdrawn or not), 0 when it has
 * some, -1 on error. */
int candidate_none(struct store *st, struct err *e);

/*
 * A first import's bulk load (docs/roster-format.md, "Import speed"),
 * inside the caller's transaction: drop the seat and ID-number indexes,
 * write the rows, then build both indexes again from them.  A rollback
 * undoes the drop.  Dropping: 0 or -1.  Building: 0, 1 when the rows hold
 * a seat or an ID number twice (nothing is unique then: roll back), or -1.
 */
int candidate_keys_drop(struct store *st, struct err *e);
int candidate_keys_build(struct store *st, struct err *e);

/* Candidates by session, room, seat (at a seat given again after a
 * withdrawal, the withdrawn first); session/room NULL for all.  fn
 * returns 0 to go on, -1 to fail with its own e filled (store.h,
 * store_callback_err). */
typedef int (*candidate_fn)(void *ud, const struct candidate *c, struct err *e);
int candidate_foreach(struct store *st, const char *session, const char *room,
                      candidate_fn fn, void *ud, struct err *e);

/* Every candidate whose ID hash is id_hash (one per session). */
int candidate_find_by_hash(struct store *st,
                           const unsigned char id_hash[IDNUMBER_HASH_LEN],
                           candidate_fn fn, void *ud, struct err *e);

#endif
