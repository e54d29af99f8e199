/*
 * checkin.c: from a card read or a ticket scan to a committed decision.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attendance.h"
#include "checkin.h"
#include "daemon.h"
#include "event.h"
#include "idnumber.h"
#include "idtext.h"
#include "log.h"
#include "roster.h"
#include "session.h"
#include "site.h"
#include "store.h"

#define CHECKIN_MAX_PENDING 32
#define CHECKIN_MAX_MATCHES 16
#define TWO_DOORS_WINDOW_S  (10 * 60)

enum factor { FACTOR_CARD = 1, FACTOR_TICKET = 2 };

/* The first half of an id+ticket pair, waiting for the other. */
struct pending {
    struct checkin *owner;
    int used;
    enum factor factor;
    char room[ROSTER_ROOM_MAX + 1];
    char device[64];
    char ticket[ROSTER_TICKET_MAX + 1];
    int card_expired;
    int name_mismatch;
    struct event *timer;
};

struct checkin {
    struct daemon *d;
    struct idhasher *hasher; /* keyed with the site secret */
    struct pending pend[CHECKIN_MAX_PENDING];
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
    int late, override, name_mismatch, two_doors;
    const char *right_room, *when;
    char when_buf[SITETIME_ISO_MAX]; /* when points here for duplicates */
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

/*
 * Commit the decision (and its late incident) and only then publish.
 * Returns 0, or -1 when nothing could be committed: then nothing is shown
 * as decided.
 */
static int record(struct checkin *c, struct decision *dc, json_t **out,
                  struct err *e)
{
    struct daemon *d = c->d;
    int late_incident = dc->late && strcmp(dc->kind, "checkin.denied") != 0;
    char *p1 = dump(decision_payload(dc)), *p2 = NULL;
    struct event ev, inc;
    int rc = -1;

    memset(&ev, 0, sizeof(ev));
    memset(&inc, 0, sizeof(inc));
    if (p1 == NULL) {
        err_set(e, EX_OSERR, "out of memory");
        goto out;
    }
    ev.kind = dc->kind;
    ev.session = dc->cand ? dc->cand->session : NULL;
    ev.room = dc->room;
    ev.ticket = dc->cand ? dc->cand->ticket : dc->ticket;
    ev.device = dc->device;
    ev.operator_name = dc->operator_name;
    ev.payload = p1;
    if (store_begin(d->store, e) == -1)
        goto out;
    if (event_append(d->store, &ev, e) == -1)
        goto rollback;
    if (late_incident) {
        p2 = dump(json_pack("{s:s, s:s, s:I, s:s}", "kind", "late", "seat",
                            dc->cand->seat, "checkin_event", (json_int_t)ev.id,
                            "note", "automatic: checked in after the start"));
        inc.kind = "incident.logged";
        inc.session = ev.session;
        inc.room = dc->cand->room;
        inc.ticket = ev.ticket;
        inc.device = dc->device;
        inc.operator_name = dc->operator_name;
        inc.payload = p2;
        if (p2 == NULL || event_append(d->store, &inc, e) == -1)
            goto rollback;
    }
    if (store_commit(d->store, e) == -1)
        goto out;
    d->decisions++;
    daemon_published(d, &ev);
    if (late_incident)
        daemon_published(d, &inc);
    if (out != NULL)
        *out = event_to_json(&ev);
    rc = 0;
    goto out;
rollback:
    store_rollback(d->store);
out:
    if (rc == -1)
        log_warnx("check-in at %s not recorded: %s",
                  dc->device ? dc->device : "-", e->msg);
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
 * else the nearest other day (for the "wrong day" answer).
 */
static int choose(struct daemon *d, struct matches *m, time_t now,
                  struct session_row *out_s, struct err *e)
{
    char today[11];
    int i, best = -1, score, best_score = -1;
    struct session_row s;
    struct session_times t;

