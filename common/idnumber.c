/*
 * idnumber.c: GB 11643 check digit, birth-date check, masking, keyed hash.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "hex.h"
#include "idnumber.h"

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

static int digits_value(const char *s, int n)
{
    int v = 0;
    while (n-- > 0)
        v = v * 10 + (*s++ - '0');
    return v;
}

static int birth_date_valid(const char *s)
{
    int y = digits_value(s + 6, 4), m = digits_value(s + 10, 2),
        d = digits_value(s + 12, 2);
    time_t now = time(NULL);
    struct tm tm;
    int today;

    if (y < 1800 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return 0;
    gmtime_r(&now, &tm);
    today = (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
    return y * 10000 + m * 100 + d <= today;
}

int idnumber_check(const char *s, const char **reason)
{
    static const int w[17] = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                              3, 7, 9,  10, 5, 8, 4, 2};
    static const char code[] = "10X98765432";
    int i, sum = 0;
    char last;

    if (strlen(s) != IDNUMBER_LEN) {
        *reason = "must be 18 characters";
        return -1;
    }
    for (i = 0; i < 17; i++) {
        if (!isdigit((unsigned char)s[i])) {
            *reason = "the first 17 characters must be digits";
            return -1;
        }
        sum += (s[i] - '0') * w[i];
    }
    last = (char)toupper((unsigned char)s[17]);
    if (!isdigit((unsigned char)last) && last != 'X') {
        *reason = "the last character must be a digit or X";
        return -1;
    }
    if (!birth_date_valid(s)) {
        *reason = "the birth date in it is not a real date";
        return -1;
    }
    if (code[sum % 11] != last) {
        *reason = "the check digit is wrong";
        return -1;
    }
    return 0;
}

int idnumber_canonical(const char *s, char out[IDNUMBER_LEN + 1])
{
    size_t n;
    int i;

    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n != IDNUMBER_LEN)
        return -1;
    for (i = 0; i < IDNUMBER_LEN; i++)
        out[i] = (char)toupper((unsigned char)s[i]);
    out[IDNUMBER_LEN] = '\0';
    return 0;
}

void idnumber_mask(const char *s, char out[IDNUMBER_LEN + 1])
{
    size_t n = strlen(s);

    if (n != IDNUMBER_LEN) {
        memset(out, '*', IDNUMBER_LEN);
        out[IDNUMBER_LEN] = '\0';
        return;
    }
    memcpy(out, s, 6);
    memset(out + 6, '*', 8);
    memcpy(out + 14, s + 14, 4);
    out[IDNUMBER_LEN] = '\0';
    if (out[17] == 'x')
        out[17] = 'X';
}

struct idhasher {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
};

struct idhasher *idhasher_new(const unsigned char *secret, size_t secret_len)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    struct idhasher *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    if ((h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
        (h->ctx = EVP_MAC_CTX_new(h->mac)) == NULL ||
        !EVP_MAC_init(h->ctx, secret, secret_len, params)) {
        idhasher_free(h);
        return NULL;
    }
    return h;
}

void idhasher_free(struct idhasher *h)
{
    if (h == NULL)
        return;
    EVP_MAC_CTX_free(h->ctx);
    EVP_MAC_free(h->mac);
    free(h);
}

int idhasher_hash_raw(struct idhasher *h, const char *s,
                      unsigned char out[IDNUMBER_HASH_LEN])
{
    char canon[IDNUMBER_LEN + 1];
    size_t maclen = 0;

    if (idnumber_canonical(s, canon) == -1)
        return -1;
    /* A NULL key re-initialises with the key already set. */
    if (!EVP_MAC_init(h->ctx, NULL, 0, NULL) ||
        !EVP_MAC_update(h->ctx, (unsigned char *)canon, IDNUMBER_LEN) ||
        !EVP_MAC_final(h->ctx, out, &maclen, IDNUMBER_HASH_LEN) ||
        maclen != IDNUMBER_HASH_LEN)
        return -1;
    return 0;
}

int idhasher_hash(struct idhasher *h, const char *s,
                  char out[IDNUMBER_HASH_HEX + 1])
{
    unsigned char mac[IDNUMBER_HASH_LEN];

    if (idhasher_hash_raw(h, s, mac) == -1)
        return -1;
    hex_encode(mac, sizeof(mac), out);
    return 0;
}

int idnumber_hash(const unsigned char *secret, size_t secret_len, const char *s,
                  char out[IDNUMBER_HASH_HEX + 1])
{
    struct idhasher *h = idhasher_new(secret, secret_len);
    int rc;

    if (h == NULL)
        return -1;
    rc = idhasher_hash(h, s, out);
    idhasher_free(h);
    return rc;
}

int idnumber_redact(char *s)
{
    size_t i = 0, n = strlen(s);
    int found = 0;

    while (i < n) {
        size_t j = i;
        while (j < n && isdigit((unsigned char)s[j]))
            j++;
        /* A run of exactly 17 digits then a digit/X, not inside a longer
         * number: that is what an ID number looks like. */
        if (j - i == 17 && j < n && (s[j] == 'X' || s[j] == 'x') &&
            (j + 1 == n || !isalnum((unsigned char)s[j + 1]))) {
            memset(s + i + 6, '*', 8);
            found = 1;
            i = j + 1;
        } else if (j - i == 18) {
            memset(s + i + 6, '*', 8);
            found = 1;
            i = j;
        } else {
            i = j > i ? j : i + 1;
        }
    }
    return found;
}
