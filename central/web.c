/*
 * web.c: the office's page (office.h), server-rendered HTML, Chinese
 * first and English beneath, no script, no external asset: the
 * stylesheet is embedded in the binary and the charts are inline SVG
 * drawn here.  Every text that comes from a station or a file is escaped
 * (evhttp_htmlescape).  docs/office.md shows and explains it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "biweekly.h"
#include "cstore.h"
#include "exams.h"
#include "office.h"
#include "reply.h"
#include "report.h"
#include "sitetime.h"

struct embedded {
    const char *name;
    const char *text;
};
#include "central_web.h"

/* Append s escaped for HTML text or an attribute value. */
static void esc(struct evbuffer *b, const char *s)
{
    char *e = evhttp_htmlescape(s ? s : "");

    if (e != NULL) {
        evbuffer_add(b, e, strlen(e));
        free(e);
    }
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

/* "57%" of a rate, "—" when null */
static void pct(struct evbuffer *b, json_t *rate)
{
    if (json_is_number(rate))
        evbuffer_add_printf(b, "%.0f%%", json_number_value(rate) * 100.0);
    else
        evbuffer_add_printf(b, "—");
}

static void num(struct evbuffer *b, json_t *v)
{
    if (json_is_integer(v))
        evbuffer_add_printf(b, "%lld", (long long)json_integer_value(v));
    else
        evbuffer_add_printf(b, "—");
}

static void head(struct evbuffer *b, const char *zh, const char *en,
                 const struct profile *p)
{
    evbuffer_add_printf(
        b,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta "
        "charset=\"utf-8\">\n<meta name=\"viewport\" "
        "content=\"width=device-width\">\n<link rel=\"icon\" "
        "href=\"data:,\">\n<link rel=\"stylesheet\" "
        "href=\"/office.css\">\n<title>%s · %s</title></head>\n<body>\n"
        "<header><h1>教务处 1+X 证书试点考务<span class=\"en\">Academic "
        "affairs office · 1+X certificate pilots</span></h1>\n<nav><a "
        "href=\"/\">试点总览 Pilots</a><a href=\"/biweekly\">双周报送 "
        "Biweekly reports</a></nav></header>\n<main>\n",
        zh, en);
    evbuffer_add_printf(b, "<p class=\"note\">规则 Rule profile: <b>");
    esc(b, p->name);
    evbuffer_add_printf(b, "</b> — ");
    esc(b, p->title_zh);
    evbuffer_add_printf(b, "<br>");
    esc(b, p->title_en);
    evbuffer_add_printf(b, "</p>\n");
}

static void foot(struct evbuffer *b)
{
    char now[SITETIME_ISO_MAX];

    sitetime_format_utc(sitetime_now_ms(), now);
    evbuffer_add_printf(b,
                        "<p class=\"note\">生成于 Generated %s (UTC) · "
                        "examcentral</p>\n</main></body></html>\n",
                        now);
}

static void badge(struct evbuffer *b, const char *status)
{
    const char *zh = strcmp(status, "red") == 0     ? "撤销条件"
                     : strcmp(status, "amber") == 0 ? "预警"
                                                    : "正常";
    const char *en = strcmp(status, "red") == 0     ? "withdrawal condition"
                     : strcmp(status, "amber") == 0 ? "warning"
                                                    : "in good standing";

    evbuffer_add_printf(b,
                        "<span class=\"badge st-%s\" data-status=\"%s\">%s "
                        "<span class=\"en\">%s</span></span>",
                        strcmp(status, "red") == 0     ? "red"
                        : strcmp(status, "amber") == 0 ? "amber"
                                                       : "green",
                        strcmp(status, "red") == 0     ? "red"
                        : strcmp(status, "amber") == 0 ? "amber"
                                                       : "green",
                        zh, en);
}

static void verdicts(struct evbuffer *b, json_t *vs)
{
    json_t *v;
    size_t i;

    if (json_array_size(vs) == 0)
        return;
    evbuffer_add_printf(b, "<ul class=\"verdicts\">");
    json_array_foreach(vs, i, v)
    {
        evbuffer_add_printf(b, "<li class=\"lv-%s\" data-code=\"",
                            strcmp(str(v, "level"), "red") == 0     ? "red"
                            : strcmp(str(v, "level"), "amber") == 0 ? "amber"
                                                                    : "green");
        esc(b, str(v, "code"));
        evbuffer_add_printf(b, "\">");
        esc(b, str(v, "zh"));
        evbuffer_add_printf(b, "<span class=\"en\">");
        esc(b, str(v, "en"));
        evbuffer_add_printf(b, "</span></li>");
    }
    evbuffer_add_printf(b, "</ul>\n");
}

/* Attendance and pass rate per exam as bars, with the profile's
 * minimums as dashed lines: inline SVG, nothing to download. */
static void chart(struct evbuffer *b, json_t *xs, const struct profile *p)
{
    size_t n = json_array_size(xs), i;
    int step = n > 0 && 900 / (int)n < 80 ? 900 / (int)n : 80;
    int w = 70 + (int)n * step + 20, top = 14, h = 120;
    json_t *x;

    if (step < 12)
        step = 12;
    if (w < 480) /* room for the legend */
        w = 480;
    evbuffer_add_printf(b,
                        "<svg class=\"chart\" width=\"%d\" height=\"%d\" "
                        "viewBox=\"0 0 %d %d\" role=\"img\" "
                        "aria-label=\"出勤率与通过率 attendance and pass "
                        "rate\">\n",
                        w, top + h + 44, w, top + h + 44);
    for (i = 0; i <= 4; i++) {
        int y = top + h - (int)i * h / 4;
        evbuffer_add_printf(b,
                            "<line x1=\"60\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                            "stroke=\"#dde2ea\"/><text x=\"28\" "
                            "y=\"%d\">%zu%%</text>\n",
                            y, w - 10, y, y + 4, i * 25);
    }
    json_array_foreach(xs, i, x)
    {
        int x0 = 70 + (int)i * step, bw = step * 35 / 100;
        json_t *ar = json_object_get(x, "attendance_rate");
        json_t *pr = json_object_get(x, "pass_rate");
        const char *d = str(x, "date");
        if (json_is_number(ar)) {
            double r = json_number_value(ar) > 1 ? 1 : json_number_value(ar);
            int bh = (int)(r * h);
            evbuffer_add_printf(b,
                                "<rect x=\"%d\" y=\"%d\" width=\"%d\" "
                                "height=\"%d\" fill=\"#4a78c2\"><title>",
                                x0, top + h - bh, bw, bh);
            esc(b, d);
            evbuffer_add_printf(b, " 出勤率 attendance %.0f%%</title></rect>\n",
                                r * 100);
        }
        if (json_is_number(pr)) {
            double r = json_number_value(pr);
            int bh = (int)(r * h);
            evbuffer_add_printf(b,
                                "<rect x=\"%d\" y=\"%d\" width=\"%d\" "
                                "height=\"%d\" fill=\"#43a047\"><title>",
                                x0 + bw + 2, top + h - bh, bw, bh);
            esc(b, d);
            evbuffer_add_printf(b, " 通过率 pass rate %.0f%%</title></rect>\n",
                                r * 100);
        }
        evbuffer_add_printf(b, "<text x=\"%d\" y=\"%d\">", x0, top + h + 14);
        esc(b, strlen(d) == 10 ? d + 5 : d);
        evbuffer_add_printf(b, "</text>\n");
    }
    if (p->attendance_min > 0)
        evbuffer_add_printf(b,
                            "<line x1=\"60\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                            "stroke=\"#c62828\" stroke-dasharray=\"5 3\"/>\n",
                            top + h - p->attendance_min * h / 100, w - 10,
                            top + h - p->attendance_min * h / 100);
    if (p->pass_min > 0 && p->pass_min != p->attendance_min)
        evbuffer_add_printf(b,
                            "<line x1=\"60\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                            "stroke=\"#d08700\" stroke-dasharray=\"2 3\"/>\n",
                            top + h - p->pass_min * h / 100, w - 10,
                            top + h - p->pass_min * h / 100);
    evbuffer_add_printf(
        b,
        "<rect x=\"60\" y=\"%d\" width=\"10\" height=\"10\" "
        "fill=\"#4a78c2\"/><text x=\"74\" y=\"%d\">出勤率 attendance</text>"
        "<rect x=\"200\" y=\"%d\" width=\"10\" height=\"10\" "
        "fill=\"#43a047\"/><text x=\"214\" y=\"%d\">通过率 pass rate</text>"
        "<line x1=\"330\" y1=\"%d\" x2=\"350\" y2=\"%d\" stroke=\"#c62828\" "
        "stroke-dasharray=\"5 3\"/><text x=\"354\" y=\"%d\">最低线 "
        "minimums</text></svg>\n",
        top + h + 24, top + h + 33, top + h + 24, top + h + 33, top + h + 29,
        top + h + 29, top + h + 33);
}

static void exam_link(struct evbuffer *b, json_t *x, const char *text)
{
    char *site = evhttp_encode_uri(str(x, "site"));
    char *sess = evhttp_encode_uri(str(x, "session"));

    evbuffer_add_printf(b, "<a href=\"/exam?site=%s&amp;session=%s\">",
                        site ? site : "", sess ? sess : "");
    esc(b, text);
    evbuffer_add_printf(b, "</a>");
    free(site);
    free(sess);
}

static void pilot_card(struct evbuffer *b, json_t *pl, const struct profile *p)
{
    json_t *xs = json_object_get(pl, "exams"), *x;
    size_t i;

    evbuffer_add_printf(b, "<section class=\"pilot st-%s\" data-pilot=\"",
                        str(pl, "status"));
    esc(b, str(pl, "certificate"));
    evbuffer_add_printf(b, "\"><h3>");
    esc(b, str(pl, "certificate"));
    evbuffer_add_printf(b, " ");
    badge(b, str(pl, "status"));
    evbuffer_add_printf(b, "</h3>\n");
    if (json_is_string(json_object_get(pl, "organisation"))) {
        evbuffer_add_printf(b, "<p class=\"note\">培训评价组织 Evaluation "
                               "organisation: ");
        esc(b, str(pl, "organisation"));
        evbuffer_add_printf(b, "</p>");
    }
    verdicts(b, json_object_get(pl, "verdicts"));
    chart(b, xs, p);
    evbuffer_add_printf(
        b, "<table><tr><th>考试日期<span class=\"en\">Date</span></th>"
           "<th>场次<span class=\"en\">Session</span></th>"
           "<th>考点<span class=\"en\">Site</span></th>"
           "<th>等级<span class=\"en\">Level</span></th>"
           "<th>实到/公布<span class=\"en\">Sat / published</span></th>"
           "<th>出勤率<span class=\"en\">Attendance</span></th>"
           "<th>通过率<span class=\"en\">Pass rate</span></th>"
           "<th>状态<span class=\"en\">Status</span></th></tr>\n");
    json_array_foreach(xs, i, x)
    {
        evbuffer_add_printf(b, "<tr><td>");
        esc(b, str(x, "date"));
        evbuffer_add_printf(b, "</td><td>");
        exam_link(b, x, str(x, "session"));
        evbuffer_add_printf(b, "</td><td>");
        esc(b, str(x, "site"));
        evbuffer_add_printf(b, "</td><td>");
        esc(b, str(x, "level"));
        evbuffer_add_printf(b, "</td><td class=\"num\">");
        num(b, json_object_get(x, "present"));
        evbuffer_add_printf(b, " / ");
        num(b, json_object_get(x, "published"));
        evbuffer_add_printf(b, "</td><td class=\"num\">");
        pct(b, json_object_get(x, "attendance_rate"));
        evbuffer_add_printf(b, "</td><td class=\"num\">");
        pct(b, json_object_get(x, "pass_rate"));
        evbuffer_add_printf(b, "</td><td>");
        badge(b, str(x, "status"));
        evbuffer_add_printf(b, "</td></tr>\n");
    }
    evbuffer_add_printf(b, "</table></section>\n");
}

static void send_html(struct evhttp_request *req, int status,
                      struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    unsigned char *p = evbuffer_pullup(b, -1);

    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "Content-Security-Policy",
                      "default-src 'none'; style-src 'self'; img-src data:; "
                      "form-action 'none'; frame-ancestors 'none'");
    reply_text(req, status, "text/html; charset=utf-8", (const char *)p, n,
               NULL);
}

