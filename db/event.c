/*
 * event.c: appending to the hash-chained event log, reading it back,
 * verifying it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "event.h"
#include "record.h"
#include "refdigest.h"
#include "sitetime.h"
#include "store.h"

static const char *const event_kinds[] = {
    "checkin.accepted",  "checkin.denied",
    "checkin.manual",    "checkin.duplicate",
    "checkin.exit",      "checkin.reentry",
    "incident.logged",   "incident.amended",
    "session.added",     "session.changed",
    "session.opened",    "session.closed",
    "absent.marked",     "device.attached",
    "device.detached",   "device.error",
    "roster.imported",   "roster.changed",
    "roster.withdrawn",  "site.created",
    "sync.acknowledged", NULL,
};

int event_kind_valid(const char *kind)
{
    const char *const *k;

    if (kind == NULL)
        return 0;
    for (k = event_kinds; *k != NULL; k++)
        if (strcmp(*k, kind) == 0)
            return 1;
    return 0;
}

/* The canonical bytes are chain/'s, shared with the office. */
int event_compute_hash(const struct event *ev, const char *prev_hash,
                       char out[EVENT_HASH_HEX + 1])
{
    struct chain_row r = {
        .id = ev->id,
        .time = ev->time,
        .tz_offset = ev->tz_offset,
        .kind = ev->kind,
        .session = ev->session,
        .room = ev->room,
        .ticket = ev->ticket,
        .device = ev->device,
        .operator_name = ev->operator_name,
        .payload = ev->payload,
    };

    return chain_row_hash(&r, prev_hash, out);
}

static int payload_valid(const char *payload, struct err *e)
{
    json_error_t jerr;
    json_t *j;
    int ok;

    if (strlen(payload) > EVENT_PAYLOAD_MAX)
        return err_set(e, EX_DATAERR, "event payload over %d bytes",
                       EVENT_PAYLOAD_MAX);
    j = json_loads(payload, JSON_REJECT_DUPLICATES, &jerr);
    ok = j != NULL && json_is_object(j);
    json_decref(j);
    if (!ok)
        return err_set(e, EX_SOFTWARE, "event payload is not a JSON object");
    return 0;
}

static const char *SQL_LAST =
    "SELECT id, hash, time FROM event ORDER BY id DESC LIMIT 1";

void event_release(struct event *ev)
{
    free(ev->payload_owned);
    ev->payload_owned = NULL;
}

/* The clock is behind the record: keep the chain's time monotonic and
 * say by how much in the payload. */
static int hold_time(struct event *ev, int64_t last_ms, struct err *e)
{
    int64_t behind = last_ms - ev->time_ms;
    size_t n = strlen(ev->payload);
    const char *rest = strchr(ev->payload, '{') + 1; /* it is an object */
    char *p;

    ev->time_ms = last_ms;
    if ((p = malloc(n + 48)) == NULL)
        return err_set(e, EX_OSERR, "out of memory");
    while (*rest == ' ' || *rest == '\n' || *rest == '\t' || *rest == '\r')
        rest++;
    snprintf(p, n + 48, "{\"clock_behind_ms\":%lld%s%s", (long long)behind,
             *rest == '}' ? "" : ",", rest);
    free(ev->payload_owned);
    ev->payload_owned = p;
    ev->payload = p;
    return 0;
}
static const char *SQL_INSERT =
    "INSERT INTO event (id, time, tz_offset, kind, session, room, ticket, "
    "device, operator, payload, prev_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

