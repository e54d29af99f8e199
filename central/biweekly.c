/*
 * biweekly.c: the biweekly reports (biweekly.h): built from the same
 * overview as the page (report.h), kept as JSON text in the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "biweekly.h"
#include "cstore.h"
#include "exams.h"
#include "report.h"
#include "sitetime.h"

struct missed_arg {
    struct cstore *st;
    const struct profile *pr;
    const char *today;
};

static int missed_cb(void *arg, const char *since)
{
    struct missed_arg *a = arg;

    return biweekly_missed(a->st, a->pr, since, a->today);
}

static int in_period(json_t *x, const struct period *p)
{
    const char *d = json_string_value(json_object_get(x, "date"));

    return d != NULL && strcmp(d, p->start) >= 0 && strcmp(d, p->end) <= 0;
}

static void sum_into(json_t *tot, json_t *x)
{
    static const char *const k[] = {"published", "expected", "present",
                                    "late",      "absent",   "with_result",
                                    "passed"};
    size_t i;
    const char *kind;
    json_t *v, *inc = json_object_get(tot, "incidents");

    for (i = 0; i < sizeof(k) / sizeof(k[0]); i++)
        json_object_set_new(
            tot, k[i],
            json_integer(json_integer_value(json_object_get(tot, k[i])) +
                         json_integer_value(json_object_get(x, k[i]))));
    json_object_foreach(json_object_get(x, "incidents"), kind, v)
        json_object_set_new(
            inc, kind,
            json_integer(json_integer_value(json_object_get(inc, kind)) +
                         json_integer_value(v)));
}

/* the flags of an exam (its verdicts that are not green) into flags */
static void exam_flags(json_t *flags, json_t *x)
{
    static const char *const exam_keys[] = {"date", "site", "session",
                                            "certificate", NULL};
    json_t *v, *f;
    size_t i;

    json_array_foreach(json_object_get(x, "verdicts"), i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "level")), "green") ==
            0)
            continue;
        /* the exam, and the verdict's code, level, zh, en */
        f = report_pick(x, exam_keys);
        json_object_update(f, v);
        json_array_append_new(flags, f);
    }
}

json_t *biweekly_build(struct cstore *st, const struct profile *pr,
                       const struct period *p, const char *today, struct err *e)
{
    struct missed_arg ma = {st, pr, today};
    json_t *ov = report_overview(st, pr, missed_cb, &ma, e), *x, *pl;
    json_t *exams = json_array(), *flags = json_array(), *pilots = json_array();
    json_t *tot = json_pack("{s:i, s:{}}", "exams", 0, "incidents");
    size_t i, j;

    if (ov == NULL) {
        json_decref(exams);
        json_decref(flags);
        json_decref(pilots);
        json_decref(tot);
        return NULL;
    }
    json_array_foreach(json_object_get(ov, "exams"), i, x)
    {
        if (!in_period(x, p))
            continue;
        json_object_del(x, "rooms");
        json_object_del(x, "incident_list");
        json_array_append(exams, x);
        sum_into(tot, x);
        exam_flags(flags, x);
    }
    json_object_set_new(tot, "exams",
                        json_integer((json_int_t)json_array_size(exams)));
    json_object_set_new(
        tot, "attendance_rate",
        report_rate(json_integer_value(json_object_get(tot, "present")),
                    json_integer_value(json_object_get(tot, "published"))));
    json_object_set_new(
        tot, "pass_rate",
        report_rate(json_integer_value(json_object_get(tot, "passed")),
                    json_integer_value(json_object_get(tot, "with_result"))));
    json_array_foreach(json_object_get(ov, "pilots"), i, pl)
    {
        int held = 0;
        json_array_foreach(json_object_get(pl, "exams"), j, x) held |=
            in_period(x, p);
        if (held)
            json_array_append_new(
                pilots, json_pack("{s:O, s:O, s:O}", "certificate",
                                  json_object_get(pl, "certificate"), "status",
                                  json_object_get(pl, "status"), "verdicts",
                                  json_object_get(pl, "verdicts")));
    }
    x = json_pack("{s:{s:s, s:s}, s:O, s:o, s:o, s:o, s:o}", "period", "start",
                  p->start, "end", p->end, "profile",
                  json_object_get(ov, "profile"), "totals", tot, "exams", exams,
                  "flags", flags, "pilots", pilots);
    json_decref(ov);
    return x;
}

