/*
 * test_import_bulk.c: a first roster import (docs/roster-format.md, "Import
 * speed"): the candidate digest it records, fed as the rows are written,
 * is the one read back from the tables, for rows in ticket order and out
 * of it; a file that holds a key twice (the bulk load given up, the file
 * read again row by row) is refused in the database's words and order;
 * the schema after it is the migrated one and card reads use the index;
 * and a schema-4 site with candidates migrates to 5 with its record
 * intact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "import.h"
#include "refdigest.h"
#include "roster.h"
#include "secret.h"
#include "store.h"
#include "testutil.h"

#define NROWS 300

struct fx {
    struct tdir *t;
    char db[300], db2[300], csv[300];
    struct store *st;
    struct secret sec;
};

static const char sessions_csv[] =
    "code,certificate,level,date,start,end\n"
    "S1,Web前端开发,中级,2026-12-05,09:00,11:00\n"
    "S2,数据库管理系统,初级,2026-12-05,14:00,16:00\n";

static int import_file(struct store *st, const struct secret *sec,
                       const char *path, const char *text, int roster, int skip,
                       struct import_report *r, struct err *e)
{
    struct import_opts o;

    memset(&o, 0, sizeof(o));
    o.skip_invalid = skip;
    o.operator_name = "tester";
    assert_int_equal(write_bytes(path, text, (size_t)-1), 0);
    err_clear(e);
    memset(r, 0, sizeof(*r));
    return roster ? import_roster(st, sec, path, &o, r, e)
                  : import_sessions(st, path, &o, r, e);
}

/* A store at path with sessions S1 and S2. */
static struct store *open_site(struct fx *x, const char *path)
{
    struct import_report r;
    struct store *st;
    struct err e;

    assert_int_equal(store_open(&st, path, STORE_CREATE, &e), 0);
    assert_int_equal(
        import_file(st, &x->sec, x->csv, sessions_csv, 0, 0, &r, &e), 0);
    assert_int_equal(r.imported, 2);
    import_report_free(&r);
    return st;
}

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    size_t i;

    if (x == NULL || (x->t = tdir_new()) == NULL)
        return -1;
    tdir_file(x->t, "site.db", x->db, sizeof(x->db));
    tdir_file(x->t, "other.db", x->db2, sizeof(x->db2));
    tdir_file(x->t, "in.csv", x->csv, sizeof(x->csv));
    for (i = 0; i < sizeof(x->sec.key); i++)
        x->sec.key[i] = (unsigned char)(0x31 + i);
    x->st = open_site(x, x->db);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;

    store_close(x->st);
    tdir_free(x->t);
    free(x);
    return 0;
}

/* A valid ID number (GB 11643 check digit) made from n. */
static void id_of(unsigned n, char out[19])
{
    static const int w[17] = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                              3, 7, 9,  10, 5, 8, 4, 2};
    static const char check[] = "10X98765432";
    int i, sum = 0;

    snprintf(out, 19, "1101051990%02u%02u%03u", 1 + n % 12, 1 + n % 28,
             n % 1000);
    for (i = 0; i < 17; i++)
        sum += (out[i] - '0') * w[i];
    out[17] = check[sum % 11];
    out[18] = '\0';
}

/* Row i of the test roster: ticket T%05d, two sessions, 30 seats a room. */
static size_t row_of(int i, char *out, size_t cap)
{
    char id[19];

    id_of(i, id);
    return (size_t)snprintf(out, cap, "T%05d,考生%d,%s,S%d,%d,%02d\n", i, i, id,
                            1 + i % 2, 101 + i / 60, 1 + (i / 2) % 30);
}

/* The rows in the order of idx[0..n), after the header. */
static char *roster_text(const int *idx, int n)
{
    size_t cap = 64 + (size_t)n * 64, len;
    char *s = malloc(cap);
    int i;

    assert_non_null(s);
    len = (size_t)snprintf(s, cap, "ticket,name,id_number,session,room,seat\n");
    for (i = 0; i < n; i++)
        len += row_of(idx[i], s + len, cap - len);
    return s;
}

/* The digest the newest roster.imported event recorded. */
static void recorded(struct store *st, struct refdigest *d)
{
    char payload[4096];
    json_t *j;

    sql_text(store_db(st),
             "SELECT payload FROM event WHERE kind = 'roster.imported' "
             "ORDER BY id DESC LIMIT 1",
             payload, sizeof(payload));
    assert_non_null(j = json_loads(payload, 0, NULL));
    assert_int_equal(refdigest_from_json(json_object_get(j, "refdigest"), d),
                     0);
    json_decref(j);
}

