/*
 * site.h: the one-row `site` table: who this database belongs to.
 */
#ifndef EXAMSITE_SITE_H
#define EXAMSITE_SITE_H

#include "err.h"

struct store;

struct site {
    char id[65];
    char name[256];
    char station[65];
    char timezone[65];
    char created[40];
};

/* 1 and *s filled, 0 when the database has no site yet, -1 on error. */
int site_get(struct store *st, struct site *s, struct err *e);

/* Insert the site row and its site.created event, inside the caller's
 * transaction.  A second site is refused (EX_CANTCREAT). */
int site_create(struct store *st, const struct site *s, struct err *e);

/*
 * The site secret's check value (secret.h) in the database (migration 002):
 * a wrong or regenerated secret file would make every card "not on the
 * roster" without a word.
 *
 * site_secret_check: 0 when s is this database's secret, or when the
 * database has no check value yet (made before migration 002; the first
 * write that loads the secret records it: site_secret_record); -1 with
 * EX_CONFIG "the secret file does not belong to this database (…)" when it
 * is not, or another code on error.
 */
struct secret;
int site_secret_check(struct store *st, const struct secret *s, struct err *e);

/* Inside the caller's transaction: store s's check value when there is
 * none.  1 stored, 0 already there and equal, -1 as site_secret_check. */
int site_secret_record(struct store *st, const struct secret *s, struct err *e);

/* Validate an identifier (site, station, session code, room, seat...):
 * 1..max bytes of letters, digits, '-', '_', '.'.  1 valid, 0 not. */
int site_ident_valid(const char *s, size_t max);

#endif
