/*
 * ctl_daemon.c: the examctl commands that go through the running daemon:
 * checkin manual, incident add|list|amend, devices.  The daemon owns the
 * database while it runs; these ask it to act and print what it recorded.
 * Times are shown in the site's zone, which the daemon's `devices` reply
 * names (ctl_daemon_zone), so they need no read access to the database.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "number.h"
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

static const char checkin_syn[] =
    "checkin manual TICKET --operator NAME --reason TEXT";

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
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 'o')
            op = optarg;
        else if (ch == 'r')
            reason = optarg;
        else
            return ctl_opt_error(checkin_syn, ch, argv);
    }
    if (optind == argc)
        return ctl_usagef(checkin_syn, "checkin manual needs the TICKET");
    if (optind != argc - 1)
        return ctl_usagef(checkin_syn,
                          "checkin manual takes one TICKET, not %d",
                          argc - optind);
    if (op == NULL)
        return ctl_usagef(checkin_syn, "checkin manual needs --operator");
    if (reason == NULL)
        return ctl_usagef(checkin_syn, "checkin manual needs --reason");
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
    if (argc < 2)
        return ctl_usagef(checkin_syn, "checkin needs 'manual'");
    if (strcmp(argv[1], "manual") == 0)
        return checkin_manual(c, argc - 1, argv + 1);
    return ctl_usagef(checkin_syn, "unknown checkin subcommand '%s'", argv[1]);
}

static const char incident_usage[] =
    "incident add (--ticket TICKET | --seat ROOM:SEAT [--session CODE]) --kind "
    "KIND\n"
    "                      --operator NAME [--note TEXT] [--confirmed-by "
    "NAME]\n"
    "       examctl incident list [--session CODE]\n"
    "       examctl incident amend ID --operator NAME --note TEXT";
static const char add_syn[] =
    "incident add (--ticket TICKET | --seat ROOM:SEAT [--session CODE]) "
    "--kind KIND --operator NAME [--note TEXT] [--confirmed-by NAME]";
static const char list_syn[] = "incident list [--session CODE]";
static const char amend_syn[] = "incident amend ID --operator NAME --note TEXT";

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
    const char *what = NULL;
    struct err e;
    int ch, rc;

    optind = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
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
            return ctl_opt_error(add_syn, ch, argv);
        }
        json_object_set_new(req, key, json_string(optarg));
    }
    if (optind != argc)
        what = "incident add takes no arguments";
    else if (!json_object_get(req, "kind"))
        what = "incident add needs --kind";
    else if (!json_object_get(req, "operator"))
        what = "incident add needs --operator";
    else if (!json_object_get(req, "ticket") && !json_object_get(req, "seat"))
        what = "incident add needs --ticket or --seat";
    else if (json_object_get(req, "ticket") && json_object_get(req, "seat"))
        what = "incident add takes --ticket or --seat, not both";
    if (what != NULL) {
        json_decref(req);
        if (optind != argc)
            return ctl_usagef(add_syn, "%s, not '%s'", what, argv[optind]);
        return ctl_usagef(add_syn, "%s", what);
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
    int ch, rc;

    optind = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 'o')
            op = optarg;
        else if (ch == 'n')
            note = optarg;
        else
            return ctl_opt_error(amend_syn, ch, argv);
    }
    if (optind == argc)
        return ctl_usagef(amend_syn, "incident amend needs the event ID");
    if (optind != argc - 1)
        return ctl_usagef(amend_syn, "incident amend takes one ID, not %d",
                          argc - optind);
    if (number_parse(argv[optind], 1, INT64_MAX, &id) == -1)
        return ctl_usagef(amend_syn, "'%s' is not an event id", argv[optind]);
    if (op == NULL)
        return ctl_usagef(amend_syn, "incident amend needs --operator");
    if (note == NULL)
        return ctl_usagef(amend_syn, "incident amend needs --note");
    req = json_pack("{s:s, s:I, s:s, s:s}", "op", "incident.amend", "id",
                    (json_int_t)id, "operator", op, "note", note);
    rc = ctl_request(c, req, &reply, &e);
    json_decref(req);
    if (rc == -1)
        return ctl_fail(&e);
    return print_reply_event(c, reply, "amended");
}

/* One incident event as a line, its time in the site's zone. */
static void incident_line(const json_t *ev)
{
    json_t *pl = json_object_get(ev, "payload");
    const char *kind = json_string_value(json_object_get(ev, "kind"));
    const char *op = json_string_value(json_object_get(ev, "operator"));
    const char *sess = json_string_value(json_object_get(ev, "session"));
    const char *note = json_string_value(json_object_get(pl, "note"));
    const char *utc = json_string_value(json_object_get(ev, "time"));
    const char *ikind = json_string_value(json_object_get(pl, "kind"));
    const char *seat = json_string_value(json_object_get(pl, "seat"));
    json_int_t id = json_integer_value(json_object_get(ev, "id"));
    char when[32];

    if (ctl_site_time(utc, "%Y-%m-%d %H:%M:%S", when, sizeof(when)) == -1)
        snprintf(when, sizeof(when), "%s", utc ? utc : "-");
    if (kind != NULL && strcmp(kind, "incident.amended") == 0)
        printf("%6" JSON_INTEGER_FORMAT " %s %-14s amends %" JSON_INTEGER_FORMAT
               " (%s): %s\n",
               id, when, sess ? sess : "-",
               json_integer_value(json_object_get(pl, "amends")), op ? op : "-",
               note ? note : "");
    else
        printf("%6" JSON_INTEGER_FORMAT " %s %-14s %-6s seat %-8s (%s) %s\n",
               id, when, sess ? sess : "-", ikind ? ikind : "-",
               seat ? seat : "-", op ? op : "-", note ? note : "");
}

