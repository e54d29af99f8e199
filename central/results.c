/*
 * results.c: the results import (results.h).  The file is read whole
 * into rows first (csvread), checked line by line, then matched against
 * the exams model (exams.h), and stored only when nothing was wrong.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "batch.h"
#include "csvread.h"
#include "cstore.h"
#include "exams.h"
#include "idnumber.h"
#include "results.h"
#include "sitetime.h"

struct row {
    int line;
    char ticket[RESULTS_TICKET_MAX + 1];
    char session[BATCH_FIELD_MAX + 1]; /* as the events carry it */
    char score[RESULTS_SCORE_MAX + 1];
    int passed;
    const char *site; /* matched: borrowed from the model */
};

struct ctx {
    const struct results_opts *o;
    FILE *errs;
    int header, c_ticket, c_score, c_pass, c_session;
    struct row *rows;
    size_t n, cap;
    json_t *seen; /* session SEP ticket -> line */
    int bad;
    /* The lines shown, per pass (0: the file's own checks, 1: matching
     * against the record), each in file order; printed merged, so that
     * an administrator reads one list from the top of the file down. */
    struct shown {
        int line;
        char *msg;
    } * shown[2];
    size_t nshown[2];
    int pass, oom;
};

static void bad(struct ctx *x, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void bad(struct ctx *x, int line, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;

    struct shown *sh;

    x->bad++;
    /* the first RESULTS_SHOW_MAX lines of the merged list are among the
     * first RESULTS_SHOW_MAX of each pass */
    if (x->nshown[x->pass] >= RESULTS_SHOW_MAX)
        return;
    if (x->shown[x->pass] == NULL &&
        (x->shown[x->pass] = calloc(RESULTS_SHOW_MAX, sizeof(*sh))) == NULL) {
        x->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* a file may carry an ID number where a ticket belongs: never echo
     * one */
    idnumber_redact(msg);
    sh = &x->shown[x->pass][x->nshown[x->pass]];
    if ((sh->msg = strdup(msg)) == NULL) {
        x->oom = 1;
        return;
    }
    sh->line = line;
    x->nshown[x->pass]++;
}

/* The bad lines of both passes in file order (a line's own complaints
 * first), at most RESULTS_SHOW_MAX, then how many more there were. */
static void print_bad(struct ctx *x)
{
    size_t i = 0, j = 0, k;

    for (k = 0; k < RESULTS_SHOW_MAX && (i < x->nshown[0] || j < x->nshown[1]);
         k++) {
        const struct shown *sh =
            j == x->nshown[1] || (i < x->nshown[0] &&
                                  x->shown[0][i].line <= x->shown[1][j].line)
                ? &x->shown[0][i++]
                : &x->shown[1][j++];
        fprintf(x->errs, "%s:%d: %s\n", x->o->path, sh->line, sh->msg);
    }
    if (x->bad > (int)k)
        fprintf(x->errs, "%s: %d more bad lines not shown\n", x->o->path,
                x->bad - (int)k);
}

static void shown_free(struct ctx *x)
{
    size_t p, i;

    for (p = 0; p < 2; p++) {
        for (i = 0; i < x->nshown[p]; i++)
            free(x->shown[p][i].msg);
        free(x->shown[p]);
    }
}

static const char *const H_TICKET[] = {"ticket", "准考证号", "准考证",
                                       "admission ticket", NULL};
static const char *const H_SCORE[] = {"score", "result",   "成绩",
                                      "分数",  "考试成绩", NULL};
static const char *const H_PASS[] = {"pass", "passed",   "是否通过",
                                     "通过", "是否合格", NULL};
static const char *const H_SESSION[] = {"session", "场次", "考试场次",
                                        "session code", NULL};

/* 1 pass, 0 fail, -1 neither */
static int pass_word(const char *s)
{
    static const char *const yes[] = {"是",   "通过",   "合格", "yes", "y",
                                      "pass", "passed", "true", "1",   NULL};
    static const char *const no[] = {"否",    "未通过", "不通过", "不合格",
                                     "no",    "n",      "fail",   "failed",
                                     "false", "0",      NULL};
    const char *const *w;

    for (w = yes; *w; w++)
        if (strcasecmp(s, *w) == 0)
            return 1;
    for (w = no; *w; w++)
        if (strcasecmp(s, *w) == 0)
            return 0;
    return -1;
}

static int ticket_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > RESULTS_TICKET_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return 0;
    return 1;
}

/* A number 0..1000 with at most 2 decimals, or a pass word. */
static int score_ok(const char *s)
{
    char *end;
    double v;

    if (pass_word(s) != -1)
        return 1;
    v = strtod(s, &end);
    return end != s && *end == '\0' && v >= 0 && v <= 1000 &&
           strspn(s, "0123456789.") == strlen(s);
}

static int on_header(struct ctx *x, char **f, size_t n, struct err *e)
{
    x->header = 1;
    x->c_ticket = csvread_column(f, n, H_TICKET);
    x->c_score = csvread_column(f, n, H_SCORE);
    x->c_pass = csvread_column(f, n, H_PASS);
    x->c_session = csvread_column(f, n, H_SESSION);
    if (x->c_ticket < 0 || (x->c_score < 0 && x->c_pass < 0))
        return err_set(e, EX_DATAERR,
                       "the header needs ticket (准考证号) and score (成绩) "
                       "or pass (是否通过)");
    return 0;
}

static const char *field(char **f, size_t n, int c)
{
    return c >= 0 && (size_t)c < n ? f[c] : "";
}

static int on_row(void *ud, int line, char **f, size_t n, struct err *e)
{
    struct ctx *x = ud;
    const char *t, *sc, *ps, *se;
    struct row r;
    char key[BATCH_FIELD_MAX + RESULTS_TICKET_MAX + 8];
    json_t *prev;

    if (!x->header)
        return on_header(x, f, n, e);
    if (x->n >= RESULTS_MAX_ROWS)
        return err_set(e, EX_DATAERR, "more than %d results in one file",
                       RESULTS_MAX_ROWS);
    memset(&r, 0, sizeof(r));
    r.line = line;
    t = field(f, n, x->c_ticket);
    sc = field(f, n, x->c_score);
    ps = field(f, n, x->c_pass);
    se = x->c_session >= 0 ? field(f, n, x->c_session)
                           : (x->o->session ? x->o->session : "");
    if (!ticket_ok(t)) {
        bad(x, line, "ticket '%.40s' is not 1 to %d letters or digits", t,
            RESULTS_TICKET_MAX);
        return 0;
    }
    if (se[0] != '\0' && !batch_id_valid(se)) {
        bad(x, line, "ticket %s: session '%.40s' is not a session code", t, se);
        return 0;
    }
    if (sc[0] != '\0' && (strlen(sc) > RESULTS_SCORE_MAX || !score_ok(sc))) {
        bad(x, line,
            "ticket %s: score '%.40s' is not a number 0-1000 or 合格/不合格", t,
            sc);
        return 0;
    }
    r.passed = x->c_pass >= 0 ? pass_word(ps) : pass_word(sc);
    if (r.passed == -1) {
        if (x->c_pass >= 0)
            bad(x, line, "ticket %s: pass '%.40s' is not 是/否 (yes/no)", t,
                ps);
        else
            bad(x, line,
                "ticket %s: no pass column and the score '%.40s' does not "
                "say pass or fail",
                t, sc);
        return 0;
    }
    memcpy(r.ticket, t, strlen(t) + 1);
    snprintf(r.session, sizeof(r.session), "%s", se);
    memcpy(r.score, sc, strlen(sc) + 1);
    snprintf(key, sizeof(key), "%s" EXAMS_SEP "%s", r.session, r.ticket);
    if ((prev = json_object_get(x->seen, key)) != NULL) {
        bad(x, line, "ticket %s appears twice (also on line %lld)", t,
            (long long)json_integer_value(prev));
        return 0;
    }
    json_object_set_new(x->seen, key, json_integer(line));
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 256;
        struct row *p = realloc(x->rows, cap * sizeof(*p));
        if (p == NULL)
            return err_set(e, EX_OSERR, "out of memory");
        x->rows = p;
        x->cap = cap;
    }
    x->rows[x->n++] = r;
    return 0;
}

