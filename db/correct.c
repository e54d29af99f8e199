/*
 * correct.c: corrections of the roster and the sessions, each an event
 * with who, why and the digest of the tables after it (correct.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "attendance.h"
#include "correct.h"
#include "event.h"
#include "idnumber.h"
#include "import.h"
#include "refdigest.h"
#include "session.h"
#include "store.h"

/* --- the reason ------------------------------------------------------------
 */

int correct_reason_check(const char *reason, struct err *e)
{
    const unsigned char *p;
    json_t *j;
    int blank = 1;

    if (reason == NULL || *reason == '\0')
        return err_set(e, EX_USAGE,
                       "a correction needs a reason (--reason "
                       "TEXT): it is recorded with the change");
    if (strlen(reason) > CORRECT_REASON_MAX)
        return err_set(e, EX_USAGE, "the reason is longer than %d bytes",
                       CORRECT_REASON_MAX);
    for (p = (const unsigned char *)reason; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return err_set(e, EX_USAGE,
                           "the reason has a control character (a line "
                           "break?): give it as one line");
        if (*p != ' ')
            blank = 0;
    }
    if (blank)
        return err_set(e, EX_USAGE, "the reason is only spaces");
    if ((j = json_string(reason)) == NULL) /* jansson checks the UTF-8 */
        return err_set(e, EX_USAGE, "the reason is not valid UTF-8 text");
    json_decref(j);
    return 0;
}

/* The reason as recorded: whatever is shaped like an ID number masked. */
static json_t *reason_json(const char *reason)
{
    char buf[CORRECT_REASON_MAX + 1];

    snprintf(buf, sizeof(buf), "%s", reason);
    idnumber_redact(buf);
    return json_string(buf);
}

/* --- the rooms -------------------------------------------------------------
 */

struct correct_room {
    char session[SESSION_CODE_MAX + 1];
    char room[ROSTER_ROOM_MAX + 1];
    int state;
};

/*
 * A check-in in session and room.  Found through the room's candidates and
 * the event log's ticket index (the two halves read the two partial
 * indexes of migration 003), so that a correction never scans the log.
 */
static const char *SQL_CHECKED_IN =
    "SELECT 1 FROM candidate c JOIN event e ON e.ticket = c.ticket "
    "WHERE c.session = ?1 AND c.room = ?2 AND c.withdrawn = 0 "
    "AND e.session = ?1 AND e.room = ?2 "
    "AND e.kind IN ('checkin.accepted', 'checkin.manual') "
    "UNION ALL "
    "SELECT 1 FROM candidate c JOIN event e ON e.ticket = c.ticket "
    "WHERE c.session = ?1 AND c.room = ?2 AND c.withdrawn = 1 "
    "AND e.session = ?1 AND e.room = ?2 "
    "AND e.kind IN ('checkin.accepted', 'checkin.manual') "
    "LIMIT 1";

static int checked_in(struct store *st, const char *session, const char *room,
                      struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    if ((q = store_stmt(st, SQL_CHECKED_IN, e)) == NULL)
        return -1;
    store_bind_text(q, 1, session);
    store_bind_text(q, 2, room);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : store_sqlerr(st, e, "corrections");
}

