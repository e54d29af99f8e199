/*
 * auth.h: the office's users (examcentral --users FILE), for HTTP Basic
 * authentication of the page and the reports.  One user a line:
 *
 *   NAME:$pbkdf2-sha256$ITERATIONS$SALT$HASH
 *
 * SALT (16 bytes) and HASH (32 bytes) in hex; HASH is PBKDF2-HMAC-SHA256
 * (OpenSSL PKCS5_PBKDF2_HMAC) of the password.  No password is stored in
 * clear.  '#' comments and blank lines allowed; the file must be mode 0600
 * or stricter for others (group may read it: the service's group).
 * `examcentral passwd --users FILE NAME` adds or changes a user.
 */
#ifndef EXAMSITE_CENTRAL_AUTH_H
#define EXAMSITE_CENTRAL_AUTH_H

#include <stdio.h>
#include <time.h>

#include "err.h"

#define AUTH_NAME_MAX       64
#define AUTH_PASSWORD_MAX   1024
#define AUTH_ITERATIONS     200000
#define AUTH_ITERATIONS_MIN 1000
#define AUTH_USERS_MAX      10000

struct users;

/* Load path.  NULL with e naming FILE:LINE for a bad line. */
struct users *users_load(const char *path, struct err *e);
void users_free(struct users *u); /* accepts NULL */
size_t users_count(const struct users *u);

/* What users_check answers. */
enum auth_answer {
    AUTH_THROTTLED = -1, /* too many wrong passwords lately: try later */
    AUTH_DENIED = 0,
    AUTH_OK = 1,
};

/* A PBKDF2 check takes tens of milliseconds on the loop that also takes
 * the stations' batches, so a header seen right in the last
 * AUTH_GRANT_SECONDS is granted again without one (kept as an HMAC under
 * a key made at start, never the password), and at most
 * AUTH_FAILURES_BURST wrong passwords are checked at once, then one every
 * AUTH_FAILURE_SECONDS: beyond that a request is answered "try later"
 * without a check, so no flood of guesses can hold the loop. */
#define AUTH_GRANT_SECONDS   600
#define AUTH_GRANTS          64
#define AUTH_FAILURES_BURST  10
#define AUTH_FAILURE_SECONDS 2

/* The value of an Authorization header at time now: AUTH_OK when it is
 * Basic with a known user's right password (*who gets the name,
 * borrowed), AUTH_DENIED, or AUTH_THROTTLED.  The work is the same for an
 * unknown user as for a wrong password. */
enum auth_answer users_check(struct users *u, const char *authorization,
                             time_t now, const char **who);

/* Set NAME's password (read from in, one line) in path, creating the
 * file (0600) if needed; other users' lines are kept.  0 or -1. */
int users_passwd(const char *path, const char *name, FILE *in, int iterations,
                 struct err *e);

#endif
