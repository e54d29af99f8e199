/*
 * test_import.c: db/import.c through import_sessions/import_roster on real
 * files: atomicity, --skip-invalid, --dry-run, re-import, and the messages
 * an administrator gets for each bad row.
 */
#include <iconv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hex.h"
#include "import.h"
#include "roster.h"
#include "secret.h"
#include "session.h"
#include "store.h"
#include "testutil.h"

struct fx {
    struct tdir *t;
    char db[300], csv[300];
    struct store *st;
    struct secret sec;
};

static const char sessions_csv[] =
    "code,certificate,level,date,start,end,opens_before,late_after,published\n"
    "S1,Web前端开发,中级,2026-12-05,09:00,11:00,30,15,20\n"
    "S2,数据库管理系统,初级,2026-12-05,14:00,16:00,,,\n";

static const char roster_hdr[] = "ticket,name,id_number,session,room,seat\n";
#define ROW1      "T1,张伟,11010519491231002X,S1,101,01\n"
#define ROW2      "T2,李娜,440524188001010014,S1,101,02\n"
#define ROW3      "T3,王芳,53010219200508011X,S2,101,01\n"
#define BAD_CHECK "T4,赵强,110105194912310021,S1,101,03\n"

static long long q(struct fx *x, const char *sql)
{
    return sql_int(store_db(x->st), sql);
}

static int roster(struct fx *x, const char *text, int skip, int dry,
                  struct import_report *r, struct err *e)
{
    struct import_opts o;

    memset(&o, 0, sizeof(o));
    o.skip_invalid = skip;
    o.dry_run = dry;
    o.operator_name = "tester";
    assert_int_equal(write_bytes(x->csv, text, (size_t)-1), 0);
    err_clear(e);
    return import_roster(x->st, &x->sec, x->csv, &o, r, e);
}

static int sessions(struct fx *x, const char *text, struct import_report *r,
                    struct err *e)
{
    struct import_opts o;

    memset(&o, 0, sizeof(o));
    o.operator_name = "tester";
    assert_int_equal(write_bytes(x->csv, text, (size_t)-1), 0);
    err_clear(e);
    return import_sessions(x->st, x->csv, &o, r, e);
}

/* A store with sessions S1 and S2. */
static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    struct import_report r;
    struct err e;
    size_t i;

    if (x == NULL || (x->t = tdir_new()) == NULL)
        return -1;
    tdir_file(x->t, "site.db", x->db, sizeof(x->db));
    tdir_file(x->t, "in.csv", x->csv, sizeof(x->csv));
    for (i = 0; i < sizeof(x->sec.key); i++)
        x->sec.key[i] = (unsigned char)(0xA0 + i);
    if (store_open(&x->st, x->db, STORE_CREATE, &e) == -1)
        return -1;
    if (sessions(x, sessions_csv, &r, &e) != 0 || r.imported != 2 ||
        !r.committed) {
        print_error("setup: sessions: %s\n", e.msg);
        return -1;
    }
    import_report_free(&r);
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

static void test_sessions_imported(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct session_row s;
    struct err e;

    assert_int_equal(session_get(x->st, "S1", &s, &e), 1);
    assert_string_equal(s.certificate, "Web前端开发");
    assert_string_equal(s.level, "中级");
    assert_int_equal(s.start_min, 9 * 60);
    assert_int_equal(s.end_min, 11 * 60);
    assert_int_equal(s.published, 20);
    assert_int_equal(session_get(x->st, "S2", &s, &e), 1);
    assert_int_equal(s.opens_before, 30); /* defaults for empty cells */
    assert_int_equal(s.late_after, 15);
    assert_int_equal(s.published, -1);
    assert_int_equal(
        q(x, "SELECT count(*) FROM event WHERE kind = 'session.added'"), 2);

    /* the same file again changes nothing */
    assert_int_equal(sessions(x, sessions_csv, &r, &e), 0);
    assert_int_equal(r.imported, 0);
    assert_int_equal(r.unchanged, 2);
    assert_int_equal(r.committed, 0);
    import_report_free(&r);
    assert_int_equal(q(x, "SELECT count(*) FROM event"), 2);

    /* the same code with other details is refused, atomically */
    assert_int_equal(sessions(x,
                              "code,certificate,level,date,start,end\n"
                              "S3,新证书,高级,2026-12-06,09:00,11:00\n"
                              "S1,Web前端开发,中级,2026-12-05,09:30,11:00\n",
                              &r, &e),
                     0);
    assert_int_equal(r.rejected, 1);
    assert_int_equal(r.committed, 0);
    assert_int_equal(r.nerrors, 1);
    assert_int_equal(r.errors[0].line, 3);
    import_report_free(&r);
    assert_int_equal(session_get(x->st, "S3", &s, &e), 0);
}

