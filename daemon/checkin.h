/*
 * checkin.h: the check-in rules (docs/examsited.8, Check-in rules).  A card
 * read or a ticket scan at a device bound to a room becomes one decision,
 * recorded as an event and committed before anyone is told; a late
 * arrival also gets its automatic `late` incident in the same transaction.
 *
 * Decisions carry their kiosk text (Chinese and English) in the payload,
 * so whatever reads the event log can show them.
 */
#ifndef EXAMSITE_CHECKIN_H
#define EXAMSITE_CHECKIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

struct daemon;
struct idcard_info;
struct checkin;

struct checkin *checkin_new(struct daemon *d, struct err *e);
void checkin_free(struct checkin *c);

/* A card was read at device (serving room).  The card is only read during
 * the call; its ID number is hashed and never kept. */
void checkin_card(struct checkin *c, const char *device, const char *room,
                  const struct idcard_info *card);

/* A code was scanned at device (serving room). */
void checkin_code(struct checkin *c, const char *device, const char *room,
                  const char *code, size_t len);

/*
 * Manual check-in by an operator (forgotten card, temporary ID): needs a
 * reason; after the late cut-off it is the supervisor's override and says
 * so.  On success *result is the committed event as JSON (caller owns).
 * -1 with EX_DATAERR and the reason when it is refused.
 */
int checkin_manual(struct checkin *c, const char *ticket,
                   const char *operator_name, const char *reason,
                   json_t **result, struct err *e);

/* Drop pending id+ticket pairs (on reload). */
void checkin_reset(struct checkin *c);

#endif
