/*
 * report.c: the office's reports (report.h), all computed from the exams
 * model (exams.h), nothing else kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvout.h"
#include "cstore.h"
#include "exams.h"
#include "report.h"
#include "rules.h"

json_t *report_rate(json_int_t num, json_int_t den)
{
    return den > 0 ? json_real((double)num / (double)den) : json_null();
}

static json_t *copy_or_null(json_t *v)
{
    return v ? json_copy(v) : json_null();
}

static json_int_t ival(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void add_incidents(json_t *into, json_t *from)
{
    const char *k;
    json_t *v;

    json_object_foreach(from, k, v)
    {
        json_object_set_new(
            into, k, json_integer(ival(into, k) + json_integer_value(v)));
    }
}

/* One room's figures: {expected, present, late, absent, denied,
 * incidents}; the session's present set decides who was absent. */
static json_t *room_figures(json_t *room, json_t *session_present)
{
    json_int_t np = (json_int_t)json_object_size(exams_obj(room, "present"));
    json_int_t na =
        exams_absent_count(exams_obj(room, "absent"), session_present);

    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:O}", "expected", np + na,
                     "present", np, "late",
                     (json_int_t)json_object_size(exams_obj(room, "late")),
                     "absent", na, "denied", ival(room, "denied"), "incidents",
                     exams_obj(room, "incidents"));
}

/* The exam's figures summed over its rooms, into x. */
static void exam_figures(json_t *x, json_t *s)
{
    json_t *rooms = exams_obj(s, "rooms"), *pres = exams_obj(s, "present");
    json_t *inc = json_object();
    const char **rk;
    size_t n = 0, i;
    json_int_t tot[5] = {0, 0, 0, 0, 0};
    static const char *const names[5] = {"expected", "present", "late",
                                         "absent", "denied"};
    json_t *list = json_array();

    rk = exams_sorted_keys(rooms, &n);
    for (i = 0; rk != NULL && i < n; i++) {
        json_t *f = room_figures(json_object_get(rooms, rk[i]), pres);
        int k;
        for (k = 0; k < 5; k++)
            tot[k] += ival(f, names[k]);
        add_incidents(inc, json_object_get(f, "incidents"));
        json_object_set_new(f, "room", json_string(rk[i]));
        json_array_append_new(list, f);
    }
    free(rk);
    for (i = 0; i < 5; i++)
        json_object_set_new(x, names[i], json_integer(tot[i]));
    json_object_set_new(x, "incidents", inc);
    json_object_set_new(x, "rooms", list);
}

static int attendance_low(const struct profile *p, json_int_t present,
                          json_int_t published)
{
    return p->attendance_min > 0 &&
           present * 100 < (json_int_t)p->attendance_min * published;
}

/* rate and flags of an attendance row */
static void finish_row(json_t *row, const struct profile *p,
                       json_int_t published, int has_published)
{
    json_int_t present = ival(row, "present");
    json_int_t expected = ival(row, "expected");
    int by_pub = has_published && published > 0;
    json_t *flags = json_array();

    json_object_set_new(row, "attendance_rate",
                        report_rate(present, by_pub ? published : expected));
    json_object_set_new(row, "rate_of",
                        json_string(by_pub ? "published" : "expected"));
    if (has_published && attendance_low(p, present, published))
        json_array_append_new(flags,
                              json_pack("{s:s, s:f, s:I, s:I}", "code",
                                        "attendance_below_min", "min",
                                        p->attendance_min / 100.0, "present",
                                        present, "published", published));
    json_object_set_new(row, "flags", flags);
}

static json_t *att_row(json_t *s, const char *room, json_t *f)
{
    json_t *row =
        json_pack("{s:O, s:O, s:o, s:o}", "site", json_object_get(s, "site"),
                  "session", json_object_get(s, "session"), "certificate",
                  copy_or_null(json_object_get(s, "certificate")), "level",
                  copy_or_null(json_object_get(s, "level")));

    if (room != NULL)
        json_object_set_new(row, "room", json_string(room));
    json_object_update(row, f);
    return row;
}