static void test_session_field_errors(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct err e;
    static const struct {
        const char *row;
        const char *reason;
    } cases[] = {
        {"X1,证书,特级,2026-12-05,09:00,11:00", "level must be"},
        {"X1,证书,初级,2026-02-30,09:00,11:00", "not a real YYYY-MM-DD date"},
        {"X1,证书,初级,2026-12-05,9h00,11:00",
         "start time '9h00' is not HH:MM"},
        {"X1,证书,初级,2026-12-05,09:00,24:00",
         "end time '24:00' is not HH:MM"},
        {"X1,证书,初级,2026-12-05,11:00,09:00", "is not after start time"},
        {"X1,证书,初级,2026-12-05,09:00,09:10", "late cut-off"},
        {"X 1,证书,初级,2026-12-05,09:00,11:00", "session code 'X 1' must be"},
        {",证书,初级,2026-12-05,09:00,11:00", "session code is empty"},
        {"X1,,初级,2026-12-05,09:00,11:00", "certificate name is empty"},
    };
    char buf[256];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(buf, sizeof(buf),
                 "code,certificate,level,date,start,end\n%s\n", cases[i].row);
        assert_int_equal(sessions(x, buf, &r, &e), 0);
        if (r.rejected != 1 || r.nerrors != 1 || r.errors[0].line != 2 ||
            strstr(r.errors[0].reason, cases[i].reason) == NULL)
            fail_msg("[%s]: want [%s] at line 2, got %d errors: [%s]",
                     cases[i].row, cases[i].reason, (int)r.nerrors,
                     r.nerrors ? r.errors[0].reason : "");
        assert_int_equal(r.committed, 0);
        import_report_free(&r);
    }
    assert_int_equal(q(x, "SELECT count(*) FROM session"), 2);
}

static void test_roster_good(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct candidate c;
    char want[IDNUMBER_HASH_HEX + 1], got[IDNUMBER_HASH_HEX + 1], buf[64];
    struct err e;

    assert_int_equal(
        roster(x, "ticket,name,id_number,session,room,seat\n" ROW1 ROW2 ROW3, 0,
               0, &r, &e),
        0);
    assert_int_equal(r.rows, 3);
    assert_int_equal(r.imported, 3);
    assert_int_equal(r.rejected, 0);
    assert_int_equal(r.committed, 1);
    assert_int_equal(r.file.encoding, CSV_ENC_UTF8);
    import_report_free(&r);
    assert_int_equal(q(x, "SELECT count(*) FROM candidate"), 3);
    assert_int_equal(q(x, "SELECT count(*) FROM room"), 1);
    assert_int_equal(
        q(x, "SELECT count(*) FROM event WHERE kind = 'roster.imported'"), 1);
    assert_string_equal(
        sql_text(store_db(x->st),
                 "SELECT json_extract(payload, '$.imported') || '/' || "
                 "json_extract(payload, '$.rows') || '/' || "
                 "json_extract(payload, '$.file') FROM event "
                 "WHERE kind = 'roster.imported'",
                 buf, sizeof(buf)),
        "3/3/in.csv");

    assert_int_equal(candidate_get(x->st, "T1", &c, &e), 1);
    assert_string_equal(c.name, "张伟");
    assert_string_equal(c.id_last4, "002X");
    assert_string_equal(c.session, "S1");
    assert_string_equal(c.room, "101");
    assert_string_equal(c.seat, "01");
    assert_int_equal(idnumber_hash(x->sec.key, sizeof(x->sec.key),
                                   "11010519491231002X", want),
                     0);
    hex_encode(c.id_hash, sizeof(c.id_hash), got);
    assert_string_equal(got, want);
}

static int file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    static char buf[1 << 20];
    size_t n;

    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return memmem(buf, n, needle, strlen(needle)) != NULL;
}

