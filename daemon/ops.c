/*
 * ops.c: the control requests: validation, authorisation, and what they do.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attendance.h"
#include "checkin.h"
#include "daemon.h"
#include "device.h"
#include "event.h"
#include "idnumber.h"
#include "sitetime.h"
#include "log.h"
#include "ops.h"
#include "report.h"
#include "roster.h"
#include "schedule.h"
#include "session.h"
#include "site.h"
#include "store.h"
#include "sync.h"
#include "view.h"

#define NOTE_MAX     1000
#define OPERATOR_MAX 64

int ops_incident_kind_valid(const char *kind)
{
    static const char *const ops[] = {"late",   "absent", "exit", "reentry",
                                      "device", "other",  NULL};
    const char *const *k;

    if ((kind[0] == 'V' || kind[0] == 'C') && kind[1] >= '1' &&
        kind[1] <= '9' && kind[2] == '\0')
        return 1;
    for (k = ops; *k; k++)
        if (strcmp(*k, kind) == 0)
            return 1;
    return 0;
}

/*
 * A string argument: present (if required), a string, 1..max bytes, no
 * control characters.  NULL when absent and optional; sets e when bad.
 */
static const char *arg(struct ops_request *rq, const char *key, size_t max,
                       int required, struct err *e)
{
    json_t *v = json_object_get(rq->req, key);
    const char *s;
    size_t n, i;

    if (v == NULL || json_is_null(v)) {
        if (required)
            err_set(e, EX_USAGE, "'%s' is required", key);
        return NULL;
    }
    if (!json_is_string(v)) {
        err_set(e, EX_USAGE, "'%s' must be a string", key);
        return NULL;
    }
    s = json_string_value(v);
    n = json_string_length(v);
    if (n == 0 || n > max || strlen(s) != n) {
        err_set(e, EX_DATAERR, "'%s' must be 1-%zu bytes", key, max);
        return NULL;
    }
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20) {
            err_set(e, EX_DATAERR, "'%s' has control characters", key);
            return NULL;
        }
    return s;
}

/*
 * A ticket argument.  One shaped like a resident ID number is refused
 * without being echoed, stored or logged: someone typed the wrong number.
 */
static const char *ticket_arg(struct ops_request *rq, int required,
                              struct err *e)
{
    char probe[ROSTER_TICKET_MAX + 1];
    const char *t = arg(rq, "ticket", ROSTER_TICKET_MAX, required, e);

    if (t == NULL)
        return NULL;
    snprintf(probe, sizeof(probe), "%s", t);
    if (idnumber_redact(probe)) {
        err_set(e, EX_DATAERR,
                "'%s' is a resident ID number, not an admission ticket "
                "number",
                probe);
        return NULL;
    }
    return t;
}

#define NEED(var, key, max)                                                    \
    if ((var = arg(rq, key, max, 1, e)) == NULL)                               \
    return -1
#define OPTIONAL(var, key, max)                                                \
    if ((var = arg(rq, key, max, 0, e)) == NULL && e->code != 0)               \
    return -1

/* The authenticated account of the client, for the record. */
static json_t *account(const struct ops_request *rq)
{
    json_t *j = json_pack("{s:I}", "uid", (json_int_t)rq->uid);

    if (rq->user != NULL && rq->user[0] != '\0')
        json_object_set_new(j, "user", json_string(rq->user));
    return j;
}

/* Text from a client that will be stored: anything shaped like a resident
 * ID number is masked first (a note is no place for one). */
static const char *masked(char *buf, size_t len, const char *s)
{
    if (s == NULL)
        return NULL;
    snprintf(buf, len, "%s", s);
    idnumber_redact(buf);
    return buf;
}

static int reply_ok(json_t **reply, json_t *extra)
{
    json_t *j = json_pack("{s:b}", "ok", 1);

    if (extra != NULL)
        json_object_update(j, extra);
    json_decref(extra);
    *reply = j;
    return 0;
}

/* --- kiosk level ------------------------------------------------------------
 */

static int op_ping(struct ops_request *rq, json_t **reply, struct err *e)
{
    (void)e;
    return reply_ok(reply,
                    json_pack("{s:s, s:s, s:s}", "role",
                              control_role_name(rq->role), "site",
                              rq->d->site.id, "station", rq->d->site.station));
}

/*
 * role.drop: the client asks to be served as a lesser role from now on
 * (examkiosk always asks for kiosk, so that a screen started by an
 * administrator still shows only what a door may show).  Never raises.
 */
static int op_role_drop(struct ops_request *rq, json_t **reply, struct err *e)
{
    const char *want = json_string_value(json_object_get(rq->req, "role"));
    enum control_role r;

    for (r = ROLE_KIOSK; r <= ROLE_ADMIN; r++)
        if (want != NULL && strcmp(want, control_role_name(r)) == 0)
            break;
    if (r > ROLE_ADMIN)
        return err_set(e, EX_USAGE, "'role' must be kiosk, operator or admin");
    if (r > rq->role)
        return err_set(e, EX_NOPERM,
                       "not allowed: a client cannot raise its role (%s to %s)",
                       control_role_name(rq->role), control_role_name(r));
    rq->new_role = r;
    return reply_ok(reply, json_pack("{s:s}", "role", control_role_name(r)));
}