/* The import's record is the tables as they are, by a fresh read. */
static void assert_record_holds(struct store *st)
{
    struct refdigest want, now;
    struct err e;
    int t;

    recorded(st, &want);
    assert_int_equal(refdigest_compute(st, &now, &e), 0);
    assert_int_equal(want.v, now.v);
    for (t = 0; t < REFDIGEST_NTABLES; t++)
        assert_string_equal(want.hex[t], now.hex[t]);
    assert_int_equal(refdigest_check(st, &e), 0);
}

static void test_digest_in_and_out_of_order(void **state)
{
    struct fx *x = *state;
    int idx[NROWS], i, t;
    struct refdigest a, b;
    struct import_report r;
    struct store *st2;
    struct err e;
    char *text;

    for (i = 0; i < NROWS; i++)
        idx[i] = i;
    text = roster_text(idx, NROWS);
    assert_int_equal(import_file(x->st, &x->sec, x->csv, text, 1, 0, &r, &e),
                     0);
    free(text);
    assert_int_equal(r.imported, NROWS);
    assert_int_equal(r.committed, 1);
    import_report_free(&r);
    assert_record_holds(x->st);
    recorded(x->st, &a);

    /* the same rows, the last hundred first: read back, the same digest */
    for (i = 0; i < NROWS; i++)
        idx[i] = (i + NROWS - 100) % NROWS;
    st2 = open_site(x, x->db2);
    text = roster_text(idx, NROWS);
    assert_int_equal(import_file(st2, &x->sec, x->csv, text, 1, 0, &r, &e), 0);
    free(text);
    assert_int_equal(r.imported, NROWS);
    import_report_free(&r);
    assert_record_holds(st2);
    recorded(st2, &b);
    for (t = 0; t < REFDIGEST_NTABLES; t++)
        assert_string_equal(a.hex[t], b.hex[t]);
    store_close(st2);
}

/* Refused rows are not in the digest: a repeated ticket, a seat and an ID
 * number taken, kept out with --skip-invalid. */
static void test_digest_with_refused_rows(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    char text[8192], row[128], id[19];
    size_t n;
    struct err e;
    int i;

    n = (size_t)snprintf(text, sizeof(text),
                         "ticket,name,id_number,session,room,seat\n");
    for (i = 0; i < 40; i++)
        n += row_of(i, text + n, sizeof(text) - n);
    row_of(5, row, sizeof(row)); /* line 42: ticket 5 again, as it was */
    n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", row);
    /* line 43: T00050 on T00004's seat */
    n += (size_t)snprintf(text + n, sizeof(text) - n,
                          "T00050,某甲,%s,S1,101,03\n", (id_of(50, id), id));
    /* line 44: T00051 with T00006's ID number in its session */
    id_of(6, id);
    n += (size_t)snprintf(text + n, sizeof(text) - n,
                          "T00051,某乙,%s,S1,109,09\n", id);
    for (i = 41; i < 60; i++)
        n += row_of(i, text + n, sizeof(text) - n);
    assert_true(n < sizeof(text) - 1);
    assert_int_equal(import_file(x->st, &x->sec, x->csv, text, 1, 1, &r, &e),
                     0);
    assert_int_equal(r.committed, 1);
    assert_int_equal(r.imported, 59);
    assert_int_equal(r.rejected, 3);
    assert_int_equal(r.nerrors, 3);
    assert_int_equal(r.errors[0].line, 42);
    assert_string_equal(r.errors[0].reason,
                        "ticket T00005 appears twice (also on line 7)");
    assert_int_equal(r.errors[1].line, 43);
    assert_string_equal(r.errors[1].reason,
                        "seat 03 in room 101 of session S1 is already taken "
                        "by ticket T00004 on line 6 of this file");
    assert_int_equal(r.errors[2].line, 44);
    assert_string_equal(r.errors[2].reason,
                        "this ID number is already on the roster of session "
                        "S1 (ticket T00006) on line 8 of this file");
    import_report_free(&r);
    assert_int_equal(sql_int(store_db(x->st), "SELECT count(*) FROM candidate"),
                     59);
    assert_record_holds(x->st);
}

/* The database's order of reasons: a ticket written before is said as a
 * ticket even when its seat is taken too; out of ticket order the keys are
 * still refused, with the line of the row that holds them. */