json_t *report_attendance(struct cstore *st, const struct profile *p,
                          const char *date, struct err *e)
{
    json_t *model = exams_load(st, e), *rooms, *sessions, *out;
    const char **k;
    size_t n = 0, i, j;

    if (model == NULL)
        return NULL;
    if ((k = exams_sorted_keys(model, &n)) == NULL) {
        json_decref(model);
        err_set(e, EX_OSERR, "out of memory");
        return NULL;
    }
    rooms = json_array();
    sessions = json_array();
    for (i = 0; i < n; i++) {
        json_t *s = json_object_get(model, k[i]), *x = json_object(), *r;
        const char *d = json_string_value(json_object_get(s, "date"));
        json_t *pub = json_object_get(s, "published");
        if (d == NULL || strcmp(d, date) != 0 ||
            json_object_size(exams_obj(s, "rooms")) == 0) {
            json_decref(x);
            continue;
        }
        exam_figures(x, s);
        json_array_foreach(json_object_get(x, "rooms"), j, r)
        {
            json_t *f = json_deep_copy(r), *row;
            json_object_del(f, "room");
            row = att_row(s, json_string_value(json_object_get(r, "room")), f);
            json_object_set_new(row, "published", json_null());
            finish_row(row, p, 0, 0);
            json_array_append_new(rooms, row);
            json_decref(f);
        }
        json_object_del(x, "rooms");
        r = att_row(s, NULL, x);
        json_object_set_new(r, "published",
                            json_is_integer(pub) ? json_copy(pub)
                                                 : json_null());
        finish_row(r, p, json_integer_value(pub), json_is_integer(pub));
        json_array_append_new(sessions, r);
        json_decref(x);
    }
    free(k);
    json_decref(model);
    out = json_pack("{s:s, s:o, s:o}", "date", date, "rooms", rooms, "sessions",
                    sessions);
    if (out == NULL)
        err_set(e, EX_OSERR, "out of memory");
    return out;
}

/* "V1:1 late:2" */
static void incidents_text(json_t *inc, char *out, size_t n)
{
    const char *k;
    json_t *v;

    out[0] = '\0';
    json_object_foreach(inc, k, v)
        snprintf(out + strlen(out), n - strlen(out), "%s%s:%lld",
                 out[0] ? " " : "", k, (long long)json_integer_value(v));
}

static void flags_text(json_t *flags, const char *key, const char *sep,
                       char *out, size_t n)
{
    size_t i;
    json_t *v;

    out[0] = '\0';
    json_array_foreach(flags, i, v)
        snprintf(out + strlen(out), n - strlen(out), "%s%s", out[0] ? sep : "",
                 json_string_value(json_object_get(v, key)));
}

/* One CSV cell of a row by its column. */
static void csv_cell(struct csvout *b, json_t *row, const struct report_col *c)
{
    json_t *v = json_object_get(row, c->key);
    char text[4096];
    const char *k;
    json_t *n;

    text[0] = '\0';
    switch (c->kind) {
    case REPORT_COL_TEXT:
        csvout_text(b, json_string_value(v));
        return;
    case REPORT_COL_NUM:
        csvout_num(b, v);
        return;
    case REPORT_COL_INCIDENTS:
        incidents_text(v, text, sizeof(text));
        break;
    case REPORT_COL_INCIDENTS_ZH:
        json_object_foreach(v, k, n)
            snprintf(text + strlen(text), sizeof(text) - strlen(text),
                     "%s%s %s:%lld", text[0] ? "; " : "", exams_incident_zh(k),
                     k, (long long)json_integer_value(n));
        break;
    case REPORT_COL_CODES:
        flags_text(v, "code", " ", text, sizeof(text));
        break;
    case REPORT_COL_ZH:
    case REPORT_COL_EN:
        flags_text(v, c->kind == REPORT_COL_ZH ? "zh" : "en", "; ", text,
                   sizeof(text));
        break;
    }
    csvout_text(b, text);
}