/* A kiosk sees its own room only: one this station serves. */
static int kiosk_room(struct ops_request *rq, const char *op, const char *room,
                      struct err *e)
{
    if (rq->role != ROLE_KIOSK)
        return 0;
    if (room == NULL)
        return err_set(e, EX_NOPERM,
                       "not allowed: a kiosk's '%s' needs the 'room' it "
                       "shows",
                       op);
    if (!daemon_serves_room(rq->d, room))
        return err_set(e, EX_NOPERM,
                       "not allowed: this station does not serve room %s",
                       room);
    return 0;
}

/*
 * The catch-up of a subscriber that says since: the events after it that
 * its filter and role let through, oldest first, at most REPLAY_MAX (the
 * latest) out of the last REPLAY_SCAN rows of the log.  *complete says
 * whether that was all of them.
 */
#define REPLAY_MAX  200
#define REPLAY_SCAN 5000

struct replay {
    json_t *arr;
    const char *room; /* NULL: every room */
    enum control_role role;
    int complete;
};

static int replay_row(void *ud, const struct event *ev, struct err *e)
{
    struct replay *r = ud;
    json_t *msg, *seen;

    (void)e;
    if (r->room != NULL && ev->room != NULL && strcmp(ev->room, r->room) != 0)
        return 0;
    msg = json_pack("{s:s, s:o}", "type", "event", "event", event_to_json(ev));
    seen = msg ? view_message(msg, r->role) : NULL;
    json_decref(msg);
    if (seen == NULL)
        return 0;
    json_array_append_new(r->arr, seen);
    if (json_array_size(r->arr) > REPLAY_MAX) {
        json_array_remove(r->arr, 0);
        r->complete = 0;
    }
    return 0;
}

static int op_subscribe(struct ops_request *rq, json_t **reply, struct err *e)
{
    json_t *sv = json_object_get(rq->req, "since"), *extra;
    struct replay r;
    int64_t since = -1, last, from;
    const char *room;

    OPTIONAL(room, "room", ROSTER_ROOM_MAX);
    if (kiosk_room(rq, "subscribe", room, e) == -1)
        return -1;
    if (sv != NULL && !json_is_null(sv)) {
        if (!json_is_integer(sv) || json_integer_value(sv) < 0)
            return err_set(e, EX_USAGE, "'since' must be an event id (>= 0)");
        since = json_integer_value(sv);
    }
    if ((last = event_last_id(rq->d->store, e)) == -1)
        return -1;
    extra = json_pack("{s:s, s:s, s:s, s:I}", "subscribed", room ? room : "*",
                      "site", rq->d->site.id, "station", rq->d->site.station,
                      "last_event", (json_int_t)last);
    if (since >= 0) {
        r.arr = json_array();
        r.room = room;
        r.role = rq->role;
        r.complete = 1;
        from = since;
        if (last - from > REPLAY_SCAN) {
            from = last - REPLAY_SCAN;
            r.complete = 0;
        }
        if (event_foreach(rq->d->store, from, REPLAY_SCAN, replay_row, &r, e) ==
            -1) {
            json_decref(r.arr);
            json_decref(extra);
            return -1;
        }
        json_object_set_new(extra, "replayed",
                            json_integer((json_int_t)json_array_size(r.arr)));
        json_object_set_new(extra, "complete", json_boolean(r.complete));
        rq->replay = r.arr;
    }
    rq->subscribe = 1;
    snprintf(rq->room, sizeof(rq->room), "%s", room ? room : "");
    return reply_ok(reply, extra);
}

static int op_devices(struct ops_request *rq, json_t **reply, struct err *e)
{
    struct device_status ds;
    char when[SITETIME_ISO_MAX];
    json_t *arr = json_array(), *dj;
    size_t i, n;

    (void)e;
    n = rq->d->devices ? device_manager_count(rq->d->devices) : 0;
    for (i = 0; i < n; i++) {
        if (device_manager_status(rq->d->devices, i, &ds) == -1)
            continue;
        dj = json_pack(
            "{s:s, s:s, s:s, s:b, s:b, s:b, s:s, s:s, s:s}", "name", ds.name,
            "type", ds.type == DEVTYPE_IDCARD ? "idcard" : "scanner", "room",
            rq->d->cfg.devices[i].room, "attached", ds.attached, "polling",
            ds.polling, "sam_ok", ds.sam_ok, "sam_id", ds.sam_id, "where",
            ds.where, "last_error", ds.last_error);
        json_object_set_new(
            dj, "repeats_ignored",
            json_integer((json_int_t)checkin_repeats(rq->d->checkin, ds.name)));
        if (rq->d->last_read_ms[i] != 0) {
            sitetime_format_utc(rq->d->last_read_ms[i], when);
            json_object_set_new(dj, "last_read", json_string(when));
        } else {
            json_object_set_new(dj, "last_read", json_null());
        }
        json_array_append_new(arr, dj);
    }
    return reply_ok(reply, json_pack("{s:o, s:s}", "devices", arr, "timezone",
                                     rq->d->site.timezone));
}

