/*
 * test_correct.c: the office's corrections (db/correct.c, and import.c's
 * --apply-changes) on a real site database: seats swapped and moved, a
 * late registration, a candidate moved to another session and renamed,
 * conflicts that leave everything as it was, withdrawals (the row kept,
 * the seat free again, status and absent marking without them), session
 * changes; the opened/forced/sealed rule; the reason; the digest every
 * correction records, and migration 003 on a database made before it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "attendance.h"
#include "correct.h"
#include "event.h"
#include "import.h"
#include "refdigest.h"
#include "report.h"
#include "roster.h"
#include "secret.h"
#include "session.h"
#include "site.h"
#include "store.h"
#include "testutil.h"

struct fx {
    struct tdir *t;
    char db[300], csv[300];
    struct store *st;
    struct secret sec;
};

static const char sessions_csv[] =
    "code,certificate,level,date,start,end,opens_before,late_after\n"
    "S1,Web前端开发,中级,2026-12-05,09:00,11:00,30,15\n"
    "S2,数据库管理系统,初级,2026-12-05,14:00,16:00,30,15\n";

#define HDR  "ticket,name,id_number,session,room,seat\n"
#define ROW1 "T1,张伟,11010519491231002X,S1,101,01\n"
#define ROW2 "T2,李娜,440524188001010014,S1,101,02\n"
#define ROW3 "T3,王芳,53010219200508011X,S2,101,01\n"
#define ROW4 "T4,周杰,320102199503151016,S1,102,01\n"
/* a late registration */
#define ROW5 "T5,吴敏,32010219960420202X,S1,101,03\n"

static long long q(struct fx *x, const char *sql)
{
    return sql_int(store_db(x->st), sql);
}

static const char *qs(struct fx *x, const char *sql, char *out, size_t len)
{
    return sql_text(store_db(x->st), sql, out, len);
}

/* Everything a correction could touch, as one string. */
static const char *snapshot(struct fx *x, char *out, size_t len)
{
    return qs(x,
              "SELECT (SELECT group_concat(ticket || name || hex(id_hash) || "
              "session || room || seat || withdrawn, ';') FROM (SELECT * FROM "
              "candidate ORDER BY ticket)) || '|' || (SELECT group_concat("
              "code || date || start_min || end_min || opens_before || "
              "late_after || coalesce(published, '-'), ';') FROM session) || "
              "'|' || (SELECT count(*) FROM event) || '|' || (SELECT "
              "group_concat(code) FROM room)",
              out, len);
}

enum { DRY = 1, SKIP = 2, FORCE = 4, PLAIN = 8 };

/* Import text as `roster import --apply-changes --reason R` (flags: DRY,
 * SKIP, FORCE; PLAIN: without --apply-changes). */
static int apply(struct fx *x, const char *text, int flags,
                 struct import_report *r)
{
    struct import_opts o;
    struct err e;
    int rc;

    memset(&o, 0, sizeof(o));
    o.dry_run = (flags & DRY) != 0;
    o.skip_invalid = (flags & SKIP) != 0;
    o.force = (flags & FORCE) != 0;
    o.apply_changes = !(flags & PLAIN);
    o.reason = "教务处更正";
    o.operator_name = "kaowu";
    assert_int_equal(write_bytes(x->csv, text, (size_t)-1), 0);
    err_clear(&e);
    rc = import_roster(x->st, &x->sec, x->csv, &o, r, &e);
    if (rc == -1)
        fail_msg("import_roster: %s", e.msg);
    return rc;
}

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    struct import_report r;
    struct import_opts o;
    struct site s;
    struct err e;
    size_t i;

    if (x == NULL || (x->t = tdir_new()) == NULL)
        return -1;
    tdir_file(x->t, "site.db", x->db, sizeof(x->db));
    tdir_file(x->t, "in.csv", x->csv, sizeof(x->csv));
    for (i = 0; i < sizeof(x->sec.key); i++)
        x->sec.key[i] = (unsigned char)(0x30 + i);
    if (store_open(&x->st, x->db, STORE_CREATE, &e) == -1)
        return -1;
    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "HZVC-01");
    snprintf(s.name, sizeof(s.name), "考点");
    snprintf(s.station, sizeof(s.station), "door-101");
    snprintf(s.timezone, sizeof(s.timezone), "Asia/Shanghai");
    snprintf(s.created, sizeof(s.created), "2026-12-01T00:00:00.000Z");
    if (store_begin(x->st, &e) == -1 || site_create(x->st, &s, &e) == -1 ||
        store_commit(x->st, &e) == -1)
        return -1;
    memset(&o, 0, sizeof(o));
    if (write_bytes(x->csv, sessions_csv, (size_t)-1) == -1 ||
        import_sessions(x->st, x->csv, &o, &r, &e) == -1 || !r.committed)
        return -1;
    import_report_free(&r);
    if (write_bytes(x->csv, HDR ROW1 ROW2 ROW3 ROW4, (size_t)-1) == -1 ||
        import_roster(x->st, &x->sec, x->csv, &o, &r, &e) == -1 || !r.committed)
        return -1;
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

