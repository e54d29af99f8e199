/*
 * secret.h: the site secret, the key of the ID-number hash.  32 random
 * bytes kept as one hex line in a file of mode 0600 beside (not inside) the
 * database, so a copied database alone reveals no ID number.
 */
#ifndef EXAMSITE_SECRET_H
#define EXAMSITE_SECRET_H

#include "err.h"
#include "idnumber.h"

struct secret {
    unsigned char key[IDNUMBER_SECRET_LEN];
};

/* Create path (must not exist) with a fresh random key, mode 0600. */
int secret_create(const char *path, struct secret *s, struct err *e);

/* Load path; refuses a file readable by group or others. */
int secret_load(const char *path, struct secret *s, struct err *e);

/* Overwrite the key in memory. */
void secret_wipe(struct secret *s);

/*
 * The secret's check value, stored in the site database so that a wrong or
 * regenerated secret file is noticed: HMAC-SHA256(key, SECRET_CHECK_LABEL)
 * as 64 lower-case hex digits.  It reveals nothing of the key.  0 or -1.
 */
#define SECRET_CHECK_LABEL "examsite secret check v1"
#define SECRET_CHECK_HEX   64
int secret_check_value(const struct secret *s, char out[SECRET_CHECK_HEX + 1]);

#endif
