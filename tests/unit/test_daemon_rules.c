/*
 * test_daemon_rules.c: the check-in rules and the schedule on their own,
 * without the daemon's loop or the wall clock: a real site database, an
 * event base that is only run when a test wants its timers, and a clock
 * the test sets.  Each decision is checked in the event log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "checkin.h"
#include "event.h"
#include "idnumber.h"
#include "idtext.h"
#include "roster.h"
#include "schedule.h"
#include "session.h"
#include "site.h"
#include "sitetime.h"
#include "store.h"
#include "testutil.h"

#define NCAND 5

static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";

struct world {
    struct tfile *f;
    struct store *st;
    struct event_base *base;
    struct clock clock;
    int64_t now_ms;
    struct config cfg;
    struct checkin *ci;
    struct schedule *sc;
    int published, notices, pending_notices;
    int polling_101;
    char last_notice[128];
};

static int64_t fake_now(void *arg)
{
    return ((struct world *)arg)->now_ms;
}

/* Site-local 2026-12-01 HH:MM (or another date) as the fake clock. */
static void at(struct world *w, int y, int m, int d, int hh, int mm)
{
    w->now_ms = (int64_t)sitetime_local(y, m, d, hh * 60 + mm) * 1000;
}

static void on_published(void *arg, const struct event *ev)
{
    (void)ev;
    ((struct world *)arg)->published++;
}

static void on_notice(void *arg, const char *room, const char *type,
                      const char *zh, const char *en)
{
    struct world *w = arg;

    (void)room;
    (void)zh;
    w->notices++;
    if (strcmp(type, "pending") == 0)
        w->pending_notices++;
    snprintf(w->last_notice, sizeof(w->last_notice), "%s", en);
}

static void on_polling(void *arg, const char *room, int on)
{
    if (strcmp(room, "101") == 0)
        ((struct world *)arg)->polling_101 = on;
}

static void id_of(int i, char out[19])
{
    snprintf(out, 19, "1101051990010100%02u", (unsigned)i % 100);
}

static void add_device(struct config *c, const char *name,
                       enum config_devtype type)
{
    struct config_device *d = &c->devices[c->ndevices++];

    snprintf(d->name, sizeof(d->name), "%s", name);
    d->type = type;
    d->transport = TRANSPORT_SERIAL;
    snprintf(d->room, sizeof(d->room), "101");
}

/* A site in zone with session S on date (09:30-11:30, opens 09:00, late
 * cut-off 09:45) and NCAND candidates T1.. in room 101. */