int correct_room_state(struct store *st, struct correct_rooms *rooms,
                       const char *session, const char *room, struct err *e)
{
    struct correct_room *r;
    size_t i;
    int rc, state;

    for (i = 0; i < rooms->n; i++)
        if (strcmp(rooms->v[i].session, session) == 0 &&
            strcmp(rooms->v[i].room, room) == 0)
            return rooms->v[i].state;
    if ((rc = attendance_sealed(st, session, room, e)) == -1)
        return -1;
    state = rc ? CORRECT_SEALED : CORRECT_FREE;
    if (state == CORRECT_FREE &&
        (rc = attendance_opened(st, session, room, e)) != 0) {
        if (rc == -1)
            return -1;
        state = CORRECT_OPENED;
    }
    if (state == CORRECT_FREE && (rc = checked_in(st, session, room, e)) != 0) {
        if (rc == -1)
            return -1;
        state = CORRECT_OPENED;
    }
    if (rooms->n == rooms->cap) {
        size_t cap = rooms->cap ? rooms->cap * 2 : 16;
        if ((r = realloc(rooms->v, cap * sizeof(*r))) == NULL)
            return err_set(e, EX_OSERR, "out of memory");
        rooms->v = r;
        rooms->cap = cap;
    }
    r = &rooms->v[rooms->n++];
    snprintf(r->session, sizeof(r->session), "%s", session);
    snprintf(r->room, sizeof(r->room), "%s", room);
    r->state = state;
    return state;
}

int correct_room_allowed(struct store *st, struct correct_rooms *rooms,
                         const char *session, const char *room,
                         const struct correct_opts *o, int *forced,
                         struct err *e)
{
    int state = correct_room_state(st, rooms, session, room, e);

    if (state == -1)
        return -1;
    if (state == CORRECT_SEALED)
        return err_set(e, EX_DATAERR,
                       "session %s in room %s is closed and sealed: it can no "
                       "longer be corrected, not even with --force (record "
                       "later facts with 'examctl incident amend')",
                       session, room);
    if (state == CORRECT_OPENED && !o->force)
        return err_set(e, EX_DATAERR,
                       "session %s has opened in room %s: corrections need "
                       "--force with a reason",
                       session, room);
    if (state == CORRECT_OPENED)
        *forced = 1;
    return 0;
}

void correct_rooms_free(struct correct_rooms *rooms)
{
    free(rooms->v);
    rooms->v = NULL;
    rooms->n = rooms->cap = 0;
}

/* --- one event --------------------------------------------------------------
 */

/* Add reason and forced to j and append it as kind, with the digest d or
 * (d NULL) the digest of the tables now.  Takes j.  0 or -1. */
static int append(struct store *st, const char *kind, const char *session,
                  const char *room, const char *ticket,
                  const struct correct_opts *o, int forced, json_t *j,
                  const struct refdigest *d, int64_t *id, struct err *e)
{
    struct event ev;
    char *payload = NULL;
    int rc;

    if (j == NULL || json_object_set_new(j, "reason", reason_json(o->reason)) ||
        (forced && json_object_set_new(j, "forced", json_true())) ||
        (payload = json_dumps(j, JSON_COMPACT)) == NULL) {
        json_decref(j);
        return err_set(e, EX_OSERR, "out of memory");
    }
    json_decref(j);
    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    ev.session = session;
    ev.room = room;
    ev.ticket = ticket;
    ev.operator_name = o->operator_name;
    rc = d ? refdigest_append_digest(st, &ev, &payload, d, e)
           : refdigest_append(st, &ev, &payload, e);
    if (rc == 0)
        *id = ev.id;
    event_release(&ev);
    free(payload);
    return rc;
}

/* {"old":a,"new":b}; takes a and b. */
static json_t *old_new(json_t *a, json_t *b)
{
    json_t *j = json_object();

    if (j == NULL || a == NULL || b == NULL) {
        json_decref(j);
        json_decref(a);
        json_decref(b);
        return NULL;
    }
    json_object_set_new(j, "old", a);
    json_object_set_new(j, "new", b);
    return j;
}

/* changes[key] = {"old":a,"new":b}; 0 or -1 (a, b taken either way). */
static int change_set(json_t *changes, const char *key, json_t *a, json_t *b)
{
    json_t *v = old_new(a, b);

    return v == NULL || json_object_set_new(changes, key, v) == -1 ? -1 : 0;
}

/* --- withdrawal -------------------------------------------------------------
 */

int correct_withdraw(struct store *st, const char *ticket,
                     const struct correct_opts *o, struct correct_outcome *out,
                     struct err *e)
{
    struct correct_rooms rooms = {NULL, 0, 0};
    struct candidate c;
    int rc, forced = 0;

