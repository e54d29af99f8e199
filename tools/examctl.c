/*
 * examctl: the invigilators' and administrators' tool.  This file parses the
 * global options, finds the database and the configuration, and dispatches
 * to the command families in ctl_*.c.
 */
#include <ctype.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "secret.h"
#include "site.h"
#include "sitetime.h"
#include "store.h"

static const char global_synopsis[] =
    "[--db PATH] [--config FILE] [--socket PATH] [--json] COMMAND ...";

static const char usage_text[] =
    "usage: examctl [--db PATH] [--config FILE] [--socket PATH] [--json] "
    "COMMAND ...\n"
    "\n"
    "Site set-up and roster:\n"
    "  init --site-id ID --site-name NAME [--station ID] [--timezone ZONE]\n"
    "  session import FILE | list | close CODE --room ROOM --operator NAME\n"
    "  session add CODE --certificate NAME --level 初级|中级|高级 --date "
    "YYYY-MM-DD\n"
    "              --start HH:MM --end HH:MM [--opens-before MIN] "
    "[--late-after MIN]\n"
    "              [--published N] [--organisation NAME]\n"
    "  session change CODE [--date YYYY-MM-DD] [--start HH:MM] [--end HH:MM]\n"
    "              [--opens-before MIN] [--late-after MIN] [--published N]\n"
    "              --reason TEXT [--force]      (the office's correction)\n"
    "  roster import FILE [--encoding auto|utf-8|gb18030] [--skip-invalid] "
    "[--dry-run]\n"
    "              [--apply-changes --reason TEXT [--force]]\n"
    "  roster withdraw TICKET --reason TEXT [--force]\n"
    "  roster list [--session CODE] [--room ROOM] | show TICKET\n"
    "Exam day (checkin, incident, devices, events --follow, reload need "
    "examsited):\n"
    "  status [--session CODE] [--room ROOM]\n"
    "  checkin manual TICKET --operator NAME --reason TEXT\n"
    "  incident add (--ticket TICKET | --seat ROOM:SEAT [--session CODE]) "
    "--kind KIND\n"
    "               --operator NAME [--note TEXT] [--confirmed-by NAME]\n"
    "  incident list [--session CODE] | amend ID --operator NAME --note TEXT\n"
    "  devices\n"
    "  events [--since ID] [--follow]\n"
    "  verify\n"
    "  migrate                    (bring the database to this build's schema)\n"
    "  backup FILE                (an online copy of database and secret)\n"
    "  export attendance --session CODE [--room ROOM]\n"
    "  sync now [--timeout SEC] | sync status | sync export DIR\n"
    "  reload                     (examsited re-reads the sessions and "
    "roster)\n"
    "Technician helpers:\n"
    "  idnumber check NUMBER\n"
    "  idcard decode [FILE] [--reveal]\n"
    "  device listen (--usb VID:PID | --serial PATH [--baud N]) --type "
    "idcard|scanner\n"
    "                [--count N] [--timeout SEC] [--reveal]\n"
    "  device udev-rules          (udev rules for the configured USB devices)\n"
    "\n"
    "Defaults come from EXAMSITE_DB, EXAMSITE_CONFIG, EXAMSITE_SOCKET, then "
    "the\n"
    "configuration file (" CONFIG_DEFAULT_PATH ").  'examctl COMMAND --help'\n"
    "describes each command.  Exit codes follow sysexits(3).\n";

int ctl_fail(const struct err *e)
{
    fprintf(stderr, "examctl: %s\n", e->msg[0] ? e->msg : "failed");
    return e->code ? e->code : EX_SOFTWARE;
}