static void test_no_id_number_stored(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct err e;
    char wal[320];

    assert_int_equal(
        roster(x, "ticket,name,id_number,session,room,seat\n" ROW1 ROW2 ROW3, 0,
               0, &r, &e),
        0);
    import_report_free(&r);
    store_close(x->st);
    x->st = NULL;
    snprintf(wal, sizeof(wal), "%s-wal", x->db);
    assert_false(file_contains(x->db, "11010519491231002X"));
    assert_false(file_contains(wal, "11010519491231002X"));
    assert_false(file_contains(x->db, "440524188001010014"));
    assert_false(file_contains(wal, "440524188001010014"));
    /* the check is real: the names are there */
    assert_true(file_contains(x->db, "张伟") || file_contains(wal, "张伟"));
    {
        struct err e2;
        assert_int_equal(store_open(&x->st, x->db, 0, &e2), 0);
    }
}

static void test_atomic_rollback(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct err e;

    assert_int_equal(
        roster(x,
               "ticket,name,id_number,session,room,seat\n" ROW1 ROW2 BAD_CHECK
                   ROW3,
               0, 0, &r, &e),
        0);
    assert_int_equal(r.rows, 4);
    assert_int_equal(r.rejected, 1);
    assert_int_equal(r.committed, 0);
    assert_int_equal(r.nerrors, 1);
    assert_int_equal(r.errors[0].line, 4);
    assert_non_null(strstr(r.errors[0].reason, "check digit"));
    /* the number is masked in the message */
    assert_non_null(strstr(r.errors[0].reason, "110105********0021"));
    assert_null(strstr(r.errors[0].reason, "110105194912310021"));
    import_report_free(&r);
    assert_int_equal(q(x, "SELECT count(*) FROM candidate"), 0);
    assert_int_equal(q(x, "SELECT count(*) FROM room"), 0);
    assert_int_equal(
        q(x, "SELECT count(*) FROM event WHERE kind = 'roster.imported'"), 0);
}

static void test_every_bad_row_reported(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct err e;

    assert_int_equal(
        roster(x,
               "ticket,name,id_number,session,room,seat\n" BAD_CHECK /* 2 */
                   ROW1                                              /* 3 */
               "T5,钱多,11010519491231002X,S9,101,05\n"              /* 4 */
               "T6,,440524188001015368,S1,101,06\n"                  /* 5 */
               "T7,孙七,44052418800101536,S1,101,07\n"               /* 6 */
               "T8,周八,440524188001015368,S1,101\n",                /* 7 */
               0, 0, &r, &e),
        0);
    assert_int_equal(r.rejected, 5);
    assert_int_equal(r.nerrors, 5);
    assert_int_equal(r.errors[0].line, 2);
    assert_int_equal(r.errors[1].line, 4);
    assert_non_null(strstr(r.errors[1].reason,
                           "session 'S9' is not defined: import the "
                           "sessions first"));
    assert_int_equal(r.errors[2].line, 5);
    assert_non_null(strstr(r.errors[2].reason, "name is empty"));
    assert_int_equal(r.errors[3].line, 6);
    assert_non_null(strstr(r.errors[3].reason, "18 characters"));
    assert_int_equal(r.errors[4].line, 7);
    assert_non_null(strstr(r.errors[4].reason, "expected 6 fields"));
    import_report_free(&r);
    assert_int_equal(q(x, "SELECT count(*) FROM candidate"), 0);
}

/* A row lists everything wrong with it, each reason at the row's line. */
static void test_every_error_of_a_row(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct err e;
    static const char *const want[] = {
        "ticket number '2.60000E+11' is in scientific notation: Excel turned "
        "the column into numbers",
        "name is empty",
        "ID number is in scientific notation: Excel turned the column",
        "session 'S9' is not defined",
        "room '1/01' must be",
        "seat is empty",
    };
    size_t i;

    assert_int_equal(roster(x,
                            "ticket,name,id_number,session,room,seat\n" ROW1
                            "2.60000E+11,,3.20102E+17,S9,1/01,\n",
                            0, 0, &r, &e),
                     0);
    assert_int_equal(r.rows, 2);
    assert_int_equal(r.rejected, 1);
    assert_int_equal(r.nerrors, sizeof(want) / sizeof(want[0]));
    for (i = 0; i < r.nerrors; i++) {
        assert_int_equal(r.errors[i].line, 3);
        if (strstr(r.errors[i].reason, want[i]) == NULL)
            fail_msg("error %zu: want [%s], got [%s]", i, want[i],
                     r.errors[i].reason);
    }
    import_report_free(&r);

    /* a session row too */
    assert_int_equal(sessions(x,
                              "code,certificate,level,date,start,end\n"
                              "X1,证书,特级,2026-02-30,09:00,08:00\n",
                              &r, &e),
                     0);
    assert_int_equal(r.rejected, 1);
    assert_int_equal(r.nerrors, 3);
    assert_non_null(strstr(r.errors[0].reason, "level must be"));
    assert_non_null(strstr(r.errors[1].reason, "not a real YYYY-MM-DD"));
    assert_non_null(strstr(r.errors[2].reason, "is not after start time"));
    import_report_free(&r);
    assert_int_equal(q(x, "SELECT count(*) FROM candidate"), 0);
    assert_int_equal(q(x, "SELECT count(*) FROM session"), 2);
}