/* The chain and the tables as recorded: verify says intact. */
static void assert_intact(struct fx *x)
{
    struct event_verify v;
    struct err e;

    if (event_verify(x->st, &v, &e) != 0)
        fail_msg("verify: %s", v.reason[0] ? v.reason : e.msg);
    assert_int_equal(v.ref_unrecorded, 0);
    assert_true(v.ref_id > 0);
}

/* Append a mark or a check-in as the daemon would (for the opened and
 * sealed rules). */
static void mark(struct fx *x, const char *kind, const char *session,
                 const char *room, const char *ticket)
{
    struct event ev;
    struct err e;

    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    ev.session = session;
    ev.room = room;
    ev.ticket = ticket;
    assert_int_equal(store_begin(x->st, &e), 0);
    assert_int_equal(event_append(x->st, &ev, &e), 0);
    assert_int_equal(store_commit(x->st, &e), 0);
    event_release(&ev);
}

static json_t *payload_of(struct fx *x, long long id)
{
    char sql[128], buf[EVENT_PAYLOAD_MAX + 1];
    json_t *j;

    snprintf(sql, sizeof(sql), "SELECT payload FROM event WHERE id = %lld", id);
    qs(x, sql, buf, sizeof(buf));
    assert_non_null(j = json_loads(buf, 0, NULL));
    return j;
}

/* payload.changes.KEY.old and .new of event id. */
static void assert_change(struct fx *x, long long id, const char *key,
                          const char *old, const char *new)
{
    json_t *j = payload_of(x, id);
    json_t *c = json_object_get(json_object_get(j, "changes"), key);

    if (c == NULL)
        fail_msg("event %lld: no change of %s", id, key);
    assert_string_equal(json_string_value(json_object_get(c, "old")), old);
    assert_string_equal(json_string_value(json_object_get(c, "new")), new);
    json_decref(j);
}

static void test_swap_and_late_registration(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    struct refdigest d;
    char before[4096], after[4096], s[256];
    long long first;
    json_t *j;
    struct err e;

    snapshot(x, before, sizeof(before));
    /* without --apply-changes: refused, the difference named */
    assert_int_equal(apply(x,
                           HDR "T1,张伟,11010519491231002X,S1,101,02\n"
                               "T2,李娜,440524188001010014,S1,101,01\n" ROW3,
                           PLAIN, &r),
                     0);
    assert_int_equal(r.rejected, 2);
    assert_false(r.committed);
    assert_non_null(strstr(r.errors[0].reason,
                           "ticket T1 is already on the roster with different "
                           "details (seat 01 → 02)"));
    assert_non_null(strstr(r.errors[0].reason, "--apply-changes"));
    import_report_free(&r);
    assert_string_equal(snapshot(x, after, sizeof(after)), before);

    /* T1 and T2 swap seats, T5 registers late, T3 as it was, T4 not in the
     * file (left as it is) */
    first = q(x, "SELECT max(id) FROM event") + 1;
    assert_int_equal(apply(x,
                           HDR
                           "T1,张伟,11010519491231002X,S1,101,02\n"
                           "T2,李娜,440524188001010014,S1,101,01\n" ROW3 ROW5,
                           0, &r),
                     0);
    assert_true(r.committed);
    assert_int_equal(r.changed, 2);
    assert_int_equal(r.imported, 1);
    assert_int_equal(r.unchanged, 1);
    assert_int_equal(r.rejected, 0);
    assert_int_equal(r.left_alone, 1);
    assert_int_equal(r.changes.n, 3);
    assert_int_equal(r.first_event, first);
    assert_int_equal(r.last_event, first + 2);
    assert_int_equal(r.changes.v[0].what, CORRECT_SEAT);
    import_report_free(&r);
    assert_string_equal(
        qs(x,
           "SELECT group_concat(ticket || ':' || seat, ' ') FROM (SELECT * "
           "FROM candidate WHERE session = 'S1' AND room = '101' ORDER BY "
           "seat)",
           s, sizeof(s)),
        "T2:01 T1:02 T5:03");
    /* one event per candidate, in the file's order, each naming its ticket
     * and what changed, with the reason and the operator */
    assert_int_equal(q(x, "SELECT count(*) FROM event WHERE kind = "
                          "'roster.changed'"),
                     3);
    assert_string_equal(
        qs(x,
           "SELECT group_concat(ticket || '/' || json_extract(payload, "
           "'$.change') || '/' || json_extract(payload, '$.line'), ' ') "
           "FROM (SELECT * FROM event WHERE kind = 'roster.changed' "
           "ORDER BY id)",
           s, sizeof(s)),
        "T1/changed/2 T2/changed/3 T5/added/5");
    assert_change(x, first, "seat", "01", "02");
    assert_change(x, first + 1, "seat", "02", "01");
    j = payload_of(x, first + 2);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "吴敏");
    assert_string_equal(json_string_value(json_object_get(j, "id_number")),
                        "**************202X");
    assert_string_equal(json_string_value(json_object_get(j, "reason")),
                        "教务处更正");
    assert_string_equal(json_string_value(json_object_get(j, "file")),
                        "in.csv");
    assert_int_equal(strlen(json_string_value(json_object_get(j, "sha256"))),
                     64);
    assert_null(json_object_get(j, "forced"));
    json_decref(j);
    assert_int_equal(q(x, "SELECT count(*) FROM event WHERE kind = "
                          "'roster.changed' AND operator = 'kaowu'"),
                     3);
    /* all three carry the digest of the tables as the change left them */
    assert_int_equal(refdigest_compute(x->st, &d, &e), 0);
    {
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM event WHERE kind = 'roster.changed' "
                 "AND json_extract(payload, '$.refdigest.v') = 2 AND "
                 "json_extract(payload, '$.refdigest.candidate') = '%s'",
                 d.hex[3]);
        assert_int_equal(q(x, sql), 3);
    }
    assert_intact(x);
    /* the same file again: nothing to change, nothing recorded */
    snapshot(x, before, sizeof(before));
    assert_int_equal(apply(x,
                           HDR
                           "T1,张伟,11010519491231002X,S1,101,02\n"
                           "T2,李娜,440524188001010014,S1,101,01\n" ROW3 ROW5,
                           0, &r),
                     0);
    assert_false(r.committed);
    assert_int_equal(r.unchanged, 4);
    assert_int_equal(r.changes.n, 0);
    import_report_free(&r);
    assert_string_equal(snapshot(x, after, sizeof(after)), before);
}