int ctl_failf(int code, const char *fmt, ...)
{
    char buf[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_redact(buf);
    fprintf(stderr, "examctl: %s\n", buf);
    return code;
}

void ctl_print_json(const json_t *j)
{
    json_dumpf(j, stdout, JSON_COMPACT);
    putchar('\n');
}

int ctl_usage(const char *usage)
{
    fprintf(stderr, "examctl: usage: examctl %s\n", usage);
    return EX_USAGE;
}

int ctl_usagef(const char *synopsis, const char *fmt, ...)
{
    char what[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    log_redact(what);
    if (synopsis != NULL)
        fprintf(stderr, "examctl: usage: %s: examctl %s\n", what, synopsis);
    else
        fprintf(stderr, "examctl: usage: %s (see 'examctl --help')\n", what);
    return EX_USAGE;
}

int ctl_opt_error(const char *synopsis, int ch, char **argv)
{
    char opt[64];
    const char *a = optind > 0 ? argv[optind - 1] : NULL;
    size_t n;

    if (a != NULL && strncmp(a, "--", 2) == 0) {
        n = strcspn(a, "=");
        snprintf(opt, sizeof(opt), "%.*s", (int)n, a);
    } else {
        snprintf(opt, sizeof(opt), "-%c", optopt ? optopt : '?');
    }
    if (ch == ':')
        return ctl_usagef(synopsis, "option '%s' needs an argument", opt);
    return ctl_usagef(synopsis, "unknown option '%s'", opt);
}

int ctl_site_time(const char *utc, const char *fmt, char *out, size_t outlen)
{
    int64_t ms = sitetime_parse_utc(utc);

    if (outlen > 0)
        out[0] = '\0';
    return ms == 0 ? -1 : sitetime_format_local(ms, fmt, out, outlen);
}

int ctl_wants_help(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

static int open_store(struct ctl *c, int flags, struct store **st,
                      struct err *e)
{
    struct site site;
    int rc;

    if (store_open(st, c->db_path, flags, e) == -1) {
        if (e->code == EX_NOINPUT && access(c->db_path, F_OK) == -1)
            err_set(e, EX_NOINPUT,
                    "no site database at %s (run 'examctl init' first, or "
                    "give --db)",
                    c->db_path);
        return -1;
    }
    if ((rc = site_get(*st, &site, e)) != 1) {
        store_close(*st);
        *st = NULL;
        return rc == 0
                   ? err_set(e, EX_NOINPUT,
                             "%s is not set up: run 'examctl init'", c->db_path)
                   : -1;
    }
    if (sitetime_set_zone(site.timezone, e) == -1) {
        store_close(*st);
        *st = NULL;
        return -1;
    }
    return 0;
}

int ctl_open_store(struct ctl *c, struct store **st, struct err *e)
{
    return open_store(c, STORE_READONLY, st, e);
}

int ctl_open_store_rw(struct ctl *c, struct store **st, struct err *e)
{
    if (open_store(c, STORE_NOMIGRATE, st, e) == -1)
        return -1;
    ctl_set_account(*st);
    return 0;
}

void ctl_set_account(struct store *st)
{
    struct passwd *pw = getpwuid(getuid());

    store_set_account(st, (long long)getuid(), pw ? pw->pw_name : NULL);
}

const char *ctl_operator(void)
{
    struct passwd *pw = getpwuid(getuid());

    return pw != NULL ? pw->pw_name : "unknown";
}

int ctl_secret_path(struct ctl *c, char *out, size_t outlen)
{
    config_secret_path(c->db_path,
                       c->have_config ? c->cfg.site.secret_file : NULL, out,
                       outlen);
    return 0;
}

struct command {
    const char *name;
    int (*fn)(struct ctl *, int, char **);
};

static const struct command commands[] = {
    {"init", ctl_init},         {"session", ctl_session},
    {"roster", ctl_roster},     {"status", ctl_status},
    {"events", ctl_events},     {"verify", ctl_verify},
    {"checkin", ctl_checkin},   {"incident", ctl_incident},
    {"devices", ctl_devices},   {"export", ctl_export},
    {"idnumber", ctl_idnumber}, {"idcard", ctl_idcard},
    {"device", ctl_device},     {"reload", ctl_reload},
    {"migrate", ctl_migrate},   {"backup", ctl_backup},
    {"sync", ctl_sync},         {NULL, NULL},
};

static int load_config(struct ctl *c)
{
    struct stat sb;
    struct err e;

    if (c->config_path == NULL) {
        if (stat(CONFIG_DEFAULT_PATH, &sb) == -1)
            return 0; /* no config is fine for examctl */
        c->config_path = CONFIG_DEFAULT_PATH;
    }
    if (config_load(c->config_path, &c->cfg, &e) == -1)
        return ctl_fail(&e);
    c->have_config = 1;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const struct command *cmd;
    struct ctl c;
    int ch, rc;

    log_init("examctl", 1, LOG_LVL_WARN);
    memset(&c, 0, sizeof(c));
    c.db_path = getenv("EXAMSITE_DB");
    c.config_path = getenv("EXAMSITE_CONFIG");
    c.socket_path = getenv("EXAMSITE_SOCKET");
    /* "+": options end at the command; ":": we name the bad one */
    while ((ch = getopt_long(argc, argv, "+:d:c:s:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            c.db_path = optarg;
            break;
        case 'c':
            c.config_path = optarg;
            break;
        case 's':
            c.socket_path = optarg;
            break;
        case 'j':
            c.json = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            return ctl_opt_error(global_synopsis, ch, argv);
        }
    }
    argc -= optind;
    argv += optind;
    if (argc < 1)
        return ctl_usagef(NULL, "no command given");
    /* --json is global, but `examctl events --json` is what people type. */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0) {
            c.json = 1;
            memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(*argv));
            argc--;
            i--;
        }
    if ((rc = load_config(&c)) != 0)
        return rc;
    if (c.db_path == NULL)
        c.db_path = c.have_config ? c.cfg.site.database : CONFIG_DEFAULT_DB;
    if (c.socket_path == NULL)
        c.socket_path =
            c.have_config ? c.cfg.control.socket : CONFIG_DEFAULT_SOCKET;
    for (cmd = commands; cmd->name != NULL; cmd++)
        if (strcmp(cmd->name, argv[0]) == 0) {
            optind = 0; /* each command parses its own options afresh */
            return cmd->fn(&c, argc, argv);
        }
    return ctl_usagef(NULL, "unknown command '%s'", argv[0]);
}

int ctl_correction_commit(struct ctl *c, struct store *st, int unchanged,
                          struct err *e)
{
    if (unchanged) {
        store_rollback(st); /* nothing to record */
    } else if (store_commit(st, e) == -1) {
        store_close(st);
        return -1;
    }
    store_close(st);
    if (!unchanged)
        ctl_tell_daemon(c); /* it re-plans its windows and readers */
    return 0;
}