static void page_error(struct evhttp_request *req, int status,
                       const struct profile *p, const char *zh, const char *en)
{
    struct evbuffer *b = evbuffer_new();

    if (b == NULL) {
        reply_error(req, 503, "out of memory");
        return;
    }
    head(b, "出错", "Error", p);
    evbuffer_add_printf(b, "<h2>");
    esc(b, zh);
    evbuffer_add_printf(b, "<span class=\"en\">");
    esc(b, en);
    evbuffer_add_printf(b, "</span></h2>\n");
    foot(b);
    send_html(req, status, b);
    evbuffer_free(b);
}

/* A page's buffer with its head, for data loaded (or NULL: the store
 * failed with e, and an error page is sent).  NULL when nothing is left
 * to do; data is freed then. */
static struct evbuffer *page_start(struct evhttp_request *req,
                                   const struct office *o, json_t *data,
                                   const struct err *e, const char *zh,
                                   const char *en)
{
    struct evbuffer *b;

    if (data == NULL) {
        page_error(req, 503, o->profile, "数据库暂不可用", e->msg);
        return NULL;
    }
    if ((b = evbuffer_new()) == NULL) {
        json_decref(data);
        reply_error(req, 503, "out of memory");
        return NULL;
    }
    head(b, zh, en, o->profile);
    return b;
}

