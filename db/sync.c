/*
 * sync.c: the station's cursor and numbered batches (sync.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "event.h"
#include "hex.h"
#include "sitetime.h"
#include "store.h"
#include "sync.h"

static const char *SQL_CURSOR =
    "SELECT seq, last_event, chain_hash, acked FROM sync_cursor WHERE id = 1";
static const char *SQL_BATCH =
    "SELECT seq, first_event, last_event, count, prev_chain_hash, "
    "last_chain_hash, payload_sha256, body_sha256, acked IS NOT NULL "
    "FROM sync_batch WHERE seq = ?";
static const char *SQL_UNACKED =
    "SELECT min(seq) FROM sync_batch WHERE acked IS NULL AND seq > ?";
static const char *SQL_LAST_BATCH =
    "SELECT coalesce(max(seq), 0), coalesce(max(last_event), 0) FROM "
    "sync_batch";
static const char *SQL_EVENT_HASH = "SELECT hash FROM event WHERE id = ?";
static const char *SQL_INSERT =
    "INSERT INTO sync_batch (seq, first_event, last_event, count, "
    "prev_chain_hash, last_chain_hash, payload_sha256, body_sha256, "
    "numbered) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char *SQL_ACK =
    "UPDATE sync_batch SET acked = ? WHERE seq <= ? AND acked IS NULL";
static const char *SQL_CURSOR_PUT =
    "INSERT INTO sync_cursor (id, seq, last_event, chain_hash, acked) "
    "VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = "
    "excluded.seq, last_event = excluded.last_event, chain_hash = "
    "excluded.chain_hash, acked = excluded.acked";

int sync_sha256(const void *buf, size_t len, char out[CHAIN_HASH_HEX + 1])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;

    if (!EVP_Digest(buf, len, d, &dl, EVP_sha256(), NULL) || dl != 32)
        return -1;
    hex_encode(d, 32, out);
    return 0;
}

static void col_hash(char *dst, sqlite3_stmt *q, int col)
{
    snprintf(dst, CHAIN_HASH_HEX + 1, "%s", store_col_text(q, col));
}

int sync_cursor_get(struct store *st, struct sync_cursor *c, struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    memset(c, 0, sizeof(*c));
    memcpy(c->chain_hash, chain_zero_hash, sizeof(c->chain_hash));
    if ((q = store_stmt(st, SQL_CURSOR, e)) == NULL)
        return -1;
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        c->seq = sqlite3_column_int64(q, 0);
        c->last_event = sqlite3_column_int64(q, 1);
        col_hash(c->chain_hash, q, 2);
        snprintf(c->acked, sizeof(c->acked), "%s", store_col_text(q, 3));
    }
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sqlerr(st, e, "sync cursor");
    return 0;
}

int sync_batch_get(struct store *st, int64_t seq, struct sync_batch *b,
                   struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    memset(b, 0, sizeof(*b));
    if ((q = store_stmt(st, SQL_BATCH, e)) == NULL)
        return -1;
    sqlite3_bind_int64(q, 1, seq);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        b->seq = sqlite3_column_int64(q, 0);
        b->first_event = sqlite3_column_int64(q, 1);
        b->last_event = sqlite3_column_int64(q, 2);
        b->count = sqlite3_column_int64(q, 3);
        col_hash(b->prev_chain_hash, q, 4);
        col_hash(b->last_chain_hash, q, 5);
        col_hash(b->payload_sha256, q, 6);
        col_hash(b->body_sha256, q, 7);
        b->acked = sqlite3_column_int(q, 8);
        b->recorded = 1;
    }
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sqlerr(st, e, "sync batch");
    return rc == SQLITE_ROW;
}

/* The hash of event id into out: 1, 0 when there is no such event, -1. */
static int event_hash(struct store *st, int64_t id,
                      char out[CHAIN_HASH_HEX + 1], struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    if ((q = store_stmt(st, SQL_EVENT_HASH, e)) == NULL)
        return -1;
    sqlite3_bind_int64(q, 1, id);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        col_hash(out, q, 0);
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sqlerr(st, e, "sync: event");
    return rc == SQLITE_ROW;
}

