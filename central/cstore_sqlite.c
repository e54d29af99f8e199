/*
 * cstore_sqlite.c: the office's store on SQLite (WAL, synchronous=FULL).
 * A batch's transaction is BEGIN IMMEDIATE, so the cursor it reads stays
 * true until it commits, even with a second examcentral on the file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cstore.h"

enum {
    Q_CURSOR,
    Q_BATCH,
    Q_EVENT,
    Q_BATCH_PUT,
    Q_CURSOR_PUT,
    Q_COUNT,
    Q_RESULT_PUT,
    Q_BIWEEKLY_PUT,
    Q_N
};

static const char *const sql[Q_N] = {
    "SELECT seq, last_event, chain_hash FROM station_cursor "
    "WHERE site = ? AND station = ?",
    "SELECT first_event, last_event, count, prev_chain_hash, "
    "last_chain_hash, payload_sha256, body_sha256 FROM batch "
    "WHERE site = ? AND station = ? AND seq = ?",
    "INSERT INTO event (site, station, id, seq, time, tz_offset, kind, "
    "session, room, ticket, device, operator, payload, prev_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO batch (site, station, seq, first_event, last_event, count, "
    "prev_chain_hash, last_chain_hash, payload_sha256, body_sha256, "
    "received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO station_cursor (site, station, seq, last_event, chain_hash, "
    "updated) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (site, station) DO "
    "UPDATE SET seq = excluded.seq, last_event = excluded.last_event, "
    "chain_hash = excluded.chain_hash, updated = excluded.updated",
    "SELECT count(*) FROM event",
    "INSERT INTO result (site, session, ticket, score, passed, file_sha256, "
    "line, imported) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site, "
    "session, ticket) DO UPDATE SET score = excluded.score, passed = "
    "excluded.passed, file_sha256 = excluded.file_sha256, line = "
    "excluded.line, imported = excluded.imported",
    "INSERT INTO biweekly (period_end, period_start, generated, how, report) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (period_end) DO UPDATE SET "
    "period_start = excluded.period_start, generated = excluded.generated, "
    "how = excluded.how, report = excluded.report",
};

struct sq {
    struct cstore base;
    sqlite3 *db;
    sqlite3_stmt *q[Q_N];
};

static int sqerr(struct sq *s, struct err *e, const char *what)
{
    int rc = sqlite3_errcode(s->db) & 0xff;

    return err_set(e,
                   rc == SQLITE_BUSY || rc == SQLITE_LOCKED  ? EX_TEMPFAIL
                   : rc == SQLITE_IOERR || rc == SQLITE_FULL ? EX_IOERR
                                                             : EX_SOFTWARE,
                   "store: %s: %s", what, sqlite3_errmsg(s->db));
}

static sqlite3_stmt *stmt(struct sq *s, int i, struct err *e)
{
    if (s->q[i] == NULL &&
        sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                           &s->q[i], NULL) != SQLITE_OK) {
        sqerr(s, e, "prepare");
        return NULL;
    }
    sqlite3_reset(s->q[i]);
    sqlite3_clear_bindings(s->q[i]);
    return s->q[i];
}

static int exec(struct sq *s, const char *q, struct err *e)
{
    if (sqlite3_exec(s->db, q, NULL, NULL, NULL) != SQLITE_OK)
        return sqerr(s, e, q);
    return 0;
}

static void sq_close(struct cstore *cs)
{
    struct sq *s = (struct sq *)cs;
    int i;

    for (i = 0; i < Q_N; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
    free(s);
}

static int sq_begin(struct cstore *cs, struct err *e)
{
    return exec((struct sq *)cs, "BEGIN IMMEDIATE", e);
}

static int sq_commit(struct cstore *cs, struct err *e)
{
    return exec((struct sq *)cs, "COMMIT", e);
}

static void sq_rollback(struct cstore *cs)
{
    struct sq *s = (struct sq *)cs;

    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static void text(sqlite3_stmt *q, int i, const char *v)
{
    if (v == NULL)
        sqlite3_bind_null(q, i);
    else
        sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

static void copy_hash(char *dst, sqlite3_stmt *q, int col)
{
    const char *t = (const char *)sqlite3_column_text(q, col);

    snprintf(dst, CHAIN_HASH_HEX + 1, "%s", t ? t : "");
}

static int sq_cursor_get(struct cstore *cs, const char *site,
                         const char *station, struct cstore_cursor *c,
                         struct err *e)
{
    struct sq *s = (struct sq *)cs;
    sqlite3_stmt *q;
    int rc;

    memset(c, 0, sizeof(*c));
    memcpy(c->chain_hash, chain_zero_hash, sizeof(c->chain_hash));
    if ((q = stmt(s, Q_CURSOR, e)) == NULL)
        return -1;
    text(q, 1, site);
    text(q, 2, station);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        c->seq = sqlite3_column_int64(q, 0);
        c->last_event = sqlite3_column_int64(q, 1);
        copy_hash(c->chain_hash, q, 2);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sqerr(s, e, "cursor");
    return rc == SQLITE_ROW;
}

static int sq_batch_get(struct cstore *cs, const char *site,
                        const char *station, int64_t seq,
                        struct cstore_batch *b, struct err *e)
{
    struct sq *s = (struct sq *)cs;
    sqlite3_stmt *q;
    int rc;

    memset(b, 0, sizeof(*b));
    if ((q = stmt(s, Q_BATCH, e)) == NULL)
        return -1;
    text(q, 1, site);
    text(q, 2, station);
    sqlite3_bind_int64(q, 3, seq);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        b->seq = seq;
        b->first_event = sqlite3_column_int64(q, 0);
        b->last_event = sqlite3_column_int64(q, 1);
        b->count = sqlite3_column_int64(q, 2);
        copy_hash(b->prev_chain_hash, q, 3);
        copy_hash(b->last_chain_hash, q, 4);
        copy_hash(b->payload_sha256, q, 5);
        copy_hash(b->body_sha256, q, 6);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sqerr(s, e, "batch");
    return rc == SQLITE_ROW;
}

static int sq_event_add(struct cstore *cs, const char *site,
                        const char *station, int64_t seq,
                        const struct chain_row *r, const char *prev_hash,
                        const char *hash, struct err *e)
{
    struct sq *s = (struct sq *)cs;
    sqlite3_stmt *q;
    int rc;

    if ((q = stmt(s, Q_EVENT, e)) == NULL)
        return -1;
    text(q, 1, site);
    text(q, 2, station);
    sqlite3_bind_int64(q, 3, r->id);
    sqlite3_bind_int64(q, 4, seq);
    text(q, 5, r->time);
    sqlite3_bind_int64(q, 6, r->tz_offset);
    text(q, 7, r->kind);
    text(q, 8, r->session);
    text(q, 9, r->room);
    text(q, 10, r->ticket);
    text(q, 11, r->device);
    text(q, 12, r->operator_name);
    text(q, 13, r->payload);
    text(q, 14, prev_hash);
    text(q, 15, hash);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return sqerr(s, e, "event");
    return 0;
}

static int sq_batch_put(struct cstore *cs, const char *site,
                        const char *station, const struct cstore_batch *b,
                        const char *received, struct err *e)
{
    struct sq *s = (struct sq *)cs;
    sqlite3_stmt *q;
    int rc;

    if ((q = stmt(s, Q_BATCH_PUT, e)) == NULL)
        return -1;
    text(q, 1, site);
    text(q, 2, station);
    sqlite3_bind_int64(q, 3, b->seq);
    sqlite3_bind_int64(q, 4, b->first_event);
    sqlite3_bind_int64(q, 5, b->last_event);
    sqlite3_bind_int64(q, 6, b->count);
    text(q, 7, b->prev_chain_hash);
    text(q, 8, b->last_chain_hash);
    text(q, 9, b->payload_sha256);
    text(q, 10, b->body_sha256);
    text(q, 11, received);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return sqerr(s, e, "batch");
    if ((q = stmt(s, Q_CURSOR_PUT, e)) == NULL)
        return -1;
    text(q, 1, site);
    text(q, 2, station);
    sqlite3_bind_int64(q, 3, b->seq);
    sqlite3_bind_int64(q, 4, b->last_event);
    text(q, 5, b->last_chain_hash);
    text(q, 6, received);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return sqerr(s, e, "cursor");
    return 0;
}

static int sq_rows(struct cstore *cs, const char *const *kinds,
                   cstore_row_fn fn, void *arg, struct err *e)
{
    struct sq *s = (struct sq *)cs;
    char q[1024] = "SELECT site, station, kind, session, room, ticket, "
                   "payload FROM event WHERE kind IN (";
    struct cstore_row r;
    struct err cbe;
    sqlite3_stmt *st;
    int i, rc, stop = 0;

    for (i = 0; kinds[i] != NULL && i < 32; i++)
        strcat(q, i ? ", ?" : "?");
    strcat(q, ") ORDER BY site, station, id");
    if (sqlite3_prepare_v2(s->db, q, -1, &st, NULL) != SQLITE_OK)
        return sqerr(s, e, "report");
    for (i = 0; kinds[i] != NULL && i < 32; i++)
        sqlite3_bind_text(st, i + 1, kinds[i], -1, SQLITE_STATIC);
    err_clear(&cbe);
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        r.site = (const char *)sqlite3_column_text(st, 0);
        r.station = (const char *)sqlite3_column_text(st, 1);
        r.kind = (const char *)sqlite3_column_text(st, 2);
        r.session = (const char *)sqlite3_column_text(st, 3);
        r.room = (const char *)sqlite3_column_text(st, 4);
        r.ticket = (const char *)sqlite3_column_text(st, 5);
        r.payload = (const char *)sqlite3_column_text(st, 6);
        if (fn(arg, &r, &cbe) == -1) {
            sqlite3_finalize(st);
            if (e != NULL)
                *e = cbe;
            return -1;
        }
    }
    if (rc != SQLITE_DONE) {
        sqerr(s, e, "report");
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

static int64_t sq_count(struct cstore *cs, struct err *e)
{
    struct sq *s = (struct sq *)cs;
    sqlite3_stmt *q;
    int64_t n = -1;

    if ((q = stmt(s, Q_COUNT, e)) == NULL)
        return -1;
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    else
        sqerr(s, e, "count");
    sqlite3_reset(q);
    return n;
}

static int sq_result_put(struct cstore *cs, const struct cstore_result *r,
                         struct err *e)
{
    struct sq *s = (struct sq *)cs;
    sqlite3_stmt *q;
    int rc;

    if ((q = stmt(s, Q_RESULT_PUT, e)) == NULL)
        return -1;
    text(q, 1, r->site);
    text(q, 2, r->session);
    text(q, 3, r->ticket);
    text(q, 4, r->score);
    sqlite3_bind_int(q, 5, r->passed);
    text(q, 6, r->file_sha256);
    sqlite3_bind_int(q, 7, r->line);
    text(q, 8, r->imported);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return sqerr(s, e, "result");
    return 0;
}

/* Step q to the end, giving each row to each(arg, q); finalizes q. */
static int each_row(struct sq *s, sqlite3_stmt *q,
                    int (*each)(sqlite3_stmt *q, void *fn, void *arg,
                                struct err *e),
                    void *fn, void *arg, const char *what, struct err *e)
{
    int rc;

    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (each(q, fn, arg, e) == -1) {
            sqlite3_finalize(q);
            return -1;
        }
    if (rc != SQLITE_DONE) {
        sqerr(s, e, what);
        sqlite3_finalize(q);
        return -1;
    }
    sqlite3_finalize(q);
    return 0;
}