static void counts(struct evbuffer *b, json_t *pilots)
{
    int n[3] = {0, 0, 0};
    json_t *pl;
    size_t i;

    json_array_foreach(pilots, i, pl)
    {
        const char *s = str(pl, "status");
        n[strcmp(s, "red") == 0 ? 2 : strcmp(s, "amber") == 0 ? 1 : 0]++;
    }
    evbuffer_add_printf(
        b,
        "<p class=\"summary\"><span>试点 %zu 个 <span class=\"en\">pilots"
        "</span></span><span class=\"badge st-red\">撤销条件 %d</span> "
        "<span class=\"badge st-amber\">预警 %d</span> <span class=\"badge "
        "st-green\">正常 %d</span></p>\n",
        json_array_size(pilots), n[2], n[1], n[0]);
}

static void overview(struct office *o, struct evhttp_request *req)
{
    struct err e;
    json_t *ov = report_overview(o->store, o->profile, office_missed, o, &e);
    json_t *pl;
    struct evbuffer *b;
    size_t i;

    if ((b = page_start(req, o, ov, &e, "试点总览", "Pilots")) == NULL)
        return;
    evbuffer_add_printf(b, "<h2>试点总览<span class=\"en\">Pilots at a glance: "
                           "each against the rule profile</span></h2>\n");
    counts(b, json_object_get(ov, "pilots"));
    if (json_array_size(json_object_get(ov, "pilots")) == 0)
        evbuffer_add_printf(b, "<p>尚无考试记录。<span class=\"en\">No exam "
                               "recorded yet.</span></p>\n");
    json_array_foreach(json_object_get(ov, "pilots"), i, pl)
        pilot_card(b, pl, o->profile);
    evbuffer_add_printf(
        b, "<p class=\"note\">下载 Download: <a "
           "href=\"/v1/reports/pilots?format=csv\">试点 pilots.csv</a> · <a "
           "href=\"/v1/reports/exams?format=csv\">考试 exams.csv</a> · <a "
           "href=\"/v1/reports/exams\">exams.json</a></p>\n");
    foot(b);
    send_html(req, 200, b);
    evbuffer_free(b);
    json_decref(ov);
}