static void test_dry_run(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    char before[4096], after[4096];

    snapshot(x, before, sizeof(before));
    assert_int_equal(
        apply(x, HDR "T1,张伟,11010519491231002X,S1,101,09\n" ROW5, DRY, &r),
        0);
    assert_false(r.committed);
    assert_int_equal(r.changed, 1);
    assert_int_equal(r.imported, 1);
    assert_int_equal(r.changes.n, 2);
    assert_int_equal(r.changes.v[0].state, CORRECT_DONE);
    assert_string_equal(correct_list_old(&r.changes, &r.changes.v[0])->seat,
                        "01");
    assert_string_equal(r.changes.v[0].cur.seat, "09");
    import_report_free(&r);
    assert_string_equal(snapshot(x, after, sizeof(after)), before);
}

/* Every detail: name, ID number, session, room, seat; the old and new ID
 * number by their last 4 only. */
static void test_every_detail(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    char s[256];
    long long id;

    assert_int_equal(
        apply(x, HDR "T2,李娜娜,440524188001015368,S2,102,09\n", 0, &r), 0);
    assert_true(r.committed);
    assert_int_equal(r.changes.v[0].what, CORRECT_NAME | CORRECT_ID |
                                              CORRECT_SESSION | CORRECT_ROOM |
                                              CORRECT_SEAT);
    assert_int_equal(r.left_alone, 3);
    id = r.first_event;
    import_report_free(&r);
    assert_change(x, id, "name", "李娜", "李娜娜");
    assert_change(x, id, "id_number", "**************0014",
                  "**************5368");
    assert_change(x, id, "session", "S1", "S2");
    assert_change(x, id, "room", "101", "102");
    assert_change(x, id, "seat", "02", "09");
    assert_string_equal(qs(x,
                           "SELECT session || room FROM event WHERE id = "
                           "(SELECT max(id) FROM event)",
                           s, sizeof(s)),
                        "S2102");
    assert_string_equal(qs(x,
                           "SELECT name || session || room || seat || "
                           "id_last4 FROM candidate WHERE ticket = 'T2'",
                           s, sizeof(s)),
                        "李娜娜S2102095368");
    /* no ID number in the record, only its last 4 */
    assert_int_equal(q(x, "SELECT count(*) FROM event WHERE payload LIKE "
                          "'%440524188001%'"),
                     0);
    assert_intact(x);
}

/* A correction that conflicts leaves everything as it was, even with
 * --skip-invalid; a new row that conflicts is a bad row like any. */