static void build(struct world *w, const char *zone, const char *date)
{
    struct idhasher *h = idhasher_new(key, sizeof(key));
    struct checkin_env ce;
    struct schedule_env se;
    struct session_row s;
    struct candidate c;
    struct site site;
    struct err e;
    char id[19];
    int i;

    assert_int_equal(sitetime_set_zone(zone, &e), 0);
    assert_int_equal(store_open(&w->st, w->f->path, STORE_CREATE, &e), 0);
    memset(&site, 0, sizeof(site));
    snprintf(site.id, sizeof(site.id), "S1");
    snprintf(site.name, sizeof(site.name), "test");
    snprintf(site.station, sizeof(site.station), "st1");
    snprintf(site.timezone, sizeof(site.timezone), "%s", zone);
    snprintf(site.created, sizeof(site.created), "2026-11-30T00:00:00.000Z");
    assert_int_equal(store_begin(w->st, &e), 0);
    assert_int_equal(site_create(w->st, &site, &e), 0);
    memset(&s, 0, sizeof(s));
    snprintf(s.code, sizeof(s.code), "S");
    snprintf(s.certificate, sizeof(s.certificate), "Web前端开发");
    snprintf(s.level, sizeof(s.level), "初级");
    snprintf(s.date, sizeof(s.date), "%s", date);
    s.start_min = 9 * 60 + 30;
    s.end_min = 11 * 60 + 30;
    s.opens_before = 30;
    s.late_after = 15;
    s.published = -1;
    assert_int_equal(session_add(w->st, &s, NULL, &e), 1);
    assert_int_equal(room_ensure(w->st, "101", &e), 0);
    for (i = 1; i <= NCAND; i++) {
        memset(&c, 0, sizeof(c));
        snprintf(c.ticket, sizeof(c.ticket), "T%d", i);
        snprintf(c.name, sizeof(c.name), "考生%d", i);
        id_of(i, id);
        assert_int_equal(idhasher_hash_raw(h, id, c.id_hash), 0);
        snprintf(c.id_last4, sizeof(c.id_last4), "%s", id + 14);
        snprintf(c.session, sizeof(c.session), "S");
        snprintf(c.room, sizeof(c.room), "101");
        snprintf(c.seat, sizeof(c.seat), "%u", (unsigned)i % 100);
        assert_int_equal(candidate_put(w->st, &c, &e), 1);
    }
    assert_int_equal(store_commit(w->st, &e), 0);
    idhasher_free(h);
    store_set_busy_timeout(w->st, 0);

    config_defaults(&w->cfg);
    w->cfg.policy.mode = POLICY_TICKET;
    w->cfg.policy.pair_window_seconds = 60;
    add_device(&w->cfg, "reader1", DEVTYPE_IDCARD);
    add_device(&w->cfg, "door1", DEVTYPE_SCANNER);
    add_device(&w->cfg, "door2", DEVTYPE_SCANNER);
    w->clock.now_ms = fake_now;
    w->clock.arg = w;
    assert_non_null(w->base = event_base_new());
    memset(&ce, 0, sizeof(ce));
    ce.store = w->st;
    ce.base = w->base;
    ce.clock = &w->clock;
    ce.cfg = &w->cfg;
    ce.published = on_published;
    ce.notice = on_notice;
    ce.arg = w;
    assert_non_null(w->ci = checkin_new(&ce, key, sizeof(key), &e));
    memset(&se, 0, sizeof(se));
    se.store = w->st;
    se.base = w->base;
    se.clock = &w->clock;
    se.cfg = &w->cfg;
    se.set_polling = on_polling;
    se.published = on_published;
    se.arg = w;
    assert_non_null(w->sc = schedule_new(&se, &e));
}

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));

    if (w == NULL || tfile_setup((void **)&w->f, "site.db") == -1)
        return -1;
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;

    schedule_free(w->sc);
    checkin_free(w->ci);
    if (w->base)
        event_base_free(w->base);
    store_close(w->st);
    tfile_teardown((void **)&w->f);
    free(w);
    return 0;
}

/* The newest check-in decision: "kind|reason" (reason "" if none). */
static const char *last_decision(struct world *w, char *out, size_t len)
{
    return sql_text(store_db(w->st),
                    "SELECT kind || '|' || coalesce(json_extract(payload, "
                    "'$.reason'), '') FROM event WHERE kind LIKE 'checkin.%' "
                    "ORDER BY id DESC LIMIT 1",
                    out, len);
}

static long long count(struct world *w, const char *sql)
{
    return sql_int(store_db(w->st), sql);
}

static void scan(struct world *w, const char *door, const char *code)
{
    checkin_code(w->ci, door, "101", code, strlen(code));
}

