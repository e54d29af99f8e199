/*
 * report.c: the attendance report (report.h).  Two passes over the
 * stored events: the sessions (session.added / session.changed, the
 * latest of each site's session wins), then the decisions of the
 * sessions on the date, gathered in jansson objects used as sets (a
 * candidate seen by two stations counts once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "cstore.h"
#include "report.h"

#define SEP "\x1f"

struct gather {
    const char *date;
    json_t *sessions; /* site SEP session -> {certificate, level, published} */
    json_t *rooms;    /* site SEP session SEP room -> tallies */
    json_t *present;  /* site SEP session -> {ticket: true} */
};

static int on_session(void *arg, const struct cstore_row *r, struct err *e)
{
    struct gather *g = arg;
    json_t *p, *s;
    char key[600];

    (void)e;
    if (r->session == NULL || r->payload == NULL)
        return 0;
    if ((p = json_loads(r->payload, 0, NULL)) == NULL)
        return 0;
    snprintf(key, sizeof(key), "%s" SEP "%s", r->site, r->session);
    if ((s = json_object_get(g->sessions, key)) == NULL) {
        s = json_object();
        json_object_set_new(g->sessions, key, s);
    }
#define TAKE(k)                                                                \
    if (json_object_get(p, k) != NULL)                                         \
        json_object_set(s, k, json_object_get(p, k));
    TAKE("certificate")
    TAKE("level")
    TAKE("date")
    TAKE("published")
#undef TAKE
    json_decref(p);
    return 0;
}

static json_t *set_in(json_t *o, const char *name)
{
    json_t *s = json_object_get(o, name);

    if (s == NULL) {
        s = json_object();
        json_object_set_new(o, name, s);
    }
    return s;
}

