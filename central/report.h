/*
 * report.h: the office's reports, computed from the exams model
 * (exams.h) and a rule profile (profile.h, rules.h).
 *
 * The attendance report for one exam date, per site, session and room
 * (with the session's certificate and level), then per session:
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
 *   flags       attendance_below_min: present < the profile's minimum
 *               (30 %) of published
 *
 * The exams report: every exam (session × site) in date order with the
 * same figures, its incidents named in Chinese, its results (with_result,
 * passed, pass_rate), its rooms, and the verdicts of the profile's rules
 * on it (rules_exam) with a status (green / amber / red).
 *
 * The pilots report: per certificate (a pilot), its exams in date order
 * with attendance and pass rate, and the verdicts of the rules over that
 * history (rules_pilot), the biweekly reports missed counted in.
 */
#ifndef EXAMSITE_CENTRAL_REPORT_H
#define EXAMSITE_CENTRAL_REPORT_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"
#include "profile.h"

struct cstore;

/* The attendance report of date (YYYY-MM-DD) as JSON (caller frees), or
 * NULL with e. */
json_t *report_attendance(struct cstore *st, const struct profile *p,
                          const char *date, struct err *e);
/* The same as CSV (csvout.h); malloc'd, or NULL. */
char *report_attendance_csv(const json_t *report);

/* Every exam of the model as an array, in (date, site, session) order. */
json_t *report_exams(json_t *model, const struct profile *p);

/* Biweekly reports missed since date (for the pilots' rule); -1 on
 * error. */
typedef int (*report_missed_fn)(void *arg, const char *since);

/* The pilots (one per certificate, by name) over the exams array. */
json_t *report_pilots(const json_t *exams, const struct profile *p,
                      report_missed_fn missed, void *arg);

/* {"profile":…,"pilots":[…],"exams":[…]}: both, for the page and the
 * API (caller frees), or NULL with e. */
json_t *report_overview(struct cstore *st, const struct profile *p,
                        report_missed_fn missed, void *arg, struct err *e);

/* A CSV column (csvout.h): its header, the key of the row object it
 * shows, and how. */
enum report_col_kind {
    REPORT_COL_TEXT,
    REPORT_COL_NUM,
    REPORT_COL_INCIDENTS,    /* {kind: n} as "V1:1 late:2" */
    REPORT_COL_INCIDENTS_ZH, /* ... as "违纪·… V1:1; 迟到 late:2" */
    REPORT_COL_CODES,        /* [{code}] as "a b" */
    REPORT_COL_ZH,           /* [{zh}] joined with "; " */
    REPORT_COL_EN,           /* [{en}] joined with "; " */
};
struct report_col {
    const char *head, *key;
    enum report_col_kind kind;
};

/* A column showing the key of its own name; the runs of columns the
 * exam reports share. */
#define REPORT_COL(k, kind)                                                    \
    {                                                                          \
        k, k, REPORT_COL_##kind                                                \
    }
#define REPORT_COLS_EXAM                                                       \
    REPORT_COL("date", TEXT), REPORT_COL("site", TEXT),                        \
        REPORT_COL("session", TEXT), REPORT_COL("certificate", TEXT),          \
        REPORT_COL("level", TEXT)
#define REPORT_COLS_FIGURES                                                    \
    REPORT_COL("published", NUM), REPORT_COL("expected", NUM),                 \
        REPORT_COL("present", NUM), REPORT_COL("late", NUM),                   \
        REPORT_COL("absent", NUM)
#define REPORT_COLS_RESULTS                                                    \
    REPORT_COL("with_result", NUM), REPORT_COL("passed", NUM),                 \
        REPORT_COL("pass_rate", NUM), REPORT_COL("status", TEXT)
#define REPORT_COLS_VERDICTS(zh, en)                                           \
    {zh, "verdicts", REPORT_COL_ZH},                                           \
    {                                                                          \
        en, "verdicts", REPORT_COL_EN                                          \
    }

/* The CSV of an array of row objects (malloc'd, or NULL). */
char *report_csv(const struct report_col *cols, size_t ncols,
                 const json_t *rows);

/* A shallow copy of row with key set to the string value (caller
 * frees). */
json_t *report_row_with(json_t *row, const char *key, const char *value);

/* CSV of the exams array and of the pilots array. */
char *report_exams_csv(const json_t *exams);
char *report_pilots_csv(const json_t *pilots);

/* The verdicts' JSON: [{"code","level","zh","en"}]. */
struct verdict;
json_t *report_verdicts(const struct verdict *v, int n);

/* A new object of o's keys among keys (NULL-terminated; missing ones
 * left out). */
json_t *report_pick(json_t *o, const char *const *keys);

/* A rate num/den as JSON (a real, or null when den is 0). */
json_t *report_rate(json_int_t num, json_int_t den);

#endif
