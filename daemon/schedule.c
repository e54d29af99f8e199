/*
 * schedule.c: session windows, reader polling, absent marking, on one timer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "attendance.h"
#include "daemon.h"
#include "device.h"
#include "event.h"
#include "log.h"
#include "schedule.h"
#include "session.h"
#include "sitetime.h"
#include "store.h"

#define SCHEDULE_MAX_SESSIONS 64

struct schedule {
    struct daemon *d;
    struct event *timer;
    struct session_row today[SCHEDULE_MAX_SESSIONS];
    int ntoday;
};

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    schedule_replan(arg);
}

struct schedule *schedule_new(struct daemon *d, struct err *e)
{
    struct schedule *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        err_errno(e, EX_OSERR, "schedule");
        return NULL;
    }
    s->d = d;
    if ((s->timer = evtimer_new(d->base, timer_cb, s)) == NULL) {
        free(s);
        err_set(e, EX_OSERR, "schedule: timer");
        return NULL;
    }
    return s;
}

void schedule_free(struct schedule *s)
{
    if (s == NULL)
        return;
    event_free(s->timer);
    free(s);
}

static int collect_today(void *ud, const struct session_row *row, struct err *e)
{
    struct schedule *s = ud;
    char today[11];

    (void)e;
    sitetime_today(today);
    if (strcmp(row->date, today) == 0 && s->ntoday < SCHEDULE_MAX_SESSIONS)
        s->today[s->ntoday++] = *row;
    return 0;
}

/* Consider t as a candidate for the next wake-up. */
static void consider(time_t *next, time_t now, time_t t)
{
    if (t > now && (*next == 0 || t < *next))
        *next = t;
}

struct absent_ctx {
    struct daemon *d;
    const struct session_row *s;
    const char *room;
    struct event evs[512];
    char *payloads[512];
    int n;
    int failed;
};

static int absent_one(void *ud, const char *ticket, const char *seat,
                      struct err *cbe)
{
    struct absent_ctx *a = ud;
    struct event *ev;
    struct err e;
    json_t *j;

    (void)cbe;
    if (a->n == 512) /* the rest on the next pass, a moment later */
        return 0;
    ev = &a->evs[a->n];
    memset(ev, 0, sizeof(*ev));
    j = json_pack("{s:s, s:s, s:s}", "seat", seat, "message_zh", "缺考",
                  "message_en", "Absent");
    a->payloads[a->n] = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (a->payloads[a->n] == NULL)
        return -1;
    ev->kind = "absent.marked";
    ev->session = a->s->code;
    ev->room = a->room;
    ev->ticket = strdup(ticket);
    ev->payload = a->payloads[a->n];
    if (ev->ticket == NULL || event_append(a->d->store, ev, &e) == -1) {
        free((char *)ev->ticket);
        free(a->payloads[a->n]);
        log_warnx("absent marking: %s", e.msg);
        return -1;
    }
    a->n++;
    return 0;
}

/* Every candidate of s in room not checked in by the cut-off: absent. */
static void mark_absent(struct schedule *sc, const struct session_row *s,
                        const char *room)
{
    struct absent_ctx *a = calloc(1, sizeof(*a));
    struct err e;
    int i, ok;

    if (a == NULL)
        return;
    a->d = sc->d;
    a->s = s;
    a->room = room;
    ok = store_begin(sc->d->store, &e) == 0 &&
         attendance_absentees(sc->d->store, s->code, room, absent_one, a, &e) ==
             0 &&
         store_commit(sc->d->store, &e) == 0;
    if (!ok) {
        store_rollback(sc->d->store);
        log_warnx("absent marking for %s room %s failed: %s", s->code, room,
                  e.msg);
    } else {
        for (i = 0; i < a->n; i++)
            daemon_published(sc->d, &a->evs[i]);
        if (a->n > 0)
            log_info("session %s room %s: %d absent at the cut-off", s->code,
                     room, a->n);
    }
    for (i = 0; i < a->n; i++) {
        free((char *)a->evs[i].ticket);
        free(a->payloads[i]);
    }
    free(a);
}

