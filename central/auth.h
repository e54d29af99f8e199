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

/* The value of an Authorization header: 1 when it is Basic with a known
 * user's right password (*who gets the name, borrowed), else 0.  The
 * work is the same for an unknown user as for a wrong password. */
int users_check(const struct users *u, const char *authorization,
                const char **who);

/* Set NAME's password (read from in, one line) in path, creating the
 * file (0600) if needed; other users' lines are kept.  0 or -1. */
int users_passwd(const char *path, const char *name, FILE *in, int iterations,
                 struct err *e);

#endif
