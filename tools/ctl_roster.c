/*
 * ctl_roster.c: `examctl roster import|list|show`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "correct.h"
#include "ctl.h"
#include "import.h"
#include "roster.h"
#include "secret.h"
#include "site.h"
#include "store.h"

static const char import_syn[] =
    "roster import FILE [--encoding auto|utf-8|gb18030] [--skip-invalid] "
    "[--dry-run] [--apply-changes --reason TEXT [--force]]";
static const char list_syn[] = "roster list [--session CODE] [--room ROOM]";
static const char show_syn[] = "roster show TICKET";
static const char withdraw_syn[] =
    "roster withdraw TICKET --reason TEXT [--force]";

static const char roster_help[] =
    "usage: examctl roster import FILE [--encoding auto|utf-8|gb18030] "
    "[--skip-invalid] [--dry-run]\n"
    "                            [--apply-changes --reason TEXT [--force]]\n"
    "       examctl roster withdraw TICKET --reason TEXT [--force]\n"
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
    "only as a keyed hash and their last 4 characters.\n"
    "\n"
    "The office's corrections: --apply-changes takes a row whose ticket is on\n"
    "the roster with other details (name, ID number, session, room, seat) as\n"
    "a correction.  The difference is shown first (added, changed old -> new,\n"
    "unchanged), then applied in one transaction, each added or changed\n"
    "candidate a roster.changed event with the --reason; with --dry-run it is\n"
    "only shown.  A candidate the file does not name stays as it is: a\n"
    "withdrawal is explicit, `roster withdraw`, which keeps the row marked\n"
    "withdrawn (the daemon then denies them, status and absent marking leave\n"
    "them out).  Once a room's session has opened, corrections to it need\n"
    "--force (recorded as forced); a sealed room cannot be corrected.\n";

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

static int changes_finish(struct ctl *c, const char *path,
                          const struct import_opts *o,
                          const struct import_report *r);

static int cmd_roster_import(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"encoding", required_argument, NULL, 'e'},
        {"skip-invalid", no_argument, NULL, 's'},
        {"dry-run", no_argument, NULL, 'n'},
        {"apply-changes", no_argument, NULL, 'a'},
        {"reason", required_argument, NULL, 'r'},
        {"force", no_argument, NULL, 'f'},
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
        case 'a':
            o.apply_changes = 1;
            break;
        case 'r':
            o.reason = optarg;
            break;
        case 'f':
            o.force = 1;
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
    if (!o.apply_changes && (o.reason != NULL || o.force))
        return ctl_usagef(import_syn, "%s goes with --apply-changes",
                          o.reason != NULL ? "--reason" : "--force");
    if (o.apply_changes && o.reason == NULL && !o.dry_run)
        return ctl_usagef(import_syn,
                          "--apply-changes needs --reason TEXT (why the "
                          "office corrected the roster)");
    if (o.reason != NULL && correct_reason_check(o.reason, &e) == -1)
        return ctl_usagef(import_syn, "%s", e.msg);
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
    if (o.apply_changes)
        rc = changes_finish(c, argv[optind], &o, &r);
    else
        rc = ctl_import_finish(c, argv[optind], "candidates", &o, &r);
    /* the daemon starts the readers of rooms that now have candidates */
    if (rc == 0 && r.committed)
        ctl_tell_daemon(c);
    import_report_free(&r);
    return rc;
}

/* --- --apply-changes: the difference, then what became of it ---------------
 */

static void arrow(const char *what, const char *a, const char *b, int *first)
{
    printf("%s%s %s → %s", *first ? "" : ", ", what, a, b);
    *first = 0;
}

static void print_change(const struct import_report *r,
                         const struct correct_change *ch)
{
    const struct candidate *old = correct_list_old(&r->changes, ch);
    const struct candidate *n = &ch->cur;
    char a[19], b[19];
    int first = 1;

    if (ch->added || old == NULL) {
        masked_id(n, b);
        printf("  added    %-14s %s  session %s, room %s, seat %s, ID %s",
               n->ticket, n->name, n->session, n->room, n->seat, b);
    } else {
        printf("  changed  %-14s ", n->ticket);
        if (ch->what & CORRECT_NAME)
            arrow("name", old->name, n->name, &first);
        if (ch->what & CORRECT_ID) {
            masked_id(old, a);
            masked_id(n, b);
            arrow("ID", a, b, &first);
        }
        if (ch->what & CORRECT_SESSION)
            arrow("session", old->session, n->session, &first);
        if (ch->what & CORRECT_ROOM)
            arrow("room", old->room, n->room, &first);
        if (ch->what & CORRECT_SEAT)
            arrow("seat", old->seat, n->seat, &first);
    }
    if (ch->state == CORRECT_REJECTED)
        fputs("  (refused: see below)", stdout);
    else if (ch->forced)
        fputs("  (forced: its room has opened)", stdout);
    putchar('\n');
}