static void test_time_rules(void **state)
{
    struct world *w = *state;
    char d[128];

    build(w, "Asia/Shanghai", "2026-12-01");
    at(w, 2026, 12, 1, 8, 50);
    scan(w, "door1", "T1");
    assert_string_equal(last_decision(w, d, sizeof(d)),
                        "checkin.denied|too_early");
    at(w, 2026, 12, 1, 9, 10);
    scan(w, "door1", "T1");
    assert_string_equal(last_decision(w, d, sizeof(d)), "checkin.accepted|");
    assert_int_equal(count(w, "SELECT count(*) FROM event WHERE kind = "
                              "'incident.logged'"),
                     0);
    at(w, 2026, 12, 1, 9, 35);
    scan(w, "door1", "T2");
    assert_string_equal(last_decision(w, d, sizeof(d)), "checkin.accepted|");
    assert_int_equal(count(w, "SELECT count(*) FROM event WHERE kind = "
                              "'incident.logged' AND ticket = 'T2'"),
                     1);
    at(w, 2026, 12, 1, 9, 46);
    scan(w, "door1", "T3");
    assert_string_equal(last_decision(w, d, sizeof(d)),
                        "checkin.denied|closed");
    at(w, 2026, 12, 2, 9, 10);
    scan(w, "door1", "T4");
    assert_string_equal(last_decision(w, d, sizeof(d)),
                        "checkin.denied|wrong_day");
    /* every decision was published once, after its commit */
    assert_int_equal(w->published, count(w, "SELECT count(*) FROM event "
                                            "WHERE kind != 'site.created' "
                                            "AND kind != 'session.added'"));
}

/* The record says the cut-off passed: no clock reading reopens it. */
static void test_clock_back_after_cutoff(void **state)
{
    struct world *w = *state;
    char d[128], t1[40], t2[40];

    build(w, "Asia/Shanghai", "2026-12-01");
    at(w, 2026, 12, 1, 9, 10);
    scan(w, "door1", "T1");
    at(w, 2026, 12, 1, 9, 50);
    schedule_replan(w->sc);
    assert_int_equal(count(w, "SELECT count(*) FROM event WHERE kind = "
                              "'absent.marked'"),
                     NCAND - 1);
    sql_text(store_db(w->st), "SELECT max(time) FROM event", t1, sizeof(t1));
    at(w, 2026, 12, 1, 8, 50); /* an hour back: before the window, even */
    scan(w, "door1", "T4");
    assert_string_equal(last_decision(w, d, sizeof(d)),
                        "checkin.denied|closed");
    sql_text(store_db(w->st), "SELECT max(time) FROM event", t2, sizeof(t2));
    assert_string_equal(t1, t2); /* held at the last event's time */
    assert_true(count(w, "SELECT json_extract(payload, '$.clock_behind_ms') "
                         "FROM event ORDER BY id DESC LIMIT 1") >= 3600 * 1000);
    /* a supervisor may still let T4 in by hand: the record says override */
    {
        struct checkin_account who = {0, "root"};
        json_t *r = NULL;
        struct err e;
        at(w, 2026, 12, 1, 9, 20);
        assert_int_equal(
            checkin_manual(w->ci, "T4", "主考", "bus late", &who, &r, &e), 0);
        assert_true(json_is_true(
            json_object_get(json_object_get(r, "payload"), "override")));
        json_decref(r);
    }
}

/* A forward step: the next look is planned from the new time, and on a
 * day with sessions the schedule never sleeps longer than the re-check. */
static void test_clock_forward(void **state)
{
    struct world *w = *state;
    long next;

    build(w, "Asia/Shanghai", "2026-12-01");
    at(w, 2026, 12, 1, 7, 0);
    next = schedule_replan(w->sc);
    assert_int_equal(w->polling_101, 0);
    assert_true(next <= SCHEDULE_RECHECK_S);
    at(w, 2026, 12, 1, 8, 5); /* polling from 08:00 (poll_before 60) */
    schedule_replan(w->sc);
    assert_int_equal(w->polling_101, 1);
    at(w, 2026, 12, 1, 11, 31);
    next = schedule_replan(w->sc);
    assert_int_equal(w->polling_101, 0);
    assert_int_equal(count(w, "SELECT count(*) FROM event WHERE kind = "
                              "'absent.marked'"),
                     NCAND);
    assert_true(next > SCHEDULE_RECHECK_S); /* nothing left today: idle */
}

/* The late cut-off is local time, across a DST change (New York,
 * 2026-03-08: clocks go forward at 02:00). */