static int one_result(sqlite3_stmt *q, void *fn, void *arg, struct err *e)
{
    struct cstore_result r;

    r.site = (const char *)sqlite3_column_text(q, 0);
    r.session = (const char *)sqlite3_column_text(q, 1);
    r.ticket = (const char *)sqlite3_column_text(q, 2);
    r.score = (const char *)sqlite3_column_text(q, 3);
    r.passed = sqlite3_column_int(q, 4);
    r.file_sha256 = (const char *)sqlite3_column_text(q, 5);
    r.line = sqlite3_column_int(q, 6);
    r.imported = (const char *)sqlite3_column_text(q, 7);
    return ((cstore_result_fn)fn)(arg, &r, e);
}

static int sq_results(struct cstore *cs, cstore_result_fn fn, void *arg,
                      struct err *e)
{
    struct sq *s = (struct sq *)cs;
    sqlite3_stmt *q;

    if (sqlite3_prepare_v2(s->db,
                           "SELECT site, session, ticket, score, passed, "
                           "file_sha256, line, imported FROM result ORDER BY "
                           "site, session, ticket",
                           -1, &q, NULL) != SQLITE_OK)
        return sqerr(s, e, "results");
    return each_row(s, q, one_result, (void *)fn, arg, "results", e);
}

static int sq_biweekly_put(struct cstore *cs, const struct cstore_biweekly *b,
                           struct err *e)
{
    struct sq *s = (struct sq *)cs;
    sqlite3_stmt *q;
    int rc;