/* d[key] = {"old":a,"new":b} when changed. */
static void old_new(json_t *d, unsigned changed, const char *key, const char *a,
                    const char *b)
{
    if (changed)
        json_object_set_new(d, key,
                            json_pack("{s:s, s:s}", "old", a, "new", b));
}

static json_t *change_json(const struct import_report *r,
                           const struct correct_change *ch)
{
    const struct candidate *old = correct_list_old(&r->changes, ch);
    const struct candidate *n = &ch->cur;
    json_t *j, *d;
    char a[19], b[19];

    masked_id(n, b);
    j = json_pack("{s:i, s:s, s:b, s:b}", "line", ch->line, "ticket", n->ticket,
                  "forced", ch->forced, "refused",
                  ch->state == CORRECT_REJECTED);
    if (j == NULL)
        return NULL;
    if (ch->added || old == NULL) {
        json_object_set_new(j, "name", json_string(n->name));
        json_object_set_new(j, "session", json_string(n->session));
        json_object_set_new(j, "room", json_string(n->room));
        json_object_set_new(j, "seat", json_string(n->seat));
        json_object_set_new(j, "id_number", json_string(b));
        return j;
    }
    masked_id(old, a);
    d = json_object();
    old_new(d, ch->what & CORRECT_NAME, "name", old->name, n->name);
    old_new(d, ch->what & CORRECT_ID, "id_number", a, b);
    old_new(d, ch->what & CORRECT_SESSION, "session", old->session, n->session);
    old_new(d, ch->what & CORRECT_ROOM, "room", old->room, n->room);
    old_new(d, ch->what & CORRECT_SEAT, "seat", old->seat, n->seat);
    json_object_set_new(j, "changes", d);
    return j;
}

static void changes_json(const struct import_report *r,
                         const struct import_opts *o)
{
    json_t *j, *added = json_array(), *changed = json_array(),
               *errs = json_array();
    size_t i;

    for (i = 0; i < r->changes.n; i++) {
        const struct correct_change *ch = &r->changes.v[i];
        json_array_append_new(ch->added ? added : changed, change_json(r, ch));
    }
    for (i = 0; i < r->nerrors; i++)
        json_array_append_new(errs,
                              json_pack("{s:i, s:s}", "line", r->errors[i].line,
                                        "reason", r->errors[i].reason));
    j = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:b, s:b}", "imported",
                  r->committed ? r->imported : 0, "changed",
                  r->committed ? r->changed : 0, "unchanged", r->unchanged,
                  "rejected", r->rejected, "refused", r->refused,
                  "withdrawn_unchanged", r->withdrawn_named, "left_alone",
                  r->left_alone, "dry_run", o->dry_run, "committed",
                  r->committed);
    json_object_set_new(j, "added", added);
    json_object_set_new(j, "changes", changed);
    json_object_set_new(j, "events",
                        r->committed
                            ? json_pack("{s:I, s:I}", "first",
                                        (json_int_t)r->first_event, "last",
                                        (json_int_t)r->last_event)
                            : json_null());
    json_object_set_new(j, "errors", errs);
    ctl_print_json(j);
    json_decref(j);
}

/*
 * What `roster import --apply-changes` prints: the difference on stdout
 * (one line per added or changed candidate, ID numbers by their last 4
 * only), every refused row on stderr, then what was done; the exit code.
 */
static int changes_finish(struct ctl *c, const char *path,
                          const struct import_opts *o,
                          const struct import_report *r)
{
    int n = r->imported + r->changed;
    size_t i;

    if (c->json) {
        changes_json(r, o);
    } else {
        printf("%s: %d added, %d changed, %d unchanged%s, %d rejected\n", path,
               r->imported, r->changed, r->unchanged,
               r->withdrawn_named > 0 ? " (withdrawn ones stay withdrawn)" : "",
               r->rejected);
        for (i = 0; i < r->changes.n; i++)
            print_change(r, &r->changes.v[i]);
        if (r->left_alone > 0)
            printf("  not in this file: %d candidate%s, left as they are "
                   "(withdrawals are explicit: examctl roster withdraw)\n",
                   r->left_alone, r->left_alone == 1 ? "" : "s");
    }
    for (i = 0; i < r->nerrors; i++)
        fprintf(stderr, "examctl: %s:%d: %s\n", path, r->errors[i].line,
                r->errors[i].reason);
    if (r->refused > 0) {
        fprintf(stderr,
                "examctl: nothing changed: %d row%s correct%s rooms whose "
                "session has opened or is sealed\n",
                r->refused, r->refused == 1 ? "" : "s",
                r->refused == 1 ? "s" : "");
        return EX_DATAERR;
    }
    if (r->change_failed || (r->rejected > 0 && !o->skip_invalid)) {
        fprintf(stderr, "examctl: nothing changed: %d of %d rows are bad%s\n",
                r->rejected, r->rows,
                r->change_failed ? " (a change that conflicts is never "
                                   "skipped)"
                                 : " (fix them, or use --skip-invalid to "
                                   "apply the good ones)");
        return EX_DATAERR;
    }
    if (c->json)
        return 0;
    if (n == 0)
        printf("nothing changed: the roster already is as %s says\n", path);
    else if (o->dry_run)
        printf("dry run, nothing written: %d roster.changed event%s would be "
               "recorded\n",
               n, n == 1 ? "" : "s");
    else if (r->first_event == r->last_event)
        printf("applied: roster.changed event %lld\n",
               (long long)r->first_event);
    else
        printf("applied: roster.changed events %lld-%lld\n",
               (long long)r->first_event, (long long)r->last_event);
    return 0;
}

