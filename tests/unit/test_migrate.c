/*
 * test_migrate.c: db/migrate.c and store_open: a fresh database gets the
 * whole schema, reopening changes nothing, a newer schema is refused, and
 * the durability settings are in effect on an opened store.  Shipped
 * migrations are frozen (pinned SHA-256); readers and examctl's writers
 * never migrate and say what to run; a held write lock does not stop a
 * reader and makes a writer fail with EX_TEMPFAIL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <dirent.h>
#include <errno.h>

#include <cmocka.h>
#include <openssl/evp.h>

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

/*
 * Migrations are frozen once shipped: a database migrated by an earlier
 * build must be the one a later build expects.  Each file's SHA-256 is
 * pinned here; a change goes into a new migration, never an edit.  A new
 * migration is pinned when it is added (the test fails until it is).
 */
struct pin {
    const char *file;
    const char *sha256;
};

static const struct pin pins[] = {
    {"001_initial.sql",
     "375a886c286d9f3ee0b4ab28329cc1e7213887dfd5a14b74b4f1019acf5ebba3"},
    {"002_integrity.sql",
     "ea431e540cccf88fbe38f72236ab46302ad87c2ec6a9cd69b7e7a52b04dcb02a"},
    {"003_corrections.sql",
     "05acd30da18465be8c50423d2238d335cf009814c1a60b1ba8381a8010f76c77"},
    {"004_sync.sql",
     "5ca1884645d464e0289d3065b74019ecf0e11bc05ed3bd80ae478f72bebdb9a7"},
    {"005_candidate_id_index.sql",
     "6b3be29adc91e70d7e242522698fe7051a350586c4d0c7b0331f623f3eddb17a"},
};
#define NPINS ((int)(sizeof(pins) / sizeof(pins[0])))

/* db/migrations, found from this file's path (tests run from the top). */
static void migrations_dir(char *out, size_t cap)
{
    const char *slash = strrchr(__FILE__, '/');
    int n = slash ? (int)(slash - __FILE__) : 0;

    snprintf(out, cap, "%.*s%s../../db/migrations", n, __FILE__, n ? "/" : "");
}

