/*
 * import.c: session and roster files into the store, validated and atomic.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "event.h"
#include "idnumber.h"
#include "import.h"
#include "number.h"
#include "refdigest.h"
#include "roster.h"
#include "secret.h"
#include "session.h"
#include "site.h"
#include "sitetime.h"
#include "store.h"

#define PROGRESS_EVERY 5000

/* --- report ------------------------------------------------------------ */

static int report_add(struct import_report *r, int line, const char *reason)
{
    struct import_error *n;
    char *p;

    if (r->nerrors == r->caperrors) {
        size_t cap = r->caperrors ? r->caperrors * 2 : 16;
        if ((n = realloc(r->errors, cap * sizeof(*n))) == NULL)
            return -1;
        r->errors = n;
        r->caperrors = cap;
    }
    if ((r->errors[r->nerrors].reason = strdup(reason)) == NULL)
        return -1;
    /* a reason quotes fields, which may hold newlines: keep it one line */
    for (p = r->errors[r->nerrors].reason; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    r->errors[r->nerrors++].line = line;
    return 0;
}

void import_report_free(struct import_report *r)
{
    size_t i;

    for (i = 0; i < r->nerrors; i++)
        free(r->errors[i].reason);
    free(r->errors);
    r->errors = NULL;
    r->nerrors = r->caperrors = 0;
    correct_list_free(&r->changes);
}

/*
 * The errors [0, mid) and [mid, n) are each in line order (the rows as
 * read, then the changes applied after the file): merge them, keeping the
 * order of a row's own errors.  0 or -1 (out of memory).
 */
static int report_merge(struct import_report *r, size_t mid)
{
    struct import_error *t;
    size_t i = 0, j = mid, k = 0;

    if (mid == 0 || mid >= r->nerrors)
        return 0;
    if ((t = malloc(r->nerrors * sizeof(*t))) == NULL)
        return -1;
    while (i < mid || j < r->nerrors)
        t[k++] = j == r->nerrors ||
                         (i < mid && r->errors[i].line <= r->errors[j].line)
                     ? r->errors[i++]
                     : r->errors[j++];
    memcpy(r->errors, t, r->nerrors * sizeof(*t));
    free(t);
    return 0;
}

/*
 * Where the checks of one row put their complaints: every one goes into
 * the report (when there is one) at the row's line, the first also into e
 * (for `session add`, which has no report).  n counts them, folded ones
 * (an unknown session named again, see session_unknown) included.
 */
struct row_errs {
    struct import_report *r; /* or NULL */
    int line;
    int n;
    int oom;
    struct err *e; /* or NULL */
};

static int row_bad(struct row_errs *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int row_bad(struct row_errs *w, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (w->n++ == 0 && w->e != NULL)
        err_set(w->e, EX_DATAERR, "%s", msg);
    if (w->r != NULL && report_add(w->r, w->line, msg) == -1)
        w->oom = 1;
    return -1;
}

/*
 * "2.60000E+11": what Excel shows, and saves, of a long number in a column
 * formatted as General.  The digits after the sixth are lost.
 */
static int excel_scientific(const char *s)
{
    const char *p = s;

    if (!isdigit((unsigned char)*p))
        return 0;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if ((*p != 'E' && *p != 'e') || (p[1] != '+' && p[1] != '-') ||
        !isdigit((unsigned char)p[2]))
        return 0;
    for (p += 2; isdigit((unsigned char)*p); p++)
        ;
    return *p == '\0';
}

#define EXCEL_HINT                                                             \
    "Excel turned the column into numbers and dropped digits: format the "     \
    "column as text in the office's workbook and save the CSV again"

/* --- field checks -------------------------------------------------------- */

/* Printable UTF-8 text of 1..max bytes: no control characters. */
static int text_valid(const char *s, size_t max)
{
    size_t n = strlen(s);
    const unsigned char *p;

    if (n == 0 || n > max)
        return 0;
    for (p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* An optional number column: empty is the default. */
static int int_field(const char *s, int lo, int hi, int dflt, int *out)
{
    if (*s == '\0') {
        *out = dflt;
        return 0;
    }
    return number_parse_int(s, lo, hi, out);
}

/* Every check of one session's fields; w->n > 0 when any failed. */
static int session_check(const char *code, const char *certificate,
                         const char *level, const char *date, const char *start,
                         const char *end, const char *opens_before,
                         const char *late_after, const char *published,
                         const char *organisation, struct session_row *s,
                         struct row_errs *w)
{
    int y, m, d, times_ok = 1, opens_ok = 1, late_ok = 1;

    memset(s, 0, sizeof(*s));
    if (*code == '\0')
        row_bad(w, "session code is empty");
    else if (!site_ident_valid(code, SESSION_CODE_MAX))
        row_bad(w,
                "session code '%.40s' must be 1-%d letters, digits, '-', '_' "
                "or '.'",
                code, SESSION_CODE_MAX);
    if (!text_valid(certificate, sizeof(s->certificate) - 1))
        row_bad(w, "certificate name is empty or too long");
    if (!session_level_valid(level))
        row_bad(w, "level must be 初级, 中级 or 高级, not '%.40s'", level);
    if (sitetime_parse_date(date, &y, &m, &d) == -1)
        row_bad(w, "date '%.40s' is not a real YYYY-MM-DD date", date);
    if ((s->start_min = sitetime_parse_hhmm(start)) == -1) {
        times_ok = 0;
        row_bad(w, "start time '%.40s' is not HH:MM", start);
    }
    if ((s->end_min = sitetime_parse_hhmm(end)) == -1) {
        times_ok = 0;
        row_bad(w, "end time '%.40s' is not HH:MM", end);
    }
    if (times_ok && s->end_min <= s->start_min) {
        times_ok = 0;
        row_bad(w, "end time %s is not after start time %s", end, start);
    }
    if (int_field(opens_before, 0, 240, 30, &s->opens_before) == -1) {
        opens_ok = 0;
        row_bad(w, "opens_before '%.40s' must be 0-240 minutes", opens_before);
    }
    if (int_field(late_after, 0, 240, 15, &s->late_after) == -1) {
        late_ok = 0;
        row_bad(w, "late_after '%.40s' must be 0-240 minutes", late_after);
    }
    if (times_ok && late_ok && s->start_min + s->late_after > s->end_min)
        row_bad(w, "late cut-off (%d minutes after start) falls after the end",
                s->late_after);
    if (times_ok && opens_ok && s->start_min - s->opens_before < 0)
        row_bad(w, "check-in would open before midnight");
    if (int_field(published, 0, 1000000, -1, &s->published) == -1)
        row_bad(w, "published count '%.40s' must be a whole number", published);
    if (organisation && *organisation &&
        !text_valid(organisation, sizeof(s->organisation) - 1))
        row_bad(w, "organisation is too long");
    if (w->n > 0)
        return -1;
    snprintf(s->code, sizeof(s->code), "%s", code);
    snprintf(s->certificate, sizeof(s->certificate), "%s", certificate);
    snprintf(s->level, sizeof(s->level), "%s", level);
    snprintf(s->date, sizeof(s->date), "%s", date);
    snprintf(s->organisation, sizeof(s->organisation), "%s",
             organisation ? organisation : "");
    return 0;
}

int import_session_fields(const char *code, const char *certificate,
                          const char *level, const char *date,
                          const char *start, const char *end,
                          const char *opens_before, const char *late_after,
                          const char *published, const char *organisation,
                          struct session_row *s, struct err *e)
{
    struct row_errs w;

    memset(&w, 0, sizeof(w));
    w.e = e;
    return session_check(code, certificate, level, date, start, end,
                         opens_before, late_after, published, organisation, s,
                         &w);
}

/* --- the shared row loop ---------------------------------------------------
 */

enum { COL_MAX = 12 };

struct column_spec {
    const char *key;          /* our name, for messages */
    const char *const *names; /* accepted header spellings */
    int required;
};

struct import_ctx {
    struct store *st;
    struct idhasher *hasher;
    const struct import_opts *o;
    struct import_report *r;
    const struct column_spec *cols;
    int ncols;
    int idx[COL_MAX]; /* header position of each column */
    size_t header_fields;
    int seen_header;
    /* one data row: 1 new, 0 unchanged, -1 refused (w->n > 0, the reasons
     * are in the report) or failed (w->n == 0, e says why) */
    int (*row)(struct import_ctx *x, char **f, struct row_errs *w,
               struct err *e);
    /* roster: rooms known, tickets of this run for duplicate messages */
    char (*rooms)[ROSTER_ROOM_MAX + 1];
    size_t nrooms, caprooms, lastroom; /* lastroom: the latest hit */
    struct session_row *sessions;
    size_t nsessions, capsessions;
    struct ticket_seen *seen;
    size_t capseen, nseen;
    /* sessions rows name that the site does not have: one message each */
    struct unknown_session *unknown;
    size_t nunknown, capunknown;
    /* apply_changes: candidates (not withdrawn) before the import, and
     * how many of them the file names */
    int active_before, named_active;
    /* A first import (bulk_ok: a roster without --apply-changes; bulk: and
     * the table was empty): see bulk_begin.  again: the bulk pass was given
     * up, the file is read once more the ordinary way. */
    int bulk_ok, bulk, again;
    struct candidate *pend; /* CANDIDATE_BATCH rows not yet written */
    size_t npend;
    char last_ticket[ROSTER_TICKET_MAX + 1];
    struct refdigest_rows *digest;
};

/* What a data row came to (the row callback's return). */
enum {
    ROW_SAME = 0,     /* already there, the same */
    ROW_NEW = 1,      /* written */
    ROW_CHANGED = 2,  /* apply_changes: a correction, applied after the file */
    ROW_DEFERRED = 3, /* apply_changes: new, written after the file */
};

struct unknown_session {
    char code[SESSION_CODE_MAX + 1];
    size_t error;  /* its message in the report */
    int more;      /* rows after the first that name it */
    int last_line; /* the last of them */
};

struct ticket_seen {
    uint64_t hash; /* of the ticket, 0 for an empty slot */
    int line;
};

static int header_row(struct import_ctx *x, char **f, size_t n, struct err *e)
{
    int i, j;

    for (i = 0; i < x->ncols; i++) {
        x->idx[i] = csvread_column(f, n, x->cols[i].names);
        if (x->idx[i] == -1 && x->cols[i].required)
            return err_set(
                e, EX_DATAERR,
                "the header has no '%s' column (%s); found: %s%s%s%s",
                x->cols[i].key, x->cols[i].names[1], n > 0 ? f[0] : "",
                n > 1 ? "," : "", n > 1 ? f[1] : "", n > 2 ? ",..." : "");
        for (j = 0; j < i; j++)
            if (x->idx[i] != -1 && x->idx[j] == x->idx[i])
                return err_set(e, EX_DATAERR, "column '%s' appears twice",
                               f[x->idx[i]]);
    }
    /* the same column under two names (ticket and 准考证号) */
    for (i = 0; i < x->ncols; i++) {
        size_t k, hits = 0;
        for (k = 0; k < n; k++) {
            const char *const *nm;
            for (nm = x->cols[i].names; *nm; nm++)
                if (strcasecmp(f[k], *nm) == 0)
                    hits++;
        }
        if (hits > 1)
            return err_set(e, EX_DATAERR, "the header names column '%s' twice",
                           x->cols[i].key);
    }
    x->header_fields = n;
    x->seen_header = 1;
    return 0;
}

static int on_record(void *ud, int line, char **f, size_t n, struct err *e)
{
    struct import_ctx *x = ud;
    char *fields[COL_MAX];
    struct row_errs w;
    struct err rowerr;
    int i, rc;

    if (!x->seen_header)
        return header_row(x, f, n, e);
    x->r->rows++;
    if (x->o->progress && x->r->rows % PROGRESS_EVERY == 0)
        x->o->progress(x->o->progress_ud, x->r->rows);
    err_clear(&rowerr);
    memset(&w, 0, sizeof(w));
    w.r = x->r;
    w.line = line;
    if (n != x->header_fields) {
        row_bad(&w, "expected %zu fields as in the header, found %zu",
                x->header_fields, n);
        rc = -1;
    } else {
        for (i = 0; i < x->ncols; i++)
            fields[i] = x->idx[i] >= 0 ? f[x->idx[i]] : "";
        rc = x->row(x, fields, &w, &rowerr);
    }
    if (w.oom)
        return err_set(e, EX_OSERR, "out of memory");
    if (rc == ROW_NEW)
        x->r->imported++;
    else if (rc == ROW_SAME)
        x->r->unchanged++;
    else if (rc == ROW_CHANGED)
        x->r->changed++;
    else if (rc == ROW_DEFERRED)
        ; /* counted when it is written (or refused) after the file */
    else if (w.n > 0)
        x->r->rejected++;
    else { /* the store failed, not the row */
        *e = rowerr;
        return -1;
    }
    return 0;
}

/* "session 'X' is not defined" once per code, however many rows name it:
 * a roster imported before its sessions says so in one line, not forty. */
static void session_unknown(struct import_ctx *x, const char *code,
                            struct row_errs *w)
{
    struct unknown_session *u;
    char known[160] = "";
    size_t i, n = 0;

    for (i = 0; i < x->nunknown; i++)
        if (strcmp(x->unknown[i].code, code) == 0) {
            x->unknown[i].more++;
            x->unknown[i].last_line = w->line;
            w->n++; /* refused, said already */
            return;
        }
    for (i = 0; i < x->nsessions && i < 4; i++)
        n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s",
                              i ? ", " : "", x->sessions[i].code);
    row_bad(w,
            "session '%.40s' is not defined: import the sessions first, or "
            "correct the code (this site has %s%s)",
            code, known, x->nsessions > 4 ? ", ..." : "");
    if (x->r == NULL || strlen(code) > SESSION_CODE_MAX)
        return;
    if (x->nunknown == x->capunknown) {
        size_t cap = x->capunknown ? x->capunknown * 2 : 8;
        if ((u = realloc(x->unknown, cap * sizeof(*u))) == NULL) {
            w->oom = 1;
            return;
        }
        x->unknown = u;
        x->capunknown = cap;
    }
    u = &x->unknown[x->nunknown++];
    snprintf(u->code, sizeof(u->code), "%s", code);
    u->error = x->r->nerrors - 1;
    u->more = 0;
    u->last_line = w->line;
}

/* Say how many more rows named each unknown session. */
static int unknown_finish(struct import_ctx *x, struct err *e)
{
    size_t i;
    char *old, *n;

    for (i = 0; i < x->nunknown; i++) {
        struct unknown_session *u = &x->unknown[i];
        if (u->more == 0 || u->error >= x->r->nerrors)
            continue;
        old = x->r->errors[u->error].reason;
        if (asprintf(&n, "%s; %d more row%s name%s it (up to line %d)", old,
                     u->more, u->more == 1 ? "" : "s", u->more == 1 ? "s" : "",
                     u->last_line) == -1)
            return err_set(e, EX_OSERR, "out of memory");
        free(old);
        x->r->errors[u->error].reason = n;
    }
    return 0;
}

static char *file_payload(const char *path, const struct import_report *r,
                          const char *what)
{
    char *copy = strdup(path), *out = NULL;
    json_t *j;

    if (copy == NULL)
        return NULL;
    j = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:s}", "what", what,
                  "file", basename(copy), "sha256", r->file.sha256, "rows",
                  r->rows, "imported", r->imported, "unchanged", r->unchanged,
                  "rejected", r->rejected, "encoding",
                  r->file.encoding == CSV_ENC_GB18030 ? "gb18030" : "utf-8");
    if (j != NULL)
        out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    free(copy);
    return out;
}

static int apply_finish(struct import_ctx *x, const char *path, struct err *e);
static int count_active(struct store *st, struct err *e);
static int bulk_begin(struct import_ctx *x, struct err *e);
static int bulk_end(struct import_ctx *x, struct err *e);
static void bulk_reset(struct import_ctx *x);
static int roster_event(struct import_ctx *x, struct event *ev, char **payload,
                        struct err *e);

/* Read the whole file inside one transaction, then commit or roll back. */
static int import_txn(struct import_ctx *x, const char *path,
                      const char *event_kind, struct err *e)
{
    struct import_report *r = x->r;
    struct event ev;
    char *payload;
    int rc;

    memset(r, 0, sizeof(*r));
    if (store_begin(x->st, e) == -1)
        return -1;
    if (x->o->apply_changes &&
        (x->active_before = count_active(x->st, e)) == -1) {
        store_rollback(x->st);
        return -1;
    }
    if (x->bulk_ok && bulk_begin(x, e) == -1) {
        store_rollback(x->st);
        return -1;
    }
    rc = csvread_file(path, x->o->encoding, on_record, x, &r->file, e);
    if (rc == 0)
        rc = unknown_finish(x, e);
    if (rc == 0 && x->bulk)
        rc = bulk_end(x, e);
    if (rc == 0 && !x->seen_header) {
        rc = err_set(e, EX_DATAERR, "%s: empty file (no header row)", path);
        e->line = 1;
    }
    if (rc == -1)
        goto rollback;
    if (x->o->apply_changes)
        return apply_finish(x, path, e);
    if ((r->rejected > 0 && !x->o->skip_invalid) || x->o->dry_run ||
        r->imported == 0)
        goto rollback;
    if (event_kind != NULL) {
        if ((payload = file_payload(path, r, event_kind)) == NULL) {
            rc = err_set(e, EX_OSERR, "out of memory");
            goto rollback;
        }
        memset(&ev, 0, sizeof(ev));
        ev.kind = "roster.imported";
        ev.operator_name = x->o->operator_name;
        rc = roster_event(x, &ev, &payload, e);
        free(payload);
        if (rc == -1)
            goto rollback;
    }
    if (store_commit(x->st, e) == -1)
        return -1;
    r->committed = 1;
    return 0;
rollback:
    store_rollback(x->st);
    return rc;
}

/*
 * A large roster touches tens of megabytes of b-tree pages in its one
 * transaction; with SQLite's default page cache (2 MB) they spill to the
 * WAL half-way and are read back.  The connection gets a larger cache (only
 * filled as far as the import needs) for the import, then its old one.
 */
#define IMPORT_CACHE_KIB 65536

/*
 * Set the journal mode; 1 if it is now mode.  Never waits for the lock:
 * leaving WAL needs the database to itself, and when another process has
 * it open (a running daemon) the import simply stays in WAL.
 */
static int import_journal(sqlite3 *db, const char *mode)
{
    char sql[48];
    sqlite3_stmt *s;
    int now = 0;

    snprintf(sql, sizeof(sql), "PRAGMA journal_mode = %s", mode);
    sqlite3_busy_timeout(db, 0);
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            now =
                strcasecmp((const char *)sqlite3_column_text(s, 0), mode) == 0;
        sqlite3_finalize(s);
    }
    sqlite3_busy_timeout(db, STORE_BUSY_MS);
    return now;
}