static json_t *candidate_json(const struct candidate *cd)
{
    char id[19];

    masked_id(cd, id);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "ticket",
                     cd->ticket, "name", cd->name, "id_number", id, "session",
                     cd->session, "room", cd->room, "seat", cd->seat,
                     "withdrawn", cd->withdrawn);
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
    printf("%-14s %-16s %-6s %-4s %s  %s%s\n", cd->ticket, cd->session,
           cd->room, cd->seat, id, cd->name,
           cd->withdrawn ? "  (withdrawn)" : "");
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
    if (cd.withdrawn)
        puts("status     withdrawn (see 'examctl events': roster.withdrawn)");
    return 0;
}

static int cmd_roster_withdraw(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"reason", required_argument, NULL, 'r'},
        {"force", no_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    struct correct_outcome out;
    struct correct_opts o;
    struct candidate cd;
    struct store *st;
    struct err e;
    int ch;

    memset(&o, 0, sizeof(o));
    optind = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 'r')
            o.reason = optarg;
        else if (ch == 'f')
            o.force = 1;
        else
            return ctl_opt_error(withdraw_syn, ch, argv);
    }
    if (optind == argc)
        return ctl_usagef(withdraw_syn, "roster withdraw needs a TICKET");
    if (optind != argc - 1)
        return ctl_usagef(withdraw_syn, "roster withdraw takes one TICKET");
    if (o.reason == NULL)
        return ctl_usagef(withdraw_syn,
                          "roster withdraw needs --reason TEXT (why the office "
                          "withdrew the candidate)");
    if (correct_reason_check(o.reason, &e) == -1)
        return ctl_usagef(withdraw_syn, "%s", e.msg);
    o.operator_name = ctl_operator();
    if (ctl_open_store_rw(c, &st, &e) == -1)
        return ctl_fail(&e);
    if (store_begin(st, &e) == -1 ||
        correct_withdraw(st, argv[optind], &o, &out, &e) == -1 ||
        candidate_get(st, argv[optind], &cd, &e) == -1) {
        store_close(st); /* rolls back: nothing changed */
        return ctl_fail(&e);
    }
    if (ctl_correction_commit(c, st, out.unchanged, &e) == -1)
        return ctl_fail(&e);
    if (c->json) {
        json_t *j =
            json_pack("{s:s, s:b, s:b, s:b}", "ticket", cd.ticket, "withdrawn",
                      1, "unchanged", out.unchanged, "forced", out.forced);
        json_object_set_new(j, "event",
                            out.first_id ? json_integer(out.first_id)
                                         : json_null());
        ctl_print_json(j);
        json_decref(j);
    } else if (out.unchanged) {
        printf("ticket %s was already withdrawn: nothing changed\n", cd.ticket);
    } else {
        printf("ticket %s withdrawn (%s, session %s, room %s, seat %s): "
               "roster.withdrawn event %lld%s\n",
               cd.ticket, cd.name, cd.session, cd.room, cd.seat,
               (long long)out.first_id,
               out.forced ? ", forced: its room has opened" : "");
    }
    return 0;
}

int ctl_roster(struct ctl *c, int argc, char **argv)
{
    if (ctl_wants_help(argc, argv)) {
        fputs(roster_help, stdout);
        return 0;
    }
    if (argc < 2)
        return ctl_usagef(NULL,
                          "roster needs import, list or show (or withdraw)");
    if (strcmp(argv[1], "import") == 0)
        return cmd_roster_import(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "withdraw") == 0)
        return cmd_roster_withdraw(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return cmd_roster_list(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return cmd_roster_show(c, argc - 1, argv + 1);
    return ctl_usagef(NULL,
                      "unknown roster subcommand '%s' (import, withdraw, list, "
                      "show)",
                      argv[1]);
}
