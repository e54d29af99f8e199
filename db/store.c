/*
 * store.c: opening the site database, transactions, the statement cache.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

#define STORE_STMT_CACHE 96

struct store_cached {
    const char *sql;
    sqlite3_stmt *stmt;
};

struct store {
    sqlite3 *db;
    char *path;
    int in_txn;
    int schema_found; /* user_version at open, before migrations */
    struct store_account account;
    int wal_pages;      /* frames in the WAL after the last commit */
    int autocheckpoint; /* pages, 0 = the owner checkpoints */
    int nstmt;
    struct store_cached stmts[STORE_STMT_CACHE];
};

int store_sqlerr(struct store *st, struct err *e, const char *what)
{
    int rc = sqlite3_extended_errcode(st->db);
    int code = EX_SOFTWARE;

    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        code = EX_TEMPFAIL;
    else if ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL)
        code = EX_IOERR;
    else if ((rc & 0xff) == SQLITE_CANTOPEN)
        code = EX_CANTCREAT;
    else if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
        code = EX_DATAERR;
    return err_set(e, code, "%s: %s", what, sqlite3_errmsg(st->db));
}

int store_exec(struct store *st, const char *sql, struct err *e)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return store_sqlerr(st, e, sql);
    return 0;
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct store *st = arg;

    (void)db;
    (void)name;
    st->wal_pages = pages;
    /* What sqlite3_wal_autocheckpoint would do, unless it was turned off. */
    if (st->autocheckpoint > 0 && pages >= st->autocheckpoint)
        sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
                                  NULL);
    return SQLITE_OK;
}

/* For STORE_READONLY and STORE_NOMIGRATE: the schema must be this one. */
static int schema_current(struct store *st, struct err *e)
{
    int v = store_schema_version(st), latest = migrate_latest();

    st->schema_found = v;
    if (v == -1)
        return store_sqlerr(st, e, "schema version");
    if (v == 0)
        return err_set(e, EX_NOINPUT,
                       "it has no schema: not a site database (run 'examctl "
                       "init' for a new one)");
    if (v < latest)
        return err_set(e, EX_NOINPUT,
                       "its schema (%d) is older than this program's (%d): "
                       "run 'examctl migrate' (or start the daemon)",
                       v, latest);
    if (v > latest)
        return err_set(e, EX_SOFTWARE,
                       "database schema %d is newer than this program (%d): "
                       "upgrade examsite",
                       v, latest);
    return 0;
}

