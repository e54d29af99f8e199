/*
 * cstore.h: examcentral's store, one small interface with two backends:
 * SQLite (cstore_sqlite.c, "sqlite:PATH", the default) and PostgreSQL
 * (cstore_pg.c, "postgresql://…" or "postgres://…", libpq, events in bulk
 * with COPY).  Both run the same schema migrations
 * (central/migrations/NNN_*.sql, embedded at build time) and store the
 * same rows.
 *
 * A batch is stored inside one transaction: begin, cursor_get (which
 * sees what committed before, and under SQLite holds the write lock),
 * event_add for each event, batch_put (the batch row and the station's
 * new cursor), commit.  Anything failing in between is rolled back and
 * nothing of the batch remains.  All functions return 0 or -1 with e,
 * lookups 1 found / 0 not found / -1.
 */
#ifndef EXAMSITE_CSTORE_H
#define EXAMSITE_CSTORE_H

#include <stdint.h>

#include "err.h"
#include "record.h"

struct cstore;

struct cstore_cursor {
    int64_t seq;        /* last batch stored, 0 before the first */
    int64_t last_event; /* its last event, 0 before the first */
    char chain_hash[CHAIN_HASH_HEX + 1]; /* that event's hash, or zeros */
};

struct cstore_batch {
    int64_t seq, first_event, last_event, count;
    char prev_chain_hash[CHAIN_HASH_HEX + 1];
    char last_chain_hash[CHAIN_HASH_HEX + 1];
    char payload_sha256[CHAIN_HASH_HEX + 1];
    char body_sha256[CHAIN_HASH_HEX + 1];
};

/* One stored event as reports read it (borrowed for the call). */
struct cstore_row {
    const char *site, *station, *kind, *session, *room, *ticket, *payload;
};
typedef int (*cstore_row_fn)(void *arg, const struct cstore_row *r,
                             struct err *e);

/* One result of an exam (results.h). */
struct cstore_result {
    const char *site, *session, *ticket, *score; /* score may be NULL */
    int passed;
    const char *file_sha256;
    int line;
    const char *imported; /* UTC ISO 8601 */
};
typedef int (*cstore_result_fn)(void *arg, const struct cstore_result *r,
                                struct err *e);

/* One kept biweekly report (biweekly.h); report is its JSON text. */
struct cstore_biweekly {
    const char *period_start, *period_end, *generated, *how, *report;
};
typedef int (*cstore_biweekly_fn)(void *arg, const struct cstore_biweekly *b,
                                  struct err *e);

struct cstore_ops {
    const char *name;
    void (*close)(struct cstore *s);
    int (*begin)(struct cstore *s, struct err *e);
    int (*commit)(struct cstore *s, struct err *e);
    void (*rollback)(struct cstore *s);
    int (*cursor_get)(struct cstore *s, const char *site, const char *station,
                      struct cstore_cursor *c, struct err *e);
    int (*batch_get)(struct cstore *s, const char *site, const char *station,
                     int64_t seq, struct cstore_batch *b, struct err *e);
    int (*event_add)(struct cstore *s, const char *site, const char *station,
                     int64_t seq, const struct chain_row *r,
                     const char *prev_hash, const char *hash, struct err *e);
    int (*batch_put)(struct cstore *s, const char *site, const char *station,
                     const struct cstore_batch *b, const char *received,
                     struct err *e);
    /* Every event whose kind is in kinds (NULL-terminated), in (site,
     * station, id) order. */
    int (*rows)(struct cstore *s, const char *const *kinds, cstore_row_fn fn,
                void *arg, struct err *e);
    /* Insert or replace a result (inside begin/commit). */
    int (*result_put)(struct cstore *s, const struct cstore_result *r,
                      struct err *e);
    /* Every result, in (site, session, ticket) order. */
    int (*results)(struct cstore *s, cstore_result_fn fn, void *arg,
                   struct err *e);
    /* Insert or replace the report of period_end. */
    int (*biweekly_put)(struct cstore *s, const struct cstore_biweekly *b,
                        struct err *e);
    /* The kept reports in period order; with period_end not NULL, that
     * one only (with_report: the JSON text too, else report is NULL). */
    int (*biweekly_rows)(struct cstore *s, const char *period_end,
                         int with_report, cstore_biweekly_fn fn, void *arg,
                         struct err *e);
    /* Events stored for site/station (for tests and status). */
    int64_t (*count_events)(struct cstore *s, struct err *e);
};

struct cstore {
    const struct cstore_ops *ops;
};

/* Open the store named by spec ("sqlite:PATH", "postgresql://…"), migrate
 * it to this build's schema.  NULL with e. */
struct cstore *cstore_open(const char *spec, struct err *e);
void cstore_close(struct cstore *s); /* accepts NULL */

struct cstore *cstore_sqlite_open(const char *path, struct err *e);
struct cstore *cstore_pg_open(const char *conninfo, struct err *e);

/* The embedded migrations, for both backends. */
struct cstore_migration {
    int version;
    const char *name;
    const char *sql;
};
const struct cstore_migration *cstore_migrations(int *n);

#endif
