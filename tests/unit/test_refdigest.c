/*
 * test_refdigest.c: db/refdigest.c: the digest of the reference tables
 * against known answers computed independently (Python, from the byte
 * encoding of docs/event-chain.md), the digest and account recorded on the
 * events that change the tables, and every edit made outside an event with
 * the sqlite3 CLI's powers caught, naming its table: a stand-in's ID hash,
 * a seat, a session's times, a room, the site's zone, a row added or
 * removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "event.h"
#include "import.h"
#include "refdigest.h"
#include "roster.h"
#include "secret.h"
#include "site.h"
#include "store.h"
#include "testutil.h"

#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct fx {
    struct tdir *t;
    char db[300], csv[300];
    struct store *st;
};

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    struct err e;

    if (x == NULL || (x->t = tdir_new()) == NULL)
        return -1;
    tdir_file(x->t, "site.db", x->db, sizeof(x->db));
    tdir_file(x->t, "in.csv", x->csv, sizeof(x->csv));
    if (store_open(&x->st, x->db, STORE_CREATE, &e) == -1)
        return -1;
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

/* The rows of the known answer: the Python of docs/event-chain.md over
 * the same rows gives the digests below. */
static void known_rows(struct fx *x)
{
    struct err e;

    assert_int_equal(
        store_exec(x->st,
                   "INSERT INTO site VALUES ('HZVC-01', '杭州考点', "
                   "'door-101', 'Asia/Shanghai', '2026-12-01T00:00:00.000Z');"
                   "INSERT INTO session VALUES ('WEB-2026-12A', 'Web前端开发', "
                   "'中级', '', '2026-12-05', 540, 660, 30, 15, NULL);"
                   "INSERT INTO session VALUES ('DB-1', '数据库', '初级', "
                   "'org', '2026-12-06', 840, 960, 30, 15, 20);"
                   "INSERT INTO room VALUES ('102'), ('101');"
                   "INSERT INTO candidate (ticket, name, id_hash, id_last4, "
                   "session, room, seat) VALUES ('T2', '李娜', "
                   "X'000102030405060708090a0b0c0d0e0f"
                   "101112131415161718191a1b1c1d1e1f', '0014', "
                   "'WEB-2026-12A', '101', '02');"
                   "INSERT INTO candidate (ticket, name, id_hash, id_last4, "
                   "session, room, seat) VALUES ('T1', '张伟', "
                   "X'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '002X', "
                   "'WEB-2026-12A', '101', '01');",
                   &e),
        0);
}

static void test_known_answer(void **state)
{
    struct fx *x = *state;
    struct refdigest d;
    struct err e;
    int t;

    /* empty tables: SHA-256 of nothing */
    assert_int_equal(refdigest_compute(x->st, &d, &e), 0);
    for (t = 0; t < REFDIGEST_NTABLES; t++)
        assert_string_equal(d.hex[t], EMPTY);
    known_rows(x);
    /* version 1: the columns of migration 001 */
    assert_int_equal(refdigest_compute_v(x->st, 1, &d, &e), 0);
    assert_int_equal(d.v, 1);
    assert_string_equal(refdigest_tables[0], "site");
    assert_string_equal(d.hex[0], "39cecba87713c1cdb09a1b5faa99d7bf"
                                  "5519c0c585206d6f96cb89f87792a69e");
    assert_string_equal(refdigest_tables[1], "session");
    assert_string_equal(d.hex[1], "08a0a644ea9d2a73013356b72f456658"
                                  "13de7c5a06f585cc4bb1e80ff88c7bb7");
    assert_string_equal(refdigest_tables[2], "room");
    assert_string_equal(d.hex[2], "7f441a65ad5100bf8f8cbf054f96a472"
                                  "018ace125845528381bedbdc9980d7ab");
    assert_string_equal(refdigest_tables[3], "candidate");
    assert_string_equal(d.hex[3], "f3ac7f51dcb1ea8bc6e5743f23b0a06a"
                                  "7d9d91e10767b96855049c143ba374e8");
    /* version 2, recorded now: the candidate's withdrawn mark too
     * (migration 003), the other tables as in version 1 */
    assert_int_equal(REFDIGEST_VERSION, 2);
    assert_int_equal(refdigest_compute(x->st, &d, &e), 0);
    assert_int_equal(d.v, 2);
    assert_string_equal(d.hex[2], "7f441a65ad5100bf8f8cbf054f96a472"
                                  "018ace125845528381bedbdc9980d7ab");
    assert_string_equal(d.hex[3], "a0ec57b680ec05e9fa43c1e4c9262778"
                                  "459c70ae91882ab5a6d3b489dd4ec044");
    assert_int_equal(
        store_exec(x->st,
                   "UPDATE candidate SET withdrawn = 1 WHERE ticket = 'T2'",
                   &e),
        0);
    assert_int_equal(refdigest_compute(x->st, &d, &e), 0);
    assert_string_equal(d.hex[3], "ccccff5b854191b546fe578b25229050"
                                  "592357fb168c7ab8b2bb5a547d687b97");
    /* an encoding this build does not know */
    assert_int_equal(refdigest_compute_v(x->st, 3, &d, &e), -1);
    assert_int_equal(refdigest_compute_v(x->st, 0, &d, &e), -1);
}

