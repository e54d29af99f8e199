/*
 * schedule.c: session windows, reader polling, absent marking, on one timer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "attendance.h"
#include "event.h"
#include "log.h"
#include "schedule.h"
#include "session.h"
#include "sitetime.h"
#include "store.h"

#define RETRY_LOCKED_S 1 /* another process holds the lock: look again */

struct schedule {
    struct schedule_env env;
    struct event *timer;
    struct event *ev_clockset; /* the system clock was set */
    int clockfd;
    struct session_row *today; /* today's sessions, grown as needed */
    size_t ntoday, cap;
    int locked; /* a write found the database locked this pass */
};

struct today_ctx {
    struct schedule *s;
    char date[11];
    int failed;
};

static int collect_today(void *ud, const struct session_row *row, struct err *e)
{
    struct today_ctx *t = ud;

    (void)e;
    struct schedule *s = t->s;
    struct session_row *grown;

    if (strcmp(row->date, t->date) != 0)
        return 0;
    if (s->ntoday == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        if ((grown = realloc(s->today, cap * sizeof(*grown))) == NULL) {
            t->failed = 1;
            return 1; /* stop: say so once, below */
        }
        s->today = grown;
        s->cap = cap;
    }
    s->today[s->ntoday++] = *row;
    return 0;
}

/* Consider t as a candidate for the next wake-up. */
static void consider(time_t *next, time_t now, time_t t)
{
    if (t > now && (*next == 0 || t < *next))
        *next = t;
}

/* A write failed: the lock means "again in a moment", anything else is
 * reported (once, here) and tried again at the next look. */
static void write_failed(struct schedule *sc, const char *what,
                         const struct err *e)
{
    if (e->code == EX_TEMPFAIL) {
        sc->locked = 1;
        log_info("%s: the database is locked by another process; again in "
                 "%d s",
                 what, RETRY_LOCKED_S);
    } else {
        log_warnx("%s: %s", what, e->msg);
    }
}

struct ticket_list {
    char (*tickets)[33];
    char (*seats)[17];
    size_t n, cap;
};

static int collect_absentee(void *ud, const char *ticket, const char *seat,
                            struct err *e)
{
    struct ticket_list *l = ud;

    (void)e;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        void *t = realloc(l->tickets, cap * sizeof(*l->tickets));
        void *s;
        if (t == NULL)
            return -1;
        l->tickets = t;
        if ((s = realloc(l->seats, cap * sizeof(*l->seats))) == NULL)
            return -1;
        l->seats = s;
        l->cap = cap;
    }
    snprintf(l->tickets[l->n], sizeof(l->tickets[0]), "%s", ticket);
    snprintf(l->seats[l->n], sizeof(l->seats[0]), "%s", seat);
    l->n++;
    return 0;
}

static int publish_one(void *ud, const struct event *ev, struct err *e)
{
    struct schedule *sc = ud;

    (void)e;
    sc->env.published(sc->env.arg, ev);
    return 0;
}

static int absent_append(struct schedule *sc, const struct session_row *s,
                         const char *room, const char *ticket, const char *seat,
                         int64_t *first, struct err *e)
{
    struct event ev;
    json_t *j;
    char *p;
    int rc;

    j = json_pack("{s:s, s:s, s:s}", "seat", seat, "message_zh", "缺考",
                  "message_en", "Absent");
    p = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (p == NULL)
        return err_set(e, EX_OSERR, "out of memory");
    memset(&ev, 0, sizeof(ev));
    ev.kind = "absent.marked";
    ev.session = s->code;
    ev.room = room;
    ev.ticket = ticket;
    ev.payload = p;
    ev.time_ms = clock_ms(sc->env.clock);
    rc = event_append(sc->env.store, &ev, e);
    if (rc == 0 && *first == 0)
        *first = ev.id;
    event_release(&ev);
    free(p);
    return rc;
}

/* Every candidate of s in room not checked in by the cut-off: absent, all
 * in one transaction, then published from the log. */
static void mark_absent(struct schedule *sc, const struct session_row *s,
                        const char *room)
{
    struct store *st = sc->env.store;
    struct ticket_list l;
    int64_t first = 0;
    struct err e;
    char what[96];
    size_t i;

    memset(&l, 0, sizeof(l));
    err_clear(&e);
    snprintf(what, sizeof(what), "absent marking for %s room %s", s->code,
             room);
    if (store_begin(st, &e) == -1) {
        write_failed(sc, what, &e);
        return;
    }
    if (attendance_absentees(st, s->code, room, collect_absentee, &l, &e) == -1)
        goto fail;
    for (i = 0; i < l.n; i++)
        if (absent_append(sc, s, room, l.tickets[i], l.seats[i], &first, &e) ==
            -1)
            goto fail;
    if (l.n == 0) {
        store_rollback(st);
    } else {
        if (store_commit(st, &e) == -1)
            goto fail;
        log_info("session %s room %s: %zu absent at the cut-off", s->code, room,
                 l.n);
        if (event_foreach(st, first - 1, (int64_t)l.n, publish_one, sc, &e) ==
            -1)
            log_warnx("%s: recorded, not streamed: %s", what, e.msg);
    }
    free(l.tickets);
    free(l.seats);
    return;
fail:
    store_rollback(st);
    write_failed(sc, what, &e);
    free(l.tickets);
    free(l.seats);
}

