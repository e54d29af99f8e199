/*
 * testutil.h: what the cmocka unit tests share: a private temporary
 * directory per test (removed in teardown, whatever the test left in it),
 * writing fixture files into it, and small SQL helpers.
 *
 * Included by tests/unit/test_*.c only; everything is static inline so a
 * test that uses part of it compiles without unused-function warnings.
 */
#ifndef EXAMSITE_TESTUTIL_H
#define EXAMSITE_TESTUTIL_H

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

struct tdir {
    char path[256];
};

/* mkdtemp under $TMPDIR (or /tmp).  Returns NULL on failure. */
static inline struct tdir *tdir_new(void)
{
    struct tdir *t = calloc(1, sizeof(*t));
    const char *base = getenv("TMPDIR");

    if (t == NULL)
        return NULL;
    snprintf(t->path, sizeof(t->path), "%s/examsite-unit.XXXXXX",
             base && *base ? base : "/tmp");
    if (mkdtemp(t->path) == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

static inline int tdir_rm_cb(const char *p, const struct stat *sb, int flag,
                             struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline void tdir_free(struct tdir *t)
{
    if (t == NULL)
        return;
    nftw(t->path, tdir_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(t);
}

/* The path of name inside t (a static buffer per call site is not enough
 * when several paths are in use: callers pass their own out). */
static inline const char *tdir_file(const struct tdir *t, const char *name,
                                    char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", t->path, name);
    return out;
}

/* Write len bytes of data to path (len (size_t)-1: strlen).  0 or -1. */
static inline int write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int rc = 0;

    if (f == NULL)
        return -1;
    if (len == (size_t)-1)
        len = strlen(data);
    if (len > 0 && fwrite(data, 1, len, f) != len)
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* One integer from a query on db (-1 on error or no row). */
static inline long long sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    long long v = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* One text value from a query into out ("" on error or no row). */
static inline const char *sql_text(sqlite3 *db, const char *sql, char *out,
                                   size_t outlen)
{
    sqlite3_stmt *s;

    out[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return out;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
        snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
}

/*
 * The fixture of the tests that need one temporary file: a private
 * directory and the path of NAME in it.  Use as cmocka setup/teardown:
 *   static int setup(void **state) { return tfile_setup(state, "in.csv"); }
 */
struct tfile {
    struct tdir *t;
    char path[300];
};

static inline int tfile_setup(void **state, const char *name)
{
    struct tfile *x = calloc(1, sizeof(*x));

    if (x == NULL || (x->t = tdir_new()) == NULL) {
        free(x);
        return -1;
    }
    tdir_file(x->t, name, x->path, sizeof(x->path));
    *state = x;
    return 0;
}

static inline int tfile_teardown(void **state)
{
    struct tfile *x = *state;

    tdir_free(x->t);
    free(x);
    return 0;
}

#endif
