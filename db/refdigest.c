/*
 * refdigest.c: the digest of the reference tables, recorded on the events
 * that change them and compared with the tables by verify and at the
 * daemon's start.  The byte encoding is docs/event-chain.md's, "The
 * reference digest"; change it only with a new REFDIGEST_VERSION.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "hex.h"
#include "refdigest.h"
#include "roster.h"
#include "store.h"

const char *const refdigest_tables[REFDIGEST_NTABLES] = {
    "site",
    "session",
    "room",
    "candidate",
};

/* Each table's columns in their documented order, by primary key.  The
 * columns are named, so a column added later is outside the digest until
 * a new version says otherwise: version 2 adds the candidate's withdrawn
 * mark (migration 003). */
static const char *const table_sql[REFDIGEST_NTABLES] = {
    "SELECT id, name, station, timezone, created FROM site ORDER BY id",
    "SELECT code, certificate, level, organisation, date, start_min, "
    "end_min, opens_before, late_after, published FROM session ORDER BY code",
    "SELECT code FROM room ORDER BY code",
    "SELECT ticket, name, id_hash, id_last4, session, room, seat "
    "FROM candidate ORDER BY ticket",
};
static const char *const candidate_sql_v2 =
    "SELECT ticket, name, id_hash, id_last4, session, room, seat, withdrawn "
    "FROM candidate ORDER BY ticket";

/* The statement of table t in encoding v. */
static const char *table_query(int t, int v)
{
    if (t == REFDIGEST_NTABLES - 1 && v >= 2)
        return candidate_sql_v2;
    return table_sql[t];
}

/* The kinds that change the reference tables.  The same list, in the same
 * words, is migration 002's partial index event_reference, which SQL_NEWEST
 * uses: change both together. */
#define REF_KINDS                                                              \
    "('site.created', 'session.added', 'session.changed', "                    \
    "'roster.imported', 'roster.changed', 'roster.withdrawn')"

static const char *const ref_kinds[] = {
    "site.created",    "session.added",  "session.changed",
    "roster.imported", "roster.changed", "roster.withdrawn",
};

static const char *SQL_NEWEST =
    "SELECT id, payload FROM event "
    "WHERE kind IN " REF_KINDS " ORDER BY id DESC LIMIT 1";

int refdigest_kind(const char *kind)
{
    size_t i;

    if (kind == NULL)
        return 0;
    for (i = 0; i < sizeof(ref_kinds) / sizeof(ref_kinds[0]); i++)
        if (strcmp(kind, ref_kinds[i]) == 0)
            return 1;
    return 0;
}

/*
 * The bytes of a table go through a buffer, so that SHA-256 is fed in large
 * blocks rather than twice per column (EVP_DigestUpdate's dispatch costs
 * more than hashing a short field).
 */
struct feed {
    EVP_MD_CTX *md;
    size_t n;
    int failed;
    unsigned char buf[16384];
};

static void feed_flush(struct feed *f)
{
    if (f->n > 0 && !EVP_DigestUpdate(f->md, f->buf, f->n))
        f->failed = 1;
    f->n = 0;
}

static void feed_bytes(struct feed *f, const void *p, size_t n)
{
    if (n > sizeof(f->buf) - f->n) {
        feed_flush(f);
        if (n > sizeof(f->buf)) { /* a long value: straight through */
            if (!EVP_DigestUpdate(f->md, p, n))
                f->failed = 1;
            return;
        }
    }
    memcpy(f->buf + f->n, p, n);
    f->n += n;
}

/* One value as a type byte and, unless NULL ('N'), a 4-byte big-endian
 * length and its n bytes. */
static void feed_value(struct feed *f, char type, const void *p, size_t n)
{
    unsigned char hdr[5];

    hdr[0] = (unsigned char)type;
    if (type == 'N') {
        feed_bytes(f, hdr, 1);
        return;
    }
    hdr[1] = (unsigned char)((uint32_t)n >> 24);
    hdr[2] = (unsigned char)((uint32_t)n >> 16);
    hdr[3] = (unsigned char)((uint32_t)n >> 8);
    hdr[4] = (unsigned char)n;
    feed_bytes(f, hdr, sizeof(hdr));
    if (n > 0)
        feed_bytes(f, p, n);
}

static void feed_int(struct feed *f, long long v)
{
    char num[40];
    int n = snprintf(num, sizeof(num), "%lld", v);

    feed_value(f, 'I', num, (size_t)n);
}

/* One column of q.  Nothing is allocated: text and blobs are read in
 * place, numbers formatted on the stack. */
