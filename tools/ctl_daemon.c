/*
 * ctl_daemon.c: the examctl commands that go through the running daemon:
 * checkin manual, incident add|list|amend, devices.  The daemon owns the
 * database while it runs; these ask it to act and print what it recorded.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "sitetime.h"

/* Print the event of a reply: the JSON with --json, a line otherwise. */
static int print_reply_event(struct ctl *c, json_t *reply, const char *what)
{
    json_t *ev = json_object_get(reply, "event");
    json_t *pl = json_object_get(ev, "payload");
    const char *msg = json_string_value(json_object_get(pl, "message_en"));

    if (c->json) {
        ctl_print_json(ev);
    } else {
        printf("%s: event %" JSON_INTEGER_FORMAT "%s%s\n", what,
               json_integer_value(json_object_get(ev, "id")), msg ? ": " : "",
               msg ? msg : "");
    }
    json_decref(reply);
    return 0;
}

static int checkin_manual(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"operator", required_argument, NULL, 'o'},
        {"reason", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *op = NULL, *reason = NULL;
    json_t *req, *reply;
    struct err e;
    int ch, rc;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'o')
            op = optarg;
        else if (ch == 'r')
            reason = optarg;
        else
            return ctl_usage(
                "checkin manual TICKET --operator NAME --reason TEXT");
    }
    if (optind != argc - 1 || op == NULL || reason == NULL)
        return ctl_usage("checkin manual TICKET --operator NAME --reason TEXT");
    req = json_pack("{s:s, s:s, s:s, s:s}", "op", "checkin.manual", "ticket",
                    argv[optind], "operator", op, "reason", reason);
    rc = ctl_request(c, req, &reply, &e);
    json_decref(req);
    if (rc == -1)
        return ctl_fail(&e);
    return print_reply_event(c, reply, "checked in");
}

int ctl_checkin(struct ctl *c, int argc, char **argv)
{
    if (ctl_wants_help(argc, argv)) {
        puts(
            "usage: examctl checkin manual TICKET --operator NAME --reason "
            "TEXT\n\n"
            "Check a candidate in by hand (forgotten ID card, temporary ID\n"
            "certificate).  After the late cut-off this is the supervisor's\n"
            "override and is recorded as such.  Needs the operator role and a\n"
            "running examsited.");
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "manual") == 0)
        return checkin_manual(c, argc - 1, argv + 1);
    return ctl_usage("checkin manual TICKET --operator NAME --reason TEXT");
}

static const char incident_usage[] =
    "incident add (--ticket TICKET | --seat ROOM:SEAT [--session CODE]) --kind "
    "KIND\n"
    "                      --operator NAME [--note TEXT] [--confirmed-by "
    "NAME]\n"
    "       examctl incident list [--session CODE]\n"
    "       examctl incident amend ID --operator NAME --note TEXT";

static int incident_add(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"ticket", required_argument, NULL, 't'},
        {"seat", required_argument, NULL, 's'},
        {"kind", required_argument, NULL, 'k'},
        {"operator", required_argument, NULL, 'o'},
        {"note", required_argument, NULL, 'n'},
        {"confirmed-by", required_argument, NULL, 'c'},
        {"session", required_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    json_t *req = json_pack("{s:s}", "op", "incident.add"), *reply;
    struct err e;
    int ch, rc;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char *key = ch == 't'   ? "ticket"
                          : ch == 's' ? "seat"
                          : ch == 'k' ? "kind"
                          : ch == 'o' ? "operator"
                          : ch == 'n' ? "note"
                          : ch == 'c' ? "confirmed_by"
                          : ch == 'S' ? "session"
                                      : NULL;
        if (key == NULL) {
            json_decref(req);
            return ctl_usage(incident_usage);
        }
        json_object_set_new(req, key, json_string(optarg));
    }
    if (optind != argc || !json_object_get(req, "kind") ||
        !json_object_get(req, "operator")) {
        json_decref(req);
        return ctl_usage(incident_usage);
    }
    rc = ctl_request(c, req, &reply, &e);
    json_decref(req);
    if (rc == -1)
        return ctl_fail(&e);
    return print_reply_event(c, reply, "incident logged");
}

static int incident_amend(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"operator", required_argument, NULL, 'o'},
        {"note", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    const char *op = NULL, *note = NULL;
    json_t *req, *reply;
    long long id;
    struct err e;
    char *end;
    int ch, rc;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'o')
            op = optarg;
        else if (ch == 'n')
            note = optarg;
        else
            return ctl_usage(incident_usage);
    }
    if (optind != argc - 1 || op == NULL || note == NULL)
        return ctl_usage(incident_usage);
    id = strtoll(argv[optind], &end, 10);
    if (*end != '\0' || id <= 0)
        return ctl_failf(EX_USAGE, "incident amend: '%s' is not an event id",
                         argv[optind]);
    req = json_pack("{s:s, s:I, s:s, s:s}", "op", "incident.amend", "id",
                    (json_int_t)id, "operator", op, "note", note);
    rc = ctl_request(c, req, &reply, &e);
    json_decref(req);
    if (rc == -1)
        return ctl_fail(&e);
    return print_reply_event(c, reply, "amended");
}