int sync_chain_has(struct store *st, int64_t id, const char *hash, char *why,
                   size_t whylen, struct err *e)
{
    char have[CHAIN_HASH_HEX + 1];
    int64_t last;
    int rc;

    if (id == 0)
        return 1;
    if ((rc = event_hash(st, id, have, e)) == -1)
        return -1;
    if (rc == 0) {
        if ((last = event_last_id(st, e)) == -1)
            return -1;
        snprintf(why, whylen,
                 "the office holds this station's events up to %" PRId64
                 " but this database ends at event %" PRId64
                 ": it was restored from an older copy; nothing sent",
                 id, last);
        return 0;
    }
    if (strcmp(have, hash) != 0) {
        snprintf(why, whylen,
                 "event %" PRId64 " here is not the event %" PRId64
                 " the office acknowledged (hash %.12s here, %.12s at the "
                 "office): this database was restored from an older copy or "
                 "its chain was rewritten; nothing sent",
                 id, id, have, hash);
        return 0;
    }
    return 1;
}

int sync_next(struct store *st, int max_events, int64_t after,
              struct sync_batch *b, struct err *e)
{
    struct sync_cursor c;
    char why[400];
    sqlite3_stmt *q;
    int64_t seq = 0, last_seq = 0, last_numbered = 0, head;
    int rc;

    memset(b, 0, sizeof(*b));
    if (sync_cursor_get(st, &c, e) == -1)
        return -1;
    if ((rc = sync_chain_has(st, c.last_event, c.chain_hash, why, sizeof(why),
                             e)) != 1)
        return rc == -1 ? -1 : err_set(e, EX_DATAERR, "%s", why);
    if ((q = store_stmt(st, SQL_UNACKED, e)) == NULL)
        return -1;
    sqlite3_bind_int64(q, 1, after);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        seq = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sqlerr(st, e, "sync");
    if (seq > 0)
        return sync_batch_get(st, seq, b, e);
    if ((q = store_stmt(st, SQL_LAST_BATCH, e)) == NULL)
        return -1;
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        last_seq = sqlite3_column_int64(q, 0);
        last_numbered = sqlite3_column_int64(q, 1);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sqlerr(st, e, "sync");
    /* the office may have adopted further than this station numbered */
    if (c.seq > last_seq) {
        last_seq = c.seq;
        last_numbered = c.last_event;
    }
    if ((head = event_last_id(st, e)) == -1)
        return -1;
    if (head <= last_numbered || after >= last_seq + 1)
        return 0;
    b->seq = last_seq + 1;
    b->first_event = last_numbered + 1;
    b->last_event = head;
    if (max_events > 0 && b->last_event - b->first_event + 1 > max_events)
        b->last_event = b->first_event + max_events - 1;
    b->count = b->last_event - b->first_event + 1;
    if (b->first_event == 1) {
        memcpy(b->prev_chain_hash, chain_zero_hash, sizeof(b->prev_chain_hash));
    } else if ((rc = event_hash(st, b->first_event - 1, b->prev_chain_hash,
                                e)) != 1) {
        return rc == -1 ? -1
                        : err_set(e, EX_DATAERR, "event %" PRId64 " is missing",
                                  b->first_event - 1);
    }
    return 1;
}

struct feed {
    struct batch_enc *enc;
    int64_t *next;
};

static int feed_one(void *ud, const struct event *ev, struct err *e)
{
    struct feed *f = ud;
    struct chain_row r = {
        ev->id,   ev->time,   ev->tz_offset, ev->kind,          ev->session,
        ev->room, ev->ticket, ev->device,    ev->operator_name, ev->payload};

    if (batch_enc_add(f->enc, &r, ev->prev_hash, ev->hash, e) == -1)
        return -1;
    *f->next = ev->id + 1;
    return 0;
}

int sync_encode(struct store *st, struct batch_enc *enc, int64_t *next,
                int64_t last, int64_t limit, struct err *e)
{
    struct feed f = {enc, next};
    int64_t n = last - *next + 1;

    if (n <= 0)
        return 0;
    if (limit > 0 && n > limit)
        n = limit;
    return event_foreach(st, *next - 1, n, feed_one, &f, e);
}

int sync_fix(struct store *st, struct sync_batch *b,
             const struct batch_header *h, const char *body_sha256,
             struct err *e)
{
    char now[SITETIME_ISO_MAX];
    sqlite3_stmt *q;
    int rc;

