/*
 * checkin.c: from a card read or a ticket scan to a committed decision.
 *
 * Every input goes through one FIFO queue.  When the database is free the
 * queue is empty and an input is decided at once, inside one transaction
 * that reads the candidate's state and records the decision.  When another
 * process holds the write lock, BEGIN IMMEDIATE fails at once (the daemon
 * never waits for a lock), the input stays queued, its door is told to
 * wait, and a timer retries with a growing delay; the inputs are decided
 * in the order they came, each judged at the time it was presented.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attendance.h"
#include "checkin.h"
#include "event.h"
#include "hex.h"
#include "idnumber.h"
#include "idtext.h"
#include "log.h"
#include "roster.h"
#include "session.h"
#include "site.h"
#include "sitetime.h"
#include "store.h"

#define CHECKIN_PENDING_PER_DOOR 4 /* id+ticket first halves per device */
#define CHECKIN_MAX_PENDING      (CONFIG_MAX_DEVICES * CHECKIN_PENDING_PER_DOOR)
#define CHECKIN_QUEUE_MAX        256
#define CHECKIN_QUEUE_PER_DOOR   32
#define CHECKIN_RETRY_MIN_MS     20
#define CHECKIN_RETRY_MAX_MS     500
#define CHECKIN_DRAIN_PER_TURN   16
#define CHECKIN_DEBOUNCE_MS      1000
#define CHECKIN_MAX_MATCHES      16
#define TWO_DOORS_WINDOW_S       (10 * 60)

enum factor { FACTOR_CARD = 1, FACTOR_TICKET = 2 };
enum input_kind { IN_CARD = 1, IN_TICKET, IN_PAIR_TIMEOUT, IN_ID_AS_TICKET };
enum period { PERIOD_OK = 0, PERIOD_EXPIRED, PERIOD_NOT_YET, PERIOD_INVALID };

/* What came in at a door, kept until it is decided.  A card is kept only
 * as its keyed hash, name and validity dates, and wiped once decided. */
struct input {
    enum input_kind kind;
    char device[64];
    char room[ROSTER_ROOM_MAX + 1];
    int64_t at_ms; /* when it was presented: the rules' "now" */
    int have_hash;
    unsigned char hash[IDNUMBER_HASH_LEN];
    char name[96];
    char valid_from[9], valid_to[16];
    int dates_ok; /* the driver found them real dates, in order */
    char ticket[ROSTER_TICKET_MAX + 1];
    enum factor held; /* IN_PAIR_TIMEOUT: the half that waited */
    int told;         /* its door was told to wait */
};

/* The first half of an id+ticket pair, waiting for the other. */
struct pending {
    struct checkin *owner;
    int used;
    enum factor factor;
    char room[ROSTER_ROOM_MAX + 1];
    char device[64];
    char ticket[ROSTER_TICKET_MAX + 1];
    enum period period;
    int name_mismatch;
    int64_t since_ms;
    struct event *timer;
};

/* The last input per device, to drop a scanner's or reader's repeats. */
struct last_input {
    char device[64];
    char key[IDNUMBER_HASH_HEX + 1];
    int64_t at_ms;
    unsigned long repeats; /* since start */
    int in_burst;          /* this key was repeated already */
};

struct checkin {
    struct checkin_env env;
    struct idhasher *hasher; /* keyed with the site secret */
    struct pending pend[CHECKIN_MAX_PENDING];
    struct input queue[CHECKIN_QUEUE_MAX];
    size_t qhead, qlen;
    struct event *retry;
    int retry_ms;
    int64_t busy_since_ms;
    struct last_input last[CONFIG_MAX_DEVICES];
};

/* What one decision says; turned into an event payload. */
struct decision {
    const char *kind;
    const char *result; /* accepted denied duplicate exit reentry */
    const char *reason; /* machine-readable, for denials */
    const char *via;    /* card ticket card+ticket manual */
    const struct candidate *cand;
    const char *ticket; /* scanned code when no candidate */
    const char *device, *room;
    const char *operator_name, *note;
    const struct checkin_account *who;
    int late, override, name_mismatch, two_doors;
    int64_t presented_ms; /* set when the decision waited for the lock */
    const char *right_room, *when;
    char when_buf[SITETIME_ISO_MAX];
    char zh[256], en[256];
};

static void say(struct decision *dc, const char *zh, const char *en, ...)
    __attribute__((format(printf, 3, 4)));

/* Kiosk text: the same arguments fill the Chinese and the English line. */
static void say(struct decision *dc, const char *zh, const char *en, ...)
{
    va_list ap;

    va_start(ap, en);
    vsnprintf(dc->en, sizeof(dc->en), en, ap);
    va_end(ap);
    va_start(ap, en);
    vsnprintf(dc->zh, sizeof(dc->zh), zh, ap);
    va_end(ap);
}

static void notice(struct checkin *c, const char *room, const char *type,
                   const char *zh, const char *en)
{
    if (c->env.notice != NULL)
        c->env.notice(c->env.arg, room, type, zh, en);
}