/* The known rows as an import writes them. */
static void known_candidate(int which, struct candidate *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->session, "WEB-2026-12A");
    strcpy(c->room, "101");
    if (which == 1) {
        strcpy(c->ticket, "T1");
        strcpy(c->name, "张伟");
        memset(c->id_hash, 0xaa, sizeof(c->id_hash));
        strcpy(c->id_last4, "002X");
        strcpy(c->seat, "01");
    } else {
        size_t i;
        strcpy(c->ticket, "T2");
        strcpy(c->name, "李娜");
        for (i = 0; i < sizeof(c->id_hash); i++)
            c->id_hash[i] = (unsigned char)i;
        strcpy(c->id_last4, "0014");
        strcpy(c->seat, "02");
    }
}

/* The candidate digest fed row by row is the known answer when the rows
 * come in ticket order (and really is the rows fed: one row fed gives
 * another digest than the table's); out of order the table is read. */
static void test_rows_stream(void **state)
{
    struct fx *x = *state;
    struct refdigest_rows *r;
    struct refdigest d, all;
    struct candidate c1, c2;
    struct err e;
    int t;

    known_rows(x);
    known_candidate(1, &c1);
    known_candidate(2, &c2);
    assert_int_equal(refdigest_compute(x->st, &all, &e), 0);

    assert_non_null(r = refdigest_rows_new());
    refdigest_rows_add(r, &c1);
    refdigest_rows_add(r, &c2);
    assert_int_equal(refdigest_rows_ordered(r), 1);
    assert_int_equal(refdigest_compute_rows(x->st, r, &d, &e), 0);
    assert_int_equal(d.v, REFDIGEST_VERSION);
    assert_string_equal(d.hex[3], "a0ec57b680ec05e9fa43c1e4c9262778"
                                  "459c70ae91882ab5a6d3b489dd4ec044");
    for (t = 0; t < REFDIGEST_NTABLES; t++)
        assert_string_equal(d.hex[t], all.hex[t]);
    refdigest_rows_free(r);

    assert_non_null(r = refdigest_rows_new());
    refdigest_rows_add(r, &c1);
    assert_int_equal(refdigest_compute_rows(x->st, r, &d, &e), 0);
    assert_string_not_equal(d.hex[3], all.hex[3]);
    assert_string_equal(d.hex[2], all.hex[2]);
    refdigest_rows_free(r);

    assert_non_null(r = refdigest_rows_new());
    refdigest_rows_add(r, &c2);
    refdigest_rows_add(r, &c1);
    refdigest_rows_add(r, &c1); /* a repeat is out of order too */
    assert_int_equal(refdigest_rows_ordered(r), 0);
    assert_int_equal(refdigest_compute_rows(x->st, r, &d, &e), 0);
    assert_string_equal(d.hex[3], all.hex[3]);
    refdigest_rows_free(r);
}

/* Append a reference change: its payload, parsed. */
static json_t *append_change(struct fx *x, const char *kind, const char *in)
{
    char *payload = strdup(in);
    struct event ev;
    struct err e;
    json_t *j;

    assert_non_null(payload);
    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    assert_int_equal(store_begin(x->st, &e), 0);
    if (refdigest_append(x->st, &ev, &payload, &e) == -1)
        fail_msg("refdigest_append: %s", e.msg);
    assert_int_equal(store_commit(x->st, &e), 0);
    assert_ptr_equal(ev.payload, payload); /* what was recorded */
    j = json_loads(payload, 0, NULL);
    free(payload);
    assert_non_null(j);
    return j;
}

