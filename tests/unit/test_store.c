/*
 * test_store.c: the error convention through the store's foreach helpers
 * and the readers of outside input: a callback's own error comes back to
 * the caller as it was (not "callback failed"), a callback that fails
 * without a word still fails, and a NULL struct err is never dereferenced
 * (ASan would stop the test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "attendance.h"
#include "config.h"
#include "csvread.h"
#include "event.h"
#include "import.h"
#include "report.h"
#include "roster.h"
#include "secret.h"
#include "session.h"
#include "store.h"
#include "testutil.h"

struct fx {
    struct tdir *t;
    char db[300], file[300];
    struct store *st;
};

/* A store with one session, one room, two candidates and two events. */
static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    struct event ev;
    struct err e;
    int i;

    if (x == NULL || (x->t = tdir_new()) == NULL)
        return -1;
    tdir_file(x->t, "site.db", x->db, sizeof(x->db));
    tdir_file(x->t, "in.txt", x->file, sizeof(x->file));
    if (store_open(&x->st, x->db, STORE_CREATE, &e) == -1 ||
        store_exec(x->st,
                   "INSERT INTO session (code, certificate, level, date, "
                   "start_min, end_min) VALUES ('S1', 'Web', '初级', "
                   "'2026-12-05', 540, 660);"
                   "INSERT INTO room (code) VALUES ('101');"
                   "INSERT INTO candidate (ticket, name, id_hash, id_last4, "
                   "session, room, seat) VALUES ('T1', 'A', zeroblob(32), "
                   "'0001', 'S1', '101', '01');"
                   "INSERT INTO candidate (ticket, name, id_hash, id_last4, "
                   "session, room, seat) VALUES ('T2', 'B', randomblob(32), "
                   "'0002', 'S1', '101', '02');",
                   &e) == -1)
        return -1;
    for (i = 0; i < 2; i++) {
        memset(&ev, 0, sizeof(ev));
        ev.kind = "checkin.denied";
        ev.session = "S1";
        ev.room = "101";
        if (store_begin(x->st, &e) == -1 || event_append(x->st, &ev, &e) ||
            store_commit(x->st, &e) == -1)
            return -1;
    }
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

/* The callbacks: fail on the second call, with a reason or (quiet) none. */
struct cb {
    int calls, quiet;
};

static int cb_fail(struct cb *c, struct err *e)
{
    assert_non_null(e); /* never NULL, whatever the caller passed */
    if (++c->calls < 2)
        return 0;
    if (c->quiet)
        return -1;
    return err_set(e, EX_DATAERR, "the real cause, seen at call %d", c->calls);
}

static int on_event(void *ud, const struct event *ev, struct err *e)
{
    (void)ev;
    return cb_fail(ud, e);
}

static int on_session(void *ud, const struct session_row *s, struct err *e)
{
    (void)s;
    return cb_fail(ud, e);
}

static int on_candidate(void *ud, const struct candidate *c, struct err *e)
{
    (void)c;
    return cb_fail(ud, e);
}

static int on_absentee(void *ud, const char *ticket, const char *seat,
                       struct err *e)
{
    (void)ticket;
    (void)seat;
    return cb_fail(ud, e);
}

static int on_status(void *ud, const struct report_status *r, struct err *e)
{
    (void)r;
    return cb_fail(ud, e);
}

/* Each helper, made to fail in its second callback, three ways. */
static int run(struct fx *x, int which, struct cb *c, struct err *e)
{
    switch (which) {
    case 0:
        return event_foreach(x->st, 0, 0, on_event, c, e);
    case 1:
        /* a second session so that there is a second call */
        store_exec(x->st,
                   "INSERT OR IGNORE INTO session (code, certificate, level, "
                   "date, start_min, end_min) VALUES ('S2', 'DB', '中级', "
                   "'2026-12-06', 540, 660)",
                   NULL);
        return session_foreach(x->st, on_session, c, e);
    case 2:
        return candidate_foreach(x->st, NULL, NULL, on_candidate, c, e);
    case 3:
        return attendance_absentees(x->st, "S1", "101", on_absentee, c, e);
    default:
        store_exec(x->st,
                   "INSERT OR IGNORE INTO session (code, certificate, level, "
                   "date, start_min, end_min) VALUES ('S2', 'DB', '中级', "
                   "'2026-12-06', 540, 660)",
                   NULL);
        return report_status(x->st, NULL, NULL, on_status, c, e);
    }
}