static void feed_column(struct feed *f, sqlite3_stmt *q, int col)
{
    const void *p;
    char num[40];
    int n;

    switch (sqlite3_column_type(q, col)) {
    case SQLITE_NULL:
        feed_value(f, 'N', NULL, 0);
        return;
    case SQLITE_INTEGER:
        feed_int(f, (long long)sqlite3_column_int64(q, col));
        return;
    case SQLITE_FLOAT:
        n = snprintf(num, sizeof(num), "%.17g", sqlite3_column_double(q, col));
        feed_value(f, 'R', num, (size_t)n);
        return;
    case SQLITE_TEXT:
        p = sqlite3_column_text(q, col); /* before _bytes: no conversion */
        feed_value(f, 'T', p, (size_t)sqlite3_column_bytes(q, col));
        return;
    default:
        p = sqlite3_column_blob(q, col);
        feed_value(f, 'B', p, (size_t)sqlite3_column_bytes(q, col));
        return;
    }
}

/* The digest fed so far, in hex; f is done with. */
static int feed_final(struct feed *f, char out[EVENT_HASH_HEX + 1],
                      struct err *e)
{
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hlen = 0;

    feed_flush(f);
    if (f->failed || !EVP_DigestFinal_ex(f->md, h, &hlen) || hlen != 32)
        return err_set(e, EX_SOFTWARE, "reference digest: SHA-256 failed");
    hex_encode(h, hlen, out);
    return 0;
}

static int digest_table(struct store *st, struct feed *f, int t, int v,
                        char out[EVENT_HASH_HEX + 1], struct err *e)
{
    sqlite3_stmt *q;
    int rc = SQLITE_DONE, i, ncol;

    if ((q = store_stmt(st, table_query(t, v), e)) == NULL)
        return -1;
    f->n = 0;
    f->failed = !EVP_DigestInit_ex(f->md, EVP_sha256(), NULL);
    ncol = sqlite3_column_count(q);
    while (!f->failed && (rc = sqlite3_step(q)) == SQLITE_ROW)
        for (i = 0; i < ncol; i++)
            feed_column(f, q, i);
    sqlite3_reset(q);
    if (f->failed)
        return err_set(e, EX_SOFTWARE, "reference digest: SHA-256 failed");
    if (rc != SQLITE_DONE)
        return store_sqlerr(st, e, "reference digest");
    return feed_final(f, out, e);
}

/* Every table in encoding v, but for the candidate table when cand (its
 * digest fed row by row) is given. */
static int compute_tables(struct store *st, int v, const char *cand,
                          struct refdigest *d, struct err *e)
{
    struct feed *f;
    int t, rc = 0;

    if (v < REFDIGEST_OLDEST || v > REFDIGEST_VERSION)
        return err_set(e, EX_SOFTWARE, "reference digest: no version %d", v);
    d->v = v;
    /* one allocation per digest, none per row */
    if ((f = malloc(sizeof(*f))) == NULL ||
        (f->md = EVP_MD_CTX_new()) == NULL) {
        free(f);
        return err_set(e, EX_OSERR, "reference digest: out of memory");
    }
    for (t = 0; t < REFDIGEST_NTABLES && rc == 0; t++)
        if (t == REFDIGEST_NTABLES - 1 && cand != NULL)
            memcpy(d->hex[t], cand, EVENT_HASH_HEX + 1);
        else
            rc = digest_table(st, f, t, v, d->hex[t], e);
    EVP_MD_CTX_free(f->md);
    free(f);
    return rc;
}

int refdigest_compute(struct store *st, struct refdigest *d, struct err *e)
{
    return compute_tables(st, REFDIGEST_VERSION, NULL, d, e);
}

int refdigest_compute_v(struct store *st, int v, struct refdigest *d,
                        struct err *e)
{
    return compute_tables(st, v, NULL, d, e);
}

/* The row stream writes the current encoding's candidate columns: a new
 * encoding changes candidate_sql_v2's columns and refdigest_rows_add's
 * together. */
_Static_assert(REFDIGEST_VERSION == 2,
               "refdigest_rows_add writes encoding 2's candidate columns");

struct refdigest_rows {
    struct feed f;
    char last[ROSTER_TICKET_MAX + 1]; /* the ticket of the row before */
    size_t n;
    int ordered; /* every row so far after the one before, by ticket */
};

struct refdigest_rows *refdigest_rows_new(void)
{
    struct refdigest_rows *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    if ((r->f.md = EVP_MD_CTX_new()) == NULL ||
        !EVP_DigestInit_ex(r->f.md, EVP_sha256(), NULL)) {
        refdigest_rows_free(r);
        return NULL;
    }
    r->ordered = 1;
    return r;
}

