/*
 * auth.c: the users file and HTTP Basic checks (auth.h).
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "auth.h"
#include "hex.h"
#include "number.h"

#define SALT_LEN 16
#define HASH_LEN 32
#define SCHEME   "$pbkdf2-sha256$"

struct user {
    char name[AUTH_NAME_MAX + 1];
    int iterations;
    unsigned char salt[SALT_LEN], hash[HASH_LEN];
};

/* A header recently found right: HMAC of it under grant_key. */
struct grant {
    unsigned char mac[HASH_LEN];
    size_t user;
    time_t until;
};

struct users {
    struct user *u;
    size_t n;
    unsigned char grant_key[HASH_LEN];
    struct grant grants[AUTH_GRANTS];
    size_t next_grant;
    double failures; /* the wrong-password budget left (a token bucket) */
    time_t failures_at;
};

void users_free(struct users *u)
{
    if (u == NULL)
        return;
    if (u->u != NULL)
        OPENSSL_cleanse(u->u, u->n * sizeof(*u->u));
    OPENSSL_cleanse(u->grant_key, sizeof(u->grant_key));
    free(u->u);
    free(u);
}

size_t users_count(const struct users *u)
{
    return u->n;
}

static int name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > AUTH_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' &&
            s[i] != '-')
            return 0;
    return 1;
}

/* "NAME:$pbkdf2-sha256$N$SALT$HASH" into x; 0 or -1. */
static int parse_user(char *line, struct user *x)
{
    char *colon = strchr(line, ':'), *it, *salt, *hash;
    int n;

    if (colon == NULL || !name_ok(line, (size_t)(colon - line)) ||
        strncmp(colon + 1, SCHEME, strlen(SCHEME)) != 0)
        return -1;
    *colon = '\0';
    it = colon + 1 + strlen(SCHEME);
    if ((salt = strchr(it, '$')) == NULL ||
        (hash = strchr(salt + 1, '$')) == NULL)
        return -1;
    *salt++ = '\0';
    *hash++ = '\0';
    if (number_parse_int(it, AUTH_ITERATIONS_MIN, 100000000, &n) == -1 ||
        hex_decode(salt, strlen(salt), x->salt, SALT_LEN) != SALT_LEN ||
        strlen(salt) != 2 * SALT_LEN ||
        hex_decode(hash, strlen(hash), x->hash, HASH_LEN) != HASH_LEN ||
        strlen(hash) != 2 * HASH_LEN)
        return -1;
    x->iterations = n;
    memcpy(x->name, line, strlen(line) + 1);
    return 0;
}

struct users *users_load(const char *path, struct err *e)
{
    struct users *u = calloc(1, sizeof(*u));
    char line[512];
    struct stat sb;
    FILE *f = NULL;
    int no = 0;
    size_t i;

    if (u == NULL || (u->u = calloc(AUTH_USERS_MAX, sizeof(*u->u))) == NULL) {
        err_set(e, EX_OSERR, "out of memory");
        goto fail;
    }
    if (RAND_bytes(u->grant_key, sizeof(u->grant_key)) != 1) {
        err_set(e, EX_OSERR, "no random bytes for the users' grants");
        goto fail;
    }
    u->failures = AUTH_FAILURES_BURST;
    if ((f = fopen(path, "re")) == NULL) {
        err_errno(e, EX_NOINPUT, "--users %s", path);
        goto fail;
    }
    if (fstat(fileno(f), &sb) == -1 || (sb.st_mode & 007) != 0) {
        err_set(e, EX_CONFIG, "--users %s: others may read it (chmod 600 it)",
                path);
        goto fail;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *p = line;
        no++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            err_set(e, EX_DATAERR, "%s:%d: line too long", path, no);
            goto fail;
        }
        line[strcspn(line, "\r\n")] = '\0';
        p += strspn(p, " \t");
        if (*p == '\0' || *p == '#')
            continue;
        if (u->n == AUTH_USERS_MAX) {
            err_set(e, EX_DATAERR, "%s:%d: more than %d users", path, no,
                    AUTH_USERS_MAX);
            goto fail;
        }
        if (parse_user(p, &u->u[u->n]) == -1) {
            err_set(e, EX_DATAERR,
                    "%s:%d: expected NAME:" SCHEME "ITERATIONS$SALT$HASH "
                    "(examcentral passwd writes it)",
                    path, no);
            goto fail;
        }
        for (i = 0; i < u->n; i++)
            if (strcmp(u->u[i].name, u->u[u->n].name) == 0) {
                err_set(e, EX_DATAERR, "%s:%d: user %s twice", path, no,
                        u->u[i].name);
                goto fail;
            }
        u->n++;
    }
    OPENSSL_cleanse(line, sizeof(line));
    fclose(f);
    return u;