static void mark_opened(struct schedule *sc, const struct session_row *s,
                        const char *room)
{
    struct store *st = sc->env.store;
    struct event ev;
    struct err e;
    char what[96];
    int rc;

    err_clear(&e);
    snprintf(what, sizeof(what), "session %s room %s", s->code, room);
    if (store_begin(st, &e) == -1) {
        write_failed(sc, what, &e);
        return;
    }
    if ((rc = attendance_opened(st, s->code, room, &e)) != 0) {
        store_rollback(st);
        if (rc == -1)
            write_failed(sc, what, &e);
        return;
    }
    memset(&ev, 0, sizeof(ev));
    ev.kind = "session.opened";
    ev.session = s->code;
    ev.room = room;
    ev.payload =
        "{\"message_zh\":\"开始检录\",\"message_en\":\"Check-in open\"}";
    ev.time_ms = clock_ms(sc->env.clock);
    if (event_append(st, &ev, &e) == -1 || store_commit(st, &e) == -1) {
        store_rollback(st);
        write_failed(sc, what, &e);
        event_release(&ev);
        return;
    }
    sc->env.published(sc->env.arg, &ev);
    event_release(&ev);
}

/* The rooms of the configured devices, each once. */
static int served_rooms(const struct config *cfg, const char **rooms, int max)
{
    size_t i;
    int n = 0, k, seen;

    for (i = 0; i < cfg->ndevices; i++) {
        for (seen = 0, k = 0; k < n; k++)
            seen |= strcmp(rooms[k], cfg->devices[i].room) == 0;
        if (!seen && n < max)
            rooms[n++] = cfg->devices[i].room;
    }
    return n;
}

/* One room against today's sessions: what is due now, what comes next. */
static void plan_room(struct schedule *sc, const char *room, time_t now,
                      time_t *next, int *active)
{
    const struct config *cfg = sc->env.cfg;
    struct session_times t;
    time_t poll_from;
    struct err e;
    size_t i;
    int poll = 0;

    for (i = 0; i < sc->ntoday; i++) {
        const struct session_row *s = &sc->today[i];
        if (attendance_room_has(sc->env.store, s->code, room, &e) != 1)
            continue;
        session_times(s, &t);
        poll_from = t.opens - (time_t)cfg->policy.poll_before * 60;
        if (now >= poll_from && now < t.end)
            poll = 1;
        if (now >= t.opens && now < t.end)
            mark_opened(sc, s, room);
        if (now >= t.cutoff && now < t.end + 24 * 3600)
            mark_absent(sc, s, room);
        if (now < t.end)
            *active = 1;
        consider(next, now, poll_from);
        consider(next, now, t.opens);
        consider(next, now, t.cutoff);
        consider(next, now, t.end);
    }
    sc->env.set_polling(sc->env.arg, room, poll);
}

long schedule_replan(struct schedule *sc)
{
    const char *rooms[CONFIG_MAX_DEVICES];
    time_t now = clock_s(sc->env.clock), next = 0, midnight;
    struct today_ctx tc;
    struct timeval tv;
    struct tm tm;
    struct err e;
    int nrooms, r, active = 0;

    sc->ntoday = 0;
    sc->locked = 0;
    memset(&tc, 0, sizeof(tc));
    tc.s = sc;
    sitetime_date(now, tc.date);
    if (session_foreach(sc->env.store, collect_today, &tc, &e) == -1)
        log_warnx("schedule: %s", e.msg);
    else if (tc.failed)
        log_warnx("schedule: out of memory for today's sessions");
    nrooms = served_rooms(sc->env.cfg, rooms, CONFIG_MAX_DEVICES);
    for (r = 0; r < nrooms; r++)
        plan_room(sc, rooms[r], now, &next, &active);
    localtime_r(&now, &tm);
    tm.tm_hour = 24;
    tm.tm_min = 0;
    tm.tm_sec = 1;
    tm.tm_isdst = -1;
    midnight = mktime(&tm);
    consider(&next, now, midnight);
    if (active)
        consider(&next, now, now + SCHEDULE_RECHECK_S);
    if (sc->locked)
        consider(&next, now, now + RETRY_LOCKED_S);
    /* A little past the boundary, so the comparisons above see it passed. */
    tv.tv_sec = next - now;
    tv.tv_usec = 200000;
    evtimer_add(sc->timer, &tv);
    log_debug("schedule: next look in %ld s", (long)tv.tv_sec);
    return (long)tv.tv_sec;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    schedule_replan(arg);
}

/* Armed far in the future: it never expires, it is cancelled when the
 * system clock is set. */
static int clockfd_arm(int fd)
{
    struct itimerspec its;
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = now.tv_sec + 10L * 365 * 24 * 3600;
    return timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
                           &its, NULL);
}

static void clockset_cb(evutil_socket_t fd, short what, void *arg)
{
    struct schedule *sc = arg;
    uint64_t n;

    (void)what;
    if (read(fd, &n, sizeof(n)) == -1 && errno == ECANCELED) {
        log_warnx("the system clock was set: planning again");
        clockfd_arm(fd);
        schedule_replan(sc);
    }
}

struct schedule *schedule_new(const struct schedule_env *env, struct err *e)
{
    struct schedule *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        err_errno(e, EX_OSERR, "schedule");
        return NULL;
    }
    s->env = *env;
    s->clockfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    if ((s->timer = evtimer_new(env->base, timer_cb, s)) == NULL ||
        s->clockfd == -1 || clockfd_arm(s->clockfd) == -1 ||
        (s->ev_clockset = event_new(env->base, s->clockfd, EV_READ | EV_PERSIST,
                                    clockset_cb, s)) == NULL ||
        event_add(s->ev_clockset, NULL) == -1) {
        err_errno(e, EX_OSERR, "schedule: timers");
        schedule_free(s);
        return NULL;
    }
    return s;
}

void schedule_free(struct schedule *s)
{
    if (s == NULL)
        return;
    if (s->ev_clockset != NULL)
        event_free(s->ev_clockset);
    if (s->clockfd >= 0)
        close(s->clockfd);
    if (s->timer != NULL)
        event_free(s->timer);
    free(s->today);
    free(s);
}