int event_append(struct store *st, struct event *ev, struct err *e)
{
    sqlite3_stmt *s;
    int rc;

    if (!store_in_txn(st))
        return err_set(e, EX_SOFTWARE, "event_append outside a transaction");
    if (!event_kind_valid(ev->kind))
        return err_set(e, EX_SOFTWARE, "unknown event kind '%s'",
                       ev->kind ? ev->kind : "(null)");
    if (ev->payload == NULL)
        ev->payload = "{}";
    if (payload_valid(ev->payload, e) == -1)
        return -1;
    if ((s = store_stmt(st, SQL_LAST, e)) == NULL)
        return -1;
    rc = sqlite3_step(s);
    if (ev->time_ms == 0)
        ev->time_ms = sitetime_now_ms();
    if (rc == SQLITE_ROW) {
        int64_t last_ms = sitetime_parse_utc(store_col_text(s, 2));
        ev->id = sqlite3_column_int64(s, 0) + 1;
        if (!chain_hash_valid(store_col_text(s, 1))) {
            sqlite3_reset(s);
            return err_set(e, EX_DATAERR,
                           "event %" PRId64 ", the last one, is damaged: its "
                           "hash is not 64 lower-case hex digits; nothing can "
                           "be appended after it (see 'examctl verify')",
                           ev->id - 1);
        }
        snprintf(ev->prev_hash, sizeof(ev->prev_hash), "%s",
                 store_col_text(s, 1));
        if (ev->time_ms < last_ms && hold_time(ev, last_ms, e) == -1) {
            sqlite3_reset(s);
            return -1;
        }
    } else if (rc == SQLITE_DONE) {
        ev->id = 1;
        memcpy(ev->prev_hash, chain_zero_hash, sizeof(chain_zero_hash));
    } else {
        sqlite3_reset(s);
        return store_sqlerr(st, e, "event: last");
    }
    sqlite3_reset(s);
    sitetime_format_utc(ev->time_ms, ev->time);
    ev->tz_offset = sitetime_offset(ev->time_ms);
    if (event_compute_hash(ev, ev->prev_hash, ev->hash) == -1)
        return err_set(e, EX_SOFTWARE, "event: hashing failed");

    if ((s = store_stmt(st, SQL_INSERT, e)) == NULL)
        return -1;
    sqlite3_bind_int64(s, 1, ev->id);
    store_bind_text(s, 2, ev->time);
    sqlite3_bind_int64(s, 3, ev->tz_offset);
    store_bind_text(s, 4, ev->kind);
    store_bind_text(s, 5, ev->session);
    store_bind_text(s, 6, ev->room);
    store_bind_text(s, 7, ev->ticket);
    store_bind_text(s, 8, ev->device);
    store_bind_text(s, 9, ev->operator_name);
    store_bind_text(s, 10, ev->payload);
    store_bind_text(s, 11, ev->prev_hash);
    store_bind_text(s, 12, ev->hash);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store_sqlerr(st, e, "event: insert");
    return 0;
}

static const char *col_or_null(sqlite3_stmt *s, int col)
{
    return sqlite3_column_type(s, col) == SQLITE_NULL
               ? NULL
               : (const char *)sqlite3_column_text(s, col);
}

/* A hash cell into out; one longer than a hash (which would be cut to a
 * plausible 64 digits) comes out as "", which no check takes for a hash. */
static void hash_from_row(sqlite3_stmt *s, int col,
                          char out[EVENT_HASH_HEX + 1])
{
    const char *t = store_col_text(s, col);

    if (strlen(t) > EVENT_HASH_HEX)
        t = "";
    snprintf(out, EVENT_HASH_HEX + 1, "%s", t);
}

static void event_from_row(sqlite3_stmt *s, struct event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->id = sqlite3_column_int64(s, 0);
    snprintf(ev->time, sizeof(ev->time), "%s", store_col_text(s, 1));
    ev->tz_offset = (long)sqlite3_column_int64(s, 2);
    ev->kind = col_or_null(s, 3);
    ev->session = col_or_null(s, 4);
    ev->room = col_or_null(s, 5);
    ev->ticket = col_or_null(s, 6);
    ev->device = col_or_null(s, 7);
    ev->operator_name = col_or_null(s, 8);
    ev->payload = col_or_null(s, 9);
    hash_from_row(s, 10, ev->prev_hash);
    hash_from_row(s, 11, ev->hash);
}

#define EVENT_COLS                                                             \
    "id, time, tz_offset, kind, session, room, ticket, device, operator, "     \
    "payload, prev_hash, hash"
static const char *SQL_SINCE = "SELECT " EVENT_COLS " FROM event WHERE id > ? "
                               "ORDER BY id LIMIT ?";