static json_t *find_exam(json_t *xs, const char *site, const char *session)
{
    json_t *x;
    size_t i;

    json_array_foreach(xs, i,
                       x) if (strcmp(str(x, "site"), site) == 0 &&
                              strcmp(str(x, "session"), session) == 0) return x;
    return NULL;
}

static void figure(struct evbuffer *b, const char *zh, const char *en,
                   json_t *v, int rate)
{
    evbuffer_add_printf(b,
                        "<tr><th>%s<span class=\"en\">%s</span></th>"
                        "<td class=\"num\">",
                        zh, en);
    if (rate)
        pct(b, v);
    else
        num(b, v);
    evbuffer_add_printf(b, "</td></tr>\n");
}

static void rooms_table(struct evbuffer *b, json_t *x)
{
    json_t *r, *v;
    size_t i;
    const char *k;

    evbuffer_add_printf(
        b, "<h2>考场<span class=\"en\">Rooms</span></h2>\n<table><tr>"
           "<th>考场<span class=\"en\">Room</span></th>"
           "<th>应到<span class=\"en\">Expected</span></th>"
           "<th>实到<span class=\"en\">Present</span></th>"
           "<th>迟到<span class=\"en\">Late</span></th>"
           "<th>缺考<span class=\"en\">Absent</span></th>"
           "<th>拒绝<span class=\"en\">Denied</span></th>"
           "<th>事件<span class=\"en\">Incidents</span></th></tr>\n");
    json_array_foreach(json_object_get(x, "rooms"), i, r)
    {
        evbuffer_add_printf(b, "<tr><td>");
        esc(b, str(r, "room"));
        evbuffer_add_printf(b, "</td><td class=\"num\">");
        num(b, json_object_get(r, "expected"));
        evbuffer_add_printf(b, "</td><td class=\"num\">");
        num(b, json_object_get(r, "present"));
        evbuffer_add_printf(b, "</td><td class=\"num\">");
        num(b, json_object_get(r, "late"));
        evbuffer_add_printf(b, "</td><td class=\"num\">");
        num(b, json_object_get(r, "absent"));
        evbuffer_add_printf(b, "</td><td class=\"num\">");
        num(b, json_object_get(r, "denied"));
        evbuffer_add_printf(b, "</td><td>");
        json_object_foreach(json_object_get(r, "incidents"), k, v)
        {
            esc(b, exams_incident_zh(k));
            evbuffer_add_printf(b, " (");
            esc(b, k);
            evbuffer_add_printf(b, ") ×%lld ",
                                (long long)json_integer_value(v));
        }
        evbuffer_add_printf(b, "</td></tr>\n");
    }
    evbuffer_add_printf(b, "</table>\n");
}

