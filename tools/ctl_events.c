/*
 * ctl_events.c: `examctl events` and `examctl verify`: reading the event log
 * and checking its hash chain.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl.h"
#include "event.h"
#include "store.h"

static const char events_usage[] = "events [--since ID] [--follow]";

static int print_event(void *ud, const struct event *ev, struct err *e)
{
    struct ctl *c = ud;
    json_t *j;

    c->last_printed = ev->id;
    if (c->json) {
        if ((j = event_to_json(ev)) == NULL)
            return err_set(e, EX_OSERR, "events: out of memory");
        ctl_print_json(j);
        json_decref(j);
        return 0;
    }
    printf("%6" PRId64 " %s %-18s %-14s %-5s %-14s %s\n", ev->id, ev->time,
           ev->kind, ev->session ? ev->session : "-", ev->room ? ev->room : "-",
           ev->ticket ? ev->ticket : "-", ev->payload ? ev->payload : "{}");
    return 0;
}

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

/* Print streamed events until the daemon goes away (exit 69) or a signal. */
static int follow_stream(struct ctl *c, int fd)
{
    struct ctl_linebuf lb = {NULL, 0, 0};
    struct event ev;
    struct err e;
    json_t *m, *j;

    while ((m = ctl_read_line(fd, &lb, &e)) != NULL) {
        const char *type = json_string_value(json_object_get(m, "type"));
        j = json_object_get(m, "event");
        if (type != NULL && strcmp(type, "event") == 0 && json_is_object(j) &&
            json_integer_value(json_object_get(j, "id")) > c->last_printed) {
            c->last_printed = json_integer_value(json_object_get(j, "id"));
            if (c->json) {
                ctl_print_json(j);
            } else {
                char *payload =
                    json_dumps(json_object_get(j, "payload"), JSON_COMPACT);
                memset(&ev, 0, sizeof(ev));
                ev.id = c->last_printed;
                snprintf(ev.time, sizeof(ev.time), "%s",
                         json_string_value(json_object_get(j, "time")));
                ev.kind = json_string_value(json_object_get(j, "kind"));
                ev.session = json_string_value(json_object_get(j, "session"));
                ev.room = json_string_value(json_object_get(j, "room"));
                ev.ticket = json_string_value(json_object_get(j, "ticket"));
                ev.payload = payload;
                print_event(c, &ev, &e);
                free(payload);
            }
            fflush(stdout);
        }
        json_decref(m);
    }
    free(lb.buf);
    close(fd);
    if (e.code != 0)
        return ctl_fail(&e);
    fprintf(stderr, "examctl: examsited closed the stream\n");
    return EX_UNAVAILABLE;
}

int ctl_events(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"since", required_argument, NULL, 's'},
        {"follow", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long long since = 0;
    struct store *st;
    struct err e;
    char *end;
    int ch, rc, follow = 0, fd = -1;

    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 's') {
            since = strtoll(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || since < 0)
                return ctl_failf(EX_USAGE,
                                 "--since needs an event id (0 or more)");
        } else if (ch == 'f') {
            follow = 1;
        } else if (ch == 'h') {
            printf("usage: examctl %s\n\nThe event log after event ID, one "
                   "line each (--json: one JSON object per line,\nas in a "
                   "batch).  --follow then keeps printing new events as the\n"
                   "daemon commits them (needs a running examsited).\n",
                   events_usage);
            return 0;
        } else {
            return ctl_usage(events_usage);
        }
    }
    if (optind != argc)
        return ctl_usage(events_usage);
    /* Subscribe before reading the log, so nothing falls between. */
    if (follow && (fd = follow_start(c, &e)) == -1)
        return ctl_fail(&e);
    if (ctl_open_store(c, &st, &e) == -1) {
        if (fd != -1)
            close(fd);
        return ctl_fail(&e);
    }
    c->last_printed = since;
    rc = event_foreach(st, since, 0, print_event, c, &e);
    store_close(st);
    fflush(stdout);
    if (rc == -1) {
        if (fd != -1)
            close(fd);
        return ctl_fail(&e);
    }
    return follow ? follow_stream(c, fd) : 0;
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
        return ctl_usage("verify");
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