static int on_fact(void *arg, const struct cstore_row *r, struct err *e)
{
    struct gather *g = arg;
    json_t *s, *room, *p = NULL;
    char skey[600], rkey[800];
    const char *date, *ticket = r->ticket ? r->ticket : "";

    (void)e;
    if (r->session == NULL)
        return 0;
    snprintf(skey, sizeof(skey), "%s" SEP "%s", r->site, r->session);
    if ((s = json_object_get(g->sessions, skey)) == NULL ||
        (date = json_string_value(json_object_get(s, "date"))) == NULL ||
        strcmp(date, g->date) != 0)
        return 0;
    snprintf(rkey, sizeof(rkey), "%s" SEP "%s", skey, r->room ? r->room : "");
    room = set_in(g->rooms, rkey);
    if (strcmp(r->kind, "checkin.accepted") == 0 ||
        strcmp(r->kind, "checkin.manual") == 0) {
        json_object_set_new(set_in(room, "present"), ticket, json_true());
        json_object_set_new(set_in(g->present, skey), ticket, json_true());
    } else if (strcmp(r->kind, "absent.marked") == 0) {
        json_object_set_new(set_in(room, "absent"), ticket, json_true());
    } else if (strcmp(r->kind, "checkin.denied") == 0) {
        json_t *d = set_in(room, "n");
        json_int_t n = json_integer_value(json_object_get(d, "denied"));
        json_object_set_new(d, "denied", json_integer(n + 1));
    } else if (strcmp(r->kind, "incident.logged") == 0 &&
               (p = json_loads(r->payload, 0, NULL)) != NULL) {
        const char *kind = json_string_value(json_object_get(p, "kind"));
        json_t *inc = set_in(room, "incidents");
        if (kind != NULL) {
            json_int_t n = json_integer_value(json_object_get(inc, kind));
            json_object_set_new(inc, kind, json_integer(n + 1));
            if (strcmp(kind, "late") == 0 && r->ticket)
                json_object_set_new(set_in(room, "late"), ticket, json_true());
        }
        json_decref(p);
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of o, sorted (array of borrowed strings; caller frees). */
static const char **sorted_keys(json_t *o, size_t *n)
{
    const char **k = calloc(json_object_size(o) + 1, sizeof(*k));
    const char *key;
    json_t *v;
    size_t i = 0;

    if (k == NULL)
        return NULL;
    json_object_foreach(o, key, v) k[i++] = key;
    (void)v;
    qsort(k, i, sizeof(*k), cmp_str);
    *n = i;
    return k;
}

/* absent: marked absent and never present in the session */
static json_int_t count_absent(json_t *absent, json_t *present)
{
    const char *t;
    json_t *v;
    json_int_t n = 0;

    json_object_foreach(absent, t, v) if (json_object_get(present, t) == NULL)
        n++;
    (void)v;
    return n;
}

static void add_incidents(json_t *into, json_t *from)
{
    const char *k;
    json_t *v;

    json_object_foreach(from, k, v)
    {
        json_int_t n = json_integer_value(json_object_get(into, k));
        json_object_set_new(into, k, json_integer(n + json_integer_value(v)));
    }
}

/* rate and flags of a row */
static void finish_row(json_t *row, json_int_t published, int has_published)
{
    json_int_t present = json_integer_value(json_object_get(row, "present"));
    json_int_t expected = json_integer_value(json_object_get(row, "expected"));
    json_t *flags = json_array();

    if (has_published && published > 0)
        json_object_set_new(row, "attendance_rate",
                            json_real((double)present / (double)published));
    else if (expected > 0)
        json_object_set_new(row, "attendance_rate",
                            json_real((double)present / (double)expected));
    else
        json_object_set_new(row, "attendance_rate", json_null());
    json_object_set_new(
        row, "rate_of",
        json_string(has_published && published > 0 ? "published" : "expected"));
    if (has_published &&
        (double)present < REPORT_ATTENDANCE_MIN * (double)published)
        json_array_append_new(flags, json_pack("{s:s, s:f, s:I, s:I}", "code",
                                               "attendance_below_min", "min",
                                               REPORT_ATTENDANCE_MIN, "present",
                                               (json_int_t)present, "published",
                                               (json_int_t)published));
    json_object_set_new(row, "flags", flags);
}

json_t *report_attendance(struct cstore *st, const char *date, struct err *e)
{
    static const char *const skinds[] = {"session.added", "session.changed",
                                         NULL};
    static const char *const fkinds[] = {"checkin.accepted", "checkin.manual",
                                         "checkin.denied",   "absent.marked",
                                         "incident.logged",  NULL};
    struct gather g = {date, json_object(), json_object(), json_object()};
    json_t *out = NULL, *rows = json_array(), *sessions = json_array();
    const char **rk = NULL;
    size_t nr = 0, i;

    if (st->ops->rows(st, skinds, on_session, &g, e) == -1 ||
        st->ops->rows(st, fkinds, on_fact, &g, e) == -1)
        goto out;
    if ((rk = sorted_keys(g.rooms, &nr)) == NULL) {
        err_set(e, EX_OSERR, "out of memory");
        goto out;
    }
    for (i = 0; i < nr;) {
        /* rooms of one session are adjacent in key order */
        char site[256], sess[256];
        const char *k = rk[i], *a = strstr(k, SEP), *b;
        char skey[600];
        json_t *s, *pres, *tot = NULL, *tinc = json_object();
        json_int_t published = 0, texp = 0, tpres = 0, tlate = 0, tabs = 0,
                   tden = 0;
        int has_pub;
        size_t j;

        b = strstr(a + 1, SEP);
        snprintf(site, sizeof(site), "%.*s", (int)(a - k), k);
        snprintf(sess, sizeof(sess), "%.*s", (int)(b - a - 1), a + 1);
        snprintf(skey, sizeof(skey), "%.*s", (int)(b - k), k);
        s = json_object_get(g.sessions, skey);
        pres = set_in(g.present, skey);
        has_pub = json_is_integer(json_object_get(s, "published"));
        published = json_integer_value(json_object_get(s, "published"));
        for (j = i; j < nr && strncmp(rk[j], skey, strlen(skey)) == 0 &&
                    rk[j][strlen(skey)] == SEP[0];
             j++) {
            json_t *room = json_object_get(g.rooms, rk[j]), *row;
            json_t *rp = set_in(room, "present"), *ra = set_in(room, "absent");
            json_t *inc = set_in(room, "incidents");
            json_int_t np = (json_int_t)json_object_size(rp);
            json_int_t na = count_absent(ra, pres);
            json_int_t nl = (json_int_t)json_object_size(set_in(room, "late"));
            json_int_t nd = json_integer_value(
                json_object_get(set_in(room, "n"), "denied"));

            row = json_pack(
                "{s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:I, "
                "s:I, s:I, s:O}",
                "site", site, "session", sess, "room", rk[j] + strlen(skey) + 1,
                "certificate", json_copy(json_object_get(s, "certificate")),
                "level", json_copy(json_object_get(s, "level")), "published",
                json_null(), "expected", np + na, "present", np, "late", nl,
                "absent", na, "denied", nd, "incidents", inc);
            finish_row(row, 0, 0);
            json_array_append_new(rows, row);
            add_incidents(tinc, inc);
            texp += np + na;
            tpres += np;
            tlate += nl;
            tabs += na;
            tden += nd;
        }
        tot = json_pack("{s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I, "
                        "s:o}",
                        "site", site, "session", sess, "certificate",
                        json_copy(json_object_get(s, "certificate")), "level",
                        json_copy(json_object_get(s, "level")), "published",
                        has_pub ? json_integer(published) : json_null(),
                        "expected", texp, "present", tpres, "late", tlate,
                        "absent", tabs, "denied", tden, "incidents", tinc);
        finish_row(tot, published, has_pub);
        json_array_append_new(sessions, tot);
        i = j;
    }
    out = json_pack("{s:s, s:O, s:O}", "date", date, "rooms", rows, "sessions",
                    sessions);
out:
    free(rk);
    json_decref(rows);
    json_decref(sessions);
    json_decref(g.sessions);
    json_decref(g.rooms);
    json_decref(g.present);
    return out;
}

/* --- CSV --------------------------------------------------------------- */

struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* One field, quoted by libcsv (RFC 4180) when it has to be. */
static void sb_field(struct sbuf *b, const char *s, int last)
{
    size_t n = strlen(s), need = 2 * n + 3;
    char *q;

    if (strpbrk(s, ",\"\r\n") == NULL) {
        sb_add(b, s, n);
        sb_add(b, last ? "\r\n" : ",", last ? 2 : 1);
        return;
    }
    if ((q = malloc(need)) == NULL) {
        b->oom = 1;
        return;
    }
    n = csv_write(q, need, s, strlen(s));
    sb_add(b, q, n);
    free(q);
    sb_add(b, last ? "\r\n" : ",", last ? 2 : 1);
}

static void num_field(struct sbuf *b, json_t *v, int last)
{
    char t[64] = "";

    if (json_is_integer(v))
        snprintf(t, sizeof(t), "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(t, sizeof(t), "%.4f", json_real_value(v));
    sb_field(b, t, last);
}

static void csv_row(struct sbuf *b, json_t *r, const char *room)
{
    const char *k;
    json_t *v, *flags = json_object_get(r, "flags");
    char inc[1024] = "", fl[256] = "";
    size_t i;

    sb_field(b, json_string_value(json_object_get(r, "site")), 0);
    sb_field(b, json_string_value(json_object_get(r, "session")), 0);
    sb_field(b, room, 0);
    sb_field(b,
             json_string_value(json_object_get(r, "certificate"))
                 ? json_string_value(json_object_get(r, "certificate"))
                 : "",
             0);
    sb_field(b,
             json_string_value(json_object_get(r, "level"))
                 ? json_string_value(json_object_get(r, "level"))
                 : "",
             0);
    num_field(b, json_object_get(r, "published"), 0);
    num_field(b, json_object_get(r, "expected"), 0);
    num_field(b, json_object_get(r, "present"), 0);
    num_field(b, json_object_get(r, "late"), 0);
    num_field(b, json_object_get(r, "absent"), 0);
    num_field(b, json_object_get(r, "denied"), 0);
    json_object_foreach(json_object_get(r, "incidents"), k, v)
        snprintf(inc + strlen(inc), sizeof(inc) - strlen(inc), "%s%s:%lld",
                 inc[0] ? " " : "", k, (long long)json_integer_value(v));
    sb_field(b, inc, 0);
    num_field(b, json_object_get(r, "attendance_rate"), 0);
    json_array_foreach(flags, i, v) snprintf(
        fl + strlen(fl), sizeof(fl) - strlen(fl), "%s%s", fl[0] ? " " : "",
        json_string_value(json_object_get(v, "code")));
    sb_field(b, fl, 1);
}

char *report_attendance_csv(const json_t *report)
{
    static const char *const head[] = {"site",
                                       "session",
                                       "room",
                                       "certificate",
                                       "level",
                                       "published",
                                       "expected",
                                       "present",
                                       "late",
                                       "absent",
                                       "denied",
                                       "incidents",
                                       "attendance_rate",
                                       "flags"};
    struct sbuf b = {NULL, 0, 0, 0};
    json_t *r;
    size_t i;

    sb_add(&b, "\xEF\xBB\xBF", 3); /* BOM: Excel reads UTF-8 */
    for (i = 0; i < sizeof(head) / sizeof(head[0]); i++)
        sb_field(&b, head[i], i + 1 == sizeof(head) / sizeof(head[0]));
    json_array_foreach(json_object_get(report, "rooms"), i, r)
        csv_row(&b, r, json_string_value(json_object_get(r, "room")));
    json_array_foreach(json_object_get(report, "sessions"), i, r)
        csv_row(&b, r, "(all)");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