/* Rows naming a session the site does not have: one message per code, at
 * its first row, counting the others; other errors of those rows still
 * listed. */
static void test_unknown_session_once(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct err e;
    char buf[8192], *p = buf;
    int i;

    p += sprintf(p, "ticket,name,id_number,session,room,seat\n");
    for (i = 0; i < 40; i++)
        p += sprintf(p, "U%02d,某某,11010519491231002X,LATER,101,%d\n", i, i);
    p += sprintf(p, "V1,某某,440524188001010014,OTHER,101,1\n"); /* 42 */
    p += sprintf(p, "V2,,440524188001015368,LATER,101,2\n");     /* 43 */
    assert_int_equal(roster(x, buf, 0, 0, &r, &e), 0);
    assert_int_equal(r.rows, 42);
    assert_int_equal(r.rejected, 42);
    assert_int_equal(r.nerrors, 3);
    assert_int_equal(r.errors[0].line, 2);
    assert_non_null(
        strstr(r.errors[0].reason,
               "session 'LATER' is not defined: import the sessions first, "
               "or correct the code (this site has S1, S2); 40 more rows "
               "name it (up to line 43)"));
    assert_int_equal(r.errors[1].line, 42);
    assert_non_null(strstr(r.errors[1].reason, "session 'OTHER'"));
    assert_null(strstr(r.errors[1].reason, "more row"));
    assert_int_equal(r.errors[2].line, 43);
    assert_string_equal(r.errors[2].reason, "name is empty");
    import_report_free(&r);
    assert_int_equal(q(x, "SELECT count(*) FROM candidate"), 0);
}

/* A roster imported before any session: one error for the file. */
static void test_roster_before_sessions(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct import_opts o;
    struct store *st;
    struct err e;
    char db[300], want[400];

    tdir_file(x->t, "empty.db", db, sizeof(db));
    assert_int_equal(store_open(&st, db, STORE_CREATE, &e), 0);
    memset(&o, 0, sizeof(o));
    o.skip_invalid = 1;
    assert_int_equal(write_bytes(x->csv,
                                 "ticket,name,id_number,session,room,"
                                 "seat\n" ROW1 ROW2 ROW3,
                                 (size_t)-1),
                     0);
    err_clear(&e);
    assert_int_equal(import_roster(st, &x->sec, x->csv, &o, &r, &e), -1);
    assert_int_equal(e.code, EX_DATAERR);
    snprintf(want, sizeof(want),
             "%s:2: session 'S1' is not defined: import the sessions first "
             "(this site has none yet",
             x->csv);
    if (strncmp(e.msg, want, strlen(want)) != 0)
        fail_msg("want [%s], got [%s]", want, e.msg);
    assert_int_equal(r.committed, 0);
    import_report_free(&r);
    assert_int_equal(sql_int(store_db(st), "SELECT count(*) FROM candidate"),
                     0);
    store_close(st);
}

/* Excel's ",,,,," rows are not rows. */
static void test_comma_rows_skipped(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct err e;

    assert_int_equal(roster(x,
                            "ticket,name,id_number,session,room,seat\n"
                            ",,,,,\n" ROW1 ",,,,,\n,,,,,\n" ROW2 ",,,,,\n",
                            0, 0, &r, &e),
                     0);
    assert_int_equal(r.rows, 2);
    assert_int_equal(r.imported, 2);
    assert_int_equal(r.rejected, 0);
    assert_int_equal(r.committed, 1);
    import_report_free(&r);
    assert_int_equal(q(x, "SELECT count(*) FROM candidate"), 2);
}

