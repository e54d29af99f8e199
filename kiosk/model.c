/*
 * model.c: the kiosk's state and how each message changes it (model.h).
 * The panel's headline for each refusal reason is the kiosk's own, in
 * Chinese and English; the detail line is the daemon's message_zh/en,
 * which carries the times and rooms of that decision.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "sitetime.h"

struct reason {
    const char *code, *zh, *en;
};

/* Every reason examsited gives (docs/control-protocol.md, The event
 * object), and those it may give tomorrow fall back to the last line. */
static const struct reason reasons[] = {
    {"wrong_room", "考场错误", "Wrong room"},
    {"not_on_roster", "名单中没有您", "Not on the roster"},
    {"too_early", "检录尚未开始", "Check-in has not opened yet"},
    {"closed", "检录已截止", "Check-in is closed"},
    {"wrong_day", "考试不在今天", "Your exam is not today"},
    {"card_expired", "身份证已过期", "ID card expired"},
    {"card_invalid", "身份证有效期无效", "ID card not valid today"},
    {"sealed", "本场已封场", "This session is sealed"},
    {"pair_mismatch", "身份证与准考证不符", "ID card and ticket do not match"},
    {"pair_timeout", "未及时扫描准考证", "The ticket did not follow in time"},
    {"id_number_as_ticket", "请扫描准考证，不要用身份证号",
     "Scan the admission ticket, not the ID number"},
    {"withdrawn", "报名已撤销", "Registration withdrawn"},
    {NULL, "请到监考员处", "Please see the invigilator"},
};

/* Copy src into dst (size n), cut on a UTF-8 boundary. */
static void scopy(char *dst, size_t n, const char *src)
{
    size_t len = strlen(src);

    if (n == 0)
        return;
    if (len >= n) {
        len = n - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

int model_init(struct model *m, const char *room)
{
    memset(m, 0, sizeof(*m));
    scopy(m->room, sizeof(m->room), room);
    m->seats = calloc(MODEL_SEATS_MAX, sizeof(*m->seats));
    if (m->seats == NULL)
        return -1;
    snprintf(m->offline_why, sizeof(m->offline_why), "connecting");
    m->panel.kind = PANEL_OFFLINE;
    return 0;
}

void model_free(struct model *m)
{
    if (m == NULL)
        return;
    free(m->seats);
    m->seats = NULL;
}

void model_copy(char *dst, size_t n, const json_t *v)
{
    const unsigned char *s;
    size_t i = 0, o = 0, len, clen;

    if (n == 0)
        return;
    dst[0] = '\0';
    if (!json_is_string(v))
        return;
    s = (const unsigned char *)json_string_value(v);
    len = json_string_length(v);
    while (i < len) {
        unsigned char c = s[i];
        clen = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        if (i + clen > len)
            break;
        if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xc0)) {
            i++; /* control characters (and stray bytes) are dropped */
            continue;
        }
        /* C1 controls (U+0080..U+009F) are two bytes: c2 80..c2 9f */
        if (c == 0xc2 && s[i + 1] < 0xa0) {
            i += 2;
            continue;
        }
        if (o + clen >= n)
            break;
        memcpy(dst + o, s + i, clen);
        o += clen;
        i += clen;
    }
    dst[o] = '\0';
}

static void copy_key(char *dst, size_t n, json_t *obj, const char *key)
{
    model_copy(dst, n, json_object_get(obj, key));
}

/* A UTC ISO time ("2026-12-05T01:02:03.456Z") in the site's zone, as
 * strftime's fmt; 0, or -1 when it is not one. */
static int local_time(const char *iso, const char *fmt, char *out, size_t n)
{
    int64_t ms = sitetime_parse_utc(iso);

    return ms == 0 ? -1 : sitetime_format_local(ms, fmt, out, n);
}

/* Site-local "HH:MM" of a UTC ISO time, "--:--" when it is not one. */
static void local_hhmm(const char *iso, char out[6])
{
    if (local_time(iso, "%H:%M", out, 6) == -1)
        snprintf(out, 6, "--:--");
}

static int json_truthy(json_t *v)
{
    return json_is_true(v) || (json_is_integer(v) && json_integer_value(v));
}

