/*
 * keys.c: reading the stations' keys file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "keys.h"

#define KEYS_MAX 100000

struct key {
    char site[BATCH_ID_MAX + 1], station[BATCH_ID_MAX + 1];
    unsigned char key[BATCH_KEY_MAX];
    size_t len;
};

struct keys {
    struct key *k;
    size_t n, cap;
};

void keys_free(struct keys *k)
{
    if (k == NULL)
        return;
    if (k->k != NULL)
        OPENSSL_cleanse(k->k, k->cap * sizeof(*k->k));
    free(k->k);
    free(k);
}

size_t keys_count(const struct keys *k)
{
    return k->n;
}

static int parse_line(struct keys *k, char *line, const char *path, int no,
                      struct err *e)
{
    char *who, *hex, *slash, *rest;
    struct key *x;
    size_t i;

    line[strcspn(line, "\r\n")] = '\0';
    who = line + strspn(line, " \t");
    if (*who == '\0' || *who == '#')
        return 0;
    hex = who + strcspn(who, " \t");
    if (*hex == '\0')
        return err_set(e, EX_DATAERR, "%s:%d: expected SITE/STATION hexkey",
                       path, no);
    *hex++ = '\0';
    hex += strspn(hex, " \t");
    rest = hex + strcspn(hex, " \t");
    if (rest[strspn(rest, " \t")] != '\0')
        return err_set(e, EX_DATAERR, "%s:%d: text after the key", path, no);
    *rest = '\0';
    if ((slash = strchr(who, '/')) == NULL)
        return err_set(e, EX_DATAERR, "%s:%d: expected SITE/STATION", path, no);
    *slash = '\0';
    if (!batch_id_valid(who) || !batch_id_valid(slash + 1))
        return err_set(e, EX_DATAERR,
                       "%s:%d: site and station are 1-%d of A-Z a-z 0-9 . _ -",
                       path, no, BATCH_ID_MAX);
    for (i = 0; i < k->n; i++)
        if (strcmp(k->k[i].site, who) == 0 &&
            strcmp(k->k[i].station, slash + 1) == 0)
            return err_set(e, EX_DATAERR, "%s:%d: %s/%s has a key already",
                           path, no, who, slash + 1);
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 16;
        struct key *p;
        if (cap > KEYS_MAX || (p = calloc(cap, sizeof(*p))) == NULL)
            return err_set(e, EX_DATAERR, "%s:%d: too many keys", path, no);
        if (k->k != NULL) {
            memcpy(p, k->k, k->n * sizeof(*p));
            OPENSSL_cleanse(k->k, k->cap * sizeof(*k->k));
            free(k->k);
        }
        k->k = p;
        k->cap = cap;
    }
    x = &k->k[k->n];
    memcpy(x->site, who, strlen(who) + 1);
    memcpy(x->station, slash + 1, strlen(slash + 1) + 1);
    {
        struct err ke;
        long n = batch_key_parse(hex, strlen(hex), x->key, sizeof(x->key), &ke);
        if (n == -1)
            return err_set(e, EX_DATAERR, "%s:%d: %s", path, no, ke.msg);
        x->len = (size_t)n;
    }
    k->n++;
    return 0;
}

struct keys *keys_load(const char *path, struct err *e)
{
    struct keys *k = calloc(1, sizeof(*k));
    char line[1024];
    struct stat sb;
    FILE *f;
    int no = 0;

    if (k == NULL) {
        err_set(e, EX_OSERR, "out of memory");
        return NULL;
    }
    if ((f = fopen(path, "re")) == NULL) {
        err_errno(e, EX_NOINPUT, "keys %s", path);
        keys_free(k);
        return NULL;
    }
    if (fstat(fileno(f), &sb) == -1 || (sb.st_mode & 077) != 0) {
        err_set(e, EX_CONFIG, "keys %s must be mode 0600 (chmod 600 it)", path);
        goto fail;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        no++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            err_set(e, EX_DATAERR, "%s:%d: line too long", path, no);
            goto fail;
        }
        if (parse_line(k, line, path, no, e) == -1)
            goto fail;
    }
    OPENSSL_cleanse(line, sizeof(line));
    fclose(f);
    return k;
fail:
    OPENSSL_cleanse(line, sizeof(line));
    fclose(f);
    keys_free(k);
    return NULL;
}

size_t keys_find(const struct keys *k, const char *site, const char *station,
                 const unsigned char **key)
{
    size_t i;

    for (i = 0; i < k->n; i++)
        if (strcmp(k->k[i].site, site) == 0 &&
            strcmp(k->k[i].station, station) == 0) {
            *key = k->k[i].key;
            return k->k[i].len;
        }
    return 0;
}