static int incident_list(struct ctl *c, int argc, char **argv)
{
    json_t *req = json_pack("{s:s}", "op", "incident.list"), *reply, *arr, *ev;
    struct err e;
    size_t i;
    int rc;

    if (argc == 3 && strcmp(argv[1], "--session") == 0)
        json_object_set_new(req, "session", json_string(argv[2]));
    else if (argc != 1) {
        json_decref(req);
        return ctl_usage(incident_usage);
    }
    rc = ctl_request(c, req, &reply, &e);
    json_decref(req);
    if (rc == -1)
        return ctl_fail(&e);
    arr = json_object_get(reply, "incidents");
    if (c->json) {
        ctl_print_json(arr);
    } else {
        json_array_foreach(arr, i, ev)
        {
            json_t *pl = json_object_get(ev, "payload");
            const char *kind = json_string_value(json_object_get(ev, "kind"));
            int amend = kind && strcmp(kind, "incident.amended") == 0;
            const char *op = json_string_value(json_object_get(ev, "operator"));
            const char *sess =
                json_string_value(json_object_get(ev, "session"));
            const char *note = json_string_value(json_object_get(pl, "note"));
            if (amend)
                printf("%6" JSON_INTEGER_FORMAT
                       " %s %-14s amends %" JSON_INTEGER_FORMAT " (%s): %s\n",
                       json_integer_value(json_object_get(ev, "id")),
                       json_string_value(json_object_get(ev, "time")),
                       sess ? sess : "-",
                       json_integer_value(json_object_get(pl, "amends")),
                       op ? op : "-", note ? note : "");
            else
                printf("%6" JSON_INTEGER_FORMAT
                       " %s %-14s %-6s seat %-8s (%s) %s\n",
                       json_integer_value(json_object_get(ev, "id")),
                       json_string_value(json_object_get(ev, "time")),
                       sess ? sess : "-",
                       json_string_value(json_object_get(pl, "kind")),
                       json_string_value(json_object_get(pl, "seat")),
                       op ? op : "-", note ? note : "");
        }
    }
    json_decref(reply);
    return 0;
}

int ctl_incident(struct ctl *c, int argc, char **argv)
{
    if (ctl_wants_help(argc, argv)) {
        printf(
            "usage: examctl %s\n\nKINDs: V1-V9 (违纪, MOE Order 33 Art. 5), "
            "C1-C9 "
            "(作弊, Art. 6),\nlate, absent, exit, reentry, device, other.  "
            "Once a "
            "room's session is\nclosed, later facts are amendments.  Needs a "
            "running examsited.\n",
            incident_usage);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "add") == 0)
        return incident_add(c, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "amend") == 0)
        return incident_amend(c, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return incident_list(c, argc - 1, argv + 1);
    return ctl_usage(incident_usage);
}

/* "2026-12-05T01:02:03.456Z" as site-local "09:02:03"; "-" for none. */
static const char *local_hms(const char *utc)
{
    static char out[16];
    struct tm tm;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    if (utc == NULL || strptime(utc, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
        return "-";
    t = timegm(&tm);
    localtime_r(&t, &tm);
    strftime(out, sizeof(out), "%H:%M:%S", &tm);
    return out;
}

int ctl_devices(struct ctl *c, int argc, char **argv)
{
    json_t *req, *reply, *arr, *d;
    struct err e;
    size_t i;
    int rc;

    if (ctl_wants_help(argc, argv)) {
        puts(
            "usage: examctl devices\n\nThe station's readers and scanners as "
            "the daemon sees them: attached,\npolling, SAM status and ID, last "
            "error.");
        return 0;
    }
    if (argc != 1)
        return ctl_usage("devices");
    req = json_pack("{s:s}", "op", "devices");
    rc = ctl_request(c, req, &reply, &e);
    json_decref(req);
    if (rc == -1)
        return ctl_fail(&e);
    arr = json_object_get(reply, "devices");
    if (c->json) {
        ctl_print_json(arr);
    } else {
        const char *zone =
            json_string_value(json_object_get(reply, "timezone"));
        if (zone != NULL)
            sitetime_set_zone(zone, NULL); /* last read in site time */
        printf("%-12s %-8s %-6s %-8s %-7s %-9s %-37s %s\n", "DEVICE", "TYPE",
               "ROOM", "ATTACHED", "POLLING", "LAST READ", "SAM", "LAST ERROR");
        json_array_foreach(arr, i, d)
        {
            printf(
                "%-12s %-8s %-6s %-8s %-7s %-9s %-37s %s\n",
                json_string_value(json_object_get(d, "name")),
                json_string_value(json_object_get(d, "type")),
                json_string_value(json_object_get(d, "room")),
                json_is_true(json_object_get(d, "attached")) ? "yes" : "NO",
                json_is_true(json_object_get(d, "polling")) ? "yes" : "no",
                local_hms(json_string_value(json_object_get(d, "last_read"))),
                json_is_true(json_object_get(d, "sam_ok"))
                    ? json_string_value(json_object_get(d, "sam_id"))
                    : "-",
                json_string_value(json_object_get(d, "last_error")));
        }
    }
    json_decref(reply);
    return 0;
}