/*
 * The incidents, all of them: the daemon sends them a page at a time
 * (since -> next while more).  Lines as the pages come; --json: one array
 * of every incident event, once all are read.
 */
static int incident_list(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"session", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    const char *session = NULL;
    json_t *all = NULL, *req, *reply, *arr, *ev;
    json_int_t since = 0, next;
    struct err e;
    size_t i;
    int ch, rc = 0, more;

    optind = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 's')
            session = optarg;
        else
            return ctl_opt_error(list_syn, ch, argv);
    }
    if (optind != argc)
        return ctl_usagef(list_syn,
                          "incident list takes no arguments, not '%s'",
                          argv[optind]);
    if (c->json)
        all = json_array();
    else if (ctl_daemon_zone(c, &e) == -1)
        return ctl_fail(&e);
    do {
        req = json_pack("{s:s, s:I}", "op", "incident.list", "since", since);
        if (session != NULL)
            json_object_set_new(req, "session", json_string(session));
        if (ctl_request(c, req, &reply, &e) == -1) {
            json_decref(req);
            json_decref(all);
            return ctl_fail(&e);
        }
        json_decref(req);
        arr = json_object_get(reply, "incidents");
        next = json_integer_value(json_object_get(reply, "next"));
        more = json_is_true(json_object_get(reply, "more"));
        if (!json_is_array(arr) ||
            !json_is_integer(json_object_get(reply, "next")) ||
            (more && next <= since)) {
            json_decref(reply);
            json_decref(all);
            return ctl_failf(EX_PROTOCOL,
                             "examsited's incident.list reply does not go on "
                             "from event %" JSON_INTEGER_FORMAT,
                             since);
        }
        json_array_foreach(arr, i, ev)
        {
            if (all != NULL)
                json_array_append(all, ev);
            else
                incident_line(ev);
        }
        json_decref(reply);
        since = next;
    } while (more);
    if (all != NULL)
        ctl_print_json(all);
    json_decref(all);
    return rc;
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
            "running examsited.\nlist prints every incident, times in the "
            "site's zone (--json: one array).\n",
            incident_usage);
        return 0;
    }
    if (argc < 2)
        return ctl_usagef(NULL, "incident needs add, list or amend");
    if (strcmp(argv[1], "add") == 0)
        return incident_add(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "amend") == 0)
        return incident_amend(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return incident_list(c, argc - 1, argv + 1);
    return ctl_usagef(NULL, "unknown incident subcommand '%s'", argv[1]);
}

int ctl_daemon_zone(struct ctl *c, struct err *e)
{
    json_t *req = json_pack("{s:s}", "op", "devices"), *reply = NULL;
    const char *zone;
    int rc;

    rc = ctl_request(c, req, &reply, e);
    json_decref(req);
    if (rc == -1)
        return -1;
    zone = json_string_value(json_object_get(reply, "timezone"));
    if (zone == NULL)
        zone = c->have_config ? c->cfg.site.timezone : SITETIME_DEFAULT_ZONE;
    rc = sitetime_set_zone(zone, e);
    json_decref(reply);
    return rc;
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
        return ctl_usagef("devices",
                          argv[1][0] == '-' ? "unknown option '%s'"
                                            : "devices takes no arguments, "
                                              "not '%s'",
                          argv[1]);
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
            char hms[16];

            if (ctl_site_time(
                    json_string_value(json_object_get(d, "last_read")),
                    "%H:%M:%S", hms, sizeof(hms)) == -1)
                snprintf(hms, sizeof(hms), "-");
            printf("%-12s %-8s %-6s %-8s %-7s %-9s %-37s %s\n",
                   json_string_value(json_object_get(d, "name")),
                   json_string_value(json_object_get(d, "type")),
                   json_string_value(json_object_get(d, "room")),
                   json_is_true(json_object_get(d, "attached")) ? "yes" : "NO",
                   json_is_true(json_object_get(d, "polling")) ? "yes" : "no",
                   hms,
                   json_is_true(json_object_get(d, "sam_ok"))
                       ? json_string_value(json_object_get(d, "sam_id"))
                       : "-",
                   json_string_value(json_object_get(d, "last_error")));
        }
    }
    json_decref(reply);
    return 0;
}