static void test_dst(void **state)
{
    struct world *w = *state;

    build(w, "America/New_York", "2026-03-08");
    w->now_ms = (int64_t)1772977440 * 1000; /* 13:44Z = 09:44 EDT */
    schedule_replan(w->sc);
    assert_int_equal(count(w, "SELECT count(*) FROM event WHERE kind = "
                              "'absent.marked'"),
                     0);
    /* 13:46Z = 09:46 EDT, past the 09:45 cut-off (in EST it would be
     * 08:46: not yet) */
    w->now_ms = (int64_t)1772977560 * 1000;
    schedule_replan(w->sc);
    assert_int_equal(count(w, "SELECT count(*) FROM event WHERE kind = "
                              "'absent.marked'"),
                     NCAND);
}

/* A card as the driver hands it over: period is what it found of the
 * dates (real, in order). */
static void card_as(struct world *w, int i, const char *from, const char *to,
                    enum idcard_period period)
{
    struct idcard_info c;
    char id[19];

    memset(&c, 0, sizeof(c));
    c.type = IDCARD_RESIDENT;
    snprintf(c.name, sizeof(c.name), "考生%d", i);
    id_of(i, id);
    snprintf(c.id_number, sizeof(c.id_number), "%s", id);
    snprintf(c.valid_from, sizeof(c.valid_from), "%s", from);
    snprintf(c.valid_to, sizeof(c.valid_to), "%s", to);
    c.period = period;
    checkin_card(w->ci, "reader1", "101", &c);
    checkin_card_removed(w->ci, "reader1");
}

static void card(struct world *w, int i, const char *from, const char *to)
{
    card_as(w, i, from, to, IDCARD_PERIOD_OK);
}

static void test_card_validity(void **state)
{
    struct world *w = *state;
    char d[128];

    build(w, "Asia/Shanghai", "2026-12-01");
    w->cfg.policy.mode = POLICY_ID;
    at(w, 2026, 12, 1, 9, 10);
    card(w, 1, "20270101", "20370101"); /* not yet valid */
    assert_string_equal(last_decision(w, d, sizeof(d)),
                        "checkin.denied|card_invalid");
    card_as(w, 1, "20300101", "20200101", IDCARD_PERIOD_REVERSED);
    assert_string_equal(last_decision(w, d, sizeof(d)),
                        "checkin.denied|card_invalid");
    card_as(w, 1, "20201399", "20301301", IDCARD_PERIOD_BAD_DATE);
    assert_string_equal(last_decision(w, d, sizeof(d)),
                        "checkin.denied|card_invalid");
    card_as(w, 1, "20100101", "20201231", IDCARD_PERIOD_UNCHECKED);
    assert_string_equal(last_decision(w, d, sizeof(d)),
                        "checkin.denied|card_invalid"); /* never taken as OK */
    card(w, 1, "20100101", "20201231");                 /* expired */
    assert_string_equal(last_decision(w, d, sizeof(d)),
                        "checkin.denied|card_expired");
    card(w, 1, "20200101", "长期");
    assert_string_equal(last_decision(w, d, sizeof(d)), "checkin.accepted|");
    /* not one of those reads stored the number */
    assert_int_equal(count(w, "SELECT count(*) FROM event WHERE payload LIKE "
                              "'%110105199001010001%'"),
                     0);
}

static void test_id_number_as_ticket(void **state)
{
    struct world *w = *state;
    char d[128], t[64];

    build(w, "Asia/Shanghai", "2026-12-01");
    at(w, 2026, 12, 1, 9, 10);
    scan(w, "door1", "110105199001010001");
    assert_string_equal(last_decision(w, d, sizeof(d)),
                        "checkin.denied|id_number_as_ticket");
    assert_string_equal(sql_text(store_db(w->st),
                                 "SELECT ticket FROM event ORDER BY id DESC "
                                 "LIMIT 1",
                                 t, sizeof(t)),
                        "110105********0001");
    assert_int_equal(count(w, "SELECT count(*) FROM event WHERE ticket LIKE "
                              "'%19900101%' OR payload LIKE '%19900101%'"),
                     0);
}