static void test_append_records_digest_and_account(void **state)
{
    struct fx *x = *state;
    struct refdigest d, rec;
    struct event ev;
    char *payload;
    json_t *j;
    struct err e;

    known_rows(x);
    assert_int_equal(refdigest_compute(x->st, &d, &e), 0);
    /* no account set: only the digest is added, the caller's keys kept */
    j = append_change(x, "site.created", "{\"site\":\"HZVC-01\"}");
    assert_string_equal(json_string_value(json_object_get(j, "site")),
                        "HZVC-01");
    assert_null(json_object_get(j, "account"));
    assert_int_equal(refdigest_from_json(json_object_get(j, "refdigest"), &rec),
                     0);
    assert_memory_equal(&rec, &d, sizeof(d));
    json_decref(j);

    /* with an account: {"uid":N,"user":"name"} */
    store_set_account(x->st, 1234, "kaowu");
    j = append_change(x, "session.added", "{}");
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(j, "account"), "uid")),
                     1234);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "account"), "user")),
                        "kaowu");
    json_decref(j);
    /* no name known: the uid alone */
    store_set_account(x->st, 77, NULL);
    j = append_change(x, "roster.imported", "{}");
    assert_int_equal(json_object_size(json_object_get(j, "account")), 1);
    json_decref(j);
    /* the daemon's own account (from its client) is kept as it is */
    j = append_change(x, "roster.imported",
                      "{\"account\":{\"uid\":5,\"user\":\"jwc\"}}");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "account"), "user")),
                        "jwc");
    json_decref(j);

    /* refused: not a reference change, outside a transaction, not an
     * object; and the caller's payload is left as it was */
    payload = strdup("{}");
    memset(&ev, 0, sizeof(ev));
    ev.kind = "roster.imported";
    assert_int_equal(refdigest_append(x->st, &ev, &payload, &e), -1);
    assert_int_equal(e.code, EX_SOFTWARE);
    assert_int_equal(store_begin(x->st, &e), 0);
    ev.kind = "checkin.accepted";
    assert_int_equal(refdigest_append(x->st, &ev, &payload, &e), -1);
    ev.kind = "session.added";
    free(payload);
    payload = strdup("[1]");
    assert_int_equal(refdigest_append(x->st, &ev, &payload, &e), -1);
    assert_string_equal(payload, "[1]");
    store_rollback(x->st);
    free(payload);

    /* and the chain holds these events like any other */
    {
        struct event_verify r;
        assert_int_equal(event_verify(x->st, &r, &e), 0);
        assert_int_equal(r.checked, 4);
        assert_int_equal(r.ref_id, 4);
    }
}

/* refdigest_compare on a fresh read-only connection to path. */
static int compare(const char *path, struct refdigest_result *r)
{
    struct store *st;
    struct err e;
    int rc;

    assert_int_equal(store_open(&st, path, STORE_READONLY, &e), 0);
    rc = refdigest_compare(st, r, &e);
    if (rc == -1)
        fail_msg("refdigest_compare: %s", e.msg);
    store_close(st);
    return rc;
}

static const char roster_csv[] = "ticket,name,id_number,session,room,seat\n"
                                 "T1,张伟,11010519491231002X,S1,101,01\n"
                                 "T2,李娜,440524188001010014,S1,101,02\n"
                                 "T3,王芳,53010219200508011X,S2,102,01\n";