static void test_skip_invalid(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct err e;
    char buf[16];

    assert_int_equal(
        roster(x,
               "ticket,name,id_number,session,room,seat\n" ROW1 BAD_CHECK ROW2,
               1, 0, &r, &e),
        0);
    assert_int_equal(r.imported, 2);
    assert_int_equal(r.rejected, 1);
    assert_int_equal(r.committed, 1);
    assert_int_equal(r.errors[0].line, 3);
    import_report_free(&r);
    assert_int_equal(q(x, "SELECT count(*) FROM candidate"), 2);
    assert_int_equal(q(x, "SELECT count(*) FROM candidate WHERE ticket = 'T4'"),
                     0);
    assert_string_equal(
        sql_text(store_db(x->st),
                 "SELECT json_extract(payload, '$.rejected') FROM event "
                 "WHERE kind = 'roster.imported'",
                 buf, sizeof(buf)),
        "1");
}

static void test_dry_run(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct err e;
    long long events = q(x, "SELECT count(*) FROM event");

    assert_int_equal(
        roster(x, "ticket,name,id_number,session,room,seat\n" ROW1 ROW2 ROW3, 0,
               1, &r, &e),
        0);
    assert_int_equal(r.imported, 3); /* would be */
    assert_int_equal(r.committed, 0);
    import_report_free(&r);
    assert_int_equal(q(x, "SELECT count(*) FROM candidate"), 0);
    assert_int_equal(q(x, "SELECT count(*) FROM room"), 0);
    assert_int_equal(q(x, "SELECT count(*) FROM event"), events);
    /* a dry run still finds the bad rows */
    assert_int_equal(
        roster(x, "ticket,name,id_number,session,room,seat\n" ROW1 BAD_CHECK, 0,
               1, &r, &e),
        0);
    assert_int_equal(r.rejected, 1);
    assert_int_equal(r.errors[0].line, 3);
    import_report_free(&r);
    assert_int_equal(q(x, "SELECT count(*) FROM candidate"), 0);
}

static void test_reimport_unchanged(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct err e;
    long long events;

    assert_int_equal(
        roster(x, "ticket,name,id_number,session,room,seat\n" ROW1 ROW2 ROW3, 0,
               0, &r, &e),
        0);
    import_report_free(&r);
    events = q(x, "SELECT count(*) FROM event");
    /* same rows, another order, another spelling of the header */
    assert_int_equal(roster(x,
                            "座位号,准考证号,姓名,身份证号,场次,考场\n"
                            "01,T3,王芳,53010219200508011x,S2,101\n"
                            "01,T1,张伟,11010519491231002X,S1,101\n",
                            0, 0, &r, &e),
                     0);
    assert_int_equal(r.imported, 0);
    assert_int_equal(r.unchanged, 2);
    assert_int_equal(r.rejected, 0);
    assert_int_equal(r.committed, 0);
    import_report_free(&r);
    assert_int_equal(q(x, "SELECT count(*) FROM event"), events);
    /* a changed detail for a ticket already there is refused */
    assert_int_equal(roster(x,
                            "ticket,name,id_number,session,room,seat\n"
                            "T1,张伟,11010519491231002X,S1,101,09\n",
                            0, 0, &r, &e),
                     0);
    assert_int_equal(r.rejected, 1);
    assert_non_null(strstr(r.errors[0].reason,
                           "already on the roster with different details"));
    import_report_free(&r);
}