static void recount(struct model *m)
{
    size_t i;

    m->expected = (int)m->nseats;
    m->present = m->late = m->absent = 0;
    for (i = 0; i < m->nseats; i++) {
        const struct model_seat *s = &m->seats[i];
        if (s->state == SEAT_PRESENT || s->state == SEAT_OUT) {
            m->present++;
            m->late += s->late;
        } else if (s->state == SEAT_ABSENT) {
            m->absent++;
        }
    }
}

static int count_of(json_t *counts, const char *key)
{
    json_t *v = json_object_get(counts, key);
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;

    return n < 0 ? 0 : n > 1000000 ? 1000000 : (int)n;
}

int model_load_state(struct model *m, json_t *st)
{
    json_t *sess, *seats, *recent, *devs, *v, *counts;
    size_t i;

    if (!json_is_object(st) || !json_is_array(json_object_get(st, "seats")))
        return -1;
    copy_key(m->site, sizeof(m->site), st, "site");
    copy_key(m->site_name, sizeof(m->site_name), st, "site_name");
    copy_key(m->station, sizeof(m->station), st, "station");
    copy_key(m->timezone, sizeof(m->timezone), st, "timezone");
    copy_key(m->policy, sizeof(m->policy), st, "policy");
    /* the daemon says when in UTC; the door shows the site's time, with
     * the day, since the last sync is often the night before */
    copy_key(m->last_sync, sizeof(m->last_sync), st, "last_sync");
    if (m->last_sync[0] != '\0' &&
        local_time(m->last_sync, "%m-%d %H:%M", m->last_sync,
                   sizeof(m->last_sync)) == -1)
        m->last_sync[0] = '\0';
    sess = json_object_get(st, "session");
    memset(&m->session, 0, sizeof(m->session));
    if (json_is_object(sess)) {
        m->session.have = 1;
        copy_key(m->session.code, sizeof(m->session.code), sess, "code");
        copy_key(m->session.certificate, sizeof(m->session.certificate), sess,
                 "certificate");
        copy_key(m->session.level, sizeof(m->session.level), sess, "level");
        copy_key(m->session.date, sizeof(m->session.date), sess, "date");
        copy_key(m->session.opens, sizeof(m->session.opens), sess, "opens");
        copy_key(m->session.start, sizeof(m->session.start), sess, "start");
        copy_key(m->session.cutoff, sizeof(m->session.cutoff), sess, "cutoff");
        copy_key(m->session.end, sizeof(m->session.end), sess, "end");
        copy_key(m->session.state, sizeof(m->session.state), sess, "state");
        m->session.sealed = json_is_true(json_object_get(sess, "sealed"));
    }
    seats = json_object_get(st, "seats");
    m->nseats = 0;
    json_array_foreach(seats, i, v)
    {
        struct model_seat *s;
        const char *state;

        if (m->nseats == MODEL_SEATS_MAX)
            break;
        if (!json_is_object(v))
            continue;
        s = &m->seats[m->nseats++];
        memset(s, 0, sizeof(*s));
        copy_key(s->seat, sizeof(s->seat), v, "seat");
        copy_key(s->name, sizeof(s->name), v, "name");
        copy_key(s->ticket, sizeof(s->ticket), v, "ticket");
        state = json_string_value(json_object_get(v, "state"));
        s->state = state == NULL                   ? SEAT_NONE
                   : strcmp(state, "present") == 0 ? SEAT_PRESENT
                   : strcmp(state, "out") == 0     ? SEAT_OUT
                   : strcmp(state, "absent") == 0  ? SEAT_ABSENT
                                                   : SEAT_NONE;
        s->late = json_truthy(json_object_get(v, "late"));
    }
    recount(m);
    /* The daemon's counts stand when the seats were cut short. */
    counts = json_object_get(st, "counts");
    if (json_is_true(json_object_get(st, "seats_truncated")) &&
        json_is_object(counts)) {
        m->expected = count_of(counts, "expected");
        m->present = count_of(counts, "present");
        m->late = count_of(counts, "late");
        m->absent = count_of(counts, "absent");
    }
    recent = json_object_get(st, "recent");
    m->nrecent = 0;
    json_array_foreach(recent, i, v)
    {
        struct model_recent *r;
        json_t *id = json_object_get(v, "id");
        char iso[40];

        if (m->nrecent == MODEL_RECENT)
            break;
        if (!json_is_object(v))
            continue;
        r = &m->recent[m->nrecent++];
        memset(r, 0, sizeof(*r));
        r->id = json_is_integer(id) ? json_integer_value(id) : 0;
        copy_key(iso, sizeof(iso), v, "time");
        local_hhmm(iso, r->hhmm);
        copy_key(r->seat, sizeof(r->seat), v, "seat");
        copy_key(r->name, sizeof(r->name), v, "name");
        r->late = json_truthy(json_object_get(v, "late"));
    }
    devs = json_object_get(st, "devices");
    m->ndevices = 0;
    json_array_foreach(devs, i, v)
    {
        struct model_device *d;
        const char *type = json_string_value(json_object_get(v, "type"));

        if (m->ndevices == MODEL_DEVICES_MAX)
            break;
        if (!json_is_object(v) || type == NULL)
            continue;
        d = &m->devices[m->ndevices++];
        copy_key(d->name, sizeof(d->name), v, "name");
        d->idcard = strcmp(type, "idcard") == 0;
        d->attached = json_is_true(json_object_get(v, "attached"));
    }
    v = json_object_get(st, "last_event");
    if (json_is_integer(v) && json_integer_value(v) > m->last_id)
        m->last_id = json_integer_value(v);
    m->have_state = 1;
    return 0;
}

