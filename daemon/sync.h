/*
 * sync.h: the station's sync client (docs/batch-format.md).  Nightly at
 * [central] schedule, and on `examctl sync now`, it sends the events the
 * office has not acknowledged, one numbered batch after another, until
 * the office is up to date.
 *
 * It never holds up the loop: a batch is encoded a few hundred events per
 * turn, sent with libevent's HTTP client (TLS through libevent_openssl,
 * the office's certificate checked against [central] ca_file and its host
 * name), and the database is written only for short transactions that do
 * not wait for the lock (the daemon's zero busy timeout: a locked write
 * is retried a moment later).  A failed round is retried with exponential
 * backoff and jitter; a 409 resumes from what the office names; a
 * database restored from an older copy is refused (sync.h in db/).
 *
 * Like the check-in rules it sees the world through a narrow env.
 */
#ifndef EXAMSITE_DAEMON_SYNC_H
#define EXAMSITE_DAEMON_SYNC_H

#include <event2/event.h>
#include <jansson.h>

#include "clock.h"
#include "config.h"
#include "err.h"

struct store;
struct sync;

struct sync_env {
    struct store *store;
    struct event_base *base;
    const struct clock *clock;
    const struct config *cfg;   /* [central]; read at each round */
    const char *site, *station; /* as the database names them */
};

/* env is copied.  With no [central] url the client is idle (status says
 * so, sync_now refuses). */
struct sync *sync_new(const struct sync_env *env, struct err *e);
void sync_free(struct sync *s); /* accepts NULL; drops a request in flight */

/* Start a round now (or join the one running): its number, or -1 with e
 * (EX_CONFIG when sync is not configured).  sync_now, sync_replan and
 * sync_status accept NULL (no client: EX_UNAVAILABLE). */
long sync_now(struct sync *s, struct err *e);

/* The next nightly round from the configuration (start, reload). */
void sync_replan(struct sync *s);

/* What `examctl sync status` shows (caller frees), NULL on failure. */
json_t *sync_status(struct sync *s, struct err *e);

/* When the office last acknowledged a round, ms since the epoch; 0 for
 * never (or no sync configured: s may be NULL). */
int64_t sync_last_success(const struct sync *s);

#endif