static void sha256_file(const char *path, char out[65])
{
    unsigned char buf[4096], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    FILE *f = fopen(path, "rb");
    size_t n;
    int i;

    if (f == NULL)
        fail_msg("%s: %s", path, strerror(errno));
    assert_non_null(c);
    assert_true(EVP_DigestInit_ex(c, EVP_sha256(), NULL));
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        assert_true(EVP_DigestUpdate(c, buf, n));
    fclose(f);
    assert_true(EVP_DigestFinal_ex(c, md, &mdlen));
    EVP_MD_CTX_free(c);
    for (i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void test_migrations_frozen(void **state)
{
    char dir[512], path[800], got[65];
    struct dirent *d;
    int i, nfiles = 0;
    DIR *dp;

    (void)state;
    migrations_dir(dir, sizeof(dir));
    for (i = 0; i < NPINS; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, pins[i].file);
        sha256_file(path, got);
        if (strcmp(got, pins[i].sha256) != 0)
            fail_msg("%s was edited after it shipped (SHA-256 %s, pinned "
                     "%s): put the change in a new migration instead",
                     pins[i].file, got, pins[i].sha256);
        /* numbered upwards in the order they are pinned */
        assert_true(atoi(pins[i].file) > (i ? atoi(pins[i - 1].file) : 0));
    }
    /* every migration this build carries is pinned */
    assert_non_null(dp = opendir(dir));
    while ((d = readdir(dp)) != NULL) {
        size_t n = strlen(d->d_name);
        if (n < 4 || strcmp(d->d_name + n - 4, ".sql") != 0)
            continue;
        nfiles++;
        for (i = 0; i < NPINS; i++)
            if (strcmp(d->d_name, pins[i].file) == 0)
                break;
        if (i == NPINS)
            fail_msg("db/migrations/%s is not pinned in test_migrate.c",
                     d->d_name);
    }
    closedir(dp);
    assert_int_equal(nfiles, NPINS);
    assert_int_equal(migrate_latest(), atoi(pins[NPINS - 1].file));
}

/* A database as the build before migration 002 left it. */
static void make_v1(const char *path)
{
    char dir[512], file[800], *sql;
    sqlite3 *db;
    long len;
    FILE *f;

    migrations_dir(dir, sizeof(dir));
    snprintf(file, sizeof(file), "%s/001_initial.sql", dir);
    assert_non_null(f = fopen(file, "rb"));
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    assert_non_null(sql = calloc(1, (size_t)len + 1));
    assert_int_equal(fread(sql, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "PRAGMA journal_mode=WAL; BEGIN", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO site VALUES ('S', 'n', 'd', "
                                  "'Asia/Shanghai', 'x');"
                                  "PRAGMA user_version = 1; COMMIT",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    free(sql);
}

/* Readers and examctl's writers never migrate: an older schema is said,
 * with what to run; the owners (flags 0) migrate it. */
static void test_older_schema(void **state)
{
    struct tfile *x = *state;
    static char before[65536], after[65536];
    struct store *st;
    sqlite3 *db;
    struct err e;
    int flags[2] = {STORE_READONLY, STORE_NOMIGRATE}, i;

    make_v1(x->path);
    assert_int_equal(sqlite3_open(x->path, &db), SQLITE_OK);
    schema_of(db, before, sizeof(before));
    sqlite3_close(db);
    for (i = 0; i < 2; i++) {
        st = (struct store *)1;
        assert_int_equal(store_open(&st, x->path, flags[i], &e), -1);
        assert_null(st);
        assert_int_equal(e.code, EX_NOINPUT);
        assert_non_null(strstr(e.msg, x->path));
        assert_non_null(strstr(e.msg, "older than this program's"));
        assert_non_null(
            strstr(e.msg, "run 'examctl migrate' (or start the daemon)"));
    }
    assert_int_equal(sqlite3_open(x->path, &db), SQLITE_OK);
    assert_int_equal(sql_int(db, "PRAGMA user_version"), 1);
    schema_of(db, after, sizeof(after));
    sqlite3_close(db);
    assert_string_equal(before, after); /* nothing was changed by trying */

    assert_int_equal(store_open(&st, x->path, 0, &e), 0);
    assert_int_equal(store_schema_found(st), 1);
    assert_int_equal(store_schema_version(st), migrate_latest());
    assert_int_equal(sql_int(store_db(st), "SELECT count(*) FROM site"), 1);
    store_close(st);
    for (i = 0; i < 2; i++) {
        assert_int_equal(store_open(&st, x->path, flags[i], &e), 0);
        assert_int_equal(store_schema_found(st), migrate_latest());
        store_close(st);
    }
    assert_int_equal(store_open(&st, x->path, 0, &e), 0);
    assert_int_equal(store_schema_found(st), migrate_latest());
    store_close(st);
    /* a file with no schema at all is not taken for an old site */
    assert_int_equal(sqlite3_open(x->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "PRAGMA user_version = 0", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_open(&st, x->path, STORE_READONLY, &e), -1);
    assert_int_equal(e.code, EX_NOINPUT);
    assert_non_null(strstr(e.msg, "not a site database"));
}

/* With another process holding the write lock: a reader opens and reads
 * at once (no lock, no migration), a writer that cannot get the lock is
 * EX_TEMPFAIL and says so, and so is a migration. */
static void test_write_lock_held(void **state)
{
    struct tfile *x = *state;
    struct store *st;
    sqlite3 *other, *raw;
    struct err e;

    assert_int_equal(store_open(&st, x->path, STORE_CREATE, &e), 0);
    store_close(st);
    assert_int_equal(sqlite3_open(x->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other,
                                  "BEGIN IMMEDIATE; INSERT INTO room "
                                  "VALUES ('101')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);

    assert_int_equal(store_open(&st, x->path, STORE_READONLY, &e), 0);
    assert_int_equal(sql_int(store_db(st), "SELECT count(*) FROM room"), 0);
    /* a reader cannot write, even by mistake */
    assert_int_not_equal(sqlite3_exec(store_db(st),
                                      "INSERT INTO room VALUES ('102')", NULL,
                                      NULL, NULL),
                         SQLITE_OK);
    store_close(st);

    assert_int_equal(store_open(&st, x->path, STORE_NOMIGRATE, &e), 0);
    sqlite3_busy_timeout(store_db(st), 50); /* not 10 s in a unit test */
    assert_int_equal(store_begin(st, &e), -1);
    assert_int_equal(e.code, EX_TEMPFAIL);
    assert_non_null(strstr(e.msg, "locked for writing"));
    assert_non_null(strstr(e.msg, x->path));
    assert_int_equal(store_in_txn(st), 0);
    store_close(st);

    assert_int_equal(sqlite3_open(x->path, &raw), SQLITE_OK);
    sqlite3_busy_timeout(raw, 50);
    assert_int_equal(migrate_run(raw, NULL, &e), -1);
    assert_int_equal(e.code, EX_TEMPFAIL);
    assert_non_null(strstr(e.msg, "locked for writing"));
    sqlite3_close(raw);

    assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(other);
    assert_int_equal(store_open(&st, x->path, STORE_NOMIGRATE, &e), 0);
    assert_int_equal(store_begin(st, &e), 0);
    store_rollback(st);
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
        cmocka_unit_test(test_migrations_frozen),
        cmocka_unit_test_setup_teardown(test_older_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_lock_held, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
