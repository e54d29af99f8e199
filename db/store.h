/*
 * store.h: the site database, shared by examsited, examctl and examcentral.
 *
 * One struct store wraps one SQLite connection: WAL, synchronous=FULL,
 * foreign keys on, a busy timeout so two processes queue rather than fail,
 * and the schema brought up to date by the numbered migrations in
 * db/migrations (PRAGMA user_version).  Only the owners migrate: `examctl
 * init` (STORE_CREATE), the daemon and `examctl migrate` (flags 0).  Readers
 * open STORE_READONLY (no write lock, ever: under WAL they never wait for a
 * writer) and examctl's writers STORE_NOMIGRATE; both refuse a schema other
 * than this build's, with what to run.  Writes happen inside
 * store_begin()/store_commit(), which take the write lock up front
 * (BEGIN IMMEDIATE): whatever a writer reads inside its transaction (the
 * last event's hash, a uniqueness check) stays true until it commits.
 *
 * The per-table modules (event.h, site.h, session.h, roster.h, report.h)
 * take a struct store and use store_stmt() for cached prepared statements.
 */
#ifndef EXAMSITE_STORE_H
#define EXAMSITE_STORE_H

#include <sqlite3.h>

#include "err.h"

#define STORE_CREATE    0x1   /* create the file if missing */
#define STORE_READONLY  0x2   /* open read-only, no migrations */
#define STORE_NOMIGRATE 0x4   /* read-write, but no migrations */
#define STORE_BUSY_MS   10000 /* how long a writer waits for the lock */

struct store;

/*
 * Open (and with STORE_CREATE create) path.  Without STORE_READONLY or
 * STORE_NOMIGRATE, apply pending migrations (under the write lock); with
 * either, the schema must be this build's: an older one is EX_NOINPUT
 * ("run 'examctl migrate' (or start the daemon)"), a newer one EX_SOFTWARE
 * ("upgrade examsite").  A missing file without STORE_CREATE is EX_NOINPUT;
 * a write lock held by another process for longer than the busy timeout
 * is EX_TEMPFAIL.
 */
int store_open(struct store **out, const char *path, int flags, struct err *e);

/* Finalise cached statements and close.  Accepts NULL. */
void store_close(struct store *st);

/* How long a statement waits for another process's lock before it fails
 * with EX_TEMPFAIL (0: not at all).  The daemon's loop never waits. */
void store_set_busy_timeout(struct store *st, int ms);

sqlite3 *store_db(struct store *st);
const char *store_path(const struct store *st);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK.  Not nested: beginning inside a
 * transaction is a programming error (EX_SOFTWARE). */
int store_begin(struct store *st, struct err *e);
int store_commit(struct store *st, struct err *e);
void store_rollback(struct store *st);
int store_in_txn(const struct store *st);

/*
 * A prepared statement for sql, cached for the life of the store and keyed
 * by the pointer: pass a string literal or other static string.  The
 * statement comes back reset with bindings cleared.  NULL on error.
 */
sqlite3_stmt *store_stmt(struct store *st, const char *sql, struct err *e);

/* Fill e from the connection's last error: "what: sqlite message". */
int store_sqlerr(struct store *st, struct err *e, const char *what);

/* Run SQL with no results (pragmas, DDL). */
int store_exec(struct store *st, const char *sql, struct err *e);

/* The schema version now in the database, and the newest this build knows. */
int store_schema_version(struct store *st);
int store_schema_latest(void);

/* The schema version the database had when store_open found it, before
 * any migration (0 for a file it created). */
int store_schema_found(const struct store *st);

/* Apply pending migrations on db (used by store_open).  0 or -1; with
 * from, *from is the version found under the write lock. */
int migrate_apply(sqlite3 *db, struct err *e);
int migrate_run(sqlite3 *db, int *from, struct err *e);
int migrate_latest(void);

/*
 * The account that writes through this store (examctl: its real uid and
 * login name), recorded on the events of reference changes (refdigest.h).
 * user NULL or "" when unknown.  Unset (uid -1) by default: the daemon
 * records its clients' accounts itself.
 */
struct store_account {
    long long uid; /* -1: none */
    char user[64]; /* "" when unknown */
};
void store_set_account(struct store *st, long long uid, const char *user);

/* The account set by store_set_account, or NULL. */
const struct store_account *store_account(const struct store *st);

/*
 * Checkpoints: a long-running writer (the daemon) turns automatic WAL
 * checkpoints off so that none lands inside a check-in's commit, and calls
 * store_checkpoint() when it is idle.  PASSIVE: never waits for readers.
 */
int store_autocheckpoint(struct store *st, int pages, struct err *e);
int store_checkpoint(struct store *st, struct err *e);

/* Frames in the WAL after the last commit (0 after a checkpoint). */
int store_wal_pages(const struct store *st);

/* Bind text, or NULL when s is NULL. */
int store_bind_text(sqlite3_stmt *s, int idx, const char *text);

/* Column text as a C string, "" for NULL. */
const char *store_col_text(sqlite3_stmt *s, int col);

/*
 * The foreach helpers (event_foreach, session_foreach, candidate_foreach,
 * attendance_absentees, report_status) give their callback a struct err of
 * its own, never NULL.  When the callback returns -1, the helper fails with
 * the callback's error as it left it (so the real cause is reported once),
 * or "WHAT: callback failed" (EX_SOFTWARE) if it left it empty.  Returns -1.
 */
int store_callback_err(struct err *e, const struct err *cbe, const char *what);

#endif