static json_t *decision_payload(const struct decision *dc)
{
    json_t *j = json_object();

    json_object_set_new(j, "result", json_string(dc->result));
    if (dc->reason)
        json_object_set_new(j, "reason", json_string(dc->reason));
    if (dc->via)
        json_object_set_new(j, "via", json_string(dc->via));
    if (dc->cand) {
        json_object_set_new(j, "name", json_string(dc->cand->name));
        json_object_set_new(j, "seat", json_string(dc->cand->seat));
        json_object_set_new(j, "candidate_room", json_string(dc->cand->room));
    }
    if (dc->late)
        json_object_set_new(j, "late", json_true());
    if (dc->override)
        json_object_set_new(j, "override", json_true());
    if (dc->name_mismatch)
        json_object_set_new(j, "warnings", json_pack("[s]", "name_mismatch"));
    if (dc->two_doors)
        json_object_set_new(j, "flag", json_string("two_doors"));
    if (dc->right_room)
        json_object_set_new(j, "right_room", json_string(dc->right_room));
    if (dc->when)
        json_object_set_new(j, "when", json_string(dc->when));
    if (dc->note)
        json_object_set_new(j, "note", json_string(dc->note));
    if (dc->presented_ms != 0) {
        char at[SITETIME_ISO_MAX];
        sitetime_format_utc(dc->presented_ms, at);
        json_object_set_new(j, "presented_at", json_string(at));
    }
    if (dc->who != NULL && dc->who->uid >= 0) {
        json_t *acc = json_pack("{s:I}", "uid", (json_int_t)dc->who->uid);
        if (dc->who->user && dc->who->user[0])
            json_object_set_new(acc, "user", json_string(dc->who->user));
        json_object_set_new(j, "account", acc);
    }
    json_object_set_new(j, "message_zh", json_string(dc->zh));
    json_object_set_new(j, "message_en", json_string(dc->en));
    return j;
}

static char *dump(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    return s;
}

static void publish(struct checkin *c, struct event *ev)
{
    if (c->env.published != NULL)
        c->env.published(c->env.arg, ev);
}

/*
 * Append the decision (and its late incident) inside the caller's open
 * transaction, commit, and only then publish.  0, or -1 with e (the
 * transaction is rolled back: nothing is shown as decided).
 */
static int record(struct checkin *c, struct decision *dc, json_t **out,
                  struct err *e)
{
    struct store *st = c->env.store;
    int late_incident = dc->late && strcmp(dc->kind, "checkin.denied") != 0;
    char *p1 = dump(decision_payload(dc)), *p2 = NULL;
    struct event ev, inc;
    int rc = -1;

    memset(&ev, 0, sizeof(ev));
    memset(&inc, 0, sizeof(inc));
    if (p1 == NULL) {
        err_set(e, EX_OSERR, "out of memory");
        goto rollback;
    }
    ev.kind = dc->kind;
    ev.session = dc->cand ? dc->cand->session : NULL;
    ev.room = dc->room;
    ev.ticket = dc->cand ? dc->cand->ticket : dc->ticket;
    ev.device = dc->device;
    ev.operator_name = dc->operator_name;
    ev.payload = p1;
    ev.time_ms = clock_ms(c->env.clock);
    if (event_append(st, &ev, e) == -1)
        goto rollback;
    if (late_incident) {
        json_t *pj =
            json_pack("{s:s, s:s, s:I, s:s}", "kind", "late", "seat",
                      dc->cand->seat, "checkin_event", (json_int_t)ev.id,
                      "note", "automatic: checked in after the start");
        p2 = dump(pj);
        inc.kind = "incident.logged";
        inc.session = ev.session;
        inc.room = dc->cand->room;
        inc.ticket = ev.ticket;
        inc.device = dc->device;
        inc.operator_name = dc->operator_name;
        inc.payload = p2;
        inc.time_ms = ev.time_ms;
        if (p2 == NULL || event_append(st, &inc, e) == -1)
            goto rollback;
    }
    if (store_commit(st, e) == -1)
        goto out;
    publish(c, &ev);
    if (late_incident)
        publish(c, &inc);
    if (out != NULL)
        *out = event_to_json(&ev);
    rc = 0;
    goto out;
rollback:
    store_rollback(st);
out:
    event_release(&ev);
    event_release(&inc);
    free(p1);
    free(p2);
    return rc;
}

/* --- finding the candidate ------------------------------------------------ */

struct matches {
    struct candidate c[CHECKIN_MAX_MATCHES];
    int n;
    int chosen; /* choose() ran: c[0] is it, s its session */
    struct session_row s;
};

static int collect(void *ud, const struct candidate *cand, struct err *e)
{
    struct matches *m = ud;

    (void)e;
    if (m->n < CHECKIN_MAX_MATCHES)
        m->c[m->n++] = *cand;
    return 0;
}

/*
 * Of a person's candidacies (one per session), the one that matters now:
 * today's whose window holds now, else today's next, else today's last,
 * else the nearest other day (for the "wrong day" answer); a withdrawn
 * candidacy only when no other is left (it is then denied "withdrawn").
 * Returns its index (moved to c[0]), -1 when none has a session, -2 on
 * error.
 */
