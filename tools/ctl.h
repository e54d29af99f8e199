/*
 * ctl.h: what the examctl command modules share.  examctl.c parses the
 * global options into a struct ctl and dispatches on the command word; each
 * ctl_*.c file owns one command family and returns a sysexits code.
 *
 * Output: results to stdout (JSON with --json where examctl(1) says),
 * errors to stderr as one line each through ctl_fail().
 */
#ifndef EXAMSITE_CTL_H
#define EXAMSITE_CTL_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "config.h"
#include "err.h"

struct store;

struct ctl {
    const char *db_path;     /* --db, EXAMSITE_DB, config, default */
    const char *config_path; /* --config, EXAMSITE_CONFIG, or NULL */
    const char *socket_path; /* --socket, EXAMSITE_SOCKET, config */
    int json;                /* --json */
    int have_config;         /* a config file was read into cfg */
    long long last_printed;  /* events: the last id printed */
    struct config cfg;
};

/* Print "examctl: msg" to stderr and return e->code (or EX_SOFTWARE). */
int ctl_fail(const struct err *e);

/* Print "examctl: <formatted>" to stderr and return code. */
int ctl_failf(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One JSON value as one compact line on stdout (the value is not freed). */
void ctl_print_json(const json_t *j);

/* Usage error for a command: "examctl: usage: examctl USAGE" on stderr,
 * returns EX_USAGE.  Prefer ctl_usagef, which says what was wrong. */
int ctl_usage(const char *usage);

/* "examctl: usage: WHAT: examctl SYNOPSIS" (one line; with a NULL
 * synopsis "... (see 'examctl --help')"), returns EX_USAGE. */
int ctl_usagef(const char *synopsis, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* After getopt_long returned '?' or ':' (the optstring starts with ':', so
 * getopt itself prints nothing): names the option, returns EX_USAGE. */
int ctl_opt_error(const char *synopsis, int ch, char **argv);

/* A stored UTC time ("2026-12-05T01:02:03.456Z") as the site's local time
 * (the zone ctl_open_store set) with strftime fmt.  0, or -1 and out = ""
 * when utc is empty or not such a time. */
int ctl_site_time(const char *utc, const char *fmt, char *out, size_t outlen);

/* The site's zone for the times shown (what ctl_open_store sets), from the
 * daemon's `devices` reply (ctl_daemon.c): for a user who cannot read the
 * database.  An older daemon that does not say: the configuration's
 * [site] timezone.  0, or -1 with e (the daemon's refusal). */
int ctl_daemon_zone(struct ctl *c, struct err *e);

/* Ask a running examsited to re-read the sessions and roster and re-plan
 * (the admin `reload` op).  No daemon is fine (it reads them when it
 * starts); a refusal is said on stderr.  Nothing is returned. */
void ctl_tell_daemon(struct ctl *c);

/* True if argv holds -h or --help (commands print their help and exit 0). */
int ctl_wants_help(int argc, char **argv);

/*
 * Open the site database (must exist and be initialised) for reading:
 * STORE_READONLY, so a reading command never migrates, never takes the
 * write lock and never waits for a writer.
 */
int ctl_open_store(struct ctl *c, struct store **st, struct err *e);

/* The same for a command that writes (imports, session add): read-write,
 * no migrations (`examctl migrate` does those), and this user's account
 * set for the events it records (store_set_account). */
int ctl_open_store_rw(struct ctl *c, struct store **st, struct err *e);

/* Record this process's account (real uid, login name) on st's events. */
void ctl_set_account(struct store *st);

/* Who runs this command (the login name), for the events it records. */
const char *ctl_operator(void);

/* The site secret's path: [site] secret_file or the database + ".secret". */
int ctl_secret_path(struct ctl *c, char *out, size_t outlen);

struct import_opts;
struct import_report;

/* Progress on a terminal for long imports. */
void ctl_import_opts(struct import_opts *o);

/* Print an import's errors (stderr, FILE:LINE: reason) and summary
 * (stdout, or JSON with --json); return the exit code. */
int ctl_import_finish(struct ctl *c, const char *path, const char *what,
                      const struct import_opts *o,
                      const struct import_report *r);

/* --- the control socket (ctl_client.c) --- */

struct ctl_linebuf {
    char *buf;
    size_t len, cap;
};

/* Connect to examsited: the fd, or -1 (EX_UNAVAILABLE when not running). */
int ctl_connect(struct ctl *c, struct err *e);

/* Send one request line. */
int ctl_send(int fd, json_t *req, struct err *e);

/* Read one reply or stream line; NULL at EOF (e->code 0) or error. */
json_t *ctl_read_line(int fd, struct ctl_linebuf *lb, struct err *e);

/* Send one request on fd and read its reply; a refusal (also one made at
 * connect) becomes -1 with the daemon's code and text. */
int ctl_exchange(int fd, json_t *req, json_t **reply, struct err *e);

/* One request, one reply; a refusal becomes -1 with its code and text. */
int ctl_request(struct ctl *c, json_t *req, json_t **reply, struct err *e);

/* Command families.  argv[0] is the command word ("roster", ...). */
int ctl_init(struct ctl *c, int argc, char **argv);
int ctl_session(struct ctl *c, int argc, char **argv);
int ctl_roster(struct ctl *c, int argc, char **argv);
int ctl_status(struct ctl *c, int argc, char **argv);
int ctl_events(struct ctl *c, int argc, char **argv);
int ctl_verify(struct ctl *c, int argc, char **argv);
int ctl_migrate(struct ctl *c, int argc, char **argv); /* ctl_migrate.c */
int ctl_backup(struct ctl *c, int argc, char **argv);  /* ctl_backup.c */

/* A new, empty database file at path, mode 0640 whatever the umask, never
 * over an existing file (O_EXCL): for init and backup (ctl_init.c). */
int ctl_create_db_file(const char *path, struct err *e);
int ctl_idnumber(struct ctl *c, int argc, char **argv);
int ctl_checkin(struct ctl *c, int argc, char **argv);
int ctl_incident(struct ctl *c, int argc, char **argv);
int ctl_devices(struct ctl *c, int argc, char **argv);
int ctl_export(struct ctl *c, int argc, char **argv);
int ctl_idcard(struct ctl *c, int argc, char **argv); /* ctl_idcard.c */
int ctl_device(struct ctl *c, int argc, char **argv); /* ctl_device.c */
int ctl_reload(struct ctl *c, int argc, char **argv); /* ctl_client.c */
int ctl_sync(struct ctl *c, int argc, char **argv);   /* ctl_sync.c */

/*
 * End a correction's transaction on st (roster withdraw, session change):
 * roll back when nothing changed, else commit and tell a running daemon.
 * st is closed either way.  0, or -1 with e (nothing changed).
 */
int ctl_correction_commit(struct ctl *c, struct store *st, int unchanged,
                          struct err *e);

#endif
