/*
 * ctl_migrate.c: `examctl migrate`: bring the site database to this
 * build's schema.  Besides `examctl init` and the daemon's start, the only
 * command that migrates: readers open the database read-only and writers
 * without migrating, and both say to run this when the schema is older.
 */
#include <stdio.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "ctl.h"
#include "store.h"

static const char migrate_help[] =
    "usage: examctl migrate\n"
    "\n"
    "Apply the schema migrations this build carries to the site database, "
    "each\n"
    "once, in one transaction under the write lock (a running examsited "
    "keeps\n"
    "running).  The daemon does the same when it starts.  Prints the schema\n"
    "version found and the one now (--json: {\"from\":N,\"to\":M}).\n";

/* The schema version of path, read-only, before anything is changed:
 * a file with none is not a site database and is left alone. */
static int schema_of(const char *path, struct err *e)
{
    sqlite3_stmt *q = NULL;
    sqlite3 *db = NULL;
    int v = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) ==
            SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int(q, 0);
    if (v == -1)
        err_set(e, EX_NOINPUT, "database %s: %s", path,
                db ? sqlite3_errmsg(db) : "out of memory");
    else if (v == 0)
        err_set(e, EX_NOINPUT,
                "database %s: it has no schema: not a site database (run "
                "'examctl init' for a new one)",
                path);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v > 0 ? v : -1;
}

int ctl_migrate(struct ctl *c, int argc, char **argv)
{
    struct store *st;
    struct err e;
    int from, to;

    if (ctl_wants_help(argc, argv)) {
        fputs(migrate_help, stdout);
        return 0;
    }
    if (argc != 1)
        return ctl_usage("migrate");
    if (access(c->db_path, F_OK) == -1)
        return ctl_failf(EX_NOINPUT,
                         "no site database at %s (run 'examctl init' first, "
                         "or give --db)",
                         c->db_path);
    if (schema_of(c->db_path, &e) == -1 ||
        store_open(&st, c->db_path, 0, &e) == -1)
        return ctl_fail(&e);
    from = store_schema_found(st);
    to = store_schema_version(st);
    store_close(st);
    if (c->json) {
        json_t *j = json_pack("{s:i, s:i}", "from", from, "to", to);
        ctl_print_json(j);
        json_decref(j);
    } else if (from == to) {
        printf("database %s: schema %d, already this build's\n", c->db_path,
               to);
    } else {
        printf("database %s: schema %d -> %d\n", c->db_path, from, to);
    }
    return 0;
}