/* A site with sessions and a roster, imported as examctl does. */
static void imported_site(struct fx *x)
{
    static const char sessions[] =
        "code,certificate,level,date,start,end\n"
        "S1,Web前端开发,中级,2026-12-05,09:00,11:00\n"
        "S2,数据库管理系统,初级,2026-12-05,14:00,16:00\n";
    struct import_report r;
    struct import_opts o;
    struct secret sec;
    struct site s;
    struct err e;

    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "HZVC-01");
    snprintf(s.name, sizeof(s.name), "考点");
    snprintf(s.station, sizeof(s.station), "door-101");
    snprintf(s.timezone, sizeof(s.timezone), "Asia/Shanghai");
    snprintf(s.created, sizeof(s.created), "2026-12-01T00:00:00.000Z");
    assert_int_equal(store_begin(x->st, &e), 0);
    assert_int_equal(site_create(x->st, &s, &e), 0);
    assert_int_equal(store_commit(x->st, &e), 0);
    memset(&o, 0, sizeof(o));
    memset(&sec, 0x5a, sizeof(sec));
    assert_int_equal(write_bytes(x->csv, sessions, (size_t)-1), 0);
    assert_int_equal(import_sessions(x->st, x->csv, &o, &r, &e), 0);
    assert_true(r.committed);
    import_report_free(&r);
    assert_int_equal(write_bytes(x->csv, roster_csv, (size_t)-1), 0);
    assert_int_equal(import_roster(x->st, &sec, x->csv, &o, &r, &e), 0);
    assert_true(r.committed);
    import_report_free(&r);
}

static void test_imports_keep_tables_recorded(void **state)
{
    struct fx *x = *state;
    struct refdigest_result r;
    struct event_verify v;
    struct import_report ir;
    struct import_opts o;
    struct secret sec;
    struct err e;

    /* nothing yet: empty tables are what the (empty) record says */
    assert_int_equal(compare(x->db, &r), 0);
    assert_int_equal(r.event_id, 0);
    imported_site(x);
    /* site.created 1, session.added 2 and 3, roster.imported 4 */
    assert_int_equal(compare(x->db, &r), 0);
    assert_int_equal(r.event_id, 4);
    assert_int_equal(r.unrecorded, 0);
    assert_null(r.table);
    assert_int_equal(refdigest_check(x->st, &e), 0);
    assert_int_equal(event_verify(x->st, &v, &e), 0);
    assert_int_equal(v.ref_id, 4);
    /* each event recorded the tables as they were after it: event 2 has
     * one session and no candidate yet */
    assert_int_equal(
        sql_int(store_db(x->st),
                "SELECT count(*) FROM event WHERE id = 2 AND "
                "json_extract(payload, '$.refdigest.session') != '" EMPTY
                "' AND json_extract(payload, '$.refdigest.candidate') = '" EMPTY
                "'"),
        1);
    /* a re-import that changes nothing records nothing and stays equal;
     * --skip-invalid with one new row records the new state */
    memset(&o, 0, sizeof(o));
    memset(&sec, 0x5a, sizeof(sec));
    assert_int_equal(import_roster(x->st, &sec, x->csv, &o, &ir, &e), 0);
    assert_false(ir.committed);
    import_report_free(&ir);
    assert_int_equal(write_bytes(x->csv,
                                 "ticket,name,id_number,session,room,seat\n"
                                 "T4,赵强,11010519491231002X,S2,103,01\n"
                                 "T5,bad,110105194912310021,S2,103,02\n",
                                 (size_t)-1),
                     0);
    o.skip_invalid = 1;
    assert_int_equal(import_roster(x->st, &sec, x->csv, &o, &ir, &e), 0);
    assert_true(ir.committed);
    import_report_free(&ir);
    assert_int_equal(compare(x->db, &r), 0);
    assert_int_equal(r.event_id, 5);
}

struct edit {
    const char *sql;
    const char *table;
};