static const char *SQL_HEAD =
    "SELECT " EVENT_COLS " FROM event ORDER BY id DESC LIMIT 1";

int event_foreach(struct store *st, int64_t since, int64_t limit, event_fn fn,
                  void *ud, struct err *e)
{
    struct event ev;
    struct err cbe;
    sqlite3_stmt *s;
    int rc, r = 0;

    /* Not the cached statement: fn may itself read the store. */
    if (sqlite3_prepare_v2(store_db(st), SQL_SINCE, -1, &s, NULL) != SQLITE_OK)
        return store_sqlerr(st, e, "events");
    sqlite3_bind_int64(s, 1, since);
    sqlite3_bind_int64(s, 2, limit > 0 ? limit : -1);
    err_clear(&cbe);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        event_from_row(s, &ev);
        if ((r = fn(ud, &ev, &cbe)) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_sqlerr(st, e, "events");
        sqlite3_finalize(s);
        return -1;
    }
    sqlite3_finalize(s);
    if (r == -1)
        return store_callback_err(e, &cbe, "events");
    return 0;
}

json_t *event_to_json(const struct event *ev)
{
    json_t *j = json_object(), *payload;

    if (j == NULL)
        return NULL;
    payload = json_loads(ev->payload ? ev->payload : "{}", 0, NULL);
    json_object_set_new(j, "id", json_integer(ev->id));
    json_object_set_new(j, "time", json_string(ev->time));
    json_object_set_new(j, "tz_offset", json_integer(ev->tz_offset));
    json_object_set_new(j, "kind", json_string(ev->kind));
#define OPT(name, v)                                                           \
    json_object_set_new(j, name, (v) ? json_string(v) : json_null())
    OPT("session", ev->session);
    OPT("room", ev->room);
    OPT("ticket", ev->ticket);
    OPT("device", ev->device);
    OPT("operator", ev->operator_name);
#undef OPT
    json_object_set_new(j, "payload", payload ? payload : json_object());
    json_object_set_new(j, "prev_hash", json_string(ev->prev_hash));
    json_object_set_new(j, "hash", json_string(ev->hash));
    return j;
}

int64_t event_last_id(struct store *st, struct err *e)
{
    sqlite3_stmt *s;
    int64_t id = 0;
    int rc;

    if ((s = store_stmt(st, SQL_LAST, e)) == NULL)
        return -1;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        id = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sqlerr(st, e, "event: last");
    return id;
}

