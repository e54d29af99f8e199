/*
 * test_migrate.c: db/migrate.c and store_open: a fresh database gets the
 * whole schema, reopening changes nothing, a newer schema is refused, and
 * the durability settings are in effect on an opened store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store.h"
#include "testutil.h"

static int setup(void **state)
{
    return tfile_setup(state, "site.db");
}

static int teardown(void **state)
{
    return tfile_teardown(state);
}

/* The schema as text, to compare before and after. */
static void schema_of(sqlite3 *db, char *out, size_t cap)
{
    sqlite3_stmt *s;
    size_t n = 0;

    out[0] = '\0';
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT type || ' ' || name || ' ' || "
                                        "coalesce(sql, '') FROM sqlite_master "
                                        "ORDER BY type, name",
                                        -1, &s, NULL),
                     SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW && n < cap)
        n += (size_t)snprintf(out + n, cap - n, "%s\n",
                              (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
}

static void test_fresh_database(void **state)
{
    struct tfile *x = *state;
    struct store *st;
    struct err e;

    assert_true(migrate_latest() >= 1);
    assert_int_equal(store_schema_latest(), migrate_latest());
    assert_int_equal(store_open(&st, x->path, STORE_CREATE, &e), 0);
    assert_int_equal(store_schema_version(st), migrate_latest());
    assert_int_equal(sql_int(store_db(st), "PRAGMA user_version"),
                     migrate_latest());
    /* the tables of the schema, and the append-only triggers */
    assert_int_equal(
        sql_int(store_db(st),
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                "AND name IN ('site', 'session', 'room', 'candidate', "
                "'device', 'event')"),
        6);
    assert_int_equal(
        sql_int(store_db(st),
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                "AND name IN ('event_no_update', 'event_no_delete')"),
        2);
    /* no column could hold an ID number in the clear */
    assert_int_equal(
        sql_int(store_db(st),
                "SELECT count(*) FROM pragma_table_info('candidate') "
                "WHERE name LIKE '%id_number%'"),
        0);
    store_close(st);
}

static void test_reopen_idempotent(void **state)
{
    struct tfile *x = *state;
    static char before[65536], after[65536];
    struct store *st;
    struct err e;

    assert_int_equal(store_open(&st, x->path, STORE_CREATE, &e), 0);
    schema_of(store_db(st), before, sizeof(before));
    store_close(st);
    assert_int_equal(store_open(&st, x->path, 0, &e), 0);
    assert_int_equal(store_schema_version(st), migrate_latest());
    schema_of(store_db(st), after, sizeof(after));
    store_close(st);
    assert_true(strlen(before) > 100);
    assert_string_equal(before, after);
    /* and a direct second migrate_apply is a no-op too */
    {
        sqlite3 *db;
        assert_int_equal(sqlite3_open(x->path, &db), SQLITE_OK);
        assert_int_equal(migrate_apply(db, &e), 0);
        schema_of(db, after, sizeof(after));
        assert_int_equal(sql_int(db, "PRAGMA user_version"), migrate_latest());
        sqlite3_close(db);
        assert_string_equal(before, after);
    }
}

static void test_newer_schema_refused(void **state)
{
    struct tfile *x = *state;
    struct store *st;
    sqlite3 *db;
    char sql[64];
    struct err e;

    assert_int_equal(store_open(&st, x->path, STORE_CREATE, &e), 0);
    store_close(st);
    assert_int_equal(sqlite3_open(x->path, &db), SQLITE_OK);
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
             migrate_latest() + 1);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    st = (struct store *)1;
    assert_int_equal(store_open(&st, x->path, 0, &e), -1);
    assert_null(st);
    assert_non_null(strstr(e.msg, "newer than this program"));
    assert_non_null(strstr(e.msg, x->path));
    /* and nothing was changed by trying */
    assert_int_equal(sqlite3_open(x->path, &db), SQLITE_OK);
    assert_int_equal(sql_int(db, "PRAGMA user_version"), migrate_latest() + 1);
    sqlite3_close(db);
}

static void test_durability_pragmas(void **state)
{
    struct tfile *x = *state;
    struct store *st;
    char buf[32];
    struct err e;

    assert_int_equal(store_open(&st, x->path, STORE_CREATE, &e), 0);
    assert_string_equal(
        sql_text(store_db(st), "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
    assert_int_equal(sql_int(store_db(st), "PRAGMA synchronous"), 2); /* FULL */
    assert_int_equal(sql_int(store_db(st), "PRAGMA foreign_keys"), 1);
    store_close(st);
    /* WAL is persistent; synchronous is per connection and set again */
    assert_int_equal(store_open(&st, x->path, 0, &e), 0);
    assert_string_equal(
        sql_text(store_db(st), "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
    assert_int_equal(sql_int(store_db(st), "PRAGMA synchronous"), 2);
    /* store_begin takes the write lock: a second writer is refused at once
     * when it does not wait */
    {
        sqlite3 *other;
        assert_int_equal(store_begin(st, &e), 0);
        assert_int_equal(sqlite3_open(x->path, &other), SQLITE_OK);
        assert_int_equal(
            sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
            SQLITE_BUSY);
        sqlite3_close(other);
        assert_int_equal(store_commit(st, &e), 0);
    }
    store_close(st);
}

static void test_missing_without_create(void **state)
{
    struct tfile *x = *state;
    struct store *st;
    struct err e;

    assert_int_equal(store_open(&st, x->path, 0, &e), -1);
    assert_int_equal(e.code, EX_NOINPUT);
    /* and it did not create the file */
    assert_int_equal(access(x->path, F_OK), -1);
}

static void test_transactions(void **state)
{
    struct tfile *x = *state;
    struct store *st;
    struct err e;

    assert_int_equal(store_open(&st, x->path, STORE_CREATE, &e), 0);
    assert_int_equal(store_in_txn(st), 0);
    assert_int_equal(store_commit(st, &e), -1);
    assert_int_equal(e.code, EX_SOFTWARE);
    assert_int_equal(store_begin(st, &e), 0);
    assert_int_equal(store_begin(st, &e), -1); /* not nested */
    assert_int_equal(e.code, EX_SOFTWARE);
    assert_int_equal(
        store_exec(st, "INSERT INTO room (code) VALUES ('101')", &e), 0);
    store_rollback(st);
    assert_int_equal(sql_int(store_db(st), "SELECT count(*) FROM room"), 0);
    assert_int_equal(store_begin(st, &e), 0);
    assert_int_equal(
        store_exec(st, "INSERT INTO room (code) VALUES ('101')", &e), 0);
    assert_int_equal(store_commit(st, &e), 0);
    assert_int_equal(sql_int(store_db(st), "SELECT count(*) FROM room"), 1);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_idempotent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_durability_pragmas, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_without_create, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