    memset(out, 0, sizeof(*out));
    if (correct_reason_check(o->reason, e) == -1)
        return -1;
    if ((rc = candidate_get(st, ticket, &c, e)) != 1)
        return rc == -1 ? -1
                        : err_set(e, EX_DATAERR,
                                  "ticket %s is not on the roster", ticket);
    if (c.withdrawn) {
        out->unchanged = 1;
        return 0;
    }
    rc = correct_room_allowed(st, &rooms, c.session, c.room, o, &forced, e);
    correct_rooms_free(&rooms);
    if (rc == -1 || candidate_withdraw(st, c.ticket, e) == -1)
        return -1;
    if (append(st, "roster.withdrawn", c.session, c.room, c.ticket, o, forced,
               json_pack("{s:s, s:s}", "name", c.name, "seat", c.seat), NULL,
               &out->first_id, e) == -1)
        return -1;
    out->last_id = out->first_id;
    out->forced = forced;
    return 0;
}

/* --- session change ------------------------------------------------------- */

/* The rooms of a session: those with candidates (withdrawn or not) and
 * those with a mark (session.opened, session.closed) in the record. */
static const char *SQL_SESSION_ROOMS =
    "SELECT room FROM candidate WHERE session = ?1 AND withdrawn = 0 "
    "UNION SELECT room FROM candidate WHERE session = ?1 AND withdrawn = 1 "
    "UNION SELECT room FROM event WHERE ticket IS NULL AND session = ?1 "
    "AND kind IN ('session.opened', 'session.closed') AND room IS NOT NULL "
    "ORDER BY 1";

/* Every room of code against the opened/sealed rule; the rooms changed
 * after they opened go into forced_rooms.  0 or -1. */
static int session_rooms_allowed(struct store *st, const char *code,
                                 const struct correct_opts *o,
                                 json_t *forced_rooms, struct err *e)
{
    struct correct_rooms rooms = {NULL, 0, 0};
    char room[ROSTER_ROOM_MAX + 1];
    sqlite3_stmt *q;
    int rc, forced;

    if (sqlite3_prepare_v2(store_db(st), SQL_SESSION_ROOMS, -1, &q, NULL) !=
        SQLITE_OK)
        return store_sqlerr(st, e, "session rooms");
    store_bind_text(q, 1, code);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        snprintf(room, sizeof(room), "%s", store_col_text(q, 0));
        forced = 0;
        if (correct_room_allowed(st, &rooms, code, room, o, &forced, e) == -1)
            break;
        if (forced &&
            json_array_append_new(forced_rooms, json_string(room)) == -1) {
            err_set(e, EX_OSERR, "out of memory");
            break;
        }
    }
    sqlite3_finalize(q);
    correct_rooms_free(&rooms);
    if (rc == SQLITE_ROW)
        return -1;
    return rc == SQLITE_DONE ? 0 : store_sqlerr(st, e, "session rooms");
}

static json_t *published_json(int n)
{
    return n >= 0 ? json_integer(n) : json_null();
}

/* changes: what differs between a and b, as the office reads it. */
static int session_changes(json_t *ch, const struct session_row *a,
                           const struct session_row *b)
{
    char x[6], y[6];
    int rc = 0;

    if (strcmp(a->date, b->date) != 0)
        rc |=
            change_set(ch, "date", json_string(a->date), json_string(b->date));
    if (a->start_min != b->start_min) {
        session_hhmm(a->start_min, x);
        session_hhmm(b->start_min, y);
        rc |= change_set(ch, "start", json_string(x), json_string(y));
    }
    if (a->end_min != b->end_min) {
        session_hhmm(a->end_min, x);
        session_hhmm(b->end_min, y);
        rc |= change_set(ch, "end", json_string(x), json_string(y));
    }
    if (a->opens_before != b->opens_before)
        rc |= change_set(ch, "opens_before", json_integer(a->opens_before),
                         json_integer(b->opens_before));
    if (a->late_after != b->late_after)
        rc |= change_set(ch, "late_after", json_integer(a->late_after),
                         json_integer(b->late_after));
    if (a->published != b->published)
        rc |= change_set(ch, "published", published_json(a->published),
                         published_json(b->published));
    return rc;
}