static void incidents_table(struct evbuffer *b, json_t *x)
{
    json_t *list = json_object_get(x, "incident_list"), *v;
    size_t i;

    evbuffer_add_printf(b, "<h2>考场事件<span class=\"en\">Incidents"
                           "</span></h2>\n");
    if (json_array_size(list) == 0) {
        evbuffer_add_printf(b, "<p>无。<span class=\"en\">None.</span></p>\n");
        return;
    }
    evbuffer_add_printf(b,
                        "<table><tr><th>类别<span class=\"en\">Kind</span></th>"
                        "<th>考场<span class=\"en\">Room</span></th>"
                        "<th>座位<span class=\"en\">Seat</span></th>"
                        "<th>准考证号<span class=\"en\">Ticket</span></th>"
                        "<th>记录<span class=\"en\">Note</span></th></tr>\n");
    json_array_foreach(list, i, v)
    {
        evbuffer_add_printf(b, "<tr><td>");
        esc(b, exams_incident_zh(str(v, "kind")));
        evbuffer_add_printf(b, " (");
        esc(b, str(v, "kind"));
        evbuffer_add_printf(b, ")</td><td>");
        esc(b, str(v, "room"));
        evbuffer_add_printf(b, "</td><td>");
        esc(b, str(v, "seat"));
        evbuffer_add_printf(b, "</td><td>");
        esc(b, str(v, "ticket"));
        evbuffer_add_printf(b, "</td><td>");
        esc(b, str(v, "note"));
        evbuffer_add_printf(b, "</td></tr>\n");
    }
    evbuffer_add_printf(b, "</table>\n");
}

