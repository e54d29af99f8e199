/*
 * link.h: the kiosk's connection to examsited's control socket
 * (docs/control-protocol.md).  One connection at a time: it asks for
 * room.state, then subscribes to the room with since = the last event the
 * screen applied, so a reconnect catches up without reading the database;
 * from then on every line is a stream message.
 *
 * Everything that arrives is hostile: a line longer than LINK_LINE_MAX is
 * skipped whole (up to its newline) without being buffered, a line that
 * is not a JSON object is counted and dropped, and nothing the daemon
 * sends can make the link block it: the kiosk reads whatever comes, as it
 * comes, in the one loop.
 *
 * When the connection fails or goes, the owner is told at once, and the
 * link retries with exponential backoff (LINK_BACKOFF_MIN_MS doubling to
 * LINK_BACKOFF_MAX_MS, with jitter) until it is back.
 */
#ifndef EXAMKIOSK_LINK_H
#define EXAMKIOSK_LINK_H

#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "err.h"

#define LINK_LINE_MAX       (640 * 1024) /* the daemon's replies: 512 KiB */
#define LINK_BACKOFF_MIN_MS 100
#define LINK_BACKOFF_MAX_MS 5000

struct link;

struct link_cb {
    /* The room.state reply (borrowed). */
    void (*state)(void *arg, json_t *state);
    /* Subscribed: the stream is live (what was missed follows). */
    void (*up)(void *arg);
    /* The connection failed or went; why is one line. */
    void (*down)(void *arg, const char *why);
    /* One stream message (borrowed), any type. */
    void (*message)(void *arg, json_t *msg);
    /* The event id to subscribe since (the last one applied). */
    int64_t (*since)(void *arg);
    void *arg;
};

/* A link to the socket at path for room (both copied); it starts
 * connecting at once.  NULL with e when the path does not fit. */
struct link *link_new(struct event_base *base, const char *path,
                      const char *room, const struct link_cb *cb,
                      struct err *e);

/* Drop the connection and connect again now, without telling the owner
 * it went (a refresh of room.state).  If that fails, down() as usual. */
void link_refresh(struct link *l);

/* Lines dropped: too long, or not JSON objects. */
unsigned long link_dropped(const struct link *l);

/* Close and free.  Accepts NULL. */
void link_free(struct link *l);

#endif
