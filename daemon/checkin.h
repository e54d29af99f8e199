/*
 * checkin.h: the check-in rules (docs/examsited.8, Check-in rules).  A card
 * read or a ticket scan at a device bound to a room becomes one decision,
 * recorded as an event and committed before anyone is told; a late
 * arrival also gets its automatic `late` incident in the same transaction.
 *
 * The rules see the world through a narrow interface (struct checkin_env):
 * the store, a clock, the policy, and two callbacks to publish what was
 * committed and to tell a door something that decides nothing.  They
 * never wait on the database: every decision is read and written inside
 * one BEGIN IMMEDIATE that does not wait for the lock; when another
 * process holds it the input stays queued, the door is told, and a timer
 * retries until it can be decided, in the order the inputs came.
 *
 * Decisions carry their kiosk text (Chinese and English) in the payload,
 * so whatever reads the event log can show them.
 */
#ifndef EXAMSITE_CHECKIN_H
#define EXAMSITE_CHECKIN_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "clock.h"
#include "config.h"
#include "err.h"

struct store;
struct event;
struct idcard_info;
struct checkin;

struct checkin_env {
    struct store *store;
    struct event_base *base; /* pair windows and retries */
    const struct clock *clock;
    const struct config *cfg; /* [policy]; read at each input */
    void (*published)(void *arg, const struct event *ev);
    void (*notice)(void *arg, const char *room, const char *type,
                   const char *zh, const char *en);
    void *arg;
};

/* Who asked, for the record: the authenticated account of a client. */
struct checkin_account {
    long uid;         /* -1: none */
    const char *user; /* "" when unknown */
};

/* env is copied; key is the site secret the ID numbers are hashed with. */
struct checkin *checkin_new(const struct checkin_env *env,
                            const unsigned char *key, size_t keylen,
                            struct err *e);
void checkin_free(struct checkin *c);

/* A card was read at device (serving room).  The card is only read during
 * the call: its ID number is hashed at once and never kept. */
void checkin_card(struct checkin *c, const char *device, const char *room,
                  const struct idcard_info *card);

/* The card was taken off device's reader: the next read of it is a new
 * input, not a repeat. */
void checkin_card_removed(struct checkin *c, const char *device);

/* A code was scanned at device (serving room). */
void checkin_code(struct checkin *c, const char *device, const char *room,
                  const char *code, size_t len);

/*
 * Manual check-in by an operator (forgotten card, temporary ID): needs a
 * reason; after the late cut-off it is the supervisor's override and says
 * so.  On success *result is the committed event as JSON (caller owns).
 * -1 with EX_DATAERR and the reason when it is refused, EX_TEMPFAIL when
 * the database is locked by another process (nothing recorded).
 */
int checkin_manual(struct checkin *c, const char *ticket,
                   const char *operator_name, const char *reason,
                   const struct checkin_account *who, json_t **result,
                   struct err *e);

/* Inputs still waiting for the database (0 normally). */
size_t checkin_queued(const struct checkin *c);

/* Identical inputs at device dropped as repeats since start. */
unsigned long checkin_repeats(const struct checkin *c, const char *device);

/* Drop pending id+ticket pairs (on reload). */
void checkin_reset(struct checkin *c);

#endif