static void test_conflicts(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    char before[4096], after[4096], s[256];

    snapshot(x, before, sizeof(before));
    /* two changes claim seat 05 */
    assert_int_equal(apply(x,
                           HDR "T1,张伟,11010519491231002X,S1,101,05\n"
                               "T2,李娜,440524188001010014,S1,101,05\n",
                           SKIP, &r),
                     0);
    assert_false(r.committed);
    assert_int_equal(r.change_failed, 1);
    assert_int_equal(r.nerrors, 1);
    assert_int_equal(r.errors[0].line, 3);
    assert_non_null(strstr(r.errors[0].reason,
                           "seat 05 in room 101 of session S1 is already "
                           "taken by ticket T1 on line 2 of this file"));
    assert_int_equal(r.changes.v[1].state, CORRECT_REJECTED);
    import_report_free(&r);
    assert_string_equal(snapshot(x, after, sizeof(after)), before);
    /* a change into a seat held by a candidate the file leaves there */
    assert_int_equal(
        apply(x, HDR "T1,张伟,11010519491231002X,S1,101,02\n" ROW3, 0, &r), 0);
    assert_false(r.committed);
    assert_int_equal(r.change_failed, 1);
    assert_non_null(strstr(r.errors[0].reason, "already taken by ticket T2"));
    import_report_free(&r);
    assert_string_equal(snapshot(x, after, sizeof(after)), before);
    /* the same ticket twice */
    assert_int_equal(apply(x,
                           HDR "T1,张伟,11010519491231002X,S1,101,07\n"
                               "T1,张伟,11010519491231002X,S1,101,08\n",
                           0, &r),
                     0);
    assert_false(r.committed);
    assert_non_null(
        strstr(r.errors[0].reason, "ticket T1 appears twice (also on line 2)"));
    import_report_free(&r);
    assert_string_equal(snapshot(x, after, sizeof(after)), before);
    /* a new candidate in an occupied seat: a bad row; --skip-invalid
     * applies the rest */
    assert_int_equal(apply(x,
                           HDR "T6,郑强,440524188001015368,S1,101,02\n"
                               "T1,张伟,11010519491231002X,S1,101,07\n",
                           SKIP, &r),
                     0);
    assert_true(r.committed);
    assert_int_equal(r.rejected, 1);
    assert_int_equal(r.changed, 1);
    assert_int_equal(r.imported, 0);
    assert_int_equal(r.errors[0].line, 2);
    import_report_free(&r);
    assert_int_equal(q(x, "SELECT count(*) FROM candidate WHERE ticket = "
                          "'T6'"),
                     0);
    /* a new candidate in a seat that a move frees, whatever the order */
    assert_int_equal(apply(x,
                           HDR "T6,郑强,440524188001015368,S1,101,02\n"
                               "T2,李娜,440524188001010014,S1,101,08\n",
                           0, &r),
                     0);
    assert_true(r.committed);
    assert_int_equal(r.imported, 1);
    assert_int_equal(r.changed, 1);
    import_report_free(&r);
    assert_string_equal(
        qs(x,
           "SELECT group_concat(ticket || ':' || seat, ' ') FROM (SELECT * "
           "FROM candidate WHERE session = 'S1' AND room = '101' ORDER BY "
           "seat)",
           s, sizeof(s)),
        "T6:02 T1:07 T2:08");
    /* no seat left parked */
    assert_int_equal(q(x, "SELECT count(*) FROM candidate WHERE seat LIKE "
                          "'#%'"),
                     0);
    assert_intact(x);
}

/* Once a room's session has opened: refused, forced, and never when
 * sealed. */
static void test_opened_rooms(void **state)
{
    struct fx *x = *state;
    struct import_report r;
    char before[4096], after[4096];
    json_t *j;

    mark(x, "session.opened", "S1", "101", NULL);
    snapshot(x, before, sizeof(before));
    assert_int_equal(
        apply(x, HDR "T1,张伟,11010519491231002X,S1,101,09\n", 0, &r), 0);
    assert_false(r.committed);
    assert_int_equal(r.refused, 1);
    assert_int_equal(r.errors[0].line, 2);
    assert_string_equal(r.errors[0].reason,
                        "session S1 has opened in room 101: corrections need "
                        "--force with a reason");
    import_report_free(&r);
    /* a late registration into it too, and a move out of it */
    assert_int_equal(apply(x, HDR ROW5, 0, &r), 0);
    assert_int_equal(r.refused, 1);
    import_report_free(&r);
    assert_int_equal(
        apply(x, HDR "T1,张伟,11010519491231002X,S1,102,09\n", 0, &r), 0);
    assert_int_equal(r.refused, 1);
    import_report_free(&r);
    assert_string_equal(snapshot(x, after, sizeof(after)), before);
    /* another room is not held up by it */
    assert_int_equal(
        apply(x, HDR "T4,周杰,320102199503151016,S1,102,02\n", 0, &r), 0);
    assert_true(r.committed);
    import_report_free(&r);
    /* --force: applied, and the event says so */
    assert_int_equal(
        apply(x, HDR "T1,张伟,11010519491231002X,S1,101,09\n", FORCE, &r), 0);
    assert_true(r.committed);
    assert_int_equal(r.changes.v[0].forced, 1);
    j = payload_of(x, r.first_event);
    assert_true(json_is_true(json_object_get(j, "forced")));
    json_decref(j);
    import_report_free(&r);
    assert_intact(x);
    /* a check-in alone also means opened (S2 in room 101) */
    mark(x, "checkin.manual", "S2", "101", "T3");
    assert_int_equal(
        apply(x, HDR "T3,王芳,53010219200508011X,S2,101,04\n", 0, &r), 0);
    assert_int_equal(r.refused, 1);
    import_report_free(&r);
    /* sealed: refused even with --force, also as the room a move goes to */
    mark(x, "session.closed", "S1", "101", NULL);
    snapshot(x, before, sizeof(before));
    assert_int_equal(
        apply(x, HDR "T1,张伟,11010519491231002X,S1,101,10\n", FORCE, &r), 0);
    assert_false(r.committed);
    assert_int_equal(r.refused, 1);
    assert_non_null(strstr(r.errors[0].reason,
                           "session S1 in room 101 is closed and sealed"));
    import_report_free(&r);
    assert_int_equal(
        apply(x, HDR "T4,周杰,320102199503151016,S1,101,11\n", FORCE, &r), 0);
    assert_int_equal(r.refused, 1);
    import_report_free(&r);
    assert_string_equal(snapshot(x, after, sizeof(after)), before);
    /* a dry run says the same and writes nothing either */
    assert_int_equal(
        apply(x, HDR "T1,张伟,11010519491231002X,S1,101,10\n", DRY, &r), 0);
    assert_int_equal(r.refused, 1);
    import_report_free(&r);
    assert_string_equal(snapshot(x, after, sizeof(after)), before);
    assert_intact(x);
}