static void mark_opened(struct schedule *sc, const struct session_row *s,
                        const char *room)
{
    struct event ev;
    struct err e;
    int rc;

    if ((rc = attendance_opened(sc->d->store, s->code, room, &e)) != 0) {
        if (rc == -1)
            log_warnx("%s", e.msg);
        return;
    }
    memset(&ev, 0, sizeof(ev));
    ev.kind = "session.opened";
    ev.session = s->code;
    ev.room = room;
    ev.payload =
        "{\"message_zh\":\"开始检录\",\"message_en\":\"Check-in open\"}";
    if (store_begin(sc->d->store, &e) == -1 ||
        event_append(sc->d->store, &ev, &e) == -1 ||
        store_commit(sc->d->store, &e) == -1) {
        store_rollback(sc->d->store);
        log_warnx("session %s room %s: %s", s->code, room, e.msg);
        return;
    }
    daemon_published(sc->d, &ev);
}

/* The rooms of the configured devices, each once. */
static int served_rooms(struct daemon *d, const char **rooms, int max)
{
    size_t i;
    int n = 0, k, seen;

    for (i = 0; i < d->cfg.ndevices; i++) {
        for (seen = 0, k = 0; k < n; k++)
            seen |= strcmp(rooms[k], d->cfg.devices[i].room) == 0;
        if (!seen && n < max)
            rooms[n++] = d->cfg.devices[i].room;
    }
    return n;
}

static void set_room_polling(struct daemon *d, const char *room, int on)
{
    size_t i;

    for (i = 0; i < d->cfg.ndevices; i++)
        if (strcmp(d->cfg.devices[i].room, room) == 0 &&
            d->cfg.devices[i].type == DEVTYPE_IDCARD && d->devices != NULL)
            device_manager_set_polling(d->devices, d->cfg.devices[i].name, on);
}

void schedule_replan(struct schedule *sc)
{
    struct daemon *d = sc->d;
    const char *rooms[CONFIG_MAX_DEVICES];
    time_t now = time(NULL), next = 0, poll_from, midnight;
    struct session_times t;
    struct timeval tv;
    struct tm tm;
    struct err e;
    int nrooms, r, i, has, poll;

    sc->ntoday = 0;
    if (session_foreach(d->store, collect_today, sc, &e) == -1)
        log_warnx("schedule: %s", e.msg);
    nrooms = served_rooms(d, rooms, CONFIG_MAX_DEVICES);
    for (r = 0; r < nrooms; r++) {
        poll = 0;
        for (i = 0; i < sc->ntoday; i++) {
            const struct session_row *s = &sc->today[i];
            if ((has = attendance_room_has(d->store, s->code, rooms[r], &e)) !=
                1)
                continue;
            session_times(s, &t);
            poll_from = t.opens - (time_t)d->cfg.policy.poll_before * 60;
            if (now >= poll_from && now < t.end)
                poll = 1;
            if (now >= t.opens && now < t.end)
                mark_opened(sc, s, rooms[r]);
            if (now >= t.cutoff && now < t.end + 24 * 3600)
                mark_absent(sc, s, rooms[r]);
            consider(&next, now, poll_from);
            consider(&next, now, t.opens);
            consider(&next, now, t.cutoff);
            consider(&next, now, t.end);
        }
        set_room_polling(d, rooms[r], poll);
    }
    localtime_r(&now, &tm);
    tm.tm_hour = 24;
    tm.tm_min = 0;
    tm.tm_sec = 1;
    tm.tm_isdst = -1;
    midnight = mktime(&tm);
    consider(&next, now, midnight);
    /* A little past the boundary, so the comparisons above see it passed. */
    tv.tv_sec = next - now;
    tv.tv_usec = 200000;
    evtimer_add(sc->timer, &tv);
    log_debug("schedule: next look in %ld s", (long)tv.tv_sec);
}
