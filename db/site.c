/*
 * site.c: reading and creating the site row.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "event.h"
#include "refdigest.h"
#include "secret.h"
#include "site.h"
#include "store.h"

int site_ident_valid(const char *s, size_t max)
{
    size_t n = 0;

    for (; *s; s++, n++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return 0;
    return n >= 1 && n <= max;
}

static const char *SQL_GET =
    "SELECT id, name, station, timezone, created FROM site LIMIT 1";

int site_get(struct store *st, struct site *s, struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    if ((q = store_stmt(st, SQL_GET, e)) == NULL)
        return -1;
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        snprintf(s->id, sizeof(s->id), "%s", store_col_text(q, 0));
        snprintf(s->name, sizeof(s->name), "%s", store_col_text(q, 1));
        snprintf(s->station, sizeof(s->station), "%s", store_col_text(q, 2));
        snprintf(s->timezone, sizeof(s->timezone), "%s", store_col_text(q, 3));
        snprintf(s->created, sizeof(s->created), "%s", store_col_text(q, 4));
    }
    sqlite3_reset(q);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return store_sqlerr(st, e, "site");
}

static const char *SQL_INSERT =
    "INSERT INTO site (id, name, station, timezone, created) "
    "VALUES (?, ?, ?, ?, ?)";

int site_create(struct store *st, const struct site *s, struct err *e)
{
    struct site old;
    struct event ev;
    sqlite3_stmt *q;
    char *payload;
    json_t *j;
    int rc;

    if ((rc = site_get(st, &old, e)) != 0)
        return rc == 1
                   ? err_set(e, EX_CANTCREAT,
                             "the database already belongs to site %s", old.id)
                   : -1;
    if ((q = store_stmt(st, SQL_INSERT, e)) == NULL)
        return -1;
    store_bind_text(q, 1, s->id);
    store_bind_text(q, 2, s->name);
    store_bind_text(q, 3, s->station);
    store_bind_text(q, 4, s->timezone);
    store_bind_text(q, 5, s->created);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return store_sqlerr(st, e, "site");

    j = json_pack("{s:s, s:s, s:s, s:s}", "site", s->id, "name", s->name,
                  "station", s->station, "timezone", s->timezone);
    payload = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (payload == NULL)
        return err_set(e, EX_OSERR, "site: out of memory");
    memset(&ev, 0, sizeof(ev));
    ev.kind = "site.created";
    rc = refdigest_append(st, &ev, &payload, e);
    free(payload);
    return rc;
}

static const char *SQL_CHECK_GET =
    "SELECT value FROM secret_check WHERE id = 1";
static const char *SQL_CHECK_PUT =
    "INSERT INTO secret_check (id, value) VALUES (1, ?)";

/* 1 and want filled when the database has a check value, 0 not, -1. */
static int stored_check(struct store *st, char want[SECRET_CHECK_HEX + 1],
                        struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    if ((q = store_stmt(st, SQL_CHECK_GET, e)) == NULL)
        return -1;
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        snprintf(want, SECRET_CHECK_HEX + 1, "%s", store_col_text(q, 0));
    sqlite3_reset(q);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return store_sqlerr(st, e, "secret check");
}

static int compare_check(const struct secret *s,
                         const char want[SECRET_CHECK_HEX + 1],
                         char have[SECRET_CHECK_HEX + 1], struct err *e)
{
    if (secret_check_value(s, have) == -1)
        return err_set(e, EX_SOFTWARE, "secret check: HMAC-SHA256 failed");
    if (strlen(want) != SECRET_CHECK_HEX ||
        CRYPTO_memcmp(want, have, SECRET_CHECK_HEX) != 0)
        return err_set(e, EX_CONFIG,
                       "the secret file does not belong to this database "
                       "(its check value is not the one recorded when the "
                       "database was made: a wrong or regenerated secret, "
                       "with which no ID card would be found on the roster)");
    return 0;
}

int site_secret_check(struct store *st, const struct secret *s, struct err *e)
{
    char want[SECRET_CHECK_HEX + 1], have[SECRET_CHECK_HEX + 1];
    int rc;

    if ((rc = stored_check(st, want, e)) != 1)
        return rc;
    return compare_check(s, want, have, e);
}

int site_secret_record(struct store *st, const struct secret *s, struct err *e)
{
    char want[SECRET_CHECK_HEX + 1], have[SECRET_CHECK_HEX + 1];
    sqlite3_stmt *q;
    int rc;

    if (!store_in_txn(st))
        return err_set(e, EX_SOFTWARE,
                       "site_secret_record outside a transaction");
    if ((rc = stored_check(st, want, e)) == -1)
        return -1;
    if (rc == 1)
        return compare_check(s, want, have, e);
    if (secret_check_value(s, have) == -1)
        return err_set(e, EX_SOFTWARE, "secret check: HMAC-SHA256 failed");
    if ((q = store_stmt(st, SQL_CHECK_PUT, e)) == NULL)
        return -1;
    sqlite3_bind_text(q, 1, have, SECRET_CHECK_HEX, SQLITE_STATIC);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return store_sqlerr(st, e, "secret check");
    return 1;
}