fail:
    OPENSSL_cleanse(line, sizeof(line));
    if (f)
        fclose(f);
    users_free(u);
    return NULL;
}

static int derive(const char *pw, size_t len, const unsigned char *salt,
                  int iterations, unsigned char out[HASH_LEN])
{
    return PKCS5_PBKDF2_HMAC(pw, (int)len, salt, SALT_LEN, iterations,
                             EVP_sha256(), HASH_LEN, out) == 1
               ? 0
               : -1;
}

/* The grant for header mac, or NULL. */
static const struct grant *granted(const struct users *u,
                                   const unsigned char *mac, time_t now)
{
    size_t i;

    for (i = 0; i < AUTH_GRANTS; i++)
        if (u->grants[i].until > now &&
            CRYPTO_memcmp(u->grants[i].mac, mac, HASH_LEN) == 0)
            return &u->grants[i];
    return NULL;
}

static void grant(struct users *u, const unsigned char *mac, size_t user,
                  time_t now)
{
    struct grant *g = &u->grants[u->next_grant];

    memcpy(g->mac, mac, HASH_LEN);
    g->user = user;
    g->until = now + AUTH_GRANT_SECONDS;
    u->next_grant = (u->next_grant + 1) % AUTH_GRANTS;
}

/* Refill the wrong-password budget for the time gone by; 1 when one more
 * check may be spent on a password that may be wrong. */
static int budget_left(struct users *u, time_t now)
{
    if (now > u->failures_at) {
        u->failures += (double)(now - u->failures_at) / AUTH_FAILURE_SECONDS;
        if (u->failures > AUTH_FAILURES_BURST)
            u->failures = AUTH_FAILURES_BURST;
    }
    u->failures_at = now;
    return u->failures >= 1.0;
}

/* NAME:PASSWORD out of "Basic BASE64" into raw; the colon's offset or -1. */
static int decode_basic(const char *authorization, unsigned char *raw,
                        size_t cap)
{
    const char *b64;
    char *colon;
    size_t n;
    int len;

    if (strncasecmp(authorization, "Basic ", 6) != 0)
        return -1;
    b64 = authorization + 6 + strspn(authorization + 6, " ");
    n = strlen(b64);
    if (n == 0 || n % 4 != 0 || n / 4 * 3 >= cap)
        return -1;
    if ((len = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n)) < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding as bytes */
    len -= (b64[n - 1] == '=') + (b64[n - 2] == '=');
    raw[len] = '\0';
    if ((colon = memchr(raw, ':', (size_t)len)) == NULL ||
        memchr(raw, '\0', (size_t)len) != NULL)
        return -1;
    *colon = '\0';
    return (int)(colon - (char *)raw);
}

enum auth_answer users_check(struct users *u, const char *authorization,
                             time_t now, const char **who)
{
    static const unsigned char dummy_salt[SALT_LEN];
    unsigned char raw[3 * (AUTH_NAME_MAX + AUTH_PASSWORD_MAX) / 2 + 8];
    unsigned char got[HASH_LEN], mac[HASH_LEN];
    const struct grant *g;
    size_t i, x = SIZE_MAX;
    unsigned int maclen = 0;
    enum auth_answer ok = AUTH_DENIED;
    int colon;

    if (u == NULL || authorization == NULL ||
        strlen(authorization) > 6 + sizeof(raw) * 4 / 3)
        return AUTH_DENIED;
    if (HMAC(EVP_sha256(), u->grant_key, sizeof(u->grant_key),
             (const unsigned char *)authorization, strlen(authorization), mac,
             &maclen) == NULL)
        return AUTH_DENIED;
    if ((g = granted(u, mac, now)) != NULL) {
        if (who != NULL)
            *who = u->u[g->user].name;
        return AUTH_OK;
    }
    if ((colon = decode_basic(authorization, raw, sizeof(raw))) < 0) {
        OPENSSL_cleanse(raw, sizeof(raw));
        return AUTH_DENIED;
    }
    if (!budget_left(u, now)) {
        OPENSSL_cleanse(raw, sizeof(raw));
        return AUTH_THROTTLED;
    }
    for (i = 0; i < u->n; i++)
        if (strcmp(u->u[i].name, (char *)raw) == 0)
            x = i;
    if (derive((char *)raw + colon + 1, strlen((char *)raw + colon + 1),
               x != SIZE_MAX ? u->u[x].salt : dummy_salt,
               x != SIZE_MAX ? u->u[x].iterations : AUTH_ITERATIONS,
               got) == 0 &&
        x != SIZE_MAX && CRYPTO_memcmp(got, u->u[x].hash, HASH_LEN) == 0)
        ok = AUTH_OK;
    OPENSSL_cleanse(raw, sizeof(raw));
    if (ok == AUTH_OK) {
        grant(u, mac, x, now);
        if (who != NULL)
            *who = u->u[x].name;
    } else {
        u->failures -= 1.0;
    }
    return ok;
}

