/*
 * report.c: attendance counts from roster and events.
 */
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "store.h"

/*
 * Withdrawn candidates (migration 003) are not expected, and their
 * check-ins and absence are not counted: a room whose candidates were all
 * withdrawn is still listed, expecting 0.  Each part reads one of the
 * partial indexes of migration 003.
 */
static const char *SQL_STATUS =
    "WITH rostered AS ("
    "  SELECT session, room, count(*) AS n FROM candidate WHERE withdrawn = 0"
    "  GROUP BY session, room"
    "  UNION ALL"
    "  SELECT session, room, 0 FROM candidate WHERE withdrawn = 1"
    "  GROUP BY session, room),"
    " exp AS ("
    "  SELECT session, room, sum(n) AS n FROM rostered GROUP BY session, room"
    "  UNION ALL"
    "  SELECT code, '', 0 FROM session"
    "  WHERE code NOT IN (SELECT session FROM rostered)),"
    " per_ticket AS ("
    "  SELECT session, room, ticket,"
    "   max(kind IN ('checkin.accepted', 'checkin.manual')) AS present,"
    "   max(kind IN ('checkin.accepted', 'checkin.manual')"
    "       AND coalesce(json_extract(payload, '$.late'), 0)) AS late,"
    "   max(kind = 'absent.marked') AS absent"
    "  FROM event WHERE ticket IS NOT NULL AND session IS NOT NULL"
    "   AND kind IN ('checkin.accepted', 'checkin.manual', 'absent.marked')"
    "   AND ticket NOT IN (SELECT ticket FROM candidate WHERE withdrawn = 1)"
    "  GROUP BY session, room, ticket),"
    " att AS ("
    "  SELECT session, room, sum(present) AS present, sum(late) AS late,"
    "   sum(absent AND NOT present) AS absent"
    "  FROM per_ticket GROUP BY session, room),"
    " other AS ("
    "  SELECT session, room, sum(kind = 'checkin.denied') AS denied,"
    "   sum(kind = 'incident.logged') AS incidents"
    "  FROM event WHERE session IS NOT NULL AND room IS NOT NULL"
    "   AND kind IN ('checkin.denied', 'incident.logged')"
    "  GROUP BY session, room)"
    " SELECT exp.session, exp.room, exp.n, coalesce(att.present, 0),"
    "  coalesce(att.late, 0), coalesce(att.absent, 0), coalesce(other.denied, "
    "0),"
    "  coalesce(other.incidents, 0)"
    " FROM exp LEFT JOIN att ON att.session = exp.session AND att.room = "
    "exp.room"
    " LEFT JOIN other ON other.session = exp.session AND other.room = exp.room"
    " JOIN session s ON s.code = exp.session"
    " WHERE (?1 IS NULL OR exp.session = ?1) AND (?2 IS NULL OR exp.room = ?2)"
    " ORDER BY s.date, s.start_min, exp.session, exp.room";

int report_status(struct store *st, const char *session, const char *room,
                  report_status_fn fn, void *ud, struct err *e)
{
    struct report_status r;
    struct err cbe;
    sqlite3_stmt *q;
    int rc;

    if (sqlite3_prepare_v2(store_db(st), SQL_STATUS, -1, &q, NULL) != SQLITE_OK)
        return store_sqlerr(st, e, "status");
    store_bind_text(q, 1, session);
    store_bind_text(q, 2, room);
    err_clear(&cbe);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        memset(&r, 0, sizeof(r));
        snprintf(r.session, sizeof(r.session), "%s", store_col_text(q, 0));
        snprintf(r.room, sizeof(r.room), "%s", store_col_text(q, 1));
        r.expected = sqlite3_column_int(q, 2);
        r.present = sqlite3_column_int(q, 3);
        r.late = sqlite3_column_int(q, 4);
        r.absent = sqlite3_column_int(q, 5);
        r.denied = sqlite3_column_int(q, 6);
        r.incidents = sqlite3_column_int(q, 7);
        if (fn(ud, &r, &cbe) == -1) {
            sqlite3_finalize(q);
            return store_callback_err(e, &cbe, "status");
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return store_sqlerr(st, e, "status");
    return 0;
}
