/*
 * ctl_roster.c: `examctl roster import|list|show`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "import.h"
#include "roster.h"
#include "secret.h"
#include "site.h"
#include "store.h"

static const char import_syn[] =
    "roster import FILE [--encoding auto|utf-8|gb18030] [--skip-invalid] "
    "[--dry-run]";
static const char list_syn[] = "roster list [--session CODE] [--room ROOM]";
static const char show_syn[] = "roster show TICKET";

static const char roster_help[] =
    "usage: examctl roster import FILE [--encoding auto|utf-8|gb18030] "
    "[--skip-invalid] [--dry-run]\n"
    "       examctl roster list [--session CODE] [--room ROOM]\n"
    "       examctl roster show TICKET\n"
    "\n"
    "The roster is CSV with a header row: ticket/准考证号, name/姓名,\n"
    "id_number/身份证号, session/场次, room/考场, seat/座位号, in any order;\n"
    "other columns are ignored.  UTF-8 (with or without BOM) or GB18030,\n"
    "detected unless --encoding says.  Every row is checked (ID check digit "
    "and\n"
    "birth date, known session, unique ticket, seat and ID number); with any\n"
    "bad row nothing is imported and each is listed as FILE:LINE: reason "
    "(exit\n"
    "65).  --skip-invalid imports the good rows and still lists the bad ones;\n"
    "--dry-run checks everything and writes nothing.  ID numbers are stored\n"
    "only as a keyed hash and their last 4 characters.\n";

/* The stored form shows only the last 4 characters of an ID number. */
static void masked_id(const struct candidate *c, char out[19])
{
    snprintf(out, 19, "**************%s", c->id_last4);
}

/*
 * Refuse a secret that is not this database's: hashed with it, no ID card
 * would be found on the roster.  A database made before the check value
 * existed gets it now (not on a dry run, which writes nothing).
 */
static int secret_belongs(struct store *st, const struct secret *sec,
                          int dry_run, struct err *e)
{
    if (site_secret_check(st, sec, e) == -1)
        return -1;
    if (dry_run)
        return 0;
    if (store_begin(st, e) == -1)
        return -1;
    if (site_secret_record(st, sec, e) == -1) {
        store_rollback(st);
        return -1;
    }
    return store_commit(st, e);
}

static int cmd_roster_import(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"encoding", required_argument, NULL, 'e'},
        {"skip-invalid", no_argument, NULL, 's'},
        {"dry-run", no_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    char secret_path[CONFIG_STR + 16];
    struct import_report r;
    struct import_opts o;
    struct store *st;
    struct secret sec;
    struct err e;
    int ch, rc;

    memset(&o, 0, sizeof(o));
    optind = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'e':
            if (csvread_encoding(optarg, &o.encoding) == -1)
                return ctl_usagef(
                    import_syn,
                    "--encoding must be auto, utf-8 or gb18030, not '%s'",
                    optarg);
            break;
        case 's':
            o.skip_invalid = 1;
            break;
        case 'n':
            o.dry_run = 1;
            break;
        default:
            return ctl_opt_error(import_syn, ch, argv);
        }
    }
    if (optind == argc)
        return ctl_usagef(import_syn, "roster import needs the FILE");
    if (optind != argc - 1)
        return ctl_usagef(import_syn, "roster import takes one FILE, not %d",
                          argc - optind);
    ctl_import_opts(&o);
    o.operator_name = ctl_operator();
    if (ctl_open_store_rw(c, &st, &e) == -1)
        return ctl_fail(&e);
    ctl_secret_path(c, secret_path, sizeof(secret_path));
    if (secret_load(secret_path, &sec, &e) == -1) {
        store_close(st);
        return ctl_fail(&e);
    }
    if (secret_belongs(st, &sec, o.dry_run, &e) == -1) {
        if (e.code == EX_CONFIG)
            err_prefix(&e, "%s", secret_path);
        secret_wipe(&sec);
        store_close(st);
        return ctl_fail(&e);
    }
    rc = import_roster(st, &sec, argv[optind], &o, &r, &e);
    secret_wipe(&sec);
    store_close(st);
    if (rc == -1) {
        import_report_free(&r);
        return ctl_fail(&e);
    }
    rc = ctl_import_finish(c, argv[optind], "candidates", &o, &r);
    /* the daemon starts the readers of rooms that now have candidates */
    if (rc == 0 && r.committed)
        ctl_tell_daemon(c);
    import_report_free(&r);
    return rc;
}

