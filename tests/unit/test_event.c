/*
 * test_event.c: db/event.c: the hash chain's canonical bytes (known
 * answers computed independently, as docs/event-chain.md describes them),
 * appending, and event_verify against an attacker with the sqlite3 CLI's
 * powers: triggers dropped, then a row edited, deleted (middle, last) or
 * inserted.  And two processes appending at once; the head check the daemon
 * makes at its start (event_check_head); the head verify reports, and an
 * empty log, which is not intact.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "event.h"
#include "store.h"
#include "testutil.h"

#define NSEED 6

struct fx {
    struct tdir *t;
    char db[300];
};

static void append(struct store *st, const char *kind, const char *ticket,
                   const char *payload)
{
    struct event ev;
    struct err e;

    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    ev.session = "WEB-2026-12A";
    ev.room = "101";
    ev.ticket = ticket;
    ev.payload = payload;
    assert_int_equal(store_begin(st, &e), 0);
    assert_int_equal(event_append(st, &ev, &e), 0);
    assert_int_equal(store_commit(st, &e), 0);
}

/* A database with NSEED events: 1..NSEED. */
static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    struct store *st;
    struct err e;
    int i;

    if (x == NULL || (x->t = tdir_new()) == NULL)
        return -1;
    tdir_file(x->t, "site.db", x->db, sizeof(x->db));
    if (store_open(&st, x->db, STORE_CREATE, &e) == -1)
        return -1;
    for (i = 0; i < NSEED; i++)
        append(st, i % 2 ? "checkin.denied" : "checkin.accepted",
               i % 3 ? "260000000001" : NULL, "{\"n\":1}");
    store_close(st);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;

    tdir_free(x->t);
    free(x);
    return 0;
}