static void exam_page(struct office *o, struct evhttp_request *req,
                      const char *query)
{
    struct office_query q;
    const char *why = "site and session are required";
    struct err e;
    json_t *ov = NULL, *x;
    struct evbuffer *b = NULL;

    if (office_query_parse(query, "se", &q, &why) == -1 || q.site == NULL ||
        q.session == NULL) {
        page_error(req, 400, o->profile, "请求有误", why);
        goto out;
    }
    if ((ov = report_overview(o->store, o->profile, office_missed, o, &e)) ==
        NULL) {
        page_error(req, 503, o->profile, "数据库暂不可用", e.msg);
        goto out;
    }
    if ((x = find_exam(json_object_get(ov, "exams"), q.site, q.session)) ==
        NULL) {
        page_error(req, 404, o->profile, "没有这场考试", "No such exam");
        goto out;
    }
    if ((b = evbuffer_new()) == NULL) {
        reply_error(req, 503, "out of memory");
        goto out;
    }
    head(b, "考试", "Exam", o->profile);
    evbuffer_add_printf(b, "<h2>");
    esc(b, str(x, "certificate"));
    evbuffer_add_printf(b, " ");
    esc(b, str(x, "level"));
    evbuffer_add_printf(b, " · ");
    esc(b, str(x, "date"));
    evbuffer_add_printf(b, " · 场次 ");
    esc(b, str(x, "session"));
    evbuffer_add_printf(b, " · 考点 ");
    esc(b, str(x, "site"));
    evbuffer_add_printf(b, " ");
    badge(b, str(x, "status"));
    evbuffer_add_printf(b, "<span class=\"en\">Exam: certificate, level, "
                           "date, session, site</span></h2>\n");
    verdicts(b, json_object_get(x, "verdicts"));
    evbuffer_add_printf(b, "<table>\n");
    figure(b, "公布人数", "Published", json_object_get(x, "published"), 0);
    figure(b, "应到", "Expected", json_object_get(x, "expected"), 0);
    figure(b, "实到", "Present", json_object_get(x, "present"), 0);
    figure(b, "迟到", "Late", json_object_get(x, "late"), 0);
    figure(b, "缺考", "Absent", json_object_get(x, "absent"), 0);
    figure(b, "出勤率", "Attendance rate",
           json_object_get(x, "attendance_rate"), 1);
    figure(b, "有成绩", "With a result", json_object_get(x, "with_result"), 0);
    figure(b, "通过", "Passed", json_object_get(x, "passed"), 0);
    figure(b, "通过率", "Pass rate", json_object_get(x, "pass_rate"), 1);
    evbuffer_add_printf(b, "</table>\n");
    rooms_table(b, x);
    incidents_table(b, x);
    foot(b);
    send_html(req, 200, b);
out:
    if (b)
        evbuffer_free(b);
    json_decref(ov);
    office_query_free(&q);
}

