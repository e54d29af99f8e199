/*
 * ctl_export.c: `examctl export attendance`: one row per rostered candidate
 * of a session, as CSV that opens cleanly in Excel (UTF-8 with BOM, CRLF).
 * Read from the database directly (readers never block the daemon: WAL).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <csv.h>

#include "attendance.h"
#include "ctl.h"
#include "roster.h"
#include "session.h"
#include "store.h"

/* Longer than any cell (a name is at most 64 bytes). */
#define CSVEXPORT_CELL_MAX 256

static const char export_usage[] =
    "export attendance --session CODE [--room ROOM]";

struct export_ctx {
    struct store *st;
    struct err e;
    int failed;
};

/*
 * One cell.  A cell that Excel or LibreOffice would read as a formula (it
 * begins with = + - @, or a tab or CR that they skip before one) gets a
 * leading single quote, the OWASP way: a candidate named
 * "=HYPERLINK(...)" stays text in the office's spreadsheet.  Cells are
 * always quoted (csv_fwrite).
 */
static void field(const char *s, int last)
{
    if (s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL) {
        char buf[CSVEXPORT_CELL_MAX + 2];
        size_t n = strlen(s);
        if (n > CSVEXPORT_CELL_MAX)
            n = CSVEXPORT_CELL_MAX;
        buf[0] = '\'';
        memcpy(buf + 1, s, n);
        csv_fwrite(stdout, buf, n + 1);
    } else {
        csv_fwrite(stdout, s, strlen(s));
    }
    fputs(last ? "\r\n" : ",", stdout);
}

static int export_row(void *ud, const struct candidate *cd, struct err *e)
{
    struct export_ctx *x = ud;
    struct attendance a;
    char when[16];
    const char *status;

    if (attendance_get(x->st, cd->ticket, cd->session, &a, e) == -1) {
        x->failed = 1;
        return -1;
    }
    switch (a.state) {
    case ATT_PRESENT:
        status = "present";
        break;
    case ATT_OUT:
        status = "out";
        break;
    case ATT_ABSENT:
        status = "absent";
        break;
    default:
        status = "not checked in";
    }
    /* roster.withdrawn: not expected, whatever the log holds */
    if (cd->withdrawn)
        status = "withdrawn";
    ctl_site_time(a.first_time, "%H:%M:%S", when, sizeof(when));
    field(cd->ticket, 0);
    field(cd->name, 0);
    field(cd->session, 0);
    field(cd->room, 0);
    field(cd->seat, 0);
    field(status, 0);
    field(when, 0);
    field(a.first_device[0] ? a.first_device : (a.first_id ? "manual" : ""), 1);
    return 0;
}

int ctl_export(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"session", required_argument, NULL, 's'},
        {"room", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *session = NULL, *room = NULL;
    struct export_ctx x;
    struct session_row s;
    int ch, rc;

    if (ctl_wants_help(argc, argv)) {
        printf(
            "usage: examctl %s\n\nAttendance of a session as CSV on stdout "
            "(UTF-8 with BOM, CRLF: opens in Excel):\nticket, name, session, "
            "room, seat, status, check-in time (site time), device.\n"
            "A withdrawn candidate's status is 'withdrawn'.\n",
            export_usage);
        return 0;
    }
    if (argc < 2)
        return ctl_usagef(export_usage, "export needs what to export");
    if (strcmp(argv[1], "attendance") != 0)
        return ctl_usagef(export_usage, "cannot export '%s'", argv[1]);
    argc--;
    argv++;
    optind = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 's')
            session = optarg;
        else if (ch == 'r')
            room = optarg;
        else
            return ctl_opt_error(export_usage, ch, argv);
    }
    if (optind != argc)
        return ctl_usagef(export_usage, "unexpected argument '%s'",
                          argv[optind]);
    if (session == NULL)
        return ctl_usagef(export_usage, "export attendance needs --session");
    memset(&x, 0, sizeof(x));
    if (ctl_open_store(c, &x.st, &x.e) == -1)
        return ctl_fail(&x.e);
    if ((rc = session_get(x.st, session, &s, &x.e)) != 1) {
        store_close(x.st);
        return rc == -1 ? ctl_fail(&x.e)
                        : ctl_failf(EX_DATAERR, "no session %s", session);
    }
    fputs("\xEF\xBB\xBF", stdout);
    fputs("准考证号 ticket,姓名 name,场次 session,考场 room,座位号 seat,"
          "状态 status,检录时间 time,设备 device\r\n",
          stdout);
    rc = candidate_foreach(x.st, session, room, export_row, &x, &x.e);
    store_close(x.st);
    if (rc == -1)
        return ctl_fail(&x.e);
    return 0;
}