/* Every edit outside an event is caught, and names its table. */
static void test_edits_caught(void **state)
{
    static const struct edit edits[] = {
        /* a stand-in's card: T1's ID hash replaced by another person's */
        {"UPDATE candidate SET id_hash = (SELECT id_hash FROM candidate "
         "WHERE ticket = 'T3') WHERE ticket = 'T1'",
         "candidate"},
        {"UPDATE candidate SET id_hash = randomblob(32) WHERE ticket = 'T1'",
         "candidate"},
        {"UPDATE candidate SET seat = '09' WHERE ticket = 'T2'", "candidate"},
        {"UPDATE candidate SET id_last4 = '9999' WHERE ticket = 'T2'",
         "candidate"},
        {"UPDATE candidate SET room = '102' WHERE ticket = 'T2'", "candidate"},
        {"UPDATE candidate SET session = 'S2' WHERE ticket = 'T2'",
         "candidate"},
        {"UPDATE candidate SET name = '李四' WHERE ticket = 'T2'", "candidate"},
        {"DELETE FROM candidate WHERE ticket = 'T3'", "candidate"},
        {"INSERT INTO candidate (ticket, name, id_hash, id_last4, session, "
         "room, seat) VALUES ('T9', 'X', randomblob(32), '0000', 'S1', '101', "
         "'09')",
         "candidate"},
        /* a withdrawal undone, or made, outside an event (migration 003) */
        {"UPDATE candidate SET withdrawn = 1 WHERE ticket = 'T2'", "candidate"},
        {"UPDATE session SET late_after = 120 WHERE code = 'S1'", "session"},
        {"UPDATE session SET published = 0 WHERE code = 'S2'", "session"},
        {"DELETE FROM session WHERE code = 'S2'", "session"},
        {"INSERT INTO room VALUES ('999')", "room"},
        {"UPDATE site SET timezone = 'Asia/Urumqi'", "site"},
    };
    struct fx *x = *state;
    struct refdigest_result r;
    struct event_verify v;
    struct store *st;
    struct err e;
    char work[320], cmd[1400];
    size_t i;

    imported_site(x);
    store_close(x->st); /* the last connection: the WAL is checkpointed */
    x->st = NULL;
    snprintf(work, sizeof(work), "%s/work.db", x->t->path);
    for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        sqlite3 *db;

        /* each edit on a fresh copy of the imported site */
        snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && rm -f '%s-wal' '%s-shm'",
                 x->db, work, work, work);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(compare(work, &r), 0);
        assert_int_equal(sqlite3_open(work, &db), SQLITE_OK);
        sqlite3_exec(db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL);
        if (sqlite3_exec(db, edits[i].sql, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_changes(db) < 1)
            fail_msg("edit %zu: %s: %s", i, edits[i].sql, sqlite3_errmsg(db));
        sqlite3_close(db);

        assert_int_equal(compare(work, &r), 1);
        if (r.table == NULL || strcmp(r.table, edits[i].table) != 0)
            fail_msg("edit %zu (%s): table %s, not %s", i, edits[i].sql,
                     r.table ? r.table : "(none)", edits[i].table);
        assert_non_null(strstr(r.reason, "roster tables differ from the "
                                         "record: table "));
        assert_non_null(strstr(r.reason, edits[i].table));
        assert_non_null(strstr(r.reason, "edited outside examctl"));
        /* verify says the same; the daemon's check refuses */
        assert_int_equal(store_open(&st, work, STORE_READONLY, &e), 0);
        assert_int_equal(event_verify(st, &v, &e), 1);
        assert_non_null(v.bad_table);
        assert_string_equal(v.bad_table, edits[i].table);
        assert_int_equal(v.bad_id, 0); /* the chain itself is intact */
        assert_int_equal(v.last_id, 4);
        assert_string_equal(v.reason, r.reason);
        assert_int_equal(refdigest_check(st, &e), -1);
        assert_int_equal(e.code, EX_DATAERR);
        assert_string_equal(e.msg, r.reason);
        store_close(st);
    }
}

/* Rows with no event at all, and a record older than digests. */
static void test_unrecorded(void **state)
{
    struct fx *x = *state;
    struct refdigest_result r;
    struct event ev;
    struct err e;

    /* rows but no event that changed the tables: not from examctl */
    assert_int_equal(store_exec(x->st, "INSERT INTO room VALUES ('101')", &e),
                     0);
    assert_int_equal(compare(x->db, &r), 1);
    assert_string_equal(r.table, "room");
    assert_non_null(strstr(r.reason, "no event recorded"));
    /* a reference change recorded by an older examsite (no digest): there
     * is nothing to compare with; said, and not a failure */
    memset(&ev, 0, sizeof(ev));
    ev.kind = "roster.imported";
    ev.payload = "{\"rows\":1}";
    assert_int_equal(store_begin(x->st, &e), 0);
    assert_int_equal(event_append(x->st, &ev, &e), 0);
    assert_int_equal(store_commit(x->st, &e), 0);
    assert_int_equal(compare(x->db, &r), 0);
    assert_int_equal(r.unrecorded, 1);
    assert_int_equal(r.event_id, 1);
    assert_int_equal(refdigest_check(x->st, &e), 0);
    /* and a malformed digest is a broken record, not a pass */
    ev.payload = "{\"refdigest\":{\"v\":1,\"site\":\"x\"}}";
    memset(ev.prev_hash, 0, sizeof(ev.prev_hash));
    ev.time_ms = 0;
    assert_int_equal(store_begin(x->st, &e), 0);
    assert_int_equal(event_append(x->st, &ev, &e), 0);
    assert_int_equal(store_commit(x->st, &e), 0);
    assert_int_equal(compare(x->db, &r), 1);
    assert_null(r.table);
    assert_non_null(strstr(r.reason, "event 2: its reference digest is "
                                     "malformed"));
}