struct status_row {
    char key[64];
    int expected, absent;
};

static int status_cb(void *ud, const struct report_status *rs, struct err *e)
{
    struct status_row *out = ud;

    (void)e;
    for (; out->key[0]; out++)
        if (strncmp(out->key, rs->session, strlen(rs->session)) == 0 &&
            strcmp(out->key + strlen(rs->session), rs->room) == 0) {
            out->expected = rs->expected;
            out->absent = rs->absent;
        }
    return 0;
}

static int absentee_cb(void *ud, const char *ticket, const char *seat,
                       struct err *e)
{
    char *out = ud;

    (void)seat;
    (void)e;
    strcat(out, ticket);
    strcat(out, " ");
    return 0;
}

static void test_withdraw(void **state)
{
    struct fx *x = *state;
    struct correct_outcome out;
    struct correct_opts o;
    struct status_row st[3];
    struct import_report r;
    struct candidate c;
    char before[4096], after[4096], s[256];
    json_t *j;
    struct err e;

    memset(&o, 0, sizeof(o));
    o.reason = "本人申请取消，身份证 110105194912310021";
    o.operator_name = "kaowu";
    assert_int_equal(store_begin(x->st, &e), 0);
    assert_int_equal(correct_withdraw(x->st, "T2", &o, &out, &e), 0);
    assert_int_equal(store_commit(x->st, &e), 0);
    assert_int_equal(out.unchanged, 0);
    assert_int_equal(out.forced, 0);
    assert_true(out.first_id > 0);
    /* the row is kept, marked */
    assert_int_equal(candidate_get(x->st, "T2", &c, &e), 1);
    assert_int_equal(c.withdrawn, 1);
    assert_string_equal(c.seat, "02");
    j = payload_of(x, out.first_id);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "李娜");
    /* an ID number typed into the reason is masked */
    assert_string_equal(json_string_value(json_object_get(j, "reason")),
                        "本人申请取消，身份证 110105********0021");
    json_decref(j);
    assert_string_equal(qs(x,
                           "SELECT kind || ticket || session || room || "
                           "operator FROM event ORDER BY id DESC LIMIT 1",
                           s, sizeof(s)),
                        "roster.withdrawnT2S1101kaowu");
    assert_intact(x);
    /* status: not expected; absent marking: not there; the room still has
     * its other candidate */
    memset(st, 0, sizeof(st));
    snprintf(st[0].key, sizeof(st[0].key), "S1101");
    snprintf(st[1].key, sizeof(st[1].key), "S1102");
    assert_int_equal(report_status(x->st, NULL, NULL, status_cb, st, &e), 0);
    assert_int_equal(st[0].expected, 1);
    assert_int_equal(st[1].expected, 1);
    s[0] = '\0';
    assert_int_equal(
        attendance_absentees(x->st, "S1", "101", absentee_cb, s, &e), 0);
    assert_string_equal(s, "T1 ");
    assert_int_equal(attendance_room_has(x->st, "S1", "101", &e), 1);
    /* the room whose only candidate is withdrawn: listed, expecting 0, and
     * without candidates for the schedule */
    assert_int_equal(store_begin(x->st, &e), 0);
    assert_int_equal(correct_withdraw(x->st, "T4", &o, &out, &e), 0);
    assert_int_equal(store_commit(x->st, &e), 0);
    st[1].expected = -1;
    assert_int_equal(report_status(x->st, NULL, NULL, status_cb, st, &e), 0);
    assert_int_equal(st[1].expected, 0);
    assert_int_equal(attendance_room_has(x->st, "S1", "102", &e), 0);
    /* again: nothing to do */
    snapshot(x, before, sizeof(before));
    assert_int_equal(store_begin(x->st, &e), 0);
    assert_int_equal(correct_withdraw(x->st, "T2", &o, &out, &e), 0);
    assert_int_equal(out.unchanged, 1);
    store_rollback(x->st);
    /* not on the roster; no reason */
    assert_int_equal(store_begin(x->st, &e), 0);
    assert_int_equal(correct_withdraw(x->st, "T9", &o, &out, &e), -1);
    assert_int_equal(e.code, EX_DATAERR);
    assert_string_equal(e.msg, "ticket T9 is not on the roster");
    o.reason = "";
    assert_int_equal(correct_withdraw(x->st, "T1", &o, &out, &e), -1);
    assert_int_equal(e.code, EX_USAGE);
    store_rollback(x->st);
    assert_string_equal(snapshot(x, after, sizeof(after)), before);
    o.reason = "本人申请";

    /* the seat is free for someone else; the withdrawn row stays */
    assert_int_equal(
        apply(x, HDR "T7,郑强,440524188001015368,S1,101,02\n", PLAIN, &r), 0);
    assert_true(r.committed);
    import_report_free(&r);
    assert_string_equal(
        qs(x,
           "SELECT group_concat(ticket || withdrawn, ' ') FROM candidate "
           "WHERE session = 'S1' AND room = '101' AND seat = '02'",
           s, sizeof(s)),
        "T21 T7"
        "0");
    /* a file that still has the withdrawn candidate as they were leaves
     * them withdrawn; one that changes them is refused */
    assert_int_equal(apply(x, HDR ROW2, 0, &r), 0);
    assert_false(r.committed);
    assert_int_equal(r.withdrawn_named, 1);
    assert_int_equal(r.rejected, 0);
    import_report_free(&r);
    assert_int_equal(
        apply(x, HDR "T2,李娜,440524188001010014,S1,101,09\n", 0, &r), 0);
    assert_int_equal(r.rejected, 1);
    assert_non_null(strstr(r.errors[0].reason, "ticket T2 was withdrawn"));
    import_report_free(&r);
    assert_int_equal(candidate_get(x->st, "T2", &c, &e), 1);
    assert_int_equal(c.withdrawn, 1);
    assert_string_equal(c.seat, "02");

    /* opened: refused, then forced; sealed: refused even so */
    mark(x, "session.opened", "S2", "101", NULL);
    snapshot(x, before, sizeof(before));
    assert_int_equal(store_begin(x->st, &e), 0);
    assert_int_equal(correct_withdraw(x->st, "T3", &o, &out, &e), -1);
    store_rollback(x->st);
    assert_int_equal(e.code, EX_DATAERR);
    assert_string_equal(e.msg, "session S2 has opened in room 101: "
                               "corrections need --force with a reason");
    assert_string_equal(snapshot(x, after, sizeof(after)), before);
    o.force = 1;
    mark(x, "session.closed", "S2", "101", NULL);
    snapshot(x, before, sizeof(before));
    assert_int_equal(store_begin(x->st, &e), 0);
    assert_int_equal(correct_withdraw(x->st, "T3", &o, &out, &e), -1);
    store_rollback(x->st);
    assert_non_null(strstr(e.msg, "closed and sealed"));
    assert_non_null(strstr(e.msg, "not even with --force"));
    assert_string_equal(snapshot(x, after, sizeof(after)), before);
    assert_intact(x);
}

