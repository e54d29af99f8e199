/*
 * ingest.h: what POST /v1/batches does, without HTTP: the station's key
 * and the signature are checked before the body is inflated; the body is
 * decoded and verified as a stream (chain/batch.h); it must continue the
 * station's chain as stored; it is stored in one transaction or not at
 * all.  A retried identical batch is acknowledged again and stored once;
 * a gap, or a different body for a stored sequence, is 409 naming the
 * expected sequence.
 */
#ifndef EXAMSITE_CENTRAL_INGEST_H
#define EXAMSITE_CENTRAL_INGEST_H

#include <stddef.h>

#include <jansson.h>

#include "batch.h"

struct cstore;
struct keys;

struct ingest_request {
    const char *site, *station, *seq, *signature; /* the X-Examsite-* headers */
    const char *content_encoding;
    const unsigned char *body;
    size_t len;
};

/*
 * Handle one batch.  Returns the HTTP status (200, 400, 401, 409, 413,
 * 503) and *reply, the JSON body (caller frees): {"ok":true,"stored":…,
 * "seq":N,"last_event":N,"chain_hash":"…"} or {"ok":false,"error":"…"}
 * (409 adds "expected_seq" and the office's cursor).  Nothing is stored
 * unless it returns 200 with "stored":true.
 */
int ingest_batch(struct cstore *st, const struct keys *keys,
                 const struct batch_limits *lim,
                 const struct ingest_request *rq, json_t **reply);

/* The office's cursor for site/station as JSON: {"seq","last_event",
 * "chain_hash"}.  HTTP status (200, 400 bad ids, 404 unknown station,
 * 503). */
int ingest_cursor(struct cstore *st, const struct keys *keys, const char *site,
                  const char *station, json_t **reply);

#endif