int correct_session(struct store *st, const char *code,
                    const struct correct_session_change *ch,
                    const struct correct_opts *o, struct session_row *before,
                    struct session_row *after, struct correct_outcome *out,
                    struct err *e)
{
    struct session_row old, s;
    char start[6], end[6], ob[16], la[16], pub[16];
    json_t *j, *changes, *rooms;
    int rc;

    memset(out, 0, sizeof(*out));
    if (correct_reason_check(o->reason, e) == -1)
        return -1;
    if ((rc = session_get(st, code, &old, e)) != 1)
        return rc == -1 ? -1 : err_set(e, EX_DATAERR, "no session %s", code);
    session_hhmm(old.start_min, start);
    session_hhmm(old.end_min, end);
    snprintf(ob, sizeof(ob), "%d", old.opens_before);
    snprintf(la, sizeof(la), "%d", old.late_after);
    if (old.published >= 0)
        snprintf(pub, sizeof(pub), "%d", old.published);
    else
        pub[0] = '\0';
    /* the new values are checked with the old ones, as one row of a file */
    if (import_session_fields(
            old.code, old.certificate, old.level,
            ch->date ? ch->date : old.date, ch->start ? ch->start : start,
            ch->end ? ch->end : end, ch->opens_before ? ch->opens_before : ob,
            ch->late_after ? ch->late_after : la,
            ch->published ? ch->published : pub, old.organisation, &s, e) == -1)
        return err_prefix(e, "session %s", code);
    if (before != NULL)
        *before = old;
    if (after != NULL)
        *after = s;
    if (session_equal(&old, &s)) {
        out->unchanged = 1;
        return 0;
    }
    if ((j = json_object()) == NULL || (changes = json_object()) == NULL ||
        json_object_set_new(j, "changes", changes) == -1 ||
        (rooms = json_array()) == NULL ||
        json_object_set_new(j, "forced_rooms", rooms) == -1 ||
        session_changes(changes, &old, &s) == -1) {
        json_decref(j);
        return err_set(e, EX_OSERR, "out of memory");
    }
    if (session_rooms_allowed(st, code, o, rooms, e) == -1 ||
        session_update(st, &s, e) == -1) {
        json_decref(j);
        return -1;
    }
    out->nrooms_forced = (int)json_array_size(rooms);
    out->forced = out->nrooms_forced > 0;
    if (!out->forced)
        json_object_del(j, "forced_rooms");
    if (append(st, "session.changed", code, NULL, NULL, o, out->forced, j, NULL,
               &out->first_id, e) == -1)
        return -1;
    out->last_id = out->first_id;
    return 0;
}

/* --- the changes of a roster file ----------------------------------------- */

struct correct_change *correct_list_add(struct correct_list *l, int line,
                                        const struct candidate *cur,
                                        const struct candidate *old)
{
    struct correct_change *c;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        if ((c = realloc(l->v, cap * sizeof(*c))) == NULL)
            return NULL;
        l->v = c;
        l->cap = cap;
    }
    if (old != NULL && l->nold == l->capold) {
        size_t cap = l->capold ? l->capold * 2 : 64;
        struct candidate *n = realloc(l->olds, cap * sizeof(*n));
        if (n == NULL)
            return NULL;
        l->olds = n;
        l->capold = cap;
    }
    c = &l->v[l->n++];
    memset(c, 0, sizeof(*c));
    c->line = line;
    c->added = old == NULL;
    c->state = CORRECT_PENDING;
    c->cur = *cur;
    c->old = -1;
    if (old != NULL) {
        c->old = (long)l->nold;
        l->olds[l->nold++] = *old;
        c->what = correct_diff(old, cur);
    }
    return c;
}