static void test_callback_error_through(void **state)
{
    static const char *const what[] = {"events", "sessions", "candidates",
                                       "absentees", "status"};
    struct fx *x = *state;
    char want[64];
    struct cb c;
    struct err e;
    int which;

    for (which = 0; which < 5; which++) {
        /* the callback's reason, its code, and nothing added */
        memset(&c, 0, sizeof(c));
        err_clear(&e);
        assert_int_equal(run(x, which, &c, &e), -1);
        assert_int_equal(c.calls, 2);
        assert_int_equal(e.code, EX_DATAERR);
        assert_string_equal(e.msg, "the real cause, seen at call 2");

        /* a callback that says nothing still fails, and says that */
        memset(&c, 0, sizeof(c));
        c.quiet = 1;
        assert_int_equal(run(x, which, &c, &e), -1);
        assert_int_equal(e.code, EX_SOFTWARE);
        snprintf(want, sizeof(want), "%s: callback failed", what[which]);
        assert_string_equal(e.msg, want);

        /* a NULL err is allowed: the same failure, the message dropped */
        memset(&c, 0, sizeof(c));
        assert_int_equal(run(x, which, &c, NULL), -1);
        assert_int_equal(c.calls, 2);
    }
}

/* The SQLite error of a failing walk is the one reported. */
static void test_sql_error_through(void **state)
{
    struct fx *x = *state;
    struct cb c;
    struct err e;

    assert_int_equal(store_exec(x->st, "DROP TABLE candidate", &e), 0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(candidate_foreach(x->st, NULL, NULL, on_candidate, &c, &e),
                     -1);
    assert_int_equal(c.calls, 0);
    assert_non_null(strstr(e.msg, "no such table: candidate"));
    assert_null(strstr(e.msg, "callback failed"));
}

static int on_record(void *ud, int line, char **f, size_t n, struct err *e)
{
    (void)ud;
    (void)line;
    (void)f;
    (void)n;
    assert_non_null(e);
    return 0;
}

/* The readers of outside input with a NULL err, on inputs that fail at a
 * line (where they used to write e->line). */
static void test_null_err_readers(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct import_opts o;
    struct config cfg;
    struct secret sec;

    memset(&o, 0, sizeof(o));
    memset(&sec, 7, sizeof(sec));
    /* an empty roster file: "no header row", line 1 */
    assert_int_equal(write_bytes(x->file, "", 0), 0);
    assert_int_equal(import_roster(x->st, &sec, x->file, &o, &r, NULL), -1);
    import_report_free(&r);
    /* malformed CSV: an unterminated quote */
    assert_int_equal(write_bytes(x->file, "ticket,name\n\"T1,A\n", (size_t)-1),
                     0);
    assert_int_equal(import_sessions(x->st, x->file, &o, &r, NULL), -1);
    import_report_free(&r);
    assert_int_equal(
        csvread_file(x->file, CSV_ENC_AUTO, on_record, NULL, NULL, NULL), -1);
    /* not UTF-8 when UTF-8 is forced */
    assert_int_equal(csvread_buffer("x.csv", "a,\xff\n", 4, CSV_ENC_UTF8,
                                    on_record, NULL, NULL, NULL),
                     -1);
    /* a configuration whose device section lacks its room */
    assert_int_equal(write_bytes(x->file,
                                 "[device r1]\ntype = idcard\n"
                                 "transport = serial\npath = /dev/ttyS0\n",
                                 (size_t)-1),
                     0);
    assert_int_equal(config_load(x->file, &cfg, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_callback_error_through, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sql_error_through, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_null_err_readers, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