static int choose(struct checkin *c, struct matches *m, time_t now,
                  struct err *e)
{
    char today[11];
    int i, best = -1, score, best_score = -10, rc;
    struct session_row s;
    struct session_times t;

    if (m->chosen)
        return 0;
    sitetime_date(now, today);
    for (i = 0; i < m->n; i++) {
        if ((rc = session_get(c->env.store, m->c[i].session, &s, e)) != 1) {
            if (rc == -1)
                return -2;
            continue;
        }
        session_times(&s, &t);
        if (strcmp(s.date, today) == 0)
            score = now >= t.opens && now <= t.end ? 4 : now < t.opens ? 3 : 2;
        else
            score = strcmp(s.date, today) > 0 ? 1 : 0;
        if (m->c[i].withdrawn) /* only when no other candidacy is left */
            score -= 5;
        if (score > best_score) {
            best_score = score;
            best = i;
            m->s = s;
        }
    }
    if (best < 0)
        return -1;
    if (best > 0)
        m->c[0] = m->c[best];
    m->chosen = 1;
    return 0;
}

/* --- the rules ------------------------------------------------------------ */

/* The card's validity period against today (site-local date).  Whether
 * its dates are real and in order the driver has said (idtext.h). */
static enum period card_period(int dates_ok, const char *from, const char *to,
                               const char *today)
{
    char t8[9];

    if (!dates_ok)
        return PERIOD_INVALID;
    snprintf(t8, sizeof(t8), "%.4s%.2s%.2s", today, today + 5, today + 8);
    if (strcmp(from, t8) > 0)
        return PERIOD_NOT_YET;
    if (strcmp(to, "长期") != 0 && strcmp(to, t8) < 0)
        return PERIOD_EXPIRED;
    return PERIOD_OK;
}

static void deny(struct decision *dc, const char *reason)
{
    dc->kind = "checkin.denied";
    dc->result = "denied";
    dc->reason = reason;
}

/* A present candidate scanned again: exit, re-entry or a duplicate. */
static void decide_again(struct decision *dc, const struct attendance *a,
                         const struct session_times *t, time_t now)
{
    const struct candidate *cand = dc->cand;
    time_t ft = (time_t)(sitetime_parse_utc(a->first_time) / 1000);
    char first[6];

    if (a->state == ATT_OUT) {
        dc->kind = "checkin.reentry";
        dc->result = "reentry";
        say(dc, "返回考场，座位 %s", "Welcome back: seat %s", cand->seat);
        return;
    }
    if (now >= t->start && now <= t->end) {
        dc->kind = "checkin.exit";
        dc->result = "exit";
        say(dc, "已登记暂时离场，返回时请再次验证",
            "Leaving recorded: check in again when you return%s", "");
        return;
    }
    sitetime_hhmm(ft, first);
    dc->kind = "checkin.duplicate";
    dc->result = "duplicate";
    snprintf(dc->when_buf, sizeof(dc->when_buf), "%s", a->first_time);
    dc->when = dc->when_buf;
    dc->two_doors =
        strcmp(a->first_device, dc->device ? dc->device : "") != 0 &&
        now - ft < TWO_DOORS_WINDOW_S;
    say(dc, "已于 %s 在 %s 检录，座位 %s",
        "Already checked in at %s at %s: seat %s", first,
        a->first_device[0] ? a->first_device : "manual", cand->seat);
}

/* The state and time rules for a known candidate, read inside the
 * transaction that will record the decision; fills dc.  0 or -1. */
static int decide(struct checkin *c, struct decision *dc,
                  const struct session_row *s, time_t now, enum period period,
                  struct err *e)
{
    struct store *st = c->env.store;
    const struct candidate *cand = dc->cand;
    struct session_times t;
    struct attendance a;
    char today[11], at[6];
    int sealed;