/* ticket -> [exam key, ...] for every ticket checked in or marked absent */
static json_t *ticket_index(json_t *model)
{
    json_t *idx = json_object(), *s, *v;
    const char *k, *t;
    static const char *const sets[] = {"present", "absent"};
    size_t i;

    json_object_foreach(model, k, s) for (i = 0; i < 2; i++)
        json_object_foreach(exams_obj(s, sets[i]), t, v)
    {
        json_t *a = json_object_get(idx, t);
        size_t j;
        json_t *have;
        int dup = 0;
        if (a == NULL) {
            a = json_array();
            json_object_set_new(idx, t, a);
        }
        json_array_foreach(a, j, have) dup |=
            strcmp(json_string_value(have), k) == 0;
        if (!dup)
            json_array_append_new(a, json_string(k));
    }
    return idx;
}

/* Link r to its exam: the one session (of r->session, when given) the
 * ticket checked in at. */
static void match(struct ctx *x, json_t *model, json_t *idx, struct row *r)
{
    json_t *keys = json_object_get(idx, r->ticket), *k, *hit = NULL;
    const char *absent_in = NULL;
    size_t i;
    int present = 0;

    json_array_foreach(keys, i, k)
    {
        json_t *s = json_object_get(model, json_string_value(k));
        const char *sess = json_string_value(json_object_get(s, "session"));
        if (r->session[0] && strcmp(sess, r->session) != 0)
            continue;
        if (json_object_get(exams_obj(s, "present"), r->ticket) != NULL) {
            present++;
            hit = s;
        } else {
            absent_in = sess;
        }
    }
    if (present == 1) {
        r->site = json_string_value(json_object_get(hit, "site"));
        snprintf(r->session, sizeof(r->session), "%s",
                 json_string_value(json_object_get(hit, "session")));
    } else if (present > 1)
        bad(x, r->line,
            "ticket %s checked in at %d exams: give the session (a session "
            "column or --session)",
            r->ticket, present);
    else if (absent_in != NULL)
        bad(x, r->line,
            "ticket %s was recorded absent in session %s: a result without "
            "an attendance",
            r->ticket, absent_in);
    else
        bad(x, r->line,
            "ticket %s never checked in%s%s: a result without an attendance",
            r->ticket, r->session[0] ? " for session " : "", r->session);
}