    if ((q = stmt(s, Q_BIWEEKLY_PUT, e)) == NULL)
        return -1;
    text(q, 1, b->period_end);
    text(q, 2, b->period_start);
    text(q, 3, b->generated);
    text(q, 4, b->how);
    text(q, 5, b->report);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return sqerr(s, e, "biweekly");
    return 0;
}

static int one_biweekly(sqlite3_stmt *q, void *fn, void *arg, struct err *e)
{
    struct cstore_biweekly b;

    b.period_end = (const char *)sqlite3_column_text(q, 0);
    b.period_start = (const char *)sqlite3_column_text(q, 1);
    b.generated = (const char *)sqlite3_column_text(q, 2);
    b.how = (const char *)sqlite3_column_text(q, 3);
    b.report = (const char *)sqlite3_column_text(q, 4);
    return ((cstore_biweekly_fn)fn)(arg, &b, e);
}

static int sq_biweekly_rows(struct cstore *cs, const char *period_end,
                            int with_report, cstore_biweekly_fn fn, void *arg,
                            struct err *e)
{
    struct sq *s = (struct sq *)cs;
    char q[256];
    sqlite3_stmt *st;

    snprintf(q, sizeof(q),
             "SELECT period_end, period_start, generated, how, %s FROM "
             "biweekly WHERE ?1 IS NULL OR period_end = ?1 ORDER BY "
             "period_end",
             with_report ? "report" : "NULL");
    if (sqlite3_prepare_v2(s->db, q, -1, &st, NULL) != SQLITE_OK)
        return sqerr(s, e, "biweekly");
    text(st, 1, period_end);
    return each_row(s, st, one_biweekly, (void *)fn, arg, "biweekly", e);
}

