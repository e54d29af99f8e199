/*
 * cstore.c: choosing the backend from the store's name, and the
 * migrations both backends run.
 */
#include <string.h>

#include "cstore.h"

#define migration cstore_migration
#include "central_migrations.h"
#undef migration

const struct cstore_migration *cstore_migrations(int *n)
{
    *n = (int)(sizeof(migrations) / sizeof(migrations[0]));
    return migrations;
}

struct cstore *cstore_open(const char *spec, struct err *e)
{
    if (strncmp(spec, "sqlite:", 7) == 0 && spec[7] != '\0')
        return cstore_sqlite_open(spec + 7, e);
    if (strncmp(spec, "postgresql://", 13) == 0 ||
        strncmp(spec, "postgres://", 11) == 0)
        return cstore_pg_open(spec, e);
    err_set(e, EX_USAGE,
            "--store must be sqlite:PATH or postgresql://…, not '%.100s'",
            spec);
    return NULL;
}

void cstore_close(struct cstore *s)
{
    if (s != NULL)
        s->ops->close(s);
}