    if (m->chosen) { /* already chosen for this input: no second look-up */
        *out_s = m->s;
        return 0;
    }
    sitetime_today(today);
    for (i = 0; i < m->n; i++) {
        if (session_get(d->store, m->c[i].session, &s, e) != 1)
            continue;
        session_times(&s, &t);
        if (strcmp(s.date, today) == 0)
            score = now >= t.opens && now <= t.end ? 4 : now < t.opens ? 3 : 2;
        else
            score = strcmp(s.date, today) > 0 ? 1 : 0;
        if (score > best_score) {
            best_score = score;
            best = i;
            *out_s = s;
        }
    }
    if (best > 0)
        m->c[0] = m->c[best];
    if (best >= 0) {
        m->chosen = 1;
        m->s = *out_s;
    }
    return best;
}

/* --- the rules
 * ---------------------------------------------------------------- */

static void hhmm(time_t t, char out[6])
{
    struct tm tm;

    localtime_r(&t, &tm);
    strftime(out, 6, "%H:%M", &tm);
}

static int card_expired(const struct idcard_info *card)
{
    char today[11], t8[9];

    if (card == NULL || strcmp(card->valid_to, "长期") == 0)
        return 0;
    sitetime_today(today);
    snprintf(t8, sizeof(t8), "%.4s%.2s%.2s", today, today + 5, today + 8);
    return strlen(card->valid_to) == 8 && strcmp(card->valid_to, t8) < 0;
}

static void deny(struct decision *dc, const char *reason)
{
    dc->kind = "checkin.denied";
    dc->result = "denied";
    dc->reason = reason;
}

/* The state and time rules for a known candidate; fills dc. */
static int decide(struct checkin *c, struct decision *dc,
                  const struct session_row *s, time_t now, int expired,
                  struct err *e)
{
    struct daemon *d = c->d;
    const struct candidate *cand = dc->cand;
    struct session_times t;
    struct attendance a;
    char today[11], at[6], first[6];
    int sealed;
    time_t ft;

