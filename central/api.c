/*
 * api.c: the reports over HTTP (office.h): attendance, exams, pilots,
 * biweekly; JSON, or CSV with ?format=csv or Accept: text/csv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include "batch.h"
#include "biweekly.h"
#include "cstore.h"
#include "office.h"
#include "reply.h"
#include "report.h"
#include "sitetime.h"

static int date_ok(const char *s)
{
    int y, m, d;

    return strlen(s) == 10 && sitetime_parse_date(s, &y, &m, &d) == 0;
}

int office_query_parse(const char *query, const char *allowed,
                       struct office_query *q, const char **why)
{
    struct evkeyval *kv;

    memset(q, 0, sizeof(*q));
    TAILQ_INIT(&q->kv);
    if (query == NULL)
        return 0;
    if (strlen(query) > 512 || evhttp_parse_query_str(query, &q->kv) == -1) {
        *why = "bad query string";
        return -1;
    }
    TAILQ_FOREACH(kv, &q->kv, next)
    {
        const char **slot = NULL;
        char c = 0;
        if (strcmp(kv->key, "site") == 0)
            slot = &q->site, c = 's';
        else if (strcmp(kv->key, "session") == 0)
            slot = &q->session, c = 'e';
        else if (strcmp(kv->key, "date") == 0)
            slot = &q->date, c = 'd';
        else if (strcmp(kv->key, "period") == 0)
            slot = &q->period, c = 'p';
        else if (strcmp(kv->key, "format") == 0)
            slot = &q->format, c = 'f';
        if (slot == NULL || strchr(allowed, c) == NULL) {
            *why = "unknown query parameter";
            return -1;
        }
        if (*slot != NULL) {
            *why = "a query parameter given twice";
            return -1;
        }
        *slot = kv->value;
    }
    if ((q->site && !batch_id_valid(q->site)) ||
        (q->session && !batch_id_valid(q->session))) {
        *why = "site and session are 1-64 of A-Z a-z 0-9 . _ -";
        return -1;
    }
    if ((q->date && !date_ok(q->date)) || (q->period && !date_ok(q->period))) {
        *why = "dates are YYYY-MM-DD";
        return -1;
    }
    if (q->format && strcmp(q->format, "csv") != 0 &&
        strcmp(q->format, "json") != 0) {
        *why = "format is csv or json";
        return -1;
    }
    return 0;
}

void office_query_free(struct office_query *q)
{
    evhttp_clear_headers(&q->kv);
}

int office_missed(void *arg, const char *since)
{
    struct office *o = arg;
    char today[11];

    sitetime_today(today);
    return biweekly_missed(o->store, o->profile, since, today);
}

static int wants_csv(struct evhttp_request *req, const struct office_query *q)
{
    const char *accept =
        evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");

    if (q->format != NULL)
        return strcmp(q->format, "csv") == 0;
    return accept != NULL && strstr(accept, "text/csv") != NULL;
}

/* j as JSON, or as CSV through to_csv, named name.csv for a download. */
static void send_report(struct evhttp_request *req, int csv, json_t *j,
                        char *(*to_csv)(const json_t *), const char *name)
{
    char *text, file[96];

    if (!csv) {
        reply_json(req, 200, j);
        return;
    }
    if ((text = to_csv(j)) == NULL) {
        reply_error(req, 503, "out of memory");
        return;
    }
    snprintf(file, sizeof(file), "%s.csv", name);
    reply_text(req, 200, "text/csv; charset=utf-8", text, strlen(text), file);
    free(text);
}

static void attendance(struct office *o, struct evhttp_request *req,
                       struct office_query *q)
{
    char name[64];
    struct err e;
    json_t *rep;

    if (q->date == NULL) {
        reply_error(req, 400, "date=YYYY-MM-DD is required");
        return;
    }
    if ((rep = report_attendance(o->store, o->profile, q->date, &e)) == NULL) {
        reply_error(req, 503, e.msg);
        return;
    }
    snprintf(name, sizeof(name), "attendance-%s", q->date);
    send_report(req, wants_csv(req, q), rep, report_attendance_csv, name);
    json_decref(rep);
}

static void overview_part(struct office *o, struct evhttp_request *req,
                          struct office_query *q, const char *part)
{
    struct err e;
    json_t *ov = report_overview(o->store, o->profile, office_missed, o, &e);

    if (ov == NULL) {
        reply_error(req, 503, e.msg);
        return;
    }
    send_report(req, wants_csv(req, q), json_object_get(ov, part),
                strcmp(part, "exams") == 0 ? report_exams_csv
                                           : report_pilots_csv,
                part);
    json_decref(ov);
}

static void biweekly(struct office *o, struct evhttp_request *req,
                     struct office_query *q)
{
    char today[11], *text = NULL, name[64];
    struct period p;
    struct err e;
    json_t *j;
    int rc;

    sitetime_today(today);
    if (q->period == NULL) {
        if ((j = biweekly_list(o->store, o->profile, today, &e)) == NULL) {
            reply_error(req, 503, e.msg);
            return;
        }
        reply_json(req, 200, j);
        json_decref(j);
        return;
    }
    period_of(o->profile->report_days, q->period, &p);
    if ((rc = biweekly_get(o->store, p.end, &text, &e)) == -1) {
        reply_error(req, 503, e.msg);
        return;
    }
    if (rc == 0 || (j = json_loads(text, 0, NULL)) == NULL) {
        free(text);
        reply_error(req, 404, "no biweekly report kept for that period");
        return;
    }
    free(text);
    snprintf(name, sizeof(name), "biweekly-%s", p.end);
    if (!wants_csv(req, q)) {
        char file[80];
        text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
        snprintf(file, sizeof(file), "%s.json", name);
        reply_text(req, 200, "application/json", text, text ? strlen(text) : 0,
                   q->format ? file : NULL);
        free(text);
    } else {
        send_report(req, 1, j, biweekly_csv, name);
    }
    json_decref(j);
}

int office_api(struct office *o, struct evhttp_request *req, const char *path,
               const char *query)
{
    static const struct {
        const char *path, *allowed;
    } res[] = {
        {"/v1/reports/attendance", "df"},
        {"/v1/reports/exams", "f"},
        {"/v1/reports/pilots", "f"},
        {"/v1/reports/biweekly", "pf"},
    };
    struct office_query q;
    const char *why = NULL;
    size_t i;

    for (i = 0; i < sizeof(res) / sizeof(res[0]); i++)
        if (strcmp(path, res[i].path) == 0)
            break;
    if (i == sizeof(res) / sizeof(res[0]))
        return 0;
    if (office_query_parse(query, res[i].allowed, &q, &why) == -1) {
        /* the attendance report has always said what it needs */
        reply_error(req, 400, i == 0 ? "date=YYYY-MM-DD is required" : why);
    } else if (i == 0) {
        attendance(o, req, &q);
    } else if (i == 1 || i == 2) {
        overview_part(o, req, &q, i == 1 ? "exams" : "pilots");
    } else {
        biweekly(o, req, &q);
    }
    office_query_free(&q);
    return 1;
}
