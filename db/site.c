/*
 * site.c: reading and creating the site row.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "event.h"
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
    ev.payload = payload;
    rc = event_append(st, &ev, e);
    free(payload);
    return rc;
}