char *report_csv(const struct report_col *cols, size_t ncols,
                 const json_t *rows)
{
    struct csvout b;
    json_t *r;
    size_t i, j;

    csvout_init(&b);
    for (j = 0; j < ncols; j++)
        csvout_text(&b, cols[j].head);
    csvout_end(&b);
    json_array_foreach(rows, i, r)
    {
        for (j = 0; j < ncols; j++)
            csv_cell(&b, r, &cols[j]);
        csvout_end(&b);
    }
    return csvout_finish(&b);
}

/* A shallow copy of row with key set to a string (for CSV rows). */
json_t *report_row_with(json_t *row, const char *key, const char *value)
{
    json_t *c = json_copy(row);

    json_object_set_new(c, key, json_string(value));
    return c;
}

char *report_attendance_csv(const json_t *report)
{
    static const struct report_col cols[] = {
        REPORT_COL("site", TEXT),           REPORT_COL("session", TEXT),
        REPORT_COL("room", TEXT),           REPORT_COL("certificate", TEXT),
        REPORT_COL("level", TEXT),          REPORT_COLS_FIGURES,
        REPORT_COL("denied", NUM),          REPORT_COL("incidents", INCIDENTS),
        REPORT_COL("attendance_rate", NUM), REPORT_COL("flags", CODES),
    };
    json_t *rows = json_copy(json_object_get(report, "rooms")), *r;
    size_t i;
    char *text;

    json_array_foreach(json_object_get(report, "sessions"), i, r)
        json_array_append_new(rows, report_row_with(r, "room", "(all)"));
    text = report_csv(cols, sizeof(cols) / sizeof(cols[0]), rows);
    json_decref(rows);
    return text;
}

json_t *report_verdicts(const struct verdict *v, int n)
{
    json_t *a = json_array();
    int i;

    for (i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "code",
                                           v[i].code, "level",
                                           rules_level_name(v[i].level), "zh",
                                           v[i].zh, "en", v[i].en));
    return a;
}

/* The rules' view of an exam row. */
static void rules_input(json_t *x, struct rules_exam *r)
{
    json_t *pub = json_object_get(x, "published");

    r->date = json_string_value(json_object_get(x, "date"));
    r->published = json_is_integer(pub) ? (long)json_integer_value(pub) : -1;
    r->present = (long)ival(x, "present");
    r->with_result = (long)ival(x, "with_result");
    r->passed = (long)ival(x, "passed");
}

static json_t *named_incidents(json_t *inc)
{
    json_t *a = json_array(), *v;
    const char *k;

    json_object_foreach(inc, k, v)
        json_array_append_new(a, json_pack("{s:s, s:s, s:O}", "kind", k, "zh",
                                           exams_incident_zh(k), "count", v));
    return a;
}

static json_t *exam_row(json_t *s, const struct profile *p)
{
    json_t *x = json_object(), *res = exams_obj(s, "results"), *v;
    json_t *pub = json_object_get(s, "published");
    json_int_t passed = 0;
    struct verdict vs[RULES_MAX];
    struct rules_exam ri;
    const char *k;
    int n;

    json_object_set(x, "site", json_object_get(s, "site"));
    json_object_set(x, "session", json_object_get(s, "session"));
    json_object_set_new(x, "date", copy_or_null(json_object_get(s, "date")));
    json_object_set_new(x, "certificate",
                        copy_or_null(json_object_get(s, "certificate")));
    json_object_set_new(x, "level", copy_or_null(json_object_get(s, "level")));
    json_object_set_new(x, "organisation",
                        copy_or_null(json_object_get(s, "organisation")));
    json_object_set_new(x, "published",
                        json_is_integer(pub) ? json_copy(pub) : json_null());
    exam_figures(x, s);
    json_object_set_new(
        x, "attendance_rate",
        report_rate(ival(x, "present"),
                    json_is_integer(pub) && json_integer_value(pub) > 0
                        ? json_integer_value(pub)
                        : ival(x, "expected")));
    json_object_set_new(x, "incidents_named",
                        named_incidents(json_object_get(x, "incidents")));
    if (json_is_array(json_object_get(s, "incident_list")))
        json_object_set(x, "incident_list",
                        json_object_get(s, "incident_list"));
    else
        json_object_set_new(x, "incident_list", json_array());
    json_object_foreach(res, k, v) passed += json_is_true(v);
    json_object_set_new(x, "with_result",
                        json_integer((json_int_t)json_object_size(res)));
    json_object_set_new(x, "passed", json_integer(passed));
    json_object_set_new(x, "pass_rate",
                        report_rate(passed, (json_int_t)json_object_size(res)));
    rules_input(x, &ri);
    n = rules_exam(p, &ri, vs);
    json_object_set_new(x, "verdicts", report_verdicts(vs, n));
    json_object_set_new(x, "status",
                        json_string(rules_level_name(rules_worst(vs, n))));
    return x;
}

