/*
 * ctl_backup.c: `examctl backup FILE`: an online copy of the site database
 * and its secret, checked before it is called a backup.
 *
 * The copy is SQLite's online backup (sqlite3_backup_*) of every page in
 * one read transaction: a consistent snapshot while examsited goes on
 * writing (under WAL a reader never holds up the writer).  The secret is
 * copied beside it as FILE.secret, mode 0600, the name a database at FILE
 * looks for by default, so a restore is two copies back.  Then the copy is
 * opened as a site database: its chain is walked (event_verify) and the
 * copied secret is checked against the copy's check value.  Restoring,
 * and why a copy older than the office's last batch cannot sync:
 * docs/operations.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "ctl.h"
#include "event.h"
#include "secret.h"
#include "site.h"
#include "store.h"

static const char backup_syn[] = "backup FILE";

static const char backup_help[] =
    "usage: examctl backup FILE\n"
    "\n"
    "Copy the site database to FILE (mode 0640) and its secret to "
    "FILE.secret\n"
    "(mode 0600) while examsited runs: SQLite's online backup, one "
    "consistent\n"
    "snapshot; the daemon keeps deciding meanwhile.  The copy is then "
    "checked:\n"
    "its chain walked as verify does, the copied secret matched to it.  "
    "Refuses\n"
    "an existing FILE or FILE.secret.  Needs read access to the database "
    "and\n"
    "the secret (root or the daemon's user).  Prints what was copied "
    "(--json:\n"
    "{\"database\",\"secret\",\"events\",\"head_event\",\"head_hash\"}).  "
    "To restore: stop\nexamsited, copy both back, start it "
    "(docs/operations.md).\n";

/* Largest secret file copied: one hex line of the key, with room to spare;
 * anything larger is not a site secret. */
#define SECRET_FILE_MAX 4096

/* What this run made, so that a failed backup removes it and nothing
 * else. */
struct made {
    int db, secret;
};

/* The pages of src into a new database file at path (made 0640, O_EXCL). */
static int copy_database(sqlite3 *src, const char *path, struct made *m,
                         struct err *e)
{
    sqlite3_backup *b;
    sqlite3 *dst = NULL;
    int rc, fd;