json_t *event_account_json(long long uid, const char *user)
{
    json_t *j = json_object();

    if (j == NULL ||
        json_object_set_new(j, "uid", json_integer((json_int_t)uid)) == -1 ||
        (user != NULL &&
         json_object_set_new(j, "user", json_string(user)) == -1)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static const char damage_hash[] = "its hash is not 64 lower-case hex digits";
static const char damage_prev[] =
    "its prev_hash is not 64 lower-case hex digits";
static const char damage_edited[] = "contents do not match its hash (edited)";

/* Why the row is not sound as a chain link, or NULL when it is. */
static const char *row_damage(const struct event *ev)
{
    char h[EVENT_HASH_HEX + 1];

    if (!chain_hash_valid(ev->hash))
        return damage_hash;
    if (!chain_hash_valid(ev->prev_hash))
        return damage_prev;
    if (event_compute_hash(ev, ev->prev_hash, h) == -1 ||
        strcmp(h, ev->hash) != 0)
        return damage_edited;
    return NULL;
}

int event_check_head(struct store *st, struct err *e)
{
    const char *why = NULL;
    struct event ev;
    sqlite3_stmt *s;
    int rc;

    if ((s = store_stmt(st, SQL_HEAD, e)) == NULL)
        return -1;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        event_from_row(s, &ev);
        why = row_damage(&ev);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sqlerr(st, e, "event: head");
    if (why != NULL)
        return err_set(e, EX_DATAERR,
                       "event %" PRId64 ", the last one, is damaged: %s; "
                       "nothing can be appended after it (see 'examctl "
                       "verify')",
                       ev.id, why);
    return 0;
}

struct verify_walk {
    struct event_verify *r;
    int64_t expect_id;
    char prev[EVENT_HASH_HEX + 1];
};

static int verify_row(void *ud, const struct event *ev, struct err *e)
{
    struct verify_walk *w = ud;
    const char *why;

    (void)e;
    w->r->checked++;
    if (ev->id != w->expect_id) {
        w->r->bad_id = ev->id;
        snprintf(w->r->reason, sizeof(w->r->reason),
                 ev->id > w->expect_id
                     ? "event %" PRId64 " follows event %" PRId64
                       ": rows are missing (deleted)"
                     : "event %" PRId64 " out of order after %" PRId64,
                 ev->id, w->expect_id - 1);
        return 1;
    }
    if (strcmp(ev->prev_hash, w->prev) != 0) {
        w->r->bad_id = ev->id;
        snprintf(
            w->r->reason, sizeof(w->r->reason),
            "event %" PRId64 ": prev_hash does not match the hash of "
            "the event before it (a row was inserted, removed or replaced)",
            ev->id);
        return 1;
    }
    if ((why = row_damage(ev)) != NULL) {
        w->r->bad_id = ev->id;
        snprintf(w->r->reason, sizeof(w->r->reason), "event %" PRId64 ": %s%s",
                 ev->id, why, why == damage_edited ? "" : " (damaged)");
        return 1;
    }
    memcpy(w->prev, ev->hash, sizeof(w->prev));
    memcpy(w->r->head_hash, ev->hash, sizeof(w->r->head_hash));
    w->r->last_id = ev->id;
    w->expect_id++;
    return 0;
}

static int verify_tail(struct store *st, struct event_verify *r, struct err *e)
{
    sqlite3_stmt *s;
    int64_t seq = 0;
    int rc;

    if (sqlite3_prepare_v2(
            store_db(st),
            "SELECT seq FROM sqlite_sequence WHERE name = 'event'", -1, &s,
            NULL) != SQLITE_OK)
        return store_sqlerr(st, e, "verify");
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        seq = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sqlerr(st, e, "verify");
    if (seq != r->last_id) {
        r->bad_id = r->last_id + 1;
        snprintf(r->reason, sizeof(r->reason),
                 "events up to %" PRId64
                 " were written but the log ends at %" PRId64
                 ": rows at the end were deleted",
                 seq, r->last_id);
        return 1;
    }
    return 0;
}

/* The reference tables against the newest digest the chain holds. */
static int verify_reference(struct store *st, struct event_verify *r,
                            struct err *e)
{
    struct refdigest_result rr;
    int rc;

    if ((rc = refdigest_compare(st, &rr, e)) == -1)
        return -1;
    r->ref_id = rr.event_id;
    r->ref_unrecorded = rr.unrecorded;
    if (rc == 1) {
        r->bad_table = rr.table;
        if (rr.table == NULL) /* a malformed digest: that row is wrong */
            r->bad_id = rr.event_id;
        snprintf(r->reason, sizeof(r->reason), "%s", rr.reason);
    }
    return 0;
}

int event_verify(struct store *st, struct event_verify *r, struct err *e)
{
    struct verify_walk w;
    int rc;

    memset(r, 0, sizeof(*r));
    memset(&w, 0, sizeof(w));
    w.r = r;
    w.expect_id = 1;
    memcpy(w.prev, chain_zero_hash, sizeof(w.prev));
    /* One read transaction, so the walk sees one consistent snapshot. */
    if (store_exec(st, "BEGIN", e) == -1)
        return -1;
    rc = event_foreach(st, 0, 0, verify_row, &w, e);
    if (rc == 0 && r->reason[0] == '\0')
        rc = verify_tail(st, r, e);
    if (rc == 0 && r->reason[0] == '\0' && r->checked == 0)
        snprintf(r->reason, sizeof(r->reason),
                 "the event log is empty, not even site.created: this is not "
                 "a site's record");
    if (rc == 0 && r->reason[0] == '\0')
        rc = verify_reference(st, r, e);
    store_exec(st, "COMMIT", NULL);
    if (rc == -1)
        return -1;
    return r->reason[0] != '\0' ? 1 : 0;
}