static int by_date(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const char *dx = json_string_value(json_object_get(x, "date"));
    const char *dy = json_string_value(json_object_get(y, "date"));
    int c = strcmp(dx ? dx : "", dy ? dy : "");

    if (c == 0)
        c = strcmp(json_string_value(json_object_get(x, "site")),
                   json_string_value(json_object_get(y, "site")));
    if (c == 0)
        c = strcmp(json_string_value(json_object_get(x, "session")),
                   json_string_value(json_object_get(y, "session")));
    return c;
}

json_t *report_exams(json_t *model, const struct profile *p)
{
    size_t n = json_object_size(model), i = 0;
    json_t **rows = calloc(n + 1, sizeof(*rows)), *out = json_array(), *s;
    const char *k;

    if (rows == NULL)
        return out;
    /* a session with nothing recorded has not been held (or not synced) */
    json_object_foreach(model, k,
                        s) if (json_object_size(exams_obj(s, "rooms")) > 0)
        rows[i++] = exam_row(s, p);
    qsort(rows, i, sizeof(*rows), by_date);
    for (n = 0; n < i; n++)
        json_array_append_new(out, rows[n]);
    free(rows);
    return out;
}

json_t *report_pick(json_t *o, const char *const *keys)
{
    json_t *c = json_object(), *v;

    for (; *keys != NULL; keys++)
        if ((v = json_object_get(o, *keys)) != NULL)
            json_object_set(c, *keys, v);
    return c;
}

/* One pilot over its exams (in date order). */
static json_t *pilot(const char *cert, json_t *xs, const struct profile *p,
                     report_missed_fn missed, void *arg)
{
    /* what the pilot's history shows of each exam */
    static const char *const keys[] = {
        "site",    "session",         "date",      "level",       "published",
        "present", "attendance_rate", "pass_rate", "with_result", "status",
        NULL};
    size_t n = json_array_size(xs), i;
    struct rules_exam *ri = calloc(n + 1, sizeof(*ri));
    struct verdict vs[RULES_MAX];
    json_t *x, *list = json_array(), *org = NULL;
    int nv, miss = 0;

    if (ri == NULL)
        return json_null();
    json_array_foreach(xs, i, x)
    {
        rules_input(x, &ri[i]);
        if (org == NULL && json_is_string(json_object_get(x, "organisation")))
            org = json_object_get(x, "organisation");
        json_array_append_new(list, report_pick(x, keys));
    }
    if (missed != NULL && n > 0 && ri[0].date != NULL &&
        (miss = missed(arg, ri[0].date)) < 0)
        miss = 0;
    nv = rules_pilot(p, ri, n, miss, vs);
    free(ri);
    return json_pack("{s:s, s:o, s:s, s:I, s:o, s:o}", "certificate", cert,
                     "organisation", org ? json_copy(org) : json_null(),
                     "status", rules_level_name(rules_worst(vs, nv)),
                     "missed_reports", (json_int_t)miss, "verdicts",
                     report_verdicts(vs, nv), "exams", list);
}