void model_prompt(const struct model *m, const char **zh, const char **en)
{
    if (strcmp(m->policy, "ticket") == 0) {
        *zh = "请扫描准考证";
        *en = "Scan your admission ticket";
    } else {
        *zh = "请刷身份证";
        *en = "Place your ID card";
    }
}

void model_set_connected(struct model *m, int up, const char *why)
{
    m->connected = up;
    scopy(m->offline_why, sizeof(m->offline_why), why ? why : "");
    if (!up) {
        memset(&m->panel, 0, sizeof(m->panel));
        m->panel.kind = PANEL_OFFLINE;
    } else if (m->panel.kind == PANEL_OFFLINE) {
        memset(&m->panel, 0, sizeof(m->panel));
        m->panel.kind = PANEL_IDLE;
    }
}

int model_expire(struct model *m, int64_t now_ms, int64_t hold_ms)
{
    if (m->panel.kind == PANEL_OFFLINE || m->panel.kind == PANEL_IDLE)
        return 0;
    if (now_ms - m->panel.shown_ms < hold_ms)
        return 0;
    memset(&m->panel, 0, sizeof(m->panel));
    m->panel.kind = PANEL_IDLE;
    return 1;
}

static struct model_seat *seat_find(struct model *m, const char *seat)
{
    size_t i;

    for (i = 0; i < m->nseats; i++)
        if (strcmp(m->seats[i].seat, seat) == 0)
            return &m->seats[i];
    return NULL;
}

static void recent_push(struct model *m, int64_t id, const char *iso,
                        const char *seat, const char *name, int late)
{
    struct model_recent *r;

    if (m->nrecent < MODEL_RECENT)
        m->nrecent++;
    memmove(&m->recent[1], &m->recent[0],
            (m->nrecent - 1) * sizeof(m->recent[0]));
    r = &m->recent[0];
    memset(r, 0, sizeof(*r));
    r->id = id;
    local_hhmm(iso, r->hhmm);
    scopy(r->seat, sizeof(r->seat), seat);
    scopy(r->name, sizeof(r->name), name);
    r->late = late;
}

static const struct reason *reason_find(const char *code)
{
    const struct reason *r;

    for (r = reasons; r->code != NULL; r++)
        if (code != NULL && strcmp(r->code, code) == 0)
            return r;
    return r; /* the catch-all */
}

static void panel_set(struct model_panel *p, enum panel_kind kind,
                      const char *zh, const char *en)
{
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    scopy(p->title_zh, sizeof(p->title_zh), zh);
    scopy(p->title_en, sizeof(p->title_en), en);
}

static void panel_big(struct model_panel *p, const char *zh, const char *en,
                      const char *big)
{
    scopy(p->big_label_zh, sizeof(p->big_label_zh), zh);
    scopy(p->big_label_en, sizeof(p->big_label_en), en);
    scopy(p->big, sizeof(p->big), big);
}