static void test_duplicates_in_file(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct err e;

    /* the same ticket twice with other details */
    assert_int_equal(
        roster(x,
               "ticket,name,id_number,session,room,seat\n" ROW1 ROW2
               "T1,张伟,11010519491231002X,S1,101,05\n",
               0, 0, &r, &e),
        0);
    assert_int_equal(r.rejected, 1);
    assert_int_equal(r.errors[0].line, 4);
    assert_non_null(
        strstr(r.errors[0].reason, "ticket T1 appears twice (also on line 2)"));
    import_report_free(&r);

    /* two candidates on one seat */
    assert_int_equal(
        roster(x,
               "ticket,name,id_number,session,room,seat\n" ROW1 ROW2
               "T9,刘洋,440524188001015368,S1,101,01\n",
               0, 0, &r, &e),
        0);
    assert_int_equal(r.rejected, 1);
    assert_int_equal(r.errors[0].line, 4);
    assert_non_null(
        strstr(r.errors[0].reason, "seat 01 in room 101 of session S1"));
    assert_non_null(
        strstr(r.errors[0].reason, "ticket T1 on line 2 of this file"));
    import_report_free(&r);

    /* one person twice in a session */
    assert_int_equal(
        roster(x,
               "ticket,name,id_number,session,room,seat\n" ROW1 ROW2
               "T9,张伟,11010519491231002x,S1,101,09\n",
               0, 0, &r, &e),
        0);
    assert_int_equal(r.rejected, 1);
    assert_int_equal(r.errors[0].line, 4);
    assert_non_null(strstr(r.errors[0].reason,
                           "ID number is already on the roster of session S1"));
    assert_non_null(strstr(r.errors[0].reason, "line 2"));
    import_report_free(&r);
    assert_int_equal(q(x, "SELECT count(*) FROM candidate"), 0);

    /* the same person in two sessions is fine */
    assert_int_equal(roster(x,
                            "ticket,name,id_number,session,room,seat\n" ROW1
                            "T9,张伟,11010519491231002X,S2,101,09\n",
                            0, 0, &r, &e),
                     0);
    assert_int_equal(r.rejected, 0);
    assert_int_equal(r.committed, 1);
    import_report_free(&r);
}

static void test_file_level_errors(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct err e;

    assert_int_equal(
        roster(x, "ticket,name,id_number,session,room\n", 0, 0, &r, &e), -1);
    assert_int_equal(e.code, EX_DATAERR);
    assert_int_equal(e.line, 1);
    assert_non_null(
        strstr(e.msg, ":1: the header has no 'seat' column (座位号)"));
    import_report_free(&r);

    assert_int_equal(roster(x, "", 0, 0, &r, &e), -1);
    assert_int_equal(e.code, EX_DATAERR);
    assert_non_null(strstr(e.msg, "empty file"));
    import_report_free(&r);

    assert_int_equal(roster(x,
                            "ticket,name,id_number,session,room,seat,ticket\n",
                            0, 0, &r, &e),
                     -1);
    assert_non_null(strstr(e.msg, "twice"));
    import_report_free(&r);

    assert_int_equal(roster(x,
                            "ticket,name,id_number,session,room,seat\n" ROW1
                            "T2,\"李娜,440524188001010014,S1,101,02\n",
                            0, 0, &r, &e),
                     -1);
    assert_int_equal(e.line, 3);
    assert_non_null(strstr(e.msg, ":3: malformed CSV"));
    import_report_free(&r);
    assert_int_equal(q(x, "SELECT count(*) FROM candidate"), 0);

    /* header only: nothing to do, nothing written, not an error */
    assert_int_equal(roster(x, roster_hdr, 0, 0, &r, &e), 0);
    assert_int_equal(r.rows, 0);
    assert_int_equal(r.committed, 0);
    import_report_free(&r);
    assert_int_equal(
        q(x, "SELECT count(*) FROM event WHERE kind = 'roster.imported'"), 0);
}

static void test_gb18030_roster(void **state)
{
    struct fx *x = *state;
    static const char utf8[] = "准考证号,姓名,身份证号,场次,考场,座位号\n"
                               "T1,欧阳秀英,11010519491231002X,S1,101,01\n";
    char gb[512], *in = (char *)utf8, *op = gb;
    size_t inleft = sizeof(utf8) - 1, outleft = sizeof(gb);
    iconv_t cd = iconv_open("GB18030", "UTF-8");
    struct import_report r;
    struct import_opts o;
    struct candidate c;
    struct err e;

    assert_true(cd != (iconv_t)-1);
    assert_true(iconv(cd, &in, &inleft, &op, &outleft) != (size_t)-1);
    iconv_close(cd);
    assert_int_equal(write_bytes(x->csv, gb, sizeof(gb) - outleft), 0);
    memset(&o, 0, sizeof(o));
    assert_int_equal(import_roster(x->st, &x->sec, x->csv, &o, &r, &e), 0);
    assert_int_equal(r.file.encoding, CSV_ENC_GB18030);
    assert_int_equal(r.imported, 1);
    import_report_free(&r);
    assert_int_equal(candidate_get(x->st, "T1", &c, &e), 1);
    assert_string_equal(c.name, "欧阳秀英");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sessions_imported, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_field_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_roster_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_id_number_stored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_atomic_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_bad_row_reported, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_every_error_of_a_row, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_session_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_roster_before_sessions, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_comma_rows_skipped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_skip_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reimport_unchanged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_in_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_level_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_gb18030_roster, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
