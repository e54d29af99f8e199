/*
 * cstore_pg.c: the office's store on PostgreSQL, through libpq.  A
 * batch's events go in with one COPY (text format) inside the batch's
 * transaction; the station's cursor is serialised with a transaction-level
 * advisory lock on (site, station), so two examcentrals on one database
 * store a batch once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "cstore.h"

#define COPY_CHUNK (256 * 1024)

struct pg {
    struct cstore base;
    PGconn *conn;
    int in_copy;
    char *buf; /* COPY rows not yet sent */
    size_t len;
};

static int pgerr(struct pg *p, struct err *e, const char *what,
                 const PGresult *r)
{
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(p->conn);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    char line[400];

    snprintf(line, sizeof(line), "%s", msg && *msg ? msg : "failed");
    line[strcspn(line, "\n")] = '\0';
    return err_set(e,
                   PQstatus(p->conn) != CONNECTION_OK      ? EX_UNAVAILABLE
                   : state && strncmp(state, "40", 2) == 0 ? EX_TEMPFAIL
                                                           : EX_SOFTWARE,
                   "store: %s: %s", what, line);
}

/* Run a command with text parameters; 0 or -1.  *out, when given, gets
 * the result (caller PQclear()s). */
static int run(struct pg *p, const char *q, int n, const char *const *vals,
               PGresult **out, struct err *e)
{
    PGresult *r = PQexecParams(p->conn, q, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pgerr(p, e, q, r);
        PQclear(r);
        return -1;
    }
    if (out != NULL)
        *out = r;
    else
        PQclear(r);
    return 0;
}

static void pg_close(struct cstore *cs)
{
    struct pg *p = (struct pg *)cs;

    PQfinish(p->conn);
    free(p->buf);
    free(p);
}

static int pg_begin(struct cstore *cs, struct err *e)
{
    return run((struct pg *)cs, "BEGIN", 0, NULL, NULL, e);
}

static int flush_copy(struct pg *p, struct err *e)
{
    if (p->len > 0 && PQputCopyData(p->conn, p->buf, (int)p->len) != 1)
        return pgerr(p, e, "COPY", NULL);
    p->len = 0;
    return 0;
}