/* --- operator level ------------------------------------------------------- */

static int status_row(void *ud, const struct report_status *r, struct err *e)
{
    (void)e;
    return json_array_append_new(
        ud,
        json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i}", "code",
                  r->session, "room", r->room, "expected", r->expected,
                  "present", r->present, "late", r->late, "absent", r->absent,
                  "denied", r->denied, "incidents", r->incidents));
}

static int op_status(struct ops_request *rq, json_t **reply, struct err *e)
{
    const char *session, *room;
    json_t *arr;

    OPTIONAL(session, "session", 32);
    OPTIONAL(room, "room", ROSTER_ROOM_MAX);
    arr = json_array();
    if (report_status(rq->d->store, session, room, status_row, arr, e) == -1) {
        json_decref(arr);
        return -1;
    }
    return reply_ok(reply, json_pack("{s:o}", "sessions", arr));
}

static int op_checkin_manual(struct ops_request *rq, json_t **reply,
                             struct err *e)
{
    const char *ticket, *op, *reason;
    json_t *ev = NULL;
    struct checkin_account who = {(long)rq->uid, rq->user};
    char mreason[NOTE_MAX + 1], mop[OPERATOR_MAX + 1];

    if ((ticket = ticket_arg(rq, 1, e)) == NULL)
        return -1;
    NEED(op, "operator", OPERATOR_MAX);
    NEED(reason, "reason", NOTE_MAX);
    if (checkin_manual(rq->d->checkin, ticket, masked(mop, sizeof(mop), op),
                       masked(mreason, sizeof(mreason), reason), &who, &ev,
                       e) == -1)
        return -1;
    return reply_ok(reply, json_pack("{s:o}", "event", ev));
}

/* The session running in room now (or the latest started today). */
static int session_in_room_now(struct daemon *d, const char *room,
                               struct session_row *out, struct err *e);

struct now_pick {
    struct daemon *d;
    const char *room;
    struct session_row best;
    int rank;   /* of best; 0 none */
    time_t key; /* its tie-breaker */
};

/*
 * The session an incident at a seat is about: the one under way in the room
 * (the latest started, if two overlap), else one whose check-in is open but
 * which has not started (the earliest), else today's last one that ended.
 */
static int pick_now(void *ud, const struct session_row *s, struct err *e)
{
    struct now_pick *p = ud;
    struct session_times t;
    time_t now = clock_s(&p->d->clock), key;
    char today[11];
    int rank, has;

    sitetime_date(now, today);
    if (strcmp(s->date, today) != 0)
        return 0;
    if ((has = attendance_room_has(p->d->store, s->code, p->room, e)) != 1)
        return has; /* -1: its error goes up */
    session_times(s, &t);
    if (t.start <= now && now <= t.end) {
        rank = 3;
        key = t.start; /* later start wins */
    } else if (t.opens <= now && now < t.start) {
        rank = 2;
        key = -t.start; /* earlier start wins */
    } else if (t.end < now) {
        rank = 1;
        key = t.end; /* later end wins */
    } else {
        return 0;
    }
    if (rank > p->rank || (rank == p->rank && key > p->key)) {
        p->best = *s;
        p->rank = rank;
        p->key = key;
    }
    return 0;
}

static int session_in_room_now(struct daemon *d, const char *room,
                               struct session_row *out, struct err *e)
{
    struct now_pick p;

    memset(&p, 0, sizeof(p));
    p.d = d;
    p.room = room;
    if (session_foreach(d->store, pick_now, &p, e) == -1)
        return -1;
    if (p.rank == 0)
        return err_set(e, EX_DATAERR,
                       "no session of today has opened in room %s", room);
    *out = p.best;
    return 0;
}

/* The candidate on a seat: a withdrawn one gave it up. */
static int seat_candidate(void *ud, const struct candidate *c, struct err *e)
{
    struct candidate *out = ud;

    (void)e;
    if (!c->withdrawn && strcmp(c->seat, out->seat) == 0)
        *out = *c;
    return 0;
}

/*
 * Commit one event, with the client's account in its payload, and publish
 * it; *out gets its JSON.  Never waits for a lock another process holds:
 * EX_TEMPFAIL and nothing stored.
 */
static int commit_event(struct ops_request *rq, struct event *ev,
                        json_t *payload, json_t **out, struct err *e)
{
    struct daemon *d = rq->d;
    char *p;
    int rc = -1;

    json_object_set_new(payload, "account", account(rq));
    p = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    if (p == NULL)
        return err_set(e, EX_OSERR, "out of memory");
    ev->payload = p;
    ev->time_ms = clock_ms(&d->clock);
    if (store_begin(d->store, e) == 0) {
        if (event_append(d->store, ev, e) == 0 &&
            store_commit(d->store, e) == 0)
            rc = 0;
        else
            store_rollback(d->store);
    } else if (e->code == EX_TEMPFAIL) {
        err_set(e, EX_TEMPFAIL,
                "the database is locked by another process: "
                "nothing recorded, try again");
    }
    if (rc == 0) {
        daemon_published(d, ev);
        *out = event_to_json(ev);
    }
    event_release(ev);
    free(p);
    return rc;
}

