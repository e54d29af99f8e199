/*
 * session.c: the session table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "event.h"
#include "refdigest.h"
#include "session.h"
#include "sitetime.h"
#include "store.h"

int session_level_valid(const char *level)
{
    return strcmp(level, "初级") == 0 || strcmp(level, "中级") == 0 ||
           strcmp(level, "高级") == 0;
}

void session_hhmm(int minutes, char out[6])
{
    unsigned m = (unsigned)minutes % (24 * 60);

    snprintf(out, 6, "%02u:%02u", (m / 60) % 24, m % 60);
}

#define SESSION_COLS                                                           \
    "code, certificate, level, organisation, date, start_min, end_min, "       \
    "opens_before, late_after, published"

static void session_from_row(sqlite3_stmt *q, struct session_row *s)
{
    snprintf(s->code, sizeof(s->code), "%s", store_col_text(q, 0));
    snprintf(s->certificate, sizeof(s->certificate), "%s",
             store_col_text(q, 1));
    snprintf(s->level, sizeof(s->level), "%s", store_col_text(q, 2));
    snprintf(s->organisation, sizeof(s->organisation), "%s",
             store_col_text(q, 3));
    snprintf(s->date, sizeof(s->date), "%s", store_col_text(q, 4));
    s->start_min = sqlite3_column_int(q, 5);
    s->end_min = sqlite3_column_int(q, 6);
    s->opens_before = sqlite3_column_int(q, 7);
    s->late_after = sqlite3_column_int(q, 8);
    s->published = sqlite3_column_type(q, 9) == SQLITE_NULL
                       ? -1
                       : sqlite3_column_int(q, 9);
}

static const char *SQL_GET =
    "SELECT " SESSION_COLS " FROM session WHERE code = ?";

int session_get(struct store *st, const char *code, struct session_row *out,
                struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    if ((q = store_stmt(st, SQL_GET, e)) == NULL)
        return -1;
    store_bind_text(q, 1, code);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        session_from_row(q, out);
    sqlite3_reset(q);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return store_sqlerr(st, e, "session");
}

int session_equal(const struct session_row *a, const struct session_row *b)
{
    return strcmp(a->certificate, b->certificate) == 0 &&
           strcmp(a->level, b->level) == 0 &&
           strcmp(a->organisation, b->organisation) == 0 &&
           strcmp(a->date, b->date) == 0 && a->start_min == b->start_min &&
           a->end_min == b->end_min && a->opens_before == b->opens_before &&
           a->late_after == b->late_after && a->published == b->published;
}

/* The ten columns of a session row, in the order both statements name
 * them (an unknown published count stays NULL). */
static void bind_session(sqlite3_stmt *q, const struct session_row *s)
{
    store_bind_text(q, 1, s->code);
    store_bind_text(q, 2, s->certificate);
    store_bind_text(q, 3, s->level);
    store_bind_text(q, 4, s->organisation);
    store_bind_text(q, 5, s->date);
    sqlite3_bind_int(q, 6, s->start_min);
    sqlite3_bind_int(q, 7, s->end_min);
    sqlite3_bind_int(q, 8, s->opens_before);
    sqlite3_bind_int(q, 9, s->late_after);
    if (s->published >= 0)
        sqlite3_bind_int(q, 10, s->published);
}

static const char *SQL_INSERT = "INSERT INTO session (" SESSION_COLS
                                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

int session_put(struct store *st, const struct session_row *s, struct err *e)
{
    struct session_row old;
    sqlite3_stmt *q;
    int rc;

    if ((rc = session_get(st, s->code, &old, e)) == -1)
        return -1;
    if (rc == 1) {
        if (session_equal(&old, s))
            return 0;
        return err_set(e, EX_DATAERR,
                       "session %s already exists with different details",
                       s->code);
    }
    if ((q = store_stmt(st, SQL_INSERT, e)) == NULL)
        return -1;
    bind_session(q, s);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return store_sqlerr(st, e, "session insert");
    return 1;
}

static const char *SQL_UPDATE =
    "UPDATE session SET certificate = ?2, level = ?3, organisation = ?4, "
    "date = ?5, start_min = ?6, end_min = ?7, opens_before = ?8, "
    "late_after = ?9, published = ?10 WHERE code = ?1";

int session_update(struct store *st, const struct session_row *s, struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    if ((q = store_stmt(st, SQL_UPDATE, e)) == NULL)
        return -1;
    bind_session(q, s);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return store_sqlerr(st, e, "session update");
    if (sqlite3_changes(store_db(st)) != 1)
        return err_set(e, EX_DATAERR, "no session %s", s->code);
    return 0;
}

static const char *SQL_ALL =
    "SELECT " SESSION_COLS " FROM session ORDER BY date, start_min, code";

int session_foreach(struct store *st, session_fn fn, void *ud, struct err *e)
{
    struct session_row s;
    struct err cbe;
    sqlite3_stmt *q;
    int rc;

    if (sqlite3_prepare_v2(store_db(st), SQL_ALL, -1, &q, NULL) != SQLITE_OK)
        return store_sqlerr(st, e, "sessions");
    err_clear(&cbe);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        session_from_row(q, &s);
        if (fn(ud, &s, &cbe) == -1) {
            sqlite3_finalize(q);
            return store_callback_err(e, &cbe, "sessions");
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return store_sqlerr(st, e, "sessions");
    return 0;
}

int session_add(struct store *st, const struct session_row *s,
                const char *operator_name, struct err *e)
{
    char start[6], end[6], *payload;
    struct event ev;
    json_t *j;
    int rc;

    if ((rc = session_put(st, s, e)) != 1)
        return rc;
    session_hhmm(s->start_min, start);
    session_hhmm(s->end_min, end);
    j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "certificate",
                  s->certificate, "level", s->level, "date", s->date, "start",
                  start, "end", end, "opens_before", s->opens_before,
                  "late_after", s->late_after);
    /* the office reports attendance against the published count */
    if (j != NULL && s->published >= 0)
        json_object_set_new(j, "published", json_integer(s->published));
    /* the office groups a certificate's exams under its evaluation
     * organisation (docs/office.md) */
    if (j != NULL && s->organisation[0] != '\0')
        json_object_set_new(j, "organisation", json_string(s->organisation));
    payload = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (payload == NULL)
        return err_set(e, EX_OSERR, "out of memory");
    memset(&ev, 0, sizeof(ev));
    ev.kind = "session.added";
    ev.session = s->code;
    ev.operator_name = operator_name;
    rc = refdigest_append(st, &ev, &payload, e);
    free(payload);
    return rc == -1 ? -1 : 1;
}

void session_times(const struct session_row *s, struct session_times *t)
{
    int y = 0, m = 0, d = 0;

    sitetime_parse_date(s->date, &y, &m, &d);
    t->start = sitetime_local(y, m, d, s->start_min);
    t->opens = t->start - (time_t)s->opens_before * 60;
    t->cutoff = t->start + (time_t)s->late_after * 60;
    t->end = sitetime_local(y, m, d, s->end_min);
}