void refdigest_rows_add(struct refdigest_rows *r, const struct candidate *c)
{
    struct feed *f = &r->f;

    /* ORDER BY ticket compares the bytes (BINARY), as strcmp does */
    if (!r->ordered || (r->n > 0 && strcmp(c->ticket, r->last) <= 0)) {
        r->ordered = 0;
        return;
    }
    memcpy(r->last, c->ticket, sizeof(r->last));
    r->n++;
    /* the columns of candidate_sql_v2, as stored: text, the hash a blob,
     * the withdrawn mark an integer */
    feed_value(f, 'T', c->ticket, strlen(c->ticket));
    feed_value(f, 'T', c->name, strlen(c->name));
    feed_value(f, 'B', c->id_hash, IDNUMBER_HASH_LEN);
    feed_value(f, 'T', c->id_last4, strlen(c->id_last4));
    feed_value(f, 'T', c->session, strlen(c->session));
    feed_value(f, 'T', c->room, strlen(c->room));
    feed_value(f, 'T', c->seat, strlen(c->seat));
    feed_value(f, 'I', c->withdrawn ? "1" : "0", 1); /* as feed_int */
}

int refdigest_rows_ordered(const struct refdigest_rows *r)
{
    return r->ordered;
}

int refdigest_compute_rows(struct store *st, struct refdigest_rows *r,
                           struct refdigest *d, struct err *e)
{
    char cand[EVENT_HASH_HEX + 1];

    if (!r->ordered)
        return refdigest_compute(st, d, e);
    if (feed_final(&r->f, cand, e) == -1)
        return -1;
    r->ordered = 0; /* the stream is finished: a second call reads back */
    return compute_tables(st, REFDIGEST_VERSION, cand, d, e);
}

void refdigest_rows_free(struct refdigest_rows *r)
{
    if (r == NULL)
        return;
    EVP_MD_CTX_free(r->f.md);
    free(r);
}

json_t *refdigest_json(const struct refdigest *d)
{
    json_t *j = json_object();
    int t;

    if (j == NULL || json_object_set_new(j, "v", json_integer(d->v)) == -1) {
        json_decref(j);
        return NULL;
    }
    for (t = 0; t < REFDIGEST_NTABLES; t++)
        if (json_object_set_new(j, refdigest_tables[t],
                                json_string(d->hex[t])) == -1) {
            json_decref(j);
            return NULL;
        }
    return j;
}

static int hex64(const char *s)
{
    int i;

    for (i = 0; i < EVENT_HASH_HEX; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[i] == '\0';
}

int refdigest_from_json(const json_t *j, struct refdigest *d)
{
    const char *s;
    json_int_t v;
    int t;

    if (!json_is_object(j) || !json_is_integer(json_object_get(j, "v")))
        return -1;
    v = json_integer_value(json_object_get(j, "v"));
    if (v < REFDIGEST_OLDEST || v > REFDIGEST_VERSION)
        return -1;
    d->v = (int)v;
    for (t = 0; t < REFDIGEST_NTABLES; t++) {
        s = json_string_value(json_object_get(j, refdigest_tables[t]));
        if (s == NULL || !hex64(s))
            return -1;
        memcpy(d->hex[t], s, EVENT_HASH_HEX + 1);
    }
    return 0;
}

int refdigest_append(struct store *st, struct event *ev, char **payload,
                     struct err *e)
{
    struct refdigest d;

    if (!store_in_txn(st))
        return err_set(e, EX_SOFTWARE,
                       "refdigest_append outside a transaction");
    if (!refdigest_kind(ev->kind))
        return err_set(e, EX_SOFTWARE,
                       "event kind '%s' does not change the reference tables",
                       ev->kind ? ev->kind : "(null)");
    if (refdigest_compute(st, &d, e) == -1)
        return -1;
    return refdigest_append_digest(st, ev, payload, &d, e);
}

int refdigest_append_digest(struct store *st, struct event *ev, char **payload,
                            const struct refdigest *d, struct err *e)
{
    const struct store_account *a = store_account(st);
    const char *old = ev->payload;
    json_error_t jerr;
    json_t *j, *dj;
    char *text;
    int rc;

    if (!store_in_txn(st))
        return err_set(e, EX_SOFTWARE,
                       "refdigest_append outside a transaction");
    if (!refdigest_kind(ev->kind))
        return err_set(e, EX_SOFTWARE,
                       "event kind '%s' does not change the reference tables",
                       ev->kind ? ev->kind : "(null)");
    j = json_loads(*payload ? *payload : "{}", JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(j)) {
        json_decref(j);
        return err_set(e, EX_SOFTWARE, "event payload is not a JSON object");
    }
    if (a != NULL && json_object_get(j, "account") == NULL &&
        json_object_set_new(
            j, "account",
            event_account_json(a->uid, a->user[0] ? a->user : NULL)) == -1) {
        json_decref(j);
        return err_set(e, EX_OSERR, "out of memory");
    }
    if ((dj = refdigest_json(d)) == NULL ||
        json_object_set_new(j, "refdigest", dj) == -1 ||
        (text = json_dumps(j, JSON_COMPACT)) == NULL) {
        json_decref(j);
        return err_set(e, EX_OSERR, "out of memory");
    }
    json_decref(j);
    ev->payload = text;
    if ((rc = event_append(st, ev, e)) == -1) {
        ev->payload = old;
        free(text);
        return -1;
    }
    free(*payload);
    *payload = text;
    return 0;
}

/* The newest event that changed the tables and its digest: 1 found (2 when
 * it has no digest: it predates them), 0 none, -1 error or malformed. */
static int newest_digest(struct store *st, int64_t *id, struct refdigest *d,
                         struct err *e)
{
    json_t *j = NULL, *dj;
    sqlite3_stmt *q;
    int rc, ret;

    if ((q = store_stmt(st, SQL_NEWEST, e)) == NULL)
        return -1;
    rc = sqlite3_step(q);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(q);
        return 0;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(q);
        return store_sqlerr(st, e, "reference digest: newest event");
    }
    *id = sqlite3_column_int64(q, 0);
    j = json_loads(store_col_text(q, 1), 0, NULL);
    sqlite3_reset(q);
    dj = json_object_get(j, "refdigest");
    if (!json_is_object(j))
        ret = err_set(e, EX_DATAERR, "event %" PRId64 ": payload is not JSON",
                      *id);
    else if (dj == NULL)
        ret = 2;
    else if (refdigest_from_json(dj, d) == -1)
        ret = err_set(e, EX_DATAERR,
                      "event %" PRId64 ": its reference digest is malformed",
                      *id);
    else
        ret = 1;
    json_decref(j);
    return ret;
}

