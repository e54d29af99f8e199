/*
 * attendance.c: candidate state from the event log.
 */
#include <stdio.h>
#include <string.h>

#include "attendance.h"
#include "store.h"

static const char *SQL_TICKET =
    "SELECT id, time, kind, coalesce(device, ''), coalesce(room, '') FROM "
    "event "
    "WHERE ticket = ? AND session = ? AND kind IN ('checkin.accepted', "
    "'checkin.manual', 'checkin.exit', 'checkin.reentry', 'absent.marked') "
    "ORDER BY id";

int attendance_get(struct store *st, const char *ticket, const char *session,
                   struct attendance *a, struct err *e)
{
    sqlite3_stmt *q;
    const char *kind;
    int rc;

    memset(a, 0, sizeof(*a));
    if ((q = store_stmt(st, SQL_TICKET, e)) == NULL)
        return -1;
    store_bind_text(q, 1, ticket);
    store_bind_text(q, 2, session);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        kind = store_col_text(q, 2);
        if (strcmp(kind, "absent.marked") == 0) {
            if (a->state == ATT_NONE)
                a->state = ATT_ABSENT;
            continue;
        }
        if (a->first_id == 0 && (strcmp(kind, "checkin.accepted") == 0 ||
                                 strcmp(kind, "checkin.manual") == 0)) {
            a->first_id = sqlite3_column_int64(q, 0);
            snprintf(a->first_time, sizeof(a->first_time), "%s",
                     store_col_text(q, 1));
            snprintf(a->first_device, sizeof(a->first_device), "%s",
                     store_col_text(q, 3));
            snprintf(a->first_room, sizeof(a->first_room), "%s",
                     store_col_text(q, 4));
        }
        a->state = strcmp(kind, "checkin.exit") == 0 ? ATT_OUT : ATT_PRESENT;
        a->last_id = sqlite3_column_int64(q, 0);
        snprintf(a->last_time, sizeof(a->last_time), "%s",
                 store_col_text(q, 1));
        snprintf(a->last_device, sizeof(a->last_device), "%s",
                 store_col_text(q, 3));
    }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : store_sqlerr(st, e, "attendance");
}

static int exists(struct store *st, const char *sql, const char *session,
                  const char *room, struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    if ((q = store_stmt(st, sql, e)) == NULL)
        return -1;
    store_bind_text(q, 1, session);
    store_bind_text(q, 2, room);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : store_sqlerr(st, e, "attendance");
}

/* "ticket IS NULL" lets these use the partial index event_room_marks. */
static const char *SQL_SEALED =
    "SELECT 1 FROM event WHERE session = ? AND room = ? "
    "AND kind = 'session.closed' AND ticket IS NULL LIMIT 1";
int attendance_sealed(struct store *st, const char *session, const char *room,
                      struct err *e)
{
    return exists(st, SQL_SEALED, session, room, e);
}

static const char *SQL_OPENED =
    "SELECT 1 FROM event WHERE session = ? AND room = ? "
    "AND kind = 'session.opened' AND ticket IS NULL LIMIT 1";
/* withdrawn candidates (migration 003) are not expected */
static const char *SQL_HAS = "SELECT 1 FROM candidate WHERE session = ? "
                             "AND room = ? AND withdrawn = 0 LIMIT 1";

int attendance_opened(struct store *st, const char *session, const char *room,
                      struct err *e)
{
    return exists(st, SQL_OPENED, session, room, e);
}

int attendance_room_has(struct store *st, const char *session, const char *room,
                        struct err *e)
{
    return exists(st, SQL_HAS, session, room, e);
}

int attendance_absentees(struct store *st, const char *session,
                         const char *room, attendance_candidate_fn fn, void *ud,
                         struct err *e)
{
    static const char *sql =
        "SELECT c.ticket, c.seat FROM candidate c "
        "WHERE c.session = ?1 AND c.room = ?2 AND c.withdrawn = 0 "
        "AND NOT EXISTS ("
        " SELECT 1 FROM event e WHERE e.ticket = c.ticket AND e.session = ?1"
        " AND e.kind IN ('checkin.accepted', 'checkin.manual', "
        "'absent.marked'))"
        " ORDER BY CAST(c.seat AS INTEGER), c.seat";
    struct err cbe;
    sqlite3_stmt *q;
    int rc;

    if (sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL) != SQLITE_OK)
        return store_sqlerr(st, e, "absentees");
    store_bind_text(q, 1, session);
    store_bind_text(q, 2, room);
    err_clear(&cbe);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (fn(ud, store_col_text(q, 0), store_col_text(q, 1), &cbe) == -1) {
            sqlite3_finalize(q);
            return store_callback_err(e, &cbe, "absentees");
        }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : store_sqlerr(st, e, "absentees");
}