static const struct cstore_ops sq_ops = {
    "sqlite",      sq_close,     sq_begin,        sq_commit,        sq_rollback,
    sq_cursor_get, sq_batch_get, sq_event_add,    sq_batch_put,     sq_rows,
    sq_result_put, sq_results,   sq_biweekly_put, sq_biweekly_rows, sq_count,
};

/* Apply the migrations not yet applied, each in its own transaction. */
static int sq_migrate(struct sq *s, struct err *e)
{
    const struct cstore_migration *m;
    sqlite3_stmt *q;
    int n, i, have = 0;

    if (exec(s,
             "CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER "
             "PRIMARY KEY, name TEXT NOT NULL)",
             e) == -1 ||
        exec(s, "BEGIN IMMEDIATE", e) == -1)
        return -1;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT coalesce(max(version), 0) FROM "
                           "schema_migration",
                           -1, &q, NULL) != SQLITE_OK) {
        sq_rollback(&s->base);
        return sqerr(s, e, "migrate");
    }
    if (sqlite3_step(q) == SQLITE_ROW)
        have = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    m = cstore_migrations(&n);
    if (have > m[n - 1].version) {
        sq_rollback(&s->base);
        return err_set(e, EX_SOFTWARE,
                       "store schema %d is newer than this examcentral (%d)",
                       have, m[n - 1].version);
    }
    for (i = 0; i < n; i++) {
        char ins[128];
        if (m[i].version <= have)
            continue;
        snprintf(ins, sizeof(ins),
                 "INSERT INTO schema_migration VALUES (%d, '%s')", m[i].version,
                 m[i].name);
        if (exec(s, m[i].sql, e) == -1 || exec(s, ins, e) == -1) {
            sq_rollback(&s->base);
            return err_prefix(e, "migration %s", m[i].name);
        }
    }
    return exec(s, "COMMIT", e);
}

struct cstore *cstore_sqlite_open(const char *path, struct err *e)
{
    struct sq *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        err_set(e, EX_OSERR, "out of memory");
        return NULL;
    }
    s->base.ops = &sq_ops;
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        err_set(e, EX_CANTCREAT, "store %s: %s", path,
                s->db ? sqlite3_errmsg(s->db) : "cannot open");
        sq_close(&s->base);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (exec(s, "PRAGMA journal_mode = WAL", e) == -1 ||
        exec(s, "PRAGMA synchronous = FULL", e) == -1 ||
        sq_migrate(s, e) == -1) {
        err_prefix(e, "store %s", path);
        sq_close(&s->base);
        return NULL;
    }
    return &s->base;
}