static void test_withdraw_forced(void **state)
{
    struct fx *x = *state;
    struct correct_outcome out;
    struct correct_opts o;
    json_t *j;
    struct err e;

    memset(&o, 0, sizeof(o));
    o.reason = "资格审核未通过";
    o.force = 1;
    mark(x, "checkin.accepted", "S1", "101", "T1");
    assert_int_equal(store_begin(x->st, &e), 0);
    assert_int_equal(correct_withdraw(x->st, "T1", &o, &out, &e), 0);
    assert_int_equal(store_commit(x->st, &e), 0);
    assert_int_equal(out.forced, 1);
    j = payload_of(x, out.first_id);
    assert_true(json_is_true(json_object_get(j, "forced")));
    json_decref(j);
    assert_intact(x);
    /* a room not opened needs no force, and is not recorded as forced */
    assert_int_equal(store_begin(x->st, &e), 0);
    assert_int_equal(correct_withdraw(x->st, "T4", &o, &out, &e), 0);
    assert_int_equal(store_commit(x->st, &e), 0);
    assert_int_equal(out.forced, 0);
    j = payload_of(x, out.first_id);
    assert_null(json_object_get(j, "forced"));
    json_decref(j);
}

static int change(struct fx *x, const char *code,
                  const struct correct_session_change *ch, int force,
                  struct correct_outcome *out, struct err *e)
{
    struct correct_opts o;
    int rc;

