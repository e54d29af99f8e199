/*
 * ctl_events.c: `examctl events` and `examctl verify`: reading the event log
 * and checking its hash chain.
 *
 * The log comes from the database when this user may read it, otherwise
 * (an invigilator as installed: the database is the daemon's alone) from
 * the daemon's `events` op, page by page (since -> next while more).  Both
 * print the same lines: every event goes through event_to_json() and one
 * printer, with its time in the site's zone (--json: as stored, UTC).
 *
 * --follow subscribes first, then prints the log, then the stream, each
 * event once and in id order.  The daemon streams the events it commits
 * itself, not those examctl writes (imports, session add, init): those are
 * found by reading the log again, at once when the stream skips an id and
 * every FOLLOW_POLL_MS while it says nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl.h"
#include "event.h"
#include "number.h"
#include "store.h"

#define FOLLOW_POLL_MS 1000
#define DB_CHUNK       500               /* rows read between two drains */
#define STREAM_MAX     (4 * 1024 * 1024) /* a stream line, as ctl_client.c */
#define DRAIN_READS    64                /* reads per drain, at most */

static const char events_syn[] = "events [--since ID] [--follow]";

struct follow {
    struct ctl *c;
    struct store *st;      /* the database, or NULL: the daemon's op */
    int fd;                /* the subscription, or -1 */
    struct ctl_linebuf lb; /* what the stream sent, not yet taken */
    long long seen;        /* the highest id the stream announced */
    long long printed;     /* events printed so far */
    int eof;               /* the daemon closed the stream */
};

/* Can this user not read the database (permission)?  Then ask the daemon. */
static int db_unreadable(const struct ctl *c)
{
    return access(c->db_path, R_OK) == -1 && errno == EACCES;
}

/* A refusal while asking the daemon because the database was unreadable:
 * say both. */
