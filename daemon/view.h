/*
 * view.h: what each role may read of the stream (docs/control-protocol.md,
 * The stream).  Operators and administrators see every event as it was
 * committed.  A kiosk is a screen in a queue of candidates: it sees the
 * decisions, absences, session marks and device changes of its own room,
 * reduced to what the screen shows (no notes, no operator names, no
 * account, no hashes, the ticket masked), and of events that concern no
 * room only that one happened (id, kind, time).  Incidents never reach it.
 */
#ifndef EXAMSITE_VIEW_H
#define EXAMSITE_VIEW_H

#include <stddef.h>

#include <jansson.h>

#include "control.h"

/* Bytes of a masked ticket, NUL included (tickets are at most 32). */
#define VIEW_TICKET_MAX 40

/*
 * A stream message ({"type":"event"|"notice",...}, borrowed) as role may
 * see it: a new reference (the same object for operators and admins), or
 * NULL when role must not receive it at all.
 */
json_t *view_message(json_t *msg, enum control_role role);

/* An event object (borrowed) as a kiosk may see it: a new object, or NULL
 * when a kiosk must not see it. */
json_t *view_kiosk_event(json_t *ev);

/* A ticket as a kiosk shows it: every character but the last 4 is '*'
 * ("********0001"); 4 or fewer are all masked. */
void view_mask_ticket(const char *ticket, char out[VIEW_TICKET_MAX]);

#endif
