/*
 * ctl_session.c: `examctl session import|add|list`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "correct.h"
#include "ctl.h"
#include "import.h"
#include "session.h"
#include "store.h"

static const char import_syn[] = "session import FILE";
static const char add_syn[] =
    "session add CODE --certificate NAME --level 初级|中级|高级 --date "
    "YYYY-MM-DD --start HH:MM --end HH:MM [--opens-before MIN] [--late-after "
    "MIN] [--published N] [--organisation NAME]";
static const char close_syn[] =
    "session close CODE --room ROOM --operator NAME";
static const char change_syn[] =
    "session change CODE [--date YYYY-MM-DD] [--start HH:MM] [--end HH:MM] "
    "[--opens-before MIN] [--late-after MIN] [--published N] --reason TEXT "
    "[--force]";

static const char session_help[] =
    "usage: examctl session import FILE\n"
    "       examctl session add CODE --certificate NAME --level "
    "初级|中级|高级\n"
    "            --date YYYY-MM-DD --start HH:MM --end HH:MM [--opens-before "
    "MIN]\n"
    "            [--late-after MIN] [--published N] [--organisation NAME]\n"
    "       examctl session list\n"
    "       examctl session close CODE --room ROOM --operator NAME\n"
    "       examctl session change CODE [--date YYYY-MM-DD] [--start HH:MM] "
    "[--end HH:MM]\n"
    "            [--opens-before MIN] [--late-after MIN] [--published N]\n"
    "            --reason TEXT [--force]\n"
    "\n"
    "Sessions (场次) come from the office as CSV: code/场次, "
    "certificate/证书名称,\n"
    "level/等级, date/日期, start/开始时间, end/结束时间, "
    "opens_before/提前入场分钟\n"
    "(default 30), late_after/迟到截止分钟 (default 15), published/公布人数.\n"
    "An import is atomic; a session already present with the same details is\n"
    "left as it is; one with other details is an error.\n"
    "\n"
    "session change is the office's correction of a session's date or times:\n"
    "the new values are checked with the others as an import checks them, and\n"
    "recorded as a session.changed event with the old and new values and the\n"
    "--reason.  Once the session has opened in a room (or anyone checked in),\n"
    "it needs --force (recorded as forced); a sealed room cannot be changed.\n"
    "A running daemon re-plans at once.\n";

static int cmd_session_import(struct ctl *c, int argc, char **argv)
{
    struct import_report r;
    struct import_opts o;
    struct store *st;
    struct err e;
    int rc;

    if (argc != 2)
        return ctl_usagef(import_syn, argc < 2
                                          ? "session import needs the FILE"
                                          : "session import takes one FILE");
    if (ctl_open_store_rw(c, &st, &e) == -1)
        return ctl_fail(&e);
    memset(&o, 0, sizeof(o));
    ctl_import_opts(&o);
    o.operator_name = ctl_operator();
    if (import_sessions(st, argv[1], &o, &r, &e) == -1) {
        store_close(st);
        import_report_free(&r);
        return ctl_fail(&e);
    }
    rc = ctl_import_finish(c, argv[1], "sessions", &o, &r);
    if (rc == 0 && r.committed)
        ctl_tell_daemon(c);
    import_report_free(&r);
    store_close(st);
    return rc;
}

static int cmd_session_add(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"certificate", required_argument, NULL, 'c'},
        {"level", required_argument, NULL, 'l'},
        {"date", required_argument, NULL, 'd'},
        {"start", required_argument, NULL, 's'},
        {"end", required_argument, NULL, 'e'},
        {"opens-before", required_argument, NULL, 'o'},
        {"late-after", required_argument, NULL, 'a'},
        {"published", required_argument, NULL, 'p'},
        {"organisation", required_argument, NULL, 'g'},
        {NULL, 0, NULL, 0},
    };
    const char *cert = NULL, *level = NULL, *date = NULL, *start = NULL,
               *end = NULL, *opens = "", *late = "", *pub = "", *org = "";
    struct session_row s;
    struct store *st;
    struct err e;
    int ch, rc;

    optind = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            cert = optarg;
            break;
        case 'l':
            level = optarg;
            break;
        case 'd':
            date = optarg;
            break;
        case 's':
            start = optarg;
            break;
        case 'e':
            end = optarg;
            break;
        case 'o':
            opens = optarg;
            break;
        case 'a':
            late = optarg;
            break;
        case 'p':
            pub = optarg;
            break;
        case 'g':
            org = optarg;
            break;
        default:
            return ctl_opt_error(add_syn, ch, argv);
        }
    }
    if (optind == argc)
        return ctl_usagef(add_syn, "session add needs the session CODE");
    if (optind != argc - 1)
        return ctl_usagef(add_syn, "session add takes one CODE, not %d",
                          argc - optind);
    if (!cert || !level || !date || !start || !end)
        return ctl_usagef(add_syn, "session add needs %s",
                          !cert    ? "--certificate"
                          : !level ? "--level"
                          : !date  ? "--date"
                          : !start ? "--start"
                                   : "--end");
    if (import_session_fields(argv[optind], cert, level, date, start, end,
                              opens, late, pub, org, &s, &e) == -1)
        return ctl_fail(&e);
    if (ctl_open_store_rw(c, &st, &e) == -1)
        return ctl_fail(&e);
    if (store_begin(st, &e) == -1 ||
        (rc = session_add(st, &s, ctl_operator(), &e)) == -1) {
        store_close(st);
        return ctl_fail(&e);
    }
    if (store_commit(st, &e) == -1) {
        store_close(st);
        return ctl_fail(&e);
    }
    store_close(st);
    if (rc == 1)
        ctl_tell_daemon(c);
    printf(rc == 1 ? "session %s added\n"
                   : "session %s already present, unchanged\n",
           s.code);
    return 0;
}

static int list_row(void *ud, const struct session_row *s, struct err *e)
{
    json_t *arr = ud;
    char a[6], b[6];

    session_hhmm(s->start_min, a);
    session_hhmm(s->end_min, b);
    if (arr != NULL) {
        json_t *j =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "code",
                      s->code, "certificate", s->certificate, "level", s->level,
                      "date", s->date, "start", a, "end", b, "opens_before",
                      s->opens_before, "late_after", s->late_after);
        json_object_set_new(j, "published",
                            s->published >= 0 ? json_integer(s->published)
                                              : json_null());
        return json_array_append_new(arr, j) == -1
                   ? err_set(e, EX_OSERR, "sessions: out of memory")
                   : 0;
    }
    printf("%-16s %-10s %s-%s  %-6s opens -%3d min, late +%2d min  %s\n",
           s->code, s->date, a, b, s->level, s->opens_before, s->late_after,
           s->certificate);
    return 0;
}

static int cmd_session_list(struct ctl *c)
{
    json_t *arr = c->json ? json_array() : NULL;
    struct store *st;
    struct err e;
    int rc;

    if (ctl_open_store(c, &st, &e) == -1)
        return ctl_fail(&e);
    rc = session_foreach(st, list_row, arr, &e);
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

/* Closing goes through the daemon: it seals the room's record. */
static int cmd_session_close(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"room", required_argument, NULL, 'r'},
        {"operator", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    const char *room = NULL, *op = NULL;
    json_t *req, *reply;
    struct err e;
    int ch, rc;

    optind = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 'r')
            room = optarg;
        else if (ch == 'o')
            op = optarg;
        else
            return ctl_opt_error(close_syn, ch, argv);
    }
    if (optind != argc - 1)
        return ctl_usagef(close_syn, "session close needs one session CODE");
    if (room == NULL || op == NULL)
        return ctl_usagef(close_syn, "session close needs %s",
                          room == NULL ? "--room" : "--operator");
    req = json_pack("{s:s, s:s, s:s, s:s}", "op", "session.close", "session",
                    argv[optind], "room", room, "operator", op);
    rc = ctl_request(c, req, &reply, &e);
    json_decref(req);
    if (rc == -1)
        return ctl_fail(&e);
    printf("session %s room %s closed and sealed by %s (event "
           "%" JSON_INTEGER_FORMAT ")\n",
           argv[optind], room, op,
           json_integer_value(
               json_object_get(json_object_get(reply, "event"), "id")));
    json_decref(reply);
    return 0;
}