    session_times(s, &t);
    sitetime_date(now, today);
    if (cand->withdrawn) {
        deny(dc, "withdrawn");
        say(dc, "已取消报名，请到监考员处",
            "Registration withdrawn: see the invigilator%s", "");
        return 0;
    }
    if (period == PERIOD_EXPIRED) {
        deny(dc, "card_expired");
        say(dc, "证件已过有效期，请到监考员处人工核验",
            "ID card expired: please see the invigilator for manual review");
        return 0;
    }
    if (period != PERIOD_OK) {
        deny(dc, "card_invalid");
        say(dc, "证件有效期无效或尚未生效，请到监考员处人工核验",
            "ID card not valid today: please see the invigilator for manual "
            "review%s",
            "");
        return 0;
    }
    if (strcmp(s->date, today) != 0) {
        deny(dc, "wrong_day");
        sitetime_hhmm(t.start, at);
        dc->when = s->date;
        say(dc, "您的考试不在今天：%s %s", "Your exam is not today: %s at %s",
            s->date, at);
        return 0;
    }
    if (strcmp(cand->room, dc->room) != 0) {
        deny(dc, "wrong_room");
        dc->right_room = cand->room;
        say(dc, "考场错误，请到 %s 考场", "Wrong room: go to room %s",
            cand->room);
        return 0;
    }
    if ((sealed = attendance_sealed(st, s->code, cand->room, e)) != 0) {
        if (sealed == -1)
            return -1;
        deny(dc, "sealed");
        say(dc, "本考场本场次已封场",
            "This room's session is closed and sealed");
        return 0;
    }
    if (attendance_get(st, cand->ticket, s->code, &a, e) == -1)
        return -1;
    if (a.state == ATT_PRESENT || a.state == ATT_OUT) {
        decide_again(dc, &a, &t, now);
        return 0;
    }
    if (now < t.opens && a.state != ATT_ABSENT) {
        deny(dc, "too_early");
        sitetime_hhmm(t.opens, at);
        say(dc, "检录尚未开始，%s 开放", "Check-in opens at %s", at);
        return 0;
    }
    /* Marked absent: the record says the cut-off passed, whatever the
     * clock says now. */
    if (a.state == ATT_ABSENT || now > t.cutoff || now > t.end) {
        deny(dc, "closed");
        sitetime_hhmm(t.cutoff, at);
        say(dc, "检录已于 %s 截止", "Check-in closed at %s", at);
        return 0;
    }
    dc->kind = "checkin.accepted";
    dc->result = "accepted";
    dc->late = now >= t.start;
    if (dc->name_mismatch)
        say(dc, "通过，座位 %s（姓名与名单不符，请监考员核对）",
            "OK, seat %s (name differs from the roster: invigilator to check)",
            cand->seat);
    else if (dc->late)
        say(dc, "迟到入场，座位 %s", "Late: seat %s", cand->seat);
    else
        say(dc, "通过，座位 %s", "OK, seat %s", cand->seat);
    return 0;
}

static void not_on_roster(struct decision *dc)
{
    deny(dc, "not_on_roster");
    say(dc, "未在考生名单中，请到监考员处",
        "Not on the roster: please see the invigilator%s", "");
}

/* Decide (unless already decided) and record, inside the open
 * transaction.  0, or -1 with e. */
static int conclude(struct checkin *c, struct decision *dc, struct matches *m,
                    time_t now, enum period period, struct err *e)
{
    int rc;

    if (dc->reason == NULL) { /* not decided yet (a pair mismatch is) */
        if (m->n == 0 || (rc = choose(c, m, now, e)) == -1) {
            not_on_roster(dc);
        } else if (rc == -2) {
            return -1;
        } else {
            dc->cand = &m->c[0];
            if (decide(c, dc, &m->s, now, period, e) == -1)
                return -1;
        }
    }
    return record(c, dc, NULL, e);
}

/* --- id+ticket pairing ---------------------------------------------------- */

static void pending_clear(struct pending *p)
{
    if (p->timer != NULL)
        event_free(p->timer);
    memset(p, 0, sizeof(*p));
}

static struct input *enqueue(struct checkin *c, enum input_kind kind,
                             const char *device, const char *room);
static void submit(struct checkin *c);

/* A first half waited its window out: a pair_timeout decision, through
 * the queue like any input. */
static void pending_expire(struct pending *p)
{
    struct checkin *c = p->owner;
    struct input *in = enqueue(c, IN_PAIR_TIMEOUT, p->device, p->room);

    if (in != NULL) {
        snprintf(in->ticket, sizeof(in->ticket), "%s", p->ticket);
        in->held = p->factor;
    }
    pending_clear(p);
}

static void pending_expired_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pending *p = arg;
    struct checkin *c = p->owner;

    (void)fd;
    (void)what;
    pending_expire(p);
    submit(c);
}

static struct pending *pending_find(struct checkin *c, const char *room,
                                    enum factor other, const char *ticket)
{
    int i;

    for (i = 0; i < CHECKIN_MAX_PENDING; i++) {
        struct pending *p = &c->pend[i];
        if (p->used && p->factor == other && strcmp(p->room, room) == 0 &&
            (ticket == NULL || strcmp(p->ticket, ticket) == 0))
            return p;
    }
    return NULL;
}

/*
 * A free slot for a first half at device.  A door holds at most
 * CHECKIN_PENDING_PER_DOOR: past that its oldest times out now, so stray
 * scans at one door never make another door wait.
 */
static struct pending *pending_slot(struct checkin *c, const char *device)
{
    struct pending *oldest = NULL, *free_slot = NULL;
    int i, at_door = 0;

    for (i = 0; i < CHECKIN_MAX_PENDING; i++) {
        struct pending *p = &c->pend[i];
        if (!p->used) {
            if (free_slot == NULL)
                free_slot = p;
            continue;
        }
        if (strcmp(p->device, device) != 0)
            continue;
        at_door++;
        if (oldest == NULL || p->since_ms < oldest->since_ms)
            oldest = p;
    }
    if (at_door >= CHECKIN_PENDING_PER_DOOR) {
        pending_expire(oldest);
        return oldest;
    }
    return free_slot;
}