/* A withdrawn candidate (roster withdraw) is denied "withdrawn" by ticket
 * and by card, refused a manual check-in, and not marked absent; a person
 * withdrawn from one session is still admitted to another. */
static void test_withdrawn(void **state)
{
    struct world *w = *state;
    struct checkin_account who = {0, "root"};
    struct session_row s;
    struct candidate c;
    json_t *r = NULL;
    struct err e;
    char d[128];

    build(w, "Asia/Shanghai", "2026-12-01");
    /* T1 also sits session S2, later that day; T5 was checked in */
    memset(&s, 0, sizeof(s));
    snprintf(s.code, sizeof(s.code), "S2");
    snprintf(s.certificate, sizeof(s.certificate), "数据库");
    snprintf(s.level, sizeof(s.level), "初级");
    snprintf(s.date, sizeof(s.date), "2026-12-01");
    s.start_min = 9 * 60 + 30;
    s.end_min = 11 * 60 + 30;
    s.opens_before = 30;
    s.late_after = 15;
    s.published = -1;
    assert_int_equal(candidate_get(w->st, "T1", &c, &e), 1);
    snprintf(c.ticket, sizeof(c.ticket), "T1B");
    snprintf(c.session, sizeof(c.session), "S2");
    assert_int_equal(store_begin(w->st, &e), 0);
    assert_int_equal(session_add(w->st, &s, NULL, &e), 1);
    assert_int_equal(candidate_put(w->st, &c, &e), 1);
    assert_int_equal(candidate_withdraw(w->st, "T1", &e), 0);
    assert_int_equal(candidate_withdraw(w->st, "T2", &e), 0);
    assert_int_equal(store_commit(w->st, &e), 0);

    at(w, 2026, 12, 1, 9, 10);
    scan(w, "door1", "T2");
    assert_string_equal(last_decision(w, d, sizeof(d)),
                        "checkin.denied|withdrawn");
    assert_int_equal(count(w, "SELECT count(*) FROM event WHERE kind = "
                              "'checkin.denied' AND ticket = 'T2' AND "
                              "json_extract(payload, '$.message_zh') = "
                              "'已取消报名，请到监考员处' AND "
                              "json_extract(payload, '$.message_en') = "
                              "'Registration withdrawn: see the invigilator'"),
                     1);
    scan(w, "door1", "T1"); /* by ticket: that candidacy, withdrawn */
    assert_string_equal(last_decision(w, d, sizeof(d)),
                        "checkin.denied|withdrawn");
    w->cfg.policy.mode = POLICY_ID;
    card(w, 2, "20200101", "长期");
    assert_string_equal(last_decision(w, d, sizeof(d)),
                        "checkin.denied|withdrawn");
    card(w, 1, "20200101", "长期"); /* by card: the candidacy left, S2 */
    assert_string_equal(last_decision(w, d, sizeof(d)), "checkin.accepted|");
    assert_int_equal(count(w, "SELECT count(*) FROM event WHERE kind = "
                              "'checkin.accepted' AND ticket = 'T1B'"),
                     1);
    assert_int_equal(
        checkin_manual(w->ci, "T2", "主考", "forgot card", &who, &r, &e), -1);
    assert_int_equal(e.code, EX_DATAERR);
    assert_non_null(strstr(e.msg, "withdrawn"));
    assert_null(r);
    /* the cut-off: the others are absent, not T1 and T2 */
    at(w, 2026, 12, 1, 9, 50);
    schedule_replan(w->sc);
    assert_int_equal(count(w, "SELECT count(*) FROM event WHERE kind = "
                              "'absent.marked' AND session = 'S'"),
                     NCAND - 2);
    assert_int_equal(count(w, "SELECT count(*) FROM event WHERE kind = "
                              "'absent.marked' AND ticket IN ('T1', 'T2')"),
                     0);
}