static void test_keys_out_of_order(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    char id[19], id2[19], text[1024];
    struct err e;

    id_of(1, id);
    id_of(2, id2);
    snprintf(text, sizeof(text),
             "ticket,name,id_number,session,room,seat\n"
             "T9,甲,%s,S1,101,01\n"  /* line 2 */
             "T3,乙,%s,S1,101,02\n"  /* line 3: out of order */
             "T3,丙,%s,S1,101,01\n"  /* line 4: T3 again, and T9's seat */
             "T1,丁,%s,S1,101,02\n"  /* line 5: T3's seat */
             "T2,戊,%s,S1,102,05\n", /* line 6: T9's ID number */
             id, id2, id2, id2, id);
    assert_int_equal(import_file(x->st, &x->sec, x->csv, text, 1, 0, &r, &e),
                     0);
    assert_int_equal(r.committed, 0);
    assert_int_equal(r.nerrors, 3);
    assert_int_equal(r.errors[0].line, 4);
    assert_non_null(
        strstr(r.errors[0].reason, "ticket T3 appears twice (also on line 3)"));
    assert_int_equal(r.errors[1].line, 5);
    assert_string_equal(r.errors[1].reason,
                        "seat 02 in room 101 of session S1 is already taken "
                        "by ticket T3 on line 3 of this file");
    assert_int_equal(r.errors[2].line, 6);
    assert_string_equal(r.errors[2].reason,
                        "this ID number is already on the roster of session "
                        "S1 (ticket T9) on line 2 of this file");
    import_report_free(&r);
    /* nothing stored, the indexes back */
    assert_int_equal(sql_int(store_db(x->st), "SELECT count(*) FROM candidate"),
                     0);
    assert_int_equal(sql_int(store_db(x->st),
                             "SELECT count(*) FROM sqlite_master WHERE name "
                             "IN ('candidate_id', 'candidate_seat')"),
                     2);
}

/* The schema as one text, to compare. */
static void schema_of(sqlite3 *db, char *out, size_t cap)
{
    assert_non_null(sql_text(db,
                             "SELECT group_concat(line, char(10)) FROM "
                             "(SELECT type || ' ' || name || ' ' || "
                             "coalesce(sql, '') AS line FROM sqlite_master "
                             "ORDER BY type, name)",
                             out, cap));
    assert_non_null(strstr(out, "index candidate_id "));
}

/* How SQLite would answer sql: the plan's details, one line each. */
static void plan_of(sqlite3 *db, const char *sql, char *out, size_t cap)
{
    char q[512];
    sqlite3_stmt *s;
    size_t n = 0;

    snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
    out[0] = '\0';
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW && n < cap)
        n += (size_t)snprintf(out + n, cap - n, "%s\n",
                              (const char *)sqlite3_column_text(s, 3));
    sqlite3_finalize(s);
}

/* The card read (candidate_find_by_hash), the ID-number check
 * (candidate_put's reasons) and the seat check go by their indexes. */
static void assert_card_reads_use_index(sqlite3 *db)
{
    static const char cols[] = "SELECT ticket, name, id_hash, id_last4, "
                               "session, room, seat, withdrawn FROM candidate";
    char sql[256], plan[1024];

    snprintf(sql, sizeof(sql), "%s WHERE id_hash = ?", cols);
    plan_of(db, sql, plan, sizeof(plan));
    assert_non_null(strstr(plan, "INDEX candidate_id (id_hash=?)"));
    snprintf(sql, sizeof(sql), "%s WHERE id_hash = ? AND session = ?", cols);
    plan_of(db, sql, plan, sizeof(plan));
    assert_non_null(
        strstr(plan, "INDEX candidate_id (id_hash=? AND session=?)"));
    snprintf(sql, sizeof(sql),
             "%s WHERE session = ? AND room = ? AND seat = ? AND "
             "withdrawn = 0",
             cols);
    plan_of(db, sql, plan, sizeof(plan));
    assert_non_null(strstr(plan, "INDEX candidate_seat (session=? AND "
                                 "room=? AND seat=? AND withdrawn=?)"));
}

