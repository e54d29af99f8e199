/*
 * ctl_status.c: `examctl status`: attendance per session and room.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "report.h"
#include "site.h"
#include "store.h"

static const char status_usage[] = "status [--session CODE] [--room ROOM]";

static int status_row(void *ud, const struct report_status *r)
{
    json_t *arr = ud;

    if (arr != NULL)
        return json_array_append_new(
            arr, json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i}", "code",
                           r->session, "room", r->room, "expected",
                           r->expected, "present", r->present, "late", r->late,
                           "absent", r->absent, "denied", r->denied,
                           "incidents", r->incidents));
    printf("%-16s %-6s %8d %7d %4d %6d %6d %9d\n", r->session,
           r->room[0] ? r->room : "-", r->expected, r->present, r->late,
           r->absent, r->denied, r->incidents);
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

    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 's')
            session = optarg;
        else if (ch == 'r')
            room = optarg;
        else if (ch == 'h') {
            printf("usage: examctl %s\n\nExpected, present, late, absent, "
                   "denied and incidents per session and room,\ncounted from "
                   "the roster and the event log.\n", status_usage);
            return 0;
        } else
            return ctl_usage(status_usage);
    }
    if (optind != argc)
        return ctl_usage(status_usage);
    if (ctl_open_store(c, &st, &e) == -1)
        return ctl_fail(&e);
    if (site_get(st, &site, &e) != 1) {
        store_close(st);
        return ctl_fail(&e);
    }
    if (c->json)
        arr = json_array();
    else
        printf("site %s (%s), station %s\n\n%-16s %-6s %8s %7s %4s %6s %6s %9s\n",
               site.id, site.name, site.station, "SESSION", "ROOM",
               "EXPECTED", "PRESENT", "LATE", "ABSENT", "DENIED", "INCIDENTS");
    rc = report_status(st, session, room, status_row, arr, &e);
    store_close(st);
    if (rc == -1) {
        json_decref(arr);
        return ctl_fail(&e);
    }
    if (arr != NULL) {
        json_t *j = json_pack("{s:o}", "sessions", arr);
        json_dumpf(j, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(j);
    }
    return 0;
}