/* The digest of empty tables: what the record says before any change. */
static void empty_digest(struct refdigest *d)
{
    unsigned char h[32];
    unsigned int hlen = 0;
    int t;

    EVP_Digest("", 0, h, &hlen, EVP_sha256(), NULL);
    d->v = REFDIGEST_VERSION;
    for (t = 0; t < REFDIGEST_NTABLES; t++)
        hex_encode(h, sizeof(h), d->hex[t]);
}

static int compare_in_txn(struct store *st, struct refdigest_result *r,
                          struct err *e)
{
    struct refdigest want, now;
    struct err le;
    int rc, t;

    err_clear(&le);
    if ((rc = newest_digest(st, &r->event_id, &want, &le)) == -1) {
        if (le.code != EX_DATAERR) {
            if (e != NULL)
                *e = le;
            return -1;
        }
        snprintf(r->reason, sizeof(r->reason), "%.200s", le.msg);
        return 1;
    }
    if (rc == 2) {
        r->unrecorded = 1;
        return 0;
    }
    if (rc == 0)
        empty_digest(&want);
    /* in the encoding the record used: a site recorded before migration
     * 003 is compared as it was recorded */
    if (refdigest_compute_v(st, want.v, &now, e) == -1)
        return -1;
    for (t = 0; t < REFDIGEST_NTABLES; t++)
        if (strcmp(want.hex[t], now.hex[t]) != 0) {
            r->table = refdigest_tables[t];
            if (r->event_id > 0)
                snprintf(r->reason, sizeof(r->reason),
                         "roster tables differ from the record: table %s was "
                         "edited outside examctl (it does not match the "
                         "digest event %" PRId64 " recorded)",
                         r->table, r->event_id);
            else
                snprintf(r->reason, sizeof(r->reason),
                         "roster tables differ from the record: table %s was "
                         "edited outside examctl (it has rows no event "
                         "recorded)",
                         r->table);
            return 1;
        }
    return 0;
}

int refdigest_compare(struct store *st, struct refdigest_result *r,
                      struct err *e)
{
    sqlite3 *db = store_db(st);
    int own, rc;

    memset(r, 0, sizeof(*r));
    own = sqlite3_get_autocommit(db);
    if (own && store_exec(st, "BEGIN", e) == -1)
        return -1;
    rc = compare_in_txn(st, r, e);
    if (own)
        store_exec(st, "COMMIT", NULL);
    return rc;
}

int refdigest_check(struct store *st, struct err *e)
{
    struct refdigest_result r;
    int rc;

    if ((rc = refdigest_compare(st, &r, e)) == -1)
        return -1;
    if (rc == 1)
        return err_set(e, EX_DATAERR, "%s", r.reason);
    return 0;
}