/* First half of a pair: hold it and tell the kiosk what is still needed. */
static void pending_add(struct checkin *c, const struct decision *dc,
                        enum factor f, const char *ticket, enum period period)
{
    struct timeval tv = {c->env.cfg->policy.pair_window_seconds, 0};
    struct pending *p = pending_slot(c, dc->device);

    if (p == NULL) { /* cannot happen: a slot per door is always there */
        notice(c, dc->room, "error", "请稍候再试", "Busy: try again");
        return;
    }
    p->owner = c;
    p->used = 1;
    p->factor = f;
    p->since_ms = clock_ms(c->env.clock);
    snprintf(p->room, sizeof(p->room), "%s", dc->room);
    snprintf(p->device, sizeof(p->device), "%s", dc->device);
    snprintf(p->ticket, sizeof(p->ticket), "%s", ticket);
    p->period = period;
    p->name_mismatch = dc->name_mismatch;
    p->timer = evtimer_new(c->env.base, pending_expired_cb, p);
    if (p->timer != NULL)
        evtimer_add(p->timer, &tv);
    if (f == FACTOR_CARD)
        notice(c, dc->room, "pending", "请扫描准考证条码",
               "Now scan your admission ticket");
    else
        notice(c, dc->room, "pending", "请将身份证放在读卡器上",
               "Now place your ID card on the reader");
}

/*
 * With policy id+ticket, one factor waits for the other.  Returns 1 when
 * the input was held (nothing to decide yet), 0 when the pair is complete
 * or a mismatch (dc then holds what to decide).
 */
static int pair(struct checkin *c, struct decision *dc, enum factor f,
                struct matches *m, enum period *period)
{
    enum factor other = f == FACTOR_CARD ? FACTOR_TICKET : FACTOR_CARD;
    struct pending *p;
    int i;

    for (i = 0; i < m->n; i++)
        if ((p = pending_find(c, dc->room, other, m->c[i].ticket)) != NULL) {
            m->c[0] = m->c[i];
            m->chosen = m->chosen && i == 0;
            m->n = 1;
            if (p->period != PERIOD_OK)
                *period = p->period;
            dc->name_mismatch |= p->name_mismatch;
            dc->via = "card+ticket";
            pending_clear(p);
            return 0;
        }
    if ((p = pending_find(c, dc->room, other, NULL)) != NULL) {
        pending_clear(p);
        deny(dc, "pair_mismatch");
        say(dc, "身份证与准考证不是同一考生",
            "ID card and admission ticket do not match%s", "");
        return 0;
    }
    if (m->n == 0)
        return 0; /* nobody to wait for: not on the roster */
    pending_add(c, dc, f, m->c[0].ticket, *period);
    return 1;
}

/* --- one input, inside one transaction ------------------------------------ */

enum { DECIDED = 0, LOCKED = 1 };

/* The candidates an input names; 0 or -1. */
static int lookup(struct checkin *c, struct input *in, struct matches *m,
                  struct decision *dc, enum period *period, time_t now,
                  struct err *e)
{
    struct store *st = c->env.store;
    char today[11];
    int rc;

    switch (in->kind) {
    case IN_CARD:
        sitetime_date(now, today);
        *period =
            card_period(in->dates_ok, in->valid_from, in->valid_to, today);
        if (in->have_hash &&
            candidate_find_by_hash(st, in->hash, collect, m, e) == -1)
            return -1;
        if (m->n > 0) {
            if ((rc = choose(c, m, now, e)) == -2)
                return -1;
            if (rc == 0)
                m->n = 1;
        }
        if (m->n == 1 && strcmp(m->c[0].name, in->name) != 0)
            dc->name_mismatch = 1;
        return 0;
    case IN_TICKET:
    case IN_PAIR_TIMEOUT:
        if ((rc = candidate_get(st, in->ticket, &m->c[0], e)) == -1)
            return -1;
        m->n = rc;
        return 0;
    case IN_ID_AS_TICKET:
        return 0;
    }
    return 0;
}

