/*
 * migrate.c: bring a site database up to the schema this build knows.
 * The migrations are db/migrations/NNN_*.sql, embedded at build time; each
 * runs once, in order, in one transaction with the user_version bump.
 */
#include <stdio.h>

#include "store.h"

struct migration {
    int version;
    const char *name;
    const char *sql;
};

#include "migrations.h"

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int migrate_latest(void)
{
    return migrations[NMIGRATIONS - 1].version;
}

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *s;
    int v = -1;

    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) !=
        SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int exec(sqlite3 *db, const char *sql, struct err *e, const char *what)
{
    char *msg = NULL;
    int rc;

    if ((rc = sqlite3_exec(db, sql, NULL, NULL, &msg)) != SQLITE_OK) {
        rc &= 0xff;
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            err_set(e, EX_TEMPFAIL,
                    "another process kept it locked for writing (%s): try "
                    "again when it has finished",
                    msg ? msg : "database is locked");
        else
            err_set(e,
                    rc == SQLITE_IOERR || rc == SQLITE_FULL ? EX_IOERR
                    : rc == SQLITE_READONLY                 ? EX_NOPERM
                                                            : EX_SOFTWARE,
                    "%s: %s", what, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int migrate_apply(sqlite3 *db, struct err *e)
{
    return migrate_run(db, NULL, e);
}

int migrate_run(sqlite3 *db, int *from, struct err *e)
{
    char bump[64];
    int i, v;

    /* The version is read again under the write lock, so two processes
     * opening a new database at once apply each migration once. */
    if (exec(db, "BEGIN IMMEDIATE", e, "migrate") == -1)
        return -1;
    if ((v = user_version(db)) < 0) {
        exec(db, "ROLLBACK", NULL, "");
        return err_set(e, EX_SOFTWARE, "migrate: cannot read user_version: %s",
                       sqlite3_errmsg(db));
    }
    if (from != NULL)
        *from = v;
    if (v > migrate_latest()) {
        exec(db, "ROLLBACK", NULL, "");
        return err_set(e, EX_SOFTWARE,
                       "database schema %d is newer than this program (%d): "
                       "upgrade examsite",
                       v, migrate_latest());
    }
    for (i = 0; i < NMIGRATIONS; i++) {
        if (migrations[i].version <= v)
            continue;
        if (exec(db, migrations[i].sql, e, migrations[i].name) == -1) {
            exec(db, "ROLLBACK", NULL, "");
            return -1;
        }
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d",
                 migrations[i].version);
        if (exec(db, bump, e, migrations[i].name) == -1) {
            exec(db, "ROLLBACK", NULL, "");
            return -1;
        }
    }
    return exec(db, "COMMIT", e, "migrate");
}