static int op_incident_add(struct ops_request *rq, json_t **reply,
                           struct err *e)
{
    const char *ticket, *seatarg, *kind, *op, *note, *confirm, *sessarg;
    struct candidate cand;
    struct session_row s;
    char room[ROSTER_ROOM_MAX + 1] = "", seat[ROSTER_SEAT_MAX + 1] = "";
    struct event ev;
    json_t *payload, *out = NULL;
    int rc, have_cand = 0;

    if ((ticket = ticket_arg(rq, 0, e)) == NULL && e->code != 0)
        return -1;
    OPTIONAL(seatarg, "seat", ROSTER_ROOM_MAX + ROSTER_SEAT_MAX + 1);
    NEED(kind, "kind", 8);
    NEED(op, "operator", OPERATOR_MAX);
    OPTIONAL(note, "note", NOTE_MAX);
    OPTIONAL(confirm, "confirmed_by", OPERATOR_MAX);
    OPTIONAL(sessarg, "session", 32);
    if ((ticket == NULL) == (seatarg == NULL))
        return err_set(e, EX_USAGE,
                       "give either 'ticket' or 'seat' (ROOM:SEAT)");
    if (!ops_incident_kind_valid(kind))
        return err_set(
            e, EX_DATAERR,
            "unknown incident kind '%s' (V1-V9, C1-C9, late, absent, "
            "exit, reentry, device, other)",
            kind);
    if (confirm != NULL && strcmp(confirm, op) == 0)
        return err_set(e, EX_DATAERR,
                       "the confirming invigilator must be someone else");
    if (ticket != NULL) {
        if ((rc = candidate_get(rq->d->store, ticket, &cand, e)) != 1)
            return rc == -1 ? -1
                            : err_set(e, EX_DATAERR,
                                      "ticket %s is not on the roster", ticket);
        if (session_get(rq->d->store, cand.session, &s, e) != 1)
            return -1;
        snprintf(room, sizeof(room), "%s", cand.room);
        snprintf(seat, sizeof(seat), "%s", cand.seat);
        have_cand = 1;
    } else {
        const char *colon = strchr(seatarg, ':');
        if (colon == NULL || colon == seatarg || colon[1] == '\0' ||
            (size_t)(colon - seatarg) > ROSTER_ROOM_MAX ||
            strlen(colon + 1) > ROSTER_SEAT_MAX)
            return err_set(e, EX_DATAERR,
                           "seat must be ROOM:SEAT, e.g. 101:14");
        snprintf(room, sizeof(room), "%.*s", (int)(colon - seatarg), seatarg);
        snprintf(seat, sizeof(seat), "%s", colon + 1);
        if (sessarg != NULL) {
            if ((rc = session_get(rq->d->store, sessarg, &s, e)) != 1)
                return rc == -1
                           ? -1
                           : err_set(e, EX_DATAERR, "no session %s", sessarg);
            if ((rc = attendance_room_has(rq->d->store, s.code, room, e)) != 1)
                return rc == -1
                           ? -1
                           : err_set(e, EX_DATAERR,
                                     "session %s has no candidates in room %s",
                                     s.code, room);
        } else if (session_in_room_now(rq->d, room, &s, e) == -1) {
            return -1;
        }
        memset(&cand, 0, sizeof(cand));
        snprintf(cand.seat, sizeof(cand.seat), "%s", seat);
        if (candidate_foreach(rq->d->store, s.code, room, seat_candidate, &cand,
                              e) == -1)
            return -1;
        have_cand = cand.ticket[0] != '\0';
    }
    if ((rc = attendance_sealed(rq->d->store, s.code, room, e)) != 0)
        return rc == -1 ? -1
                        : err_set(e, EX_DATAERR,
                                  "session %s in room %s is sealed: record "
                                  "later facts with 'incident amend'",
                                  s.code, room);
    memset(&ev, 0, sizeof(ev));
    ev.kind = "incident.logged";
    ev.session = s.code;
    ev.room = room;
    ev.ticket = have_cand ? cand.ticket : NULL;
    ev.operator_name = op;
    payload = json_pack("{s:s, s:s}", "kind", kind, "seat", seat);
    if (note) {
        char mnote[NOTE_MAX + 1];
        json_object_set_new(payload, "note",
                            json_string(masked(mnote, sizeof(mnote), note)));
    }
    if (confirm)
        json_object_set_new(payload, "confirmed_by", json_string(confirm));
    if (commit_event(rq, &ev, payload, &out, e) == -1)
        return -1;
    return reply_ok(reply, json_pack("{s:o}", "event", out));
}