static void test_debounce(void **state)
{
    struct world *w = *state;
    int i;

    build(w, "Asia/Shanghai", "2026-12-01");
    at(w, 2026, 12, 1, 9, 10);
    for (i = 0; i < 1000; i++) {
        w->now_ms += 1; /* a burst: a millisecond apart */
        scan(w, "door1", "T1");
    }
    assert_int_equal(count(w, "SELECT count(*) FROM event WHERE kind LIKE "
                              "'checkin.%'"),
                     1);
    assert_int_equal(checkin_repeats(w->ci, "door1"), 999);
    w->now_ms += 5000; /* a person scanning again later is not a repeat */
    scan(w, "door1", "T1");
    assert_int_equal(count(w, "SELECT count(*) FROM event WHERE kind = "
                              "'checkin.duplicate'"),
                     1);
}

/* Another process holds the write lock: inputs wait, in order, and are
 * decided once it goes. */
static void test_locked(void **state)
{
    struct world *w = *state;
    struct timeval tick = {0, 50000};
    sqlite3 *other;
    char d[128];
    int i;

    build(w, "Asia/Shanghai", "2026-12-01");
    at(w, 2026, 12, 1, 9, 10);
    assert_int_equal(sqlite3_open(w->f->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                     SQLITE_OK);
    scan(w, "door1", "T1");
    scan(w, "door2", "T2");
    assert_int_equal(checkin_queued(w->ci), 2);
    assert_int_equal(w->published, 0);
    assert_int_equal(w->pending_notices, 2);
    assert_int_equal(w->notices, 2); /* no "System fault" */
    for (i = 0; i < 5; i++)          /* retries while locked: still waiting */
        event_base_loopexit(w->base, &tick), event_base_dispatch(w->base);
    assert_int_equal(checkin_queued(w->ci), 2);
    assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(other);
    for (i = 0; i < 40 && checkin_queued(w->ci) > 0; i++)
        event_base_loopexit(w->base, &tick), event_base_dispatch(w->base);
    assert_int_equal(checkin_queued(w->ci), 0);
    assert_int_equal(count(w, "SELECT count(*) FROM event WHERE kind = "
                              "'checkin.accepted'"),
                     2);
    assert_int_equal(count(w, "SELECT count(*) FROM event WHERE kind = "
                              "'checkin.accepted' AND json_extract(payload, "
                              "'$.presented_at') IS NOT NULL"),
                     2);
    assert_string_equal(
        sql_text(store_db(w->st),
                 "SELECT group_concat(ticket) FROM (SELECT ticket FROM event "
                 "WHERE kind = 'checkin.accepted' ORDER BY id)",
                 d, sizeof(d)),
        "T1,T2");
}

/* Stray first halves at one door never make another room wait. */
static void test_pairs_per_door(void **state)
{
    struct world *w = *state;
    char d[128], code[8];
    int i;

    build(w, "Asia/Shanghai", "2026-12-01");
    w->cfg.policy.mode = POLICY_ID_TICKET;
    at(w, 2026, 12, 1, 9, 10);
    for (i = 0; i < 40; i++) { /* 40 stray tickets at room 102's door */
        snprintf(code, sizeof(code), "T%d", i % 4 + 1);
        w->now_ms += 2000;
        checkin_code(w->ci, "door3", "102", code, strlen(code));
    }
    assert_string_not_equal(w->last_notice, "Busy: try again");
    /* the oldest halves at door1 timed out early, recorded as such */
    assert_true(count(w, "SELECT count(*) FROM event WHERE json_extract("
                         "payload, '$.reason') = 'pair_timeout'") > 0);
    w->now_ms += 2000;
    card(w, 5, "20200101", "长期");
    scan(w, "door2", "T5");
    assert_string_equal(last_decision(w, d, sizeof(d)), "checkin.accepted|");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_time_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_back_after_cutoff, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_clock_forward, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_card_validity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_id_number_as_ticket, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_withdrawn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debounce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pairs_per_door, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