static int import_run(struct import_ctx *x, const char *path,
                      const char *event_kind, struct err *e)
{
    sqlite3 *db = store_db(x->st);
    struct err dropped;
    sqlite3_stmt *s;
    char sql[64];
    int old = 0, rc, rollback_journal;

    if (e == NULL) /* the row loop reads and fills e: give it one */
        e = &dropped;
    if (sqlite3_prepare_v2(db, "PRAGMA cache_size", -1, &s, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            old = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
    }
    if (old != 0) {
        snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", IMPORT_CACHE_KIB);
        sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    /* The import checks every reference itself (known session, room made
     * first), so SQLite need not look them up again for each row. */
    sqlite3_exec(db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL);
    /* In WAL every page of a large import is written twice (to the WAL
     * at the commit, to the database at the checkpoint), with a frame
     * header each.  With the database to itself the import uses a
     * rollback journal instead: the new pages go once to the database and
     * only the few it changes go to the journal; the commit is as atomic
     * and as durable (synchronous=FULL), and WAL comes back after it. */
    rollback_journal = !x->o->dry_run && import_journal(db, "truncate");
    rc = import_txn(x, path, event_kind, e);
    if (rc == -1 && x->again) { /* the bulk pass given up: row by row */
        bulk_reset(x);
        err_clear(e);
        rc = import_txn(x, path, event_kind, e);
    }
    if (rollback_journal)
        import_journal(db, "wal");
    sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    if (old != 0) {
        snprintf(sql, sizeof(sql), "PRAGMA cache_size = %d", old);
        sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    return rc;
}

/* --- sessions ------------------------------------------------------------- */

static const char *const S_CODE[] = {"code", "场次", "场次代码", "session",
                                     NULL};
static const char *const S_CERT[] = {"certificate", "证书名称", "证书", NULL};
static const char *const S_LEVEL[] = {"level", "等级", NULL};
static const char *const S_DATE[] = {"date", "日期", "考试日期", NULL};
static const char *const S_START[] = {"start", "开始时间", NULL};
static const char *const S_END[] = {"end", "结束时间", NULL};
static const char *const S_OPENS[] = {"opens_before", "提前入场分钟", NULL};
static const char *const S_LATE[] = {"late_after", "迟到截止分钟", NULL};
static const char *const S_PUB[] = {"published", "公布人数", NULL};
static const char *const S_ORG[] = {"organisation", "评价组织", "organization",
                                    NULL};

static const struct column_spec session_cols[] = {
    {"code", S_CODE, 1},          {"certificate", S_CERT, 1},
    {"level", S_LEVEL, 1},        {"date", S_DATE, 1},
    {"start", S_START, 1},        {"end", S_END, 1},
    {"opens_before", S_OPENS, 0}, {"late_after", S_LATE, 0},
    {"published", S_PUB, 0},      {"organisation", S_ORG, 0},
};

static int session_row(struct import_ctx *x, char **f, struct row_errs *w,
                       struct err *e)
{
    struct session_row s;
    int rc;

    if (session_check(f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8],
                      f[9], &s, w) == -1)
        return -1;
    if ((rc = session_add(x->st, &s, x->o->operator_name, e)) == -1 &&
        e->code == EX_DATAERR)
        row_bad(w, "%s", e->msg);
    return rc;
}

int import_sessions(struct store *st, const char *path,
                    const struct import_opts *o, struct import_report *r,
                    struct err *e)
{
    struct import_ctx x;
    int rc;

    memset(&x, 0, sizeof(x));
    x.st = st;
    x.o = o;
    x.r = r;
    x.cols = session_cols;
    x.ncols = (int)(sizeof(session_cols) / sizeof(session_cols[0]));
    x.row = session_row;
    rc = import_run(&x, path, NULL, e);
    free(x.unknown);
    return rc;
}

/* --- roster ----------------------------------------------------------------
 */

static const char *const R_TICKET[] = {"ticket", "准考证号", "准考证", NULL};
static const char *const R_NAME[] = {"name", "姓名", NULL};
static const char *const R_ID[] = {"id_number", "身份证号", "身份证号码", NULL};
static const char *const R_SESSION[] = {"session", "场次", NULL};
static const char *const R_ROOM[] = {"room", "考场", "考场号", NULL};
static const char *const R_SEAT[] = {"seat", "座位号", "座号", NULL};

static const struct column_spec roster_cols[] = {
    {"ticket", R_TICKET, 1},   {"name", R_NAME, 1}, {"id_number", R_ID, 1},
    {"session", R_SESSION, 1}, {"room", R_ROOM, 1}, {"seat", R_SEAT, 1},
};

static int load_session(void *ud, const struct session_row *s, struct err *e)
{
    struct import_ctx *x = ud;
    struct session_row *n;

    if (x->nsessions == x->capsessions) {
        size_t cap = x->capsessions ? x->capsessions * 2 : 16;
        if ((n = realloc(x->sessions, cap * sizeof(*n))) == NULL)
            return err_set(e, EX_OSERR, "out of memory");
        x->sessions = n;
        x->capsessions = cap;
    }
    x->sessions[x->nsessions++] = *s;
    return 0;
}

static int session_known(struct import_ctx *x, const char *code)
{
    size_t i;

    for (i = 0; i < x->nsessions; i++)
        if (strcmp(x->sessions[i].code, code) == 0)
            return 1;
    return 0;
}

static int room_known(struct import_ctx *x, const char *room, struct err *e)
{
    size_t i;
    char(*n)[ROSTER_ROOM_MAX + 1];

    /* rosters come grouped by room: try the room of the row before first */
    if (x->nrooms > 0 && strcmp(x->rooms[x->lastroom], room) == 0)
        return 0;
    for (i = 0; i < x->nrooms; i++)
        if (strcmp(x->rooms[i], room) == 0) {
            x->lastroom = i;
            return 0;
        }
    if (room_ensure(x->st, room, e) == -1)
        return -1;
    if (x->nrooms == x->caprooms) {
        size_t cap = x->caprooms ? x->caprooms * 2 : 16;
        if ((n = realloc(x->rooms, cap * sizeof(*n))) == NULL)
            return err_set(e, EX_OSERR, "out of memory");
        x->rooms = n;
        x->caprooms = cap;
    }
    x->lastroom = x->nrooms;
    snprintf(x->rooms[x->nrooms++], ROSTER_ROOM_MAX + 1, "%s", room);
    return 0;
}

/*
 * Tickets imported in this run, so that a duplicate can say which line it
 * repeats.  Only a 64-bit hash of each ticket is kept (16 bytes a row): it
 * is consulted only after the database has reported a conflict on that very
 * ticket, so a collision could at worst misname the line in a message.
 */
static uint64_t ticket_hash(const char *ticket)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    const unsigned char *p;

    for (p = (const unsigned char *)ticket; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h | 1; /* 0 marks an empty slot */
}

static size_t seen_slot(const struct import_ctx *x, uint64_t h)
{
    size_t mask = x->capseen - 1, i;

    for (i = (size_t)(h >> 7) & mask; x->seen[i].hash && x->seen[i].hash != h;
         i = (i + 1) & mask)
        ;
    return i;
}

static int seen_add(struct import_ctx *x, const char *ticket, int line)
{
    struct ticket_seen *prev = x->seen;
    size_t i, old = x->capseen;
    uint64_t h = ticket_hash(ticket);

    if ((x->nseen + 1) * 2 > x->capseen) {
        x->capseen = old ? old * 2 : 1 << 16;
        if ((x->seen = calloc(x->capseen, sizeof(*x->seen))) == NULL) {
            x->seen = prev;
            x->capseen = old;
            return -1;
        }
        for (i = 0; i < old; i++)
            if (prev[i].hash)
                x->seen[seen_slot(x, prev[i].hash)] = prev[i];
        free(prev);
    }
    i = seen_slot(x, h);
    x->seen[i].hash = h;
    x->seen[i].line = line;
    x->nseen++;
    return 0;
}

static int seen_line(struct import_ctx *x, const char *ticket)
{
    size_t i;

    if (x->capseen == 0)
        return 0;
    i = seen_slot(x, ticket_hash(ticket));
    return x->seen[i].hash ? x->seen[i].line : 0;
}

/* Turn "... ticket T ..." conflicts with rows of this file into line refs. */
static int roster_conflict(struct import_ctx *x, const struct candidate *c,
                           struct err *e)
{
    int l = seen_line(x, c->ticket);
    char *p;

    if (l > 0 && strstr(e->msg, "already on the roster with different") != NULL)
        return err_set(e, EX_DATAERR,
                       "ticket %s appears twice (also on line %d)", c->ticket,
                       l);
    if ((p = strstr(e->msg, "(ticket ")) != NULL ||
        (p = strstr(e->msg, "by ticket ")) != NULL) {
        char other[ROSTER_TICKET_MAX + 1] = "";
        sscanf(strstr(p, "ticket ") + 7, "%32[^)]", other);
        if ((l = seen_line(x, other)) > 0) {
            size_t n = strlen(e->msg);
            snprintf(e->msg + n, sizeof(e->msg) - n, " on line %d of this file",
                     l);
        }
    }
    return -1;
}

/* --- --apply-changes --------------------------------------------------------
 */

static int count_active(struct store *st, struct err *e)
{
    sqlite3_stmt *q;
    int n = -1;

    if (sqlite3_prepare_v2(store_db(st),
                           "SELECT count(*) FROM candidate WHERE withdrawn = 0",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlerr(st, e, "candidates");
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return n >= 0 ? n : store_sqlerr(st, e, "candidates");
}

/*
 * apply_changes: a row the database refused (its ticket, seat or ID number
 * is taken).  Its ticket on the roster with other details: a correction,
 * applied after the file.  Its ticket not there: a new candidate whose
 * seat or ID number another row may free, written after the file too.
 */
static int roster_change(struct import_ctx *x, const struct candidate *c,
                         struct row_errs *w, struct err *e)
{
    struct candidate old;
    int rc, dup;

    if ((dup = seen_line(x, c->ticket)) > 0)
        return row_bad(w, "ticket %s appears twice (also on line %d)",
                       c->ticket, dup);
    if ((rc = candidate_get(x->st, c->ticket, &old, e)) == -1)
        return -1;
    if (rc == 1 && old.withdrawn)
        return row_bad(w,
                       "ticket %s was withdrawn: a roster file does not change "
                       "a withdrawn candidate (on the roster as %s, session "
                       "%s, room %s, seat %s)",
                       c->ticket, old.name, old.session, old.room, old.seat);
    if (correct_list_add(&x->r->changes, w->line, c, rc == 1 ? &old : NULL) ==
            NULL ||
        seen_add(x, c->ticket, w->line) == -1)
        return err_set(e, EX_OSERR, "out of memory");
    if (rc == 0)
        return ROW_DEFERRED;
    x->named_active++;
    return ROW_CHANGED;
}

/* apply_changes: a row written (new) or already there as it is. */
static int roster_noted(struct import_ctx *x, const struct candidate *c, int rc,
                        struct row_errs *w, struct err *e)
{
    struct correct_change *ch;
    struct candidate now;
    int found;

    if (seen_add(x, c->ticket, w->line) == -1)
        return err_set(e, EX_OSERR, "out of memory");
    if (rc == 1) {
        if ((ch = correct_list_add(&x->r->changes, w->line, c, NULL)) == NULL)
            return err_set(e, EX_OSERR, "out of memory");
        ch->state = CORRECT_DONE;
        return ROW_NEW;
    }
    if ((found = candidate_get(x->st, c->ticket, &now, e)) == -1)
        return -1;
    if (found == 1 && now.withdrawn)
        x->r->withdrawn_named++;
    else
        x->named_active++;
    return ROW_SAME;
}

/* A change refused after the file: its reason at its line. */
static int change_refused(struct import_ctx *x, struct correct_change *c,
                          const char *msg, struct err *e)
{
    if (report_add(x->r, c->line, msg) == -1)
        return err_set(e, EX_OSERR, "out of memory");
    c->state = CORRECT_REJECTED;
    return 0;
}

/* May the change touch its rooms (the one it leaves and the one it goes
 * to)?  0 (refused ones counted and reported), or -1 on error. */
static int change_rooms(struct import_ctx *x, struct correct_rooms *rooms,
                        const struct correct_opts *co, struct correct_change *c,
                        struct err *e)
{
    const struct candidate *old = correct_list_old(&x->r->changes, c);
    struct err le;
    int forced = 0, rc;

    err_clear(&le);
    rc = correct_room_allowed(x->st, rooms, c->cur.session, c->cur.room, co,
                              &forced, &le);
    if (rc == 0 && old != NULL &&
        (strcmp(old->session, c->cur.session) != 0 ||
         strcmp(old->room, c->cur.room) != 0))
        rc = correct_room_allowed(x->st, rooms, old->session, old->room, co,
                                  &forced, &le);
    if (rc == -1 && le.code != EX_DATAERR) {
        *e = le;
        return -1;
    }
    if (rc == -1) {
        x->r->refused++;
        return change_refused(x, c, le.msg, e);
    }
    c->forced = (unsigned char)forced;
    return 0;
}

/*
 * After the whole file: the changed candidates leave their seats, then in
 * file order each change and each deferred new candidate is written, and
 * every one is checked against the rooms that have opened.  0, or -1 on
 * an error of the store.
 */
static int apply_pass(struct import_ctx *x, const struct correct_opts *co,
                      struct err *e)
{
    struct correct_list *l = &x->r->changes;
    struct correct_rooms rooms = {NULL, 0, 0};
    struct correct_change *c;
    size_t i, mid = x->r->nerrors;
    struct err le;
    int rc = 0;

    for (i = 0; i < l->n && rc == 0; i++) {
        c = &l->v[i];
        if (!c->added &&
            (c->what & (CORRECT_SESSION | CORRECT_ROOM | CORRECT_SEAT)))
            rc = candidate_park(x->st, c->cur.ticket, e);
    }
    for (i = 0; i < l->n && rc == 0; i++) {
        c = &l->v[i];
        if (c->state == CORRECT_PENDING) {
            err_clear(&le);
            if (c->added)
                rc = candidate_put(x->st, &c->cur, &le) == -1 ? -1 : 0;
            else
                rc = candidate_update(x->st, &c->cur, &le);
            if (rc == -1 && le.code != EX_DATAERR) {
                *e = le;
                break;
            }
            if (rc == -1) {
                roster_conflict(x, &c->cur, &le);
                if ((rc = change_refused(x, c, le.msg, e)) == -1)
                    break;
                if (c->added) {
                    x->r->rejected++;
                } else { /* its seat was given up: nothing is committed */
                    x->r->changed--;
                    x->r->rejected++;
                    x->r->change_failed = 1;
                }
                continue;
            }
            c->state = CORRECT_DONE;
            if (c->added)
                x->r->imported++;
        }
        if (c->state == CORRECT_DONE)
            rc = change_rooms(x, &rooms, co, c, e);
    }
    correct_rooms_free(&rooms);
    if (rc == 0 && report_merge(x->r, mid) == -1)
        rc = err_set(e, EX_OSERR, "out of memory");
    return rc;
}

/* The end of an import with apply_changes, inside its transaction: apply,
 * then commit with the events or roll back. */
static int apply_finish(struct import_ctx *x, const char *path, struct err *e)
{
    struct import_report *r = x->r;
    struct correct_opts co;
    struct correct_file cf;
    struct refdigest d;
    char *copy = NULL;
    int rc;

    memset(&co, 0, sizeof(co));
    co.reason = x->o->reason;
    co.operator_name = x->o->operator_name;
    co.force = x->o->force;
    if ((rc = apply_pass(x, &co, e)) == -1)
        goto rollback;
    r->left_alone = x->active_before - x->named_active;
    if (r->refused > 0 || r->change_failed ||
        (r->rejected > 0 && !x->o->skip_invalid) || x->o->dry_run ||
        r->imported + r->changed == 0)
        goto rollback;
    if ((rc = correct_reason_check(co.reason, e)) == -1)
        goto rollback;
    if ((copy = strdup(path)) == NULL) {
        rc = err_set(e, EX_OSERR, "out of memory");
        goto rollback;
    }
    cf.name = basename(copy);
    cf.sha256 = r->file.sha256;
    if ((rc = refdigest_compute(x->st, &d, e)) == -1 ||
        (rc = correct_roster_events(x->st, &r->changes, &cf, &co, &d,
                                    &r->first_event, &r->last_event, e)) == -1)
        goto rollback;
    free(copy);
    if (store_commit(x->st, e) == -1)
        return -1;
    r->committed = 1;
    return 0;
rollback:
    free(copy);
    store_rollback(x->st);
    return rc;
}

/* --- a first import ------------------------------------------------------- */

/*
 * A first roster (no candidate yet, no --apply-changes) is written in
 * bulk (docs/roster-format.md, "Import speed"): the indexes that keep a
 * seat and an ID number unique are dropped at the start of the
 * transaction and built from the rows at the end, one sort each instead
 * of 100,000 keyed hashes put one by one at random places; while the
 * tickets come in increasing order (an export's order) every row is new,
 * so the rows go CANDIDATE_BATCH to a statement and the candidate table's
 * digest is fed as they are written.
 *
 * Only a clean file is taken this way.  A ticket out of order, or keys
 * that will not build (a seat or an ID number twice), give the bulk pass
 * up: the transaction is rolled back and the file read again the ordinary
 * way, row by row with the indexes in place, which names every refused
 * line in the database's own words.
 */

/* Stop the bulk pass; the caller's -1 stops the read (import_run reads
 * the file again). */
static int bulk_give_up(struct import_ctx *x, struct err *e)
{
    x->again = 1;
    return err_set(e, EX_TEMPFAIL, "first import: read again row by row");
}

static int bulk_flush(struct import_ctx *x, struct err *e)
{
    size_t n = x->npend;

    x->npend = 0;
    return n > 0 ? candidate_put_rows(x->st, x->pend, n, e) : 0;
}

/* A valid row of a first import, as roster_row returns. */
static int bulk_write(struct import_ctx *x, const struct candidate *c,
                      struct err *e)
{
    if (x->last_ticket[0] != '\0' && strcmp(c->ticket, x->last_ticket) <= 0)
        return bulk_give_up(x, e);
    memcpy(x->last_ticket, c->ticket, sizeof(x->last_ticket));
    x->pend[x->npend++] = *c;
    if (x->npend == CANDIDATE_BATCH && bulk_flush(x, e) == -1)
        return -1;
    refdigest_rows_add(x->digest, c);
    return ROW_NEW;
}

/* At the start of a roster import, in its transaction: a first import
 * drops the two indexes.  0 (x->bulk set or not) or -1. */
static int bulk_begin(struct import_ctx *x, struct err *e)
{
    int rc;

    if (x->again || (rc = candidate_none(x->st, e)) == 0)
        return 0;
    if (rc == -1)
        return -1;
    if ((x->pend == NULL &&
         (x->pend = calloc(CANDIDATE_BATCH, sizeof(*x->pend))) == NULL) ||
        (x->digest == NULL && (x->digest = refdigest_rows_new()) == NULL))
        return err_set(e, EX_OSERR, "out of memory");
    if (candidate_keys_drop(x->st, e) == -1)
        return -1;
    x->bulk = 1;
    return 0;
}

/* After the file: the rows written, the indexes built from them.  0, or
 * -1 (given up when the keys are not unique). */
static int bulk_end(struct import_ctx *x, struct err *e)
{
    int rc;

    if (bulk_flush(x, e) == -1 || (rc = candidate_keys_build(x->st, e)) == -1)
        return -1;
    return rc == 1 ? bulk_give_up(x, e) : 0;
}

/* The roster.imported event; after a first import, with the candidate
 * table's digest fed as its rows were written. */
static int roster_event(struct import_ctx *x, struct event *ev, char **payload,
                        struct err *e)
{
    struct refdigest d;

    if (!x->bulk)
        return refdigest_append(x->st, ev, payload, e);
    if (refdigest_compute_rows(x->st, x->digest, &d, e) == -1)
        return -1;
    return refdigest_append_digest(x->st, ev, payload, &d, e);
}

/* Before the file is read again: what the given-up pass left.  Its rooms
 * were rolled back with it. */
static void bulk_reset(struct import_ctx *x)
{
    import_report_free(x->r);
    x->bulk = 0;
    x->npend = 0;
    x->nrooms = x->lastroom = 0;
    x->nunknown = 0;
    x->seen_header = 0;
}

static int roster_row(struct import_ctx *x, char **f, struct row_errs *w,
                      struct err *e)
{
    const char *ticket = f[0], *name = f[1], *id = f[2], *session = f[3],
               *room = f[4], *seat = f[5], *why;
    char canon[IDNUMBER_LEN + 1], masked[IDNUMBER_LEN + 1];
    struct candidate c;
    int rc, dup;

    /* A roster imported before its sessions: one line for the file, not
     * one for each row. */
    if (x->nsessions == 0)
        return err_set(e, EX_DATAERR,
                       "session '%.40s' is not defined: import the sessions "
                       "first (this site has none yet: examctl session import "
                       "FILE)",
                       session);
    /* every field is checked, so that a row lists all that is wrong */
    if (*ticket == '\0')
        row_bad(w, "ticket number is empty");
    else if (excel_scientific(ticket))
        row_bad(w,
                "ticket number '%.40s' is in scientific notation: " EXCEL_HINT,
                ticket);
    else if (!site_ident_valid(ticket, ROSTER_TICKET_MAX))
        row_bad(w,
                "ticket number '%.40s' must be 1-%d letters, digits, '-', '_' "
                "or '.'",
                ticket, ROSTER_TICKET_MAX);
    if (*name == '\0')
        row_bad(w, "name is empty");
    else if (!text_valid(name, ROSTER_NAME_MAX))
        row_bad(w, "name is longer than %d bytes or has control characters",
                ROSTER_NAME_MAX);
    if (*id == '\0') {
        row_bad(w, "ID number is empty");
    } else if (excel_scientific(id)) {
        row_bad(w, "ID number is in scientific notation: " EXCEL_HINT);
    } else if (idnumber_canonical(id, canon) == -1 ||
               idnumber_check(canon, &why) == -1) {
        idnumber_mask(id, masked);
        if (strlen(id) != IDNUMBER_LEN)
            row_bad(w, "ID number must be 18 characters, not %zu", strlen(id));
        else
            row_bad(w, "ID number %s: %s", masked, why);
    }
    if (*session == '\0')
        row_bad(w, "session is empty");
    else if (!session_known(x, session))
        session_unknown(x, session, w);
    if (*room == '\0')
        row_bad(w, "room is empty");
    else if (!site_ident_valid(room, ROSTER_ROOM_MAX))
        row_bad(w, "room '%.40s' must be 1-%d letters, digits, '-', '_' or '.'",
                room, ROSTER_ROOM_MAX);
    if (*seat == '\0')
        row_bad(w, "seat is empty");
    else if (!site_ident_valid(seat, ROSTER_SEAT_MAX))
        row_bad(w, "seat '%.40s' must be 1-%d letters, digits, '-', '_' or '.'",
                seat, ROSTER_SEAT_MAX);
    if (w->n > 0)
        return -1;

    /* Every length was checked above: plain copies. */
    memset(&c, 0, sizeof(c));
    memcpy(c.ticket, ticket, strlen(ticket));
    memcpy(c.name, name, strlen(name));
    if (idhasher_hash_raw(x->hasher, canon, c.id_hash) == -1)
        return err_set(e, EX_SOFTWARE, "hashing failed");
    memcpy(c.id_last4, canon + 14, 4);
    memcpy(c.session, session, strlen(session));
    memcpy(c.room, room, strlen(room));
    memcpy(c.seat, seat, strlen(seat));
    if (room_known(x, room, e) == -1)
        return -1;
    if (x->bulk)
        return bulk_write(x, &c, e);
    if ((rc = candidate_put(x->st, &c, e)) == -1) {
        if (e->code == EX_DATAERR) {
            if (x->o->apply_changes)
                return roster_change(x, &c, w, e);
            roster_conflict(x, &c, e);
            row_bad(w, "%s", e->msg);
        }
        return -1;
    }
    if (rc == 0 && (dup = seen_line(x, c.ticket)) > 0)
        return row_bad(w, "ticket %s appears twice (also on line %d)", c.ticket,
                       dup);
    if (x->o->apply_changes)
        return roster_noted(x, &c, rc, w, e);
    if (rc == 1 && seen_add(x, c.ticket, w->line) == -1)
        return err_set(e, EX_OSERR, "out of memory");
    return rc;
}

int import_roster(struct store *st, const struct secret *sec, const char *path,
                  const struct import_opts *o, struct import_report *r,
                  struct err *e)
{
    struct import_ctx x;
    int rc;

    memset(&x, 0, sizeof(x));
    memset(r, 0, sizeof(*r));
    x.st = st;
    x.o = o;
    x.r = r;
    x.cols = roster_cols;
    if ((x.hasher = idhasher_new(sec->key, sizeof(sec->key))) == NULL)
        return err_set(e, EX_SOFTWARE, "cannot set up the ID-number hash");
    x.ncols = (int)(sizeof(roster_cols) / sizeof(roster_cols[0]));
    x.row = roster_row;
    x.bulk_ok = !o->apply_changes;
    if (session_foreach(st, load_session, &x, e) == -1) {
        idhasher_free(x.hasher);
        free(x.sessions);
        return -1;
    }
    rc = import_run(&x, path, "roster", e);
    idhasher_free(x.hasher);
    free(x.unknown);
    free(x.sessions);
    free(x.rooms);
    free(x.seen);
    free(x.pend);
    refdigest_rows_free(x.digest);
    return rc;
}