/* "start 09:00 → 09:30, end 11:00 → 11:30" on stdout. */
static void print_session_diff(const struct session_row *a,
                               const struct session_row *b)
{
    char x[16], y[16];
    const char *sep = "";

#define DIFF(what, fa, fb)                                                     \
    do {                                                                       \
        printf("%s%s %s → %s", sep, what, fa, fb);                             \
        sep = ", ";                                                            \
    } while (0)
    if (strcmp(a->date, b->date) != 0)
        DIFF("date", a->date, b->date);
    if (a->start_min != b->start_min) {
        session_hhmm(a->start_min, x);
        session_hhmm(b->start_min, y);
        DIFF("start", x, y);
    }
    if (a->end_min != b->end_min) {
        session_hhmm(a->end_min, x);
        session_hhmm(b->end_min, y);
        DIFF("end", x, y);
    }
    if (a->opens_before != b->opens_before) {
        snprintf(x, sizeof(x), "%d", a->opens_before);
        snprintf(y, sizeof(y), "%d", b->opens_before);
        DIFF("opens_before", x, y);
    }
    if (a->late_after != b->late_after) {
        snprintf(x, sizeof(x), "%d", a->late_after);
        snprintf(y, sizeof(y), "%d", b->late_after);
        DIFF("late_after", x, y);
    }
    if (a->published != b->published) {
        snprintf(x, sizeof(x), a->published < 0 ? "none" : "%d", a->published);
        snprintf(y, sizeof(y), b->published < 0 ? "none" : "%d", b->published);
        DIFF("published", x, y);
    }
#undef DIFF
}