static int process(struct checkin *c, struct input *in, struct err *e)
{
    struct store *st = c->env.store;
    enum period period = PERIOD_OK;
    time_t now = (time_t)(in->at_ms / 1000);
    struct decision dc;
    struct matches m;
    int held = 0;

    if (store_begin(st, e) == -1)
        return e->code == EX_TEMPFAIL ? LOCKED : -1;
    memset(&dc, 0, sizeof(dc));
    memset(&m, 0, sizeof(m));
    dc.device = in->device;
    dc.room = in->room;
    dc.via = in->kind == IN_CARD ? "card" : "ticket";
    if (in->told)
        dc.presented_ms = in->at_ms;
    if (lookup(c, in, &m, &dc, &period, now, e) == -1) {
        store_rollback(st);
        return -1;
    }
    switch (in->kind) {
    case IN_PAIR_TIMEOUT:
        dc.via = in->held == FACTOR_CARD ? "card" : "ticket";
        if (m.n == 1)
            dc.cand = &m.c[0];
        deny(&dc, "pair_timeout");
        say(&dc, "超时：请在 %d 秒内同时验证身份证和准考证",
            "Timed out: show both ID card and admission ticket within %d "
            "seconds",
            c->env.cfg->policy.pair_window_seconds);
        break;
    case IN_ID_AS_TICKET:
        dc.ticket = in->ticket; /* masked when it came in */
        deny(&dc, "id_number_as_ticket");
        say(&dc, "这是身份证号码，请将身份证放在读卡器上",
            "That is an ID number, not a ticket: place the ID card on the "
            "reader%s",
            "");
        break;
    case IN_TICKET:
        dc.ticket = in->ticket;
        /* fall through */
    case IN_CARD:
        if (c->env.cfg->policy.mode == POLICY_ID_TICKET)
            held =
                pair(c, &dc, in->kind == IN_CARD ? FACTOR_CARD : FACTOR_TICKET,
                     &m, &period);
        break;
    }
    if (held) {
        store_rollback(st); /* nothing to record yet */
        return DECIDED;
    }
    if (conclude(c, &dc, &m, now, period, e) == -1)
        return e->code == EX_TEMPFAIL ? LOCKED : -1;
    return DECIDED;
}

/* --- the queue ------------------------------------------------------------ */

static size_t queued_at(const struct checkin *c, const char *device)
{
    size_t i, n = 0;

    for (i = 0; i < c->qlen; i++)
        if (strcmp(c->queue[(c->qhead + i) % CHECKIN_QUEUE_MAX].device,
                   device) == 0)
            n++;
    return n;
}

static struct input *enqueue(struct checkin *c, enum input_kind kind,
                             const char *device, const char *room)
{
    struct input *in;

    if (c->qlen == CHECKIN_QUEUE_MAX ||
        queued_at(c, device) >= CHECKIN_QUEUE_PER_DOOR) {
        log_warnx("%s: %zu inputs already wait for the database; one refused",
                  device, queued_at(c, device));
        notice(c, room, "error", "系统繁忙，请稍后再试",
               "The station is busy: try again in a moment");
        return NULL;
    }
    in = &c->queue[(c->qhead + c->qlen) % CHECKIN_QUEUE_MAX];
    memset(in, 0, sizeof(*in));
    in->kind = kind;
    snprintf(in->device, sizeof(in->device), "%s", device);
    snprintf(in->room, sizeof(in->room), "%s", room);
    in->at_ms = clock_ms(c->env.clock);
    c->qlen++;
    return in;
}

static void retry_in(struct checkin *c, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    evtimer_add(c->retry, &tv);
}

static void fault(struct checkin *c, const struct input *in,
                  const struct err *e)
{
    log_warnx("check-in at %s not recorded: %s", in->device, e->msg);
    notice(c, in->room, "error", "系统故障，请到监考员处",
           "System fault: please see the invigilator");
}

/* The input waits for the lock: its door says so, its record will say
 * when it was presented. */
static void tell_wait(struct checkin *c, struct input *in)
{
    if (in->told)
        return;
    in->told = 1;
    notice(c, in->room, "pending", "正在记录，请稍候",
           "Recording: one moment please");
}

/* Decide what is queued, in order, until the lock is taken by someone
 * else or this turn's share is done. */
static void drain(struct checkin *c)
{
    int n;

    for (n = 0; c->qlen > 0; n++) {
        struct input *in = &c->queue[c->qhead];
        struct err e;
        int rc;

        if (n == CHECKIN_DRAIN_PER_TURN) {
            retry_in(c, 0); /* the rest on the next turn of the loop */
            return;
        }
        err_clear(&e);
        if ((rc = process(c, in, &e)) == LOCKED) {
            if (c->busy_since_ms == 0) {
                c->busy_since_ms = clock_ms(c->env.clock);
                log_warnx("the database is locked by another process: "
                          "check-ins wait (%s)",
                          e.msg);
            }
            tell_wait(c, in);
            c->retry_ms = c->retry_ms == 0 ? CHECKIN_RETRY_MIN_MS
                          : c->retry_ms * 2 > CHECKIN_RETRY_MAX_MS
                              ? CHECKIN_RETRY_MAX_MS
                              : c->retry_ms * 2;
            retry_in(c, c->retry_ms);
            return;
        }
        if (rc == -1)
            fault(c, in, &e);
        explicit_bzero(in, sizeof(*in));
        c->qhead = (c->qhead + 1) % CHECKIN_QUEUE_MAX;
        c->qlen--;
        if (c->busy_since_ms != 0) {
            log_info("the database is free again after %lld ms",
                     (long long)(clock_ms(c->env.clock) - c->busy_since_ms));
            c->busy_since_ms = 0;
        }
        c->retry_ms = 0;
    }
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    drain(arg);
}

/* Decide now unless earlier inputs still wait for the lock. */
static void submit(struct checkin *c)
{
    if (!evtimer_pending(c->retry, NULL)) {
        drain(c);
        return;
    }
    if (c->busy_since_ms != 0 && c->qlen > 0)
        tell_wait(c, &c->queue[(c->qhead + c->qlen - 1) % CHECKIN_QUEUE_MAX]);
}