/* A site whose newest digest was recorded in version 1 (before migration
 * 003) is compared in version 1; the next change records version 2, which
 * also covers the withdrawn mark. */
static void test_version1_record(void **state)
{
    struct fx *x = *state;
    struct refdigest_result r;
    struct refdigest d;
    struct event ev;
    struct err e;
    json_t *j, *dj;
    char *payload;

    known_rows(x);
    assert_int_equal(refdigest_compute_v(x->st, 1, &d, &e), 0);
    assert_non_null(dj = refdigest_json(&d));
    assert_int_equal(json_integer_value(json_object_get(dj, "v")), 1);
    j = json_pack("{s:o}", "refdigest", dj);
    assert_non_null(payload = json_dumps(j, JSON_COMPACT));
    json_decref(j);
    memset(&ev, 0, sizeof(ev));
    ev.kind = "roster.imported";
    ev.payload = payload;
    assert_int_equal(store_begin(x->st, &e), 0);
    assert_int_equal(event_append(x->st, &ev, &e), 0);
    assert_int_equal(store_commit(x->st, &e), 0);
    free(payload);
    assert_int_equal(compare(x->db, &r), 0);
    assert_int_equal(r.event_id, 1);
    /* version 1 does not cover the mark (docs/event-chain.md) ... */
    assert_int_equal(
        store_exec(x->st,
                   "UPDATE candidate SET withdrawn = 1 WHERE ticket = 'T2'",
                   &e),
        0);
    assert_int_equal(compare(x->db, &r), 0);
    /* ... but still every column it does cover */
    assert_int_equal(
        store_exec(x->st,
                   "UPDATE candidate SET seat = '09' WHERE ticket = 'T2'", &e),
        0);
    assert_int_equal(compare(x->db, &r), 1);
    assert_string_equal(r.table, "candidate");
    /* a change recorded now is version 2, and covers the mark */
    j = append_change(x, "roster.withdrawn", "{}");
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(j, "refdigest"), "v")),
                     2);
    json_decref(j);
    assert_int_equal(compare(x->db, &r), 0);
    assert_int_equal(
        store_exec(x->st,
                   "UPDATE candidate SET withdrawn = 0 WHERE ticket = 'T2'",
                   &e),
        0);
    assert_int_equal(compare(x->db, &r), 1);
    assert_string_equal(r.table, "candidate");
}

/* The newest reference change is found through the partial index of
 * migration 002, not by scanning the check-ins after it. */
static void test_newest_uses_index(void **state)
{
    struct fx *x = *state;
    struct refdigest_result r;
    sqlite3_stmt *s = NULL, *plan;
    char detail[256] = "";
    struct err e;

    assert_int_equal(refdigest_compare(x->st, &r, &e), 0);
    /* the statement refdigest_compare prepared, among the store's cache */
    while ((s = sqlite3_next_stmt(store_db(x->st), s)) != NULL)
        if (strstr(sqlite3_sql(s), "ORDER BY id DESC LIMIT 1") != NULL &&
            strstr(sqlite3_sql(s), "kind IN") != NULL)
            break;
    assert_non_null(s);
    {
        char sql[1024];
        snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", sqlite3_sql(s));
        assert_int_equal(
            sqlite3_prepare_v2(store_db(x->st), sql, -1, &plan, NULL),
            SQLITE_OK);
    }
    while (sqlite3_step(plan) == SQLITE_ROW)
        snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
                 "%s;", (const char *)sqlite3_column_text(plan, 3));
    sqlite3_finalize(plan);
    assert_non_null(strstr(detail, "event_reference"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_known_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_records_digest_and_account,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_imports_keep_tables_recorded,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_edits_caught, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unrecorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version1_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newest_uses_index, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