    if (h->count != b->count || h->first_event != b->first_event ||
        h->last_event != b->last_event)
        return err_set(e, EX_DATAERR,
                       "batch %" PRId64 ": events %" PRId64 "-%" PRId64
                       " are not all in the log",
                       b->seq, b->first_event, b->last_event);
    if (b->recorded) {
        if (strcmp(h->payload_sha256, b->payload_sha256) != 0 ||
            strcmp(h->last_chain_hash, b->last_chain_hash) != 0 ||
            strcmp(h->prev_chain_hash, b->prev_chain_hash) != 0)
            return err_set(e, EX_DATAERR,
                           "batch %" PRId64 " (events %" PRId64 "-%" PRId64
                           ") no longer encodes as it was numbered: the "
                           "events changed; nothing sent",
                           b->seq, b->first_event, b->last_event);
        return 0;
    }
    memcpy(b->last_chain_hash, h->last_chain_hash, sizeof(b->last_chain_hash));
    memcpy(b->payload_sha256, h->payload_sha256, sizeof(b->payload_sha256));
    memcpy(b->body_sha256, body_sha256, sizeof(b->body_sha256));
    sitetime_format_utc(sitetime_now_ms(), now);
    if (store_begin(st, e) == -1)
        return -1;
    if ((q = store_stmt(st, SQL_INSERT, e)) == NULL) {
        store_rollback(st);
        return -1;
    }
    sqlite3_bind_int64(q, 1, b->seq);
    sqlite3_bind_int64(q, 2, b->first_event);
    sqlite3_bind_int64(q, 3, b->last_event);
    sqlite3_bind_int64(q, 4, b->count);
    store_bind_text(q, 5, b->prev_chain_hash);
    store_bind_text(q, 6, b->last_chain_hash);
    store_bind_text(q, 7, b->payload_sha256);
    store_bind_text(q, 8, b->body_sha256);
    store_bind_text(q, 9, now);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        store_sqlerr(st, e, "sync: number batch");
        store_rollback(st);
        return -1;
    }
    if (store_commit(st, e) == -1) {
        store_rollback(st);
        return -1;
    }
    b->recorded = 1;
    return 0;
}

/* Mark batches up to seq acknowledged and set the cursor, in one
 * transaction. */
static int ack_upto(struct store *st, int64_t seq, int64_t last_event,
                    const char *chain_hash, struct err *e)
{
    char now[SITETIME_ISO_MAX];
    sqlite3_stmt *q;
    int rc;

    sitetime_format_utc(sitetime_now_ms(), now);
    if (store_begin(st, e) == -1)
        return -1;
    if ((q = store_stmt(st, SQL_ACK, e)) == NULL)
        goto fail;
    store_bind_text(q, 1, now);
    sqlite3_bind_int64(q, 2, seq);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        store_sqlerr(st, e, "sync: ack");
        goto fail;
    }
    if ((q = store_stmt(st, SQL_CURSOR_PUT, e)) == NULL)
        goto fail;
    sqlite3_bind_int64(q, 1, seq);
    sqlite3_bind_int64(q, 2, last_event);
    store_bind_text(q, 3, chain_hash);
    store_bind_text(q, 4, now);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        store_sqlerr(st, e, "sync: cursor");
        goto fail;
    }
    if (store_commit(st, e) == -1)
        goto fail;
    return 0;
fail:
    store_rollback(st);
    return -1;
}

int sync_ack(struct store *st, const struct sync_batch *b, struct err *e)
{
    return ack_upto(st, b->seq, b->last_event, b->last_chain_hash, e);
}

int sync_adopt(struct store *st, int64_t seq, int64_t last_event,
               const char *chain_hash, struct err *e)
{
    struct sync_cursor c;
    struct sync_batch b;
    char why[400];
    int rc;

    if (!chain_hash_valid(chain_hash) || seq < 0 || last_event < 0)
        return err_set(e, EX_PROTOCOL, "the office's cursor is malformed");
    if ((rc = sync_chain_has(st, last_event, chain_hash, why, sizeof(why),
                             e)) != 1)
        return rc == -1 ? -1 : err_set(e, EX_DATAERR, "%s", why);
    if (sync_cursor_get(st, &c, e) == -1)
        return -1;
    if (seq <= c.seq)
        return 0; /* the office is behind: resend from its seq */
    /* a batch we numbered with that seq must end where the office says */
    if ((rc = sync_batch_get(st, seq, &b, e)) == -1)
        return -1;
    if (rc == 1 && (b.last_event != last_event ||
                    strcmp(b.last_chain_hash, chain_hash) != 0))
        return err_set(e, EX_DATAERR,
                       "the office's batch %" PRId64 " ends at event %" PRId64
                       ", this station numbered it to end at %" PRId64
                       ": its sync records were restored from an older copy; "
                       "nothing sent",
                       seq, last_event, b.last_event);
    if (ack_upto(st, seq, last_event, chain_hash, e) == -1)
        return -1;
    return 1;
}

int64_t sync_pending(struct store *st, struct err *e)
{
    struct sync_cursor c;
    int64_t head;

    if (sync_cursor_get(st, &c, e) == -1 || (head = event_last_id(st, e)) == -1)
        return -1;
    return head > c.last_event ? head - c.last_event : 0;
}