static void biweekly_page(struct office *o, struct evhttp_request *req)
{
    char today[11];
    struct err e;
    json_t *l, *v;
    struct evbuffer *b;
    size_t i;

    sitetime_today(today);
    l = biweekly_list(o->store, o->profile, today, &e);
    if ((b = page_start(req, o, l, &e, "双周报送", "Biweekly reports")) == NULL)
        return;
    evbuffer_add_printf(
        b,
        "<h2>双周报送<span class=\"en\">Biweekly reports: each period "
        "ends on day %d or %d; its report is made the next day</span>"
        "</h2>\n<table><tr><th>起<span class=\"en\">From</span></th>"
        "<th>止<span class=\"en\">To</span></th>"
        "<th>应报日<span class=\"en\">Due</span></th>"
        "<th>生成时间 (UTC)<span class=\"en\">Generated</span></th>"
        "<th>方式<span class=\"en\">How</span></th>"
        "<th>按时<span class=\"en\">On time</span></th>"
        "<th>下载<span class=\"en\">Download</span></th></tr>\n",
        o->profile->report_days[0], o->profile->report_days[1]);
    json_array_foreach(l, i, v)
    {
        int kept = json_is_string(json_object_get(v, "generated"));
        int on_time = json_is_true(json_object_get(v, "on_time"));
        int counted = json_is_true(json_object_get(v, "counted"));
        evbuffer_add_printf(b,
                            "<tr data-period=\"%s\"><td>%s</td><td>%s</td>"
                            "<td>%s</td><td>",
                            str(v, "end"), str(v, "start"), str(v, "end"),
                            str(v, "due"));
        esc(b, kept ? str(v, "generated") : "—");
        evbuffer_add_printf(b, "</td><td>");
        esc(b, kept ? str(v, "how") : "");
        evbuffer_add_printf(b, "</td><td>");
        if (!counted)
            evbuffer_add_printf(b, "%s",
                                kept ? "启用前补生成 <span class=\"en\">"
                                       "made up: before reporting "
                                       "began</span>"
                                     : "未生成 <span class=\"en\">"
                                       "not made</span>");
        else if (on_time)
            badge(b, "green");
        else {
            badge(b, "red");
            evbuffer_add_printf(b, kept ? " 迟报 late" : " 漏报 missed");
        }
        evbuffer_add_printf(b, "</td><td>");
        if (kept)
            evbuffer_add_printf(
                b,
                "<a href=\"/v1/reports/biweekly?period=%s&amp;format=csv\">"
                "CSV</a> · <a "
                "href=\"/v1/reports/biweekly?period=%s&amp;format=json\">"
                "JSON</a>",
                str(v, "end"), str(v, "end"));
        evbuffer_add_printf(b, "</td></tr>\n");
    }
    evbuffer_add_printf(b, "</table>\n");
    if (json_array_size(l) == 0)
        evbuffer_add_printf(b, "<p>尚无已结束的报送周期。<span class=\"en\">No "
                               "period has ended since the first exam."
                               "</span></p>\n");
    foot(b);
    send_html(req, 200, b);
    evbuffer_free(b);
    json_decref(l);
}

static void asset(struct evhttp_request *req, const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(web_assets) / sizeof(web_assets[0]); i++)
        if (strcmp(web_assets[i].name, name) == 0) {
            reply_text(req, 200, "text/css; charset=utf-8", web_assets[i].text,
                       strlen(web_assets[i].text), NULL);
            return;
        }
    reply_error(req, 404, "no such resource");
}

int office_page(struct office *o, struct evhttp_request *req, const char *path,
                const char *query)
{
    if (strcmp(path, "/office.css") == 0)
        asset(req, "office.css");
    else if (strcmp(path, "/") == 0 && query == NULL)
        overview(o, req);
    else if (strcmp(path, "/exam") == 0)
        exam_page(o, req, query);
    else if (strcmp(path, "/biweekly") == 0 && query == NULL)
        biweekly_page(o, req);
    else
        return 0;
    return 1;
}