static int daemon_fail(const struct ctl *c, struct err *e)
{
    err_prefix(e, "%s is not readable by this user, so examsited was asked",
               c->db_path);
    return ctl_fail(e);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One event object (event_to_json's shape) on stdout: the JSON with
 * --json, else one line with its time in the site's zone. */
static void print_event(struct follow *f, const json_t *j)
{
    json_int_t id = json_integer_value(json_object_get(j, "id"));
    const char *utc, *kind, *session, *room, *ticket;
    char when[32], *payload;

    f->c->last_printed = (long long)id;
    f->printed++;
    if (f->c->json) {
        ctl_print_json(j);
        return;
    }
    utc = json_string_value(json_object_get(j, "time"));
    if (ctl_site_time(utc, "%Y-%m-%d %H:%M:%S", when, sizeof(when)) == -1)
        snprintf(when, sizeof(when), "%s", utc ? utc : "-");
    kind = json_string_value(json_object_get(j, "kind"));
    session = json_string_value(json_object_get(j, "session"));
    room = json_string_value(json_object_get(j, "room"));
    ticket = json_string_value(json_object_get(j, "ticket"));
    payload = json_dumps(json_object_get(j, "payload"), JSON_COMPACT);
    printf("%6" JSON_INTEGER_FORMAT " %s %-18s %-14s %-5s %-14s %s\n", id, when,
           kind ? kind : "-", session ? session : "-", room ? room : "-",
           ticket ? ticket : "-", payload ? payload : "{}");
    free(payload);
}

/* --- the stream --- */

/* One read(2) of the stream into f->lb.  0 (f->eof at its end), or -1. */
static int stream_fill(struct follow *f, struct err *e)
{
    struct ctl_linebuf *lb = &f->lb;
    ssize_t r;

    if (lb->len == lb->cap) {
        size_t cap = lb->cap ? lb->cap * 2 : 65536;
        char *n;

        if (cap > STREAM_MAX || (n = realloc(lb->buf, cap)) == NULL)
            return err_set(e, EX_PROTOCOL, "a line from examsited is too long");
        lb->buf = n;
        lb->cap = cap;
    }
    r = read(f->fd, lb->buf + lb->len, lb->cap - lb->len);
    if (r == -1 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (r == -1)
        return err_errno(e, EX_UNAVAILABLE, "control socket read");
    if (r == 0)
        f->eof = 1;
    lb->len += (size_t)r;
    return 0;
}

/* The next whole line the stream sent (caller frees), or NULL: none yet
 * (e->code 0), or not JSON (e filled). */
static json_t *stream_line(struct follow *f, struct err *e)
{
    err_clear(e);
    if (f->lb.len == 0 || memchr(f->lb.buf, '\n', f->lb.len) == NULL)
        return NULL;
    return ctl_read_line(f->fd, &f->lb, e); /* a whole line: no read */
}

/* The event of a stream message, or NULL (a notice). */
static json_t *stream_event(json_t *m)
{
    const char *type = json_string_value(json_object_get(m, "type"));
    json_t *ev = json_object_get(m, "event");

    if (type == NULL || strcmp(type, "event") != 0 || !json_is_object(ev) ||
        !json_is_integer(json_object_get(ev, "id")))
        return NULL;
    return ev;
}

/*
 * While the log is being read: take what the stream has sent, without
 * waiting, so the daemon never finds us not reading.  Its events are in
 * the log; only the highest id is kept, to read the log up to it.
 */
static int stream_drain(struct follow *f, struct err *e)
{
    struct pollfd p = {.fd = f->fd, .events = POLLIN};
    json_t *m, *ev;
    int i;

    for (i = 0; f->fd != -1 && !f->eof && i < DRAIN_READS; i++) {
        if (poll(&p, 1, 0) <= 0)
            break;
        if (stream_fill(f, e) == -1)
            return -1;
        while ((m = stream_line(f, e)) != NULL) {
            if ((ev = stream_event(m)) != NULL &&
                json_integer_value(json_object_get(ev, "id")) > f->seen)
                f->seen = json_integer_value(json_object_get(ev, "id"));
            json_decref(m);
        }
        if (e->code != 0)
            return -1;
    }
    return 0;
}

/* --- the log --- */

static int db_row(void *ud, const struct event *ev, struct err *e)
{
    struct follow *f = ud;
    json_t *j = event_to_json(ev);

    if (j == NULL)
        return err_set(e, EX_OSERR, "events: out of memory");
    print_event(f, j);
    json_decref(j);
    return 0;
}

/* The log after the last printed event, from the database. */
static int log_from_db(struct follow *f, struct err *e)
{
    long long before;

    do {
        before = f->printed;
        if (event_foreach(f->st, f->c->last_printed, DB_CHUNK, db_row, f, e) ==
            -1)
            return -1;
        fflush(stdout);
        if (stream_drain(f, e) == -1)
            return -1;
    } while (f->printed - before == DB_CHUNK);
    return 0;
}

/* The log after the last printed event, from the daemon's `events` op: one
 * page after the other while it says there is more. */
static int log_from_daemon(struct follow *f, struct err *e)
{
    long long since = f->c->last_printed;
    json_t *req, *reply, *arr, *ev;
    json_int_t next;
    size_t i;
    int more, rc;

    do {
        req =
            json_pack("{s:s, s:I}", "op", "events", "since", (json_int_t)since);
        if (req == NULL)
            return err_set(e, EX_OSERR, "events: out of memory");
        rc = ctl_request(f->c, req, &reply, e);
        json_decref(req);
        if (rc == -1)
            return -1;
        arr = json_object_get(reply, "events");
        next = json_integer_value(json_object_get(reply, "next"));
        more = json_is_true(json_object_get(reply, "more"));
        if (!json_is_array(arr) ||
            !json_is_integer(json_object_get(reply, "next")) ||
            (more && next <= since)) {
            json_decref(reply);
            return err_set(e, EX_PROTOCOL,
                           "examsited's events reply does not go on from "
                           "event %lld",
                           since);
        }
        json_array_foreach(arr, i, ev)
        {
            if (json_integer_value(json_object_get(ev, "id")) >
                f->c->last_printed)
                print_event(f, ev);
        }
        json_decref(reply);
        since = (long long)next;
        fflush(stdout);
        if (stream_drain(f, e) == -1)
            return -1;
    } while (more);
    return 0;
}

/* Print the log from the last printed event to its end, and on while the
 * stream announced more than that and reading brings more. */
static int log_read(struct follow *f, struct err *e)
{
    long long before;

    do {
        before = f->printed;
        if ((f->st != NULL ? log_from_db(f, e) : log_from_daemon(f, e)) == -1)
            return -1;
    } while (f->seen > f->c->last_printed && f->printed > before);
    return 0;
}

/* --- follow --- */

static int follow_start(struct ctl *c, struct err *e)
{
    json_t *req = json_pack("{s:s}", "op", "subscribe"), *reply = NULL;
    int fd, rc;

    if ((fd = ctl_connect(c, e)) == -1) {
        json_decref(req);
        return -1;
    }
    rc = ctl_exchange(fd, req, &reply, e);
    json_decref(req);
    json_decref(reply);
    if (rc == -1) {
        close(fd);
        return -1;
    }
    return fd;
}

/*
 * Print the stream until the daemon goes away (exit 69) or a signal.  An
 * event right after the last printed one is printed as it comes; one
 * further on means events in between that the daemon did not stream
 * (examctl's): the log is read up to it.  The log is also read after
 * FOLLOW_POLL_MS of quiet, for examctl's events after the daemon's last.
 */
static int follow_stream(struct follow *f)
{
    int64_t due = mono_ms() + FOLLOW_POLL_MS, now;
    struct pollfd p = {.fd = f->fd, .events = POLLIN};
    json_t *m, *ev;
    long long id;
    struct err e;
    int r;

    for (;;) {
        now = mono_ms();
        r = poll(&p, 1, due > now ? (int)(due - now) : 0);
        if (r == -1 && errno != EINTR)
            return ctl_failf(EX_OSERR, "poll: %s", strerror(errno));
        if (r > 0 && stream_fill(f, &e) == -1)
            return ctl_fail(&e);
        while ((m = stream_line(f, &e)) != NULL) {
            ev = stream_event(m);
            id = ev ? (long long)json_integer_value(json_object_get(ev, "id"))
                    : 0;
            if (id > f->seen)
                f->seen = id;
            if (id == f->c->last_printed + 1) {
                print_event(f, ev);
                fflush(stdout);
            } else if (id > f->c->last_printed && log_read(f, &e) == -1) {
                json_decref(m);
                return ctl_fail(&e);
            }
            json_decref(m);
        }
        if (e.code != 0)
            return ctl_fail(&e);
        if (f->eof) {
            fprintf(stderr, "examctl: examsited closed the stream\n");
            return EX_UNAVAILABLE;
        }
        if (mono_ms() >= due) {
            /* a busy daemon (75) is asked again at the next turn */
            if (log_read(f, &e) == -1 && e.code != EX_TEMPFAIL)
                return ctl_fail(&e);
            due = mono_ms() + FOLLOW_POLL_MS;
        }
    }
}

static int events_run(struct ctl *c, struct follow *f, int follow)
{
    struct err e;

    /* Subscribe before reading the log, so nothing falls between. */
    if (follow && (f->fd = follow_start(c, &e)) == -1)
        return ctl_fail(&e);
    if (db_unreadable(c)) {
        /* the site's zone from the daemon, for the times shown */
        if (!c->json && ctl_daemon_zone(c, &e) == -1)
            return daemon_fail(c, &e);
        if (log_read(f, &e) == -1)
            return daemon_fail(c, &e);
    } else {
        if (ctl_open_store(c, &f->st, &e) == -1 || log_read(f, &e) == -1)
            return ctl_fail(&e);
    }
    return follow ? follow_stream(f) : 0;
}

int ctl_events(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"since", required_argument, NULL, 's'},
        {"follow", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct follow f;
    long long since = 0;
    int ch, rc, follow = 0;

    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            if (number_parse(optarg, 0, INT64_MAX, &since) == -1)
                return ctl_usagef(events_syn,
                                  "--since needs an event id (0 or more), "
                                  "not '%s'",
                                  optarg);
            break;
        case 'f':
            follow = 1;
            break;
        case 'h':
            printf("usage: examctl %s\n\nThe event log after event ID, one "
                   "line each, times in the site's zone\n(--json: one JSON "
                   "object per line, as in a batch, times in UTC).\n"
                   "--follow then keeps printing new events as they are "
                   "committed (needs a\nrunning examsited).  A user who "
                   "cannot read the database (an invigilator)\ngets the "
                   "same from examsited, with the operator role.\n",
                   events_syn);
            return 0;
        default:
            return ctl_opt_error(events_syn, ch, argv);
        }
    }
    if (optind != argc)
        return ctl_usagef(events_syn, "events takes no arguments, not '%s'",
                          argv[optind]);
    memset(&f, 0, sizeof(f));
    f.c = c;
    f.fd = -1;
    c->last_printed = since;
    rc = events_run(c, &f, follow);
    fflush(stdout);
    store_close(f.st);
    if (f.fd != -1)
        close(f.fd);
    free(f.lb.buf);
    return rc;
}
static json_t *verify_json(int rc, const struct event_verify *r)
{
    json_t *j =
        json_pack("{s:b, s:I, s:I}", "intact", rc == 0, "checked",
                  (json_int_t)r->checked, "last_id", (json_int_t)r->last_id);

    if (j == NULL)
        return NULL;
    json_object_set_new(j, "head_hash",
                        r->head_hash[0] ? json_string(r->head_hash)
                                        : json_null());
    if (rc == 0 && r->ref_unrecorded)
        json_object_set_new(j, "tables_unchecked", json_true());
    if (rc == 1) {
        if (r->bad_id != 0)
            json_object_set_new(j, "bad_event", json_integer(r->bad_id));
        if (r->bad_table != NULL)
            json_object_set_new(j, "table", json_string(r->bad_table));
        json_object_set_new(j, "reason", json_string(r->reason));
    }
    return j;
}

int ctl_verify(struct ctl *c, int argc, char **argv)
{
    struct event_verify r;
    struct store *st;
    struct err e;
    int rc;

    if (ctl_wants_help(argc, argv)) {
        puts("usage: examctl verify\n\nWalk the event log's hash chain: every "
             "row's hash recomputed, every link to\nthe row before it, no row "
             "missing; then the roster tables (site, session,\nroom, "
             "candidate) against the digest the newest event that changed "
             "them\nrecorded.  Prints the head (last event and its hash).  "
             "Exit 0 intact, 1 broken\n(where and why on stderr), also for "
             "an empty log.");
        return 0;
    }
    if (argc != 1)
        return ctl_usagef("verify", "verify takes no arguments, not '%s'",
                          argv[1]);
    if (ctl_open_store(c, &st, &e) == -1)
        return ctl_fail(&e);
    rc = event_verify(st, &r, &e);
    store_close(st);
    if (rc == -1)
        return ctl_fail(&e);
    if (c->json) {
        json_t *j = verify_json(rc, &r);
        if (j == NULL)
            return ctl_failf(EX_OSERR, "verify: out of memory");
        ctl_print_json(j);
        json_decref(j);
    }
    if (rc == 1) {
        fprintf(stderr, "examctl: verify: %s\n", r.reason);
        return 1;
    }
    if (c->json)
        return 0;
    printf("chain intact: %" PRId64 " events\nhead: event %" PRId64
           ", hash %s\n",
           r.checked, r.last_id, r.head_hash);
    if (r.ref_unrecorded)
        printf("roster tables: not checked: their last change (event %" PRId64
               ") was recorded by an\nolder examsite, without their digest; "
               "the next import records it\n",
               r.ref_id);
    else if (r.ref_id > 0)
        printf("roster tables: as recorded by event %" PRId64 "\n", r.ref_id);
    else
        printf("roster tables: empty, as recorded\n");
    return 0;
}
