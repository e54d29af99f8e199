/*
 * record.c: the canonical bytes of an event and its chain hash
 * (docs/event-chain.md, "The hash").
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "hex.h"
#include "record.h"

const char chain_zero_hash[CHAIN_HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

int chain_hash_valid(const char *h)
{
    unsigned bad = 0;
    int i;

    if (h == NULL)
        return 0;
    /* no early exit: the office checks two a line (bench/batch) */
    for (i = 0; i < CHAIN_HASH_HEX && h[i]; i++)
        bad |= (unsigned)((unsigned char)(h[i] - '0') > 9 &&
                          (unsigned char)(h[i] - 'a') > 5);
    return i == CHAIN_HASH_HEX && !bad && h[i] == '\0';
}

/* One field: its 4-byte big-endian length and bytes; NULL is FFFFFFFF. */
static int field(EVP_MD_CTX *md, const char *s)
{
    unsigned char len[4];
    size_t n = s ? strlen(s) : 0;
    uint32_t l = s ? (uint32_t)n : UINT32_MAX;

    if (s != NULL && n >= UINT32_MAX)
        return -1;
    len[0] = (unsigned char)(l >> 24);
    len[1] = (unsigned char)(l >> 16);
    len[2] = (unsigned char)(l >> 8);
    len[3] = (unsigned char)l;
    if (!EVP_DigestUpdate(md, len, 4))
        return -1;
    if (n > 0 && !EVP_DigestUpdate(md, s, n))
        return -1;
    return 0;
}

int chain_row_digest(void *evp_md_ctx, const struct chain_row *r)
{
    EVP_MD_CTX *md = evp_md_ctx;
    char id[24], off[24];

    snprintf(id, sizeof(id), "%" PRId64, r->id);
    snprintf(off, sizeof(off), "%ld", r->tz_offset);
    if (field(md, id) == -1 || field(md, r->time) == -1 ||
        field(md, off) == -1 || field(md, r->kind) == -1 ||
        field(md, r->session) == -1 || field(md, r->room) == -1 ||
        field(md, r->ticket) == -1 || field(md, r->device) == -1 ||
        field(md, r->operator_name) == -1 || field(md, r->payload) == -1)
        return -1;
    return 0;
}

/* SHA-256 fetched once: EVP_sha256() looks the implementation up again on
 * every init, a cost each check-in paid (bench/station). */
static const EVP_MD *chain_sha256(void)
{
    static EVP_MD *md;

    if (md == NULL)
        md = EVP_MD_fetch(NULL, "SHA256", NULL);
    return md;
}

int chain_row_digest_after(const struct chain_row *r,
                           const unsigned char prev[CHAIN_HASH_BYTES],
                           unsigned char out[CHAIN_HASH_BYTES])
{
    unsigned int dlen = 0;
    EVP_MD_CTX *md;
    int rc = -1;

    if ((md = EVP_MD_CTX_new()) == NULL)
        return -1;
    if (chain_sha256() != NULL && EVP_DigestInit_ex(md, chain_sha256(), NULL) &&
        EVP_DigestUpdate(md, prev, CHAIN_HASH_BYTES) &&
        chain_row_digest(md, r) == 0 && EVP_DigestFinal_ex(md, out, &dlen) &&
        dlen == CHAIN_HASH_BYTES)
        rc = 0;
    EVP_MD_CTX_free(md);
    return rc;
}

int chain_row_hash(const struct chain_row *r, const char *prev_hex,
                   char out[CHAIN_HASH_HEX + 1])
{
    unsigned char prev[CHAIN_HASH_BYTES], digest[CHAIN_HASH_BYTES];

    if (prev_hex == NULL ||
        hex_decode(prev_hex, strlen(prev_hex), prev, sizeof(prev)) !=
            CHAIN_HASH_BYTES ||
        chain_row_digest_after(r, prev, digest) == -1)
        return -1;
    hex_encode(digest, sizeof(digest), out);
    return 0;
}