static int store_rows(struct cstore *st, struct ctx *x, const char *sha,
                      struct err *e)
{
    char now[SITETIME_ISO_MAX];
    struct cstore_result cr;
    size_t i;

    sitetime_format_utc(sitetime_now_ms(), now);
    if (st->ops->begin(st, e) == -1)
        return -1;
    for (i = 0; i < x->n; i++) {
        cr.site = x->rows[i].site;
        cr.session = x->rows[i].session;
        cr.ticket = x->rows[i].ticket;
        cr.score = x->rows[i].score[0] ? x->rows[i].score : NULL;
        cr.passed = x->rows[i].passed;
        cr.file_sha256 = sha;
        cr.line = x->rows[i].line;
        cr.imported = now;
        if (st->ops->result_put(st, &cr, e) == -1) {
            st->ops->rollback(st);
            return -1;
        }
    }
    if (st->ops->commit(st, e) == -1) {
        st->ops->rollback(st);
        return -1;
    }
    return 0;
}

static int count_exams(struct ctx *x, struct results_summary *sum)
{
    json_t *ex = json_object();
    char key[600];
    size_t i;

    for (i = 0; i < x->n; i++) {
        snprintf(key, sizeof(key), "%s" EXAMS_SEP "%s", x->rows[i].site,
                 x->rows[i].session);
        json_object_set_new(ex, key, json_true());
        sum->passed += x->rows[i].passed;
    }
    sum->exams = (int)json_object_size(ex);
    json_decref(ex);
    return 0;
}

int results_import(struct cstore *st, const struct results_opts *o, FILE *errs,
                   struct results_summary *sum, struct err *e)
{
    struct ctx x;
    struct csvread_info info;
    enum csv_encoding enc = CSV_ENC_AUTO;
    json_t *model = NULL, *idx = NULL;
    size_t i;
    int rc = -1;

    memset(&x, 0, sizeof(x));
    memset(sum, 0, sizeof(*sum));
    x.o = o;
    x.errs = errs;
    x.seen = json_object();
    if (o->encoding && csvread_encoding(o->encoding, &enc) == -1) {
        err_set(e, EX_USAGE, "--encoding must be auto, utf-8 or gb18030");
        goto out;
    }
    if (csvread_file(o->path, enc, on_row, &x, &info, e) == -1)
        goto out;
    snprintf(sum->encoding, sizeof(sum->encoding), "%s",
             info.encoding == CSV_ENC_GB18030 ? "gb18030" : "utf-8");
    if (!x.header) {
        err_set(e, EX_DATAERR, "%s: empty: no header row", o->path);
        goto out;
    }
    if ((model = exams_load(st, e)) == NULL)
        goto out;
    idx = ticket_index(model);
    x.pass = 1;
    for (i = 0; i < x.n; i++)
        match(&x, model, idx, &x.rows[i]);
    sum->rows = (int)x.n;
    sum->bad = x.bad;
    if (x.oom) {
        err_set(e, EX_OSERR, "out of memory");
        goto out;
    }
    if (x.bad > 0) {
        err_set(e, EX_DATAERR, "%s: %d bad line%s: nothing stored", o->path,
                x.bad, x.bad == 1 ? "" : "s");
        goto out;
    }
    count_exams(&x, sum);
    rc = o->dry_run ? 0 : store_rows(st, &x, info.sha256, e);
out:
    print_bad(&x);
    json_decref(idx);
    json_decref(model);
    json_decref(x.seen);
    free(x.rows);
    shown_free(&x);
    return rc;
}