static void test_schema_after_first_import(void **state)
{
    struct fx *x = *state;
    static char before[65536], after[65536];
    struct import_report r;
    int idx[50], i;
    struct err e;
    char *text;

    schema_of(store_db(x->st), before, sizeof(before));
    for (i = 0; i < 50; i++)
        idx[i] = i;
    text = roster_text(idx, 50);
    assert_int_equal(import_file(x->st, &x->sec, x->csv, text, 1, 0, &r, &e),
                     0);
    free(text);
    assert_int_equal(r.imported, 50);
    import_report_free(&r);
    schema_of(store_db(x->st), after, sizeof(after));
    assert_string_equal(before, after);
    assert_card_reads_use_index(store_db(x->st));
    /* the rebuilt indexes hold every row */
    assert_int_equal(sql_int(store_db(x->st),
                             "SELECT count(*) FROM candidate INDEXED BY "
                             "candidate_id WHERE id_hash IS NOT NULL"),
                     50);
    assert_string_equal(
        sql_text(store_db(x->st), "PRAGMA integrity_check", before, 64), "ok");
}

/* A second import (the table not empty) keeps the indexes: the database
 * refuses, in the same words. */
static void test_second_import_same_words(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    char id[19], text[512], first[512];
    struct err e;

    id_of(7, id);
    snprintf(text, sizeof(text),
             "ticket,name,id_number,session,room,seat\n"
             "T1,甲,%s,S1,101,01\n",
             id);
    assert_int_equal(import_file(x->st, &x->sec, x->csv, text, 1, 0, &r, &e),
                     0);
    assert_int_equal(r.committed, 1);
    import_report_free(&r);
    snprintf(text, sizeof(text),
             "ticket,name,id_number,session,room,seat\n"
             "T2,乙,%s,S1,101,02\n",
             id);
    assert_int_equal(import_file(x->st, &x->sec, x->csv, text, 1, 0, &r, &e),
                     0);
    assert_int_equal(r.nerrors, 1);
    snprintf(first, sizeof(first), "%s", r.errors[0].reason);
    import_report_free(&r);
    assert_string_equal(first, "this ID number is already on the roster of "
                               "session S1 (ticket T1)");
}

/* A site migrated from schema 4 (the key a table constraint) with its
 * candidates: the same rows, the record still holds, the schema is a new
 * site's. */
static void test_upgrade_from_4(void **state)
{
    struct fx *x = *state;
    static char fresh[65536], migrated[65536];
    struct import_report r;
    int idx[80], i;
    struct store *st;
    sqlite3 *db;
    struct err e;
    char *text;

    schema_of(store_db(x->st), fresh, sizeof(fresh));
    for (i = 0; i < 80; i++)
        idx[i] = i;
    text = roster_text(idx, 80);
    assert_int_equal(import_file(x->st, &x->sec, x->csv, text, 1, 0, &r, &e),
                     0);
    free(text);
    import_report_free(&r);
    store_close(x->st);
    x->st = NULL;

    /* back to the candidate table of migration 003, schema 4 */
    assert_int_equal(sqlite3_open(x->db, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(
            db,
            "BEGIN;"
            "CREATE TABLE candidate_old (ticket TEXT PRIMARY KEY, name TEXT "
            "NOT NULL, id_hash BLOB NOT NULL CHECK (length(id_hash) = 32), "
            "id_last4 TEXT NOT NULL, session TEXT NOT NULL REFERENCES session "
            "(code), room TEXT NOT NULL REFERENCES room (code), seat TEXT NOT "
            "NULL, withdrawn INTEGER NOT NULL DEFAULT 0 CHECK (withdrawn IN "
            "(0, 1)), UNIQUE (id_hash, session)) WITHOUT ROWID;"
            "INSERT INTO candidate_old SELECT * FROM candidate;"
            "DROP TABLE candidate;"
            "ALTER TABLE candidate_old RENAME TO candidate;"
            "CREATE UNIQUE INDEX candidate_seat ON candidate (session, room, "
            "seat, withdrawn) WHERE withdrawn = 0;"
            "CREATE INDEX candidate_withdrawn ON candidate (session, room, "
            "withdrawn) WHERE withdrawn = 1;"
            "PRAGMA user_version = 4; COMMIT",
            NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE "
                                 "name = 'candidate_id'"),
                     0);
    sqlite3_close(db);

    assert_int_equal(store_open(&st, x->db, 0, &e), 0);
    assert_int_equal(store_schema_version(st), 5);
    assert_int_equal(sql_int(store_db(st), "SELECT count(*) FROM candidate"),
                     80);
    assert_int_equal(refdigest_check(st, &e), 0);
    assert_record_holds(st);
    schema_of(store_db(st), migrated, sizeof(migrated));
    assert_string_equal(fresh, migrated);
    assert_card_reads_use_index(store_db(st));
    x->st = st;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_digest_in_and_out_of_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_digest_with_refused_rows, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keys_out_of_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_schema_after_first_import, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_second_import_same_words, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_4, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