const struct candidate *correct_list_old(const struct correct_list *l,
                                         const struct correct_change *c)
{
    return c->old >= 0 && (size_t)c->old < l->nold ? &l->olds[c->old] : NULL;
}

unsigned correct_diff(const struct candidate *a, const struct candidate *b)
{
    unsigned w = 0;

    if (strcmp(a->name, b->name) != 0)
        w |= CORRECT_NAME;
    if (memcmp(a->id_hash, b->id_hash, IDNUMBER_HASH_LEN) != 0 ||
        strcmp(a->id_last4, b->id_last4) != 0)
        w |= CORRECT_ID;
    if (strcmp(a->session, b->session) != 0)
        w |= CORRECT_SESSION;
    if (strcmp(a->room, b->room) != 0)
        w |= CORRECT_ROOM;
    if (strcmp(a->seat, b->seat) != 0)
        w |= CORRECT_SEAT;
    return w;
}

void correct_list_free(struct correct_list *l)
{
    free(l->v);
    free(l->olds);
    memset(l, 0, sizeof(*l));
}

/* "**************0021": the only form of an ID number shown. */
static json_t *masked_json(const char *last4)
{
    char m[IDNUMBER_LEN + 1];

    snprintf(m, sizeof(m), "**************%.4s", last4);
    return json_string(m);
}

static json_t *change_payload(const struct correct_list *l,
                              const struct correct_change *c,
                              const struct correct_file *f)
{
    const struct candidate *old = correct_list_old(l, c), *n = &c->cur;
    json_t *j, *ch;
    int rc = 0;

    j = json_pack("{s:s, s:s, s:s, s:i}", "change",
                  c->added ? "added" : "changed", "file", f->name, "sha256",
                  f->sha256, "line", c->line);
    if (j == NULL)
        return NULL;
    if (c->added || old == NULL) {
        rc |= json_object_set_new(j, "name", json_string(n->name));
        rc |= json_object_set_new(j, "seat", json_string(n->seat));
        rc |= json_object_set_new(j, "id_number", masked_json(n->id_last4));
    } else {
        if ((ch = json_object()) == NULL ||
            json_object_set_new(j, "changes", ch) == -1) {
            json_decref(j);
            return NULL;
        }
        if (c->what & CORRECT_NAME)
            rc |= change_set(ch, "name", json_string(old->name),
                             json_string(n->name));
        if (c->what & CORRECT_ID)
            rc |= change_set(ch, "id_number", masked_json(old->id_last4),
                             masked_json(n->id_last4));
        if (c->what & CORRECT_SESSION)
            rc |= change_set(ch, "session", json_string(old->session),
                             json_string(n->session));
        if (c->what & CORRECT_ROOM)
            rc |= change_set(ch, "room", json_string(old->room),
                             json_string(n->room));
        if (c->what & CORRECT_SEAT)
            rc |= change_set(ch, "seat", json_string(old->seat),
                             json_string(n->seat));
    }
    if (rc != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

int correct_roster_events(struct store *st, const struct correct_list *l,
                          const struct correct_file *f,
                          const struct correct_opts *o,
                          const struct refdigest *d, int64_t *first,
                          int64_t *last, struct err *e)
{
    const struct correct_change *c;
    int64_t id;
    size_t i;

    *first = *last = 0;
    for (i = 0; i < l->n; i++) {
        c = &l->v[i];
        if (c->state != CORRECT_DONE)
            continue;
        if (append(st, "roster.changed", c->cur.session, c->cur.room,
                   c->cur.ticket, o, c->forced, change_payload(l, c, f), d, &id,
                   e) == -1)
            return -1;
        if (*first == 0)
            *first = id;
        *last = id;
    }
    return 0;
}