/* End the COPY in progress (abort with why when not NULL). */
static int end_copy(struct pg *p, const char *why, struct err *e)
{
    PGresult *r;
    int rc = 0;

    if (!p->in_copy)
        return 0;
    p->in_copy = 0;
    if (why == NULL && flush_copy(p, e) == -1)
        why = "flush failed";
    p->len = 0;
    if (PQputCopyEnd(p->conn, why) != 1)
        rc = pgerr(p, e, "COPY end", NULL);
    while ((r = PQgetResult(p->conn)) != NULL) {
        if (why == NULL && rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = pgerr(p, e, "COPY", r);
        PQclear(r);
    }
    return why ? -1 : rc;
}

static int pg_commit(struct cstore *cs, struct err *e)
{
    struct pg *p = (struct pg *)cs;

    if (end_copy(p, NULL, e) == -1)
        return -1;
    return run(p, "COMMIT", 0, NULL, NULL, e);
}

static void pg_rollback(struct cstore *cs)
{
    struct pg *p = (struct pg *)cs;

    end_copy(p, "rolled back", NULL);
    if (PQtransactionStatus(p->conn) != PQTRANS_IDLE)
        PQclear(PQexec(p->conn, "ROLLBACK"));
}

static void copy_hash(char *dst, PGresult *r, int col)
{
    snprintf(dst, CHAIN_HASH_HEX + 1, "%s", PQgetvalue(r, 0, col));
}

static int64_t int_at(PGresult *r, int col)
{
    return strtoll(PQgetvalue(r, 0, col), NULL, 10);
}

static int pg_cursor_get(struct cstore *cs, const char *site,
                         const char *station, struct cstore_cursor *c,
                         struct err *e)
{
    struct pg *p = (struct pg *)cs;
    const char *v[2] = {site, station};
    PGresult *r;
    int found;

    memset(c, 0, sizeof(*c));
    memcpy(c->chain_hash, chain_zero_hash, sizeof(c->chain_hash));
    /* inside a batch's transaction: hold (site, station) until it ends */
    if (PQtransactionStatus(p->conn) == PQTRANS_INTRANS &&
        run(p, "SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2))", 2, v,
            NULL, e) == -1)
        return -1;
    if (run(p,
            "SELECT seq, last_event, chain_hash FROM station_cursor WHERE "
            "site = $1 AND station = $2",
            2, v, &r, e) == -1)
        return -1;
    if ((found = PQntuples(r) == 1)) {
        c->seq = int_at(r, 0);
        c->last_event = int_at(r, 1);
        copy_hash(c->chain_hash, r, 2);
    }
    PQclear(r);
    return found;
}

static int pg_batch_get(struct cstore *cs, const char *site,
                        const char *station, int64_t seq,
                        struct cstore_batch *b, struct err *e)
{
    struct pg *p = (struct pg *)cs;
    char seqs[24];
    const char *v[3] = {site, station, seqs};
    PGresult *r;
    int found;

    memset(b, 0, sizeof(*b));
    snprintf(seqs, sizeof(seqs), "%" PRId64, seq);
    if (run(p,
            "SELECT first_event, last_event, count, prev_chain_hash, "
            "last_chain_hash, payload_sha256, body_sha256 FROM batch WHERE "
            "site = $1 AND station = $2 AND seq = $3",
            3, v, &r, e) == -1)
        return -1;
    if ((found = PQntuples(r) == 1)) {
        b->seq = seq;
        b->first_event = int_at(r, 0);
        b->last_event = int_at(r, 1);
        b->count = int_at(r, 2);
        copy_hash(b->prev_chain_hash, r, 3);
        copy_hash(b->last_chain_hash, r, 4);
        copy_hash(b->payload_sha256, r, 5);
        copy_hash(b->body_sha256, r, 6);
    }
    PQclear(r);
    return found;
}

/* Append one COPY text-format field: \N for NULL, backslash escapes for
 * backslash, tab, newline and carriage return. */
static void put(struct pg *p, const char *s, int last)
{
    if (s == NULL) {
        memcpy(p->buf + p->len, "\\N", 2);
        p->len += 2;
    } else {
        for (;;) {
            size_t run = strcspn(s, "\\\t\n\r"); /* copied as they are */
            memcpy(p->buf + p->len, s, run);
            p->len += run;
            s += run;
            if (*s == '\0')
                break;
            p->buf[p->len++] = '\\';
            p->buf[p->len++] = *s == '\t'   ? 't'
                               : *s == '\n' ? 'n'
                               : *s == '\r' ? 'r'
                                            : *s;
            s++;
        }
    }
    p->buf[p->len++] = last ? '\n' : '\t';
}

static int pg_event_add(struct cstore *cs, const char *site,
                        const char *station, int64_t seq,
                        const struct chain_row *r, const char *prev_hash,
                        const char *hash, struct err *e)
{
    struct pg *p = (struct pg *)cs;
    char id[24], sq[24], off[24];
    /* a row escaped is at most twice its fields, plus separators */
    size_t need = 2 * (strlen(site) + strlen(station) + strlen(r->time) +
                       strlen(r->kind) + strlen(r->payload) +
                       (r->session ? strlen(r->session) : 0) +
                       (r->room ? strlen(r->room) : 0) +
                       (r->ticket ? strlen(r->ticket) : 0) +
                       (r->device ? strlen(r->device) : 0) +
                       (r->operator_name ? strlen(r->operator_name) : 0)) +
                  256;

    if (!p->in_copy) {
        PGresult *res =
            PQexec(p->conn, "COPY event (site, station, id, seq, time, "
                            "tz_offset, kind, session, room, ticket, "
                            "device, operator, payload, prev_hash, hash) "
                            "FROM STDIN");
        if (PQresultStatus(res) != PGRES_COPY_IN) {
            pgerr(p, e, "COPY", res);
            PQclear(res);
            return -1;
        }
        PQclear(res);
        p->in_copy = 1;
        p->len = 0;
    }
    if (p->len + need > COPY_CHUNK && flush_copy(p, e) == -1)
        return -1;
    if (need > COPY_CHUNK)
        return err_set(e, EX_SOFTWARE, "store: an event too large to copy");
    snprintf(id, sizeof(id), "%" PRId64, r->id);
    snprintf(sq, sizeof(sq), "%" PRId64, seq);
    snprintf(off, sizeof(off), "%ld", r->tz_offset);
    put(p, site, 0);
    put(p, station, 0);
    put(p, id, 0);
    put(p, sq, 0);
    put(p, r->time, 0);
    put(p, off, 0);
    put(p, r->kind, 0);
    put(p, r->session, 0);
    put(p, r->room, 0);
    put(p, r->ticket, 0);
    put(p, r->device, 0);
    put(p, r->operator_name, 0);
    put(p, r->payload, 0);
    put(p, prev_hash, 0);
    put(p, hash, 1);
    return 0;
}

static int pg_batch_put(struct cstore *cs, const char *site,
                        const char *station, const struct cstore_batch *b,
                        const char *received, struct err *e)
{
    struct pg *p = (struct pg *)cs;
    char seq[24], first[24], last[24], count[24];
    const char *v[11] = {site,
                         station,
                         seq,
                         first,
                         last,
                         count,
                         b->prev_chain_hash,
                         b->last_chain_hash,
                         b->payload_sha256,
                         b->body_sha256,
                         received};
    const char *c[6] = {site, station, seq, last, b->last_chain_hash, received};

    if (end_copy(p, NULL, e) == -1)
        return -1;
    snprintf(seq, sizeof(seq), "%" PRId64, b->seq);
    snprintf(first, sizeof(first), "%" PRId64, b->first_event);
    snprintf(last, sizeof(last), "%" PRId64, b->last_event);
    snprintf(count, sizeof(count), "%" PRId64, b->count);
    if (run(p,
            "INSERT INTO batch (site, station, seq, first_event, last_event, "
            "count, prev_chain_hash, last_chain_hash, payload_sha256, "
            "body_sha256, received) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
            "$9, $10, $11)",
            11, v, NULL, e) == -1)
        return -1;
    return run(p,
               "INSERT INTO station_cursor (site, station, seq, last_event, "
               "chain_hash, updated) VALUES ($1, $2, $3, $4, $5, $6) ON "
               "CONFLICT (site, station) DO UPDATE SET seq = excluded.seq, "
               "last_event = excluded.last_event, chain_hash = "
               "excluded.chain_hash, updated = excluded.updated",
               6, c, NULL, e);
}

static const char *val_at(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static const char *val(PGresult *r, int col)
{
    return val_at(r, 0, col);
}

static int pg_rows(struct cstore *cs, const char *const *kinds,
                   cstore_row_fn fn, void *arg, struct err *e)
{
    struct pg *p = (struct pg *)cs;
    char q[1024] = "SELECT site, station, kind, session, room, ticket, "
                   "payload FROM event WHERE kind IN (";
    struct cstore_row row;
    struct err cbe;
    PGresult *r;
    int i, n, rc = 0, failed = 0;

    for (n = 0; kinds[n] != NULL && n < 32; n++)
        snprintf(q + strlen(q), sizeof(q) - strlen(q), "%s$%d", n ? ", " : "",
                 n + 1);
    snprintf(q + strlen(q), sizeof(q) - strlen(q),
             ") ORDER BY site, station, id");
    if (!PQsendQueryParams(p->conn, q, n, NULL, kinds, NULL, NULL, 0) ||
        !PQsetSingleRowMode(p->conn))
        return pgerr(p, e, "report", NULL);
    err_clear(&cbe);
    while ((r = PQgetResult(p->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE && !failed) {
            row.site = val(r, 0);
            row.station = val(r, 1);
            row.kind = val(r, 2);
            row.session = val(r, 3);
            row.room = val(r, 4);
            row.ticket = val(r, 5);
            row.payload = val(r, 6);
            if (fn(arg, &row, &cbe) == -1) {
                failed = 1;
                if (e != NULL)
                    *e = cbe;
                rc = -1;
            }
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK &&
                   !failed) {
            rc = pgerr(p, e, "report", r);
            failed = 1;
        }
        PQclear(r);
    }
    (void)i;
    return rc;
}

static int64_t pg_count(struct cstore *cs, struct err *e)
{
    struct pg *p = (struct pg *)cs;
    PGresult *r;
    int64_t n;

    if (run(p, "SELECT count(*) FROM event", 0, NULL, &r, e) == -1)
        return -1;
    n = int_at(r, 0);
    PQclear(r);
    return n;
}

static int pg_result_put(struct cstore *cs, const struct cstore_result *r,
                         struct err *e)
{
    char passed[4], line[16];
    const char *v[8] = {r->site, r->session,     r->ticket, r->score,
                        passed,  r->file_sha256, line,      r->imported};

    snprintf(passed, sizeof(passed), "%d", r->passed ? 1 : 0);
    snprintf(line, sizeof(line), "%d", r->line);
    return run((struct pg *)cs,
               "INSERT INTO result (site, session, ticket, score, passed, "
               "file_sha256, line, imported) VALUES ($1, $2, $3, $4, $5, $6, "
               "$7, $8) ON CONFLICT (site, session, ticket) DO UPDATE SET "
               "score = excluded.score, passed = excluded.passed, "
               "file_sha256 = excluded.file_sha256, line = excluded.line, "
               "imported = excluded.imported",
               8, v, NULL, e);
}

static int pg_results(struct cstore *cs, cstore_result_fn fn, void *arg,
                      struct err *e)
{
    struct cstore_result x;
    PGresult *r;
    int i, rc = 0;

    if (run((struct pg *)cs,
            "SELECT site, session, ticket, score, passed, file_sha256, line, "
            "imported FROM result ORDER BY site, session, ticket",
            0, NULL, &r, e) == -1)
        return -1;
    for (i = 0; i < PQntuples(r) && rc == 0; i++) {
        x.site = val_at(r, i, 0);
        x.session = val_at(r, i, 1);
        x.ticket = val_at(r, i, 2);
        x.score = val_at(r, i, 3);
        x.passed = atoi(PQgetvalue(r, i, 4));
        x.file_sha256 = val_at(r, i, 5);
        x.line = atoi(PQgetvalue(r, i, 6));
        x.imported = val_at(r, i, 7);
        rc = fn(arg, &x, e);
    }
    PQclear(r);
    return rc;
}

static int pg_biweekly_put(struct cstore *cs, const struct cstore_biweekly *b,
                           struct err *e)
{
    const char *v[5] = {b->period_end, b->period_start, b->generated, b->how,
                        b->report};

    return run((struct pg *)cs,
               "INSERT INTO biweekly (period_end, period_start, generated, "
               "how, report) VALUES ($1, $2, $3, $4, $5) ON CONFLICT "
               "(period_end) DO UPDATE SET period_start = "
               "excluded.period_start, generated = excluded.generated, how = "
               "excluded.how, report = excluded.report",
               5, v, NULL, e);
}

static int pg_biweekly_rows(struct cstore *cs, const char *period_end,
                            int with_report, cstore_biweekly_fn fn, void *arg,
                            struct err *e)
{
    struct cstore_biweekly x;
    const char *v[1] = {period_end};
    PGresult *r;
    int i, rc = 0;

    if (run((struct pg *)cs,
            with_report
                ? "SELECT period_end, period_start, generated, how, report "
                  "FROM biweekly WHERE $1::text IS NULL OR period_end = $1 "
                  "ORDER BY period_end"
                : "SELECT period_end, period_start, generated, how, NULL "
                  "FROM biweekly WHERE $1::text IS NULL OR period_end = $1 "
                  "ORDER BY period_end",
            1, v, &r, e) == -1)
        return -1;
    for (i = 0; i < PQntuples(r) && rc == 0; i++) {
        x.period_end = val_at(r, i, 0);
        x.period_start = val_at(r, i, 1);
        x.generated = val_at(r, i, 2);
        x.how = val_at(r, i, 3);
        x.report = val_at(r, i, 4);
        rc = fn(arg, &x, e);
    }
    PQclear(r);
    return rc;
}

static const struct cstore_ops pg_ops = {
    "postgresql",  pg_close,     pg_begin,        pg_commit,        pg_rollback,
    pg_cursor_get, pg_batch_get, pg_event_add,    pg_batch_put,     pg_rows,
    pg_result_put, pg_results,   pg_biweekly_put, pg_biweekly_rows, pg_count,
};

static int pg_migrate(struct pg *p, struct err *e)
{
    const struct cstore_migration *m;
    PGresult *r;
    int n, i, have;

    /* quiet the "already exists" notice */
    PQclear(PQexec(p->conn, "SET client_min_messages = warning"));
    if (run(p,
            "CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER "
            "PRIMARY KEY, name TEXT NOT NULL)",
            0, NULL, NULL, e) == -1 ||
        run(p, "BEGIN", 0, NULL, NULL, e) == -1)
        return -1;
    if (run(p, "LOCK TABLE schema_migration IN EXCLUSIVE MODE", 0, NULL, NULL,
            e) == -1 ||
        run(p, "SELECT coalesce(max(version), 0) FROM schema_migration", 0,
            NULL, &r, e) == -1) {
        pg_rollback(&p->base);
        return -1;
    }
    have = (int)int_at(r, 0);
    PQclear(r);
    m = cstore_migrations(&n);
    if (have > m[n - 1].version) {
        pg_rollback(&p->base);
        return err_set(e, EX_SOFTWARE,
                       "store schema %d is newer than this examcentral (%d)",
                       have, m[n - 1].version);
    }
    for (i = 0; i < n; i++) {
        char ver[16];
        const char *v[2] = {ver, m[i].name};
        PGresult *res;
        if (m[i].version <= have)
            continue;
        snprintf(ver, sizeof(ver), "%d", m[i].version);
        res = PQexec(p->conn, m[i].sql); /* several statements */
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            pgerr(p, e, m[i].name, res);
            PQclear(res);
            pg_rollback(&p->base);
            return -1;
        }
        PQclear(res);
        if (run(p, "INSERT INTO schema_migration VALUES ($1, $2)", 2, v, NULL,
                e) == -1) {
            pg_rollback(&p->base);
            return -1;
        }
    }
    return run(p, "COMMIT", 0, NULL, NULL, e);
}

struct cstore *cstore_pg_open(const char *conninfo, struct err *e)
{
    struct pg *p = calloc(1, sizeof(*p));

    if (p == NULL || (p->buf = malloc(COPY_CHUNK)) == NULL) {
        if (p)
            free(p);
        err_set(e, EX_OSERR, "out of memory");
        return NULL;
    }
    p->base.ops = &pg_ops;
    p->conn = PQconnectdb(conninfo);
    if (PQstatus(p->conn) != CONNECTION_OK) {
        char line[300];
        snprintf(line, sizeof(line), "%s", PQerrorMessage(p->conn));
        line[strcspn(line, "\n")] = '\0';
        err_set(e, EX_UNAVAILABLE, "store: cannot connect to PostgreSQL: %s",
                line);
        pg_close(&p->base);
        return NULL;
    }
    if (pg_migrate(p, e) == -1) {
        pg_close(&p->base);
        return NULL;
    }
    return &p->base;
}