static int op_incident_amend(struct ops_request *rq, json_t **reply,
                             struct err *e)
{
    struct amend_find {
        int64_t id;
        int found;
        char session[33], room[17], ticket[33];
    } f;
    const char *op, *note;
    char mnote[NOTE_MAX + 1];
    json_t *idv = json_object_get(rq->req, "id"), *out = NULL;
    sqlite3_stmt *q;
    struct event ev;
    int rc;

    if (!json_is_integer(idv) || json_integer_value(idv) <= 0)
        return err_set(e, EX_USAGE, "'id' must be the event id of an incident");
    NEED(op, "operator", OPERATOR_MAX);
    NEED(note, "note", NOTE_MAX);
    memset(&f, 0, sizeof(f));
    f.id = json_integer_value(idv);
    if (sqlite3_prepare_v2(
            store_db(rq->d->store),
            "SELECT session, room, ticket FROM event WHERE id = ? "
            "AND kind IN ('incident.logged', 'incident.amended')",
            -1, &q, NULL) != SQLITE_OK)
        return store_sqlerr(rq->d->store, e, "amend");
    sqlite3_bind_int64(q, 1, f.id);
    if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        f.found = 1;
        snprintf(f.session, sizeof(f.session), "%s", store_col_text(q, 0));
        snprintf(f.room, sizeof(f.room), "%s", store_col_text(q, 1));
        snprintf(f.ticket, sizeof(f.ticket), "%s", store_col_text(q, 2));
    }
    sqlite3_finalize(q);
    if (!f.found)
        return err_set(e, EX_DATAERR, "event %" PRId64 " is not an incident",
                       f.id);
    memset(&ev, 0, sizeof(ev));
    ev.kind = "incident.amended";
    ev.session = f.session[0] ? f.session : NULL;
    ev.room = f.room[0] ? f.room : NULL;
    ev.ticket = f.ticket[0] ? f.ticket : NULL;
    ev.operator_name = op;
    if (commit_event(rq, &ev,
                     json_pack("{s:I, s:s}", "amends", (json_int_t)f.id, "note",
                               masked(mnote, sizeof(mnote), note)),
                     &out, e) == -1)
        return -1;
    return reply_ok(reply, json_pack("{s:o}", "event", out));
}

/*
 * Anything that lists the log comes in pages: at most LIST_LIMIT_MAX
 * events and about LIST_BYTES_MAX of them in a reply, at most
 * LIST_SCAN_MAX rows read for one request, so no request holds the loop
 * for long or builds a reply without bound.  The reply says where to go
 * on ("next", "more").
 */
#define LIST_LIMIT_MAX 200
#define LIST_SCAN_MAX  5000
#define LIST_BYTES_MAX (256 * 1024)

struct page {
    json_t *arr;
    const char *session;
    int incidents_only;
    int64_t limit, scanned, next;
    size_t bytes;
    int full;
};

static int page_row(void *ud, const struct event *ev, struct err *e)
{
    (void)e;
    struct page *p = ud;
    int incident = strcmp(ev->kind, "incident.logged") == 0 ||
                   strcmp(ev->kind, "incident.amended") == 0;

    p->scanned++;
    p->next = ev->id;
    if ((!p->incidents_only || incident) &&
        (p->session == NULL ||
         (ev->session != NULL && strcmp(ev->session, p->session) == 0))) {
        json_array_append_new(p->arr, event_to_json(ev));
        p->bytes += strlen(ev->payload ? ev->payload : "") + 512;
        if ((int64_t)json_array_size(p->arr) >= p->limit ||
            p->bytes >= LIST_BYTES_MAX) {
            p->full = 1;
            return 1;
        }
    }
    return 0;
}

/* since and limit of a listing request; 0 or -1. */
static int page_args(struct ops_request *rq, int64_t *since, int64_t *limit,
                     struct err *e)
{
    json_t *sv = json_object_get(rq->req, "since");
    json_t *lv = json_object_get(rq->req, "limit");

    *since = 0;
    *limit = LIST_LIMIT_MAX;
    if (sv != NULL && (!json_is_integer(sv) || json_integer_value(sv) < 0))
        return err_set(e, EX_USAGE, "'since' must be an event id (>= 0)");
    if (lv != NULL && (!json_is_integer(lv) || json_integer_value(lv) < 1))
        return err_set(e, EX_USAGE, "'limit' must be a positive integer");
    if (sv != NULL)
        *since = json_integer_value(sv);
    if (lv != NULL && json_integer_value(lv) < LIST_LIMIT_MAX)
        *limit = json_integer_value(lv);
    return 0;
}

static int list_page(struct ops_request *rq, const char *key, int incidents,
                     json_t **reply, struct err *e)
{
    const char *session;
    struct page p;
    int64_t since, last;

    OPTIONAL(session, "session", 32);
    if (page_args(rq, &since, &p.limit, e) == -1)
        return -1;
    p.arr = json_array();
    p.session = session;
    p.incidents_only = incidents;
    p.scanned = 0;
    p.next = since;
    p.bytes = 0;
    p.full = 0;
    if (event_foreach(rq->d->store, since, LIST_SCAN_MAX, page_row, &p, e) ==
            -1 ||
        (last = event_last_id(rq->d->store, e)) == -1) {
        json_decref(p.arr);
        return -1;
    }
    return reply_ok(reply,
                    json_pack("{s:o, s:I, s:b}", key, p.arr, "next",
                              (json_int_t)p.next, "more", p.next < last));
}