json_t *report_pilots(const json_t *exams, const struct profile *p,
                      report_missed_fn missed, void *arg)
{
    json_t *by = json_object(), *x, *out = json_array();
    const char **k;
    size_t i, n = 0;

    json_array_foreach(exams, i, x)
    {
        const char *c = json_string_value(json_object_get(x, "certificate"));
        json_t *a = json_object_get(by, c ? c : "");
        if (a == NULL) {
            a = json_array();
            json_object_set_new(by, c ? c : "", a);
        }
        json_array_append(a, x);
    }
    k = exams_sorted_keys(by, &n);
    for (i = 0; k != NULL && i < n; i++)
        json_array_append_new(
            out, pilot(k[i], json_object_get(by, k[i]), p, missed, arg));
    free(k);
    json_decref(by);
    return out;
}

json_t *report_overview(struct cstore *st, const struct profile *p,
                        report_missed_fn missed, void *arg, struct err *e)
{
    json_t *model = exams_load(st, e), *xs;

    if (model == NULL)
        return NULL;
    xs = report_exams(model, p);
    json_decref(model);
    return json_pack("{s:{s:s, s:s, s:s}, s:o, s:o}", "profile", "name",
                     p->name, "zh", p->title_zh, "en", p->title_en, "pilots",
                     report_pilots(xs, p, missed, arg), "exams", xs);
}

char *report_exams_csv(const json_t *exams)
{
    static const struct report_col cols[] = {
        REPORT_COLS_EXAM,
        REPORT_COL("organisation", TEXT),
        REPORT_COLS_FIGURES,
        REPORT_COL("denied", NUM),
        REPORT_COL("attendance_rate", NUM),
        REPORT_COL("incidents", INCIDENTS),
        REPORT_COLS_RESULTS,
        REPORT_COLS_VERDICTS("verdicts_zh", "verdicts_en"),
    };

    return report_csv(cols, sizeof(cols) / sizeof(cols[0]), exams);
}

char *report_pilots_csv(const json_t *pilots)
{
    static const struct report_col cols[] = {
        REPORT_COL("certificate", TEXT),
        REPORT_COL("organisation", TEXT),
        {"status", "pilot_status", REPORT_COL_TEXT},
        REPORT_COL("exams", NUM),
        REPORT_COL("missed_reports", NUM),
        REPORT_COL("date", TEXT),
        REPORT_COL("session", TEXT),
        REPORT_COL("site", TEXT),
        REPORT_COL("attendance_rate", NUM),
        REPORT_COL("pass_rate", NUM),
        REPORT_COLS_VERDICTS("verdicts_zh", "verdicts_en"),
    };
    json_t *rows = json_array(), *pl, *x;
    size_t i, j;
    char *text;

    /* one row per exam, with its pilot's figures; the pilot's verdicts on
     * its last exam's row */
    json_array_foreach(pilots, i, pl)
    {
        json_t *xs = json_object_get(pl, "exams");
        json_array_foreach(xs, j, x)
        {
            json_t *r = report_row_with(
                x, "pilot_status",
                json_string_value(json_object_get(pl, "status")));
            json_object_set(r, "certificate",
                            json_object_get(pl, "certificate"));
            json_object_set(r, "organisation",
                            json_object_get(pl, "organisation"));
            json_object_set(r, "missed_reports",
                            json_object_get(pl, "missed_reports"));
            json_object_set_new(r, "exams",
                                json_integer((json_int_t)json_array_size(xs)));
            json_object_set_new(r, "verdicts",
                                j + 1 == json_array_size(xs)
                                    ? json_copy(json_object_get(pl, "verdicts"))
                                    : json_array());
            json_array_append_new(rows, r);
        }
    }
    text = report_csv(cols, sizeof(cols) / sizeof(cols[0]), rows);
    json_decref(rows);
    return text;
}