int store_open(struct store **out, const char *path, int flags, struct err *e)
{
    struct store *st;
    struct stat sb;
    int oflags, rc;

    *out = NULL;
    if (!(flags & STORE_CREATE) && stat(path, &sb) == -1)
        return err_errno(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
                         "database %s", path);
    if ((st = calloc(1, sizeof(*st))) == NULL ||
        (st->path = strdup(path)) == NULL) {
        free(st);
        return err_errno(e, EX_OSERR, "store");
    }
    oflags =
        (flags & STORE_READONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (flags & STORE_CREATE)
        oflags |= SQLITE_OPEN_CREATE;
    oflags |= SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
        err_set(e, EX_CANTCREAT, "database %s: %s", path,
                st->db ? sqlite3_errmsg(st->db) : "out of memory");
        store_close(st);
        return -1;
    }
    sqlite3_extended_result_codes(st->db, 1);
    st->account.uid = -1;
    st->autocheckpoint = 1000;
    sqlite3_wal_hook(st->db, wal_hook, st);
    sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
    if ((flags & STORE_CREATE) &&
        store_exec(st, "PRAGMA page_size=4096", e) == -1) {
        store_close(st);
        return -1;
    }
    if (!(flags & STORE_READONLY) &&
        (store_exec(st, "PRAGMA journal_mode=WAL", e) == -1 ||
         store_exec(st, "PRAGMA synchronous=FULL", e) == -1)) {
        err_prefix(e, "database %s", path);
        store_close(st);
        return -1;
    }
    if (flags & (STORE_READONLY | STORE_NOMIGRATE))
        rc = schema_current(st, e);
    else
        rc = migrate_run(st->db, &st->schema_found, e);
    if (rc == -1) {
        err_prefix(e, "database %s", path);
        store_close(st);
        return -1;
    }
    if (store_exec(st, "PRAGMA foreign_keys=ON", e) == -1) {
        store_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

void store_close(struct store *st)
{
    int i;

    if (st == NULL)
        return;
    for (i = 0; i < st->nstmt; i++)
        sqlite3_finalize(st->stmts[i].stmt);
    if (st->in_txn)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(st->db);
    free(st->path);
    free(st);
}

void store_set_busy_timeout(struct store *st, int ms)
{
    sqlite3_busy_timeout(st->db, ms);
}

sqlite3 *store_db(struct store *st)
{
    return st->db;
}

const char *store_path(const struct store *st)
{
    return st->path;
}

/*
 * BEGIN and COMMIT, prepared once like every other statement: a check-in
 * is short enough that parsing them again each time shows in its latency
 * (bench/station).
 */
static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";

static int store_step_once(struct store *st, const char *sql, struct err *e)
{
    sqlite3_stmt *s = store_stmt(st, sql, e);
    int rc;

    if (s == NULL)
        return -1;
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        store_sqlerr(st, e, sql);
        sqlite3_reset(s);
        return -1;
    }
    sqlite3_reset(s);
    return 0;
}

int store_begin(struct store *st, struct err *e)
{
    struct err le;

    if (st->in_txn)
        return err_set(e, EX_SOFTWARE, "store_begin inside a transaction");
    if (store_step_once(st, SQL_BEGIN, &le) == -1) {
        if (le.code == EX_TEMPFAIL)
            return err_set(e, EX_TEMPFAIL,
                           "database %s: another process kept it locked for "
                           "writing (%s): try again when it has finished",
                           st->path, sqlite3_errmsg(st->db));
        if (e != NULL)
            *e = le;
        return -1;
    }
    st->in_txn = 1;
    return 0;
}

int store_commit(struct store *st, struct err *e)
{
    if (!st->in_txn)
        return err_set(e, EX_SOFTWARE, "store_commit outside a transaction");
    if (store_step_once(st, SQL_COMMIT, e) == -1) {
        store_rollback(st);
        return -1;
    }
    st->in_txn = 0;
    return 0;
}

void store_rollback(struct store *st)
{
    if (!st->in_txn)
        return;
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    st->in_txn = 0;
}

int store_in_txn(const struct store *st)
{
    return st->in_txn;
}

sqlite3_stmt *store_stmt(struct store *st, const char *sql, struct err *e)
{
    sqlite3_stmt *s;
    int i;

    for (i = 0; i < st->nstmt; i++)
        if (st->stmts[i].sql == sql) {
            s = st->stmts[i].stmt;
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            return s;
        }
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
                           NULL) != SQLITE_OK) {
        store_sqlerr(st, e, "prepare");
        return NULL;
    }
    if (st->nstmt < STORE_STMT_CACHE) {
        st->stmts[st->nstmt].sql = sql;
        st->stmts[st->nstmt].stmt = s;
        st->nstmt++;
    } else {
        sqlite3_finalize(s);
        err_set(e, EX_SOFTWARE, "statement cache full");
        return NULL;
    }
    return s;
}

int store_schema_version(struct store *st)
{
    sqlite3_stmt *s;
    int v = -1;

    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) !=
        SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

int store_schema_latest(void)
{
    return migrate_latest();
}

int store_schema_found(const struct store *st)
{
    return st->schema_found;
}

void store_set_account(struct store *st, long long uid, const char *user)
{
    st->account.uid = uid;
    snprintf(st->account.user, sizeof(st->account.user), "%s",
             user ? user : "");
}

const struct store_account *store_account(const struct store *st)
{
    return st->account.uid >= 0 ? &st->account : NULL;
}

int store_bind_text(sqlite3_stmt *s, int idx, const char *text)
{
    if (text == NULL)
        return sqlite3_bind_null(s, idx);
    return sqlite3_bind_text(s, idx, text, -1, SQLITE_STATIC);
}

const char *store_col_text(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return t ? (const char *)t : "";
}

int store_callback_err(struct err *e, const struct err *cbe, const char *what)
{
    if (cbe->msg[0] == '\0')
        return err_set(e, EX_SOFTWARE, "%s: callback failed", what);
    if (e != NULL) {
        *e = *cbe;
        if (e->code == 0)
            e->code = EX_SOFTWARE;
    }
    return -1;
}

int store_autocheckpoint(struct store *st, int pages, struct err *e)
{
    (void)e;
    st->autocheckpoint = pages;
    return 0;
}

int store_wal_pages(const struct store *st)
{
    return st->wal_pages;
}

int store_checkpoint(struct store *st, struct err *e)
{
    int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                       NULL, NULL);

    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        return store_sqlerr(st, e, "checkpoint");
    st->wal_pages = 0;
    return 0;
}