static int op_incident_list(struct ops_request *rq, json_t **reply,
                            struct err *e)
{
    return list_page(rq, "incidents", 1, reply, e);
}

static int op_events(struct ops_request *rq, json_t **reply, struct err *e)
{
    return list_page(rq, "events", 0, reply, e);
}

static int op_session_close(struct ops_request *rq, json_t **reply,
                            struct err *e)
{
    const char *code, *room, *op;
    struct session_row s;
    struct event ev;
    json_t *out = NULL;
    int rc;

    NEED(code, "session", 32);
    NEED(room, "room", ROSTER_ROOM_MAX);
    NEED(op, "operator", OPERATOR_MAX);
    if ((rc = session_get(rq->d->store, code, &s, e)) != 1)
        return rc == -1 ? -1 : err_set(e, EX_DATAERR, "no session %s", code);
    if ((rc = attendance_room_has(rq->d->store, code, room, e)) != 1)
        return rc == -1 ? -1
                        : err_set(e, EX_DATAERR,
                                  "session %s has no candidates in room %s",
                                  code, room);
    if ((rc = attendance_sealed(rq->d->store, code, room, e)) != 0)
        return rc == -1 ? -1
                        : err_set(e, EX_DATAERR,
                                  "session %s in room %s is already closed",
                                  code, room);
    memset(&ev, 0, sizeof(ev));
    ev.kind = "session.closed";
    ev.session = code;
    ev.room = room;
    ev.operator_name = op;
    if (commit_event(rq, &ev,
                     json_pack("{s:s, s:s}", "message_zh", "已封场",
                               "message_en", "Closed and signed off"),
                     &out, e) == -1)
        return -1;
    return reply_ok(reply, json_pack("{s:o}", "event", out));
}

/* --- admin level
 * --------------------------------------------------------------- */

static int op_reload(struct ops_request *rq, json_t **reply, struct err *e)
{
    (void)e;
    schedule_replan(rq->d->schedule);
    return reply_ok(reply, NULL);
}

/* --- the sync to the office (daemon/sync.c) --- */

static int op_sync_now(struct ops_request *rq, json_t **reply, struct err *e)
{
    long round = sync_now(rq->d->sync, e);

    if (round == -1)
        return -1;
    return reply_ok(reply, json_pack("{s:I}", "round", (json_int_t)round));
}

static int op_sync_status(struct ops_request *rq, json_t **reply, struct err *e)
{
    json_t *j = sync_status(rq->d->sync, e);

    return j == NULL ? -1 : reply_ok(reply, j);
}

/* --- room.state (kiosk) ------------------------------------------------- */

#define ROOM_SEATS_MAX 2000 /* seats listed in one reply */
#define ROOM_RECENT    10   /* the last check-ins */

/*
 * The session a room's screen shows now: the one under way (the latest
 * started), else one whose check-in is open (the earliest), else the next
 * one today (the earliest), else today's last one that ended.
 */
struct room_pick {
    struct daemon *d;
    const char *room;
    struct session_row best;
    int rank;
    time_t key;
};

static int pick_room(void *ud, const struct session_row *s, struct err *e)
{
    struct room_pick *p = ud;
    struct session_times t;
    time_t now = clock_s(&p->d->clock), key;
    char today[11];
    int rank, has;

    sitetime_date(now, today);
    if (strcmp(s->date, today) != 0)
        return 0;
    if ((has = attendance_room_has(p->d->store, s->code, p->room, e)) != 1)
        return has;
    session_times(s, &t);
    if (t.start <= now && now <= t.end) {
        rank = 4;
        key = t.start;
    } else if (t.opens <= now && now < t.start) {
        rank = 3;
        key = -t.start;
    } else if (now < t.opens) {
        rank = 2;
        key = -t.start;
    } else {
        rank = 1;
        key = t.end;
    }
    if (rank > p->rank || (rank == p->rank && key > p->key)) {
        p->best = *s;
        p->rank = rank;
        p->key = key;
    }
    return 0;
}

static const char *SQL_SEATS =
    "SELECT c.seat, c.name, c.ticket,"
    " (SELECT e.kind FROM event e WHERE e.ticket = c.ticket"
    "  AND e.session = c.session AND e.kind IN ('checkin.accepted',"
    "  'checkin.manual', 'checkin.exit', 'checkin.reentry')"
    "  ORDER BY e.id DESC LIMIT 1),"
    " EXISTS (SELECT 1 FROM event e WHERE e.ticket = c.ticket"
    "  AND e.session = c.session AND e.kind = 'absent.marked'),"
    " (SELECT max(coalesce(json_extract(e.payload, '$.late'), 0)) FROM event e"
    "  WHERE e.ticket = c.ticket AND e.session = c.session"
    "  AND e.kind IN ('checkin.accepted', 'checkin.manual')),"
    " (SELECT e.id FROM event e WHERE e.ticket = c.ticket"
    "  AND e.session = c.session AND e.kind IN ('checkin.accepted',"
    "  'checkin.manual', 'checkin.reentry') ORDER BY e.id DESC LIMIT 1),"
    " (SELECT e.time FROM event e WHERE e.ticket = c.ticket"
    "  AND e.session = c.session AND e.kind IN ('checkin.accepted',"
    "  'checkin.manual', 'checkin.reentry') ORDER BY e.id DESC LIMIT 1)"
    " FROM candidate c WHERE c.session = ?1 AND c.room = ?2"
    " AND c.withdrawn = 0" /* a withdrawn candidate is not expected */
    " ORDER BY CAST(c.seat AS INTEGER), c.seat";