/* The panel for a check-in decision; returns MODEL_REFUSAL for a no. */
static int decision_panel(struct model *m, const char *kind, json_t *ev,
                          json_t *pl)
{
    struct model_panel *p = &m->panel;
    char seat[12], name[MODEL_NAME], room[17], when[40], hhmm[6], buf[160];
    const char *result = json_string_value(json_object_get(pl, "result"));
    int late = json_truthy(json_object_get(pl, "late"));
    int override = json_truthy(json_object_get(pl, "override"));
    json_t *warnings = json_object_get(pl, "warnings");
    int rc = 0;

    copy_key(seat, sizeof(seat), pl, "seat");
    copy_key(name, sizeof(name), pl, "name");
    if (result == NULL)
        result = strcmp(kind, "checkin.denied") == 0 ? "denied" : "";
    if (strcmp(result, "accepted") == 0) {
        if (json_array_size(warnings) > 0)
            panel_set(p, PANEL_WARN, "请入场 · 请监考员核对姓名",
                      "Please enter · the invigilator checks your name");
        else if (override)
            panel_set(p, PANEL_WARN, "请入场 · 主考准许",
                      "Please enter · admitted by the supervisor");
        else if (late)
            panel_set(p, PANEL_WARN, "迟到 · 请入场", "Late · please enter");
        else
            panel_set(p, PANEL_OK, "请入场", "Please enter");
        panel_big(p, "座位", "Seat", seat);
    } else if (strcmp(result, "reentry") == 0) {
        panel_set(p, PANEL_OK, "欢迎返回 · 请入场",
                  "Welcome back · please enter");
        panel_big(p, "座位", "Seat", seat);
    } else if (strcmp(result, "exit") == 0) {
        panel_set(p, PANEL_INFO, "已登记暂时离场", "Leaving recorded");
    } else if (strcmp(result, "duplicate") == 0) {
        copy_key(when, sizeof(when), pl, "when");
        local_hhmm(when, hhmm);
        snprintf(buf, sizeof(buf), "已于 %s 检录", hhmm);
        panel_set(p, PANEL_REFUSED, buf, "");
        snprintf(p->title_en, sizeof(p->title_en), "Already checked in at %s",
                 hhmm);
        panel_big(p, "座位", "Seat", seat);
        rc = MODEL_REFUSAL;
    } else {
        const struct reason *r =
            reason_find(json_string_value(json_object_get(pl, "reason")));
        panel_set(p, PANEL_REFUSED, r->zh, r->en);
        copy_key(room, sizeof(room), pl, "right_room");
        if (room[0] != '\0')
            panel_big(p, "请到考场", "Go to room", room);
        rc = MODEL_REFUSAL;
    }
    scopy(p->name, sizeof(p->name), name);
    copy_key(p->ticket, sizeof(p->ticket), ev, "ticket");
    copy_key(p->detail_zh, sizeof(p->detail_zh), pl, "message_zh");
    copy_key(p->detail_en, sizeof(p->detail_en), pl, "message_en");
    return MODEL_DECISION | rc;
}

/* A check-in, exit or absence changes a seat of the session shown. */
static int seat_change(struct model *m, const char *kind, json_t *ev,
                       json_t *pl, int64_t id)
{
    char seat[12], session[33], name[MODEL_NAME], iso[40];
    struct model_seat *s;
    int late = json_truthy(json_object_get(pl, "late"));
    const char *result = json_string_value(json_object_get(pl, "result"));

    copy_key(session, sizeof(session), ev, "session");
    copy_key(seat, sizeof(seat), pl, "seat");
    if (result == NULL)
        result = "";
    if (strcmp(kind, "checkin.denied") == 0 ||
        strcmp(kind, "checkin.duplicate") == 0 || session[0] == '\0')
        return 0;
    if (!m->session.have || strcmp(session, m->session.code) != 0)
        return MODEL_REFRESH; /* another session began: fetch it */
    if ((s = seat_find(m, seat)) == NULL)
        return MODEL_REFRESH; /* the roster changed */
    copy_key(name, sizeof(name), pl, "name");
    copy_key(iso, sizeof(iso), ev, "time");
    if (strcmp(kind, "absent.marked") == 0) {
        if (s->state == SEAT_NONE)
            s->state = SEAT_ABSENT;
    } else if (strcmp(result, "exit") == 0) {
        s->state = SEAT_OUT;
    } else if (strcmp(result, "accepted") == 0 ||
               strcmp(result, "reentry") == 0) {
        s->state = SEAT_PRESENT;
        s->late |= late;
        recent_push(m, id, iso, seat, name[0] ? name : s->name, s->late);
    }
    recount(m);
    return MODEL_CHANGED;
}

