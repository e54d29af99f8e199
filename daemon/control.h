/*
 * control.h: the control socket (docs/control-protocol.md).  A Unix stream
 * socket speaking newline-delimited JSON: one request object per line, one
 * reply object per line, and for subscribers a stream of event and notice
 * lines.  Who may do what is decided from the peer's credentials
 * (SO_PEERCRED) against the configured groups: kiosk < operator < admin.
 */
#ifndef EXAMSITE_CONTROL_H
#define EXAMSITE_CONTROL_H

#include <jansson.h>

#include "err.h"

#define CONTROL_REQUEST_MAX (64 * 1024) /* bytes in one request line */
/* Bytes queued for one client (replies or stream) before it is dropped. */
#define CONTROL_OUTPUT_MAX (1024 * 1024)
#define CONTROL_REPLY_MAX  (512 * 1024) /* one reply line */
/* A client's next request waits while this much is unread... */
#define CONTROL_OUTPUT_PAUSE (256 * 1024)
/* ...and a client that reads nothing of it for this long is dropped. */
#define CONTROL_STALL_S        10
#define CONTROL_CLIENTS_MAX    64
#define CONTROL_ADMIN_SLOTS    4  /* of those, kept for administrators */
#define CONTROL_LINES_PER_TURN 8  /* requests run per turn of the loop */
#define CONTROL_IDLE_S         30 /* a client that sends nothing is closed */
#define CONTROL_DRAIN_S        5  /* a closing client's last reply, at most */

struct daemon;
struct control;

enum control_role { ROLE_NONE = 0, ROLE_KIOSK, ROLE_OPERATOR, ROLE_ADMIN };

/* Listen on the configured socket path (replacing a stale socket). */
struct control *control_new(struct daemon *d, struct err *e);

/* Close every client and the socket, unlink it.  Accepts NULL. */
void control_free(struct control *c);

/* Send one JSON object (borrowed) as a line to every subscriber whose room
 * filter matches room (NULL room: to all).  Slow subscribers are dropped. */
void control_broadcast(struct control *c, const char *room, json_t *msg);

const char *control_role_name(enum control_role r);

/* Look the configured group names up again (start, reload). */
void control_groups_refresh(struct control *c);

#endif