struct recent {
    int64_t id;
    json_t *j;
};

/* Keep the ROOM_RECENT latest check-ins, newest first. */
static void recent_add(struct recent *r, int64_t id, json_t *j)
{
    int i, at;

    if (r[ROOM_RECENT - 1].j != NULL && id < r[ROOM_RECENT - 1].id) {
        json_decref(j);
        return;
    }
    json_decref(r[ROOM_RECENT - 1].j);
    for (at = ROOM_RECENT - 1;
         at > 0 && (r[at - 1].j == NULL || r[at - 1].id < id); at--)
        ;
    for (i = ROOM_RECENT - 1; i > at; i--)
        r[i] = r[i - 1];
    r[at].id = id;
    r[at].j = j;
}

/* Seats, counts and the last check-ins of session s in room, into st. */
static int room_seats(struct ops_request *rq, const struct session_row *s,
                      const char *room, json_t *st, struct err *e)
{
    struct recent recent[ROOM_RECENT];
    json_t *seats = json_array(), *arr;
    int expected = 0, present = 0, late = 0, absent = 0, i, rc;
    char masked[VIEW_TICKET_MAX];
    sqlite3_stmt *q;

    memset(recent, 0, sizeof(recent));
    if (sqlite3_prepare_v2(store_db(rq->d->store), SQL_SEATS, -1, &q, NULL) !=
        SQLITE_OK) {
        json_decref(seats);
        return store_sqlerr(rq->d->store, e, "room state");
    }
    store_bind_text(q, 1, s->code);
    store_bind_text(q, 2, room);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *seat = store_col_text(q, 0), *name = store_col_text(q, 1);
        const char *ticket = store_col_text(q, 2), *kind, *state;
        int is_late = sqlite3_column_int(q, 5) != 0;

        kind = sqlite3_column_type(q, 3) == SQLITE_NULL ? NULL
                                                        : store_col_text(q, 3);
        if (kind == NULL)
            state = sqlite3_column_int(q, 4) ? "absent" : "none";
        else
            state = strcmp(kind, "checkin.exit") == 0 ? "out" : "present";
        expected++;
        present += kind != NULL;
        late += kind != NULL && is_late;
        absent += kind == NULL && sqlite3_column_int(q, 4);
        if (rq->role == ROLE_KIOSK) {
            view_mask_ticket(ticket, masked);
            ticket = masked;
        }
        if (expected <= ROOM_SEATS_MAX)
            json_array_append_new(seats, json_pack("{s:s, s:s, s:s, s:s, s:b}",
                                                   "seat", seat, "name", name,
                                                   "ticket", ticket, "state",
                                                   state, "late", is_late));
        if (sqlite3_column_type(q, 6) != SQLITE_NULL)
            recent_add(recent, sqlite3_column_int64(q, 6),
                       json_pack("{s:I, s:s, s:s, s:s, s:b}", "id",
                                 (json_int_t)sqlite3_column_int64(q, 6), "time",
                                 store_col_text(q, 7), "seat", seat, "name",
                                 name, "late", is_late));
    }
    sqlite3_finalize(q);
    arr = json_array();
    for (i = 0; i < ROOM_RECENT; i++)
        if (recent[i].j != NULL)
            json_array_append_new(arr, recent[i].j);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        json_decref(seats);
        return store_sqlerr(rq->d->store, e, "room state");
    }
    json_object_set_new(st, "seats", seats);
    json_object_set_new(st, "seats_truncated",
                        json_boolean(expected > ROOM_SEATS_MAX));
    json_object_set_new(st, "recent", arr);
    json_object_set_new(st, "counts",
                        json_pack("{s:i, s:i, s:i, s:i}", "expected", expected,
                                  "present", present, "late", late, "absent",
                                  absent));
    return 0;
}

static json_t *session_json(const struct session_row *s, time_t now, int sealed)
{
    struct session_times t;
    char opens[6], start[6], cutoff[6], end[6];
    const char *state;

    session_times(s, &t);
    sitetime_hhmm(t.opens, opens);
    sitetime_hhmm(t.start, start);
    sitetime_hhmm(t.cutoff, cutoff);
    sitetime_hhmm(t.end, end);
    state = now < t.opens   ? "upcoming"
            : now < t.start ? "open"
            : now <= t.end  ? "under_way"
                            : "ended";
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
                     "code", s->code, "certificate", s->certificate, "level",
                     s->level, "date", s->date, "opens", opens, "start", start,
                     "cutoff", cutoff, "end", end, "state", state, "sealed",
                     sealed);
}