static int device_change(struct model *m, const char *kind, json_t *ev)
{
    char name[64];
    size_t i;

    copy_key(name, sizeof(name), ev, "device");
    for (i = 0; i < m->ndevices; i++)
        if (strcmp(m->devices[i].name, name) == 0) {
            m->devices[i].attached = strcmp(kind, "device.attached") == 0;
            return MODEL_CHANGED;
        }
    return MODEL_REFRESH; /* a device the model did not know of */
}

static int apply_event(struct model *m, json_t *ev, int64_t now_ms,
                       int64_t hold_ms)
{
    json_t *idv = json_object_get(ev, "id"), *pl;
    const char *kind = json_string_value(json_object_get(ev, "kind"));
    char room[17], iso[40];
    int64_t id, at;
    int rc = 0;

    if (!json_is_object(ev) || !json_is_integer(idv) || kind == NULL) {
        m->ignored++;
        return 0;
    }
    id = json_integer_value(idv);
    if (id <= m->last_id)
        return 0; /* seen already (a catch-up overlaps) */
    m->last_id = id;
    copy_key(room, sizeof(room), ev, "room");
    pl = json_object_get(ev, "payload");
    if (!json_is_object(pl))
        pl = NULL;
    if (room[0] == '\0') /* concerns no room: roster or sessions changed */
        return MODEL_REFRESH;
    if (strcmp(room, m->room) != 0) {
        m->ignored++;
        return 0; /* never another room's */
    }
    if (strncmp(kind, "checkin.", 8) == 0 && pl != NULL) {
        rc |= seat_change(m, kind, ev, pl, id);
        copy_key(iso, sizeof(iso), ev, "time");
        at = sitetime_parse_utc(iso);
        /* A decision from a catch-up is shown only while it is fresh. */
        if (at == 0 || now_ms - at < hold_ms) {
            rc |= decision_panel(m, kind, ev, pl) | MODEL_CHANGED;
            m->panel.shown_ms = now_ms;
        }
        return rc;
    }
    if (strcmp(kind, "absent.marked") == 0 && pl != NULL)
        return seat_change(m, kind, ev, pl, id);
    if (strcmp(kind, "device.attached") == 0 ||
        strcmp(kind, "device.detached") == 0)
        return device_change(m, kind, ev);
    if (strncmp(kind, "session.", 8) == 0)
        return MODEL_REFRESH;
    return 0;
}

static int apply_notice(struct model *m, json_t *msg, int64_t now_ms)
{
    const char *type = json_string_value(json_object_get(msg, "notice"));
    char room[17], zh[MODEL_TEXT], en[MODEL_TEXT];

    copy_key(room, sizeof(room), msg, "room");
    if (type == NULL || (room[0] != '\0' && strcmp(room, m->room) != 0)) {
        m->ignored++;
        return 0;
    }
    copy_key(zh, sizeof(zh), msg, "message_zh");
    copy_key(en, sizeof(en), msg, "message_en");
    if (zh[0] == '\0' && en[0] == '\0') {
        m->ignored++;
        return 0;
    }
    if (strcmp(type, "pending") == 0)
        panel_set(&m->panel, PANEL_INFO, zh, en);
    else if (strcmp(type, "hint") == 0 || strcmp(type, "error") == 0)
        panel_set(&m->panel, PANEL_WARN, zh, en);
    else {
        m->ignored++;
        return 0;
    }
    m->panel.shown_ms = now_ms;
    return MODEL_CHANGED;
}

int model_apply(struct model *m, json_t *msg, int64_t now_ms, int64_t hold_ms)
{
    const char *type = json_string_value(json_object_get(msg, "type"));

    if (!json_is_object(msg) || type == NULL) {
        m->ignored++;
        return 0;
    }
    if (strcmp(type, "event") == 0)
        return apply_event(m, json_object_get(msg, "event"), now_ms, hold_ms);
    if (strcmp(type, "notice") == 0)
        return apply_notice(m, msg, now_ms);
    m->ignored++;
    return 0; /* a type this kiosk does not know */
}