/*
 * A scanner that repeats a code, or a reader that reports the card lying
 * on it again, is one input: the same key at the same device within
 * CHECKIN_DEBOUNCE_MS of the last one (each repeat extends the window) is
 * counted, not decided again.  A card taken off the reader ends it.
 */
static int repeated(struct checkin *c, const char *device, const char *key)
{
    int64_t now = clock_ms(c->env.clock);
    struct last_input *l = NULL;
    size_t i;

    for (i = 0; i < CONFIG_MAX_DEVICES; i++)
        if (strcmp(c->last[i].device, device) == 0 ||
            c->last[i].device[0] == 0) {
            l = &c->last[i];
            break;
        }
    if (l == NULL)
        return 0;
    if (l->device[0] != '\0' && strcmp(l->key, key) == 0 &&
        now - l->at_ms >= 0 && now - l->at_ms < CHECKIN_DEBOUNCE_MS) {
        l->at_ms = now;
        l->repeats++;
        if (!l->in_burst++)
            log_info("%s: the same input repeated at once: repeats ignored",
                     device);
        return 1;
    }
    l->in_burst = 0;
    snprintf(l->device, sizeof(l->device), "%s", device);
    snprintf(l->key, sizeof(l->key), "%s", key);
    l->at_ms = now;
    return 0;
}

void checkin_card_removed(struct checkin *c, const char *device)
{
    size_t i;

    for (i = 0; i < CONFIG_MAX_DEVICES; i++)
        if (strcmp(c->last[i].device, device) == 0)
            c->last[i].key[0] = '\0';
}

unsigned long checkin_repeats(const struct checkin *c, const char *device)
{
    size_t i;

    for (i = 0; i < CONFIG_MAX_DEVICES; i++)
        if (strcmp(c->last[i].device, device) == 0)
            return c->last[i].repeats;
    return 0;
}

size_t checkin_queued(const struct checkin *c)
{
    return c->qlen;
}

/* --- entry points --------------------------------------------------------- */

void checkin_card(struct checkin *c, const char *device, const char *room,
                  const struct idcard_info *card)
{
    unsigned char hash[IDNUMBER_HASH_LEN];
    char key[IDNUMBER_HASH_HEX + 1];
    struct input *in;
    int have_hash;

    if (c->env.cfg->policy.mode == POLICY_TICKET) {
        notice(c, room, "hint", "请扫描准考证条码",
               "Please scan your admission ticket");
        return;
    }
    have_hash = card->type != IDCARD_FOREIGNER &&
                idhasher_hash_raw(c->hasher, card->id_number, hash) == 0;
    if (!have_hash)
        memset(hash, 0, sizeof(hash));
    hex_encode(hash, sizeof(hash), key);
    if (have_hash && repeated(c, device, key)) {
        explicit_bzero(hash, sizeof(hash));
        return;
    }
    if ((in = enqueue(c, IN_CARD, device, room)) != NULL) {
        in->have_hash = have_hash;
        memcpy(in->hash, hash, sizeof(hash));
        snprintf(in->name, sizeof(in->name), "%s", card->name);
        snprintf(in->valid_from, sizeof(in->valid_from), "%s",
                 card->valid_from);
        snprintf(in->valid_to, sizeof(in->valid_to), "%s", card->valid_to);
        in->dates_ok = card->period == IDCARD_PERIOD_OK;
    }
    explicit_bzero(hash, sizeof(hash));
    explicit_bzero(key, sizeof(key));
    submit(c);
}

void checkin_code(struct checkin *c, const char *device, const char *room,
                  const char *code, size_t len)
{
    char ticket[ROSTER_TICKET_MAX + 1];
    enum input_kind kind = IN_TICKET;
    struct input *in;

    if (len > ROSTER_TICKET_MAX || len != strlen(code)) {
        notice(c, room, "error", "无法识别的条码，请重新扫描",
               "Unreadable code: please scan again");
        log_info("%s: code ignored: not a ticket number (%zu bytes)", device,
                 len);
        return;
    }
    snprintf(ticket, sizeof(ticket), "%s", code);
    /* A resident ID number scanned or typed as a ticket is never stored,
     * shown or logged whole. */
    if (idnumber_redact(ticket))
        kind = IN_ID_AS_TICKET;
    else if (!site_ident_valid(ticket, ROSTER_TICKET_MAX)) {
        notice(c, room, "error", "无法识别的条码，请重新扫描",
               "Unreadable code: please scan again");
        log_info("%s: code ignored: not a ticket number (%zu bytes)", device,
                 len);
        return;
    }
    if (c->env.cfg->policy.mode == POLICY_ID && kind == IN_TICKET) {
        notice(c, room, "hint", "请将身份证放在读卡器上",
               "Please place your ID card on the reader");
        return;
    }
    if (repeated(c, device, ticket))
        return;
    if ((in = enqueue(c, kind, device, room)) != NULL)
        snprintf(in->ticket, sizeof(in->ticket), "%s", ticket);
    submit(c);
}