    memset(&o, 0, sizeof(o));
    o.reason = "考试时间调整";
    o.operator_name = "kaowu";
    o.force = force;
    assert_int_equal(store_begin(x->st, e), 0);
    rc = correct_session(x->st, code, ch, &o, NULL, NULL, out, e);
    if (rc == 0 && !out->unchanged)
        assert_int_equal(store_commit(x->st, e), 0);
    else
        store_rollback(x->st);
    return rc;
}

static void test_session_change(void **state)
{
    struct fx *x = *state;
    struct correct_session_change ch;
    struct correct_outcome out;
    struct session_row s;
    char before[4096], after[4096];
    json_t *j, *c;
    struct err e;

    memset(&ch, 0, sizeof(ch));
    ch.start = "09:30";
    ch.end = "11:30";
    ch.published = "40";
    assert_int_equal(change(x, "S1", &ch, 0, &out, &e), 0);
    assert_int_equal(out.unchanged, 0);
    assert_int_equal(session_get(x->st, "S1", &s, &e), 1);
    assert_int_equal(s.start_min, 9 * 60 + 30);
    assert_int_equal(s.end_min, 11 * 60 + 30);
    assert_int_equal(s.published, 40);
    assert_int_equal(s.opens_before, 30); /* the rest as it was */
    assert_string_equal(s.date, "2026-12-05");
    assert_change(x, out.first_id, "start", "09:00", "09:30");
    assert_change(x, out.first_id, "end", "11:00", "11:30");
    j = payload_of(x, out.first_id);
    c = json_object_get(json_object_get(j, "changes"), "published");
    assert_true(json_is_null(json_object_get(c, "old")));
    assert_int_equal(json_integer_value(json_object_get(c, "new")), 40);
    assert_null(json_object_get(json_object_get(j, "changes"), "date"));
    assert_string_equal(json_string_value(json_object_get(j, "reason")),
                        "考试时间调整");
    json_decref(j);
    assert_int_equal(q(x, "SELECT count(*) FROM event WHERE kind = "
                          "'session.changed' AND session = 'S1' AND "
                          "operator = 'kaowu'"),
                     1);
    assert_intact(x);

    /* the same values: nothing; bad values and an unknown session:
     * refused, nothing written */
    snapshot(x, before, sizeof(before));
    memset(&ch, 0, sizeof(ch));
    ch.start = "09:30";
    assert_int_equal(change(x, "S1", &ch, 0, &out, &e), 0);
    assert_int_equal(out.unchanged, 1);
    ch.start = "11:40"; /* after the end */
    assert_int_equal(change(x, "S1", &ch, 0, &out, &e), -1);
    assert_int_equal(e.code, EX_DATAERR);
    assert_non_null(strstr(e.msg, "session S1: end time"));
    memset(&ch, 0, sizeof(ch));
    ch.late_after = "150"; /* the cut-off after the end */
    assert_int_equal(change(x, "S1", &ch, 0, &out, &e), -1);
    ch.late_after = NULL;
    ch.date = "2026-02-30";
    assert_int_equal(change(x, "S1", &ch, 0, &out, &e), -1);
    assert_non_null(strstr(e.msg, "not a real YYYY-MM-DD date"));
    ch.date = "2026-12-06";
    assert_int_equal(change(x, "S9", &ch, 0, &out, &e), -1);
    assert_string_equal(e.msg, "no session S9");
    assert_string_equal(snapshot(x, after, sizeof(after)), before);

    /* opened in one of its rooms: refused; forced: the rooms said */
    mark(x, "session.opened", "S1", "102", NULL);
    assert_int_equal(change(x, "S1", &ch, 0, &out, &e), -1);
    assert_string_equal(e.msg, "session S1 has opened in room 102: "
                               "corrections need --force with a reason");
    assert_int_equal(change(x, "S1", &ch, 1, &out, &e), 0);
    assert_int_equal(out.forced, 1);
    assert_int_equal(out.nrooms_forced, 1);
    j = payload_of(x, out.first_id);
    assert_true(json_is_true(json_object_get(j, "forced")));
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(j, "forced_rooms"), 0)),
                        "102");
    json_decref(j);
    assert_intact(x);
    /* sealed: never */
    mark(x, "session.closed", "S1", "101", NULL);
    snapshot(x, before, sizeof(before));
    ch.date = "2026-12-07";
    assert_int_equal(change(x, "S1", &ch, 1, &out, &e), -1);
    assert_non_null(strstr(e.msg, "session S1 in room 101 is closed and "
                                  "sealed"));
    assert_string_equal(snapshot(x, after, sizeof(after)), before);
    /* S2 is not held up by S1 */
    ch.date = NULL;
    ch.opens_before = "60";
    assert_int_equal(change(x, "S2", &ch, 0, &out, &e), 0);
    assert_int_equal(out.forced, 0);
    assert_intact(x);
}

