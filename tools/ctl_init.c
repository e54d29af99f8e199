/*
 * ctl_init.c: `examctl init`: a new site database and its secret.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "secret.h"
#include "site.h"
#include "sitetime.h"
#include "store.h"

static const char init_usage[] =
    "init --site-id ID --site-name NAME [--station ID] [--timezone ZONE]";

static const char init_help[] =
    "usage: examctl init --site-id ID --site-name NAME [--station ID] "
    "[--timezone ZONE]\n"
    "\n"
    "Create the site database (--db, or the configuration's [site] database;\n"
    "mode 0640) and the site secret beside it (mode 0600), the key that "
    "hashes\nID numbers, and say how to hand both to the examsited service "
    "(chown).\n"
    "Refuses to touch an existing database or secret.  The time zone defaults\n"
    "to " SITETIME_DEFAULT_ZONE "; the station to this host's name.\n";

/* The daemon's user and group (systemd/examsite.sysusers). */
#define SERVICE_USER "examsite"

/*
 * The database file, made here rather than by SQLite so that it is 0640
 * whatever the umask: the daemon's group may read it, nobody else.  SQLite
 * gives the -wal and -shm files it makes later the mode (and, when it runs
 * as root, the owner) of the database file.  O_EXCL: never over a file
 * that appeared since the check.
 */
int ctl_create_db_file(const char *path, struct err *e)
{
    int fd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);

    if (fd == -1)
        return err_errno(e, EX_CANTCREAT, "%s", path);
    if (fchmod(fd, 0640) == -1) {
        err_errno(e, EX_IOERR, "%s: chmod", path);
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    return 0;
}

/* s as one shell word (single quotes when it needs them) for a command the
 * administrator copies. */
static void shell_quote(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    const char *p;

    if (s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789/._-+:@")] == '\0' &&
        *s != '\0') {
        snprintf(out, cap, "%s", s);
        return;
    }
    if (cap < 3) {
        out[0] = '\0';
        return;
    }
    out[n++] = '\'';
    for (p = s; *p && n + 6 < cap; p++) {
        if (*p == '\'') {
            memcpy(out + n, "'\\''", 4);
            n += 4;
        } else {
            out[n++] = *p;
        }
    }
    out[n++] = '\'';
    out[n] = '\0';
}

int ctl_init(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"site-id", required_argument, NULL, 'i'},
        {"site-name", required_argument, NULL, 'n'},
        {"station", required_argument, NULL, 's'},
        {"timezone", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *id = NULL, *name = NULL, *station = NULL, *zone = NULL;
    char secret_path[CONFIG_STR + 16], qdb[1200], qsecret[1200];
    struct store *st = NULL;
    struct secret sec;
    struct site site;
    struct err e;
    int ch;

    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'i':
            id = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 's':
            station = optarg;
            break;
        case 't':
            zone = optarg;
            break;
        case 'h':
            fputs(init_help, stdout);
            return 0;
        default:
            return ctl_opt_error(init_usage, ch, argv);
        }
    }
    if (optind != argc)
        return ctl_usagef(init_usage, "unexpected argument '%s'", argv[optind]);
    if (id == NULL || name == NULL)
        return ctl_usagef(init_usage, "init needs %s",
                          id == NULL ? "--site-id" : "--site-name");
    if (station == NULL)
        station = c->have_config ? c->cfg.site.station : NULL;
    if (zone == NULL)
        zone = c->have_config ? c->cfg.site.timezone : SITETIME_DEFAULT_ZONE;
    memset(&site, 0, sizeof(site));
    if (station == NULL &&
        gethostname(site.station, sizeof(site.station) - 1) == -1)
        snprintf(site.station, sizeof(site.station), "station");
    else if (station != NULL)
        snprintf(site.station, sizeof(site.station), "%s", station);
    if (!site_ident_valid(id, 64))
        return ctl_usagef(
            init_usage,
            "site id '%s' must be 1-64 letters, digits, '-', '_' or '.'", id);
    if (!site_ident_valid(site.station, 64))
        return ctl_usagef(
            init_usage,
            "station '%s' must be 1-64 letters, digits, '-', '_' or '.'",
            site.station);
    if (strlen(name) == 0 || strlen(name) >= sizeof(site.name))
        return ctl_usagef(init_usage, "site name must be 1-%zu bytes",
                          sizeof(site.name) - 1);
    if (sitetime_set_zone(zone, &e) == -1)
        return ctl_fail(&e);
    snprintf(site.id, sizeof(site.id), "%s", id);
    snprintf(site.name, sizeof(site.name), "%s", name);
    snprintf(site.timezone, sizeof(site.timezone), "%s", zone);
    sitetime_format_utc(sitetime_now_ms(), site.created);

    if (access(c->db_path, F_OK) == 0)
        return ctl_failf(EX_CANTCREAT, "%s already exists; not touching it",
                         c->db_path);
    if (ctl_create_db_file(c->db_path, &e) == -1)
        return ctl_fail(&e);
    ctl_secret_path(c, secret_path, sizeof(secret_path));
    if (secret_create(secret_path, &sec, &e) == -1) {
        unlink(c->db_path);
        return ctl_fail(&e);
    }
    if (store_open(&st, c->db_path, STORE_CREATE, &e) == 0)
        ctl_set_account(st);
    /* the secret's check value goes in with the site: a wrong secret file
     * is then refused rather than silently finding no one (site.h) */
    if (st == NULL || store_begin(st, &e) == -1 ||
        site_create(st, &site, &e) == -1 ||
        site_secret_record(st, &sec, &e) == -1 || store_commit(st, &e) == -1) {
        secret_wipe(&sec);
        store_close(st);
        unlink(c->db_path);
        unlink(secret_path);
        return ctl_fail(&e);
    }
    secret_wipe(&sec);
    store_close(st);
    printf("site %s (%s), station %s, time zone %s\n", site.id, site.name,
           site.station, site.timezone);
    printf("database %s (mode 0640)\nsecret   %s (mode 0600: keep it with the "
           "database, never copy it elsewhere)\n",
           c->db_path, secret_path);
    shell_quote(c->db_path, qdb, sizeof(qdb));
    shell_quote(secret_path, qsecret, sizeof(qsecret));
    printf("For the examsited service, hand both to its user:\n"
           "  chown %s:%s %s %s\n",
           SERVICE_USER, SERVICE_USER, qdb, qsecret);
    return 0;
}