    if (ctl_create_db_file(path, e) == -1)
        return -1;
    m->db = 1;
    if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        err_set(e, EX_CANTCREAT, "%s: %s", path,
                dst ? sqlite3_errmsg(dst) : "out of memory");
        sqlite3_close(dst);
        return -1;
    }
    /* All pages in one step: one read transaction, one snapshot. */
    if ((b = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
        err_set(e, EX_IOERR, "backup of %s: %s", path, sqlite3_errmsg(dst));
        sqlite3_close(dst);
        return -1;
    }
    rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        err_set(e,
                rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? EX_TEMPFAIL
                                                         : EX_IOERR,
                "backup to %s: %s", path, sqlite3_errstr(rc));
        sqlite3_close(dst);
        return -1;
    }
    if (sqlite3_close(dst) != SQLITE_OK)
        return err_set(e, EX_IOERR, "backup to %s: close failed", path);
    /* on the disk before it is called a backup */
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fsync(fd) == -1) {
        err_errno(e, EX_IOERR, "%s: fsync", path);
        if (fd != -1)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* The secret file's bytes to a new file at to, mode 0600, synced. */
static int copy_secret(const char *from, const char *to, struct made *m,
                       struct err *e)
{
    char buf[SECRET_FILE_MAX + 1];
    ssize_t n;
    int in, out, rc = -1;

    if ((in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
        return err_errno(e, EX_NOINPUT, "%s", from);
    n = read(in, buf, sizeof(buf));
    close(in);
    if (n < 0)
        return err_errno(e, EX_IOERR, "%s", from);
    if (n > SECRET_FILE_MAX)
        return err_set(e, EX_DATAERR, "%s: over %d bytes: not a site secret",
                       from, SECRET_FILE_MAX);
    out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out == -1)
        return err_errno(e, EX_CANTCREAT, "%s", to);
    m->secret = 1;
    if (fchmod(out, 0600) == -1 || write(out, buf, (size_t)n) != n ||
        fsync(out) == -1)
        err_errno(e, EX_IOERR, "%s", to);
    else
        rc = 0;
    close(out);
    explicit_bzero(buf, sizeof(buf));
    return rc;
}

/* The copy is a site database whose chain holds and whose secret is the
 * copied one.  0, 1 (the copy's chain is broken: r says why), -1. */
static int check_copy(const char *db, const char *secret,
                      struct event_verify *r, struct err *e)
{
    struct secret s;
    struct store *st;
    int rc;

    /* Read-write (nothing is written): as the last connection to close,
     * it removes the -wal and -shm files, so the backup is one file. */
    if (store_open(&st, db, STORE_NOMIGRATE, e) == -1)
        return -1;
    if ((rc = event_verify(st, r, e)) == 0) {
        if (secret_load(secret, &s, e) == -1 ||
            site_secret_check(st, &s, e) == -1)
            rc = -1;
        secret_wipe(&s);
    }
    store_close(st);
    return rc;
}

static void remove_db(const char *path)
{
    char side[4096 + 8];

    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
}

static void print_result(const struct ctl *c, const char *db,
                         const char *secret, const struct event_verify *r)
{
    if (c->json) {
        json_t *j =
            json_pack("{s:s, s:s, s:I, s:I, s:s}", "database", db, "secret",
                      secret, "events", (json_int_t)r->checked, "head_event",
                      (json_int_t)r->last_id, "head_hash", r->head_hash);
        if (j != NULL)
            ctl_print_json(j);
        json_decref(j);
        return;
    }
    printf("database %s: %" PRId64 " events, chain verified; head: event "
           "%" PRId64 ", hash %s\n",
           db, r->checked, r->last_id, r->head_hash);
    printf("secret   %s (mode 0600): keep the two together, and as safe as "
           "the station\n",
           secret);
}

int ctl_backup(struct ctl *c, int argc, char **argv)
{
    char from_secret[4096], to_secret[4096];
    struct event_verify r;
    struct made m = {0, 0};
    struct store *st;
    struct err e;
    int rc;

    if (ctl_wants_help(argc, argv)) {
        fputs(backup_help, stdout);
        return 0;
    }
    if (argc != 2)
        return ctl_usagef(backup_syn, "backup takes one FILE");
    if ((size_t)snprintf(to_secret, sizeof(to_secret), "%s.secret", argv[1]) >=
        sizeof(to_secret))
        return ctl_usagef(backup_syn, "FILE is too long");
    if (access(argv[1], F_OK) == 0 || access(to_secret, F_OK) == 0)
        return ctl_failf(EX_CANTCREAT,
                         "backup: %s or %s exists already: give a new name",
                         argv[1], to_secret);
    ctl_secret_path(c, from_secret, sizeof(from_secret));
    if (ctl_open_store(c, &st, &e) == -1)
        return ctl_fail(&e);
    rc = copy_database(store_db(st), argv[1], &m, &e);
    store_close(st);
    if (rc == 0 && (rc = copy_secret(from_secret, to_secret, &m, &e)) == 0)
        rc = check_copy(argv[1], to_secret, &r, &e);
    if (rc != 0) {
        /* a copy that failed its check is no backup: nothing is left */
        if (m.db)
            remove_db(argv[1]);
        if (m.secret)
            unlink(to_secret);
        if (rc == 1)
            return ctl_failf(1,
                             "backup: the copy's chain is broken: %s "
                             "(run 'examctl verify' on the station)",
                             r.reason);
        return ctl_fail(&e);
    }
    print_result(c, argv[1], to_secret, &r);
    return 0;
}