/* The checks of a manual check-in, inside its transaction; fills dc. */
static int manual_checks(struct checkin *c, struct decision *dc,
                         struct candidate *cand, time_t now, struct err *e)
{
    struct store *st = c->env.store;
    struct session_row s;
    struct session_times t;
    struct attendance a;
    char today[11], at[6], first[6];
    int rc;

    if (cand->withdrawn)
        return err_set(e, EX_DATAERR,
                       "ticket %s was withdrawn from the roster (see "
                       "'examctl roster show')",
                       cand->ticket);
    if ((rc = session_get(st, cand->session, &s, e)) != 1)
        return rc == -1 ? -1
                        : err_set(e, EX_SOFTWARE,
                                  "session %s of ticket %s is missing",
                                  cand->session, cand->ticket);
    session_times(&s, &t);
    sitetime_date(now, today);
    if (strcmp(s.date, today) != 0)
        return err_set(e, EX_DATAERR, "session %s is on %s, not today", s.code,
                       s.date);
    if (now < t.opens) {
        sitetime_hhmm(t.opens, at);
        return err_set(e, EX_DATAERR, "check-in for %s opens at %s", s.code,
                       at);
    }
    if (now > t.end)
        return err_set(e, EX_DATAERR, "session %s has ended", s.code);
    if ((rc = attendance_sealed(st, s.code, cand->room, e)) != 0)
        return rc == -1
                   ? -1
                   : err_set(e, EX_DATAERR, "session %s in room %s is sealed",
                             s.code, cand->room);
    if (attendance_get(st, cand->ticket, s.code, &a, e) == -1)
        return -1;
    if (a.state == ATT_PRESENT || a.state == ATT_OUT) {
        sitetime_hhmm((time_t)(sitetime_parse_utc(a.first_time) / 1000), first);
        return err_set(e, EX_DATAERR, "ticket %s is already checked in (%s)",
                       cand->ticket, first);
    }
    dc->late = now >= t.start;
    /* after the cut-off, by the clock or by the record */
    dc->override = now > t.cutoff || a.state == ATT_ABSENT;
    return 0;
}

int checkin_manual(struct checkin *c, const char *ticket,
                   const char *operator_name, const char *reason,
                   const struct checkin_account *who, json_t **result,
                   struct err *e)
{
    struct store *st = c->env.store;
    time_t now = clock_s(c->env.clock);
    struct decision dc;
    struct candidate cand;
    int rc;

    if (reason == NULL || *reason == '\0' || operator_name == NULL ||
        *operator_name == '\0')
        return err_set(e, EX_USAGE,
                       "a manual check-in needs an operator and a reason");
    if (store_begin(st, e) == -1) {
        if (e->code == EX_TEMPFAIL)
            err_set(e, EX_TEMPFAIL,
                    "the database is locked by another process: nothing "
                    "recorded, try again");
        return -1;
    }
    if ((rc = candidate_get(st, ticket, &cand, e)) != 1) {
        store_rollback(st);
        return rc == -1 ? -1
                        : err_set(e, EX_DATAERR,
                                  "ticket %s is not on the roster", ticket);
    }
    memset(&dc, 0, sizeof(dc));
    if (manual_checks(c, &dc, &cand, now, e) == -1) {
        store_rollback(st);
        return -1;
    }
    dc.kind = "checkin.manual";
    dc.result = "accepted";
    dc.via = "manual";
    dc.cand = &cand;
    dc.room = cand.room;
    dc.operator_name = operator_name;
    dc.note = reason;
    dc.who = who;
    if (dc.override)
        say(&dc, "人工检录（迟到特许），座位 %s",
            "Manual check-in (late cut-off overridden): seat %s", cand.seat);
    else
        say(&dc, "人工检录，座位 %s", "Manual check-in: seat %s", cand.seat);
    return record(c, &dc, result, e);
}

struct checkin *checkin_new(const struct checkin_env *env,
                            const unsigned char *key, size_t keylen,
                            struct err *e)
{
    struct checkin *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        err_errno(e, EX_OSERR, "checkin");
        return NULL;
    }
    c->env = *env;
    if ((c->hasher = idhasher_new(key, keylen)) == NULL ||
        (c->retry = evtimer_new(env->base, retry_cb, c)) == NULL) {
        checkin_free(c);
        err_set(e, EX_SOFTWARE, "cannot set up the check-in rules");
        return NULL;
    }
    return c;
}

void checkin_reset(struct checkin *c)
{
    int i;

    for (i = 0; i < CHECKIN_MAX_PENDING; i++)
        if (c->pend[i].used)
            pending_clear(&c->pend[i]);
}

void checkin_free(struct checkin *c)
{
    if (c == NULL)
        return;
    checkin_reset(c);
    if (c->retry != NULL)
        event_free(c->retry);
    idhasher_free(c->hasher);
    explicit_bzero(c->queue, sizeof(c->queue));
    free(c);
}
