/*
 * ingest.c: verifying and storing one batch (ingest.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cstore.h"
#include "hex.h"
#include "ingest.h"
#include "keys.h"
#include "sitetime.h"

enum mode {
    MODE_STORE,  /* the next batch: store it */
    MODE_VERIFY, /* a stored seq with other bytes: verify, compare */
    MODE_DONE,   /* a stored seq with the same bytes: acknowledged */
};

struct ingest {
    struct cstore *st;
    const struct ingest_request *rq;
    char body_sha[CHAIN_HASH_HEX + 1];
    enum mode mode;
    int in_txn;
    int status; /* set by the header callback when it refuses */
    struct cstore_cursor cur;
    struct cstore_batch stored; /* MODE_VERIFY: what the office holds */
    char why[300];
};

static json_t *fail(const char *msg)
{
    return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *ack(int stored, int64_t seq, int64_t last, const char *hash)
{
    return json_pack("{s:b, s:b, s:I, s:I, s:s}", "ok", 1, "stored", stored,
                     "seq", (json_int_t)seq, "last_event", (json_int_t)last,
                     "chain_hash", hash);
}

/* 409: what the office expects next, and its cursor. */
static json_t *conflict(const char *msg, const struct cstore_cursor *c)
{
    return json_pack("{s:b, s:s, s:I, s:I, s:I, s:s}", "ok", 0, "error", msg,
                     "expected_seq", (json_int_t)(c->seq + 1), "seq",
                     (json_int_t)c->seq, "last_event",
                     (json_int_t)c->last_event, "chain_hash", c->chain_hash);
}

/* A positive decimal without sign, leading zeros or junk. */
static int64_t parse_seq(const char *s)
{
    int64_t v = 0;
    size_t i;

    if (s == NULL || s[0] == '\0' || s[0] == '0' || strlen(s) > 15)
        return -1;
    for (i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int sha256_hex(const void *p, size_t n, char out[CHAIN_HASH_HEX + 1])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;

    if (!EVP_Digest(p, n, d, &dl, EVP_sha256(), NULL) || dl != 32)
        return -1;
    hex_encode(d, 32, out);
    return 0;
}

static int same_claims(const struct batch_header *h,
                       const struct cstore_batch *b)
{
    return h->first_event == b->first_event && h->last_event == b->last_event &&
           h->count == b->count &&
           strcmp(h->prev_chain_hash, b->prev_chain_hash) == 0 &&
           strcmp(h->last_chain_hash, b->last_chain_hash) == 0 &&
           strcmp(h->payload_sha256, b->payload_sha256) == 0;
}

/* After line 1: where the batch stands against what the office holds. */
static int on_header(void *arg, const struct batch_header *h, struct err *e)
{
    struct ingest *ig = arg;
    int rc;

    if (ig->st->ops->begin(ig->st, e) == -1) {
        ig->status = 503;
        return -1;
    }
    ig->in_txn = 1;
    if (ig->st->ops->cursor_get(ig->st, h->site, h->station, &ig->cur, e) ==
        -1) {
        ig->status = 503;
        return -1;
    }
    if (h->seq == ig->cur.seq + 1) {
        if (!batch_continues(h, ig->cur.last_event, ig->cur.chain_hash, ig->why,
                             sizeof(ig->why))) {
            ig->status = 409;
            return err_set(e, EX_DATAERR, "%s", ig->why);
        }
        ig->mode = MODE_STORE;
        return 0;
    }
    if (h->seq > ig->cur.seq + 1) {
        ig->status = 409;
        return err_set(e, EX_DATAERR,
                       "sequence gap: batch %" PRId64
                       " sent, the office expects %" PRId64,
                       h->seq, ig->cur.seq + 1);
    }
    /* a sequence already stored */
    if ((rc = ig->st->ops->batch_get(ig->st, h->site, h->station, h->seq,
                                     &ig->stored, e)) != 1) {
        ig->status = rc == -1 ? 503 : 409;
        if (rc == 0)
            err_set(e, EX_DATAERR,
                    "batch %" PRId64 " is not stored but the cursor is past "
                    "it",
                    h->seq);
        return -1;
    }
    if (strcmp(ig->stored.body_sha256, ig->body_sha) == 0) {
        ig->mode = MODE_DONE; /* the same bytes: acknowledge again */
        return err_set(e, 0, "already stored");
    }
    if (!same_claims(h, &ig->stored)) {
        ig->status = 409;
        return err_set(e, EX_DATAERR,
                       "batch %" PRId64 " is stored with a different body; "
                       "the office expects %" PRId64,
                       h->seq, ig->cur.seq + 1);
    }
    ig->mode = MODE_VERIFY; /* same events compressed otherwise? check */
    return 0;
}

static int on_event(void *arg, const struct chain_row *r, const char *prev,
                    const char *hash, struct err *e)
{
    struct ingest *ig = arg;

    if (ig->mode != MODE_STORE)
        return 0;
    if (ig->st->ops->event_add(ig->st, ig->rq->site, ig->rq->station,
                               parse_seq(ig->rq->seq), r, prev, hash,
                               e) == -1) {
        ig->status = 503;
        return -1;
    }
    return 0;
}

static void end_txn(struct ingest *ig)
{
    if (ig->in_txn)
        ig->st->ops->rollback(ig->st);
    ig->in_txn = 0;
}

int ingest_batch(struct cstore *st, const struct keys *keys,
                 const struct batch_limits *lim,
                 const struct ingest_request *rq, json_t **reply)
{
    struct batch_sink sink = {on_header, on_event, NULL};
    struct batch_header h;
    const unsigned char *key;
    struct ingest ig;
    enum batch_status bs;
    struct cstore_batch b;
    char received[SITETIME_ISO_MAX];
    struct err e;
    int64_t seq;
    size_t keylen;

    memset(&ig, 0, sizeof(ig));
    ig.st = st;
    ig.rq = rq;
    sink.arg = &ig;
    if (!batch_id_valid(rq->site) || !batch_id_valid(rq->station) ||
        (seq = parse_seq(rq->seq)) < 1) {
        *reply = fail("X-Examsite-Site, X-Examsite-Station and "
                      "X-Examsite-Seq are required (ids of A-Z a-z 0-9 . _ -, "
                      "a positive sequence)");
        return 400;
    }
    if ((keylen = keys_find(keys, rq->site, rq->station, &key)) == 0) {
        *reply = fail("unknown station");
        return 401;
    }
    if (!batch_sig_ok(key, keylen, rq->body, rq->len, rq->signature)) {
        *reply = fail("bad signature: X-Examsite-Signature is not "
                      "HMAC-SHA256 of the body under this station's key");
        return 401;
    }
    if (rq->content_encoding == NULL ||
        strcmp(rq->content_encoding, "gzip") != 0) {
        *reply = fail("a batch is sent with Content-Encoding: gzip");
        return 400;
    }
    if (sha256_hex(rq->body, rq->len, ig.body_sha) == -1) {
        *reply = fail("internal error");
        return 500;
    }
    bs = batch_decode(rq->body, rq->len, lim, rq->site, rq->station, seq, &sink,
                      &h, &e);
    if (bs == BATCH_REFUSED && ig.mode == MODE_DONE) {
        end_txn(&ig);
        *reply = ack(0, ig.stored.seq, ig.stored.last_event,
                     ig.stored.last_chain_hash);
        return 200;
    }
    if (bs != BATCH_OK) {
        end_txn(&ig);
        if (bs == BATCH_REFUSED && ig.status == 409) {
            *reply = conflict(e.msg, &ig.cur);
            return 409;
        }
        *reply = fail(e.msg);
        return bs == BATCH_TOO_LARGE   ? 413
               : bs == BATCH_MALFORMED ? 400
                                       : (ig.status ? ig.status : 503);
    }
    if (ig.mode == MODE_VERIFY) { /* verified: the same events */
        end_txn(&ig);
        *reply = ack(0, ig.stored.seq, ig.stored.last_event,
                     ig.stored.last_chain_hash);
        return 200;
    }
    memset(&b, 0, sizeof(b));
    b.seq = h.seq;
    b.first_event = h.first_event;
    b.last_event = h.last_event;
    b.count = h.count;
    memcpy(b.prev_chain_hash, h.prev_chain_hash, sizeof(b.prev_chain_hash));
    memcpy(b.last_chain_hash, h.last_chain_hash, sizeof(b.last_chain_hash));
    memcpy(b.payload_sha256, h.payload_sha256, sizeof(b.payload_sha256));
    memcpy(b.body_sha256, ig.body_sha, sizeof(b.body_sha256));
    sitetime_format_utc(sitetime_now_ms(), received);
    if (st->ops->batch_put(st, h.site, h.station, &b, received, &e) == -1 ||
        st->ops->commit(st, &e) == -1) {
        end_txn(&ig);
        *reply = fail(e.msg);
        return 503;
    }
    ig.in_txn = 0;
    *reply = ack(1, h.seq, h.last_event, h.last_chain_hash);
    return 200;
}

int ingest_cursor(struct cstore *st, const struct keys *keys, const char *site,
                  const char *station, json_t **reply)
{
    struct cstore_cursor c;
    const unsigned char *key;
    struct err e;

    if (!batch_id_valid(site) || !batch_id_valid(station)) {
        *reply = fail("bad site or station id");
        return 400;
    }
    if (keys_find(keys, site, station, &key) == 0) {
        *reply = fail("unknown station");
        return 404;
    }
    if (st->ops->cursor_get(st, site, station, &c, &e) == -1) {
        *reply = fail(e.msg);
        return 503;
    }
    *reply =
        json_pack("{s:I, s:I, s:s}", "seq", (json_int_t)c.seq, "last_event",
                  (json_int_t)c.last_event, "chain_hash", c.chain_hash);
    return 200;
}
