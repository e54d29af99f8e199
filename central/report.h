/*
 * report.h: the office's attendance report for one exam date, computed
 * from the events stored (nothing else is kept, so it cannot drift from
 * the record), merged across each site's stations: per site, session,
 * room (with the session's certificate and level), then per session.
 *
 *   published   the session's published candidate count (session.added's
 *               "published", when the station recorded one), else null
 *   expected    candidates accounted for: checked in or marked absent
 *   present     distinct tickets checked in (checkin.accepted, .manual)
 *   late        of those, late (the automatic `late` incident)
 *   absent      marked absent at the cut-off and never checked in
 *   denied      denied check-in attempts
 *   incidents   incident.logged by kind (V1…C9, late, exit, …)
 *   rate        present / published (else / expected)
 *   flags       attendance_below_min: present < 30 % of published
 */
#ifndef EXAMSITE_CENTRAL_REPORT_H
#define EXAMSITE_CENTRAL_REPORT_H

#include <jansson.h>

#include "err.h"

struct cstore;

#define REPORT_ATTENDANCE_MIN 0.30

/* The report as JSON (caller frees), or NULL with e.  date: YYYY-MM-DD. */
json_t *report_attendance(struct cstore *st, const char *date, struct err *e);

/* The same as CSV text: UTF-8 with a BOM (so Excel opens it as UTF-8),
 * CRLF, a header row.  malloc'd, or NULL. */
char *report_attendance_csv(const json_t *report);

#endif