/* Read one line of password from in, without its newline. */
static int read_password(FILE *in, char *pw, size_t cap, struct err *e)
{
    size_t n;

    if (fgets(pw, (int)cap, in) == NULL)
        return err_set(e, EX_DATAERR, "no password on standard input");
    n = strcspn(pw, "\r\n");
    if (pw[n] == '\0' && n + 1 >= cap)
        return err_set(e, EX_DATAERR, "password over %d bytes",
                       AUTH_PASSWORD_MAX);
    pw[n] = '\0';
    if (n < 8)
        return err_set(e, EX_DATAERR, "password under 8 characters");
    return 0;
}

/* Copy path's lines but NAME's into out. */
static int copy_others(const char *path, const char *name, FILE *out,
                       struct err *e)
{
    FILE *f = fopen(path, "re");
    char line[512];
    size_t nl = strlen(name);

    if (f == NULL)
        return 0; /* a new file */
    while (fgets(line, sizeof(line), f) != NULL)
        if (!(strncmp(line, name, nl) == 0 && line[nl] == ':'))
            fputs(line, out);
    OPENSSL_cleanse(line, sizeof(line));
    if (ferror(f)) {
        fclose(f);
        return err_errno(e, EX_IOERR, "%s", path);
    }
    fclose(f);
    return 0;
}

int users_passwd(const char *path, const char *name, FILE *in, int iterations,
                 struct err *e)
{
    char pw[AUTH_PASSWORD_MAX + 2], tmp[4096], salt_hex[2 * SALT_LEN + 1],
        hash_hex[2 * HASH_LEN + 1];
    unsigned char salt[SALT_LEN], hash[HASH_LEN];
    FILE *out;
    int fd, rc = -1;

    if (!name_ok(name, strlen(name)))
        return err_set(e, EX_USAGE, "user name: 1-%d of A-Z a-z 0-9 . _ -",
                       AUTH_NAME_MAX);
    if (iterations < AUTH_ITERATIONS_MIN)
        return err_set(e, EX_USAGE, "--iterations: at least %d",
                       AUTH_ITERATIONS_MIN);
    if (read_password(in, pw, sizeof(pw), e) == -1)
        goto out;
    if (RAND_bytes(salt, SALT_LEN) != 1 ||
        derive(pw, strlen(pw), salt, iterations, hash) == -1) {
        err_set(e, EX_SOFTWARE, "cannot hash the password");
        goto out;
    }
    hex_encode(salt, SALT_LEN, salt_hex);
    hex_encode(hash, HASH_LEN, hash_hex);
    if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp)) {
        err_set(e, EX_USAGE, "--users: path too long");
        goto out;
    }
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
            -1 ||
        (out = fdopen(fd, "w")) == NULL) {
        err_errno(e, EX_CANTCREAT, "%s", tmp);
        goto out;
    }
    if (copy_others(path, name, out, e) == -1) {
        fclose(out);
        unlink(tmp);
        goto out;
    }
    fprintf(out, "%s:" SCHEME "%d$%s$%s\n", name, iterations, salt_hex,
            hash_hex);
    if (fflush(out) != 0 || fsync(fileno(out)) != 0 || fclose(out) != 0 ||
        rename(tmp, path) != 0) {
        err_errno(e, EX_IOERR, "%s", path);
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(pw, sizeof(pw));
    OPENSSL_cleanse(hash, sizeof(hash));
    return rc;
}