int biweekly_generate(struct cstore *st, const struct profile *pr,
                      const struct period *p, const char *how,
                      const char *today, struct err *e)
{
    json_t *r = biweekly_build(st, pr, p, today, e);
    char now[SITETIME_ISO_MAX], *text;
    struct cstore_biweekly b;
    int rc;

    if (r == NULL)
        return -1;
    sitetime_format_utc(sitetime_now_ms(), now);
    json_object_set_new(r, "generated", json_string(now));
    json_object_set_new(r, "how", json_string(how));
    text = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(r);
    if (text == NULL)
        return err_set(e, EX_OSERR, "out of memory");
    b.period_start = p->start;
    b.period_end = p->end;
    b.generated = now;
    b.how = how;
    b.report = text;
    if ((rc = st->ops->begin(st, e)) == 0 &&
        (rc = st->ops->biweekly_put(st, &b, e)) == 0)
        rc = st->ops->commit(st, e);
    if (rc == -1)
        st->ops->rollback(st);
    free(text);
    return rc;
}

static int kept_cb(void *arg, const struct cstore_biweekly *b, struct err *e)
{
    (void)e;
    json_object_set_new(
        arg, b->period_end,
        json_pack("{s:s, s:s}", "generated", b->generated, "how", b->how));
    return 0;
}

/* period_end -> {generated, how} */
static json_t *kept(struct cstore *st, struct err *e)
{
    json_t *k = json_object();

    if (st->ops->biweekly_rows(st, NULL, 0, kept_cb, k, e) == -1) {
        json_decref(k);
        return NULL;
    }
    return k;
}

/* The earliest exam held (a session with something recorded), "" when
 * none. */
static int first_exam(struct cstore *st, char out[11], struct err *e)
{
    json_t *m = exams_load(st, e), *s;
    const char *k;

    if (m == NULL)
        return -1;
    out[0] = '\0';
    json_object_foreach(m, k, s)
    {
        const char *d = json_string_value(json_object_get(s, "date"));
        if (d != NULL && strlen(d) == 10 &&
            json_object_size(exams_obj(s, "rooms")) > 0 &&
            (out[0] == '\0' || strcmp(d, out) < 0))
            memcpy(out, d, 11);
    }
    json_decref(m);
    return 0;
}

/* The site-local date of a stored UTC time "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static void local_date(const char *utc, char out[11])
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    out[0] = '\0';
    if (sscanf(utc, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    sitetime_date(timegm(&tm), out);
}

/* The site date the office began keeping reports: the earliest
 * generated (a report made by a first catch-up is dated that day), "" for
 * none. */
static void began(json_t *k, char out[11])
{
    const char *end;
    json_t *v;
    char d[11];

    out[0] = '\0';
    json_object_foreach(k, end, v)
    {
        local_date(json_string_value(json_object_get(v, "generated")), d);
        if (d[0] != '\0' && (out[0] == '\0' || strcmp(d, out) < 0))
            memcpy(out, d, 11);
    }
}

/* Walk the periods from since's to the last ended before today.  A
 * period counts (for missed reports) when it fell due after the office
 * began keeping reports: those before were made up at once on the first
 * start and say nothing of the office's reporting. */
static json_t *walk(const struct profile *pr, json_t *k, const char *since,
                    const char *today)
{
    json_t *list = json_array();
    struct period p;
    char start[11];
    int guard = 0;

    began(k, start);
    if (since[0] == '\0' || period_of(pr->report_days, since, &p) == -1)
        return list;
    while (strcmp(p.end, today) < 0 && guard++ < 1000) {
        json_t *got = json_object_get(k, p.end);
        char due[11], gen[11] = "";
        int counted;
        period_add_days(p.end, 1, due);
        if (got)
            local_date(json_string_value(json_object_get(got, "generated")),
                       gen);
        counted = start[0] != '\0' && strcmp(due, start) >= 0;
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s, s:o, s:o, s:b, s:b}", "start",
                            p.start, "end", p.end, "due", due, "generated",
                            got ? json_copy(json_object_get(got, "generated"))
                                : json_null(),
                            "how",
                            got ? json_copy(json_object_get(got, "how"))
                                : json_null(),
                            "on_time", got != NULL && strcmp(gen, due) <= 0,
                            "counted", counted));
        if (period_next(pr->report_days, &p, &p) == -1)
            break;
    }
    return list;
}