    session_times(s, &t);
    sitetime_today(today);
    if (expired) {
        deny(dc, "card_expired");
        say(dc, "证件已过有效期，请到监考员处人工核验",
            "ID card expired: please see the invigilator for manual review");
        return 0;
    }
    if (strcmp(s->date, today) != 0) {
        deny(dc, "wrong_day");
        hhmm(t.start, at);
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
    if ((sealed = attendance_sealed(d->store, s->code, cand->room, e)) != 0) {
        if (sealed == -1)
            return -1;
        deny(dc, "sealed");
        say(dc, "本考场本场次已封场",
            "This room's session is closed and sealed");
        return 0;
    }
    if (attendance_get(d->store, cand->ticket, s->code, &a, e) == -1)
        return -1;
    if (a.state == ATT_PRESENT || a.state == ATT_OUT) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        strptime(a.first_time, "%Y-%m-%dT%H:%M:%S", &tm);
        ft = timegm(&tm);
        hhmm(ft, first);
        if (a.state == ATT_OUT) {
            dc->kind = "checkin.reentry";
            dc->result = "reentry";
            say(dc, "返回考场，座位 %s", "Welcome back: seat %s", cand->seat);
            return 0;
        }
        if (now >= t.start && now <= t.end) {
            dc->kind = "checkin.exit";
            dc->result = "exit";
            say(dc, "已登记暂时离场，返回时请再次验证",
                "Leaving recorded: check in again when you return%s", "");
            return 0;
        }
        dc->kind = "checkin.duplicate";
        dc->result = "duplicate";
        /* a is gone by the time the decision is recorded: copy */
        snprintf(dc->when_buf, sizeof(dc->when_buf), "%s", a.first_time);
        dc->when = dc->when_buf;
        dc->two_doors =
            strcmp(a.first_device, dc->device ? dc->device : "") != 0 &&
            now - ft < TWO_DOORS_WINDOW_S;
        say(dc, "已于 %s 在 %s 检录，座位 %s",
            "Already checked in at %s at %s: seat %s", first,
            a.first_device[0] ? a.first_device : "manual", cand->seat);
        return 0;
    }
    if (now < t.opens) {
        deny(dc, "too_early");
        hhmm(t.opens, at);
        say(dc, "检录尚未开始，%s 开放", "Check-in opens at %s", at);
        return 0;
    }
    if (now > t.cutoff || now > t.end) {
        deny(dc, "closed");
        hhmm(t.cutoff, at);
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

/* Look up, decide, record.  matches holds the candidate(s) or none; a
 * decision already made (dc->reason set) is only recorded. */
static void conclude(struct checkin *c, struct decision *dc, struct matches *m,
                     int expired)
{
    struct session_row s;
    struct err e;
    time_t now = time(NULL);

    err_clear(&e);
    if (dc->reason != NULL) {
        /* already decided (an id+ticket pair that does not match) */
    } else if (m->n == 0 || choose(c->d, m, now, &s, &e) < 0) {
        if (e.code != 0)
            goto fail;
        deny(dc, "not_on_roster");
        say(dc, "未在考生名单中，请到监考员处",
            "Not on the roster: please see the invigilator%s", "");
    } else {
        dc->cand = &m->c[0];
        if (decide(c, dc, &s, now, expired, &e) == -1)
            goto fail;
    }
    if (record(c, dc, NULL, &e) == 0)
        return;
fail:
    log_warnx("check-in at %s failed: %s", dc->device, e.msg);
    daemon_notice(c->d, dc->room, "error", "系统故障，请到监考员处",
                  "System fault: please see the invigilator");
}

/* --- id+ticket pairing ---------------------------------------------------- */

static void pending_clear(struct pending *p)
{
    if (p->timer != NULL)
        event_free(p->timer);
    memset(p, 0, sizeof(*p));
}

static void pending_expired_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pending *p = arg;
    struct checkin *c = p->owner;
    struct decision dc;
    struct matches m;
    struct err e;
    char room[ROSTER_ROOM_MAX + 1], device[64];

    (void)fd;
    (void)what;
    memset(&dc, 0, sizeof(dc));
    memset(&m, 0, sizeof(m));
    /* copies: p is cleared before the decision is recorded */
    snprintf(room, sizeof(room), "%s", p->room);
    snprintf(device, sizeof(device), "%s", p->device);
    dc.device = device;
    dc.room = room;
    dc.via = p->factor == FACTOR_CARD ? "card" : "ticket";
    if (candidate_get(c->d->store, p->ticket, &m.c[0], &e) == 1) {
        m.n = 1;
        dc.cand = &m.c[0];
    }
    deny(&dc, "pair_timeout");
    say(&dc, "超时：请在 %d 秒内同时验证身份证和准考证",
        "Timed out: show both ID card and admission ticket within %d seconds",
        c->d->cfg.policy.pair_window_seconds);
    pending_clear(p);
    record(c, &dc, NULL, &e);
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

/* First half of a pair: hold it and tell the kiosk what is still needed. */
static void pending_add(struct checkin *c, const struct decision *dc,
                        enum factor f, const char *ticket, int expired)
{
    struct timeval tv = {c->d->cfg.policy.pair_window_seconds, 0};
    struct pending *p = NULL;
    int i;

    for (i = 0; i < CHECKIN_MAX_PENDING && p == NULL; i++)
        if (!c->pend[i].used)
            p = &c->pend[i];
    if (p == NULL) {
        daemon_notice(c->d, dc->room, "error", "请稍候再试", "Busy: try again");
        return;
    }
    p->owner = c;
    p->used = 1;
    p->factor = f;
    snprintf(p->room, sizeof(p->room), "%s", dc->room);
    snprintf(p->device, sizeof(p->device), "%s", dc->device);
    snprintf(p->ticket, sizeof(p->ticket), "%s", ticket);
    p->card_expired = expired;
    p->name_mismatch = dc->name_mismatch;
    p->timer = evtimer_new(c->d->base, pending_expired_cb, p);
    if (p->timer != NULL)
        evtimer_add(p->timer, &tv);
    if (f == FACTOR_CARD)
        daemon_notice(c->d, dc->room, "pending", "请扫描准考证条码",
                      "Now scan your admission ticket");
    else
        daemon_notice(c->d, dc->room, "pending", "请将身份证放在读卡器上",
                      "Now place your ID card on the reader");
}

/*
 * With policy id+ticket, one factor waits for the other.  Returns 1 when the
 * input was held (nothing to decide yet), 0 when the pair is complete or a
 * mismatch (dc then holds what to decide), -1 when no candidate was found.
 */
static int pair(struct checkin *c, struct decision *dc, enum factor f,
                struct matches *m, int *expired)
{
    enum factor other = f == FACTOR_CARD ? FACTOR_TICKET : FACTOR_CARD;
    struct pending *p;
    int i;

    for (i = 0; i < m->n; i++)
        if ((p = pending_find(c, dc->room, other, m->c[i].ticket)) != NULL) {
            m->c[0] = m->c[i];
            m->chosen = m->chosen && i == 0;
            m->n = 1;
            *expired |= p->card_expired;
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
        return -1;
    pending_add(c, dc, f, m->c[0].ticket, *expired);
    return 1;
}

/* A card or a ticket, its candidates found: pair it if the policy wants
 * both, then decide and record (unless it waits for its other half). */
static void settle(struct checkin *c, struct decision *dc, enum factor f,
                   struct matches *m, int expired)
{
    if (c->d->cfg.policy.mode == POLICY_ID_TICKET &&
        pair(c, dc, f, m, &expired) == 1)
        return;
    conclude(c, dc, m, expired);
}

/* --- entry points ------------------------------------------------------------
 */

void checkin_card(struct checkin *c, const char *device, const char *room,
                  const struct idcard_info *card)
{
    unsigned char hash[IDNUMBER_HASH_LEN];
    struct decision dc;
    struct matches m;
    struct err e;
    int expired = card_expired(card);

    memset(&dc, 0, sizeof(dc));
    memset(&m, 0, sizeof(m));
    dc.device = device;
    dc.room = room;
    dc.via = "card";
    if (c->d->cfg.policy.mode == POLICY_TICKET) {
        daemon_notice(c->d, room, "hint", "请扫描准考证条码",
                      "Please scan your admission ticket");
        return;
    }
    if (card->type == IDCARD_FOREIGNER ||
        idhasher_hash_raw(c->hasher, card->id_number, hash) == -1) {
        m.n = 0;
    } else if (candidate_find_by_hash(c->d->store, hash, collect, &m, &e) ==
               -1) {
        log_warnx("check-in at %s: %s", device, e.msg);
        daemon_notice(c->d, room, "error", "系统故障，请到监考员处",
                      "System fault: please see the invigilator");
        return;
    }
    if (m.n > 0) {
        struct session_row s;
        if (choose(c->d, &m, time(NULL), &s, &e) >= 0)
            m.n = 1;
    }
    if (m.n == 1 && strcmp(m.c[0].name, card->name) != 0)
        dc.name_mismatch = 1;
    settle(c, &dc, FACTOR_CARD, &m, expired);
}

void checkin_code(struct checkin *c, const char *device, const char *room,
                  const char *code, size_t len)
{
    char ticket[ROSTER_TICKET_MAX + 1];
    struct decision dc;
    struct matches m;
    struct err e;
    int expired = 0, rc;

    memset(&dc, 0, sizeof(dc));
    memset(&m, 0, sizeof(m));
    dc.device = device;
    dc.room = room;
    dc.via = "ticket";
    if (len > ROSTER_TICKET_MAX || len != strlen(code) ||
        !site_ident_valid(code, ROSTER_TICKET_MAX)) {
        daemon_notice(c->d, room, "error", "无法识别的条码",
                      "Unreadable code: not an admission ticket");
        log_info("%s: code ignored: not a ticket number (%zu bytes)", device,
                 len);
        return;
    }
    snprintf(ticket, sizeof(ticket), "%s", code);
    if (c->d->cfg.policy.mode == POLICY_ID) {
        daemon_notice(c->d, room, "hint", "请将身份证放在读卡器上",
                      "Please place your ID card on the reader");
        return;
    }
    dc.ticket = ticket;
    if ((rc = candidate_get(c->d->store, ticket, &m.c[0], &e)) == -1) {
        log_warnx("check-in at %s: %s", device, e.msg);
        daemon_notice(c->d, room, "error", "系统故障，请到监考员处",
                      "System fault: please see the invigilator");
        return;
    }
    m.n = rc;
    settle(c, &dc, FACTOR_TICKET, &m, expired);
}

int checkin_manual(struct checkin *c, const char *ticket,
                   const char *operator_name, const char *reason,
                   json_t **result, struct err *e)
{
    struct session_row s;
    struct session_times t;
    struct attendance a;
    struct decision dc;
    struct candidate cand;
    char today[11], at[6];
    time_t now = time(NULL);
    int rc;

    if (reason == NULL || *reason == '\0' || operator_name == NULL ||
        *operator_name == '\0')
        return err_set(e, EX_USAGE,
                       "a manual check-in needs an operator and a reason");
    if ((rc = candidate_get(c->d->store, ticket, &cand, e)) != 1)
        return rc == -1 ? -1
                        : err_set(e, EX_DATAERR,
                                  "ticket %s is not on the roster", ticket);
    if (session_get(c->d->store, cand.session, &s, e) != 1)
        return err_set(e, EX_SOFTWARE, "session %s of ticket %s is missing",
                       cand.session, ticket);
    session_times(&s, &t);
    sitetime_today(today);
    if (strcmp(s.date, today) != 0)
        return err_set(e, EX_DATAERR, "session %s is on %s, not today", s.code,
                       s.date);
    if (now < t.opens) {
        hhmm(t.opens, at);
        return err_set(e, EX_DATAERR, "check-in for %s opens at %s", s.code,
                       at);
    }
    if (now > t.end)
        return err_set(e, EX_DATAERR, "session %s has ended", s.code);
    if ((rc = attendance_sealed(c->d->store, s.code, cand.room, e)) != 0)
        return rc == -1
                   ? -1
                   : err_set(e, EX_DATAERR, "session %s in room %s is sealed",
                             s.code, cand.room);
    if (attendance_get(c->d->store, ticket, s.code, &a, e) == -1)
        return -1;
    if (a.state == ATT_PRESENT || a.state == ATT_OUT)
        return err_set(e, EX_DATAERR, "ticket %s is already checked in (%s)",
                       ticket, a.first_time);
    memset(&dc, 0, sizeof(dc));
    dc.kind = "checkin.manual";
    dc.result = "accepted";
    dc.via = "manual";
    dc.cand = &cand;
    dc.room = cand.room;
    dc.operator_name = operator_name;
    dc.note = reason;
    dc.late = now >= t.start;
    dc.override = now > t.cutoff;
    if (dc.override)
        say(&dc, "人工检录（迟到特许），座位 %s",
            "Manual check-in (late cut-off overridden): seat %s", cand.seat);
    else
        say(&dc, "人工检录，座位 %s", "Manual check-in: seat %s", cand.seat);
    return record(c, &dc, result, e);
}

struct checkin *checkin_new(struct daemon *d, struct err *e)
{
    struct checkin *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        err_errno(e, EX_OSERR, "checkin");
        return NULL;
    }
    c->d = d;
    if ((c->hasher = idhasher_new(d->secret.key, sizeof(d->secret.key))) ==
        NULL) {
        free(c);
        err_set(e, EX_SOFTWARE, "cannot set up the ID-number hash");
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
    idhasher_free(c->hasher);
    free(c);
}
