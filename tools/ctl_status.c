/*
 * ctl_status.c: `examctl status`: attendance per session and room.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl.h"
#include "report.h"
#include "site.h"
#include "store.h"

static const char status_usage[] = "status [--session CODE] [--room ROOM]";

static int status_row(void *ud, const struct report_status *r, struct err *e)
{
    json_t *arr = ud;

    if (arr == NULL) {
        printf("%-16s %-6s %8d %7d %4d %6d %6d %9d\n", r->session,
               r->room[0] ? r->room : "-", r->expected, r->present, r->late,
               r->absent, r->denied, r->incidents);
        return 0;
    }
    if (json_array_append_new(
            arr, json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i}", "code",
                           r->session, "room", r->room, "expected", r->expected,
                           "present", r->present, "late", r->late, "absent",
                           r->absent, "denied", r->denied, "incidents",
                           r->incidents)) == -1)
        return err_set(e, EX_OSERR, "status: out of memory");
    return 0;
}

static int print_row_json(json_t *row)
{
    struct report_status r;

    memset(&r, 0, sizeof(r));
    snprintf(r.session, sizeof(r.session), "%s",
             json_string_value(json_object_get(row, "code")));
    snprintf(r.room, sizeof(r.room), "%s",
             json_string_value(json_object_get(row, "room")));
    r.expected = (int)json_integer_value(json_object_get(row, "expected"));
    r.present = (int)json_integer_value(json_object_get(row, "present"));
    r.late = (int)json_integer_value(json_object_get(row, "late"));
    r.absent = (int)json_integer_value(json_object_get(row, "absent"));
    r.denied = (int)json_integer_value(json_object_get(row, "denied"));
    r.incidents = (int)json_integer_value(json_object_get(row, "incidents"));
    return status_row(NULL, &r, NULL);
}

/*
 * Invigilators cannot read the daemon's database (it is the daemon's own,
 * mode 0750); they get the same figures from the daemon, as operators.
 */
static int status_from_daemon(struct ctl *c, const char *session,
                              const char *room)
{
    json_t *req = json_pack("{s:s}", "op", "status"), *ping, *reply = NULL,
           *hello = NULL, *rows, *row;
    struct err e;
    size_t i;
    int rc;

    if (session)
        json_object_set_new(req, "session", json_string(session));
    if (room)
        json_object_set_new(req, "room", json_string(room));
    ping = json_pack("{s:s}", "op", "ping");
    rc = ctl_request(c, ping, &hello, &e);
    json_decref(ping);
    if (rc == 0)
        rc = ctl_request(c, req, &reply, &e);
    json_decref(req);
    if (rc == -1) {
        json_decref(hello);
        return ctl_fail(&e);
    }
    rows = json_object_get(reply, "sessions");
    if (c->json) {
        json_t *j = json_pack("{s:O}", "sessions", rows);
        ctl_print_json(j);
        json_decref(j);
    } else {
        printf("site %s, station %s\n\n%-16s %-6s %8s %7s %4s %6s %6s %9s\n",
               json_string_value(json_object_get(hello, "site")),
               json_string_value(json_object_get(hello, "station")), "SESSION",
               "ROOM", "EXPECTED", "PRESENT", "LATE", "ABSENT", "DENIED",
               "INCIDENTS");
        json_array_foreach(rows, i, row) print_row_json(row);
    }
    json_decref(hello);
    json_decref(reply);
    return 0;
}

int ctl_status(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"session", required_argument, NULL, 's'},
        {"room", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *session = NULL, *room = NULL;
    json_t *arr = NULL;
    struct store *st;
    struct site site;
    struct err e;
    int ch, rc;

    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            session = optarg;
            break;
        case 'r':
            room = optarg;
            break;
        case 'h':
            printf("usage: examctl %s\n\nExpected, present, late, absent, "
                   "denied and incidents per session and room,\ncounted from "
                   "the roster and the event log.  A user who cannot read "
                   "the\ndatabase (an invigilator) gets them from examsited, "
                   "with the operator role.\n",
                   status_usage);
            return 0;
        default:
            return ctl_opt_error(status_usage, ch, argv);
        }
    }
    if (optind != argc)
        return ctl_usagef(status_usage, "status takes no arguments, not '%s'",
                          argv[optind]);
    if (access(c->db_path, R_OK) == -1 && errno == EACCES)
        return status_from_daemon(c, session, room);
    if (ctl_open_store(c, &st, &e) == -1)
        return ctl_fail(&e);
    if (site_get(st, &site, &e) != 1) {
        store_close(st);
        return ctl_fail(&e);
    }
    if (c->json)
        arr = json_array();
    else
        printf(
            "site %s (%s), station %s\n\n%-16s %-6s %8s %7s %4s %6s %6s %9s\n",
            site.id, site.name, site.station, "SESSION", "ROOM", "EXPECTED",
            "PRESENT", "LATE", "ABSENT", "DENIED", "INCIDENTS");
    rc = report_status(st, session, room, status_row, arr, &e);
    store_close(st);
    if (rc == -1) {
        json_decref(arr);
        return ctl_fail(&e);
    }
    if (arr != NULL) {
        json_t *j = json_pack("{s:o}", "sessions", arr);
        ctl_print_json(j);
        json_decref(j);
    }
    return 0;
}