static void test_reason(void **state)
{
    static const char *bad[] = {"", "   ", "two\nlines", "tab\there",
                                "\xff\xfe not UTF-8"};
    char longer[CORRECT_REASON_MAX + 2];
    struct err e;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(correct_reason_check(bad[i], &e), -1);
        assert_int_equal(e.code, EX_USAGE);
    }
    assert_int_equal(correct_reason_check(NULL, &e), -1);
    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    assert_int_equal(correct_reason_check(longer, &e), -1);
    longer[CORRECT_REASON_MAX] = '\0';
    assert_int_equal(correct_reason_check(longer, &e), 0);
    assert_int_equal(correct_reason_check("教务处 12 月 3 日通知", &e), 0);
}

/* Migration 003 on a database made before it: the rows as they were, not
 * withdrawn; the seat's uniqueness now among those not withdrawn. */
static void test_migration_003(void **state)
{
    struct fx *x = *state;
    char path[320], dir[512], file[800], s[256], *sql;
    const char *files[] = {"001_initial.sql", "002_integrity.sql"};
    struct store *st;
    struct err e;
    sqlite3 *db;
    size_t i;
    long len;
    FILE *f;

    snprintf(path, sizeof(path), "%s/v2.db", x->t->path);
    {
        const char *slash = strrchr(__FILE__, '/');
        int n = slash ? (int)(slash - __FILE__) : 0;
        snprintf(dir, sizeof(dir), "%.*s%s../../db/migrations", n, __FILE__,
                 n ? "/" : "");
    }
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    for (i = 0; i < 2; i++) {
        snprintf(file, sizeof(file), "%s/%s", dir, files[i]);
        assert_non_null(f = fopen(file, "rb"));
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        rewind(f);
        assert_non_null(sql = calloc(1, (size_t)len + 1));
        assert_int_equal(fread(sql, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        free(sql);
    }
    assert_int_equal(
        sqlite3_exec(db,
                     "INSERT INTO session (code, certificate, level, date, "
                     "start_min, end_min) VALUES ('S1', 'c', '初级', "
                     "'2026-12-05', 540, 660);"
                     "INSERT INTO room VALUES ('101');"
                     "INSERT INTO candidate VALUES ('T1', 'A', zeroblob(32), "
                     "'0001', 'S1', '101', '01');"
                     "INSERT INTO candidate VALUES ('T2', 'B', randomblob(32), "
                     "'0002', 'S1', '101', '02');"
                     "PRAGMA user_version = 2",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_open(&st, path, 0, &e), 0);
    assert_int_equal(store_schema_found(st), 2);
    assert_int_equal(store_schema_version(st), store_schema_latest());
    assert_string_equal(
        sql_text(store_db(st),
                 "SELECT group_concat(ticket || name || id_last4 || session || "
                 "room || seat || withdrawn, ' ') FROM candidate",
                 s, sizeof(s)),
        "T1A0001S110101"
        "0 T2B0002S110102"
        "0");
    /* a seat is taken only by a candidate not withdrawn */
    assert_int_not_equal(sqlite3_exec(store_db(st),
                                      "INSERT INTO candidate (ticket, name, "
                                      "id_hash, id_last4, session, room, "
                                      "seat) VALUES ('T3', 'C', "
                                      "randomblob(32), '0003', 'S1', '101', "
                                      "'01')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    assert_int_equal(sqlite3_exec(store_db(st),
                                  "UPDATE candidate SET withdrawn = 1 WHERE "
                                  "ticket = 'T1';"
                                  "INSERT INTO candidate (ticket, name, "
                                  "id_hash, id_last4, session, room, seat) "
                                  "VALUES ('T3', 'C', randomblob(32), '0003', "
                                  "'S1', '101', '01')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    /* the ID number stays unique per session, withdrawn or not */
    assert_int_not_equal(sqlite3_exec(store_db(st),
                                      "INSERT INTO candidate (ticket, name, "
                                      "id_hash, id_last4, session, room, "
                                      "seat) VALUES ('T4', 'D', zeroblob(32), "
                                      "'0001', 'S1', '101', '04')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(store_db(st),
                                      "UPDATE candidate SET withdrawn = 2",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_swap_and_late_registration, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_detail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opened_rooms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_withdraw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_withdraw_forced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_change, setup, teardown),
        cmocka_unit_test(test_reason),
        cmocka_unit_test_setup_teardown(test_migration_003, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