static json_t *candidate_json(const struct candidate *cd)
{
    char id[19];

    masked_id(cd, id);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "ticket", cd->ticket,
                     "name", cd->name, "id_number", id, "session", cd->session,
                     "room", cd->room, "seat", cd->seat);
}

static int list_row(void *ud, const struct candidate *cd, struct err *e)
{
    json_t *arr = ud;
    char id[19];

    if (arr != NULL)
        return json_array_append_new(arr, candidate_json(cd)) == -1
                   ? err_set(e, EX_OSERR, "roster: out of memory")
                   : 0;
    masked_id(cd, id);
    printf("%-14s %-16s %-6s %-4s %s  %s\n", cd->ticket, cd->session, cd->room,
           cd->seat, id, cd->name);
    return 0;
}

static int cmd_roster_list(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"session", required_argument, NULL, 's'},
        {"room", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *session = NULL, *room = NULL;
    json_t *arr = NULL;
    struct store *st;
    struct err e;
    int ch, rc;

    optind = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 's')
            session = optarg;
        else if (ch == 'r')
            room = optarg;
        else
            return ctl_opt_error(list_syn, ch, argv);
    }
    if (optind != argc)
        return ctl_usagef(list_syn, "unexpected argument '%s'", argv[optind]);
    if (ctl_open_store(c, &st, &e) == -1)
        return ctl_fail(&e);
    if (c->json)
        arr = json_array();
    else
        printf("%-14s %-16s %-6s %-4s %-18s  %s\n", "TICKET", "SESSION", "ROOM",
               "SEAT", "ID NUMBER", "NAME");
    rc = candidate_foreach(st, session, room, list_row, arr, &e);
    store_close(st);
    if (rc == -1) {
        json_decref(arr);
        return ctl_fail(&e);
    }
    if (arr != NULL) {
        json_t *j = json_pack("{s:o}", "candidates", arr);
        ctl_print_json(j);
        json_decref(j);
    }
    return 0;
}

static int cmd_roster_show(struct ctl *c, int argc, char **argv)
{
    struct candidate cd;
    struct store *st;
    struct err e;
    char id[19];
    int rc;

    if (argc != 2)
        return ctl_usagef(show_syn, argc < 2 ? "roster show needs a TICKET"
                                             : "roster show takes one TICKET");
    if (ctl_open_store(c, &st, &e) == -1)
        return ctl_fail(&e);
    rc = candidate_get(st, argv[1], &cd, &e);
    store_close(st);
    if (rc == -1)
        return ctl_fail(&e);
    if (rc == 0)
        return ctl_failf(EX_DATAERR, "ticket %s is not on the roster", argv[1]);
    if (c->json) {
        json_t *j = candidate_json(&cd);
        ctl_print_json(j);
        json_decref(j);
        return 0;
    }
    masked_id(&cd, id);
    printf("ticket     %s\nname       %s\nID number  %s\nsession    %s\n"
           "room       %s\nseat       %s\n",
           cd.ticket, cd.name, id, cd.session, cd.room, cd.seat);
    return 0;
}

int ctl_roster(struct ctl *c, int argc, char **argv)
{
    if (ctl_wants_help(argc, argv)) {
        fputs(roster_help, stdout);
        return 0;
    }
    if (argc < 2)
        return ctl_usagef(NULL, "roster needs import, list or show");
    if (strcmp(argv[1], "import") == 0)
        return cmd_roster_import(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return cmd_roster_list(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return cmd_roster_show(c, argc - 1, argv + 1);
    return ctl_usagef(
        NULL, "unknown roster subcommand '%s' (import, list, show)", argv[1]);
}