/* Run SQL as an attacker would: a plain connection, triggers dropped. */
static void tamper(struct fx *x, const char *sql)
{
    sqlite3 *db;
    char *msg = NULL;

    assert_int_equal(sqlite3_open(x->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TRIGGER event_no_update;"
                                  "DROP TRIGGER event_no_delete;",
                                  NULL, NULL, &msg),
                     SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("tamper: %s: %s", sql, msg ? msg : "?");
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_close(db);
}

/* event_verify on a fresh connection: its return, r filled. */
static int verify(struct fx *x, struct event_verify *r)
{
    struct store *st;
    struct err e;
    int rc;

    assert_int_equal(store_open(&st, x->db, 0, &e), 0);
    rc = event_verify(st, r, &e);
    store_close(st);
    return rc;
}

static void test_known_answer(void **state)
{
    static const char zero[] =
        "0000000000000000000000000000000000000000000000000000000000000000";
    struct event ev;
    char h1[EVENT_HASH_HEX + 1], h2[EVENT_HASH_HEX + 1];

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.id = 1;
    snprintf(ev.time, sizeof(ev.time), "2026-12-05T01:00:00.000Z");
    ev.tz_offset = 28800;
    ev.kind = "checkin.accepted";
    ev.session = "WEB-2026-12A";
    ev.room = "101";
    ev.ticket = "260000000001";
    ev.payload = "{\"seat\":\"01\"}";
    assert_int_equal(event_compute_hash(&ev, zero, h1), 0);
    /* SHA-256 over the bytes of docs/event-chain.md, computed in Python */
    assert_string_equal(h1, "de11ad93be68c5306c99c52ce2654747"
                            "722df41d952870b3e2c4fb2989de3392");

    memset(&ev, 0, sizeof(ev));
    ev.id = 2;
    snprintf(ev.time, sizeof(ev.time), "2026-12-05T01:00:01.500Z");
    ev.tz_offset = 28800;
    ev.kind = "incident.logged";
    ev.session = "WEB-2026-12A";
    ev.room = "101";
    ev.device = "door1";
    ev.operator_name = "张老师";
    ev.payload = "{}";
    assert_int_equal(event_compute_hash(&ev, h1, h2), 0);
    assert_string_equal(h2, "e11af1a91ea7086ba7443e9d90f84517"
                            "f0fbe88d8346547139251dd8f072a3f9");

    /* NULL and "" are different fields */
    ev.device = "";
    assert_int_equal(event_compute_hash(&ev, h1, h2), 0);
    assert_string_not_equal(h2, "e11af1a91ea7086ba7443e9d90f84517"
                                "f0fbe88d8346547139251dd8f072a3f9");
    /* a prev_hash that is not 64 hex digits is refused */
    assert_int_equal(event_compute_hash(&ev, "abc", h2), -1);
}

static void test_append_and_read_back(void **state)
{
    struct fx *x = *state;
    struct event_verify r;
    struct store *st;
    struct err e;
    char prev[EVENT_HASH_HEX + 1], buf[128];

    assert_int_equal(verify(x, &r), 0);
    assert_int_equal(r.checked, NSEED);
    assert_int_equal(r.last_id, NSEED);
    assert_int_equal(r.bad_id, 0);

    assert_int_equal(store_open(&st, x->db, 0, &e), 0);
    assert_int_equal(event_last_id(st, &e), NSEED);
    /* the first row links to 64 zeros, each later row to the one before */
    assert_string_equal(
        sql_text(store_db(st), "SELECT prev_hash FROM event WHERE id = 1", buf,
                 sizeof(buf)),
        "0000000000000000000000000000000000000000000000000000000000000000");
    sql_text(store_db(st), "SELECT hash FROM event WHERE id = 2", prev,
             sizeof(prev));
    assert_string_equal(sql_text(store_db(st),
                                 "SELECT prev_hash FROM event WHERE id = 3",
                                 buf, sizeof(buf)),
                        prev);
    /* NULL columns stay NULL */
    assert_int_equal(sql_int(store_db(st),
                             "SELECT count(*) FROM event WHERE ticket IS NULL"),
                     2);
    store_close(st);
}

static void test_append_refusals(void **state)
{
    struct fx *x = *state;
    struct store *st;
    struct event ev;
    struct err e;
    char big[EVENT_PAYLOAD_MAX + 32];

    assert_int_equal(store_open(&st, x->db, 0, &e), 0);
    memset(&ev, 0, sizeof(ev));
    ev.kind = "checkin.accepted";
    /* outside a transaction */
    assert_int_equal(event_append(st, &ev, &e), -1);
    assert_int_equal(e.code, EX_SOFTWARE);
    assert_int_equal(store_begin(st, &e), 0);
    ev.kind = "checkin.maybe";
    assert_int_equal(event_append(st, &ev, &e), -1);
    assert_non_null(strstr(e.msg, "unknown event kind"));
    ev.kind = "checkin.accepted";
    ev.payload = "[1,2]";
    assert_int_equal(event_append(st, &ev, &e), -1);
    assert_non_null(strstr(e.msg, "not a JSON object"));
    ev.payload = "{\"a\":1,\"a\":2}";
    assert_int_equal(event_append(st, &ev, &e), -1);
    memset(big, ' ', sizeof(big) - 1);
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    big[sizeof(big) - 1] = '\0';
    ev.payload = big;
    assert_int_equal(event_append(st, &ev, &e), -1);
    assert_int_equal(e.code, EX_DATAERR);
    store_rollback(st);
    assert_int_equal(event_last_id(st, &e), NSEED);
    /* the append-only triggers hold against this program too */
    assert_int_not_equal(sqlite3_exec(store_db(st),
                                      "DELETE FROM event WHERE id = 1", NULL,
                                      NULL, NULL),
                         SQLITE_OK);
    assert_int_not_equal(
        sqlite3_exec(store_db(st), "UPDATE event SET kind = 'x' WHERE id = 1",
                     NULL, NULL, NULL),
        SQLITE_OK);
    store_close(st);
}

static void test_tamper_edit(void **state)
{
    struct fx *x = *state;
    struct event_verify r;

    tamper(x, "UPDATE event SET payload = '{\"n\":2}' WHERE id = 3");
    assert_int_equal(verify(x, &r), 1);
    assert_int_equal(r.bad_id, 3);
    assert_non_null(strstr(r.reason, "edited"));
    assert_int_equal(r.last_id, 2);
}

static void test_tamper_edit_null_field(void **state)
{
    struct fx *x = *state;
    struct event_verify r;

    /* event 4 has a NULL ticket (i = 3); give it one */
    tamper(x, "UPDATE event SET ticket = '260000000009' WHERE id = 4");
    assert_int_equal(verify(x, &r), 1);
    assert_int_equal(r.bad_id, 4);
}

static void test_tamper_edit_and_rehash(void **state)
{
    struct fx *x = *state;
    struct event_verify r;

    /* an attacker who also replaces the hash of the edited row breaks the
     * link to the next one */
    tamper(x,
           "UPDATE event SET kind = 'checkin.accepted', "
           "hash = "
           "'1111111111111111111111111111111111111111111111111111111111111111' "
           "WHERE id = 2");
    assert_int_equal(verify(x, &r), 1);
    assert_int_equal(r.bad_id, 2);
}

static void test_tamper_delete_middle(void **state)
{
    struct fx *x = *state;
    struct event_verify r;

    tamper(x, "DELETE FROM event WHERE id = 3");
    assert_int_equal(verify(x, &r), 1);
    assert_int_equal(r.bad_id, 4);
    assert_non_null(strstr(r.reason, "missing"));
}

static void test_tamper_delete_first(void **state)
{
    struct fx *x = *state;
    struct event_verify r;

    tamper(x, "DELETE FROM event WHERE id = 1");
    assert_int_equal(verify(x, &r), 1);
    assert_int_equal(r.bad_id, 2);
}

static void test_tamper_delete_last(void **state)
{
    struct fx *x = *state;
    struct event_verify r;

    tamper(x, "DELETE FROM event WHERE id = 6");
    assert_int_equal(verify(x, &r), 1);
    assert_int_equal(r.bad_id, NSEED);
    assert_int_equal(r.last_id, NSEED - 1);
    assert_non_null(strstr(r.reason, "at the end were deleted"));
}

static void test_tamper_insert(void **state)
{
    struct fx *x = *state;
    struct event_verify r;

    /* a row appended by hand, linked to the last one, with a made-up hash */
    tamper(x,
           "INSERT INTO event (id, time, tz_offset, kind, payload, prev_hash, "
           "hash) "
           "SELECT 7, time, tz_offset, 'checkin.manual', '{}', hash, "
           "'2222222222222222222222222222222222222222222222222222222222222222' "
           "FROM event WHERE id = 6");
    assert_int_equal(verify(x, &r), 1);
    assert_int_equal(r.bad_id, 7);
    assert_non_null(strstr(r.reason, "edited"));
}

static void test_tamper_insert_copy(void **state)
{
    struct fx *x = *state;
    struct event_verify r;

    /* a copy of row 2 (hash and all) appended as row 7 */
    tamper(x, "INSERT INTO event (id, time, tz_offset, kind, session, room, "
              "ticket, device, operator, payload, prev_hash, hash) "
              "SELECT 7, time, tz_offset, kind, session, room, ticket, device, "
              "operator, payload, prev_hash, hash FROM event WHERE id = 2");
    assert_int_equal(verify(x, &r), 1);
    assert_int_equal(r.bad_id, 7);
    assert_non_null(strstr(r.reason, "prev_hash"));
}

static void test_tamper_insert_gap(void **state)
{
    struct fx *x = *state;
    struct event_verify r;

    tamper(x, "INSERT INTO event (id, time, tz_offset, kind, payload, "
              "prev_hash, hash) "
              "SELECT 100, time, tz_offset, kind, payload, hash, hash "
              "FROM event WHERE id = 6");
    assert_int_equal(verify(x, &r), 1);
    assert_int_equal(r.bad_id, 100);
}

/* event_check_head on a fresh connection: its return, the message. */
static int check_head(struct fx *x, struct err *e)
{
    struct store *st;
    int rc;

    assert_int_equal(store_open(&st, x->db, 0, e), 0);
    err_clear(e);
    rc = event_check_head(st, e);
    store_close(st);
    return rc;
}

struct head_damage {
    const char *sql;
    const char *why;
};

/* A damaged last row is refused by event_check_head, naming the row and
 * why; so is the append that would link to it, with the same cause (not
 * "hashing failed" at every door). */
static void test_check_head(void **state)
{
    static const struct head_damage damage[] = {
        {"UPDATE event SET hash = 'not a hash' WHERE id = 6",
         "hash is not 64 lower-case hex digits"},
        {"UPDATE event SET hash = upper(hash) WHERE id = 6",
         "hash is not 64 lower-case hex digits"},
        {"UPDATE event SET hash = hash || '0' WHERE id = 6",
         "hash is not 64 lower-case hex digits"},
        {"UPDATE event SET hash = substr(hash, 2) WHERE id = 6",
         "hash is not 64 lower-case hex digits"},
        {"UPDATE event SET prev_hash = 'x' || substr(prev_hash, 2) "
         "WHERE id = 6",
         "prev_hash is not 64 lower-case hex digits"},
        {"UPDATE event SET payload = '{\"n\":9}' WHERE id = 6",
         "contents do not match its hash"},
        {"UPDATE event SET hash = "
         "'3333333333333333333333333333333333333333333333333333333333333333' "
         "WHERE id = 6",
         "contents do not match its hash"},
    };
    struct fx *x = *state;
    struct store *st;
    struct event ev;
    struct err e;
    size_t i;
    char backup[320], cmd[700];

    assert_int_equal(check_head(x, &e), 0);
    snprintf(backup, sizeof(backup), "%s.orig", x->db);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", x->db, backup);
    assert_int_equal(system(cmd), 0);
    for (i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
        snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", backup, x->db);
        assert_int_equal(system(cmd), 0);
        tamper(x, damage[i].sql);
        assert_int_equal(check_head(x, &e), -1);
        assert_int_equal(e.code, EX_DATAERR);
        if (strstr(e.msg, damage[i].why) == NULL ||
            strstr(e.msg, "event 6, the last one, is damaged") == NULL)
            fail_msg("%s: %s", damage[i].sql, e.msg);
    }
    /* the append after a hash that is no hash says why */
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", backup, x->db);
    assert_int_equal(system(cmd), 0);
    tamper(x, damage[0].sql);
    assert_int_equal(store_open(&st, x->db, 0, &e), 0);
    memset(&ev, 0, sizeof(ev));
    ev.kind = "checkin.accepted";
    assert_int_equal(store_begin(st, &e), 0);
    assert_int_equal(event_append(st, &ev, &e), -1);
    assert_int_equal(e.code, EX_DATAERR);
    assert_non_null(strstr(e.msg, "event 6, the last one, is damaged"));
    store_rollback(st);
    store_close(st);
    /* only the head matters here: a row before it is verify's business */
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", backup, x->db);
    assert_int_equal(system(cmd), 0);
    tamper(x, "UPDATE event SET hash = 'bad' WHERE id = 3");
    assert_int_equal(check_head(x, &e), 0);
}

static void test_check_head_empty(void **state)
{
    struct tfile *x = *state;
    struct store *st;
    struct err e;

    assert_int_equal(store_open(&st, x->path, STORE_CREATE, &e), 0);
    assert_int_equal(event_check_head(st, &e), 0);
    store_close(st);
}

/* verify gives the head: the last row's id and hash. */
static void test_verify_head(void **state)
{
    struct fx *x = *state;
    struct event_verify r;
    struct store *st;
    struct err e;
    char hash[EVENT_HASH_HEX + 1];

    assert_int_equal(verify(x, &r), 0);
    assert_int_equal(r.last_id, NSEED);
    assert_int_equal(store_open(&st, x->db, STORE_READONLY, &e), 0);
    sql_text(store_db(st), "SELECT hash FROM event WHERE id = 6", hash,
             sizeof(hash));
    store_close(st);
    assert_int_equal(strlen(hash), EVENT_HASH_HEX);
    assert_string_equal(r.head_hash, hash);
    assert_string_equal(r.reason, "");
    /* broken at 4: the head is the last sound row, 3 */
    tamper(x, "UPDATE event SET payload = '{}' WHERE id = 4");
    assert_int_equal(verify(x, &r), 1);
    assert_int_equal(r.last_id, 3);
    assert_int_equal(strlen(r.head_hash), EVENT_HASH_HEX);
}

/* A hash cell longer than a hash is not read as its first 64 digits. */
static void test_tamper_overlong_hash(void **state)
{
    struct fx *x = *state;
    struct event_verify r;

    tamper(x, "UPDATE event SET hash = hash || 'ff' WHERE id = 3");
    assert_int_equal(verify(x, &r), 1);
    assert_int_equal(r.bad_id, 3);
    assert_non_null(strstr(r.reason, "not 64 lower-case hex digits"));
}

/* An empty log is not a site's record: not intact. */
static void test_verify_empty(void **state)
{
    struct tfile *x = *state;
    struct event_verify r;
    struct store *st;
    struct err e;

    assert_int_equal(store_open(&st, x->path, STORE_CREATE, &e), 0);
    assert_int_equal(event_verify(st, &r, &e), 1);
    assert_int_equal(r.checked, 0);
    assert_int_equal(r.bad_id, 0);
    assert_string_equal(r.head_hash, "");
    assert_non_null(strstr(r.reason, "empty"));
    assert_non_null(strstr(r.reason, "site.created"));
    store_close(st);
}

static int tsetup(void **state)
{
    return tfile_setup(state, "empty.db");
}

static int tteardown(void **state)
{
    return tfile_teardown(state);
}

/* Child: open its own store, append n events one transaction each. */
static int writer(const char *db, int n, const char *who)
{
    struct store *st;
    struct event ev;
    struct err e;
    char payload[64];
    int i;

    if (store_open(&st, db, 0, &e) == -1) {
        fprintf(stderr, "writer %s: %s\n", who, e.msg);
        return 1;
    }
    for (i = 0; i < n; i++) {
        memset(&ev, 0, sizeof(ev));
        ev.kind = "checkin.accepted";
        ev.device = who;
        snprintf(payload, sizeof(payload), "{\"i\":%d}", i);
        ev.payload = payload;
        if (store_begin(st, &e) == -1 || event_append(st, &ev, &e) == -1 ||
            store_commit(st, &e) == -1) {
            fprintf(stderr, "writer %s at %d: %s\n", who, i, e.msg);
            store_rollback(st);
            store_close(st);
            return 1;
        }
    }
    store_close(st);
    return 0;
}

static void test_two_writers(void **state)
{
    struct fx *x = *state;
    const char *names[2] = {"door1", "door2"};
    struct event_verify r;
    struct store *st;
    struct err e;
    pid_t pid[2];
    int i, status;

    for (i = 0; i < 2; i++) {
        pid[i] = fork();
        assert_true(pid[i] != -1);
        if (pid[i] == 0)
            _exit(writer(x->db, 300, names[i]));
    }
    for (i = 0; i < 2; i++) {
        assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(verify(x, &r), 0);
    assert_int_equal(r.checked, NSEED + 600);
    assert_int_equal(r.last_id, NSEED + 600);

    assert_int_equal(store_open(&st, x->db, 0, &e), 0);
    assert_int_equal(sql_int(store_db(st), "SELECT count(*) FROM event"),
                     NSEED + 600);
    assert_int_equal(sql_int(store_db(st), "SELECT min(id) FROM event"), 1);
    assert_int_equal(sql_int(store_db(st), "SELECT max(id) FROM event"),
                     NSEED + 600);
    assert_int_equal(
        sql_int(store_db(st),
                "SELECT count(*) FROM event WHERE device = 'door1'"),
        300);
    assert_int_equal(
        sql_int(store_db(st),
                "SELECT count(*) FROM event WHERE device = 'door2'"),
        300);
    /* each writer's own events are in its order */
    assert_int_equal(sql_int(store_db(st),
                             "SELECT count(*) FROM event a JOIN event b "
                             "ON a.device = b.device AND a.id < b.id "
                             "AND json_extract(a.payload, '$.i') > "
                             "json_extract(b.payload, '$.i')"),
                     0);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test_setup_teardown(test_append_and_read_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_append_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_edit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_edit_null_field, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tamper_edit_and_rehash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tamper_delete_middle, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tamper_delete_first, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tamper_delete_last, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tamper_insert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_insert_copy, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tamper_insert_gap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_two_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_head_empty, tsetup,
                                        tteardown),
        cmocka_unit_test_setup_teardown(test_verify_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_overlong_hash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_verify_empty, tsetup, tteardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