json_t *biweekly_list(struct cstore *st, const struct profile *pr,
                      const char *today, struct err *e)
{
    char first[11];
    json_t *k, *l;

    if (first_exam(st, first, e) == -1 || (k = kept(st, e)) == NULL)
        return NULL;
    l = walk(pr, k, first, today);
    json_decref(k);
    return l;
}

int biweekly_missed(struct cstore *st, const struct profile *pr,
                    const char *since, const char *today)
{
    json_t *k = kept(st, NULL), *l, *v;
    size_t i;
    int n = 0;

    if (k == NULL)
        return -1;
    l = walk(pr, k, since, today);
    json_array_foreach(l, i, v) n +=
        json_is_true(json_object_get(v, "counted")) &&
        !json_is_true(json_object_get(v, "on_time"));
    json_decref(l);
    json_decref(k);
    return n;
}

int biweekly_catch_up(struct cstore *st, const struct profile *pr,
                      const char *today, struct err *e)
{
    json_t *l = biweekly_list(st, pr, today, e), *v;
    size_t i;
    int n = 0;

    if (l == NULL)
        return -1;
    json_array_foreach(l, i, v)
    {
        struct period p;
        if (!json_is_null(json_object_get(v, "generated")))
            continue;
        snprintf(p.start, sizeof(p.start), "%s",
                 json_string_value(json_object_get(v, "start")));
        snprintf(p.end, sizeof(p.end), "%s",
                 json_string_value(json_object_get(v, "end")));
        if (biweekly_generate(
                st, pr, &p,
                strcmp(json_string_value(json_object_get(v, "due")), today) == 0
                    ? "timer"
                    : "catch-up",
                today, e) == -1) {
            json_decref(l);
            return -1;
        }
        n++;
    }
    json_decref(l);
    return n;
}

static int get_cb(void *arg, const struct cstore_biweekly *b, struct err *e)
{
    char **out = arg;

    if ((*out = strdup(b->report ? b->report : "{}")) == NULL)
        return err_set(e, EX_OSERR, "out of memory");
    return 0;
}

int biweekly_get(struct cstore *st, const char *period_end, char **json,
                 struct err *e)
{
    *json = NULL;
    if (st->ops->biweekly_rows(st, period_end, 1, get_cb, json, e) == -1)
        return -1;
    return *json != NULL;
}

static time_t due_of(const struct period *p)
{
    char d[11];
    int y, m, dd;

    period_add_days(p->end, 1, d);
    sitetime_parse_date(d, &y, &m, &dd);
    return sitetime_local(y, m, dd, 0) + BIWEEKLY_AT_SEC;
}

time_t biweekly_next_due(const struct profile *pr, time_t now)
{
    char today[11], yest[11];
    struct period p;
    time_t t;

    sitetime_date(now, today);
    period_add_days(today, -1, yest);
    period_of(pr->report_days, yest, &p);
    if ((t = due_of(&p)) > now)
        return t;
    period_of(pr->report_days, today, &p);
    if ((t = due_of(&p)) > now)
        return t;
    period_next(pr->report_days, &p, &p);
    return due_of(&p);
}

char *biweekly_csv(const json_t *r)
{
    static const struct report_col cols[] = {
        REPORT_COL("period_start", TEXT),
        REPORT_COL("period_end", TEXT),
        REPORT_COLS_EXAM,
        REPORT_COLS_FIGURES,
        REPORT_COL("attendance_rate", NUM),
        REPORT_COL("incidents", INCIDENTS_ZH),
        REPORT_COLS_RESULTS,
        REPORT_COLS_VERDICTS("flags_zh", "flags_en"),
    };
    json_t *p = json_object_get(r, "period"), *rows = json_array(), *x;
    const char *start = json_string_value(json_object_get(p, "start"));
    const char *end = json_string_value(json_object_get(p, "end"));
    size_t i;
    char *text;

    /* one row per exam, then the totals */
    json_array_foreach(json_object_get(r, "exams"), i, x)
    {
        json_t *row = report_row_with(x, "period_start", start);
        json_object_set_new(row, "period_end", json_string(end));
        json_array_append_new(rows, row);
    }
    x = report_row_with(json_object_get(r, "totals"), "period_start", start);
    json_object_set_new(x, "period_end", json_string(end));
    json_object_set_new(x, "date", json_string("(total)"));
    json_array_append_new(rows, x);
    text = report_csv(cols, sizeof(cols) / sizeof(cols[0]), rows);
    json_decref(rows);
    return text;
}
