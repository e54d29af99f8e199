/*
 * fuzz_control.c: libFuzzer target for the control socket's requests: the
 * JSON line as the daemon parses it, then ops_dispatch() with every role,
 * against a real site database (a temporary directory set up once, with a
 * session open now and a small roster).  The first input byte picks the
 * role.  A refused request must say why; an accepted one must reply.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "checkin.h"
#include "daemon.h"
#include "idnumber.h"
#include "ops.h"
#include "roster.h"
#include "schedule.h"
#include "session.h"
#include "sitetime.h"
#include "site.h"
#include "store.h"

static void no_polling(void *arg, const char *room, int on)
{
    (void)arg;
    (void)room;
    (void)on;
}

static void no_publish(void *arg, const struct event *ev)
{
    (void)arg;
    (void)ev;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct daemon d;

static void fail(const char *what, const struct err *e)
{
    fprintf(stderr, "fuzz_control: %s: %s\n", what, e ? e->msg : "");
    exit(1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct checkin_env ce;
    struct schedule_env se;
    char dir[] = "/tmp/examsite-fuzz-control.XXXXXX", db[128];
    struct session_row s;
    struct candidate c;
    struct site site;
    struct tm tm;
    time_t now = time(NULL);
    struct err e;
    int i;

    (void)argc;
    (void)argv;
    if (mkdtemp(dir) == NULL)
        fail("mkdtemp", NULL);
    snprintf(db, sizeof(db), "%s/site.db", dir);
    config_defaults(&d.cfg);
    snprintf(d.cfg.site.database, sizeof(d.cfg.site.database), "%s", db);
    if (sitetime_set_zone("Asia/Shanghai", &e) == -1 ||
        store_open(&d.store, db, STORE_CREATE, &e) == -1)
        fail("store", &e);
    memset(&site, 0, sizeof(site));
    snprintf(site.id, sizeof(site.id), "FUZZ");
    snprintf(site.name, sizeof(site.name), "fuzz");
    snprintf(site.station, sizeof(site.station), "s1");
    snprintf(site.timezone, sizeof(site.timezone), "Asia/Shanghai");
    snprintf(site.created, sizeof(site.created), "now");
    localtime_r(&now, &tm);
    if (store_begin(d.store, &e) == -1 || site_create(d.store, &site, &e) == -1)
        fail("site", &e);
    d.site = site;
    memset(&s, 0, sizeof(s));
    snprintf(s.code, sizeof(s.code), "F1");
    snprintf(s.certificate, sizeof(s.certificate), "fuzz");
    snprintf(s.level, sizeof(s.level), "初级");
    strftime(s.date, sizeof(s.date), "%Y-%m-%d", &tm);
    s.start_min = 1;
    s.end_min = 1439;
    s.opens_before = 0;
    s.late_after = 240;
    s.published = -1;
    if (session_add(d.store, &s, NULL, &e) == -1 ||
        room_ensure(d.store, "101", &e) == -1)
        fail("session", &e);
    for (i = 0; i < 8; i++) {
        memset(&c, 0, sizeof(c));
        snprintf(c.ticket, sizeof(c.ticket), "T%d", i);
        snprintf(c.name, sizeof(c.name), "name%d", i);
        c.id_hash[0] = (unsigned char)i;
        snprintf(c.id_last4, sizeof(c.id_last4), "000%d", i);
        snprintf(c.session, sizeof(c.session), "F1");
        snprintf(c.room, sizeof(c.room), "101");
        snprintf(c.seat, sizeof(c.seat), "%d", i + 1);
        if (candidate_put(d.store, &c, &e) != 1)
            fail("candidate", &e);
    }
    if (store_commit(d.store, &e) == -1)
        fail("commit", &e);
    if ((d.base = event_base_new()) == NULL)
        fail("daemon", &e);
    memset(&ce, 0, sizeof(ce));
    ce.store = d.store;
    ce.base = d.base;
    ce.clock = &d.clock;
    ce.cfg = &d.cfg;
    memset(&se, 0, sizeof(se));
    se.store = d.store;
    se.base = d.base;
    se.clock = &d.clock;
    se.cfg = &d.cfg;
    se.set_polling = no_polling;
    se.published = no_publish;
    if ((d.checkin = checkin_new(&ce, d.secret.key, sizeof(d.secret.key),
                                 &e)) == NULL ||
        (d.schedule = schedule_new(&se, &e)) == NULL)
        fail("daemon", &e);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ops_request rq;
    json_t *req, *reply = NULL;
    struct err e;

    if (size < 1 || size > 65536)
        return 0;
    req = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES,
                     NULL);
    if (req == NULL || !json_is_object(req)) {
        json_decref(req);
        return 0;
    }
    memset(&rq, 0, sizeof(rq));
    rq.d = &d;
    rq.role = (enum control_role)(data[0] % 4);
    rq.req = req;
    err_clear(&e);
    if (ops_dispatch(&rq, &reply, &e) == -1) {
        if (e.msg[0] == '\0' || reply != NULL)
            abort();
    } else if (reply == NULL) {
        abort();
    }
    json_decref(rq.replay); /* a subscribe's catch-up */
    json_decref(reply);
    json_decref(req);
    return 0;
}