/* The office's correction of a session: written here, then the daemon is
 * told to re-plan. */
static int cmd_session_change(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"date", required_argument, NULL, 'd'},
        {"start", required_argument, NULL, 's'},
        {"end", required_argument, NULL, 'e'},
        {"opens-before", required_argument, NULL, 'o'},
        {"late-after", required_argument, NULL, 'a'},
        {"published", required_argument, NULL, 'p'},
        {"reason", required_argument, NULL, 'r'},
        {"force", no_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    struct correct_session_change ch;
    struct correct_outcome out;
    struct session_row before, after;
    struct correct_opts o;
    struct store *st;
    struct err e;
    int opt;

    memset(&ch, 0, sizeof(ch));
    memset(&o, 0, sizeof(o));
    optind = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            ch.date = optarg;
            break;
        case 's':
            ch.start = optarg;
            break;
        case 'e':
            ch.end = optarg;
            break;
        case 'o':
            ch.opens_before = optarg;
            break;
        case 'a':
            ch.late_after = optarg;
            break;
        case 'p':
            ch.published = optarg;
            break;
        case 'r':
            o.reason = optarg;
            break;
        case 'f':
            o.force = 1;
            break;
        default:
            return ctl_opt_error(change_syn, opt, argv);
        }
    }
    if (optind == argc)
        return ctl_usagef(change_syn, "session change needs the session CODE");
    if (optind != argc - 1)
        return ctl_usagef(change_syn, "session change takes one CODE, not %d",
                          argc - optind);
    if (!ch.date && !ch.start && !ch.end && !ch.opens_before &&
        !ch.late_after && !ch.published)
        return ctl_usagef(change_syn,
                          "session change needs what to change (--date, "
                          "--start, --end, --opens-before, --late-after or "
                          "--published)");
    if (o.reason == NULL)
        return ctl_usagef(change_syn,
                          "session change needs --reason TEXT (why the office "
                          "changed the session)");
    if (correct_reason_check(o.reason, &e) == -1)
        return ctl_usagef(change_syn, "%s", e.msg);
    o.operator_name = ctl_operator();
    if (ctl_open_store_rw(c, &st, &e) == -1)
        return ctl_fail(&e);
    if (store_begin(st, &e) == -1 ||
        correct_session(st, argv[optind], &ch, &o, &before, &after, &out, &e) ==
            -1) {
        store_close(st); /* rolls back: nothing changed */
        return ctl_fail(&e);
    }
    if (ctl_correction_commit(c, st, out.unchanged, &e) == -1)
        return ctl_fail(&e);
    if (c->json) {
        json_t *j = json_pack("{s:s, s:b, s:b}", "session", after.code,
                              "changed", !out.unchanged, "forced", out.forced);
        json_object_set_new(j, "event",
                            out.first_id ? json_integer(out.first_id)
                                         : json_null());
        ctl_print_json(j);
        json_decref(j);
    } else if (out.unchanged) {
        printf("session %s already has these values: nothing changed\n",
               after.code);
    } else {
        printf("session %s changed: ", after.code);
        print_session_diff(&before, &after);
        printf(" (session.changed event %lld%s)\n", (long long)out.first_id,
               out.forced ? ", forced: it had opened" : "");
    }
    return 0;
}

int ctl_session(struct ctl *c, int argc, char **argv)
{
    if (ctl_wants_help(argc, argv)) {
        fputs(session_help, stdout);
        return 0;
    }
    if (argc < 2)
        return ctl_usagef(NULL,
                          "session needs import, add, list, close or change");
    if (strcmp(argv[1], "import") == 0)
        return cmd_session_import(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "add") == 0)
        return cmd_session_add(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return argc == 2 ? cmd_session_list(c)
                         : ctl_usagef("session list",
                                      "session list takes no arguments");
    if (strcmp(argv[1], "close") == 0)
        return cmd_session_close(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "change") == 0)
        return cmd_session_change(c, argc - 1, argv + 1);
    return ctl_usagef(NULL,
                      "unknown session subcommand '%s' (import, add, list, "
                      "close, change)",
                      argv[1]);
}