static json_t *room_devices(struct daemon *d, const char *room)
{
    struct device_status ds;
    json_t *arr = json_array();
    size_t i, n;

    n = d->devices ? device_manager_count(d->devices) : 0;
    for (i = 0; i < n && i < d->cfg.ndevices; i++) {
        if (strcmp(d->cfg.devices[i].room, room) != 0 ||
            device_manager_status(d->devices, i, &ds) == -1)
            continue;
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:b}", "name", ds.name, "type",
                           ds.type == DEVTYPE_IDCARD ? "idcard" : "scanner",
                           "attached", ds.attached));
    }
    return arr;
}

/*
 * What a room's screen shows, in one reply: the site, the session now,
 * its seats and counts, the last check-ins, the room's devices, and the
 * last event id (subscribe with it as since to miss nothing).
 */
static int op_room_state(struct ops_request *rq, json_t **reply, struct err *e)
{
    struct daemon *d = rq->d;
    struct room_pick p;
    const char *room;
    int64_t last;
    int sealed;
    json_t *st;

    NEED(room, "room", ROSTER_ROOM_MAX);
    if (kiosk_room(rq, "room.state", room, e) == -1)
        return -1;
    if ((last = event_last_id(d->store, e)) == -1)
        return -1;
    memset(&p, 0, sizeof(p));
    p.d = d;
    p.room = room;
    if (session_foreach(d->store, pick_room, &p, e) == -1)
        return -1;
    st = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "room", room, "site",
                   d->site.id, "site_name", d->site.name, "station",
                   d->site.station, "timezone", d->site.timezone, "policy",
                   config_policy_name(d->cfg.policy.mode), "last_event",
                   (json_int_t)last);
    if (sync_last_success(d->sync) != 0) {
        char when[SITETIME_ISO_MAX];
        sitetime_format_utc(sync_last_success(d->sync), when);
        json_object_set_new(st, "last_sync", json_string(when));
    } else {
        json_object_set_new(st, "last_sync", json_null());
    }
    json_object_set_new(st, "devices", room_devices(d, room));
    if (p.rank == 0) {
        json_object_set_new(st, "session", json_null());
        json_object_set_new(st, "seats", json_array());
        json_object_set_new(st, "seats_truncated", json_false());
        json_object_set_new(st, "recent", json_array());
        json_object_set_new(st, "counts",
                            json_pack("{s:i, s:i, s:i, s:i}", "expected", 0,
                                      "present", 0, "late", 0, "absent", 0));
        return reply_ok(reply, st);
    }
    if ((sealed = attendance_sealed(d->store, p.best.code, room, e)) == -1 ||
        room_seats(rq, &p.best, room, st, e) == -1) {
        json_decref(st);
        return -1;
    }
    json_object_set_new(st, "session",
                        session_json(&p.best, clock_s(&d->clock), sealed));
    return reply_ok(reply, st);
}

struct op {
    const char *name;
    enum control_role min;
    int (*fn)(struct ops_request *, json_t **, struct err *);
};

static const struct op ops[] = {
    {"ping", ROLE_KIOSK, op_ping},
    {"role.drop", ROLE_KIOSK, op_role_drop},
    {"subscribe", ROLE_KIOSK, op_subscribe},
    {"devices", ROLE_KIOSK, op_devices},
    {"room.state", ROLE_KIOSK, op_room_state},
    {"status", ROLE_OPERATOR, op_status},
    {"incident.list", ROLE_OPERATOR, op_incident_list},
    {"events", ROLE_OPERATOR, op_events},
    {"checkin.manual", ROLE_OPERATOR, op_checkin_manual},
    {"incident.add", ROLE_OPERATOR, op_incident_add},
    {"incident.amend", ROLE_OPERATOR, op_incident_amend},
    {"session.close", ROLE_OPERATOR, op_session_close},
    {"reload", ROLE_ADMIN, op_reload},
    {"sync.now", ROLE_OPERATOR, op_sync_now},
    {"sync.status", ROLE_OPERATOR, op_sync_status},
    {NULL, ROLE_NONE, NULL},
};

int ops_dispatch(struct ops_request *rq, json_t **reply, struct err *e)
{
    json_t *opv = json_object_get(rq->req, "op");
    const struct op *o;
    const char *name;

    *reply = NULL;
    if (!json_is_string(opv))
        return err_set(e, EX_USAGE, "'op' is required");
    name = json_string_value(opv);
    for (o = ops; o->name != NULL; o++) {
        if (strcmp(o->name, name) != 0)
            continue;
        if (rq->role < o->min)
            return err_set(
                e, EX_NOPERM, "not allowed: '%s' needs the %s role, you are %s",
                name, control_role_name(o->min), control_role_name(rq->role));
        return o->fn(rq, reply, e);
    }
    return err_set(e, EX_USAGE, "unknown op '%.40s'", name);
}
